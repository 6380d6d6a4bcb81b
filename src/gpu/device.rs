//! The device, knowing no kernel: adapter choice, opening (and reopening) the device, the
//! error handling that turns every wgpu failure into a [`GpuFault`] value, and what every
//! kernel family needs from it — pooled buffers, readback, pipeline creation, timestamp
//! queries, and a slot per family for its own per-device state ([`Kernels`]).
#![forbid(unsafe_code)]

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::{GpuFault, GpuUnavailable};

/// Environment variable naming the adapter to use (a case-insensitive substring of its name),
/// when the builder names none.
pub const ADAPTER_ENV: &str = "BLOCKVERIFY_GPU_ADAPTER";

/// Default limit on one storage binding: 128 MiB, WebGPU's default
/// `maxStorageBufferBindingSize`, which every adapter wgpu supports provides.
pub const DEFAULT_BINDING_LIMIT: u64 = 128 << 20;

/// How long one wait on the device may take before the job is declared failed. Generous:
/// a 2^24-leaf piece on a software rasteriser takes seconds, a hung driver forever.
pub(crate) const DEVICE_WAIT: Duration = Duration::from_secs(600);

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
    /// Record a dispatch that wgpu's validation must reject.
    InvalidDispatch,
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

/// The per-device state of each kernel family (its pipelines, bind-group layouts, tables and
/// pooled buffers), one slot per family, keyed by the family's own state type. It lives and
/// dies with one open device: a reopened device starts with no slot filled, so every family
/// rebuilds its state for the new device. The device module never names what is in a slot.
#[derive(Default)]
pub(crate) struct Kernels {
    slots: HashMap<TypeId, Box<dyn Any + Send>>,
}

impl Kernels {
    /// The state of family `K`, if this device has it.
    pub(crate) fn get<K: Any + Send>(&self) -> Option<&K> {
        self.slots.get(&TypeId::of::<K>())?.downcast_ref()
    }

    /// The state of family `K`, if this device has it.
    pub(crate) fn get_mut<K: Any + Send>(&mut self) -> Option<&mut K> {
        self.slots.get_mut(&TypeId::of::<K>())?.downcast_mut()
    }

    /// The state of family `K`, `create`d if this device has none yet.
    pub(crate) fn get_or_insert_with<K: Any + Send>(
        &mut self,
        create: impl FnOnce() -> K,
    ) -> &mut K {
        self.slots
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(create()))
            .downcast_mut()
            .expect("a slot holds the type it is keyed by")
    }

    /// Puts `kernel` in family `K`'s slot (replacing what was there).
    pub(crate) fn insert<K: Any + Send>(&mut self, kernel: K) {
        self.slots.insert(TypeId::of::<K>(), Box::new(kernel));
    }
}

/// Prepares the kernel families a context wants on every device it opens (e.g. compiles and
/// checks them), when the device is opened and whenever it is reopened after a loss. An error
/// is a sentence saying why the device cannot be used.
pub(crate) type OnOpen = fn(&mut DeviceState, &mut Kernels) -> Result<(), GpuUnavailable>;

/// An open device: what every kernel family may use, and nothing any one of them owns.
pub(crate) struct DeviceState {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The adapter's name, for error messages.
    pub adapter_name: String,
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
    /// Resolved timestamp queries, and a map-readable copy of them (apart from any kernel's
    /// results, which may be waiting in that kernel's readback buffer).
    timestamp_resolve: Pooled,
    timestamp_readback: Pooled,
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

    /// Maps `buffer[..size]` for reading, waits for everything submitted, and hands the bytes
    /// to `read`.
    pub(crate) fn read_back<R>(
        &self,
        buffer: &wgpu::Buffer,
        size: u64,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, GpuFault> {
        self.read_back_after(None, buffer, size, read)
    }

    /// Maps `buffer[..size]` for reading, waits for `submission` (everything submitted, for
    /// `None`; later submissions may go on running), and hands the bytes to `read`.
    pub(crate) fn read_back_after<R>(
        &self,
        submission: Option<wgpu::SubmissionIndex>,
        buffer: &wgpu::Buffer,
        size: u64,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, GpuFault> {
        let slice = buffer.slice(..size);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = tx.send(result);
        });
        self.wait(submission)?;
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

    /// Timestamp ticks as nanoseconds.
    pub(crate) fn ticks_to_ns(&self, ticks: u64) -> u64 {
        (ticks as f64 * self.timestamp_period) as u64
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

/// Times compute passes with timestamp queries (for benchmarks): each timed pass writes a
/// pair of timestamps, which [`PassTimer::submit`] resolves and reads back after the pass.
pub(crate) struct PassTimer {
    query_set: Option<wgpu::QuerySet>,
}

impl PassTimer {
    /// A timer that times passes when `enabled` and the device can; otherwise one that only
    /// submits.
    pub(crate) fn new(state: &DeviceState, enabled: bool) -> Self {
        let query_set = (enabled && state.timestamps).then(|| {
            state.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            })
        });
        PassTimer { query_set }
    }

    /// Whether passes are timed.
    pub(crate) fn is_timing(&self) -> bool {
        self.query_set.is_some()
    }

    /// What a timed pass's descriptor needs (`None` when not timing).
    pub(crate) fn timestamp_writes(&self) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        self.query_set
            .as_ref()
            .map(|set| wgpu::ComputePassTimestampWrites {
                query_set: set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            })
    }

    /// Submits `encoder`, whose last timed pass used [`PassTimer::timestamp_writes`]; when
    /// timing, also waits for it and returns the pass's ticks.
    pub(crate) fn submit(
        &self,
        state: &mut DeviceState,
        mut encoder: wgpu::CommandEncoder,
    ) -> Result<(wgpu::SubmissionIndex, Option<u64>), GpuFault> {
        let Some(set) = &self.query_set else {
            return Ok((state.queue.submit([encoder.finish()]), None));
        };
        let resolved = state.timestamp_resolve.get(&state.device, 16).clone();
        let readback = state.timestamp_readback.get(&state.device, 16).clone();
        encoder.resolve_query_set(set, 0..2, &resolved, 0);
        encoder.copy_buffer_to_buffer(&resolved, 0, &readback, 0, 16);
        let index = state.queue.submit([encoder.finish()]);
        let ticks = state.read_back(&readback, 16, |b| {
            let begin = u64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
            let end = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
            end.saturating_sub(begin)
        })?;
        Ok((index, Some(ticks)))
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

/// One open device and its kernel families' state.
struct Open {
    state: DeviceState,
    kernels: Kernels,
}

/// A verifier's GPU device: opened once, reopened after a loss, each time followed by the
/// context's [`OnOpen`] preparation.
pub(crate) struct GpuDevice {
    options: GpuOptions,
    summary: AdapterSummary,
    on_open: OnOpen,
    slot: Mutex<Option<Open>>,
    inject: Mutex<Option<InjectedFault>>,
}

impl GpuDevice {
    /// Opens the adapter `options` ask for and runs `on_open` on it.
    ///
    /// # Errors
    /// Why no device could be opened or prepared.
    pub(crate) fn open(options: GpuOptions, on_open: OnOpen) -> Result<Self, GpuUnavailable> {
        let (open, summary) = open_prepared(&options, on_open)?;
        Ok(GpuDevice {
            options,
            summary,
            on_open,
            slot: Mutex::new(Some(open)),
            inject: Mutex::new(None),
        })
    }

    /// The adapter in use.
    pub(crate) fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// `read` of the open device's kernel state; `None` while the device is lost (between a
    /// loss and the next job).
    pub(crate) fn with_kernels<R>(&self, read: impl FnOnce(&Kernels) -> R) -> Option<R> {
        lock(&self.slot).as_ref().map(|open| read(&open.kernels))
    }

    /// Makes the next job fail with `fault` (for tests of the fallback path).
    pub(crate) fn inject(&self, fault: InjectedFault) {
        *lock(&self.inject) = Some(fault);
    }

    /// Runs `job` on the device, inside error scopes; any wgpu error, a lost device or a
    /// failed readback becomes the job's [`GpuFault`]. A lost device is dropped and reopened
    /// (and prepared again) at the start of the next job.
    pub(crate) fn run<R>(
        &self,
        job: impl FnOnce(&mut DeviceState, &mut Kernels) -> Result<R, GpuFault>,
    ) -> Result<R, GpuFault> {
        let mut slot = lock(&self.slot);
        if slot
            .as_ref()
            .is_none_or(|open| open.state.lost.load(Ordering::SeqCst))
        {
            *slot = None;
            let (open, _) =
                open_prepared(&self.options, self.on_open).map_err(|_| GpuFault::Unavailable)?;
            crate::trace::device_reopened(&self.summary.name);
            *slot = Some(open);
        }
        let Open { state, kernels } = slot.as_mut().expect("opened above");
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
        let result = job(state, kernels);
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

/// Records a compute dispatch with no pipeline set and more workgroups than the device
/// allows: a real command, which wgpu's validation rejects, so the fault takes the path of
/// any rejected dispatch.
fn invalid_dispatch(state: &DeviceState) {
    let mut encoder = state
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("injected fault"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.dispatch_workgroups(state.max_groups_per_dim.saturating_add(1), 1, 1);
    }
    state.queue.submit([encoder.finish()]);
}

/// Opens a device and runs `on_open` on it.
fn open_prepared(
    options: &GpuOptions,
    on_open: OnOpen,
) -> Result<(Open, AdapterSummary), GpuUnavailable> {
    let (mut state, summary) = open_device(options)?;
    let mut kernels = Kernels::default();
    on_open(&mut state, &mut kernels)?;
    Ok((Open { state, kernels }, summary))
}

fn open_device(options: &GpuOptions) -> Result<(DeviceState, AdapterSummary), GpuUnavailable> {
    let instance = instance();
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    if adapters.is_empty() {
        return Err(GpuUnavailable::NoAdapter);
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
                .ok_or_else(|| GpuUnavailable::NoMatchingAdapter { name: name.clone() })?
        }
        None => {
            let best = adapters.into_iter().next().expect("not empty");
            if !options.allow_software && best.get_info().device_type == wgpu::DeviceType::Cpu {
                return Err(GpuUnavailable::OnlySoftware {
                    adapter: best.get_info().name,
                });
            }
            best
        }
    };
    let summary = AdapterSummary::of(&adapter);
    let adapter_limits = adapter.limits();
    // A multiple of 256 (pooled buffers are rounded up to 256 bytes and must still fit one
    // binding), at most 4 GiB (offsets into a binding are u32), and half the largest buffer
    // (a kernel's readback may hold a binding's worth of results and a little more: the
    // Merkle tree's holds a piece's levels above the leaves plus its duplicate table).
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
    .map_err(|e| GpuUnavailable::DeviceFailed {
        adapter: summary.name.clone(),
        detail: e.to_string(),
    })?;

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

    use wgpu::BufferUsages as U;
    let state = DeviceState {
        timestamp_period: f64::from(queue.get_timestamp_period()),
        device,
        queue,
        adapter_name: summary.name.clone(),
        binding_limit,
        uniform_align: u64::from(adapter_limits.min_uniform_buffer_offset_alignment),
        max_groups_per_dim: adapter_limits.max_compute_workgroups_per_dimension,
        timestamps,
        int64,
        timestamp_resolve: Pooled::new("timestamps", U::QUERY_RESOLVE | U::COPY_SRC),
        timestamp_readback: Pooled::new("timestamp readback", U::MAP_READ | U::COPY_DST),
        lost,
        uncaptured,
    };
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
