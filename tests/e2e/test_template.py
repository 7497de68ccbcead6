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
    assert {t.name for t in templates} >= {"template.json", "assets.json", "gateway.json", "internet.json"}, templates
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
        tables = sorted(k for k, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table")
        # Every stack parks the calls that ask the client in a table of its own.
        want = ["McpRateLimitTable", "McpRendezvousTable"] if name == "in-stack" else ["McpRendezvousTable"]
        assert tables == want, name
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
    assert proc.returncode == 2  # a usage error, refused by the flag's own parser
    assert "wildcards are never granted" in proc.stderr


INTERNET = ["--exposure", "internet", "--issuer", "https://issuer.example.com", "--audience", "auto"]


def test_internet_variant_has_every_resource_and_no_function_url(mcp_deploy, tmp_path) -> None:
    """API, stage, WAF and its association always together; IP and geo rules as asked; clean."""
    out = tmp_path / "internet.json"
    subprocess.run(
        [mcp_deploy, "synth", *INTERNET, "--allow-cidr", "203.0.113.0/24", "--allow-cidr", "2001:db8::/32",
         "--block-country", "KP", "--waf-rate-limit", "500", "--to", str(out)],
        check=True, timeout=60,
    )
    template = json.loads(out.read_text())
    kinds = sorted(r["Type"] for r in template["Resources"].values())
    for kind in ("AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage",
                 "AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::IPSet",
                 "AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup"):
        assert kind in kinds, (kind, kinds)
    assert "AWS::Lambda::Url" not in kinds
    assert kinds.count("AWS::WAFv2::IPSet") == 2  # one per IP version
    acl = next(r for r in template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL")["Properties"]
    assert acl["Scope"] == "REGIONAL"
    rules = {r["Name"]: r for r in acl["Rules"]}
    assert set(rules) == {"only-allowed-cidrs", "blocked-countries", "rate-per-ip", "aws-common-rule-set"}
    assert rules["rate-per-ip"]["Statement"]["RateBasedStatement"]["Limit"] == 500
    # "Slow down", not "forbidden": 429 with Retry-After and a JSON-RPC-shaped body.
    slow = rules["rate-per-ip"]["Action"]["Block"]["CustomResponse"]
    assert slow["ResponseCode"] == 429 and slow["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "60"}]
    body = json.loads(acl["CustomResponseBodies"][slow["CustomResponseBodyKey"]]["Content"])
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32000
    for name in ("only-allowed-cidrs", "blocked-countries"):
        assert rules[name]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 403
    # The body rules that misfire on JSON tool arguments count; the rest of the set blocks.
    counted = {o["Name"] for o in rules["aws-common-rule-set"]["Statement"]["ManagedRuleGroupStatement"]
               ["RuleActionOverrides"] if "Count" in o["ActionToUse"]}
    assert counted == {"SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY",
                       "GenericRFI_BODY", "EC2MetaDataSSRF_BODY"}
    assert rules["blocked-countries"]["Statement"]["GeoMatchStatement"]["CountryCodes"] == ["KP"]
    permissions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert len(permissions) == 1
    assert permissions[0]["Principal"] == "apigateway.amazonaws.com"
    assert "${McpRestApi}/*" in permissions[0]["SourceArn"]["Fn::Sub"]
    env = next(r for r in template["Resources"].values()
               if r["Type"] == "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert env["MCP_AUTH"] == "oauth" and env["MCP_OAUTH_ISSUER"] == "https://issuer.example.com"
    assert "execute-api" in env["MCP_OAUTH_AUDIENCE"]["Fn::Sub"]
    assert "MCP_INVOKE_MODE" not in env
    # Every method streams (ResponseTransferMode STREAM, InvokeWithResponseStream's
    # URI), and the function is told to answer REST events as streams.
    methods = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Method"]
    assert len(methods) == 3
    for method in methods:
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY" and integration["ResponseTransferMode"] == "STREAM"
        assert integration["Uri"]["Fn::Sub"].endswith(
            ":lambda:path/2021-11-15/functions/${McpServerFunction.Arn}/response-streaming-invocations")
    assert env["MCP_REST_TRANSFER_MODE"] == "STREAM"
    proc = _lint(str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_internet_buffered_variant_is_clean(mcp_deploy, tmp_path) -> None:
    """--response-transfer-mode buffered: Invoke's URI, BUFFERED, and a
    function that answers REST events in one piece."""
    out = tmp_path / "buffered.json"
    subprocess.run([mcp_deploy, "synth", *INTERNET, "--response-transfer-mode", "buffered", "--to", str(out)],
                   check=True, timeout=60)
    template = json.loads(out.read_text())
    for method in (r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Method"):
        assert method["Integration"]["ResponseTransferMode"] == "BUFFERED"
        assert method["Integration"]["Uri"]["Fn::Sub"].endswith("/2015-03-31/functions/${McpServerFunction.Arn}/invocations")
    env = next(r for r in template["Resources"].values()
               if r["Type"] == "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert "MCP_REST_TRANSFER_MODE" not in env
    proc = _lint(str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_internet_without_issuer_or_audience_is_refused(mcp_deploy) -> None:
    cases = [
        (["--exposure", "internet"], "--issuer URL"),
        (["--exposure", "internet", "--issuer", "https://issuer.example.com"], "--audience URL"),
        ([*INTERNET[:4], "--audience", "http://api.example.com/mcp"], "https"),
        ([*INTERNET, "--allow-cidr", "10.0.0.1"], "not a CIDR"),
        ([*INTERNET, "--block-country", "Korea"], "alpha-2"),
        ([*INTERNET, "--block-country", "UK"], "the United Kingdom is GB"),
        ([*INTERNET, "--block-country", "EU"], "not a country"),
        ([*INTERNET, "--allow-cidr", "0.0.0.0/0"], "refuses /0"),
        ([*INTERNET, "--rung", "gateway"], "its own front"),
        (["--issuer", "https://issuer.example.com"], "--exposure internet only"),
    ]
    for args, says in cases:
        proc = subprocess.run([mcp_deploy, "synth", *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and says in proc.stderr, (args, proc.stderr)
