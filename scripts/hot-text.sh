#!/usr/bin/env bash
# Regenerates crates/mcp-lambda/hot-text.ld, the order of bootstrap's code
# (why: bench/hot_text.py). Run it when the request path changes much (a new
# front, a new transport), then check peak RSS with scripts/bench.sh.
#   scripts/hot-text.sh
# Needs valgrind. Builds a release bootstrap with its symbols (profile
# `hot-text`: release without strip, in its own target folder) and the emulator.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
command -v valgrind >/dev/null || die "valgrind is needed (Debian: apt-get install valgrind)"

step "cargo build (release with symbols): bootstrap; lambda-emulator"
CARGO_PROFILE_HOT_TEXT_INHERITS=release CARGO_PROFILE_HOT_TEXT_STRIP=false \
  cargo build --profile hot-text --locked -p mcp-lambda --bin bootstrap
cargo build --release --locked -p lambda-emulator
ensure_venv "$REPO/.venv-bench" "$REPO/bench/requirements.txt"

step "callgrind: what a warm bootstrap runs"
"$REPO/.venv-bench/bin/python" bench/hot_text.py --emulator "$CARGO_TARGET_DIR/release/lambda-emulator" \
  --bootstrap "$CARGO_TARGET_DIR/hot-text/bootstrap" --out crates/mcp-lambda/hot-text.ld
