//! Registered clients: dynamic client registration (RFC 7591), which the
//! MCP Python SDK and the MCP Inspector use when an authorization server
//! offers it, the redirect URIs a client may be sent back to, and client
//! authentication at the token endpoint (RFC 6749 section 2.3).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq as _;
use url::{Host, Url};

use super::{Refusal, State, content_type_is, no_store, now, oauth_error, random_token};
use crate::{json_response, lock};

/// How many clients one run keeps (the oldest goes first).
const MAX_CLIENTS: usize = 1024;
/// How many redirect URIs one client may register.
const MAX_REDIRECT_URIS: usize = 16;
/// The longest `client_name` kept.
const MAX_NAME_CHARS: usize = 200;
/// The grants a client may register for (others asked for, such as
/// `refresh_token`, are left out of the registration: RFC 7591 section
/// 3.2.1 lets the server replace requested values).
const GRANTS: [&str; 2] = ["authorization_code", "client_credentials"];

/// The clients registered in this run.
#[derive(Debug, Default)]
pub(super) struct Registry(Mutex<HashMap<String, Client>>);

impl Registry {
    pub(super) fn get(&self, id: &str) -> Option<Client> {
        lock(&self.0).get(id).cloned()
    }

    fn insert(&self, client: Client) {
        let mut clients = lock(&self.0);
        if clients.len() >= MAX_CLIENTS {
            let oldest = clients
                .values()
                .min_by_key(|c| c.issued_at)
                .map(|c| c.id.clone());
            if let Some(oldest) = oldest {
                clients.remove(&oldest);
            }
        }
        clients.insert(client.id.clone(), client);
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMethod {
    None,
    SecretBasic,
    SecretPost,
}

impl AuthMethod {
    fn parse(name: &str) -> Option<AuthMethod> {
        match name {
            "none" => Some(AuthMethod::None),
            "client_secret_basic" => Some(AuthMethod::SecretBasic),
            "client_secret_post" => Some(AuthMethod::SecretPost),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::SecretBasic => "client_secret_basic",
            AuthMethod::SecretPost => "client_secret_post",
        }
    }
}

/// One registered client.
#[derive(Debug, Clone)]
pub(super) struct Client {
    pub(super) id: String,
    secret: Option<String>,
    auth_method: AuthMethod,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    pub(super) name: Option<String>,
    scope: Option<String>,
    issued_at: u64,
    /// Whether a redirect URI must equal a registered one exactly (a Client
    /// ID Metadata Document's, whose draft asks for simple string
    /// comparison), not also a loopback one on another port.
    exact_redirects: bool,
}

/// An RFC 7591 error: its code and description.
type MetadataError = (&'static str, String);

/// A member of the client metadata that is a string, if present.
fn text(metadata: &Map<String, Value>, name: &str) -> Result<Option<String>, MetadataError> {
    match metadata.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(("invalid_client_metadata", format!("{name} is not a string"))),
    }
}

/// A member of the client metadata that is an array of strings, if present.
fn strings(
    metadata: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, MetadataError> {
    let not_strings = || {
        let message = format!("{name} is not an array of strings");
        ("invalid_client_metadata", message)
    };
    match metadata.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(not_strings))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(not_strings()),
    }
}

/// Whether `url` is `http` on a loopback host (RFC 8252 section 7.3).
pub(super) fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(address)) => address.is_loopback(),
            Some(Host::Ipv6(address)) => address.is_loopback(),
            None => false,
        }
}

/// A redirect URI a client may register: absolute, without a fragment
/// (RFC 6749 section 3.1.2), and `https` or `http` on a loopback host.
fn registrable(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URL ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment (RFC 6749 section 3.1.2)"));
    }
    if url.scheme() == "https" || is_loopback_http(&url) {
        return Ok(url);
    }
    Err(format!(
        "{uri:?} is neither https nor http on a loopback host (127.0.0.1, [::1], localhost)"
    ))
}

impl Client {
    /// A client from its registration metadata (RFC 7591 section 2).
    fn from_metadata(metadata: &Map<String, Value>) -> Result<Client, MetadataError> {
        let invalid = |message: &str| ("invalid_client_metadata", message.to_owned());
        let auth_method = match text(metadata, "token_endpoint_auth_method")? {
            // RFC 7591 section 2: the default is client_secret_basic.
            None => AuthMethod::SecretBasic,
            Some(name) => AuthMethod::parse(&name).ok_or_else(|| {
                invalid("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
            })?,
        };
        let requested = strings(metadata, "grant_types")?
            .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
        let mut grant_types: Vec<String> = GRANTS
            .iter()
            .filter(|g| requested.iter().any(|r| r == *g))
            .map(|g| (*g).to_owned())
            .collect();
        if auth_method == AuthMethod::None {
            // A public client cannot use client_credentials (RFC 6749 section 4.4).
            grant_types.retain(|g| g != "client_credentials");
        }
        if grant_types.is_empty() {
            return Err(invalid(
                "no grant type this issuer supports for such a client: authorization_code, and client_credentials for a client with a secret",
            ));
        }
        let response_types = strings(metadata, "response_types")?;
        if response_types.is_some_and(|types| types.iter().any(|t| t != "code")) {
            return Err(invalid("the only response type supported is code"));
        }
        let redirect_uris = redirect_uris(metadata, &grant_types)?;
        let name = text(metadata, "client_name")?;
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
        {
            return Err(invalid("client_name is longer than 200 characters"));
        }
        Ok(Client {
            id: random_token(),
            secret: (auth_method != AuthMethod::None).then(random_token),
            auth_method,
            redirect_uris,
            grant_types,
            name,
            scope: text(metadata, "scope")?,
            issued_at: now(),
            exact_redirects: false,
        })
    }

    /// A client from its Client ID Metadata Document, whose `client_id` is
    /// `id`: a public client (the draft forbids shared secrets: no
    /// `client_secret`, no `client_secret_*` auth method; this issuer
    /// supports no other than `none`, which is also what an absent one
    /// means here), with the `client_name` MCP requires, and the redirect
    /// URIs it lists matched exactly. An error is an `invalid_client`
    /// description.
    pub(super) fn from_document(id: &str, document: &Map<String, Value>) -> Result<Client, String> {
        let refuse = |why: &str| Err(format!("the metadata document of {id} {why}"));
        if document.contains_key("client_secret")
            || document.contains_key("client_secret_expires_at")
        {
            return refuse("has a client secret, which a metadata document must not have");
        }
        match text(document, "token_endpoint_auth_method")
            .map_err(|(_, why)| why)?
            .as_deref()
        {
            None | Some("none") => {}
            Some(method) if method.starts_with("client_secret") => {
                return refuse(&format!(
                    "names {method}: a shared secret is not possible with a metadata document"
                ));
            }
            Some(method) => {
                return refuse(&format!(
                    "names {method}: this development issuer supports only none (PKCE)"
                ));
            }
        }
        if text(document, "client_name")
            .map_err(|(_, why)| why)?
            .is_none()
        {
            return refuse(
                "has no client_name (MCP requires client_id, client_name and redirect_uris)",
            );
        }
        let mut metadata = document.clone();
        metadata.insert("token_endpoint_auth_method".into(), json!("none"));
        let client = Client::from_metadata(&metadata)
            .map_err(|(_, why)| format!("the metadata document of {id} is not valid: {why}"))?;
        Ok(Client {
            id: id.to_owned(),
            exact_redirects: true,
            ..client
        })
    }

    /// The client information response (RFC 7591 section 3.2.1).
    fn information(&self) -> Value {
        let mut info = json!({
            "client_id": self.id,
            "client_id_issued_at": self.issued_at,
            "redirect_uris": self.redirect_uris,
            "grant_types": self.grant_types,
            "response_types": ["code"],
            "token_endpoint_auth_method": self.auth_method.as_str(),
        });
        if let Some(secret) = &self.secret {
            info["client_secret"] = json!(secret);
            info["client_secret_expires_at"] = json!(0);
        }
        if let Some(name) = &self.name {
            info["client_name"] = json!(name);
        }
        if let Some(scope) = &self.scope {
            info["scope"] = json!(scope);
        }
        info
    }

    /// Whether the client registered for `grant`.
    pub(super) fn may_use(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// The redirect URI to send the browser back to: the one asked for if
    /// it is registered (for a loopback `http` URI, on any port: RFC 8252
    /// section 7.3), or the only one registered when none is asked for.
    pub(super) fn redirect_for(&self, asked: Option<&str>) -> Result<Url, String> {
        let Some(asked) = asked else {
            return match self.redirect_uris.as_slice() {
                [only] => Url::parse(only).map_err(|e| e.to_string()),
                _ => Err("redirect_uri is required: the client registered several".to_owned()),
            };
        };
        let not_registered = || format!("redirect_uri {asked:?} is not registered for this client");
        let url = Url::parse(asked).map_err(|_| not_registered())?;
        let matches = |registered: &String| {
            if registered == asked {
                return true;
            }
            if self.exact_redirects {
                return false;
            }
            let Ok(mut registered) = Url::parse(registered) else {
                return false;
            };
            if !(is_loopback_http(&registered) && is_loopback_http(&url)) {
                return false;
            }
            // The port of a loopback redirect URI is the client's to choose.
            registered.set_port(url.port()).is_ok() && registered == url
        };
        match self.redirect_uris.iter().any(matches) {
            true => Ok(url),
            false => Err(not_registered()),
        }
    }
}

/// The redirect URIs of a registration: required for the authorization
/// code grant, each one [`registrable`].
fn redirect_uris(
    metadata: &Map<String, Value>,
    grants: &[String],
) -> Result<Vec<String>, MetadataError> {
    let invalid = |message: String| ("invalid_redirect_uri", message);
    let uris = strings(metadata, "redirect_uris")?.unwrap_or_default();
    if uris.is_empty() && grants.iter().any(|g| g == "authorization_code") {
        return Err(invalid(
            "redirect_uris is required for the authorization_code grant".to_owned(),
        ));
    }
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid(format!(
            "at most {MAX_REDIRECT_URIS} redirect URIs"
        )));
    }
    for uri in &uris {
        registrable(uri).map_err(invalid)?;
    }
    Ok(uris)
}

/// Who asks at the token endpoint.
#[derive(Debug)]
pub(super) enum Caller {
    /// A registered client that proved who it is (its secret, or none for a
    /// public client).
    Registered(Client),
    /// A client id this issuer never registered (client credentials only).
    Unregistered(String),
    /// No client id at all.
    Anonymous,
}

/// `Authorization: Basic` credentials (RFC 6749 section 2.3.1: both parts
/// form-encoded); `Ok(None)` without such a header.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ())?;
    let text = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = text.split_once(':').ok_or(())?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}

impl State {
    /// The client `id` names: one registered here, or one whose Client ID
    /// Metadata Document is fetched now (`id` an `https` URL); `Ok(None)`
    /// for an id never registered, `Err` (an `invalid_client` description)
    /// for a document that cannot be had or used.
    pub(super) async fn client(&self, id: &str) -> Result<Option<Client>, String> {
        if !super::cimd::is_document_url(id) {
            return Ok(self.clients.get(id));
        }
        let client = self.documents.client(id).await;
        match &client {
            Ok(client) => {
                tracing::info!(client_id = %client.id, name = ?client.name, "fetched a client ID metadata document")
            }
            Err(why) => {
                tracing::info!(client_id = %id, "refused a client ID metadata document: {why}")
            }
        }
        client.map(Some)
    }

    /// `POST /register`.
    pub(super) fn register(&self, headers: &HeaderMap, body: &[u8]) -> Response<Full<Bytes>> {
        let refuse = |(error, description): MetadataError| {
            oauth_error(StatusCode::BAD_REQUEST, error, &description)
        };
        if !content_type_is(headers, "application/json") {
            let message = "send the client metadata as application/json (RFC 7591 section 3.1)";
            return refuse(("invalid_client_metadata", message.to_owned()));
        }
        let metadata = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(metadata)) => metadata,
            _ => {
                return refuse((
                    "invalid_client_metadata",
                    "the body is not a JSON object".to_owned(),
                ));
            }
        };
        let client = match Client::from_metadata(&metadata) {
            Ok(client) => client,
            Err(error) => return refuse(error),
        };
        let mut response = json_response(StatusCode::CREATED, client.information().to_string());
        no_store(&mut response);
        tracing::info!(client_id = %client.id, name = ?client.name, "registered a client");
        self.clients.insert(client);
        response
    }

    /// Who is asking at the token endpoint (RFC 6749 section 2.3): a
    /// registered client must prove it; an error response otherwise.
    pub(super) async fn caller(
        &self,
        headers: &HeaderMap,
        params: &HashMap<String, String>,
    ) -> Result<Caller, Refusal> {
        let basic = basic_credentials(headers).map_err(|()| {
            Refusal::invalid_client("the Authorization header is not valid Basic credentials")
        })?;
        let posted_secret = params.get("client_secret").cloned();
        let (id, secret) = match basic {
            Some(_) if posted_secret.is_some() => {
                let message = "authenticate the client one way: Basic or client_secret, not both";
                return Err(Refusal::bad_request("invalid_request", message));
            }
            Some((id, secret)) => {
                if params.get("client_id").is_some_and(|posted| *posted != id) {
                    return Err(Refusal::invalid_client(
                        "client_id differs from the Basic credentials",
                    ));
                }
                (Some(id), Some(secret))
            }
            None => (params.get("client_id").cloned(), posted_secret),
        };
        let Some(id) = id else {
            return Ok(Caller::Anonymous);
        };
        let Some(client) = self.client(&id).await.map_err(Refusal::invalid_client)? else {
            return Ok(Caller::Unregistered(id));
        };
        match (&client.secret, secret) {
            (None, None) => Ok(Caller::Registered(client)),
            (Some(expected), Some(given))
                if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) =>
            {
                Ok(Caller::Registered(client))
            }
            (None, Some(_)) => Err(Refusal::invalid_client(
                "this client is public: it has no secret",
            )),
            _ => Err(Refusal::invalid_client(
                "the client secret is missing or wrong",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(metadata: Value) -> Result<Client, MetadataError> {
        Client::from_metadata(metadata.as_object().unwrap())
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        for uri in [
            "http://127.0.0.1:9/cb",
            "http://localhost/cb",
            "http://[::1]:7/cb",
            "https://app.example.com/cb",
        ] {
            assert!(registrable(uri).is_ok(), "{uri}");
        }
        for uri in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "javascript:alert(1)",
            "/relative",
        ] {
            assert!(registrable(uri).is_err(), "{uri}");
        }
    }

    #[test]
    fn a_loopback_redirect_matches_on_any_port_and_nothing_else_does() {
        let c = client(
            json!({"redirect_uris": ["http://127.0.0.1:5000/cb", "https://app.example.com/cb"]}),
        )
        .unwrap();
        assert!(c.redirect_for(Some("http://127.0.0.1:6000/cb")).is_ok());
        assert!(c.redirect_for(Some("https://app.example.com/cb")).is_ok());
        assert!(c.redirect_for(Some("http://127.0.0.1:6000/other")).is_err());
        assert!(
            c.redirect_for(Some("https://app.example.com:444/cb"))
                .is_err()
        );
        assert!(c.redirect_for(Some("https://evil.example.com/cb")).is_err());
        assert!(c.redirect_for(None).is_err(), "two are registered");
    }

    #[test]
    fn a_metadata_document_makes_a_public_client_with_exact_redirects() {
        let id = "https://app.example.com/client.json";
        let document = |extra: Value| {
            let mut doc = json!({"client_id": id, "client_name": "App", "redirect_uris": ["http://127.0.0.1:5000/cb"]});
            doc.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            Client::from_document(id, doc.as_object().unwrap())
        };
        let c = document(json!({})).unwrap();
        assert_eq!(
            (c.id.as_str(), c.auth_method, c.secret.is_none()),
            (id, AuthMethod::None, true)
        );
        assert!(c.redirect_for(Some("http://127.0.0.1:5000/cb")).is_ok());
        assert!(
            c.redirect_for(Some("http://127.0.0.1:6000/cb")).is_err(),
            "exact, port included"
        );
        assert!(!c.may_use("client_credentials"));
        for bad in [
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            json!({"client_secret": "s"}),
            json!({"client_name": null}),
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
        ] {
            assert!(document(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn registration_defaults_and_refusals_follow_rfc_7591() {
        let c = client(json!({"redirect_uris": ["http://localhost/cb"], "grant_types": ["authorization_code", "refresh_token"]})).unwrap();
        assert_eq!(c.auth_method, AuthMethod::SecretBasic);
        assert!(c.secret.is_some());
        assert_eq!(c.grant_types, ["authorization_code"]);
        let public = client(
            json!({"redirect_uris": ["http://localhost/cb"], "token_endpoint_auth_method": "none"}),
        )
        .unwrap();
        assert!(public.secret.is_none());
        assert_eq!(client(json!({})).unwrap_err().0, "invalid_redirect_uri");
        assert_eq!(
            client(json!({"redirect_uris": "x"})).unwrap_err().0,
            "invalid_client_metadata"
        );
        assert_eq!(
            client(json!({"grant_types": ["implicit"], "redirect_uris": ["http://localhost/cb"]}))
                .unwrap_err()
                .0,
            "invalid_client_metadata"
        );
        assert_eq!(
            client(
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"})
            )
            .unwrap_err()
            .0,
            "invalid_client_metadata"
        );
    }
}
