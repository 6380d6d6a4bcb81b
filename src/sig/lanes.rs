//! The AVX-512 IFMA lanes (`super::ifma`) as the rest of the signature code sees them, the
//! same on every architecture.
//!
//! [`Lanes`] is the proof that the lanes may run here: a zero-sized token that only
//! [`Lanes::detect`] hands out, after run-time detection found AVX-512F and AVX-512 IFMA. It
//! wraps `ifma::Ifma`, the token the kernels take, so code that holds a `Lanes` can call them
//! and code that does not cannot reach them at all. Off x86_64 it wraps an uninhabited type:
//! `Lanes::detect` returns `None`, no `Lanes` can exist, and every method is a `match` on
//! nothing. So the engine and the batch equation carry an `Option<Lanes>` and need no
//! `#[cfg(target_arch)]` of their own: the architecture is decided here, once.
//!
//! The types the lanes' results come in ([`Affine`], [`Term`]) and [`scalar_bytes`] exist
//! everywhere too; off x86_64 `Affine` is a placeholder that no computation ever produces.
#![forbid(unsafe_code)]

use curve25519_dalek::{EdwardsPoint, Scalar};

use super::SigItem;
use super::key_cache::{DecodedKey, KeyCache};

pub(crate) use imp::{Affine, Single, SingleOutcome, Term, scalar_bytes};

/// Proof that this CPU runs the IFMA lanes; see the module docs. Copy it freely: it is
/// zero-sized, and where one exists every copy tells the truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Lanes(imp::Ifma);

impl Lanes {
    /// A token if this CPU has AVX-512F and AVX-512 IFMA (detected at run time); always `None`
    /// off x86_64.
    pub(crate) fn detect() -> Option<Lanes> {
        imp::Ifma::detect().map(Lanes)
    }

    /// Eight decompressions under curve25519-dalek's rules (`ifma::decompress8`).
    pub(crate) fn decompress8(self, encodings: &[[u8; 32]; 8]) -> [Option<Affine>; 8] {
        imp::decompress8(self.0, encodings)
    }

    /// `Σ z_i · P_i` with 128-bit `z_i` (`ifma::sum_of_multiples`).
    pub(crate) fn sum_of_multiples(self, points: &[Affine], z: &[u128]) -> Option<EdwardsPoint> {
        imp::sum_of_multiples(self.0, points, z)
    }

    /// One sum of multiples per group of terms, a group per lane (`ifma::grouped_sums`).
    pub(crate) fn grouped_sums(
        self,
        terms: &[Term],
        bounds: &[usize],
    ) -> Option<Vec<Option<EdwardsPoint>>> {
        imp::grouped_sums(self.0, terms, bounds)
    }

    /// Up to eight signatures' equations, one per lane (`ifma::double_base8`).
    pub(crate) fn double_base8(self, jobs: &[Single]) -> Vec<SingleOutcome> {
        imp::double_base8(self.0, jobs)
    }

    /// The canonical encodings of up to eight decoded points (`ifma::compress8`).
    pub(crate) fn compress8(self, points: &[Affine]) -> Vec<[u8; 32]> {
        imp::compress8(self.0, points)
    }

    /// The challenges `k = SHA-512(R ‖ A ‖ M) mod L` of up to eight items, a message per
    /// 64-bit lane (`sha512_lanes::challenges8`).
    pub(crate) fn challenges8(self, items: &[SigItem<'_>]) -> Vec<Scalar> {
        imp::challenges8(self.0, items)
    }

    /// The lanes' form of a key, where the key cache kept it beside the decoded point.
    pub(crate) fn cached_form(self, key: &DecodedKey) -> Option<Affine> {
        imp::cached_form(self.0, key)
    }

    /// Asks the key cache to keep `form`, the lanes' decoding of `bytes`, beside the key.
    pub(crate) fn keep_form(self, cache: &KeyCache, bytes: &[u8; 32], form: Affine) {
        imp::keep_form(self.0, cache, bytes, form)
    }
}

/// Whether the CPU reports both instructions the lanes need, asked directly rather than
/// through [`Lanes::detect`] (for tests that must fail, not skip, where the lanes should
/// have run). Always `false` off x86_64.
#[cfg(test)]
pub(crate) fn cpu_has_ifma() -> bool {
    imp::cpu_has_ifma()
}

#[cfg(target_arch = "x86_64")]
mod imp {
    pub(crate) use super::super::ifma::{
        Affine, Ifma, Single, SingleOutcome, Term, compress8, decompress8, double_base8,
        grouped_sums, scalar_bytes, sum_of_multiples,
    };
    use super::super::key_cache::{DecodedKey, KeyCache};
    pub(crate) use super::super::sha512_lanes::challenges8;

    pub(crate) fn cached_form(_: Ifma, key: &DecodedKey) -> Option<Affine> {
        key.lanes
    }

    pub(crate) fn keep_form(_: Ifma, cache: &KeyCache, bytes: &[u8; 32], form: Affine) {
        cache.keep_lanes_form(bytes, form);
    }

    #[cfg(test)]
    pub(crate) fn cpu_has_ifma() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma")
    }
}

/// No lanes off x86_64: an uninhabited token, so nothing below can be called.
#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use curve25519_dalek::EdwardsPoint;

    use super::super::key_cache::{DecodedKey, KeyCache};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub(crate) enum Ifma {}

    impl Ifma {
        pub(crate) fn detect() -> Option<Ifma> {
            None
        }
    }

    /// A placeholder: no lanes ever decode a point here.
    #[derive(Clone, Copy, Debug, Default)]
    pub(crate) struct Affine;

    pub(crate) type Term = (Affine, [u8; 32]);

    /// As on x86_64; no lanes ever take one here.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Single {
        pub key: Affine,
        pub s: [u8; 32],
        pub k: [u8; 32],
        pub r: Option<Affine>,
    }

    /// As on x86_64; never produced here.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum SingleOutcome {
        Encoding([u8; 32]),
        Cofactored(bool),
    }

    pub(crate) fn double_base8(ifma: Ifma, _: &[Single]) -> Vec<SingleOutcome> {
        match ifma {}
    }

    pub(crate) fn compress8(ifma: Ifma, _: &[Affine]) -> Vec<[u8; 32]> {
        match ifma {}
    }

    pub(crate) fn challenges8(ifma: Ifma, _: &[super::SigItem<'_>]) -> Vec<super::Scalar> {
        match ifma {}
    }

    /// A 128-bit weight as a [`Term`]'s scalar, as on x86_64.
    pub(crate) fn scalar_bytes(z: u128) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&z.to_le_bytes());
        bytes
    }

    pub(crate) fn decompress8(ifma: Ifma, _: &[[u8; 32]; 8]) -> [Option<Affine>; 8] {
        match ifma {}
    }

    pub(crate) fn sum_of_multiples(ifma: Ifma, _: &[Affine], _: &[u128]) -> Option<EdwardsPoint> {
        match ifma {}
    }

    pub(crate) fn grouped_sums(
        ifma: Ifma,
        _: &[Term],
        _: &[usize],
    ) -> Option<Vec<Option<EdwardsPoint>>> {
        match ifma {}
    }

    pub(crate) fn cached_form(ifma: Ifma, _: &DecodedKey) -> Option<Affine> {
        match ifma {}
    }

    pub(crate) fn keep_form(ifma: Ifma, _: &KeyCache, _: &[u8; 32], _: Affine) {
        match ifma {}
    }

    #[cfg(test)]
    pub(crate) fn cpu_has_ifma() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lanes are on exactly where the CPU has the instructions: a detection that said no
    /// on such a CPU would quietly send every batch down curve25519-dalek's path, and every
    /// test of the lanes would skip.
    #[test]
    fn lanes_are_detected_exactly_where_the_cpu_has_ifma() {
        assert_eq!(Lanes::detect().is_some(), cpu_has_ifma());
    }

    /// Where there are lanes, the token reaches the kernels: the base point decodes to what
    /// dalek decodes (a smoke test; `ifma`'s tests check the kernels in depth).
    #[test]
    fn the_token_reaches_the_kernels() {
        let Some(lanes) = Lanes::detect() else {
            assert!(!cpu_has_ifma());
            eprintln!("SKIP: no AVX-512F/AVX-512 IFMA here; the IFMA lanes are untested");
            return;
        };
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
        let mut encodings = [[0u8; 32]; 8];
        encodings[0] = ED25519_BASEPOINT_POINT.compress().to_bytes();
        let decoded = lanes.decompress8(&encodings);
        let base = decoded[0].expect("the base point decodes");
        let sum = lanes
            .sum_of_multiples(&[base, base], &[2, 3])
            .expect("hands over");
        assert_eq!(
            sum.compress(),
            (ED25519_BASEPOINT_POINT * curve25519_dalek::Scalar::from(5u8)).compress()
        );
    }
}
