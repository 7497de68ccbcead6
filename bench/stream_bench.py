"""What response streaming costs and buys, on the local Runtime API emulator.

The same release `bootstrap` behind a buffered URL and behind a streaming one
(`--invoke-mode response-stream`), rounds alternating. Figures per round:
- first event: from sending `tools/call demo_progress` (5 steps of 100 ms,
  with a progressToken, accepting SSE) to the first SSE event's arrival;
- last event: to the reply's arrival;
- warm JSON round trip p50: `tools/call demo_echo` without SSE, which both
  answer as plain JSON (the streamed one after its prelude).
With --instructions K (valgrind installed): instructions per progress
notification, from K calls of demo_progress with 20 steps (21 notifications)
against K calls with 1 step (2 notifications), 0 ms steps, on one process.

Usage: stream_bench.py --emulator PATH --bootstrap PATH [--rounds N]
                       [--calls N] [--instructions K] [--json FILE]
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import time
import urllib.parse

from benchlib import alternate, figure_rows, quantile, table, two_ways_parser
from lambda_bench import HEADERS, instructions, request, start

SSE_HEADERS = dict(HEADERS, Accept="application/json, text/event-stream")
MODES = {"buffered": (), "streamed": ("--invoke-mode", "response-stream")}


def progress_call(steps: int, step_ms: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "demo_progress", "arguments": {"steps": steps, "step_ms": step_ms},
                                  "_meta": {"progressToken": 1}}}).encode()


def timed_events(conn: http.client.HTTPConnection) -> tuple[float, float]:
    """Seconds to the first SSE event and to the reply of one slow call."""
    t0 = time.perf_counter()
    conn.request("POST", "/", progress_call(5, 100), SSE_HEADERS)
    response = conn.getresponse()
    first = last = None
    while line := response.readline():
        if line.startswith(b"data: "):
            first = first or time.perf_counter() - t0
            if b'"result"' in line:
                last = time.perf_counter() - t0
    response.read()  # the end of the body: the connection is free again
    if first is None or last is None:
        raise SystemExit(f"the stream ended without a reply (status {response.status})")
    return first, last


def one_round(emulator: str, bootstrap: str, mode: str, calls: int) -> dict:
    proc, ready = start(emulator, bootstrap, extra=MODES[mode])
    try:
        url = urllib.parse.urlsplit(ready["functionUrl"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        request(conn, mode)  # the cold start stays out of the figures
        first, last = timed_events(conn)
        latencies = []
        for _ in range(calls):
            t0 = time.perf_counter()
            request(conn, mode)
            latencies.append(time.perf_counter() - t0)
        return {"first_event_ms": first * 1e3, "reply_ms": last * 1e3, "json_p50_us": quantile(latencies, 0.5) * 1e6}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def per_notification(emulator: str, bootstrap: str, mode: str, k: int) -> float:
    def calls(steps: int):
        def send(conn: http.client.HTTPConnection, i: int, _ready: dict) -> None:
            # The first request warms the process up identically in both runs.
            body = progress_call(1 if i == 0 else steps, 0)
            request(conn, mode, call=body, headers=SSE_HEADERS, expect=b'"steps"')
        return instructions(emulator, mode, bootstrap, 1 + k, env=MODES[mode], send=send)

    few, many = calls(1), calls(20)
    return (many - few) / (k * 19)


FIGURES = [
    ("first_event_ms", "first event of a 5 x 100 ms call (ms)"),
    ("reply_ms", "its reply (ms)"),
    ("json_p50_us", "warm JSON round trip p50 (µs)"),
]


def main() -> int:
    args = two_ways_parser(__doc__).parse_args()
    runs = alternate("stream", args.rounds, MODES,
                     lambda mode: one_round(args.emulator, args.bootstrap, mode, args.calls))
    counted = {}
    if args.instructions and shutil.which("valgrind"):
        counted = {mode: per_notification(args.emulator, args.bootstrap, mode, args.instructions) for mode in MODES}
    print(f"Response streaming on the local emulator: {args.rounds} rounds, {args.calls} warm JSON calls each; "
          "median (min–max)\n")
    rows = figure_rows(runs, "buffered", "streamed", FIGURES)
    if counted:
        rows.append([f"instructions per progress notification (over {args.instructions} x 19)"]
                    + [f"{counted[m]:,.0f}" for m in MODES] + [f"{counted['streamed'] / counted['buffered']:.3g}"])
    print(table(["figure", "buffered URL", "streaming URL", "streaming / buffered"], rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": args.rounds, "calls": args.calls, "runs": runs, "instructions": counted,
                       "instructions_k": args.instructions}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
