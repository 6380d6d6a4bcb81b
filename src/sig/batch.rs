//! The `Zip215` batch equation and the search for bad items when it fails.
//!
//! # The equation
//!
//! For items `i` with scalars `S_i`, points `R_i`, keys `A_j(i)` and challenges `k_i`, draw
//! independent random odd 128-bit `z_i` (123-bit in groups the locator below may search; from
//! the thread's CSPRNG, after the items are fixed, so whoever wrote the signatures cannot
//! predict them) and compute
//!
//! ```text
//!   P = [−Σ z_i·S_i] B  +  Σ [z_i] R_i  +  Σ_j [Σ_{i: key(i)=j} z_i·k_i] A_j
//! ```
//!
//! and accept the group when `[8]P = O`. Each item's own cofactored equation says
//! `[8](R_i + [k_i]A_i − [S_i]B) = O`, so `[8]P` is the `z`-weighted sum of the per-item
//! errors, which all lie in the prime-order subgroup: if any is non-zero, the sum vanishes
//! with probability at most 2⁻¹²⁷ (2⁻¹²² with 123-bit weights). Because the cofactor is cleared *per item*, a torsion
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
//! Groups of at most 32 items (the engine's choice when failures are frequent, about one bad
//! item per four groups) are first searched for a *single* bad item: one more combination,
//! `T1 = Σ (i+1)·z_i·e_i`, is `(a)·T0` (after clearing the cofactor) exactly when item `a-1`
//! is the only bad one, so a point addition per item finds it, instead of `log2(g)` bisection
//! steps each with its own multiscalar multiplication. The `R` terms of every failing group's
//! `T1` are summed together in the lanes, a group per lane. Groups with two or more bad items
//! (no match) are bisected. [`Search::locate_one`] gives the argument that this is exact: a
//! wrong answer needs a random 123-bit weight to hit one value, probability ≤ 2⁻¹¹⁷.
//!
//! An adversary who fills a block with bad signatures would make plain bisection cost
//! `O(n log n)`. Two limits prevent that: within a group, once bisection has spent as much
//! multiscalar work as the group's first check, the unresolved rest goes straight to single
//! checks; and across groups, the engine (see `engine.rs`) shrinks groups or skips batching
//! altogether when recent failures are dense.
#![forbid(unsafe_code)]

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::RngExt;

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

/// `R`, decoded by curve25519-dalek, or by the AVX-512 IFMA lanes (`super::ifma`, which
/// accept exactly the encodings dalek accepts). The lanes' form serves the batch equation;
/// an item checked alone has its `R` decoded again by dalek, as `verify_single` does.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DecodedR {
    Dalek(EdwardsPoint),
    #[cfg(target_arch = "x86_64")]
    Lanes {
        point: super::ifma::Affine,
        bytes: [u8; 32],
    },
}

impl DecodedR {
    /// The point as curve25519-dalek holds it (for an item's own equation). Lanes-decoded
    /// points decode again here; were dalek ever to refuse one, the item gets dalek's verdict
    /// (rule 3), the one `verify_single` gives.
    pub(crate) fn dalek(&self) -> Result<EdwardsPoint, Reason> {
        match self {
            DecodedR::Dalek(point) => Ok(*point),
            #[cfg(target_arch = "x86_64")]
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
    #[cfg(target_arch = "x86_64")]
    lanes_r: Vec<super::ifma::Affine>,
    #[cfg(target_arch = "x86_64")]
    lanes_z: Vec<u128>,
}

/// Below this many `R` terms decoded in the lanes, a combination decodes them again with
/// dalek and adds them to dalek's multiscalar multiplication rather than calling the lanes'
/// sum, whose fixed cost (a chain of 132 doublings of eight points and eight hand-overs to
/// dalek, ~65 µs here) small groups cannot amortise: dalek's path costs ~5–6 µs per term
/// (a decompression and a 128-bit term), the lanes' ~1.5 µs, so they break even near 16.
const LANES_SUM_MIN: usize = 16;

/// Checks `items` (whose keys are `keys[item.key]`), in consecutive groups of `group`, each
/// with its own batch equation, and writes `Invalid(EquationFailed)` into
/// `verdicts[item.slot]` for every item that fails its own equation. Items not written stay as
/// the caller left them (valid). Returns how many failures were found.
///
/// When the items' `R` were decoded in the lanes and there are at least eight groups, the
/// groups' `R` terms are summed together, a group per lane ([`super::ifma::segment_sums`]),
/// so small groups (chosen when failures are frequent) cost little more per item than one
/// large one; each group's `B` and `A` terms still take a multiscalar multiplication of
/// their own.
pub(crate) fn check_zip215(
    items: &[Prepared],
    group: usize,
    keys: &[EdwardsPoint],
    scratch: &mut Scratch,
    verdicts: &mut [Verdict],
) -> usize {
    if items.is_empty() {
        return 0;
    }
    let group = group.max(1);
    // Groups the locator may search get 123-bit weights, so that a weight times a position
    // (at most LOCATOR_MAX_GROUP = 2^5) still fits the lanes' 128-bit scalars.
    let weight_bits = if group <= LOCATOR_MAX_GROUP { 123 } else { 128 };
    let mut rng = rand::rng();
    scratch.z.clear();
    // Low bit forced to 1: z is never zero, so no item can drop out of the sum.
    scratch
        .z
        .extend((0..items.len()).map(|_| (rng.random::<u128>() >> (128 - weight_bits)) | 1));
    // `combination` leaves every per-key slot zeroed and untouched when it returns, so the
    // buffers only ever need to grow (not be cleared for each small group).
    if scratch.per_key.len() < keys.len() {
        scratch.per_key.resize(keys.len(), Scalar::ZERO);
        scratch.key_touched.resize(keys.len(), false);
    }

    let z = std::mem::take(&mut scratch.z);
    let r_sums = grouped_r_sums(items, &z, group, scratch);
    let mut failures = 0;
    // Groups whose equation failed, with their combination, for the search below.
    let mut failing: Vec<(usize, EdwardsPoint)> = Vec::new();
    for (g, (part, z_part)) in items.chunks(group).zip(z.chunks(group)).enumerate() {
        let whole = match &r_sums {
            Some(sums) => other_terms(part, z_part, keys, scratch, true).map(|rest| rest + sums[g]),
            None => combination(part, z_part, keys, scratch),
        };
        match whole {
            Some(p) if passes(&p) => {}
            Some(p) => failing.push((g, p)),
            None => {
                let mut search = Search::new(keys, scratch, verdicts, part.len());
                search.singles(part);
                failures += search.failures;
            }
        }
    }
    let located = match (&r_sums, group <= LOCATOR_MAX_GROUP) {
        (Some(_), true) if !failing.is_empty() => {
            locator_sums(items, &z, group, &failing, keys, scratch)
        }
        _ => None,
    };
    for (k, &(g, p)) in failing.iter().enumerate() {
        let part = &items[g * group..((g + 1) * group).min(items.len())];
        let z_part = &z[g * group..g * group + part.len()];
        let mut search = Search::new(keys, scratch, verdicts, part.len());
        let found = located
            .as_ref()
            .is_some_and(|t1| search.locate_one(part, &p, &t1[k]));
        if !found {
            search.settle(part, z_part, p);
        }
        failures += search.failures;
    }
    scratch.z = z;
    failures
}

/// The largest group searched with the one-bad-item locator ([`Search::locate_one`]).
const LOCATOR_MAX_GROUP: usize = 32;

/// For each failing group (`failing`, in group order, with the group size `group`), its
/// items' combination with weights `position · z_i` (positions from 1): `T1 = Σ (i+1) z_i e_i`
/// beside the group's `T0 = Σ z_i e_i`. If exactly one item `i` is bad, `[8]T1 = (i+1)·[8]T0`.
/// The `R` terms of all failing groups are summed together, a group per lane; `None` if the
/// lanes are not in use or a sum could not be handed over (the groups are then bisected).
fn locator_sums(
    items: &[Prepared],
    z: &[u128],
    group: usize,
    failing: &[(usize, EdwardsPoint)],
    keys: &[EdwardsPoint],
    scratch: &mut Scratch,
) -> Option<Vec<EdwardsPoint>> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut weights: Vec<u128> = Vec::with_capacity(failing.len() * group);
        scratch.lanes_r.clear();
        for &(g, _) in failing {
            let start = g * group;
            let end = (start + group).min(items.len());
            for (pos, (it, &zi)) in items[start..end].iter().zip(&z[start..end]).enumerate() {
                let DecodedR::Lanes { point, .. } = it.r else {
                    return None;
                };
                scratch.lanes_r.push(point);
                // zi < 2^123 and pos + 1 ≤ 32: the product fits.
                weights.push(zi * (pos as u128 + 1));
            }
        }
        let r_sums = super::ifma::segment_sums(&scratch.lanes_r, &weights, group)?;
        let mut sums = Vec::with_capacity(failing.len());
        let mut offset = 0;
        for (&(g, _), r_sum) in failing.iter().zip(r_sums) {
            let part = &items[g * group..((g + 1) * group).min(items.len())];
            let w = &weights[offset..offset + part.len()];
            offset += part.len();
            sums.push(other_terms(part, w, keys, scratch, true)? + r_sum);
        }
        Some(sums)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (items, z, group, failing, keys, scratch);
        None
    }
}

/// Each group's `Σ z_i R_i`, summed a group per lane, when every `R` was decoded in the lanes
/// and the groups fill them (eight or more); `None` otherwise, or if a sum could not be
/// handed over (each group then takes the general path, [`combination`]).
fn grouped_r_sums(
    items: &[Prepared],
    z: &[u128],
    group: usize,
    scratch: &mut Scratch,
) -> Option<Vec<EdwardsPoint>> {
    #[cfg(target_arch = "x86_64")]
    {
        if items.len().div_ceil(group) < 8 {
            return None;
        }
        scratch.lanes_r.clear();
        for it in items {
            match it.r {
                DecodedR::Lanes { point, .. } => scratch.lanes_r.push(point),
                DecodedR::Dalek(_) => return None,
            }
        }
        super::ifma::segment_sums(&scratch.lanes_r, z, group)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (items, z, group, scratch);
        None
    }
}

struct Search<'a> {
    keys: &'a [EdwardsPoint],
    scratch: &'a mut Scratch,
    verdicts: &'a mut [Verdict],
    /// Multiscalar work (in items) bisection may still spend before falling back to singles.
    budget: usize,
    failures: usize,
}

impl<'a> Search<'a> {
    fn new(
        keys: &'a [EdwardsPoint],
        scratch: &'a mut Scratch,
        verdicts: &'a mut [Verdict],
        budget: usize,
    ) -> Self {
        Search {
            keys,
            scratch,
            verdicts,
            budget,
            failures: 0,
        }
    }

    /// Settles a failing group at once when it holds exactly one bad item. With
    /// `t0 = Σ z_i e_i` (the group's combination, failing) and `t1 = Σ (i+1) z_i e_i`, a lone
    /// bad item `i` gives `[8]t1 = (i+1)·[8]t0`, found by stepping through the multiples of
    /// `[8]t0` (a point addition per item).
    ///
    /// Exact: write `e'_j = [8]e_j`, which is `O` exactly when item `j` passes its own
    /// cofactored equation. A match at `a` means `Σ_{j ≠ a-1} (j+1-a) z_j e'_j = O`, each
    /// coefficient non-zero mod L. For a fixed `a`, were any `e'_j` (`j ≠ a-1`) non-zero, that
    /// sum would vanish for at most one of the 2¹²² values of `z_j` (odd, below 2¹²³, drawn
    /// after the items were fixed): probability ≤ 2⁻¹²², or 2⁻¹¹⁷ over the ≤ 32 positions. So
    /// every other item passes, and item `a-1` fails (`[8]t0 = z e'_{a-1} ≠ O`): it gets
    /// `EquationFailed`, the verdict `verify_single` gives an item that passed rules 1–3.
    ///
    /// Returns whether the group was settled; if not (no match: two or more bad items),
    /// nothing was written and the caller bisects.
    fn locate_one(&mut self, items: &[Prepared], t0: &EdwardsPoint, t1: &EdwardsPoint) -> bool {
        let q0 = t0.mul_by_cofactor();
        let q1 = t1.mul_by_cofactor();
        let mut multiple = q0;
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
        let Some(p_left) = combination(left, z_left, self.keys, self.scratch) else {
            self.singles(items);
            return;
        };
        let p_right = p - p_left;
        self.settle(left, z_left, p_left);
        self.settle(right, z_right, p_right);
    }

    fn singles(&mut self, items: &[Prepared]) {
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

fn passes(p: &EdwardsPoint) -> bool {
    p.mul_by_cofactor().is_identity()
}

/// `Σ z_i (R_i + k_i A_i − S_i B)` over `items`, with same-key `A` terms merged. The `R` terms
/// go to the IFMA lanes when the items were decoded there and there are at least
/// [`LANES_SUM_MIN`] of them (128-bit `z`, eight interleaved sums:
/// `super::ifma::sum_of_multiples`); everything else goes to curve25519-dalek's multiscalar
/// multiplication ([`other_terms`]). `None` if the lanes' result could not be handed over or
/// dalek refused an `R` the lanes had decoded (neither is expected to happen): the caller
/// then checks the items one by one, which needs no combination.
fn combination(
    items: &[Prepared],
    z: &[u128],
    keys: &[EdwardsPoint],
    scratch: &mut Scratch,
) -> Option<EdwardsPoint> {
    #[cfg(target_arch = "x86_64")]
    {
        scratch.lanes_r.clear();
        scratch.lanes_z.clear();
        for (it, &zi) in items.iter().zip(z) {
            if let DecodedR::Lanes { point, .. } = it.r {
                scratch.lanes_r.push(point);
                scratch.lanes_z.push(zi);
            }
        }
        if scratch.lanes_r.len() >= LANES_SUM_MIN {
            let lanes = super::ifma::sum_of_multiples(&scratch.lanes_r, &scratch.lanes_z)?;
            return Some(other_terms(items, z, keys, scratch, true)? + lanes);
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
    let mut b_coeff = Scalar::ZERO;
    scratch.touched.clear();
    for (it, &zi) in items.iter().zip(z) {
        let zi = Scalar::from(zi);
        b_coeff -= zi * it.s;
        if !scratch.key_touched[it.key] {
            scratch.key_touched[it.key] = true;
            scratch.touched.push(it.key);
        }
        scratch.per_key[it.key] += zi * it.k;
    }
    scratch.key_scalars.clear();
    for &j in &scratch.touched {
        let merged = std::mem::replace(&mut scratch.per_key[j], Scalar::ZERO);
        scratch.key_scalars.push(merged);
        scratch.key_touched[j] = false;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = lanes_summed;
    // dalek's multiscalar multiplication wants iterators of exactly known length.
    scratch.dalek_terms.clear();
    for (it, &zi) in items.iter().zip(z) {
        let point = match &it.r {
            DecodedR::Dalek(point) => *point,
            #[cfg(target_arch = "x86_64")]
            DecodedR::Lanes { .. } if lanes_summed => continue,
            #[cfg(target_arch = "x86_64")]
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
    /// clean, mixed with torsion-moved `R` (valid): the one-bad-item locator and the bisection
    /// after it must give `verify_single`'s verdict for every item, with `R` decoded by the
    /// lanes (the locator's path) or by dalek (bisection only).
    #[test]
    fn locator_and_bisection_give_single_verdicts() {
        let group = 16;
        let mut bad_at: Vec<Vec<usize>> = (0..group).map(|p| vec![p]).collect();
        bad_at.extend([
            vec![0, 15],
            vec![3, 4],
            vec![7, 8, 9],
            vec![],
            vec![],
            vec![1, 2, 3, 4],
        ]);
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
        let lanes_options: &[bool] =
            if cfg!(target_arch = "x86_64") && super::super::ifma::available() {
                &[true, false]
            } else {
                &[false]
            };
        for &lanes in lanes_options {
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
                let failures = check_zip215(
                    &prepared,
                    group,
                    &keys,
                    &mut Scratch::default(),
                    &mut verdicts,
                );
                assert_eq!(verdicts, want, "lanes {lanes}, round {round}");
                assert_eq!(failures, want.iter().filter(|v| !v.is_valid()).count());
            }
        }
    }

    fn decoded_r(bytes: &[u8; 32], lanes: bool) -> DecodedR {
        #[cfg(target_arch = "x86_64")]
        if lanes {
            let mut batch = [[0u8; 32]; 8];
            batch[0] = *bytes;
            let point = super::super::ifma::decompress8(&batch)[0].expect("R decodes");
            return DecodedR::Lanes {
                point,
                bytes: *bytes,
            };
        }
        let _ = lanes;
        DecodedR::Dalek(decode_r(bytes).expect("R decodes"))
    }
}
