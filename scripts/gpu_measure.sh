#!/usr/bin/env bash
# The whole GPU measurement as one accelerator-machine call (../shared/GPU.md): that machine
# has the NVIDIA driver but no Rust toolchain, so the binary and the Vulkan loader travel in
# .gpu/ (git-ignored). Not yet run on a real GPU: if it outgrows the device tool's 10 minutes
# per call, split it at the bench commands.
#
# Here, once per session:   scripts/gpu_measure.sh prepare
# Then the device tool's run, with carry [".gpu"] and the command:
#   bash .gpu/measure.sh            (everything, in order of importance)
# or, if one call's 10 minutes do not hold it all, one part per call (the machine stays warm
# between calls a short while):
#   bash .gpu/measure.sh sigs       (then: merkle, then: blocks)
# Results (bench JSON, SVG plot, logs) come back under $OUT; record them in BENCHMARKS.md with
# the GPU, driver, command and date, beside the CPU rows of the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    exclude="$(git rev-parse --git-dir)/info/exclude"
    mkdir -p "$(dirname "$exclude")"
    grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo /.gpu/ >> "$exclude"
    mkdir -p .gpu /tmp/amd64/partial
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    # shellcheck disable=SC2086
    apt-get $o update -qq && (cd .gpu && apt-get $o download libvulkan1)
    cargo build --release
    # Without debug info: the carried files may total 64 MiB.
    strip -o .gpu/blockverify target/release/blockverify 2>/dev/null \
      || cp target/release/blockverify .gpu/
    cp scripts/gpu_measure.sh .gpu/measure.sh
    ls -la .gpu
    ;;
  all|sigs|merkle|blocks|"")
    # On the accelerator machine. Every part tees its output into $OUT as it goes, so a call
    # cut off by the time limit still returns what finished.
    part="${1:-all}"
    for f in .gpu/*.deb; do dpkg -x "$f" /; done
    ldconfig
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    out="${OUT:-/tmp/out}"
    mkdir -p "$out"
    nvidia-smi -L | tee "$out/nvidia-smi.txt"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee -a "$out/nvidia-smi.txt"
    .gpu/blockverify info | tee "$out/info.txt"
    if [ "$part" = all ] || [ "$part" = sigs ]; then
      # Signatures: CPU engine and peers, GPU rows (the default field build: int64 where the
      # adapter offers SHADER_INT64), Auto, the pack/device split and a 2^18-item GPU-sized
      # batch; then the 13-bit unrolled build's GPU rows (--quick) to compare the two builds.
      .gpu/blockverify bench sigs --json "$out/sigs.json" 2>"$out/sigs.err" | tee "$out/sigs.txt"
      BLOCKVERIFY_GPU_FIELD=unrolled .gpu/blockverify bench sigs --quick \
        --json "$out/sigs-unrolled.json" 2>"$out/sigs-unrolled.err" | tee "$out/sigs-unrolled.txt"
    fi
    if [ "$part" = all ] || [ "$part" = merkle ]; then
      # Merkle: CPU rows (16 cores) and GPU rows (2^24 leaves, kernel timestamps, crossover).
      .gpu/blockverify bench merkle --json "$out/merkle.json" 2>"$out/merkle.err" \
        | tee "$out/merkle.txt"
    fi
    if [ "$part" = all ] || [ "$part" = blocks ]; then
      # Blocks with the root on the GPU, the throughput plot, and a block on every backend.
      .gpu/blockverify bench blocks --json "$out/blocks.json" --plot "$out/sweep.svg" \
        2>"$out/blocks.err" | tee "$out/blocks.txt"
      .gpu/blockverify demo | tee "$out/demo.txt"
    fi
    ;;
  *)
    echo "usage: $0 prepare | all | sigs | merkle | blocks" >&2
    exit 2
    ;;
esac
