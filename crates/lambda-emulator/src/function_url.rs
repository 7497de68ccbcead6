//! The local Function URL: builds the payload format 2.0 event exactly as
//! Lambda does, checks `AWS_IAM` auth before anything runs, and maps the
//! function's response back to HTTP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlRequestContext,
    LambdaFunctionUrlRequestContextAuthorizerDescription,
    LambdaFunctionUrlRequestContextAuthorizerIamDescription,
    LambdaFunctionUrlRequestContextHttpDescription, LambdaFunctionUrlResponse,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::json_response;
use crate::principals::Principal;
use crate::runtime::{Function, InvokeError};
use crate::sigv4::{RequestParts, Verifier};
use crate::stream::{Limits, Started, StreamBody};

/// How the URL authenticates callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `AuthType = AWS_IAM`: SigV4 plus the invoke policy.
    AwsIam {
        /// Checks signatures for the URL's region and `lambda`.
        verifier: Verifier,
        /// Who can sign, and what they hold.
        principals: Vec<Principal>,
    },
    /// `AuthType = NONE`: anyone who can reach the port.
    None,
}

/// How the URL invokes the function (its `InvokeMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokeMode {
    /// The function's response payload is read whole, then answered.
    #[default]
    Buffered,
    /// The function streams: a prelude (status, headers), eight NUL bytes,
    /// then the body, passed to the client as it comes.
    ResponseStream,
}

/// The body of a URL response: whole, or a function's stream (which ends
/// in error when the invocation fails mid-stream).
pub type UrlBody = StreamBody;

/// Lambda's payload limit for synchronous invocations.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// The front of one function.
#[derive(Debug)]
pub struct FunctionUrl {
    /// The function behind it.
    pub function: Arc<Function>,
    /// Its auth.
    pub auth: Auth,
    /// The id in the URL's host name (`<url-id>.lambda-url.<region>.on.aws`).
    pub url_id: String,
    /// Buffered, or streamed responses.
    pub invoke_mode: InvokeMode,
}

fn forbidden(reason: &str) -> Response<Full<Bytes>> {
    let mut response = json_response(
        StatusCode::FORBIDDEN,
        json!({"Message": format!("Forbidden. {reason}")}).to_string(),
    );
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("AccessDeniedException"),
    );
    response
}

fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/")
        || matches!(
            media.as_str(),
            "application/json" | "application/javascript" | "application/xml" | "application/yaml"
        )
        || media.ends_with("+json")
        || media.ends_with("+xml")
}

impl FunctionUrl {
    /// Serves one HTTP request.
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<UrlBody> {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return whole(json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"Message": format!("Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation")}).to_string(),
                ));
            }
        };
        let headers = crate::sigv4::header_pairs(&parts.headers);
        let path = parts.uri.path();
        let query = parts.uri.query().unwrap_or("");
        let caller = match &self.auth {
            Auth::None => None,
            Auth::AwsIam {
                verifier,
                principals,
            } => {
                let request = RequestParts {
                    method: parts.method.as_str(),
                    path,
                    query,
                    headers: &headers,
                    body: &body,
                };
                let verified = verifier.verify(&request, SystemTime::now(), |key| {
                    principals.iter().find(|p| p.access_key_id == key)
                });
                match verified {
                    Err(denial) => {
                        tracing::warn!(%denial, "refused a request before the function ran");
                        return whole(forbidden(&denial.to_string()));
                    }
                    Ok(principal) => {
                        if let Some(reason) = principal.refusal(&self.function.spec().account_id) {
                            tracing::warn!(%reason, "refused a signed request by policy");
                            return whole(forbidden(&reason));
                        }
                        Some(principal)
                    }
                }
            }
        };
        let event = Bytes::from(
            self.event(&parts, &headers, &body, peer, caller)
                .to_string(),
        );
        if self.invoke_mode == InvokeMode::ResponseStream {
            return self.streamed(event).await;
        }
        whole(match self.function.invoke(event).await {
            Ok(payload) => function_response(&payload),
            Err(error) => invoke_error(&error),
        })
    }

    /// Invokes the function and passes its response stream on: the prelude
    /// becomes the status and headers, the rest the body, chunk by chunk as
    /// the function writes it ([`crate::stream`]). A client that hangs up
    /// does not stop the function; a function that fails mid-stream ends
    /// the body in error.
    async fn streamed(&self, event: Bytes) -> Response<UrlBody> {
        // The URL has no limit of its own: the function's timeout is it.
        let started = crate::stream::start(self.function.clone(), event, Limits::default());
        whole(match started.await {
            Started::Stream { prelude, body } => {
                return match streamed_head(&prelude) {
                    Ok(mut response) => {
                        *response.body_mut() = body.boxed();
                        response
                    }
                    Err(why) => whole(bad_gateway(&why)),
                };
            }
            Started::Payload(payload) => function_response(&payload),
            Started::NoPrelude => bad_gateway(
                "the function's response stream ended before its prelude (eight NUL bytes)",
            ),
            Started::Failed(error) => invoke_error(&error),
            Started::OverLimit => bad_gateway("the invocation stopped"),
        })
    }

    /// The payload format 2.0 event, as `aws_lambda_events` types it. The
    /// type lacks the two constant members `routeKey` and `requestContext.stage`
    /// that Function URL events carry, so they are added to the JSON.
    fn event(
        &self,
        parts: &http::request::Parts,
        headers: &[(String, String)],
        body: &[u8],
        peer: SocketAddr,
        caller: Option<&Principal>,
    ) -> Value {
        let spec = self.function.spec();
        // Lambda joins repeated headers with commas and moves cookies out.
        let mut joined: Vec<(String, String)> = Vec::new();
        let mut cookies: Vec<String> = Vec::new();
        for (name, value) in headers {
            if name == "cookie" {
                cookies.extend(
                    value
                        .split(';')
                        .map(|c| c.trim().to_owned())
                        .filter(|c| !c.is_empty()),
                );
                continue;
            }
            match joined.iter_mut().find(|(n, _)| n == name) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(value);
                }
                None => joined.push((name.clone(), value.clone())),
            }
        }
        let mut header_map = http::HeaderMap::new();
        for (name, value) in &joined {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                header_map.insert(name, value);
            }
        }
        let header = |name: &str| {
            joined
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let now = OffsetDateTime::now_utc();
        let time_format =
            format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");

        let mut http_description = LambdaFunctionUrlRequestContextHttpDescription::default();
        http_description.method = Some(parts.method.as_str().to_owned());
        http_description.path = Some(parts.uri.path().to_owned());
        http_description.protocol = Some("HTTP/1.1".into());
        http_description.source_ip = Some(peer.ip().to_string());
        http_description.user_agent = header("user-agent");

        let mut context = LambdaFunctionUrlRequestContext::default();
        context.account_id = Some(if caller.is_some() {
            spec.account_id.clone()
        } else {
            "anonymous".to_owned()
        });
        context.request_id = Some(crate::new_request_id());
        context.apiid = Some(self.url_id.clone());
        context.domain_name = Some(header("host").unwrap_or_else(|| "localhost".into()));
        context.domain_prefix = Some(self.url_id.clone());
        context.time = Some(now.format(time_format).unwrap_or_default());
        context.time_epoch = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        context.http = http_description;
        context.authorizer = caller.map(|p| {
            let mut iam = LambdaFunctionUrlRequestContextAuthorizerIamDescription::default();
            iam.access_key = Some(p.access_key_id.clone());
            iam.account_id = Some(p.account_id.clone());
            iam.caller_id = Some(p.user_id.clone());
            iam.user_arn = Some(p.arn.clone());
            iam.user_id = Some(p.user_id.clone());
            let mut authorizer = LambdaFunctionUrlRequestContextAuthorizerDescription::default();
            authorizer.iam = Some(iam);
            authorizer
        });

        let query = parts.uri.query().unwrap_or("");
        let mut event = LambdaFunctionUrlRequest::default();
        event.version = Some("2.0".into());
        event.raw_path = Some(parts.uri.path().to_owned());
        event.raw_query_string = Some(query.to_owned());
        event.cookies = (!cookies.is_empty()).then_some(cookies);
        event.headers = header_map;
        for (k, v) in form_pairs(query) {
            event
                .query_string_parameters
                .entry(k)
                .and_modify(|existing| {
                    existing.push(',');
                    existing.push_str(&v);
                })
                .or_insert(v);
        }
        event.request_context = context;
        if !body.is_empty() {
            let content_type = header("content-type");
            match std::str::from_utf8(body) {
                Ok(text) if is_text(content_type.as_deref()) => event.body = Some(text.to_owned()),
                _ => {
                    event.body = Some(BASE64.encode(body));
                    event.is_base64_encoded = true;
                }
            }
        }
        let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
        value["routeKey"] = json!("$default");
        value["requestContext"]["routeKey"] = json!("$default");
        value["requestContext"]["stage"] = json!("$default");
        value
    }
}

pub(crate) fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// Maps the function's response payload to HTTP, as a Function URL does:
/// a structured `{statusCode, headers, body, cookies, isBase64Encoded}`
/// object, or else the whole payload as a JSON body with 200.
fn function_response(payload: &[u8]) -> Response<Full<Bytes>> {
    let structured = serde_json::from_slice::<Value>(payload)
        .ok()
        .filter(|v| v.get("statusCode").is_some());
    let Some(structured) = structured else {
        return json_response(StatusCode::OK, Bytes::copy_from_slice(payload));
    };
    let parsed = match url_response(structured) {
        Ok(parsed) => parsed,
        Err(e) => {
            return json_response(
                StatusCode::BAD_GATEWAY,
                json!({"Message": format!("the function's response is not a Function URL response: {e}")})
                    .to_string(),
            );
        }
    };
    let status = u16::try_from(parsed.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match parsed.body {
        None => Bytes::new(),
        Some(text) if parsed.is_base64_encoded => {
            Bytes::from(BASE64.decode(text).unwrap_or_default())
        }
        Some(text) => Bytes::from(text),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers_of(parsed.headers, &parsed.cookies);
    response
}

/// A Function URL response object (payload format 2.0, or a streamed
/// prelude): `isBase64Encoded` and `cookies` are optional in what a function
/// returns.
fn url_response(mut structured: Value) -> Result<LambdaFunctionUrlResponse, serde_json::Error> {
    for (member, default) in [("isBase64Encoded", json!(false)), ("cookies", json!([]))] {
        if structured.get(member).is_none_or(Value::is_null) {
            structured[member] = default;
        }
    }
    serde_json::from_value(structured)
}

/// The response's headers, with its cookies as `Set-Cookie`, and those AWS
/// renames renamed ([`crate::rest_api::remap`]: reported for Function URLs
/// as for REST proxy integrations).
fn headers_of(mut headers: http::HeaderMap, cookies: &[String]) -> http::HeaderMap {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(http::header::SET_COOKIE, value);
        }
    }
    crate::rest_api::remap(&mut headers);
    headers
}

/// A whole response as a [`StreamBody`] response.
pub(crate) fn whole(response: Response<Full<Bytes>>) -> Response<StreamBody> {
    response.map(|body| body.map_err(|never: Infallible| match never {}).boxed())
}

fn bad_gateway(why: &str) -> Response<Full<Bytes>> {
    json_response(StatusCode::BAD_GATEWAY, json!({"Message": why}).to_string())
}

/// What the URL answers when the invocation failed.
fn invoke_error(error: &InvokeError) -> Response<Full<Bytes>> {
    let (status, error_type) = match error {
        InvokeError::Timeout(_) => (StatusCode::BAD_GATEWAY, "Function.TimedOut"),
        InvokeError::Crashed(_) => (StatusCode::BAD_GATEWAY, "Function.Crashed"),
        InvokeError::Errored { .. } => (StatusCode::BAD_GATEWAY, "Function.Unhandled"),
        // As Lambda answers a Function URL beyond the function's concurrency.
        InvokeError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException"),
    };
    let mut response = json_response(status, json!({"Message": error.to_string()}).to_string());
    if let Ok(value) = HeaderValue::from_str(error_type) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// The status and headers of a streamed response, from its prelude
/// (`{statusCode, headers, cookies}`, read as a buffered response is).
fn streamed_head(prelude: &[u8]) -> Result<Response<UrlBody>, String> {
    let invalid =
        |e: &dyn std::fmt::Display| format!("the function's response prelude is not valid: {e}");
    let value: Value = serde_json::from_slice(prelude).map_err(|e| invalid(&e))?;
    if value.get("statusCode").is_none() {
        return Err(invalid(&"it has no statusCode"));
    }
    let parsed = url_response(value).map_err(|e| invalid(&e))?;
    let status = u16::try_from(parsed.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| {
            invalid(&format!(
                "statusCode {} is not a status",
                parsed.status_code
            ))
        })?;
    let mut response = Response::new(UrlBody::default());
    *response.status_mut() = status;
    *response.headers_mut() = headers_of(parsed.headers, &parsed.cookies);
    Ok(response)
}

/// Serves the URL on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, url: Arc<FunctionUrl>) {
    crate::serve_http_with_peer(listener, move |req, peer| {
        let url = url.clone();
        async move { Ok::<_, Infallible>(url.handle(req, peer).await) }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_map_as_a_function_url_maps_them() {
        let plain = function_response(br#"{"hello":"world"}"#);
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.headers()["content-type"], "application/json");

        let minimal = function_response(br#"{"statusCode":201,"body":"made"}"#);
        assert_eq!(minimal.status(), StatusCode::CREATED);

        let full = function_response(
            br#"{"statusCode":200,"headers":{"x-a":"1"},"body":"aGk=","isBase64Encoded":true,"cookies":["a=1","b=2"]}"#,
        );
        assert_eq!(full.headers()["x-a"], "1");
        let cookies: Vec<_> = full.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);

        let broken = function_response(br#"{"statusCode":"two hundred"}"#);
        assert_eq!(broken.status(), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn a_stream_prelude_gives_status_headers_and_cookies() {
        let head = streamed_head(
            br#"{"statusCode":202,"headers":{"content-type":"text/event-stream","x-many":["a","b"]},"cookies":["k=v"]}"#,
        )
        .unwrap();
        assert_eq!(head.status(), StatusCode::ACCEPTED);
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
                streamed_head(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
