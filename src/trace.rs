//! What the library tells a node's logs, with the optional `tracing` feature: a span per
//! block and per block stage, and events for the decisions a node operator wants to see (a
//! GPU fault and its CPU redo, a device reopened, the `Auto` split, the switch to single
//! checks under dense failures). Without the feature every function here compiles to nothing.
//!
//! Target `blockverify`; spans at `DEBUG` (per block, so a node logging at `INFO` pays
//! nothing for them), events at `DEBUG`, faults at `WARN`.
#![forbid(unsafe_code)]

use std::time::Duration;

use crate::GpuFault;

/// An entered span (nothing without the `tracing` feature); the span ends when it drops.
#[cfg(feature = "tracing")]
pub(crate) struct Entered(#[allow(dead_code)] tracing::span::EnteredSpan);
/// An entered span (nothing without the `tracing` feature); the span ends when it drops.
#[cfg(not(feature = "tracing"))]
pub(crate) struct Entered;

/// A span that another thread can enter as its parent, with the subscriber it belongs to (a
/// pool thread has no default subscriber of its own when the node scoped one to its thread);
/// nothing without `tracing`.
#[derive(Clone)]
#[cfg(feature = "tracing")]
pub(crate) struct Parent {
    span: tracing::Span,
    dispatch: tracing::Dispatch,
}
/// A span that another thread can enter as its parent (nothing without `tracing`).
#[derive(Clone)]
#[cfg(not(feature = "tracing"))]
pub(crate) struct Parent;

/// Enters the span of one block: its height and record count.
pub(crate) fn block(height: u64, records: usize) -> Entered {
    #[cfg(feature = "tracing")]
    return Entered(
        tracing::debug_span!(target: "blockverify", "block", height, records).entered(),
    );
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (height, records);
        Entered
    }
}

/// The current span, for a stage that runs on another thread.
pub(crate) fn current() -> Parent {
    #[cfg(feature = "tracing")]
    return Parent {
        span: tracing::Span::current(),
        dispatch: tracing::dispatcher::get_default(|d| d.clone()),
    };
    #[cfg(not(feature = "tracing"))]
    Parent
}

/// Enters the span of one stage of a block (`parse`, `signatures`, `merkle`, `duplicates`)
/// under `parent`.
pub(crate) fn stage(parent: &Parent, stage: &'static str) -> Entered {
    #[cfg(feature = "tracing")]
    return Entered(
        tracing::dispatcher::with_default(
            &parent.dispatch,
            || tracing::debug_span!(target: "blockverify", parent: &parent.span, "stage", stage),
        )
        .entered(),
    );
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (parent, stage);
        Entered
    }
}

/// A GPU job failed and its `items` (or its tree) are being redone on the CPU engine.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn gpu_fault(job: &'static str, fault: GpuFault, items: usize) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "blockverify", job, %fault, items, "GPU fault; redoing the job on the CPU engine");
    #[cfg(not(feature = "tracing"))]
    let _ = (job, fault, items);
}

/// `Auto` split a batch: how many items went where and how long each side took.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn auto_split(gpu_items: usize, cpu_items: usize, gpu: Duration, cpu: Duration) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "blockverify",
        gpu_items,
        cpu_items,
        gpu_ms = gpu.as_secs_f64() * 1e3,
        cpu_ms = cpu.as_secs_f64() * 1e3,
        "Auto split a signature batch"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (gpu_items, cpu_items, gpu, cpu);
}

/// A lost GPU device was opened again.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn device_reopened(adapter: &str) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "blockverify", adapter, "GPU device reopened after a loss");
    #[cfg(not(feature = "tracing"))]
    let _ = adapter;
}

/// The `Zip215` engine's failure estimate moved it between batch equations and single
/// checks (`single` true: failures are dense enough that items are checked one by one).
pub(crate) fn single_checks(single: bool, failure_per_mille: u64) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "blockverify",
        single,
        failure_per_mille,
        "Zip215 engine switched between batch equations and single checks"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (single, failure_per_mille);
}
