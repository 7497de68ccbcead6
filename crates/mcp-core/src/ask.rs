//! Server-to-client requests for the handshake revisions (2025-11-25 and
//! older): a tool asks the client for input with the same
//! [`CallContext::ask`](crate::CallContext::ask) as at 2026-07-28, and where
//! the revision has no `input_required` the transport sends each input
//! request as a JSON-RPC request of its own (`elicitation/create`,
//! `sampling/createMessage`, `roots/list`) in the middle of the call, waits
//! for the client's response, and the core runs the tool again with the
//! answers, exactly as a 2026-07-28 retry would bring them.
//!
//! The transport offers this by attaching a [`ClientChannel`] to the
//! request's [`Extensions`](crate::Extensions): on stdio the request is a line
//! on stdout and the answer a line on stdin; over Streamable HTTP the request
//! is an SSE event of the call's response and the answer another POST. A
//! transport that cannot carry them attaches none, and asking stays the
//! error that says the revision lacks it.
//!
//! A transport that cannot wait for the answer (a Lambda invocation, which
//! ends with its response) attaches a *parking* channel instead
//! ([`ClientChannel::parking`]): the call stops where the tool asked, the
//! transport keeps what it needs to go on ([`Parked`]) and sends the
//! requests, and a later request that brings the answers runs the tool again
//! from there ([`Resume`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::mrtr::InputMethod;

/// How many times one call may ask before it is stopped: a tool that asks
/// again and again whatever it is answered must not loop for ever.
pub const MAX_ROUNDS: usize = 8;

/// Why a server-to-client request got no answer the tool can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// The client answered with a JSON-RPC error.
    #[error("the client refused `{method}`: {message} (code {code})")]
    Refused {
        /// The method asked.
        method: String,
        /// The error's code.
        code: i64,
        /// The error's message.
        message: String,
    },
    /// No answer came within the transport's bound.
    #[error(
        "the client did not answer `{method}` within {seconds} s: the call stops here; call it again when the client can answer"
    )]
    TimedOut {
        /// The method asked.
        method: String,
        /// The bound.
        seconds: u64,
    },
    /// The transport cannot deliver the request or its answer (the
    /// connection closed, the answer landed where nobody waits for it).
    #[error("`{method}` could not be delivered: {why}")]
    Undeliverable {
        /// The method asked.
        method: String,
        /// What went wrong.
        why: String,
    },
}

/// A boxed future of a client's answer.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<Value, AskError>> + Send + 'a>>;

/// What a transport implements to carry server-to-client requests.
pub trait ClientRequests: Send + Sync {
    /// Sends `method` with `params` to the client and resolves to the
    /// response's `result`, within a bound the transport chooses.
    fn request<'a>(&'a self, method: &'a str, params: Value) -> Answer<'a>;
}

/// A transport's way to the client, attached to a request's extensions.
#[derive(Clone)]
pub struct ClientChannel {
    requests: Option<Arc<dyn ClientRequests>>,
    capabilities: Option<Map<String, Value>>,
    resume: Option<Resume>,
    parked: Arc<Mutex<Option<Parked>>>,
}

impl std::fmt::Debug for ClientChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientChannel")
            .field("capabilities", &self.capabilities)
            .field("parks", &self.parks())
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// A round a parked call stopped at: what the tool asks, and what it needs
/// to go on once the answers come.
#[derive(Debug, Clone, PartialEq)]
pub struct Parked {
    /// Each request's key (the tool's name for it), method and params, as
    /// they go to the client.
    pub requests: Vec<(String, InputMethod, Value)>,
    /// What the tool kept for the next round.
    pub state: Option<Value>,
    /// The rounds run so far, this one included.
    pub round: usize,
}

/// A client's answer: its `result`, or its error's code and message.
pub type ClientAnswer = Result<Value, (i64, String)>;

/// The answers a parked call goes on with.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    /// Each request's key, method, and the client's `result` or its error's
    /// code and message.
    pub answers: Vec<(String, InputMethod, ClientAnswer)>,
    /// What the tool kept ([`Parked::state`]).
    pub state: Option<Value>,
    /// [`Parked::round`].
    pub round: usize,
}

impl ClientChannel {
    /// A channel through `requests`. `capabilities`: what the client
    /// declared at `initialize`, when the transport knows it; a request the
    /// client did not declare is then never sent. `None`: not known (a
    /// stateless HTTP request), so the client's own refusal decides.
    pub fn new(
        requests: Arc<dyn ClientRequests>,
        capabilities: Option<Map<String, Value>>,
    ) -> Self {
        ClientChannel {
            requests: Some(requests),
            capabilities,
            resume: None,
            parked: Arc::default(),
        }
    }

    /// A channel that parks the call where the tool asks
    /// ([`ClientChannel::take_parked`]) instead of waiting; `resume`: the
    /// answers to the round the call last parked at, when this request
    /// brings them.
    pub fn parking(resume: Option<Resume>) -> Self {
        ClientChannel {
            requests: None,
            capabilities: None,
            resume,
            parked: Arc::default(),
        }
    }

    /// The capabilities the client declared, when known.
    pub fn capabilities(&self) -> Option<&Map<String, Value>> {
        self.capabilities.as_ref()
    }

    /// Whether the call parks where the tool asks.
    pub fn parks(&self) -> bool {
        self.requests.is_none()
    }

    /// The answers this request brings to a parked call.
    pub fn resume(&self) -> Option<&Resume> {
        self.resume.as_ref()
    }

    pub(crate) fn park(&self, parked: Parked) {
        *self
            .parked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(parked);
    }

    /// Where the call parked, if it did: the transport sends the requests
    /// and keeps the rest; the call's own result is then only a placeholder.
    pub fn take_parked(&self) -> Option<Parked> {
        self.parked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Sends one request and waits for its answer.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, AskError> {
        match &self.requests {
            Some(requests) => requests.request(method, params).await,
            None => Err(AskError::Undeliverable {
                method: method.to_owned(),
                why: "this transport parks the call instead of waiting".to_owned(),
            }),
        }
    }
}

/// A fresh id for a server-to-client request: 128 random bits, so that
/// nobody who has not seen the request can answer it.
pub fn random_id(prefix: &str) -> Option<String> {
    Some(format!("{prefix}{}", crate::hex::random::<16>()?))
}
