//! Merkle roots and trees on the GPU (see the module docs of [`crate::gpu`] for the plan).
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use super::device::{DeviceState, GpuDevice, Kernels, PassTimer, Pooled, compute_pipeline};
use crate::merkle::{DuplicatePair, OddNode, Scheme, TreeHash};
use crate::{GpuFault, GpuUnavailable};

/// Uniform block of `merkle_leaf.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LeafParams {
    count: u32,
    out_first: u32,
    grid_width: u32,
    _pad: u32,
}

/// Uniform block of `merkle_reduce.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    count: u32,
    levels: u32,
    base_level: u32,
    flags: u32,
    grid_width: u32,
    _pad: [u32; 3],
}

/// `ReduceParams::flags` bits 0-1: the scheme's odd-node rule.
const ODD_PROMOTE: u32 = 0;
const ODD_PAIR_WITH_ITSELF: u32 = 1;
const ODD_HASH_ALONE: u32 = 2;
/// Bit 2: level 0 is raw 32-byte hashes, byte-swapped as they are loaded.
const FLAG_RAW_INPUT: u32 = 4;
/// Bits 8-15: the node hash variant of the pipeline's hash file (`sha256.wgsl`'s `NODE_*`;
/// `sm3.wgsl` has one node hash).
const VARIANT_SHIFT: u32 = 8;
const NODE_RFC9162: u32 = 0;
const NODE_CONCAT: u32 = 1;
const NODE_DOUBLE: u32 = 2;
/// Levels one reduction dispatch climbs at most (a workgroup's 512 nodes → 1).
const MAX_FUSED_LEVELS: u32 = 9;
/// Invocations per workgroup of the leaf kernel.
const LEAF_GROUP: u32 = 64;
/// Input nodes per workgroup of the reduction kernel.
const REDUCE_TILE: u64 = 512;
/// Per level of a piece, one u32 duplicate-pair minimum.
const DUPLICATE_SLOTS: u64 = 64;
/// A piece's result in the readback buffer: its top node, then its duplicate minima.
const RESULT_BYTES: u64 = 32 + 4 * DUPLICATE_SLOTS;
/// Piece results collected before one readback.
const RESULTS_PER_READBACK: usize = 256;
/// Parameter slots one submission may use.
const PARAM_SLOTS: u64 = 64;

/// WGSL has no includes: each kernel file gets the shared digest type and one hash file
/// prepended (see [`kernel_source`]).
const DIGEST_WGSL: &str = include_str!("../../shaders/digest.wgsl");
const SHA256_WGSL: &str = include_str!("../../shaders/sha256.wgsl");
const SM3_WGSL: &str = include_str!("../../shaders/sm3.wgsl");
const LEAF_WGSL: &str = include_str!("../../shaders/merkle_leaf.wgsl");
const REDUCE_WGSL: &str = include_str!("../../shaders/merkle_reduce.wgsl");

/// The source of one kernel: the digest type, the hash family's file, the kernel.
fn kernel_source(hash: TreeHash, kernel: &str) -> String {
    let hash = match hash {
        TreeHash::Sha256 => SHA256_WGSL,
        TreeHash::Sm3 => SM3_WGSL,
    };
    format!("{DIGEST_WGSL}\n{hash}\n{kernel}")
}

/// The Merkle kernels' state on one device, kept in its [`Kernels`] from the moment the
/// device is opened ([`prepare`]) until it is dropped.
///
/// The reduction is one pipeline per hash family (SHA-256: RFC 9162, Bitcoin, ChainMaker
/// SHA-256; SM3: FISCO BCOS, ChainMaker SM3), each the same `merkle_reduce.wgsl` behind its
/// hash file, with the scheme's node hash and odd-node rule as uniform flags. Not one pipeline
/// holding both hashes behind a flag: that would cost every scheme the registers and code of
/// the other family on a real GPU, and on lavapipe, where the warm-up pays the compile, one
/// such pipeline measured slower to compile than the two apart (BENCHMARKS.md). What the
/// compile time follows is the copies of the rounds once the driver inlines every call, which
/// each hash file keeps to one per message block and the kernel to one call site.
struct MerkleKernels {
    leaf: wgpu::ComputePipeline,
    reduce_sha256: wgpu::ComputePipeline,
    reduce_sm3: wgpu::ComputePipeline,
    pool: BufferPool,
    /// Pipeline creation plus the warm-up trees.
    compile_time: Duration,
}

impl MerkleKernels {
    /// The reduction pipeline of `scheme`'s hash.
    fn reduce(&self, scheme: Scheme) -> &wgpu::ComputePipeline {
        match scheme.tree_hash() {
            TreeHash::Sha256 => &self.reduce_sha256,
            TreeHash::Sm3 => &self.reduce_sm3,
        }
    }
}

/// The buffers every Merkle job uses, kept between jobs.
struct BufferPool {
    records: Pooled,
    offsets: Pooled,
    level_a: Pooled,
    level_b: Pooled,
    duplicates: Pooled,
    params: Pooled,
    readback: Pooled,
}

/// Which pooled buffer.
#[derive(Clone, Copy, Debug)]
enum Pool {
    /// Packed records (RFC 9162 leaves).
    Records,
    /// Record offsets.
    Offsets,
    /// The larger level buffer.
    LevelA,
    /// The smaller level buffer.
    LevelB,
    /// Duplicate-pair minima per level.
    Duplicates,
    /// Uniform parameter slots.
    Params,
    /// Map-readable results.
    Readback,
}

impl BufferPool {
    fn new() -> Self {
        use wgpu::BufferUsages as U;
        BufferPool {
            records: Pooled::new("records", U::STORAGE | U::COPY_DST),
            offsets: Pooled::new("offsets", U::STORAGE | U::COPY_DST),
            level_a: Pooled::new("level a", U::STORAGE | U::COPY_DST | U::COPY_SRC),
            level_b: Pooled::new("level b", U::STORAGE | U::COPY_DST | U::COPY_SRC),
            duplicates: Pooled::new("duplicates", U::STORAGE | U::COPY_DST | U::COPY_SRC),
            params: Pooled::new("params", U::UNIFORM | U::COPY_DST),
            readback: Pooled::new("readback", U::MAP_READ | U::COPY_DST),
        }
    }

    /// The pooled buffer `which`, at least `size` bytes.
    fn get(&mut self, device: &wgpu::Device, which: Pool, size: u64) -> wgpu::Buffer {
        let pooled = match which {
            Pool::Records => &mut self.records,
            Pool::Offsets => &mut self.offsets,
            Pool::LevelA => &mut self.level_a,
            Pool::LevelB => &mut self.level_b,
            Pool::Duplicates => &mut self.duplicates,
            Pool::Params => &mut self.params,
            Pool::Readback => &mut self.readback,
        };
        pooled.get(device, size).clone()
    }
}

/// Time spent by one GPU job, for benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelTiming {
    /// Summed execution time of the compute passes, from timestamp queries; `None` where the
    /// adapter has none.
    pub kernel_ns: Option<u64>,
    /// The part of `kernel_ns` spent hashing leaves (RFC 9162 records).
    pub leaf_kernel_ns: Option<u64>,
    /// The part of `kernel_ns` spent hashing interior nodes (the reduction passes).
    pub node_kernel_ns: Option<u64>,
    /// Wall-clock time of the whole job: packing, uploads, kernels, readback.
    pub total_ns: u64,
}

/// The levels of a tree up to its piece height (all of them for a one-piece tree), and the
/// first duplicate pair among them.
pub(crate) type LowerLevels = (Vec<Vec<[u8; 32]>>, Option<DuplicatePair>);

/// How a tree is cut into pieces that fit one storage binding.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    /// log2 of the leaves per piece.
    piece_height: u32,
    /// How many pieces.
    pieces: usize,
    /// The height each piece is climbed to: the root's for a single piece, else the
    /// piece height (the CPU combines piece roots).
    target: u32,
}

impl Geometry {
    fn new(leaves: usize, binding_limit: u64) -> Self {
        let max_hashes = (binding_limit / 32).max(1);
        let piece_height = 63 - max_hashes.leading_zeros();
        let piece = 1usize << piece_height;
        let pieces = leaves.div_ceil(piece);
        let target = if pieces == 1 {
            ceil_log2(leaves as u64)
        } else {
            piece_height
        };
        Geometry {
            piece_height,
            pieces,
            target,
        }
    }

    fn piece_leaves(&self) -> usize {
        1 << self.piece_height
    }
}

fn ceil_log2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// A dispatch of `groups` workgroups as a grid no wider than the device allows.
fn grid(groups: u64, max_per_dim: u32) -> (u32, u32) {
    let width = groups.clamp(1, u64::from(max_per_dim));
    (width as u32, groups.div_ceil(width) as u32)
}

/// Converts a hash read back as eight state words (little-endian u32 storage) to bytes.
fn words_to_hash(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(bytes.chunks_exact(4)) {
        let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        o.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// A hash as eight state words in storage byte order (the inverse of [`words_to_hash`]).
fn hash_to_words(hash: &[u8; 32]) -> [u8; 32] {
    words_to_hash(hash)
}

/// The duplicate minima of one piece (relative indices) as global [`DuplicatePair`]s: the
/// lowest level that has one.
fn first_duplicate_of_piece(
    minima: &[u8],
    piece: usize,
    piece_height: u32,
) -> Option<DuplicatePair> {
    minima.chunks_exact(4).enumerate().find_map(|(level, m)| {
        let index = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
        (index != u32::MAX).then(|| DuplicatePair {
            level: level as u32,
            index: ((piece as u64) << (piece_height - level as u32)) + u64::from(index),
        })
    })
}

/// Writes `params` into consecutive uniform slots and returns each slot's binding.
struct ParamSlots {
    buffer: wgpu::Buffer,
    align: u64,
    used: u64,
}

impl ParamSlots {
    fn new(state: &DeviceState, merkle: &mut MerkleKernels) -> Self {
        let align = state.uniform_align.max(32);
        let buffer = merkle
            .pool
            .get(&state.device, Pool::Params, align * PARAM_SLOTS);
        ParamSlots {
            buffer,
            align,
            used: 0,
        }
    }

    /// The next slot holding `bytes`; slots are reused after each submission (a queued write
    /// lands between the submissions before and after it).
    fn push(&mut self, queue: &wgpu::Queue, bytes: &[u8]) -> wgpu::BufferBinding<'_> {
        let offset = (self.used % PARAM_SLOTS) * self.align;
        self.used += 1;
        queue.write_buffer(&self.buffer, offset, bytes);
        wgpu::BufferBinding {
            buffer: &self.buffer,
            offset,
            size: NonZeroU64::new(bytes.len() as u64),
        }
    }

    fn reset(&mut self) {
        self.used = 0;
    }
}

/// Wall-clock and (optionally) timestamp-query accounting of one job.
struct Profiler {
    enabled: bool,
    timer: PassTimer,
    /// Ticks spent in leaf passes and in reduction passes.
    ticks: [u64; 2],
}

/// Which kind of pass a submission holds, for [`Profiler`].
#[derive(Clone, Copy)]
enum PassKind {
    Leaves = 0,
    Nodes = 1,
}

impl Profiler {
    fn new(state: &DeviceState, enabled: bool) -> Self {
        Profiler {
            enabled,
            timer: PassTimer::new(state, enabled),
            ticks: [0; 2],
        }
    }

    fn timestamp_writes(&self) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        self.timer.timestamp_writes()
    }

    /// Submits `encoder`; when profiling, waits for it and adds its pass time.
    fn submit(
        &mut self,
        state: &mut DeviceState,
        encoder: wgpu::CommandEncoder,
        kind: PassKind,
    ) -> Result<wgpu::SubmissionIndex, GpuFault> {
        let (index, ticks) = self.timer.submit(state, encoder)?;
        match ticks {
            Some(ticks) => self.ticks[kind as usize] += ticks,
            None if self.enabled => state.wait(Some(index.clone()))?,
            None => {}
        }
        Ok(index)
    }

    /// Leaf and node kernel nanoseconds, when timestamps were taken.
    fn kernel_ns(&self, state: &DeviceState) -> Option<(u64, u64)> {
        self.timer.is_timing().then(|| {
            (
                state.ticks_to_ns(self.ticks[0]),
                state.ticks_to_ns(self.ticks[1]),
            )
        })
    }
}

/// The buffers of one job.
struct JobBuffers {
    level_a: wgpu::Buffer,
    level_b: wgpu::Buffer,
    duplicates: wgpu::Buffer,
}

impl JobBuffers {
    fn new(
        state: &DeviceState,
        merkle: &mut MerkleKernels,
        geometry: &Geometry,
        leaves: usize,
    ) -> Self {
        let piece = leaves.min(geometry.piece_leaves()) as u64;
        let device = &state.device;
        let pool = &mut merkle.pool;
        JobBuffers {
            level_a: pool.get(device, Pool::LevelA, piece * 32),
            level_b: pool.get(device, Pool::LevelB, piece.div_ceil(2) * 32),
            duplicates: pool.get(device, Pool::Duplicates, 4 * DUPLICATE_SLOTS),
        }
    }
}

/// The records of `leaves` as batches that each fit one binding: `(first, end)` index ranges.
/// A record too large for any batch gets a batch of its own, flagged for the CPU.
fn record_batches<L: AsRef<[u8]>>(leaves: &[L], binding_limit: u64) -> Vec<(usize, usize, bool)> {
    // Room for the zero word the kernel may read past the last record.
    let max_bytes = binding_limit - 4;
    let max_count = (binding_limit / 4 - 1) as usize;
    let mut batches = Vec::new();
    let mut first = 0;
    let mut bytes = 0u64;
    for (i, leaf) in leaves.iter().enumerate() {
        let len = leaf.as_ref().len() as u64;
        if len > max_bytes {
            if first < i {
                batches.push((first, i, false));
            }
            batches.push((i, i + 1, true));
            first = i + 1;
            bytes = 0;
            continue;
        }
        if bytes + len > max_bytes || i - first == max_count {
            batches.push((first, i, false));
            first = i;
            bytes = 0;
        }
        bytes += len;
    }
    if first < leaves.len() {
        batches.push((first, leaves.len(), false));
    }
    batches
}

/// The root of `leaves` (already validated: leaves of schemes that take hashes are 32 bytes,
/// and a scheme without an empty root has leaves) and the first duplicate pair, on `device`.
/// `profile` times each pass with timestamp queries (serialising the job; for benchmarks).
pub(crate) fn root<L: AsRef<[u8]> + Sync>(
    device: &GpuDevice,
    scheme: Scheme,
    leaves: &[L],
    profile: bool,
) -> Result<([u8; 32], Option<DuplicatePair>, KernelTiming), GpuFault> {
    let started = Instant::now();
    device.run(|state, kernels| {
        let merkle = kernels
            .get_mut::<MerkleKernels>()
            .ok_or(GpuFault::Unavailable)?;
        let geometry = Geometry::new(leaves.len(), state.binding_limit);
        let mut profiler = Profiler::new(state, profile);
        let (root, duplicate) = root_job(state, merkle, scheme, leaves, geometry, &mut profiler)?;
        let kernel = profiler.kernel_ns(state);
        let timing = KernelTiming {
            kernel_ns: kernel.map(|(l, n)| l + n),
            leaf_kernel_ns: kernel.map(|(l, _)| l),
            node_kernel_ns: kernel.map(|(_, n)| n),
            total_ns: started.elapsed().as_nanos() as u64,
        };
        Ok((root, duplicate, timing))
    })
}

/// Every level of the tree of `leaves` up to the piece height (all of them for a tree that
/// fits one piece), with the first duplicate pair among them, on `device`.
pub(crate) fn levels<L: AsRef<[u8]> + Sync>(
    device: &GpuDevice,
    scheme: Scheme,
    leaves: &[L],
) -> Result<LowerLevels, GpuFault> {
    device.run(|state, kernels| {
        let merkle = kernels
            .get_mut::<MerkleKernels>()
            .ok_or(GpuFault::Unavailable)?;
        let geometry = Geometry::new(leaves.len(), state.binding_limit);
        tree_job(state, merkle, scheme, leaves, geometry)
    })
}

/// Compiles the Merkle kernels on a freshly opened device, checks them on warm-up trees and
/// leaves them in the device's [`Kernels`]. Refuses an adapter too small for them.
pub(crate) fn prepare(
    state: &mut DeviceState,
    kernels: &mut Kernels,
) -> Result<(), GpuUnavailable> {
    let limits = state.device.limits();
    if limits.max_compute_workgroup_storage_size < 8192
        || limits.max_compute_invocations_per_workgroup < 256
    {
        return Err(GpuUnavailable::AdapterTooSmall {
            adapter: state.adapter_name.clone(),
        });
    }
    let adapter = state.adapter_name.clone();
    let failed = |detail: String| GpuUnavailable::DeviceFailed {
        adapter: adapter.clone(),
        detail,
    };
    // Pipeline creation plus the warm-up trees (below): drivers that compile at the first
    // dispatch (lavapipe) do part of the work there. The signature kernel's figure includes a
    // warm-up dispatch for the same reason (src/gpu/sig.rs).
    let scope = state.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let started = Instant::now();
    let pipeline = |source: String, entry: &str| {
        let module = state
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(entry),
                source: wgpu::ShaderSource::Wgsl(Cow::Owned(source)),
            });
        compute_pipeline(&state.device, &module, entry)
    };
    let leaf = pipeline(kernel_source(TreeHash::Sha256, LEAF_WGSL), "hash_leaves");
    let reduce_sha256 = pipeline(
        kernel_source(TreeHash::Sha256, REDUCE_WGSL),
        "reduce_levels",
    );
    let reduce_sm3 = pipeline(kernel_source(TreeHash::Sm3, REDUCE_WGSL), "reduce_levels");
    if let Some(error) = pollster::block_on(scope.pop()) {
        return Err(failed(format!(
            "the Merkle shaders failed to compile: {error}"
        )));
    }
    let mut merkle = MerkleKernels {
        leaf,
        reduce_sha256,
        reduce_sm3,
        pool: BufferPool::new(),
        compile_time: Duration::ZERO,
    };
    let scope = state.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let warmed = warm_up(state, &mut merkle);
    if let Some(error) = pollster::block_on(scope.pop()) {
        return Err(failed(format!("the Merkle warm-up failed: {error}")));
    }
    warmed.map_err(failed)?;
    merkle.compile_time = started.elapsed();
    kernels.insert(merkle);
    Ok(())
}

/// How long the device's Merkle kernels took to compile and warm up (zero if it has none).
pub(crate) fn compile_time(kernels: &Kernels) -> Duration {
    kernels
        .get::<MerkleKernels>()
        .map_or(Duration::ZERO, |merkle| merkle.compile_time)
}

/// Builds two small trees on a freshly opened device, one per reduction pipeline, and checks
/// their roots against the reference build: five records under RFC 9162 (both SHA-256
/// kernels run, an odd node is promoted) and five hashes under FISCO BCOS (the SM3 kernel
/// from raw input, an odd node hashed alone). Drivers that compile at the first dispatch
/// (lavapipe) finish compiling here, so the compile time reported covers it; and a driver
/// that miscompiles the kernels is refused at open instead of answering wrong roots later.
fn warm_up(state: &mut DeviceState, merkle: &mut MerkleKernels) -> Result<(), String> {
    let leaves: Vec<[u8; 32]> = (0..5u8).map(|i| [i; 32]).collect();
    for scheme in [Scheme::Rfc9162, Scheme::FiscoBcos] {
        let geometry = Geometry::new(leaves.len(), state.binding_limit);
        let mut profiler = Profiler::new(state, false);
        let (root, _) = root_job(state, merkle, scheme, &leaves, geometry, &mut profiler)
            .map_err(|fault| format!("the Merkle warm-up failed: {fault}"))?;
        let expected = crate::merkle::merkle_root_reference(scheme, &leaves)
            .map_err(|e| format!("the Merkle warm-up's reference failed: {e}"))?;
        if root != expected {
            return Err(format!(
                "the Merkle kernels computed a wrong {scheme} root on the warm-up tree"
            ));
        }
    }
    Ok(())
}

/// Starts a piece: clears its duplicate minima and puts its level 0 in `level_a`.
fn start_piece<L: AsRef<[u8]> + Sync>(
    state: &mut DeviceState,
    merkle: &mut MerkleKernels,
    scheme: Scheme,
    chunk: &[L],
    buffers: &JobBuffers,
    params: &mut ParamSlots,
    profiler: &mut Profiler,
) -> Result<(), GpuFault> {
    state
        .queue
        .write_buffer(&buffers.duplicates, 0, &NO_DUPLICATES);
    upload_level0(
        state,
        merkle,
        scheme,
        chunk,
        &buffers.level_a,
        params,
        profiler,
    )
}

/// Hashes level 0 of one piece into `level_a`: RFC 9162 leaf hashes, or the leaves of every
/// other scheme (32-byte hashes) copied as they are (the first reduction reads them with
/// `FLAG_RAW_INPUT`).
#[allow(clippy::too_many_arguments)]
fn upload_level0<L: AsRef<[u8]> + Sync>(
    state: &mut DeviceState,
    merkle: &mut MerkleKernels,
    scheme: Scheme,
    chunk: &[L],
    level_a: &wgpu::Buffer,
    params: &mut ParamSlots,
    profiler: &mut Profiler,
) -> Result<(), GpuFault> {
    if !scheme.hashes_leaves() {
        let size = NonZeroU64::new(chunk.len() as u64 * 32).expect("pieces are not empty");
        let mut view = state
            .queue
            .write_buffer_with(level_a, 0, size)
            .ok_or(GpuFault::DispatchFailed)?;
        copy_records(view.slice(..), chunk);
        return Ok(());
    }
    let batches = record_batches(chunk, state.binding_limit);
    let mut largest = (0u64, 0u64);
    for &(first, end, on_cpu) in &batches {
        if !on_cpu {
            let bytes: u64 = chunk[first..end]
                .iter()
                .map(|l| l.as_ref().len() as u64)
                .sum();
            largest = (
                largest.0.max(bytes + 4),
                largest.1.max(4 * (end - first) as u64 + 4),
            );
        }
    }
    let records = merkle.pool.get(&state.device, Pool::Records, largest.0);
    let offsets = merkle.pool.get(&state.device, Pool::Offsets, largest.1);
    for (first, end, on_cpu) in batches {
        if on_cpu {
            let hash = Scheme::Rfc9162
                .leaf_hash(chunk[first].as_ref())
                .expect("RFC 9162 accepts any record");
            state
                .queue
                .write_buffer(level_a, first as u64 * 32, &hash_to_words(&hash));
            continue;
        }
        let batch = &chunk[first..end];
        let mut table = Vec::with_capacity(batch.len() + 1);
        let mut total = 0u32;
        table.push(0);
        for leaf in batch {
            total += leaf.as_ref().len() as u32;
            table.push(total);
        }
        let size = (u64::from(total) + 4).next_multiple_of(4);
        {
            let mut view = state
                .queue
                .write_buffer_with(&records, 0, NonZeroU64::new(size).expect("at least 4"))
                .ok_or(GpuFault::DispatchFailed)?;
            let (body, mut pad) = view.slice(..).split_at(total as usize);
            pad.fill(0);
            copy_records(body, batch);
        }
        state
            .queue
            .write_buffer(&offsets, 0, bytemuck::cast_slice(&table));
        let groups = (batch.len() as u64).div_ceil(u64::from(LEAF_GROUP));
        let (width, height) = grid(groups, state.max_groups_per_dim);
        let bind = {
            let uniform = params.push(
                &state.queue,
                bytemuck::bytes_of(&LeafParams {
                    count: batch.len() as u32,
                    out_first: first as u32,
                    grid_width: width,
                    _pad: 0,
                }),
            );
            state.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("leaf batch"),
                layout: &merkle.leaf.get_bind_group_layout(0),
                entries: &[
                    entry(0, &records, size),
                    entry(1, &offsets, 4 * table.len() as u64),
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: level_a.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::Buffer(uniform),
                    },
                ],
            })
        };
        let mut encoder = state
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("hash leaves"),
                timestamp_writes: profiler.timestamp_writes(),
            });
            pass.set_pipeline(&merkle.leaf);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(width, height, 1);
        }
        // The records buffer is rewritten by the next batch: its write is queued behind
        // this submission, which the queue finishes first.
        profiler.submit(state, encoder, PassKind::Leaves)?;
        params.reset();
    }
    Ok(())
}

/// Copies a batch of records, back to back, into the (write-only, mapped) upload image
/// `body`. Serial: wgpu's write-only view of a byte slice cannot be sent to other threads, and
/// one pass straight into the staging memory beats packing in parallel and copying again.
fn copy_records<L: AsRef<[u8]>>(mut body: wgpu::WriteOnly<'_, [u8]>, batch: &[L]) {
    for leaf in batch {
        let leaf = leaf.as_ref();
        let (mut head, tail) = body.split_at(leaf.len());
        head.copy_from_slice(leaf);
        body = tail;
    }
}

fn entry(binding: u32, buffer: &wgpu::Buffer, size: u64) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: 0,
            size: NonZeroU64::new(size),
        }),
    }
}

/// One reduction dispatch: `count` nodes of the level in `level_a` (`top_in_a`) or `level_b`
/// up `levels` levels into the other buffer. The level at height 0 of a scheme whose leaves are
/// hashes is those hashes, raw.
#[allow(clippy::too_many_arguments)]
fn reduce_pass(
    (state, merkle): (&DeviceState, &MerkleKernels),
    pass: &mut wgpu::ComputePass<'_>,
    params: &mut ParamSlots,
    scheme: Scheme,
    (buffers, top_in_a): (&JobBuffers, bool),
    count: u64,
    levels: u32,
    base_level: u32,
) {
    let (input, output) = if top_in_a {
        (&buffers.level_a, &buffers.level_b)
    } else {
        (&buffers.level_b, &buffers.level_a)
    };
    let duplicates = &buffers.duplicates;
    let groups = count.div_ceil(REDUCE_TILE);
    let (width, height) = grid(groups, state.max_groups_per_dim);
    let flags = reduce_flags(scheme, base_level);
    let uniform = params.push(
        &state.queue,
        bytemuck::bytes_of(&ReduceParams {
            count: count as u32,
            levels,
            base_level,
            flags,
            grid_width: width,
            _pad: [0; 3],
        }),
    );
    let bind = state.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("reduce"),
        layout: &merkle.reduce(scheme).get_bind_group_layout(0),
        entries: &[
            entry(0, input, count * 32),
            entry(1, output, count.div_ceil(2) * 32),
            wgpu::BindGroupEntry {
                binding: 2,
                resource: duplicates.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: wgpu::BindingResource::Buffer(uniform),
            },
        ],
    });
    pass.set_pipeline(merkle.reduce(scheme));
    pass.set_bind_group(0, &bind, &[]);
    pass.dispatch_workgroups(width, height, 1);
}

/// `ReduceParams::flags` for a pass of `scheme` whose input level is at `base_level`.
fn reduce_flags(scheme: Scheme, base_level: u32) -> u32 {
    let odd = match scheme.odd_node() {
        OddNode::Promote => ODD_PROMOTE,
        OddNode::PairWithItself => ODD_PAIR_WITH_ITSELF,
        OddNode::HashAlone => ODD_HASH_ALONE,
    };
    let variant = match scheme {
        Scheme::Rfc9162 => NODE_RFC9162,
        Scheme::Bitcoin => NODE_DOUBLE,
        // The SM3 schemes' pipeline has one node hash; its variant is ignored.
        Scheme::ChainMakerSha256 | Scheme::FiscoBcos | Scheme::ChainMakerSm3 => NODE_CONCAT,
    };
    let raw_input = if !scheme.hashes_leaves() && base_level == 0 {
        FLAG_RAW_INPUT
    } else {
        0
    };
    odd | raw_input | (variant << VARIANT_SHIFT)
}

const NO_DUPLICATES: [u8; 4 * DUPLICATE_SLOTS as usize] = [0xff; 4 * DUPLICATE_SLOTS as usize];

fn root_job<L: AsRef<[u8]> + Sync>(
    state: &mut DeviceState,
    merkle: &mut MerkleKernels,
    scheme: Scheme,
    leaves: &[L],
    geometry: Geometry,
    profiler: &mut Profiler,
) -> Result<([u8; 32], Option<DuplicatePair>), GpuFault> {
    if leaves.is_empty() {
        // The engine refuses an empty ChainMaker tree before a job is made.
        return Ok((scheme.empty_root().unwrap_or_default(), None));
    }
    if leaves.len() == 1 && !scheme.hashes_leaves() {
        // A one-leaf tree's root is its leaf (a level of one node has no odd node to pair,
        // hash or move): nothing to hash.
        let mut root = [0u8; 32];
        root.copy_from_slice(leaves[0].as_ref());
        return Ok((root, None));
    }
    let buffers = JobBuffers::new(state, merkle, &geometry, leaves.len());
    let mut params = ParamSlots::new(state, merkle);
    let slots = geometry.pieces.min(RESULTS_PER_READBACK) as u64;
    let readback = merkle
        .pool
        .get(&state.device, Pool::Readback, slots * RESULT_BYTES);
    let mut piece_roots = Vec::with_capacity(geometry.pieces);
    let mut duplicate = None;
    let mut in_flight: Option<wgpu::SubmissionIndex> = None;

    for (c, chunk) in leaves.chunks(geometry.piece_leaves()).enumerate() {
        start_piece(
            state,
            merkle,
            scheme,
            chunk,
            &buffers,
            &mut params,
            profiler,
        )?;

        let mut encoder = state
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        let mut count = chunk.len() as u64;
        let mut height = 0;
        let mut top_in_a = true;
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("reduce piece"),
                timestamp_writes: profiler.timestamp_writes(),
            });
            while height < geometry.target {
                let levels = (geometry.target - height).min(MAX_FUSED_LEVELS);
                reduce_pass(
                    (state, merkle),
                    &mut pass,
                    &mut params,
                    scheme,
                    (&buffers, top_in_a),
                    count,
                    levels,
                    height,
                );
                count = count.div_ceil(1 << levels);
                height += levels;
                top_in_a = !top_in_a;
            }
        }
        let slot = (c % RESULTS_PER_READBACK) as u64 * RESULT_BYTES;
        let top = if top_in_a {
            &buffers.level_a
        } else {
            &buffers.level_b
        };
        encoder.copy_buffer_to_buffer(top, 0, &readback, slot, 32);
        encoder.copy_buffer_to_buffer(
            &buffers.duplicates,
            0,
            &readback,
            slot + 32,
            4 * DUPLICATE_SLOTS,
        );
        let submitted = profiler.submit(state, encoder, PassKind::Nodes)?;
        params.reset();
        // At most two pieces in flight: the CPU packs piece c + 1 while the device works on
        // piece c, and no more staging memory than that is held.
        if let Some(previous) = in_flight.replace(submitted) {
            state.wait(Some(previous))?;
        }

        let last = c + 1 == geometry.pieces;
        if (c + 1) % RESULTS_PER_READBACK == 0 || last {
            let filled = c % RESULTS_PER_READBACK + 1;
            let first_piece = c + 1 - filled;
            state.read_back(&readback, filled as u64 * RESULT_BYTES, |bytes| {
                for (i, result) in bytes.chunks_exact(RESULT_BYTES as usize).enumerate() {
                    piece_roots.push(words_to_hash(&result[..32]));
                    let found = first_duplicate_of_piece(
                        &result[32..],
                        first_piece + i,
                        geometry.piece_height,
                    );
                    duplicate = crate::merkle::first_duplicate(duplicate, found);
                }
            })?;
            in_flight = None;
        }
    }

    if geometry.pieces == 1 {
        return Ok((piece_roots[0], duplicate));
    }
    let combined =
        crate::merkle::combine_piece_roots(scheme, piece_roots, geometry.piece_height, duplicate);
    Ok(combined)
}

fn tree_job<L: AsRef<[u8]> + Sync>(
    state: &mut DeviceState,
    merkle: &mut MerkleKernels,
    scheme: Scheme,
    leaves: &[L],
    geometry: Geometry,
) -> Result<LowerLevels, GpuFault> {
    let mut levels: Vec<Vec<[u8; 32]>> = (0..=geometry.target).map(|_| Vec::new()).collect();
    if leaves.is_empty() {
        return Ok((Vec::new(), None));
    }
    let buffers = JobBuffers::new(state, merkle, &geometry, leaves.len());
    let mut params = ParamSlots::new(state, merkle);
    let mut profiler = Profiler::new(state, false);
    let piece = leaves.len().min(geometry.piece_leaves()) as u64;
    // Level 0 of a piece, or its higher levels (fewer hashes, plus at most one lone node per
    // level) and its duplicate table.
    let readback = merkle.pool.get(
        &state.device,
        Pool::Readback,
        (piece + 64) * 32 + 4 * DUPLICATE_SLOTS,
    );
    let mut duplicate = None;

    for (c, chunk) in leaves.chunks(geometry.piece_leaves()).enumerate() {
        start_piece(
            state,
            merkle,
            scheme,
            chunk,
            &buffers,
            &mut params,
            &mut profiler,
        )?;
        // Level 0: the leaf hashes (the leaves themselves where the scheme takes hashes).
        if !scheme.hashes_leaves() {
            levels[0].extend(chunk.iter().map(|l| {
                let mut h = [0u8; 32];
                h.copy_from_slice(l.as_ref());
                h
            }));
        } else {
            let mut encoder = state
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
            let size = chunk.len() as u64 * 32;
            encoder.copy_buffer_to_buffer(&buffers.level_a, 0, &readback, 0, size);
            state.queue.submit([encoder.finish()]);
            state.read_back(&readback, size, |bytes| {
                levels[0].extend(bytes.chunks_exact(32).map(words_to_hash));
            })?;
        }

        // Each level up is one dispatch (levels = 1), copied out behind the others.
        let mut encoder = state
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        let mut count = chunk.len() as u64;
        let mut sizes = Vec::new();
        let mut top_in_a = true;
        for height in 0..geometry.target {
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                reduce_pass(
                    (state, merkle),
                    &mut pass,
                    &mut params,
                    scheme,
                    (&buffers, top_in_a),
                    count,
                    1,
                    height,
                );
            }
            count = count.div_ceil(2);
            let out = if top_in_a {
                &buffers.level_b
            } else {
                &buffers.level_a
            };
            let at: u64 = sizes.iter().sum::<u64>() * 32;
            encoder.copy_buffer_to_buffer(out, 0, &readback, at, count * 32);
            sizes.push(count);
            top_in_a = !top_in_a;
            if params.used + 1 >= PARAM_SLOTS {
                // Parameter slots are reused per submission; submit before they wrap.
                state.queue.submit([encoder.finish()]);
                params.reset();
                encoder = state
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
            }
        }
        let at: u64 = sizes.iter().sum::<u64>() * 32;
        encoder.copy_buffer_to_buffer(&buffers.duplicates, 0, &readback, at, 4 * DUPLICATE_SLOTS);
        state.queue.submit([encoder.finish()]);
        params.reset();
        state.read_back(&readback, at + 4 * DUPLICATE_SLOTS, |bytes| {
            let mut start = 0usize;
            for (j, &size) in sizes.iter().enumerate() {
                let end = start + size as usize * 32;
                levels[j + 1].extend(bytes[start..end].chunks_exact(32).map(words_to_hash));
                start = end;
            }
            let found = first_duplicate_of_piece(&bytes[start..], c, geometry.piece_height);
            duplicate = crate::merkle::first_duplicate(duplicate, found);
        })?;
    }
    Ok((levels, duplicate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_cuts_aligned_pieces() {
        let g = Geometry::new(1000, 4096);
        assert_eq!((g.piece_height, g.pieces, g.target), (7, 8, 7));
        let g = Geometry::new(100, 4096);
        assert_eq!((g.piece_height, g.pieces, g.target), (7, 1, 7));
        let g = Geometry::new(1, 128 << 20);
        assert_eq!((g.piece_height, g.pieces, g.target), (22, 1, 0));
        let g = Geometry::new(1 << 24, 128 << 20);
        assert_eq!((g.piece_height, g.pieces, g.target), (22, 4, 22));
    }

    #[test]
    fn record_batches_respect_the_binding() {
        let leaves: Vec<Vec<u8>> = [10, 3000, 2000, 5000, 0, 7]
            .iter()
            .map(|&n| vec![0; n])
            .collect();
        let batches = record_batches(&leaves, 4096);
        assert_eq!(
            batches,
            vec![(0, 2, false), (2, 3, false), (3, 4, true), (4, 6, false)]
        );
    }

    /// The host's flag and variant values are the shaders' constants of the same names.
    #[test]
    fn reduce_flags_match_the_shaders() {
        let constant = |source: &str, name: &str| -> u32 {
            let line = source
                .lines()
                .find(|l| l.starts_with(&format!("const {name}: u32 = ")))
                .unwrap_or_else(|| panic!("{name} is not in the shader"));
            let value = line.split(" = ").nth(1).unwrap();
            let value = value.split('u').next().unwrap();
            match value.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
                None => value.parse().unwrap(),
            }
        };
        for (name, value) in [
            ("ODD_PROMOTE", ODD_PROMOTE),
            ("ODD_PAIR_WITH_ITSELF", ODD_PAIR_WITH_ITSELF),
            ("ODD_HASH_ALONE", ODD_HASH_ALONE),
            ("FLAG_RAW_INPUT", FLAG_RAW_INPUT),
            ("VARIANT_SHIFT", VARIANT_SHIFT),
        ] {
            assert_eq!(constant(REDUCE_WGSL, name), value, "{name}");
        }
        for (name, value) in [
            ("NODE_RFC9162", NODE_RFC9162),
            ("NODE_CONCAT", NODE_CONCAT),
            ("NODE_DOUBLE", NODE_DOUBLE),
        ] {
            assert_eq!(constant(SHA256_WGSL, name), value, "{name}");
        }
        let odd_mask = constant(REDUCE_WGSL, "ODD_MASK");
        let variant_mask = constant(REDUCE_WGSL, "VARIANT_MASK");
        for scheme in Scheme::ALL {
            for base_level in [0, 1, 9] {
                let flags = reduce_flags(scheme, base_level);
                let raw = flags & FLAG_RAW_INPUT != 0;
                assert_eq!(raw, base_level == 0 && !scheme.hashes_leaves(), "{scheme}");
                let odd = flags & odd_mask;
                assert_eq!(
                    odd == ODD_PAIR_WITH_ITSELF,
                    scheme.pairs_odd_node_with_itself()
                );
                assert_eq!(odd == ODD_HASH_ALONE, scheme == Scheme::FiscoBcos);
                assert!((flags >> VARIANT_SHIFT) <= variant_mask);
            }
        }
    }

    #[test]
    fn hash_words_round_trip() {
        let h: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(words_to_hash(&hash_to_words(&h)), h);
        assert_eq!(&hash_to_words(&h)[..4], &[3, 2, 1, 0]);
    }
}
