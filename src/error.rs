//! The one error type for misuse and unavailable resources.
//!
//! An invalid signature is *not* an error: it is a [`Verdict`](crate::Verdict) in a
//! [`SigReport`](crate::SigReport). `Error` is returned only where the caller asked for
//! something this build or this machine cannot give (a GPU that is not there, a thread pool
//! that cannot be created).
#![forbid(unsafe_code)]

use std::fmt;

/// Why a [`Verifier`](crate::Verifier) could not be built or a request could not be served.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The GPU backend was requested but cannot be used; the text says why.
    GpuUnavailable(String),
    /// The worker thread pool could not be created (for example, the OS refused a thread).
    ThreadPool(String),
    /// A builder option is out of its allowed range; the text names the option and the range.
    InvalidConfig(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::GpuUnavailable(why) => write!(f, "GPU backend unavailable: {why}"),
            Error::ThreadPool(why) => write!(f, "could not create the worker thread pool: {why}"),
            Error::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// What went wrong on the GPU when a job fell back to the CPU engine.
///
/// A GPU fault never changes a result: the job is redone on the CPU engine, and the result
/// (for example [`RootReport::gpu_fault`](crate::merkle::RootReport::gpu_fault)) carries the
/// fault so the caller can see that it happened and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GpuFault {
    /// The device was lost (driver reset, GPU removed, or destroyed); the verifier opens it
    /// afresh on its next GPU job.
    DeviceLost,
    /// The device could not allocate a buffer.
    OutOfMemory,
    /// The driver or wgpu rejected a command (a validation or internal error).
    DispatchFailed,
    /// Reading results back from the device failed or timed out.
    ReadbackFailed,
    /// The device could not be (re)opened.
    Unavailable,
}

impl fmt::Display for GpuFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GpuFault::DeviceLost => "GPU device lost",
            GpuFault::OutOfMemory => "GPU out of memory",
            GpuFault::DispatchFailed => "GPU dispatch failed",
            GpuFault::ReadbackFailed => "GPU readback failed",
            GpuFault::Unavailable => "GPU unavailable",
        })
    }
}
