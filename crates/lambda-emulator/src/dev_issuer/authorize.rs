//! The authorization endpoint: the authorization code grant with PKCE
//! (RFC 6749 section 4.1, RFC 7636, S256 only), approved at once by a
//! consent page that says it is a test double.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;
use url::Url;

use super::clients::{Client, is_loopback_http};
use super::{CODE_TTL_S, State, form, no_store, now, random_token, response_with};
use crate::lock;

/// How many codes may wait for their exchange at once.
const MAX_PENDING_CODES: usize = 1024;

/// An issued authorization code, waiting for its exchange.
#[derive(Debug, Clone)]
pub(super) struct PendingCode {
    pub(super) client_id: String,
    /// The `redirect_uri` parameter of the request, which the exchange must
    /// repeat (RFC 6749 section 4.1.3); `None` when it was left out.
    pub(super) redirect_uri: Option<String>,
    pub(super) code_challenge: String,
    pub(super) resource: Option<String>,
    pub(super) scope: String,
    expires_at: u64,
}

/// The codes issued and not yet redeemed.
#[derive(Debug, Default)]
pub(super) struct Codes(Mutex<HashMap<String, PendingCode>>);

impl Codes {
    fn insert(&self, code: String, pending: PendingCode) -> bool {
        let mut codes = lock(&self.0);
        let now = now();
        codes.retain(|_, c| c.expires_at > now);
        if codes.len() >= MAX_PENDING_CODES {
            return false;
        }
        codes.insert(code, pending);
        true
    }

    /// Takes a code out: whatever the exchange's outcome, a code is used
    /// once. `None` if it was never issued, was used, or has expired.
    pub(super) fn redeem(&self, code: &str) -> Option<PendingCode> {
        lock(&self.0).remove(code).filter(|c| c.expires_at > now())
    }
}

/// Whether `value` is a PKCE code challenge or verifier: 43 to 128
/// characters of `[A-Za-z0-9-._~]` (RFC 7636 section 4.1).
pub(super) fn pkce_shaped(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Whether a `resource` parameter is an absolute URI without a fragment
/// (RFC 8707 section 2).
pub(super) fn valid_resource(resource: &str) -> bool {
    Url::parse(resource).is_ok_and(|url| url.fragment().is_none())
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

const BANNER: &str = "LOCAL TEST DOUBLE: this is the lambda-emulator's development issuer. \
    It approves every request by itself, with no login, and must never guard anything real.";

/// An HTML page; scripts, frames and outside resources are refused.
fn html(status: StatusCode, title: &str, head: &str, body: &str) -> Response<Full<Bytes>> {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{head}\
         <title>{title}</title><style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}\
         .double{{background:#fff3cd;border:2px solid #b58100;padding:1em}}</style></head>\
         <body><h1>{title}</h1><p class=\"double\" id=\"test-double\">{banner}</p>{body}</body></html>\n",
        title = escape(title),
        banner = escape(BANNER),
    );
    let mut response = response_with(
        status,
        page,
        &[
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
    );
    no_store(&mut response);
    response
}

/// `GET /`: what this server is.
pub(super) fn about_page(issuer: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<p>Issuer <code>{}</code>. Its metadata is at \
         <code>/.well-known/oauth-authorization-server</code>.</p>",
        escape(issuer)
    );
    html(StatusCode::OK, "Development issuer", "", &body)
}

/// An error shown to the person at the browser, never sent to the client:
/// the client or its redirect URI could not be trusted (RFC 6749 section
/// 4.1.2.1).
fn error_page(error: &str, description: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<p id=\"error\"><strong>{}</strong>: {}</p><p>The browser was not sent back to the client.</p>",
        escape(error),
        escape(description)
    );
    html(StatusCode::BAD_REQUEST, "Authorization refused", "", &body)
}

/// The browser sent back to the client with `params` (RFC 6749 section
/// 4.1.2), by a page that says what happened: a 303 would hide that a test
/// double approved.
fn back_to_client(
    mut target: Url,
    params: &[(&str, &str)],
    title: &str,
    text: &str,
) -> Response<Full<Bytes>> {
    target.query_pairs_mut().extend_pairs(params);
    let href = escape(target.as_str());
    let head = format!("<meta http-equiv=\"refresh\" content=\"1;url={href}\">");
    let body = format!(
        "<p>{}</p><p>Returning to the client: <a id=\"continue\" href=\"{href}\">{}</a></p>",
        escape(text),
        escape(&format!(
            "{}://{}{}",
            target.scheme(),
            target.host_str().unwrap_or(""),
            target.path()
        )),
    );
    html(StatusCode::OK, title, &head, &body)
}

/// An authorization error sent back to the client (RFC 6749 section 4.1.2.1).
fn error_to_client(
    target: Url,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response<Full<Bytes>> {
    let mut params = vec![("error", error), ("error_description", description)];
    params.extend(state.map(|s| ("state", s)));
    let text = format!("The request was refused ({error}: {description}).");
    back_to_client(target, &params, "Authorization refused", &text)
}

/// What is wrong with an authorization request once its client and
/// redirect URI are known: the error and description sent back, or `None`.
fn refusal<'a>(
    client: &Client,
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Option<(&'static str, &'static str)> {
    if get("response_type") != Some("code") {
        return Some((
            "unsupported_response_type",
            "the only response_type is code",
        ));
    }
    if !client.may_use("authorization_code") {
        return Some((
            "unauthorized_client",
            "the client did not register for authorization_code",
        ));
    }
    let Some(challenge) = get("code_challenge") else {
        return Some((
            "invalid_request",
            "code_challenge is required (PKCE, RFC 7636)",
        ));
    };
    if get("code_challenge_method") != Some("S256") {
        return Some((
            "invalid_request",
            "code_challenge_method must be S256 (plain, or no method, is not supported)",
        ));
    }
    if !pkce_shaped(challenge) {
        return Some((
            "invalid_request",
            "code_challenge is not 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }
    if get("resource").is_some_and(|r| !valid_resource(r)) {
        return Some((
            "invalid_target",
            "resource must be an absolute URI without a fragment (RFC 8707)",
        ));
    }
    None
}

impl State {
    /// `GET /authorize`.
    pub(super) async fn authorize(&self, query: &str) -> Response<Full<Bytes>> {
        let params = match form(query.as_bytes()) {
            Ok(params) => params,
            Err(message) => return error_page("invalid_request", &message),
        };
        let get = |name: &str| params.get(name).map(String::as_str);
        let Some(client_id) = get("client_id") else {
            return error_page("invalid_request", "client_id is missing");
        };
        let client = match self.client(client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                let message = "this client_id was never registered here (POST /register first, \
                               or use the URL of a client ID metadata document)";
                return error_page("invalid_client", message);
            }
            Err(message) => return error_page("invalid_client", &message),
        };
        let target = match client.redirect_for(get("redirect_uri")) {
            Ok(target) => target,
            Err(message) => return error_page("invalid_request", &message),
        };
        // From here on the client is told, at its own redirect URI.
        let state = get("state");
        if let Some((error, description)) = refusal(&client, &get) {
            return error_to_client(target, state, error, description);
        }
        let (challenge, resource) = (get("code_challenge").unwrap_or_default(), get("resource"));
        let code = random_token();
        let pending = PendingCode {
            client_id: client.id.clone(),
            redirect_uri: get("redirect_uri").map(str::to_owned),
            code_challenge: challenge.to_owned(),
            resource: resource.map(str::to_owned),
            scope: get("scope").unwrap_or_default().to_owned(),
            expires_at: now() + CODE_TTL_S,
        };
        if !self.codes.insert(code.clone(), pending) {
            return error_to_client(
                target,
                state,
                "temporarily_unavailable",
                "too many codes are waiting for their exchange",
            );
        }
        let name = client.name.as_deref().unwrap_or("an unnamed client");
        let document = super::cimd::is_document_url(&client.id);
        let mut text = format!(
            "Approved automatically: {name} ({}{}) gets a code for scope \"{}\" on {}.",
            client.id,
            match document {
                true => ", as its client ID metadata document at that URL says",
                false => "",
            },
            get("scope").unwrap_or(""),
            resource.unwrap_or("the resource it names when it redeems the code"),
        );
        if document && is_loopback_http(&target) {
            // MCP's security considerations: warn of localhost redirect URIs,
            // which a metadata document cannot tie to its program.
            text.push_str(
                " Warning: the code goes to a program on this machine, and a metadata \
                 document cannot prove which program listens there.",
            );
        }
        let mut params = vec![("code", code.as_str())];
        params.extend(state.map(|s| ("state", s)));
        back_to_client(target, &params, "Approved (test double)", &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn pkce_values_have_rfc_7636_shape() {
        assert!(pkce_shaped(&"a".repeat(43)));
        assert!(pkce_shaped(&"A-._~9".repeat(20)));
        assert!(!pkce_shaped(&"a".repeat(42)));
        assert!(!pkce_shaped(&"a".repeat(129)));
        assert!(!pkce_shaped(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn a_code_is_redeemed_once_and_not_after_it_expires() {
        let codes = Codes::default();
        let pending = PendingCode {
            client_id: "c".into(),
            redirect_uri: None,
            code_challenge: "x".into(),
            resource: None,
            scope: String::new(),
            expires_at: now() + 60,
        };
        assert!(codes.insert("one".into(), pending.clone()));
        assert!(codes.redeem("one").is_some());
        assert!(codes.redeem("one").is_none(), "used twice");
        let expired = PendingCode {
            expires_at: now() - 1,
            ..pending
        };
        lock(&codes.0).insert("old".into(), expired);
        assert!(codes.redeem("old").is_none(), "expired");
    }
}
