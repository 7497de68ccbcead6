//! A development OpenID Connect issuer - a test double for demos and tests,
//! never started on AWS (a deployment trusts its own identity provider).
//!
//! It makes a fresh ES256 signing key each run and serves, on 127.0.0.1:
//! - `GET /.well-known/openid-configuration` and
//!   `GET /.well-known/oauth-authorization-server`: its metadata;
//! - `GET /jwks`: its public key;
//! - `GET /stats`: `{"keySetFetches": N}`, how often `/jwks` was fetched;
//! - `POST /token` (`application/x-www-form-urlencoded`): the
//!   `client_credentials` grant, minting a token for the `scope` asked and
//!   the audience named by `resource` (RFC 8707) or `audience`, valid for
//!   five minutes. Any client id is accepted: it is a local double.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use mcp_oauth::testing::TestKey;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::json_response;

/// How long minted tokens live.
pub const TOKEN_TTL_S: u64 = 300;

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
    key_set_fetches: std::sync::atomic::AtomicU64,
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
    /// Binds a free 127.0.0.1 port and serves.
    pub async fn start() -> anyhow::Result<DevIssuer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let kid = format!("dev-{}", &crate::new_request_id()[..8]);
        let key = TestKey::generate(kid)?;
        let state = Arc::new(State {
            url,
            key,
            key_set_fetches: Default::default(),
        });
        let serving = state.clone();
        let server = tokio::spawn(crate::serve_http(listener, move |req| {
            let state = serving.clone();
            async move { Ok::<_, Infallible>(state.handle(req).await) }
        }));
        tracing::warn!(
            issuer = %state.url,
            "a development OIDC issuer (a local test double: it mints a token for anyone who asks)"
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
        self.state
            .key_set_fetches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Mints a token, as `POST /token` does.
    pub fn mint(&self, grant: &Grant) -> anyhow::Result<String> {
        self.state.mint(grant)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        json!({"error": error, "error_description": description}).to_string(),
    )
}

impl State {
    fn metadata(&self) -> Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/jwks", self.url),
            "token_endpoint": format!("{}/token", self.url),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }

    fn mint(&self, grant: &Grant) -> anyhow::Result<String> {
        let issued = now();
        let claims = json!({
            "iss": self.url,
            "sub": grant.subject,
            "client_id": grant.subject,
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
        match (&parts.method, parts.uri.path()) {
            (
                &Method::GET,
                "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server",
            ) => json_response(StatusCode::OK, self.metadata().to_string()),
            (&Method::GET, "/stats") => json_response(
                StatusCode::OK,
                json!({"keySetFetches": self.key_set_fetches.load(std::sync::atomic::Ordering::Relaxed)})
                    .to_string(),
            ),
            (&Method::GET, "/jwks") => {
                self.key_set_fetches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                json_response(
                    StatusCode::OK,
                    json!({"keys": [self.key.jwk()]}).to_string(),
                )
            }
            (&Method::POST, "/token") => {
                let Ok(body) = Limited::new(body, 64 * 1024).collect().await else {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "the body is too large",
                    );
                };
                // In a form body `+` is a space (a query string keeps it).
                let form = crate::function_url::form_pairs(
                    &String::from_utf8_lossy(&body.to_bytes()).replace('+', "%20"),
                );
                self.token(&form, parts.headers.get(http::header::AUTHORIZATION))
            }
            _ => json_response(
                StatusCode::NOT_FOUND,
                json!({"error": "not_found", "error_description": "this development issuer serves /.well-known/openid-configuration, /jwks and POST /token"}).to_string(),
            ),
        }
    }

    fn token(
        &self,
        form: &[(String, String)],
        authorization: Option<&http::HeaderValue>,
    ) -> Response<Full<Bytes>> {
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        if field("grant_type").as_deref() != Some("client_credentials") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "this development issuer grants client_credentials only",
            );
        }
        let Some(audience) = field("resource").or_else(|| field("audience")) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "name the MCP endpoint the token is for: resource=<its URL> (RFC 8707)",
            );
        };
        let subject = field("client_id")
            .or_else(|| basic_client_id(authorization))
            .unwrap_or_else(|| "dev-client".to_owned());
        let scope = field("scope").unwrap_or_default();
        let grant = Grant {
            subject,
            audience,
            scope: scope.clone(),
        };
        match self.mint(&grant) {
            Ok(token) => {
                let mut response = json_response(
                    StatusCode::OK,
                    json!({
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": TOKEN_TTL_S,
                        "scope": scope,
                    })
                    .to_string(),
                );
                response.headers_mut().insert(
                    http::header::CACHE_CONTROL,
                    http::HeaderValue::from_static("no-store"),
                );
                response
            }
            Err(e) => oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                &e.to_string(),
            ),
        }
    }
}

/// The client id of `Authorization: Basic base64(id:secret)`.
fn basic_client_id(authorization: Option<&http::HeaderValue>) -> Option<String> {
    use base64::Engine as _;
    let value = authorization?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let id = text.split(':').next()?;
    (!id.is_empty()).then(|| id.to_owned())
}
