#!/usr/bin/env bash
# Rung 1: builds mcp-local and drives it through a scripted MCP session over
# stdio, printing each request and its reply.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

step "cargo build --release -p mcp-local"
cargo build --release --locked -p mcp-local
BIN="$CARGO_TARGET_DIR/release/mcp-local"

coproc SERVER { exec "$BIN"; }
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true' EXIT

# send LINE [expect-reply]
send() {
  printf '\n-> %s\n' "$1"
  printf '%s\n' "$1" >&"${SERVER[1]}"
  if [[ "${2:-reply}" == reply ]]; then
    local reply
    IFS= read -r -t 10 reply <&"${SERVER[0]}" || die "no reply from mcp-local within 10 s"
    printf '<- %s\n' "$reply"
  else
    printf '   (a notification: no reply)\n'
  fi
}

ENV='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'

echo ">>> a 2025-11-25 client: the initialize handshake"
send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}'
send '{"jsonrpc":"2.0","method":"notifications/initialized"}' none
send '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"word_count","arguments":{"text":"the quick brown fox jumps over the lazy dog"}}}'

echo; echo ">>> bad input gets a clear answer, and the server keeps serving"
send '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"word_count","arguments":{"txt":"typo"}}}'
send '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"no_such_tool"}}'
send 'this is not JSON'

echo; echo ">>> a 2026-07-28 client: no handshake, an envelope on every request"
send "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"server/discover\",\"params\":{$ENV}}"
send "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{$ENV,\"name\":\"word_count\",\"arguments\":{\"text\":\"héllo wörld\"}}}"

exec {SERVER[1]}>&-   # end of input: the server exits 0
wait "$SERVER_PID" && status=0 || status=$?
trap - EXIT
[[ $status -eq 0 ]] || die "mcp-local exited with status $status"
printf '\nmcp-local exited cleanly (status 0).\n'
