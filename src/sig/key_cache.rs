//! A bounded, thread-safe cache of decompressed public keys.
//!
//! Ledger traffic comes from few issuers: the same 32-byte key arrives thousands of times per
//! block, and decompressing it (a field square root, about a fifth of a single verification)
//! each time is waste. The cache maps key bytes to the decoded point, or to the fact that the
//! bytes are not a point, so hostile keys are not decompressed twice either. Once a batch in
//! small groups has decoded a key in the AVX-512 IFMA lanes, the lanes' form is kept beside it
//! too, so later batches do not repeat that decoding (see BENCHMARKS.md, tuning log).
//!
//! Invariant: what is cached is a pure function of the key bytes, so the cache can never
//! change a verdict, only its cost. Everything below is about keeping that cost low when the
//! key bytes are chosen by an attacker.
//!
//! Design: `SHARDS` independent shards, each behind its own mutex. Lookups happen once per
//! *distinct* key per chunk (the engine coalesces keys first), so lock traffic is small;
//! sharding keeps two threads from queueing on one lock. A capacity of 0 turns caching off.
//!
//! - Shard selection is a keyed hash (SipHash-1-3 under std's `RandomState`: a secret random
//!   key, a different one for each cache), so whoever does not know the key cannot aim keys
//!   at one shard. The maps inside a shard hash with `RandomState` too, not lru's default
//!   (foldhash, which does not claim HashDoS resistance against an interactive attacker).
//! - Policy: segmented LRU per shard. Every new key, decoded or refused alike, enters the
//!   probationary segment; a key seen again while there moves to the protected segment (at
//!   most 4/5 of the shard). Evictions take from probation only; when the protected segment
//!   overflows, its least recent key is demoted to probation, not dropped. Probation may use
//!   whatever room the protected segment leaves, so a working set that fits is held whole.
//!
//! Why segmented LRU: a flood of one-off keys only churns probation and never evicts a
//! protected (promoted) issuer, and it costs one more map lookup than plain LRU, with no
//! counters to age. TinyLFU admission resists keys repeated on purpose better, but needs a
//! frequency sketch on the hot path; S3-FIFO gives the same one-off guarantee with ghost
//! queues we would write by hand. The limit: to push an issuer out, an attacker must get each
//! hostile key seen twice while it is in probation, and more of them than the protected
//! segments hold (spread over all shards, as it cannot aim) between two sightings of that
//! issuer.
//!
//! # Growth
//!
//! A node whose issuers outnumber the cache (65,536 accounts signing once every few blocks,
//! against 16,384 keys cached) would decode most keys on every sighting, since each is evicted
//! before it returns. So the Ed25519 cache sizes itself to the traffic, between the capacity it
//! was built with and [`GROWTH_LIMIT`] times that: each shard remembers the fingerprints (a
//! keyed 64-bit hash) of the keys it evicted, up to its largest size, and doubles when, over a
//! window of as many misses as half the keys it holds, at least one miss in [`GHOST_SHARE`]
//! was such a
//! key: the evictions were of keys that come back. One-off keys never come back, so a flood
//! of them never grows the cache; keys repeated on purpose can grow it, but only up to the
//! limit, a bound on memory (about 50 MB at the default 16,384 × 8 keys, fingerprints
//! included), and growing evicts
//! no one. The cache never shrinks. The SM2 caches keep a fixed size (their entries are the
//! costlier to hold, and SM2 traffic comes from few issuers).
#![forbid(unsafe_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroUsize;
use std::sync::Mutex;

use curve25519_dalek::edwards::EdwardsPoint;
use lru::LruCache;

use super::Reason;
use super::rules::decode_key;

const SHARDS: usize = 16;

/// One part in `PROBATION_SHARE` of each shard is always left to probation, so a new key can
/// stay long enough to be seen again even when the protected segment is full.
const PROBATION_SHARE: usize = 5;

/// How far the Ed25519 key cache may grow past the capacity it was built with (see
/// "Growth" in the module docs).
pub(crate) const GROWTH_LIMIT: usize = 8;
/// A shard grows when, over a window of as many misses as half the keys it holds, at least one
/// miss in `GHOST_SHARE` was a key it had evicted (and would have hit, had it been larger).
const GHOST_SHARE: usize = 4;

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

/// See the module docs: the Ed25519 keys' cache.
pub(crate) struct KeyCache {
    cache: ScanResistantCache<[u8; 32], Entry>,
}

impl KeyCache {
    /// A cache holding at most about `capacity` keys (rounded up to a multiple of the shard
    /// count); `0` disables caching.
    pub fn new(capacity: usize) -> Self {
        KeyCache {
            cache: ScanResistantCache::growing(capacity, capacity.saturating_mul(GROWTH_LIMIT)),
        }
    }

    /// How many keys the cache may hold now (tests only).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.cache.capacity()
    }

    /// Decodes `bytes`, from the cache when it is there.
    pub fn get(&self, bytes: &[u8; 32]) -> Entry {
        self.cache.get_or_insert_with(bytes, || decode(bytes))
    }

    /// Keeps `lanes`, the lanes' decoding of `bytes`, beside the key if the cache holds it (a
    /// pure function of the bytes, like everything cached: `ifma::decompress8` yields the point
    /// curve25519-dalek does, tested there). Leaves the key's place in its segment as it is.
    #[cfg(target_arch = "x86_64")]
    pub fn keep_lanes_form(&self, bytes: &[u8; 32], lanes: super::ifma::Affine) {
        self.cache.update(bytes, |entry| {
            if let Ok(key) = entry {
                key.lanes = Some(lanes);
            }
        });
    }

    /// Whether the cache holds `bytes`, without touching any recency (tests only).
    #[cfg(test)]
    fn contains(&self, bytes: &[u8; 32]) -> bool {
        self.cache.contains(bytes)
    }

    /// How many keys the cache holds (tests only).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.cache.held()
    }
}

/// A bounded, sharded, scan-resistant map from keys to values that are pure functions of the
/// keys (see the module docs for the policy and why): the Ed25519 key cache and the SM2 key
/// cache are both one.
pub(crate) struct ScanResistantCache<K, V> {
    shards: Vec<Mutex<Shard<K, V>>>,
    /// The key of the hash that picks a shard, drawn at random per cache.
    shard_key: RandomState,
}

impl<K: Hash + Eq + Clone, V: Clone> ScanResistantCache<K, V> {
    /// A cache holding at most about `capacity` entries (rounded up to a multiple of the shard
    /// count); `0` disables caching.
    pub fn new(capacity: usize) -> Self {
        Self::growing(capacity, capacity)
    }

    /// A cache that starts at `capacity` and may grow to `ceiling` entries as misses on keys
    /// it evicted show it is too small (see "Growth" in the module docs).
    pub fn growing(capacity: usize, ceiling: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        let ceiling_per_shard = ceiling.div_ceil(SHARDS).max(per_shard);
        let shards = match NonZeroUsize::new(per_shard) {
            None => Vec::new(),
            Some(n) => (0..SHARDS)
                .map(|_| Mutex::new(Shard::new(n, ceiling_per_shard)))
                .collect(),
        };
        ScanResistantCache {
            shards,
            shard_key: RandomState::new(),
        }
    }

    /// How many entries the cache may hold now, summed over its shards (tests only).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.shards.iter().map(|s| lock(s).capacity).sum()
    }

    /// The value of `key`, from the cache when it is there, else `make()` (called outside the
    /// lock: it is the expensive part) admitted on probation.
    pub fn get_or_insert_with(&self, key: &K, make: impl FnOnce() -> V) -> V {
        if self.shards.is_empty() {
            return make();
        }
        let shard = self.shard(key);
        if let Some(hit) = lock(shard).get(key) {
            return hit;
        }
        let value = make();
        lock(shard).admit(key, value.clone());
        value
    }

    /// The value of `key` if the cache holds it (a hit, with a hit's promotion).
    pub fn get(&self, key: &K) -> Option<V> {
        if self.shards.is_empty() {
            return None;
        }
        lock(self.shard(key)).get(key)
    }

    /// Admits `value` for `key` on probation, unless the cache holds the key already.
    pub fn insert(&self, key: &K, value: V) {
        if !self.shards.is_empty() {
            lock(self.shard(key)).admit(key, value);
        }
    }

    /// Applies `f` to the value of `key` if the cache holds it, leaving its place in its
    /// segment as it is.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub fn update(&self, key: &K, f: impl FnOnce(&mut V)) {
        if self.shards.is_empty() {
            return;
        }
        if let Some(value) = lock(self.shard(key)).peek_mut(key) {
            f(value);
        }
    }

    /// The shard holding `key` (the cache must be on), by a hash under this cache's secret
    /// key: keys an attacker picks land in shards it cannot predict.
    fn shard(&self, key: &K) -> &Mutex<Shard<K, V>> {
        &self.shards[self.shard_index(key)]
    }

    fn shard_index(&self, key: &K) -> usize {
        // The modulus is a power of two: the low bits of SipHash, uniform under the key.
        (self.shard_key.hash_one(key) % SHARDS as u64) as usize
    }

    /// Whether the cache holds `key`, without touching any recency (tests only).
    #[cfg(test)]
    pub(crate) fn contains(&self, key: &K) -> bool {
        !self.shards.is_empty() && lock(self.shard(key)).contains(key)
    }

    /// How many entries the cache holds (tests only).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }
}

/// One shard: a segmented LRU of at most `capacity` entries (see the module docs). The two
/// segments never hold the same key.
struct Shard<K, V> {
    /// New keys, and keys demoted from `protected`; the only segment evicted from.
    probation: LruCache<K, V, RandomState>,
    /// Keys seen again while in probation; `None` when the shard has room for one key only.
    protected: Option<LruCache<K, V, RandomState>>,
    capacity: usize,
    /// The most `capacity` may grow to.
    ceiling: usize,
    /// Fingerprints of the keys evicted lately (at most `ceiling`), for growth: allocated as
    /// evictions fill it, not up front, and emptied (its memory freed) once the shard can grow
    /// no more, so a cache that never grows, or has grown all it may, pays nothing for it.
    ghosts: LruCache<u64, (), RandomState>,
    /// The key of the fingerprints, secret (so an attacker cannot make its keys collide with
    /// evicted ones).
    fingerprint: RandomState,
    /// Misses in the current window, and how many of them were of evicted keys.
    misses: usize,
    ghost_hits: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> Shard<K, V> {
    fn new(capacity: NonZeroUsize, ceiling: usize) -> Self {
        let hasher = RandomState::new();
        let ceiling = ceiling.max(capacity.get());
        Shard {
            probation: LruCache::with_hasher(capacity, hasher.clone()),
            protected: Self::protected_segment(capacity.get(), &hasher),
            capacity: capacity.get(),
            ceiling,
            ghosts: LruCache::unbounded_with_hasher(hasher),
            fingerprint: RandomState::new(),
            misses: 0,
            ghost_hits: 0,
        }
    }

    /// The protected segment of a shard of `capacity` keys (`None` below two keys).
    fn protected_segment(
        capacity: usize,
        hasher: &RandomState,
    ) -> Option<LruCache<K, V, RandomState>> {
        let reserved = capacity.div_ceil(PROBATION_SHARE);
        NonZeroUsize::new(capacity - reserved).map(|n| LruCache::with_hasher(n, hasher.clone()))
    }

    /// Counts a miss on `key` toward growth, and grows the shard if this window's misses show
    /// it is too small (see "Growth" in the module docs).
    fn count_miss(&mut self, key: &K) {
        if self.capacity >= self.ceiling {
            return;
        }
        if self.ghosts.pop(&self.fingerprint.hash_one(key)).is_some() {
            self.ghost_hits += 1;
        }
        self.misses += 1;
        if 2 * self.misses < self.capacity {
            return;
        }
        if self.ghost_hits * GHOST_SHARE >= self.misses {
            self.grow((2 * self.capacity).min(self.ceiling));
        }
        self.misses = 0;
        self.ghost_hits = 0;
    }

    /// Room for `capacity` keys: both segments resized, every key kept where it is.
    fn grow(&mut self, capacity: usize) {
        let Some(room) = NonZeroUsize::new(capacity) else {
            return;
        };
        self.probation.resize(room);
        let reserved = capacity.div_ceil(PROBATION_SHARE);
        if let Some(protected_room) = NonZeroUsize::new(capacity - reserved) {
            match &mut self.protected {
                Some(protected) => protected.resize(protected_room),
                None => {
                    let hasher = RandomState::new();
                    self.protected = Self::protected_segment(capacity, &hasher);
                }
            }
        }
        self.capacity = capacity;
        if capacity >= self.ceiling {
            self.ghosts = LruCache::unbounded_with_hasher(RandomState::new());
        }
    }

    /// A hit: refreshes the key in the protected segment, or promotes it there from probation
    /// (demoting the protected segment's least recent key to probation if that is full).
    fn get(&mut self, key: &K) -> Option<V> {
        let Some(protected) = &mut self.protected else {
            return self.probation.get(key).cloned();
        };
        if let Some(hit) = protected.get(key) {
            return Some(hit.clone());
        }
        let value = self.probation.pop(key)?;
        if let Some((demoted, v)) = protected.push(key.clone(), value.clone()) {
            // Probation just gave up a slot, so this evicts nothing.
            self.probation.push(demoted, v);
        }
        Some(value)
    }

    /// A miss, computed: enters probation, evicting probation's least recent key if the shard
    /// is full. Another thread may have admitted the key meanwhile; then what is there stays
    /// (it may carry more, such as the lanes' form).
    fn admit(&mut self, key: &K, value: V) {
        if self.contains(key) {
            return;
        }
        self.count_miss(key);
        if self.len() >= self.capacity {
            // Probation is never empty here: the protected segment holds less than the shard.
            if let Some((evicted, _)) = self.probation.pop_lru()
                && self.capacity < self.ceiling
            {
                self.ghosts.push(self.fingerprint.hash_one(&evicted), ());
                if self.ghosts.len() > self.ceiling {
                    self.ghosts.pop_lru();
                }
            }
        }
        self.probation.push(key.clone(), value);
    }

    fn peek_mut(&mut self, key: &K) -> Option<&mut V> {
        if let Some(protected) = &mut self.protected
            && protected.contains(key)
        {
            return protected.peek_mut(key);
        }
        self.probation.peek_mut(key)
    }

    fn contains(&self, key: &K) -> bool {
        self.probation.contains(key) || self.protected.as_ref().is_some_and(|p| p.contains(key))
    }

    fn len(&self) -> usize {
        self.probation.len() + self.protected.as_ref().map_or(0, LruCache::len)
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

/// A poisoned shard only means another thread panicked mid-update of LRU lists whose entries
/// are all pure functions of their keys; at worst a key was dropped, and what is there is still
/// right, so keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::Scalar;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use std::collections::HashSet;

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
        // The 199 keys recur, so the cache may have grown (see "Growth"), never past its
        // current capacity or the limit.
        let held = cache.held();
        assert!(held <= cache.capacity(), "cache holds {held} > capacity");
        assert!(cache.capacity() <= GROWTH_LIMIT * 32);
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

    /// SplitMix64: a fixed, reproducible stream of test bytes.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn random_bytes(state: &mut u64) -> [u8; 32] {
        let mut b = [0u8; 32];
        for chunk in b.chunks_mut(8) {
            chunk.copy_from_slice(&next(state).to_le_bytes());
        }
        b
    }

    fn point(k: u64) -> [u8; 32] {
        (ED25519_BASEPOINT_POINT * Scalar::from(k)).compress().0
    }

    /// Same verdict, same point, same small-order flag.
    fn assert_same(got: Entry, want: Entry, bytes: &[u8; 32]) {
        match (got, want) {
            (Ok(g), Ok(w)) => {
                assert_eq!(g.point, w.point, "{bytes:02x?}");
                assert_eq!(g.small_order, w.small_order, "{bytes:02x?}");
            }
            (g, w) => assert_eq!(g.err(), w.err(), "{bytes:02x?}"),
        }
    }

    /// The attack this cache must survive: 64 issuers seen a few times each, then 100,000
    /// one-off hostile keys (valid points, crafted keys sharing an issuer's first byte as the
    /// old first-byte sharding invited, and bytes that are no point), with a few issuer
    /// lookups in between. Every issuer must still be held at the end. Under the old design
    /// (plain LRU per shard, shard = first byte) this fails: the last 15,000 flood keys alone
    /// put hundreds of fresh keys into every one of those 64-key shards.
    /// A working set four times the cache's capacity, cycled: the misses on keys it evicted
    /// grow it (within `GROWTH_LIMIT`) until the set fits, and then every key hits. A flood of
    /// one-off keys, as many misses, grows nothing.
    #[test]
    fn the_cache_grows_to_a_recurring_working_set_and_not_for_one_off_keys() {
        let cache = KeyCache::new(256);
        let start = cache.capacity();
        let working_set: Vec<[u8; 32]> = (1..=1024).map(point).collect();
        for _ in 0..8 {
            for key in &working_set {
                cache.get(key).expect("a point");
            }
        }
        let grown = cache.capacity();
        assert!(
            grown >= 1024 && grown <= GROWTH_LIMIT * start,
            "{start} → {grown}"
        );
        let hits = working_set.iter().filter(|k| cache.contains(k)).count();
        assert!(
            hits * 10 >= working_set.len() * 9,
            "{hits} of 1024 cached after growth"
        );

        let flooded = KeyCache::new(256);
        let mut state = 7;
        for _ in 0..8 * 1024 {
            // Mostly off the curve, and never repeated: refusals are cached like points.
            let _ = flooded.get(&random_bytes(&mut state));
        }
        assert_eq!(flooded.capacity(), start, "one-off keys grew the cache");
    }

    #[test]
    fn a_flood_of_one_off_keys_leaves_frequent_issuers_cached() {
        const CAPACITY: usize = 1024;
        const FLOOD: u64 = 100_000;
        let cache = KeyCache::new(CAPACITY);
        let issuers: Vec<[u8; 32]> = (1u64..=64).map(point).collect();
        // Each issuer twice in a row (its second sighting promotes it), then once more.
        for k in &issuers {
            cache.get(k).expect("valid");
            cache.get(k).expect("valid");
        }
        for k in &issuers {
            cache.get(k).expect("valid");
        }

        let mut seen: HashSet<[u8; 32]> = issuers.iter().copied().collect();
        let mut rng = 0x5eed_u64;
        let mut chain = ED25519_BASEPOINT_POINT * Scalar::from(1_000_000u64);
        let (mut valid, mut refused) = (0u32, 0u32);
        for i in 0..FLOOD {
            let key = match i % 4 {
                // A valid point, distinct from every issuer.
                0 => {
                    chain += ED25519_BASEPOINT_POINT;
                    chain.compress().0
                }
                // Crafted to land in issuer 0's shard under first-byte sharding.
                1 => {
                    let mut b = random_bytes(&mut rng);
                    b[0] = issuers[0][0];
                    b[1..9].copy_from_slice(&i.to_le_bytes());
                    b
                }
                // Bytes that are no point, in issuer 1's first-byte shard.
                2 => loop {
                    let mut b = random_bytes(&mut rng);
                    b[0] = issuers[1][0];
                    b[1..9].copy_from_slice(&i.to_le_bytes());
                    if decode_key(&b).is_err() {
                        break b;
                    }
                },
                // Anything at all.
                _ => random_bytes(&mut rng),
            };
            assert!(seen.insert(key), "flood key {i} is not one-off");
            match cache.get(&key) {
                Ok(_) => valid += 1,
                Err(_) => refused += 1,
            }
            if i % 5000 == 0 && i < 90_000 {
                for j in 0..4 {
                    let k = &issuers[(i as usize / 5000 * 4 + j) % issuers.len()];
                    cache.get(k).expect("valid");
                }
            }
        }
        assert!(
            valid > 30_000 && refused > 30_000,
            "{valid} valid, {refused} refused"
        );

        let missing: Vec<usize> = (0..issuers.len())
            .filter(|&i| !cache.contains(&issuers[i]))
            .collect();
        assert!(
            missing.is_empty(),
            "issuers evicted by the flood: {missing:?}"
        );
        let per_shard = CAPACITY.div_ceil(SHARDS);
        for shard in &cache.cache.shards {
            assert!(lock(shard).len() <= per_shard);
        }
        assert!(
            cache.held() <= CAPACITY,
            "cache holds {} keys",
            cache.held()
        );
        for k in &issuers {
            assert_same(cache.get(k), decode(k), k);
        }
    }

    /// Keys that all share their first byte (the old shard selector) spread over all shards,
    /// about evenly, and two caches draw different shard keys.
    #[test]
    fn keys_with_one_first_byte_spread_over_the_shards() {
        let cache = KeyCache::new(1024);
        let mut rng = 7u64;
        let keys: Vec<[u8; 32]> = (0..1600)
            .map(|_| {
                let mut b = random_bytes(&mut rng);
                b[0] = 0x42;
                b
            })
            .collect();
        let mut counts = [0usize; SHARDS];
        for k in &keys {
            counts[cache.cache.shard_index(k)] += 1;
        }
        // 100 a shard on average, a standard deviation of about 10.
        assert!(
            counts.iter().all(|&c| (40..=160).contains(&c)),
            "shard loads {counts:?}"
        );
        let other = KeyCache::new(1024);
        assert!(
            keys.iter()
                .any(|k| cache.cache.shard_index(k) != other.cache.shard_index(k)),
            "two caches chose shards alike"
        );
    }

    /// Whatever path an entry takes (miss, hit in probation, hit in the protected segment,
    /// demotion), it is what decoding the bytes afresh gives: valid points, small-order
    /// points, non-canonical encodings and bytes that are no point.
    #[test]
    fn cached_entries_equal_fresh_decoding() {
        let mut keys: Vec<[u8; 32]> = (1u64..40).map(point).collect();
        keys.extend(EIGHT_TORSION.iter().map(|p| p.compress().0));
        // y = p + 1 and p + 4 (non-canonical; one of them at least decodes) and their negatives.
        for low in [0xeeu8, 0xf1] {
            for sign in [0u8, 0x80] {
                let mut b = [0xffu8; 32];
                b[0] = low;
                b[31] = 0x7f | sign;
                keys.push(b);
            }
        }
        let mut rng = 99u64;
        keys.extend((0..40).map(|_| random_bytes(&mut rng)));
        let fresh: Vec<Entry> = keys.iter().map(decode).collect();
        assert!(fresh.iter().filter(|e| e.is_err()).count() >= 10);
        assert!(
            fresh
                .iter()
                .filter(|e| matches!(e, Ok(k) if k.small_order))
                .count()
                >= 8
        );
        // Small enough that keys are evicted and demoted, large enough to promote.
        for capacity in [0, 16, 48, 1024] {
            let cache = KeyCache::new(capacity);
            for round in 0..4 {
                for (k, want) in keys.iter().zip(&fresh) {
                    assert_same(cache.get(k), *want, k);
                    if round % 2 == 1 {
                        assert_same(cache.get(k), *want, k);
                    }
                }
                assert!(cache.held() <= cache.capacity());
                assert!(cache.capacity() <= GROWTH_LIMIT * capacity.div_ceil(SHARDS) * SHARDS);
            }
        }
    }
}
