#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation on the STABLE toolchain
# and runs each for a bounded time from its committed seed corpus. Any crash fails the run
# and leaves its input in fuzz/artifacts/<target>/ (turn it into a regression test).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# cargo-fuzz passes these same flags but also asks for a nightly-only sanitizer; the
# coverage instrumentation itself (LLVM's sancov pass, driven by -C passes / -C llvm-args)
# is stable, so libFuzzer's coverage-guided search runs here for real, without ASan (safe
# Rust needs it little; the crate's unsafe SIMD code is also checked by the sha256 target's
# comparisons against sha2).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(block_parser sig_verdicts merkle_proofs sha256_paths cli_jsonl sm3_paths fisco_proofs sm2_verdicts)
fi

export RUSTFLAGS="--cfg fuzzing -C passes=sancov-module \
  -C llvm-args=-sanitizer-coverage-level=4 \
  -C llvm-args=-sanitizer-coverage-inline-8bit-counters \
  -C llvm-args=-sanitizer-coverage-pc-table \
  -C llvm-args=-sanitizer-coverage-trace-compares \
  -C debug-assertions -C overflow-checks \
  --cfg curve25519_dalek_backend=\"avx512\""
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
# An explicit --target keeps RUSTFLAGS (the instrumentation) off build scripts and proc
# macros, which run on the host uninstrumented, as cargo-fuzz does.
triple="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --target "$triple" "${bins[@]}"
out="$CARGO_TARGET_DIR/$triple/release"

status=0
for t in "${targets[@]}"; do
  work="$(mktemp -d)"
  mkdir -p "artifacts/$t" "corpus/$t"
  echo "== fuzz $t for ${seconds}s"
  # New inputs go to a scratch corpus; the committed seeds are read, never rewritten.
  if ! "$out/$t" "$work" "corpus/$t" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>"$work.log"; then
    status=1
    echo "!! $t failed; its last output:" >&2
    tail -n 40 "$work.log" >&2
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added|cov:" "$work.log" | tail -n 3
  fi
  rm -rf "$work" "$work.log"
done
exit $status
