//! The SM2 CPU engine: items verified one by one, in parallel on the verifier's pool, with a
//! cache of issuers' keys.
//!
//! Per task, checks 1–5 run item by item, the digests `e` are hashed many at a time in the
//! SM3 lanes, and the joint sums `[s]G + [t]P` are computed eight at a time in the AVX-512
//! IFMA lanes (`super::ifma`) where the CPU has them — with the serial arithmetic as their
//! twin, which computes the sums the lanes hand back (equal or opposite partial sums) and
//! everything on other CPUs.
//!
//! Few issuers sign most records, so the key cache holds, per key encoding (33, 64 or 65
//! bytes; other lengths are refused without being cached): the decoded key (or why it is not
//! one), its form in the lanes, its `Z_A` for the default ID and for the first other (short)
//! ID it is seen with. Once a key has been seen often lately ([`COMB_AFTER`]) its own comb is
//! built: in the lanes a Lim–Lee comb (20 KB)
//! that computes `[s]G + [t]P` in 31 doublings instead of 255; in the serial code a 4-bit
//! fixed-base comb (61 KiB) that turns `[t]P` into at most 64 mixed additions. Combs live in a
//! second, smaller cache ([`MAX_COMBS`] entries, at most 16 MiB): whoever sends many distinct
//! valid keys cannot make the engine hold a comb for each. Both caches are the scan-resistant
//! one of the Ed25519 keys (`sig::key_cache`): keyed shard hashing, segmented LRU, so a flood
//! of one-off hostile keys cannot evict the issuers that are seen again. Everything cached is
//! a pure function of the key bytes, so verdicts never depend on the caches.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use super::lanes::{Job, KeyForm, LaneComb, LanePoint, Sm2Lanes};
use super::point::{Affine, Comb, Jacobian};
use super::rules::{self, DEFAULT_ID, check_id, decode_key, decode_signature, z_a_of};
use super::{Sm2Item, Sm2Message};
use crate::merkle::sm3::Platform as Sm3;
use crate::sig::key_cache::ScanResistantCache;
use crate::sig::{Reason, Verdict};

/// Recent sightings of a key before its comb is built: the comb costs about 960 point
/// additions and saves about 60% of each later verification, so it pays after a few dozen.
///
/// Sightings decay: a key's count halves at the first sighting in each new call to the engine
/// (once per call since it was last seen). So the count measures how often a key recurs *lately*:
/// an issuer with a share of a block's records reaches it in a call or two, while keys that
/// each sign once per block (thousands of issuers) stay near 2 and never get a comb — a comb
/// for each would only churn the comb cache, building tables that are evicted before use.
pub(crate) const COMB_AFTER: u32 = 32;

/// The longest non-default user ID whose `Z_A` a cached key keeps (GB/T 32918's IDs are
/// 16 bytes; bounding it bounds the cache's memory whatever IDs an adversary sends).
const MAX_CACHED_ID: usize = 64;

/// The most combs held at once (20 KB each in the lanes' form, 61 KiB in the serial form).
pub(crate) const MAX_COMBS: usize = 256;

/// The fewest items per task: enough to hash their digests many at a time in the SM3 lanes
/// and to fill the IFMA lanes' batches of eight.
const MIN_CHUNK: usize = 64;

/// The most items per task.
const MAX_CHUNK: usize = 512;

/// A key as the cache keeps it.
pub(crate) struct CachedKey {
    point: Affine,
    /// The point in the IFMA lanes' form.
    lane_point: LanePoint,
    /// `x ‖ y`, 32 bytes each: the comb cache's key.
    xy: [u8; 64],
    z_default: [u8; 32],
    /// The first other ID (of at most [`MAX_CACHED_ID`] bytes) the key was seen with, and
    /// its `Z_A`: an issuer signs under one ID. Set once; later IDs are hashed per item.
    z_other: OnceLock<(Vec<u8>, [u8; 32])>,
    sightings: AtomicU32,
    /// The engine call that last saw the key (see [`COMB_AFTER`]).
    seen_in: AtomicU32,
}

type Entry = Result<Arc<CachedKey>, Reason>;

/// A key encoding as a cache key: its length, then its bytes (33, 64 or 65 of them).
type KeyBytes = [u8; 66];

impl CachedKey {
    /// `Z_A` for a non-default `id` (checked not too long): from the key's slot when it holds
    /// this ID, else hashed (and kept, if the slot is free and the ID short). The value is
    /// the same either way, so what the slot holds never changes a verdict; a key first seen
    /// with another ID only costs its issuer a hash per item (about a microsecond).
    fn z_a(&self, id: &[u8]) -> [u8; 32] {
        if let Some((held, z)) = self.z_other.get() {
            if held.as_slice() == id {
                return *z;
            }
            return z_a_of(&self.point, id);
        }
        let z = z_a_of(&self.point, id);
        if id.len() <= MAX_CACHED_ID {
            let _ = self.z_other.set((id.to_vec(), z));
        }
        z
    }
}

/// A frequent issuer's comb, in the form the engine's point arithmetic reads.
enum KeyComb {
    Serial(Comb),
    Lanes(LaneComb),
}

/// The SM2 engine's state: the key cache, the comb cache, and the IFMA lanes if this CPU has
/// them.
pub(crate) struct Sm2Engine {
    keys: ScanResistantCache<KeyBytes, Entry>,
    /// Frequent issuers' combs, by the affine `x ‖ y` of the key.
    combs: ScanResistantCache<[u8; 64], Arc<KeyComb>>,
    /// Where present, the joint sums are computed eight at a time in the lanes (the serial
    /// code remains their twin and computes what the lanes hand back).
    lanes: Option<Sm2Lanes>,
    /// Calls so far: the clock of the sightings' decay.
    calls: AtomicU32,
}

impl Sm2Engine {
    /// An engine whose key cache holds about `capacity` keys (0: no caches), on the IFMA
    /// lanes where this CPU has them.
    pub(crate) fn new(capacity: usize) -> Self {
        Sm2Engine::with_lanes(capacity, Sm2Lanes::detect())
    }

    /// An engine on the given lanes (`None`: the serial arithmetic alone).
    pub(crate) fn with_lanes(capacity: usize, lanes: Option<Sm2Lanes>) -> Self {
        Sm2Engine {
            keys: ScanResistantCache::new(capacity),
            combs: ScanResistantCache::new(capacity.min(MAX_COMBS)),
            lanes,
            calls: AtomicU32::new(0),
        }
    }

    /// One verdict per item, in input order, on the current rayon pool.
    pub(crate) fn verify(&self, items: &[Sm2Item<'_>]) -> Vec<Verdict> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut verdicts = vec![Verdict::Valid; items.len()];
        let chunk = chunk_len(items.len());
        verdicts
            .par_chunks_mut(chunk)
            .zip(items.par_chunks(chunk))
            .for_each(|(out, chunk)| self.verify_chunk(chunk, out, call));
        verdicts
    }

    /// The decoded key and, for a frequent issuer, its comb.
    fn key(
        &self,
        bytes: &[u8],
        call: u32,
        combs: bool,
    ) -> Result<(Arc<CachedKey>, Option<Arc<KeyComb>>), Reason> {
        let decode = || {
            decode_key(bytes).map(|point| {
                let mut xy = [0u8; 64];
                xy[..32].copy_from_slice(&point.x.to_be_bytes());
                xy[32..].copy_from_slice(&point.y.to_be_bytes());
                Arc::new(CachedKey {
                    point,
                    lane_point: LanePoint::from_affine(&point),
                    xy,
                    z_default: z_a_of(&point, DEFAULT_ID),
                    z_other: OnceLock::new(),
                    sightings: AtomicU32::new(0),
                    seen_in: AtomicU32::new(call),
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
        // Concurrent sightings may race here and lose a count: that changes only when a comb
        // is built, never a verdict.
        let last = key.seen_in.swap(call, Ordering::Relaxed);
        let sightings = match call.wrapping_sub(last) {
            0 => key
                .sightings
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1),
            calls => {
                let decayed = (key.sightings.load(Ordering::Relaxed) >> calls.min(31)) + 1;
                key.sightings.store(decayed, Ordering::Relaxed);
                decayed
            }
        };
        if !combs || sightings < COMB_AFTER {
            return Ok((key, None));
        }
        let xy = &key.xy;
        let comb = match self.combs.get(xy) {
            Some(comb) => Some(comb),
            // Built once when the key reaches its sightings (and again only if its comb was
            // evicted and the key keeps coming).
            None if sightings % COMB_AFTER == 0 => {
                let comb = Arc::new(match self.lanes {
                    Some(_) => KeyComb::Lanes(LaneComb::new(&key.point)),
                    None => KeyComb::Serial(Comb::new(&key.point)),
                });
                self.combs.insert(xy, Arc::clone(&comb));
                Some(comb)
            }
            None => None,
        };
        Ok((key, comb))
    }

    fn verify_chunk(&self, items: &[Sm2Item<'_>], out: &mut [Verdict], call: u32) {
        let pending = self.prepare_chunk(items, out, call, true);
        let sums = self.joint_sums(&pending);
        for (item, sum) in pending.iter().zip(&sums) {
            let [r, _, _] = &item.rst;
            out[item.index] = match rules::check_sum(sum, r, &item.e) {
                Ok(()) => Verdict::Valid,
                Err(reason) => Verdict::Invalid(reason),
            };
        }
    }

    /// Checks 1–5 of each item (failures written to `out`), then the survivors' digests,
    /// hashed together in the SM3 lanes: what the joint sums and the final check need. With
    /// `combs` the key cache builds frequent issuers' combs (the CPU engine's sums use them;
    /// the GPU's do not).
    fn prepare_chunk(
        &self,
        items: &[Sm2Item<'_>],
        out: &mut [Verdict],
        call: u32,
        combs: bool,
    ) -> Vec<Pending> {
        let mut pending = Vec::with_capacity(items.len());
        let mut to_hash: Vec<Vec<u8>> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let checked = self.key(item.public_key, call, combs).and_then(|key| {
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
                                Some(id) => key.z_a(id),
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
        pending
            .into_iter()
            .map(|(i, key, comb, rst, e)| Pending {
                index: i,
                e: e.unwrap_or_else(|| hashed.next().expect("one digest per message item")),
                key,
                comb,
                rst,
            })
            .collect()
    }

    /// For an engine that computes the joint sums elsewhere (the GPU): checks 1–5 of every
    /// item and the survivors' digests, in parallel on the current pool, exactly as the CPU
    /// engine runs them. Returns the verdicts (each failure's reason; `Valid` for now for the
    /// survivors) and `f` of each survivor, in input order.
    #[cfg(feature = "gpu")]
    pub(crate) fn prepare<T: Send>(
        &self,
        items: &[Sm2Item<'_>],
        f: impl Fn(Survivor<'_>) -> T + Sync,
    ) -> (Vec<Verdict>, Vec<T>) {
        let call = self.calls.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut verdicts = vec![Verdict::Valid; items.len()];
        let chunk = chunk_len(items.len());
        let survivors = verdicts
            .par_chunks_mut(chunk)
            .zip(items.par_chunks(chunk))
            .enumerate()
            .flat_map_iter(|(c, (out, items))| {
                let pending = self.prepare_chunk(items, out, call, false);
                pending
                    .into_iter()
                    .map(|p| {
                        let [r, s, t] = p.rst;
                        f(Survivor {
                            index: c * chunk + p.index,
                            key: &p.key.point,
                            r,
                            s,
                            t,
                            e: p.e,
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        (verdicts, survivors)
    }

    /// `[s]G + [t]P` of each pending item: eight at a time in the lanes where there are lanes
    /// (items with a key comb and items without in separate batches), and with the serial
    /// twin for the rest and for whatever the lanes hand back.
    fn joint_sums(&self, pending: &[Pending]) -> Vec<Jacobian> {
        let serial = |item: &Pending| {
            let [_, s, t] = &item.rst;
            let comb = match item.comb.as_deref() {
                Some(KeyComb::Serial(comb)) => Some(comb),
                _ => None,
            };
            rules::joint_sum(s, t, &item.key.point, comb)
        };
        let Some(lanes) = self.lanes else {
            return pending.iter().map(serial).collect();
        };
        let jobs = pending.iter().enumerate().map(|(i, item)| {
            let [_, s, t] = item.rst;
            let key = match item.comb.as_deref() {
                Some(KeyComb::Lanes(comb)) => KeyForm::Comb(comb),
                _ => KeyForm::Point(item.key.lane_point),
            };
            (i, Job { s, t, key })
        });
        let (with_combs, with_points): (Vec<_>, Vec<_>) =
            jobs.partition(|(_, job)| matches!(job.key, KeyForm::Comb(_)));
        let mut sums: Vec<Option<Jacobian>> = vec![None; pending.len()];
        for batch in [with_points, with_combs] {
            for eight in batch.chunks(8) {
                let jobs: Vec<Job> = eight.iter().map(|(_, job)| *job).collect();
                let results = lanes.joint_sums(&jobs);
                for ((i, _), result) in eight.iter().zip(results) {
                    sums[*i] = result;
                }
            }
        }
        pending
            .iter()
            .zip(sums)
            .map(|(item, sum)| sum.unwrap_or_else(|| serial(item)))
            .collect()
    }
}

/// Items per task for a call of `n` items on the current pool: large tasks, but about four
/// per thread. A task's items with and without a key comb go to the lanes in separate
/// batches of eight, so each task may leave two batches part-empty, a cost that shrinks as
/// tasks grow.
fn chunk_len(n: usize) -> usize {
    n.div_ceil(4 * rayon::current_num_threads())
        .clamp(MIN_CHUNK, MAX_CHUNK)
}

/// An item that passed checks 1–5, as [`Sm2Engine::prepare`] hands it out: its index in the
/// call, the key, `r`, `s`, `t` (little-endian limbs) and the digest `e`.
#[cfg(feature = "gpu")]
pub(crate) struct Survivor<'a> {
    pub index: usize,
    pub key: &'a Affine,
    pub r: [u64; 4],
    pub s: [u64; 4],
    pub t: [u64; 4],
    pub e: [u8; 32],
}

/// An item that passed checks 1–5, with its digest.
struct Pending {
    index: usize,
    e: [u8; 32],
    key: Arc<CachedKey>,
    comb: Option<Arc<KeyComb>>,
    /// `r`, `s`, `t`.
    rst: [[u64; 4]; 3],
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
        // Keys that each come once per call never get a comb, however many calls: their
        // sightings decay.
        let engine = Sm2Engine::new(64);
        let keys: Vec<Vec<u8>> = (2..42).map(key_of).collect();
        for _ in 0..3 * COMB_AFTER {
            let items: Vec<Sm2Item> = keys.iter().map(|k| Sm2Item::new(k, &sig, b"m")).collect();
            engine.verify(&items);
        }
        assert_eq!(engine.combs.held(), 0, "no comb for once-per-call keys");
        // G itself as a key: its comb equals the G comb's multiples.
        let g = [G.x.to_be_bytes(), G.y.to_be_bytes()].concat();
        assert_eq!(g, key_of(1));
    }

    #[test]
    fn lanes_and_serial_engines_agree_item_by_item() {
        use sm2::dsa::signature::Signer;
        let lanes = Sm2Lanes::detect();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            lanes.is_some(),
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512ifma"),
            "the lanes run wherever the CPU has them"
        );
        let signers: Vec<(Vec<u8>, sm2::dsa::SigningKey)> = (1u8..=12)
            .map(|i| {
                let secret = sm2::SecretKey::from_slice(&[i; 32]).unwrap();
                let key = sm2::dsa::SigningKey::new("1234567812345678", &secret).unwrap();
                (key.verifying_key().to_sec1_bytes().to_vec(), key)
            })
            .collect();
        // Signer 0 signs most items (it gets a comb); the rest sign a few each.
        let mut keys = Vec::new();
        let mut sigs = Vec::new();
        let mut messages = Vec::new();
        for i in 0..300usize {
            let who = if i % 3 == 0 { i % signers.len() } else { 0 };
            let message = (i as u32).to_le_bytes().repeat(1 + i % 9);
            let signature: sm2::dsa::Signature = signers[who].1.sign(&message);
            let mut sig: [u8; 64] = signature.to_bytes().into();
            match i % 7 {
                1 => sig[63] ^= 1,
                2 => sig[5] ^= 0x80,
                3 => sig.copy_within(32.., 0),
                _ => {}
            }
            keys.push(signers[who].0.clone());
            sigs.push(sig);
            messages.push(message);
        }
        let items: Vec<Sm2Item> = (0..keys.len())
            .map(|i| Sm2Item::new(&keys[i], &sigs[i], &messages[i]))
            .collect();
        let want: Vec<Verdict> = items.iter().map(rules::verify_sm2_single).collect();
        assert!(want.iter().filter(|v| v.is_valid()).count() > 150);
        let fast = Sm2Engine::new(64);
        let serial = Sm2Engine::with_lanes(64, None);
        for _ in 0..3 {
            assert_eq!(fast.verify(&items), want);
            assert_eq!(serial.verify(&items), want);
        }
        assert!(fast.combs.held() > 0 && serial.combs.held() > 0);
    }

    #[test]
    fn ids_other_than_the_default_get_the_verdicts_of_the_single_checks() {
        use sm2::dsa::signature::Signer;
        let long_id = vec![b'x'; MAX_CACHED_ID + 1];
        let ids: [&[u8]; 4] = [b"ALICE123@YAHOO.COM", b"", b"another id", &long_id];
        let mut owned = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let secret = sm2::SecretKey::from_slice(&[7u8; 32]).unwrap();
            let id_text = std::str::from_utf8(id).unwrap();
            let key = sm2::dsa::SigningKey::new(id_text, &secret).unwrap();
            let public = key.verifying_key().to_sec1_bytes().to_vec();
            for m in 0..3u8 {
                let message = vec![m + i as u8; 20];
                let sig: sm2::dsa::Signature = key.sign(&message);
                let mut sig: [u8; 64] = sig.to_bytes().into();
                if m == 2 {
                    sig[40] ^= 4;
                }
                owned.push((public.clone(), sig, message, id.to_vec()));
            }
        }
        let items: Vec<Sm2Item> = owned
            .iter()
            .map(|(k, s, m, id)| Sm2Item::new(k, s, m).with_id(id))
            .collect();
        let want: Vec<Verdict> = items.iter().map(rules::verify_sm2_single).collect();
        assert_eq!(want.iter().filter(|v| v.is_valid()).count(), 8);
        let engine = Sm2Engine::new(16);
        for _ in 0..3 {
            // One key under four IDs: the first is kept, the others hashed per item.
            assert_eq!(engine.verify(&items), want);
            let mut reversed = items.clone();
            reversed.reverse();
            let mut want_reversed = want.clone();
            want_reversed.reverse();
            assert_eq!(engine.verify(&reversed), want_reversed);
        }
    }
}
