"""mcp-deploy against an emulated AWS: moto 5.2.5 (with the AWS::Lambda::Url
extension in tests/moto) as the control plane, and the local emulator running
the real bootstrap as the data plane behind the stack's FunctionUrl.

Where moto differs from AWS the tests check what AWS does, and tests/moto teaches
moto what it lacks (for example, the Outputs of stacks made through change sets,
which mcp-deploy reads as AWS gives them).
"""

from __future__ import annotations

import ast
import io
import json
import os
import random
import signal
import subprocess
import urllib.parse
import urllib.request
import zipfile

import boto3
import pytest

from conftest import REPO, internet_template, running_emulator, running_moto

REGION = "eu-central-1"


@pytest.fixture(scope="module")
def data_plane(mcp_deploy, tmp_path_factory):
    """The emulator that serves every stack's FunctionUrl, and its local
    AgentCore Gateway every stack's GatewayUrl (with the tools `mcp-deploy
    tools --format agentcore` exports, as the stack's target registers them)."""
    tools = tmp_path_factory.mktemp("gateway") / "tools.json"
    exported = subprocess.run([mcp_deploy, "tools", "--format", "agentcore"], capture_output=True, text=True,
                              timeout=60, check=True)
    tools.write_text(exported.stdout)
    # Streaming, as the stacks' URLs are by default (InvokeMode RESPONSE_STREAM).
    yield from running_emulator("aws-iam", ("--gateway-tools", str(tools), "--invoke-mode", "response-stream",
                                                "--env", "MCP_GATEWAY_TARGET=1"))


@pytest.fixture(scope="module")
def moto(data_plane):
    yield from running_moto({
        "MOTO_ACCOUNT_ID": data_plane.account,
        "MCP_MOTO_FUNCTION_URL": data_plane.url,
        "MCP_MOTO_GATEWAY_URL": data_plane.gateway_url,
    })


@pytest.fixture(scope="module")
def env(moto, data_plane, tmp_path_factory) -> dict:
    """The environment mcp-deploy runs with: the data plane's signing
    principal as credentials, moto as the endpoint, nothing from ~/.aws."""
    home = tmp_path_factory.mktemp("home")
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MCP_"))}
    e.update(data_plane.env)
    e.update({
        "AWS_ENDPOINT_URL": moto,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "MCP_REGION": REGION,
        "MCP_ACCOUNT_ID": data_plane.account,
        # Test hooks (the test build of mcp-deploy has them; a release has not).
        "MCP_DEPLOY_POLL_MS": "100",
        "MCP_DEPLOY_TEST_VERIFY_S": "3",
        "HOME": str(home),
    })
    return e


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> str:
    """moto never runs the code, so any zip with a bootstrap will do."""
    path = tmp_path_factory.mktemp("pkg") / "bootstrap.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    path.write_bytes(buf.getvalue())
    return str(path)


def _aws(moto: str, service: str):
    return boto3.client(service, endpoint_url=moto, region_name=REGION,
                        aws_access_key_id="x", aws_secret_access_key="y")


def run(mcp_deploy: str, env: dict, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([mcp_deploy, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _stack_name() -> str:
    return f"McpTest{random.getrandbits(32):08x}"


def assert_clean(moto: str, stack: str) -> None:
    """Nothing of the stack is left: no live stack, function, role, log group or secret."""
    cfn, lam, iam, logs = (_aws(moto, s) for s in ("cloudformation", "lambda", "iam", "logs"))
    for summary in cfn.list_stacks()["StackSummaries"]:
        if summary["StackName"] == stack:
            assert summary["StackStatus"] == "DELETE_COMPLETE", summary
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert f"{stack}-mcp" not in names, names
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(stack)]
    assert roles == [], roles
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack}")["logGroups"]
    assert groups == [], groups
    _assert_secret_gone(moto, stack)


def test_prepare_is_idempotent(mcp_deploy, env, moto) -> None:
    first = run(mcp_deploy, env, "prepare", "--output", "json")
    assert first.returncode == 0, first.stderr
    bucket = json.loads(first.stdout)["BucketName"]
    second = run(mcp_deploy, env, "prepare")
    assert second.returncode == 0, second.stderr
    assert "already prepared" in second.stderr
    _aws(moto, "s3").head_bucket(Bucket=bucket)


def test_deploy_redeploy_teardown(mcp_deploy, env, moto, package, tmp_path) -> None:
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    outputs_file = tmp_path / "outputs.json"
    deployed = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package,
                   "--outputs-file", str(outputs_file), "--output", "json")
    assert deployed.returncode == 0, deployed.stderr
    cfn = _aws(moto, "cloudformation")
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    outputs = json.loads(outputs_file.read_text())[stack]
    assert set(outputs) >= {"FunctionUrl", "FunctionName", "AccountId", "Region"}
    assert outputs["FunctionName"] == f"{stack}-mcp"
    assert outputs["AccountId"] == env["MCP_ACCOUNT_ID"] and outputs["Region"] == REGION
    url = _aws(moto, "lambda").get_function_url_config(FunctionName=outputs["FunctionName"])
    assert url["AuthType"] == "AWS_IAM"
    assert "Deployment" in deployed.stderr or "deployment time" in deployed.stderr
    secret_arn = _assert_state_key(moto, stack, deployed.stdout + deployed.stderr + outputs_file.read_text())

    again = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package)
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stderr

    down = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert down.returncode == 0, down.stderr
    assert "clean." in down.stderr
    assert f"verified: AWS::Lambda::Function {stack}-mcp is gone" in down.stderr
    assert f"verified: AWS::SecretsManager::Secret {secret_arn} is gone" in down.stderr, down.stderr
    assert cfn.describe_stacks(StackName=described["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert_clean(moto, stack)


def _assert_state_key(moto: str, stack: str, printed: str) -> str:
    """The stack's key of multi round-trip requests: a secret named after the
    stack, its value generated (64 letters and digits) and in nothing the
    deploy printed; the function names it and its role may read that one
    secret only. Returns its ARN."""
    sm = _aws(moto, "secretsmanager")
    secret = sm.describe_secret(SecretId=f"{stack}-mcp-state-key")
    value = sm.get_secret_value(SecretId=secret["ARN"])["SecretString"]
    assert len(value) == 64 and value.isalnum(), "GenerateSecretString: 64 letters and digits"
    assert value not in printed, "the secret's value is in the deploy's output"
    function = _aws(moto, "lambda").get_function_configuration(FunctionName=f"{stack}-mcp")
    assert function["Environment"]["Variables"]["MCP_STATE_KEY_SECRET_ARN"] == secret["ARN"]
    iam = _aws(moto, "iam")
    role = function["Role"].rsplit("/", 1)[1]
    policy = iam.get_role_policy(RoleName=role, PolicyName="read-state-key")["PolicyDocument"]
    if isinstance(policy, str):  # moto keeps a stack's inline policy as Python's repr of it
        policy = ast.literal_eval(policy)
    assert policy["Statement"] == [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                    "Resource": secret["ARN"]}], policy
    return secret["ARN"]


def _assert_secret_gone(moto: str, stack: str) -> None:
    try:
        _aws(moto, "secretsmanager").describe_secret(SecretId=f"{stack}-mcp-state-key")
    except _aws(moto, "secretsmanager").exceptions.ResourceNotFoundException:
        return
    pytest.fail(f"the secret of {stack} survived its teardown")


def test_rate_limited_stack_makes_and_verifiably_deletes_its_table(mcp_deploy, env, moto, package) -> None:
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    limits = '{"default": "100/60s", "tools": {"word_count": "10/60s"}}'
    deployed = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package,
                   "--rate-limits", limits, "--output", "json")
    assert deployed.returncode == 0, deployed.stderr
    table = json.loads(deployed.stdout)["RateLimitTable"]
    ddb = _aws(moto, "dynamodb")
    described = ddb.describe_table(TableName=table)["Table"]
    assert described["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}, ttl
    config = _aws(moto, "lambda").get_function_configuration(FunctionName=f"{stack}-mcp")
    assert config["Environment"]["Variables"]["MCP_RATE_LIMIT_TABLE"] == table
    assert config["Environment"]["Variables"]["MCP_RATE_LIMITS"] == limits

    down = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert down.returncode == 0, down.stderr
    assert f"verified: AWS::DynamoDB::Table {table} is gone" in down.stderr
    assert table not in ddb.list_tables()["TableNames"]
    assert_clean(moto, stack)


def test_observed_stack_makes_and_verifiably_deletes_its_dashboard_and_alarms(mcp_deploy, env, moto,
                                                                              package) -> None:
    """--tracing and --dashboard: the function traced actively and writing its metrics in
    the stack's namespace, a dashboard of them, alarms on the error rate and throttles;
    teardown proves the dashboard and both alarms gone."""
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    deployed = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package,
                   "--tracing", "--dashboard", "--output", "json")
    assert deployed.returncode == 0, deployed.stderr
    dashboard = json.loads(deployed.stdout)["Dashboard"]
    assert dashboard == f"{stack}-mcp"
    config = _aws(moto, "lambda").get_function_configuration(FunctionName=f"{stack}-mcp")
    assert config["Environment"]["Variables"]["MCP_METRICS_NAMESPACE"] == f"mcp-ladder/{stack}"
    cloudwatch = _aws(moto, "cloudwatch")
    body = json.loads(cloudwatch.get_dashboard(DashboardName=dashboard)["DashboardBody"])
    search = body["widgets"][0]["properties"]["metrics"][0][0]["expression"]
    assert f'{{"mcp-ladder/{stack}",tool}}' in search, search
    assert {w["properties"]["region"] for w in body["widgets"]} == {REGION}
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=stack)["MetricAlarms"]}
    assert set(alarms) == {f"{stack}-mcp-error-rate", f"{stack}-mcp-throttles"}, alarms
    assert alarms[f"{stack}-mcp-throttles"]["MetricName"] == "Throttles"

    down = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert down.returncode == 0, down.stderr
    assert f"verified: AWS::CloudWatch::Dashboard {dashboard} is gone" in down.stderr, down.stderr
    for name in alarms:
        assert f"verified: AWS::CloudWatch::Alarm {name} is gone" in down.stderr, down.stderr
    assert cloudwatch.describe_alarms(AlarmNamePrefix=stack)["MetricAlarms"] == []
    assert dashboard not in [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    assert_clean(moto, stack)


def test_moto_is_taught_the_gateway_stack(moto, package) -> None:
    """The checked-in gateway stack (infra/gateway.json) creates, through moto's
    own bedrock-agentcore-control backend, a gateway with semantic search and a
    Lambda target carrying the exported tools, and deleting the stack deletes
    both: the ground the gateway rung's deploy and teardown tests stand on."""
    s3, cfn = _aws(moto, "s3"), _aws(moto, "cloudformation")
    control = _aws(moto, "bedrock-agentcore-control")
    bucket = f"gw-assets-{random.getrandbits(32):08x}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    with open(package, "rb") as f:
        s3.put_object(Bucket=bucket, Key="assets/gw.zip", Body=f.read())
    stack = _stack_name()
    cfn.create_stack(
        StackName=stack, TemplateBody=(REPO / "infra" / "gateway.json").read_text(),
        Parameters=[{"ParameterKey": "AssetBucket", "ParameterValue": bucket},
                    {"ParameterKey": "AssetKey", "ParameterValue": "assets/gw.zip"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    resources = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    gateway_id = resources["McpGateway"]["PhysicalResourceId"]
    gateway = control.get_gateway(gatewayIdentifier=gateway_id)
    assert gateway["name"] == f"{stack}-gw"
    assert gateway["protocolConfiguration"]["mcp"]["searchType"] == "SEMANTIC"
    assert gateway["authorizerType"] == "AWS_IAM"
    target_gateway, _, target_id = resources["McpGatewayTarget"]["PhysicalResourceId"].partition("|")
    assert target_gateway == gateway_id
    target = control.get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id)
    assert target["name"] == "mcp-ladder"
    lambda_target = target["targetConfiguration"]["mcp"]["lambda"]
    assert lambda_target["lambdaArn"].endswith(f":function:{stack}-mcp")
    tools = {t["name"] for t in lambda_target["toolSchema"]["inlinePayload"]}
    assert {"word_count", "demo_echo"} <= tools, tools

    cfn.delete_stack(StackName=stack)
    with pytest.raises(control.exceptions.ResourceNotFoundException):
        control.get_gateway(gatewayIdentifier=gateway_id)
    with pytest.raises(control.exceptions.ResourceNotFoundException):
        control.get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id)
    assert_clean(moto, stack)


def test_gateway_rung_deploys_smokes_and_verifiably_tears_down(mcp_deploy, env, moto, package, data_plane) -> None:
    """`--rung gateway`: the function with no Function URL, the gateway and its
    target; the smoke test lists, searches and calls through the gateway and is
    refused unsigned; teardown verifies gateway, target, roles, function and log
    group are gone."""
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    deployed = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package, "--rung", "gateway",
                   "--output", "json")
    assert deployed.returncode == 0, deployed.stderr
    assert "cannot be changed later" in deployed.stderr or "can never have it" in deployed.stderr
    outputs = json.loads(deployed.stdout)
    assert "FunctionUrl" not in outputs, outputs
    assert outputs["GatewayUrl"] == data_plane.gateway_url
    gateway_id = outputs["GatewayId"]
    control = _aws(moto, "bedrock-agentcore-control")
    assert control.get_gateway(gatewayIdentifier=gateway_id)["protocolConfiguration"]["mcp"]["searchType"] == "SEMANTIC"
    lam = _aws(moto, "lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_url_config(FunctionName=f"{stack}-mcp")

    before = data_plane.invocations()
    smoked = run(mcp_deploy, env, "smoke", "--stack-name", stack, "--output", "json", timeout=120)
    assert smoked.returncode == 0, smoked.stderr
    report = json.loads(smoked.stdout)
    assert "unsignedStatus" not in report, report  # no Function URL smoke: the stack has none
    assert report["gateway"]["search"][0] == "mcp-ladder___word_count", report
    assert report["gateway"]["unsignedStatus"] == 403
    assert data_plane.invocations() > before
    called = run(mcp_deploy, env, "call", "--stack-name", stack, "word_count")
    assert called.returncode == 1 and "no Function URL" in called.stderr, called.stderr

    # AgentCore refuses an AuthorizerType update that CloudFormation's schema
    # allows: deploy reads the gateway and refuses before anything changes.
    cfn = _aws(moto, "cloudformation")
    events = len(cfn.describe_stack_events(StackName=stack)["StackEvents"])
    to_jwt = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package, "--rung", "gateway",
                 "--gateway-auth", "jwt", "--jwt-audience", "mcp",
                 "--jwt-discovery-url", "https://issuer.example.com/.well-known/openid-configuration")
    assert to_jwt.returncode == 1, to_jwt.stderr
    assert f"the deployed gateway {gateway_id} authenticates callers with AWS_IAM, and this deploy asks for " \
           "CUSTOM_JWT" in to_jwt.stderr, to_jwt.stderr
    assert "Deploy again with --gateway-auth iam" in to_jwt.stderr
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert len(cfn.describe_stack_events(StackName=stack)["StackEvents"]) == events, "no update started"

    down = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert down.returncode == 0, down.stderr
    assert f"verified: AWS::BedrockAgentCore::Gateway {gateway_id} is gone" in down.stderr, down.stderr
    assert "verified: AWS::BedrockAgentCore::GatewayTarget " in down.stderr, down.stderr
    # The workload identity AgentCore made for the gateway, recorded before deletion.
    assert f"recorded AWS::BedrockAgentCore::WorkloadIdentity of gateway {gateway_id}" in down.stderr, down.stderr
    assert f"verified: AWS::BedrockAgentCore::WorkloadIdentity {gateway_id} is gone" in down.stderr, down.stderr
    with pytest.raises(control.exceptions.ResourceNotFoundException):
        control.get_gateway(gatewayIdentifier=gateway_id)
    assert_clean(moto, stack)


def test_a_gateway_left_after_its_stack_fails_the_teardown_by_name(mcp_deploy, env, moto) -> None:
    """A gateway's id is random, so once its stack is gone teardown finds it by
    the name the stack gave it (`<stack>-gw`) and fails until it is deleted."""
    stack = _stack_name()
    control = _aws(moto, "bedrock-agentcore-control")
    survivor = control.create_gateway(name=f"{stack}-gw", roleArn=f"arn:aws:iam::{env['MCP_ACCOUNT_ID']}:role/r",
                                      protocolType="MCP", authorizerType="AWS_IAM")["gatewayId"]
    left = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert left.returncode == 1, left.stderr
    assert f"AWS::BedrockAgentCore::Gateway {survivor} (McpGateway) still exists" in left.stderr, left.stderr
    assert f"AWS::BedrockAgentCore::WorkloadIdentity {survivor} (McpGateway/WorkloadIdentity) still exists" \
        in left.stderr, left.stderr
    control.delete_gateway(gatewayIdentifier=survivor)
    clean = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert clean.returncode == 0, clean.stderr
    assert "nothing deployed" in clean.stderr


def test_every_resource_named_after_a_gone_stack_fails_the_teardown(mcp_deploy, env, moto) -> None:
    """Once the stack is gone (deleted out of band, say), teardown still looks
    for what the stack names after itself - the REST API, web ACL, IP sets and
    rate-limit table as well as the function and gateway - and names each."""
    stack = _stack_name()
    api = _aws(moto, "apigateway").create_rest_api(name=f"{stack}-api")["id"]
    waf = _aws(moto, "wafv2")
    acl = waf.create_web_acl(Name=f"{stack}-waf", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False,
                                               "MetricName": "m"})["Summary"]
    ipset = waf.create_ip_set(Name=f"{stack}-ipv4", Scope="REGIONAL", IPAddressVersion="IPV4",
                              Addresses=["192.0.2.0/24"])["Summary"]
    table = f"{stack}-McpRateLimitTable-0A1B2C3D"
    sm = _aws(moto, "secretsmanager")
    secret = sm.create_secret(Name=f"{stack}-mcp-state-key", SecretString="x" * 64)["ARN"]
    ddb = _aws(moto, "dynamodb")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    left = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert left.returncode == 1, left.stderr
    assert f"stack {stack} no longer exists, but resources named after it do" in left.stderr, left.stderr
    for line in [f"AWS::ApiGateway::RestApi {api} (McpRestApi) still exists",
                 f"AWS::WAFv2::WebACL {stack}-waf|{acl['Id']}|REGIONAL (McpWebAcl) still exists",
                 f"AWS::WAFv2::IPSet {stack}-ipv4|{ipset['Id']}|REGIONAL (McpAllowedIpv4) still exists",
                 f"AWS::DynamoDB::Table {table} (McpRateLimitTable) still exists",
                 f"AWS::SecretsManager::Secret {stack}-mcp-state-key (McpStateKeySecret) still exists"]:
        assert line in left.stderr, f"{line!r} missing from:\n{left.stderr}"
    _aws(moto, "apigateway").delete_rest_api(restApiId=api)
    waf.delete_web_acl(Name=f"{stack}-waf", Scope="REGIONAL", Id=acl["Id"], LockToken=acl["LockToken"])
    waf.delete_ip_set(Name=f"{stack}-ipv4", Scope="REGIONAL", Id=ipset["Id"], LockToken=ipset["LockToken"])
    ddb.delete_table(TableName=table)
    # A secret scheduled for deletion (DeletedDate set) can no longer be read,
    # and goes for good at the end of its recovery window: it counts as gone.
    sm.delete_secret(SecretId=secret, RecoveryWindowInDays=7)
    assert "DeletedDate" in sm.describe_secret(SecretId=secret)
    clean = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert clean.returncode == 0, clean.stderr
    assert "nothing deployed" in clean.stderr
    assert f"verified: AWS::SecretsManager::Secret {stack}-mcp-state-key is gone" in clean.stderr, clean.stderr
    sm.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)


def _demo_signalled(mcp_deploy: str, env: dict, stage: str, sig: signal.Signals, *args: str) -> tuple[int, str]:
    """Runs `demo ARGS` paused at `stage`, sends `sig` there; its exit code and output."""
    proc = subprocess.Popen([mcp_deploy, "demo", *args],
                            env=dict(env, MCP_DEPLOY_TEST_PAUSE_AT=stage), stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if f"stage: {stage}" in line:
            proc.send_signal(sig)
            break
    rest = proc.stderr.read()
    return proc.wait(timeout=120), "".join(seen) + rest


@pytest.mark.parametrize("stage", ["stack-in-progress", "smoke"])
def test_gateway_demo_killed_mid_way_leaves_nothing(mcp_deploy, env, moto, package, stage) -> None:
    stack = _stack_name()
    code, output = _demo_signalled(mcp_deploy, env, stage, signal.SIGTERM,
                                   "--stack-name", stack, "--zip", package, "--rung", "gateway")
    assert code == 1, output
    assert "SIGTERM received: running teardown" in output, output
    assert "clean." in output, output
    assert_clean(moto, stack)
    control = _aws(moto, "bedrock-agentcore-control")
    assert not [g for g in control.list_gateways()["items"] if g["name"] == f"{stack}-gw"]


def test_gateway_demo_against_the_emulated_account(mcp_deploy, env, moto, package, data_plane) -> None:
    stack = _stack_name()
    proc = run(mcp_deploy, env, "demo", "--stack-name", stack, "--zip", package, "--rung", "gateway",
               "--with-function-url", timeout=300)
    assert proc.returncode == 0, proc.stderr
    for line in ["GatewayUrl: ", "x_amz_bedrock_agentcore_search", "tools/call mcp-ladder___word_count -> ",
                 "unsigned POST status: 403", "tools/call demo_account_context -> ", "clean."]:
        assert line in proc.stderr, f"{line!r} missing from:\n{proc.stderr}"
    assert_clean(moto, stack)


def test_teardown_with_nothing_deployed_succeeds(mcp_deploy, env) -> None:
    proc = run(mcp_deploy, env, "teardown", "--stack-name", _stack_name())
    assert proc.returncode == 0, proc.stderr
    assert "nothing deployed" in proc.stderr


def test_a_surviving_resource_fails_the_teardown_by_name(mcp_deploy, env, moto, package) -> None:
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    assert run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package).returncode == 0
    # Pause the teardown after the stack is deleted and put the log group back,
    # as a resource that survived the deletion would be.
    proc = subprocess.Popen([mcp_deploy, "teardown", "--stack-name", stack],
                            env=dict(env, MCP_DEPLOY_TEST_PAUSE_AT="verifying"),
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "stage: verifying" in line:
            _aws(moto, "logs").create_log_group(logGroupName=f"/aws/lambda/{stack}-mcp")
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert "NOT clean" in rest
    assert f"AWS::Logs::LogGroup /aws/lambda/{stack}-mcp (McpServerLogGroup) still exists" in rest
    # A rerun looks again, though the stack is gone: the names it implies are
    # checked, so the survivor still fails the run (audit item 5).
    again = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert again.returncode == 1, again.stderr
    assert "no longer exists, but resources named after it do" in again.stderr
    assert f"AWS::Logs::LogGroup /aws/lambda/{stack}-mcp (McpServerLogGroup) still exists" in again.stderr
    _aws(moto, "logs").delete_log_group(logGroupName=f"/aws/lambda/{stack}-mcp")
    clean = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert clean.returncode == 0, clean.stderr
    assert "nothing deployed" in clean.stderr


def test_a_surviving_dashboard_or_alarm_fails_the_teardown_by_name(mcp_deploy, env, moto, package) -> None:
    """The dashboard's and alarms' checks look (GetDashboard, DescribeAlarms over the
    protocol the Rust SDK speaks): put back after the stack is deleted, each is named."""
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    assert run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package, "--dashboard").returncode == 0
    proc = subprocess.Popen([mcp_deploy, "teardown", "--stack-name", stack],
                            env=dict(env, MCP_DEPLOY_TEST_PAUSE_AT="verifying"),
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    cloudwatch = _aws(moto, "cloudwatch")
    for line in proc.stderr:
        if "stage: verifying" in line:
            cloudwatch.put_dashboard(DashboardName=f"{stack}-mcp", DashboardBody='{"widgets": []}')
            cloudwatch.put_metric_alarm(AlarmName=f"{stack}-mcp-throttles", Namespace="AWS/Lambda",
                                        MetricName="Throttles", Statistic="Sum", Period=300, EvaluationPeriods=1,
                                        Threshold=0, ComparisonOperator="GreaterThanThreshold")
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 1, rest
    assert f"AWS::CloudWatch::Dashboard {stack}-mcp (McpDashboard) still exists" in rest, rest
    assert f"AWS::CloudWatch::Alarm {stack}-mcp-throttles (McpThrottleAlarm) still exists" in rest, rest
    assert f"verified: AWS::CloudWatch::Alarm {stack}-mcp-error-rate is gone" in rest, rest
    cloudwatch.delete_dashboards(DashboardNames=[f"{stack}-mcp"])
    cloudwatch.delete_alarms(AlarmNames=[f"{stack}-mcp-throttles"])


def test_prepare_reuses_the_bucket_its_deleted_stack_left(mcp_deploy, env, moto, package) -> None:
    """The bucket is retained when the asset stack is deleted; prepare must
    then reuse it instead of failing on "already exists" (audit item 2)."""
    first = run(mcp_deploy, env, "prepare", "--output", "json")
    assert first.returncode == 0, first.stderr
    bucket = json.loads(first.stdout)["BucketName"]
    cfn = _aws(moto, "cloudformation")
    cfn.delete_stack(StackName="McpLadderAssets")
    _aws(moto, "s3").head_bucket(Bucket=bucket)  # retained
    again = run(mcp_deploy, env, "prepare", "--output", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["BucketName"] == bucket
    assert "reusing asset bucket" in again.stderr
    stack = _stack_name()
    deployed = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package)
    assert deployed.returncode == 0, deployed.stderr
    assert run(mcp_deploy, env, "teardown", "--stack-name", stack).returncode == 0
    assert_clean(moto, stack)


def test_demo_with_another_accounts_credentials_deletes_nothing(mcp_deploy, env, moto) -> None:
    """Audit item 1: credentials that act in account B, with MCP_ACCOUNT_ID
    naming another account, fail the account check before the guard is armed,
    and B's stack of the same name survives. (The moto fixture pins every
    request to one account with MOTO_ACCOUNT_ID, so B is that account and the
    expected account is another one; AssumeRole cannot switch accounts there.)"""
    stack = _stack_name()
    cfn_b = _aws(moto, "cloudformation")
    assert _aws(moto, "sts").get_caller_identity()["Account"] == env["MCP_ACCOUNT_ID"]
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    cfn_b.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    expected = str((int(env["MCP_ACCOUNT_ID"]) + 7) % 10**12).zfill(12)
    proc = run(mcp_deploy, dict(env, MCP_ACCOUNT_ID=expected), "demo", "--stack-name", stack,
               "--zip", "unused.zip")
    assert proc.returncode == 1, proc.stderr
    assert f"not to MCP_ACCOUNT_ID {expected}" in proc.stderr, proc.stderr
    assert "TRAP" not in proc.stderr and "deleting stack" not in proc.stderr, proc.stderr
    status = cfn_b.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", status
    cfn_b.delete_stack(StackName=stack)


def test_a_signal_before_the_guard_is_armed_creates_nothing(mcp_deploy, env, moto, package) -> None:
    stack = _stack_name()
    proc = subprocess.Popen([mcp_deploy, "demo", "--stack-name", stack, "--zip", package],
                            env=dict(env, MCP_DEPLOY_TEST_PAUSE_AT="checking-account"),
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "stage: checking-account" in line:
            proc.send_signal(signal.SIGTERM)
            break
    proc.stderr.read()
    assert proc.wait(timeout=60) != 0
    assert_clean(moto, stack)


def test_credentials_of_another_account_are_refused(mcp_deploy, env, package) -> None:
    other = str((int(env["MCP_ACCOUNT_ID"]) + 1) % 10**12).zfill(12)
    proc = run(mcp_deploy, dict(env, MCP_ACCOUNT_ID=other), "deploy", "--stack-name", _stack_name(), "--zip", package)
    assert proc.returncode == 1
    assert f"not to MCP_ACCOUNT_ID {other}" in proc.stderr


def test_missing_settings_name_the_variable_and_the_flag(mcp_deploy, env, package) -> None:
    no_account = {k: v for k, v in env.items() if k != "MCP_ACCOUNT_ID"}
    proc = run(mcp_deploy, no_account, "deploy", "--zip", package)
    assert proc.returncode == 1
    assert "export MCP_ACCOUNT_ID or pass --account" in proc.stderr
    no_region = {k: v for k, v in env.items() if k not in ("MCP_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")}
    proc = run(mcp_deploy, no_region, "deploy", "--zip", package)
    assert proc.returncode == 1
    assert "export MCP_REGION or pass --region" in proc.stderr


def test_demo_against_the_emulated_account(mcp_deploy, env, moto, package, data_plane) -> None:
    stack = _stack_name()
    before = data_plane.invocations()
    proc = run(mcp_deploy, env, "demo", "--stack-name", stack, "--zip", package, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for line in ["initialize -> ", "tools/list -> ", "tools/call demo_account_context -> ",
                 "unsigned POST status: 403", "stack status: DELETE_COMPLETE", "clean."]:
        assert line in proc.stderr, f"{line!r} missing from:\n{proc.stderr}"
    assert data_plane.invocations() > before
    assert_clean(moto, stack)


STAGES = ["preparing", "stack-in-progress", "stack-ready", "smoke", "deleting-stack"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("stage", STAGES)
def test_demo_killed_at_any_point_leaves_nothing(mcp_deploy, env, moto, package, stage, sig) -> None:
    stack = _stack_name()
    code, output = _demo_signalled(mcp_deploy, env, stage, sig, "--stack-name", stack, "--zip", package)
    assert f"stage: {stage}" in output, output
    if stage == "deleting-stack":
        # A signal during the teardown does not stop it: it warns and goes on.
        assert "signal again within 10 s to abandon it" in output, output
        assert code == 0, output
    else:
        assert code == 1, output
        assert f"{sig.name} received: running teardown" in output, output
    assert "clean." in output or "nothing deployed" in output, output
    assert_clean(moto, stack)


def test_demo_local_end_to_end(mcp_deploy) -> None:
    """The README's main command: no AWS at all, the emulator plays AWS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MCP_"))}
    proc = subprocess.run([mcp_deploy, "demo", "--local"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for line in ["initialize -> ", "tools/list -> [\"word_count\", \"demo_echo\", \"demo_progress\", \"demo_drop_table\", \"demo_account_context\"]",
                 "tools/call demo_account_context -> ", "unsigned POST status: 403",
                 "verified: function process", "refuses connections", "clean."]:
        assert line in proc.stderr, f"{line!r} missing from:\n{proc.stderr}"


@pytest.mark.parametrize("stage", ["deploying", "smoke"])
def test_demo_local_interrupted_still_tears_down(mcp_deploy, stage) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MCP_"))}
    proc = subprocess.Popen([mcp_deploy, "demo", "--local"], env=dict(env, MCP_DEPLOY_TEST_PAUSE_AT=stage),
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if f"stage: {stage}" in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert "SIGTERM received: running teardown" in rest
    assert "clean." in rest or "nothing deployed" in rest, rest


@pytest.mark.parametrize("fault", ["stack-ready:panic", "smoke:error"])
def test_demo_with_a_panic_or_an_error_still_tears_down(mcp_deploy, env, moto, package, fault) -> None:
    stack = _stack_name()
    proc = run(mcp_deploy, dict(env, MCP_DEPLOY_TEST_FAULT=fault), "demo", "--stack-name", stack, "--zip", package)
    assert proc.returncode == 1, proc.stderr
    kind = fault.split(":")[1]
    assert (">>> TRAP: a panic" if kind == "panic" else ">>> TRAP: the run failed") in proc.stderr, proc.stderr
    assert "clean." in proc.stderr, proc.stderr
    assert_clean(moto, stack)


def test_smoke_and_call_against_a_deployed_stack(mcp_deploy, env, moto, package) -> None:
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    assert run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package).returncode == 0
    try:
        smoke = run(mcp_deploy, env, "smoke", "--stack-name", stack, "--output", "json")
        assert smoke.returncode == 0, smoke.stderr
        report = json.loads(smoke.stdout)
        assert report["unsignedStatus"] == 403 and report["wrongRegionStatus"] == 403
        assert report["accountContext"]["account"] == env["MCP_ACCOUNT_ID"]
        listed = run(mcp_deploy, env, "call", "--stack-name", stack)
        assert listed.returncode == 0, listed.stderr
        assert [t["name"] for t in json.loads(listed.stdout)] == ["word_count", "demo_echo", "demo_progress", "demo_drop_table", "demo_account_context"]
        called = run(mcp_deploy, env, "call", "word_count", "--args", '{"text": "one two three"}', "--stack-name", stack)
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout)["structuredContent"] == {"words": 3, "characters": 13}
        slow = run(mcp_deploy, env, "call", "demo_progress", "--args", '{"steps": 3, "step_ms": 50}',
                   "--stack-name", stack)
        assert slow.returncode == 0, slow.stderr
        assert json.loads(slow.stdout)["structuredContent"]["steps"] == 3
        # Not a terminal: one plain line per notification, in order.
        lines = [line for line in slow.stderr.splitlines() if line.startswith("progress ")]
        assert lines == ["progress 0/3 starting", "progress 1/3 step 1 of 3", "progress 2/3 step 2 of 3",
                         "progress 3/3 step 3 of 3"], slow.stderr
        bad = run(mcp_deploy, env, "call", "word_count", "--args", "[1]", "--stack-name", stack)
        assert bad.returncode == 1 and "must be a JSON object" in bad.stderr
    finally:
        assert run(mcp_deploy, env, "teardown", "--stack-name", stack).returncode == 0
    assert_clean(moto, stack)


# The internet-facing rung. moto has the control plane only: the smoke test's
# endpoint is the emulator's REST front (MCP_DEPLOY_TEST_API_URL, a test hook),
# the function there trusting the emulator's development issuer.

INTERNET = ["--exposure", "internet", "--issuer", "https://issuer.example.com", "--audience", "auto"]


@pytest.fixture(scope="module")
def internet_plane(mcp_deploy, tmp_path_factory):
    template = internet_template(mcp_deploy, tmp_path_factory.mktemp("internet"))
    yield from running_emulator("aws-iam", ("--rest-api", "--rest-stage", "prod", "--template", template,
                                            "--dev-issuer"))


def _mint(issuer_url: str, audience: str, scope: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "ci",
                                   "scope": scope, "resource": audience}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{issuer_url}/token", form), timeout=30) as response:
        return json.load(response)["access_token"]


def test_internet_rung_deploys_smokes_and_verifiably_tears_down(mcp_deploy, env, moto, package,
                                                                  internet_plane) -> None:
    """API Gateway, its stage, the web ACL with its rules and association, the
    function set up as a resource server, no Function URL; the smoke test's 401,
    discovery, foreign-token and isolation checks; teardown verifies API, web ACL,
    IP set, function, role and log group are gone."""
    assert run(mcp_deploy, env, "prepare").returncode == 0
    stack = _stack_name()
    deployed = run(mcp_deploy, env, "deploy", "--stack-name", stack, "--zip", package, *INTERNET,
                   "--allow-cidr", "203.0.113.0/24", "--block-country", "KP", "--output", "json")
    assert deployed.returncode == 0, deployed.stderr
    outputs = json.loads(deployed.stdout)
    assert "FunctionUrl" not in outputs and "functionUrl" not in outputs, outputs
    api_url = outputs["ApiUrl"]
    api_id = api_url.removeprefix("https://").split(".")[0]
    assert api_url == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/prod/mcp"

    apigw, waf, lam = _aws(moto, "apigateway"), _aws(moto, "wafv2"), _aws(moto, "lambda")
    # (moto's model drops EndpointConfiguration; test_template.py checks REGIONAL in the template.)
    assert apigw.get_rest_api(restApiId=api_id)["name"] == f"{stack}-api"
    paths = {r["path"] for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert {"/mcp", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} <= paths
    stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 50
    stage_arn = f"arn:aws:apigateway:{REGION}::/restapis/{api_id}/stages/prod"
    acl = waf.get_web_acl_for_resource(ResourceArn=stage_arn)["WebACL"]
    assert acl["Name"] == f"{stack}-waf"
    assert {r["Name"] for r in acl["Rules"]} == {"only-allowed-cidrs", "blocked-countries", "rate-per-ip",
                                                   "aws-common-rule-set"}
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_url_config(FunctionName=f"{stack}-mcp")
    env_vars = lam.get_function_configuration(FunctionName=f"{stack}-mcp")["Environment"]["Variables"]
    assert env_vars["MCP_AUTH"] == "oauth" and env_vars["MCP_OAUTH_ISSUER"] == "https://issuer.example.com"
    policy = json.loads(lam.get_policy(FunctionName=f"{stack}-mcp")["Policy"])
    principals = [s["Principal"] for s in policy["Statement"]]
    assert principals == [{"Service": "apigateway.amazonaws.com"}], policy
    assert f":{api_id}/*" in json.dumps(policy["Statement"][0]["Condition"]), policy

    # Smoke against the emulated data plane: without tokens it says what it left out.
    smoke_env = dict(env, MCP_DEPLOY_TEST_API_URL=internet_plane.rest_api_url)
    partial = run(mcp_deploy, smoke_env, "smoke", "--stack-name", stack, "--output", "json")
    assert partial.returncode == 0, partial.stderr
    report = json.loads(partial.stdout)["internet"]
    assert report["challenge"].startswith('Bearer resource_metadata="'), report
    assert len(report["notChecked"]) == 3, report
    assert "not checked: a token for another audience" in partial.stderr
    issuer = report["metadata"]["authorization_servers"][0]
    rest = internet_plane.rest_api_url
    tokens = {
        "MCP_SMOKE_TOKEN_READ": _mint(issuer, rest, "mcp:read"),
        "MCP_SMOKE_TOKEN_ADMIN": _mint(issuer, rest, "mcp:read mcp:admin"),
        "MCP_SMOKE_TOKEN_OTHER_AUDIENCE": _mint(issuer, "https://other.example.com/mcp", "mcp:admin"),
    }
    full = run(mcp_deploy, dict(smoke_env, **tokens), "smoke", "--stack-name", stack, "--output", "json")
    assert full.returncode == 0, full.stderr
    report = json.loads(full.stdout)["internet"]
    assert report["notChecked"] == [] and len(report["checked"]) == 5, report
    assert "demo_drop_table" not in report["readTools"]
    # A read token passed off as an admin one fails the smoke test.
    swapped = dict(smoke_env, **tokens)
    swapped["MCP_SMOKE_TOKEN_ADMIN"] = tokens["MCP_SMOKE_TOKEN_READ"]
    wrong = run(mcp_deploy, swapped, "smoke", "--stack-name", stack)
    assert wrong.returncode == 1 and "an admin token could not call demo_drop_table (403)" in wrong.stderr

    down = run(mcp_deploy, env, "teardown", "--stack-name", stack)
    assert down.returncode == 0, down.stderr
    for line in (f"verified: AWS::ApiGateway::RestApi {api_id} is gone",
                 f"verified: AWS::WAFv2::WebACL {stack}-waf|", "verified: AWS::WAFv2::IPSet ",
                 f"verified: AWS::Lambda::Function {stack}-mcp is gone", "verified: AWS::IAM::Role ",
                 "verified: AWS::Logs::LogGroup "):
        assert line in down.stderr, (line, down.stderr)
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.get_rest_api(restApiId=api_id)
    assert not [a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == f"{stack}-waf"]
    assert_clean(moto, stack)


@pytest.mark.parametrize("stage", ["stack-in-progress"])
def test_internet_demo_killed_mid_deploy_leaves_nothing(mcp_deploy, env, moto, package, stage) -> None:
    stack = _stack_name()
    code, output = _demo_signalled(mcp_deploy, env, stage, signal.SIGTERM,
                                   "--stack-name", stack, "--zip", package, *INTERNET)
    assert code == 1, output
    assert "SIGTERM received: running teardown" in output, output
    assert "clean." in output, output
    assert_clean(moto, stack)
    waf = _aws(moto, "wafv2")
    assert not [a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == f"{stack}-waf"]
    assert not [a for a in _aws(moto, "apigateway").get_rest_apis()["items"] if a["name"] == f"{stack}-api"]
