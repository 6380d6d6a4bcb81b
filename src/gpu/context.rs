//! The verifier's view of its GPU: one device ([`GpuDevice`]) and the kernel families that run
//! on it. The only module that names both the device and the families; it delegates each job
//! to its family and assembles what is reported across them (compile times).
#![forbid(unsafe_code)]

use std::time::Duration;

use super::device::{AdapterSummary, DeviceState, GpuDevice, GpuOptions, InjectedFault, Kernels};
use super::merkle::{self, KernelTiming, LowerLevels};
use super::{sig, sm2};
use crate::merkle::{DuplicatePair, Scheme};
use crate::sig::{Policy, Verdict};
use crate::{GpuFault, GpuUnavailable};

/// How long an adapter took to compile this crate's shaders: the Merkle kernels when its
/// device was opened, the Ed25519 and SM2 kernels on their first jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShaderCompileTime {
    /// The Merkle kernels (the RFC 9162 leaf kernel and the SHA-256 and SM3 reductions):
    /// pipeline creation and two warm-up trees (RFC 9162 and FISCO BCOS), whose roots are
    /// checked against the reference build before the device is used.
    pub merkle: Duration,
    /// The Ed25519 kernels (verification and the base-table builder), compiled on the first
    /// signature job; `None` before it.
    pub ed25519: Option<Duration>,
    /// Which build of the field arithmetic the Ed25519 kernels got (`int64` or `unrolled`,
    /// see `BLOCKVERIFY_GPU_FIELD` in the [`gpu`](crate::gpu) docs).
    pub ed25519_field: Option<&'static str>,
    /// The SM2 kernel, compiled on the first SM2 job; `None` before it.
    pub sm2: Option<Duration>,
    /// Which build of the field arithmetic the SM2 kernel got (`int64` or `unrolled`).
    pub sm2_field: Option<&'static str>,
}

/// A verifier's GPU: opened once, reopened after a loss.
pub(crate) struct GpuContext {
    device: GpuDevice,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let summary = self.device.adapter();
        f.debug_struct("GpuContext")
            .field("adapter", &summary.name)
            .field("backend", &summary.backend)
            .finish()
    }
}

/// What every device this context opens gets before its first job: the Merkle kernels,
/// compiled and checked on warm-up trees. (The Ed25519 kernel waits for the first signature
/// job: Merkle-only users never pay for it.)
fn on_open(state: &mut DeviceState, kernels: &mut Kernels) -> Result<(), GpuUnavailable> {
    merkle::prepare(state, kernels)
}

impl GpuContext {
    /// Opens the adapter `options` ask for.
    ///
    /// # Errors
    /// Why no device could be opened.
    pub(crate) fn open(options: GpuOptions) -> Result<Self, GpuUnavailable> {
        Ok(GpuContext {
            device: GpuDevice::open(options, on_open)?,
        })
    }

    /// The adapter in use.
    pub(crate) fn adapter(&self) -> &AdapterSummary {
        self.device.adapter()
    }

    /// How long the open device took to compile the shaders (`None` while it is lost).
    pub(crate) fn compile_time(&self) -> Option<ShaderCompileTime> {
        self.device.with_kernels(|kernels| {
            let (ed25519, ed25519_field) = sig::compile_time(kernels);
            let (sm2, sm2_field) = sm2::compile_time(kernels);
            ShaderCompileTime {
                merkle: merkle::compile_time(kernels),
                ed25519,
                ed25519_field,
                sm2,
                sm2_field,
            }
        })
    }

    /// Makes the next job fail with `fault` (for tests of the fallback path).
    pub(crate) fn inject(&self, fault: InjectedFault) {
        self.device.inject(fault);
    }

    /// The root of `leaves` (already validated: Bitcoin leaves are 32 bytes) and the first
    /// duplicate pair, on the device. `profile` times each pass with timestamp queries
    /// (serialising the job; for benchmarks).
    pub(crate) fn merkle_root<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
        profile: bool,
    ) -> Result<([u8; 32], Option<DuplicatePair>, KernelTiming), GpuFault> {
        merkle::root(&self.device, scheme, leaves, profile)
    }

    /// Every level of the tree of `leaves` up to the piece height (all of them for a tree that
    /// fits one piece), with the first duplicate pair among them.
    pub(crate) fn merkle_levels<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<LowerLevels, GpuFault> {
        merkle::levels(&self.device, scheme, leaves)
    }

    /// One verdict per packed item (see [`sig::pack_items`]), in order.
    pub(crate) fn verify_packed(
        &self,
        policy: Policy,
        packed: &[u32],
    ) -> Result<Vec<Verdict>, GpuFault> {
        sig::verify_packed(&self.device, policy, packed)
    }

    /// The verdicts of SM2's checks 6 and 7 for each packed item (see
    /// `sig::sm2::device_form::pack`), in order.
    pub(crate) fn verify_sm2_packed(&self, words: &[u32]) -> Result<Vec<Verdict>, GpuFault> {
        sm2::verify_packed(&self.device, words)
    }
}
