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

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

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
    requests: Arc<dyn ClientRequests>,
    capabilities: Option<Map<String, Value>>,
}

impl std::fmt::Debug for ClientChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientChannel")
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
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
            requests,
            capabilities,
        }
    }

    /// The capabilities the client declared, when known.
    pub fn capabilities(&self) -> Option<&Map<String, Value>> {
        self.capabilities.as_ref()
    }

    /// Sends one request and waits for its answer.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, AskError> {
        self.requests.request(method, params).await
    }
}

/// A fresh id for a server-to-client request: 128 random bits, so that
/// nobody who has not seen the request can answer it.
pub fn random_id(prefix: &str) -> Option<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{prefix}{hex}"))
}
