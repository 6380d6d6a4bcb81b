//! The process environment a GPU probe needs to stay quiet.
//!
//! Opening a GPU creates a Vulkan instance and enumerates its adapters. On Linux, Mesa's
//! device-select layer (an implicit layer installed with Mesa's Vulkan drivers, lavapipe
//! included) then asks the Wayland compositor which GPU drives the display, and libwayland,
//! finding no `XDG_RUNTIME_DIR` (the case under cron, systemd services, containers, `sudo`,
//! `env -i`), writes `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` to
//! the process's stderr, once per probe. Nothing is wrong: there is no display to ask about.
//!
//! The line cannot be filtered from inside the process without taking over file descriptor 2,
//! and turning the layer off (`NODEVICE_SELECT=1`) would also turn off the device choice an
//! operator makes through it (`MESA_VK_DEVICE_SELECT`). What the library asks for is a
//! runtime directory, so when there is none the CLI gives the process a private, empty one
//! (mode 0700, removed at exit): the layer finds no compositor socket in it and carries on
//! in silence, choosing as it does without a display. An `XDG_RUNTIME_DIR` that is set (to
//! an absolute path, as libwayland requires) is left alone.
//!
//! Commands that will not open a GPU (`--backend cpu`, `gen`, ...) do not call this.
#![deny(unsafe_code)]

use std::path::PathBuf;

/// The private runtime directory, removed when dropped.
#[cfg_attr(not(all(unix, not(target_vendor = "apple"))), allow(dead_code))]
pub struct RuntimeDir(PathBuf);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where `XDG_RUNTIME_DIR` is missing or not an absolute path, points it at a new private
/// directory for the rest of the process and returns it (keep it until the process ends).
///
/// Call it before the process starts any thread: it changes the environment.
#[cfg(all(unix, not(target_vendor = "apple")))]
pub fn ensure_runtime_dir() -> Option<RuntimeDir> {
    use std::os::unix::fs::DirBuilderExt;

    const VAR: &str = "XDG_RUNTIME_DIR";
    if std::env::var_os(VAR).is_some_and(|dir| PathBuf::from(dir).is_absolute()) {
        return None;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // A fresh name; `create` (not `create_all`) refuses one that exists, so the directory is
    // always this process's own.
    let dir = (0..8u32).find_map(|attempt| {
        let path = std::env::temp_dir().join(format!(
            "blockverify-runtime-{}-{stamp:08x}{attempt}",
            std::process::id()
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .ok()
            .map(|()| path)
    })?;
    // SAFETY: `set_var` is unsound only while another thread reads or writes the
    // environment. This runs at the start of `main`, after argument parsing and before any
    // command has started a thread (thread pools, GPU instances), so the process has one
    // thread.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(VAR, &dir);
    }
    Some(RuntimeDir(dir))
}

/// Elsewhere there is no Wayland, and nothing to do.
#[cfg(not(all(unix, not(target_vendor = "apple"))))]
pub fn ensure_runtime_dir() -> Option<RuntimeDir> {
    None
}
