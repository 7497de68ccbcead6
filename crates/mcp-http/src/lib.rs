//! Streamable HTTP (stateless; JSON responses, or SSE when a call sends
//! notifications) for the MCP core, with no knowledge of where the request
//! came from.
//!
//! A front (the Lambda Function URL adapter, the emulator's gateway; API
//! Gateway REST events next) turns its event into [`RequestParts`], and this
//! crate turns those into an [`Exchange`]: a status, headers and a body -
//! whole ([`exchange`]), or as events while the call runs for a front that
//! can stream ([`exchange_streamed`]).
//! Everything HTTP-specific lives here: methods, media types, the
//! `MCP-Protocol-Version` header, the 2026-07-28 `Mcp-Method`/`Mcp-Name`
//! headers, `Origin`, the body bound, authentication through an
//! [`Authenticator`], and the mapping of typed JSON-RPC errors to status
//! codes. The protocol itself is `mcp-core`'s.
//!
//! ```no_run
//! # async fn run() {
//! use http::{HeaderMap, Method};
//! use mcp_core::{RequestContext, Server, ServerInfo, ToolRegistry};
//! use mcp_http::{HttpConfig, RequestParts, TrustFront, exchange};
//!
//! let server = Server::new(ServerInfo::new("s", "1"), ToolRegistry::new());
//! let headers = HeaderMap::new();
//! let parts = RequestParts { method: &Method::POST, path: "/", query: None, headers: &headers, body: b"{}", front_identity: None };
//! let out = exchange(&server, &HttpConfig::default(), &TrustFront, parts, RequestContext::default()).await;
//! println!("{} {:?}", out.status, out.body);
//! # }
//! ```

pub mod asking;
mod auth;

pub use auth::{AuthError, Authenticator, BoxFuture, TrustFront};

use std::sync::Arc;

use http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue, ORIGIN,
    RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Method, StatusCode};
use mcp_core::limits::Decision;
use mcp_core::{
    ErrorCode, ErrorObject, Identity, Incoming, Notify, ProtocolVersion, Reply, RequestContext,
    RequestId, Response, Server, Session,
};
use mcp_settings::{FunctionSettings, Setting};
use serde_json::Value;

/// Limits and allow-lists of the HTTP front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// `Origin` values a browser may send; any other present `Origin` is 403.
    pub allowed_origins: Vec<String>,
    /// Bodies above this are refused with 413.
    pub max_body_bytes: usize,
    /// Where a call at a handshake revision that asks the client for input
    /// is parked until the answers come ([`asking`]); `None`: such a call
    /// cannot ask (the tool gets the error that says so).
    pub rendezvous: Option<asking::RendezvousHandle>,
}

/// Default body bound: 1 MiB, well above any tool call and below Lambda's 6 MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rendezvous: None,
        }
    }
}

impl HttpConfig {
    /// The front's part of the function's settings
    /// ([`Setting::AllowedOrigins`], [`Setting::MaxBodyBytes`]).
    pub fn from_settings(settings: &FunctionSettings) -> Self {
        HttpConfig {
            allowed_origins: settings.allowed_origins.clone(),
            max_body_bytes: settings.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            // The front chooses it: in process, or shared by its instances.
            rendezvous: None,
        }
    }
}

/// The outcome of one HTTP exchange, before it becomes a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body; `None` for 202.
    pub body: Option<String>,
    /// The authentication challenge of a 401 or 403 from the authenticator.
    pub www_authenticate: Option<HeaderValue>,
    /// The JSON-RPC method, for the log.
    pub method: Option<String>,
    /// The tool name of a `tools/call`, for the log.
    pub tool: Option<String>,
    /// Where a rate-limited `tools/call` stood against its limit.
    pub rate_limit: Option<Decision>,
    /// Whether `body` is an SSE stream (`text/event-stream`): the request's
    /// notifications, then its reply.
    pub event_stream: bool,
    /// Whether `body` is SSE text already (a parked call's requests to the
    /// client, [`asking`]), not a reply to put in an event.
    pub sse_body: bool,
    /// Whether `body` is a public document any cache may keep (resource
    /// metadata), not a JSON-RPC message.
    pub public_document: bool,
    /// How a `tools/call` ended, for its metrics.
    pub outcome: Option<CallOutcome>,
    /// The request's W3C `traceparent`: its `_meta`'s (SEP-414), else the
    /// front's ([`RequestContext::traceparent`]), for the log and metrics.
    pub traceparent: Option<String>,
    /// The `Mcp-Session-Id` of a successful `initialize` at a handshake
    /// revision: a name for the client's connection that the server keeps
    /// nothing under (see [`session_id`]).
    pub session_id: Option<String>,
}

/// How a `tools/call` ended, as its metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The tool ran and returned its result.
    Ok,
    /// The tool ran and failed, or its arguments did not fit (`isError`).
    ToolError,
    /// The caller's token lacks a scope the tool needs.
    RefusedScope,
    /// The caller is over its rate limit for the tool.
    Limited,
    /// The tool asked the client for input (2026-07-28 `input_required`):
    /// a round of a multi round-trip request, not a failure.
    InputRequired,
    /// Anything else: an unknown tool, a malformed call, a limiter that
    /// could not decide, a panic.
    Failed,
}

impl CallOutcome {
    /// The name in metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::ToolError => "tool_error",
            CallOutcome::RefusedScope => "refused_scope",
            CallOutcome::Limited => "limited",
            CallOutcome::InputRequired => "input_required",
            CallOutcome::Failed => "failed",
        }
    }

    /// The outcome of a `tools/call` that got `reply`.
    pub fn of(reply: Option<&Reply>) -> CallOutcome {
        let Some(Reply::One(response)) = reply else {
            return CallOutcome::Failed;
        };
        match &response.body {
            Ok(envelope) => match &envelope.result {
                mcp_core::model::ServerResult::CallTool(result) if result.is_error => {
                    CallOutcome::ToolError
                }
                mcp_core::model::ServerResult::CallTool(_) => CallOutcome::Ok,
                mcp_core::model::ServerResult::InputRequired(_) => CallOutcome::InputRequired,
                _ => CallOutcome::Failed,
            },
            Err(error) => match error.code {
                ErrorCode::INSUFFICIENT_SCOPE => CallOutcome::RefusedScope,
                ErrorCode::RATE_LIMITED => CallOutcome::Limited,
                _ => CallOutcome::Failed,
            },
        }
    }
}

impl Exchange {
    /// `status` with `body` and nothing else set.
    fn new(status: StatusCode, body: Option<String>) -> Self {
        Exchange {
            status,
            body,
            www_authenticate: None,
            method: None,
            tool: None,
            rate_limit: None,
            event_stream: false,
            sse_body: false,
            public_document: false,
            outcome: None,
            traceparent: None,
            session_id: None,
        }
    }

    fn refuse(status: StatusCode, message: impl Into<String>) -> Self {
        Self::error(
            status,
            None,
            ErrorObject::new(ErrorCode::INVALID_REQUEST, message),
        )
    }

    fn error(status: StatusCode, id: Option<RequestId>, error: ErrorObject) -> Self {
        let body = Reply::One(Response::error(id, error)).to_json();
        Self::new(status, Some(body))
    }

    /// A public JSON document, cacheable for an hour.
    fn document(body: &str) -> Self {
        Exchange {
            public_document: true,
            ..Self::new(StatusCode::OK, Some(body.to_owned()))
        }
    }

    fn unauthorized(refusal: AuthError) -> Self {
        let mut out = Self::refuse(refusal.status, refusal.message);
        out.www_authenticate = refusal.challenge;
        out
    }

    /// The JSON body as a value (tests, logs).
    pub fn json(&self) -> Option<Value> {
        self.body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
    }

    /// The headers that go with this exchange's status.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self.body.is_some() && self.event_stream {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            // Events are useless late: no cache, and no proxy buffering.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(X_ACCEL_BUFFERING.clone(), HeaderValue::from_static("no"));
        } else if self.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if self.public_document {
            headers.insert(
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(ALLOW, HeaderValue::from_static("POST"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                RETRY_AFTER,
                HeaderValue::from(mcp_core::limits::UNAVAILABLE_RETRY_S),
            );
        }
        if let Some(challenge) = &self.www_authenticate {
            headers.insert(WWW_AUTHENTICATE, challenge.clone());
        }
        if let Some(id) = self.session_id.as_deref()
            && let Ok(id) = HeaderValue::from_str(id)
        {
            headers.insert(MCP_SESSION_ID.clone(), id);
        }
        if let Some(decision) = &self.rate_limit {
            let mut set = |name: &HeaderName, value: String| {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name.clone(), value);
                }
            };
            set(&RATELIMIT_POLICY, decision.policy_header());
            set(&RATELIMIT, decision.header());
            if !decision.admitted {
                set(&RETRY_AFTER, decision.reset_s.to_string());
            }
        }
        headers
    }
}

static MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
static MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
static MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
static MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// A header's value as text (`Err` when it is not).
fn header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Result<&'h str, ()>> {
    headers.get(name).map(|v| v.to_str().map_err(|_| ()))
}

/// The host name of an origin or a `Host` value, without scheme, port or brackets.
fn host_name(value: &str) -> &str {
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// An `Origin` is allowed when it is listed, or when both it and the `Host`
/// are loopback names: a local page calling a local server (the emulator).
/// A DNS-rebinding page has a foreign `Host` and origin, so it stays out; on
/// AWS the `Host` is always the Function URL's own domain.
fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a == origin)
        || (is_loopback(host_name(origin)) && host.is_some_and(|h| is_loopback(host_name(h))))
}

/// The media type of a `Content-Type` or `Accept` entry, parameters dropped.
fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or("").trim()
}

fn is_json(value: &str) -> bool {
    media_type(value).eq_ignore_ascii_case("application/json")
}

fn accepts_event_stream(accept: &str) -> bool {
    accept
        .split(',')
        .map(media_type)
        .any(|m| m.eq_ignore_ascii_case("text/event-stream"))
}

/// One SSE event carrying a JSON-RPC message.
pub fn push_event(out: &mut String, message: &str) {
    out.push_str("event: message\ndata: ");
    out.push_str(message);
    out.push_str("\n\n");
}

/// One event per notification, then the end of `done`: an event for its
/// reply, or the SSE text of a parked call.
fn push_events(out: &mut String, notifications: &[Value], done: &Exchange) {
    for notification in notifications {
        push_event(out, &notification.to_string());
    }
    let body = done.body.as_deref().unwrap_or("null");
    match done.sse_body {
        true => out.push_str(body),
        false => push_event(out, body),
    }
}

/// A channel for the call's notifications when the client takes SSE (the
/// context's sink then feeds it); `None` leaves them to the default sink.
fn listen(request: &RequestParts<'_>, context: &mut RequestContext) -> Option<Notes> {
    let accepts = header(request.headers, &ACCEPT)
        .and_then(Result::ok)
        .is_some_and(accepts_event_stream);
    accepts.then(|| {
        let (sender, notes) = tokio::sync::mpsc::unbounded_channel();
        context.notify = Arc::new(Channel(sender));
        notes
    })
}

/// A finished call's answer with the notifications it sent in front of its
/// reply, as SSE; a call that sent none stays JSON.
fn with_events(out: &mut Exchange, notes: &mut Notes) {
    let queued = drain(notes);
    if out.body.is_some() && (out.sse_body || !queued.is_empty()) {
        let mut sse = String::new();
        push_events(&mut sse, &queued, out);
        out.body = Some(sse);
        (out.event_stream, out.sse_body) = (true, false);
    }
}

fn accepts_json(accept: &str) -> bool {
    accept.split(',').map(media_type).any(|m| {
        ["application/json", "application/*", "*/*"]
            .iter()
            .any(|ok| m.eq_ignore_ascii_case(ok))
    })
}

/// One HTTP request as a front hands it over.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The path as the front routes it (under an API Gateway stage: without
    /// the stage).
    pub path: &'a str,
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body, decoded (no base64).
    pub body: &'a [u8],
    /// Who the front says is calling, when the front authenticated them
    /// (the IAM context of a Function URL with `AuthType AWS_IAM`).
    pub front_identity: Option<&'a Identity>,
}

/// Handles one HTTP request of the MCP endpoint.
///
/// A client that accepts `text/event-stream` gets the call's progress and
/// log notifications, then the reply, as one SSE body when the call ends
/// (for fronts that cannot stream; [`exchange_streamed`] sends them as
/// they happen).
pub async fn exchange(
    server: &Server,
    config: &HttpConfig,
    auth: &dyn Authenticator,
    request: RequestParts<'_>,
    mut context: RequestContext,
) -> Exchange {
    let notes = listen(&request, &mut context);
    let mut out = exchange_with(server, config, auth, request, context).await;
    if let Some(mut notes) = notes {
        with_events(&mut out, &mut notes);
    }
    out
}

/// Handles one HTTP request of the MCP endpoint for a front that can stream
/// its response (a Function URL with `InvokeMode: RESPONSE_STREAM`).
///
/// The answer is decided lazily. When the call ends before it sends any
/// notification - every error, every quick tool, every client that does not
/// accept SSE - it is [`Streamed::Whole`], exactly what [`exchange`] gives.
/// When a notification comes first, the front commits to `200` and
/// `text/event-stream` ([`Streamed::Events`]) and sends each event as the
/// tool produces it, the reply last. Dropping the events stream drops the
/// call: the tool stops at its next await.
pub async fn exchange_streamed<'a>(
    server: &'a Server,
    config: &'a HttpConfig,
    auth: &'a dyn Authenticator,
    request: RequestParts<'a>,
    mut context: RequestContext,
) -> Streamed<'a> {
    let Some(mut notes) = listen(&request, &mut context) else {
        return Streamed::Whole(exchange_with(server, config, auth, request, context).await);
    };
    // Decided before the tool runs, so known when the first event commits
    // the headers (they cannot follow in trailers).
    let rate_limit = Arc::clone(&context.rate_limit);
    let mut call: PendingExchange<'a> =
        Box::pin(exchange_with(server, config, auth, request, context));
    tokio::select! {
        biased;
        Some(first) = notes.recv() => {
            let head = Exchange {
                rate_limit: rate_limit.get().cloned(),
                event_stream: true,
                ..Exchange::new(StatusCode::OK, Some(String::new()))
            };
            let events = EventStream { first: Some(first), notes, call: Some(call), done: None };
            Streamed::Events { head, events }
        }
        mut out = &mut call => {
            // Notifications sent just before the end, if any, go first.
            with_events(&mut out, &mut notes);
            Streamed::Whole(out)
        }
    }
}

type PendingExchange<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Exchange> + Send + 'a>>;

/// The answer of [`exchange_streamed`].
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per request, moved once into the front: boxing would cost an allocation"
)]
pub enum Streamed<'a> {
    /// The whole answer, as [`exchange`] gives it.
    Whole(Exchange),
    /// A `200` `text/event-stream` answer: `head` has the status and headers
    /// (its body is empty), `events` the body, event by event.
    Events {
        /// Status and headers.
        head: Exchange,
        /// The events.
        events: EventStream<'a>,
    },
}

/// The body of a streamed answer: SSE events as the call produces them.
pub struct EventStream<'a> {
    first: Option<Value>,
    notes: Notes,
    call: Option<PendingExchange<'a>>,
    done: Option<Exchange>,
}

impl std::fmt::Debug for EventStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("running", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl EventStream<'_> {
    /// The next chunk of the body: one or more events (`event: message`,
    /// its data, a blank line) - several when the tool sent its last
    /// notifications as it returned; `None` after the chunk with the reply.
    pub async fn next(&mut self) -> Option<String> {
        let mut out = String::new();
        if let Some(first) = self.first.take() {
            push_event(&mut out, &first.to_string());
            return Some(out);
        }
        let call = self.call.as_mut()?;
        tokio::select! {
            biased;
            Some(note) = self.notes.recv() => {
                push_event(&mut out, &note.to_string());
            }
            mut done = call => {
                self.call = None;
                // What the tool sent before it returned, then the reply.
                let queued = drain(&mut self.notes);
                push_events(&mut out, &queued, &done);
                done.body = None;
                self.done = Some(done);
            }
        }
        Some(out)
    }

    /// The finished exchange (method, tool, rate limit), once the reply was
    /// sent: for the log.
    pub fn finished(&self) -> Option<&Exchange> {
        self.done.as_ref()
    }
}

/// The receiving end of a call's notifications.
type Notes = tokio::sync::mpsc::UnboundedReceiver<Value>;

/// The notifications already queued.
fn drain(notes: &mut Notes) -> Vec<Value> {
    std::iter::from_fn(|| notes.try_recv().ok()).collect()
}

/// A request's notifications, passed on as they come.
struct Channel(tokio::sync::mpsc::UnboundedSender<Value>);

impl Notify for Channel {
    fn send(&self, notification: Value) {
        // The receiver is dropped only with the call: nothing is lost.
        let _ = self.0.send(notification);
    }
}

async fn exchange_with(
    server: &Server,
    config: &HttpConfig,
    auth: &dyn Authenticator,
    request: RequestParts<'_>,
    mut context: RequestContext,
) -> Exchange {
    if matches!(*request.method, Method::GET | Method::HEAD)
        && let Some(document) = auth.document(request.path)
    {
        return Exchange::document(document);
    }
    // A client resuming a parked call's stream (`asking`).
    let resuming = *request.method == Method::GET
        && config.rendezvous.is_some()
        && request.headers.contains_key(&LAST_EVENT_ID);
    if request.method != Method::POST && !resuming {
        return Exchange::refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{} is not served: this stateless MCP endpoint takes POST only",
                request.method
            ),
        );
    }
    let get = |name| header(request.headers, name);
    if let Some(origin) = get(&ORIGIN) {
        let host = get(&HOST).and_then(Result::ok);
        if !origin.is_ok_and(|o| origin_allowed(o, host, &config.allowed_origins)) {
            return Exchange::refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "this Origin is not allowed: browsers may call only from {}",
                    Setting::AllowedOrigins
                ),
            );
        }
    }
    match auth.authenticate(&request).await {
        Ok(identity) => context.identity = identity,
        Err(refusal) => return Exchange::unauthorized(refusal),
    }
    if resuming {
        return resume(server, config, auth, &request, context).await;
    }
    let content_type = get(&CONTENT_TYPE).and_then(Result::ok);
    if !content_type.is_some_and(is_json) {
        return Exchange::refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the JSON-RPC message with Content-Type: application/json",
        );
    }
    if get(&ACCEPT).is_some_and(|accept| !accept.is_ok_and(accepts_json)) {
        return Exchange::refuse(
            StatusCode::NOT_ACCEPTABLE,
            "this endpoint answers with application/json: accept it",
        );
    }
    if request.body.len() > config.max_body_bytes {
        return Exchange::refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {} bytes", config.max_body_bytes),
        );
    }
    let version = match get(&MCP_PROTOCOL_VERSION) {
        None => ProtocolVersion::HTTP_DEFAULT,
        Some(raw) => {
            let raw = raw.unwrap_or("(not text)");
            match ProtocolVersion::parse(raw) {
                Some(v) => v,
                None => {
                    // The error carries the request's id, when it has one.
                    let id = Incoming::parse(request.body).ok().and_then(|m| m.id());
                    let error = mcp_core::meta::unsupported_version(raw);
                    return Exchange::error(StatusCode::BAD_REQUEST, id, error);
                }
            }
        }
    };
    let message = (request.headers, request.body);
    answer(server, config, auth, message, version, context, None).await
}

/// A `GET` with `Last-Event-ID`: the client resumes the stream of a call
/// parked until it answered (`asking`). The stream carries the call's
/// response, or the next round's requests; or, while answers are missing,
/// only the park's id again, so that the client comes back.
async fn resume(
    server: &Server,
    config: &HttpConfig,
    auth: &dyn Authenticator,
    request: &RequestParts<'_>,
    context: RequestContext,
) -> Exchange {
    let Some(asking::RendezvousHandle(rendezvous)) = &config.rendezvous else {
        return Exchange::refuse(StatusCode::METHOD_NOT_ALLOWED, "nothing is parked here");
    };
    let get = |name| header(request.headers, name).and_then(Result::ok);
    if !get(&ACCEPT).is_some_and(accepts_event_stream) {
        return Exchange::refuse(
            StatusCode::NOT_ACCEPTABLE,
            "a stream is resumed as text/event-stream: accept it",
        );
    }
    let Some(id) = get(&LAST_EVENT_ID).and_then(asking::park_of) else {
        return Exchange::refuse(
            StatusCode::BAD_REQUEST,
            "Last-Event-ID names no stream this server sent",
        );
    };
    let caller = context.caller();
    let call = match asking::wait_for(rendezvous.as_ref(), id, &caller, context.deadline).await {
        Ok(asking::Taken::Ready(call)) => call,
        Ok(asking::Taken::Waiting) => {
            let mut sse = String::new();
            asking::push_park(&mut sse, id);
            return Exchange {
                sse_body: true,
                ..Exchange::new(StatusCode::OK, Some(sse))
            };
        }
        Ok(asking::Taken::Gone) => {
            return Exchange::refuse(
                StatusCode::NOT_FOUND,
                "no call of this caller is parked under this Last-Event-ID: it was resumed \
                 already, it expired (10 minutes), or it never was; call the tool again",
            );
        }
        Err(why) => {
            return Exchange::refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the parked call could not be read: {why}"),
            );
        }
    };
    let version = ProtocolVersion::parse(&call.version).unwrap_or(ProtocolVersion::HTTP_DEFAULT);
    let resume = asking::resume_of(&call);
    let message = (request.headers, call.request.as_bytes());
    let mut out = answer(
        server,
        config,
        auth,
        message,
        version,
        context,
        Some(resume),
    )
    .await;
    // A resumed stream carries the response as an event, like any other.
    if !out.sse_body
        && let Some(body) = out.body.take()
    {
        let mut sse = String::new();
        push_event(&mut sse, &body);
        (out.body, out.sse_body, out.status) = (Some(sse), true, StatusCode::OK);
    }
    out
}

/// The core's answer to the request's message, with what the log and the
/// metrics need of it.
async fn answer(
    server: &Server,
    config: &HttpConfig,
    auth: &dyn Authenticator,
    (headers, body): (&HeaderMap, &[u8]),
    version: ProtocolVersion,
    mut context: RequestContext,
    resume: Option<mcp_core::Resume>,
) -> Exchange {
    let message = match Incoming::parse(body) {
        Ok(message) => message,
        Err(e) => {
            return Exchange::error(StatusCode::BAD_REQUEST, None, ErrorObject::parse_error(e));
        }
    };
    // For the log: the method, the tool of a `tools/call`, the trace.
    let method = message.method().map(str::to_owned);
    let tool = message.tool().map(str::to_owned);
    // The request's own trace, else (taken, not copied, once the call is
    // done) the front's.
    let named = message.traceparent().map(str::to_owned);
    if named.is_some() {
        // The request's own trace, for every log line it causes.
        mcp_core::trace::set_current(named.as_deref());
    }
    let modern = version.is_stateless() || message.has_envelope();
    // At 2026-07-28 the routing headers must say what the body says, and a
    // request without a valid `_meta` envelope is malformed: both are 400,
    // with the request's id.
    let refusal = modern
        .then(|| match check_modern_headers(&message, headers) {
            Err(what) => Some(ErrorObject::new(
                ErrorCode::HEADER_MISMATCH,
                format!("Header mismatch: {what}"),
            )),
            Ok(()) => message.envelope_error(),
        })
        .flatten();
    if let Some(error) = refusal {
        let mut out = Exchange::error(StatusCode::BAD_REQUEST, message.id(), error);
        out.outcome = tool.is_some().then_some(CallOutcome::Failed);
        (out.method, out.tool) = (method, tool);
        out.traceparent = named.or(context.traceparent);
        return out;
    }
    let rendezvous = config.rendezvous.as_ref().map(|r| r.0.as_ref());
    // A client's answer to a request of a parked call.
    if let Some(rendezvous) = rendezvous
        && message.method().is_none()
        && let Ok(response) = serde_json::from_slice::<Value>(body)
        && let Some((id, index)) = asking::request_of(&response)
    {
        let caller = context.caller();
        return match rendezvous.answer(id, index, &caller, &response).await {
            Ok(true) => Exchange::new(StatusCode::ACCEPTED, None),
            Ok(false) => Exchange::refuse(
                StatusCode::NOT_FOUND,
                "no call of this caller waits for this answer: it was answered already, \
                 it expired (10 minutes), or it never asked",
            ),
            Err(why) => Exchange::refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the answer could not be kept: {why}"),
            ),
        };
    }
    // At a handshake revision, to a client that takes SSE, a tool may ask:
    // the call is parked where it asks (`asking`). Only a `tools/call`, and
    // not in a batch, whose other answers a parked call would hold back.
    let takes_events = header(headers, &ACCEPT)
        .and_then(Result::ok)
        .is_some_and(accepts_event_stream);
    let asks = tool.is_some() && takes_events && !version.is_stateless() && message.is_object();
    if asks && rendezvous.is_some() {
        let channel = mcp_core::ClientChannel::parking(resume);
        context.extensions.insert(channel);
    }
    let id = message.id();
    let mut session = Session::stateless(version);
    let mut reply = server.handle(&mut session, message, &context).await;
    let traceparent = named.or_else(|| context.traceparent.take());
    let parked = context
        .extensions
        .get::<mcp_core::ClientChannel>()
        .and_then(mcp_core::ClientChannel::take_parked);
    if let (Some(rendezvous), Some(parked)) = (rendezvous, parked) {
        let call = (
            context.caller(),
            version.as_str(),
            String::from_utf8_lossy(body).into_owned(),
        );
        match asking::park(rendezvous, parked, call).await {
            Ok(sse) => {
                return Exchange {
                    outcome: Some(CallOutcome::InputRequired),
                    traceparent,
                    method,
                    tool,
                    rate_limit: context.rate_limit.get().cloned(),
                    sse_body: true,
                    ..Exchange::new(StatusCode::OK, Some(sse))
                };
            }
            Err(why) => {
                let result = mcp_core::model::CallToolResult::error(format!(
                    "the tool asked the client, and the call could not be parked until it answers: {why}"
                ));
                let result = mcp_core::model::ResultEnvelope::plain(
                    mcp_core::model::ServerResult::CallTool(result),
                );
                reply = id.map(|id| Reply::One(Response::result(id, result)));
            }
        }
    }
    let status = match &reply {
        None => StatusCode::ACCEPTED,
        Some(reply) => status_of(reply, modern),
    };
    let initialized = method.as_deref() == Some("initialize")
        && matches!(&reply, Some(Reply::One(response)) if response.body.is_ok());
    Exchange {
        session_id: initialized.then(session_id).flatten(),
        www_authenticate: reply
            .as_ref()
            .and_then(|r| scope_challenge(r, auth.resource_metadata())),
        outcome: tool.is_some().then(|| CallOutcome::of(reply.as_ref())),
        traceparent,
        method,
        tool,
        rate_limit: context.rate_limit.get().cloned(),
        ..Exchange::new(status, reply.map(|r| r.to_json()))
    }
}

/// A fresh `Mcp-Session-Id` for a client that completed `initialize` at a
/// handshake revision: 128 random bits, visible ASCII, as the transport asks
/// ([spec 2025-11-25: session management](https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management)).
/// The server keeps nothing under it: every request stands alone (its own
/// identity, scopes and limits), a request without it is served as well
/// (the spec's 400 is for servers that *require* a session), and `DELETE`
/// is 405, the spec's answer of a server that does not let clients end a
/// session. It lets a client that needs a session name (to open several
/// streams) work with a server no instance of which remembers it.
fn session_id() -> Option<String> {
    mcp_core::ask::random_id("")
}

/// 2026-07-28 over HTTP: the routing headers must say what the body says.
/// The error says which header disagrees.
fn check_modern_headers(message: &Incoming<'_>, headers: &HeaderMap) -> Result<(), &'static str> {
    if !message.is_object() {
        return Ok(()); // a batch: the core refuses it at this revision
    }
    let get = |name| header(headers, name).and_then(Result::ok);
    let envelope_version = message.envelope_version();
    if envelope_version.is_some() && get(&MCP_PROTOCOL_VERSION) != envelope_version {
        return Err(
            "the MCP-Protocol-Version header must equal the request's _meta protocol version",
        );
    }
    let body_method = message.method();
    if body_method.is_some() && get(&MCP_METHOD) != body_method {
        return Err("the Mcp-Method header must equal the body's method");
    }
    if body_method == Some("tools/call") {
        let name = message.tool();
        if name.is_some() && get(&MCP_NAME) != name {
            return Err("the Mcp-Name header must equal the tool name in params.name");
        }
    }
    Ok(())
}

/// The challenge of a request the caller's scopes do not cover (RFC 6750
/// section 3.1): every scope the tool, resource or prompt needs, so that a
/// client can ask for a token that has them.
fn scope_challenge(reply: &Reply, resource_metadata: Option<&str>) -> Option<HeaderValue> {
    let Reply::One(Response {
        body: Err(error), ..
    }) = reply
    else {
        return None;
    };
    if error.code != ErrorCode::INSUFFICIENT_SCOPE {
        return None;
    }
    let data = error.data.as_ref()?;
    // What was refused: a tool, a resource, a prompt (the key the core
    // names it by).
    let kind = ["tool", "resource", "prompt"]
        .into_iter()
        .find(|kind| data.get(kind).is_some())
        .unwrap_or("request");
    let required: Vec<&str> = data
        .get("requiredScopes")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let metadata = resource_metadata
        .map(|url| format!(", resource_metadata=\"{url}\""))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "Bearer error=\"insufficient_scope\", scope=\"{}\"{metadata}, error_description=\"the \
         token lacks a scope this {kind} needs\"",
        required.join(" ")
    ))
    .ok()
}

/// Transport-level failures are 4xx; tool and parameter errors stay 200.
fn status_of(reply: &Reply, modern: bool) -> StatusCode {
    match reply.error_code() {
        Some(
            ErrorCode::PARSE_ERROR
            | ErrorCode::INVALID_REQUEST
            | ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
            | ErrorCode::HEADER_MISMATCH,
        ) => StatusCode::BAD_REQUEST,
        Some(ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY) if modern => StatusCode::BAD_REQUEST,
        Some(ErrorCode::METHOD_NOT_FOUND) if modern => StatusCode::NOT_FOUND,
        Some(ErrorCode::RATE_LIMITED) => StatusCode::TOO_MANY_REQUESTS,
        Some(ErrorCode::RATE_LIMIT_UNAVAILABLE) => StatusCode::SERVICE_UNAVAILABLE,
        Some(ErrorCode::INSUFFICIENT_SCOPE) => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let allowed = vec!["https://app.example".to_owned()];
        assert!(origin_allowed(
            "https://app.example",
            Some("x.lambda-url.eu-central-1.on.aws"),
            &allowed
        ));
        assert!(!origin_allowed(
            "https://evil.example",
            Some("x.lambda-url.eu-central-1.on.aws"),
            &allowed
        ));
        assert!(origin_allowed(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:9000"),
            &[]
        ));
        assert!(origin_allowed("http://[::1]:8080", Some("localhost"), &[]));
        assert!(!origin_allowed(
            "http://localhost:8080",
            Some("x.lambda-url.eu-central-1.on.aws"),
            &[]
        ));
        assert!(
            !origin_allowed("http://evil.example", Some("evil.example:9000"), &[]),
            "DNS rebinding"
        );
        assert!(!origin_allowed(
            "http://evil.example",
            Some("127.0.0.1:9000"),
            &[]
        ));
    }
}
