//! Ed25519 verification on the GPU: the host side of `shaders/ed25519.wgsl`.
//!
//! # What runs where, and why
//!
//! * **On the CPU cores (the verifier's pool), in parallel:** packing each item into 128 bytes
//!   — `A`, `R`, `S` as given and `k = SHA-512(R ‖ A ‖ M) mod L` — so the device never sees
//!   messages. Hashing stays on the CPU because it removes the messages from the upload (a
//!   256-byte record becomes 32 bytes of `k`, an eighth of the traffic over PCIe) and because
//!   SHA-512 is 64-bit arithmetic, which WGSL has only as an optional feature; and packing is
//!   cheap next to verifying (`blockverify bench sigs` prints its rate as the "GPU pack only"
//!   row; BENCHMARKS.md has the figures).
//! * **On the device, one invocation per signature:** every check of the CPU engine in the same
//!   order (canonical `S`; `A` and `R` decoded as curve25519-dalek decodes them; under Strict
//!   small-order `A`/`R` and non-canonical `R` refused), then `[S]B − [k]A` by Straus' method
//!   with signed radix-16 digits (the multiples of `B` come from a table built on the device
//!   once, the multiples of `−A` are computed per item), and the policy's equation. The
//!   invocation writes one verdict code. No batching on the device: every item's verdict is
//!   computed directly, so there is nothing to bisect and an all-invalid batch costs what an
//!   all-valid one does.
//!
//! # Field arithmetic: two limb layouts
//!
//! `shaders/field25519.wgsl` works in 10 limbs of 26 bits with `u64` products where the
//! adapter offers `SHADER_INT64`, and in 20 limbs of 13 bits with plain `u32` products (a
//! column of the schoolbook product fits in 32 bits) where it does not; the host generates the
//! layout's constants and hot functions ([`FieldCode`], which says why each layout; the
//! measurements behind the choice are in BENCHMARKS.md). The base-point table is built on the
//! device by the same code, so it is always in the layout the kernel reads.
//!
//! # Pieces and overlap
//!
//! Items go up in pieces (`sig_pieces`, shared with the SM2 kernel): two sets of buffers
//! alternate, so piece `p + 1` is uploaded and queued while piece `p` runs and the verdicts
//! of piece `p − 1` are read back. Packing happens before the device is taken, so a
//! second batch (the pipelined [`Verifier::submit_signatures`](crate::Verifier)) hashes while
//! the first one is on the device.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::time::Duration;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::scalar::Scalar;
use rayon::prelude::*;

use super::device::{DEVICE_WAIT, DeviceState, GpuDevice, Kernels, compute_pipeline};
use super::field_code::FieldCode;
use super::sig_pieces::{self, Compiled, Spec};
use crate::GpuFault;
use crate::sig::{Lanes, Policy, Reason, SigItem, Verdict, challenges_into};

/// 32-bit words per packed item: `A`, `R`, `S`, `k`, eight words each.
pub(crate) const ITEM_WORDS: usize = 32;
/// Multiples of `B` in the table: 1..=8, for signed radix-16 digits.
const BASE_TABLE_LEN: u64 = 8;

/// The field arithmetic is prepended to the Ed25519 kernels (WGSL has no includes), after the
/// generated part of it (src/gpu/field_code.rs) in the build chosen for the adapter.
const FIELD_WGSL: &str = include_str!("../../shaders/field25519.wgsl");
const ED25519_WGSL: &str = include_str!("../../shaders/ed25519.wgsl");

/// The whole WGSL module of the signature kernels in `field`'s build.
fn kernel_source(field: FieldCode) -> String {
    format!("{}\n{FIELD_WGSL}\n{ED25519_WGSL}", field.wgsl())
}

/// Where the time of one GPU signature job went (from
/// [`Verifier::gpu_verify_signatures_profiled`](crate::Verifier::gpu_verify_signatures_profiled)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigTiming {
    /// Packing on the CPU cores: each item's challenge `k = SHA-512(R ‖ A ‖ M) mod L` and
    /// its 128-byte record.
    pub pack: Duration,
    /// The device's part: upload, the verification kernel, readback of the verdicts (and the
    /// kernel's compilation, on the device's first signature job).
    pub device: Duration,
}

/// The Ed25519 family's key in a device's [`Kernels`] (see `sig_pieces`).
struct Ed25519;

/// How long the device's Ed25519 kernels took to compile (with their warm-up dispatch), and
/// the build of the field arithmetic they got; `None` before the first signature job.
pub(crate) fn compile_time(kernels: &Kernels) -> (Option<Duration>, Option<&'static str>) {
    sig_pieces::compile_time::<Ed25519>(kernels)
}

/// Compiles the signature kernels on `state`'s device and builds the base-point table.
fn compile(state: &DeviceState) -> Result<Compiled, GpuFault> {
    let field = FieldCode::for_adapter(state.int64);
    let module = state
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("ed25519"),
            source: wgpu::ShaderSource::Wgsl(Cow::Owned(kernel_source(field))),
        });
    let verify = compute_pipeline(&state.device, &module, "verify_signatures");
    let build_table = compute_pipeline(&state.device, &module, "build_base_table");
    let table = build_base_table(&state.device, &state.queue, &build_table, field)?;
    Ok(Compiled {
        verify,
        table,
        field: field.name(),
    })
}

/// Packs `items` into `out` (exactly `ITEM_WORDS` words per item), hashing in parallel on the
/// current rayon pool.
/// The challenges are hashed eight at a time in the SHA-512 lanes where the CPU has them.
pub(crate) fn pack_items(items: &[SigItem<'_>], out: &mut Vec<u32>) {
    out.clear();
    out.resize(items.len() * ITEM_WORDS, 0);
    let lanes = Lanes::detect();
    out.par_chunks_mut(8 * ITEM_WORDS)
        .zip(items.par_chunks(8))
        .with_min_len(32)
        .for_each_init(Vec::new, |challenges, (words, eight)| {
            challenges_into(lanes, eight, challenges);
            for ((words, item), k) in words
                .chunks_exact_mut(ITEM_WORDS)
                .zip(eight)
                .zip(&*challenges)
            {
                let k = k.to_bytes();
                let parts: [&[u8; 32]; 4] = [item.public_key, item.r_bytes(), item.s_bytes(), &k];
                for (part, dst) in parts.iter().zip(words.chunks_exact_mut(8)) {
                    for (word, bytes) in dst.iter_mut().zip(part.chunks_exact(4)) {
                        *word = u32::from_le_bytes(bytes.try_into().expect("4 bytes"));
                    }
                }
            }
        });
}

/// The verdict a kernel code stands for; an unknown code means the readback is not what the
/// kernel wrote.
fn verdict_of(code: u32) -> Result<Verdict, GpuFault> {
    Ok(match code {
        0 => Verdict::Valid,
        1 => Verdict::Invalid(Reason::NonCanonicalS),
        2 => Verdict::Invalid(Reason::KeyNotOnCurve),
        3 => Verdict::Invalid(Reason::RNotOnCurve),
        4 => Verdict::Invalid(Reason::SmallOrderKey),
        5 => Verdict::Invalid(Reason::SmallOrderR),
        6 => Verdict::Invalid(Reason::NonCanonicalR),
        7 => Verdict::Invalid(Reason::EquationFailed),
        _ => return Err(GpuFault::ReadbackFailed),
    })
}

/// Builds the table of `B, 2B, …, 8B` as affine Niels points on the device, from their
/// canonical encodings (computed here by curve25519-dalek), with the kernel's own
/// decompression: the table is in exactly the representation the kernel reads, and nothing
/// about the field representation is duplicated on the host.
fn build_base_table(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    pipeline: &wgpu::ComputePipeline,
    field: FieldCode,
) -> Result<wgpu::Buffer, GpuFault> {
    let encodings: Vec<u32> = (1..=BASE_TABLE_LEN)
        .flat_map(|j| {
            let point = Scalar::from(j) * ED25519_BASEPOINT_POINT;
            let bytes = point.compress().to_bytes();
            (0..8).map(move |w| {
                u32::from_le_bytes(bytes[4 * w..4 * w + 4].try_into().expect("4 bytes"))
            })
        })
        .collect();
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    // Created empty and written through the queue, not mapped at creation: wgpu's
    // `create_buffer_init` panics when the device is already lost, and a lost device must be a
    // fault, never a panic.
    let upload = |label: &str, usage: wgpu::BufferUsages, contents: &[u8]| {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: contents.len() as u64,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&buffer, 0, contents);
        buffer
    };
    let input = upload(
        "base point encodings",
        wgpu::BufferUsages::STORAGE,
        bytemuck::cast_slice(&encodings),
    );
    let params = upload(
        "base table params",
        wgpu::BufferUsages::UNIFORM,
        // `Params` in shaders/ed25519.wgsl: count, strict, one, padding.
        bytemuck::cast_slice(&[BASE_TABLE_LEN as u32, 0, 1, 0]),
    );
    let table = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("base point table"),
        // One affine Niels point per multiple: three field elements, a word per limb.
        size: 4 * 3 * field.limbs() as u64 * BASE_TABLE_LEN,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("base table"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: params.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 4,
                resource: input.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 5,
                resource: table.as_entire_binding(),
            },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }
    let submission = queue.submit([encoder.finish()]);
    device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(DEVICE_WAIT),
        })
        .map_err(|_| GpuFault::DeviceLost)?;
    match pollster::block_on(scope.pop()) {
        Some(_) => Err(GpuFault::DispatchFailed),
        None => Ok(table),
    }
}

/// One verdict per packed item (`packed.len() / ITEM_WORDS` items, packed by [`pack_items`]),
/// in order, on `device`.
pub(crate) fn verify_packed(
    device: &GpuDevice,
    policy: Policy,
    packed: &[u32],
) -> Result<Vec<Verdict>, GpuFault> {
    // `Params` in shaders/ed25519.wgsl after the count: the policy, and the constant 1 (see
    // `runtime_count` there).
    let spec = Spec {
        item_words: ITEM_WORDS,
        params: [u32::from(policy == Policy::Strict), 1, 0],
        verdict_of,
    };
    sig_pieces::run_job::<Ed25519>(device, compile, &[0; ITEM_WORDS], &spec, packed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every build of the kernel parses and validates as WGSL, without a device (a shader error
    /// on the device shows only as a fault and a CPU fallback).
    #[test]
    fn kernel_source_validates_in_every_build() {
        for field in [FieldCode::Unrolled, FieldCode::Int64] {
            super::super::field_code::assert_valid_wgsl(&kernel_source(field), field);
        }
    }
}
