//! Where a job ran, reported apart from where it was asked to run.
#![forbid(unsafe_code)]

/// Where a job ran: what was done, as opposed to [`Backend`](crate::Backend), what was asked.
///
/// A verifier built with `Backend::Auto` may run one batch on the CPU engine alone, split the
/// next with the GPU, and redo a third on the CPU after a GPU fault; each report says which.
/// Results never depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Placement {
    /// On the CPU engine alone (also when a GPU share was redone there after a fault).
    #[default]
    Cpu,
    /// On the GPU alone.
    Gpu,
    /// Split between the two: a share on the GPU, the rest on the CPU engine at the same time
    /// (a signature report's `gpu_items` says how many went to the GPU).
    Split,
}

impl Placement {
    /// A short lowercase name: `cpu`, `gpu`, `split`.
    pub fn name(self) -> &'static str {
        match self {
            Placement::Cpu => "cpu",
            Placement::Gpu => "gpu",
            Placement::Split => "split",
        }
    }
}
