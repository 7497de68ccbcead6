#!/usr/bin/env bash
# Measures the Lambda function on the local Runtime API emulator: init, first
# request, warm round trips and peak RSS, with fresh instances round by round.
# Usage: scripts/bench-lambda.sh [--rounds N] [--calls N]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

step "cargo build --release -p mcp-lambda -p lambda-emulator"
cargo build --release --locked -p mcp-lambda -p lambda-emulator

step "measuring"
python3 bench/lambda_bench.py --emulator "$CARGO_TARGET_DIR/release/lambda-emulator" \
  --function "bootstrap=$CARGO_TARGET_DIR/release/bootstrap" "$@"
