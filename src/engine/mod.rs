//! One engine shape for every algorithm family and backend.
//!
//! An *engine* does one family's work on one backend: verifies a batch of one signature
//! algorithm's items, or hashes one family's Merkle trees. Each family has a CPU engine and a
//! GPU engine behind the same small trait ([`SignatureEngine`], [`TreeEngine`]), so:
//!
//! - the [`Verifier`](crate::Verifier) facade only chooses an engine and splits batches
//!   between two ([`split`]); no engine knows where else work runs, and where a job ran is
//!   reported by the facade ([`Placement`](crate::Placement)), apart from what was asked
//!   ([`Backend`](crate::Backend));
//! - the tests compare the engines of a family item by item, through the same calls;
//! - a new algorithm (SM2 signatures, SM3 trees) adds a module here with its engines, and
//!   touches neither the other families nor the facade's splitting.
//!
//! The algorithms themselves live in [`crate::sig`], [`crate::merkle`] and `crate::gpu`; the
//! modules here only adapt them to the shape.
#![forbid(unsafe_code)]

pub(crate) mod ed25519;
pub(crate) mod sm2;
#[cfg(feature = "gpu")]
pub(crate) mod split;
pub(crate) mod trees;

use crate::{GpuFault, Verdict};

/// Verifies batches of one signature algorithm's items.
///
/// `Rules` is what a caller chooses per call (Ed25519's [`Policy`](crate::Policy)); an item's
/// verdict depends on the item and the rules alone, on every engine.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) trait SignatureEngine<Item: Sync>: Sync {
    /// The validity rules a call chooses.
    type Rules: Copy + Send + Sync;

    /// One verdict per item, in input order. `Err` only for a device fault (then no verdict
    /// is trusted and the facade redoes the items elsewhere); the CPU engines never fail.
    fn verify(&self, rules: Self::Rules, items: &[Item]) -> Result<Vec<Verdict>, GpuFault>;
}

/// A device's engine for one signature algorithm. Its job has two halves: the host's
/// (hashing and packing the items on the verifier's pool, every core) and the device's
/// (upload, kernel, readback, with one pool thread waiting). Kept apart so that a split
/// ([`split::verify_split`]) packs the device's share with every core first, then runs the
/// device and the CPU engine side by side: packed inside the split, the share would be
/// hashed by the one thread that waits on the device while every other core is busy with the
/// CPU engine's share (measured on an H200 with 16 cores: `Auto` was then slower than the
/// CPU engine alone).
#[cfg(feature = "gpu")]
pub(crate) trait DeviceEngine<Item: Sync>: Sync {
    /// The validity rules a call chooses.
    type Rules: Copy + Send + Sync;
    /// The items as the device reads them.
    type Packed: Sync;

    /// The host's half, on the verifier's pool.
    fn pack(&self, items: &[Item]) -> Self::Packed;

    /// The device's half: one verdict per packed item (`items` of them), in order. `Err` for
    /// a device fault, or a readback of the wrong length.
    fn run(
        &self,
        rules: Self::Rules,
        packed: &Self::Packed,
        items: usize,
    ) -> Result<Vec<Verdict>, GpuFault>;

    /// A whole job on the device (no split), with its two halves timed.
    fn verify_timed(
        &self,
        rules: Self::Rules,
        items: &[Item],
    ) -> (Result<Vec<Verdict>, GpuFault>, crate::gpu::SigTiming) {
        let started = std::time::Instant::now();
        let packed = self.pack(items);
        let pack = started.elapsed();
        let started = std::time::Instant::now();
        let verdicts = self.run(rules, &packed, items.len());
        let device = started.elapsed();
        (verdicts, crate::gpu::SigTiming { pack, device })
    }
}

/// Hashes one family's Merkle trees. (Without the `gpu` feature only the CPU engine exists
/// and the facade calls it directly.)
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) trait TreeEngine: Sync {
    /// The tree's root and what was seen on the way (Bitcoin's duplicate pair).
    fn root<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: crate::merkle::Scheme,
        leaves: &[L],
    ) -> Result<crate::merkle::RootReport, TreeFailure>;

    /// The whole tree, every level kept (for proofs).
    fn tree<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: crate::merkle::Scheme,
        leaves: &[L],
    ) -> Result<crate::merkle::MerkleTree, TreeFailure>;
}

/// Why a tree engine gave no result: the input is not a tree of the scheme (the same on every
/// engine), or the device failed (redone on the CPU).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) enum TreeFailure {
    /// The leaves are not valid for the scheme.
    Input(crate::merkle::MerkleError),
    /// The device failed.
    Device(GpuFault),
}

impl From<crate::merkle::MerkleError> for TreeFailure {
    fn from(e: crate::merkle::MerkleError) -> Self {
        TreeFailure::Input(e)
    }
}
