#!/usr/bin/env bash
# The whole GPU measurement as one accelerator-machine call (../shared/GPU.md): that machine
# has the NVIDIA driver but no Rust toolchain, so the binary and the Vulkan loader travel in
# .gpu/ (git-ignored). The parts' time limits add up to under 9 of the device tool's 10 minutes per
# call.
#
# Here, once per session:   scripts/gpu_measure.sh prepare
# Then the device tool's run, with carry [".gpu"] and the command:
#   bash .gpu/measure.sh            (everything, in order of importance)
# or some of the parts, in one call:
#   bash .gpu/measure.sh sigs blocks    (parts: sigs, merkle, blocks)
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
    apt-get $o update -qq && (cd .gpu && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2)
    cargo build --release
    # Without debug info: the carried files may total 64 MiB.
    strip -o .gpu/blockverify target/release/blockverify 2>/dev/null \
      || cp target/release/blockverify .gpu/
    cp scripts/gpu_measure.sh .gpu/measure.sh
    ls -la .gpu
    ;;
  all|sigs|merkle|blocks|"")
    # On the accelerator machine. The device tool returns at most 8 files from $OUT, so every
    # part appends its report to one log (stdout) and one error log (stderr: progress, GPU
    # notes) and writes its JSON beside them: 7 files in all. Each part runs under its own
    # time limit, so one that overruns costs only itself, and what finished comes back.
    parts="${*:-all}"
    wants() { [ "$parts" = all ] || [[ " $parts " == *" $1 "* ]]; }
    out="${OUT:-/tmp/out}"
    mkdir -p "$out"
    log="$out/log.txt"
    errs="$out/errors.txt"
    # The Vulkan loader, and the GL dispatch libraries without which NVIDIA's Vulkan driver
    # (libGLX_nvidia) is not found: with the loader alone wgpu saw no adapter on the H200.
    for f in .gpu/*.deb; do dpkg -x "$f" /; done
    ldconfig
    icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    [ -f "$icd" ] || icd="$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan -name 'nvidia_icd*.json' 2>/dev/null | head -1)"
    export VK_DRIVER_FILES="$icd"
    {
      echo "ICD: $icd"; cat "$icd"
      lib="$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$icd")"
      [ "${lib#/}" = "$lib" ] && lib="$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')"
      echo "ICD library: $lib"; ldd "$lib" || true
    } >>"$log" 2>&1
    step() { # name, time limit in seconds, command...
      local name="$1" limit="$2"
      shift 2
      echo "=== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*" | tee -a "$log" >>"$errs"
      local start=$SECONDS
      timeout "$limit" "$@" 2>>"$errs" | tee -a "$log" || echo "=== $name: exit ${PIPESTATUS[0]}" | tee -a "$log"
      echo "=== $name took $((SECONDS - start))s" | tee -a "$log"
    }
    { nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; grep -m1 'model name' /proc/cpuinfo; } | tee -a "$log"
    VK_LOADER_DEBUG=error,warn step info 15 .gpu/blockverify info
    if grep -q 'gpu adapters: none found' "$log"; then
      echo "no GPU adapter: nothing to measure (see the loader's messages in errors.txt)" | tee -a "$log"
      exit 1
    fi
    if wants sigs; then
      # Signatures: CPU engine and peers, GPU rows (the default field build: int64 where the
      # adapter offers SHADER_INT64), Auto, the pack/device split and a 2^18-item GPU-sized
      # batch; then the 13-bit unrolled build's GPU rows (--quick) to compare the two builds.
      step sigs 220 .gpu/blockverify bench sigs --json "$out/sigs.json"
      BLOCKVERIFY_GPU_FIELD=unrolled step sigs-unrolled 50 \
        .gpu/blockverify bench sigs --quick --json "$out/sigs-unrolled.json"
    fi
    if wants merkle; then
      # Merkle: CPU rows (16 cores) and GPU rows (2^24 leaves, kernel timestamps, crossover).
      step merkle 140 .gpu/blockverify bench merkle --json "$out/merkle.json"
    fi
    if wants blocks; then
      # Blocks with the root on the GPU, the throughput plot, and a block on every backend.
      step blocks 60 .gpu/blockverify bench blocks --json "$out/blocks.json" --plot "$out/sweep.svg"
      step demo 30 .gpu/blockverify demo
    fi
    ;;
  *)
    echo "usage: $0 prepare | all | [sigs] [merkle] [blocks]" >&2
    exit 2
    ;;
esac
