//! Where `unsafe` may appear in the C ABI, and that each use argues its soundness: only the
//! entry points and handle casts (`src/lib.rs`) and the pointer checks (`src/raw.rs`); the
//! other modules forbid it; every unsafe block or impl has a `SAFETY:` comment just above.

use std::path::Path;

#[test]
fn unsafe_is_confined_to_the_boundary_and_argued() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .expect("ffi/src")
        .map(|e| e.expect("an entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 4, "found {files:?}");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    assert!(lib.contains("#![deny(unsafe_op_in_unsafe_fn)]"));
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).expect("read");
        if name != "lib.rs" && name != "raw.rs" {
            assert!(
                text.contains("forbid(unsafe_code)"),
                "{name} does not forbid unsafe code"
            );
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if code.contains("unsafe {") || code.starts_with("unsafe impl") {
                let before = lines[i.saturating_sub(6)..i].join("\n");
                assert!(
                    before.contains("SAFETY:"),
                    "{name}:{}: unsafe without a SAFETY argument",
                    i + 1
                );
            }
        }
    }
}
