//! The tree engines (SHA-256 and SM3 trees of every scheme): the CPU engine (multi-buffer SIMD
//! levels, subtrees across the verifier's pool) and, with the `gpu` feature, the GPU kernels.
#![forbid(unsafe_code)]

use super::{TreeEngine, TreeFailure};
use crate::merkle::{self, MerkleError, MerkleTree, RootReport, Scheme};
use crate::sig::CpuEngine;

/// The CPU tree engine, on the verifier's pool.
pub(crate) struct CpuTrees<'v> {
    pub pool: &'v CpuEngine,
}

impl CpuTrees<'_> {
    /// The root; fails only on input that is not a tree of the scheme (no device here).
    pub(crate) fn build_root<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<RootReport, MerkleError> {
        self.pool.install(|| merkle::merkle_root(scheme, leaves))
    }

    /// The whole tree; fails only on input, as [`CpuTrees::build_root`].
    pub(crate) fn build_tree<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<MerkleTree, MerkleError> {
        self.pool.install(|| MerkleTree::build(scheme, leaves))
    }
}

impl TreeEngine for CpuTrees<'_> {
    fn root<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<RootReport, TreeFailure> {
        Ok(self.build_root(scheme, leaves)?)
    }

    fn tree<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<MerkleTree, TreeFailure> {
        Ok(self.build_tree(scheme, leaves)?)
    }
}

#[cfg(feature = "gpu")]
pub(crate) use gpu::GpuTrees;

#[cfg(feature = "gpu")]
mod gpu {
    use super::{TreeEngine, TreeFailure};
    use crate::gpu::{GpuContext, KernelTiming};
    use crate::merkle::{MerkleError, MerkleTree, RootReport, Scheme};
    use crate::{GpuFault, Placement};

    /// The GPU tree kernels.
    pub(crate) struct GpuTrees<'v> {
        pub context: &'v GpuContext,
    }

    impl GpuTrees<'_> {
        /// The root with each pass timed when `profile` is set (timestamp queries where the
        /// adapter has them).
        pub(crate) fn root_timed<L: AsRef<[u8]> + Sync>(
            &self,
            scheme: Scheme,
            leaves: &[L],
            profile: bool,
        ) -> Result<(RootReport, KernelTiming), TreeFailure> {
            check_leaves(scheme, leaves)?;
            // Called on the caller's thread, not on the pool: the job spends its time waiting
            // for the device, and a pool worker blocked on it would be a core lost to the CPU
            // work (signatures) that may run beside it.
            let (root, duplicate, timing) = self
                .context
                .merkle_root(scheme, leaves, profile)
                .map_err(TreeFailure::Device)?;
            let report =
                RootReport::new(root, leaves.len() as u64, duplicate).on(Placement::Gpu, None);
            Ok((report, timing))
        }
    }

    impl TreeEngine for GpuTrees<'_> {
        fn root<L: AsRef<[u8]> + Sync>(
            &self,
            scheme: Scheme,
            leaves: &[L],
        ) -> Result<RootReport, TreeFailure> {
            self.root_timed(scheme, leaves, false)
                .map(|(report, _)| report)
        }

        fn tree<L: AsRef<[u8]> + Sync>(
            &self,
            scheme: Scheme,
            leaves: &[L],
        ) -> Result<MerkleTree, TreeFailure> {
            check_leaves(scheme, leaves)?;
            let (levels, duplicate) = self
                .context
                .merkle_levels(scheme, leaves)
                .map_err(TreeFailure::Device)?;
            Ok(MerkleTree::from_lower_levels(scheme, levels, duplicate))
        }
    }

    /// Leaves the GPU may hash: every leaf of a scheme whose leaves are hashes is 32 bytes
    /// (the first that is not is reported as the CPU engine reports it, so the input error is
    /// the same on both), and a scheme without an empty root gets leaves.
    fn check_leaves<L: AsRef<[u8]>>(scheme: Scheme, leaves: &[L]) -> Result<(), MerkleError> {
        if leaves.is_empty() && scheme.empty_root().is_none() {
            return Err(MerkleError::EmptyTree { scheme });
        }
        let bad = leaves
            .iter()
            .enumerate()
            .find(|(_, l)| !scheme.hashes_leaves() && l.as_ref().len() != 32);
        match bad {
            Some((index, leaf)) => Err(MerkleError::InvalidLeafLength {
                index,
                len: leaf.as_ref().len(),
            }),
            None => Ok(()),
        }
    }

    impl From<GpuFault> for TreeFailure {
        fn from(fault: GpuFault) -> Self {
            TreeFailure::Device(fault)
        }
    }
}
