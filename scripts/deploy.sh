#!/usr/bin/env bash
# Deploys to your AWS account (rung 2) and proves the boundary; the environment
# contract is MCP_ACCOUNT_ID, MCP_REGION, MCP_PROFILE (docs/rung-2-function-url.md).
#   scripts/deploy.sh          deploy, smoke (signed in, unsigned out), tear down, verify
#   scripts/deploy.sh --keep   deploy and smoke, keep it (then: mcp-deploy call, scripts/teardown.sh)
# The teardown is guaranteed on Ctrl-C, SIGTERM, SIGHUP, errors and panics.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

: "${MCP_ACCOUNT_ID:?export MCP_ACCOUNT_ID (the 12-digit account to deploy to)}"
: "${MCP_REGION:?export MCP_REGION (e.g. eu-central-1)}"
[[ -n "${MCP_PROFILE:-}" || -n "${AWS_ACCESS_KEY_ID:-}" ]] \
  || die "export MCP_PROFILE (an AWS profile), or AWS credentials, for account $MCP_ACCOUNT_ID"
arch="${MCP_ARCH:-arm64}"

bash "$REPO/scripts/build-lambda.sh" "$arch"
cargo build --locked -p mcp-deploy  # a debug build: the CLI waits on AWS, not on CPU
cli="$CARGO_TARGET_DIR/debug/mcp-deploy"
zip="$CARGO_TARGET_DIR/lambda/$arch/bootstrap/bootstrap.zip"
arch_flag=$([[ "$arch" == x86_64 ]] && echo x86_64 || echo arm64)

if [[ "${1:-}" == --keep ]]; then
  "$cli" prepare
  "$cli" deploy --arch "$arch_flag" --zip "$zip" --outputs-file "$REPO/target/outputs.json"
  "$cli" smoke
  echo "kept: call it with '$cli call', remove it with scripts/teardown.sh"
else
  exec "$cli" demo --arch "$arch_flag" --zip "$zip"
fi
