//! Server-to-client requests over Streamable HTTP at the handshake
//! revisions ([`mcp_core::ask`]): a tool's request goes out as an SSE event
//! of the `tools/call` response stream, and the client's answer comes back
//! as a POST of its own, a JSON-RPC response, which the front hands to the
//! waiting call through a rendezvous by the request's id.
//!
//! The rendezvous here is in process: it delivers an answer only when the
//! POST that carries it is served by the process whose call waits, which is
//! why a front opts in ([`crate::HttpConfig::client_requests`]). A front
//! that serves one request at a time per process (a Lambda instance) never
//! is: its instance is busy with the waiting call, so the answer lands on
//! another instance (or, at a reserved concurrency of 1, is refused with
//! 429); docs/input-required.md designs the rendezvous across instances.
//! Where an answer does not come, the call ends at its bound with an error
//! that says so.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use mcp_core::ask::Answer;
use mcp_core::{AskError, ClientRequests};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// How long a call waits for an answer at most, within the front's deadline.
pub const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// What a call keeps of the front's deadline to write its own answer.
const MARGIN: Duration = Duration::from_millis(500);

/// A client's response: its `result`, or its error's code and message.
type Outcome = Result<Value, (i64, String)>;

/// The calls of this process waiting for an answer, by request id.
static WAITING: LazyLock<Mutex<HashMap<String, oneshot::Sender<Outcome>>>> =
    LazyLock::new(Mutex::default);

fn waiting() -> std::sync::MutexGuard<'static, HashMap<String, oneshot::Sender<Outcome>>> {
    WAITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hands `message`, a JSON-RPC response, to the call of this process that
/// waits for it. `false`: no call here waits for it (it waited out its
/// bound, or it runs in another process).
pub fn deliver(message: &Value) -> bool {
    let Some(id) = message.get("id").and_then(Value::as_str) else {
        return false;
    };
    let Some(waiter) = waiting().remove(id) else {
        return false;
    };
    let outcome = match (message.get("result"), message.get("error")) {
        (Some(result), _) => Ok(result.clone()),
        (None, Some(error)) => Err((
            error["code"].as_i64().unwrap_or(0),
            error["message"].as_str().unwrap_or("no message").to_owned(),
        )),
        (None, None) => return false,
    };
    waiter.send(outcome).is_ok()
}

/// Removes a waiter however its wait ends: nothing is left behind.
struct Waiting(String);

impl Drop for Waiting {
    fn drop(&mut self) {
        waiting().remove(&self.0);
    }
}

/// The requests of one streamed call: events of its stream.
pub(crate) struct StreamAsks {
    pub(crate) events: tokio::sync::mpsc::UnboundedSender<Value>,
    pub(crate) deadline: Option<std::time::Instant>,
}

impl ClientRequests for StreamAsks {
    fn request<'a>(&'a self, method: &'a str, params: Value) -> Answer<'a> {
        Box::pin(async move {
            let undeliverable = |why: &str| AskError::Undeliverable {
                method: method.to_owned(),
                why: why.to_owned(),
            };
            let id = mcp_core::ask::random_id("mcp-ladder-")
                .ok_or_else(|| undeliverable("the system's random source failed"))?;
            let wait = match self.deadline {
                Some(deadline) => deadline
                    .saturating_duration_since(std::time::Instant::now())
                    .saturating_sub(MARGIN)
                    .min(ANSWER_WAIT),
                None => ANSWER_WAIT,
            };
            let (answer, answered) = oneshot::channel();
            waiting().insert(id.clone(), answer);
            let _waiting = Waiting(id.clone());
            let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            self.events
                .send(request)
                .map_err(|_| undeliverable("the response stream is closed"))?;
            match tokio::time::timeout(wait, answered).await {
                Ok(Ok(Ok(result))) => Ok(result),
                Ok(Ok(Err((code, message)))) => Err(AskError::Refused {
                    method: method.to_owned(),
                    code,
                    message,
                }),
                Ok(Err(_)) => Err(undeliverable("its answer was dropped")),
                Err(_) => Err(AskError::Undeliverable {
                    method: method.to_owned(),
                    why: format!(
                        "no answer reached this instance within {} s: the client did not answer, \
                         or its answer was served by another instance, which cannot hand it to \
                         this call",
                        wait.as_secs()
                    ),
                }),
            }
        })
    }
}
