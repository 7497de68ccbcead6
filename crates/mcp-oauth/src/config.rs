//! The resource server's settings, from the function's
//! ([`mcp_settings::FunctionSettings`]): with [`AuthMode::OAuth`], the
//! issuer ([`Setting::OAuthIssuer`]: a token's `iss` must equal it exactly),
//! the audience ([`Setting::OAuthAudience`]: this endpoint's canonical URL,
//! which a token's `aud` must contain), optionally the key set's URL
//! ([`Setting::OAuthJwksUrl`], instead of the `jwks_uri` of the issuer's
//! metadata), the scopes to publish ([`Setting::OAuthScopesSupported`],
//! space- or comma-separated) and the key set's maximum age
//! ([`Setting::OAuthJwksMaxAgeS`]).
//!
//! Every URL is `https`, except on a loopback host (local development). A
//! missing or contradictory setting is an error that names the variable: the
//! function never starts open.

use http::Uri;
use mcp_settings::{AuthMode, FunctionSettings, Setting, SettingsError};

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
    /// How old the key set may be before it is fetched again
    /// ([`Setting::OAuthJwksMaxAgeS`]; default [`crate::DEFAULT_MAX_AGE`]).
    pub jwks_max_age: std::time::Duration,
}

/// Why the resource server's settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A setting is missing or contradicts another.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A URL is not one the server may use.
    #[error(transparent)]
    Url(#[from] UrlError),
}

impl OAuthConfig {
    /// The resource server's settings when `settings` ask for bearer tokens
    /// ([`AuthMode::OAuth`]), checked; `None` when they trust IAM.
    pub fn from_settings(settings: &FunctionSettings) -> Result<Option<OAuthConfig>, ConfigError> {
        if settings.auth != AuthMode::OAuth {
            return Ok(None);
        }
        let oauth = &settings.oauth;
        let (issuer, audience) = oauth.required()?;
        check_url(Setting::OAuthIssuer.name(), issuer)?;
        check_url(Setting::OAuthAudience.name(), audience)?;
        if let Some(url) = &oauth.jwks_url {
            check_url(Setting::OAuthJwksUrl.name(), url)?;
        }
        let scopes_supported = oauth.scopes_supported.as_ref().map(|list| {
            list.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Ok(Some(OAuthConfig {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_url: oauth.jwks_url.clone(),
            scopes_supported,
            jwks_max_age: oauth
                .jwks_max_age_s
                .map_or(crate::DEFAULT_MAX_AGE, std::time::Duration::from_secs),
        }))
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

/// A URL the server may not use; the message names the setting or flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={url:?}: {why}")]
pub struct UrlError {
    /// The setting or flag that gave the URL.
    pub name: String,
    /// The URL.
    pub url: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// An absolute `https` URL (or `http` on a loopback host), without a
/// fragment or query; the error names the variable.
pub fn check_url(name: &str, url: &str) -> Result<Uri, UrlError> {
    let bad = |why| UrlError {
        name: name.to_owned(),
        url: url.to_owned(),
        why,
    };
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

    fn config(vars: &[(&str, &str)]) -> Result<Option<OAuthConfig>, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let settings = FunctionSettings::from_lookup(|name| vars.get(name).cloned())
            .map_err(|e| e.to_string())?;
        OAuthConfig::from_settings(&settings).map_err(|e| e.to_string())
    }

    const AUTH: &str = Setting::Auth.name();
    const ISSUER: &str = Setting::OAuthIssuer.name();
    const AUDIENCE: &str = Setting::OAuthAudience.name();
    const JWKS_URL: &str = Setting::OAuthJwksUrl.name();

    #[test]
    fn iam_is_the_default() {
        assert_eq!(config(&[]), Ok(None));
        assert_eq!(config(&[(AUTH, "iam")]), Ok(None));
    }

    #[test]
    fn oauth_settings_are_read_and_checked() {
        let ok = config(&[
            (AUTH, "oauth"),
            (ISSUER, "https://issuer.example.com"),
            (AUDIENCE, "https://api.example.com/prod/mcp"),
            (Setting::OAuthScopesSupported.name(), "mcp:read, mcp:write"),
        ]);
        let Ok(Some(config)) = ok else {
            panic!("{ok:?}")
        };
        assert_eq!(config.issuer, "https://issuer.example.com");
        assert_eq!(
            config.scopes_supported,
            Some(vec!["mcp:read".to_owned(), "mcp:write".to_owned()])
        );
        let local = self::config(&[
            (AUTH, "oauth"),
            (ISSUER, "http://127.0.0.1:9000"),
            (AUDIENCE, "http://localhost:9001/mcp"),
        ]);
        assert!(local.is_ok(), "{local:?}");
    }

    #[test]
    fn a_missing_or_contradictory_setting_names_its_variable() {
        let cases: [(&[(&str, &str)], &str); 7] = [
            (&[(AUTH, "oauth")], ISSUER),
            (&[(AUTH, "oauth"), (ISSUER, "https://i.example")], AUDIENCE),
            (
                &[
                    (AUTH, "oauth"),
                    (ISSUER, "http://issuer.example.com"),
                    (AUDIENCE, "https://a.example/mcp"),
                ],
                ISSUER,
            ),
            (
                &[
                    (AUTH, "oauth"),
                    (ISSUER, "https://i.example"),
                    (AUDIENCE, "mcp"),
                ],
                AUDIENCE,
            ),
            (
                &[
                    (AUTH, "oauth"),
                    (ISSUER, "https://i.example"),
                    (AUDIENCE, "https://a.example/mcp"),
                    (JWKS_URL, "http://keys.example/jwks"),
                ],
                JWKS_URL,
            ),
            (&[(ISSUER, "https://i.example")], ISSUER),
            (&[(AUTH, "none")], AUTH),
        ];
        for (vars, named) in cases {
            let error = config(vars).expect_err("refused");
            assert!(error.contains(named), "{vars:?}: {error}");
        }
    }
}
