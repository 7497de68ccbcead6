//! The function's authentication settings, from its environment.
//!
//! The names are a contract (the deploy CLI and the tests set them):
//! - `MCP_AUTH`: `iam` (the default: trust the Function URL's IAM check) or
//!   `oauth` (check a bearer token on every request);
//! - `MCP_OAUTH_ISSUER` (required with `oauth`): the issuer URL; a token's
//!   `iss` must equal it exactly;
//! - `MCP_OAUTH_AUDIENCE` (required with `oauth`): this endpoint's canonical
//!   URL; a token's `aud` must contain it;
//! - `MCP_OAUTH_JWKS_URL` (optional): the issuer's key set, instead of the
//!   `jwks_uri` of its metadata;
//! - `MCP_OAUTH_SCOPES_SUPPORTED` (optional; space- or comma-separated): the
//!   scopes published in the resource metadata.
//!
//! Every URL is `https`, except on a loopback host (local development). A
//! missing or contradictory setting is an error that names the variable: the
//! function never starts open.

use http::Uri;

/// `MCP_AUTH`.
pub const AUTH_ENV: &str = "MCP_AUTH";
/// `MCP_OAUTH_ISSUER`.
pub const ISSUER_ENV: &str = "MCP_OAUTH_ISSUER";
/// `MCP_OAUTH_AUDIENCE`.
pub const AUDIENCE_ENV: &str = "MCP_OAUTH_AUDIENCE";
/// `MCP_OAUTH_JWKS_URL`.
pub const JWKS_URL_ENV: &str = "MCP_OAUTH_JWKS_URL";
/// `MCP_OAUTH_SCOPES_SUPPORTED`.
pub const SCOPES_SUPPORTED_ENV: &str = "MCP_OAUTH_SCOPES_SUPPORTED";

const OAUTH_VARS: [&str; 4] = [ISSUER_ENV, AUDIENCE_ENV, JWKS_URL_ENV, SCOPES_SUPPORTED_ENV];

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Trust the front's IAM check (a Function URL with `AuthType AWS_IAM`).
    Iam,
    /// Check a bearer token on every request.
    OAuth(OAuthConfig),
}

/// The resource server's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The issuer URL, exactly as tokens carry it in `iss`.
    pub issuer: String,
    /// This endpoint's canonical URL: what `aud` must contain.
    pub audience: String,
    /// The key set's URL, when not the issuer metadata's `jwks_uri`.
    pub jwks_url: Option<String>,
    /// The scopes to publish, when not derived from the tools.
    pub scopes_supported: Option<Vec<String>>,
}

impl AuthMode {
    /// Reads the process environment.
    pub fn from_env() -> Result<AuthMode, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var` (tests pass a map).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<AuthMode, String> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mode = set(AUTH_ENV);
        match mode.as_deref().map(str::trim) {
            None | Some("iam") => {
                if let Some(name) = OAUTH_VARS.iter().find(|name| set(name).is_some()) {
                    return Err(format!(
                        "{name} is set but {AUTH_ENV} is not oauth: set {AUTH_ENV}=oauth to \
                         check bearer tokens, or unset the MCP_OAUTH_* variables to trust IAM"
                    ));
                }
                Ok(AuthMode::Iam)
            }
            Some("oauth") => {
                let required = |name: &str, what: &str| {
                    set(name).ok_or_else(|| format!("{AUTH_ENV}=oauth needs {name}: {what}"))
                };
                let issuer = required(ISSUER_ENV, "the issuer URL that tokens carry in `iss`")?;
                check_url(ISSUER_ENV, &issuer)?;
                let audience = required(
                    AUDIENCE_ENV,
                    "this endpoint's canonical URL, which tokens must name in `aud`",
                )?;
                check_url(AUDIENCE_ENV, &audience)?;
                let jwks_url = set(JWKS_URL_ENV);
                if let Some(url) = &jwks_url {
                    check_url(JWKS_URL_ENV, url)?;
                }
                let scopes_supported = set(SCOPES_SUPPORTED_ENV).map(|list| {
                    list.split([' ', ','])
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                });
                Ok(AuthMode::OAuth(OAuthConfig {
                    issuer,
                    audience,
                    jwks_url,
                    scopes_supported,
                }))
            }
            Some(other) => Err(format!("{AUTH_ENV}={other:?}: use iam or oauth")),
        }
    }
}

/// Whether `host` (no port, no brackets) is this machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An absolute `https` URL (or `http` on a loopback host), without a
/// fragment or query; the error names the variable.
pub fn check_url(name: &str, url: &str) -> Result<Uri, String> {
    let bad = |why: &str| format!("{name}={url:?}: {why}");
    let uri: Uri = url
        .parse()
        .map_err(|_| bad("not a URL (write it like https://issuer.example.com)"))?;
    let host = uri
        .host()
        .ok_or_else(|| bad("not an absolute URL with a host"))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback(host) => {}
        Some("http") => return Err(bad("must be https (http only on a loopback host)")),
        _ => return Err(bad("must be an https URL")),
    }
    if uri.query().is_some() {
        return Err(bad("must not have a query"));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn mode(vars: &[(&str, &str)]) -> Result<AuthMode, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AuthMode::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn iam_is_the_default() {
        assert_eq!(mode(&[]), Ok(AuthMode::Iam));
        assert_eq!(mode(&[(AUTH_ENV, "iam")]), Ok(AuthMode::Iam));
    }

    #[test]
    fn oauth_settings_are_read_and_checked() {
        let ok = mode(&[
            (AUTH_ENV, "oauth"),
            (ISSUER_ENV, "https://issuer.example.com"),
            (AUDIENCE_ENV, "https://api.example.com/prod/mcp"),
            (SCOPES_SUPPORTED_ENV, "mcp:read, mcp:write"),
        ]);
        let Ok(AuthMode::OAuth(config)) = ok else {
            panic!("{ok:?}")
        };
        assert_eq!(config.issuer, "https://issuer.example.com");
        assert_eq!(
            config.scopes_supported,
            Some(vec!["mcp:read".to_owned(), "mcp:write".to_owned()])
        );
        let local = mode(&[
            (AUTH_ENV, "oauth"),
            (ISSUER_ENV, "http://127.0.0.1:9000"),
            (AUDIENCE_ENV, "http://localhost:9001/mcp"),
        ]);
        assert!(local.is_ok(), "{local:?}");
    }

    #[test]
    fn a_missing_or_contradictory_setting_names_its_variable() {
        let cases: [(&[(&str, &str)], &str); 7] = [
            (&[(AUTH_ENV, "oauth")], ISSUER_ENV),
            (
                &[(AUTH_ENV, "oauth"), (ISSUER_ENV, "https://i.example")],
                AUDIENCE_ENV,
            ),
            (
                &[
                    (AUTH_ENV, "oauth"),
                    (ISSUER_ENV, "http://issuer.example.com"),
                    (AUDIENCE_ENV, "https://a.example/mcp"),
                ],
                ISSUER_ENV,
            ),
            (
                &[
                    (AUTH_ENV, "oauth"),
                    (ISSUER_ENV, "https://i.example"),
                    (AUDIENCE_ENV, "mcp"),
                ],
                AUDIENCE_ENV,
            ),
            (
                &[
                    (AUTH_ENV, "oauth"),
                    (ISSUER_ENV, "https://i.example"),
                    (AUDIENCE_ENV, "https://a.example/mcp"),
                    (JWKS_URL_ENV, "http://keys.example/jwks"),
                ],
                JWKS_URL_ENV,
            ),
            (&[(ISSUER_ENV, "https://i.example")], ISSUER_ENV),
            (&[(AUTH_ENV, "none")], AUTH_ENV),
        ];
        for (vars, named) in cases {
            let error = mode(vars).expect_err("refused");
            assert!(error.contains(named), "{vars:?}: {error}");
        }
    }
}
