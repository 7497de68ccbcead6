"""Lambda functions side by side on the project's Runtime API emulator.

Each round starts a fresh emulator per function (peers alternate A B A B ...),
sends one request (the cold start) and then N warm `tools/call demo_echo`
requests over one keep-alive connection. Figures per round:
- init: spawn of the function's process to its first `invocation/next`
  (measured by the emulator);
- cold request: wall time of the first request, init included;
- warm p50/p99: wall time of each warm request through the local Function URL;
- peak RSS: VmHWM of the function's process after the warm requests.

Usage: lambda_bench.py --emulator PATH --function NAME=BOOTSTRAP [--function ...]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from benchlib import fmt, quantile, vm_hwm_kb

CALL = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "demo_echo", "arguments": {"message": "hello"}}}).encode()
HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": "2025-11-25"}






def one_round(emulator: str, bootstrap: str, calls: int) -> dict:
    proc = subprocess.Popen(
        [emulator, "--bootstrap", bootstrap, "--auth", "none", "--account", "0" * 12,
         "--region", "eu-central-1", "--env", "RUST_LOG=error", "--env", "AWS_LAMBDA_LOG_LEVEL=error"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={"PATH": "/usr/bin:/bin", "RUST_LOG": "error"},
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        url = urllib.parse.urlsplit(ready["functionUrl"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        t0 = time.perf_counter()
        conn.request("POST", "/", CALL, HEADERS)
        first = conn.getresponse()
        body = first.read()
        cold = time.perf_counter() - t0
        if first.status != 200 or b'"echo' not in body:
            raise SystemExit(f"{bootstrap}: bad reply {first.status}: {body[:200]!r}")
        latencies = []
        for _ in range(calls):
            t0 = time.perf_counter()
            conn.request("POST", "/", CALL, HEADERS)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - t0)
            if response.status != 200:
                raise SystemExit(f"{bootstrap}: warm call failed with {response.status}")
        with urllib.request.urlopen(ready["statsUrl"], timeout=5) as r:
            stats = json.load(r)
        return {
            "init_ms": stats["lastInitMicros"] / 1e3,
            "cold_request_ms": cold * 1e3,
            "warm_p50_us": quantile(latencies, 0.5) * 1e6,
            "warm_p99_us": quantile(latencies, 0.99) * 1e6,
            "peak_rss_mb": vm_hwm_kb(stats["pid"]) / 1024,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


FIGURES = [
    ("init_ms", "init: spawn to first invocation/next (ms)"),
    ("cold_request_ms", "first request, init included (ms)"),
    ("warm_p50_us", "warm round trip p50 (µs)"),
    ("warm_p99_us", "warm round trip p99 (µs)"),
    ("peak_rss_mb", "peak RSS (MB)"),
]




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--function", action="append", required=True, help="NAME=PATH of a bootstrap")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    functions = dict(f.split("=", 1) for f in args.function)
    runs: dict[str, list[dict]] = {name: [] for name in functions}
    for r in range(args.rounds):
        for name, path in functions.items():
            runs[name].append(one_round(args.emulator, path, args.calls))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    names = list(functions)
    base = names[0]
    header = "| figure | " + " | ".join(names + [f"{n} / {base}" for n in names[1:]]) + " |"
    print(f"Lambda via the emulator: {args.rounds} rounds, {args.calls} warm calls each; median (min–max)\n")
    print(header)
    print("|" + "---|" * (2 * len(names)))
    for key, label in FIGURES:
        cells = [fmt([run[key] for run in runs[n]]) for n in names]
        ratios = []
        for n in names[1:]:
            pairs = [a[key] / b[key] for a, b in zip(runs[n], runs[base]) if b[key] > 0]
            ratios.append(fmt(pairs) if pairs else "n/a")
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
