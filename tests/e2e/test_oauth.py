"""The internet-facing rung with peers nobody here wrote: oauth2-mock-server (npm) as
the authorization server, and the official Python SDK's OAuth client (`mcp` 2.3.0)
discovering it from the function's 401 and protected resource metadata, getting a
token, then listing and calling tools through the emulator's API Gateway REST front.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import anyio
import pytest
from mcp import Client
from mcp.client.auth import TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from conftest import REPO, free_port, running_emulator


@pytest.fixture(scope="module")
def mock_issuer(node_bin):
    process = subprocess.Popen(
        [str(node_bin / "node"), str(REPO / "tests" / "node" / "oauth-issuer.mjs")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO / "tests" / "node",
    )
    assert process.stdout is not None and process.stdin is not None
    issuer = json.loads(process.stdout.readline())["issuer"]
    yield issuer
    process.stdin.close()
    assert process.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def internet_emulator(mock_issuer):
    port = free_port()
    audience = f"http://127.0.0.1:{port}/local/mcp"
    yield from running_emulator("aws-iam", (
        "--rest-api", "--rest-port", str(port),
        "--env", "MCP_AUTH=oauth",
        "--env", f"MCP_OAUTH_ISSUER={mock_issuer}",
        "--env", f"MCP_OAUTH_AUDIENCE={audience}",
    ))


class Memory(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def _post(url: str, body: dict, token: str | None = None) -> tuple[int, dict, dict]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


async def _sdk_session(url: str, issuer: str, scope: str, storage: Memory):
    provider = ClientCredentialsOAuthProvider(
        server_url=url, storage=storage, client_id="ladder-agent", client_secret="not-checked-by-the-mock",
        scope=scope, issuer=issuer,
    )
    http = create_mcp_http_client(auth=provider)
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client:
        tools = await client.list_tools()
        counted = await client.call_tool("word_count", {"text": "tokens from a stranger"})
    return [t.name for t in tools.tools], counted


def test_the_python_sdk_discovers_the_issuer_gets_a_token_and_calls_tools(internet_emulator, mock_issuer) -> None:
    url = internet_emulator.rest_api_url
    assert url is not None
    storage = Memory()
    names, counted = anyio.run(_sdk_session, url, mock_issuer, "mcp:read", storage)
    # A read token: every read-only tool, and not the destructive one.
    assert "word_count" in names and "demo_drop_table" not in names, names
    assert counted.is_error is False
    assert counted.structured_content["words"] == 4
    # The token the SDK got came from the mock's token endpoint, for this endpoint.
    assert storage.tokens is not None and storage.tokens.access_token
    payload = storage.tokens.access_token.split(".")[1]
    claims = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"] == mock_issuer
    assert claims["aud"] == url
    assert claims["scope"] == "mcp:read"
    # The same token is refused the destructive tool, with the challenge.
    status, headers, body = _post(url, {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                                        "params": {"name": "demo_drop_table", "arguments": {"table": "t"}}},
                                  storage.tokens.access_token)
    assert status == 403, body
    challenge = {k.lower(): v for k, v in headers.items()}["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope", scope="mcp:admin"'), challenge


def test_a_mock_token_for_another_audience_is_refused(internet_emulator, mock_issuer) -> None:
    url = internet_emulator.rest_api_url
    form = "grant_type=client_credentials&scope=mcp%3Aread&aud=https%3A%2F%2Fother.example.com%2Fmcp"
    request = urllib.request.Request(f"{mock_issuer}/token", form.encode(),
                                     {"content-type": "application/x-www-form-urlencoded"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.load(response)["access_token"]
    status, headers, _ = _post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, token)
    assert status == 401
    challenge = {k.lower(): v for k, v in headers.items()}["www-authenticate"]
    assert 'error="invalid_token"' in challenge and "(aud)" in challenge, challenge


def test_the_local_internet_demo_tells_the_story_and_tears_down(mcp_deploy) -> None:
    proc = subprocess.run([mcp_deploy, "demo", "--local", "--exposure", "internet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stderr
    for line in ['no token -> 401, WWW-Authenticate: Bearer resource_metadata="',
                 "a token for another server -> 401 invalid_token",
                 "read token: tools/list -> word_count",
                 'read token: tools/call demo_drop_table (a "hallucinated" call) -> 403',
                 "admin token: tools/call demo_drop_table -> 200 {",
                 "[teardown] clean."]:
        assert line in out, (line, out[-3000:])
    assert '"dropped":false' in out
    assert out.count("refuses connections") == 3  # the URL, the REST API, the issuer
