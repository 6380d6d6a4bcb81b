//! The binary writes nothing to stderr that it did not mean to: `--backend cpu` never touches
//! a GPU, and the GPU probe of the other backends does not let a driver complain about a
//! missing `XDG_RUNTIME_DIR` (Mesa's device-select layer asks Wayland for the display's GPU).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use blockverify_testkit::mixed::make_item;

/// Runs the binary with `XDG_RUNTIME_DIR` removed from its environment (and `extra_env`
/// added). Returns its output, and checks that the private runtime directory the binary may
/// make for itself is gone once it has exited.
fn run_without_runtime_dir(args: &[&str], stdin: &[u8], extra_env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_blockverify"))
        .args(args)
        .env_remove("XDG_RUNTIME_DIR")
        .envs(extra_env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let prefix = format!("blockverify-runtime-{}-", child.id());
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("binary finishes");
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "{args:?} left {left:?} behind");
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("blockverify-quiet-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Valid signature lines for `sigs`, and a block file and a leaf file in `dir`.
fn inputs(dir: &Path) -> (String, PathBuf, PathBuf) {
    let sigs: String = (0..64u64)
        .map(|i| {
            let o = make_item((i % 2) as u8, 10 + i); // honest kinds: all valid
            format!(
                "{{\"pk\":\"{}\",\"sig\":\"{}\",\"msg\":\"{}\"}}\n",
                hex::encode(o.pk),
                hex::encode(o.sig),
                hex::encode(&o.msg)
            )
        })
        .collect();
    let block = dir.join("block.bin");
    let generated = Command::new(env!("CARGO_BIN_EXE_blockverify"))
        .args([
            "gen",
            "--records",
            "300",
            "--invalid-rate",
            "0",
            "-o",
            s(&block),
        ])
        .output()
        .expect("gen runs");
    assert_eq!(generated.status.code(), Some(0), "{}", stderr(&generated));
    let leaves = dir.join("leaves.txt");
    let text: String = (0..100u32).map(|i| format!("{:064x}\n", i)).collect();
    std::fs::write(&leaves, text).expect("leaf file");
    (sigs, block, leaves)
}

/// `--backend cpu` in every command that takes `--backend`: stderr stays empty without
/// `XDG_RUNTIME_DIR`. `VK_LOADER_DEBUG=all` makes the Vulkan loader (where one is installed)
/// report on stderr any instance created, so a GPU probe shows here even on a machine without
/// Mesa's device-select layer.
#[test]
fn cpu_backend_never_touches_a_gpu_and_writes_nothing_to_stderr() {
    let dir = temp_dir("cpu");
    let (sigs, block, leaves) = inputs(&dir);
    let loud = [("VK_LOADER_DEBUG", "all")];
    for (args, stdin) in [
        (vec!["sigs", "--backend", "cpu"], sigs.as_bytes()),
        (
            vec!["verify", "--backend", "cpu", s(&block)],
            b"".as_slice(),
        ),
        (
            vec!["verify", "--backend", "cpu", "--json", s(&block)],
            b"".as_slice(),
        ),
        (
            vec![
                "merkle",
                "root",
                "--scheme",
                "rfc9162",
                "--backend",
                "cpu",
                s(&leaves),
            ],
            b"".as_slice(),
        ),
        (
            vec![
                "merkle",
                "root",
                "--scheme",
                "bitcoin",
                "--backend",
                "cpu",
                s(&leaves),
            ],
            b"".as_slice(),
        ),
    ] {
        let out = run_without_runtime_dir(&args, stdin, &loud);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!out.stdout.is_empty(), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?} wrote to stderr:\n{}",
            stderr(&out)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The default backend (auto) and the commands that list or open GPUs: no line about
/// `XDG_RUNTIME_DIR` on stderr, and the same stdout as `--backend cpu`.
#[test]
fn default_backend_gpu_probe_does_not_complain_about_xdg_runtime_dir() {
    let dir = temp_dir("auto");
    let (sigs, block, leaves) = inputs(&dir);
    let merkle = ["merkle", "root", "--scheme", "rfc9162"];
    for (args, stdin, cpu_args) in [
        (
            vec!["sigs"],
            sigs.as_bytes(),
            Some(vec!["sigs", "--backend", "cpu"]),
        ),
        (
            vec!["verify", "--json", s(&block)],
            b"".as_slice(),
            None, // its JSON holds timings
        ),
        (
            [&merkle[..], &[s(&leaves)]].concat(),
            b"".as_slice(),
            Some([&merkle[..], &["--backend", "cpu", s(&leaves)]].concat()),
        ),
        (vec!["info"], b"".as_slice(), None),
        (
            vec!["demo", "--records", "200", "--guomi-records", "200"],
            b"".as_slice(),
            None,
        ),
    ] {
        let out = run_without_runtime_dir(&args, stdin, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).lines().any(|l| l.contains("XDG_RUNTIME_DIR")),
            "{args:?}:\n{}",
            stderr(&out)
        );
        if let Some(cpu_args) = cpu_args {
            let cpu = run_without_runtime_dir(&cpu_args, stdin, &[]);
            assert_eq!(cpu.stdout, out.stdout, "{args:?} against {cpu_args:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
