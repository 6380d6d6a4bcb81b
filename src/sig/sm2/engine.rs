//! The SM2 CPU engine: items verified one by one, in parallel on the verifier's pool, with a
//! cache of issuers' keys.
//!
//! Few issuers sign most records, so the cache holds, per key encoding: the decoded key (or
//! why it is not one), its `Z_A` for the default ID, and — once the key has been seen
//! [`COMB_AFTER`] times — its own comb, which turns `[t]P` from 256 doublings and ~43
//! additions into at most 64 mixed additions. The cache is the scan-resistant one of the
//! Ed25519 keys (`sig::key_cache`): keyed shard hashing, segmented LRU, so a flood of one-off
//! hostile keys cannot evict the issuers that are seen again. Everything cached is a pure
//! function of the key bytes, so verdicts never depend on the cache.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

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

/// Items per task: enough to hash their digests many at a time in the SM3 lanes.
const CHUNK: usize = 64;

/// A key as the cache keeps it.
pub(crate) struct CachedKey {
    point: Affine,
    z_default: [u8; 32],
    sightings: AtomicU32,
    comb: OnceLock<Comb>,
}

type Entry = Result<Arc<CachedKey>, Reason>;

/// The SM2 engine's state: the key cache.
pub(crate) struct Sm2Engine {
    keys: ScanResistantCache<Vec<u8>, Entry>,
}

impl Sm2Engine {
    /// An engine whose key cache holds about `capacity` keys (0: no cache).
    pub(crate) fn new(capacity: usize) -> Self {
        Sm2Engine {
            keys: ScanResistantCache::new(capacity),
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

    fn key(&self, bytes: &[u8]) -> Entry {
        let entry = self.keys.get_or_insert_with(&bytes.to_vec(), || {
            decode_key(bytes).map(|point| {
                Arc::new(CachedKey {
                    point,
                    z_default: z_a_of(&point, DEFAULT_ID),
                    sightings: AtomicU32::new(0),
                    comb: OnceLock::new(),
                })
            })
        });
        if let Ok(key) = &entry
            && key.sightings.fetch_add(1, Ordering::Relaxed) + 1 == COMB_AFTER
        {
            key.comb.get_or_init(|| Comb::new(&key.point));
        }
        entry
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
                Ok((key, rst)) => {
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
                    pending.push((i, key, rst, e));
                }
            }
        }
        let mut digests = vec![[0u8; 32]; to_hash.len()];
        Sm3::detect().hash_into(&to_hash, &mut digests);
        let mut hashed = digests.into_iter();
        for (i, key, [r, s, t], e) in pending {
            let e = e.unwrap_or_else(|| hashed.next().expect("one digest per message item"));
            let sum = rules::joint_sum(&s, &t, &key.point, key.comb.get());
            out[i] = match rules::check_sum(&sum, &r, &e) {
                Ok(()) => Verdict::Valid,
                Err(reason) => Verdict::Invalid(reason),
            };
        }
    }
}
