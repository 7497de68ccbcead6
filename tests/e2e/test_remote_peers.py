"""The real `bootstrap` behind the local IAM-checked Function URL, driven by
third-party clients: botocore's signer, mcp-proxy-for-aws (which signs every
request) carrying the official Python SDK, curl without a signature, and the
MCP conformance suite (with --auth none)."""

import json
import os
import subprocess

import anyio
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from mcp import Client

from conftest import (REPO, REQUIREMENTS, run_requirements, running_emulator, running_moto, shared_state, through_proxy,
                      timed_events)

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "demo_account_context", "arguments": {}}}


def _post(url: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_botocore_signature_is_accepted(iam_emulator) -> None:
    body = json.dumps(CALL).encode()
    request = AWSRequest(
        method="POST",
        url=iam_emulator.url,
        data=body,
        headers={"Content-Type": "application/json", "MCP-Protocol-Version": "2025-11-25"},
    )
    creds = Credentials(iam_emulator.env["AWS_ACCESS_KEY_ID"], iam_emulator.env["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(creds, "lambda", iam_emulator.region).add_auth(request)
    before = iam_emulator.invocations()
    status, _, reply = _post(iam_emulator.url, body, dict(request.headers))
    assert status == 200, reply
    result = json.loads(reply)["result"]["structuredContent"]
    assert result["account"] == iam_emulator.account
    assert result["caller"]["userArn"] == iam_emulator.arn
    assert iam_emulator.invocations() == before + 1


def test_unsigned_curl_gets_403_and_the_function_never_runs(iam_emulator) -> None:
    before = iam_emulator.invocations()
    proc = subprocess.run(
        ["curl", "-sS", "-i", "-X", "POST", iam_emulator.url, "-H", "content-type: application/json",
         "--data", json.dumps(CALL)],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    head, _, body = proc.stdout.partition("\n\n")  # text mode turned CRLF into LF
    assert head.startswith("HTTP/1.1 403"), head
    assert "x-amzn-errortype: accessdeniedexception" in head.lower()
    assert "not signed" in json.loads(body)["Message"]
    assert iam_emulator.invocations() == before


async def _through_proxy(proxy: str, emulator, mode: str):
    params = through_proxy(proxy, emulator.url, "lambda", emulator)
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        tools = await client.list_tools()
        result = await client.call_tool("demo_account_context", {})
        return [t.name for t in tools.tools], result


@pytest.mark.parametrize("mode", ["auto", "legacy"], ids=["default", "legacy"])
def test_python_sdk_through_mcp_proxy_for_aws(proxy_bin, iam_emulator, mode: str) -> None:
    before = iam_emulator.invocations()
    names, result = anyio.run(_through_proxy, proxy_bin, iam_emulator, mode)
    assert names == ["word_count", "demo_echo", "demo_progress", "demo_drop_table", "demo_account_context"]
    assert result.is_error is False
    context = result.structured_content or json.loads(result.content[0].text)
    assert context["account"] == iam_emulator.account
    assert context["region"] == iam_emulator.region
    assert context["caller"]["userArn"] == iam_emulator.arn, "the caller is the principal that signed"
    assert iam_emulator.invocations() > before, "the proxy's signed requests reached the function"


FIXTURES = ("--env", "MCP_CONFORMANCE_FIXTURES=1")


@pytest.fixture(scope="module")
def moto():
    yield from running_moto({})


@pytest.fixture(scope="module")
def fixtures_emulator(moto):
    """The function with the conformance fixture pack, no authentication,
    several instances (the emulator's default concurrency) sharing what a
    stack gives them: the state key's secret and the rendezvous table."""
    yield from running_emulator("none", FIXTURES + shared_state(moto))


@pytest.fixture(scope="module")
def streaming_emulator(moto):
    """The same, behind a URL with InvokeMode RESPONSE_STREAM."""
    yield from running_emulator("none", FIXTURES + shared_state(moto) + ("--invoke-mode", "response-stream"))


@pytest.fixture(scope="module")
def iam_fixtures_emulator():
    yield from running_emulator("aws-iam", FIXTURES)


def _expected_failures() -> list[str]:
    path = REPO / "tests" / "e2e" / "conformance-expected-failures.yml"
    return [line.strip()[2:] for line in path.read_text().splitlines() if line.strip().startswith("- ")]


def test_conformance_suite(node_bin, fixtures_emulator, tmp_path) -> None:
    expected = REPO / "tests" / "e2e" / "conformance-expected-failures.yml"
    failing = _expected_failures()
    assert len(failing) < 6, f"the expected failures must stay under 6: {failing}"
    env = dict(os.environ, PATH=f"{node_bin}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(node_bin / "node"), str(node_bin / "conformance"), "server", "--url", fixtures_emulator.url,
         "--expected-failures", str(expected), "-o", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = proc.stdout.partition("=== SUMMARY ===")[2]
    scenarios = [line[2:].partition(":")[0] for line in summary.splitlines() if line[:2] in ("✓ ", "✗ ")]
    assert len(scenarios) == 30, f"0.1.16 has 30 server scenarios: {scenarios}"
    # The runner fails on any failure not listed; a listed one must not pass quietly.
    for scenario in scenarios:
        if scenario not in failing:
            assert f"✓ {scenario}:" in summary, f"{scenario} did not pass:\n{summary}"
    assert "Unexpected failures" not in proc.stdout


@pytest.mark.parametrize("revision", list(REQUIREMENTS))
@pytest.mark.parametrize("invoke_mode", ["buffered", "streamed"])
def test_conformance_requirements(request, node_bin, tmp_path, invoke_mode: str, revision: str) -> None:
    """Both requirement sets of 0.2.0-alpha.12 against the function behind the
    Function URL (several instances allowed: the emulator's default
    concurrency), buffered and streaming: the invoke mode changes nothing."""
    emulator = request.getfixturevalue("fixtures_emulator" if invoke_mode == "buffered" else "streaming_emulator")
    expected = REPO / "tests" / "e2e" / f"conformance-{revision}-expected-failures.yml"
    run_requirements(node_bin, emulator.url, revision, expected, tmp_path)


async def _progress_of(client_args: tuple, **client_kwargs) -> tuple[list[tuple], object]:
    seen: list[tuple] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(*client_args, **client_kwargs) as client:
        result = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    return seen, result


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("invoke_mode", ["buffered", "streamed"])
def test_python_sdk_receives_progress_from_the_function(request, invoke_mode: str, mode: str) -> None:
    emulator = request.getfixturevalue("fixtures_emulator" if invoke_mode == "buffered" else "streaming_emulator")
    seen, result = anyio.run(
        lambda: _progress_of((emulator.url,), mode=mode, read_timeout_seconds=60)
    )
    assert result.is_error is False
    assert [p for p, _, _ in seen] == [0, 50, 100], seen
    assert all(total == 100 for _, total, _ in seen)
    assert seen[0][2] == "0 of 100"


def test_progress_through_mcp_proxy_for_aws(proxy_bin, iam_fixtures_emulator) -> None:
    """What the proxy does with the function's SSE notifications: it relays
    them to its stdio client (asserted, so a change in the proxy shows here)."""
    params = through_proxy(proxy_bin, iam_fixtures_emulator.url, "lambda", iam_fixtures_emulator)
    seen, result = anyio.run(lambda: _progress_of((params,), mode="legacy", read_timeout_seconds=60))
    assert result.is_error is False
    assert [p for p, _, _ in seen] == [0, 50, 100], seen


# Progress, then 50 ms, three times.
PROGRESS_FIXTURE = {"name": "test_tool_with_progress", "_meta": {"progressToken": 1}}


def test_a_streaming_url_delivers_progress_while_the_tool_runs(streaming_emulator, fixtures_emulator) -> None:
    """The first progress event reaches the client before the tool finishes:
    the reply comes at least the tool's remaining 150 ms (three 50 ms steps)
    after it. Behind a buffered URL the same events arrive together, at the end."""
    timed_events(streaming_emulator.url, PROGRESS_FIXTURE)  # a warm instance: no cold start in the timings
    streamed = timed_events(streaming_emulator.url, PROGRESS_FIXTURE)
    assert [e.get("method", "reply") for _, e in streamed] == ["notifications/progress"] * 3 + ["reply"]
    first, reply = streamed[0][0], streamed[-1][0]
    assert reply - first >= 0.1, f"the first event came {reply - first:.3f} s before the reply"

    buffered = timed_events(fixtures_emulator.url, PROGRESS_FIXTURE)
    assert len(buffered) == 4
    assert buffered[-1][0] - buffered[0][0] < 0.1, "a buffered URL sends the events with the reply"
