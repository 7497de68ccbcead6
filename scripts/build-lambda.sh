#!/usr/bin/env bash
# Builds the Lambda function package: bootstrap.zip for provided.al2023, with
# cargo-lambda (and zig as the cross linker), both installed into .venv-build.
# Usage: scripts/build-lambda.sh [arm64|x86_64|all]   (default: all)
# Writes target/lambda/<arch>/bootstrap/bootstrap.zip and fails if a package
# is over 2 MB or carries the conformance fixture pack (a test-only feature).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

archs=("${1:-all}")
[[ "${archs[0]}" == all ]] && archs=(arm64 x86_64)
ensure_venv "$REPO/.venv-build" "$REPO/scripts/requirements-build.txt"
export PATH="$REPO/.venv-build/bin:$PATH"
limit=$((2 * 1024 * 1024))

# Names only the conformance fixture pack has (mcp-tools' feature
# `conformance`); a release bootstrap must contain none of them.
fixtures_in() {
  python - "$1" <<'PY'
import re, sys, zipfile
data = zipfile.ZipFile(sys.argv[1]).read("bootstrap")
names = rb"test_simple_text|test_tool_with_progress|test_simple_prompt|test://static-text"
print(" ".join(sorted({m.decode() for m in re.findall(names, data)})))
PY
}

for arch in "${archs[@]}"; do
  case "$arch" in
    arm64) triple=aarch64-unknown-linux-gnu; flag=--arm64 ;;
    x86_64) triple=x86_64-unknown-linux-gnu; flag=--x86-64 ;;
    *) die "unknown architecture '$arch': use arm64, x86_64 or all" ;;
  esac
  if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
    step "adding the Rust standard library for $triple"
    rustup target add "$triple" \
      || die "cannot add $triple: run 'rustup target add $triple' where rustup can download, or build --arch x86_64"
  fi
  step "cargo lambda build --release $flag (provided.al2023)"
  cargo lambda build --release --locked "$flag" -p mcp-lambda --output-format zip \
    --lambda-dir "$CARGO_TARGET_DIR/lambda/$arch"
  zip="$CARGO_TARGET_DIR/lambda/$arch/bootstrap/bootstrap.zip"
  size=$(stat -c %s "$zip")
  printf '%s: %s bytes (%s KiB)\n' "${zip#"$REPO"/}" "$size" $((size / 1024))
  ((size <= limit)) || die "$zip is $size bytes, over the 2 MB budget"
  found=$(fixtures_in "$zip")
  [[ -z "$found" ]] || die "$zip contains the conformance fixture pack ($found): a release \
must not; build it without the test-only feature 'conformance' (mcp-lambda, mcp-tools)"
done
