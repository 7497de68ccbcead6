"""The internet-facing rung with peers nobody here wrote: oauth2-mock-server (npm) as
the authorization server, and the official Python SDK's OAuth client (`mcp` 2.3.0)
discovering it from the function's 401 and protected resource metadata, getting a
token, then listing and calling tools through the emulator's API Gateway REST front.
Then the same SDK against the emulator's own development issuer (a test double),
knowing only the endpoint URL: client credentials, and the authorization code flow
with dynamic client registration, PKCE and its consent page, and with a Client ID
Metadata Document the test serves over HTTPS with its own CA's certificate; and what
that issuer answers to bad requests and bad documents.
"""

from __future__ import annotations

import base64
import datetime
import html
import ipaddress
import http.server
import json
import queue
import re
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import anyio
import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import ElicitResult

from conftest import REPO, free_port, internet_template, running_emulator


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
def internet_template_path(mcp_deploy, tmp_path_factory) -> str:
    """The stack's template: the REST front is its API (authorizer, gateway responses, web ACL)."""
    return internet_template(mcp_deploy, tmp_path_factory.mktemp("internet"))


@pytest.fixture(scope="module")
def internet_emulator(mock_issuer, internet_template_path):
    port = free_port()
    audience = f"http://127.0.0.1:{port}/prod/mcp"
    yield from running_emulator("aws-iam", (
        "--rest-api", "--rest-port", str(port), "--rest-stage", "prod", "--template", internet_template_path,
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


def _post(url: str, body: dict, token: str | None = None, extra: dict | None = None) -> tuple[int, dict, dict]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream", **(extra or {})}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def _sdk_session(url: str, issuer: str, scope: str, storage: Memory):
    provider = ClientCredentialsOAuthProvider(
        server_url=url, storage=storage, client_id="ladder-agent", client_secret="not-checked-by-the-mock",
        scope=scope, issuer=issuer,
    )
    return await _list_and_count(url, provider)


async def _list_and_count(url: str, provider) -> tuple[list[str], object]:
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
    claims = _claims(storage.tokens.access_token)
    assert claims["iss"] == mock_issuer
    assert claims["aud"] == url
    assert claims["scope"] == "mcp:read"
    # The same token is refused the destructive tool. With MCP's standard
    # headers (which clients send), API Gateway's authorizer denies it and API
    # Gateway's own 403 carries the step-up challenge.
    drop = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "demo_drop_table", "arguments": {"table": "t"}}}
    named = {"mcp-method": "tools/call", "mcp-name": "demo_drop_table"}
    status, headers, body = _post(url, drop, storage.tokens.access_token, named)
    assert status == 403, body
    challenge = {k.lower(): v for k, v in headers.items()}["www-authenticate"]
    assert challenge.startswith(f'Bearer error="insufficient_scope", resource_metadata="{_metadata_url(url)}"'), challenge
    assert challenge.endswith('scope="mcp:read mcp:admin"'), challenge
    assert body["error"]["code"] == -32003, body
    # Without them the function refuses it, and its challenge reaches the
    # client renamed, as API Gateway renames a proxy integration's.
    status, headers, body = _post(url, drop, storage.tokens.access_token)
    assert status == 403, body
    lowered = {k.lower(): v for k, v in headers.items()}
    assert "www-authenticate" not in lowered, lowered
    assert lowered["x-amzn-remapped-www-authenticate"].startswith('Bearer error="insufficient_scope", scope="mcp:admin"')
    # A header that lies about the tool gains nothing: the function checks the body.
    status, _, body = _post(url, drop, storage.tokens.access_token, {"mcp-method": "tools/call", "mcp-name": "word_count"})
    assert status == 403, body


@pytest.fixture(scope="module")
def internet_fixtures_emulator(mock_issuer, internet_template_path):
    """The internet rung's REST front with the conformance fixture pack (tools that ask)."""
    port = free_port()
    yield from running_emulator("aws-iam", (
        "--rest-api", "--rest-port", str(port), "--rest-stage", "prod", "--template", internet_template_path,
        "--env", "MCP_AUTH=oauth",
        "--env", f"MCP_OAUTH_ISSUER={mock_issuer}",
        "--env", f"MCP_OAUTH_AUDIENCE=http://127.0.0.1:{port}/prod/mcp",
        "--env", "MCP_CONFORMANCE_FIXTURES=1",
        # A read token suffices for the tool that asks: a legacy client sends no
        # Mcp-Name, so it cannot step up through API Gateway (docs/auth.md).
        "--env", 'MCP_TOOL_SCOPES={"test_input_required_result_elicitation": ["mcp:read"]}',
    ))


def test_a_tool_asks_a_legacy_client_through_api_gateway(internet_fixtures_emulator, mock_issuer) -> None:
    """At 2025-11-25 through the REST front (authorizer, gateway responses, web ACL): the
    tool's elicitation goes out on the call's stream, the SDK's answer is a POST and its
    reconnection a GET with Last-Event-ID, each with the bearer token; the call resumes."""
    url = internet_fixtures_emulator.rest_api_url
    assert url is not None
    asked = []

    async def on_elicit(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"name": "Grace"})

    async def call():
        provider = ClientCredentialsOAuthProvider(
            server_url=url, storage=Memory(), client_id="ladder-agent", client_secret="not-checked-by-the-mock",
            scope="mcp:read", issuer=mock_issuer,
        )
        http = create_mcp_http_client(auth=provider)
        async with http, Client(streamable_http_client(url, http_client=http), mode="legacy",
                                elicitation_callback=on_elicit, read_timeout_seconds=60) as client:
            assert client.protocol_version == "2025-11-25"
            return await client.call_tool("test_input_required_result_elicitation", {})

    result = anyio.run(call)
    assert asked == ["What is your name?"], asked
    assert result.is_error is False, result
    assert result.content[0].text == "Hello, Grace!", result


def _metadata_url(endpoint: str) -> str:
    parts = urllib.parse.urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}/prod/.well-known/oauth-protected-resource/mcp"


async def _step_up(url: str, issuer: str, storage: Memory):
    provider = ClientCredentialsOAuthProvider(
        server_url=url, storage=storage, client_id="ladder-agent", client_secret="not-checked-by-the-mock",
        scope="mcp:read", issuer=issuer,
    )
    http = create_mcp_http_client(auth=provider)
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client:
        await client.list_tools()
        read_scope = storage.tokens.scope if storage.tokens else None
        dropped = await client.call_tool("demo_drop_table", {"table": "customers"})
    return read_scope, dropped


def test_the_sdk_steps_up_from_a_read_token_through_api_gateways_challenge(internet_emulator, mock_issuer) -> None:
    """A read token calls the destructive tool: API Gateway's authorizer denies
    it (the SDK sends Mcp-Name), API Gateway's 403 carries the step-up
    challenge, and the SDK gets a token with the scopes it names and retries."""
    url = internet_emulator.rest_api_url
    storage = Memory()
    read_scope, dropped = anyio.run(_step_up, url, mock_issuer, storage)
    assert read_scope == "mcp:read"
    assert dropped.is_error is False, dropped
    assert dropped.structured_content["dropped"] is False
    claims = _claims(storage.tokens.access_token)
    assert set(claims["scope"].split()) == {"mcp:read", "mcp:admin"}, claims


def test_a_mock_token_for_another_audience_is_refused(internet_emulator, mock_issuer) -> None:
    url = internet_emulator.rest_api_url
    form = "grant_type=client_credentials&scope=mcp%3Aread&aud=https%3A%2F%2Fother.example.com%2Fmcp"
    request = urllib.request.Request(f"{mock_issuer}/token", form.encode(),
                                     {"content-type": "application/x-www-form-urlencoded"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.load(response)["access_token"]
    status, headers, _ = _post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, token)
    assert status == 401
    # The authorizer refused it: API Gateway's one static challenge, for a
    # missing and a bad token alike (no error code it could vary).
    challenge = {k.lower(): v for k, v in headers.items()}["www-authenticate"]
    assert challenge == f'Bearer resource_metadata="{_metadata_url(url)}", scope="mcp:read"', challenge


def test_the_local_internet_demo_tells_the_story_and_tears_down(mcp_deploy) -> None:
    proc = subprocess.run([mcp_deploy, "demo", "--local", "--exposure", "internet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stderr
    for line in ['no token -> 401, WWW-Authenticate: Bearer resource_metadata="',
                 "a token for another server -> 401, WWW-Authenticate: Bearer resource_metadata=",
                 "read token: tools/list -> word_count",
                 'read token: tools/call demo_drop_table (a "hallucinated" call) -> 403',
                 "admin token: tools/call demo_drop_table -> 200 {",
                 "[teardown] clean."]:
        assert line in out, (line, out[-3000:])
    assert '"dropped":false' in out
    assert out.count("refuses connections") == 3  # the URL, the REST API, the issuer


# --- The emulator's development issuer (a test double), as real clients meet it. ---


@pytest.fixture(scope="module")
def dev_issuer_emulator(internet_template_path):
    """The local internet rung: the stack's REST front, the function in oauth
    mode, and the development issuer it trusts (the emulator configures both)."""
    yield from running_emulator("aws-iam", ("--rest-api", "--rest-stage", "prod",
                                            "--template", internet_template_path, "--dev-issuer"))


def test_the_sdk_with_only_the_endpoint_url_gets_a_client_credentials_token(dev_issuer_emulator) -> None:
    url, issuer = dev_issuer_emulator.rest_api_url, dev_issuer_emulator.issuer_url
    assert url and issuer
    storage = Memory()
    # No `issuer`: the SDK finds the authorization server from the endpoint alone
    # (and says that this is deprecated, which is the point of the test).
    with pytest.warns(MCPDeprecationWarning):
        provider = ClientCredentialsOAuthProvider(
            server_url=url, storage=storage, client_id="ladder-agent", client_secret="any-secret")
    names, counted = anyio.run(_list_and_count, url, provider)
    assert "word_count" in names and "demo_drop_table" not in names, names
    assert counted.is_error is False and counted.structured_content["words"] == 4
    assert provider.context.oauth_metadata is not None
    assert str(provider.context.oauth_metadata.token_endpoint) == f"{issuer}/token"
    claims = _claims(storage.tokens.access_token)
    assert (claims["iss"], claims["aud"], claims["scope"], claims["sub"]) == (issuer, url, "mcp:read", "ladder-agent")


class _Browser:
    """What a person's browser does in the authorization code flow: open the
    authorization URL, read the consent page, follow its redirect to the
    client's loopback callback, which hands the code and state to the SDK."""

    def __init__(self) -> None:
        self.received: queue.Queue = queue.Queue()
        self.pages: list[str] = []
        received = self.received

        class Callback(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                received.put(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)))
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"You can close this window.")

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Callback)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def open(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient(timeout=30) as browser:
            consent = await browser.get(authorization_url)
            assert consent.status_code == 200, consent.text
            self.pages.append(consent.text)
            refresh = re.search(r'http-equiv="refresh" content="\d+;url=([^"]+)"', consent.text)
            assert refresh, consent.text
            back = await browser.get(html.unescape(refresh.group(1)))
            assert back.status_code == 200

    async def callback(self) -> AuthorizationCodeResult:
        params = await anyio.to_thread.run_sync(self.received.get, True, 30)
        assert "error" not in params, params
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_sdk_registers_authorizes_with_pkce_and_calls_tools(dev_issuer_emulator) -> None:
    url, issuer = dev_issuer_emulator.rest_api_url, dev_issuer_emulator.issuer_url
    browser = _Browser()
    storage = Memory()
    codes: list[str] = []

    async def callback() -> AuthorizationCodeResult:
        result = await browser.callback()
        codes.append(result.code)
        return result

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(client_name="mcp-ladder e2e", redirect_uris=[browser.redirect_uri]),
        storage=storage, redirect_handler=browser.open, callback_handler=callback,
    )
    try:
        names, counted = anyio.run(_list_and_count, url, provider)
    finally:
        browser.close()
    assert "word_count" in names and "demo_drop_table" not in names, names
    assert counted.is_error is False and counted.structured_content["words"] == 4
    # Registered dynamically (RFC 7591), with the default client_secret_basic.
    assert storage.client is not None and storage.client.client_secret
    assert storage.client.token_endpoint_auth_method == "client_secret_basic"
    # The page said plainly what it is.
    assert "LOCAL TEST DOUBLE" in browser.pages[0] and "mcp-ladder e2e" in browser.pages[0]
    claims = _claims(storage.tokens.access_token)
    assert (claims["iss"], claims["aud"], claims["scope"]) == (issuer, url, "mcp:read")
    assert (claims["sub"], claims["client_id"]) == ("local-developer", storage.client.client_id)
    # The code was single-use: the SDK redeemed it, a replay is refused.
    status, body = _form(f"{issuer}/token", {
        "grant_type": "authorization_code", "code": codes[0], "redirect_uri": browser.redirect_uri,
        "code_verifier": "x" * 43, "client_id": storage.client.client_id,
        "client_secret": storage.client.client_secret})
    assert (status, body["error"]) == (400, "invalid_grant"), body


def _form(url: str, fields: dict, headers: dict | None = None) -> tuple[int, dict]:
    body = urllib.parse.urlencode(fields).encode()
    return _send(urllib.request.Request(url, body, {"content-type": "application/x-www-form-urlencoded",
                                                    **(headers or {})}, method="POST"))


def _send(request: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _register(issuer: str, metadata: dict) -> tuple[int, dict]:
    return _send(urllib.request.Request(f"{issuer}/register", json.dumps(metadata).encode(),
                                        {"content-type": "application/json"}, method="POST"))


def _authorize(issuer: str, params: dict) -> tuple[int, str, dict | None]:
    """The consent page's status, text, and the query it sends the browser back with (None: not sent back)."""
    try:
        with urllib.request.urlopen(f"{issuer}/authorize?{urllib.parse.urlencode(params)}", timeout=30) as response:
            status, page = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, page = error.code, error.read().decode()
    refresh = re.search(r'content="\d+;url=([^"]+)"', page)
    back = refresh and dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(html.unescape(refresh.group(1))).query))
    return status, page, back


def test_the_development_issuer_publishes_complete_metadata(dev_issuer_emulator) -> None:
    issuer = dev_issuer_emulator.issuer_url
    with urllib.request.urlopen(f"{issuer}/.well-known/oauth-authorization-server", timeout=10) as response:
        metadata = json.load(response)
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=10) as response:
        assert json.load(response) == metadata
    assert metadata["issuer"] == issuer
    for name, path in [("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                       ("registration_endpoint", "/register"), ("jwks_uri", "/jwks")]:
        assert metadata[name] == issuer + path
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert set(metadata["grant_types_supported"]) == {"authorization_code", "client_credentials"}
    assert "mcp:read" in metadata["scopes_supported"]
    assert urllib.parse.urlsplit(issuer).hostname == "127.0.0.1"


def test_the_development_issuer_refuses_bad_requests_the_way_oauth_says(dev_issuer_emulator) -> None:
    issuer, resource = dev_issuer_emulator.issuer_url, dev_issuer_emulator.rest_api_url
    # Registration (RFC 7591): a redirect URI off this machine, or no JSON.
    assert _register(issuer, {"redirect_uris": ["http://attacker.example.com/cb"]})[1]["error"] == "invalid_redirect_uri"
    status, body = _send(urllib.request.Request(f"{issuer}/register", b"{not json",
                                                {"content-type": "application/json"}, method="POST"))
    assert (status, body["error"]) == (400, "invalid_client_metadata")
    status, body = _register(issuer, {"redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "x" * 70000})
    assert status == 413, body
    status, client = _register(issuer, {"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"})
    assert status == 201 and "client_secret" not in client, client
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(__import__("hashlib").sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    good = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": "http://127.0.0.1:9/cb",
            "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256", "resource": resource}
    # Not sent back at all: an unknown client, a redirect URI it did not register.
    for bad in [{"client_id": "never-registered"}, {"redirect_uri": "http://127.0.0.1:9/elsewhere"},
                {"redirect_uri": "https://attacker.example.com/cb"}]:
        status, page, back = _authorize(issuer, {**good, **bad})
        assert status == 400 and back is None and "LOCAL TEST DOUBLE" in page, (bad, page)
    # Sent back with the error (RFC 6749 4.1.2.1, RFC 7636 4.4.1): PKCE plain or missing.
    for bad in [{"code_challenge_method": "plain"}, {"code_challenge_method": ""}, {"code_challenge": ""},
                {"response_type": "token"}, {"resource": "not-a-uri"}]:
        status, _, back = _authorize(issuer, {**good, **bad})
        expected = {"response_type": "unsupported_response_type", "resource": "invalid_target"}
        assert back and back["error"] == expected.get(next(iter(bad)), "invalid_request"), (bad, back)
        assert back["state"] == "s1" and "code" not in back
    # A loopback redirect URI may come back on another port (RFC 8252 7.3).
    _, _, back = _authorize(issuer, {**good, "redirect_uri": "http://127.0.0.1:10/cb"})
    assert back and back["code"] and back["state"] == "s1"
    exchange = {"grant_type": "authorization_code", "code": back["code"], "client_id": client["client_id"],
                "redirect_uri": "http://127.0.0.1:10/cb", "code_verifier": verifier}
    # A wrong verifier spends the code; so does a good one, once.
    assert _form(f"{issuer}/token", {**exchange, "code_verifier": "w" * 64})[1]["error"] == "invalid_grant"
    assert _form(f"{issuer}/token", exchange)[1]["error"] == "invalid_grant"
    _, _, back = _authorize(issuer, good)
    exchange = {**exchange, "code": back["code"], "redirect_uri": "http://127.0.0.1:9/cb"}
    assert _form(f"{issuer}/token", {**exchange, "resource": "http://127.0.0.1:9/other"})[1]["error"] == "invalid_target"
    _, _, back = _authorize(issuer, good)
    status, token = _form(f"{issuer}/token", {**exchange, "code": back["code"]})
    assert status == 200 and _claims(token["access_token"])["aud"] == resource, token
    assert _form(f"{issuer}/token", {**exchange, "code": back["code"]})[1]["error"] == "invalid_grant"
    # The token endpoint's other refusals.
    assert _form(f"{issuer}/token", {"grant_type": "password"}) == (400, {
        "error": "unsupported_grant_type",
        "error_description": "this development issuer grants authorization_code and client_credentials"})
    assert _form(f"{issuer}/token", {**exchange, "client_id": "never-registered"})[0] == 401
    status, body = _send(urllib.request.Request(f"{issuer}/token", b"grant_type=client_credentials&scope=a&scope=b",
                                                {"content-type": "application/x-www-form-urlencoded"}, method="POST"))
    assert (status, body["error"]) == (400, "invalid_request")
    status, confidential = _register(issuer, {"redirect_uris": ["http://127.0.0.1:9/cb"],
                                              "grant_types": ["client_credentials"]})
    assert status == 201
    wrong = base64.b64encode(f"{confidential['client_id']}:wrong".encode()).decode()
    status, body = _form(f"{issuer}/token", {"grant_type": "client_credentials", "resource": resource},
                         {"authorization": f"Basic {wrong}"})
    assert (status, body["error"]) == (401, "invalid_client")
    right = base64.b64encode(f"{confidential['client_id']}:{confidential['client_secret']}".encode()).decode()
    status, body = _form(f"{issuer}/token", {"grant_type": "client_credentials", "resource": resource},
                         {"authorization": f"Basic {right}"})
    assert status == 200 and _claims(body["access_token"])["client_id"] == confidential["client_id"]


# Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): the
# client_id is an https URL the issuer fetches. The test is that URL's host: a CA it
# makes, a certificate for 127.0.0.1 from that CA, and an HTTPS server on 127.0.0.1;
# the emulator trusts the CA with --dev-issuer-ca (and nothing else changes).


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


class _DocumentHost:
    """An HTTPS server on 127.0.0.1 serving client metadata documents by path
    (`documents[path] = (status, body bytes)`; a path in `slow` answers after
    6 s), with a certificate from the test's own CA (written to `ca_path`). It
    records the paths fetched."""

    def __init__(self, directory) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcp-ladder e2e test CA")])
        ca = _certificate("mcp-ladder e2e test CA", ca_key, ca_name, ca_key, ca=True)
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate("127.0.0.1", key, ca_name, ca_key, ca=False)
        self.ca_path = directory / "ca.pem"
        self.ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        chain, key_path = directory / "server.pem", directory / "server.key"
        chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.fetches: list[str] = []
        self.slow: set[str] = set()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                host.fetches.append(self.path)
                if self.path in host.slow:
                    time.sleep(6)
                status, body = host.documents.get(self.path, (404, b"not found"))
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("location", f"{host.base}/client.json")
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key_path)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path: str, document: dict | bytes, status: int = 200) -> str:
        """Serves `document` at `path`; its URL."""
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[path] = (status, body)
        return self.base + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def document_host(tmp_path_factory) -> Iterator[_DocumentHost]:
    host = _DocumentHost(tmp_path_factory.mktemp("cimd"))
    yield host
    host.close()


@pytest.fixture(scope="module")
def cimd_emulator(internet_template_path, document_host):
    """The local internet rung as `dev_issuer_emulator`, its issuer trusting the
    test's CA for the documents it fetches."""
    yield from running_emulator("aws-iam", ("--rest-api", "--rest-stage", "prod",
                                            "--template", internet_template_path, "--dev-issuer",
                                            "--dev-issuer-ca", str(document_host.ca_path)))


def _cimd_provider(url: str, client_id: str, browser: _Browser, storage: Memory) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(client_name="mcp-ladder e2e (CIMD)", redirect_uris=[browser.redirect_uri],
                                            token_endpoint_auth_method="none"),
        storage=storage, redirect_handler=browser.open, callback_handler=browser.callback,
        client_metadata_url=client_id,
    )


def test_the_sdk_uses_a_client_id_metadata_document_over_https(cimd_emulator, document_host) -> None:
    url, issuer = cimd_emulator.rest_api_url, cimd_emulator.issuer_url
    browser = _Browser()
    client_id = f"{document_host.base}/clients/e2e.json"
    document_host.serve("/clients/e2e.json", {
        "client_id": client_id, "client_name": "mcp-ladder e2e (CIMD)", "redirect_uris": [browser.redirect_uri],
        "grant_types": ["authorization_code"], "response_types": ["code"], "token_endpoint_auth_method": "none"})
    storage = Memory()
    before = len(document_host.fetches)
    try:
        names, counted = anyio.run(_list_and_count, url, _cimd_provider(url, client_id, browser, storage))
    finally:
        browser.close()
    assert "word_count" in names and counted.structured_content["words"] == 4, names
    # No registration: the client_id is the document's URL, a public client (no secret).
    assert storage.client is not None and storage.client.client_id == client_id
    assert storage.client.client_secret is None
    # The issuer fetched the document for the authorization request and for the token request.
    assert document_host.fetches[before:] == ["/clients/e2e.json", "/clients/e2e.json"]
    # The consent page names the client as its document does, and says what it is.
    assert "LOCAL TEST DOUBLE" in browser.pages[0] and "mcp-ladder e2e (CIMD)" in browser.pages[0]
    assert client_id in browser.pages[0] and "a program on this machine" in browser.pages[0]
    claims = _claims(storage.tokens.access_token)
    assert (claims["iss"], claims["aud"], claims["client_id"], claims["sub"]) == (
        issuer, url, client_id, "local-developer")
    with urllib.request.urlopen(f"{issuer}/.well-known/oauth-authorization-server", timeout=10) as response:
        assert json.load(response)["client_id_metadata_document_supported"] is True


def test_the_issuer_refuses_documents_it_cannot_trust(cimd_emulator, dev_issuer_emulator, document_host) -> None:
    issuer, resource = cimd_emulator.issuer_url, cimd_emulator.rest_api_url
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(__import__("hashlib").sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1:9/cb"

    def document(path: str, **overrides) -> str:
        client_id = document_host.base + path
        body = {"client_id": client_id, "client_name": "refused", "redirect_uris": [redirect], **overrides}
        return document_host.serve(path, {k: v for k, v in body.items() if v is not None})

    def authorize(client_id: str) -> tuple[int, str, dict | None]:
        return _authorize(issuer, {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
                                   "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
                                   "resource": resource})

    # A document that names another redirect URI (exact match, port included): the
    # browser is not sent anywhere.
    elsewhere = document("/other-redirect.json", redirect_uris=["http://127.0.0.1:10/cb"])
    status, page, back = authorize(elsewhere)
    assert status == 400 and back is None and "invalid_request" in page and "not registered" in page, page
    # Documents that cannot be had or used: invalid_client, the browser not sent anywhere.
    refused = {
        "missing (404)": (document_host.base + "/nowhere.json", "404"),
        "too big": (document_host.serve("/big.json", b"{" + b" " * 6000 + b"}"), "larger than 5120 bytes"),
        "not JSON": (document_host.serve("/not-json.json", b"<html>hello</html>"), "not a JSON object"),
        "another client_id": (document("/mismatch.json", client_id="https://app.example.com/client.json"),
                              "is not its URL"),
        "a shared secret": (document("/secret.json", token_endpoint_auth_method="client_secret_basic"),
                            "shared secret"),
        "no client_name": (document("/nameless.json", client_name=None), "client_name"),
        "a redirect": (document_host.serve("/moved.json", b"{}", status=302), "redirects are not followed"),
        "too slow": (document("/slow.json"), "took longer than 5 s"),
        "plain http": (f"http://127.0.0.1:{document_host.server.server_port}/clients/e2e.json",
                       "never registered"),
    }
    document_host.slow.add("/slow.json")
    for case, (client_id, why) in refused.items():
        status, page, back = authorize(client_id)
        assert status == 400 and back is None, (case, page)
        assert "invalid_client" in page and why in html.unescape(page), (case, page)
    # Without --dev-issuer-ca the test's certificate is not trusted: verification is never skipped.
    good = document("/good.json")
    assert authorize(good)[2] and authorize(good)[2].get("code"), "the emulator with the CA accepts it"
    status, page, back = _authorize(dev_issuer_emulator.issuer_url, {
        "response_type": "code", "client_id": good, "redirect_uri": redirect, "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert status == 400 and back is None and "invalid_client" in page, page
    assert "could not be fetched over HTTPS" in page and "certificate" in html.unescape(page).lower(), page
    # The token endpoint says the same in OAuth's JSON: 401 invalid_client.
    status, body = _form(f"{issuer}/token", {"grant_type": "authorization_code", "code": "x", "redirect_uri": redirect,
                                             "code_verifier": verifier, "client_id": document_host.base + "/nowhere.json"})
    assert (status, body["error"]) == (401, "invalid_client") and "404" in body["error_description"], body
    # A document is a public client: it gets no client credentials token.
    status, body = _form(f"{issuer}/token", {"grant_type": "client_credentials", "resource": resource,
                                             "client_id": document("/public.json")})
    assert (status, body["error"]) == (400, "unauthorized_client"), body
