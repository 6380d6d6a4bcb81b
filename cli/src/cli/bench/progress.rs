//! Progress bars on standard error for long benchmark runs, drawn by `indicatif`: redrawn in
//! place when stderr is a terminal, and not drawn at all otherwise (logs, CI, tests), so that
//! what a pipe or a file receives is the benchmark's own lines only.
//!
//! All bars of a run share one `MultiProgress`, so the run's bar and a sweep's bar stack instead
//! of overwriting each other; text written while bars are on screen goes through [`suspend`]
//! (or [`note!`]), which clears them first and redraws them after.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::sync::LazyLock;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Every bar of this process; its target is stderr, hidden when stderr is not a terminal.
static BARS: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

/// A bar of `total` steps, drawn as `[#####...............] 5/20 label (12s)`. It is redrawn
/// when a step starts and not in between: no ticker thread runs beside the timed code.
pub fn bar(total: usize) -> ProgressBar {
    let style = ProgressStyle::with_template("[{bar:20}] {pos}/{len} {msg} ({elapsed})")
        .expect("a valid template")
        .progress_chars("#.");
    BARS.add(ProgressBar::new(total.max(1) as u64).with_style(style))
}

/// Marks the start of `bar`'s next step, named `label`.
pub fn step(bar: &ProgressBar, label: impl Into<Cow<'static, str>>) {
    bar.set_message(label);
    bar.inc(1);
}

/// Runs `f`, which writes to the terminal, with the bars cleared; redraws them after. `f` must
/// not touch a bar (the bars are locked while it runs).
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    BARS.suspend(f)
}

/// `eprintln!` for code that runs while bars may be on screen (see [`suspend`]).
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::cli::bench::progress::suspend(|| eprintln!($($arg)*))
    };
}
pub(crate) use note;
