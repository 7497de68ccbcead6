#!/usr/bin/env bash
# Measures mcp-local against a FastMCP server of the same tool, side by side.
# Usage: scripts/bench-stdio.sh [--rounds N] [--calls N] [--json FILE]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

step "cargo build --release -p mcp-local"
cargo build --release --locked -p mcp-local
ensure_venv "$REPO/.venv-bench" "$REPO/bench/requirements.txt"

step "measuring (peers alternate round by round)"
"$REPO/.venv-bench/bin/python" bench/stdio_bench.py \
  --mcp-local "$CARGO_TARGET_DIR/release/mcp-local" --python "$REPO/.venv-bench/bin/python" "$@"
