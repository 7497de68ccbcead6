//! The invocation loop: the Lambda Runtime API (2018-06-01), with the client
//! context read by this crate instead of by `lambda_runtime`.
//!
//! Why not `lambda_http::run`: `lambda_runtime` 1.5 parses the
//! `Lambda-Runtime-Client-Context` header into a struct whose `custom` is a
//! map of strings, before any handler or layer runs, and ends its loop on a
//! parse error. The process exits and the invocation times out. The client
//! context comes from whoever calls `Invoke`, and AgentCore Gateway puts
//! objects in `custom` when a target propagates headers
//! (`bedrockAgentCorePropagatedHeaders`), so a gateway could stop a Rust
//! target. Nothing in `lambda_runtime` can intercept the header, so this loop
//! does what its loop does - `GET .../invocation/next`, one call, `POST
//! .../response` or `.../error` - through the same Runtime API client crate
//! (`lambda_runtime_api_client`), and answers every invocation: an unreadable
//! client context is an error reply for that invocation, never an exit.
//!
//! The events themselves are `lambda_http`'s (a Function URL event becomes
//! its `Request`), and the `Context` is `lambda_runtime`'s.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use aws_lambda_events::event::apigw::ApiGatewayProxyResponse;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use lambda_http::lambda_runtime::{Config, Context};
use lambda_http::{Body, RequestExt as _};
use lambda_runtime_api_client::{Client, body};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::App;
use mcp_http::Streamed;

/// The Runtime API's header with the caller's client context (JSON).
const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
/// The Runtime API's header with a Cognito identity (JSON); unused here.
const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
const REQUEST_ID: &str = "lambda-runtime-aws-request-id";

/// Any error of the loop itself (the Runtime API went away).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The client context of one invocation, read without trusting its shape.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientContext {
    /// No client context (every Function URL request).
    Absent,
    /// A JSON object; `custom` is its `custom` member (empty when absent),
    /// with values of any JSON type.
    Present {
        /// The `custom` member.
        custom: Map<String, Value>,
    },
}

/// A client context that is not the JSON object it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the invocation's client context {0}")]
pub struct InvalidClientContext(String);

impl ClientContext {
    /// Reads the `Lambda-Runtime-Client-Context` header's value. Only
    /// `custom` is read, and only as an object of any values: `client`,
    /// `env` and other members are not looked at, whatever they hold.
    pub fn parse(raw: Option<&[u8]>) -> Result<ClientContext, InvalidClientContext> {
        let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
            return Ok(ClientContext::Absent);
        };
        let invalid = |why: &str| InvalidClientContext(why.to_owned());
        let value: Value = serde_json::from_slice(raw)
            .map_err(|e| InvalidClientContext(format!("is not JSON ({e})")))?;
        let Value::Object(mut context) = value else {
            return Err(invalid("is not a JSON object"));
        };
        let custom = match context.remove("custom") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(custom)) => custom,
            Some(_) => return Err(invalid("has a `custom` member that is not an object")),
        };
        Ok(ClientContext::Present { custom })
    }

    /// A string member of `custom`.
    pub fn custom_str(&self, key: &str) -> Option<&str> {
        match self {
            ClientContext::Absent => None,
            ClientContext::Present { custom } => custom.get(key).and_then(Value::as_str),
        }
    }
}

/// What one invocation answers: a response payload, or an error that Lambda
/// reports to the caller (`FunctionError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The response payload (JSON).
    Response(Vec<u8>),
    /// An error, as the Runtime API's `.../error` takes it.
    Error {
        /// `errorType` (also `Lambda-Runtime-Function-Error-Type`).
        error_type: &'static str,
        /// `errorMessage`.
        message: String,
    },
}

impl Outcome {
    pub(crate) fn error(error_type: &'static str, message: impl Into<String>) -> Self {
        Outcome::Error {
            error_type,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    error_type: &'a str,
    error_message: &'a str,
}

impl App {
    /// Where an invocation goes, given the Runtime API's headers for it and
    /// its event: a Function URL request to serve, or an answer already (a
    /// gateway tool call's when the client context names a gateway tool, or
    /// an error). Never panics on input.
    async fn route(&self, config: &Arc<Config>, mut headers: HeaderMap, event: &[u8]) -> Route {
        let done = |error_type, message: String| Route::Done(Outcome::error(error_type, message));
        // The two JSON headers are taken out here (the client context read
        // by this crate, the Cognito identity unused), so that
        // `lambda_runtime`'s parse of them cannot fail.
        let raw_context = headers.remove(CLIENT_CONTEXT);
        headers.remove(COGNITO_IDENTITY);
        let client_context = match ClientContext::parse(raw_context.as_ref().map(|v| v.as_bytes()))
        {
            Ok(context) => context,
            Err(e) => return done("InvalidClientContext", e.to_string()),
        };
        let request_id = request_id(&headers).unwrap_or("-");
        let context = match Context::new(request_id, config.clone(), &headers) {
            Ok(context) => context,
            Err(e) => {
                return done(
                    "InvalidInvocation",
                    format!("the invocation's headers: {e}"),
                );
            }
        };
        if let Some(tool) = client_context.custom_str(crate::gateway::TOOL_NAME_KEY) {
            if !self.gateway_target {
                return done("NotAGatewayTarget", crate::gateway::not_a_target(tool));
            }
            let gateway = client_context.custom_str(crate::gateway::GATEWAY_ID_KEY);
            return Route::Done(self.gateway_call(tool, gateway, event, &context).await);
        }
        // Behind API Gateway the function is the stack's authorizer too.
        if let Some(oauth) = &self.oauth
            && let Some(parsed) = crate::authorizer::AuthorizerEvent::parse(event)
        {
            return Route::Done(match parsed {
                Ok(event) => crate::authorizer::authorize(&self.server, oauth, event).await,
                Err(e) => Outcome::error("UnsupportedEvent", e),
            });
        }
        match std::str::from_utf8(event)
            .ok()
            .map(lambda_http::request::from_str)
        {
            Some(Ok(request)) => Route::Url(request.with_lambda_context(context)),
            _ => done(
                "UnsupportedEvent",
                format!(
                    "this function serves Function URL requests (payload format 2.0) and AgentCore \
                     Gateway tool calls (client context `custom.{}`); this event is neither",
                    crate::gateway::TOOL_NAME_KEY
                ),
            ),
        }
    }

    /// Whether the answer to `req` is a response stream: a Function URL
    /// request's when the URL streams, a REST one's when the integration does.
    fn streams(&self, req: &lambda_http::Request) -> bool {
        if App::is_rest(req) {
            self.rest_streaming
        } else {
            self.streaming
        }
    }

    /// Writes one request's answer as a response stream: the prelude
    /// (status and headers, shaped for the front: a Function URL's or API
    /// Gateway REST's), the 8-byte delimiter, then the body - event by event
    /// when the call sends notifications before its reply.
    ///
    /// The stream ends before the invocation's deadline, [`STREAM_MARGIN`]
    /// ahead: a call still running then is dropped, the client gets an
    /// error event (a JSON-RPC error for its request) and the Runtime API
    /// the error trailers, so that the front ends the stream in error and
    /// the client can tell it from a finished answer. Without this, Lambda
    /// would cut the stream at the timeout with no word of why.
    async fn stream_to(&self, req: &lambda_http::Request, mut sender: body::sender::Sender) {
        let started = std::time::Instant::now();
        let shape = if App::is_rest(req) {
            Prelude::Rest
        } else {
            Prelude::FunctionUrl
        };
        let (identity, context) = crate::request_context(req);
        let cutoff = context
            .deadline
            .map(|d| tokio::time::Instant::from_std(d.checked_sub(STREAM_MARGIN).unwrap_or(d)));
        let parts = crate::request_parts(req, identity.as_ref());
        let exchanged = mcp_http::exchange_streamed(
            &self.server,
            &self.config,
            self.authenticator(req),
            parts,
            context,
        );
        let Some(exchanged) = before(cutoff, exchanged).await else {
            // Nothing written yet: the front answers the function's error.
            out_of_time(&mut sender, None).await;
            return;
        };
        match exchanged {
            Streamed::Whole(out) => {
                self.log_exchange(req, &out, started);
                let mut first = shape.prelude(out.status, &out.headers());
                first.extend_from_slice(out.body.as_deref().unwrap_or("").as_bytes());
                let _ = sender.send_data(first.into()).await;
            }
            Streamed::Events { head, mut events } => {
                if sender
                    .send_data(shape.prelude(head.status, &head.headers()).into())
                    .await
                    .is_err()
                {
                    return;
                }
                loop {
                    let Some(next) = before(cutoff, events.next()).await else {
                        drop(events);
                        out_of_time(&mut sender, Some(req.body().as_ref())).await;
                        return;
                    };
                    let Some(chunk) = next else { break };
                    if sender.send_data(chunk.into()).await.is_err() {
                        // The Runtime API went away: dropping the events
                        // stops the call.
                        tracing::warn!("the response stream closed before the reply");
                        return;
                    }
                }
                if let Some(out) = events.finished() {
                    self.log_exchange(req, out, started);
                }
            }
        }
    }
}

/// How long before the invocation's deadline a streamed answer is ended
/// ([`App`]'s `stream_to`): time to write the error event and the trailers
/// before Lambda stops the function.
pub const STREAM_MARGIN: std::time::Duration = std::time::Duration::from_millis(300);

/// The error type a stream cut short at the deadline reports in its
/// trailers (`Lambda-Runtime-Function-Error-Type`).
pub const OUT_OF_TIME: &str = "Runtime.DeadlineExceeded";

/// `work`'s output, or `None` when `cutoff` comes first.
async fn before<T>(
    cutoff: Option<tokio::time::Instant>,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    match cutoff {
        Some(cutoff) => tokio::time::timeout_at(cutoff, work).await.ok(),
        None => Some(work.await),
    }
}

/// Ends a stream cut short by the deadline: an error event for the
/// request (`request`: its body, once the events began), then the error
/// trailers of the custom runtime streaming contract (docs: Lambda
/// `runtimes-custom`, "Response streaming for custom runtimes"): the type,
/// and the body base64-encoded.
async fn out_of_time(sender: &mut body::sender::Sender, request: Option<&[u8]>) {
    let message = "the function ran out of time (its timeout) before the call finished; the call \
                   was stopped";
    tracing::error!(error_type = OUT_OF_TIME, "{message}");
    if let Some(request) = request {
        let _ = sender.send_data(error_event(request, message).into()).await;
    }
    let _ = sender
        .send_trailers(error_trailers(OUT_OF_TIME, message))
        .await;
}

/// An SSE event with the JSON-RPC error answering `request` (its `id`;
/// `null` when it has none or is a batch).
fn error_event(request: &[u8], message: &str) -> String {
    let id = serde_json::from_slice::<Value>(request)
        .ok()
        .and_then(|r| r.get("id").cloned())
        .unwrap_or(Value::Null);
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": mcp_core::ErrorCode::INTERNAL_ERROR.0, "message": message}
    });
    let mut event = String::new();
    mcp_http::push_event(&mut event, &error.to_string());
    event
}

/// The trailers that report a mid-stream error to the Runtime API.
fn error_trailers(error_type: &str, message: &str) -> HeaderMap {
    use base64::Engine as _;
    let mut trailers = HeaderMap::new();
    let body = base64::engine::general_purpose::STANDARD.encode(message);
    for (name, value) in [(ERROR_TYPE, error_type), (ERROR_BODY, body.as_str())] {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            trailers.insert(name, value);
        }
    }
    trailers
}

/// The trailer (and header) with a function error's type.
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
/// The trailer with a mid-stream error's body, base64.
const ERROR_BODY: &str = "lambda-runtime-function-error-body";

/// Where [`App::route`] sends an invocation.
#[expect(
    clippy::large_enum_variant,
    reason = "one per invocation, consumed at once: boxing the request would cost an allocation"
)]
enum Route {
    Url(lambda_http::Request),
    Done(Outcome),
}

fn panicked() -> Outcome {
    Outcome::error("Runtime.HandlerPanic", "the function panicked; see its log")
}

/// The front a streamed answer goes to, which decides its prelude's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prelude {
    /// A Function URL (`InvokeMode: RESPONSE_STREAM`): `{statusCode,
    /// headers, cookies}`, a header's several values as an array.
    FunctionUrl,
    /// API Gateway REST (`ResponseTransferMode: STREAM`, docs: apigateway
    /// `response-transfer-mode-lambda`): `{statusCode, headers,
    /// multiValueHeaders, cookies}`, single values in `headers`, several in
    /// `multiValueHeaders`.
    Rest,
}

impl Prelude {
    /// The prelude as JSON, then the eight NUL bytes that end it.
    fn prelude(self, status: StatusCode, headers: &HeaderMap) -> Vec<u8> {
        let (mut single, mut multi) = (Map::new(), Map::new());
        for name in headers.keys() {
            let values: Vec<Value> = headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(Value::from)
                .collect();
            let name = name.as_str().to_owned();
            match (<[Value; 1]>::try_from(values), self) {
                (Ok([one]), _) => single.insert(name, one),
                (Err(many), Prelude::FunctionUrl) => single.insert(name, Value::Array(many)),
                (Err(many), Prelude::Rest) => multi.insert(name, Value::Array(many)),
            };
        }
        let mut prelude = serde_json::json!({"statusCode": status.as_u16(), "headers": single});
        if self == Prelude::Rest {
            prelude["multiValueHeaders"] = Value::Object(multi);
        }
        prelude["cookies"] = serde_json::json!([]);
        let mut out = serde_json::to_vec(&prelude).unwrap_or_default();
        out.extend_from_slice(&[0; 8]);
        out
    }
}

fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
}

/// An API Gateway REST proxy response (payload format 1.0) as JSON: every
/// header in `multiValueHeaders` (API Gateway merges `headers` into it, so
/// one of the two stays empty).
fn rest_response(response: http::Response<Body>) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let mut out = ApiGatewayProxyResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.multi_value_headers = parts.headers;
    (out.body, out.is_base64_encoded) = match body {
        Body::Text(text) => (Some(Body::Text(text)), false),
        Body::Binary(bytes) => (Some(Body::Binary(bytes)), true),
        _ => (None, false),
    };
    serde_json::to_vec(&out).unwrap_or_default()
}

/// A Function URL response (payload format 2.0) as JSON.
fn url_response(response: http::Response<Body>) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let mut out = LambdaFunctionUrlResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    match body {
        Body::Empty => {}
        Body::Text(text) => out.body = Some(text),
        Body::Binary(bytes) => {
            use base64::Engine as _;
            out.body = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
            out.is_base64_encoded = true;
        }
        _ => {}
    }
    serde_json::to_vec(&out).unwrap_or_default()
}

/// Builds the app from the environment ([`App::from_env`]) and serves it.
/// A setting that cannot be used is reported to the Runtime API as an init
/// error (Lambda shows it as the cause of the failed start) before the
/// process exits.
pub async fn start() -> Result<(), Error> {
    let client = runtime_client()?;
    let app = match init().await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(error = %error, "the function cannot start");
            client
                .call(error_request(
                    "/2018-06-01/runtime/init/error",
                    "Runtime.InvalidConfiguration",
                    &error.to_string(),
                )?)
                .await?;
            return Err(error);
        }
    };
    app.record_cold_start();
    serve(&client, &app).await
}

/// The app from the function's environment, with the deployment's
/// `requestState` key when [`Setting::StateKeySecretArn`](mcp_settings::Setting::StateKeySecretArn)
/// names its secret.
async fn init() -> Result<App, Error> {
    let settings = mcp_settings::FunctionSettings::from_env()?;
    let app = App::from_settings(&settings, crate::FunctionEnv::from_env(&settings))?;
    if settings.state_key_secret_arn.is_none() {
        return Ok(app);
    }
    let (key, took) = crate::state_key::load(&settings).await?;
    tracing::info!(
        state_key_ms = took.as_secs_f64() * 1000.0,
        "requestState key read from Secrets Manager"
    );
    Ok(app.with_state_key(key))
}

/// Serves invocations until the Runtime API goes away (on Lambda: until the
/// instance is stopped). `AWS_LAMBDA_RUNTIME_API` names the API.
pub async fn run(app: &App) -> Result<(), Error> {
    serve(&runtime_client()?, app).await
}

fn runtime_client() -> Result<Client, Error> {
    let endpoint = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set: this program runs as a Lambda function")?;
    // Without TCP_NODELAY, an event written soon after the prelude (or after
    // another event) waits for the Runtime API's delayed ACK: measured, the
    // first progress event reached the client 40 ms late.
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    Ok(Client::builder()
        .with_connector(connector)
        .with_endpoint(endpoint.parse()?)
        .build()?)
}

async fn serve(client: &Client, app: &App) -> Result<(), Error> {
    let config = Arc::new(Config::from_env());
    loop {
        let next = client
            .call(runtime_request(
                Method::GET,
                "/2018-06-01/runtime/invocation/next",
                Bytes::new(),
                None,
            )?)
            .await?;
        let (parts, body) = next.into_parts();
        let event = body.collect().await?.to_bytes();
        let Some(id) = request_id(&parts.headers).map(str::to_owned) else {
            return Err(
                "the Runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id".into(),
            );
        };
        // No trace until this invocation's request names one (its log lines').
        mcp_core::trace::set_current(None);
        // A panic anywhere below is an error reply, never an exit.
        let routed = AssertUnwindSafe(app.route(&config, parts.headers, &event)).catch_unwind();
        let outcome = match routed.await.unwrap_or_else(|_| Route::Done(panicked())) {
            // A streaming front reads every answer as a stream: a Function
            // URL with RESPONSE_STREAM, a REST integration with STREAM.
            Route::Url(request) if app.streams(&request) => {
                let (sender, body) = body::Body::channel();
                let post = stream_request(&id, body)?;
                let write = AssertUnwindSafe(app.stream_to(&request, sender)).catch_unwind();
                let (answer, written) = tokio::join!(client.call(post), write);
                if written.is_err() {
                    tracing::error!(request_id = %id, "the function panicked while streaming its answer");
                }
                finish(answer?, &id).await?;
                continue;
            }
            Route::Url(request) => {
                let rest = App::is_rest(&request);
                AssertUnwindSafe(app.handle(request))
                    .catch_unwind()
                    .await
                    .map_or_else(
                        |_| panicked(),
                        |r| {
                            Outcome::Response(if rest {
                                rest_response(r)
                            } else {
                                url_response(r)
                            })
                        },
                    )
            }
            Route::Done(outcome) => outcome,
        };
        let answer = match outcome {
            Outcome::Response(payload) => runtime_request(
                Method::POST,
                &format!("/2018-06-01/runtime/invocation/{id}/response"),
                payload.into(),
                None,
            )?,
            Outcome::Error {
                error_type,
                message,
            } => {
                if error_type == crate::authorizer::UNAUTHORIZED {
                    // The authorizer's refusal: an answer, not a failure.
                    tracing::info!(request_id = %id, "authorizer: no valid token");
                } else {
                    tracing::error!(request_id = %id, error_type, error = %message, "invocation failed");
                }
                error_request(
                    &format!("/2018-06-01/runtime/invocation/{id}/error"),
                    error_type,
                    &message,
                )?
            }
        };
        finish(client.call(answer).await?, &id).await?;
    }
}

/// Checks the Runtime API took an answer, and reads its reply to the end
/// so that the connection is reused.
async fn finish<B>(answer: http::Response<B>, id: &str) -> Result<(), Error>
where
    B: http_body::Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    if answer.status() != StatusCode::ACCEPTED {
        tracing::warn!(request_id = %id, status = answer.status().as_u16(), "the Runtime API did not accept the answer");
    }
    answer.into_body().collect().await?;
    Ok(())
}

/// The POST of a streamed response: its body is written as it comes.
fn stream_request(id: &str, body: body::Body) -> Result<Request<body::Body>, http::Error> {
    lambda_runtime_api_client::build_request()
        .method(Method::POST)
        .uri(format!("/2018-06-01/runtime/invocation/{id}/response"))
        .header("lambda-runtime-function-response-mode", "streaming")
        .header(
            "content-type",
            "application/vnd.awslambda.http-integration-response",
        )
        // Declared, so that the HTTP client sends them (a mid-stream error).
        .header("trailer", ERROR_TYPE)
        .header("trailer", ERROR_BODY)
        .body(body)
}

/// A function or init error for the Runtime API: its type in the header, and
/// `{errorType, errorMessage}` as the body.
fn error_request(
    path: &str,
    error_type: &str,
    message: &str,
) -> Result<Request<body::Body>, http::Error> {
    let body = ErrorBody {
        error_type,
        error_message: message,
    };
    let payload = serde_json::to_vec(&body).unwrap_or_default();
    runtime_request(Method::POST, path, payload.into(), Some(error_type))
}

fn runtime_request(
    method: Method,
    path: &str,
    payload: Bytes,
    error_type: Option<&str>,
) -> Result<Request<body::Body>, http::Error> {
    let mut request = lambda_runtime_api_client::build_request()
        .method(method)
        .uri(path);
    if let Some(error_type) = error_type {
        request = request
            .header(ERROR_TYPE, error_type)
            .header("content-type", "application/json");
    }
    request.body(body::Body::from(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<ClientContext, InvalidClientContext> {
        ClientContext::parse(Some(raw.as_bytes()))
    }

    #[test]
    fn client_contexts_of_any_shape_are_read_or_refused_by_name() {
        assert_eq!(ClientContext::parse(None), Ok(ClientContext::Absent));
        assert_eq!(parse(""), Ok(ClientContext::Absent));
        // What lambda_runtime 1.5 cannot read (its loop ends on each):
        let objects = parse(
            r#"{"custom":{"bedrockAgentCoreToolName":"t___word_count","n":5,
                "bedrockAgentCorePropagatedHeaders":{"x-a":"1"}}}"#,
        )
        .unwrap_or(ClientContext::Absent);
        assert_eq!(
            objects.custom_str("bedrockAgentCoreToolName"),
            Some("t___word_count")
        );
        assert_eq!(objects.custom_str("n"), None);
        let client_null = parse(r#"{"client":null,"custom":{"k":"v"},"env":null}"#);
        assert_eq!(
            client_null.map(|c| c.custom_str("k").map(str::to_owned)),
            Ok(Some("v".into()))
        );
        assert_eq!(
            parse(r#"{"custom":null}"#),
            Ok(ClientContext::Present { custom: Map::new() })
        );
        for (raw, why) in [
            ("not json", "is not JSON"),
            ("[1]", "is not a JSON object"),
            ("\"s\"", "is not a JSON object"),
            (r#"{"custom":"x"}"#, "not an object"),
            (r#"{"custom":[1]}"#, "not an object"),
        ] {
            let refused = parse(raw).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains(why), "{raw}: {refused}");
        }
    }
}
