#!/usr/bin/env bash
# Regenerates crates/mcp-lambda/hot-text.ld, the order of bootstrap's code
# (why: bench/hot_text.py). Run it when the request path changes much (a new
# front, a new transport), then check peak RSS with scripts/bench.sh.
#   scripts/hot-text.sh
# Needs valgrind. Builds the release bootstrap with its symbols twice (profile
# `hot-text`: release without strip; and cargo-lambda's x86_64 build without
# strip, in its own target folder) and the emulator.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
command -v valgrind >/dev/null || die "valgrind is needed (Debian: apt-get install valgrind)"

step "cargo build (release with symbols): bootstrap; lambda-emulator"
CARGO_PROFILE_HOT_TEXT_INHERITS=release CARGO_PROFILE_HOT_TEXT_STRIP=false \
  cargo build --profile hot-text --locked -p mcp-lambda --bin bootstrap
cargo build --release --locked -p lambda-emulator
# cargo-lambda's build (zig's linker, glibc 2.17) inlines differently after
# LTO: what it runs under other names is taken too.
step "cargo lambda build --release --x86-64, with symbols (its own target folder)"
ensure_venv "$REPO/.venv-build" "$REPO/scripts/requirements-build.txt"
PATH="$REPO/.venv-build/bin:$PATH" CARGO_TARGET_DIR="$CARGO_TARGET_DIR/hot-text-lambda" CARGO_PROFILE_RELEASE_STRIP=false \
  cargo lambda build --release --locked --x86-64 -p mcp-lambda
ensure_venv "$REPO/.venv-bench" "$REPO/bench/requirements.txt"

step "callgrind: what a warm bootstrap runs"
"$REPO/.venv-bench/bin/python" bench/hot_text.py --emulator "$CARGO_TARGET_DIR/release/lambda-emulator" \
  --bootstrap "$CARGO_TARGET_DIR/hot-text/bootstrap" \
  --bootstrap "$CARGO_TARGET_DIR/hot-text-lambda/lambda/bootstrap/bootstrap" --out crates/mcp-lambda/hot-text.ld
