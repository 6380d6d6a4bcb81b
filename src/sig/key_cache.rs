//! A bounded, thread-safe cache of decompressed public keys.
//!
//! Ledger traffic comes from few issuers: the same 32-byte key arrives thousands of times per
//! block, and decompressing it (a field square root, about a fifth of a single verification)
//! each time is waste. The cache maps key bytes to the decoded point, or to the fact that the
//! bytes are not a point, so hostile keys are not decompressed twice either. Once a batch in
//! small groups has decoded a key in the AVX-512 IFMA lanes, the lanes' form is kept beside it
//! too (measured: 1% invalid, distinct keys, warm cache: 222k → 246k sigs/s, the lanes'
//! decoding of every key no longer repeated per batch).
//!
//! Design: `SHARDS` independent LRU maps, each behind its own mutex, selected by key bytes.
//! Lookups happen once per *distinct* key per chunk (the engine coalesces keys first), so lock
//! traffic is small; sharding keeps two threads from queueing on one lock. A capacity of 0
//! turns caching off. What is cached is a pure function of the key bytes, so the cache can
//! never change a verdict, only its cost.
#![forbid(unsafe_code)]

use std::num::NonZeroUsize;
use std::sync::Mutex;

use curve25519_dalek::edwards::EdwardsPoint;
use lru::LruCache;

use super::Reason;
use super::rules::decode_key;

const SHARDS: usize = 16;

/// A public key as the checks need it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DecodedKey {
    /// The decoded point `A`.
    pub point: EdwardsPoint,
    /// `A` is one of the 8 small-order points (refused under Strict).
    pub small_order: bool,
    /// `A` in the AVX-512 IFMA lanes' form, once a batch has decoded it there
    /// ([`KeyCache::keep_lanes_form`]): later batches in small groups skip that decoding.
    #[cfg(target_arch = "x86_64")]
    pub lanes: Option<super::ifma::Affine>,
}

type Entry = Result<DecodedKey, Reason>;

/// See the module docs.
pub(crate) struct KeyCache {
    shards: Vec<Mutex<LruCache<[u8; 32], Entry>>>,
}

impl KeyCache {
    /// A cache holding at most about `capacity` keys (rounded up to a multiple of the shard
    /// count); `0` disables caching.
    pub fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = match NonZeroUsize::new(per_shard) {
            None => Vec::new(),
            Some(n) => (0..SHARDS).map(|_| Mutex::new(LruCache::new(n))).collect(),
        };
        KeyCache { shards }
    }

    /// Decodes `bytes`, from the cache when it is there.
    pub fn get(&self, bytes: &[u8; 32]) -> Entry {
        if self.shards.is_empty() {
            return decode(bytes);
        }
        let shard = self.shard(bytes);
        if let Some(hit) = lock(shard).get(bytes) {
            return *hit;
        }
        // Decode outside the lock: decompression is the expensive part.
        let entry = decode(bytes);
        lock(shard).put(*bytes, entry);
        entry
    }

    /// Keeps `lanes`, the lanes' decoding of `bytes`, beside the key if the cache holds it (a
    /// pure function of the bytes, like everything cached: `ifma::decompress8` yields the point
    /// curve25519-dalek does, tested there).
    #[cfg(target_arch = "x86_64")]
    pub fn keep_lanes_form(&self, bytes: &[u8; 32], lanes: super::ifma::Affine) {
        if self.shards.is_empty() {
            return;
        }
        if let Some(Ok(key)) = lock(self.shard(bytes)).peek_mut(bytes) {
            key.lanes = Some(lanes);
        }
    }

    /// The shard holding `bytes` (the cache must be on). The low byte of y is uniformly
    /// distributed for honest keys; a hostile issuer that crowds one shard only evicts its own
    /// entries.
    fn shard(&self, bytes: &[u8; 32]) -> &Mutex<LruCache<[u8; 32], Entry>> {
        &self.shards[usize::from(bytes[0]) % SHARDS]
    }
}

fn decode(bytes: &[u8; 32]) -> Entry {
    decode_key(bytes).map(|point| DecodedKey {
        point,
        small_order: point.is_small_order(),
        #[cfg(target_arch = "x86_64")]
        lanes: None,
    })
}

/// A poisoned shard only means another thread panicked mid-update of an LRU list whose
/// entries are all pure functions of their keys; the data is still right, so keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;

    #[test]
    fn hits_and_misses_agree_and_capacity_bounds() {
        let cache = KeyCache::new(32);
        let keys: Vec<[u8; 32]> = (1u64..200)
            .map(|i| {
                (ED25519_BASEPOINT_POINT * curve25519_dalek::Scalar::from(i))
                    .compress()
                    .0
            })
            .collect();
        for _ in 0..2 {
            for k in &keys {
                let got = cache.get(k).expect("valid point");
                assert_eq!(got.point.compress().0, *k);
                assert!(!got.small_order);
            }
        }
        let held: usize = cache.shards.iter().map(|s| lock(s).len()).sum();
        assert!(held <= 32, "cache holds {held} > capacity");
        // The first small y that is not on the curve: its refusal is cached and stays a refusal.
        let bad = (2u8..=255)
            .map(|y| {
                let mut b = [0u8; 32];
                b[0] = y;
                b
            })
            .find(|b| decode_key(b).is_err())
            .expect("about half of all y are off the curve");
        assert_eq!(cache.get(&bad).err(), Some(Reason::KeyNotOnCurve));
        assert_eq!(cache.get(&bad).err(), Some(Reason::KeyNotOnCurve));
        let off = KeyCache::new(0);
        assert!(off.get(&keys[0]).is_ok());
    }

    /// The lanes' form is kept beside a cached key, never invents an entry, and what comes
    /// back is what was decoded.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn keeps_the_lanes_form_of_cached_keys_only() {
        let cache = KeyCache::new(32);
        let key = (ED25519_BASEPOINT_POINT * curve25519_dalek::Scalar::from(77u64))
            .compress()
            .0;
        let other = ED25519_BASEPOINT_POINT.compress().0;
        // The cache stores whatever form it is given (the engine gives `ifma::decompress8`'s,
        // tested against dalek there); a placeholder serves, and needs no IFMA to run.
        let lanes = super::super::ifma::Affine::default();
        assert!(cache.get(&key).expect("valid").lanes.is_none());
        cache.keep_lanes_form(&key, lanes);
        cache.keep_lanes_form(&other, lanes);
        let kept = cache.get(&key).expect("valid").lanes.expect("kept");
        assert_eq!(format!("{kept:?}"), format!("{lanes:?}"));
        assert!(cache.get(&other).expect("valid").lanes.is_none());
        let off = KeyCache::new(0);
        off.keep_lanes_form(&key, lanes);
        assert!(off.get(&key).expect("valid").lanes.is_none());
    }
}
