"""What checking a bearer token costs per request, on the local Runtime API emulator.

The same release `bootstrap` behind the same unauthenticated local Function URL
(`--auth none`), side by side, rounds alternating:
- `iam`: `MCP_AUTH=iam` (the default), trusting the front: no token, no check;
- `oauth`: `MCP_AUTH=oauth`, trusting the emulator's development issuer; every
  request carries one bearer token (ES256, minted once), which the function
  verifies fully once (signature by ring, `iss`, `aud`, `exp`, scopes) and then
  finds among the tokens it has verified (by SHA-256, until `exp`).
Same event format, same tool call (`demo_echo`): the difference is the token.
Figures per round: init (the Runtime API's init span), the first request (which
fetches the issuer's metadata and keys in `oauth`), warm p50, and the issuer's key
set fetches during the warm calls (must be 0: keys are cached per instance).
With --floor PATH, the smallest lambda_http function's init too, in the same
rounds: the goal is an `oauth` init within 1.5x of it (keys are fetched on first use,
not at init). With --instructions K (valgrind installed): instructions per warm
request in each mode, from 1 + K requests against 1 on one process, and for
`oauth` also with a new token on every request (`oauth-fresh`: the full check
each time).

Usage: oauth_bench.py --emulator PATH --bootstrap PATH [--floor PATH] [--rounds N]
                      [--calls N] [--instructions K] [--json FILE]
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import time
import urllib.parse
import urllib.request

from benchlib import alternate, figure_rows, fmt, pair_ratios, quantile, table, two_ways_parser
from lambda_bench import CALL, HEADERS, instructions, request, start

AUDIENCE = "http://127.0.0.1/bench/mcp"
MODES = {
    "iam": (),
    "oauth": ("--dev-issuer", "--env", f"MCP_OAUTH_AUDIENCE={AUDIENCE}"),
}


def mint(issuer: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "bench",
                                   "scope": "mcp:read", "resource": AUDIENCE}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{issuer}/token", form), timeout=10) as response:
        return json.load(response)["access_token"]


def headers_for(mode: str, ready: dict) -> dict:
    if mode == "iam":
        return HEADERS
    return dict(HEADERS, Authorization=f"Bearer {mint(ready['issuerUrl'])}")


def key_set_fetches(ready: dict) -> int:
    with urllib.request.urlopen(f"{ready['issuerUrl']}/stats", timeout=5) as response:
        return json.load(response)["keySetFetches"]


def one_round(emulator: str, bootstrap: str, mode: str, calls: int) -> dict:
    proc, ready = start(emulator, bootstrap, extra=MODES[mode])
    try:
        url = urllib.parse.urlsplit(ready["functionUrl"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        headers = headers_for(mode, ready)
        t0 = time.perf_counter()
        request(conn, mode, headers=headers)
        cold = time.perf_counter() - t0
        fetched = key_set_fetches(ready) if mode == "oauth" else 0
        latencies = []
        for _ in range(calls):
            t0 = time.perf_counter()
            request(conn, mode, headers=headers)
            latencies.append(time.perf_counter() - t0)
        warm_fetches = (key_set_fetches(ready) - fetched) if mode == "oauth" else 0
        with urllib.request.urlopen(ready["statsUrl"], timeout=5) as r:
            stats = json.load(r)
        return {
            "init_ms": stats["lastInitMicros"] / 1e3,
            "first_request_ms": cold * 1e3,
            "warm_p50_us": quantile(latencies, 0.5) * 1e6,
            "warm_key_set_fetches": warm_fetches,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def floor_init(emulator: str, floor: str) -> float:
    proc, ready = start(emulator, floor)
    try:
        url = urllib.parse.urlsplit(ready["functionUrl"])
        request(http.client.HTTPConnection(url.hostname, url.port, timeout=60), "floor")
        with urllib.request.urlopen(ready["statsUrl"], timeout=5) as r:
            return json.load(r)["lastInitMicros"] / 1e3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def per_request(emulator: str, bootstrap: str, mode: str, k: int, fresh: bool = False) -> float:
    tokens: dict[int, dict] = {}

    def send(conn: http.client.HTTPConnection, i: int, ready: dict) -> None:
        # Minted by the emulator's issuer: its work is not the function's.
        key = i if fresh else 0
        if key not in tokens:
            tokens[key] = headers_for(mode, ready)
        request(conn, mode, call=CALL, headers=tokens[key])

    few = instructions(emulator, mode, bootstrap, 1, env=MODES[mode], send=send)
    tokens.clear()
    many = instructions(emulator, mode, bootstrap, 1 + k, env=MODES[mode], send=send)
    return (many - few) / k


FIGURES = [
    ("init_ms", "init (ms)"),
    ("first_request_ms", "first request (ms; oauth fetches metadata and keys)"),
    ("warm_p50_us", "warm round trip p50 (µs)"),
]


def main() -> int:
    parser = two_ways_parser(__doc__)
    parser.add_argument("--floor", help="the lambda_http floor function, for the init goal")
    args = parser.parse_args()
    floor: list[float] = []
    runs = alternate("oauth", args.rounds, MODES,
                     lambda mode: one_round(args.emulator, args.bootstrap, mode, args.calls),
                     between=(lambda: floor.append(floor_init(args.emulator, args.floor))) if args.floor else None)
    counted = {}
    if args.instructions and shutil.which("valgrind"):
        counted = {mode: per_request(args.emulator, args.bootstrap, mode, args.instructions) for mode in MODES}
        counted["oauth-fresh"] = per_request(args.emulator, args.bootstrap, "oauth", args.instructions, fresh=True)
    fetches = sum(run["warm_key_set_fetches"] for run in runs["oauth"])
    print(f"Bearer tokens on the local emulator: {args.rounds} rounds, {args.calls} warm calls each; "
          "median (min–max)\n")
    rows = figure_rows(runs, "iam", "oauth", FIGURES)
    rows.append([f"key set fetches in {args.rounds * args.calls} warm calls", "-", str(fetches), ""])
    if floor:
        pairs = pair_ratios({"oauth": runs["oauth"], "floor": [{"init_ms": f} for f in floor]},
                            "oauth", "floor", "init_ms")
        rows.append([f"init vs the floor's ({fmt(floor)} ms)", "", "", f"oauth / floor {fmt(pairs)}"])
    if counted:
        rows.append([f"instructions per warm request (over {args.instructions})"]
                    + [f"{counted[m]:,.0f}" for m in MODES] + [f"{counted['oauth'] / counted['iam']:.3g}"])
        rows.append(["... with a new token each request (the full check)", "", f"{counted['oauth-fresh']:,.0f}",
                     f"{counted['oauth-fresh'] / counted['iam']:.3g}"])
    print(table(["figure", "MCP_AUTH=iam", "MCP_AUTH=oauth", "oauth / iam"], rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": args.rounds, "calls": args.calls, "runs": runs, "floor_init_ms": floor,
                       "instructions": counted,
                       "instructions_k": args.instructions, "warm_key_set_fetches": fetches}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
