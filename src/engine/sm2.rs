//! The SM2 engines: the CPU engine ([`crate::sig::sm2`]: items verified one by one in
//! parallel, with the issuers' key cache) and, with the `gpu` feature, the GPU kernel (checks
//! 1–5 and the digests on the pool by the CPU engine's own code, then one invocation per
//! surviving item for the joint sum and checks 6 and 7).
#![forbid(unsafe_code)]

use super::SignatureEngine;
use crate::sig::sm2::{Sm2Item, engine::Sm2Engine};
use crate::{GpuFault, Verdict};

impl<'a> SignatureEngine<Sm2Item<'a>> for Sm2Engine {
    /// SM2 has one rule set: nothing to choose per call.
    type Rules = ();

    fn verify(&self, _: (), items: &[Sm2Item<'a>]) -> Result<Vec<Verdict>, GpuFault> {
        Ok(Sm2Engine::verify(self, items))
    }
}

#[cfg(feature = "gpu")]
pub(crate) use gpu::GpuSm2;

#[cfg(feature = "gpu")]
mod gpu {
    use crate::engine::DeviceEngine;
    use crate::gpu::GpuContext;
    use crate::sig::CpuEngine;
    use crate::sig::sm2::device_form::{self, Packed};
    use crate::sig::sm2::{Sm2Item, engine::Sm2Engine};
    use crate::{GpuFault, Verdict};

    /// The GPU kernel, packing on the verifier's pool with the CPU engine's checks and key
    /// cache.
    pub(crate) struct GpuSm2<'v> {
        pub context: &'v GpuContext,
        pub pool: &'v CpuEngine,
        pub engine: &'v Sm2Engine,
    }

    impl<'a> DeviceEngine<Sm2Item<'a>> for GpuSm2<'_> {
        type Rules = ();
        type Packed = Packed;

        fn pack(&self, items: &[Sm2Item<'a>]) -> Packed {
            self.pool.install(|| device_form::pack(self.engine, items))
        }

        /// The device's verdicts merged into the host's; a readback of the wrong length is a
        /// fault. A batch whose every item failed checks 1–5 never touches the device.
        fn run(&self, _: (), packed: &Packed, items: usize) -> Result<Vec<Verdict>, GpuFault> {
            if packed.verdicts.len() != items {
                return Err(GpuFault::ReadbackFailed);
            }
            if packed.on_device.is_empty() {
                return Ok(packed.verdicts.clone());
            }
            let found = self.context.verify_sm2_packed(&packed.words)?;
            if found.len() != packed.on_device.len() {
                return Err(GpuFault::ReadbackFailed);
            }
            let mut verdicts = packed.verdicts.clone();
            for (&index, verdict) in packed.on_device.iter().zip(found) {
                verdicts[index] = verdict;
            }
            Ok(verdicts)
        }
    }
}
