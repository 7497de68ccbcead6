//! Rung 4: the MCP server as an OAuth 2.1 resource server (MCP
//! authorization, 2025-06-18 and later).
//!
//! [`ResourceServer`] is an [`mcp_http::Authenticator`]: every request must
//! carry `Authorization: Bearer <JWT>` signed by one of the issuer's keys,
//! with `iss` equal to the issuer, `aud` naming this endpoint, and `exp` (and
//! `nbf`, when present) holding within 30 seconds of leeway. The token's
//! scopes (`scope`, space-separated, or `scp`, an array) become the caller's
//! identity, so `mcp-core` shows and runs only the tools they allow.
//!
//! - Protected Resource Metadata (RFC 9728) is served without a token at
//!   `/.well-known/oauth-protected-resource` and its path-suffixed form.
//! - Every refusal is the specification's challenge: 401 with
//!   `WWW-Authenticate: Bearer resource_metadata="...", scope="..."` (and
//!   `error="invalid_token"` when a token was presented), 400
//!   `invalid_request` for a token in the query string, 503 when the
//!   issuer's keys cannot be fetched - never an accept.
//! - Only asymmetric algorithms are accepted (RS, PS, ES, EdDSA), verified by
//!   `ring` through `jsonwebtoken` ([`ring_provider`]).
//! - The token is never logged and never forwarded.
//!
//! ```no_run
//! # fn run(fetch: Box<dyn mcp_oauth::Fetch>) -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_oauth::{OAuthConfig, ResourceServer, Scopes};
//! let settings = mcp_settings::FunctionSettings::from_env()?;
//! if let Some(config) = OAuthConfig::from_settings(&settings)? {
//!     let scopes = Scopes { supported: vec!["mcp:read".into()], baseline: vec!["mcp:read".into()] };
//!     let auth = ResourceServer::new(config, scopes, fetch)?;
//!     println!("metadata at {}", auth.metadata_url());
//! }
//! # Ok(()) }
//! ```

pub mod config;
mod keys;
pub mod ring_provider;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use config::{ConfigError, OAuthConfig, UrlError};
pub use keys::{
    BoxError, DEFAULT_MAX_AGE, DEFAULT_REFRESH_INTERVAL, FETCH_TIMEOUT, Fetch, FetchError,
    KeyCache, KeyError,
};

use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderValue, StatusCode};
use jsonwebtoken::{Validation, decode, decode_header};
use mcp_core::{AuthScheme, Identity, ToolDefinition};
use mcp_http::{AuthError, Authenticator, BoxFuture, RequestParts};
use mcp_settings::Setting;
use serde::Deserialize;
use serde_json::json;

/// The well-known path of Protected Resource Metadata (RFC 9728).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Clock leeway for `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// The longest `Authorization` value looked at; a longer one is refused
/// unread.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// How many verified tokens an instance remembers.
const VERIFIED_CAPACITY: usize = 1024;

/// Tokens already verified, by SHA-256: a client sends the same token for
/// its whole life, and checking it is most of a warm request's work
/// (measured: 0.86 M of 1.09 M instructions, bench/oauth_bench.py). Only
/// successes are kept, each until its `exp` (with the leeway) passes, and
/// only while the key set that verified it is the one in use and within its
/// maximum age: a key the issuer withdrew stops admitting its tokens once the
/// set is fetched again. The issuer and audience never change while the
/// function runs.
#[derive(Debug, Default)]
struct Verified(std::sync::Mutex<std::collections::HashMap<[u8; 32], Remembered>>);

/// A verified token: who it names, its `exp`, and the key-set generation
/// that verified it.
#[derive(Debug)]
struct Remembered {
    identity: Identity,
    exp: u64,
    generation: u64,
}

impl Verified {
    fn key(token: &str) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut key = [0; 32];
        key.copy_from_slice(digest.as_ref());
        key
    }

    /// The identity of a token verified by key-set `generation` (the one in
    /// use, fresh; `None`: no set is) that has not expired at `now`.
    fn get(&self, key: &[u8; 32], now: u64, generation: Option<u64>) -> Option<Identity> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some(r) if still_valid(r.exp, now) && Some(r.generation) == generation => {
                Some(r.identity.clone())
            }
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: [u8; 32], remembered: Remembered, now: u64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A newer key set replaces what older ones verified.
        map.retain(|_, r| r.generation >= remembered.generation);
        if map.len() >= VERIFIED_CAPACITY {
            map.retain(|_, r| still_valid(r.exp, now));
            if map.len() >= VERIFIED_CAPACITY {
                map.clear();
            }
        }
        map.insert(key, remembered);
    }
}

/// `exp` holds at `now`, as jsonwebtoken judges it (with the leeway).
fn still_valid(exp: u64, now: u64) -> bool {
    exp.saturating_add(LEEWAY.as_secs()) >= now
}

/// The scopes a deployment publishes and asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    /// Every scope a tool needs: `scopes_supported` in the metadata.
    pub supported: Vec<String>,
    /// What a client should ask for first (the `scope` of a 401 challenge):
    /// the read-only tools' scopes. A client that needs more is told so by a
    /// 403 `insufficient_scope` and steps up.
    pub baseline: Vec<String>,
}

/// Why the scopes to publish do not fit the tools.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopesError {
    /// [`Setting::OAuthScopesSupported`] leaves out a scope a tool needs.
    #[error(
        "{setting}: the tool {tool:?} needs the scope {scope:?}, which is not listed; add it, or \
         change the tool's scopes with {overrides}",
        setting = Setting::OAuthScopesSupported,
        overrides = Setting::ToolScopes
    )]
    Unlisted {
        /// The tool.
        tool: String,
        /// The scope it needs.
        scope: String,
    },
    /// [`Setting::OAuthScopesSupported`] leaves out a scope a resource or
    /// prompt needs.
    #[error(
        "{setting}: a resource or prompt needs the scope {scope:?}, which is not listed; add \
         it, or change the scopes with {resources} or {prompts}",
        setting = Setting::OAuthScopesSupported,
        resources = Setting::ResourceScopes,
        prompts = Setting::PromptScopes
    )]
    UnlistedContent {
        /// The scope.
        scope: String,
    },
}

impl Scopes {
    /// The scopes of `tools`: all of them, and those of the read-only ones.
    /// With `configured` ([`Setting::OAuthScopesSupported`]), every tool's scope
    /// must be in it: a deployment that publishes less than its tools need
    /// would send clients off for tokens that cannot work.
    pub fn of_tools<'t>(
        tools: impl IntoIterator<Item = &'t ToolDefinition>,
        configured: Option<&[String]>,
    ) -> Result<Scopes, ScopesError> {
        let mut supported: Vec<String> = Vec::new();
        let mut baseline: Vec<String> = Vec::new();
        for tool in tools {
            for scope in tool.required_scopes() {
                if let Some(configured) = configured
                    && !configured.iter().any(|c| c == scope)
                {
                    return Err(ScopesError::Unlisted {
                        tool: tool.name().to_owned(),
                        scope: scope.to_owned(),
                    });
                }
                add(&mut supported, scope);
                if tool.hints().read_only_hint == Some(true) {
                    add(&mut baseline, scope);
                }
            }
        }
        if let Some(configured) = configured {
            supported = configured.to_vec();
        }
        if baseline.is_empty() {
            baseline = supported.clone();
        }
        Ok(Scopes {
            supported,
            baseline,
        })
    }

    /// The scopes of everything `server` offers: its tools' ([`Scopes::of_tools`])
    /// and those its resources and prompts need. With `configured`, each of
    /// those must be in it too.
    pub fn of_server(
        server: &mcp_core::Server,
        configured: Option<&[String]>,
    ) -> Result<Scopes, ScopesError> {
        let mut scopes = Scopes::of_tools(server.tools().definitions(), configured)?;
        for scope in server.content_scopes() {
            match configured {
                Some(configured) if !configured.iter().any(|c| c == scope) => {
                    return Err(ScopesError::UnlistedContent {
                        scope: scope.to_owned(),
                    });
                }
                Some(_) => {}
                None => add(&mut scopes.supported, scope),
            }
        }
        Ok(scopes)
    }
}

fn add(list: &mut Vec<String>, scope: &str) {
    if !list.iter().any(|s| s == scope) {
        list.push(scope.to_owned());
    }
}

/// The bearer-token authenticator.
#[derive(Debug)]
pub struct ResourceServer {
    config: OAuthConfig,
    keys: KeyCache,
    verified: Verified,
    metadata_url: String,
    /// The audience's path: metadata is also served for its tail.
    audience_path: String,
    document: String,
    baseline: String,
}

impl ResourceServer {
    /// A resource server for `config`, publishing `scopes`, reaching the
    /// issuer through `fetch` (first on the first request, not now). `Err`:
    /// the audience is not a URL the server may use.
    pub fn new(
        config: OAuthConfig,
        scopes: Scopes,
        fetch: Box<dyn Fetch>,
    ) -> Result<ResourceServer, UrlError> {
        ring_provider::install();
        let audience = config::check_url(Setting::OAuthAudience.name(), &config.audience)?;
        let metadata_url = metadata_url(&audience)?;
        let document = json!({
            "resource": config.audience,
            "authorization_servers": [config.issuer],
            "scopes_supported": scopes.supported,
            "bearer_methods_supported": ["header"],
            "resource_name": "MCP ladder",
        })
        .to_string();
        let keys = KeyCache::new(config.issuer.clone(), config.jwks_url.clone(), fetch)
            .with_max_age(config.jwks_max_age);
        Ok(ResourceServer {
            audience_path: audience.path().to_owned(),
            config,
            keys,
            verified: Verified::default(),
            metadata_url,
            document,
            baseline: scopes.baseline.join(" "),
        })
    }

    /// Sets the least time between key fetches for unknown key ids.
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.keys = self.keys.with_refresh_interval(interval);
        self
    }

    /// Sets how old the key set may be before it is fetched again.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.keys = self.keys.with_max_age(max_age);
        self
    }

    /// Where the metadata is published (the `resource_metadata` of challenges).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The metadata document (JSON).
    pub fn document(&self) -> &str {
        &self.document
    }

    /// The key cache (its fetch count, for tests and benchmarks).
    pub fn keys(&self) -> &KeyCache {
        &self.keys
    }

    fn challenge(&self, error: Option<(&str, &str)>) -> Option<HeaderValue> {
        let mut value = String::from("Bearer ");
        if let Some((code, description)) = error {
            value.push_str(&format!(
                "error=\"{code}\", error_description=\"{description}\", "
            ));
        }
        value.push_str(&format!(
            "resource_metadata=\"{}\", scope=\"{}\"",
            self.metadata_url, self.baseline
        ));
        HeaderValue::from_str(&value).ok()
    }

    fn refuse(&self, status: StatusCode, code: &str, description: &str) -> AuthError {
        AuthError {
            status,
            challenge: self.challenge(Some((code, description))),
            message: format!("{description}: get a token from {}", self.config.issuer),
        }
    }

    fn invalid(&self, description: &str) -> AuthError {
        self.refuse(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let key = Verified::key(token);
        let generation = self.keys.fresh_generation();
        if let Some(identity) = self.verified.get(&key, now, generation) {
            return Ok(identity);
        }
        let remembered = self.check(token).await?;
        let identity = remembered.identity.clone();
        self.verified.put(key, remembered, now);
        Ok(identity)
    }

    /// The full check: the caller, the token's `exp` and the generation of
    /// the key set that verified it.
    async fn check(&self, token: &str) -> Result<Remembered, AuthError> {
        let header = decode_header(token).map_err(|_| {
            self.invalid("the token is not a JWT with an algorithm this server accepts")
        })?;
        // RFC 7515 section 4.1.11: extensions listed in `crit` must be
        // understood, and this server understands none.
        if header.crit.is_some() {
            return Err(self.invalid(
                "the token's header lists critical extensions (crit) this server does not understand",
            ));
        }
        if !ring_provider::ACCEPTED.contains(&header.alg) {
            return Err(self.invalid(
                "the token's algorithm is not accepted: only asymmetric signatures (RS, PS, ES, EdDSA)",
            ));
        }
        let (key, generation) = match self.keys.key(header.kid.as_deref(), header.alg).await {
            Ok(found) => found,
            Err(KeyError::Unknown) => {
                return Err(self.invalid("the token's signing key is not among the issuer's keys"));
            }
            Err(KeyError::Unavailable(why)) => {
                return Err(AuthError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    challenge: None,
                    message: format!(
                        "tokens cannot be checked now: the issuer's keys cannot be fetched ({why}); try again shortly"
                    ),
                });
            }
        };
        // `exp` and `nbf` are checked below, not by jsonwebtoken, which reads
        // them as whole seconds and refuses a NumericDate with a fraction
        // (valid per RFC 7519 section 2).
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["iss", "aud"]);
        let data = decode::<Claims>(token, &key.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            self.invalid(match e.kind() {
                K::ExpiredSignature => "the token has expired",
                K::ImmatureSignature => "the token is not valid yet (nbf)",
                K::InvalidIssuer => "the token was issued by another issuer",
                K::InvalidAudience => "the token was not issued for this server (aud)",
                K::InvalidSignature => "the token's signature does not verify",
                K::InvalidAlgorithm | K::InvalidKeyFormat => {
                    "the token's algorithm does not fit its signing key"
                }
                K::MissingRequiredClaim(claim) => match claim.as_str() {
                    "exp" => "the token has no exp claim",
                    "iss" => "the token has no iss claim",
                    _ => "the token has no aud claim",
                },
                _ => "the token's claims cannot be read",
            })
        })?;
        let claims = data.claims;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let leeway = LEEWAY.as_secs_f64();
        let Some(exp) = claims.exp else {
            return Err(self.invalid("the token has no exp claim"));
        };
        if exp + leeway < now {
            return Err(self.invalid("the token has expired"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(self.invalid("the token is not valid yet (nbf)"));
        }
        Ok(Remembered {
            // Whole seconds, rounded down: the memory never outlives the token.
            exp: exp as u64,
            identity: claims.identity(),
            generation,
        })
    }
}

/// The claims this server reads (besides the validated `exp`, `nbf`, `iss`
/// and `aud`).
#[derive(Deserialize)]
struct Claims {
    /// NumericDates (RFC 7519 section 2: seconds, fractions allowed),
    /// checked by `ResourceServer::check`; `iat` is read so that a
    /// malformed one is refused like the others.
    exp: Option<f64>,
    nbf: Option<f64>,
    #[expect(dead_code, reason = "read only to refuse a malformed iat")]
    iat: Option<f64>,
    sub: Option<String>,
    client_id: Option<String>,
    azp: Option<String>,
    scope: Option<String>,
    scp: Option<ScopeList>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Many(Vec<String>),
    One(String),
}

impl Claims {
    fn identity(self) -> Identity {
        let mut scopes: Vec<String> = Vec::new();
        if let Some(scope) = &self.scope {
            scopes.extend(
                scope
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
        match self.scp {
            Some(ScopeList::Many(list)) => scopes.extend(list),
            Some(ScopeList::One(list)) => {
                scopes.extend(list.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
            }
            None => {}
        }
        Identity {
            scheme: AuthScheme::Bearer,
            principal: self
                .sub
                .or(self.client_id)
                .or(self.azp)
                .unwrap_or_else(|| "(token without a subject)".to_owned()),
            account: None,
            scopes: Some(scopes),
        }
    }
}

/// The metadata URL for an endpoint: the well-known segment goes before the
/// endpoint's last path segment, so `https://h/prod/mcp` publishes at
/// `https://h/prod/.well-known/oauth-protected-resource/mcp` - under the
/// API stage, where API Gateway can route it - and an endpoint at a domain's
/// root path publishes at RFC 9728's exact place.
/// Where a resource server for `audience` publishes its metadata (the
/// `resource_metadata` of its challenges); `None` when `audience` is not an
/// absolute URL.
pub fn resource_metadata_url(audience: &str) -> Option<String> {
    metadata_url(&audience.parse().ok()?).ok()
}

fn metadata_url(uri: &http::Uri) -> Result<String, UrlError> {
    let (scheme, authority) = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => (scheme, authority.as_str()),
        _ => {
            return Err(UrlError {
                name: Setting::OAuthAudience.name().to_owned(),
                url: uri.to_string(),
                why: "not an absolute URL",
            });
        }
    };
    let path = uri.path().trim_end_matches('/');
    let (base, last) = path.rsplit_once('/').unwrap_or(("", ""));
    let suffix = if last.is_empty() {
        String::new()
    } else {
        format!("/{last}")
    };
    Ok(format!(
        "{scheme}://{authority}{base}{METADATA_PATH}{suffix}"
    ))
}

/// Whether `path` (as the function sees it) asks for this endpoint's
/// metadata: the root form, or the root form followed by a tail of the
/// audience's path.
fn is_metadata_path(path: &str, audience_path: &str) -> bool {
    match path.strip_prefix(METADATA_PATH) {
        Some("" | "/") => true,
        Some(tail) => tail.starts_with('/') && audience_path.trim_end_matches('/').ends_with(tail),
        None => false,
    }
}

/// The bearer token of a request, or why there is none to check.
enum Presented<'a> {
    None,
    Token(&'a str),
    Malformed,
    Ambiguous,
}

fn presented<'a>(request: &'a RequestParts<'a>) -> Presented<'a> {
    let mut values = request.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Presented::None;
    };
    if values.next().is_some() {
        return Presented::Ambiguous;
    }
    if value.len() > MAX_TOKEN_BYTES {
        return Presented::Malformed;
    }
    let Ok(value) = value.to_str() else {
        return Presented::Malformed;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return Presented::None;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme's credentials (Basic, SigV4): not a bearer token.
        return Presented::None;
    }
    let token = token.trim();
    // RFC 6750 b64token.
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if valid {
        Presented::Token(token)
    } else {
        Presented::Malformed
    }
}

/// Whether the query string carries an access token (RFC 6750 section 2.3,
/// which MCP forbids).
fn token_in_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next().is_some_and(|k| k == "access_token"))
    })
}

impl Authenticator for ResourceServer {
    fn authenticate<'a>(
        &'a self,
        request: &'a RequestParts<'a>,
    ) -> BoxFuture<'a, Result<Option<Identity>, AuthError>> {
        Box::pin(async move {
            if token_in_query(request.query) {
                return Err(self.refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "tokens are not accepted in the query string: send Authorization: Bearer",
                ));
            }
            match presented(request) {
                Presented::None => Err(AuthError {
                    status: StatusCode::UNAUTHORIZED,
                    challenge: self.challenge(None),
                    message: format!(
                        "this endpoint needs a bearer token from {}: its metadata is at {}",
                        self.config.issuer, self.metadata_url
                    ),
                }),
                Presented::Ambiguous => Err(self.refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "send one Authorization header",
                )),
                Presented::Malformed => {
                    Err(self.invalid("the Authorization header does not hold a bearer token"))
                }
                Presented::Token(token) => self.verify(token).await.map(Some),
            }
        })
    }

    fn document(&self, path: &str) -> Option<&str> {
        is_metadata_path(path, &self.audience_path).then_some(self.document.as_str())
    }

    fn resource_metadata(&self) -> Option<&str> {
        Some(&self.metadata_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_published_beside_the_endpoint() {
        let url = |a: &str| metadata_url(&a.parse().expect("a URI")).expect("a URL");
        assert_eq!(
            url("https://abc.execute-api.eu-west-1.amazonaws.com/prod/mcp"),
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            url("https://mcp.example.com/mcp"),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            url("http://127.0.0.1:9000/"),
            "http://127.0.0.1:9000/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn metadata_paths() {
        assert!(is_metadata_path(METADATA_PATH, "/prod/mcp"));
        assert!(is_metadata_path(
            "/.well-known/oauth-protected-resource/mcp",
            "/prod/mcp"
        ));
        assert!(is_metadata_path(
            "/.well-known/oauth-protected-resource/prod/mcp",
            "/prod/mcp"
        ));
        assert!(!is_metadata_path(
            "/.well-known/oauth-protected-resource/other",
            "/prod/mcp"
        ));
        assert!(!is_metadata_path(
            "/.well-known/oauth-protected-resourcex",
            "/mcp"
        ));
        assert!(!is_metadata_path("/mcp", "/mcp"));
    }

    #[test]
    fn remembered_tokens_expire_as_jsonwebtoken_judges_them() {
        assert!(still_valid(1000, 1000));
        assert!(still_valid(1000, 1000 + LEEWAY.as_secs()));
        assert!(!still_valid(1000, 1001 + LEEWAY.as_secs()));
        let verified = Verified::default();
        let who = |name: &str| Identity {
            scheme: AuthScheme::Bearer,
            principal: name.into(),
            account: None,
            scopes: Some(vec![]),
        };
        let remembered = |name: &str, exp: u64, generation: u64| Remembered {
            identity: who(name),
            exp,
            generation,
        };
        let key = Verified::key("t");
        verified.put(key, remembered("a", 1000, 1), 900);
        assert_eq!(verified.get(&key, 1000, Some(1)), Some(who("a")));
        assert_eq!(
            verified.get(&key, 2000, Some(1)),
            None,
            "expired, and forgotten"
        );
        assert_eq!(verified.get(&key, 1000, Some(1)), None);
        // Tied to the key set that verified it.
        verified.put(key, remembered("a", 1000, 1), 900);
        assert_eq!(
            verified.get(&key, 1000, None),
            None,
            "no fresh set: forgotten"
        );
        verified.put(key, remembered("a", 1000, 1), 900);
        assert_eq!(
            verified.get(&key, 1000, Some(2)),
            None,
            "a newer set: forgotten"
        );
        verified.put(key, remembered("a", 1000, 1), 900);
        verified.put(Verified::key("u"), remembered("c", 1000, 2), 900);
        assert_eq!(
            verified.get(&key, 1000, Some(1)),
            None,
            "a newer set replaced it"
        );
        for i in 0..=VERIFIED_CAPACITY {
            verified.put(Verified::key(&i.to_string()), remembered("b", 5000, 2), 900);
        }
        let len = verified.0.lock().map(|m| m.len()).unwrap_or(0);
        assert!(len <= VERIFIED_CAPACITY, "bounded: {len}");
    }

    #[test]
    fn published_scopes_cover_resources_and_prompts() {
        use mcp_core::model::{ResourceContents, ResourceInfo};
        let mut resources = mcp_core::Resources::new();
        for uri in ["doc://open", "doc://secret"] {
            let info = ResourceInfo::new(uri, uri);
            resources
                .add(info, ResourceContents::text(uri, "text/plain", uri))
                .expect("added");
        }
        let overrides = mcp_core::scopes::parse(r#"{"doc://secret": ["docs:admin"]}"#);
        let info = mcp_core::ServerInfo::new("t", "0");
        let server = mcp_core::Server::new(info, mcp_core::ToolRegistry::new())
            .with_resources(resources)
            .with_resource_scopes(overrides.expect("parsed"))
            .expect("known");
        let scopes = Scopes::of_server(&server, None).expect("derived");
        assert_eq!(scopes.supported, ["mcp:read", "docs:admin"]);
        let configured = ["mcp:read".to_owned()];
        let error = Scopes::of_server(&server, Some(&configured)).expect_err("unlisted");
        assert_eq!(
            error,
            ScopesError::UnlistedContent {
                scope: "docs:admin".into()
            }
        );
    }

    #[test]
    fn published_scopes_must_cover_every_tool() {
        let tools = [
            ToolDefinition::new("look", "reads").annotations(mcp_core::Annotations::read_only()),
            ToolDefinition::new("drop", "writes").scopes(["mcp:admin"]),
        ];
        let scopes = Scopes::of_tools(&tools, None).expect("derived");
        assert_eq!(scopes.supported, ["mcp:read", "mcp:admin"]);
        assert_eq!(scopes.baseline, ["mcp:read"]);
        let configured = ["mcp:read".to_owned()];
        let error = Scopes::of_tools(&tools, Some(&configured)).expect_err("mcp:admin unlisted");
        assert_eq!(
            error,
            ScopesError::Unlisted {
                tool: "drop".into(),
                scope: "mcp:admin".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "MCP_OAUTH_SCOPES_SUPPORTED: the tool \"drop\" needs the scope \"mcp:admin\", which \
             is not listed; add it, or change the tool's scopes with MCP_TOOL_SCOPES"
        );
    }

    #[test]
    fn a_fetch_error_says_which_step_failed() {
        assert_eq!(
            FetchError::Status(StatusCode::NOT_FOUND).to_string(),
            "HTTP 404"
        );
        assert_eq!(
            FetchError::Body("length limit exceeded".into()).to_string(),
            "reading the body: length limit exceeded"
        );
    }

    #[test]
    fn query_tokens_are_seen() {
        assert!(token_in_query(Some("access_token=abc")));
        assert!(token_in_query(Some("a=1&access_token=abc")));
        assert!(!token_in_query(Some("x_access_token=1")));
        assert!(!token_in_query(None));
    }
}
