"""Rate limits that hold across Lambda instances: the real bootstrap, scaled
out by the emulator to 8 instances, counting in a DynamoDB table served by
moto (the function reaches it through AWS_ENDPOINT_URL, with the credentials
the emulator gives it as Lambda would).

16 callers at once, four per principal: each principal gets exactly its
quota per tool and window, not one call more, and every response's headers
agree with what happened to it.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import contract_table, iam_principals, running_emulator, running_moto

TABLE = "mcp-ladder-rate-limits"
LIMITS = {"default": "7/1h", "tools": {"word_count": "5/1h"}}
QUOTA = {"word_count": 5, "demo_echo": 7}
PRINCIPALS = 4
THREADS_PER_PRINCIPAL = 4
CALLS_PER_THREAD = 6  # three of each tool: 12 per principal and tool, over both quotas


@pytest.fixture(scope="module")
def moto():
    yield from running_moto({})


@pytest.fixture(scope="module")
def table(moto) -> str:
    # The table's contract: partition key pk (String), no sort key, TTL attribute ttl.
    return contract_table(moto, TABLE)


@pytest.fixture(scope="module")
def principals(tmp_path_factory):
    return iam_principals(tmp_path_factory, "caller", PRINCIPALS)


@pytest.fixture(scope="module")
def emulator(moto, table, principals):
    account, _, path = principals
    yield from running_emulator("aws-iam", (
        "--principals", path,
        "--concurrency", "8",
        "--env", f"MCP_RATE_LIMITS={json.dumps(LIMITS)}",
        "--env", f"MCP_RATE_LIMIT_TABLE={table}",
        # A debug build's first check per instance (TLS roots, the client) can take
        # longer than the default budget on 2 busy cores: this test is about
        # exact counts; the budget has its own tests (mcp-lambda invocations).
        "--env", "MCP_RATE_LIMIT_BUDGET_MS=10000",
        "--env", f"AWS_ENDPOINT_URL={moto}",
    ), account)


def _call(url: str, region: str, who: dict, tool: str, n: int) -> tuple[int, dict, dict]:
    arguments = {"text": f"call {n}"} if tool == "word_count" else {"message": f"call {n}"}
    body = json.dumps({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments}}).encode()
    for _ in range(200):  # Lambda's own 429 (all 8 instances busy): back off and retry
        request = AWSRequest(method="POST", url=url, data=body, headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25"})
        SigV4Auth(Credentials(who["accessKeyId"], who["secretAccessKey"]), "lambda", region).add_auth(request)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=dict(request.headers)),
                                        timeout=30) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, json.load(r)
        except urllib.error.HTTPError as e:
            headers, payload = {k.lower(): v for k, v in e.headers.items()}, e.read()
            if e.code == 429 and headers.get("x-amzn-errortype") == "TooManyRequestsException":
                time.sleep(0.02 + random.random() / 20)
                continue
            return e.code, headers, json.loads(payload)
    pytest.fail("throttled by the emulator 200 times in a row")


def _field(header: str, key: str) -> int:
    """`"word_count";r=4;t=42` -> the value of `key`."""
    return int(next(p.split("=", 1)[1] for p in header.split(";")[1:] if p.startswith(f"{key}=")))


def test_limits_hold_across_instances(emulator, principals) -> None:
    _, people, _ = principals
    jobs = [
        (who, ("word_count", "demo_echo")[(t + c) % 2], 1000 * t + c)
        for who in people
        for t in range(THREADS_PER_PRINCIPAL)
        for c in range(CALLS_PER_THREAD)
    ]
    # Each thread runs one caller's sequence; 16 run at once.
    sequences = defaultdict(list)
    for i, job in enumerate(jobs):
        sequences[i // CALLS_PER_THREAD].append(job)
    started = time.time()

    def run(sequence):
        return [(who["arn"], tool, *_call(emulator.url, emulator.region, who, tool, n)) for who, tool, n in sequence]

    with ThreadPoolExecutor(max_workers=PRINCIPALS * THREADS_PER_PRINCIPAL) as pool:
        results = [r for rs in pool.map(run, sequences.values()) for r in rs]
    assert len(results) == len(jobs)

    # Group by caller, tool and window (a window's end, from when each answer came and its t).
    admitted, refused = defaultdict(list), defaultdict(list)
    for arn, tool, status, headers, body in results:
        policy = "word_count" if tool == "word_count" else "default"
        assert headers.get("ratelimit-policy") == f'"{policy}";q={QUOTA[tool]};w=3600', (headers, body)
        state = headers["ratelimit"]
        assert state.startswith(f'"{policy}";'), state
        window_end = round((started + _field(state, "t")) / 3600)
        key = (arn, tool, window_end)
        if status == 200:
            assert "error" not in body and body["result"]["isError"] is False, body
            admitted[key].append(_field(state, "r"))
        else:
            assert status == 429, (status, body)
            assert _field(state, "r") == 0
            assert int(headers["retry-after"]) >= _field(state, "t") > 0
            error = body["error"]
            assert error["code"] == -32029 and error["data"]["tool"] == tool, error
            assert "Try again in" in error["message"]
            refused[key].append(body)

    windows = defaultdict(set)
    for arn, tool, window in set(admitted) | set(refused):
        windows[(arn, tool)].add(window)
    assert len(windows) == PRINCIPALS * 2, windows
    for (arn, tool), seen in windows.items():
        quota = QUOTA[tool]
        calls = sum(len(admitted[(arn, tool, w)]) + len(refused[(arn, tool, w)]) for w in seen)
        assert calls == THREADS_PER_PRINCIPAL * CALLS_PER_THREAD // 2, (arn, tool, calls)
        for w in seen:
            # Each admitted call saw its own count: r runs quota-1 down to 0, no repeats.
            remaining = sorted(admitted[(arn, tool, w)])
            assert remaining == list(range(quota - len(remaining), quota)), (arn, tool, remaining)
        if len(seen) == 1:  # the usual case: no hour boundary during the test
            assert len(admitted[(arn, tool, seen.pop())]) == quota, (arn, tool)

    with urllib.request.urlopen(emulator.stats_url, timeout=5) as r:
        stats = json.load(r)
    assert stats["instances"] > 1, stats
    assert stats["instances"] <= 8, stats
    # Every answered call ran the function once; nothing was lost or doubled.
    assert stats["invocations"] == len(jobs), stats
