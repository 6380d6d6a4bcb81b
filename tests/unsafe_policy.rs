//! Where `unsafe` may appear, and that each use argues its soundness.

use std::path::Path;

/// `unsafe` lives only in the SIMD hash kernels (and this test's allocator), every other
/// source file forbids it, and each unsafe block, impl or trait states why it is sound.
#[test]
fn unsafe_is_confined_to_the_simd_kernels_and_argued() {
    let simd = ["shani.rs", "avx2.rs", "avx512.rs", "lanes.rs"];
    // Ancestors of the SIMD modules cannot forbid what their children allow.
    let ancestors = [
        "src/lib.rs",
        "src/merkle/mod.rs",
        "src/merkle/sha256/mod.rs",
        "src/merkle/sm3/mod.rs",
        "src/sig/mod.rs",
        "src/sig/sm2/mod.rs",
    ];
    let mut files = Vec::new();
    collect(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &mut files,
    );
    assert!(files.len() > 20, "found only {} source files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let rel = rel.trim_start_matches('/');
        let is_simd = ((rel.starts_with("src/merkle/sha256/")
            || rel.starts_with("src/merkle/sm3/")
            || rel.starts_with("src/merkle/simd/"))
            && simd.iter().any(|s| rel.ends_with(s)))
            || rel == "src/merkle/simd/mod.rs"
            || rel == "src/sig/ifma.rs"
            || rel == "src/sig/sha512_lanes.rs"
            || rel == "src/sig/sm2/ifma.rs";
        if is_simd {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if code.contains("unsafe {") || code.starts_with("unsafe impl") {
                    let before = lines[i.saturating_sub(4)..i].join("\n");
                    assert!(
                        before.contains("SAFETY") || line.contains("SAFETY"),
                        "{rel}:{}: unsafe without a SAFETY argument",
                        i + 1
                    );
                }
            }
        } else if !ancestors.contains(&rel) {
            assert!(
                text.contains("#![forbid(unsafe_code)]"),
                "{rel} does not forbid unsafe code"
            );
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
