//! The C side: a C program written from `include/blockverify.h` alone (tests/c/abi_test.c),
//! compiled with the system's `cc` against the shared and the static library of this build,
//! gets the Rust API's results on Ed25519 (both policies), SM2 (raw, IDs, DER, every key
//! form), every Merkle scheme and whole blocks; misuse is an error with a message; errors are
//! per thread and one verifier serves several threads. The example (examples/c/verify.c)
//! builds and runs both ways too, and the header compiles as C and as C++.
//!
//! `cc` and `c++` are required (every machine this project builds on has gcc): a missing
//! compiler fails these tests rather than skipping them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{full_fixture, library_dir, repo_root, shared_library_name};

/// A fresh directory under the target dir for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = library_dir().join("ffi-c-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn run(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {shown}: {e} (is a C compiler installed?)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The library file to link: the one in deps/, which cargo wrote when it compiled the crate
/// these tests link (`cargo test` does not copy it up to the profile directory, where an
/// older `cargo build` may have left a stale one).
fn library(name: &str) -> PathBuf {
    let dir = library_dir();
    [dir.join("deps").join(name), dir.join(name)]
        .into_iter()
        .find(|p| p.exists())
        .expect("library_dir checked it exists")
}

/// Compiles `source` into `out` twice: against the shared library (with an rpath) and the
/// static one. Returns the two executables.
fn build_both(source: &Path, out: &Path, extra: &[&str]) -> [PathBuf; 2] {
    let include = repo_root().join("ffi/include");
    let shared = library(shared_library_name());
    let shared_dir = shared.parent().expect("a directory");
    let warnings = [
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-O1",
    ];
    let exe_shared = out.join("shared");
    run(Command::new("cc")
        .args(warnings)
        .arg("-I")
        .arg(&include)
        .arg(source)
        .arg("-o")
        .arg(&exe_shared)
        .arg(format!("-L{}", shared_dir.display()))
        .arg("-lblockverify_ffi")
        .arg(format!("-Wl,-rpath,{}", shared_dir.display()))
        .args(extra));
    let exe_static = out.join("static");
    run(Command::new("cc")
        .args(warnings)
        .arg("-I")
        .arg(&include)
        .arg(source)
        .arg("-o")
        .arg(&exe_static)
        .arg(library("libblockverify_ffi.a"))
        .args(extra)
        .args(["-lpthread", "-ldl", "-lm", "-Wl,-z,noexecstack"]));
    // The static executable really holds the library: it runs without the shared one.
    let ldd = Command::new("ldd").arg(&exe_static).output();
    if let Ok(ldd) = ldd {
        let text = String::from_utf8_lossy(&ldd.stdout);
        assert!(
            !text.contains("blockverify"),
            "the static build links the shared library:\n{text}"
        );
    }
    // Neither executable asks for an executable stack (the header's link line sees to it).
    for exe in [&exe_shared, &exe_static] {
        if let Ok(out) = Command::new("readelf").arg("-lW").arg(exe).output() {
            let text = String::from_utf8_lossy(&out.stdout);
            let stack = text.lines().find(|l| l.contains("GNU_STACK"));
            assert!(
                stack.is_some_and(|l| !l.contains("RWE")),
                "{}: {stack:?}",
                exe.display()
            );
        }
    }
    [exe_shared, exe_static]
}

#[test]
fn a_c_program_gets_the_rust_apis_results_through_the_shared_and_the_static_library() {
    let dir = scratch("abi_test");
    let fixture = full_fixture();
    let path = dir.join("fixture.txt");
    std::fs::write(&path, &fixture.text).expect("write the fixture");
    let source = repo_root().join("ffi/tests/c/abi_test.c");
    for exe in build_both(&source, &dir, &["-pthread"]) {
        let stdout = run(Command::new(&exe).arg(&path));
        let results: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("result "))
            .collect();
        assert_eq!(
            results.len(),
            fixture.results.len(),
            "{}: one result per section:\n{stdout}",
            exe.display()
        );
        for (got, want) in results.iter().zip(&fixture.results) {
            assert_eq!(
                *got,
                want,
                "{}: the C program's result differs",
                exe.display()
            );
        }
        assert!(stdout.contains("misuse ok"), "{stdout}");
        assert!(stdout.contains("threads ok"), "{stdout}");
        assert!(
            stdout.contains(&format!("{} sections, 0 failures", fixture.sections)),
            "{stdout}"
        );
    }
    // The fixture exercised what it should: both valid and invalid items, many reasons.
    let ed = &fixture.results[0];
    for code in [",0,", ",1,", ",2,", ",3,", ",7,"] {
        assert!(ed.contains(code), "Ed25519 verdicts lack {code}");
    }
    let strict = &fixture.results[1];
    for code in [",4,", ",5,", ",6,"] {
        assert!(strict.contains(code), "strict verdicts lack {code}");
    }
    let sm2: String = fixture.results[2..6].join(" ");
    for code in [",0,", ",2,", ",7,", ",8,", ",9,", ",10,", ",11,", ",12,"] {
        assert!(sm2.contains(code), "SM2 verdicts lack {code}: {sm2}");
    }
}

#[test]
fn the_c_example_builds_and_runs_both_ways() {
    let dir = scratch("example");
    let source = repo_root().join("ffi/examples/c/verify.c");
    for exe in build_both(&source, &dir, &[]) {
        let stdout = run(&mut Command::new(&exe));
        assert!(stdout.contains("ed25519: 1 of 3 invalid"), "{stdout}");
        assert!(stdout.contains("item 2: equation_failed"), "{stdout}");
        assert!(stdout.contains("scheme 42: unknown scheme 42"), "{stdout}");
        // The root the Rust API computes for the example's leaves.
        let leaves: [&[u8]; 3] = [b"title deed 1", b"title deed 2", b"title deed 10"];
        let root = blockverify::merkle::merkle_root(blockverify::merkle::Scheme::Rfc9162, &leaves)
            .expect("a root")
            .root();
        assert!(
            stdout.contains(&format!("rfc9162 root: {}", hex::encode(root))),
            "{stdout}"
        );
    }
}

#[test]
fn the_header_compiles_as_c99_c11_and_cpp() {
    let dir = scratch("header");
    let header = repo_root().join("ffi/include/blockverify.h");
    let c_file = dir.join("include.c");
    std::fs::write(
        &c_file,
        "#include \"blockverify.h\"\nint main(void) { return bv_reason_name(0) != 0; }\n",
    )
    .expect("write");
    for std in ["-std=c99", "-std=c11"] {
        run(Command::new("cc")
            .args([
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-fsyntax-only",
            ])
            .arg("-I")
            .arg(header.parent().expect("include/"))
            .arg(&c_file));
    }
    let cpp_file = dir.join("include.cpp");
    std::fs::write(
        &cpp_file,
        "#include \"blockverify.h\"\n\
         static_assert(sizeof(bv_duplicate_pair) == 16, \"layout\");\n\
         int main() { bv_verifier *v = bv_verifier_new(1, BV_BACKEND_CPU); \
         bv_verifier_free(v); return 0; }\n",
    )
    .expect("write");
    run(Command::new("c++")
        .args([
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
        ])
        .arg("-I")
        .arg(header.parent().expect("include/"))
        .arg(&cpp_file));
}
