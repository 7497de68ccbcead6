"""Side-by-side stdio benchmark: mcp-local against a FastMCP server of the same tool.

For each peer, rounds alternate (A B A B ...) so machine drift hits both. Per round:
- spawn to first reply: wall time from spawning the process to reading the
  reply to its `initialize` (sent at once);
- CPU per tools/call: (user+sys CPU of a session with N calls - that of a
  session with none) / N, both from wait4's rusage, so start-up cost cancels;
- call latency p50/p99: wall time of each request-reply round trip;
- peak RSS: VmHWM of the session with N calls, read just before it ends.

Prints a Markdown table (median, min, max per figure; ratios pair by pair)
and, with --json, writes the raw figures too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchlib import fmt, quantile, vm_hwm_kb

INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TEXT = "the quick brown fox jumps over the lazy dog " * 4


def _line(msg: dict) -> bytes:
    return (json.dumps(msg) + "\n").encode()


def session(cmd: list[str], calls: int) -> dict:
    """One whole session; returns its figures."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin and proc.stdout
    proc.stdin.write(_line(INIT))
    proc.stdin.flush()
    first = proc.stdout.readline()
    spawn_to_first_reply = time.perf_counter() - start
    if b'"result"' not in first:
        raise SystemExit(f"{cmd[0]}: bad initialize reply: {first[:200]!r}")
    proc.stdin.write(_line(INITIALIZED))
    latencies = []
    for i in range(calls):
        call = {
            "jsonrpc": "2.0",
            "id": i + 1,
            "method": "tools/call",
            "params": {"name": "word_count", "arguments": {"text": TEXT}},
        }
        t0 = time.perf_counter()
        proc.stdin.write(_line(call))
        proc.stdin.flush()
        reply = proc.stdout.readline()
        latencies.append(time.perf_counter() - t0)
        if b'"words":36' not in reply.replace(b" ", b""):
            raise SystemExit(f"{cmd[0]}: wrong tools/call reply: {reply[:300]!r}")
    peak_rss_kb = vm_hwm_kb(proc.pid)
    proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "spawn_to_first_reply_ms": spawn_to_first_reply * 1e3,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": peak_rss_kb / 1024,
        "latencies": latencies,
    }






def exec_floor_ms() -> float:
    """The floor: spawning a trivial binary and waiting for it to exit."""
    start = time.perf_counter()
    subprocess.run(["/bin/true"], check=True)
    return (time.perf_counter() - start) * 1e3


def measure(cmd: list[str], calls: int) -> dict:
    idle = session(cmd, 0)
    busy = session(cmd, calls)
    return {
        "spawn_to_first_reply_ms": idle["spawn_to_first_reply_ms"],
        "cpu_per_call_us": max(0.0, busy["cpu_s"] - idle["cpu_s"]) / max(calls, 1) * 1e6,
        "call_p50_us": quantile(busy["latencies"], 0.50) * 1e6 if calls else 0.0,
        "call_p99_us": quantile(busy["latencies"], 0.99) * 1e6 if calls else 0.0,
        "peak_rss_mb": busy["peak_rss_mb"],
    }


FIGURES = [
    ("spawn_to_first_reply_ms", "spawn to first reply (ms)"),
    ("cpu_per_call_us", "CPU per tools/call (µs)"),
    ("call_p50_us", "tools/call round trip p50 (µs)"),
    ("call_p99_us", "tools/call round trip p99 (µs)"),
    ("peak_rss_mb", "peak RSS (MB)"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mcp-local", required=True, help="path to the release mcp-local binary")
    parser.add_argument("--python", required=True, help="python of a virtualenv with mcp<2 (FastMCP)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()

    fastmcp = [args.python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fastmcp_word_count.py")]
    peers = {"mcp-local": [args.mcp_local], "FastMCP": fastmcp}
    runs: dict[str, list[dict]] = {name: [] for name in peers}
    floor: list[float] = []
    for r in range(args.rounds):
        for name, cmd in peers.items():  # A B A B ...
            runs[name].append(measure(cmd, args.calls))
        floor.append(exec_floor_ms())
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    lines = [
        f"stdio: {args.rounds} rounds, {args.calls} tools/call per session; median (min–max); "
        "ratio = mcp-local / FastMCP, pair by pair",
        "",
        "| figure | mcp-local | FastMCP | ratio |",
        "|---|---|---|---|",
    ]
    for key, label in FIGURES:
        ours = [run[key] for run in runs["mcp-local"]]
        theirs = [run[key] for run in runs["FastMCP"]]
        ratios = [a / b for a, b in zip(ours, theirs) if b > 0]
        ratio = fmt(ratios) if ratios else "n/a"
        lines.append(f"| {label} | {fmt(ours)} | {fmt(theirs)} | {ratio} |")
    ours = [run["spawn_to_first_reply_ms"] for run in runs["mcp-local"]]
    lines.append(f"| floor: exec of /bin/true to its exit (ms) | {fmt(floor)} | | "
                 f"mcp-local / floor: {fmt([a / b for a, b in zip(ours, floor)])} |")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": args.rounds, "calls": args.calls, "runs": runs, "floor_exec_ms": floor}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
