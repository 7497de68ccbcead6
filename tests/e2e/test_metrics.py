"""Metrics and trace context, as CloudWatch would see them: the real bootstrap
behind the emulator's IAM Function URL, signed calls by botocore, and what the
function wrote on stdout and stderr - its embedded metric format (EMF) lines,
turned into metrics by the emulator as CloudWatch Logs does, and its JSON log
lines.

Each tool's calls are counted by outcome with their durations, the cold start
once for the one instance, and the trace id of each request's `traceparent`
(SEP-414, in `_meta`) is in that call's log line, its metric line and its
notifications; a call without one carries the X-Ray trace Lambda gave it.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import running_emulator

NAMESPACE = "mcp-ladder/test-metrics"
LIMITS = {"tools": {"demo_echo": "1/1h"}}


@pytest.fixture(scope="module")
def emulator():
    yield from running_emulator("aws-iam", (
        "--concurrency", "1",
        "--env", "RUST_LOG=info",
        "--env", f"MCP_METRICS_NAMESPACE={NAMESPACE}",
        "--env", f"MCP_RATE_LIMITS={json.dumps(LIMITS)}",
    ))


def _traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


def _call(emulator, tool: str, arguments: dict, traceparent: str | None = None,
          accept: str = "application/json") -> tuple[int, str]:
    meta = {"traceparent": traceparent} if traceparent else {}
    if tool == "demo_progress":
        meta["progressToken"] = "p-1"
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments, "_meta": meta}}).encode()
    headers = {"Content-Type": "application/json", "Accept": accept, "MCP-Protocol-Version": "2025-11-25"}
    request = AWSRequest(method="POST", url=emulator.url, data=body, headers=headers)
    creds = Credentials(emulator.env["AWS_ACCESS_KEY_ID"], emulator.env["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(creds, "lambda", emulator.region).add_auth(request)
    signed = urllib.request.Request(emulator.url, data=body, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(signed, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _metric(rows: list, name: str, **dimensions) -> dict | None:
    found = [r for r in rows if r["namespace"] == NAMESPACE and r["metric"] == name
             and r["dimensions"] == dimensions]
    assert len(found) <= 1, found
    return found[0] if found else None


@pytest.fixture(scope="module")
def calls(emulator) -> dict:
    """A few calls of each outcome but a scope refusal (IAM callers have no
    scopes; the core's tests cover it), each with its own trace."""
    made = {}
    for key, tool, arguments in [
        ("ok", "word_count", {"text": "one two three"}),
        ("tool_error", "word_count", {"text": 5}),
        ("failed", "no_such_tool", {}),
        ("echo", "demo_echo", {"message": "hi"}),
        ("limited", "demo_echo", {"message": "again"}),
    ]:
        traceparent, trace_id = _traceparent()
        status, _ = _call(emulator, tool, arguments, traceparent)
        made[key] = {"tool": tool, "status": status, "trace_id": trace_id}
    status, body = _call(emulator, "word_count", {"text": "no trace"})
    made["untraced"] = {"tool": "word_count", "status": status, "body": body}
    traceparent, trace_id = _traceparent()
    status, body = _call(emulator, "demo_progress", {"steps": 2, "step_ms": 1}, traceparent,
                         accept="application/json, text/event-stream")
    made["progress"] = {"tool": "demo_progress", "status": status, "trace_id": trace_id,
                        "traceparent": traceparent, "body": body}
    return made


def test_each_tool_is_counted_by_outcome_with_its_duration(emulator, calls):
    assert [calls[k]["status"] for k in ("ok", "tool_error", "failed", "echo", "limited")] == [
        200, 200, 200, 200, 429]
    stats = _get(emulator.stats_url)
    rows = stats["metrics"]
    assert stats["invalidEmf"] == 0
    assert _metric(rows, "Calls", tool="word_count")["count"] == 3
    assert _metric(rows, "Calls", tool="word_count", outcome="ok")["sum"] == 2
    assert _metric(rows, "Calls", tool="word_count", outcome="tool_error")["sum"] == 1
    # A name nobody registered makes no metric of its own.
    assert _metric(rows, "Calls", tool="(unknown)", outcome="failed")["sum"] == 1
    assert _metric(rows, "Calls", tool="no_such_tool") is None
    assert _metric(rows, "Calls", tool="demo_echo", outcome="ok")["sum"] == 1
    assert _metric(rows, "Calls", tool="demo_echo", outcome="limited")["sum"] == 1
    assert _metric(rows, "Calls", outcome="limited")["sum"] == 1
    assert _metric(rows, "Calls")["sum"] == 7
    duration = _metric(rows, "Duration", tool="word_count")
    assert duration["unit"] == "Milliseconds" and duration["count"] == 3
    assert 0 < duration["min"] <= duration["max"] < 10_000
    assert _metric(rows, "Duration")["count"] == 7
    assert _metric(rows, "ColdStart")["sum"] == stats["instances"] == 1


def _lines(emulator) -> list[tuple[str, dict]]:
    out = []
    for line in _get(emulator.stats_url.replace("/stats", "/logs"))["lines"]:
        try:
            out.append((line["stream"], json.loads(line["text"])))
        except json.JSONDecodeError:
            continue
    return out


def test_each_calls_trace_is_in_its_log_line_and_metric_line(emulator, calls):
    lines = _lines(emulator)
    for key in ("ok", "tool_error", "failed", "echo", "limited", "progress"):
        trace_id = calls[key]["trace_id"]
        metric = [doc for stream, doc in lines if stream == "stdout" and doc.get("traceId") == trace_id]
        logged = [doc for stream, doc in lines if stream == "stderr"
                  and doc.get("fields", {}).get("trace_id") == trace_id]
        assert len(metric) == 1 and len(logged) == 1, (key, metric, logged)
        outcome = "ok" if key in ("echo", "progress") else key
        assert metric[0]["outcome"] == outcome
        assert logged[0]["fields"]["outcome"] == outcome
        assert logged[0]["fields"]["tool"] == calls[key]["tool"]
        assert metric[0]["requestId"] == logged[0]["fields"]["request_id"]


def test_a_call_without_traceparent_carries_lambdas_xray_trace(emulator, calls):
    assert calls["untraced"]["status"] == 200
    lines = _lines(emulator)
    words = [doc for stream, doc in lines if stream == "stdout" and doc.get("tool") == "word_count"]
    known = {calls["ok"]["trace_id"], calls["tool_error"]["trace_id"]}
    xray = [doc["traceId"] for doc in words if doc["traceId"] not in known]
    assert len(xray) == 1 and len(xray[0]) == 32, words


def test_notifications_carry_the_calls_trace(calls):
    progress = calls["progress"]
    assert progress["status"] == 200
    events = [json.loads(chunk.split("data: ", 1)[1]) for chunk in progress["body"].split("\n\n") if "data: " in chunk]
    notes = [e for e in events if e.get("method", "").startswith("notifications/")]
    assert notes, progress["body"]
    for note in notes:
        assert note["params"]["_meta"]["traceparent"] == progress["traceparent"], note


# --- The function's own spans (X-Ray active tracing) ---


@pytest.fixture(scope="module")
def traced():
    """The function with active tracing: every invocation sampled, its
    spans sent to the emulator's X-Ray daemon."""
    yield from running_emulator("aws-iam", ("--concurrency", "1", "--tracing"))


def test_sampled_requests_send_one_span_each_with_the_mcp_conventions(traced) -> None:
    traceparent, trace_id = _traceparent()
    assert _call(traced, "word_count", {"text": "one two"}, traceparent)[0] == 200
    assert _call(traced, "word_count", {"text": 5})[0] == 200
    traces_url = traced.stats_url.replace("/stats", "/traces")
    import time
    deadline = time.monotonic() + 10
    while len(spans := _get(traces_url)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _get(traced.stats_url)["invalidTraceSegments"] == 0
    assert len(spans) == 2, spans
    ok, failed = spans
    for span in spans:
        assert span["name"] == "tools/call word_count" and span["type"] == "subsegment", span
        assert span["trace_id"].startswith("1-") and len(span["parent_id"]) == 16, span
        otel = span["metadata"]["otel"]
        assert (otel["mcp.method.name"], otel["gen_ai.tool.name"], otel["gen_ai.operation.name"]) == (
            "tools/call", "word_count", "execute_tool")
        assert span["end_time"] >= span["start_time"]
    assert ok["annotations"]["mcp_trace_id"] == trace_id and ok["error"] is False
    assert "error.type" not in ok["metadata"]["otel"]
    assert failed["annotations"]["mcp_outcome"] == "tool_error" and failed["error"] is True
    assert failed["metadata"]["otel"]["error.type"] == "tool_error"


def test_unsampled_requests_send_no_span(emulator, calls) -> None:
    """Without active tracing Lambda samples nothing a Function URL request
    brings (no upstream header): the function sends nothing."""
    stats = _get(emulator.stats_url)
    assert stats["traceSegments"] == 0 and stats["invalidTraceSegments"] == 0

