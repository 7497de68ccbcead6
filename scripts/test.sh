#!/usr/bin/env bash
# Runs every test: formatting, lints, Rust unit/property/integration tests, and
# the end-to-end tests with third-party MCP peers. Installs what they need
# (a virtualenv in .venv, npm packages in tests/node) on first use.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build --bins (the emulator tests run the real bootstrap)"
cargo build --workspace --locked --bins

step "cargo test (unit, property, integration, doc)"
cargo test --workspace --locked

step "third-party peers"
ensure_venv "$REPO/.venv" "$REPO/tests/requirements.txt"
ensure_venv "$REPO/.venv-proxy" "$REPO/tests/requirements-proxy.txt"
ensure_venv "$REPO/.venv-moto" "$REPO/tests/requirements-moto.txt"
ensure_venv "$REPO/.venv-bench" "$REPO/bench/requirements.txt"
ensure_node_peers

step "mcp-deploy with its test hooks (the end-to-end tests steer it through them)"
cargo build --locked -p mcp-deploy --features test-hooks

step "pytest tests/e2e"
"$REPO/.venv/bin/python" -m pytest tests/e2e -q -p no:cacheprovider

step "the Lambda package builds with cargo-lambda and stays under 2 MB (x86_64)"
bash "$REPO/scripts/build-lambda.sh" x86_64
