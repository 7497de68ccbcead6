"""The cost ladder: dollars per million tool calls on each rung, from the bench's
measurements of this project's function (and of the Python handler beside it) and a
table of AWS prices (bench/prices.json, each price with its page and the day it was read).

Usage: cost.py --lambda lambda.json --prices prices.json --out cost.md [--machine TEXT]

What is measured (lambda_bench.py, on the local Runtime API emulator): each function's
warm round trip p50, init time and peak RSS, the DynamoDB-counting function's round trip,
and the bytes of log and metric lines per call. What is priced: Lambda bills each
invocation's duration rounded up to the millisecond at the configured memory, and the init
of a cold start likewise; the round trip (which includes the emulator's two local hops)
stands for the duration, so the figures are an upper bound for this machine's speed.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys

MILLION = 1_000_000
# Lambda's smallest memory setting, which the deploy CLI uses by default.
MIN_MEMORY_MB = 128


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


class Function:
    """One measured function: what Lambda would bill for it."""

    def __init__(self, runs: list[dict]):
        self.duration_ms = median(runs, "warm_p50_us") / 1e3
        self.init_ms = median(runs, "init_ms")
        self.peak_rss_mb = median(runs, "peak_rss_mb")
        self.log_bytes = median(runs, "log_bytes_per_call") if all("log_bytes_per_call" in r for r in runs) else 0.0

    @property
    def memory_mb(self) -> int:
        """The smallest memory setting its peak RSS fits in (Lambda sets memory by the MB)."""
        return max(MIN_MEMORY_MB, math.ceil(self.peak_rss_mb))

    def billed_ms(self) -> int:
        return max(1, math.ceil(self.duration_ms))

    def per_million(self, prices: dict, arch: str) -> float:
        """Requests and duration of a million warm calls."""
        gb_s = self.billed_ms() / 1e3 * self.memory_mb / 1024
        return MILLION * (prices["lambda_request"] + gb_s * prices[f"lambda_gb_second_{arch}"])

    def per_million_cold_starts(self, prices: dict, arch: str) -> float:
        """The init phase of a million cold starts, billed as duration."""
        gb_s = max(1, math.ceil(self.init_ms)) / 1e3 * self.memory_mb / 1024
        return MILLION * gb_s * prices[f"lambda_gb_second_{arch}"]

    def logs_per_million(self, prices: dict) -> float:
        return MILLION * self.log_bytes / 1e9 * prices["cloudwatch_logs_ingest_gb"]


def usd(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ladder(rust: Function, python: Function, shared: Function | None, p: dict) -> list[list[str]]:
    """Per million calls, each rung: this project's function and the Python handler."""
    arm = "arm64"
    rows = []
    for arch in ("x86_64", "arm64"):
        rows.append([f"2. IAM Function URL ({arch})", "Lambda requests and duration",
                     usd(rust.per_million(p, arch)), usd(python.per_million(p, arch))])
    edge = MILLION * (p["api_gateway_rest_request"] + p["waf_request"])
    rows.append(["3. AgentCore Gateway, per million tool calls (arm64)", "Lambda + gateway InvokeTool",
                 usd(rust.per_million(p, arm) + MILLION * p["agentcore_gateway_invocation"]),
                 usd(python.per_million(p, arm) + MILLION * p["agentcore_gateway_invocation"])])
    rows.append(["3. AgentCore Gateway, per million tool searches", "gateway Search API",
                 usd(MILLION * p["agentcore_gateway_search"]), usd(MILLION * p["agentcore_gateway_search"])])
    rows.append(["4. API Gateway REST + WAF (arm64)", "Lambda + REST API calls + WAF requests",
                 usd(rust.per_million(p, arm) + edge), usd(python.per_million(p, arm) + edge)])
    if shared is not None:
        counted = shared.per_million(p, arm) + MILLION * p["dynamodb_write_request"]
        rows.append(["+ DynamoDB rate limits (any rung)", "one UpdateItem per call; Lambda at its measured duration",
                     f"+{usd(counted - rust.per_million(p, arm))}", "not measured"])
    rows.append(["+ log and metric lines (any rung)", "CloudWatch Logs ingestion of what the function writes",
                 f"+{usd(rust.logs_per_million(p))}", f"+{usd(python.logs_per_million(p))}"])
    return rows


def render(lam: dict, prices_doc: dict, machine: str) -> str:
    p = {name: entry["usd"] for name, entry in prices_doc["prices"].items()}
    runs = lam["runs"]
    rust, python = Function(runs["rust"]), Function(runs["python"])
    shared = Function(runs["rust-shared"]) if "rust-shared" in runs else None
    measured = [[name, f"{f.duration_ms:.3f}", str(f.billed_ms()), f"{f.init_ms:.1f}", f"{f.peak_rss_mb:.1f}",
                 str(f.memory_mb), f"{f.log_bytes:.0f}"]
                for name, f in [("rust (this project)", rust), ("python (stdlib handler)", python)]
                + ([("rust, counting in DynamoDB", shared)] if shared else [])]
    cold = [[arch, usd(rust.per_million_cold_starts(p, arch)), usd(python.per_million_cold_starts(p, arch))]
            for arch in ("x86_64", "arm64")]
    fixed = [
        ["4. WAF web ACL", usd(p["waf_web_acl_month"])],
        ["4. WAF rules (rate per IP, AWS common rule set)", usd(2 * p["waf_rule_month"])],
        ["3. gateway tool index (per 100 tools)", usd(100 * p["agentcore_gateway_tool_index_month"])],
        ["metrics, for the function (calls in total and by outcome, duration, cold starts: up to 8)",
         usd(8 * p["cloudwatch_custom_metric_month"])],
        ["metrics, per tool served (calls by tool and by outcome, duration: up to 7)",
         usd(7 * p["cloudwatch_custom_metric_month"])],
        ["every stack: the requestState key's secret (and per million cold starts, one read each: "
         f"{usd(1e6 * p['secrets_manager_api_call'])})", usd(p["secrets_manager_secret_month"])],
    ]
    if (rust.billed_ms(), rust.memory_mb) == (python.billed_ms(), python.memory_mb):
        warm_note = (f"Both peers are billed {rust.billed_ms()} ms at {rust.memory_mb} MB per warm call: "
                     "Lambda's rounding to the millisecond hides their difference, which shows in cold starts.")
    else:
        warm_note = (f"Per warm call the function is billed {rust.billed_ms()} ms at {rust.memory_mb} MB, "
                     f"the Python handler {python.billed_ms()} ms at {python.memory_mb} MB.")
    sources = [f"- `{name}`: {entry['what']}: ${entry['usd']:g} per {entry['per']} ({entry['source']}, read "
               f"{entry['read']}" + (f", as quoted by {entry['quoted_by']}" if "quoted_by" in entry else "") + ")"
               for name, entry in prices_doc["prices"].items()]
    return f"""# What it costs

Produced by `scripts/bench.sh` (`bench/cost.py`) from that run's measurements on {machine} and the
prices in `bench/prices.json` ({prices_doc['region']}, {prices_doc['currency']}, on-demand, no free
tier). Dollars per million tool calls, next to the same behaviour as a Python handler
(`bench/python_lambda/handler.py`) on the same rung; the fixed monthly parts are apart below.

## What was measured

Lambda bills a call's duration rounded up to the millisecond at the configured memory, and
{usd(MILLION * p['lambda_request'])} per million requests; the measured warm round trip (through the emulator's two local
hops, so an upper bound) stands for the duration, and the memory is the smallest setting the
measured peak RSS fits in. Log bytes are what the function wrote per call at the bench's log
level (errors only: the metric line), not counting Lambda's own platform lines.

{table(["function", "warm call (ms)", "billed (ms)", "init (ms)", "peak RSS (MB)", "memory (MB)", "log bytes per call"], measured)}

## Per million tool calls

{table(["rung", "what is billed", "rust", "python"], ladder(rust, python, shared, p))}

A Function URL adds no charge of its own: its calls are the function's requests. The
DynamoDB row's duration was measured against moto on this machine (a local server), not
DynamoDB in a region. The gateway
rung counts one `InvokeTool` per call; a client that lists tools (`ListTools`) or searches
pays for those too. {warm_note}

## Per million cold starts

Lambda bills a cold start's init phase as duration at the function's memory: always for a
custom runtime such as this project's `provided.al2023`, and since 1 August 2025 for managed
runtimes such as Python's too (AWS Compute Blog, "AWS Lambda standardizes billing for INIT
Phase": https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).

{table(["architecture", "rust", "python"], cold)}

## Fixed monthly parts

Whatever the traffic, per month (prorated by the hour):

{table(["part", "per month"], fixed)}

## Prices

{chr(10).join(sources)}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lambda", dest="lam", required=True, help="lambda_bench.py's JSON")
    parser.add_argument("--prices", required=True)
    parser.add_argument("--out", required=True, help="the Markdown file to write")
    parser.add_argument("--machine", default="this machine")
    args = parser.parse_args()
    with open(args.lam) as f:
        lam = json.load(f)
    with open(args.prices) as f:
        prices = json.load(f)
    missing = [name for name in ("rust", "python") if name not in lam.get("runs", {})]
    if missing:
        print(f"cost.py: {args.lam} has no runs of {', '.join(missing)}: run lambda_bench.py with both", file=sys.stderr)
        return 2
    with open(args.out, "w") as f:
        f.write(render(lam, prices, args.machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
