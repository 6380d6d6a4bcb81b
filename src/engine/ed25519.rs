//! The Ed25519 engines: the CPU engine ([`crate::sig`]: the `Zip215` batch equation and the
//! single checks, on the verifier's pool) and, with the `gpu` feature, the GPU kernel
//! (challenges hashed and packed on the pool, then one invocation per item).
#![forbid(unsafe_code)]

use super::SignatureEngine;
use crate::sig::{CpuEngine, Policy, SigItem};
use crate::{GpuFault, Verdict};

impl<'a> SignatureEngine<SigItem<'a>> for CpuEngine {
    type Rules = Policy;

    fn verify(&self, policy: Policy, items: &[SigItem<'a>]) -> Result<Vec<Verdict>, GpuFault> {
        Ok(CpuEngine::verify(self, policy, items))
    }
}

#[cfg(feature = "gpu")]
pub(crate) use gpu::GpuEd25519;

#[cfg(feature = "gpu")]
mod gpu {
    use crate::engine::DeviceEngine;
    use crate::gpu::{self, GpuContext};
    use crate::sig::{CpuEngine, Policy, SigItem};
    use crate::{GpuFault, Verdict};

    /// The GPU kernel, packing on the CPU engine's pool.
    pub(crate) struct GpuEd25519<'v> {
        pub context: &'v GpuContext,
        pub pool: &'v CpuEngine,
    }

    impl<'a> DeviceEngine<SigItem<'a>> for GpuEd25519<'_> {
        type Rules = Policy;
        type Packed = Vec<u32>;

        fn pack(&self, items: &[SigItem<'a>]) -> Vec<u32> {
            let mut packed = Vec::new();
            self.pool
                .install(|| gpu::sig::pack_items(items, &mut packed));
            packed
        }

        /// A readback of the wrong length is a fault (it would misalign every verdict after
        /// it).
        fn run(
            &self,
            policy: Policy,
            packed: &Vec<u32>,
            items: usize,
        ) -> Result<Vec<Verdict>, GpuFault> {
            self.context.verify_packed(policy, packed).and_then(|v| {
                if v.len() == items {
                    Ok(v)
                } else {
                    Err(GpuFault::ReadbackFailed)
                }
            })
        }
    }
}
