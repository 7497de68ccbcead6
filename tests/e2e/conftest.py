"""Shared fixtures: where the binaries and third-party peers are, and a running emulator."""

import json
import os
import pathlib
import random
import re
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _target_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def _binary(name: str) -> str:
    path = _target_dir() / "debug" / name
    if not path.is_file():
        # The test build: its bootstrap and mcp-local carry the conformance
        # fixture pack (a dev-dependency feature), which a plain build leaves out.
        pytest.fail(f"{path} is missing: build it with "
                    "`cargo test --workspace --no-run --features mcp-deploy/test-hooks` (scripts/test.sh does)")
    return str(path)


def bootstrap() -> str:
    """The function the emulator runs: the test build's, or the one
    `MCP_TEST_BOOTSTRAP` names (scripts/test.sh points it at the arm64 release
    package under qemu-user; that build has no conformance fixture pack)."""
    return os.environ.get("MCP_TEST_BOOTSTRAP") or _binary("bootstrap")


@pytest.fixture(scope="session")
def mcp_local() -> str:
    return os.environ.get("MCP_LOCAL_BIN") or _binary("mcp-local")


@pytest.fixture(scope="session")
def mcp_deploy() -> str:
    return _binary("mcp-deploy")


@pytest.fixture(scope="session")
def node_bin() -> pathlib.Path:
    """The folder with Node 22 and the npm peers (installed by scripts/test.sh)."""
    path = REPO / "tests" / "node" / "node_modules" / ".bin"
    if not (path / "node").exists():
        pytest.fail(f"{path}/node is missing: run scripts/test.sh, which installs the npm peers")
    return path


@pytest.fixture(scope="session")
def proxy_bin() -> str:
    path = REPO / ".venv-proxy" / "bin" / "mcp-proxy-for-aws"
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/test.sh, which installs it in its own virtualenv")
    return str(path)


@dataclass
class Emulator:
    url: str
    stats_url: str
    account: str
    region: str
    env: dict  # the signing principal's AWS_* variables
    arn: str
    process: subprocess.Popen
    gateway_url: str | None = None
    issuer_url: str | None = None
    rest_api_url: str | None = None
    issuer_url: str | None = None  # the development issuer's (--dev-issuer)

    def invocations(self) -> int:
        with urllib.request.urlopen(self.stats_url, timeout=5) as response:
            return json.load(response)["invocations"]


def _start_emulator(auth: str, extra: tuple[str, ...] = (), account: str | None = None,
                    function: str | None = None) -> Emulator:
    account = account or f"{random.randrange(10**11, 10**12)}"
    region = "eu-central-1"
    creds = {
        "AWS_ACCESS_KEY_ID": f"AKIATEST{random.randrange(10**8, 10**9)}",
        "AWS_SECRET_ACCESS_KEY": f"test-secret-{random.getrandbits(64):x}",
        "AWS_REGION": region,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(creds)
    env["RUST_LOG"] = "warn"
    process = subprocess.Popen(
        [
            _binary("lambda-emulator"),
            "--bootstrap", function or bootstrap(),
            "--account", account,
            "--region", region,
            "--auth", auth,
            "--env", "RUST_LOG=warn",
            *extra,
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    return Emulator(
        url=ready["functionUrl"],
        stats_url=ready["statsUrl"],
        account=account,
        region=region,
        env=creds,
        arn=f"arn:aws:iam::{account}:user/local-developer",
        process=process,
        gateway_url=ready.get("gatewayUrl"),
        rest_api_url=ready.get("restApiUrl"),
        issuer_url=ready.get("issuerUrl"),
    )


def running_emulator(auth: str, extra: tuple[str, ...] = (), account: str | None = None,
                     function: str | None = None):
    """A fixture body: an emulator for the module (running `function`, by
    default the project's bootstrap), stopped cleanly (exit 0) after it."""
    emulator = _start_emulator(auth, extra, account, function)
    yield emulator
    emulator.process.terminate()
    assert emulator.process.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def iam_emulator():
    yield from running_emulator("aws-iam")


@pytest.fixture(scope="module")
def open_emulator():
    yield from running_emulator("none")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def running_moto(extra_env: dict):
    """A fixture body: moto's server (with tests/moto's extensions) on
    127.0.0.1, yielding its endpoint; stopped after."""
    python = REPO / ".venv-moto" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run scripts/test.sh, which installs moto in its own virtualenv")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(extra_env)
    process = subprocess.Popen(
        [str(python), "run_moto.py", str(port)], cwd=REPO / "tests" / "moto", env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("moto did not start within 60 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def iam_principals(tmp_path_factory, label: str, count: int) -> tuple[str, list[dict], str]:
    """`count` IAM users of one random account, each with its own keys, for
    the emulator's `--principals`: the account, the users, the file's path."""
    account = f"{random.randrange(10**11, 10**12)}"
    tag = label.upper()
    people = [
        {
            "accessKeyId": f"AKIA{tag}{n}{random.randrange(10**6, 10**7)}",
            "secretAccessKey": f"secret-{random.getrandbits(64):x}",
            "accountId": account,
            "arn": f"arn:aws:iam::{account}:user/{label}-{n}",
            "userId": f"AIDA{tag}{n}",
        }
        for n in range(count)
    ]
    path = tmp_path_factory.mktemp("principals") / "principals.json"
    path.write_text(json.dumps({"principals": people}))
    return account, people, str(path)


def contract_table(moto: str, name: str) -> str:
    """A table in moto with the contract the function's tables share
    (partition key `pk`, a String, no sort key; TTL attribute `ttl`): `name`."""
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=moto, region_name="eu-central-1",
                       aws_access_key_id="x", aws_secret_access_key="y")
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True})
    return name


def shared_state(moto: str) -> tuple[str, ...]:
    """What the stack gives every instance to share, made in moto: the
    state-key secret (64 random characters, as the stack's secret generates)
    and a table with the rendezvous contract (partition key `pk`, TTL
    attribute `ttl`); the emulator's `--env` flags that name them."""
    import boto3

    aws = dict(endpoint_url=moto, region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="y")
    sm = boto3.client("secretsmanager", **aws)
    value = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
    suffix = f"{random.getrandbits(32):x}"
    secret = sm.create_secret(Name=f"mcp-ladder-state-key-{suffix}", SecretString=value)["ARN"]
    table = contract_table(moto, f"mcp-ladder-rendezvous-{suffix}")
    return ("--env", f"MCP_STATE_KEY_SECRET_ARN={secret}", "--env", f"MCP_RENDEZVOUS_TABLE={table}",
            "--env", f"AWS_ENDPOINT_URL={moto}")


def through_proxy(proxy: str, url: str, service: str, emulator):
    """mcp-proxy-for-aws as a stdio server, signing for `service` with the
    emulator's principal (and nothing else from this machine's AWS setup)."""
    from mcp import StdioServerParameters

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(emulator.env)
    return StdioServerParameters(
        command=proxy,
        args=[url, "--service", service, "--region", emulator.region, "--log-level", "ERROR"],
        env=env,
    )


def internet_template(mcp_deploy: str, folder: pathlib.Path, *flags: str, issuer: str = "https://issuer.example.com") -> str:
    """The internet stack's template (`mcp-deploy synth --exposure internet`),
    written to `folder`: the emulator's REST front takes its web ACL, Lambda
    authorizer and gateway responses (`lambda-emulator --template`)."""
    path = folder / "internet-template.json"
    proc = subprocess.run([mcp_deploy, "synth", "--exposure", "internet", "--issuer", issuer,
                           "--audience", "auto", *flags], capture_output=True, text=True, timeout=60, check=True)
    path.write_text(proc.stdout)
    return str(path)


def timed_events(url: str, call: dict, headers: dict | None = None) -> list[tuple[float, dict]]:
    """POSTs the tools/call `call` (its params) to the MCP endpoint `url`
    accepting SSE; each event's JSON with the time its last line arrived.
    The answer must be a 200 event stream."""
    import http.client
    import urllib.parse

    target = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call})
    connection.request("POST", target.path or "/", body=body, headers={
        "content-type": "application/json", "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25", **(headers or {})})
    response = connection.getresponse()
    assert response.status == 200, (response.status, response.read())
    assert response.getheader("content-type") == "text/event-stream"
    events = []
    while line := response.readline():
        if line.startswith(b"data: "):
            events.append((time.monotonic(), json.loads(line[6:])))
    connection.close()
    return events


# @modelcontextprotocol/conformance 0.2.0-alpha.12, installed beside 0.1.16 under
# an npm alias: `--requirements <revision>` runs exactly the server scenarios
# that revision requires, frozen at its release, each at that revision's wire.
REQUIREMENTS = {"2026-07-28": 37, "2025-11-25": 30}


def expected_failures_of(path) -> list[str]:
    return [line.strip()[2:] for line in path.read_text().splitlines() if line.strip().startswith("- ")]


def _scored(package, revision: str) -> list[str]:
    """The server scenarios `revision` requires: the `server:` list of the
    package's frozen requirements file (not_scored entries are elsewhere)."""
    lines = (package / "requirements" / f"{revision}.yaml").read_text().splitlines()
    start = lines.index("server:") + 1
    names = []
    for line in lines[start:]:
        if not line.startswith("  - "):
            break
        names.append(line[4:].strip())
    return names


def run_requirements(node_bin, url: str, revision: str, expected, tmp_path) -> None:
    """Runs one requirement set against `url` with `expected` as the baseline,
    which the runner checks both ways (an unlisted failure and a listed
    pass both fail the run), then checks the same from each scenario's
    checks: exactly the listed scenarios (or, for a `scenario:check` entry,
    the listed checks) have a FAILURE or a WARNING (the runner's own rule
    for a baseline), and every other one passes."""
    failing = expected_failures_of(expected)
    package = node_bin.parent / "conformance-next"
    env = dict(os.environ, PATH=f"{node_bin}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(node_bin / "node"), str(package / "dist" / "index.js"), "server", "--url", url,
         "--requirements", revision, "--expected-failures", str(expected), "-o", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    scored = _scored(package, revision)
    assert len(scored) == REQUIREMENTS[revision], scored
    failed = []
    for scenario in scored:
        runs = [d for d in tmp_path.iterdir() if re.fullmatch(rf"server-{re.escape(scenario)}-\d{{4}}-.*Z", d.name)]
        assert len(runs) == 1, f"{scenario} ran {len(runs)} times"
        checks = json.loads((runs[0] / "checks.json").read_text())
        bad = sorted({c["id"] for c in checks if c["status"] in ("FAILURE", "WARNING")})
        # A `scenario:check` entry expects exactly its checks to fail.
        if bad and any(entry.startswith(f"{scenario}:") for entry in failing):
            failed += [f"{scenario}:{check}" for check in bad]
        elif bad:
            failed.append(scenario)
    assert sorted(failed) == sorted(failing)
