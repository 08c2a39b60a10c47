# Sourced by the scripts: one place for the toolchain set-up they share.
# The wasm32-wasip2 target is installed explicitly: rustup does not install the targets that
# rust-toolchain.toml lists on every machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rustup target add wasm32-wasip2 >/dev/null 2>&1 || rustup target add wasm32-wasip2
# Outside the clone, so repeated runs (and CI on a fresh clone) build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowhost/target}"
