//! A progress bar on standard error for long benchmark runs: redrawn in place on a terminal,
//! one line per step otherwise (logs, CI).
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Steps of a run, drawn as `[#####.....] 5/10 label (12 s)`.
pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    terminal: bool,
}

impl Progress {
    /// A bar for `total` steps.
    pub fn new(total: usize) -> Self {
        Progress {
            total: total.max(1),
            done: 0,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Marks the start of the next step, named `label`.
    pub fn step(&mut self, label: &str) {
        self.done = (self.done + 1).min(self.total);
        let filled = 20 * self.done / self.total;
        let bar = format!(
            "[{}{}] {}/{} {label} ({:.0} s)",
            "#".repeat(filled),
            ".".repeat(20 - filled),
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{bar}");
        } else {
            let _ = writeln!(err, "{bar}");
        }
        let _ = err.flush();
    }

    /// Ends the bar (a newline on a terminal).
    pub fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
