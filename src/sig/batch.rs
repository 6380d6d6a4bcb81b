//! The `Zip215` batch equation and the search for bad items when it fails.
//!
//! # The equation
//!
//! For items `i` with scalars `S_i`, points `R_i`, keys `A_j(i)` and challenges `k_i`, draw
//! independent random odd 128-bit `z_i` (from the thread's CSPRNG, after the items are fixed,
//! so whoever wrote the signatures cannot predict them) and compute
//!
//! ```text
//!   P = [−Σ z_i·S_i] B  +  Σ [z_i] R_i  +  Σ_j [Σ_{i: key(i)=j} z_i·k_i] A_j
//! ```
//!
//! and accept the group when `[8]P = O`. Each item's own cofactored equation says
//! `[8](R_i + [k_i]A_i − [S_i]B) = O`, so `[8]P` is the `z`-weighted sum of the per-item
//! errors, which all lie in the prime-order subgroup: if any is non-zero, the sum vanishes
//! with probability at most 2⁻¹²⁷. Because the cofactor is cleared *per item*, a torsion
//! component can never make the batch and single verdicts differ, which is why only `Zip215`
//! is batched (see the [module docs](super)).
//!
//! Cost: one multiscalar multiplication of size `n + m + 1` for `n` items signed by `m`
//! distinct keys (terms of items sharing a key are merged into one), where the `R` terms
//! carry half-size (128-bit) scalars. With few issuers, `m ≪ n` and the cost per item is
//! roughly that of one 128-bit scalar multiplication.
//!
//! # Finding the bad items
//!
//! `P` is linear in the items, so when a group fails we compute the combination `P_L` of its
//! left half only and get the right half's as `P − P_L`: each bisection level costs a
//! multiscalar multiplication over *half* the failing items. Bisection ends at groups of one,
//! whose combination `[8]([z]e)` is zero exactly when the item's own cofactored equation holds
//! (`0 < z < L`), so it is exact: every item reported invalid has failed the same check
//! [`verify_single`](super::verify_single) applies.
//!
//! Groups of at most 128 items whose combinations were computed in the lanes (the engine's
//! choice when failures are frequent: about one bad item per four groups) are first searched,
//! when at least four of a call's groups fail (`LOCATOR_MIN_FAILING`; fewer are bisected),
//! for a *single* bad item: one more combination, `T1 = Σ (i+1)·z_i·e_i`, is `a·T0` (after
//! clearing the cofactor) exactly when item `a-1` is the only bad one, so a point addition per
//! item finds it, instead of `log2(g)` bisection steps each with its own multiscalar
//! multiplication. The `T1` of every failing group are computed together in the lanes, a
//! group per lane. Groups with two or more bad items (no match) are halved, again in the
//! lanes and all together (`search_in_lanes`): each half's `T0` and `T1` cost the left
//! half's two combinations (the right half's are differences), and each half is cleared,
//! located or halved again. `Search::locate_one` gives the argument that this is exact: a
//! wrong answer needs a random 128-bit weight to hit one value, probability ≤ 2⁻¹¹⁷ per
//! group over every position tried in every round.
//!
//! Runs of bad items (one issuer's broken batch, or an attacker's choice of where to put its
//! bad signatures) fill whole groups: a pending run whose two halves both still hold two or
//! more bad items is not halved further, its items are checked alone, eight at a time in the
//! lanes ([`singles_in_lanes`]): about one check per item, where halving would spend about that
//! in each of `log2(g)` rounds. Single checks are exact, so the bound above is unchanged: it
//! covers the locator's answers only.
//!
//! An adversary who fills a block with bad signatures would make plain bisection cost
//! `O(n log n)`. Two limits prevent that: within a group, once bisection has spent as much
//! multiscalar work as the group's first check, the unresolved rest goes straight to single
//! checks; and across groups, the engine (see `engine.rs`) shrinks groups or skips batching
//! altogether when recent failures are dense.
#![forbid(unsafe_code)]

use std::ops::Range;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, IsIdentity, VartimeMultiscalarMul};
use rand::RngExt;

use super::lanes::{Affine, Lanes, Single, SingleOutcome, Term, scalar_bytes};
use super::rules::zip215_equation;
use super::{Reason, Verdict};

/// An item whose encodings passed rules 1–3, waiting for the equation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prepared {
    /// Where its verdict goes.
    pub slot: usize,
    pub s: Scalar,
    pub r: DecodedR,
    pub k: Scalar,
    /// Index into the group's key table.
    pub key: usize,
}

/// `R`, decoded by curve25519-dalek, or by the AVX-512 IFMA lanes ([`Lanes::decompress8`],
/// which accept exactly the encodings dalek accepts). The lanes' form serves the batch
/// equation; an item checked alone has its `R` decoded again by dalek, as `verify_single`
/// does. `Lanes` items are made only where the lanes run (the engine holds a [`Lanes`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum DecodedR {
    Dalek(EdwardsPoint),
    Lanes { point: Affine, bytes: [u8; 32] },
}

impl DecodedR {
    /// The point as curve25519-dalek holds it (for an item's own equation). Lanes-decoded
    /// points decode again here; were dalek ever to refuse one, the item gets dalek's verdict
    /// (rule 3), the one `verify_single` gives.
    pub(crate) fn dalek(&self) -> Result<EdwardsPoint, Reason> {
        match self {
            DecodedR::Dalek(point) => Ok(*point),
            DecodedR::Lanes { bytes, .. } => super::rules::decode_r(bytes),
        }
    }
}

/// Reusable buffers for building combinations.
#[derive(Default)]
pub(crate) struct Scratch {
    z: Vec<u128>,
    per_key: Vec<Scalar>,
    key_touched: Vec<bool>,
    touched: Vec<usize>,
    key_scalars: Vec<Scalar>,
    /// R terms for dalek's multiscalar multiplication.
    dalek_terms: Vec<(Scalar, EdwardsPoint)>,
    /// R terms for the lanes' sum of multiples, with their weights.
    lanes_r: Vec<Affine>,
    lanes_z: Vec<u128>,
    /// The chunk's keys decoded in the lanes, by key index.
    lanes_keys: Vec<Affine>,
    /// The chunk's keys in the lanes' form where the caller already has it (the key cache
    /// keeps it), by key index; `lanes_ready` decodes only the others.
    pub known_lanes_keys: Vec<Option<Affine>>,
    /// The key indices `lanes_ready` decoded in this call (for the caller to cache).
    fresh_lanes_keys: Vec<usize>,
    /// Whether `lanes_keys` holds this call's keys (filled by `decode_keys_in_lanes`).
    lanes_keys_ready: bool,
    /// How many sums the lanes have computed with this scratch (`sum_of_multiples` and
    /// `grouped_sums` calls), for tests that must see the lanes run where the CPU has them.
    #[cfg(test)]
    pub sums_in_lanes: usize,
    /// How many items the lanes have checked alone with this scratch ([`Search::singles`]).
    #[cfg(test)]
    pub singles_in_lanes: usize,
}

impl Scratch {
    /// The keys the last [`check_zip215`] decoded in the lanes, by key index, with their lanes'
    /// form: what a key cache may keep so that later chunks skip the decoding.
    pub(crate) fn fresh_lanes_keys(&self) -> impl Iterator<Item = (usize, Affine)> {
        self.fresh_lanes_keys
            .iter()
            .filter_map(|&j| Some((j, *self.lanes_keys.get(j)?)))
    }
}

/// Below this many `R` terms decoded in the lanes, a combination decodes them again with
/// dalek and adds them to dalek's multiscalar multiplication rather than calling the lanes'
/// sum, whose fixed cost (a chain of 132 doublings of eight points and eight hand-overs to
/// dalek) small groups cannot amortise: a term costs less in the lanes than on dalek's path
/// (a decompression and a 128-bit term there), and the two break even near this many terms
/// (BENCHMARKS.md, "Tuning").
const LANES_SUM_MIN: usize = 16;

/// Checks `items` (whose keys are `keys[item.key]`, encoded as `key_encodings[item.key]`), in
/// consecutive groups of `group`, each with its own batch equation, and writes
/// `Invalid(EquationFailed)` into `verdicts[item.slot]` for every item that fails its own
/// equation. Items not written stay as the caller left them (valid). Returns how many
/// failures were found.
///
/// `lanes`: the IFMA lanes, where the caller's CPU has them and it decoded the items' `R`
/// there (`None`: curve25519-dalek only). Then, with at least eight groups, every group's
/// whole combination (its `R`, `A` and `B` terms) is computed in the lanes, a group per lane
/// ([`Lanes::grouped_sums`]), so small groups (chosen when failures are frequent) share each
/// doubling eight ways instead of each paying dalek's chain of 256.
pub(crate) fn check_zip215(
    lanes: Option<Lanes>,
    items: &[Prepared],
    group: usize,
    keys: &[EdwardsPoint],
    key_encodings: &[[u8; 32]],
    scratch: &mut Scratch,
    verdicts: &mut [Verdict],
) -> usize {
    // Cleared before anything returns: the caller caches what is listed here under this
    // call's key encodings, so a list left from an earlier call would pair another call's
    // key forms with these keys' bytes.
    scratch.fresh_lanes_keys.clear();
    scratch.lanes_keys_ready = false;
    if items.is_empty() {
        return 0;
    }
    let group = group.max(1);
    let z = draw_weights(items.len(), keys.len(), scratch);
    // The lanes, when they take this call's combinations (`lanes_ready` filled the key table).
    let in_lanes = lanes.filter(|&lanes| {
        items.len().div_ceil(group) >= 8 && lanes_ready(lanes, items, key_encodings, scratch)
    });
    let group_range = |g: usize| g * group..((g + 1) * group).min(items.len());
    let all: Vec<LaneSum> = if in_lanes.is_some() {
        (0..items.len().div_ceil(group))
            .map(|g| LaneSum::plain(group_range(g)))
            .collect()
    } else {
        Vec::new()
    };
    let sums = in_lanes.and_then(|lanes| grouped_combinations(lanes, items, &z, &all, scratch));
    let mut failures = 0;
    // Groups whose equation failed, with their combination, for the search below.
    let mut failing: Vec<(usize, EdwardsPoint)> = Vec::new();
    for (g, (part, z_part)) in items.chunks(group).zip(z.chunks(group)).enumerate() {
        let whole = match &sums {
            // Passing groups come back as None, already checked in the lanes.
            Some(sums) => match sums[g] {
                Some(p) => Some(p),
                None => continue,
            },
            None => combination(lanes, part, z_part, keys, scratch),
        };
        match whole {
            Some(p) if passes(&p) => {}
            Some(p) => failing.push((g, p)),
            None => {
                let mut search =
                    Search::new(lanes, (keys, key_encodings), scratch, verdicts, part.len());
                search.singles(part);
                failures += search.failures;
            }
        }
    }
    let located = in_lanes
        .filter(|_| {
            sums.is_some() && group <= LOCATOR_MAX_GROUP && failing.len() >= LOCATOR_MIN_FAILING
        })
        .and_then(|lanes| {
            let specs: Vec<LaneSum> = failing
                .iter()
                .map(|&(g, _)| LaneSum::positional(group_range(g), 1))
                .collect();
            grouped_combinations(lanes, items, &z, &specs, scratch)
        });
    // Failing groups the locator did not settle (two or more bad items), for the search in
    // the lanes below.
    let mut pending: Vec<Pending> = Vec::new();
    for (k, &(g, p)) in failing.iter().enumerate() {
        let range = group_range(g);
        let part = &items[range.clone()];
        let mut search = Search::new(lanes, (keys, key_encodings), scratch, verdicts, part.len());
        match &located {
            Some(t1) => {
                // A sum returned as None has [8]sum = O: the identity stands in for it (only
                // cofactor multiples are ever compared).
                let t1 = t1[k].unwrap_or_else(EdwardsPoint::identity);
                if !search.locate_one(part, 1, &p, &t1) {
                    pending.push(Pending {
                        range,
                        first: 1,
                        t0: p,
                        t1,
                    });
                }
            }
            None => search.settle(part, &z[range], p),
        }
        failures += search.failures;
    }
    // Pending runs come only from the locator, so only when the lanes took this call.
    failures += search_in_lanes(
        in_lanes,
        items,
        &z,
        pending,
        (keys, key_encodings),
        scratch,
        verdicts,
    );
    scratch.z = z;
    failures
}

/// Whether `items` pass one batch equation together (random weights drawn as in
/// [`check_zip215`], `lanes` as there); writes no verdicts. `None` if the combination could not
/// be computed (the caller then checks the items some other way).
pub(crate) fn whole_passes(
    lanes: Option<Lanes>,
    items: &[Prepared],
    keys: &[EdwardsPoint],
    scratch: &mut Scratch,
) -> Option<bool> {
    scratch.lanes_keys_ready = false;
    let z = draw_weights(items.len(), keys.len(), scratch);
    let passed = combination(lanes, items, &z, keys, scratch).map(|p| passes(&p));
    scratch.z = z;
    passed
}

/// Fresh random weights for `n` items (the scratch's buffer, taken: give it back), with the
/// per-key buffers grown for `keys` keys.
fn draw_weights(n: usize, keys: usize, scratch: &mut Scratch) -> Vec<u128> {
    let mut rng = rand::rng();
    let mut z = std::mem::take(&mut scratch.z);
    z.clear();
    // Low bit forced to 1: z is never zero, so no item can drop out of the sum.
    z.extend((0..n).map(|_| rng.random::<u128>() | 1));
    // `combination` leaves every per-key slot zeroed and untouched when it returns, so the
    // buffers only ever need to grow (not be cleared for each small group).
    if scratch.per_key.len() < keys {
        scratch.per_key.resize(keys, Scalar::ZERO);
        scratch.key_touched.resize(keys, false);
    }
    z
}

/// A failing run of a group's items, with its two combinations: `t0 = Σ z_i e_i` and
/// `t1 = Σ pos_i z_i e_i`, where `pos_i` counts from `first` at `range.start` (cofactor
/// multiples exact; see [`Search::locate_one`]), holding two or more bad items.
struct Pending {
    range: Range<usize>,
    first: u64,
    t0: EdwardsPoint,
    t1: EdwardsPoint,
}

/// A pending run's left half, as the lanes return it: `t0` and `t1` (`None`: `[8]sum = O`).
type HalfSums = [Option<EdwardsPoint>; 2];

/// The fewest pending runs for which a round of the search runs in the lanes: a round costs
/// the same for one run (two lanes) as for four (eight lanes). (This and
/// [`LANES_SEARCH_MIN_LEN`] are not sensitive; see BENCHMARKS.md, "Tuning".)
const LANES_SEARCH_MIN: usize = 2;
/// The shortest run searched in the lanes: each lane pays its own `B` and key terms at full
/// size, which a half of one or two items cannot amortise; shorter runs go to dalek's
/// bisection.
const LANES_SEARCH_MIN_LEN: usize = 4;

/// Settles runs with two or more bad items (after the locator), all together, a halving per
/// round: each run's left half gets its `t0` and `t1` computed in the lanes, two lanes per
/// run; the right half's are the differences (the combinations are linear in the items). A
/// half whose `t0` passes is clean; a half with one bad item (a failing half of one item
/// included) is settled by the locator; the rest go on to the next round. Runs
/// too few or too short for the lanes are bisected on dalek's path ([`Search::settle`]), whose
/// budget bounds what hostile input can cost there. A round's lane work is the length of the
/// runs still pending (two sums over each left half). A run with two bad items leaves at most
/// one half pending, so its search costs about two more combinations of it, where dalek's
/// bisection took a multiscalar multiplication per step (see BENCHMARKS.md, "Tuning"). A run
/// whose two halves both stay pending (two or more bad items in each: a dense run, such as
/// one issuer's broken batch) is not halved further: its items are checked alone, eight at a
/// time in the lanes ([`singles_in_lanes`]), which costs about one check per item where
/// halving would take `log2` of the run's length rounds of about that each. `lanes`: the lanes, if they took the
/// call's combinations (their key table is then filled); without them every run is bisected
/// on dalek's path. Returns the failures found.
fn search_in_lanes(
    lanes: Option<Lanes>,
    items: &[Prepared],
    z: &[u128],
    mut pending: Vec<Pending>,
    (keys, key_encodings): (&[EdwardsPoint], &[[u8; 32]]),
    scratch: &mut Scratch,
    verdicts: &mut [Verdict],
) -> usize {
    let mut failures = 0;
    // Items of dense runs, checked alone at the end, eight at a time.
    let mut dense: Vec<usize> = Vec::new();
    while !pending.is_empty() {
        let (halved, dalek): (Vec<Pending>, Vec<Pending>) = match lanes {
            Some(_) if pending.len() >= LANES_SEARCH_MIN => pending
                .into_iter()
                .partition(|p| p.range.len() >= LANES_SEARCH_MIN_LEN),
            _ => (Vec::new(), pending),
        };
        let specs: Vec<LaneSum> = halved
            .iter()
            .flat_map(|p| {
                let left = p.range.start..p.range.start + p.range.len() / 2;
                [
                    LaneSum::plain(left.clone()),
                    LaneSum::positional(left, p.first),
                ]
            })
            .collect();
        let sums = match lanes {
            Some(lanes) if !specs.is_empty() => {
                grouped_combinations(lanes, items, z, &specs, scratch)
            }
            _ => None,
        };
        let (halved, dalek): (Vec<(Pending, HalfSums)>, Vec<Pending>) = match sums {
            Some(sums) => {
                let halves = sums.chunks_exact(2).map(|two| [two[0], two[1]]);
                (halved.into_iter().zip(halves).collect(), dalek)
            }
            // No runs for the lanes, or the lanes could not hand a sum over (not expected):
            // dalek's path for all.
            None => (Vec::new(), dalek.into_iter().chain(halved).collect()),
        };
        let mut next = Vec::new();
        for (p, halves) in halved {
            let mut unsettled: Vec<Pending> = Vec::with_capacity(2);
            let identity = EdwardsPoint::identity();
            let (t0_left, t1_left) = (halves[0].unwrap_or(identity), halves[1].unwrap_or(identity));
            let mid = p.range.start + p.range.len() / 2;
            let left = Pending {
                range: p.range.start..mid,
                first: p.first,
                t0: t0_left,
                t1: t1_left,
            };
            let right = Pending {
                range: mid..p.range.end,
                first: p.first + (mid - p.range.start) as u64,
                t0: p.t0 - t0_left,
                t1: p.t1 - t1_left,
            };
            for half in [left, right] {
                if passes(&half.t0) {
                    continue;
                }
                // A failing half of one item is settled here too: its `t1` is `first·t0`.
                let part = &items[half.range.clone()];
                let mut search =
                    Search::new(lanes, (keys, key_encodings), scratch, verdicts, part.len());
                let settled = search.locate_one(part, half.first, &half.t0, &half.t1);
                failures += search.failures;
                if !settled {
                    unsettled.push(half);
                }
            }
            if unsettled.len() == 2 {
                // Two or more bad items in each half: a dense run (one issuer's broken batch,
                // or an attacker's), which halving would take apart in log2 of its length
                // rounds, each costing about a check per item. Checked alone instead, at
                // one check per item.
                dense.extend(unsettled.iter().flat_map(|half| half.range.clone()));
            } else {
                next.extend(unsettled);
            }
        }
        for p in dalek {
            let part = &items[p.range.clone()];
            let mut search =
                Search::new(lanes, (keys, key_encodings), scratch, verdicts, part.len());
            search.settle(part, &z[p.range], p.t0);
            failures += search.failures;
        }
        pending = next;
    }
    if !dense.is_empty() {
        let part: Vec<Prepared> = dense.into_iter().map(|i| items[i]).collect();
        let mut search = Search::new(lanes, (keys, key_encodings), scratch, verdicts, 0);
        search.singles(&part);
        failures += search.failures;
    }
    failures
}

/// The lanes' forms of `items`' keys alone, item by item: known (`known[key]`), or decoded
/// eight at a time. `None` if the lanes refused a key (not expected: they decode what dalek
/// decodes, and these keys were decoded by dalek).
fn items_key_forms(
    lanes: Lanes,
    items: &[Prepared],
    key_encodings: &[[u8; 32]],
    known: &[Option<Affine>],
) -> Option<Vec<Affine>> {
    let mut forms: Vec<Affine> = vec![Affine::default(); items.len()];
    let mut fresh: Vec<usize> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match known.get(it.key).copied().flatten() {
            Some(form) => forms[i] = form,
            None => fresh.push(i),
        }
    }
    decode_into(lanes, &mut forms, &fresh, |i| key_encodings[items[i].key]).then_some(forms)
}

/// Decodes `encoding(j)` into `forms[j]` for every `j` in `slots`, eight at a time; `false`
/// (some slots left as they were) if the lanes refused one.
fn decode_into(
    lanes: Lanes,
    forms: &mut [Affine],
    slots: &[usize],
    encoding: impl Fn(usize) -> [u8; 32],
) -> bool {
    for batch in slots.chunks(8) {
        let encodings: [[u8; 32]; 8] =
            std::array::from_fn(|b| batch.get(b).map_or([0; 32], |&j| encoding(j)));
        for (&j, form) in batch.iter().zip(lanes.decompress8(&encodings)) {
            let Some(form) = form else { return false };
            forms[j] = form;
        }
    }
    true
}

/// The fewest items the search checks alone in the lanes: a round of the lanes costs the same
/// for one item as for eight, about 4.5 of curve25519-dalek's single checks (each equation
/// there is about 1.75× faster, BENCHMARKS.md); five and six measured level in
/// `profile_sigs`, so fewer than six items are checked on dalek's path.
const LANES_SINGLES_MIN: usize = 6;

/// The largest group searched with the one-bad-item locator ([`Search::locate_one`]) (larger
/// groups are chosen only when failures are rare, and may well hold two bad items).
const LOCATOR_MAX_GROUP: usize = 128;
/// The fewest failing groups in a call for which the locator runs: its sums take a round of
/// the eight lanes whether one group fills them or eight, so for a lone failing group
/// bisection on dalek's path costs less (see BENCHMARKS.md, "Tuning"; at 1-5% invalid most
/// calls have more failing groups than that).
const LOCATOR_MIN_FAILING: usize = 4;

/// One combination to compute in the lanes: the items `range` of the call, with weights.
#[derive(Clone)]
struct LaneSum {
    range: Range<usize>,
    weights: Weights,
}

impl LaneSum {
    fn plain(range: Range<usize>) -> Self {
        LaneSum {
            range,
            weights: Weights::Plain,
        }
    }

    fn positional(range: Range<usize>, first: u64) -> Self {
        LaneSum {
            range,
            weights: Weights::Positional { first },
        }
    }
}

/// The weights of a combination computed in the lanes.
#[derive(Clone, Copy)]
enum Weights {
    /// `z_i`: the batch equation, `T0 = Σ z_i e_i`.
    Plain,
    /// `pos_i·z_i`, `pos_i` counting from `first` at the range's first item:
    /// `T1 = Σ pos_i z_i e_i`, which is `pos_a·T0` (cofactor cleared) when item `a` is the
    /// range's only bad one.
    Positional { first: u64 },
}

/// The lanes' forms of the keys `key_encodings` (which must all decode: the caller got them
/// from the key cache), index for index: those the caller knows
/// (`scratch.known_lanes_keys`, filled beside the encodings), the others decoded eight at a
/// time and listed for the caller to cache ([`Scratch::fresh_lanes_keys`]).
/// `None` if the lanes refused a key (see [`decode_keys_in_lanes`]).
pub(crate) fn lanes_key_forms<'s>(
    lanes: Lanes,
    key_encodings: &[[u8; 32]],
    scratch: &'s mut Scratch,
) -> Option<&'s [Affine]> {
    scratch.lanes_keys_ready = false;
    decode_keys_in_lanes(lanes, key_encodings, scratch).then_some(&scratch.lanes_keys)
}

/// Checks each of `items` alone against its own cofactored equation, eight at a time in the
/// lanes (`Lanes::double_base8`), and writes `Invalid(EquationFailed)` for those that fail:
/// the verdict `verify_single` gives an item that passed rules 1–3. Items whose `R` was not
/// decoded in the lanes are checked on dalek's path. `key_form(i, item)`: the lanes' form of
/// the key of `items[i]`. Returns the failures found.
pub(crate) fn singles_in_lanes(
    lanes: Lanes,
    items: &[Prepared],
    keys: &[EdwardsPoint],
    key_form: impl Fn(usize, &Prepared) -> Affine,
    verdicts: &mut [Verdict],
) -> usize {
    let mut failures = 0;
    let mut fail = |slot: usize, reason: Reason| {
        verdicts[slot] = Verdict::Invalid(reason);
        failures += 1;
    };
    let mut jobs: Vec<(usize, Single)> = Vec::with_capacity(8);
    let run = |jobs: &mut Vec<(usize, Single)>, fail: &mut dyn FnMut(usize, Reason)| {
        let singles: Vec<Single> = jobs.iter().map(|(_, job)| *job).collect();
        for ((slot, _), outcome) in jobs.iter().zip(lanes.double_base8(&singles)) {
            if outcome != SingleOutcome::Cofactored(true) {
                fail(*slot, Reason::EquationFailed);
            }
        }
        jobs.clear();
    };
    for (i, it) in items.iter().enumerate() {
        match it.r {
            DecodedR::Lanes { point, .. } => {
                jobs.push((
                    it.slot,
                    Single {
                        key: key_form(i, it),
                        s: it.s.to_bytes(),
                        k: it.k.to_bytes(),
                        r: Some(point),
                    },
                ));
                if jobs.len() == 8 {
                    run(&mut jobs, &mut fail);
                }
            }
            DecodedR::Dalek(r) => {
                if let Err(reason) = zip215_equation(&it.s, &keys[it.key], &r, &it.k) {
                    fail(it.slot, reason);
                }
            }
        }
    }
    if !jobs.is_empty() {
        run(&mut jobs, &mut fail);
    }
    failures
}

/// Fills `scratch.lanes_keys` for `key_encodings` (see [`lanes_key_forms`]); `false` if the
/// lanes refused a key (not expected: they accept exactly what dalek accepts, tested, and the
/// caller's keys were decoded by dalek), leaving no fresh forms listed.
fn decode_keys_in_lanes(lanes: Lanes, key_encodings: &[[u8; 32]], scratch: &mut Scratch) -> bool {
    if scratch.lanes_keys_ready && scratch.lanes_keys.len() == key_encodings.len() {
        return true;
    }
    let n = key_encodings.len();
    scratch.lanes_keys.clear();
    scratch.lanes_keys.resize(n, Default::default());
    scratch.fresh_lanes_keys.clear();
    for j in 0..n {
        match scratch.known_lanes_keys.get(j).copied().flatten() {
            Some(known) => scratch.lanes_keys[j] = known,
            None => scratch.fresh_lanes_keys.push(j),
        }
    }
    let fresh = &scratch.fresh_lanes_keys;
    if !decode_into(lanes, &mut scratch.lanes_keys, fresh, |j| key_encodings[j]) {
        scratch.fresh_lanes_keys.clear();
        return false;
    }
    scratch.lanes_keys_ready = true;
    true
}

/// Whether the lanes can compute these items' combinations: every `R` decoded there, and every
/// key decoded there too (into the scratch's key table, in the order of `key_encodings`).
fn lanes_ready(
    lanes: Lanes,
    items: &[Prepared],
    key_encodings: &[[u8; 32]],
    scratch: &mut Scratch,
) -> bool {
    if !items
        .iter()
        .all(|it| matches!(it.r, DecodedR::Lanes { .. }))
    {
        return false;
    }
    // Were a key refused (see decode_keys_in_lanes), dalek's path is taken.
    decode_keys_in_lanes(lanes, key_encodings, scratch)
}

/// The combinations `sums` (ranges of `items` with their weights), computed in the lanes a
/// combination per lane: each one's `R` terms, one term per distinct key and one for `B`. A
/// combination whose cofactor multiple is the identity comes back as `None` (see
/// [`Lanes::grouped_sums`]). Needs [`lanes_ready`]. `None` overall if a sum could not be
/// handed over (the caller then takes dalek's path).
fn grouped_combinations(
    lanes: Lanes,
    items: &[Prepared],
    z: &[u128],
    sums: &[LaneSum],
    scratch: &mut Scratch,
) -> Option<Vec<Option<EdwardsPoint>>> {
    static BASEPOINT: std::sync::OnceLock<Option<Affine>> = std::sync::OnceLock::new();
    let basepoint = (*BASEPOINT.get_or_init(|| {
        let mut encodings = [[0u8; 32]; 8];
        encodings[0] = ED25519_BASEPOINT_POINT.compress().to_bytes();
        lanes.decompress8(&encodings)[0]
    }))?;
    let total: usize = sums.iter().map(|sum| sum.range.len() + 4).sum();
    let mut terms: Vec<Term> = Vec::with_capacity(total);
    let mut bounds: Vec<usize> = Vec::with_capacity(sums.len() + 1);
    bounds.push(0);
    let mut weights: Vec<Scalar> = Vec::new();
    for sum in sums {
        let (part, z_part) = (&items[sum.range.clone()], &z[sum.range.clone()]);
        weights.clear();
        weights.extend(z_part.iter().enumerate().map(|(i, &zi)| match sum.weights {
            Weights::Plain => Scalar::from(zi),
            Weights::Positional { first } => Scalar::from(zi) * Scalar::from(first + i as u64),
        }));
        for ((it, &zi), w) in part.iter().zip(z_part).zip(&weights) {
            let DecodedR::Lanes { point, .. } = it.r else {
                return None;
            };
            terms.push(match sum.weights {
                // The 128-bit z as is (its byte form needs no scalar arithmetic).
                Weights::Plain => (point, scalar_bytes(zi)),
                Weights::Positional { .. } => (point, w.to_bytes()),
            });
        }
        let b_coeff = merge_key_terms(part, weights.iter().copied(), scratch);
        for (&j, coeff) in scratch.touched.iter().zip(&scratch.key_scalars) {
            terms.push((scratch.lanes_keys[j], coeff.to_bytes()));
        }
        terms.push((basepoint, b_coeff.to_bytes()));
        bounds.push(terms.len());
    }
    #[cfg(test)]
    {
        scratch.sums_in_lanes += 1;
    }
    lanes.grouped_sums(&terms, &bounds)
}

struct Search<'a> {
    /// The lanes, where they may sum a bisection's halves (see [`combination`]) and check
    /// items alone ([`singles_in_lanes`]).
    lanes: Option<Lanes>,
    keys: &'a [EdwardsPoint],
    key_encodings: &'a [[u8; 32]],
    scratch: &'a mut Scratch,
    verdicts: &'a mut [Verdict],
    /// Multiscalar work (in items) bisection may still spend before falling back to singles.
    budget: usize,
    failures: usize,
}

impl<'a> Search<'a> {
    fn new(
        lanes: Option<Lanes>,
        (keys, key_encodings): (&'a [EdwardsPoint], &'a [[u8; 32]]),
        scratch: &'a mut Scratch,
        verdicts: &'a mut [Verdict],
        budget: usize,
    ) -> Self {
        Search {
            lanes,
            keys,
            key_encodings,
            scratch,
            verdicts,
            budget,
            failures: 0,
        }
    }

    /// Settles a failing run of items at once when it holds exactly one bad item. With
    /// `t0 = Σ z_i e_i` (the run's combination, failing) and `t1 = Σ pos_i z_i e_i`, where the
    /// positions `pos_i` count from `first` at the run's first item (distinct, at most
    /// [`LOCATOR_MAX_GROUP`]), a lone bad item `i` gives `[8]t1 = pos_i·[8]t0`, found by
    /// stepping through the multiples of `[8]t0` (a point addition per item). Only the
    /// cofactor multiples of `t0` and `t1` matter, so a sum the lanes report as passing may
    /// stand as the identity in the differences that make a right half's combinations.
    ///
    /// Exact: write `e'_j = [8]e_j`, which is `O` exactly when item `j` passes its own
    /// cofactored equation. A match at position `a` means `Σ_{pos_j ≠ a} (pos_j − a) z_j e'_j =
    /// O`, each coefficient non-zero mod L. For a fixed `a`, were any of those `e'_j` non-zero,
    /// that sum would vanish for at most one of the 2¹²⁷ values of `z_j` (odd, 128-bit, drawn
    /// after the items were fixed): probability ≤ 2⁻¹²⁷ per position tried. A group's search
    /// tries at most 128 positions per round (its runs are disjoint) over at most 8 rounds
    /// (runs halve from ≤ 128 items), so ≤ 2¹⁰ tries and ≤ 2⁻¹¹⁷ for the group; the tries are
    /// those of the search that every test answering truly would make, which depends on the
    /// items alone, so the union bound holds though the search adapts. So every other item
    /// passes, and item `i` fails (`[8]t0 = z e'_i ≠ O`): it gets `EquationFailed`, the verdict
    /// `verify_single` gives an item that passed rules 1–3.
    ///
    /// Returns whether the run was settled; if not (no match: two or more bad items), nothing
    /// was written and the caller searches on.
    fn locate_one(
        &mut self,
        items: &[Prepared],
        first: u64,
        t0: &EdwardsPoint,
        t1: &EdwardsPoint,
    ) -> bool {
        let q0 = t0.mul_by_cofactor();
        let q1 = t1.mul_by_cofactor();
        let mut multiple = small_multiple(&q0, first);
        let Some(at) = (0..items.len()).find(|_| {
            let hit = multiple == q1;
            multiple += q0;
            hit
        }) else {
            return false;
        };
        self.verdicts[items[at].slot] = Verdict::Invalid(Reason::EquationFailed);
        self.failures += 1;
        true
    }

    /// `p` is the combination of exactly `items` (with weights `z`).
    fn settle(&mut self, items: &[Prepared], z: &[u128], p: EdwardsPoint) {
        if passes(&p) {
            return;
        }
        if let [it] = items {
            // A group of one is decided exactly by its own combination: 0 < z < L, so
            // [8]([z]e) = O if and only if [8]e = O, the item's own cofactored equation.
            self.verdicts[it.slot] = Verdict::Invalid(Reason::EquationFailed);
            self.failures += 1;
            return;
        }
        let half = items.len() / 2;
        if self.budget < half {
            self.singles(items);
            return;
        }
        self.budget -= half;
        let (left, right) = items.split_at(half);
        let (z_left, z_right) = z.split_at(half);
        let Some(p_left) = combination(self.lanes, left, z_left, self.keys, self.scratch) else {
            self.singles(items);
            return;
        };
        let p_right = p - p_left;
        self.settle(left, z_left, p_left);
        self.settle(right, z_right, p_right);
    }

    fn singles(&mut self, items: &[Prepared]) {
        if let Some(lanes) = self.lanes
            && items.len() >= LANES_SINGLES_MIN
        {
            let n = self.key_encodings.len();
            let failures = if self.scratch.lanes_keys_ready && self.scratch.lanes_keys.len() == n {
                let forms = &self.scratch.lanes_keys;
                singles_in_lanes(
                    lanes,
                    items,
                    self.keys,
                    |_, it| forms[it.key],
                    self.verdicts,
                )
            } else {
                // Not the whole call's keys: a search in a chunk of distinct keys checks a few
                // items alone.
                let Some(forms) = items_key_forms(
                    lanes,
                    items,
                    self.key_encodings,
                    &self.scratch.known_lanes_keys,
                ) else {
                    return self.singles_on_dalek(items);
                };
                singles_in_lanes(lanes, items, self.keys, |i, _| forms[i], self.verdicts)
            };
            self.failures += failures;
            #[cfg(test)]
            {
                self.scratch.singles_in_lanes += items.len();
            }
            return;
        }
        self.singles_on_dalek(items);
    }

    fn singles_on_dalek(&mut self, items: &[Prepared]) {
        for it in items {
            let a = &self.keys[it.key];
            let checked =
                it.r.dalek()
                    .and_then(|r| zip215_equation(&it.s, a, &r, &it.k));
            if let Err(reason) = checked {
                self.verdicts[it.slot] = Verdict::Invalid(reason);
                self.failures += 1;
            }
        }
    }
}

/// `[m]p` for a small `m` (a position, at most [`LOCATOR_MAX_GROUP`]), by doubling and adding.
fn small_multiple(p: &EdwardsPoint, m: u64) -> EdwardsPoint {
    let mut acc = EdwardsPoint::identity();
    for bit in (0..u64::BITS - m.leading_zeros()).rev() {
        acc = acc + acc;
        if m >> bit & 1 == 1 {
            acc += p;
        }
    }
    acc
}

fn passes(p: &EdwardsPoint) -> bool {
    p.mul_by_cofactor().is_identity()
}

/// `Σ z_i (R_i + k_i A_i − S_i B)` over `items`, with same-key `A` terms merged. With `lanes`,
/// the `R` terms go to the IFMA lanes when the items were decoded there and there are at least
/// [`LANES_SUM_MIN`] of them (128-bit `z`, eight interleaved sums:
/// [`Lanes::sum_of_multiples`]); everything else goes to curve25519-dalek's multiscalar
/// multiplication ([`other_terms`]). `None` if the lanes' result could not be handed over or
/// dalek refused an `R` the lanes had decoded (neither is expected to happen): the caller
/// then checks the items one by one, which needs no combination.
fn combination(
    lanes: Option<Lanes>,
    items: &[Prepared],
    z: &[u128],
    keys: &[EdwardsPoint],
    scratch: &mut Scratch,
) -> Option<EdwardsPoint> {
    if let Some(lanes) = lanes {
        scratch.lanes_r.clear();
        scratch.lanes_z.clear();
        for (it, &zi) in items.iter().zip(z) {
            if let DecodedR::Lanes { point, .. } = it.r {
                scratch.lanes_r.push(point);
                scratch.lanes_z.push(zi);
            }
        }
        if scratch.lanes_r.len() >= LANES_SUM_MIN {
            #[cfg(test)]
            {
                scratch.sums_in_lanes += 1;
            }
            let r_terms = lanes.sum_of_multiples(&scratch.lanes_r, &scratch.lanes_z)?;
            return Some(other_terms(items, z, keys, scratch, true)? + r_terms);
        }
    }
    other_terms(items, z, keys, scratch, false)
}

/// The `B` and `A` terms of `items`' combination, and their `R` terms except, when
/// `lanes_summed`, those decoded in the lanes (the caller sums those there). `R` terms decoded
/// in the lanes but not summed there are decoded again by dalek; `None` if dalek refuses one.
fn other_terms(
    items: &[Prepared],
    z: &[u128],
    keys: &[EdwardsPoint],
    scratch: &mut Scratch,
    lanes_summed: bool,
) -> Option<EdwardsPoint> {
    let b_coeff = merge_key_terms(items, z.iter().map(|&zi| Scalar::from(zi)), scratch);
    // dalek's multiscalar multiplication wants iterators of exactly known length.
    scratch.dalek_terms.clear();
    for (it, &zi) in items.iter().zip(z) {
        let point = match &it.r {
            DecodedR::Dalek(point) => *point,
            DecodedR::Lanes { .. } if lanes_summed => continue,
            DecodedR::Lanes { .. } => it.r.dalek().ok()?,
        };
        scratch.dalek_terms.push((Scalar::from(zi), point));
    }
    let scalars = scratch
        .dalek_terms
        .iter()
        .map(|(zi, _)| *zi)
        .chain(std::iter::once(b_coeff))
        .chain(scratch.key_scalars.iter().copied());
    let points = scratch
        .dalek_terms
        .iter()
        .map(|(_, point)| point)
        .chain(std::iter::once(&ED25519_BASEPOINT_POINT))
        .chain(scratch.touched.iter().map(|&j| &keys[j]));
    Some(EdwardsPoint::vartime_multiscalar_mul(scalars, points))
}

/// The scalars of `items`' `A` and `B` terms under `weights` (one per item): for each distinct
/// key, `Σ w_i k_i` over its items, left in `scratch.key_scalars` beside the key indices in
/// `scratch.touched`; returns `B`'s, `−Σ w_i S_i`. Leaves every per-key slot zeroed.
fn merge_key_terms(
    items: &[Prepared],
    weights: impl Iterator<Item = Scalar>,
    scratch: &mut Scratch,
) -> Scalar {
    let mut b_coeff = Scalar::ZERO;
    scratch.touched.clear();
    for (it, w) in items.iter().zip(weights) {
        b_coeff -= w * it.s;
        if !scratch.key_touched[it.key] {
            scratch.key_touched[it.key] = true;
            scratch.touched.push(it.key);
        }
        scratch.per_key[it.key] += w * it.k;
    }
    scratch.key_scalars.clear();
    for &j in &scratch.touched {
        let merged = std::mem::replace(&mut scratch.per_key[j], Scalar::ZERO);
        scratch.key_scalars.push(merged);
        scratch.key_touched[j] = false;
    }
    b_coeff
}

#[cfg(test)]
mod tests {
    use super::super::rules::{challenge, decode_key, decode_r, decode_s, verify_single};
    use super::super::{Policy, SigItem};
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

    /// A signature by `secret` on `message`, `R` moved by the torsion point `torsion` (still
    /// valid under `Zip215`, whose equation clears the cofactor) and `S` moved by `s_delta`
    /// (any non-zero delta breaks it).
    fn sign(secret: &Scalar, message: &[u8], torsion: usize, s_delta: u64) -> ([u8; 32], [u8; 64]) {
        let key = EdwardsPoint::mul_base(secret).compress().to_bytes();
        let nonce = Scalar::from(rand::rng().random::<u64>()) + Scalar::from(7u8);
        let r = (EdwardsPoint::mul_base(&nonce) + EIGHT_TORSION[torsion]).compress();
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(r.as_bytes());
        let k = challenge(&SigItem::new(&key, &sig, message));
        let s = nonce + k * secret + Scalar::from(s_delta);
        sig[32..].copy_from_slice(s.as_bytes());
        (key, sig)
    }

    /// Groups of 16 with one bad item at every position, with two and three bad items, and
    /// clean, mixed with torsion-moved `R` (valid): the one-bad-item locator, the search in
    /// the lanes after it and dalek's bisection must give `verify_single`'s verdict for every
    /// item, with `R` decoded by the lanes (the locator's path) or by dalek (bisection only).
    #[test]
    fn locator_and_bisection_give_single_verdicts() {
        let mut bad_at: Vec<Vec<usize>> = (0..16).map(|p| vec![p]).collect();
        bad_at.extend([
            vec![0, 15],
            vec![3, 4],
            vec![7, 8, 9],
            vec![],
            vec![],
            vec![1, 2, 3, 4],
        ]);
        check_bad_patterns(16, &bad_at);
    }

    /// Groups of 64, whose runs with two or more bad items are halved in the lanes for
    /// several rounds: bad items adjacent, spread, at both ends, a whole quarter bad, and only
    /// one such group (its search then leaves the lanes early for dalek's bisection).
    #[test]
    fn search_in_lanes_gives_single_verdicts() {
        let mut bad_at: Vec<Vec<usize>> = (0..64).step_by(7).map(|p| vec![p]).collect();
        bad_at.extend([
            vec![0, 63],
            vec![31, 32],
            vec![5, 20, 40, 62],
            (16..32).collect(),
            vec![],
            vec![8, 9, 10],
            vec![1, 3, 5, 7, 9, 11, 13],
        ]);
        check_bad_patterns(64, &bad_at);
        let mut one_run: Vec<Vec<usize>> = (0..64).step_by(9).map(|p| vec![p]).collect();
        one_run.push(vec![12, 13, 50]);
        check_bad_patterns(64, &one_run);
    }

    /// Signs `bad_at.len()` groups of `group` items, bad at the given positions, and checks
    /// `check_zip215`'s verdicts against `verify_single`'s.
    fn check_bad_patterns(group: usize, bad_at: &[Vec<usize>]) {
        let secrets: Vec<Scalar> = (1..=3u64).map(|i| Scalar::from(1000 + i)).collect();
        let mut signed = Vec::new();
        for (g, bad) in bad_at.iter().enumerate() {
            for p in 0..group {
                let message = format!("record {g}/{p}").into_bytes();
                let torsion = if (g + p) % 5 == 0 { 1 + (g + p) % 7 } else { 0 };
                let delta = u64::from(bad.contains(&p));
                let (key, sig) = sign(&secrets[(g * 7 + p) % 3], &message, torsion, delta);
                signed.push((key, sig, message));
            }
        }
        let items: Vec<SigItem<'_>> = signed
            .iter()
            .map(|(key, sig, message)| SigItem::new(key, sig, message))
            .collect();
        let want: Vec<Verdict> = items
            .iter()
            .map(|it| verify_single(Policy::Zip215, it))
            .collect();
        assert_eq!(
            want.iter().filter(|v| !v.is_valid()).count(),
            bad_at.iter().map(Vec::len).sum::<usize>()
        );
        let mut key_bytes: Vec<[u8; 32]> = Vec::new();
        let mut keys: Vec<EdwardsPoint> = Vec::new();
        for lanes in lanes_and_none() {
            let prepared: Vec<Prepared> = items
                .iter()
                .enumerate()
                .map(|(slot, it)| {
                    let key = match key_bytes.iter().position(|k| k == it.public_key) {
                        Some(j) => j,
                        None => {
                            key_bytes.push(*it.public_key);
                            keys.push(decode_key(it.public_key).expect("key"));
                            keys.len() - 1
                        }
                    };
                    Prepared {
                        slot,
                        s: decode_s(it.s_bytes()).expect("canonical S"),
                        r: decoded_r(it.r_bytes(), lanes),
                        k: challenge(it),
                        key,
                    }
                })
                .collect();
            for round in 0..3 {
                let mut verdicts = vec![Verdict::Valid; items.len()];
                let mut scratch = Scratch::default();
                let failures = check_zip215(
                    lanes,
                    &prepared,
                    group,
                    &keys,
                    &key_bytes,
                    &mut scratch,
                    &mut verdicts,
                );
                assert_eq!(verdicts, want, "lanes {lanes:?}, round {round}");
                assert_eq!(failures, want.iter().filter(|v| !v.is_valid()).count());
                // With the lanes, the groups' combinations were computed there.
                assert_eq!(scratch.sums_in_lanes > 0, lanes.is_some(), "round {round}");
            }
        }
    }

    /// The lanes where the CPU has them, then none: each verdict test runs both paths. Fails
    /// (rather than testing dalek's path alone) if the CPU has IFMA but no token came.
    fn lanes_and_none() -> Vec<Option<Lanes>> {
        let lanes = Lanes::detect();
        assert_eq!(
            lanes.is_some(),
            super::super::lanes::cpu_has_ifma(),
            "IFMA detection disagrees with the CPU"
        );
        if lanes.is_none() {
            eprintln!("SKIP (lanes only): no AVX-512 IFMA here; only dalek's path is tested");
        }
        lanes.into_iter().map(Some).chain([None]).collect()
    }

    fn decoded_r(bytes: &[u8; 32], lanes: Option<Lanes>) -> DecodedR {
        match lanes {
            Some(lanes) => {
                let mut batch = [[0u8; 32]; 8];
                batch[0] = *bytes;
                let point = lanes.decompress8(&batch)[0].expect("R decodes");
                DecodedR::Lanes {
                    point,
                    bytes: *bytes,
                }
            }
            None => DecodedR::Dalek(decode_r(bytes).expect("R decodes")),
        }
    }
}
