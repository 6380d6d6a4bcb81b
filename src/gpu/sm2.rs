//! SM2 verification on the GPU: the host side of `shaders/sm2.wgsl`.
//!
//! # What runs where, and why
//!
//! * **On the CPU cores (the verifier's pool), in parallel:** checks 1–5 of every item (key
//!   decoded and on the curve, ID length, signature encoding, `r` and `s` in range, `t ≠ 0`)
//!   and the digest `e = SM3(Z_A ‖ M)`, by the CPU engine's own code with its key cache
//!   ([`device_form::pack`]): decoding a key and hashing `Z_A` are what the cache saves for
//!   frequent issuers, and every reason these checks give is the CPU engine's by
//!   construction. Messages never go to the device; each surviving item becomes 48 words.
//! * **On the device, one invocation per surviving item:** `[s]G + [t]P` — `[t]P` by signed
//!   radix-16 windows over the multiples `P..8P`, built per item, and `[s]G` from the CPU
//!   engine's own comb of `G` (960 affine points, uploaded once per device) — then check 6
//!   (not the point at infinity) and check 7 (`x₁ ≡ r − e (mod n)`, compared in Jacobian form:
//!   no inversion, no arithmetic modulo n on the device). One verdict code per item.
//!
//! # Field arithmetic: the Ed25519 kernel's two builds
//!
//! Eight 32-bit words in Montgomery form with R = 2^256 — the CPU engine's representation, so
//! keys, comb entries and candidates go up word for word — and the product in one of the two
//! builds the Ed25519 kernel chooses per adapter ([`FieldCode`]): 64-bit products where the
//! adapter offers `SHADER_INT64`, 32-bit otherwise (or where [`FIELD_CODE_ENV`] says
//! `unrolled`). `sm2_field` generates them and says why one layout serves both.
//!
//! # Pieces
//!
//! As for Ed25519, through the same piece runner (`sig_pieces`): pieces of surviving items,
//! two sets of buffers alternating; the kernel compiled on the device's first SM2 job (with
//! one warm-up dispatch) and kept with the device.
//!
//! [`FIELD_CODE_ENV`]: super::field_code::FIELD_CODE_ENV
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::time::Duration;

use super::device::{DeviceState, GpuDevice, Kernels, compute_pipeline};
use super::field_code::FieldCode;
use super::sig_pieces::{self, Compiled, Spec};
use super::sm2_field;
use crate::GpuFault;
use crate::sig::sm2::device_form::{self, ITEM_WORDS};
use crate::sig::{Reason, Verdict};

const SM2_WGSL: &str = include_str!("../../shaders/sm2.wgsl");

/// The whole WGSL module of the SM2 kernel in `field`'s build.
fn kernel_source(field: FieldCode) -> String {
    format!("{}\n{SM2_WGSL}", sm2_field::wgsl(field))
}

/// The SM2 family's key in a device's [`Kernels`] (see `sig_pieces`).
struct Sm2;

/// How long the device's SM2 kernel took to compile (with its warm-up dispatch), and the
/// build of the field arithmetic it got; `None` before the first SM2 job.
pub(crate) fn compile_time(kernels: &Kernels) -> (Option<Duration>, Option<&'static str>) {
    sig_pieces::compile_time::<Sm2>(kernels)
}

/// Compiles the kernel on `state`'s device and uploads the comb of `G`.
fn compile(state: &DeviceState) -> Result<Compiled, GpuFault> {
    let field = FieldCode::for_adapter(state.int64);
    let module = state
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("sm2"),
            source: wgpu::ShaderSource::Wgsl(Cow::Owned(kernel_source(field))),
        });
    let verify = compute_pipeline(&state.device, &module, "verify_sm2");
    let comb = device_form::g_comb_words();
    // Created empty and written through the queue (wgpu's `create_buffer_init` panics on a
    // lost device; a lost device must be a fault).
    let g_comb = state.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("sm2 G comb"),
        size: 4 * comb.len() as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    state
        .queue
        .write_buffer(&g_comb, 0, bytemuck::cast_slice(&comb));
    Ok(Compiled {
        verify,
        table: g_comb,
        field: field.name(),
    })
}

/// The verdict a kernel code stands for; an unknown code means the readback is not what the
/// kernel wrote.
fn verdict_of(code: u32) -> Result<Verdict, GpuFault> {
    Ok(match code {
        0 => Verdict::Valid,
        1 => Verdict::Invalid(Reason::SumAtInfinity),
        2 => Verdict::Invalid(Reason::EquationFailed),
        _ => return Err(GpuFault::ReadbackFailed),
    })
}

/// The verdicts of checks 6 and 7 for each packed item (`words.len() / ITEM_WORDS` of them,
/// packed by [`device_form::pack`]), in order, on `device`.
pub(crate) fn verify_packed(device: &GpuDevice, words: &[u32]) -> Result<Vec<Verdict>, GpuFault> {
    // `Params` in shaders/sm2.wgsl has nothing after the count.
    let spec = Spec {
        item_words: ITEM_WORDS,
        params: [0; 3],
        verdict_of,
    };
    sig_pieces::run_job::<Sm2>(device, compile, &warm_up_item(), &spec, words)
}

/// A well-formed item for the warm-up dispatch: the key `G`, `s = t = 1`, candidates `0` and
/// none.
fn warm_up_item() -> Vec<u32> {
    let comb = device_form::g_comb_words();
    let mut item = vec![0u32; ITEM_WORDS];
    item[..16].copy_from_slice(&comb[..16]);
    item[16] = 1;
    item[24] = 1;
    item[40..48].fill(u32::MAX);
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every build of the kernel parses and validates as WGSL, without a device.
    #[test]
    fn kernel_source_validates_in_every_build() {
        for field in [FieldCode::Unrolled, FieldCode::Int64] {
            super::super::field_code::assert_valid_wgsl(&kernel_source(field), field);
        }
    }

    /// The unrolled build uses no 64-bit integer anywhere (it is what adapters without
    /// `SHADER_INT64` get).
    #[test]
    fn unrolled_build_is_32_bit() {
        assert!(!kernel_source(FieldCode::Unrolled).contains("u64"));
    }
}
