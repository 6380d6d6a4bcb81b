#!/usr/bin/env bash
# Semver guard: compares the crate's public API (from rustdoc's JSON output) with the
# committed listing api/public-api.txt; fails on any difference. After an intended API
# change: bump Cargo.toml's version as semver requires, add a CHANGELOG.md section, and run
#   scripts/public_api.sh --bless
# which refuses unless the bump matches the change (removals/changes: breaking bump).
#
# rustdoc's JSON output is unstable-flagged; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# emit it (in its own target dir, so the normal build cache is untouched). The listing is
# derived by scripts/public_api.py, written for the format this toolchain emits.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTC_BOOTSTRAP=1 cargo rustdoc -p blockverify --lib --quiet --target-dir target/api -- \
  -Z unstable-options --output-format json
python3 scripts/public_api.py check target/api/doc/blockverify.json api/public-api.txt \
  Cargo.toml CHANGELOG.md "$@"
