//! Subcommands of the `blockverify` binary, one module each.
#![forbid(unsafe_code)]

pub mod bench;
pub mod blocks;
pub mod demo;
pub mod info;
pub mod merkle;
pub mod sigs;

/// An error that ends a command with exit status 2 (usage or I/O), with its message.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;
