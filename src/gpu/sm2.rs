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
//! As for Ed25519 (`sig`): pieces of at most [`PIECE_ITEMS`] surviving items, two sets of
//! buffers alternating, the kernel compiled on the device's first SM2 job (with one warm-up
//! dispatch) and kept with the device.
//!
//! [`FIELD_CODE_ENV`]: super::field_code::FIELD_CODE_ENV
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::time::{Duration, Instant};

use super::device::{DeviceState, GpuDevice, Kernels, compute_pipeline};
use super::field_code::FieldCode;
use super::sig::{PIECE_ITEMS, SigBuffers};
use super::sm2_field;
use crate::GpuFault;
use crate::sig::sm2::device_form::{self, ITEM_WORDS};
use crate::sig::{Reason, Verdict};

/// Bytes per packed item.
const ITEM_BYTES: u64 = 4 * ITEM_WORDS as u64;
/// Invocations per workgroup of `verify_sm2` (the shader's `@workgroup_size`).
const WORKGROUP: u32 = 64;

const SM2_WGSL: &str = include_str!("../../shaders/sm2.wgsl");

/// The whole WGSL module of the SM2 kernel in `field`'s build.
fn kernel_source(field: FieldCode) -> String {
    format!("{}\n{SM2_WGSL}", sm2_field::wgsl(field))
}

/// The SM2 kernel's state on one device, kept in its [`Kernels`] from the device's first SM2
/// job until the device is dropped.
#[derive(Default)]
struct Sm2Kernels {
    compiled: Option<Sm2Pipeline>,
    /// Two sets of buffers, so that one piece uploads while another runs.
    buffers: [SigBuffers; 2],
    /// Compilation and the warm-up dispatch, once done.
    compile_time: Option<Duration>,
    /// The build of the field arithmetic compiled.
    field: Option<&'static str>,
}

/// The compiled kernel and the comb of `G` it reads.
struct Sm2Pipeline {
    verify: wgpu::ComputePipeline,
    g_comb: wgpu::Buffer,
}

/// How long the device's SM2 kernel took to compile (with its warm-up dispatch), and the
/// build of the field arithmetic it got; `None` before the first SM2 job.
pub(crate) fn compile_time(kernels: &Kernels) -> (Option<Duration>, Option<&'static str>) {
    kernels
        .get::<Sm2Kernels>()
        .map_or((None, None), |sm2| (sm2.compile_time, sm2.field))
}

/// Compiles the kernel on `state`'s device and uploads the comb of `G`.
fn compile(state: &DeviceState, sm2: &mut Sm2Kernels) -> Result<Sm2Pipeline, GpuFault> {
    let field = FieldCode::for_adapter(state.int64);
    let module = state
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("sm2"),
            source: wgpu::ShaderSource::Wgsl(Cow::Owned(kernel_source(field))),
        });
    let verify = compute_pipeline(&state.device, &module, "verify_sm2");
    sm2.field = Some(field.name());
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
    Ok(Sm2Pipeline { verify, g_comb })
}

/// Mirrors `Params` in `shaders/sm2.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Sm2Params {
    count: u32,
    /// Pads the block to 16 bytes.
    pad: [u32; 3],
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
    let count = words.len() / ITEM_WORDS;
    device.run(|state, kernels| {
        let sm2 = kernels.get_or_insert_with(Sm2Kernels::default);
        if sm2.compiled.is_none() {
            let started = Instant::now();
            sm2.compiled = Some(compile(state, sm2)?);
            // Many drivers (lavapipe among them) compile a pipeline at its first dispatch:
            // one item here puts that into the compile time, not into the first batch's.
            // The item is the key G with s = t = 1 and no candidate: any verdict will do.
            let warm_up = submit_piece(state, sm2, 0, &warm_up_item());
            collect(state, sm2, 0, 1, warm_up, &mut Vec::new())?;
            sm2.compile_time = Some(started.elapsed());
        }
        let piece_items = piece_items(state);
        let mut verdicts = Vec::with_capacity(count);
        let mut in_flight: [Option<(usize, wgpu::SubmissionIndex)>; 2] = [None, None];
        for (p, piece) in words.chunks(piece_items * ITEM_WORDS).enumerate() {
            let slot = p % 2;
            if let Some((n, submission)) = in_flight[slot].take() {
                collect(state, sm2, slot, n, submission, &mut verdicts)?;
            }
            let n = piece.len() / ITEM_WORDS;
            in_flight[slot] = Some((n, submit_piece(state, sm2, slot, piece)));
        }
        // The older piece first: pieces alternate slots.
        let pieces = count.div_ceil(piece_items);
        for slot in [pieces % 2, (pieces + 1) % 2] {
            if let Some((n, submission)) = in_flight[slot].take() {
                collect(state, sm2, slot, n, submission, &mut verdicts)?;
            }
        }
        Ok(verdicts)
    })
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

/// Items per piece on this device: [`PIECE_ITEMS`], fewer if a binding or a dispatch's
/// workgroup count is smaller.
fn piece_items(state: &DeviceState) -> usize {
    let by_binding = (state.binding_limit / ITEM_BYTES) as usize;
    let by_dispatch = state.max_groups_per_dim as usize * WORKGROUP as usize;
    PIECE_ITEMS.min(by_binding).min(by_dispatch).max(1)
}

/// Uploads one piece into buffer set `slot` and queues its kernel and the copy of its
/// verdicts to the readback buffer.
fn submit_piece(
    state: &DeviceState,
    sm2: &mut Sm2Kernels,
    slot: usize,
    piece: &[u32],
) -> wgpu::SubmissionIndex {
    let n = piece.len() / ITEM_WORDS;
    let device = &state.device;
    let buffers = &mut sm2.buffers[slot];
    let pipeline = sm2
        .compiled
        .as_ref()
        .expect("compiled before the first piece");
    let items = buffers.items.get(device, 4 * piece.len() as u64).clone();
    let verdicts = buffers.verdicts.get(device, 4 * n as u64).clone();
    let readback = buffers.readback.get(device, 4 * n as u64).clone();
    let params = buffers.params.get(device, 16).clone();
    state
        .queue
        .write_buffer(&items, 0, bytemuck::cast_slice(piece));
    state.queue.write_buffer(
        &params,
        0,
        bytemuck::bytes_of(&Sm2Params {
            count: n as u32,
            pad: [0; 3],
        }),
    );
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("verify sm2"),
        layout: &pipeline.verify.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: params.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: items.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: pipeline.g_comb.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: verdicts.as_entire_binding(),
            },
        ],
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("verify sm2"),
    });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(&pipeline.verify);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups((n as u32).div_ceil(WORKGROUP), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&verdicts, 0, &readback, 0, 4 * n as u64);
    state.queue.submit([encoder.finish()])
}

/// Waits for the piece in buffer set `slot` and appends its verdicts.
fn collect(
    state: &DeviceState,
    sm2: &Sm2Kernels,
    slot: usize,
    n: usize,
    submission: wgpu::SubmissionIndex,
    out: &mut Vec<Verdict>,
) -> Result<(), GpuFault> {
    let readback = sm2.buffers[slot]
        .readback
        .current()
        .ok_or(GpuFault::ReadbackFailed)?;
    let decoded = state.read_back_after(Some(submission), readback, 4 * n as u64, |view| {
        view.chunks_exact(4)
            .map(|b| verdict_of(u32::from_le_bytes(b.try_into().expect("4 bytes"))))
            .collect::<Result<Vec<_>, _>>()
    })?;
    out.extend(decoded?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::naga;

    /// Every build of the kernel parses and validates as WGSL, without a device.
    #[test]
    fn kernel_source_validates_in_every_build() {
        for field in [FieldCode::Unrolled, FieldCode::Int64] {
            let source = kernel_source(field);
            let module = naga::front::wgsl::parse_str(&source)
                .unwrap_or_else(|e| panic!("{}: {}", field.name(), e.emit_to_string(&source)));
            let capabilities = if field == FieldCode::Int64 {
                naga::valid::Capabilities::SHADER_INT64
            } else {
                naga::valid::Capabilities::empty()
            };
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
                .validate(&module)
                .unwrap_or_else(|e| panic!("{}: {}", field.name(), e.emit_to_string(&source)));
        }
    }

    /// The unrolled build uses no 64-bit integer anywhere (it is what adapters without
    /// `SHADER_INT64` get).
    #[test]
    fn unrolled_build_is_32_bit() {
        assert!(!kernel_source(FieldCode::Unrolled).contains("u64"));
    }
}
