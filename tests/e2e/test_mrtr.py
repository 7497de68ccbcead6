"""Multi round-trip requests (MCP 2026-07-28, SEP-2322) through the release
path: `bootstrap` behind the emulator's IAM Function URL, several instances
allowed, the requestState key derived from a Secrets Manager secret (moto)
named by MCP_STATE_KEY_SECRET_ARN. Rounds begun on one instance resume on
another; a state with one byte changed, or presented by another principal,
is refused with -32602. The official Python SDK (`mcp`), signing with SigV4,
answers a tool's questions through its elicitation callback and gets the
tool's answer: in its 2026-07-28 mode by retrying the call, in its legacy
(2025-11-25) mode by answering server-to-client requests whose calls wait
in the rendezvous table (moto, MCP_RENDEZVOUS_TABLE) until a GET with
Last-Event-ID resumes them on any instance; mcp-proxy-for-aws, in its
legacy mode, relays the same questions to its stdio client."""

import concurrent.futures
import json
import random
import urllib.error
import urllib.request

import anyio
import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import ElicitResult

from conftest import iam_principals, running_emulator, running_moto, shared_state, through_proxy

INSTANCES = 4
ROUNDS = 12  # concurrent three-round requests: more than one instance serves them
TOOL = "test_input_required_result_multi_round"
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}


@pytest.fixture(scope="module")
def moto():
    yield from running_moto({})


@pytest.fixture(scope="module")
def state(moto) -> tuple[str, ...]:
    return shared_state(moto)


@pytest.fixture(scope="module")
def principals(tmp_path_factory):
    return iam_principals(tmp_path_factory, "mrtr", 2)


@pytest.fixture(scope="module")
def emulator(state, principals):
    account, _, path = principals
    yield from running_emulator("aws-iam", (
        "--principals", path,
        "--concurrency", str(INSTANCES),
        "--env", "MCP_CONFORMANCE_FIXTURES=1",
        *state,
        "--env", "RUST_LOG=info",  # the init line with the key's load time
    ), account)


def _call(emulator, who: dict, arguments: dict) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": random.randrange(1, 10**9), "method": "tools/call",
                       "params": {"name": TOOL, "_meta": META, **arguments}}).encode()
    _, payload = _signed(emulator, who, "POST", body, {
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        # The 2026-07-28 headers (SEP-2243) that must match the body.
        "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": TOOL})
    return json.loads(payload)


def _three_rounds(emulator, who: dict, n: int) -> str:
    r1 = _call(emulator, who, {"arguments": {}})
    assert "result" in r1, r1
    r1 = r1["result"]
    assert r1["resultType"] == "input_required", r1
    assert r1["inputRequests"]["step1"]["method"] == "elicitation/create"
    answer = {"step1": {"action": "accept", "content": {"name": f"user-{n}"}}}
    r2 = _call(emulator, who, {"arguments": {}, "inputResponses": answer,
                               "requestState": r1["requestState"]})["result"]
    assert r2["resultType"] == "input_required" and "step2" in r2["inputRequests"], r2
    answer = {"step2": {"action": "accept", "content": {"color": f"colour-{n}"}}}
    r3 = _call(emulator, who, {"arguments": {}, "inputResponses": answer,
                               "requestState": r2["requestState"]})["result"]
    assert r3["resultType"] == "complete", r3
    return r3["content"][0]["text"]


def test_rounds_resume_on_any_instance(emulator, principals) -> None:
    _, people, _ = principals
    with concurrent.futures.ThreadPoolExecutor(max_workers=INSTANCES * 2) as pool:
        texts = list(pool.map(lambda n: _three_rounds(emulator, people[0], n), range(ROUNDS)))
    # The name of round one came back through the sealed state of round two.
    assert texts == [f"user-{n} likes colour-{n}." for n in range(ROUNDS)]
    with urllib.request.urlopen(emulator.stats_url, timeout=5) as r:
        stats = json.load(r)
    assert stats["instances"] > 1, f"one instance served every round: {stats}"
    # Two rounds of each asked for input: counted as such, not as failures.
    calls = {tuple(sorted(r["dimensions"].items())): r["sum"] for r in stats["metrics"]
             if r["metric"] == "Calls"}
    assert calls[(("outcome", "input_required"),)] == 2 * ROUNDS, calls
    assert calls[(("outcome", "ok"),)] == ROUNDS, calls
    logs = urllib.request.urlopen(emulator.stats_url.replace("/stats", "/logs"), timeout=5)
    loads = [json.loads(line["text"]) for line in json.load(logs)["lines"]
             if "state_key_ms" in line["text"]]
    assert len(loads) == stats["instances"], "every instance read the key at init"
    # Neither the secret nor the key is in what the function wrote.
    assert all(set(doc["fields"]) == {"message", "state_key_ms"} for doc in loads), loads


def test_a_changed_or_foreign_state_is_refused(emulator, principals) -> None:
    _, (alice, bob), _ = principals
    r1 = _call(emulator, alice, {"arguments": {}})["result"]
    state = r1["requestState"]
    answer = {"step1": {"action": "accept", "content": {"name": "Ada"}}}
    middle = len(state) // 2
    flipped = state[:middle] + ("A" if state[middle] != "A" else "B") + state[middle + 1:]
    for who, presented in ((alice, flipped), (bob, state)):
        reply = _call(emulator, who, {"arguments": {}, "inputResponses": answer, "requestState": presented})
        assert reply["error"]["code"] == -32602, reply
        assert "`requestState` is refused" in reply["error"]["message"], reply
    # The state itself, from its own principal, still resumes.
    reply = _call(emulator, alice, {"arguments": {}, "inputResponses": answer, "requestState": state})
    assert reply["result"]["resultType"] == "input_required", reply


def test_a_secret_that_cannot_be_read_stops_init_with_the_reason(moto, principals) -> None:
    account, (alice, _), path = principals
    missing = f"arn:aws:secretsmanager:eu-central-1:{account}:secret:no-such-secret-AbCdEf"
    for emulator in running_emulator("aws-iam", (
        "--principals", path,
        "--env", "MCP_CONFORMANCE_FIXTURES=1",
        "--env", f"MCP_STATE_KEY_SECRET_ARN={missing}",
        "--env", f"AWS_ENDPOINT_URL={moto}",
    ), account):
        reply = _call(emulator, alice, {"arguments": {}})
        message = json.dumps(reply)
        assert "Runtime.InvalidConfiguration" in message, reply
        assert "MCP_STATE_KEY_SECRET_ARN: reading the secret failed" in message, reply
        assert "ResourceNotFoundException" in message, reply


class _SigV4(httpx2.Auth):
    """Signs each request the SDK sends for the `lambda` service, as
    mcp-proxy-for-aws does for its httpx client: every header but
    `connection` (hop-by-hop), and the body."""

    requires_request_body = True

    def __init__(self, who: dict, region: str) -> None:
        self.credentials = Credentials(who["accessKeyId"], who["secretAccessKey"])
        self.region = region

    def auth_flow(self, request: httpx2.Request):
        headers = {k: v for k, v in request.headers.items() if k.lower() != "connection"}
        signed = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
        SigV4Auth(self.credentials, "lambda", self.region).add_auth(signed)
        request.headers.update(dict(signed.headers))
        yield request


def _answering(answers: dict, asked: list):
    """An elicitation callback that answers from `answers` by the first
    property of the requested form, and records what it was asked."""

    async def on_elicit(context, params):
        asked.append((params.message, params.requested_schema))
        field = next(iter(params.requested_schema["properties"]))
        return ElicitResult(action="accept", content={field: answers[params.message]})

    return on_elicit


# The SDK's modes: 2026-07-28 pinned (no handshake, no probe: input_required
# rounds) and legacy (the 2025-11-25 handshake: server-to-client requests).
MODES = {"2026-07-28": "2026-07-28", "legacy": "2025-11-25"}


async def _sdk_call(emulator, who: dict, tool: str, answers: dict, mode: str = "2026-07-28") -> tuple[list, object]:
    """`tool` called by the SDK in `mode`; each elicitation is answered
    from `answers` and recorded."""
    asked: list = []
    async with create_mcp_http_client(auth=_SigV4(who, emulator.region)) as http:
        transport = streamable_http_client(emulator.url, http_client=http)
        async with Client(transport, mode=mode, elicitation_callback=_answering(answers, asked),
                          read_timeout_seconds=60) as client:
            assert client.protocol_version == MODES[mode]
            return asked, await client.call_tool(tool, {})


def _calls_of(emulator, tool: str) -> dict:
    """The function's `Calls` metric for `tool`, by outcome, so far."""
    with urllib.request.urlopen(emulator.stats_url, timeout=5) as r:
        metrics = json.load(r)["metrics"]
    return {r["dimensions"]["outcome"]: r["sum"] for r in metrics
            if r["metric"] == "Calls" and r["dimensions"].keys() == {"tool", "outcome"}
            and r["dimensions"]["tool"] == tool}


@pytest.mark.parametrize("mode", list(MODES))
def test_python_sdk_answers_the_questions_of_a_tool(emulator, principals, mode: str) -> None:
    _, (alice, _), _ = principals
    before = _calls_of(emulator, TOOL)
    asked, result = anyio.run(_sdk_call, emulator, alice, TOOL, {
        "Step 1: What is your name?": "Grace",
        "Step 2: What is your favorite color?": "teal",
    }, mode)
    # Two questions, each in its own round: the second round came back with
    # the first answer (sealed in its requestState at 2026-07-28; kept in the
    # rendezvous table at 2025-11-25), the third completed.
    assert [message for message, _ in asked] == ["Step 1: What is your name?",
                                                  "Step 2: What is your favorite color?"], asked
    assert result.is_error is False, result
    assert result.content[0].text == "Grace likes teal.", result
    # Three rounds through the Function URL, counted by the function itself:
    # two asked for input, the last completed (at 2025-11-25 the first is the
    # tools/call POST, the others GETs that resume it).
    after = _calls_of(emulator, TOOL)
    assert after["input_required"] - before.get("input_required", 0) == 2, (before, after)
    assert after["ok"] - before.get("ok", 0) == 1, (before, after)


@pytest.mark.parametrize("mode", list(MODES))
def test_python_sdk_answers_the_elicitation_of_a_tool(emulator, principals, mode: str) -> None:
    _, (alice, _), _ = principals
    asked, result = anyio.run(_sdk_call, emulator, alice, "test_input_required_result_elicitation",
                              {"What is your name?": "Ada"}, mode)
    assert asked == [("What is your name?", {"type": "object", "properties": {"name": {"type": "string"}},
                                             "required": ["name"]})], asked
    assert result.content[0].text == "Hello, Ada!", result


class _Principal:
    """What `through_proxy` needs of an emulator, for one principal."""

    def __init__(self, emulator, who: dict) -> None:
        self.region = emulator.region
        self.env = {"AWS_ACCESS_KEY_ID": who["accessKeyId"], "AWS_SECRET_ACCESS_KEY": who["secretAccessKey"],
                    "AWS_REGION": emulator.region}


def test_mcp_proxy_for_aws_relays_the_questions_of_a_tool(proxy_bin, emulator, principals) -> None:
    """mcp-proxy-for-aws (a stdio server to its client, the handshake
    revisions to the function) relays each server-to-client request to its
    client and the answer back; the parked call resumes and completes."""
    _, (alice, _), _ = principals
    params = through_proxy(proxy_bin, emulator.url, "lambda", _Principal(emulator, alice))
    asked: list = []
    answers = {"Step 1: What is your name?": "Lin", "Step 2: What is your favorite color?": "amber"}

    async def call():
        async with Client(params, mode="legacy", elicitation_callback=_answering(answers, asked),
                          read_timeout_seconds=60) as client:
            return await client.call_tool(TOOL, {})

    result = anyio.run(call)
    assert [message for message, _ in asked] == list(answers), asked
    assert result.is_error is False, result
    assert result.content[0].text == "Lin likes amber.", result


def _signed(emulator, who: dict, method: str, body: bytes, headers: dict) -> tuple[int, str]:
    """One SigV4-signed request as `who`: its status and body (retried while
    every instance is busy, the emulator's 429 as Lambda's)."""
    for _ in range(200):
        request = AWSRequest(method=method, url=emulator.url, data=body, headers=headers)
        SigV4Auth(Credentials(who["accessKeyId"], who["secretAccessKey"]), "lambda",
                  emulator.region).add_auth(request)
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    emulator.url, data=body or None, method=method, headers=dict(request.headers)), timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            payload = e.read().decode()
            if e.code == 429 and e.headers.get("x-amzn-ErrorType") == "TooManyRequestsException":
                continue
            return e.code, payload
    pytest.fail("throttled by the emulator 200 times in a row")


def test_a_parked_call_is_answered_and_resumed_by_its_caller_only(emulator, principals) -> None:
    """At 2025-11-25 a call that asks is parked in the rendezvous table; another
    principal can neither answer nor resume it, an answer is kept once, and
    the caller's GET with Last-Event-ID, on any instance, gets the result."""
    _, (alice, mallory), _ = principals
    legacy = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
              "MCP-Protocol-Version": "2025-11-25"}
    call = json.dumps({"jsonrpc": "2.0", "id": 41, "method": "tools/call",
                       "params": {"name": "test_input_required_result_elicitation", "arguments": {}}}).encode()
    status, body = _signed(emulator, alice, "POST", call, legacy)
    assert status == 200, body
    data = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]
    park = next(line[4:] for line in body.splitlines() if line.startswith("id: "))
    assert [m["method"] for m in data] == ["elicitation/create"], body
    assert data[0]["id"] == f"{park}.0"
    answer = json.dumps({"jsonrpc": "2.0", "id": data[0]["id"],
                         "result": {"action": "accept", "content": {"name": "Ada"}}}).encode()
    resume = {"Accept": "text/event-stream", "MCP-Protocol-Version": "2025-11-25", "Last-Event-ID": park}
    # Someone else: neither the answer nor the resume is theirs.
    assert _signed(emulator, mallory, "POST", answer, legacy)[0] == 404
    assert _signed(emulator, mallory, "GET", b"", resume)[0] == 404
    # The caller: kept once; resumed once, with the answer.
    assert _signed(emulator, alice, "POST", answer, legacy)[0] == 202
    assert _signed(emulator, alice, "POST", answer, legacy)[0] == 404
    status, body = _signed(emulator, alice, "GET", b"", resume)
    assert status == 200, body
    reply = json.loads(next(line[6:] for line in body.splitlines() if line.startswith("data: {")))
    assert reply["id"] == 41 and reply["result"]["content"][0]["text"] == "Hello, Ada!", reply
    assert _signed(emulator, alice, "GET", b"", resume)[0] == 404
