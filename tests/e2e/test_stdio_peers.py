"""mcp-local driven over stdio by third-party MCP clients nobody here wrote.

- the official Python SDK (mcp==2.3.0): its default client probes 2026-07-28
  `server/discover` first; its legacy mode uses the `initialize` handshake;
- the MCP Inspector CLI (@modelcontextprotocol/inspector 2.12.0, on Node 22).
"""

import json
import os
import subprocess

import anyio
import pytest
from mcp import Client, StdioServerParameters

from conftest import REPO, REQUIREMENTS, run_requirements
from stdio_bridge import Bridge

TEXT = "héllo brave\u00a0new  wörld 👍🏽"
EXPECTED = {"words": 5, "characters": 25}  # NBSP separates; the emoji is 2 scalars


async def _session(binary: str, mode: str) -> tuple[str, list[str], dict, bool, str]:
    params = StdioServerParameters(command=binary, args=[], env={"RUST_LOG": "warn"})
    async with Client(params, mode=mode, read_timeout_seconds=20) as client:
        tools = await client.list_tools()
        result = await client.call_tool("word_count", {"text": TEXT})
        info = client.server_info
        return (
            client.protocol_version,
            [t.name for t in tools.tools],
            result.structured_content,
            result.is_error,
            info.name if info else "",
        )


@pytest.mark.parametrize(
    ("mode", "version"),
    [("auto", "2026-07-28"), ("legacy", "2025-11-25")],
    ids=["default-discover", "legacy-initialize"],
)
def test_python_sdk(mcp_local: str, mode: str, version: str) -> None:
    negotiated, names, structured, is_error, server_name = anyio.run(_session, mcp_local, mode)
    assert negotiated == version
    assert names == ["word_count", "demo_echo", "demo_progress", "demo_drop_table"]
    assert structured == EXPECTED
    assert is_error is False
    assert server_name == "mcp-local"


async def _bad_arguments(binary: str) -> tuple[bool, str]:
    params = StdioServerParameters(command=binary, args=[])
    async with Client(params, read_timeout_seconds=20) as client:
        result = await client.call_tool("word_count", {"text": 42})
        return result.is_error, result.content[0].text


def test_python_sdk_sees_argument_errors_as_tool_errors(mcp_local: str) -> None:
    is_error, text = anyio.run(_bad_arguments, mcp_local)
    assert is_error is True
    assert "word_count" in text and "expected a string" in text


def _inspector(node_bin, binary: str, *args: str) -> dict:
    env = dict(os.environ, PATH=f"{node_bin}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(node_bin / "node"), str(node_bin / "mcp-inspector"), "--cli", binary, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, f"inspector failed ({proc.returncode}): {proc.stderr}"
    return json.loads(proc.stdout)


def test_inspector_cli_lists_tools(node_bin, mcp_local: str) -> None:
    listed = _inspector(node_bin, mcp_local, "--method", "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}
    assert list(tools) == ["word_count", "demo_echo", "demo_progress", "demo_drop_table"]
    assert tools["word_count"]["annotations"] == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert tools["word_count"]["outputSchema"]["required"] == ["words", "characters"]


def test_inspector_cli_calls_word_count(node_bin, mcp_local: str) -> None:
    called = _inspector(
        node_bin, mcp_local, "--method", "tools/call", "--tool-name", "word_count", "--tool-arg", f"text={TEXT}"
    )
    assert called["isError"] is False
    assert called["structuredContent"] == EXPECTED
    assert json.loads(called["content"][0]["text"]) == EXPECTED


@pytest.mark.parametrize("revision", list(REQUIREMENTS))
def test_conformance_requirements_on_stdio(node_bin, mcp_local: str, tmp_path, revision: str) -> None:
    """Both requirement sets of @modelcontextprotocol/conformance 0.2.0-alpha.12
    against mcp-local with the fixture pack. The suite reaches servers only
    by URL, so a bridge carries its messages to mcp-local's stdin and back
    (tests/e2e/stdio_bridge.py); the checks of HTTP statuses and headers,
    which stdio does not have, are listed per check in the expected failures."""
    env = dict(os.environ, RUST_LOG="warn", MCP_CONFORMANCE_FIXTURES="1")
    expected = REPO / "tests" / "e2e" / f"conformance-{revision}-stdio-expected-failures.yml"
    with Bridge([mcp_local], env) as bridge:
        run_requirements(node_bin, bridge.url, revision, expected, tmp_path)
