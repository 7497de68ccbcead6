//! Server-to-client requests over Streamable HTTP at the handshake
//! revisions ([`mcp_core::ask`]), on a front whose requests cannot wait for
//! each other (a Lambda invocation ends with its response; the client's
//! answer is another invocation, usually on another instance).
//!
//! A call that asks is *parked*, as the Streamable HTTP transport lets a
//! server close a stream and the client resume it (MCP 2025-11-25, "Resumability
//! and Redelivery"; SEP-1699):
//!
//! 1. The `tools/call` POST runs the tool until it asks. The front writes what
//!    the call needs to go on to a [`Rendezvous`] (the request, the caller,
//!    the round, what the tool kept; 10 minutes at most), then answers with
//!    SSE: the call's notifications, each request to the client (id
//!    `mcp-ladder-<park id>.<n>`), and an event with `id: mcp-ladder-<park id>`,
//!    a `retry` and no data. The stream ends without the call's response.
//! 2. The client answers each request with a POST of its own; whichever
//!    instance serves it writes the answer to the parked call, if the call
//!    exists, is the same caller's, and has no answer there yet (202; else
//!    404).
//! 3. The client reconnects with `GET` and `Last-Event-ID: mcp-ladder-<park id>`.
//!    Whichever instance serves it takes the parked call once every answer is
//!    in (waiting for them a bounded time), and runs the tool again with the
//!    answers, as the core does for a 2026-07-28 retry: the stream carries the
//!    call's response, or the next round's requests and a new id.
//!
//! No invocation waits for a person to answer: each ends at once, and the
//! parked call is data. The rendezvous is in process ([`InProcess`]: one
//! instance, or a long-lived server) or a DynamoDB table the instances share
//! (`mcp-lambda`). The park id is 128 random bits, so only someone who read
//! the stream can answer or resume, and both must be the call's caller.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcp_core::{InputMethod, Parked, Resume};
use serde_json::{Value, json};

/// How long a parked call waits for its answers: the lifetime of a
/// 2026-07-28 `requestState`, for the same reason (a person may be asked).
pub const PARK_FOR: Duration = Duration::from_secs(600);

/// The `retry` (milliseconds) a parked call's stream gives the client: long
/// enough for its answers to be written first, short enough not to be felt.
pub const RETRY_MS: u64 = 300;

/// How long a resuming `GET` waits for answers that are not all in before
/// it ends its stream (with the same id, so the client comes back).
pub const RESUME_WAIT: Duration = Duration::from_secs(10);

/// How often a resuming `GET` looks again.
const POLL: Duration = Duration::from_millis(200);

/// The prefix of every park id and request id this front sends.
pub const ID_PREFIX: &str = "mcp-ladder-";

/// A call parked until the client answers what it asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ParkedCall {
    /// 128 random bits in hex: the stream's event id and its requests' ids.
    pub id: String,
    /// Who called; only they may answer or resume.
    pub caller: String,
    /// The protocol revision of the call.
    pub version: String,
    /// The JSON-RPC request, as the client sent it.
    pub request: String,
    /// Each request's key and method, in the order of their ids.
    pub asked: Vec<(String, InputMethod)>,
    /// What the tool kept for the next round.
    pub state: Option<Value>,
    /// The rounds run so far.
    pub round: usize,
    /// When the call is given up (seconds since the epoch).
    pub expires: u64,
    /// The client's responses, by request: `None` until it answers.
    pub answers: Vec<Option<Value>>,
}

/// What [`Rendezvous::take`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// Every request is answered: the call, removed from the rendezvous.
    Ready(Box<ParkedCall>),
    /// The call waits for more answers.
    Waiting,
    /// No such call for this caller: finished, expired, or never parked.
    Gone,
}

/// Why the rendezvous could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RendezvousError(pub String);

/// A boxed future of the rendezvous.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, RendezvousError>> + Send + 'a>>;

/// Where parked calls wait for their answers, shared by every process that
/// may serve the client's next request.
pub trait Rendezvous: Send + Sync {
    /// Keeps `call` until it expires.
    fn park<'a>(&'a self, call: &'a ParkedCall) -> Pending<'a, ()>;
    /// Writes the client's `response` to request `index` of call `id`, if
    /// the call exists, is `caller`'s, has not expired, and has no answer
    /// there yet; `false` when it is not so.
    fn answer<'a>(
        &'a self,
        id: &'a str,
        index: usize,
        caller: &'a str,
        response: &'a Value,
    ) -> Pending<'a, bool>;
    /// Takes call `id` of `caller` once every request is answered.
    fn take<'a>(&'a self, id: &'a str, caller: &'a str) -> Pending<'a, Taken>;
}

/// A handle on the front's rendezvous, for [`crate::HttpConfig`].
#[derive(Clone)]
pub struct RendezvousHandle(pub Arc<dyn Rendezvous>);

impl std::fmt::Debug for RendezvousHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RendezvousHandle")
    }
}

impl PartialEq for RendezvousHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RendezvousHandle {}

/// Seconds since the epoch.
pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A rendezvous in this process: enough for one instance, or a server that
/// serves many requests at once.
#[derive(Debug, Default)]
pub struct InProcess(Mutex<HashMap<String, ParkedCall>>);

impl InProcess {
    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, ParkedCall>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Rendezvous for InProcess {
    fn park<'a>(&'a self, call: &'a ParkedCall) -> Pending<'a, ()> {
        let now = now_s();
        let mut calls = self.calls();
        calls.retain(|_, c| c.expires > now);
        calls.insert(call.id.clone(), call.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn answer<'a>(
        &'a self,
        id: &'a str,
        index: usize,
        caller: &'a str,
        response: &'a Value,
    ) -> Pending<'a, bool> {
        let now = now_s();
        let mut calls = self.calls();
        let slot = calls
            .get_mut(id)
            .filter(|c| c.caller == caller && c.expires > now)
            .and_then(|c| c.answers.get_mut(index))
            .filter(|a| a.is_none());
        let written = slot.map(|a| *a = Some(response.clone())).is_some();
        Box::pin(std::future::ready(Ok(written)))
    }

    fn take<'a>(&'a self, id: &'a str, caller: &'a str) -> Pending<'a, Taken> {
        let now = now_s();
        let mut calls = self.calls();
        let taken = match calls.get(id) {
            Some(c) if c.caller == caller && c.expires > now => {
                match c.answers.iter().all(Option::is_some) {
                    true => calls
                        .remove(id)
                        .map_or(Taken::Gone, |c| Taken::Ready(Box::new(c))),
                    false => Taken::Waiting,
                }
            }
            _ => Taken::Gone,
        };
        Box::pin(std::future::ready(Ok(taken)))
    }
}

/// The park id and request index of a client's response to one of our
/// requests (`mcp-ladder-<id>.<n>`).
pub(crate) fn request_of(response: &Value) -> Option<(&str, usize)> {
    let id = response.get("id")?.as_str()?.strip_prefix(ID_PREFIX)?;
    let (park, index) = id.split_once('.')?;
    Some((park, index.parse().ok()?))
}

/// The park id a `Last-Event-ID` names.
pub(crate) fn park_of(last_event_id: &str) -> Option<&str> {
    last_event_id
        .strip_prefix(ID_PREFIX)
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parks the call `parked` stopped at, and gives the SSE text that asks
/// the client (the requests, then the event that names the park).
pub(crate) async fn park(
    rendezvous: &dyn Rendezvous,
    parked: Parked,
    (caller, version, request): (String, &str, String),
) -> Result<String, RendezvousError> {
    let id = mcp_core::ask::random_id("")
        .ok_or_else(|| RendezvousError("the system's random source failed".to_owned()))?;
    let mut sse = String::new();
    for (index, (_, method, params)) in parked.requests.iter().enumerate() {
        let message = json!({
            "jsonrpc": "2.0",
            "id": format!("{ID_PREFIX}{id}.{index}"),
            "method": method.method(),
            "params": params,
        });
        crate::push_event(&mut sse, &message.to_string());
    }
    push_park(&mut sse, &id);
    let call = ParkedCall {
        asked: parked
            .requests
            .iter()
            .map(|(k, m, _)| (k.clone(), *m))
            .collect(),
        answers: vec![None; parked.requests.len()],
        id,
        caller,
        version: version.to_owned(),
        request,
        state: parked.state,
        round: parked.round,
        expires: now_s() + PARK_FOR.as_secs(),
    };
    rendezvous.park(&call).await?;
    Ok(sse)
}

/// The event that ends a parked call's stream: its id, the reconnection
/// delay, no data (clients skip it as a message).
pub(crate) fn push_park(out: &mut String, id: &str) {
    out.push_str("id: ");
    out.push_str(ID_PREFIX);
    out.push_str(id);
    out.push_str("\nretry: ");
    out.push_str(&RETRY_MS.to_string());
    out.push_str("\ndata: \n\n");
}

/// Waits (bounded by [`RESUME_WAIT`] and the front's `deadline`) until the
/// parked call `id` has every answer, and takes it.
pub(crate) async fn wait_for(
    rendezvous: &dyn Rendezvous,
    id: &str,
    caller: &str,
    deadline: Option<Instant>,
) -> Result<Taken, RendezvousError> {
    let mut until = Instant::now() + RESUME_WAIT;
    if let Some(deadline) = deadline {
        until = until.min(
            deadline
                .checked_sub(Duration::from_secs(1))
                .unwrap_or(deadline),
        );
    }
    loop {
        match rendezvous.take(id, caller).await? {
            Taken::Waiting if Instant::now() + POLL < until => tokio::time::sleep(POLL).await,
            taken => return Ok(taken),
        }
    }
}

/// What the tool resumes with: each answer as the client sent it.
pub(crate) fn resume_of(call: &ParkedCall) -> Resume {
    let answers = call
        .asked
        .iter()
        .zip(&call.answers)
        .map(|((key, method), response)| {
            let response = response.as_ref().unwrap_or(&Value::Null);
            let answer = match (response.get("result"), response.get("error")) {
                (Some(result), _) => Ok(result.clone()),
                (None, Some(error)) => Err((
                    error["code"].as_i64().unwrap_or(0),
                    error["message"].as_str().unwrap_or("no message").to_owned(),
                )),
                (None, None) => Err((0, "the response has neither result nor error".to_owned())),
            };
            (key.clone(), *method, answer)
        })
        .collect();
    Resume {
        answers,
        state: call.state.clone(),
        round: call.round,
    }
}
