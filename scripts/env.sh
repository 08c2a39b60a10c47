# Sourced by the scripts: one place for the toolchain set-up they share.
# The wasm32-wasip2 target is installed explicitly: rustup does not install the targets that
# rust-toolchain.toml lists on every machine.
set -euo pipefail
# Outside the clone, so repeated runs (and CI on a fresh clone) build incrementally. Made
# absolute where the caller stands: the scripts change directory, and a relative one
# (`CARGO_TARGET_DIR=target`) then named a binary that is not there.
CARGO_TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-$HOME/.cache/flowhost/target}")"
export CARGO_TARGET_DIR
# The same for the toolchains' cache, when one is given.
if [ -n "${FLOWHOST_TOOLCHAINS:-}" ]; then
    FLOWHOST_TOOLCHAINS="$(realpath -m "$FLOWHOST_TOOLCHAINS")"
    export FLOWHOST_TOOLCHAINS
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rustup target add wasm32-wasip2 >/dev/null 2>&1 || rustup target add wasm32-wasip2
