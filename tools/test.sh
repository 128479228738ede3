#!/usr/bin/env bash
# Runs the whole test suite as CI does: setup (idempotent), formatting, lints, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build -p firmware-bridge --no-default-features
cargo test --workspace --no-fail-fast
