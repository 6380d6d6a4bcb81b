//! A signature job on the device, in pieces: what the Ed25519 kernel (`sig`) and the SM2
//! kernel (`sm2`) share once their items are packed into 32-bit words — the family's state
//! on a device (compiled once, on its first job, with a warm-up dispatch; two sets of
//! buffers) and the pieces.
//!
//! Items go up in pieces of at most [`PIECE_ITEMS`] (and one storage binding); two sets of
//! buffers alternate, so piece `p + 1` is uploaded and queued while piece `p` runs and the
//! verdicts of piece `p − 1` are read back. Both kernels bind the same way — uniform
//! parameters (the piece's item count, then three kernel-specific words) at 0, the items at
//! 1, a constant table at 2 (Ed25519's multiples of `B`, SM2's comb of `G`), one verdict code
//! per item at 3 — and run 64 invocations per workgroup.
#![forbid(unsafe_code)]

use std::any::Any;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use super::device::{DeviceState, GpuDevice, Kernels, Pooled};
use crate::GpuFault;
use crate::sig::Verdict;

/// Invocations per workgroup of both signature kernels (their `@workgroup_size`).
const WORKGROUP: u32 = 64;

/// The most items one piece holds (8 MiB of packed Ed25519 items, 12 MiB of SM2 ones): small
/// enough that two pieces overlap on any batch worth a GPU, large enough that a piece keeps a
/// big GPU busy for tens of milliseconds.
pub(crate) const PIECE_ITEMS: usize = 1 << 16;

/// A signature kernel's buffers; a device keeps two sets per kernel.
struct SigBuffers {
    items: Pooled,
    verdicts: Pooled,
    readback: Pooled,
    params: Pooled,
}

impl Default for SigBuffers {
    fn default() -> Self {
        use wgpu::BufferUsages as U;
        SigBuffers {
            items: Pooled::new("signature items", U::STORAGE | U::COPY_DST),
            verdicts: Pooled::new("signature verdicts", U::STORAGE | U::COPY_SRC),
            readback: Pooled::new("signature readback", U::MAP_READ | U::COPY_DST),
            params: Pooled::new("signature params", U::UNIFORM | U::COPY_DST),
        }
    }
}

/// A family's compiled kernel: the pipeline, its constant table, and the build of the field
/// arithmetic it got.
pub(crate) struct Compiled {
    pub verify: wgpu::ComputePipeline,
    pub table: wgpu::Buffer,
    pub field: &'static str,
}

/// What a family's kernel reads and writes (see [`PieceKernel`]).
pub(crate) struct Spec {
    pub item_words: usize,
    pub params: [u32; 3],
    pub verdict_of: fn(u32) -> Result<Verdict, GpuFault>,
}

/// A signature family's state on one device, kept in its [`Kernels`] (keyed by the marker
/// type `F`) from the family's first job until the device is dropped: the kernel is compiled
/// on that first job (users of other families never pay for it).
struct FamilyState<F> {
    compiled: Option<Compiled>,
    /// Two sets of buffers, so that one piece uploads while another runs.
    buffers: [SigBuffers; 2],
    /// Compilation and the warm-up dispatch, once done.
    compile_time: Option<Duration>,
    family: PhantomData<F>,
}

impl<F> Default for FamilyState<F> {
    fn default() -> Self {
        FamilyState {
            compiled: None,
            buffers: Default::default(),
            compile_time: None,
            family: PhantomData,
        }
    }
}

/// How long family `F`'s kernel took to compile (with its warm-up dispatch) on the open
/// device, and its field build; `None` before the family's first job.
pub(crate) fn compile_time<F: Any + Send>(
    kernels: &Kernels,
) -> (Option<Duration>, Option<&'static str>) {
    kernels
        .get::<FamilyState<F>>()
        .map_or((None, None), |family| {
            (
                family.compile_time,
                family.compiled.as_ref().map(|c| c.field),
            )
        })
}

/// One verdict per packed item of family `F` (`words.len() / spec.item_words` of them), in
/// order, on `device`; on the family's first job there, `compile` builds its kernel and one
/// dispatch of `warm_up` (one packed item) follows, because many drivers (lavapipe among
/// them) compile a pipeline at its first dispatch: that goes into the compile time, not into
/// the first batch's.
pub(crate) fn run_job<F: Any + Send>(
    device: &GpuDevice,
    compile: impl FnOnce(&DeviceState) -> Result<Compiled, GpuFault>,
    warm_up: &[u32],
    spec: &Spec,
    words: &[u32],
) -> Result<Vec<Verdict>, GpuFault> {
    device.run(|state, kernels| {
        let family = kernels.get_or_insert_with(FamilyState::<F>::default);
        let started = Instant::now();
        let warming = family.compiled.is_none();
        if warming {
            family.compiled = Some(compile(state)?);
        }
        let compiled = family.compiled.as_ref().expect("compiled above");
        let kernel = PieceKernel {
            pipeline: &compiled.verify,
            table: &compiled.table,
            item_words: spec.item_words,
            params: spec.params,
            verdict_of: spec.verdict_of,
        };
        if warming {
            run_pieces(state, &mut family.buffers, &kernel, warm_up)?;
            family.compile_time = Some(started.elapsed());
        }
        run_pieces(state, &mut family.buffers, &kernel, words)
    })
}

/// What one kernel brings to a job.
struct PieceKernel<'k> {
    pub pipeline: &'k wgpu::ComputePipeline,
    /// The constant table at binding 2.
    pub table: &'k wgpu::Buffer,
    /// 32-bit words per packed item.
    pub item_words: usize,
    /// The uniform parameters after the item count.
    pub params: [u32; 3],
    /// The verdict a code stands for; `Err` for a code the kernel cannot write (then the
    /// readback is not what the kernel wrote).
    pub verdict_of: fn(u32) -> Result<Verdict, GpuFault>,
}

/// One verdict per packed item (`words.len() / item_words` of them), in order.
fn run_pieces(
    state: &DeviceState,
    buffers: &mut [SigBuffers; 2],
    kernel: &PieceKernel<'_>,
    words: &[u32],
) -> Result<Vec<Verdict>, GpuFault> {
    let count = words.len() / kernel.item_words;
    let piece_items = piece_items(state, kernel.item_words);
    let mut verdicts = Vec::with_capacity(count);
    let mut in_flight: [Option<(usize, wgpu::SubmissionIndex)>; 2] = [None, None];
    for (p, piece) in words.chunks(piece_items * kernel.item_words).enumerate() {
        let slot = p % 2;
        if let Some((n, submission)) = in_flight[slot].take() {
            collect(state, &buffers[slot], kernel, n, submission, &mut verdicts)?;
        }
        let n = piece.len() / kernel.item_words;
        in_flight[slot] = Some((n, submit_piece(state, &mut buffers[slot], kernel, piece)));
    }
    // The older piece first: pieces alternate slots.
    let pieces = count.div_ceil(piece_items);
    for slot in [pieces % 2, (pieces + 1) % 2] {
        if let Some((n, submission)) = in_flight[slot].take() {
            collect(state, &buffers[slot], kernel, n, submission, &mut verdicts)?;
        }
    }
    Ok(verdicts)
}

/// Items per piece on this device: [`PIECE_ITEMS`], fewer if a binding or a dispatch's
/// workgroup count is smaller.
fn piece_items(state: &DeviceState, item_words: usize) -> usize {
    let by_binding = (state.binding_limit / (4 * item_words as u64)) as usize;
    let by_dispatch = state.max_groups_per_dim as usize * WORKGROUP as usize;
    PIECE_ITEMS.min(by_binding).min(by_dispatch).max(1)
}

/// Uploads one piece into `buffers` and queues its kernel and the copy of its verdicts to
/// the readback buffer.
fn submit_piece(
    state: &DeviceState,
    buffers: &mut SigBuffers,
    kernel: &PieceKernel<'_>,
    piece: &[u32],
) -> wgpu::SubmissionIndex {
    let n = piece.len() / kernel.item_words;
    let device = &state.device;
    let items = buffers.items.get(device, 4 * piece.len() as u64).clone();
    let verdicts = buffers.verdicts.get(device, 4 * n as u64).clone();
    let readback = buffers.readback.get(device, 4 * n as u64).clone();
    let params = buffers.params.get(device, 16).clone();
    state
        .queue
        .write_buffer(&items, 0, bytemuck::cast_slice(piece));
    let [a, b, c] = kernel.params;
    let words: [u32; 4] = [n as u32, a, b, c];
    state
        .queue
        .write_buffer(&params, 0, bytemuck::cast_slice(&words));
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("verify signatures"),
        layout: &kernel.pipeline.get_bind_group_layout(0),
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
                resource: kernel.table.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: verdicts.as_entire_binding(),
            },
        ],
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("verify signatures"),
    });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(kernel.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups((n as u32).div_ceil(WORKGROUP), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&verdicts, 0, &readback, 0, 4 * n as u64);
    state.queue.submit([encoder.finish()])
}

/// Waits for the piece in `buffers` and appends its verdicts.
fn collect(
    state: &DeviceState,
    buffers: &SigBuffers,
    kernel: &PieceKernel<'_>,
    n: usize,
    submission: wgpu::SubmissionIndex,
    out: &mut Vec<Verdict>,
) -> Result<(), GpuFault> {
    let readback = buffers.readback.current().ok_or(GpuFault::ReadbackFailed)?;
    let decoded = state.read_back_after(Some(submission), readback, 4 * n as u64, |view| {
        view.chunks_exact(4)
            .map(|b| (kernel.verdict_of)(u32::from_le_bytes(b.try_into().expect("4 bytes"))))
            .collect::<Result<Vec<_>, _>>()
    })?;
    out.extend(decoded?);
    Ok(())
}
