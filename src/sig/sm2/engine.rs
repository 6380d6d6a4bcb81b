//! The SM2 CPU engine: items verified one by one, in parallel on the verifier's pool, with a
//! cache of issuers' keys.
//!
//! Few issuers sign most records, so the key cache holds, per key encoding (33, 64 or 65
//! bytes; other lengths are refused without being cached): the decoded key (or why it is not
//! one) and its `Z_A` for the default ID. Once a key has been seen [`COMB_AFTER`] times its own
//! comb is built, which turns `[t]P` from 256 doublings and ~43 additions into at most 64 mixed
//! additions. A comb is 61 KiB, so combs live in a second, smaller cache ([`MAX_COMBS`]
//! entries, about 16 MiB): whoever sends many distinct valid keys cannot make the engine hold
//! a comb for each. Both caches are the scan-resistant one of the Ed25519 keys
//! (`sig::key_cache`): keyed shard hashing, segmented LRU, so a flood of one-off hostile keys
//! cannot evict the issuers that are seen again. Everything cached is a pure function of the
//! key bytes, so verdicts never depend on the caches.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::point::{Affine, Comb};
use super::rules::{self, DEFAULT_ID, check_id, decode_key, decode_signature, z_a_of};
use super::{Sm2Item, Sm2Message};
use crate::merkle::sm3::Platform as Sm3;
use crate::sig::key_cache::ScanResistantCache;
use crate::sig::{Reason, Verdict};

/// Sightings of a key before its comb is built: the comb costs about 960 point additions and
/// saves about 60% of each later verification, so it pays after a few dozen.
pub(crate) const COMB_AFTER: u32 = 32;

/// The most combs held at once (61 KiB each).
pub(crate) const MAX_COMBS: usize = 256;

/// Items per task: enough to hash their digests many at a time in the SM3 lanes.
const CHUNK: usize = 64;

/// A key as the cache keeps it.
pub(crate) struct CachedKey {
    point: Affine,
    /// `x ‖ y`, 32 bytes each: the comb cache's key.
    xy: [u8; 64],
    z_default: [u8; 32],
    sightings: AtomicU32,
}

type Entry = Result<Arc<CachedKey>, Reason>;

/// A key encoding as a cache key: its length, then its bytes (33, 64 or 65 of them).
type KeyBytes = [u8; 66];

/// The SM2 engine's state: the key cache and the comb cache.
pub(crate) struct Sm2Engine {
    keys: ScanResistantCache<KeyBytes, Entry>,
    /// Frequent issuers' combs, by the affine `x ‖ y` of the key.
    combs: ScanResistantCache<[u8; 64], Arc<Comb>>,
}

impl Sm2Engine {
    /// An engine whose key cache holds about `capacity` keys (0: no caches).
    pub(crate) fn new(capacity: usize) -> Self {
        Sm2Engine {
            keys: ScanResistantCache::new(capacity),
            combs: ScanResistantCache::new(capacity.min(MAX_COMBS)),
        }
    }

    /// One verdict per item, in input order, on the current rayon pool.
    pub(crate) fn verify(&self, items: &[Sm2Item<'_>]) -> Vec<Verdict> {
        let mut verdicts = vec![Verdict::Valid; items.len()];
        verdicts
            .par_chunks_mut(CHUNK)
            .zip(items.par_chunks(CHUNK))
            .for_each(|(out, chunk)| self.verify_chunk(chunk, out));
        verdicts
    }

    /// The decoded key and, for a frequent issuer, its comb.
    fn key(&self, bytes: &[u8]) -> Result<(Arc<CachedKey>, Option<Arc<Comb>>), Reason> {
        let decode = || {
            decode_key(bytes).map(|point| {
                let mut xy = [0u8; 64];
                xy[..32].copy_from_slice(&point.x.to_be_bytes());
                xy[32..].copy_from_slice(&point.y.to_be_bytes());
                Arc::new(CachedKey {
                    point,
                    xy,
                    z_default: z_a_of(&point, DEFAULT_ID),
                    sightings: AtomicU32::new(0),
                })
            })
        };
        if !matches!(bytes.len(), 33 | 64 | 65) {
            // Refused by its length alone: nothing worth caching, and no size to store.
            return decode().map(|key| (key, None));
        }
        let mut cache_key: KeyBytes = [0; 66];
        cache_key[0] = bytes.len() as u8;
        cache_key[1..=bytes.len()].copy_from_slice(bytes);
        let key = self.keys.get_or_insert_with(&cache_key, decode)?;
        let sightings = key
            .sightings
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if sightings < COMB_AFTER {
            return Ok((key, None));
        }
        let xy = &key.xy;
        let comb = match self.combs.get(xy) {
            Some(comb) => Some(comb),
            // Built once when the key reaches its sightings (and again only if its comb was
            // evicted and the key keeps coming).
            None if sightings % COMB_AFTER == 0 => {
                let comb = Arc::new(Comb::new(&key.point));
                self.combs.insert(xy, Arc::clone(&comb));
                Some(comb)
            }
            None => None,
        };
        Ok((key, comb))
    }

    fn verify_chunk(&self, items: &[Sm2Item<'_>], out: &mut [Verdict]) {
        // Checks 1–5 per item; the survivors' digests hashed together in the SM3 lanes, then
        // the point arithmetic.
        let mut pending = Vec::with_capacity(items.len());
        let mut to_hash: Vec<Vec<u8>> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let checked = self.key(item.public_key).and_then(|key| {
                check_id(&item.message)?;
                let rst = decode_signature(&item.signature)?;
                Ok((key, rst))
            });
            match checked {
                Err(reason) => out[i] = Verdict::Invalid(reason),
                Ok(((key, comb), rst)) => {
                    let e = match item.message {
                        Sm2Message::Prehashed(e) => Some(*e),
                        Sm2Message::Message { message, id } => {
                            let z = match id {
                                None => key.z_default,
                                Some(id) => z_a_of(&key.point, id),
                            };
                            let mut data = Vec::with_capacity(32 + message.len());
                            data.extend_from_slice(&z);
                            data.extend_from_slice(message);
                            to_hash.push(data);
                            None
                        }
                    };
                    pending.push((i, key, comb, rst, e));
                }
            }
        }
        let mut digests = vec![[0u8; 32]; to_hash.len()];
        Sm3::detect().hash_into(&to_hash, &mut digests);
        let mut hashed = digests.into_iter();
        for (i, key, comb, [r, s, t], e) in pending {
            let e = e.unwrap_or_else(|| hashed.next().expect("one digest per message item"));
            let sum = rules::joint_sum(&s, &t, &key.point, comb.as_deref());
            out[i] = match rules::check_sum(&sum, &r, &e) {
                Ok(()) => Verdict::Valid,
                Err(reason) => Verdict::Invalid(reason),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::sm2::point::G;

    /// The affine `x ‖ y` of `[k]G`.
    fn key_of(k: u64) -> Vec<u8> {
        let p = rules::g_comb().mul(&[k, 0, 0, 0]);
        let zi = p.z.invert();
        let (x, y) = (p.x.mul(zi.square()), p.y.mul(zi.square()).mul(zi));
        [x.to_be_bytes(), y.to_be_bytes()].concat()
    }

    #[test]
    fn hostile_keys_cannot_grow_the_caches() {
        let engine = Sm2Engine::new(8);
        let sig = [1u8; 64];
        // Keys of other lengths are refused and never stored.
        let long = vec![4u8; 4096];
        let item = Sm2Item::new(&long, &sig, b"m");
        assert_eq!(
            engine.verify(&[item]),
            vec![Verdict::Invalid(Reason::KeyMalformed)]
        );
        assert_eq!(engine.keys.held(), 0);
        // Many valid keys, each seen often enough for a comb: the comb cache stays bounded.
        let keys: Vec<Vec<u8>> = (2..40).map(key_of).collect();
        for key in &keys {
            let items: Vec<Sm2Item> = (0..COMB_AFTER)
                .map(|_| Sm2Item::new(key, &sig, b"m"))
                .collect();
            let verdicts = engine.verify(&items);
            assert!(verdicts.iter().all(|v| !v.is_valid()));
        }
        assert!(engine.keys.held() <= 16);
        assert!(engine.combs.held() <= 16);
        assert!(engine.combs.held() > 0, "frequent keys got combs");
        // G itself as a key: its comb equals the G comb's multiples.
        let g = [G.x.to_be_bytes(), G.y.to_be_bytes()].concat();
        assert_eq!(g, key_of(1));
    }
}
