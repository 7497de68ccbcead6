//! The token endpoint: `authorization_code` (with the PKCE check) and
//! `client_credentials`, each minting a token whose audience is the
//! `resource` asked for (RFC 8707).

use std::collections::HashMap;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::authorize::{pkce_shaped, valid_resource};
use super::clients::Caller;
use super::{
    Grant, LOCAL_USER, Refusal, State, TOKEN_TTL_S, content_type_is, form, no_store, oauth_error,
};
use crate::json_response;

type Reply = Response<Full<Bytes>>;

fn bad_request(error: &str, description: &str) -> Reply {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

/// Whether `verifier` hashes to `challenge` (RFC 7636 section 4.6, S256).
fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let digest = Sha256::digest(verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// The audience: the `resource` of the request, else `fallback` (the one
/// the code was issued for); RFC 8707's `invalid_target` without one, or
/// for one the code was not issued for.
fn audience(params: &HashMap<String, String>, fallback: Option<&str>) -> Result<String, Refusal> {
    let asked = params.get("resource").map(String::as_str);
    if asked.is_some_and(|r| !valid_resource(r)) {
        let message = "resource must be an absolute URI without a fragment (RFC 8707)";
        return Err(Refusal::bad_request("invalid_target", message));
    }
    match (asked, fallback) {
        (Some(asked), Some(granted)) if asked != granted => Err(Refusal::bad_request(
            "invalid_target",
            "resource differs from the one the code was issued for",
        )),
        (Some(resource), _) | (None, Some(resource)) => Ok(resource.to_owned()),
        (None, None) => Err(Refusal::bad_request(
            "invalid_target",
            "name the MCP endpoint the token is for: resource=<its URL> (RFC 8707)",
        )),
    }
}

impl State {
    /// `POST /token`.
    pub(super) async fn token(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        if !content_type_is(headers, "application/x-www-form-urlencoded") {
            let message = "send the token request as application/x-www-form-urlencoded";
            return bad_request("invalid_request", message);
        }
        let params = match form(body) {
            Ok(params) => params,
            Err(message) => return bad_request("invalid_request", &message),
        };
        let caller = match self.caller(headers, &params).await {
            Ok(caller) => caller,
            Err(refusal) => return refusal.into_response(),
        };
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_code(caller, &params),
            Some("client_credentials") => self.client_credentials(caller, &params),
            None => bad_request("invalid_request", "grant_type is missing"),
            Some(_) => bad_request(
                "unsupported_grant_type",
                "this development issuer grants authorization_code and client_credentials",
            ),
        }
    }

    /// The `client_credentials` grant: a registered client as registered;
    /// any other client id (or none, as `dev-client`) is taken at its word.
    fn client_credentials(&self, caller: Caller, params: &HashMap<String, String>) -> Reply {
        let client_id = match caller {
            Caller::Registered(client) if !client.may_use("client_credentials") => {
                let message = "this client did not register for client_credentials";
                return bad_request("unauthorized_client", message);
            }
            Caller::Registered(client) => client.id,
            Caller::Unregistered(id) => id,
            Caller::Anonymous => "dev-client".to_owned(),
        };
        let audience = match audience(params, params.get("audience").map(String::as_str)) {
            Ok(audience) => audience,
            Err(refusal) => return refusal.into_response(),
        };
        let grant = Grant {
            subject: client_id.clone(),
            audience,
            scope: params.get("scope").cloned().unwrap_or_default(),
        };
        self.token_response(&client_id, &client_id, &grant)
    }

    /// The `authorization_code` grant (RFC 6749 section 4.1.3, RFC 7636
    /// section 4.5).
    fn exchange_code(&self, caller: Caller, params: &HashMap<String, String>) -> Reply {
        let client = match caller {
            Caller::Registered(client) => client,
            Caller::Unregistered(_) | Caller::Anonymous => {
                let message = "the client is unknown: register it (POST /register) and name it";
                return Refusal::invalid_client(message).into_response();
            }
        };
        let Some(code) = params.get("code") else {
            return bad_request("invalid_request", "code is missing");
        };
        let Some(pending) = self.codes.redeem(code) else {
            return bad_request(
                "invalid_grant",
                "the code is unknown, used already or expired",
            );
        };
        if pending.client_id != client.id {
            return bad_request("invalid_grant", "the code was issued to another client");
        }
        if pending.redirect_uri.is_some()
            && params.get("redirect_uri") != pending.redirect_uri.as_ref()
        {
            let message =
                "redirect_uri must repeat the authorization request's (RFC 6749 section 4.1.3)";
            return bad_request("invalid_grant", message);
        }
        let Some(verifier) = params.get("code_verifier") else {
            return bad_request(
                "invalid_request",
                "code_verifier is required (PKCE, RFC 7636)",
            );
        };
        if !pkce_shaped(verifier) || !verifier_matches(verifier, &pending.code_challenge) {
            return bad_request(
                "invalid_grant",
                "code_verifier does not match the code_challenge",
            );
        }
        let audience = match audience(params, pending.resource.as_deref()) {
            Ok(audience) => audience,
            Err(refusal) => return refusal.into_response(),
        };
        let grant = Grant {
            subject: LOCAL_USER.to_owned(),
            audience,
            scope: pending.scope,
        };
        self.token_response(LOCAL_USER, &client.id, &grant)
    }

    /// RFC 6749 section 5.1's answer, never cached.
    fn token_response(&self, subject: &str, client_id: &str, grant: &Grant) -> Reply {
        match self.mint(subject, client_id, grant) {
            Ok(token) => {
                let body = json!({
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": TOKEN_TTL_S,
                    "scope": grant.scope,
                });
                let mut response = json_response(StatusCode::OK, body.to_string());
                no_store(&mut response);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_check_is_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verifier_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verifier_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
    }

    #[test]
    fn the_audience_is_the_resource_and_a_code_is_bound_to_its_own() {
        let params = |r: &str| HashMap::from([("resource".to_owned(), r.to_owned())]);
        let ok = audience(
            &params("http://127.0.0.1:1/local/mcp"),
            Some("http://127.0.0.1:1/local/mcp"),
        );
        assert_eq!(ok.ok().as_deref(), Some("http://127.0.0.1:1/local/mcp"));
        assert!(
            audience(
                &params("http://127.0.0.1:1/other"),
                Some("http://127.0.0.1:1/local/mcp")
            )
            .is_err()
        );
        assert!(audience(&params("not a uri"), None).is_err());
        assert!(audience(&HashMap::new(), None).is_err());
        assert_eq!(
            audience(&HashMap::new(), Some("urn:x")).ok().as_deref(),
            Some("urn:x")
        );
    }
}
