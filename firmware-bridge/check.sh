#!/usr/bin/env bash
# Every check for firmware-bridge: formatting, the firmware's no_std build, lints for each
# feature set, and the tests. Run from anywhere; CI runs it as is.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt -p firmware-bridge -- --check
# The firmware's view: no_std, no allocator.
cargo build -p firmware-bridge --no-default-features
cargo clippy -p firmware-bridge --no-default-features -- -D warnings
cargo clippy -p firmware-bridge --all-targets -- -D warnings
cargo clippy -p firmware-bridge --all-targets --features socketcan,raspberry-pi -- -D warnings
cargo test -p firmware-bridge --features socketcan
