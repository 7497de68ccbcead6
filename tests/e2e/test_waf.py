"""The internet rung's web ACL as the stack deploys it: `mcp-deploy synth
--exposure internet` writes the template, and the emulator's REST front puts
that template's web ACL in front of the real bootstrap (lambda-emulator
--template). What WAF does exactly is checked here: a request without
User-Agent is forbidden, the rate rule answers 429 with Retry-After and a
JSON-RPC-shaped body past its limit, and the IP allow-list and country
block answer 403 with theirs."""

import http.client
import json
import urllib.parse

import pytest

from conftest import internet_template, running_emulator

ISSUER = "https://issuer.example.com"
LIST = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})


def _front(mcp_deploy, tmp_path_factory, *flags: str):
    template = internet_template(mcp_deploy, tmp_path_factory.mktemp("waf"), *flags, issuer=ISSUER)
    # A function that checks tokens: a request WAF lets through gets API
    # Gateway's 401 (the authorizer's), one it blocks never reaches it.
    return running_emulator("none", ("--rest-api", "--rest-stage", "prod", "--template", template,
                                     "--env", "MCP_AUTH=oauth", "--env", f"MCP_OAUTH_ISSUER={ISSUER}"))


@pytest.fixture(scope="module")
def waf_front(mcp_deploy, tmp_path_factory):
    yield from _front(mcp_deploy, tmp_path_factory, "--waf-rate-limit", "10", "--block-country", "GB")


@pytest.fixture(scope="module")
def allow_listed_front(mcp_deploy, tmp_path_factory):
    yield from _front(mcp_deploy, tmp_path_factory, "--allow-cidr", "192.0.2.0/24")


def _post(url: str, headers: dict) -> tuple[int, dict, dict]:
    """A POST with exactly these headers (http.client adds no User-Agent)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("POST", parts.path, body=LIST,
                       headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                                **headers})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(body or b"{}")


UA = {"User-Agent": "mcp-ladder-tests/1"}


def test_without_a_user_agent_waf_forbids_and_the_function_never_runs(waf_front) -> None:
    before = waf_front.invocations()
    status, headers, body = _post(waf_front.rest_api_url, {})
    assert (status, body) == (403, {"message": "Forbidden"}), (status, body)
    assert headers["x-amzn-errortype"] == "ForbiddenException"
    assert waf_front.invocations() == before
    status, headers, _ = _post(waf_front.rest_api_url, UA)
    assert status == 401, "with a User-Agent the request reaches API Gateway's authorizer, which asks for a token"
    assert headers["www-authenticate"].startswith('Bearer resource_metadata="'), headers


def test_the_metadata_is_readable_without_a_user_agent(waf_front) -> None:
    """The official Python SDK fetches the resource metadata with a bare
    request (no User-Agent): the common rule set is scoped down to spare it."""
    parts = urllib.parse.urlsplit(waf_front.rest_api_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", "/prod/.well-known/oauth-protected-resource/mcp")
    response = connection.getresponse()
    metadata = json.loads(response.read())
    connection.close()
    assert response.status == 200 and metadata["resource"] == waf_front.rest_api_url, metadata


def test_a_blocked_country_gets_the_json_rpc_refusal(waf_front) -> None:
    status, _, body = _post(waf_front.rest_api_url, {**UA, "x-emulator-country": "GB"})
    assert status == 403
    assert body["error"]["code"] == -32001 and "address or country" in body["error"]["message"], body
    status, _, _ = _post(waf_front.rest_api_url, {**UA, "x-emulator-country": "FR"})
    assert status == 401


def test_past_the_rate_limit_waf_says_slow_down(waf_front) -> None:
    # This module's requests so far count too: at most 10 per address in the window.
    statuses = [_post(waf_front.rest_api_url, UA)[0] for _ in range(12)]
    assert 429 in statuses and statuses.index(429) <= 10, statuses
    assert set(statuses[statuses.index(429):]) == {429}, "once over, every request is refused"
    status, headers, body = _post(waf_front.rest_api_url, UA)
    assert status == 429 and headers["retry-after"] == "60", headers
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32000, body


def test_an_address_outside_the_allow_list_is_refused(allow_listed_front) -> None:
    status, _, body = _post(allow_listed_front.rest_api_url, UA)
    assert status == 403, "127.0.0.1 is not in 192.0.2.0/24"
    assert body["error"]["code"] == -32001, body



@pytest.fixture(scope="module")
def impatient_front():
    """The REST front with a dev issuer and a 1 s integration timeout (API
    Gateway's is 29 s; a test should not wait that long to see it)."""
    yield from running_emulator("none", ("--rest-api", "--rest-stage", "prod", "--dev-issuer", "--rest-timeout", "1"))


def test_a_buffered_integration_that_outlasts_its_timeout_gets_504(impatient_front) -> None:
    import urllib.request

    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "mcp:read mcp:write",
                                   "resource": impatient_front.rest_api_url}).encode()
    with urllib.request.urlopen(f"{impatient_front.issuer_url}/token", data=form, timeout=10) as response:
        token = json.load(response)["access_token"]
    call = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": {"name": "demo_progress", "arguments": {"steps": 3, "step_ms": 800}}})
    parts = urllib.parse.urlsplit(impatient_front.rest_api_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("POST", parts.path, body=call, headers={
        **UA, "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"})
    response = connection.getresponse()
    assert response.status == 504
    assert json.loads(response.read()) == {"message": "Endpoint request timed out"}
