//! The resource server against tokens good and bad: every refusal is the
//! exact status and challenge, and no refused request runs a tool.
//!
//! The issuer here is a key made per test and a key set served from memory
//! (the network is the only double: the verification is the real one). The
//! same checks run against the real `bootstrap` behind the emulator's REST
//! front in `mcp-lambda/tests/oauth.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use mcp_core::{
    Annotations, CallContext, NoArgs, RequestContext, Server, ServerInfo, Tool, ToolDefinition,
    ToolError, ToolRegistry,
};
use mcp_http::{BoxFuture, Exchange, HttpConfig, RequestParts};
use mcp_oauth::testing::TestKey;
use mcp_oauth::{Fetch, FetchError, OAuthConfig, ResourceServer, Scopes};
use serde_json::{Map, Value, json};

const ISSUER: &str = "https://issuer.example.com";
const AUDIENCE: &str = "https://api.example.com/prod/mcp";
const METADATA: &str = "https://api.example.com/prod/.well-known/oauth-protected-resource/mcp";
const JWKS: &str = "https://issuer.example.com/keys";

/// The issuer's documents, served from memory; counts the GETs.
#[derive(Default)]
struct Issuer {
    documents: Mutex<HashMap<String, Vec<u8>>>,
    gets: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
    silent: std::sync::atomic::AtomicBool,
}

impl Issuer {
    fn serve(&self, url: &str, body: &Value) {
        let mut docs = self.documents.lock().expect("lock");
        docs.insert(url.to_owned(), body.to_string().into_bytes());
    }
    fn publish(&self, keys: &[&TestKey]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
        self.serve(JWKS, &json!({"keys": keys}));
    }
}

struct Shared(Arc<Issuer>);

impl Fetch for Shared {
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Vec<u8>, FetchError>> {
        self.0.gets.fetch_add(1, Ordering::SeqCst);
        if self.0.silent.load(Ordering::SeqCst) {
            return Box::pin(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(FetchError::Request("never".into()))
            });
        }
        let answer = if self.0.down.load(Ordering::SeqCst) {
            Err(FetchError::Request("connection refused".into()))
        } else {
            let docs = self.0.documents.lock().expect("lock");
            docs.get(url)
                .cloned()
                .ok_or(FetchError::Status(StatusCode::NOT_FOUND))
        };
        Box::pin(std::future::ready(answer))
    }
}

/// A tool that counts its runs.
struct Counted {
    name: &'static str,
    destructive: bool,
    runs: Arc<AtomicUsize>,
}

impl Tool for Counted {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        let definition = ToolDefinition::new(self.name, "Counts its runs.");
        if self.destructive {
            definition
                .annotations(Annotations {
                    read_only_hint: Some(false),
                    destructive_hint: Some(true),
                    ..Annotations::default()
                })
                .scopes([mcp_core::scopes::ADMIN])
        } else {
            definition.annotations(Annotations::read_only())
        }
    }
    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let who = cx.identity().map(|i| i.principal.clone());
        Ok(Map::from_iter([("caller".to_owned(), json!(who))]))
    }
}

struct World {
    issuer: Arc<Issuer>,
    key: TestKey,
    server: Server,
    auth: ResourceServer,
    runs: Arc<AtomicUsize>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl World {
    fn new(refresh: Duration) -> World {
        let issuer = Arc::new(Issuer::default());
        issuer.serve(
            &format!("{ISSUER}/.well-known/openid-configuration"),
            &json!({"issuer": ISSUER, "jwks_uri": JWKS}),
        );
        let key = TestKey::generate("k1").expect("a key");
        issuer.publish(&[&key]);
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tools = ToolRegistry::new();
        for (name, destructive) in [("look", false), ("destroy", true)] {
            tools
                .register(Counted {
                    name,
                    destructive,
                    runs: runs.clone(),
                })
                .expect("registered");
        }
        let scopes = Scopes::of_tools(tools.definitions(), None).expect("scopes");
        let config = OAuthConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks_url: None,
            scopes_supported: None,
            jwks_max_age: mcp_oauth::DEFAULT_MAX_AGE,
        };
        let auth = ResourceServer::new(config, scopes, Box::new(Shared(issuer.clone())))
            .expect("configured")
            .with_refresh_interval(refresh);
        let server = Server::new(ServerInfo::new("t", "1"), tools);
        World {
            issuer,
            key,
            server,
            auth,
            runs,
        }
    }

    /// Claims that pass, with `scope`.
    fn claims(scope: &str) -> Value {
        json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "agent-7",
            "exp": now() + 300, "iat": now(), "scope": scope,
        })
    }

    fn token(&self, claims: &Value) -> String {
        self.key.sign(claims).expect("signed")
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        authorization: &[&str],
        body: &str,
    ) -> Exchange {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("accept", HeaderValue::from_static("application/json"));
        for value in authorization {
            headers.append(
                "authorization",
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        let parts = RequestParts {
            method,
            path,
            query,
            headers: &headers,
            body: body.as_bytes(),
            front_identity: None,
        };
        let config = HttpConfig::default();
        mcp_http::exchange(
            &self.server,
            &config,
            &self.auth,
            parts,
            RequestContext::default(),
        )
        .await
    }

    async fn call(&self, authorization: &[&str], tool: &str) -> Exchange {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": {}}})
        .to_string();
        self.send(&Method::POST, "/mcp", None, authorization, &body)
            .await
    }

    async fn call_with(&self, token: &str, tool: &str) -> Exchange {
        self.call(&[&format!("Bearer {token}")], tool).await
    }
}

fn challenge(out: &Exchange) -> String {
    out.www_authenticate
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_owned()
}

fn invalid_token(description: &str) -> String {
    format!(
        "Bearer error=\"invalid_token\", error_description=\"{description}\", \
         resource_metadata=\"{METADATA}\", scope=\"mcp:read\""
    )
}

/// An HS256 token keyed with the issuer's public key: the classic
/// algorithm-confusion forgery.
fn hmac_forgery(key: &TestKey, claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": key.kid()});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key.public_point()),
        signing_input.as_bytes(),
    );
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()))
}

fn unsigned(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn the_negative_matrix_refuses_every_bad_token_with_its_challenge_and_runs_nothing() {
    let world = World::new(Duration::from_secs(30));
    let good = World::claims("mcp:read mcp:admin");
    let with = |edit: &dyn Fn(&mut Map<String, Value>)| {
        let mut claims = good.as_object().cloned().expect("an object");
        edit(&mut claims);
        Value::Object(claims)
    };
    let other_key = TestKey::generate("k1").expect("a key"); // same kid, other key
    let unknown_key = TestKey::generate("k9").expect("a key");
    let mut no_kid = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    no_kid.kid = None;
    let mut critical = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    critical.kid = Some(world.key.kid().to_owned());
    critical.crit = Some(vec!["exp".into()]);
    let garbage = format!("Bearer {}", "x".repeat(2048) + "!!");
    let cases: Vec<(&str, String, StatusCode, String)> = vec![
        (
            "no token",
            String::new(),
            StatusCode::UNAUTHORIZED,
            format!("Bearer resource_metadata=\"{METADATA}\", scope=\"mcp:read\""),
        ),
        (
            "another scheme",
            "Basic YWxpY2U6c2VjcmV0".into(),
            StatusCode::UNAUTHORIZED,
            format!("Bearer resource_metadata=\"{METADATA}\", scope=\"mcp:read\""),
        ),
        (
            "not a JWT",
            "Bearer not-a-jwt".into(),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token is not a JWT with an algorithm this server accepts"),
        ),
        (
            "2 KB of garbage",
            garbage,
            StatusCode::UNAUTHORIZED,
            invalid_token("the Authorization header does not hold a bearer token"),
        ),
        (
            "alg none",
            format!("Bearer {}", unsigned(&good)),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token is not a JWT with an algorithm this server accepts"),
        ),
        (
            "HS256 keyed with the public key",
            format!("Bearer {}", hmac_forgery(&world.key, &good)),
            StatusCode::UNAUTHORIZED,
            invalid_token(
                "the token's algorithm is not accepted: only asymmetric signatures (RS, PS, ES, EdDSA)",
            ),
        ),
        (
            "signed by another key under our kid",
            format!("Bearer {}", other_key.sign(&good).expect("signed")),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token's signature does not verify"),
        ),
        (
            "kid of a key the issuer does not have",
            format!("Bearer {}", unknown_key.sign(&good).expect("signed")),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token's signing key is not among the issuer's keys"),
        ),
        (
            "a tampered payload",
            {
                let token = world.token(&good);
                let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
                parts[1] = URL_SAFE_NO_PAD
                    .encode(with(&|c| drop(c.insert("sub".into(), json!("root")))).to_string());
                format!("Bearer {}", parts.join("."))
            },
            StatusCode::UNAUTHORIZED,
            invalid_token("the token's signature does not verify"),
        ),
        (
            "expired beyond the leeway",
            format!(
                "Bearer {}",
                world.token(&with(&|c| drop(c.insert("exp".into(), json!(now() - 120)))))
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token has expired"),
        ),
        (
            "nbf in the future",
            format!(
                "Bearer {}",
                world.token(&with(&|c| drop(c.insert("nbf".into(), json!(now() + 600)))))
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token is not valid yet (nbf)"),
        ),
        (
            "no exp",
            format!("Bearer {}", world.token(&with(&|c| drop(c.remove("exp"))))),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token has no exp claim"),
        ),
        (
            "another issuer",
            format!(
                "Bearer {}",
                world.token(&with(&|c| drop(
                    c.insert("iss".into(), json!("https://issuer.example.com/other"))
                )))
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token was issued by another issuer"),
        ),
        (
            "a token for another server",
            format!(
                "Bearer {}",
                world.token(&with(&|c| drop(
                    c.insert("aud".into(), json!("https://other.example.com/mcp"))
                )))
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token was not issued for this server (aud)"),
        ),
        (
            "aud as an array without us",
            format!(
                "Bearer {}",
                world.token(&with(&|c| drop(c.insert(
                    "aud".into(),
                    json!([
                        "https://other.example.com/mcp",
                        "https://api.example.com/prod"
                    ])
                ))))
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token was not issued for this server (aud)"),
        ),
        (
            "no aud",
            format!("Bearer {}", world.token(&with(&|c| drop(c.remove("aud"))))),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token has no aud claim"),
        ),
        (
            "a critical header extension (crit), RFC 7515 4.1.11",
            format!(
                "Bearer {}",
                world.key.sign_with(critical, &good).expect("signed")
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token(
                "the token's header lists critical extensions (crit) this server does not understand",
            ),
        ),
        (
            "a fractional exp beyond the leeway",
            format!(
                "Bearer {}",
                world.token(&with(&|c| drop(
                    c.insert("exp".into(), json!(now() as f64 - 120.5))
                )))
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token has expired"),
        ),
        (
            "exp that is not a NumericDate",
            format!(
                "Bearer {}",
                world.token(&with(&|c| drop(c.insert("exp".into(), json!("tomorrow")))))
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token's claims cannot be read"),
        ),
        (
            "no kid, and the only key is not the signer",
            format!(
                "Bearer {}",
                other_key.sign_with(no_kid.clone(), &good).expect("signed")
            ),
            StatusCode::UNAUTHORIZED,
            invalid_token("the token's signature does not verify"),
        ),
    ];
    for (case, authorization, status, expected) in &cases {
        let authorization: Vec<&str> = if authorization.is_empty() {
            vec![]
        } else {
            vec![authorization.as_str()]
        };
        let out = world.call(&authorization, "look").await;
        assert_eq!(out.status, *status, "{case}: {:?}", out.body);
        assert_eq!(challenge(&out), *expected, "{case}");
        let error = out.json().expect("a JSON-RPC error body");
        assert!(error["error"]["message"].is_string(), "{case}: {error}");
    }

    // A token in the query string, even beside a good header.
    let good_token = world.token(&good);
    let header = format!("Bearer {good_token}");
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let query = format!("access_token={good_token}");
    let out = world
        .send(&Method::POST, "/mcp", Some(&query), &[&header], body)
        .await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        challenge(&out),
        format!(
            "Bearer error=\"invalid_request\", error_description=\"tokens are not accepted in the \
             query string: send Authorization: Bearer\", resource_metadata=\"{METADATA}\", scope=\"mcp:read\""
        )
    );
    // Two Authorization headers.
    let out = world.call(&[&header, &header], "look").await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert!(challenge(&out).starts_with("Bearer error=\"invalid_request\""));

    assert_eq!(
        world.runs.load(Ordering::SeqCst),
        0,
        "no refused request ran a tool"
    );
    assert!(cases.len() + 2 >= 15);

    // The positive controls: the same key and claims pass, within the leeway too.
    let out = world.call_with(&good_token, "look").await;
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    let late = world.token(&with(&|c| drop(c.insert("exp".into(), json!(now() - 10)))));
    let out = world.call_with(&late, "look").await;
    assert_eq!(out.status, StatusCode::OK, "within 30 s of leeway");
    let listed = with(&|c| {
        drop(c.insert(
            "aud".into(),
            json!(["https://other.example.com/mcp", AUDIENCE]),
        ))
    });
    let out = world.call_with(&world.token(&listed), "look").await;
    assert_eq!(out.status, StatusCode::OK, "aud as an array naming us");
    // RFC 7519 NumericDates may carry fractions.
    let fractional = with(&|c| {
        c.insert("exp".into(), json!(now() as f64 + 300.5));
        c.insert("nbf".into(), json!(now() as f64 - 0.25));
        c.insert("iat".into(), json!(now() as f64 - 0.75));
    });
    let out = world.call_with(&world.token(&fractional), "look").await;
    assert_eq!(out.status, StatusCode::OK, "fractional exp, nbf, iat");
    assert_eq!(world.runs.load(Ordering::SeqCst), 4);
    // Discovery and the key set: fetched once, on first use.
    assert_eq!(world.issuer.gets.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_read_token_neither_sees_nor_runs_the_destructive_tool_and_an_admin_token_does() {
    let world = World::new(Duration::from_secs(30));
    let read = world.token(&World::claims("mcp:read"));
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let listed = world
        .send(
            &Method::POST,
            "/mcp",
            None,
            &[&format!("Bearer {read}")],
            list,
        )
        .await;
    let names: Vec<Value> = listed.json().expect("json")["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("look")]);

    let out = world.call_with(&read, "destroy").await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&out),
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"mcp:admin\", resource_metadata=\"{METADATA}\", \
             error_description=\"the token lacks a scope this tool needs\""
        )
    );
    assert_eq!(
        world.runs.load(Ordering::SeqCst),
        0,
        "refused before it ran"
    );

    // Entra ID and Okta put scopes in `scp`, an array.
    let mut admin = World::claims("");
    admin["scp"] = json!(["mcp:read", "mcp:admin"]);
    admin.as_object_mut().expect("object").remove("scope");
    let out = world.call_with(&world.token(&admin), "destroy").await;
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    let text = out.json().expect("json")["result"]["content"][0]["text"].to_string();
    assert!(
        text.contains("agent-7"),
        "the token's subject is the caller: {text}"
    );
    assert_eq!(world.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn metadata_is_served_without_a_token_and_is_cacheable() {
    let world = World::new(Duration::from_secs(30));
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let out = world.send(&Method::GET, path, None, &[], "").await;
        assert_eq!(out.status, StatusCode::OK, "{path}");
        let headers = out.headers();
        assert_eq!(headers["cache-control"], "public, max-age=3600");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            out.json().expect("json"),
            json!({
                "resource": AUDIENCE,
                "authorization_servers": [ISSUER],
                "scopes_supported": ["mcp:read", "mcp:admin"],
                "bearer_methods_supported": ["header"],
                "resource_name": "MCP ladder",
            })
        );
    }
    let out = world
        .send(
            &Method::GET,
            "/.well-known/oauth-protected-resource/other",
            None,
            &[],
            "",
        )
        .await;
    assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        world.issuer.gets.load(Ordering::SeqCst),
        0,
        "keys are fetched lazily"
    );
}

#[tokio::test]
async fn unknown_key_ids_refresh_the_key_set_at_most_once_per_interval() {
    // Within the interval: a new kid is refused without asking the issuer.
    let world = World::new(Duration::from_secs(30));
    let read = World::claims("mcp:read");
    assert_eq!(
        world.call_with(&world.token(&read), "look").await.status,
        StatusCode::OK
    );
    assert_eq!(world.issuer.gets.load(Ordering::SeqCst), 2);
    let rotated = TestKey::generate("k2").expect("a key");
    world.issuer.publish(&[&world.key, &rotated]);
    let fresh = rotated.sign(&read).expect("signed");
    for _ in 0..3 {
        let out = world.call_with(&fresh, "look").await;
        assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        world.issuer.gets.load(Ordering::SeqCst),
        2,
        "no refetch inside the interval"
    );

    // After the interval: one refetch of the key set (not of the metadata)
    // finds the rotated key.
    let world = World::new(Duration::ZERO);
    assert_eq!(
        world.call_with(&world.token(&read), "look").await.status,
        StatusCode::OK
    );
    let rotated = TestKey::generate("k2").expect("a key");
    world.issuer.publish(&[&world.key, &rotated]);
    let out = world
        .call_with(&rotated.sign(&read).expect("signed"), "look")
        .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(world.issuer.gets.load(Ordering::SeqCst), 3);
    // Warm requests with known keys fetch nothing.
    for _ in 0..5 {
        assert_eq!(
            world.call_with(&world.token(&read), "look").await.status,
            StatusCode::OK
        );
    }
    assert_eq!(world.issuer.gets.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_issuer_that_cannot_be_reached_is_a_503_never_an_accept() {
    let world = World::new(Duration::from_secs(30));
    world.issuer.down.store(true, Ordering::SeqCst);
    let token = world.token(&World::claims("mcp:read mcp:admin"));
    let out = world.call_with(&token, "destroy").await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(out.headers()["retry-after"], "1");
    let message = out.json().expect("json")["error"]["message"].to_string();
    assert!(
        message.contains("the issuer's keys cannot be fetched"),
        "{message}"
    );
    assert!(
        message.contains("openid-configuration: connection refused"),
        "the fetch's own error, with the URL it was for: {message}"
    );
    assert!(!message.contains(&token), "the token is never echoed");
    assert_eq!(world.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn an_issuer_that_does_not_answer_is_a_503_within_the_budget() {
    let world = World::new(Duration::from_secs(30));
    world.issuer.silent.store(true, Ordering::SeqCst);
    let token = world.token(&World::claims("mcp:read"));
    let started = tokio::time::Instant::now();
    let out = world.call_with(&token, "look").await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        started.elapsed(),
        mcp_oauth::FETCH_TIMEOUT,
        "one budget for discovery and keys"
    );
    assert_eq!(world.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_withdrawn_key_stops_admitting_its_verified_tokens_once_the_key_set_is_replaced() {
    let world = World::new(Duration::ZERO);
    let read = World::claims("mcp:read");
    let old = world.token(&read);
    assert_eq!(world.call_with(&old, "look").await.status, StatusCode::OK);
    // The issuer withdraws k1 and signs with k2.
    let rotated = TestKey::generate("k2").expect("a key");
    world.issuer.publish(&[&rotated]);
    assert_eq!(
        world.call_with(&old, "look").await.status,
        StatusCode::OK,
        "remembered while the set that verified it is the one in use"
    );
    let new = rotated.sign(&read).expect("signed");
    assert_eq!(world.call_with(&new, "look").await.status, StatusCode::OK);
    // The set was replaced: what the old one verified is checked again.
    let out = world.call_with(&old, "look").await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&out),
        invalid_token("the token's signing key is not among the issuer's keys")
    );
    assert_eq!(world.call_with(&new, "look").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_key_set_over_its_maximum_age_is_fetched_again_before_use() {
    let mut world = World::new(Duration::from_secs(30));
    world.auth = world.auth.with_max_age(Duration::from_millis(200));
    let token = world.token(&World::claims("mcp:read"));
    assert_eq!(world.call_with(&token, "look").await.status, StatusCode::OK);
    assert_eq!(world.call_with(&token, "look").await.status, StatusCode::OK);
    assert_eq!(
        world.issuer.gets.load(Ordering::SeqCst),
        2,
        "within its age"
    );
    // k1 is withdrawn; nothing asks for an unknown kid, so only the age
    // brings the new set.
    let rotated = TestKey::generate("k2").expect("a key");
    world.issuer.publish(&[&rotated]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let out = world.call_with(&token, "look").await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(world.issuer.gets.load(Ordering::SeqCst), 3, "one refetch");

    // Over age and the issuer down: 503, and the failure is remembered
    // (one fetch for several requests), never the old set.
    world.issuer.publish(&[&world.key]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    world.issuer.down.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let out = world.call_with(&token, "look").await;
        assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(world.issuer.gets.load(Ordering::SeqCst), 4);
    assert_eq!(world.runs.load(Ordering::SeqCst), 2);
}

#[test]
fn the_maximum_age_is_a_setting() {
    let settings = mcp_settings::FunctionSettings::from_lookup(|name| {
        match name {
            "MCP_AUTH" => Some("oauth"),
            "MCP_OAUTH_ISSUER" => Some(ISSUER),
            "MCP_OAUTH_AUDIENCE" => Some(AUDIENCE),
            "MCP_OAUTH_JWKS_MAX_AGE_S" => Some("600"),
            _ => None,
        }
        .map(str::to_owned)
    })
    .expect("valid");
    let config = OAuthConfig::from_settings(&settings)
        .expect("valid")
        .expect("oauth");
    assert_eq!(config.jwks_max_age, Duration::from_secs(600));
    let default = mcp_settings::FunctionSettings {
        oauth: mcp_settings::OAuthSettings {
            jwks_max_age_s: None,
            ..settings.oauth.clone()
        },
        ..settings
    };
    let config = OAuthConfig::from_settings(&default)
        .expect("valid")
        .expect("oauth");
    assert_eq!(config.jwks_max_age, Duration::from_secs(3600));
}
