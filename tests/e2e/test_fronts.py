"""The local fronts rename what AWS renames: a function's `WWW-Authenticate`
reaches the client as `x-amzn-Remapped-WWW-Authenticate` through API Gateway
REST (a Lambda proxy integration) and through a Function URL (reported for
both; DESIGN.md "Against real AWS (2)"). A stand-in function answers every
request with the header, so the test sees only what the fronts do to it."""

import urllib.error
import urllib.request

import pytest

from conftest import REPO, running_emulator

STAND_IN = str(REPO / "tests" / "e2e" / "stand_in" / "challenge_bootstrap.py")


@pytest.fixture(scope="module")
def stand_in():
    yield from running_emulator("none", ("--rest-api", "--rest-stage", "prod"), function=STAND_IN)


def _headers(url: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, b"{}", {"content-type": "application/json", "user-agent": "e2e"},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


@pytest.mark.parametrize("front", ["rest_api_url", "url"])
def test_the_fronts_rename_a_functions_www_authenticate(stand_in, front) -> None:
    status, headers = _headers(getattr(stand_in, front))
    assert status == 401
    assert "www-authenticate" not in headers, headers
    assert headers["x-amzn-remapped-www-authenticate"] == 'Bearer resource_metadata="https://stand-in.example.com/meta"'
    # Other headers pass as they are.
    assert headers["x-stand-in"] == "yes"


def test_outside_the_stage_the_rest_front_is_api_gateways_403(stand_in) -> None:
    root = stand_in.rest_api_url.removesuffix("/prod/mcp")
    for path in ["/.well-known/oauth-protected-resource/prod/mcp", "/.well-known/oauth-protected-resource", "/mcp"]:
        status, headers = _headers(root + path)
        assert status == 403 and headers["x-amzn-errortype"] == "MissingAuthenticationTokenException", (path, headers)
