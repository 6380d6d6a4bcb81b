//! The CPU engine: items split into chunks across a rayon pool; per chunk, encodings are
//! checked and decoded, keys coalesced (one decode and one multiscalar term per distinct key),
//! and the policy's equation applied — as a batch for `Zip215`, item by item for `Strict`.
//!
//! On CPUs with AVX-512 IFMA, a `Zip215` chunk headed for batch groups decodes every `R` eight
//! at a time in the lanes (`super::lanes::Lanes`: a token that detection hands out only where
//! the CPU has the instructions, carried as `Option<Lanes>`, over the kernels in
//! `super::ifma`). A large group (at least [`LANES_MIN_GROUP`] items) spreads its own `R`
//! terms over the eight lanes and leaves its `A` and `B` terms to curve25519-dalek's
//! multiscalar multiplication. Small groups (failures seen recently), when the chunk holds at
//! least [`LANES_GROUPS`] of them, are computed whole in the lanes, a group per lane, so eight
//! groups share every doubling (`batch::check_zip215`). A chunk of fewer, smaller groups
//! keeps curve25519-dalek's decoding and multiscalar multiplication: the lanes' fixed cost per
//! sum does not pay there (see BENCHMARKS.md, "Tuning").
//!
//! Items checked alone go to the lanes too, eight equations `[S]B − [k]A` at once
//! (`Lanes::double_base8`, one doubling chain for the eight): every `Strict` item whose key
//! and `R` bytes are not of small order (its fast path, [`strict_rest`]), with the reasons of
//! those that fail read off `R` decoded and re-encoded in the lanes; every `Zip215` item once
//! failures are dense; and the items of dense runs and exhausted searches (`batch.rs`). Keys
//! the key cache holds without their lanes' form are decoded there eight at a time and the
//! form kept. Per item this is about 1.7× curve25519-dalek's double-scalar multiplication for
//! `Strict` (a bound set by the 252 doublings a full-size `k` needs) and 1.75× dalek's
//! cofactored check for `Zip215`, whose scalars are halved first (128 doublings,
//! `super::halving`; BENCHMARKS.md).
//!
//! Every chunk's challenges `k = SHA-512(R ‖ A ‖ M) mod L` are hashed first, eight messages
//! at a time in 64-bit AVX-512 lanes where the lanes exist (`super::sha512_lanes`, the same
//! digests as the `sha2` crate's).
//!
//! When groups are smaller than the chunk, its items are put in key order first: each group
//! pays one full-size (253-bit) term per distinct key, so a group of issuer traffic in key
//! order pays for one or two keys instead of up to one per item.
//!
//! # Chunk and group sizes
//!
//! A chunk is the unit of parallel work and of key coalescing; a *group* is the unit of one
//! batch equation. Larger groups make the multiscalar multiplication cheaper per item
//! (curve25519-dalek switches from Straus to Pippenger at 190 terms, and Pippenger's cost per
//! point keeps falling with size) but make a failing group costlier to search. The constants
//! below were chosen by measurement on the development machine (BENCHMARKS.md, "Tuning").
//!
//! The group size follows the failure density recently seen by this engine: with no recent
//! failures the whole chunk is one group (should its equation fail, the chunk is checked again
//! in small groups, [`COLD_RECHECK_GROUP`]); as failures become common groups shrink so that a
//! group holds about [`BAD_PER_GROUP`] bad items; past [`DENSE_FAILURE_RATE`] batching cannot
//! pay for its searches and every item is checked alone. With the lanes, locating a lone bad
//! item in a small group costs one more combination of the group (the locator in `batch.rs`),
//! and two or more a search that halves the group in the lanes, about two more combinations
//! for two bad items, so the cost of failures stays proportional to their number, whatever
//! the batch size (without them, a failing group is bisected on dalek's path). Failures that
//! came in runs (one issuer's broken batch, or an attacker's choice of where to put its bad
//! signatures: [`FailureRate::clustered`]) leave most chunks clean, so then every chunk is
//! first checked whole, as with no failures seen, and only a chunk that fails is checked again
//! in small groups, in its items' own order. This only changes cost: every path gives the
//! same verdicts (see `batch.rs`).
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use rayon::prelude::*;

use super::batch::{self, DecodedR, Prepared, Scratch};
use super::key_cache::{DecodedKey, KeyCache};
use super::lanes::{Lanes, Single, SingleOutcome};
use super::rules::{
    challenge, challenges_into, decode_r, decode_s, strict_equation, strict_point_checks,
    zip215_equation,
};
use super::{Policy, Reason, SigItem, Verdict};
use crate::Error;

/// The most items one rayon task takes.
pub(crate) const MAX_CHUNK: usize = 1024;
/// The most items one rayon task takes while recent failures have made groups small. One call
/// of the grouped check (`batch::check_zip215`) then holds more failing groups, so the
/// locator's round of the lanes, which costs the same for one failing group as for eight,
/// runs fuller: a 1,024-item chunk at 1% has ~9.5 failing groups of 16, two rounds where 1.2
/// would do; 4,096 items have ~38, five rounds where 4.8 would do. Each chunk also looks up
/// its keys once (and decodes in the lanes those the key cache does not yet hold in that
/// form). Whole chunks are not made larger: a group is never more than [`MAX_CHUNK`] items,
/// because larger single equations are slower here (see BENCHMARKS.md, "Tuning", for this
/// constant and the others).
const MAX_CHUNK_SMALL_GROUPS: usize = 4 * MAX_CHUNK;
/// The fewest items worth a task of their own: small enough that a small batch is split
/// across the pool's threads rather than run as one task on one core.
pub(crate) const MIN_CHUNK: usize = 32;
/// Smallest batch group once failures have been seen.
const MIN_GROUP: usize = 4;
/// Above this fraction of failing equations, batching is abandoned for single checks: about
/// here groups of 4 and single checks cost the same.
const DENSE_FAILURE_RATE: f64 = 0.2;
/// Target expected bad items per group, chosen by measurement (BENCHMARKS.md, "Tuning"): with
/// the rounding in [`FailureRate::group_size`], groups of 16 at 1% failures, 4 at 5% and 10%.
const BAD_PER_GROUP: f64 = 0.25;
/// The smallest batch group for which `R` goes to the IFMA lanes: their sum of multiples has
/// a fixed cost (132 doublings of eight points per combination) that small groups, and the
/// bisection of failing ones, cannot amortise.
const LANES_MIN_GROUP: usize = 32;
/// With at least this many batch groups in a chunk, `R` goes to the lanes whatever the group
/// size: the groups' `R` terms are then summed a group per lane (`batch::check_zip215`),
/// which fills the eight lanes.
const LANES_GROUPS: usize = 8;
/// The group size in which a whole chunk whose one equation failed, with no failures seen
/// before, is checked again (what a 1% failure rate gets), instead of bisecting it, which for
/// a chunk with ~10 bad items costs several times the chunk's own check
/// (`examples/profile_sigs.rs` prints the first call's rate). Only with the lanes, and only
/// for chunks of at least eight such groups; others are still bisected.
const COLD_RECHECK_GROUP: usize = 16;
/// The failure estimate's window: it remembers the last one to two windows of items (two
/// full chunks each). A long memory lets one burst of bad signatures slow the honest traffic
/// after it (`examples/failure_recovery.rs`, BENCHMARKS.md "Tuning"). One to two windows hold
/// 20–40 failures at 1%, enough to size groups.
const FAILURE_WINDOW: u64 = 2 * MAX_CHUNK as u64;
/// The mean length of the runs of failing items (consecutive in a call's order) at or above
/// which the failures recently seen count as runs ([`FailureRate::clustered`]): scattered
/// failures at a rate `f` below [`DENSE_FAILURE_RATE`] make runs of about `1 / (1 − f)`, at
/// most 1.25 items.
const CLUSTERED_RUN_LENGTH: u64 = 3;

/// The canonical encodings of the 8 points of small order.
static SMALL_ORDER_ENCODINGS: LazyLock<[[u8; 32]; 8]> =
    LazyLock::new(|| EIGHT_TORSION.map(|t| t.compress().0));

/// See the module docs.
pub(crate) struct CpuEngine {
    pool: rayon::ThreadPool,
    keys: KeyCache,
    recent: FailureRate,
    /// The AVX-512 IFMA lanes, where this CPU has them (and tests have not turned them off):
    /// `Zip215` then decodes `R` eight at a time and computes batch combinations there;
    /// curve25519-dalek does both otherwise.
    lanes: Option<Lanes>,
    /// How often the lanes ran, for tests that must see them run where the CPU has them.
    #[cfg(test)]
    lanes_ran: LanesRan,
}

/// Counts of the lanes' work over an engine's life (tests only).
#[cfg(test)]
#[derive(Default)]
struct LanesRan {
    /// Chunks whose `R` were decoded in the lanes (`decode_r_in_lanes`).
    chunks_decoded: AtomicU64,
    /// Sums computed in the lanes (see `Scratch::sums_in_lanes`).
    sums: AtomicU64,
    /// Items whose equations the lanes computed alone (`Strict`, dense failures, dense runs).
    singles: AtomicU64,
}

#[derive(Default)]
struct ChunkState {
    key_slots: HashMap<[u8; 32], Option<usize>>,
    key_points: Vec<EdwardsPoint>,
    /// The encodings of `key_points`, index for index.
    key_encodings: Vec<[u8; 32]>,
    prepared: Vec<Prepared>,
    /// `Strict` items whose equations go to the lanes.
    strict: Vec<StrictJob>,
    /// The slots of those whose equation failed there.
    strict_failed: Vec<usize>,
    /// Buffers for putting `prepared` in key order.
    key_order: KeyOrder,
    /// The chunk's challenges, index for index (`rules::challenges_into`).
    challenges: Vec<Scalar>,
    scratch: Scratch,
}

impl CpuEngine {
    pub fn new(threads: usize, key_cache_size: usize) -> Result<Self, Error> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("blockverify-cpu-{i}"))
            .build()
            .map_err(|e| Error::ThreadPool(e.to_string()))?;
        Ok(CpuEngine {
            pool,
            keys: KeyCache::new(key_cache_size),
            recent: FailureRate::default(),
            lanes: Lanes::detect(),
            #[cfg(test)]
            lanes_ran: LanesRan::default(),
        })
    }

    /// The same engine with the IFMA lanes on or off (where the CPU has them), for tests that
    /// compare the two paths.
    #[cfg(test)]
    fn with_lanes(mut self, on: bool) -> Self {
        self.lanes = if on { Lanes::detect() } else { None };
        self
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// The verifier's pool, which this engine owns and every other engine shares (tree
    /// hashing, GPU packing, submitted jobs).
    pub fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// Runs `work` on this engine's pool (for the Merkle engine, which shares the pool).
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.pool.install(work)
    }

    /// One verdict per item, in order.
    pub fn verify(&self, policy: Policy, items: &[SigItem<'_>]) -> Vec<Verdict> {
        let mut verdicts = vec![Verdict::Valid; items.len()];
        let small_groups =
            policy == Policy::Zip215 && self.group_size(MAX_CHUNK).is_some_and(|g| g < MAX_CHUNK);
        let max_chunk = if small_groups {
            MAX_CHUNK_SMALL_GROUPS
        } else {
            MAX_CHUNK
        };
        let chunk = items
            .len()
            .div_ceil(self.threads())
            .clamp(MIN_CHUNK, max_chunk);
        let call = CallFailures::default();
        self.pool.install(|| {
            verdicts
                .par_chunks_mut(chunk)
                .zip(items.par_chunks(chunk))
                .for_each_init(ChunkState::default, |state, (out, chunk)| {
                    match policy {
                        Policy::Zip215 => self.zip215_chunk(chunk, out, state, &call),
                        Policy::Strict => self.strict_chunk(chunk, out, state),
                    }
                    #[cfg(test)]
                    self.lanes_ran.sums.fetch_add(
                        std::mem::take(&mut state.scratch.sums_in_lanes) as u64,
                        Ordering::Relaxed,
                    );
                    #[cfg(test)]
                    self.lanes_ran.singles.fetch_add(
                        std::mem::take(&mut state.scratch.singles_in_lanes) as u64,
                        Ordering::Relaxed,
                    );
                });
        });
        let (n, failures, runs) = call.totals();
        if n > 0 {
            self.recent.record_runs(n, failures, runs);
        }
        verdicts
    }

    /// The batch group size for a chunk of `n` prepared items, or `None` for single checks:
    /// the failure estimate's ([`FailureRate::group_size`]), except that when recent failures
    /// came in runs ([`FailureRate::clustered`]) and the lanes run, each chunk is first
    /// checked whole, as when no failures were seen: runs leave most chunks clean, and a chunk
    /// holding one is checked again in small groups (`zip215_chunk`), where sizing every
    /// chunk's groups for the call's failure rate made every clean chunk pay small groups.
    /// Scattered failures, should they follow runs, cost that one extra whole-chunk equation
    /// per chunk for one call, after which the estimate says they are scattered (a bounded
    /// cost, and only of time). Without the lanes a failing chunk would be bisected instead of
    /// checked again in groups, so the estimate's size stands.
    fn group_size(&self, n: usize) -> Option<usize> {
        if self.lanes.is_some() && self.recent.clustered() {
            return Some(n.max(1));
        }
        self.recent.group_size(n)
    }

    /// Counts a chunk's equations and failures toward the failure estimate: into the call's
    /// totals, recorded when the call ends, so that the estimate the next call sizes its groups
    /// by is the whole call's rate, not that of whichever chunk finished last (a run of bad
    /// items in one chunk of four made the next call's groups four times too small,
    /// BENCHMARKS.md); or at once where the chunk's own failures are dense, so that the rest of
    /// a call full of bad signatures is checked item by item.
    /// `runs`: how many runs of consecutive items (in the chunk's order) the failures form,
    /// which tells runs of bad items from scattered ones.
    fn record_chunk(&self, call: &CallFailures, items: usize, failures: usize, runs: usize) {
        if failures as f64 > DENSE_FAILURE_RATE * items as f64 {
            self.recent.record_runs(items, failures, runs);
        } else {
            call.items.fetch_add(items as u64, Ordering::Relaxed);
            call.failures.fetch_add(failures as u64, Ordering::Relaxed);
            call.runs.fetch_add(runs as u64, Ordering::Relaxed);
        }
    }

    fn zip215_chunk(
        &self,
        chunk: &[SigItem<'_>],
        out: &mut [Verdict],
        st: &mut ChunkState,
        call: &CallFailures,
    ) {
        st.key_slots.clear();
        st.key_points.clear();
        st.key_encodings.clear();
        st.scratch.known_lanes_keys.clear();
        st.prepared.clear();
        // One decision per chunk (the estimate may move while other chunks record): the group
        // size, and with it whether R goes to the lanes, which pay off on large groups and on
        // many small ones together; a few small groups and single checks keep dalek's path.
        // A chunk sized for small groups may meet an estimate that has since cleared: its
        // groups still stay within MAX_CHUNK items.
        let group = self.group_size(chunk.len()).map(|g| g.min(MAX_CHUNK));
        // Dense failures (no group) check every item alone, eight at a time in the lanes.
        let lanes = self.lanes.filter(|_| {
            group.is_none_or(|g| g >= LANES_MIN_GROUP || chunk.len() / g >= LANES_GROUPS)
        });
        // Every item's challenge first, eight at a time where there are lanes (whether or
        // not this chunk's equations go to them).
        let mut challenges = std::mem::take(&mut st.challenges);
        challenges_into(self.lanes, chunk, &mut challenges);
        for ((slot, item), k) in chunk.iter().enumerate().zip(&challenges) {
            match self.prepare(item, slot, *k, lanes, st) {
                Ok(p) => st.prepared.push(p),
                Err(reason) => out[slot] = Verdict::Invalid(reason),
            }
        }
        st.challenges = challenges;
        if let Some(lanes) = lanes {
            decode_r_in_lanes(lanes, &mut st.prepared, out);
            #[cfg(test)]
            self.lanes_ran
                .chunks_decoded
                .fetch_add(1, Ordering::Relaxed);
        }
        let failures = match group {
            None => self.zip215_singles(lanes, st, out),
            Some(group) => {
                // No failures seen lately, so one equation for the whole chunk. Should it fail
                // (a node's first bad block), the chunk is checked again in small groups, as
                // when failures are known, rather than bisected: bisecting a chunk with ~10
                // bad items costs several times the chunk's own check.
                let (group, in_runs) = if group >= st.prepared.len()
                    && lanes.is_some()
                    && st.prepared.len() >= COLD_RECHECK_GROUP * LANES_GROUPS
                {
                    match batch::whole_passes(lanes, &st.prepared, &st.key_points, &mut st.scratch)
                    {
                        Some(true) => {
                            self.record_chunk(call, st.prepared.len(), 0, 0);
                            return;
                        }
                        _ => (COLD_RECHECK_GROUP, self.recent.clustered()),
                    }
                } else {
                    (group, false)
                };
                // Small groups each pay a multiscalar term per distinct key: with the items
                // ordered by key, a group of issuer traffic holds one or two keys instead of
                // up to one per item. Verdicts go to slots, so order changes only cost. Not
                // when this chunk failed while failures come in runs: key order would spread
                // a run of many issuers' items over every group, each then searched, where in
                // the items' own order the run fills a few groups, checked item by item.
                if group < st.prepared.len() && !in_runs {
                    st.key_order.apply(&mut st.prepared, st.key_points.len());
                }
                let failures = batch::check_zip215(
                    lanes,
                    &st.prepared,
                    group,
                    &st.key_points,
                    &st.key_encodings,
                    &mut st.scratch,
                    out,
                );
                if let Some(lanes) = lanes {
                    for (j, form) in st.scratch.fresh_lanes_keys() {
                        lanes.keep_form(&self.keys, &st.key_encodings[j], form);
                    }
                }
                failures
            }
        };
        let runs = if failures == 0 { 0 } else { failure_runs(out) };
        self.record_chunk(call, st.prepared.len(), failures, runs);
    }

    /// Every prepared item of the chunk checked alone (failures dense): eight at a time in the
    /// lanes where they run, else on dalek's path. Returns the failures found.
    fn zip215_singles(
        &self,
        lanes: Option<Lanes>,
        st: &mut ChunkState,
        out: &mut [Verdict],
    ) -> usize {
        if let Some(lanes) = lanes
            && let Some(forms) = batch::lanes_key_forms(lanes, &st.key_encodings, &mut st.scratch)
        {
            let failures = batch::singles_in_lanes(
                lanes,
                &st.prepared,
                &st.key_points,
                |_, it| forms[it.key],
                out,
            );
            #[cfg(test)]
            self.lanes_ran
                .singles
                .fetch_add(st.prepared.len() as u64, Ordering::Relaxed);
            for (j, form) in st.scratch.fresh_lanes_keys() {
                lanes.keep_form(&self.keys, &st.key_encodings[j], form);
            }
            return failures;
        }
        // Without the lanes (or, not expected, were the lanes to refuse a key dalek decoded).
        let mut failures = 0;
        for p in &st.prepared {
            let checked =
                p.r.dalek()
                    .and_then(|r| zip215_equation(&p.s, &st.key_points[p.key], &r, &p.k));
            if let Err(reason) = checked {
                out[p.slot] = Verdict::Invalid(reason);
                failures += 1;
            }
        }
        failures
    }

    /// Rules 1–3 for one item, with its key coalesced into the chunk's key table.
    fn prepare(
        &self,
        item: &SigItem<'_>,
        slot: usize,
        k: Scalar,
        lanes: Option<Lanes>,
        st: &mut ChunkState,
    ) -> Result<Prepared, Reason> {
        let s = decode_s(item.s_bytes())?;
        let key = match st.key_slots.entry(*item.public_key) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let slot = self.keys.get(item.public_key).ok().map(|k| {
                    st.key_points.push(k.point);
                    st.key_encodings.push(*item.public_key);
                    st.scratch
                        .known_lanes_keys
                        .push(lanes.and_then(|lanes| lanes.cached_form(&k)));
                    st.key_points.len() - 1
                });
                *e.insert(slot)
            }
        };
        let key = key.ok_or(Reason::KeyNotOnCurve)?;
        // With the lanes on, R is decoded for the whole chunk at once (decode_r_in_lanes).
        let r = match lanes {
            Some(_) => DecodedR::Lanes {
                point: Default::default(),
                bytes: *item.r_bytes(),
            },
            None => DecodedR::Dalek(decode_r(item.r_bytes())?),
        };
        Ok(Prepared { slot, s, r, k, key })
    }

    /// `Strict`, item by item. With the lanes, the items that take the fast path (see
    /// [`strict_rest`]) have their equations computed eight at a time there
    /// (`Lanes::double_base8`, the same `[S]B − [k]A` and encoding as curve25519-dalek's), and
    /// only their verdicts' reasons, where the equation failed, are found one by one.
    fn strict_chunk(&self, chunk: &[SigItem<'_>], out: &mut [Verdict], st: &mut ChunkState) {
        let Some(lanes) = self.lanes else {
            for (item, verdict) in chunk.iter().zip(out) {
                *verdict = self.strict_one(item).into();
            }
            return;
        };
        st.strict.clear();
        st.key_slots.clear();
        st.key_encodings.clear();
        st.scratch.known_lanes_keys.clear();
        let mut challenges = std::mem::take(&mut st.challenges);
        challenges_into(Some(lanes), chunk, &mut challenges);
        for ((slot, item), k) in chunk.iter().enumerate().zip(&challenges) {
            let prepared = decode_s(item.s_bytes()).and_then(|s| {
                let key = self.keys.get(item.public_key)?;
                Ok((s, key, *k))
            });
            let (s, key, k) = match prepared {
                Ok(prepared) => prepared,
                Err(reason) => {
                    out[slot] = Verdict::Invalid(reason);
                    continue;
                }
            };
            if !takes_fast_path(&key, item) {
                out[slot] = strict_rest(item, &key, &s, &k, None).into();
                continue;
            }
            // The key's index in this chunk's table of keys, whose lanes' forms are found
            // (cached, or decoded eight at a time) below.
            let index = *st.key_slots.entry(*item.public_key).or_insert_with(|| {
                st.key_encodings.push(*item.public_key);
                st.scratch.known_lanes_keys.push(lanes.cached_form(&key));
                Some(st.key_encodings.len() - 1)
            });
            st.strict.push(StrictJob {
                slot,
                s,
                k,
                index: index.unwrap_or_default(),
            });
        }
        st.challenges = challenges;
        let Some(forms) = batch::lanes_key_forms(lanes, &st.key_encodings, &mut st.scratch) else {
            // Not expected (the lanes decode what dalek decodes): each item on dalek's path.
            for job in &st.strict {
                out[job.slot] = self.strict_one(&chunk[job.slot]).into();
            }
            return;
        };
        #[cfg(test)]
        self.lanes_ran
            .singles
            .fetch_add(st.strict.len() as u64, Ordering::Relaxed);
        for jobs in st.strict.chunks(8) {
            let singles: Vec<Single> = jobs
                .iter()
                .map(|job| Single {
                    key: forms[job.index],
                    s: job.s.to_bytes(),
                    k: job.k.to_bytes(),
                    r: None,
                })
                .collect();
            for (job, outcome) in jobs.iter().zip(lanes.double_base8(&singles)) {
                match outcome {
                    SingleOutcome::Encoding(encoding) if encoding == *chunk[job.slot].r_bytes() => {
                    }
                    _ => st.strict_failed.push(job.slot),
                }
            }
        }
        strict_failures_in_lanes(lanes, chunk, &st.strict_failed, out);
        st.strict_failed.clear();
        for (j, form) in st.scratch.fresh_lanes_keys() {
            lanes.keep_form(&self.keys, &st.key_encodings[j], form);
        }
    }

    fn strict_one(&self, item: &SigItem<'_>) -> Result<(), Reason> {
        let s = decode_s(item.s_bytes())?;
        let key = self.keys.get(item.public_key)?;
        let k = challenge(item);
        let equation = takes_fast_path(&key, item)
            .then(|| strict_equation(&s, &key.point, item.r_bytes(), &k));
        strict_rest(item, &key, &s, &k, equation)
    }
}

/// A `Strict` item whose equation goes to the lanes (rules 1 and 2 passed).
#[derive(Clone, Copy)]
struct StrictJob {
    slot: usize,
    s: Scalar,
    k: Scalar,
    /// Index of the key in the chunk's key table.
    index: usize,
}

/// The verdicts of `Strict` items (at `slots` of `chunk`) that took the fast path and whose
/// equation failed in the lanes: what [`strict_rest`] gives them, with `R` decoded eight at a
/// time in the lanes and its rules read off its canonical encoding, so that a block of bad
/// signatures costs no field square root and inversion per item on top of its equations.
/// Exact: the lanes decode exactly what dalek decodes, to the same point, and re-encode it as
/// dalek's `compress` does (tested); a point is of small order exactly when its canonical
/// encoding is one of the eight small-order points' (encoding is one-to-one), and `R` is
/// canonically encoded exactly when its bytes are its point's canonical encoding. The key is
/// not of small order (the fast path's condition), so rule 4 holds.
fn strict_failures_in_lanes(
    lanes: Lanes,
    chunk: &[SigItem<'_>],
    slots: &[usize],
    out: &mut [Verdict],
) {
    for eight in slots.chunks(8) {
        let encodings: [[u8; 32]; 8] =
            std::array::from_fn(|j| eight.get(j).map_or([0; 32], |&slot| *chunk[slot].r_bytes()));
        let decoded = lanes.decompress8(&encodings);
        let points: Vec<_> = decoded
            .iter()
            .take(eight.len())
            .flatten()
            .copied()
            .collect();
        let mut canonical = lanes.compress8(&points).into_iter();
        for (j, &slot) in eight.iter().enumerate() {
            let reason = match decoded[j] {
                None => Reason::RNotOnCurve,
                Some(_) => {
                    let encoding = canonical.next().unwrap_or_default();
                    if SMALL_ORDER_ENCODINGS.contains(&encoding) {
                        Reason::SmallOrderR
                    } else if encoding != encodings[j] {
                        Reason::NonCanonicalR
                    } else {
                        Reason::EquationFailed
                    }
                }
            };
            out[slot] = Verdict::Invalid(reason);
        }
    }
}

/// Whether `Strict`'s fast path applies: neither the key nor `R`'s bytes are of small order,
/// so an equation that holds settles rules 3–7 at once (see [`strict_rest`]).
fn takes_fast_path(key: &DecodedKey, item: &SigItem<'_>) -> bool {
    !key.small_order && !SMALL_ORDER_ENCODINGS.contains(item.r_bytes())
}

/// `Strict`'s rules 3–7 for an item that passed rules 1 and 2, given its equation where it was
/// computed already (only for items that [`takes_fast_path`]).
///
/// Fast path, exact: if `compress([S]B − [k]A)` equals R's bytes, then R decodes and is
/// canonically encoded (it is the encoding of a point), and R is of small order exactly when
/// those canonical bytes are one of the 8 torsion points' encodings. So rules 3, 5 and 6 hold
/// without decompressing R, saving a field square root per valid signature. Otherwise the
/// checks run in reference order, so the reason is the reference's; the equation already
/// computed is reused, so a bad signature costs no more than one check.
fn strict_rest(
    item: &SigItem<'_>,
    key: &DecodedKey,
    s: &Scalar,
    k: &Scalar,
    equation: Option<Result<(), Reason>>,
) -> Result<(), Reason> {
    if equation == Some(Ok(())) {
        return Ok(());
    }
    let r = decode_r(item.r_bytes())?;
    strict_point_checks(key.small_order, &r, item.r_bytes())?;
    equation.unwrap_or_else(|| strict_equation(s, &key.point, item.r_bytes(), k))
}

/// How many runs of consecutive items whose equations failed `verdicts` holds.
fn failure_runs(verdicts: &[Verdict]) -> usize {
    let failed = |v: &Verdict| *v == Verdict::Invalid(Reason::EquationFailed);
    let starts = verdicts
        .windows(2)
        .filter(|w| failed(&w[1]) && !failed(&w[0]));
    starts.count() + usize::from(verdicts.first().is_some_and(failed))
}

/// A call's equations, failures and runs of failures, summed over its chunks (see
/// [`CpuEngine::record_chunk`]).
#[derive(Default)]
struct CallFailures {
    items: AtomicU64,
    failures: AtomicU64,
    runs: AtomicU64,
}

impl CallFailures {
    /// Items, failures, runs.
    fn totals(&self) -> (usize, usize, usize) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed) as usize;
        (load(&self.items), load(&self.failures), load(&self.runs))
    }
}

/// Puts a chunk's prepared items in key order, stably, by counting sort: key indices are dense
/// (`0..keys`, in order of first appearance), so each item moves twice, where a comparison sort
/// moves each of these ~190-byte items about log2(n) times.
#[derive(Default)]
struct KeyOrder {
    starts: Vec<usize>,
    sorted: Vec<Prepared>,
}

impl KeyOrder {
    fn apply(&mut self, items: &mut Vec<Prepared>, keys: usize) {
        self.starts.clear();
        self.starts.resize(keys + 1, 0);
        for it in items.iter() {
            self.starts[it.key + 1] += 1;
        }
        for k in 0..keys {
            self.starts[k + 1] += self.starts[k];
        }
        // Every slot of `sorted` is written exactly once: the counts partition 0..n.
        self.sorted.clear();
        self.sorted.extend_from_slice(items);
        for it in items.iter() {
            let at = &mut self.starts[it.key];
            self.sorted[*at] = *it;
            *at += 1;
        }
        std::mem::swap(items, &mut self.sorted);
    }
}

/// Rule 3 for every prepared item, eight at a time in the lanes: items whose `R` does not
/// decode get `RNotOnCurve` and leave `prepared`; the others keep their decoded `R`.
fn decode_r_in_lanes(lanes: Lanes, prepared: &mut Vec<Prepared>, out: &mut [Verdict]) {
    let mut any_invalid = false;
    for group in prepared.chunks_mut(8) {
        let encodings: [[u8; 32]; 8] = std::array::from_fn(|j| match group.get(j) {
            Some(Prepared {
                r: DecodedR::Lanes { bytes, .. },
                ..
            }) => *bytes,
            _ => [0; 32],
        });
        let decoded = lanes.decompress8(&encodings);
        for (p, decoded) in group.iter_mut().zip(decoded) {
            match (decoded, &mut p.r) {
                (Some(affine), DecodedR::Lanes { point, .. }) => *point = affine,
                // Decoded by dalek already (not produced while the lanes are on).
                (_, DecodedR::Dalek(_)) => {}
                (None, DecodedR::Lanes { .. }) => {
                    out[p.slot] = Verdict::Invalid(Reason::RNotOnCurve);
                    any_invalid = true;
                }
            }
        }
    }
    if any_invalid {
        prepared.retain(|p| out[p.slot] == Verdict::Valid);
    }
}

/// The fraction of prepared items whose equation failed, over the last one to two windows of
/// [`FAILURE_WINDOW`] items: the window being filled and the last full one (a window closes
/// with the chunk that fills it, so a chunk of [`MAX_CHUNK_SMALL_GROUPS`] items is a window of
/// its own). Once a window of honest traffic has filled, an earlier burst of failures no
/// longer counts at all.
///
/// Updated once per call with the call's totals, and at once by a chunk whose own failures
/// are dense ([`CpuEngine::record_chunk`]); with relaxed atomics, whose races only blur the
/// estimate, which steers cost, never verdicts.
///
/// It also counts the runs those failures formed (consecutive failing items, in each chunk's
/// order), which tells runs of bad items from scattered ones ([`FailureRate::clustered`]).
#[derive(Default)]
struct FailureRate {
    items: AtomicU64,
    failures: AtomicU64,
    runs: AtomicU64,
    previous_items: AtomicU64,
    previous_failures: AtomicU64,
    previous_runs: AtomicU64,
    /// Whether the last closed window was dense enough for single checks (for the `tracing`
    /// event on a switch; the estimate itself is `group_size`'s).
    dense: std::sync::atomic::AtomicBool,
}

impl FailureRate {
    /// Scattered failures: each a run of its own.
    #[cfg(test)]
    fn record(&self, items: usize, failures: usize) {
        self.record_runs(items, failures, failures);
    }

    fn record_runs(&self, items: usize, failures: usize, runs: usize) {
        let n = self.items.fetch_add(items as u64, Ordering::Relaxed) + items as u64;
        let f = self.failures.fetch_add(failures as u64, Ordering::Relaxed) + failures as u64;
        let r = self.runs.fetch_add(runs as u64, Ordering::Relaxed) + runs as u64;
        if n >= FAILURE_WINDOW {
            self.previous_items.store(n, Ordering::Relaxed);
            self.previous_failures.store(f, Ordering::Relaxed);
            self.previous_runs.store(r, Ordering::Relaxed);
            self.items.store(0, Ordering::Relaxed);
            self.failures.store(0, Ordering::Relaxed);
            self.runs.store(0, Ordering::Relaxed);
            let dense = f as f64 > DENSE_FAILURE_RATE * n as f64;
            if self.dense.swap(dense, Ordering::Relaxed) != dense {
                crate::trace::single_checks(dense, f * 1000 / n);
            }
        }
    }

    /// Whether the failures recently seen came in runs: [`CLUSTERED_RUN_LENGTH`] items per
    /// run or more on average, and not dense (where every item is checked alone anyway).
    fn clustered(&self) -> bool {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let items = load(&self.items) + load(&self.previous_items);
        let failures = load(&self.failures) + load(&self.previous_failures);
        let runs = load(&self.runs) + load(&self.previous_runs);
        failures > 0
            && failures as f64 <= DENSE_FAILURE_RATE * items as f64
            && failures >= CLUSTERED_RUN_LENGTH * runs
    }

    /// The batch group size for `n` prepared items, or `None` for single checks.
    fn group_size(&self, n: usize) -> Option<usize> {
        let items =
            self.items.load(Ordering::Relaxed) + self.previous_items.load(Ordering::Relaxed);
        let failures =
            self.failures.load(Ordering::Relaxed) + self.previous_failures.load(Ordering::Relaxed);
        if failures == 0 || items == 0 {
            return Some(n.max(1));
        }
        let rate = failures as f64 / items as f64;
        if rate > DENSE_FAILURE_RATE {
            return None;
        }
        let group = ((BAD_PER_GROUP / rate) as usize).max(1);
        // Powers of two keep bisection halves balanced.
        let group = 1 << group.ilog2();
        Some(group.clamp(MIN_GROUP, n.max(MIN_GROUP)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_chunks(rate: &FailureRate, chunks: usize, failures_per_chunk: usize) {
        for _ in 0..chunks {
            rate.record(MAX_CHUNK, failures_per_chunk);
        }
    }

    /// The items of `traffic` (messages of `message_len` bytes) with the signatures `sigs`,
    /// and `verify_single`'s verdict for each.
    fn items_and_reference<'a>(
        traffic: &'a blockverify_testkit::Workload,
        sigs: &'a [[u8; 64]],
        message_len: usize,
    ) -> (Vec<SigItem<'a>>, Vec<Verdict>) {
        let items: Vec<SigItem<'a>> = (0..sigs.len())
            .map(|i| {
                let message = &traffic.messages[i * message_len..(i + 1) * message_len];
                SigItem::new(&traffic.keys[i], &sigs[i], message)
            })
            .collect();
        let reference = items
            .iter()
            .map(|item| crate::verify_single(Policy::Zip215, item))
            .collect();
        (items, reference)
    }

    #[test]
    fn no_failures_means_one_group_per_chunk() {
        let rate = FailureRate::default();
        assert_eq!(rate.group_size(MAX_CHUNK), Some(MAX_CHUNK));
        record_chunks(&rate, 100, 0);
        assert_eq!(rate.group_size(MAX_CHUNK), Some(MAX_CHUNK));
        assert_eq!(rate.group_size(0), Some(1));
    }

    #[test]
    fn steady_failure_rates_size_groups_as_measured() {
        // 1% → 16 (0.25 / 0.01 = 25, rounded down to a power of two), 5% → 4 (5 → 4),
        // 30% → single checks.
        for (per_chunk, want) in [(10, Some(16)), (51, Some(4)), (307, None)] {
            let rate = FailureRate::default();
            record_chunks(&rate, 64, per_chunk);
            assert_eq!(rate.group_size(MAX_CHUNK), want, "{per_chunk} per chunk");
        }
    }

    /// The IFMA lanes and curve25519-dalek decode and sum `R` differently; the verdicts must
    /// not differ, item by item, from each other or from `verify_single`. Round 0 has no
    /// failure history, so whole chunks go to the lanes and failing ones are checked again in
    /// small groups (with the lanes off, bisected on dalek's path); later rounds see ~8%
    /// failures and take groups of 4 in key order, whose `R` terms are summed a group per
    /// lane. Where the CPU has IFMA the lanes must really have run (decoded and summed), so
    /// the test fails rather than compare dalek's path with itself.
    #[test]
    fn lanes_and_dalek_paths_give_the_same_verdicts() {
        use blockverify_testkit::{Workload, WorkloadSpec};
        use curve25519_dalek::constants::EIGHT_TORSION;
        let traffic = Workload::generate(&WorkloadSpec {
            items: 1500,
            issuers: 16,
            message_len: 64,
            invalid_fraction: 0.02,
            seed: 7,
        });
        let mut sigs = traffic.signatures.clone();
        let mut rng = rand::rng();
        use rand::RngExt;
        for (i, sig) in sigs.iter_mut().enumerate() {
            match i % 97 {
                // R: random bytes (about half do not decode).
                0..=2 => sig[..32].copy_from_slice(&rng.random::<[u8; 32]>()),
                // R: a point of small order (decodes; the equation fails).
                3 => sig[..32].copy_from_slice(&EIGHT_TORSION[i % 8].compress().to_bytes()),
                // R: y = p + 1, a non-canonical encoding that decodes.
                4 => {
                    let mut y = [0xff; 32];
                    y[0] = 0xee;
                    y[31] = 0x7f;
                    sig[..32].copy_from_slice(&y);
                }
                // S ≥ L.
                5 => sig[63] |= 0xf0,
                _ => {}
            }
        }
        let (items, reference) = items_and_reference(&traffic, &sigs, 64);
        assert!(reference.contains(&Verdict::Invalid(Reason::RNotOnCurve)));
        assert!(reference.contains(&Verdict::Invalid(Reason::EquationFailed)));
        let cpu_has_ifma = super::super::lanes::cpu_has_ifma();
        if !cpu_has_ifma {
            eprintln!("SKIP (lanes only): no AVX-512 IFMA here; only dalek's path is tested");
        }
        for lanes in [true, false] {
            let engine = CpuEngine::new(2, 64).expect("engine").with_lanes(lanes);
            assert_eq!(engine.lanes.is_some(), lanes && cpu_has_ifma);
            for round in 0..3 {
                assert_eq!(
                    engine.verify(Policy::Zip215, &items),
                    reference,
                    "lanes {lanes}, round {round}"
                );
            }
            let ran = &engine.lanes_ran;
            let decoded = ran.chunks_decoded.load(Ordering::Relaxed);
            let summed = ran.sums.load(Ordering::Relaxed);
            if engine.lanes.is_some() {
                assert!(
                    decoded > 0 && summed > 0,
                    "lanes on: {decoded} chunks, {summed} sums"
                );
            } else {
                assert_eq!((decoded, summed), (0, 0), "lanes off");
            }
        }
    }

    /// Traffic for the tests of single checks: `n` items by 16 issuers and every fifth by a key
    /// of its own, with these corrupted (the indices given, each kind once in a while):
    /// `S + 1` (the equation fails), `R` random bytes, of small order (canonical, and `y = p + 1`)
    /// or non-canonical, `S ≥ L`,
    /// a key of small order or of mixed order (a torsion point added), a key off the curve.
    fn hostile_traffic(
        n: usize,
        bad: impl Fn(usize) -> bool,
    ) -> Vec<([u8; 32], [u8; 64], Vec<u8>)> {
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
        use rand::RngExt;
        let mut rng = rand::rng();
        let off_curve = (2u8..=255)
            .map(|y| [y; 32])
            .find(|r| decode_r(r).is_err())
            .expect("about half of all y are off the curve");
        let non_canonical_r = (2u8..=18)
            .map(|k| {
                let mut y = [0xff; 32];
                y[0] = 0xed + k;
                y[31] = 0x7f;
                y
            })
            .find(|y| decode_r(y).is_ok_and(|r| !r.is_small_order()))
            .expect("some y = p + k decodes to a point of large order");
        (0..n)
            .map(|i| {
                let signer = if i % 5 == 0 {
                    100 + i as u64
                } else {
                    i as u64 % 16
                };
                let secret = Scalar::from(1000 + signer);
                let mut key_point = ED25519_BASEPOINT_POINT * secret;
                if i % 89 == 7 {
                    key_point += EIGHT_TORSION[1 + i % 7];
                }
                let mut key = key_point.compress().to_bytes();
                let message = format!("record {i}").into_bytes();
                let nonce = Scalar::from(rng.random::<u64>());
                let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&r);
                let k = challenge(&SigItem::new(&key, &sig, &message));
                let mut s = nonce + k * secret;
                if bad(i) {
                    s += Scalar::ONE;
                }
                sig[32..].copy_from_slice(s.as_bytes());
                match i % 101 {
                    0 => sig[..32].copy_from_slice(&rng.random::<[u8; 32]>()),
                    1 => sig[..32].copy_from_slice(&EIGHT_TORSION[i % 8].compress().to_bytes()),
                    2 => {
                        let mut y = [0xff; 32];
                        y[0] = 0xee;
                        y[31] = 0x7f;
                        sig[..32].copy_from_slice(&y);
                    }
                    3 => sig[63] |= 0xf0,
                    // R: y = p + k, a non-canonical encoding of a point not of small order.
                    6 => sig[..32].copy_from_slice(&non_canonical_r),
                    4 => key = EIGHT_TORSION[i % 8].compress().to_bytes(),
                    5 => key = off_curve,
                    _ => {}
                }
                (key, sig, message)
            })
            .collect()
    }

    /// `engine`'s verdicts under `policy` against `verify_single`'s, item by item.
    fn assert_reference_verdicts(
        engine: &CpuEngine,
        policy: Policy,
        traffic: &[([u8; 32], [u8; 64], Vec<u8>)],
        what: &str,
    ) -> Vec<Verdict> {
        let items: Vec<SigItem<'_>> = traffic
            .iter()
            .map(|(key, sig, message)| SigItem::new(key, sig, message))
            .collect();
        let want: Vec<Verdict> = items
            .iter()
            .map(|it| crate::verify_single(policy, it))
            .collect();
        let got = engine.verify(policy, &items);
        for (i, (got, want)) in got.iter().zip(&want).enumerate() {
            assert_eq!(got, want, "{what}, {policy:?}, item {i}");
        }
        want
    }

    /// Where the CPU has IFMA, the lanes computed at least one item's equation alone.
    fn assert_singles_ran(engine: &CpuEngine, what: &str) {
        let singles = engine.lanes_ran.singles.load(Ordering::Relaxed);
        assert_eq!(
            singles > 0,
            super::super::lanes::cpu_has_ifma(),
            "{what}: {singles} items checked alone in the lanes"
        );
    }

    /// `Strict` with its equations in the lanes gives `verify_single`'s verdicts (every reason,
    /// in the reference's order), as does dalek's path, on every kind of corruption, with
    /// repeated keys (cached lanes' forms) and keys seen once (decoded in the lanes).
    #[test]
    fn strict_in_the_lanes_gives_the_reference_verdicts() {
        let traffic = hostile_traffic(700, |i| i % 7 == 3);
        for lanes in [true, false] {
            let engine = CpuEngine::new(2, 64).expect("engine").with_lanes(lanes);
            for round in 0..2 {
                let what = format!("lanes {lanes}, round {round}");
                let want = assert_reference_verdicts(&engine, Policy::Strict, &traffic, &what);
                // Ed25519's reasons are the first seven, in check order.
                for &reason in &Reason::ALL[..7] {
                    assert!(
                        want.contains(&Verdict::Invalid(reason)),
                        "{reason:?} untested"
                    );
                }
            }
            if lanes {
                assert_singles_ran(&engine, "strict");
            }
        }
    }

    /// Once failures are dense, `Zip215` checks every item alone, in the lanes where they run:
    /// the verdicts are `verify_single`'s.
    #[test]
    fn dense_failures_are_checked_alone_with_the_reference_verdicts() {
        let traffic = hostile_traffic(600, |i| i % 3 == 0);
        let engine = CpuEngine::new(2, 64).expect("engine");
        engine.recent.record(4 * MAX_CHUNK, 2 * MAX_CHUNK);
        assert_eq!(engine.recent.group_size(MAX_CHUNK), None);
        assert_reference_verdicts(&engine, Policy::Zip215, &traffic, "dense");
        assert_singles_ran(&engine, "dense failures");
    }

    /// A contiguous run of bad signatures (one issuer's broken batch) in otherwise valid
    /// traffic, first with no failure history (the chunk's equation fails and it is checked
    /// again in small groups), then with the groups of a 1% history: the groups the run fills
    /// are found dense and their items checked alone, with `verify_single`'s verdicts.
    #[test]
    fn a_run_of_bad_items_gives_the_reference_verdicts() {
        let traffic = hostile_traffic(2048, |i| (700..860).contains(&i));
        let engine = CpuEngine::new(2, 1024).expect("engine");
        assert_reference_verdicts(&engine, Policy::Zip215, &traffic, "no history");
        for round in 0..2 {
            assert_reference_verdicts(&engine, Policy::Zip215, &traffic, &format!("round {round}"));
        }
        assert_singles_ran(&engine, "a run of bad items");
    }

    /// Rare failures seen (groups of 128, too few per chunk for the grouped sums, so the
    /// call's key table is not filled in the lanes) and then a run of bad items: a failing
    /// group is bisected until its budget runs out and the rest is checked alone, in the lanes
    /// with only those items' keys decoded there; the verdicts are `verify_single`'s.
    #[test]
    fn an_exhausted_bisection_checks_the_rest_alone_with_the_reference_verdicts() {
        let traffic = hostile_traffic(1024, |i| (300..380).contains(&i));
        let engine = CpuEngine::new(2, 1024).expect("engine");
        engine.recent.record(100_000, 100);
        assert_eq!(engine.recent.group_size(MAX_CHUNK), Some(128));
        assert_reference_verdicts(&engine, Policy::Zip215, &traffic, "groups of 128");
        assert_singles_ran(&engine, "an exhausted bisection");
    }

    /// The failure estimate is the whole call's: 1% of a call's items bad, all in one run
    /// inside one of its four chunks, sizes the next call's groups for 1% (16), whichever chunk
    /// finished last. (Recorded chunk by chunk, the run's chunk alone, 4% bad, could set the
    /// estimate: groups of 4 for every chunk of the next call.) It also says the failures came
    /// in a run, and, after a call whose failures are scattered, that they no longer do; calls
    /// made in either state, with either traffic, give the same verdicts.
    #[test]
    fn a_call_records_its_own_failure_rate_not_its_last_chunks() {
        use blockverify_testkit::{InvalidPlacement, Workload, WorkloadSpec};
        let spec = WorkloadSpec {
            items: 4 * MAX_CHUNK,
            issuers: 64,
            message_len: 64,
            invalid_fraction: 0.01,
            seed: 11,
        };
        let run = Workload::generate_with_placement(&spec, InvalidPlacement::OneRun);
        let scattered = Workload::generate_with_placement(&spec, InvalidPlacement::Scattered);
        let (run_items, _) = items_and_reference(&run, &run.signatures, spec.message_len);
        let (scattered_items, _) =
            items_and_reference(&scattered, &scattered.signatures, spec.message_len);
        for threads in [1, 2, 4] {
            let engine = CpuEngine::new(threads, 1024).expect("engine");
            let check = |items: &[SigItem<'_>], traffic: &Workload, what: &str| {
                let verdicts = engine.verify(Policy::Zip215, items);
                let invalid: Vec<usize> = (0..items.len())
                    .filter(|&i| !verdicts[i].is_valid())
                    .collect();
                assert_eq!(invalid, traffic.corrupted, "{threads} threads, {what}");
            };
            check(&run_items, &run, "a run, no history");
            assert_eq!(
                engine.recent.group_size(MAX_CHUNK),
                Some(16),
                "{threads} threads"
            );
            assert!(engine.recent.clustered(), "{threads} threads");
            check(&run_items, &run, "a run after a run");
            assert!(engine.recent.clustered(), "{threads} threads");
            check(&scattered_items, &scattered, "scattered after a run");
            assert!(!engine.recent.clustered(), "{threads} threads");
            check(&run_items, &run, "a run after scattered failures");
            check(&run_items, &run, "a run after a run again");
        }
    }

    /// Runs of failing items are counted in the items' order, and only equation failures
    /// count; the estimate calls failures clustered when their runs are long on average and
    /// the failures are not dense.
    #[test]
    fn runs_of_failures_are_told_from_scattered_failures() {
        let (bad, ok) = (Verdict::Invalid(Reason::EquationFailed), Verdict::Valid);
        let other = Verdict::Invalid(Reason::NonCanonicalS);
        assert_eq!(failure_runs(&[]), 0);
        assert_eq!(failure_runs(&[ok, ok]), 0);
        assert_eq!(failure_runs(&[bad]), 1);
        assert_eq!(failure_runs(&[bad, bad, ok, bad, other, bad, bad]), 3);
        let rate = |items: usize, failures: usize, runs: usize| {
            let rate = FailureRate::default();
            rate.record_runs(items, failures, runs);
            rate.clustered()
        };
        assert!(!rate(4 * MAX_CHUNK, 0, 0), "no failures");
        assert!(!rate(4 * MAX_CHUNK, 40, 40), "scattered");
        assert!(!rate(4 * MAX_CHUNK, 40, 14), "runs of under three");
        assert!(rate(4 * MAX_CHUNK, 40, 13), "runs of three");
        assert!(rate(4 * MAX_CHUNK, 40, 1), "one run");
        assert!(!rate(2 * MAX_CHUNK, MAX_CHUNK, 1), "one dense run");
    }

    /// A chunk whose items all fail rules 1–3 runs no batch equation, and so must cache no
    /// lanes' forms of keys: in particular not, under its own keys' bytes, the forms of the
    /// keys an earlier chunk of the same worker decoded. (A list of fresh keys left over from
    /// that chunk once did exactly that: wrong key points in the lanes, so later valid
    /// signatures by those keys reported invalid, or an index past the chunk's key table.)
    #[test]
    fn a_chunk_with_nothing_to_check_caches_no_stale_key_forms() {
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
        use curve25519_dalek::scalar::Scalar;
        let engine = CpuEngine::new(1, 256).expect("engine");
        // About 8% failures seen: groups of 4, so 64-item chunks take the lanes (16 groups).
        engine.recent.record(1000, 80);
        assert_eq!(engine.recent.group_size(64), Some(4));
        // Eight signers per chunk, a different eight for each of the three chunks.
        let sign = |signer: u64, n: u64| {
            let secret = Scalar::from(1000 + signer);
            let key = (ED25519_BASEPOINT_POINT * secret).compress().to_bytes();
            let message = format!("item {n}").into_bytes();
            let nonce = Scalar::from(77 + 3 * n);
            let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r);
            let k = challenge(&SigItem::new(&key, &sig, &message));
            sig[32..].copy_from_slice((nonce + k * secret).as_bytes());
            (key, sig, message)
        };
        let chunk = |first_signer: u64| -> Vec<([u8; 32], [u8; 64], Vec<u8>)> {
            (0..64).map(|n| sign(first_signer + n % 8, n)).collect()
        };
        let (a, mut b, c) = (chunk(0), chunk(8), chunk(16));
        // Chunk b: R off the curve everywhere (so rule 3 fails, after its keys were looked up).
        let off_curve = (2u8..=255)
            .map(|y| {
                let mut r = [0u8; 32];
                r[0] = y;
                r
            })
            .find(|r| decode_r(r).is_err())
            .expect("about half of all y are off the curve");
        for (_, sig, _) in &mut b {
            sig[..32].copy_from_slice(&off_curve);
        }
        let mut state = ChunkState::default();
        for (signed, what) in [(&a, "a"), (&b, "b"), (&a, "a again"), (&c, "c")] {
            let items: Vec<SigItem<'_>> = signed
                .iter()
                .map(|(key, sig, message)| SigItem::new(key, sig, message))
                .collect();
            let want: Vec<Verdict> = items
                .iter()
                .map(|it| crate::verify_single(Policy::Zip215, it))
                .collect();
            let mut out = vec![Verdict::Valid; items.len()];
            engine.zip215_chunk(&items, &mut out, &mut state, &CallFailures::default());
            assert_eq!(out, want, "chunk {what}");
        }
        // Chunk b's keys (signers 8..16) come back with chunk c's: their cached forms, if any,
        // must be their own.
        let b_again = chunk(8);
        let items: Vec<SigItem<'_>> = b_again
            .iter()
            .map(|(key, sig, message)| SigItem::new(key, sig, message))
            .collect();
        let mut out = vec![Verdict::Valid; items.len()];
        engine.zip215_chunk(&items, &mut out, &mut state, &CallFailures::default());
        assert!(
            out.iter().all(|v| v.is_valid()),
            "chunk b, signed properly: {out:?}"
        );
        if engine.lanes.is_some() {
            assert!(engine.lanes_ran.chunks_decoded.load(Ordering::Relaxed) >= 4);
        }
    }

    /// While failures are recent, chunks grow past [`MAX_CHUNK`]; when the estimate clears
    /// inside such a call, the later chunks are checked in groups of `MAX_CHUNK` items. Both
    /// give `verify_single`'s verdicts, item by item.
    #[test]
    fn chunks_sized_for_small_groups_give_the_same_verdicts() {
        use blockverify_testkit::{Workload, WorkloadSpec};
        let engine = CpuEngine::new(1, 64).expect("engine");
        let check = |traffic: &Workload, sigs: &[[u8; 64]], what: &str| {
            let (items, reference) = items_and_reference(traffic, sigs, 32);
            assert!(reference.contains(&Verdict::Invalid(Reason::EquationFailed)));
            assert_eq!(engine.verify(Policy::Zip215, &items), reference, "{what}");
        };
        let spec = |items, invalid_fraction, seed| WorkloadSpec {
            items,
            issuers: 8,
            message_len: 32,
            invalid_fraction,
            seed,
        };
        // 2% bad: the first call meets them with no history, the second in small groups, in
        // one chunk of more than MAX_CHUNK items.
        let bad = Workload::generate(&spec(3 * MAX_CHUNK, 0.02, 11));
        check(&bad, &bad.signatures, "first call");
        assert!(engine.recent.group_size(MAX_CHUNK).unwrap() < MAX_CHUNK);
        check(&bad, &bad.signatures, "small groups in a large chunk");
        // Two large chunks: the first is all valid and clears the estimate; the second, with
        // three bad items, is then one chunk in groups of MAX_CHUNK.
        let mixed = Workload::generate(&spec(2 * MAX_CHUNK_SMALL_GROUPS, 0.0, 12));
        let mut sigs = mixed.signatures.clone();
        for at in [MAX_CHUNK_SMALL_GROUPS + 5, 6000, sigs.len() - 1] {
            sigs[at][40] ^= 1;
        }
        assert!(engine.recent.group_size(MAX_CHUNK).unwrap() < MAX_CHUNK);
        check(&mixed, &sigs, "estimate cleared inside the call");
    }

    #[test]
    fn a_burst_of_failures_is_forgotten_after_one_window() {
        let rate = FailureRate::default();
        record_chunks(&rate, 16, MAX_CHUNK);
        assert_eq!(rate.group_size(MAX_CHUNK), None);
        // Half a window of honest items: the burst's window still dominates the estimate.
        let window_chunks = (FAILURE_WINDOW as usize).div_ceil(MAX_CHUNK);
        record_chunks(&rate, window_chunks / 2, 0);
        assert_eq!(rate.group_size(MAX_CHUNK), None);
        // A whole window: the burst no longer counts.
        record_chunks(&rate, window_chunks - window_chunks / 2, 0);
        assert_eq!(rate.group_size(MAX_CHUNK), Some(MAX_CHUNK));
    }
}
