//! What a transport hands the core with each request, and what a tool sees of
//! it: the caller's identity and scopes, values the front attached, a
//! cancellation signal and a sink for progress and log notifications.
//!
//! None of it needs an async runtime: cancellation is a flag with wakers, and
//! the sink is a trait the transport implements (stdio lines, an SSE stream).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use crate::ProtocolVersion;

/// Values a transport attaches to a request for tools to read (for example
/// the IAM identity of the caller of a Function URL).
#[derive(Default)]
pub struct Extensions {
    items: Vec<Box<dyn Any + Send + Sync>>,
}

impl Extensions {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value, replacing one of the same type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.items.retain(|item| !item.is::<T>());
        self.items.push(Box::new(value));
    }

    /// The value of type `T`, if the transport attached one.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.items.iter().find_map(|item| item.downcast_ref::<T>())
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extensions({} items)", self.items.len())
    }
}

/// How the caller was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// A local connection: the user who started the process.
    Local,
    /// SigV4, checked by AWS before the function ran (Function URL `AWS_IAM`).
    AwsIam,
    /// An OAuth bearer token this server validated.
    Bearer,
    /// An AgentCore Gateway that authenticated its own caller and invoked
    /// this function as its Lambda target: the caller is not known here.
    Gateway,
}

/// Who made a request, as the transport authenticated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// How they were authenticated.
    pub scheme: AuthScheme,
    /// The principal: an IAM ARN, a token's `sub`.
    pub principal: String,
    /// The AWS account, when the scheme has one.
    pub account: Option<String>,
    /// The scopes granted; `None` when the scheme has no scopes (IAM, local),
    /// in which case the scheme's own policy already decided.
    pub scopes: Option<Vec<String>>,
}

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

/// A cancellation signal shared by the transport and the tool: the transport
/// cancels (the client sent `notifications/cancelled`, or closed the stream),
/// the tool checks [`Cancellation::is_cancelled`] or awaits
/// [`Cancellation::cancelled`]. The default is [`Cancellation::never`], which
/// costs nothing; a transport that can cancel makes one with
/// [`Cancellation::new`].
#[derive(Clone, Default)]
pub struct Cancellation(Option<Arc<CancelState>>);

impl fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cancellation({})", self.is_cancelled())
    }
}

impl Cancellation {
    /// A signal not yet raised.
    pub fn new() -> Self {
        Cancellation(Some(Arc::default()))
    }

    /// A signal that is never raised (a transport that cannot cancel).
    pub fn never() -> Self {
        Cancellation(None)
    }

    /// Raises the signal and wakes every waiter (nothing, for [`Cancellation::never`]).
    pub fn cancel(&self) {
        let Some(state) = &self.0 else { return };
        state.cancelled.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.wakers());
        for waker in wakers {
            waker.wake();
        }
    }

    /// Whether the signal was raised.
    pub fn is_cancelled(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|state| state.cancelled.load(Ordering::SeqCst))
    }

    /// A future that completes once the signal is raised.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled(self)
    }

    /// The waiters (none can wait on [`Cancellation::never`]: its future
    /// stays pending without registering).
    fn wakers(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        static NONE: Mutex<Vec<Waker>> = Mutex::new(Vec::new());
        // A waker list stays valid even if a holder panicked.
        self.0
            .as_ref()
            .map_or(&NONE, |state| &state.wakers)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The future of [`Cancellation::cancelled`].
#[derive(Debug)]
pub struct Cancelled<'a>(&'a Cancellation);

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.is_cancelled() {
            return Poll::Ready(());
        }
        if self.0.0.is_none() {
            return Poll::Pending; // never raised: nothing will wake it
        }
        {
            let mut wakers = self.0.wakers();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
        }
        // Raised between the first check and the registration: do not sleep.
        if self.0.is_cancelled() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Log levels of `notifications/message` and `logging/setLevel`: the
/// syslog severities of RFC 5424, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detailed debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant.
    Notice,
    /// Something to look at.
    Warning,
    /// An error.
    Error,
    /// A critical condition.
    Critical,
    /// Action must be taken at once.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 8] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
        LogLevel::Alert,
        LogLevel::Emergency,
    ];

    /// The name on the wire (`debug` ... `emergency`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Alert => "alert",
            LogLevel::Emergency => "emergency",
        }
    }

    /// The level of a wire name.
    pub fn parse(name: &str) -> Option<LogLevel> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// `notifications/progress` as a JSON-RPC notification for `version`
/// (`message` only where the revision has it).
pub fn progress_notification(
    version: ProtocolVersion,
    token: &Value,
    progress: f64,
    total: Option<f64>,
    message: Option<&str>,
) -> Value {
    let mut params = serde_json::Map::new();
    params.insert("progressToken".into(), token.clone());
    params.insert("progress".into(), progress.into());
    if let Some(total) = total {
        params.insert("total".into(), total.into());
    }
    if let Some(message) = message.filter(|_| version.has_progress_message()) {
        params.insert("message".into(), message.into());
    }
    serde_json::json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})
}

/// `notifications/message` (a log message) as a JSON-RPC notification.
pub fn log_notification(level: LogLevel, data: &Value) -> Value {
    serde_json::json!({
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {"level": level.as_str(), "data": data}
    })
}

/// Where a tool's progress and log notifications go. The transport decides:
/// interleaved lines on stdio, events of an SSE response over HTTP, nothing
/// when the client cannot receive them. The core builds each notification
/// for the request's revision; the transport only carries it.
pub trait Notify: Send + Sync {
    /// One JSON-RPC notification for the client.
    fn send(&self, notification: Value);
}

/// A sink that drops everything: the default until a transport streams.
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

impl Notify for Discard {
    fn send(&self, _: Value) {}
}

/// What the transport hands the server with one message.
pub struct RequestContext {
    /// Values the front attached (the Lambda invocation, for example).
    pub extensions: Extensions,
    /// Who is calling, when the transport authenticated them.
    pub identity: Option<Identity>,
    /// Raised when the client gives up on the request.
    pub cancellation: Cancellation,
    /// Where notifications go.
    pub notify: Arc<dyn Notify>,
    /// Where a rate-limited call stood against its limit, set by the server
    /// for the transport's headers.
    /// Shared, so that a transport that answers while the call still runs
    /// (a streamed response's headers) can read it.
    pub rate_limit: Arc<std::sync::OnceLock<crate::limits::Decision>>,
    /// The W3C `traceparent` the front established (on Lambda, from the
    /// X-Ray trace header), for calls whose `_meta` carries none.
    pub traceparent: Option<String>,
    /// When the front stops waiting for the answer (on Lambda, the
    /// invocation's `Lambda-Runtime-Deadline-Ms`); `None`: no limit known.
    /// Long tools stop before it, with a margin to write their answer.
    pub deadline: Option<std::time::Instant>,
}

impl Default for RequestContext {
    /// No extensions, no identity, never cancelled, notifications discarded:
    /// one small allocation (the rate-limit slot) per request.
    fn default() -> Self {
        static DISCARD: std::sync::LazyLock<Arc<dyn Notify>> =
            std::sync::LazyLock::new(|| Arc::new(Discard));
        RequestContext {
            extensions: Extensions::new(),
            identity: None,
            cancellation: Cancellation::never(),
            notify: DISCARD.clone(),
            rate_limit: Arc::default(),
            traceparent: None,
            deadline: None,
        }
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("extensions", &self.extensions)
            .field("identity", &self.identity)
            .field("cancellation", &self.cancellation)
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// Who calls, as what spans requests is bound to (a `requestState`, a
    /// parked call): the principal, by scheme; `anonymous` without one.
    pub fn caller(&self) -> String {
        match &self.identity {
            Some(identity) => format!("{:?}:{}", identity.scheme, identity.principal),
            None => "anonymous".to_owned(),
        }
    }

    /// A context with the given extensions.
    pub fn with_extensions(extensions: Extensions) -> Self {
        RequestContext {
            extensions,
            ..Self::default()
        }
    }

    /// The context a tool sees for one call.
    pub fn call<'a>(
        &'a self,
        protocol_version: ProtocolVersion,
        progress_token: Option<&'a Value>,
    ) -> CallContext<'a> {
        CallContext {
            protocol_version,
            request: self,
            progress_token,
            min_log_level: Some(LogLevel::Debug),
            traceparent: self.traceparent.as_deref(),
            round: None,
        }
    }
}

/// What a tool knows about the request that called it.
#[derive(Clone, Copy)]
pub struct CallContext<'a> {
    protocol_version: ProtocolVersion,
    request: &'a RequestContext,
    progress_token: Option<&'a Value>,
    min_log_level: Option<LogLevel>,
    traceparent: Option<&'a str>,
    /// The multi round-trip request this call is a round of (2026-07-28).
    round: Option<&'a crate::mrtr::Round<'a>>,
}

impl fmt::Debug for CallContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("protocol_version", &self.protocol_version)
            .field("identity", &self.request.identity)
            .field("progress_token", &self.progress_token)
            .field("traceparent", &self.traceparent)
            .finish_non_exhaustive()
    }
}

impl<'a> CallContext<'a> {
    /// The revision the request was made at.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol_version
    }

    /// Values the transport attached.
    pub fn extensions(&self) -> &'a Extensions {
        &self.request.extensions
    }

    /// Who is calling, when the transport authenticated them.
    pub fn identity(&self) -> Option<&'a Identity> {
        self.request.identity.as_ref()
    }

    /// Raised when the client gives up; long tools should stop then.
    pub fn cancellation(&self) -> &'a Cancellation {
        &self.request.cancellation
    }

    /// When the front stops waiting for the answer, if it says: a tool that
    /// runs long stops before it, with a margin to write its answer.
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.request.deadline
    }

    /// The call's W3C `traceparent`: the request's `_meta.traceparent`
    /// (SEP-414) when it is well formed, else the front's (on Lambda, the
    /// X-Ray trace); a tool passes it on to what it calls.
    pub fn traceparent(&self) -> Option<&'a str> {
        self.traceparent
    }

    /// The trace id (32 hex digits) of [`CallContext::traceparent`].
    pub fn trace_id(&self) -> Option<&'a str> {
        self.traceparent.and_then(crate::trace::trace_id)
    }

    /// The call's trace is the one `meta` (the request's `_meta`) names,
    /// when it names a well-formed one.
    pub fn with_trace_from(self, meta: Option<&'a serde_json::Map<String, Value>>) -> Self {
        let named = meta
            .and_then(|meta| meta.get(crate::trace::TRACEPARENT_KEY))
            .and_then(Value::as_str)
            .filter(|t| crate::trace::trace_id(t).is_some());
        CallContext {
            traceparent: named.or(self.traceparent),
            ..self
        }
    }

    /// The call is `round` of a multi round-trip request ([`crate::mrtr`]).
    pub(crate) fn with_round(self, round: Option<&'a crate::mrtr::Round<'a>>) -> Self {
        CallContext { round, ..self }
    }

    pub(crate) fn round(&self) -> Option<&'a crate::mrtr::Round<'a>> {
        self.round
    }

    /// Reports progress, when the client asked for it (a `progressToken`).
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        if let Some(token) = self.progress_token {
            self.send(progress_notification(
                self.protocol_version,
                token,
                progress,
                total,
                message,
            ));
        }
    }

    /// Sends a notification of this call, with its trace in `_meta`.
    fn send(&self, mut notification: Value) {
        if let (Some(traceparent), Some(params)) =
            (self.traceparent, notification.get_mut("params"))
        {
            params["_meta"] = serde_json::json!({ crate::trace::TRACEPARENT_KEY: traceparent });
        }
        self.request.notify.send(notification);
    }

    /// Only log messages at `level` or above reach the client (the level the
    /// client set with `logging/setLevel` or in the request's `_meta`); none
    /// when `None`.
    pub fn with_min_log_level(self, level: Option<LogLevel>) -> Self {
        CallContext {
            min_log_level: level,
            ..self
        }
    }

    /// Sends a log message to the client, when it asked for that level.
    pub fn log(&self, level: LogLevel, data: &Value) {
        if self.min_log_level.is_some_and(|min| level >= min) {
            self.send(log_notification(level, data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn extensions_by_type() {
        let mut ext = Extensions::new();
        ext.insert(5u32);
        ext.insert("caller".to_string());
        ext.insert(7u32);
        assert_eq!(ext.get::<u32>(), Some(&7));
        assert_eq!(ext.get::<String>().map(String::as_str), Some("caller"));
        assert_eq!(ext.get::<i8>(), None);
    }

    #[test]
    fn cancellation_wakes_a_waiter() {
        let signal = Cancellation::new();
        let mut fut = std::pin::pin!(signal.cancelled());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(signal.wakers().len(), 1);
        signal.clone().cancel();
        assert!(signal.is_cancelled());
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        assert!(signal.wakers().is_empty());
    }

    #[test]
    fn a_never_signal_stays_down_and_costs_nothing() {
        let never = RequestContext::default().cancellation;
        never.cancel();
        assert!(!never.is_cancelled());
        let mut fut = std::pin::pin!(never.cancelled());
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
        assert!(
            never.wakers().is_empty(),
            "nothing registers on a never signal"
        );
    }

    struct Count(std::sync::atomic::AtomicUsize);
    impl Notify for Count {
        fn send(&self, _: Value) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Collects what it is sent.
    #[derive(Default)]
    struct Sent(Mutex<Vec<Value>>);
    impl Notify for Sent {
        fn send(&self, note: Value) {
            self.0.lock().unwrap().push(note);
        }
    }

    #[test]
    fn a_calls_notifications_carry_its_trace() {
        let sink = Arc::new(Sent::default());
        let front = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let named = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let request = RequestContext {
            notify: sink.clone(),
            traceparent: Some(front.into()),
            ..RequestContext::default()
        };
        let token = Value::from(1);
        let cx = request.call(ProtocolVersion::V2025_11_25, Some(&token));
        assert_eq!(cx.trace_id(), Some("0af7651916cd43dd8448eb211c80319c"));
        let meta = serde_json::json!({"traceparent": named});
        let cx = cx.with_trace_from(meta.as_object());
        assert_eq!(cx.traceparent(), Some(named));
        cx.progress(1.0, None, None);
        cx.log(LogLevel::Info, &Value::from("hi"));
        let bad = serde_json::json!({"traceparent": "01-zz"});
        let kept = request
            .call(ProtocolVersion::V2025_11_25, None)
            .with_trace_from(bad.as_object());
        assert_eq!(
            kept.traceparent(),
            Some(front),
            "a malformed one is ignored"
        );
        let sent = sink.0.lock().unwrap();
        assert_eq!(sent.len(), 2);
        for note in sent.iter() {
            assert_eq!(note["params"]["_meta"]["traceparent"], named, "{note}");
        }
        let untraced = RequestContext::default();
        assert_eq!(
            untraced.call(ProtocolVersion::V2025_11_25, None).trace_id(),
            None
        );
    }

    #[test]
    fn progress_needs_a_token() {
        let sink = Arc::new(Count(Default::default()));
        let request = RequestContext {
            notify: sink.clone(),
            ..RequestContext::default()
        };
        request
            .call(ProtocolVersion::V2025_11_25, None)
            .progress(1.0, None, None);
        let token = Value::from(7);
        request
            .call(ProtocolVersion::V2025_11_25, Some(&token))
            .progress(1.0, Some(2.0), Some("half"));
        assert_eq!(sink.0.load(Ordering::SeqCst), 1);
    }
}
