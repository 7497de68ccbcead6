#!/usr/bin/env bash
# Deletes the stack and verifies every resource it had is gone (exit 0 only
# when nothing is left; nothing deployed is fine too). Same environment as
# scripts/deploy.sh: MCP_ACCOUNT_ID, MCP_REGION, MCP_PROFILE.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

: "${MCP_REGION:?export MCP_REGION (e.g. eu-central-1)}"
cargo build --locked -p mcp-deploy  # a debug build: the CLI waits on AWS, not on CPU
exec "$CARGO_TARGET_DIR/debug/mcp-deploy" teardown "$@"
