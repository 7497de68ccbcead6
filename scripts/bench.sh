#!/usr/bin/env bash
# Measures this project against what a user would otherwise pick, side by side
# in one run, and writes docs/benchmarks.md and docs/benchmarks.svg, and the
# cost ladder docs/cost.md (bench/cost.py, prices in bench/prices.json).
#   scripts/bench.sh [--rounds N] [--calls N] [--instructions K] [--out DIR]
# Defaults: 5 rounds, 1,000 calls, instruction counts over 100 requests when
# valgrind is installed, each crate's share of the code when cargo-bloat is
# installed, output in docs/. BENCH_PROFILE=debug uses debug builds
# (for the test that checks this command works; not for figures).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

rounds=5 calls=1000 out="$REPO/docs" instructions=100
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --calls) calls="$2"; shift 2 ;;
    --instructions) instructions="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) die "unknown option $1 (see the header of scripts/bench.sh)" ;;
  esac
done
command -v valgrind >/dev/null || { instructions=0; echo "valgrind not installed: no instruction counts (Debian: apt-get install valgrind)" >&2; }

profile="${BENCH_PROFILE:-release}"
step "cargo build ($profile): mcp-local, bootstrap, lambda-emulator, lambda-floor"
# The emulator on its own: built with the functions, it would unify its test
# doubles' features (mcp-oauth's signing key) into the measured bootstrap.
if [[ "$profile" == release ]]; then
  cargo build --release --locked -p mcp-local -p mcp-lambda -p lambda-floor
  cargo build --release --locked -p lambda-emulator
  cargo build --release --locked -p mcp-lambda --example agentcore_tools
  cargo build --release --locked -p mcp-core --example mrtr_round
else
  # The tests' own debug build (lib.sh): a plain `cargo build` here would
  # relink target/debug/bootstrap without the conformance fixture pack that
  # the other end-to-end tests run, and compile another feature set.
  build_debug
  cargo build --locked -p lambda-floor
fi
bin="$CARGO_TARGET_DIR/$profile"
ensure_venv "$REPO/.venv-bench" "$REPO/bench/requirements.txt"
python="$REPO/.venv-bench/bin/python"

work="$CARGO_TARGET_DIR/bench"
rm -rf "$work" && mkdir -p "$work/python-fn" "$work/packages"
cp bench/python_lambda/handler.py "$work/python-fn/"
printf '#!/bin/sh\ncd "$(dirname "$0")" || exit 1\nexec %s -m awslambdaric handler.handler\n' "$python" >"$work/python-fn/bootstrap"
chmod +x "$work/python-fn/bootstrap"
# The packages as Lambda would receive them (deflate, like cargo-lambda's zip).
"$python" - "$work/packages" "$bin/bootstrap" "$work/python-fn/handler.py" "$bin/lambda-floor" <<'PY'
import sys, zipfile
out, rust, handler, floor = sys.argv[1:]
for name, path, arcname in [("rust", rust, "bootstrap"), ("python", handler, "handler.py"), ("floor", floor, "bootstrap")]:
    with zipfile.ZipFile(f"{out}/{name}.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, arcname)
PY

step "stdio: mcp-local against FastMCP"
"$python" bench/stdio_bench.py --mcp-local "$bin/mcp-local" --python "$python" \
  --rounds "$rounds" --calls "$calls" --json "$work/stdio.json"

step "moto (DynamoDB, Secrets Manager) for the rate-limit counter's and the state key's figures"
ensure_venv "$REPO/.venv-moto" "$REPO/tests/requirements-moto.txt"
moto_port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd tests/moto && exec "$REPO/.venv-moto/bin/python" run_moto.py "$moto_port" >/dev/null 2>&1) &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
state_key_arn=$("$REPO/.venv-moto/bin/python" - "http://127.0.0.1:$moto_port" <<'PY'
import sys, time, boto3
ddb = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="eu-central-1",
                   aws_access_key_id="bench", aws_secret_access_key="bench")
for _ in range(300):
    try:
        ddb.create_table(TableName="bench-limits", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("moto did not start")
# The stack's state key: a secret of 64 random letters and digits.
sm = boto3.client("secretsmanager", endpoint_url=sys.argv[1], region_name="eu-central-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
value = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
print(sm.create_secret(Name="bench-state-key", SecretString=value)["ARN"])
PY
)
# A quota no run reaches: every call is counted and admitted.
limits='MCP_RATE_LIMITS={"default": "100000000/1h"}'

step "Lambda: bootstrap against a Python handler under awslambdaric, and the lambda_http floor"
# The gateway path's instruction count needs the target's tool schemas (release runs only).
gateway_args=()
if [[ "$profile" == release && "$instructions" -gt 0 ]]; then
  "$bin/examples/agentcore_tools" >"$work/gateway-tools.json"
  gateway_args=(--gateway-tools "$work/gateway-tools.json")
fi
"$python" bench/lambda_bench.py --emulator "$bin/lambda-emulator" \
  --function "rust=$bin/bootstrap" --function "python=$work/python-fn/bootstrap" --function "floor=$bin/lambda-floor" \
  --function "rust-limited=$bin/bootstrap" --function-env "rust-limited=$limits" \
  --function "rust-shared=$bin/bootstrap" --function-env "rust-shared=$limits" \
  --function-env "rust-shared=MCP_RATE_LIMIT_TABLE=bench-limits" \
  --function-env "rust-shared=AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port" \
  --function "rust-key=$bin/bootstrap" --function-env "rust-key=MCP_STATE_KEY_SECRET_ARN=$state_key_arn" \
  --function-env "rust-key=AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port" \
  --ratio rust/python --ratio rust/floor --ratio rust-limited/rust --ratio rust-shared/rust --ratio rust-shared/floor \
  --ratio rust-key/rust \
  --package "rust=$work/packages/rust.zip" --package "python=$work/packages/python.zip" --package "floor=$work/packages/floor.zip" \
  "${gateway_args[@]}" \
  --rounds "$rounds" --calls "$calls" --instructions "$instructions" --json "$work/lambda.json"

mrtr_args=()
if [[ "$profile" == release && "$instructions" -gt 0 ]]; then
  step "one multi round-trip request (2026-07-28): its instructions"
  "$python" bench/mrtr_bench.py --example "$bin/examples/mrtr_round" --json "$work/mrtr.json"
  mrtr_args=(--mrtr "$work/mrtr.json")
fi

step "Lambda response streaming: a buffered URL against a streaming one"
"$python" bench/stream_bench.py --emulator "$bin/lambda-emulator" --bootstrap "$bin/bootstrap" \
  --rounds "$rounds" --calls "$(( calls < 200 ? calls : 200 ))" --instructions "$(( instructions < 20 ? instructions : 20 ))" \
  --json "$work/stream.json"

step "Bearer tokens: MCP_AUTH=iam against MCP_AUTH=oauth, and the floor's init"
"$python" bench/oauth_bench.py --emulator "$bin/lambda-emulator" --bootstrap "$bin/bootstrap" --floor "$bin/lambda-floor" \
  --rounds "$rounds" --calls "$(( calls < 200 ? calls : 200 ))" --instructions "$(( instructions < 20 ? instructions : 20 ))" \
  --json "$work/oauth.json"

# The zips Lambda receives: cargo-lambda's builds for both architectures
# (deploys default to arm64; release runs only).
artifact_args=()
if [[ "$profile" == release ]]; then
  bash "$REPO/scripts/build-lambda.sh" all
  for arch in x86_64 arm64; do
    artifact_args+=(--artifact "$arch=$CARGO_TARGET_DIR/lambda/$arch/bootstrap/bootstrap.zip")
  done
fi

# Each crate's share of bootstrap's code (release runs, with cargo-bloat): the
# release build with its symbols (profile hot-text, as scripts/hot-text.sh).
bloat_args=()
if [[ "$profile" == release ]]; then
  if command -v cargo-bloat >/dev/null; then
    step "cargo bloat: each crate's share of bootstrap's code"
    for section in .text .text.hot; do
      CARGO_PROFILE_HOT_TEXT_INHERITS=release CARGO_PROFILE_HOT_TEXT_STRIP=false \
        cargo bloat --profile hot-text --locked -p mcp-lambda --bin bootstrap --crates -n 0 \
        --message-format json --symbols-section "$section" >"$work/bloat$section.json"
      bloat_args+=(--bloat "$work/bloat$section.json")
    done
  else
    echo "cargo-bloat not installed: no per-crate sizes (cargo install cargo-bloat)" >&2
  fi
fi

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(date -u +%Y-%m-%d)"
step "the cost ladder: docs/cost.md from these measurements and bench/prices.json"
"$python" bench/cost.py --lambda "$work/lambda.json" --prices bench/prices.json --out "$out/cost.md" --machine "$machine"
"$python" bench/report.py --stdio "$work/stdio.json" --lambda "$work/lambda.json" --stream "$work/stream.json" \
  --oauth "$work/oauth.json" "${artifact_args[@]}" "${bloat_args[@]}" "${mrtr_args[@]}" --out "$out" --machine "$machine"
