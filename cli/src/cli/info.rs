//! `blockverify info`: what this build and this machine offer.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use super::CliError;

/// The curve25519-dalek backend this binary was compiled with.
pub fn curve_backend() -> &'static str {
    if cfg!(curve25519_dalek_backend = "avx512") {
        "avx512 (AVX-512 IFMA, with AVX2 and serial fallbacks chosen at run time)"
    } else if cfg!(curve25519_dalek_backend = "serial") {
        "serial"
    } else if cfg!(curve25519_dalek_backend = "fiat") {
        "fiat (formally verified serial)"
    } else {
        "default (AVX2 where available at run time, else serial)"
    }
}

/// CPU features relevant to this crate, as detected at run time.
pub fn cpu_features() -> Vec<(&'static str, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        vec![
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            (
                "avx512ifma",
                std::arch::is_x86_feature_detected!("avx512ifma"),
            ),
            ("sha (SHA-NI)", std::arch::is_x86_feature_detected!("sha")),
        ]
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec::new()
    }
}

/// A one-line description of the CPU, from /proc/cpuinfo where there is one.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

pub fn run() -> Result<ExitCode, CliError> {
    println!("blockverify {}", env!("CARGO_PKG_VERSION"));
    println!(
        "cpu: {} ({} threads available)",
        cpu_model(),
        rayon::current_num_threads()
    );
    for (name, present) in cpu_features() {
        println!("  {name:<14} {}", if present { "yes" } else { "no" });
    }
    println!("curve25519 backend: {}", curve_backend());
    {
        use blockverify::merkle::sha256::Platform;
        println!(
            "sha256 paths: {} (chosen: {})",
            Platform::available()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", "),
            Platform::detect().name()
        );
        use blockverify::merkle::sm3::Platform as Sm3Platform;
        println!(
            "sm3 paths: {} (chosen: {})",
            Sm3Platform::available()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", "),
            Sm3Platform::detect().name()
        );
    }
    if cfg!(curve25519_dalek_backend = "avx512")
        && !cpu_features().iter().any(|(n, p)| *n == "avx512ifma" && *p)
    {
        println!("  note: this CPU lacks IFMA, so the AVX2 path runs");
    }
    println!("backends: cpu (available), gpu (wgpu: Vulkan, Metal, DX12)");
    let adapters = blockverify::gpu::list_adapters();
    if adapters.is_empty() {
        println!(
            "gpu adapters: none found (on Linux, install a Vulkan driver: e.g. mesa-vulkan-drivers and libvulkan1)"
        );
    }
    for (i, a) in adapters.iter().enumerate() {
        println!(
            "gpu adapter {i}: {} ({}, {}{})",
            a.name,
            a.backend,
            a.device_type,
            if a.software {
                "; a CPU emulation: Backend::Gpu accepts it, Backend::Auto does not"
            } else {
                ""
            }
        );
        println!("  driver: {} {}", a.driver, a.driver_info);
        println!(
            "  max storage binding {} MiB, max buffer {} MiB, workgroup memory {} KiB, {} invocations/workgroup, {} workgroups/dimension, timestamp queries: {}, shader int64: {}",
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_compute_workgroup_storage_size >> 10,
            a.max_compute_invocations_per_workgroup,
            a.max_compute_workgroups_per_dimension,
            if a.timestamp_queries { "yes" } else { "no" },
            if a.shader_int64 { "yes" } else { "no" }
        );
    }
    if let Ok(name) = std::env::var(blockverify::gpu::ADAPTER_ENV) {
        println!("{} = {name:?}", blockverify::gpu::ADAPTER_ENV);
    }
    Ok(ExitCode::SUCCESS)
}
