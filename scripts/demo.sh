#!/usr/bin/env bash
# The main job on the embedded default: the whole remote rung on this machine,
# no AWS account needed. Builds the function and the deploy CLI, then runs
#   mcp-deploy demo --local
# which starts the real bootstrap behind the IAM-checked local Function URL,
# runs the signed client (initialize, tools/list, demo_account_context), proves
# that an unsigned request gets 403, and tears everything down, verifying it is
# gone. MCP_DEMO=stdio runs the rung-1 demo instead (scripts/demo-stdio.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

if [[ "${MCP_DEMO:-remote}" == stdio ]]; then
  exec bash "$REPO/scripts/demo-stdio.sh"
fi
# Debug builds: the very ones scripts/test.sh makes (lib.sh's build_debug),
# and the CLI's speed is the network's.
step "the debug build scripts/test.sh shares (cargo test --no-run)"
build_debug
exec "$CARGO_TARGET_DIR/debug/mcp-deploy" demo --local "$@"
