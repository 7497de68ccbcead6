//! The local Function URL: builds the payload format 2.0 event exactly as
//! Lambda does, checks `AWS_IAM` auth before anything runs, and maps the
//! function's response back to HTTP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::principals::Principal;
use crate::runtime::{Function, InvokeError};
use crate::sigv4::{RequestParts, Verifier};

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
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn forbidden(reason: &str) -> Response<Full<Bytes>> {
    let mut response = json_response(
        StatusCode::FORBIDDEN,
        &json!({"Message": format!("Forbidden. {reason}")}),
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
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &json!({"Message": format!("Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation")}),
                );
            }
        };
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
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
                        return forbidden(&denial.to_string());
                    }
                    Ok(principal) => {
                        if let Some(reason) = principal.refusal(&self.function.spec().account_id) {
                            tracing::warn!(%reason, "refused a signed request by policy");
                            return forbidden(&reason);
                        }
                        Some(principal)
                    }
                }
            }
        };
        let event = self.event(&parts, &headers, &body, peer, caller);
        match self.function.invoke(Bytes::from(event.to_string())).await {
            Ok(payload) => function_response(&payload),
            Err(error) => {
                let error_type = match error {
                    InvokeError::Timeout(_) => "Function.TimedOut",
                    InvokeError::Crashed(_) => "Function.Crashed",
                    InvokeError::Errored { .. } => "Function.Unhandled",
                };
                let mut response = json_response(
                    StatusCode::BAD_GATEWAY,
                    &json!({"Message": error.to_string()}),
                );
                if let Ok(value) = HeaderValue::from_str(error_type) {
                    response.headers_mut().insert("x-amzn-errortype", value);
                }
                response
            }
        }
    }

    fn event(
        &self,
        parts: &http::request::Parts,
        headers: &[(String, String)],
        body: &[u8],
        peer: SocketAddr,
        caller: Option<&Principal>,
    ) -> Value {
        let spec = self.function.spec();
        let mut joined: Map<String, Value> = Map::new();
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
            match joined.get_mut(name) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(value);
                }
                _ => {
                    joined.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        let host = joined
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or("localhost")
            .to_owned();
        let user_agent = joined.get("user-agent").cloned().unwrap_or(Value::Null);
        let now = OffsetDateTime::now_utc();
        let time_format =
            format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
        let request_id = self.function_request_id();
        let mut request_context = json!({
            "accountId": if caller.is_some() { spec.account_id.clone() } else { "anonymous".to_owned() },
            "apiId": self.url_id,
            "domainName": host,
            "domainPrefix": self.url_id,
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format(time_format).unwrap_or_default(),
            "timeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as i64,
        });
        if let Some(p) = caller {
            request_context["authorizer"] = json!({"iam": {
                "accessKey": p.access_key_id,
                "accountId": p.account_id,
                "callerId": p.user_id,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": p.arn,
                "userId": p.user_id,
            }});
        }
        let query = parts.uri.query().unwrap_or("");
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": parts.uri.path(),
            "rawQueryString": query,
            "headers": joined,
            "requestContext": request_context,
            "isBase64Encoded": false,
        });
        if !cookies.is_empty() {
            event["cookies"] = json!(cookies);
        }
        if !query.is_empty() {
            let mut params: Map<String, Value> = Map::new();
            for (k, v) in form_pairs(query) {
                match params.get_mut(&k) {
                    Some(Value::String(existing)) => {
                        existing.push(',');
                        existing.push_str(&v);
                    }
                    _ => {
                        params.insert(k, Value::String(v));
                    }
                }
            }
            event["queryStringParameters"] = Value::Object(params);
        }
        if !body.is_empty() {
            let content_type = joined.get("content-type").and_then(Value::as_str);
            match std::str::from_utf8(body) {
                Ok(text) if is_text(content_type) => event["body"] = json!(text),
                _ => {
                    event["body"] = json!(BASE64.encode(body));
                    event["isBase64Encoded"] = json!(true);
                }
            }
        }
        event
    }

    fn function_request_id(&self) -> String {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let hex = format!("{nanos:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
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
/// a structured `{statusCode, headers, body, ...}` object, or else the whole
/// payload as a JSON body with 200.
fn function_response(payload: &[u8]) -> Response<Full<Bytes>> {
    let value: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let Some(structured) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        let mut response = Response::new(Full::new(Bytes::copy_from_slice(payload)));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return response;
    };
    let status = structured["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match structured.get("body").and_then(Value::as_str) {
        None => Bytes::new(),
        Some(text) if structured.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            Bytes::from(BASE64.decode(text).unwrap_or_default())
        }
        Some(text) => Bytes::from(text.to_owned()),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut add = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    };
    if let Some(Value::Object(map)) = structured.get("headers") {
        for (name, value) in map {
            if let Some(value) = value.as_str() {
                add(name, value);
            }
        }
    }
    if let Some(Value::Object(map)) = structured.get("multiValueHeaders") {
        for (name, values) in map {
            let single = structured
                .get("headers")
                .and_then(|h| h.get(name))
                .is_some();
            for value in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !single {
                    add(name, value);
                }
            }
        }
    }
    for cookie in structured
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(cookie) = cookie.as_str() {
            add("set-cookie", cookie);
        }
    }
    response
}

/// Serves the URL on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, url: Arc<FunctionUrl>) {
    crate::serve_http_with_peer(listener, move |req, peer| {
        let url = url.clone();
        async move { Ok::<_, Infallible>(url.handle(req, peer).await) }
    })
    .await;
}
