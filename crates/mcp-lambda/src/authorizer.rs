//! The internet rung's API Gateway REQUEST authorizer, served by the same
//! function with the same resource server ([`mcp_oauth::ResourceServer`]).
//!
//! API Gateway REST renames a Lambda proxy integration's `WWW-Authenticate`
//! to `x-amzn-Remapped-WWW-Authenticate`, so the function's own 401 and 403
//! challenges never reach an OAuth client. The responses API Gateway makes
//! itself are not renamed: the stack's `UNAUTHORIZED` and `ACCESS_DENIED`
//! gateway responses carry the challenges, and this authorizer decides which
//! one a request gets:
//!
//! - no bearer token, or one that fails the resource server's checks
//!   (signature, issuer, audience, expiry): the error `Unauthorized`, which
//!   API Gateway answers with its `UNAUTHORIZED` gateway response (401);
//! - a valid token, on a request whose `Mcp-Method` / `Mcp-Name` headers
//!   (MCP 2026-07-28's standard headers, which clients send at every
//!   revision) name a tool the token lacks a scope for: a `Deny` policy,
//!   answered with the `ACCESS_DENIED` gateway response (403, the
//!   `insufficient_scope` step-up challenge);
//! - otherwise an `Allow` policy for exactly the method called.
//!
//! The headers only ever deny: the function checks the token again and the
//! scopes against the body it serves, so a header that lies gains nothing.
//! The issuer being unreachable is an authorizer failure (API Gateway's
//! 500), never an `Allow`.
//!
//! Sources: API Gateway developer guide, "Input to an API Gateway Lambda
//! authorizer" (the `REQUEST` event: `type`, `methodArn`, `headers`, ...) and
//! "Output from an API Gateway Lambda authorizer" (`principalId`,
//! `policyDocument`, `context` of string values; the error message
//! `Unauthorized` for a 401).

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use mcp_core::{Identity, Server};
use mcp_http::{Authenticator, RequestParts};
use mcp_oauth::ResourceServer;
use serde::Deserialize;
use serde_json::json;

use crate::runtime::Outcome;

/// The error message API Gateway answers with its `UNAUTHORIZED` gateway
/// response (any other error is an authorizer failure).
pub const UNAUTHORIZED: &str = "Unauthorized";

/// MCP's standard request headers (2026-07-28): the JSON-RPC method, and
/// the tool, resource or prompt it names.
pub const MCP_METHOD_HEADER: &str = "mcp-method";
/// See [`MCP_METHOD_HEADER`].
pub const MCP_NAME_HEADER: &str = "mcp-name";

/// A `REQUEST` authorizer's event: what the authorizer reads of it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerEvent {
    #[serde(rename = "type")]
    kind: String,
    method_arn: String,
    #[serde(default)]
    multi_value_headers: Option<std::collections::HashMap<String, Vec<String>>>,
    #[serde(default)]
    headers: Option<std::collections::HashMap<String, String>>,
    #[serde(default)]
    multi_value_query_string_parameters: Option<std::collections::HashMap<String, Vec<String>>>,
}

/// Only the two keys that tell an authorizer's event from a proxy event,
/// read without building the rest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a str>,
    #[serde(borrow, default)]
    method_arn: Option<&'a str>,
}

impl AuthorizerEvent {
    /// The event, when `event` is a `REQUEST` authorizer's; `None` for any
    /// other event (a proxy request is never read as one: it has no
    /// `methodArn`).
    pub fn parse(event: &[u8]) -> Option<Result<AuthorizerEvent, String>> {
        // Every proxy event of the internet rung passes here: most lack the
        // key's unescaped form anywhere, and are not parsed for it.
        memchr::memmem::find(event, b"\"methodArn\"")?;
        let probe: Probe<'_> = serde_json::from_slice(event).ok()?;
        probe.method_arn?;
        if probe.kind != Some("REQUEST") {
            return Some(Err(format!(
                "this function is a REQUEST authorizer; a {} authorizer's event is not served",
                probe.kind.unwrap_or("typeless")
            )));
        }
        Some(serde_json::from_slice(event).map_err(|e| format!("the authorizer event: {e}")))
    }

    /// The request's headers (API Gateway sends both maps; the multi-value
    /// one keeps repeated headers, which the token check refuses).
    fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut put = |name: &str, value: &str| {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.append(name, value);
            }
        };
        match (&self.multi_value_headers, &self.headers) {
            (Some(multi), _) => multi
                .iter()
                .for_each(|(k, vs)| vs.iter().for_each(|v| put(k, v))),
            (None, Some(single)) => single.iter().for_each(|(k, v)| put(k, v)),
            (None, None) => {}
        }
        map
    }

    /// The query string, as far as the token check looks at it.
    fn query(&self) -> Option<String> {
        let params = self.multi_value_query_string_parameters.as_ref()?;
        let pairs: Vec<String> = params
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}={v}")))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("&"))
    }
}

/// The authorizer's answer for `event`: a policy, or the error that makes
/// API Gateway answer 401. Never panics on input.
pub async fn authorize(server: &Server, oauth: &ResourceServer, event: AuthorizerEvent) -> Outcome {
    if event.kind != "REQUEST" {
        return Outcome::error("UnsupportedEvent", "not a REQUEST authorizer event");
    }
    let headers = event.header_map();
    let query = event.query();
    let parts = RequestParts {
        method: &Method::POST,
        path: "/",
        query: query.as_deref(),
        headers: &headers,
        body: &[],
        front_identity: None,
    };
    let identity = match oauth.authenticate(&parts).await {
        Ok(Some(identity)) => identity,
        Ok(None) => return Outcome::error(UNAUTHORIZED, UNAUTHORIZED),
        // The issuer could not be reached: fail, never allow.
        Err(refused) if refused.status.is_server_error() => {
            return Outcome::error("AuthorizerUnavailable", refused.message);
        }
        Err(refused) => {
            tracing::info!(status = %refused.status, reason = %refused.message, "authorizer: refused");
            return Outcome::error(UNAUTHORIZED, UNAUTHORIZED);
        }
    };
    let effect = match lacking(server, &headers, &identity) {
        Some((tool, missing)) => {
            tracing::info!(tool, ?missing, principal = %identity.principal, "authorizer: insufficient scope");
            "Deny"
        }
        None => "Allow",
    };
    let scopes = identity.scopes.as_deref().unwrap_or_default().join(" ");
    let answer = json!({
        "principalId": identity.principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": event.method_arn,
            }]
        },
        "context": {"scope": scopes},
    });
    Outcome::Response(serde_json::to_vec(&answer).unwrap_or_default())
}

/// The tool the request's headers name and the scopes `identity` lacks for
/// it; `None` when the headers name no tool call or the token suffices.
fn lacking<'s>(
    server: &'s Server,
    headers: &HeaderMap,
    identity: &Identity,
) -> Option<(&'s str, Vec<&'s str>)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header(MCP_METHOD_HEADER)? != "tools/call" {
        return None;
    }
    let tool = server.tools().definition(header(MCP_NAME_HEADER)?)?;
    let granted = identity.scopes.as_deref().unwrap_or_default();
    let missing = mcp_core::scopes::missing(&tool.required_scopes(), granted);
    (!missing.is_empty()).then_some((tool.name(), missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_authorizers_event_is_read_as_one() {
        let request = br#"{"type":"REQUEST","methodArn":"arn:aws:execute-api:eu-west-1:account:a/prod/POST/mcp","headers":{"authorization":"Bearer x"}}"#;
        let event = AuthorizerEvent::parse(request)
            .expect("an authorizer event")
            .expect("parses");
        assert_eq!(event.header_map()["authorization"], "Bearer x");
        // A proxy event whose body mentions the key is still a proxy event.
        let proxy = br#"{"resource":"/mcp","httpMethod":"POST","body":"{\"methodArn\":\"x\",\"type\":\"REQUEST\"}"}"#;
        assert!(AuthorizerEvent::parse(proxy).is_none());
        assert!(AuthorizerEvent::parse(b"not json").is_none());
        let token = br#"{"type":"TOKEN","methodArn":"a","authorizationToken":"x"}"#;
        assert!(matches!(AuthorizerEvent::parse(token), Some(Err(e)) if e.contains("TOKEN")));
    }
}
