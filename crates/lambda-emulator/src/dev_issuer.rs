//! A development OAuth 2.1 authorization server (and OpenID Connect
//! discovery) - a **test double** for demos and tests, never started on AWS
//! (a deployment trusts its own identity provider). It approves every
//! request by itself: there is no user and no login.
//!
//! It makes a fresh ES256 signing key each run and serves, on 127.0.0.1 only:
//! - `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//!   `GET /.well-known/openid-configuration`: its metadata;
//! - `GET /jwks`: its public key; `GET /stats`: `{"keySetFetches": N}`;
//! - `POST /register` (RFC 7591): dynamic client registration, for
//!   redirect URIs that are `https` or `http` on a loopback host;
//! - Client ID Metadata Documents (`client_id_metadata_document_supported`):
//!   a `client_id` that is an `https` URL is fetched there, over verified
//!   HTTPS only, bounded in size and time ([`cimd`]), and must name itself
//!   and list the redirect URI asked for exactly;
//! - `GET /authorize`: the authorization code grant with PKCE (S256 only),
//!   answered by an auto-approving consent page that says it is a test
//!   double and sends the browser back to the client's registered redirect
//!   URI with `code` and `state`; codes are single-use and live
//!   [`CODE_TTL_S`] seconds;
//! - `POST /token`: `authorization_code` (PKCE checked, the client
//!   authenticated as registered) and `client_credentials` (any client id
//!   that is not registered is accepted, as before: a local double), minting
//!   a token for the `scope` asked and the audience named by `resource`
//!   (RFC 8707), valid for [`TOKEN_TTL_S`] seconds.
//!
//! Bad input gets RFC 6749's error JSON (or, where the client cannot be
//! trusted with a redirect, an error page); bodies are bounded.

mod authorize;
mod cimd;
mod clients;
mod token;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use mcp_oauth::testing::TestKey;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::json_response;

/// How long minted tokens live.
pub const TOKEN_TTL_S: u64 = 300;
/// How long an authorization code may wait for its exchange.
pub const CODE_TTL_S: u64 = 60;
/// The scopes it advertises (it grants whatever is asked: the function
/// decides what a scope allows).
pub const SCOPES_SUPPORTED: [&str; 3] = ["mcp:read", "mcp:write", "mcp:admin"];
/// The subject of tokens from the authorization code grant: whoever sits at
/// this machine (nobody logs in to a test double).
pub const LOCAL_USER: &str = "local-developer";
/// The largest request body read.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A running development issuer; dropping it stops it.
#[derive(Debug)]
pub struct DevIssuer {
    state: Arc<State>,
    server: JoinHandle<()>,
}

#[derive(Debug)]
struct State {
    url: String,
    key: TestKey,
    key_set_fetches: AtomicU64,
    clients: clients::Registry,
    codes: authorize::Codes,
    documents: cimd::Fetcher,
}

impl Drop for DevIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What a token is minted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `sub` (and `client_id`).
    pub subject: String,
    /// `aud`.
    pub audience: String,
    /// `scope`, space-separated.
    pub scope: String,
}

impl DevIssuer {
    /// Binds a free 127.0.0.1 port and serves, fetching Client ID Metadata
    /// Documents with the system's trust roots.
    pub async fn start() -> anyhow::Result<DevIssuer> {
        DevIssuer::start_trusting(None).await
    }

    /// As [`DevIssuer::start`], also trusting the CA certificates in
    /// `extra_ca_pem` (PEM) for Client ID Metadata Documents: tests serve
    /// theirs over HTTPS with a certificate from their own CA.
    pub async fn start_trusting(extra_ca_pem: Option<&[u8]>) -> anyhow::Result<DevIssuer> {
        let documents = cimd::Fetcher::new(extra_ca_pem)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let kid = format!("dev-{}", &crate::new_request_id()[..8]);
        let key = TestKey::generate(kid)?;
        let state = Arc::new(State {
            url,
            key,
            key_set_fetches: AtomicU64::default(),
            clients: clients::Registry::default(),
            codes: authorize::Codes::default(),
            documents,
        });
        let serving = state.clone();
        let server = tokio::spawn(crate::serve_http(listener, move |req| {
            let state = serving.clone();
            async move { Ok::<_, Infallible>(state.handle(req).await) }
        }));
        tracing::warn!(
            issuer = %state.url,
            "a development OAuth issuer (a local test double: it approves and mints a token for anyone who asks)"
        );
        Ok(DevIssuer { state, server })
    }

    /// The issuer URL (what tokens carry in `iss`).
    pub fn url(&self) -> &str {
        &self.state.url
    }

    /// Its signing key (tests sign tokens with it, good and bad).
    pub fn key(&self) -> &TestKey {
        &self.state.key
    }

    /// How many times its key set was fetched.
    pub fn key_set_fetches(&self) -> u64 {
        self.state.key_set_fetches.load(Ordering::Relaxed)
    }

    /// Mints a token, as `POST /token` does for `client_credentials`.
    pub fn mint(&self, grant: &Grant) -> anyhow::Result<String> {
        self.state.mint(&grant.subject, &grant.subject, grant)
    }
}

/// Seconds since the epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 256 random bits, base64url: codes, client ids and secrets (UUIDv4 is
/// drawn from the operating system's CSPRNG; two give 244 random bits).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 6749 section 5.2's error body (`error`, `error_description`).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Full<Bytes>> {
    let mut response = json_response(
        status,
        json!({"error": error, "error_description": description}).to_string(),
    );
    no_store(&mut response);
    response
}

/// An OAuth error, before it is answered.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Refusal {
    /// 400 with `error`.
    fn bad_request(error: &'static str, description: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    /// 401 `invalid_client`.
    fn invalid_client(description: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = oauth_error(self.status, self.error, &self.description);
        if self.status == StatusCode::UNAUTHORIZED {
            // The challenge RFC 6749 section 5.2 asks for.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"development issuer\""),
            );
        }
        response
    }
}

/// Marks a response as never to be cached (tokens, codes, client secrets).
fn no_store(response: &mut Response<Full<Bytes>>) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A form (`application/x-www-form-urlencoded`, or a query string) as name
/// to value; a parameter sent twice is an error naming it (RFC 6749 section
/// 3.1: "Request and response parameters MUST NOT be included more than
/// once").
fn form(text: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(text) {
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(format!("the parameter {name} is sent more than once"));
        }
    }
    // An empty value is an absent one (RFC 6749 section 3.1).
    params.retain(|_, v| !v.is_empty());
    Ok(params)
}

/// The paths it serves, for 405 against 404.
const PATHS: [&str; 8] = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/jwks",
    "/stats",
    "/register",
    "/authorize",
    "/token",
    "/",
];

impl State {
    fn metadata(&self) -> Value {
        let url = &self.url;
        json!({
            "issuer": url,
            "authorization_endpoint": format!("{url}/authorize"),
            "token_endpoint": format!("{url}/token"),
            "registration_endpoint": format!("{url}/register"),
            "jwks_uri": format!("{url}/jwks"),
            "scopes_supported": SCOPES_SUPPORTED,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": true,
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }

    /// Signs an access token for `grant.audience` and `grant.scope`.
    fn mint(&self, subject: &str, client_id: &str, grant: &Grant) -> anyhow::Result<String> {
        let issued = now();
        let claims = json!({
            "iss": self.url,
            "sub": subject,
            "client_id": client_id,
            "aud": grant.audience,
            "scope": grant.scope,
            "iat": issued,
            "exp": issued + TOKEN_TTL_S,
            "jti": crate::new_request_id(),
        });
        Ok(self.key.sign(&claims)?)
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = if parts.method == Method::POST {
            match Limited::new(body, MAX_BODY_BYTES).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => {
                    return oauth_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "invalid_request",
                        &format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                    );
                }
            }
        } else {
            Bytes::new()
        };
        let mut response = self.route(&parts, &body).await;
        // Browser-based clients read the metadata, register and redeem codes
        // from their own origin; the consent page is a navigation.
        if parts.uri.path() != "/authorize" {
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        response
    }

    /// Answers one request whose body has been read.
    async fn route(&self, parts: &http::request::Parts, body: &[u8]) -> Response<Full<Bytes>> {
        let path = parts.uri.path();
        match (&parts.method, path) {
            (
                &Method::GET | &Method::HEAD,
                "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server",
            ) => json_response(StatusCode::OK, self.metadata().to_string()),
            (&Method::GET, "/stats") => json_response(
                StatusCode::OK,
                json!({"keySetFetches": self.key_set_fetches.load(Ordering::Relaxed)}).to_string(),
            ),
            (&Method::GET, "/jwks") => {
                self.key_set_fetches.fetch_add(1, Ordering::Relaxed);
                let keys = json!({"keys": [self.key.jwk()]});
                json_response(StatusCode::OK, keys.to_string())
            }
            (&Method::GET, "/") => authorize::about_page(&self.url),
            (&Method::GET, "/authorize") => self.authorize(parts.uri.query().unwrap_or("")).await,
            (&Method::POST, "/register") => self.register(&parts.headers, body),
            (&Method::POST, "/token") => self.token(&parts.headers, body).await,
            (&Method::OPTIONS, _) if PATHS.contains(&path) => preflight(),
            _ if PATHS.contains(&path) => {
                let mut response = oauth_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "invalid_request",
                    &format!("{} is not served on {path}", parts.method),
                );
                let allow = match path {
                    "/register" | "/token" => "POST, OPTIONS",
                    _ => "GET, HEAD, OPTIONS",
                };
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                response
            }
            _ => oauth_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "this development issuer serves /.well-known/oauth-authorization-server, \
                 /.well-known/openid-configuration, /jwks, /register, /authorize and /token",
            ),
        }
    }
}

/// A response with `status`, `body` and these headers.
fn response_with(
    status: StatusCode,
    body: impl Into<Bytes>,
    headers: &[(header::HeaderName, &'static str)],
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A CORS preflight's answer.
fn preflight() -> Response<Full<Bytes>> {
    response_with(
        StatusCode::NO_CONTENT,
        Bytes::new(),
        &[
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type, mcp-protocol-version",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
}

/// Whether `headers` say the body is of `media_type` (parameters such as
/// `charset` aside).
fn content_type_is(headers: &http::HeaderMap, media_type: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_refuses_a_parameter_sent_twice_and_drops_empty_ones() {
        let params = form(b"a=1&b=&c=x+y%2Bz").unwrap();
        assert_eq!(params.get("a").map(String::as_str), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c").map(String::as_str), Some("x y+z"));
        let error = form(b"code=1&code=2").unwrap_err();
        assert!(error.contains("code"), "{error}");
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
