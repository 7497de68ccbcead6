"""Progress on the internet rung, on this machine: the emulator's REST front
in ResponseTransferMode STREAM (as `mcp-deploy demo --local --exposure
internet` starts it), with the stack's own web ACL and the development
issuer, in front of the real bootstrap (told MCP_REST_TRANSFER_MODE=STREAM).
demo_progress's first progress event reaches the client before the reply,
as over a streaming Function URL; a tool cannot outlive the function's
timeout unnoticed."""

import http.client
import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import running_emulator, timed_events

UA = {"User-Agent": "mcp-ladder-tests/1"}
# The function's timeout here, in seconds: short, so running out of time is quick.
TIMEOUT = 3


@pytest.fixture(scope="module")
def streaming_front(mcp_deploy, tmp_path_factory):
    template = tmp_path_factory.mktemp("streaming") / "template.json"
    proc = subprocess.run([mcp_deploy, "synth", "--exposure", "internet", "--issuer", "https://issuer.example.com",
                           "--audience", "auto"], capture_output=True, text=True, timeout=60, check=True)
    template.write_text(proc.stdout)
    assert json.loads(proc.stdout)["Resources"]["McpApiMcpMethod"]["Properties"]["Integration"][
        "ResponseTransferMode"] == "STREAM", "the deployed stack streams too"
    yield from running_emulator("none", (
        "--rest-api", "--rest-stage", "prod", "--template", str(template), "--dev-issuer",
        "--rest-transfer-mode", "stream", "--timeout", str(TIMEOUT), "--env", "MCP_CONFORMANCE_FIXTURES=1"))


def _bearer(front) -> dict:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "mcp:read mcp:write",
                                   "resource": front.rest_api_url}).encode()
    with urllib.request.urlopen(f"{front.issuer_url}/token", data=form, timeout=10) as response:
        return {**UA, "Authorization": f"Bearer {json.load(response)['access_token']}"}


def test_demo_progress_reaches_the_client_before_the_reply(streaming_front) -> None:
    """Four progress events (start and three steps of 300 ms), the reply at
    least the remaining 900 ms after the first: they came while the tool ran."""
    headers = _bearer(streaming_front)
    call = {"name": "demo_progress", "arguments": {"steps": 3, "step_ms": 300}, "_meta": {"progressToken": "p"}}
    timed_events(streaming_front.rest_api_url, call, headers)  # a warm instance: no cold start in the timings
    events = timed_events(streaming_front.rest_api_url, call, headers)
    assert [e.get("method", "reply") for _, e in events] == ["notifications/progress"] * 4 + ["reply"]
    assert events[-1][1]["result"]["structuredContent"]["steps"] == 3
    first, reply = events[0][0], events[-1][0]
    assert reply - first >= 0.8, f"the first event came {reply - first:.3f} s before the reply"


def test_demo_progress_stops_before_the_function_times_out(streaming_front) -> None:
    call = {"name": "demo_progress", "arguments": {"steps": 10, "step_ms": 500}, "_meta": {"progressToken": "p"}}
    started = time.monotonic()
    events = timed_events(streaming_front.rest_api_url, call, _bearer(streaming_front))
    reply = events[-1][1]
    assert reply["result"]["isError"] is True, reply
    assert reply["result"]["content"][0]["text"].startswith("ran out of time after "), reply
    assert time.monotonic() - started < TIMEOUT


def test_a_stream_cut_at_the_deadline_ends_in_error(streaming_front) -> None:
    """A tool that ignores the deadline: the runtime sends an error event for
    the request, then the error trailers, and the front ends the stream
    without its last chunk - not a finished answer."""
    target = urllib.parse.urlsplit(streaming_front.rest_api_url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                       "params": {"name": "test_tool_ignoring_deadline", "arguments": {},
                                  "_meta": {"progressToken": "p"}}})
    connection.request("POST", target.path, body=body, headers={
        **_bearer(streaming_front), "content-type": "application/json",
        "accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"})
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("content-type") == "text/event-stream"
    # (readline would hide the cut: http.client's peek turns it into an end.)
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    events = [json.loads(line[6:]) for line in cut.value.partial.splitlines() if line.startswith(b"data: ")]
    connection.close()
    assert events and all(e.get("method") == "notifications/progress" for e in events[:-1]), events[:3]
    assert events[-1]["id"] == 9 and events[-1]["error"]["code"] == -32603, events[-1]
    assert "ran out of time" in events[-1]["error"]["message"]
