//! The SM2 engines: the CPU engine ([`crate::sig::sm2`]: items verified one by one in
//! parallel, with the issuers' key cache). The GPU kernel is a later step; until then every
//! backend verifies SM2 here.
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
