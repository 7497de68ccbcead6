"""cfn-lint reports nothing on the synthesised templates (every checked-in one, and a variant)."""

import pathlib
import json
import subprocess
import sys

from conftest import REPO


def _lint(path: str) -> subprocess.CompletedProcess:
    cfn_lint = pathlib.Path(sys.executable).parent / "cfn-lint"
    return subprocess.run([str(cfn_lint), path], capture_output=True, text=True, timeout=300)


def test_checked_in_templates_are_clean() -> None:
    templates = sorted((REPO / "infra").glob("*.json"))
    assert {t.name for t in templates} >= {"template.json", "assets.json", "gateway.json"}, templates
    for template in templates:
        proc = _lint(str(template))
        assert proc.returncode == 0, f"{template.name}: {proc.stdout}{proc.stderr}"


def test_variant_is_clean(mcp_deploy, tmp_path) -> None:
    out = tmp_path / "variant.json"
    account = "0" * 12
    subprocess.run(
        [mcp_deploy, "synth", "--arch", "x86_64", "--memory", "256",
         "--allow-principal", f"arn:aws:iam::{account}:role/McpInvoker",
         "--allow-principal", account, "--to", str(out)],
        check=True, timeout=60,
    )
    proc = _lint(str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rate_limit_variants_are_clean(mcp_deploy, tmp_path) -> None:
    """Rate limits with the table in the stack, and with a table the user brings."""
    limits = '{"default": "100/60s", "tools": {"word_count": "10/60s"}}'
    for name, extra in (("in-stack", ()), ("brought", ("--rate-limit-table", "team-limits"))):
        out = tmp_path / f"limits-{name}.json"
        subprocess.run([mcp_deploy, "synth", "--rate-limits", limits, *extra, "--to", str(out)],
                       check=True, timeout=60)
        template = json.loads(out.read_text())
        tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
        assert len(tables) == (1 if name == "in-stack" else 0), name
        proc = _lint(str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = subprocess.run([mcp_deploy, "synth", "--rate-limits", '{"tools": {"word_count": "ten"}}'],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "tools.word_count" in bad.stderr, bad.stderr


def test_tool_scopes_are_checked_and_reach_the_function(mcp_deploy, tmp_path) -> None:
    out = tmp_path / "scoped.json"
    scopes = '{"demo_drop_table": ["ops:admin"]}'
    subprocess.run([mcp_deploy, "synth", "--tool-scopes", scopes, "--to", str(out)], check=True, timeout=60)
    template = json.loads(out.read_text())
    function = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    assert json.loads(function["Properties"]["Environment"]["Variables"]["MCP_TOOL_SCOPES"]) == json.loads(scopes)
    assert _lint(str(out)).returncode == 0
    for bad, named in [('{"drop_table": ["x"]}', "demo_drop_table"), ('{"word_count": "x"}', '"word_count"')]:
        proc = subprocess.run([mcp_deploy, "synth", "--tool-scopes", bad], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "--tool-scopes" in proc.stderr and named in proc.stderr, proc.stderr


def test_gateway_variant_is_clean(mcp_deploy, tmp_path) -> None:
    """The gateway rung with bearer-token auth and the Function URL kept."""
    out = tmp_path / "gateway-jwt.json"
    proc = subprocess.run(
        [mcp_deploy, "synth", "--rung", "gateway", "--with-function-url", "--gateway-auth", "jwt",
         "--jwt-discovery-url", "https://issuer.example/.well-known/openid-configuration",
         "--jwt-audience", "https://mcp.example", "--jwt-client", "agent", "--jwt-scope", "tools:read",
         "--to", str(out)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    # What the gateway cannot hold is named, and semantic search is announced as final.
    assert "dropped `additionalProperties: false` at /inputSchema" in proc.stderr
    assert "SearchType SEMANTIC" in proc.stderr
    lint = _lint(str(out))
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_gateway_demo_with_jwt_auth_is_refused_before_anything(mcp_deploy) -> None:
    """demo's gateway smoke test signs with SigV4: a JWT gateway is refused first."""
    proc = subprocess.run([mcp_deploy, "demo", "--rung", "gateway", "--gateway-auth", "jwt",
                           "--jwt-discovery-url", "https://issuer.example/.well-known/openid-configuration",
                           "--jwt-audience", "mcp"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "MCP_REGION": "eu-central-1"})
    assert proc.returncode == 1
    assert "needs --gateway-auth iam" in proc.stderr, proc.stderr


def test_wildcard_principal_is_refused(mcp_deploy) -> None:
    proc = subprocess.run([mcp_deploy, "synth", "--allow-principal", "*"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "wildcards are never granted" in proc.stderr
