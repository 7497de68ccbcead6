"""The AWS smoke test's role policy (.github/aws-smoke-policy.json) allows what
mcp-deploy calls, and nothing else.

What is called, found without AWS:
- the SDK calls in crates/mcp-deploy/src (`aws.cfn.describe_stacks()`,
  waiters and paginators included), named as IAM actions through botocore's
  service models (the operation's name, the service's signing name; API
  Gateway's actions are the operation's HTTP method);
- the SigV4-signed requests of the smoke tests (a Function URL, a gateway);
- what CloudFormation calls with the role's own credentials for each resource
  of the stacks the workflow deploys (its jobs' flags, synthesised by
  mcp-deploy): the handler permissions of each resource type, from cfn-lint's
  bundled CloudFormation resource schemas. A handler's own service's actions
  are all taken (they act on the smoke stacks' resources only); another
  service's only where a property the template sets needs it (CROSS); a few
  actions a handler calls only for a property the templates do not set are
  left out (ONLY_WITH).

The test names each action the policy lacks and each one it allows that
nothing uses; a statement of one rung (its Sid's prefix) may hold only what
that rung uses. Run it alone to print what each rung needs (mcp-deploy
built, as scripts/test.sh builds it): `.venv/bin/python tests/e2e/test_smoke_policy.py`.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import re
import subprocess
from dataclasses import dataclass, field

import botocore
import botocore.loaders
import cfnlint
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
SRC = REPO / "crates" / "mcp-deploy" / "src"
POLICY = REPO / ".github" / "aws-smoke-policy.json"
WORKFLOW = REPO / ".github" / "workflows" / "aws-smoke.yml"

# The SDK crate of each client in src/aws.rs, and its botocore model.
CRATES = {
    "aws_sdk_cloudformation": "cloudformation",
    "aws_sdk_lambda": "lambda",
    "aws_sdk_s3": "s3",
    "aws_sdk_sts": "sts",
    "aws_sdk_iam": "iam",
    "aws_sdk_cloudwatchlogs": "logs",
    "aws_sdk_dynamodb": "dynamodb",
    "aws_sdk_bedrockagentcorecontrol": "bedrock-agentcore-control",
    "aws_sdk_apigateway": "apigateway",
    "aws_sdk_wafv2": "wafv2",
    "aws_sdk_cloudwatch": "cloudwatch",
    "aws_sdk_secretsmanager": "secretsmanager",
}

# Operations authorised under another action than their own name (AWS's
# service authorization reference for S3: HEAD on a bucket needs
# s3:ListBucket, HEAD on an object s3:GetObject).
AUTHORISED_AS = {
    "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
}

# What a SigV4-signed request of the smoke tests needs, by signing service,
# and the resource type it goes to (needed by the rungs whose stacks have
# one). A Function URL with AuthType AWS_IAM checks both actions
# (docs/rung-2-function-url.md); a gateway with AWS_IAM inbound auth checks
# InvokeGateway (GatewayAuth::AwsIam in rung/gateway.rs).
SIGNED = {
    "lambda": ("AWS::Lambda::Url", ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction")),
    "bedrock-agentcore": ("AWS::BedrockAgentCore::Gateway", ("bedrock-agentcore:InvokeGateway",)),
}

# The IAM namespace of each CloudFormation service namespace in the stacks.
NAMESPACES = {
    "Lambda": "lambda",
    "IAM": "iam",
    "Logs": "logs",
    "BedrockAgentCore": "bedrock-agentcore",
    "ApiGateway": "apigateway",
    "WAFv2": "wafv2",
    "DynamoDB": "dynamodb",
    "CloudWatch": "cloudwatch",
    "SecretsManager": "secretsmanager",
}


def _is_arn_of(service: str):
    return lambda value: f":{service}:" in json.dumps(value)


@dataclass(frozen=True)
class Cross:
    """Another service's action a handler needs for a property the template sets."""
    kind: str
    prop: str
    action: str
    why: str
    passed_to: str | None = None  # for iam:PassRole: the service the role is passed to
    applies: object = None  # a test of the property's value, when its presence is not enough


CROSS = (
    Cross("AWS::Lambda::Function", "Role", "iam:PassRole",
          "the function's execution role", passed_to="lambda.amazonaws.com"),
    Cross("AWS::Lambda::Function", "Code", "s3:GetObject",
          "the package in the asset bucket", applies=lambda code: "S3Bucket" in code),
    Cross("AWS::BedrockAgentCore::Gateway", "RoleArn", "iam:PassRole",
          "the gateway's service role", passed_to="bedrock-agentcore.amazonaws.com"),
    Cross("AWS::WAFv2::WebACLAssociation", "ResourceArn", "apigateway:SetWebACL",
          "the web ACL is associated with an API Gateway stage", applies=_is_arn_of("apigateway")),
)

@dataclass(frozen=True)
class OnlyWith:
    """Actions a handler lists but calls only for a property (or a value of it)."""
    kind: str
    prop: str
    actions: tuple[str, ...]
    needed: object = None  # a test of the property's value, when its presence is not enough


def _lambda_target(config: dict) -> bool:
    return set(config) == {"Mcp"} and set(config["Mcp"]) == {"Lambda"}


# Left out while no template sets the property (or sets it so). Which
# property an action serves is read from the action's name and the schema's
# properties, not from the handlers' code: a real run is the final word.
ONLY_WITH = (
    OnlyWith("AWS::IAM::Role", "ManagedPolicyArns", ("iam:AttachRolePolicy", "iam:DetachRolePolicy")),
    OnlyWith("AWS::IAM::Role", "PermissionsBoundary",
             ("iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary")),
    OnlyWith("AWS::Lambda::Function", "ReservedConcurrentExecutions",
             ("lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency")),
    OnlyWith("AWS::Lambda::Function", "CodeSigningConfigArn",
             ("lambda:GetCodeSigningConfig", "lambda:PutFunctionCodeSigningConfig",
              "lambda:DeleteFunctionCodeSigningConfig")),
    OnlyWith("AWS::Lambda::Function", "Layers", ("lambda:GetLayerVersion",)),
    OnlyWith("AWS::Lambda::Function", "CapacityProviderConfig", ("lambda:PassCapacityProvider",)),
    OnlyWith("AWS::Lambda::Function", "FunctionScalingConfig", ("lambda:PutFunctionScalingConfig",)),
    OnlyWith("AWS::Lambda::Function", "RuntimeManagementConfig", ("lambda:PutRuntimeManagementConfig",)),
    OnlyWith("AWS::Lambda::Function", "RecursiveLoop", ("lambda:PutFunctionRecursionConfig",)),
    OnlyWith("AWS::Logs::LogGroup", "KmsKeyId", ("logs:AssociateKmsKey", "logs:DisassociateKmsKey")),
    OnlyWith("AWS::Logs::LogGroup", "DataProtectionPolicy",
             ("logs:PutDataProtectionPolicy", "logs:CreateLogDelivery")),
    OnlyWith("AWS::Logs::LogGroup", "ResourcePolicyDocument",
             ("logs:PutResourcePolicy", "logs:DeleteResourcePolicy")),
    OnlyWith("AWS::Logs::LogGroup", "FieldIndexPolicies", ("logs:PutIndexPolicy", "logs:DeleteIndexPolicy")),
    OnlyWith("AWS::Logs::LogGroup", "BearerTokenAuthenticationEnabled", ("logs:PutBearerTokenAuthentication",)),
    OnlyWith("AWS::Logs::LogGroup", "DeletionProtectionEnabled", ("logs:PutLogGroupDeletionProtection",)),
    OnlyWith("AWS::BedrockAgentCore::GatewayTarget", "CredentialProviderConfigurations",
             ("bedrock-agentcore:GetResourceOauth2Token", "bedrock-agentcore:GetWorkloadAccessToken",
              "bedrock-agentcore:GetWorkloadAccessTokenForUserId"),
             needed=lambda configs: any(c["CredentialProviderType"] != "GATEWAY_IAM_ROLE" for c in configs)),
    OnlyWith("AWS::BedrockAgentCore::GatewayTarget", "TargetConfiguration",
             ("bedrock-agentcore:GetAgentRuntime",), needed=lambda config: not _lambda_target(config)),
    OnlyWith("AWS::ApiGateway::RestApi", "Policy", ("apigateway:UpdateRestApiPolicy",)),
    OnlyWith("AWS::DynamoDB::Table", "ImportSourceSpecification", ("dynamodb:ImportTable", "dynamodb:DescribeImport")),
    OnlyWith("AWS::DynamoDB::Table", "KinesisStreamSpecification",
             ("dynamodb:EnableKinesisStreamingDestination", "dynamodb:DisableKinesisStreamingDestination",
              "dynamodb:UpdateKinesisStreamingDestination")),
    OnlyWith("AWS::DynamoDB::Table", "ResourcePolicy", ("dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy")),
    OnlyWith("AWS::DynamoDB::Table", "ContributorInsightsSpecification", ("dynamodb:UpdateContributorInsights",)),
    OnlyWith("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification", ("dynamodb:UpdateContinuousBackups",)),
    OnlyWith("AWS::SecretsManager::Secret", "ReplicaRegions",
             ("secretsmanager:ReplicateSecretToRegions", "secretsmanager:RemoveRegionsFromReplication")),
)

# Calls the code makes that the smoke role does not: only `prepare` creates a
# stack outright (the asset stack, made once when the role is set up).
NOT_THE_SMOKE_ROLES = {
    "cloudformation:CreateStack": "assets.rs: `prepare` creating the asset stack, run once at setup",
}

# Actions allowed on every resource ("*"): they name no resource, or none the
# smoke stacks' names can scope.
ANY_RESOURCE = {
    "sts:GetCallerIdentity": "names no resource",
    "logs:DescribeLogGroups": "lists log groups by prefix (teardown; the log group handler)",
    "logs:DescribeResourcePolicies": "the account's log resource policies (the log group handler)",
    "bedrock-agentcore:ListGateways": "lists every gateway (teardown finds the stack's by name)",
    "dynamodb:ListTables": "lists every table (teardown finds the stack's by its name's prefix)",
    "wafv2:ListWebACLs": "lists the region's web ACLs (teardown finds the stack's by name)",
    "wafv2:ListIPSets": "lists the region's IP sets (teardown finds the stack's by name)",
    "secretsmanager:GetRandomPassword": "names no resource (the secret handler generates the state key with it)",
}

# Resources whose ARNs cannot carry the stack's name: ids AWS chooses (REST
# APIs, gateways), AgentCore's workload identity directory, AWS's managed
# rule groups.
UNNAMED = (
    r"arn:aws:apigateway:\*::/(restapis(/\*(/stages/\*)?)?|tags/\*)",
    r"arn:aws:bedrock-agentcore:\*:\*:(gateway/\*|workload-identity-directory/default(/workload-identity/\*)?)",
    r"arn:aws:wafv2:\*:\*:regional/managedruleset/\*/\*",
)

# The rungs, as the statements' Sids begin; COMMON statements may hold what
# any rung uses.
COMMON = "Common"
RUNG_SIDS = {"url": "Url", "gateway": "Gateway", "internet": "Internet", "rate-limits": "RateLimits",
             "observe": "Observe"}
RUNG_FILES = {"rung/url.rs": "url", "rung/gateway.rs": "gateway", "rung/internet.rs": "internet",
              "rung/rate_limit.rs": "rate-limits", "rung/observe.rs": "observe"}


@dataclass
class Need:
    """An action, and why: which rungs use it, and where it comes from."""
    rungs: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)


# ---------------------------------------------------------------- botocore


@functools.cache
def model(service: str) -> dict:
    loader = botocore.loaders.create_loader()
    return loader.load_service_model(service, "service-2")


@functools.cache
def waiters(service: str) -> dict:
    loader = botocore.loaders.create_loader()
    return loader.load_service_model(service, "waiters-2")["waiters"]


def _flat(name: str) -> str:
    return name.replace("_", "").lower()


def iam_action(service: str, call: str) -> str:
    """`describe_stacks` of cloudformation -> cloudformation:DescribeStacks."""
    operations = model(service)["operations"]
    if call.startswith("wait_until_"):
        waiter = {_flat(k): v for k, v in waiters(service).items()}[_flat(call[len("wait_until_"):])]
        call = waiter["operation"]
    by_flat = {_flat(name): op for name, op in operations.items()}
    op = by_flat.get(_flat(call))
    assert op is not None, f"{service} has no operation {call} (botocore {botocore.__version__})"
    metadata = model(service)["metadata"]
    prefix = metadata.get("signingName") or metadata["endpointPrefix"]
    # CloudWatch signs as `monitoring`, but IAM names its actions `cloudwatch:`.
    prefix = {"monitoring": "cloudwatch"}.get(prefix, prefix)
    if service == "apigateway":
        return f"apigateway:{op['http']['method']}"
    action = f"{prefix}:{op['name']}"
    return AUTHORISED_AS.get(action, action)


# ---------------------------------------------------------------- the code


def _code(path: pathlib.Path) -> str:
    """A source file without its unit tests and comments."""
    text = path.read_text()
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    return re.sub(r"//[^\n]*", "", text)


def clients() -> dict[str, str]:
    """The Aws struct's client fields -> botocore service."""
    fields = re.findall(r"pub (\w+): (aws_sdk_\w+)::Client", (SRC / "aws.rs").read_text())
    assert fields, "src/aws.rs declares no clients: the scan below would find nothing"
    unknown = [c for _, c in fields if c not in CRATES]
    assert not unknown, f"add the botocore model of {unknown} to CRATES"
    return {f: CRATES[c] for f, c in fields}


def sources() -> dict[str, str]:
    return {str(p.relative_to(SRC)): _code(p) for p in sorted(SRC.rglob("*.rs"))}


def sdk_calls() -> list[tuple[str, str, str, str]]:
    """(file, service, call, the fn that makes it) for every SDK call in the source."""
    fields = clients()
    found = []
    names = "|".join(fields)
    for name, code in sources().items():
        for m in re.finditer(rf"\.({names})\b(\s*\.\s*([a-z_][a-z0-9_]*)\s*\()?", code):
            # A client field not called in place (passed on, bound to a name)
            # would hide its calls from this scan.
            assert m.group(2), f"{name}: `{code[m.start():m.start() + 60]}`: call the client in place"
            fns = re.findall(r"\bfn (\w+)", code[:m.start()])
            found.append((name, fields[m.group(1)], m.group(3), fns[-1] if fns else ""))
    assert found, "no SDK calls found"
    return found


def reached_from(name: str, root: str) -> set[str]:
    """The functions of file `name` that `root` calls, directly or through
    others of the file (a function's body taken as the text up to the next
    `fn`)."""
    code = sources()[name]
    starts = [(m.group(1), m.start()) for m in re.finditer(r"\bfn (\w+)", code)]
    bodies: dict[str, str] = {}
    for (fn, start), (_, end) in zip(starts, starts[1:] + [("", len(code))]):
        bodies[fn] = bodies.get(fn, "") + code[start:end]
    reached, todo = set(), [root]
    while todo:
        fn = todo.pop()
        if fn in reached or fn not in bodies:
            continue
        reached.add(fn)
        todo.extend(callee for callee in bodies if re.search(rf"\b{callee}\(", bodies[fn]))
    return reached


def signed_requests() -> list[tuple[str, str]]:
    """(file, signing service) for every SigV4 client of the smoke tests."""
    default = re.search(r"fn sigv4\(.*?service: \"([\w-]+)\"", sources()["client.rs"], re.S)
    assert default, "client.rs: McpClient::sigv4's service not found"
    found = []
    for name, code in sources().items():
        for m in re.finditer(r"McpClient::sigv4\(", code):
            tail = code[m.end():m.end() + 300].split(";")[0]
            service = re.search(r"\.with_service\(\"([\w-]+)\"\)", tail)
            found.append((name, service.group(1) if service else default.group(1)))
    return found


# ---------------------------------------------------------------- the stacks


@functools.cache
def _schemas() -> tuple[pathlib.Path, dict]:
    data = pathlib.Path(cfnlint.__file__).parent / "data" / "schemas"
    return data, json.loads((data / "providers" / "us-east-1.json").read_text())


def schema(kind: str) -> dict:
    data, providers = _schemas()
    assert kind in providers, f"cfn-lint {cfnlint.__version__} has no schema for {kind}"
    return json.loads((data / "resources" / f"{providers[kind]}.json").read_text())


def handler_permissions(kind: str) -> set[str]:
    handlers = schema(kind).get("handlers", {})
    return {p for h in ("create", "read", "update", "delete") for p in handlers.get(h, {}).get("permissions", [])}


def jobs() -> dict[str, list[str]]:
    """The workflow's rungs and the stack flags each deploys with."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    include = workflow["jobs"]["smoke"]["strategy"]["matrix"]["include"]
    out = {}
    for job in include:
        flags = job["flags"].split()
        if "internet" in flags:
            flags += ["--issuer", "https://issuer.example"]  # the job's comes from a variable
        out[job["rung"]] = flags
    assert set(out) == set(RUNG_SIDS), f"the workflow's rungs {sorted(out)} are not {sorted(RUNG_SIDS)}"
    return out


def synth(mcp_deploy: str, flags: list[str]) -> dict:
    proc = subprocess.run([mcp_deploy, "synth", *flags], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"mcp-deploy synth {' '.join(flags)}: {proc.stderr}"
    return json.loads(proc.stdout)


def on_behalf(template: dict) -> dict[str, set[str]]:
    """action -> the resource types it is needed for, CloudFormation acting as the caller."""
    needed: dict[str, set[str]] = {}
    for logical_id, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        namespace = kind.split("::")[1]
        assert namespace in NAMESPACES, f"{logical_id}: add the IAM namespace of {kind} to NAMESPACES"
        permissions = handler_permissions(kind)
        own = {p for p in permissions if p.split(":")[0] == NAMESPACES[namespace]}
        for o in ONLY_WITH:
            if o.kind == kind and (o.prop not in props or (o.needed and not o.needed(props[o.prop]))):
                own -= set(o.actions)
        cross = {c.action for c in CROSS
                 if c.kind == kind and c.prop in props and (c.applies is None or c.applies(props[c.prop]))}
        for action in own | cross:
            needed.setdefault(action, set()).add(kind)
    return needed


def passed_roles(template: dict) -> set[str]:
    """The services the stacks pass roles to, each checked against the role's trust policy."""
    services = set()
    for logical_id, resource in template["Resources"].items():
        for c in CROSS:
            if c.passed_to is None or c.kind != resource["Type"] or c.prop not in resource.get("Properties", {}):
                continue
            role = resource["Properties"][c.prop]["Fn::GetAtt"][0]
            trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            principals = json.dumps([s["Principal"] for s in trust])
            assert c.passed_to in principals, f"{logical_id} passes {role}, which {c.passed_to} cannot assume"
            services.add(c.passed_to)
    return services


# ---------------------------------------------------------------- together


@functools.cache
def needs(mcp_deploy: str) -> tuple[dict[str, Need], set[str]]:
    """Every action the smoke role needs, and the services it passes roles to."""
    out: dict[str, Need] = {}

    def add(action: str, rungs, source: str) -> None:
        need = out.setdefault(action, Need())
        need.rungs |= set(rungs)
        need.sources.add(source)

    everyone = set(RUNG_SIDS)
    for name, service, call, fn in sdk_calls():
        rung = RUNG_FILES.get(name)
        # What a rung looks for by the stack's name runs in every stack's
        # teardown (once the stack is gone, teardown asks every rung).
        by_name = fn in reached_from(name, "named_after")
        add(iam_action(service, call), {rung} if rung and not by_name else everyone, f"{name}: {call}")
    templates = {rung: synth(mcp_deploy, flags) for rung, flags in jobs().items()}
    for name, service in signed_requests():
        kind, actions = SIGNED[service]
        rungs = {r for r, t in templates.items() if any(x["Type"] == kind for x in t["Resources"].values())}
        for action in actions:
            add(action, rungs, f"{name}: SigV4 for {service}")
    passed = set()
    for rung, template in templates.items():
        for action, kinds in on_behalf(template).items():
            for kind in kinds:
                add(action, {rung}, f"CloudFormation: {kind}")
        passed |= passed_roles(template)
    for action, why in NOT_THE_SMOKE_ROLES.items():
        assert action in out, f"NOT_THE_SMOKE_ROLES names {action}, which nothing calls any more ({why})"
        del out[action]
    return out, passed


def statements() -> list[dict]:
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    return policy["Statement"]


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def allowed() -> dict[str, list[str]]:
    """action -> the Sids of the statements that allow it."""
    out: dict[str, list[str]] = {}
    for s in statements():
        for action in _list(s["Action"]):
            out.setdefault(action, []).append(s["Sid"])
    return out


# ---------------------------------------------------------------- the tests


def test_the_policy_allows_exactly_what_the_smoke_jobs_call(mcp_deploy) -> None:
    need, _ = needs(mcp_deploy)
    have = allowed()
    lacking = sorted(a for a in need if a not in have)
    unused = sorted(a for a in have if a not in need)
    problems = [f"the policy lacks {a} ({'; '.join(sorted(need[a].sources))})" for a in lacking]
    problems += [f"the policy allows {a} ({', '.join(have[a])}), which nothing uses" for a in unused]
    for s in statements():
        prefix = next((p for r, p in RUNG_SIDS.items() if s["Sid"].startswith(p)), None)
        assert prefix or s["Sid"].startswith(COMMON), f"{s['Sid']}: a Sid begins with {COMMON} or a rung's name"
        rung = next((r for r, p in RUNG_SIDS.items() if p == prefix), None)
        for action in _list(s["Action"]):
            if rung and action in need and rung not in need[action].rungs:
                problems.append(f"{s['Sid']} allows {action}, which the {rung} rung does not use "
                                f"(used by {', '.join(sorted(need[action].rungs))})")
    assert not problems, "\n".join(problems)


def test_the_policy_passes_roles_only_to_the_services_the_stacks_name(mcp_deploy) -> None:
    _, passed = needs(mcp_deploy)
    assert passed == {"lambda.amazonaws.com", "bedrock-agentcore.amazonaws.com"}, passed
    granted = set()
    for s in statements():
        if "iam:PassRole" not in _list(s["Action"]):
            continue
        assert _list(s["Action"]) == ["iam:PassRole"], f"{s['Sid']}: iam:PassRole in a statement of its own"
        services = s["Condition"]["StringEquals"]["iam:PassedToService"]
        granted |= set(_list(services))
        assert all(":role/McpLadderSmoke" in r for r in _list(s["Resource"])), s
    assert granted == passed, f"iam:PassedToService allows {sorted(granted)}, the stacks pass to {sorted(passed)}"


def test_the_policy_is_scoped() -> None:
    text = POLICY.read_text()
    assert not re.search(r"(?<!\d)\d{12}(?!\d)", text), "no account ids: `*` in the account field"
    for s in statements():
        sid = s.get("Sid", "")
        assert sid, f"every statement has a Sid: {s}"
        assert s["Effect"] == "Allow" and set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, sid
        for action in _list(s["Action"]):
            assert "*" not in action, f"{sid}: {action}: actions are named, not matched"
        resources = _list(s["Resource"])
        if "*" in resources:
            assert resources == ["*"], sid
            broad = [a for a in _list(s["Action"]) if a not in ANY_RESOURCE]
            assert not broad, f"{sid}: {broad} on every resource: scope them to the smoke stacks' resources"
        else:
            for r in resources:
                assert r.startswith("arn:aws:"), f"{sid}: {r}"
                assert "McpLadder" in r or "mcp-ladder" in r or any(re.fullmatch(u, r) for u in UNNAMED), (
                    f"{sid}: {r} is not a smoke stack's resource")


def test_the_tables_name_what_the_schemas_and_the_code_have() -> None:
    """CROSS and ONLY_WITH follow cfn-lint's schemas: a stale line fails."""
    for c in CROSS:
        assert c.action in handler_permissions(c.kind), f"{c.kind} no longer lists {c.action}"
        assert c.prop in schema(c.kind)["properties"], f"{c.kind} has no property {c.prop}"
    for o in ONLY_WITH:
        assert o.prop in schema(o.kind)["properties"], f"{o.kind} has no property {o.prop}"
        missing = set(o.actions) - handler_permissions(o.kind)
        assert not missing, f"{o.kind} no longer lists {sorted(missing)}"
    assert {s for _, s in signed_requests()} <= set(SIGNED)


def test_every_rung_has_a_job_with_its_own_stack_and_a_teardown_that_always_runs() -> None:
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["smoke"]
    assert job["strategy"]["fail-fast"] is False, "one rung's failure does not cancel the others"
    assert set(jobs()) == set(RUNG_SIDS)
    stack = job["env"]["MCP_STACK_NAME"]
    assert stack.startswith("McpLadderSmoke") and "${{ matrix.rung }}" in stack, stack
    demo, teardown = job["steps"][-2:]
    assert "mcp-deploy demo" in demo["run"], demo
    assert teardown.get("if") == "always()" and "mcp-deploy teardown" in teardown["run"], teardown


def main() -> None:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    need, passed = needs(str(target / "debug" / "mcp-deploy"))
    for rung in RUNG_SIDS:
        actions = sorted(a for a, n in need.items() if rung in n.rungs)
        print(f"{rung} ({len(actions)}): {' '.join(actions)}\n")
    print(f"iam:PassRole to: {' '.join(sorted(passed))}")


if __name__ == "__main__":
    main()
