"""Renders docs/benchmarks.md and docs/benchmarks.svg from the JSON that
stdio_bench.py and lambda_bench.py wrote in one run.

Usage: report.py --stdio stdio.json --lambda lambda.json [--stream stream.json] [--oauth oauth.json]
                 --out DIR --machine TEXT
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

from benchlib import figure_rows, fmt, pair_ratios, table
from lambda_bench import FIGURES as LAMBDA_FIGURES
from stdio_bench import FIGURES as STDIO_FIGURES
from oauth_bench import FIGURES as OAUTH_FIGURES
from stream_bench import FIGURES as STREAM_FIGURES


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def svg(bars: list[tuple[str, float, float]]) -> str:
    """Horizontal bars of ratios (ours / theirs) on a log scale, with each goal as a tick."""
    import math

    width, left, row = 760, 330, 34
    height = 60 + row * len(bars)
    lo, hi = 1e-4, 10.0

    def x(v: float) -> float:
        v = min(max(v, lo), hi)
        return left + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (width - left - 20)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="20" font-size="14" font-weight="bold">mcp-ladder / peer, median of pair-by-pair ratios (log scale; shorter is better)</text>']
    for decade in range(-4, 2):
        gx = x(10.0 ** decade)
        parts.append(f'<line x1="{gx:.1f}" y1="30" x2="{gx:.1f}" y2="{height - 10}" stroke="#ddd"/>')
        parts.append(f'<text x="{gx:.1f}" y="{height - 2}" text-anchor="middle" fill="#666">{10.0 ** decade:g}</text>')
    for i, (label, ratio, goal) in enumerate(bars):
        y = 40 + i * row
        if ratio != ratio:
            continue  # not measured
        colour = "#2e7d32" if ratio <= goal else "#c62828"
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{label}</text>')
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{max(x(ratio) - left, 1):.1f}" height="16" fill="{colour}"/>')
        parts.append(f'<text x="{x(ratio) + 4:.1f}" y="{y + 16}">{ratio:.3g}</text>')
        gx = x(goal)
        parts.append(f'<line x1="{gx:.1f}" y1="{y}" x2="{gx:.1f}" y2="{y + 24}" stroke="black" stroke-width="2"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdio", required=True)
    parser.add_argument("--lambda", dest="lam", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--machine", default="")
    parser.add_argument("--stream", help="stream_bench.py's JSON: the response-streaming section")
    parser.add_argument("--oauth", help="oauth_bench.py's JSON: the bearer-token section")
    parser.add_argument("--artifact", help="the function's zip as deployed (cargo-lambda), for the size goal")
    args = parser.parse_args()
    with open(args.stdio) as f:
        stdio = json.load(f)
    with open(args.lam) as f:
        lam = json.load(f)
    sruns, lruns = stdio["runs"], lam["runs"]
    counted, packages = lam.get("instructions", {}), lam.get("packages", {})

    stdio_rows = []
    for key, label in STDIO_FIGURES:
        stdio_rows.append([label, fmt([r[key] for r in sruns["mcp-local"]]), fmt([r[key] for r in sruns["FastMCP"]]),
                           fmt(pair_ratios(sruns, "mcp-local", "FastMCP", key))])
    floor = stdio["floor_exec_ms"]
    stdio_rows.append(["floor: exec of /bin/true to its exit (ms)", fmt(floor), "", ""])

    lam_rows = []
    for key, label in LAMBDA_FIGURES:
        lam_rows.append([label] + [fmt([r[key] for r in lruns[n]]) for n in ("rust", "python", "floor")]
                        + [fmt(pair_ratios(lruns, "rust", "python", key)), fmt(pair_ratios(lruns, "rust", "floor", key))])
    if counted:
        for key, label in [("init_instructions", "instructions to serve 1 request"),
                           ("per_request_instructions", "instructions per warm request")]:
            lam_rows.append([label] + [f"{counted[n][key]:,.0f}" for n in ("rust", "python", "floor")]
                            + [f"{counted['rust'][key] / counted['python'][key]:.3g}",
                               f"{counted['rust'][key] / counted['floor'][key]:.3g}"])
    if packages:
        lam_rows.append(["package, zipped (KiB)"] + [f"{packages[n] / 1024:,.0f}" for n in ("rust", "python", "floor")]
                        + [f"{packages['rust'] / packages['python']:.3g}", f"{packages['rust'] / packages['floor']:.3g}"])

    def r(runs, a, b, key):
        return med(pair_ratios(runs, a, b, key))

    goals = [
        ("Lambda init vs Python", r(lruns, "rust", "python", "init_ms"), 0.1),
        ("Lambda init vs the lambda_http floor", r(lruns, "rust", "floor", "init_ms"), 2.0),
        ("warm invocation p50 vs Python", r(lruns, "rust", "python", "warm_p50_us"), 0.7),
        ("Lambda peak RSS vs Python", r(lruns, "rust", "python", "peak_rss_mb"), 0.5),
        ("stdio spawn to first reply vs FastMCP", r(sruns, "mcp-local", "FastMCP", "spawn_to_first_reply_ms"), 0.02),
        ("stdio CPU per call vs FastMCP", r(sruns, "mcp-local", "FastMCP", "cpu_per_call_us"), 0.05),
    ]
    if counted:
        goals.insert(3, ("warm invocation, instructions per request vs Python",
                         counted["rust"]["per_request_instructions"] / counted["python"]["per_request_instructions"], 0.7))
        goals.insert(4, ("warm invocation, instructions per request vs the lambda_http floor",
                         counted["rust"]["per_request_instructions"] / counted["floor"]["per_request_instructions"], 1.15))
    if "rust-shared" in lruns:
        goals.insert(2, ("Lambda init with the DynamoDB rate-limit client vs the floor",
                         r(lruns, "rust-shared", "floor", "init_ms"), 1.5))
    oauth_data = None
    if args.oauth:
        with open(args.oauth) as f:
            oauth_data = json.load(f)
        floor_init = oauth_data.get("floor_init_ms") or []
        if floor_init:
            pairs = [o["init_ms"] / fl for o, fl in zip(oauth_data["runs"]["oauth"], floor_init) if fl > 0]
            goals.append(("Lambda init with MCP_AUTH=oauth vs the floor", med(pairs), 1.5))

    def verdict(ratio: float, goal: float) -> str:
        if ratio != ratio:  # NaN: too few samples to tell
            return "not measured"
        return "met" if ratio <= goal else "**not met**"

    goal_rows = [[name, f"≤ {goal:g}×", f"{ratio:.3g}×", verdict(ratio, goal)] for name, ratio, goal in goals]
    # The goal is the zip Lambda receives; the host build's zip (in the Lambda
    # table, beside Python's and the floor's) is larger, its linker keeps more.
    sized = [("zipped function as deployed (cargo-lambda, x86_64)", os.path.getsize(args.artifact))] \
        if args.artifact else []
    if "rust" in packages:
        sized.append(("zipped bootstrap, host build", packages["rust"]))
    for label, size in sized:
        mib = size / 2**20
        goal_rows.append([label, "< 2 MiB", f"{mib:.2f} MiB", "met" if mib < 2 else "**not met**"])

    gateway = ""
    if "rust-gateway" in counted:
        via_gateway = counted["rust-gateway"]["per_request_instructions"]
        via_url = counted["rust"]["per_request_instructions"]
        gateway = f"""
## The gateway path

The same `demo_echo` call through the emulator's local AgentCore Gateway, which invokes the
function directly with the arguments as the event and the tool in the client context:
the function executes {via_gateway:,.0f} instructions per warm call, against {via_url:,.0f}
through the Function URL ({via_gateway / via_url:.3g}×). (Counted in the function's process
only: the local gateway's own work is the emulator's, as AWS's gateway is AWS's.)
"""
    limits = ""
    if "rust-limited" in lruns and "rust-shared" in lruns:
        names = ("rust", "rust-limited", "rust-shared")
        rows = [[label] + [fmt([x[key] for x in lruns[n]]) for n in names]
                + [fmt(pair_ratios(lruns, "rust-limited", "rust", key)), fmt(pair_ratios(lruns, "rust-shared", "rust", key))]
                for key, label in LAMBDA_FIGURES]
        added = ""
        if all(n in counted for n in names):
            for key, label in [("init_instructions", "instructions to serve 1 request"),
                               ("per_request_instructions", "instructions per warm request")]:
                rows.append([label] + [f"{counted[n][key]:,.0f}" for n in names]
                            + [f"{counted[n][key] / counted['rust'][key]:.3g}" for n in names[1:]])
            base = counted["rust"]["per_request_instructions"]
            added = (f"Per warm call the in-process counter adds "
                     f"{counted['rust-limited']['per_request_instructions'] - base:,.0f} instructions and the "
                     f"DynamoDB counter {counted['rust-shared']['per_request_instructions'] - base:,.0f} (building, "
                     "signing and sending the `UpdateItem`, reading its answer). ")
        p50 = {n: med([x["warm_p50_us"] for x in lruns[n]]) for n in names}
        added += (f"Wall time, p50: +{p50['rust-limited'] - p50['rust']:.0f} µs in process, "
                  f"+{p50['rust-shared'] - p50['rust']:.0f} µs with the table, most of which is moto (a Python "
                  "server) answering; in a region, DynamoDB's `UpdateItem` typically takes single-digit milliseconds.")
        limits = f"""
## Rate limits: what counting costs

The same function and call with `MCP_RATE_LIMITS` set (a quota no run reaches, so every
call is counted and admitted): `rust-limited` counts in process; `rust-shared` counts in a
DynamoDB table (`MCP_RATE_LIMIT_TABLE`) served by moto on 127.0.0.1, one conditional
`UpdateItem` per call, over plain HTTP (no TLS, which AWS adds). The client is built on the
first limited call, so init stays the floor's.

{table(["figure", "rust", "rust-limited", "rust-shared", "limited / rust", "shared / rust"], rows)}

{added}
"""
    streaming = ""
    if args.stream:
        with open(args.stream) as f:
            stream = json.load(f)
        sruns, counted = stream["runs"], stream["instructions"]
        rows = figure_rows(sruns, "buffered", "streamed", STREAM_FIGURES)
        if counted:
            rows.append([f"instructions per progress notification (over {stream['instructions_k']} x 19)",
                         f"{counted['buffered']:,.0f}", f"{counted['streamed']:,.0f}",
                         f"{counted['streamed'] / counted['buffered']:.3g}"])
        streaming = f"""
## Response streaming: what it costs and buys

A tool that reports progress, behind a buffered Function URL and behind a streaming one
(`--invoke-mode response-stream`), the same release `bootstrap` (`bench/stream_bench.py`,
{stream["rounds"]} rounds, {stream["calls"]} warm JSON calls each). The first event is what a
user waits for before seeing anything; plain JSON answers pay the prelude when streamed. The
instructions per notification include `demo_progress`'s own step (a zero-length sleep and a
`format!`).

{table(["figure", "buffered URL", "streaming URL", "streaming / buffered"], rows)}
"""
    bearer = ""
    if oauth_data:
        oruns, ocounted = oauth_data["runs"], oauth_data["instructions"]
        rows = figure_rows(oruns, "iam", "oauth", OAUTH_FIGURES)
        total = oauth_data["rounds"] * oauth_data["calls"]
        rows.append([f"issuer key set fetches in {total} warm calls", "-", str(oauth_data["warm_key_set_fetches"]),
                     f"{oauth_data['warm_key_set_fetches'] / total:g} per warm request"])
        if ocounted:
            k = oauth_data['instructions_k']
            rows.append([f"instructions per warm request, one token (over {k})",
                         f"{ocounted['iam']:,.0f}", f"{ocounted['oauth']:,.0f}",
                         f"{ocounted['oauth'] / ocounted['iam']:.3g} (+{ocounted['oauth'] - ocounted['iam']:,.0f})"])
            if "oauth-fresh" in ocounted:
                fresh = ocounted["oauth-fresh"]
                rows.append([f"instructions per warm request, a new token each time (over {k})",
                             f"{ocounted['iam']:,.0f}", f"{fresh:,.0f}",
                             f"{fresh / ocounted['iam']:.3g} (+{fresh - ocounted['iam']:,.0f})"])
        bearer = f"""
## Bearer tokens: what the resource server costs

The same release `bootstrap` behind the same local Function URL, trusting IAM
(`MCP_AUTH=iam`, no check) and checking a bearer token on every request (`MCP_AUTH=oauth`,
the emulator's development issuer, one ES256 token: signature by ring, then `iss`, `aud`,
`exp` and scopes), `bench/oauth_bench.py`, {oauth_data["rounds"]} rounds, {oauth_data["calls"]}
warm `tools/call demo_echo` each. The first request of an `oauth` instance fetches the
issuer's metadata and key set; warm requests fetch nothing. A token is checked in full once,
then found among the instance's verified tokens (by SHA-256, until its `exp`): the two
instruction rows are a client reusing its token, and a new token on every request.

{table(["figure", "MCP_AUTH=iam", "MCP_AUTH=oauth", "oauth / iam"], rows)}
"""
    md = f"""# Benchmarks

Produced by `scripts/bench.sh` in one run on {args.machine or "this machine"}; every figure is
the median (min–max) over the rounds, peers alternating round by round (A B A B ...), and
ratios are taken pair by pair, then their median. Wall times on a shared 2-core machine are
noisy; the instruction counts (valgrind callgrind) are the repeatable figures.

![ratios](benchmarks.svg)

## Goals

{table(["goal", "target", "measured", ""], goal_rows)}

The warm round trip through the emulator is mostly the harness: the `floor` function, which
does nothing, takes {fmt([r["warm_p50_us"] for r in lruns["floor"]])} µs of it. Wall time
therefore cannot resolve the function's own share of a warm invocation; the instructions it
executes per request can, and that row is the one to judge the warm-invocation goal by.

## Local stdio: mcp-local against FastMCP

`mcp-local` against a FastMCP server of the same `word_count` tool (`bench/fastmcp_word_count.py`,
official Python SDK `mcp<2`), {stdio["rounds"]} rounds, {stdio["calls"]} `tools/call` per session.
CPU per call is (CPU of a session with the calls − CPU of a session without) / calls.

{table(["figure", "mcp-local", "FastMCP", "mcp-local / FastMCP"], stdio_rows)}

## Lambda: the function on the local Runtime API emulator

`rust` is this project's `bootstrap`; `python` is a stdlib handler of the same behaviour
(`bench/python_lambda/handler.py`) run by `awslambdaric`, as the python3.12 runtime would;
`floor` is the smallest `lambda_http` function (`bench/lambda-floor`, a constant reply).
Each round starts fresh instances; {lam["rounds"]} rounds, {lam["calls"]} warm `tools/call demo_echo` each.
Round trips include the emulator's two local HTTP hops and the Python client.

{table(["figure", "rust", "python", "floor", "rust / python", "rust / floor"], lam_rows)}

## The release profile

`opt-level = "s"`, `lto = "fat"`, `codegen-units = 1`, `strip = true`, panics unwind. Measured
against `opt-level = 3` (same LTO and codegen units) with `bench/lambda_bench.py`, 7 rounds:
`bootstrap` 1.75 MB instead of 2.33 MB (zip 0.88 MB instead of 1.12 MB), peak RSS 3.82 MB
instead of 4.23 MB, init 1.75 ms against 1.85 ms, warm round trip unchanged within noise
(431 µs against 421 µs); `opt-level = "z"` was 1% smaller again with no measurable gain.
`panic = "abort"` is not used: the invocation loop catches a handler panic and reports it
through the Runtime API as a function error, and abort would crash the instance instead.
`serde_json`, `mcp-core` and `mcp-http` are built at `opt-level = 3` (the JSON path of every
request): at "s", serde_json calls a non-inlined `Vec::extend_from_slice` and `memcpy` per
token, and a reply took twice the instructions.
{gateway}{limits}{streaming}{bearer}"""
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "benchmarks.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "benchmarks.svg"), "w") as f:
        f.write(svg([(name, ratio, goal) for name, ratio, goal in goals]))
    print(f"wrote {args.out}/benchmarks.md and benchmarks.svg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
