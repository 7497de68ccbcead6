"""Rung 3 on this machine: the emulator's local AgentCore Gateway in front of
the real `bootstrap`, with the tool schemas `mcp-deploy tools --format
agentcore` exports. Driven by the official Python SDK through
mcp-proxy-for-aws (signing for `bedrock-agentcore`, as for a real IAM
gateway), by the MCP Inspector CLI (gateway without auth), and by unsigned
or wrongly signed requests that must not reach the function."""

import json
import os
import subprocess

import anyio
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from mcp import Client

from conftest import running_emulator, through_proxy

TARGET = "mcp-ladder"
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
           "MCP-Protocol-Version": "2025-11-25"}


def _schemas(mcp_deploy: str, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("gateway") / "tools.json"
    proc = subprocess.run([mcp_deploy, "tools", "--format", "agentcore"], capture_output=True, text=True,
                          timeout=60, check=True)
    path.write_text(proc.stdout)
    return str(path)


# The function serves a gateway's invocations only when declared its target,
# as `mcp-deploy deploy --rung gateway` declares it.
TARGET_ENV = ("--env", "MCP_GATEWAY_TARGET=1")


@pytest.fixture(scope="module")
def iam_gateway(mcp_deploy, tmp_path_factory):
    yield from running_emulator("aws-iam", ("--gateway-tools", _schemas(mcp_deploy, tmp_path_factory), *TARGET_ENV))


@pytest.fixture(scope="module")
def open_gateway(mcp_deploy, tmp_path_factory):
    yield from running_emulator("none", ("--gateway-tools", _schemas(mcp_deploy, tmp_path_factory), *TARGET_ENV))


@pytest.fixture(scope="module")
def undeclared_gateway(mcp_deploy, tmp_path_factory):
    yield from running_emulator("none", ("--gateway-tools", _schemas(mcp_deploy, tmp_path_factory)))


def _post(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


async def _session(proxy: str, gateway, mode: str):
    params = through_proxy(proxy, gateway.gateway_url, "bedrock-agentcore", gateway)
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        tools = await client.list_tools()
        found = await client.call_tool("x_amz_bedrock_agentcore_search", {"query": "count the words in a text"})
        counted = await client.call_tool(f"{TARGET}___word_count", {"text": "one two three"})
        misfit = await client.call_tool(f"{TARGET}___word_count", {"text": 7})
        return [t.name for t in tools.tools], found, counted, misfit


@pytest.mark.parametrize("mode", ["auto", "legacy"], ids=["default", "legacy"])
def test_python_sdk_lists_searches_and_calls_through_the_gateway(proxy_bin, iam_gateway, mode: str) -> None:
    before = iam_gateway.invocations()
    names, found, counted, misfit = anyio.run(_session, proxy_bin, iam_gateway, mode)
    assert names == [f"{TARGET}___word_count", f"{TARGET}___demo_echo", f"{TARGET}___demo_progress", f"{TARGET}___demo_drop_table",
                     f"{TARGET}___demo_account_context",
                     "x_amz_bedrock_agentcore_search"]
    ranked = (found.structured_content or json.loads(found.content[0].text))["tools"]
    assert ranked[0]["name"] == f"{TARGET}___word_count", ranked
    assert ranked[0]["inputSchema"]["required"] == ["text"]
    assert counted.is_error is False
    assert json.loads(counted.content[0].text) == {"words": 3, "characters": 13}
    # The function checks the arguments and says what to fix.
    assert misfit.is_error is True
    assert "Invalid arguments for tool `word_count`" in misfit.content[0].text
    assert iam_gateway.invocations() == before + 2, "the search ran in the gateway, the calls in the function"


def test_unsigned_and_lambda_signed_requests_are_refused(iam_gateway) -> None:
    before = iam_gateway.invocations()
    body = json.dumps(LIST).encode()
    status, reply = _post(iam_gateway.gateway_url, body, HEADERS)
    assert status == 403
    assert "service bedrock-agentcore" in json.loads(reply)["message"]
    # A signature for the Function URL's service does not open the gateway.
    request = AWSRequest(method="POST", url=iam_gateway.gateway_url, data=body, headers=HEADERS)
    creds = Credentials(iam_gateway.env["AWS_ACCESS_KEY_ID"], iam_gateway.env["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(creds, "lambda", iam_gateway.region).add_auth(request)
    status, _ = _post(iam_gateway.gateway_url, body, dict(request.headers))
    assert status == 403
    SigV4Auth(creds, "bedrock-agentcore", iam_gateway.region).add_auth(request)
    status, reply = _post(iam_gateway.gateway_url, body, dict(request.headers))
    assert status == 200, reply
    assert iam_gateway.invocations() == before


def _inspector(node_bin, url: str, *args: str) -> dict:
    env = dict(os.environ, PATH=f"{node_bin}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(node_bin / "node"), str(node_bin / "mcp-inspector"), "--cli", url, "--transport", "http", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert proc.returncode == 0, f"inspector failed ({proc.returncode}): {proc.stderr}"
    return json.loads(proc.stdout)


def test_inspector_cli_through_the_gateway(node_bin, open_gateway) -> None:
    listed = _inspector(node_bin, open_gateway.gateway_url, "--method", "tools/list")
    assert f"{TARGET}___demo_echo" in [t["name"] for t in listed["tools"]]
    called = _inspector(node_bin, open_gateway.gateway_url, "--method", "tools/call",
                        "--tool-name", f"{TARGET}___demo_echo", "--tool-arg", "message=hello gateway")
    assert called["isError"] is False
    assert json.loads(called["content"][0]["text"]) == {"echo": "hello gateway"}
    # The gateway let this caller in, but its identity stops at the gateway:
    # a tool that needs a scope of its own never runs through it.
    drop = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": f"{TARGET}___demo_drop_table", "arguments": {"table": "users"}}}
    status, reply = _post(open_gateway.gateway_url, json.dumps(drop).encode(), HEADERS)
    assert status == 200, reply
    dropped = json.loads(reply)["result"]
    assert dropped["isError"] is True
    assert "was not run: it needs a scope of its own" in dropped["content"][0]["text"], dropped


def test_a_function_not_declared_a_target_refuses_the_gateway(undeclared_gateway) -> None:
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": f"{TARGET}___word_count", "arguments": {"text": "a b"}}}
    status, reply = _post(undeclared_gateway.gateway_url, json.dumps(call).encode(), HEADERS)
    assert status == 200, reply
    result = json.loads(reply)["result"]
    assert result["isError"] is True
    assert "NotAGatewayTarget" in result["content"][0]["text"], result


def test_demo_local_gateway_tells_the_whole_story(mcp_deploy) -> None:
    from conftest import bootstrap

    proc = subprocess.run([mcp_deploy, "demo", "--local", "--rung", "gateway", "--bootstrap", bootstrap()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    story = proc.stdout + proc.stderr
    for line in [
        f'tools/list -> ["{TARGET}___word_count", "{TARGET}___demo_echo", "{TARGET}___demo_progress", "{TARGET}___demo_drop_table", '
        f'"{TARGET}___demo_account_context", '
        '"x_amz_bedrock_agentcore_search"]',
        f'x_amz_bedrock_agentcore_search "how many words are in this text" -> ["{TARGET}___word_count"',
        f"tools/call {TARGET}___word_count -> ",
        "the gateway http://127.0.0.1:",
        "[teardown] clean.",
    ]:
        assert line in story, f"{line!r} missing from:\n{story}"
    assert story.count("unsigned POST status: 403") == 2, "both fronts refuse unsigned requests"
