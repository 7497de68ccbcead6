"""The MCP Inspector's web UI (`@modelcontextprotocol/inspector`, npm), a client nobody
here wrote, in a real browser (Debian's headless Chromium, driven by playwright-core)
through the OAuth authorization code flow against the local internet rung: the
Inspector discovers the development issuer from the endpoint's 401, registers itself
(RFC 7591), sends the browser to the issuer's consent page (a test double that approves
by itself), redeems the code with PKCE, then lists the tools and calls word_count. A
screenshot of the result is kept in target/test-artifacts/.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import REPO, free_port, internet_template, running_emulator

ARTIFACTS = REPO / "target" / "test-artifacts"
CHROMIUM = pathlib.Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def internet_rung(mcp_deploy, tmp_path_factory):
    """The stack's REST API (its authorizer's 401 carries the challenge the
    Inspector discovers from) and the development issuer."""
    template = internet_template(mcp_deploy, tmp_path_factory.mktemp("inspector"))
    yield from running_emulator("aws-iam", ("--rest-api", "--rest-stage", "prod", "--template", template,
                                            "--dev-issuer"))


def _wait_for_http(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the Inspector exited before it served"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the Inspector did not serve {url} within {seconds} s")


@pytest.fixture
def inspector(node_bin, internet_rung):
    """The Inspector's web UI for the REST endpoint, started as its docs say
    (`mcp-inspector --web --transport http --server-url URL`), on 127.0.0.1, with
    its API-token check off (DANGEROUSLY_OMIT_AUTH: a loopback test, nothing else
    can reach it), secrets in memory and its storage in a fresh folder."""
    port, sandbox = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="inspector-home-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "HOME": home, "MCP_STORAGE_DIR": f"{home}/storage", "HOST": "127.0.0.1",
            "CLIENT_PORT": str(port), "MCP_SANDBOX_PORT": str(sandbox), "MCP_AUTO_OPEN_ENABLED": "false",
            "DANGEROUSLY_OMIT_AUTH": "true", "MCP_INSPECTOR_SECRET_STORE": "memory",
        })
        launcher = REPO / "tests" / "node" / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
        process = subprocess.Popen(
            [str(node_bin / "node"), str(launcher), "--web", "--transport", "http",
             "--server-url", internet_rung.rest_api_url],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_for_http(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_inspector_in_a_browser_authorizes_lists_and_calls_a_tool(node_bin, internet_rung, inspector) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test.sh, which installs Debian's chromium")
    run = subprocess.run(
        [str(node_bin / "node"), "inspector-oauth.mjs", inspector, internet_rung.issuer_url, str(ARTIFACTS)],
        cwd=REPO / "tests" / "node", capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert "error" not in seen, (seen, f"screenshot: {ARTIFACTS / 'inspector-oauth-failed.png'}")
    # The browser met the consent page, which said what it is, and came back with a code.
    assert seen["consentStatus"] == 200 and seen["consentSaysTestDouble"], seen
    assert seen["callback"] == {"code": True, "state": True, "error": None}, seen
    # A read token (the 401 asks for mcp:read first): the destructive tool is neither listed nor run.
    assert "word_count" in seen["tools"] and "demo_drop_table" not in seen["tools"], seen
    assert seen["words"] == 4, seen
    assert (ARTIFACTS / "inspector-oauth.png").stat().st_size > 10_000
