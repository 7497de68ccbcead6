//! The emulator end to end with the real `bootstrap`: requests signed by the
//! `aws-sigv4` crate get through; every case of the negative matrix gets 403
//! with the function never invoked; crashes and timeouts give 502 and a fresh
//! instance.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4::SigningParams;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_emulator::principals::INVOKE_ACTIONS;
use lambda_emulator::sigv4::{Authorization, RequestParts, canonical_request, string_to_sign};
use lambda_emulator::{Auth, Emulator, EmulatorConfig, Principal, Verifier};
use serde_json::Value;

const REGION: &str = "eu-central-1";
const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo_account_context","arguments":{}}}"#;

/// `target/debug/bootstrap`, beside this test's own executable.
fn bootstrap() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("bootstrap");
    assert!(
        path.is_file(),
        "{} is missing: cargo build -p mcp-lambda (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A random 12-digit account id, so no real one appears anywhere.
fn random_account(seed: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!(
        "{:012}",
        (nanos ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 1_000_000_000_000
    )
}

fn principal(name: &str, account: &str, allow: &[&str], token: Option<&str>) -> Principal {
    Principal {
        access_key_id: format!("AKIA{}", name.to_uppercase()),
        secret_access_key: format!("secret-of-{name}"),
        session_token: token.map(str::to_owned),
        account_id: account.into(),
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        user_id: format!("AIDA{}", name.to_uppercase()),
        allow: allow.iter().map(|s| (*s).to_owned()).collect(),
    }
}

struct World {
    emulator: Emulator,
    account: String,
    alice: Principal,
    temp: Principal,
    other_account: Principal,
    url_only: Principal,
}

async fn world() -> World {
    let account = random_account(1);
    let foreign = random_account(2);
    let alice = principal("alice", &account, &INVOKE_ACTIONS, None);
    let temp = principal(
        "temp",
        &account,
        &INVOKE_ACTIONS,
        Some("session-token-of-temp"),
    );
    let other_account = principal("mallory", &foreign, &INVOKE_ACTIONS, None);
    let url_only = principal("carol", &account, &["lambda:InvokeFunctionUrl"], None);
    let mut config = EmulatorConfig::new(bootstrap(), "mcp-ladder-test", REGION, &account);
    config.auth = Auth::AwsIam {
        verifier: Verifier::lambda(REGION),
        principals: vec![
            alice.clone(),
            temp.clone(),
            other_account.clone(),
            url_only.clone(),
        ],
    };
    let emulator = Emulator::start(config).await.unwrap();
    World {
        emulator,
        account,
        alice,
        temp,
        other_account,
        url_only,
    }
}

struct Signing<'a> {
    who: &'a Principal,
    secret: Option<&'a str>,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    unsigned_payload: bool,
}

impl<'a> Signing<'a> {
    fn by(who: &'a Principal) -> Self {
        Signing {
            who,
            secret: None,
            region: REGION,
            service: "lambda",
            time: SystemTime::now(),
            unsigned_payload: false,
        }
    }
}

fn request(url: &str, body: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// Signs with the `aws-sigv4` crate, as the AWS SDKs do.
fn signed(url: &str, body: &str, s: &Signing<'_>) -> http::Request<Full<Bytes>> {
    let mut req = request(url, body);
    let identity = Credentials::new(
        &s.who.access_key_id,
        s.secret.unwrap_or(&s.who.secret_access_key),
        s.who.session_token.clone(),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if s.unsigned_payload {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(s.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let signable_body = if s.unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(body.as_bytes())
    };
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        signable_body,
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut req);
    req
}

/// Signs correctly but leaves `host` out of the signed headers.
fn signed_without_host(url: &str, body: &str, who: &Principal) -> http::Request<Full<Bytes>> {
    let amz_date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let scope = format!("{}/{REGION}/lambda/aws4_request", &amz_date[..8]);
    let headers = vec![("x-amz-date".to_owned(), amz_date.clone())];
    let parts = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let signed_headers = vec!["x-amz-date".to_owned()];
    let canonical = canonical_request(&parts, &signed_headers).unwrap();
    let to_sign = string_to_sign(&amz_date, &scope, &canonical);
    let key = aws_sigv4::sign::v4::generate_signing_key(
        &who.secret_access_key,
        SystemTime::now(),
        REGION,
        "lambda",
    );
    let signature = aws_sigv4::sign::v4::calculate_signature(key, to_sign.as_bytes());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=x-amz-date, Signature={signature}",
        who.access_key_id
    );
    assert!(Authorization::parse(&auth).is_ok());
    let mut req = request(url, body);
    req.headers_mut()
        .insert("x-amz-date", amz_date.parse().unwrap());
    req.headers_mut()
        .insert("authorization", auth.parse().unwrap());
    req
}

async fn send(req: http::Request<Full<Bytes>>) -> (u16, http::HeaderMap, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    (status, headers, body)
}

#[tokio::test]
async fn signed_in_account_caller_reaches_the_function_and_is_named() {
    let w = world().await;
    let (status, _, body) = send(signed(&w.emulator.url(), CALL, &Signing::by(&w.alice))).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"]["structuredContent"];
    assert_eq!(result["account"], w.account);
    assert_eq!(result["region"], REGION);
    assert_eq!(result["function"], "mcp-ladder-test");
    assert_eq!(result["caller"]["userArn"], w.alice.arn);
    assert_eq!(result["caller"]["accountId"], w.account);
    assert_eq!(w.emulator.stats().invocations(), 1);

    let (status, _, body) = send(signed(&w.emulator.url(), CALL, &Signing::by(&w.temp))).await;
    assert_eq!(
        status, 200,
        "temporary credentials with their session token: {body}"
    );
    assert_eq!(
        body["result"]["structuredContent"]["caller"]["userArn"],
        w.temp.arn
    );
    assert_eq!(w.emulator.stats().invocations(), 2);
    assert_eq!(
        w.emulator.stats().instances(),
        1,
        "a warm instance serves both"
    );
    w.emulator.shutdown().await;
}

#[tokio::test]
async fn negative_matrix_is_refused_before_the_function_runs() {
    let w = world().await;
    let url = w.emulator.url();
    let now = SystemTime::now();
    let stranger = principal("stranger", &w.account, &INVOKE_ACTIONS, None);
    let mut cases: Vec<(&str, http::Request<Full<Bytes>>, &str)> = vec![
        ("unsigned", request(&url, CALL), "not signed"),
        (
            "wrong secret",
            signed(
                &url,
                CALL,
                &Signing {
                    secret: Some("guess"),
                    ..Signing::by(&w.alice)
                },
            ),
            "signature does not match",
        ),
        (
            "unknown access key",
            signed(&url, CALL, &Signing::by(&stranger)),
            "not known here",
        ),
        (
            "wrong service",
            signed(
                &url,
                CALL,
                &Signing {
                    service: "execute-api",
                    ..Signing::by(&w.alice)
                },
            ),
            "credential scope",
        ),
        (
            "wrong region",
            signed(
                &url,
                CALL,
                &Signing {
                    region: "us-east-1",
                    ..Signing::by(&w.alice)
                },
            ),
            "credential scope",
        ),
        (
            "principal of another account",
            signed(&url, CALL, &Signing::by(&w.other_account)),
            "not to this function's account",
        ),
        (
            "principal not granted InvokeFunction",
            signed(&url, CALL, &Signing::by(&w.url_only)),
            "lambda:InvokeFunction",
        ),
        (
            "UNSIGNED-PAYLOAD",
            signed(
                &url,
                CALL,
                &Signing {
                    unsigned_payload: true,
                    ..Signing::by(&w.alice)
                },
            ),
            "UNSIGNED-PAYLOAD",
        ),
        (
            "host not signed",
            signed_without_host(&url, CALL, &w.alice),
            "host header must be signed",
        ),
        (
            "301 s in the past",
            signed(
                &url,
                CALL,
                &Signing {
                    time: now - Duration::from_secs(301),
                    ..Signing::by(&w.alice)
                },
            ),
            "more than 5 minutes",
        ),
        (
            "301 s in the future",
            signed(
                &url,
                CALL,
                &Signing {
                    time: now + Duration::from_secs(301),
                    ..Signing::by(&w.alice)
                },
            ),
            "more than 5 minutes",
        ),
    ];
    let mut tampered_body = signed(&url, CALL, &Signing::by(&w.alice));
    *tampered_body.body_mut() = Full::new(Bytes::from(
        CALL.replace("demo_account_context", "demo_echo"),
    ));
    cases.push(("tampered body", tampered_body, "signature does not match"));
    let mut tampered_header = signed(&url, CALL, &Signing::by(&w.alice));
    tampered_header.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8".parse().unwrap(),
    );
    cases.push((
        "tampered signed header",
        tampered_header,
        "signature does not match",
    ));
    let mut no_token = signed(&url, CALL, &Signing::by(&w.temp));
    no_token.headers_mut().remove("x-amz-security-token");
    cases.push(("session token removed", no_token, "security token"));

    assert!(cases.len() >= 14);
    for (name, req, reason) in cases {
        let (status, headers, body) = send(req).await;
        assert_eq!(status, 403, "{name}: {body}");
        assert_eq!(
            headers.get("x-amzn-errortype").map(|v| v.to_str().unwrap()),
            Some("AccessDeniedException"),
            "{name}"
        );
        let message = body["Message"].as_str().unwrap();
        assert!(
            message.contains(reason),
            "{name}: {message:?} should say {reason:?}"
        );
        assert_eq!(
            w.emulator.stats().invocations(),
            0,
            "{name}: the function must not run"
        );
    }
    assert_eq!(
        w.emulator.stats().instances(),
        0,
        "no instance was even started"
    );

    // The clock is read at each request: the matrix above takes a while, and
    // a stale `now` would push 299 s past the window on a loaded machine.
    for skew in [Duration::from_secs(299)] {
        let (status, _, body) = send(signed(
            &url,
            CALL,
            &Signing {
                time: SystemTime::now() - skew,
                ..Signing::by(&w.alice)
            },
        ))
        .await;
        assert_eq!(status, 200, "299 s old is inside the window: {body}");
        let (status, _, body) = send(signed(
            &url,
            CALL,
            &Signing {
                time: SystemTime::now() + skew,
                ..Signing::by(&w.alice)
            },
        ))
        .await;
        assert_eq!(status, 200, "299 s ahead is inside the window: {body}");
    }
    assert_eq!(w.emulator.stats().invocations(), 2);
    w.emulator.shutdown().await;
}

/// A stand-in function written as a shell script, for failures the real
/// bootstrap never has.
fn script(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lambda-emulator-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bootstrap");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn open_emulator(bootstrap: PathBuf, timeout: Duration) -> Emulator {
    let mut config = EmulatorConfig::new(bootstrap, "broken", REGION, random_account(3));
    config.auth = Auth::None;
    config.function.timeout = timeout;
    Emulator::start(config).await.unwrap()
}

#[tokio::test]
async fn a_crashing_function_gives_502_and_a_fresh_instance() {
    let emulator = open_emulator(script("crash", "exit 3"), Duration::from_secs(5)).await;
    for attempt in 1..=2 {
        let (status, headers, body) = send(request(&emulator.url(), CALL)).await;
        assert_eq!(status, 502, "{body}");
        assert_eq!(headers["x-amzn-errortype"], "Function.Crashed");
        assert!(
            body["Message"].as_str().unwrap().contains("exit status: 3"),
            "{body}"
        );
        assert_eq!(
            emulator.stats().instances(),
            attempt,
            "each call after a crash starts afresh"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_function_over_its_timeout_gives_502_and_is_stopped() {
    let emulator = open_emulator(script("hang", "exec sleep 30"), Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let (status, headers, body) = send(request(&emulator.url(), CALL)).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(headers["x-amzn-errortype"], "Function.TimedOut");
    assert!(
        body["Message"].as_str().unwrap().contains("Task timed out"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the timeout is enforced"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_init_error_is_reported_in_the_502() {
    let api = "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime";
    let body = format!(
        "curl -sf -X POST \"{api}/init/error\" -H 'Lambda-Runtime-Function-Error-Type: Runtime.ConfigError' \\\n  -d '{{\"errorMessage\":\"MCP_ACCOUNT_ID is not set\"}}'\nexit 1"
    );
    let emulator = open_emulator(script("init-error", &body), Duration::from_secs(5)).await;
    let (status, headers, body) = send(request(&emulator.url(), CALL)).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(headers["x-amzn-errortype"], "Function.Crashed");
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains("init failed (Runtime.ConfigError"),
        "{message}"
    );
    assert!(message.contains("MCP_ACCOUNT_ID is not set"), "{message}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_reported_function_error_is_a_502_and_the_instance_stays() {
    // One invocation: read the request id from `next`, report an error for it.
    let api = "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime";
    let body = format!(
        "while true; do\n  id=$(curl -sf -D - -o /dev/null \"{api}/invocation/next\" | tr -d '\\r' | sed -n 's/^lambda-runtime-aws-request-id: //Ip')\n  curl -sf -X POST \"{api}/invocation/$id/error\" -H 'Lambda-Runtime-Function-Error-Type: Handler.Failed' -d '{{\"errorMessage\":\"boom\"}}' >/dev/null\ndone"
    );
    let emulator = open_emulator(script("reported-error", &body), Duration::from_secs(5)).await;
    for _ in 0..2 {
        let (status, headers, body) = send(request(&emulator.url(), CALL)).await;
        assert_eq!(status, 502, "{body}");
        assert_eq!(headers["x-amzn-errortype"], "Function.Unhandled");
        assert!(
            body["Message"].as_str().unwrap().contains("Handler.Failed"),
            "{body}"
        );
    }
    assert_eq!(emulator.stats().invocations(), 2);
    assert_eq!(
        emulator.stats().instances(),
        1,
        "a reported error keeps the instance, as on Lambda"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn open_mode_passes_requests_without_an_identity() {
    let emulator = open_emulator(bootstrap(), Duration::from_secs(10)).await;
    let (status, _, body) = send(request(&emulator.url(), CALL)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["structuredContent"].get("caller"), None);
    let notification = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let (status, _, body) = send(request(&emulator.url(), notification)).await;
    assert_eq!((status, body), (202, Value::Null));
    emulator.shutdown().await;
}

/// Lambda's scaling, bounded: 16 callers send 240 signed requests at once to
/// a function limited to 4 instances. Every request is answered (200, or 429
/// `TooManyRequestsException` when all 4 are busy), every 200 carries its own
/// request's reply, and the function ran exactly once per 200.
#[tokio::test]
async fn concurrent_requests_scale_out_up_to_the_limit_and_are_throttled_beyond() {
    const CALLERS: u64 = 16;
    const EACH: u64 = 15;
    const LIMIT: usize = 4;
    let account = random_account(4);
    let alice = principal("alice", &account, &INVOKE_ACTIONS, None);
    let mut config = EmulatorConfig::new(bootstrap(), "mcp-ladder-load", REGION, &account);
    config.function.concurrency = LIMIT;
    config.auth = Auth::AwsIam {
        verifier: Verifier::lambda(REGION),
        principals: vec![alice.clone()],
    };
    let emulator = Emulator::start(config).await.unwrap();
    let url = emulator.url();
    let mut callers = Vec::new();
    for caller in 0..CALLERS {
        let (url, alice) = (url.clone(), alice.clone());
        callers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for n in 0..EACH {
                let id = caller * 1000 + n;
                let body = format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"demo_echo","arguments":{{"message":"m-{id}"}}}}}}"#
                );
                let (status, headers, reply) = send(signed(&url, &body, &Signing::by(&alice))).await;
                seen.push((id, status, headers.get("x-amzn-errortype").cloned(), reply));
            }
            seen
        }));
    }
    let (mut ok, mut throttled) = (0u64, 0u64);
    for caller in callers {
        for (id, status, error_type, reply) in caller.await.unwrap() {
            match status {
                200 => {
                    ok += 1;
                    assert_eq!(reply["id"], id, "a reply for another request: {reply}");
                    assert_eq!(
                        reply["result"]["structuredContent"]["echo"],
                        format!("m-{id}")
                    );
                }
                429 => {
                    throttled += 1;
                    assert_eq!(error_type.unwrap(), "TooManyRequestsException");
                }
                other => panic!("request {id}: status {other}: {reply}"),
            }
        }
    }
    let stats = emulator.stats().clone();
    assert_eq!(ok + throttled, CALLERS * EACH, "every request answered");
    assert_eq!(
        stats.invocations(),
        ok,
        "one invocation per 200: none lost, none twice"
    );
    assert_eq!(stats.throttles(), throttled);
    assert!(stats.concurrent_peak() > 1, "invocations ran side by side");
    assert!(stats.concurrent_peak() <= LIMIT as u64);
    assert!(
        (2..=LIMIT as u64).contains(&stats.instances()),
        "scaled out, up to the limit: {} instances",
        stats.instances()
    );
    // 16 callers against 4 instances: some are turned away, many are served.
    assert!(
        throttled > 0 && ok >= CALLERS,
        "{ok} served, {throttled} throttled"
    );
    emulator.shutdown().await;
}

/// A caller that gives up mid-invocation (its future dropped, as when a
/// client hangs up) frees its slot: with a concurrency of 1, the next
/// invocation runs instead of being throttled forever.
#[tokio::test]
async fn an_abandoned_invocation_frees_its_slot() {
    let function =
        lambda_emulator::runtime::Function::new(lambda_emulator::runtime::FunctionSpec {
            bootstrap: script("abandoned", "exec sleep 30"),
            name: "abandoned".into(),
            region: REGION.into(),
            account_id: random_account(4),
            memory_mb: 128,
            timeout: Duration::from_millis(300),
            concurrency: 1,
            env: Vec::new(),
            credentials: lambda_emulator::runtime::RoleCredentials::mint(),
            tracing: Default::default(),
        });
    let abandoned =
        tokio::time::timeout(Duration::from_millis(100), function.invoke(Bytes::new())).await;
    assert!(abandoned.is_err(), "the first call was given up");
    let next = function.invoke(Bytes::new()).await;
    assert!(
        matches!(next, Err(lambda_emulator::runtime::InvokeError::Timeout(_))),
        "{next:?}"
    );
    assert_eq!(function.stats().throttles(), 0);
    function.stop().await;
}
