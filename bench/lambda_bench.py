"""Lambda functions side by side on the project's Runtime API emulator.

Each round starts a fresh emulator per function (peers alternate A B A B ...),
sends one request (the cold start) and then N warm `tools/call demo_echo`
requests over one keep-alive connection. Figures per round:
- init: spawn of the function's process to its first `invocation/next`
  (measured by the emulator);
- cold request: wall time of the first request, init included;
- warm p50/p99: wall time of each warm request through the local Function URL;
- peak RSS: VmHWM of the function's process after the warm requests.
With --instructions (valgrind installed), the repeatable figures too: the
instructions of a process that served 1 request (init), and per request
((instructions after 1+K requests - after 1) / K).

Usage: lambda_bench.py --emulator PATH --function NAME=EXECUTABLE [...]
                       [--function-env NAME=KEY=VALUE ...]
                       [--ratio A/B ...] [--package NAME=ZIP ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from benchlib import fmt, quantile, vm_hwm_kb

CALL = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "demo_echo", "arguments": {"message": "hello"}}}).encode()
HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": "2025-11-25"}
# The same call through the emulator's local AgentCore Gateway (the function as its target).
GATEWAY_CALL = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "mcp-ladder___demo_echo", "arguments": {"message": "hello"}}}).encode()


def start(emulator: str, bootstrap: str, timeout_s: int = 10, extra: tuple = ()) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [emulator, "--bootstrap", bootstrap, "--auth", "none", "--account", "0" * 12,
         "--region", "eu-central-1", "--timeout", str(timeout_s),
         "--env", "RUST_LOG=error", "--env", "AWS_LAMBDA_LOG_LEVEL=error", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={"PATH": "/usr/bin:/bin", "RUST_LOG": "error"},
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def request(conn: http.client.HTTPConnection, name: str, path: str = "/", call: bytes = CALL,
            headers: dict = HEADERS, expect: bytes = b'"echo') -> None:
    conn.request("POST", path, call, headers)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200 or expect not in body:
        raise SystemExit(f"{name}: bad reply {response.status}: {body[:200]!r}")


def log_bytes(ready: dict) -> int:
    """What the function wrote on stdout and stderr (log and metric lines, each with its
    newline), as the emulator kept it; 0 from an emulator without `logsUrl`."""
    if "logsUrl" not in ready:
        return 0
    with urllib.request.urlopen(ready["logsUrl"], timeout=5) as r:
        lines = json.load(r)["lines"]
    return sum(len(line["text"].encode()) + 1 for line in lines)


def one_round(emulator: str, name: str, bootstrap: str, calls: int, extra: tuple = ()) -> dict:
    proc, ready = start(emulator, bootstrap, extra=extra)
    try:
        url = urllib.parse.urlsplit(ready["functionUrl"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        t0 = time.perf_counter()
        request(conn, name)
        cold = time.perf_counter() - t0
        latencies = []
        for _ in range(calls):
            t0 = time.perf_counter()
            request(conn, name)
            latencies.append(time.perf_counter() - t0)
        with urllib.request.urlopen(ready["statsUrl"], timeout=5) as r:
            stats = json.load(r)
        return {
            "log_bytes_per_call": log_bytes(ready) / (calls + 1),
            "init_ms": stats["lastInitMicros"] / 1e3,
            "cold_request_ms": cold * 1e3,
            "warm_p50_us": quantile(latencies, 0.5) * 1e6,
            "warm_p99_us": quantile(latencies, 0.99) * 1e6,
            "peak_rss_mb": vm_hwm_kb(stats["pid"]) / 1024,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def callgrind_wrapper(tmp: str, bootstrap: str, *flags: str) -> str:
    """A `bootstrap` in `tmp` that runs the real one under callgrind, its
    output in `tmp/callgrind.<pid>`; its path."""
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is needed for instruction counts (Debian: apt-get install valgrind)"
    wrapper = os.path.join(tmp, "bootstrap")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {valgrind} --tool=callgrind {' '.join(flags)} -q "
                f"--callgrind-out-file={tmp}/callgrind.%p {os.path.abspath(bootstrap)}\n")
    os.chmod(wrapper, 0o755)
    return wrapper


def instructions(emulator: str, name: str, bootstrap: str, requests: int, gateway_tools: str | None = None,
                 env: tuple = (), send=None) -> int:
    """Instructions of every process of the function after serving `requests`
    (through the local gateway's front when `gateway_tools` is given; with
    `send(conn, i, ready)` when given, else the usual call)."""
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = callgrind_wrapper(tmp, bootstrap, "--trace-children=yes")
        extra = (("--gateway-tools", gateway_tools) if gateway_tools else ()) + env
        proc, ready = start(emulator, wrapper, timeout_s=300, extra=extra)
        try:
            url = urllib.parse.urlsplit(ready["gatewayUrl"] if gateway_tools else ready["functionUrl"])
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
            for i in range(requests):
                if send:
                    send(conn, i, ready)
                elif gateway_tools:
                    request(conn, name, url.path, GATEWAY_CALL)
                else:
                    request(conn, name)
            with urllib.request.urlopen(ready["statsUrl"], timeout=5) as r:
                pid = json.load(r)["pid"]
            # The emulator stops a function with SIGKILL, after which callgrind
            # writes nothing: ask the running process for its totals instead.
            subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True, timeout=120)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                totals = []
                for path in glob.glob(f"{tmp}/callgrind.*"):
                    with open(path) as f:
                        # A callgrind file states its total twice (`summary:`
                        # and `totals:`); count it once per file.
                        totals += [int(line.split()[1]) for line in f if line.startswith("totals:")]
                if totals:
                    return sum(totals)
                time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        raise SystemExit(f"{name}: callgrind wrote no totals")


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
    parser.add_argument("--function", action="append", required=True, help="NAME=EXECUTABLE")
    parser.add_argument("--function-env", action="append", default=[], metavar="NAME=KEY=VALUE",
                        help="an environment variable for function NAME (repeatable)")
    parser.add_argument("--ratio", action="append", default=[], help="A/B: report A's figures over B's")
    parser.add_argument("--package", action="append", default=[], help="NAME=ZIP: report its size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--instructions", type=int, default=0, metavar="K",
                        help="also count instructions with valgrind: init, and per request over K requests")
    parser.add_argument("--gateway-tools", metavar="FILE",
                        help="with --instructions: also count the `rust` function's instructions per call "
                             "through the emulator's local gateway (tool schemas from mcp-deploy tools --format agentcore)")
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args()
    functions = dict(f.split("=", 1) for f in args.function)
    envs: dict[str, tuple] = {name: () for name in functions}
    for item in args.function_env:
        name, var = item.split("=", 1)
        envs[name] += ("--env", var)
    ratios = [tuple(r.split("/", 1)) for r in args.ratio] or [(n, next(iter(functions))) for n in list(functions)[1:]]
    runs: dict[str, list[dict]] = {name: [] for name in functions}
    for r in range(args.rounds):
        for name, path in functions.items():  # A B A B ...
            runs[name].append(one_round(args.emulator, name, path, args.calls, envs[name]))
        print(f"lambda round {r + 1}/{args.rounds} done", file=sys.stderr)
    counted: dict[str, dict] = {}
    if args.instructions:
        if not shutil.which("valgrind"):
            print("valgrind is not installed: no instruction counts", file=sys.stderr)
        else:
            for name, path in functions.items():
                one = instructions(args.emulator, name, path, 1, env=envs[name])
                many = instructions(args.emulator, name, path, 1 + args.instructions, env=envs[name])
                counted[name] = {"init_instructions": one, "per_request_instructions": (many - one) / args.instructions}
                print(f"instructions of {name}: {counted[name]}", file=sys.stderr)
            if args.gateway_tools and "rust" in functions:
                # A gateway target says so (MCP_GATEWAY_TARGET), as the gateway stack's function does.
                target = envs["rust"] + ("--env", "MCP_GATEWAY_TARGET=1")
                one = instructions(args.emulator, "rust", functions["rust"], 1, args.gateway_tools, env=target)
                many = instructions(args.emulator, "rust", functions["rust"], 1 + args.instructions,
                                    args.gateway_tools, env=target)
                counted["rust-gateway"] = {"init_instructions": one,
                                           "per_request_instructions": (many - one) / args.instructions}
                print(f"instructions of rust through the gateway: {counted['rust-gateway']}", file=sys.stderr)
    packages = {name: os.path.getsize(path) for name, path in (p.split("=", 1) for p in args.package)}

    names = list(functions)
    print(f"Lambda on the local Runtime API emulator: {args.rounds} rounds, {args.calls} warm calls each; "
          "median (min–max); ratios pair by pair\n")
    print("| figure | " + " | ".join(names + [f"{a} / {b}" for a, b in ratios]) + " |")
    print("|" + "---|" * (1 + len(names) + len(ratios)))
    for key, label in FIGURES:
        cells = [fmt([run[key] for run in runs[n]]) for n in names]
        for a, b in ratios:
            pairs = [x[key] / y[key] for x, y in zip(runs[a], runs[b]) if y[key] > 0]
            cells.append(fmt(pairs) if pairs else "n/a")
        print(f"| {label} | " + " | ".join(cells) + " |")
    for key, label in [("init_instructions", "instructions to serve 1 request (init)"),
                       ("per_request_instructions", f"instructions per warm request (over {args.instructions})")]:
        if counted:
            cells = [f"{counted[n][key]:,.0f}" if n in counted else "n/a" for n in names]
            cells += [f"{counted[a][key] / counted[b][key]:.3g}" if a in counted and b in counted else "n/a"
                      for a, b in ratios]
            print(f"| {label} | " + " | ".join(cells) + " |")
    if packages:
        cells = [f"{packages[n] / 1024:,.0f} KiB" if n in packages else "n/a" for n in names]
        cells += [f"{packages[a] / packages[b]:.3g}" if a in packages and b in packages else "n/a" for a, b in ratios]
        print("| package, zipped | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": args.rounds, "calls": args.calls, "runs": runs, "instructions": counted,
                       "packages": packages, "ratios": ratios}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
