//! The issuer's signing keys: found through its metadata, fetched on first
//! use (never at init), cached, and fetched again for a key id the cache
//! does not know - at most once per refresh interval - or before use once
//! the set is older than its maximum age (so that a key the issuer withdrew
//! stops verifying tokens); one fetch at a time, a failure remembered for a
//! moment. Each set fetched is a new generation: what it verified is tied
//! to it ([`KeyCache::fresh_generation`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use mcp_http::BoxFuture;
use serde_json::Value;

/// How the resource server reaches the issuer: an HTTP GET that answers the
/// body of a 200, or says what went wrong.
pub trait Fetch: Send + Sync {
    /// GETs `url`.
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Vec<u8>, FetchError>>;
}

/// Any error, boxed: what an HTTP client's failures are carried as.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a [`Fetch`] brought no document. Whatever the cause, the resource
/// server answers 503 until a later fetch succeeds; the message is logged
/// and put in that answer, so it says which step failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be put in a request.
    #[error("not a URL: {0}")]
    Url(http::Error),
    /// No answer: no HTTP client, or a connection, TLS or protocol failure.
    #[error("{0}")]
    Request(BoxError),
    /// The issuer answered with a status other than success.
    #[error("HTTP {}", .0.as_u16())]
    Status(http::StatusCode),
    /// The answer's body could not be read (cut off, or over a size limit).
    #[error("reading the body: {0}")]
    Body(BoxError),
}

/// The default wait between two fetches for unknown key ids.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// The default maximum age of a key set before it is fetched again.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// How long fetching the keys may take, discovery included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a failed fetch is remembered before the next try (an issuer
/// that is down is not asked again by every request).
const FAILURE_BACKOFF: Duration = Duration::from_secs(2);

/// One usable key.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    /// The algorithm the JWK names, when it names one.
    alg: Option<Algorithm>,
}

impl Key {
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        self.decoding.family() == alg.family() && self.alg.is_none_or(|a| a == alg)
    }
}

#[derive(Default)]
struct Keys {
    loaded: bool,
    /// Counts the sets fetched: 0 before the first.
    generation: u64,
    /// When this set arrived.
    fetched: Option<Instant>,
    by_kid: HashMap<String, Key>,
    /// Keys without a `kid`.
    anonymous: Vec<Key>,
}

/// Why no key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The issuer has no key for this token (after a refresh, or too soon
    /// after the last one to ask again).
    Unknown,
    /// The issuer's metadata or keys cannot be fetched now.
    Unavailable(String),
}

struct Fetching {
    jwks_url: Option<String>,
    last: Option<Instant>,
    failed: Option<(Instant, String)>,
}

/// The cached key set.
pub struct KeyCache {
    issuer: String,
    fetch: Box<dyn Fetch>,
    keys: RwLock<Arc<Keys>>,
    fetching: tokio::sync::Mutex<Fetching>,
    refresh_interval: Duration,
    max_age: Duration,
    fetches: AtomicU64,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("issuer", &self.issuer)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// A cache for `issuer`'s keys, at `jwks_url` or where its metadata says.
    pub fn new(issuer: String, jwks_url: Option<String>, fetch: Box<dyn Fetch>) -> Self {
        KeyCache {
            issuer,
            fetch,
            keys: RwLock::new(Arc::default()),
            fetching: tokio::sync::Mutex::new(Fetching {
                jwks_url,
                last: None,
                failed: None,
            }),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_age: DEFAULT_MAX_AGE,
            fetches: AtomicU64::new(0),
        }
    }

    /// Sets the least time between fetches for unknown key ids.
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Sets how old a key set may be before it is fetched again.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The generation of the key set in use when it is loaded and within
    /// its maximum age; `None` when the next token must fetch (a token
    /// verified by an older generation, or by a set now over age, is
    /// checked again).
    pub fn fresh_generation(&self) -> Option<u64> {
        let current = self.current();
        self.is_fresh(&current).then_some(current.generation)
    }

    fn is_fresh(&self, keys: &Keys) -> bool {
        keys.loaded && keys.fetched.is_some_and(|at| at.elapsed() < self.max_age)
    }

    /// How many HTTP fetches (metadata and key sets) this cache has made.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn current(&self) -> Arc<Keys> {
        Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The key for a token's `kid` (or, without one, the only key that fits
    /// its algorithm) and the generation of its set, fetching the set on
    /// first use, before use once it is over its maximum age, and again for
    /// an unknown `kid` when the refresh interval has passed. A set over age
    /// that cannot be fetched again is not used: the answer is
    /// [`KeyError::Unavailable`], never a key the issuer may have withdrawn.
    pub(crate) async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(Key, u64), KeyError> {
        let current = self.current();
        if self.is_fresh(&current)
            && let Some(key) = pick(&current, kid, alg)
        {
            return Ok((key, current.generation));
        }
        let mut fetching = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let seen = self.current();
        let fresh = self.is_fresh(&seen);
        if fresh
            && !Arc::ptr_eq(&seen, &current)
            && let Some(key) = pick(&seen, kid, alg)
        {
            return Ok((key, seen.generation));
        }
        if fresh
            && fetching
                .last
                .is_some_and(|last| last.elapsed() < self.refresh_interval)
        {
            return Err(KeyError::Unknown);
        }
        if let Some((at, why)) = &fetching.failed
            && at.elapsed() < FAILURE_BACKOFF
        {
            return Err(KeyError::Unavailable(why.clone()));
        }
        // One budget for discovery and the key set together: a function's
        // timeout is seconds, and a 503 must come before it.
        let loaded = tokio::time::timeout(FETCH_TIMEOUT, self.load(&mut fetching))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the issuer's metadata and keys did not arrive within {FETCH_TIMEOUT:?}"
                ))
            });
        match loaded {
            Ok(mut keys) => {
                let now = Instant::now();
                fetching.last = Some(now);
                fetching.failed = None;
                keys.generation = seen.generation + 1;
                keys.fetched = Some(now);
                let keys = Arc::new(keys);
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&keys);
                let generation = keys.generation;
                pick(&keys, kid, alg)
                    .map(|key| (key, generation))
                    .ok_or(KeyError::Unknown)
            }
            Err(why) => {
                tracing::warn!(issuer = %self.issuer, error = %why, "the issuer's keys cannot be fetched");
                fetching.failed = Some((Instant::now(), why.clone()));
                Err(KeyError::Unavailable(why))
            }
        }
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.fetch
            .get(url)
            .await
            .map_err(|e| format!("GET {url}: {e}"))
    }

    async fn load(&self, fetching: &mut Fetching) -> Result<Keys, String> {
        let jwks_url = match &fetching.jwks_url {
            Some(url) => url.clone(),
            None => {
                let url = self.discover().await?;
                fetching.jwks_url = Some(url.clone());
                url
            }
        };
        let body = self.get(&jwks_url).await?;
        let set: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("{jwks_url} is not a JSON key set: {e}"))?;
        let Some(Value::Array(entries)) = set.get("keys") else {
            return Err(format!("{jwks_url} has no `keys` array"));
        };
        let mut keys = Keys {
            loaded: true,
            ..Keys::default()
        };
        for entry in entries {
            // A key this server cannot use (another type, encryption) is
            // skipped, not fatal: issuers publish several.
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else {
                continue;
            };
            if let Some(key) = usable(&jwk) {
                match jwk.common.key_id {
                    Some(kid) => {
                        keys.by_kid.insert(kid, key);
                    }
                    None => keys.anonymous.push(key),
                }
            }
        }
        tracing::info!(
            issuer = %self.issuer,
            keys = keys.by_kid.len() + keys.anonymous.len(),
            "fetched the issuer's signing keys"
        );
        Ok(keys)
    }

    /// The `jwks_uri` of the issuer's metadata: OpenID Connect discovery
    /// first, then RFC 8414. The metadata must name this issuer.
    async fn discover(&self) -> Result<String, String> {
        let issuer = self.issuer.trim_end_matches('/');
        let oidc = format!("{issuer}/.well-known/openid-configuration");
        let rfc8414 = rfc8414_url(issuer);
        let mut failures = Vec::new();
        for url in [oidc, rfc8414] {
            let metadata = match self.get(&url).await {
                Ok(body) => body,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let metadata: Value =
                serde_json::from_slice(&metadata).map_err(|e| format!("{url} is not JSON: {e}"))?;
            if metadata.get("issuer").and_then(Value::as_str) != Some(self.issuer.as_str()) {
                return Err(format!(
                    "{url} names another issuer than {} (a token's iss must match it exactly)",
                    self.issuer
                ));
            }
            let jwks = metadata
                .get("jwks_uri")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{url} has no jwks_uri"))?;
            crate::config::check_url("jwks_uri", jwks).map_err(|e| e.to_string())?;
            return Ok(jwks.to_owned());
        }
        Err(failures.join("; "))
    }
}

/// RFC 8414 section 3.1: the well-known segment goes between the host and
/// the issuer's path.
fn rfc8414_url(issuer: &str) -> String {
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("https", issuer));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    };
    format!("{scheme}://{host}/.well-known/oauth-authorization-server{path}")
}

fn usable(jwk: &Jwk) -> Option<Key> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(alg) => Some(Algorithm::try_from(alg).ok()?),
        None => None,
    };
    if alg.is_some_and(|a| !crate::ring_provider::ACCEPTED.contains(&a)) {
        return None;
    }
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    if decoding.family() == jsonwebtoken::AlgorithmFamily::Hmac {
        return None;
    }
    Some(Key { decoding, alg })
}

fn pick(keys: &Keys, kid: Option<&str>, alg: Algorithm) -> Option<Key> {
    match kid {
        Some(kid) => keys.by_kid.get(kid).filter(|k| k.fits(alg)).cloned(),
        None => {
            let mut fitting = keys
                .by_kid
                .values()
                .chain(&keys.anonymous)
                .filter(|k| k.fits(alg));
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rfc8414_url;

    #[test]
    fn rfc8414_inserts_the_well_known_segment_before_the_path() {
        assert_eq!(
            rfc8414_url("https://auth.example.com"),
            "https://auth.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            rfc8414_url("https://auth.example.com/tenant/1"),
            "https://auth.example.com/.well-known/oauth-authorization-server/tenant/1"
        );
    }
}
