#!/usr/bin/env bash
# Runs every test: formatting, lints, Rust unit/property/integration tests, and
# the end-to-end tests with third-party MCP peers. Installs what they need
# (a virtualenv in .venv, npm packages in tests/node) on first use.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings (and mcp-deploy's test hooks)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --locked -p mcp-deploy --all-targets --features test-hooks -- -D warnings

# One build for the tests and the binaries they run: the test graph differs from
# a plain build's (the SDK's mock utilities change shared features), so building
# the binaries separately would compile the AWS SDK twice. The binaries come out
# of this step, mcp-deploy with its test hooks (the end-to-end tests steer it
# through them; a release build has none).
step "cargo test (unit, property, integration, doc; builds the binaries too)"
# mcp-lambda's DynamoDB counter test runs against moto, from its virtualenv.
ensure_venv "$REPO/.venv-moto" "$REPO/tests/requirements-moto.txt"
build_debug
cargo test --workspace --locked --features mcp-deploy/test-hooks

step "third-party peers"
ensure_venv "$REPO/.venv" "$REPO/tests/requirements.txt"
ensure_venv "$REPO/.venv-proxy" "$REPO/tests/requirements-proxy.txt"
ensure_venv "$REPO/.venv-bench" "$REPO/bench/requirements.txt"
ensure_node_peers
# The Inspector's web UI is driven in Debian's Chromium; where it cannot be
# installed, that test fails saying so.
ensure_chromium || true

step "pytest tests/e2e"
"$REPO/.venv/bin/python" -m pytest tests/e2e -q -p no:cacheprovider

step "the Lambda package builds with cargo-lambda and stays under 2 MB (x86_64)"
bash "$REPO/scripts/build-lambda.sh" x86_64

# Deploys default to arm64: the package users deploy is run here too, under
# qemu-user, through the Lambda end-to-end tests that need no test-only
# feature (the release build has no conformance fixture pack).
step "the arm64 package builds, stays under 2 MB, and passes the Lambda end-to-end tests under qemu-user"
bash "$REPO/scripts/build-lambda.sh" arm64
if ensure_qemu_arm64; then
  MCP_TEST_BOOTSTRAP="$(arm64_bootstrap)" "$REPO/.venv/bin/python" -m pytest \
    tests/e2e/test_remote_peers.py tests/e2e/test_gateway.py tests/e2e/test_rate_limits.py \
    -q -p no:cacheprovider -k "not conformance and not progress"
fi
