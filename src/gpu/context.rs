//! The device context: adapter choice, device and pipelines created once, pooled buffers, and
//! the error handling that turns every wgpu failure into a [`GpuFault`] value.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::gpu::sig::{SigBuffers, SigPipeline};

use crate::GpuFault;

/// Environment variable naming the adapter to use (a case-insensitive substring of its name),
/// when the builder names none.
pub const ADAPTER_ENV: &str = "BLOCKVERIFY_GPU_ADAPTER";

/// Default limit on one storage binding: 128 MiB, WebGPU's default
/// `maxStorageBufferBindingSize`, which every adapter wgpu supports provides.
pub const DEFAULT_BINDING_LIMIT: u64 = 128 << 20;

/// How long one wait on the device may take before the job is declared failed. Generous:
/// a 2^24-leaf piece on a software rasteriser takes seconds, a hung driver forever.
const DEVICE_WAIT: Duration = Duration::from_secs(600);

/// What `blockverify info` shows about an adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdapterSummary {
    /// The adapter's name as the driver reports it.
    pub name: String,
    /// The graphics API wgpu reaches it through (Vulkan, Metal, Dx12).
    pub backend: String,
    /// Discrete, integrated, virtual, CPU (software emulation) or other.
    pub device_type: String,
    /// The driver's name.
    pub driver: String,
    /// The driver's version or other details.
    pub driver_info: String,
    /// Largest storage buffer one shader binding may see, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer the device can allocate, in bytes.
    pub max_buffer_size: u64,
    /// Workgroup memory per workgroup, in bytes (the fused reduction needs 8 KiB).
    pub max_compute_workgroup_storage_size: u32,
    /// Invocations per workgroup (the reduction uses 256).
    pub max_compute_invocations_per_workgroup: u32,
    /// Workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Whether the adapter can time kernels with timestamp queries.
    pub timestamp_queries: bool,
    /// Whether the adapter offers 64-bit integers in shaders (`SHADER_INT64`); the Ed25519
    /// kernel then uses its 26-bit-limb field arithmetic (see [`crate::gpu`]).
    pub shader_int64: bool,
    /// True for a CPU emulation (e.g. Mesa's lavapipe): correct, but no faster than the CPU.
    pub software: bool,
}

/// How long an adapter took to compile this crate's shaders (when its device was opened).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShaderCompileTime {
    /// The two Merkle kernels: pipeline creation and one warm-up tree, whose root is checked
    /// against the reference build before the device is used.
    pub merkle: Duration,
    /// The Ed25519 kernels (verification and the base-table builder), compiled on the first
    /// signature job; `None` before it.
    pub ed25519: Option<Duration>,
    /// Which build of the field arithmetic the Ed25519 kernels got (`int64` or `unrolled`,
    /// see `BLOCKVERIFY_GPU_FIELD` in the [`gpu`](crate::gpu) docs).
    pub ed25519_field: Option<&'static str>,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        AdapterSummary {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver,
            driver_info: info.driver_info,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            timestamp_queries: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_int64: adapter.features().contains(wgpu::Features::SHADER_INT64),
            software: info.device_type == wgpu::DeviceType::Cpu,
        }
    }
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    // No validation layers by default (they are slow and usually not installed); the standard
    // WGPU_* environment variables can still turn them on.
    desc.flags = wgpu::InstanceFlags::empty();
    wgpu::Instance::new(desc.with_env())
}

/// Every adapter wgpu finds on Vulkan, Metal and DX12, best first (the order
/// [`Backend::Gpu`](crate::Backend::Gpu) chooses in).
pub fn list_adapters() -> Vec<AdapterSummary> {
    let mut adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::PRIMARY));
    adapters.sort_by_key(rank);
    adapters.iter().map(AdapterSummary::of).collect()
}

/// Lower is better: real GPUs before virtual ones before CPU emulations.
fn rank(adapter: &wgpu::Adapter) -> u8 {
    match adapter.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// What a verifier asks of its GPU.
#[derive(Clone, Debug)]
pub(crate) struct GpuOptions {
    /// Substring of the adapter's name; `None`: the best adapter.
    pub adapter: Option<String>,
    /// Largest storage binding to use, in bytes (clamped to the adapter's limit).
    pub binding_limit: u64,
    /// Whether a CPU emulation may be chosen (yes for `Backend::Gpu`, no for `Auto`).
    pub allow_software: bool,
}

/// A fault to inject into the next GPU job (tests of the fallback path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InjectedFault {
    /// Destroy the device, as a driver reset would.
    DeviceLost,
    /// Record a dispatch the driver must reject.
    InvalidDispatch,
}

/// The compiled pipelines.
pub(crate) struct Pipelines {
    pub leaf: wgpu::ComputePipeline,
    pub reduce: wgpu::ComputePipeline,
}

/// A pooled buffer that grows to the largest size asked of it and is then reused.
pub(crate) struct Pooled {
    buffer: Option<wgpu::Buffer>,
    usage: wgpu::BufferUsages,
    label: &'static str,
}

impl Pooled {
    pub(crate) fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Pooled {
            buffer: None,
            usage,
            label,
        }
    }

    pub(crate) fn get(&mut self, device: &wgpu::Device, size: u64) -> &wgpu::Buffer {
        let size = size.max(256).next_multiple_of(256);
        if self.buffer.as_ref().is_none_or(|b| b.size() < size) {
            // The old buffer is dropped, not destroyed: work already submitted may still read
            // it, and wgpu frees it once that work is done.
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just created")
    }

    /// The buffer as last sized, if any.
    pub(crate) fn current(&self) -> Option<&wgpu::Buffer> {
        self.buffer.as_ref()
    }
}

/// The buffers every Merkle job uses, kept between jobs.
pub(crate) struct BufferPool {
    records: Pooled,
    offsets: Pooled,
    level_a: Pooled,
    level_b: Pooled,
    duplicates: Pooled,
    params: Pooled,
    readback: Pooled,
    timestamps: Pooled,
    timestamp_readback: Pooled,
}

/// Which pooled buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pool {
    /// Packed records (RFC 9162 leaves) or raw txids.
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
    /// Resolved timestamp queries.
    Timestamps,
    /// Map-readable timestamps (apart from results, which may be waiting in `Readback`).
    TimestampReadback,
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
            timestamps: Pooled::new("timestamps", U::QUERY_RESOLVE | U::COPY_SRC),
            timestamp_readback: Pooled::new("timestamp readback", U::MAP_READ | U::COPY_DST),
        }
    }

    /// The pooled buffer `which`, at least `size` bytes.
    pub(crate) fn get(&mut self, device: &wgpu::Device, which: Pool, size: u64) -> wgpu::Buffer {
        let pooled = match which {
            Pool::Records => &mut self.records,
            Pool::Offsets => &mut self.offsets,
            Pool::LevelA => &mut self.level_a,
            Pool::LevelB => &mut self.level_b,
            Pool::Duplicates => &mut self.duplicates,
            Pool::Params => &mut self.params,
            Pool::Readback => &mut self.readback,
            Pool::Timestamps => &mut self.timestamps,
            Pool::TimestampReadback => &mut self.timestamp_readback,
        };
        pooled.get(device, size).clone()
    }
}

/// An open device with its pipelines and buffers.
pub(crate) struct DeviceState {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub pipelines: Pipelines,
    pub pool: BufferPool,
    /// Buffers of the signature kernel, two sets so that one piece uploads while another runs.
    pub sig_pool: [SigBuffers; 2],
    /// The signature kernel, compiled on the first signature job (Merkle-only users never
    /// pay its compile time).
    pub sig: Option<SigPipeline>,
    /// How long compiling the shaders took.
    pub compile_time: ShaderCompileTime,
    /// The storage binding limit in force (bytes).
    pub binding_limit: u64,
    /// Alignment of uniform buffer binding offsets.
    pub uniform_align: u64,
    /// Workgroups per dispatch dimension.
    pub max_groups_per_dim: u32,
    /// Whether kernels can be timed.
    pub timestamps: bool,
    /// Whether the device was opened with `SHADER_INT64`.
    pub int64: bool,
    /// Nanoseconds per timestamp tick.
    pub timestamp_period: f64,
    lost: Arc<AtomicBool>,
    uncaptured: Arc<Mutex<Option<GpuFault>>>,
}

impl DeviceState {
    /// Blocks until `submission` is done (or everything submitted, for `None`).
    pub(crate) fn wait(&self, submission: Option<wgpu::SubmissionIndex>) -> Result<(), GpuFault> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: submission,
                timeout: Some(DEVICE_WAIT),
            })
            .map(|_| ())
            .map_err(|e| match e {
                wgpu::PollError::Timeout => GpuFault::ReadbackFailed,
                _ => GpuFault::DeviceLost,
            })
    }

    /// Maps `buffer[..size]` for reading, waits, and hands the bytes to `read`.
    pub(crate) fn read_back<R>(
        &self,
        buffer: &wgpu::Buffer,
        size: u64,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, GpuFault> {
        let slice = buffer.slice(..size);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = tx.send(result);
        });
        self.wait(None)?;
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err(self.fault_or(GpuFault::ReadbackFailed)),
        }
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|_| self.fault_or(GpuFault::ReadbackFailed))?;
            read(&view)
        };
        buffer.unmap();
        Ok(out)
    }

    /// The device-level fault if one happened (lost device, uncaptured error), else `fault`.
    fn fault_or(&self, fault: GpuFault) -> GpuFault {
        if self.lost.load(Ordering::SeqCst) {
            GpuFault::DeviceLost
        } else if let Some(f) = *lock(&self.uncaptured) {
            f
        } else {
            fault
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves nothing half-written that matters: the
    // device state is rebuilt on the next fault.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn classify(error: &wgpu::Error) -> GpuFault {
    match error {
        wgpu::Error::OutOfMemory { .. } => GpuFault::OutOfMemory,
        _ => GpuFault::DispatchFailed,
    }
}

/// The shared SHA-256 functions are prepended to each kernel file (WGSL has no includes).
const SHA256_WGSL: &str = include_str!("../../shaders/sha256.wgsl");
const LEAF_WGSL: &str = include_str!("../../shaders/merkle_leaf.wgsl");
const REDUCE_WGSL: &str = include_str!("../../shaders/merkle_reduce.wgsl");

/// A verifier's GPU: opened once, reopened after a loss.
pub(crate) struct GpuContext {
    options: GpuOptions,
    summary: AdapterSummary,
    state: Mutex<Option<DeviceState>>,
    inject: Mutex<Option<InjectedFault>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.summary.name)
            .field("backend", &self.summary.backend)
            .finish()
    }
}

impl GpuContext {
    /// Opens the adapter `options` ask for.
    ///
    /// # Errors
    /// A sentence saying why no device could be opened.
    pub(crate) fn open(options: GpuOptions) -> Result<Self, String> {
        let (state, summary) = open_device(&options)?;
        Ok(GpuContext {
            options,
            summary,
            state: Mutex::new(Some(state)),
            inject: Mutex::new(None),
        })
    }

    /// The adapter in use.
    pub(crate) fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// How long the open device took to compile the shaders (`None` while it is lost).
    pub(crate) fn compile_time(&self) -> Option<ShaderCompileTime> {
        lock(&self.state).as_ref().map(|s| s.compile_time)
    }

    /// Makes the next job fail with `fault` (for tests of the fallback path).
    pub(crate) fn inject(&self, fault: InjectedFault) {
        *lock(&self.inject) = Some(fault);
    }

    /// Runs `job` on the device, inside error scopes; any wgpu error, a lost device or a
    /// failed readback becomes the job's [`GpuFault`]. A lost device is dropped and reopened
    /// at the start of the next job.
    pub(crate) fn run<R>(
        &self,
        job: impl FnOnce(&mut DeviceState) -> Result<R, GpuFault>,
    ) -> Result<R, GpuFault> {
        let mut slot = lock(&self.state);
        if slot.as_ref().is_none_or(|s| s.lost.load(Ordering::SeqCst)) {
            *slot = None;
            let (state, _) = open_device(&self.options).map_err(|_| GpuFault::Unavailable)?;
            *slot = Some(state);
        }
        let state = slot.as_mut().expect("opened above");
        *lock(&state.uncaptured) = None;

        let oom = state
            .device
            .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = state.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let internal = state.device.push_error_scope(wgpu::ErrorFilter::Internal);
        match lock(&self.inject).take() {
            Some(InjectedFault::DeviceLost) => state.device.destroy(),
            Some(InjectedFault::InvalidDispatch) => invalid_dispatch(state),
            None => {}
        }
        let result = job(state);
        let scoped = [internal.pop(), validation.pop(), oom.pop()]
            .into_iter()
            .find_map(pollster::block_on);
        // Let wgpu deliver callbacks (the device-lost one among them) before judging the job.
        let _ = state.device.poll(wgpu::PollType::Poll);

        let fault = if state.lost.load(Ordering::SeqCst) {
            Some(GpuFault::DeviceLost)
        } else if let Some(error) = scoped {
            Some(classify(&error))
        } else {
            *lock(&state.uncaptured)
        };
        if fault == Some(GpuFault::DeviceLost) {
            *slot = None;
        }
        match (result, fault) {
            (Ok(r), None) => Ok(r),
            (_, Some(fault)) => Err(fault),
            (Err(fault), None) => Err(fault),
        }
    }
}

/// Records a dispatch wider than the device allows: a real command the driver layer rejects.
fn invalid_dispatch(state: &mut DeviceState) {
    let mut encoder = state
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("injected fault"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(&state.pipelines.reduce);
        pass.dispatch_workgroups(state.max_groups_per_dim.saturating_add(1), 1, 1);
    }
    state.queue.submit([encoder.finish()]);
}

fn open_device(options: &GpuOptions) -> Result<(DeviceState, AdapterSummary), String> {
    let instance = instance();
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    if adapters.is_empty() {
        return Err(
            "no GPU adapter found (wgpu saw none on Vulkan, Metal or DX12; on Linux \
             install a Vulkan driver, e.g. mesa-vulkan-drivers and libvulkan1)"
                .into(),
        );
    }
    adapters.sort_by_key(rank);
    let wanted = options
        .adapter
        .clone()
        .or_else(|| std::env::var(ADAPTER_ENV).ok().filter(|s| !s.is_empty()));
    let adapter = match &wanted {
        Some(name) => {
            let needle = name.to_lowercase();
            adapters
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&needle))
                .ok_or_else(|| format!("no GPU adapter's name contains {name:?}"))?
        }
        None => {
            let best = adapters.into_iter().next().expect("not empty");
            if !options.allow_software && best.get_info().device_type == wgpu::DeviceType::Cpu {
                return Err(format!(
                    "the only adapter is a CPU emulation ({}); Backend::Auto uses the CPU \
                     engine instead (Backend::Gpu accepts it)",
                    best.get_info().name
                ));
            }
            best
        }
    };
    let summary = AdapterSummary::of(&adapter);
    let adapter_limits = adapter.limits();
    if adapter_limits.max_compute_workgroup_storage_size < 8192
        || adapter_limits.max_compute_invocations_per_workgroup < 256
    {
        return Err(format!(
            "adapter {} is too small for the Merkle kernels (needs 8 KiB workgroup memory and \
             256 invocations per workgroup)",
            summary.name
        ));
    }
    // A multiple of 256 (pooled buffers are rounded up to 256 bytes and must still fit one
    // binding), at most 4 GiB (offsets are u32), and half the largest buffer (a tree's
    // readback holds a piece's levels above the leaves plus its duplicate table).
    let binding_limit = options
        .binding_limit
        .min(adapter_limits.max_storage_buffer_binding_size)
        .min(adapter_limits.max_buffer_size / 2)
        .min(u32::MAX as u64 + 1)
        / 256
        * 256;
    let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
    let int64 = summary.shader_int64;
    let mut required_features = wgpu::Features::empty();
    required_features.set(wgpu::Features::TIMESTAMP_QUERY, timestamps);
    required_features.set(wgpu::Features::SHADER_INT64, int64);
    let mut required_limits = adapter_limits.clone();
    required_limits.max_storage_buffer_binding_size = binding_limit;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("blockverify"),
        required_features,
        required_limits,
        ..Default::default()
    }))
    .map_err(|e| format!("could not open {}: {e}", summary.name))?;

    let lost = Arc::new(AtomicBool::new(false));
    let lost_flag = Arc::clone(&lost);
    device.set_device_lost_callback(move |_reason, _message| {
        lost_flag.store(true, Ordering::SeqCst);
    });
    // wgpu's default for an error outside any scope is to panic; a library must not.
    let uncaptured = Arc::new(Mutex::new(None));
    let uncaptured_slot = Arc::clone(&uncaptured);
    device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
        lock(&uncaptured_slot).get_or_insert(classify(&error));
    }));

    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let pipeline = |source: &str, entry: &str| {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(entry),
            source: wgpu::ShaderSource::Wgsl(Cow::Owned(format!("{SHA256_WGSL}\n{source}"))),
        });
        compute_pipeline(&device, &module, entry)
    };
    // Pipeline creation plus one warm-up tree (below): drivers that compile at the first
    // dispatch (lavapipe) do part of the work there. The signature kernel's figure includes a
    // warm-up dispatch for the same reason (src/gpu/sig.rs).
    let started = Instant::now();
    let leaf = pipeline(LEAF_WGSL, "hash_leaves");
    let reduce = pipeline(REDUCE_WGSL, "reduce_levels");
    let compile_time = ShaderCompileTime::default();
    let pipelines = Pipelines { leaf, reduce };
    if let Some(error) = pollster::block_on(scope.pop()) {
        return Err(format!(
            "the shaders failed to compile on {}: {error}",
            summary.name
        ));
    }

    let mut state = DeviceState {
        timestamp_period: f64::from(queue.get_timestamp_period()),
        device,
        queue,
        pipelines,
        pool: BufferPool::new(),
        sig_pool: [SigBuffers::new(), SigBuffers::new()],
        sig: None,
        compile_time,
        binding_limit,
        uniform_align: u64::from(adapter_limits.min_uniform_buffer_offset_alignment),
        max_groups_per_dim: adapter_limits.max_compute_workgroups_per_dimension,
        timestamps,
        int64,
        lost,
        uncaptured,
    };
    let scope = state.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let warmed = super::merkle::warm_up(&mut state);
    if let Some(error) = pollster::block_on(scope.pop()) {
        return Err(format!(
            "the Merkle warm-up failed on {}: {error}",
            summary.name
        ));
    }
    warmed.map_err(|e| format!("{e} ({})", summary.name))?;
    state.compile_time.merkle = started.elapsed();
    Ok((state, summary))
}

/// The compute pipeline of `entry` in `module`, its bind group layout derived from the shader.
pub(crate) fn compute_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: None,
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}
