//! A local API Gateway REST API in front of the function: the internet-facing
//! rung's front, as the deploy CLI's stack builds it.
//!
//! URLs are `http://127.0.0.1:PORT/<stage>/<resource>`, with the resources
//! the stack defines - `/mcp` (any method), and `GET` on
//! `/.well-known/oauth-protected-resource` and
//! `/.well-known/oauth-protected-resource/mcp` - each a Lambda proxy
//! integration: a payload format 1.0 event with every header passed through
//! (`Authorization` included), no SigV4. With the stack's template, the
//! methods it guards go through its Lambda authorizer and API Gateway's own
//! refusals are its gateway responses ([`crate::api_edge`]); a function's
//! `WWW-Authenticate` reaches the client renamed ([`REMAPPED`]). Anything
//! else is API Gateway's 403 `Missing Authentication Token`.
//!
//! The integration's response transfer mode is the deployed one's
//! (`ResponseTransferMode`, docs: apigateway developerguide
//! `response-transfer-mode.html` and `response-transfer-mode-lambda.html`):
//! - `BUFFERED`: the function's Lambda proxy response is read whole; after
//!   29 s API Gateway answers 504 ([`INTEGRATION_TIMEOUT`]).
//! - `STREAM`: the function is invoked with its response streamed
//!   (`InvokeWithResponseStream`, the integration URI's
//!   `2021-11-15/functions/<arn>/response-streaming-invocations`); it writes
//!   a JSON prelude (`statusCode`, `headers` with single values,
//!   `multiValueHeaders` with arrays, `cookies`), eight NUL bytes, then the
//!   body, which goes to the client as it comes. A stream may last 15
//!   minutes ([`STREAM_LIMIT`]) and go 5 minutes without data
//!   ([`STREAM_IDLE`], a regional API's); a prelude that is not JSON with a
//!   status is a 502, and a stream the function ends with an error (its
//!   trailers, or its timeout) ends in error.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use mcp_settings::TransferMode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::api_edge::{ApiEdge, Decision};
use crate::function_url::whole;
use crate::json_response;
use crate::runtime::{Function, InvokeError};
use crate::stream::{Limits, Started, StreamBody};
use crate::waf::WebAcl;

/// The MCP resource.
pub const MCP_RESOURCE: &str = "/mcp";
/// The metadata resources (GET only).
pub const METADATA_RESOURCES: [&str; 2] = [
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/mcp",
];

/// API Gateway's payload limit.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// How long API Gateway waits for a buffered integration before it answers
/// 504 (the default maximum integration timeout; more only for regional
/// APIs after a quota increase).
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// How long a streamed response may last, the prelude included.
pub const STREAM_LIMIT: Duration = Duration::from_secs(15 * 60);
/// How long a streamed response may go without data (regional and private
/// APIs; edge-optimized ones allow 30 s).
pub const STREAM_IDLE: Duration = Duration::from_secs(5 * 60);

/// The REST API of one function.
#[derive(Debug)]
pub struct RestApi {
    /// The function behind every resource.
    pub function: Arc<Function>,
    /// The stage name, the URL's first path segment.
    pub stage: String,
    /// The API's id (in events and logs).
    pub api_id: String,
    /// The web ACL associated with the stage: it decides before API
    /// Gateway routes anything.
    pub web_acl: Option<Arc<WebAcl>>,
    /// The integration's timeout ([`INTEGRATION_TIMEOUT`] at most).
    pub integration_timeout: Duration,
    /// The template's Lambda authorizer and gateway responses, if any.
    pub edge: Option<Arc<ApiEdge>>,
    /// The integration's `ResponseTransferMode`.
    pub transfer_mode: TransferMode,
}

/// The response headers API Gateway renames when a Lambda proxy integration
/// returns them: `WWW-Authenticate` reaches the client as
/// `x-amzn-Remapped-WWW-Authenticate` (reported for REST proxy integrations,
/// forum.serverless.com "HTTP basic auth with Lambda + API Gateway", and
/// in 2026 for Function URLs; DESIGN.md "Against real AWS (2)"). Only the
/// responses API Gateway makes itself (gateway responses) carry the header.
pub const REMAPPED: [(&str, &str); 1] = [("www-authenticate", "x-amzn-remapped-www-authenticate")];

/// Renames the [`REMAPPED`] headers of a function's response as AWS does.
pub fn remap(headers: &mut http::HeaderMap) {
    for (name, renamed) in REMAPPED {
        if let http::header::Entry::Occupied(entry) = headers.entry(name) {
            let values: Vec<HeaderValue> = entry.remove_entry_mult().1.collect();
            let renamed = http::HeaderName::from_static(renamed);
            for value in values {
                headers.append(renamed.clone(), value);
            }
        }
    }
}

fn api_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = json_response(status, json!({"message": message}).to_string());
    let error_type = match status {
        StatusCode::FORBIDDEN => "MissingAuthenticationTokenException",
        StatusCode::GATEWAY_TIMEOUT => "IntegrationTimeout",
        StatusCode::TOO_MANY_REQUESTS => "ThrottlingException",
        _ => "InternalServerErrorException",
    };
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    response
}

impl RestApi {
    /// The resource a request's stage-relative path and method match.
    fn route(method: &Method, path: &str) -> Option<&'static str> {
        if path == MCP_RESOURCE {
            return Some(MCP_RESOURCE);
        }
        METADATA_RESOURCES
            .into_iter()
            .find(|r| *r == path)
            .filter(|_| matches!(*method, Method::GET | Method::HEAD))
    }

    /// Serves one HTTP request.
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<StreamBody> {
        let (parts, body) = req.into_parts();
        if let Some(blocked) = self
            .web_acl
            .as_ref()
            .and_then(|acl| acl.check(&parts.headers, parts.uri.path(), peer.ip()))
        {
            tracing::info!(rule = blocked.rule, "the web ACL blocked a request");
            return whole(blocked.response);
        }
        let stage_prefix = format!("/{}", self.stage);
        let full_path = parts.uri.path().to_owned();
        let resource = full_path
            .strip_prefix(&stage_prefix)
            .and_then(|path| Self::route(&parts.method, path).map(|r| (path, r)));
        let Some((path, resource)) = resource else {
            return whole(api_error(
                StatusCode::FORBIDDEN,
                "Missing Authentication Token",
            ));
        };
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return whole(api_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long"));
            }
        };
        let authorizer = match &self.edge {
            Some(edge) => {
                let arn = self.method_arn(&parts.method, resource);
                let event = self.authorizer_event(&parts, path, resource, &arn, peer);
                let invoke = || self.invoke_authorizer(event);
                match edge.authorize(resource, &parts, &arn, invoke).await {
                    Decision::Open => None,
                    Decision::Allowed(context) => Some(context),
                    Decision::Refused(response) => return whole(response),
                }
            }
            None => None,
        };
        let mut event = self.event(&parts, path, resource, &body, peer);
        if let Some(context) = authorizer {
            event["requestContext"]["authorizer"] = context;
        }
        let event = Bytes::from(event.to_string());
        match self.transfer_mode {
            TransferMode::Stream => self.streamed(event).await,
            TransferMode::Buffered => whole(self.buffered(event).await),
        }
    }

    /// `ResponseTransferMode: BUFFERED`: the whole proxy response, or 504
    /// after the integration timeout.
    async fn buffered(&self, event: Bytes) -> Response<Full<Bytes>> {
        let invoked = self.function.invoke(event);
        let Ok(invoked) = tokio::time::timeout(self.integration_timeout, invoked).await else {
            return api_error(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out");
        };
        match invoked {
            Ok(payload) => proxy_response(&payload),
            Err(error) => invoke_error(&error),
        }
    }

    /// `ResponseTransferMode: STREAM`: the prelude's status and headers,
    /// then the body as the function writes it, within [`STREAM_LIMIT`]
    /// and [`STREAM_IDLE`] ([`crate::stream`]).
    async fn streamed(&self, event: Bytes) -> Response<StreamBody> {
        let limits = Limits {
            total: Some(STREAM_LIMIT),
            idle: Some(STREAM_IDLE),
        };
        let started = crate::stream::start(self.function.clone(), event, limits).await;
        whole(match started {
            Started::Stream { prelude, body } => match streamed_head(&prelude) {
                Some(head) => return head.map(|_| body.boxed()),
                None => malformed(),
            },
            Started::Payload(_) | Started::NoPrelude => {
                tracing::warn!(
                    "the function did not stream a prelude (JSON, then eight NUL bytes) to a \
                     STREAM integration"
                );
                malformed()
            }
            Started::Failed(error) => invoke_error(&error),
            Started::OverLimit => {
                api_error(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out")
            }
        })
    }

    /// The ARN an authorizer's policy is evaluated against:
    /// `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/RESOURCE`.
    fn method_arn(&self, method: &Method, resource: &str) -> String {
        let spec = self.function.spec();
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
            spec.region, spec.account_id, self.api_id, self.stage, method, resource
        )
    }

    /// A `REQUEST` authorizer's event: the proxy event's request fields
    /// (no body), its `type` and the method's ARN.
    fn authorizer_event(
        &self,
        parts: &http::request::Parts,
        path: &str,
        resource: &str,
        method_arn: &str,
        peer: SocketAddr,
    ) -> Value {
        let mut event = self.event(parts, path, resource, &[], peer);
        if let Value::Object(fields) = &mut event {
            fields.remove("body");
            fields.remove("isBase64Encoded");
            fields.insert("type".into(), json!("REQUEST"));
            fields.insert("methodArn".into(), json!(method_arn));
        }
        event
    }

    /// Invokes the function as the authorizer: its payload, or its error's
    /// `errorMessage` (`Unauthorized` is API Gateway's 401). Bounded like
    /// an integration (AWS documents no longer wait for an authorizer): a
    /// slower one is a failure, never a longer wait than AWS would allow.
    async fn invoke_authorizer(&self, event: Value) -> Result<Vec<u8>, String> {
        let invoked = self.function.invoke(Bytes::from(event.to_string()));
        let Ok(invoked) = tokio::time::timeout(self.integration_timeout, invoked).await else {
            return Err("the authorizer timed out".into());
        };
        match invoked {
            Ok(payload) => Ok(payload.to_vec()),
            Err(InvokeError::Errored { message, .. }) => {
                let body: Value = serde_json::from_str(&message).unwrap_or(Value::Null);
                Err(body["errorMessage"].as_str().unwrap_or(&message).to_owned())
            }
            Err(error) => Err(error.to_string()),
        }
    }

    /// The payload format 1.0 event API Gateway sends a Lambda proxy
    /// integration.
    fn event(
        &self,
        parts: &http::request::Parts,
        path: &str,
        resource: &str,
        body: &[u8],
        peer: SocketAddr,
    ) -> Value {
        let spec = self.function.spec();
        let mut headers = Map::new();
        let mut multi_headers: Map<String, Value> = Map::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers.insert(name.as_str().to_owned(), json!(value));
            match multi_headers.get_mut(name.as_str()) {
                Some(Value::Array(values)) => values.push(json!(value)),
                _ => {
                    multi_headers.insert(name.as_str().to_owned(), json!([value]));
                }
            }
        }
        let query = crate::function_url::form_pairs(parts.uri.query().unwrap_or(""));
        let (mut single, mut multi) = (Map::new(), Map::new());
        for (k, v) in query {
            single.insert(k.clone(), json!(v));
            match multi.get_mut(&k) {
                Some(Value::Array(values)) => values.push(json!(v)),
                _ => {
                    multi.insert(k, json!([v]));
                }
            }
        }
        let or_null = |m: Map<String, Value>| {
            if m.is_empty() {
                Value::Null
            } else {
                Value::Object(m)
            }
        };
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let now = OffsetDateTime::now_utc();
        let time_format =
            format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
        let request_id = crate::new_request_id();
        let (body, encoded) = match std::str::from_utf8(body) {
            _ if body.is_empty() => (Value::Null, false),
            Ok(text) => (json!(text), false),
            Err(_) => (json!(BASE64.encode(body)), true),
        };
        json!({
            "resource": resource,
            "path": path,
            "httpMethod": parts.method.as_str(),
            "headers": or_null(headers),
            "multiValueHeaders": or_null(multi_headers),
            "queryStringParameters": or_null(single),
            "multiValueQueryStringParameters": or_null(multi),
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "accountId": spec.account_id,
                "apiId": self.api_id,
                "domainName": header("host").unwrap_or_else(|| "localhost".into()),
                "domainPrefix": self.api_id,
                "extendedRequestId": request_id,
                "httpMethod": parts.method.as_str(),
                "identity": {
                    "sourceIp": peer.ip().to_string(),
                    "userAgent": header("user-agent"),
                    "accessKey": null, "accountId": null, "caller": null, "user": null,
                    "userArn": null, "cognitoIdentityId": null, "cognitoIdentityPoolId": null,
                    "cognitoAuthenticationProvider": null, "cognitoAuthenticationType": null,
                },
                "path": format!("/{}{path}", self.stage),
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": now.format(time_format).unwrap_or_default(),
                "requestTimeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as i64,
                "resourceId": "local",
                "resourcePath": resource,
                "stage": self.stage,
            },
            "body": body,
            "isBase64Encoded": encoded,
        })
    }
}

/// What API Gateway answers when the integration failed.
fn invoke_error(error: &InvokeError) -> Response<Full<Bytes>> {
    match error {
        InvokeError::Timeout(_) => {
            api_error(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out")
        }
        InvokeError::Throttled(_) => api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
        error => {
            tracing::warn!(%error, "the function failed behind the REST API");
            malformed()
        }
    }
}

/// API Gateway's 502 for a proxy response it cannot read.
fn malformed() -> Response<Full<Bytes>> {
    api_error(StatusCode::BAD_GATEWAY, "Internal server error")
}

/// The `statusCode` of a proxy response or prelude, when it is a status.
fn status_of(value: &Value) -> Option<StatusCode> {
    let status = value
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok());
    if status.is_none() {
        tracing::warn!("the function's answer is not a Lambda proxy response (no statusCode)");
    }
    status
}

/// The status and headers of a streamed response, from its prelude
/// (`{statusCode, headers, multiValueHeaders, cookies}`); `None` when it is
/// not JSON with a status.
fn streamed_head(prelude: &[u8]) -> Option<Response<()>> {
    let value = serde_json::from_slice::<Value>(prelude).ok()?;
    let mut response = Response::new(());
    *response.status_mut() = status_of(&value)?;
    let headers = response.headers_mut();
    proxy_headers(&value, headers);
    for cookie in value
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(Ok(cookie)) = cookie.as_str().map(HeaderValue::from_str) {
            headers.append(http::header::SET_COOKIE, cookie);
        }
    }
    Some(response)
}

/// Maps a Lambda proxy response (`statusCode`, `headers`,
/// `multiValueHeaders`, `body`, `isBase64Encoded`) to HTTP; anything else is
/// API Gateway's 502 for a malformed proxy response.
fn proxy_response(payload: &[u8]) -> Response<Full<Bytes>> {
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return malformed();
    };
    let Some(status) = status_of(&value) else {
        return malformed();
    };
    let body = match value.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if value["isBase64Encoded"] == json!(true) => {
            match BASE64.decode(text) {
                Ok(bytes) => Bytes::from(bytes),
                Err(_) => return malformed(),
            }
        }
        Some(Value::String(text)) => Bytes::from(text.clone()),
        Some(_) => return malformed(),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    proxy_headers(&value, response.headers_mut());
    response
}

/// The headers of a proxy response or prelude: API Gateway merges
/// `multiValueHeaders` and `headers`.
fn proxy_headers(value: &Value, headers: &mut http::HeaderMap) {
    let mut put = |name: &str, value: &Value| {
        if let (Ok(name), Some(Ok(value))) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.append(name, value);
        }
    };
    if let Some(Value::Object(multi)) = value.get("multiValueHeaders") {
        for (name, values) in multi {
            for v in values.as_array().into_iter().flatten() {
                put(name, v);
            }
        }
    }
    if let Some(Value::Object(single)) = value.get("headers") {
        for (name, v) in single {
            put(name, v);
        }
    }
    remap(headers);
}

/// Serves the REST API on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, api: Arc<RestApi>) {
    crate::serve_http_with_peer(listener, move |req, peer| {
        let api = api.clone();
        async move { Ok::<_, Infallible>(api.handle(req, peer).await) }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_the_stacks_resources() {
        assert_eq!(RestApi::route(&Method::POST, "/mcp"), Some("/mcp"));
        assert_eq!(
            RestApi::route(&Method::GET, "/.well-known/oauth-protected-resource/mcp"),
            Some("/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            RestApi::route(&Method::POST, "/.well-known/oauth-protected-resource"),
            None
        );
        assert_eq!(RestApi::route(&Method::GET, "/other"), None);
    }

    #[test]
    fn a_stream_prelude_gives_status_both_header_maps_and_cookies() {
        let head = streamed_head(
            br#"{"statusCode":200,"headers":{"content-type":"text/event-stream"},"multiValueHeaders":{"x-many":["a","b"]},"cookies":["k=v"]}"#,
        )
        .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-type"], "text/event-stream");
        let many: Vec<_> = head.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["a", "b"]);
        assert_eq!(head.headers()["set-cookie"], "k=v");
        for bad in [
            &br#"{"headers":{}}"#[..],
            b"not json",
            br#"{"statusCode":1000}"#,
        ] {
            assert!(
                streamed_head(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn proxy_responses_map_both_header_maps() {
        let ok = proxy_response(
            br#"{"statusCode":401,"headers":{},"multiValueHeaders":{"www-authenticate":["Bearer x"]},"body":"{}","isBase64Encoded":false}"#,
        );
        assert_eq!(ok.status(), StatusCode::UNAUTHORIZED);
        // Renamed, as API Gateway renames a proxy integration's.
        assert!(!ok.headers().contains_key("www-authenticate"));
        assert_eq!(ok.headers()["x-amzn-remapped-www-authenticate"], "Bearer x");
        for bad in [
            &b"not json"[..],
            br#"{"body":"x"}"#,
            br#"{"statusCode":200,"body":5}"#,
        ] {
            assert_eq!(proxy_response(bad).status(), StatusCode::BAD_GATEWAY);
        }
    }
}
