//! Multi round-trip requests (MCP 2026-07-28, SEP-2322): a tool, a prompt or
//! a resource template asks the client for input - an elicitation, a
//! sampling, the client's roots - by answering `resultType:
//! "input_required"`; the client retries the same request with
//! `inputResponses` and the `requestState` it was given, and the retry reads
//! the answers. No instance keeps anything between the rounds: what the
//! author's code wants to remember travels in the sealed `requestState`.
//!
//! ```no_run
//! use mcp_core::{CallContext, InputRequests, NoArgs, Tool, ToolDefinition, ToolError};
//! # #[derive(serde::Serialize, schemars::JsonSchema)] struct Greeting { text: String }
//! # struct Greet;
//! # impl Tool for Greet {
//! # type Args = NoArgs; type Output = Greeting;
//! # fn definition(&self) -> ToolDefinition { ToolDefinition::new("greet", "Greets you.") }
//! async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Greeting, ToolError> {
//!     let Some(answer) = cx.elicited("name") else {
//!         let schema = serde_json::json!({"type": "object",
//!             "properties": {"name": {"type": "string"}}, "required": ["name"]});
//!         return Err(cx.ask(InputRequests::new().elicit("name", "What is your name?", schema)).into());
//!     };
//!     let name = answer.get("name").and_then(|n| n.as_str()).unwrap_or("stranger");
//!     Ok(Greeting { text: format!("Hello, {name}!") })
//! }
//! # }
//! ```
//!
//! # The sealed `requestState`
//!
//! The spec makes the state attacker-controlled input that the server must
//! verify. Here it is AES-256-GCM (ring) under the deployment's
//! [`StateKey`], a fresh 96-bit random nonce per state, and holds the
//! author's state, the input requests asked (so that the answers are checked
//! against what was asked) and an expiry ([`STATE_TTL`]). The associated data
//! binds it to the request: the method, the tool's (prompt's, resource's)
//! name, a SHA-256 of its arguments in canonical form (keys sorted), and the
//! caller's principal. A state that fails to open - one byte changed, another
//! tool or other arguments, another caller, expired, sealed under another
//! key - is refused with -32602 (invalid params), the code the conformance
//! suite expects for a state that fails its integrity check.
//!
//! A state is not single-use (the spec says so too): within its expiry the
//! same caller may present it again on the same request.
//!
//! # Revisions
//!
//! Only 2026-07-28 has `input_required`. At a handshake revision, where the
//! transport can carry server-to-client requests ([`crate::ask`]), the same
//! [`CallContext::ask`] sends them and the tool runs again with the answers;
//! where it cannot, `ask` gives the author's code an error that says so,
//! which a tool returns as an `isError` result.

use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

use crate::context::CallContext;
use crate::jsonrpc::{ErrorCode, ErrorObject};
use crate::meta::CLIENT_CAPABILITIES_KEY;
use crate::tool::Arguments;

/// How long a `requestState` may be presented after it was sealed: long
/// enough for a person to answer a form, short enough to bound a replay.
pub const STATE_TTL: Duration = Duration::from_secs(600);

/// `-32021`: the request needs a client capability the client did not
/// declare in `_meta` (2026-07-28).
pub const MISSING_CAPABILITY: ErrorCode = ErrorCode(-32021);

/// The format of a sealed state: its first byte, so that a later format can
/// be told apart.
const FORMAT: u8 = 1;

/// Domain separation of the associated data and the key derivation.
const CONTEXT: &[u8] = b"mcp-ladder requestState v1";

/// The key that seals `requestState`: every instance of a deployment must
/// hold the same one, so that any of them can resume a round another began.
/// Its `Debug` shows nothing of it.
pub struct StateKey {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(..)")
    }
}

/// Why a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateKeyError {
    /// The secret is too short to carry 256 bits.
    #[error(
        "the state key's secret has {0} bytes; it needs at least 32 (a random string of 32 or more characters)"
    )]
    TooShort(usize),
    /// The system's random source failed.
    #[error("the system's random source failed")]
    Random,
}

impl StateKey {
    /// A key derived from a deployment's secret (HKDF-SHA256), for example a
    /// random string that Secrets Manager generated: at least 32 bytes.
    pub fn derive(secret: &[u8]) -> Result<StateKey, StateKeyError> {
        if secret.len() < 32 {
            return Err(StateKeyError::TooShort(secret.len()));
        }
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, CONTEXT).extract(secret);
        let info = [CONTEXT];
        let okm = prk
            .expand(&info, &AES_256_GCM)
            .map_err(|_| StateKeyError::Random)?;
        Ok(StateKey {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            rng: SystemRandom::new(),
        })
    }

    /// A random key for this process alone: right only where one process
    /// serves every round of a request (stdio, a single local instance).
    pub fn random() -> Result<StateKey, StateKeyError> {
        let mut secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| StateKeyError::Random)?;
        StateKey::derive(&secret)
    }

    fn seal(&self, binding: &Binding, plain: &[u8]) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.aad()),
                &mut sealed,
            )
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    fn open(&self, binding: &Binding, token: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let (format, rest) = bytes.split_first()?;
        if *format != FORMAT || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(binding.aad()), &mut sealed)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// What a state is bound to: the request it was handed out on and who made it.
/// The arguments' digest is taken only when a state is sealed or opened: a
/// call that neither asks nor resumes (most calls) never reads, sorts and
/// hashes its arguments for it.
#[derive(Debug, Clone)]
pub(crate) struct Binding<'a> {
    method: &'static str,
    name: String,
    arguments: Arguments<'a>,
    digest: OnceLock<[u8; 32]>,
    caller: String,
}

impl<'a> Binding<'a> {
    pub(crate) fn new(
        method: &'static str,
        name: &str,
        arguments: Arguments<'a>,
        caller: &str,
    ) -> Self {
        Binding {
            method,
            name: name.to_owned(),
            arguments,
            digest: OnceLock::new(),
            caller: caller.to_owned(),
        }
    }

    /// The arguments hashed in canonical form (keys sorted, no spaces), so
    /// the same arguments bind alike whatever order a client sends them in.
    fn digest(&self) -> &[u8; 32] {
        self.digest.get_or_init(|| {
            let arguments = self.arguments.to_value();
            let canonical =
                serde_json::to_vec(&crate::model::sort_keys(&arguments)).unwrap_or_default();
            let digest = ring::digest::digest(&ring::digest::SHA256, &canonical);
            let mut hashed = [0u8; 32];
            hashed.copy_from_slice(digest.as_ref());
            hashed
        })
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(CONTEXT.len() + self.name.len() + self.caller.len() + 64);
        for part in [
            CONTEXT,
            self.method.as_bytes(),
            self.name.as_bytes(),
            self.digest(),
            self.caller.as_bytes(),
        ] {
            // Length-prefixed, so that no two bindings share an encoding.
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part);
        }
        aad
    }
}

/// The methods an input request may carry, and the client capability each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMethod {
    /// `elicitation/create`: a form for the user (capability `elicitation`).
    Elicitation,
    /// `sampling/createMessage`: a completion from the client's model
    /// (capability `sampling`).
    Sampling,
    /// `roots/list`: the client's roots (capability `roots`).
    Roots,
}

impl InputMethod {
    /// The method's name on the wire.
    pub const fn method(self) -> &'static str {
        match self {
            InputMethod::Elicitation => "elicitation/create",
            InputMethod::Sampling => "sampling/createMessage",
            InputMethod::Roots => "roots/list",
        }
    }

    /// The client capability it needs.
    pub const fn capability(self) -> &'static str {
        match self {
            InputMethod::Elicitation => "elicitation",
            InputMethod::Sampling => "sampling",
            InputMethod::Roots => "roots",
        }
    }

    /// The method named `method` on the wire, if it is one of these.
    pub fn of(method: &str) -> Option<InputMethod> {
        [
            InputMethod::Elicitation,
            InputMethod::Sampling,
            InputMethod::Roots,
        ]
        .into_iter()
        .find(|m| m.method() == method)
    }

    /// Whether `answer` has the shape of this method's result.
    pub(crate) fn fits(self, answer: &Value) -> bool {
        match self {
            InputMethod::Elicitation => answer
                .get("action")
                .and_then(Value::as_str)
                .is_some_and(|a| matches!(a, "accept" | "decline" | "cancel")),
            InputMethod::Sampling => {
                answer.get("role").is_some_and(Value::is_string)
                    && answer.get("content").is_some_and(|c| !c.is_null())
                    && answer.get("model").is_some_and(Value::is_string)
            }
            InputMethod::Roots => answer.get("roots").is_some_and(Value::is_array),
        }
    }
}

/// What to ask the client for, by key (unique within the request).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputRequests(Map<String, Value>);

impl InputRequests {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A form for the user: `message` and the JSON Schema of the answer (an
    /// object of primitive properties). Read the answer with
    /// [`CallContext::elicited`].
    pub fn elicit(self, key: &str, message: &str, requested_schema: Value) -> Self {
        self.with(
            key,
            InputMethod::Elicitation,
            json!({"mode": "form", "message": message, "requestedSchema": requested_schema}),
        )
    }

    /// A completion of `prompt` by the client's model, at most `max_tokens`.
    /// Read the answer with [`CallContext::sampled_text`].
    pub fn sample(self, key: &str, prompt: &str, max_tokens: u32) -> Self {
        self.with(
            key,
            InputMethod::Sampling,
            json!({
                "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                "maxTokens": max_tokens
            }),
        )
    }

    /// The client's roots. Read the answer with [`CallContext::roots`].
    pub fn list_roots(self, key: &str) -> Self {
        self.with(key, InputMethod::Roots, json!({}))
    }

    fn with(mut self, key: &str, method: InputMethod, params: Value) -> Self {
        self.0.insert(
            key.to_owned(),
            json!({"method": method.method(), "params": params}),
        );
        self
    }

    /// Whether nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn methods(&self) -> impl Iterator<Item = (&String, Option<InputMethod>)> {
        self.0.iter().map(|(key, request)| {
            let method = request["method"].as_str().and_then(InputMethod::of);
            (key, method)
        })
    }
}

/// What [`CallContext::ask`] gives the author's code to return: the server
/// answers `input_required` instead of the result or error. At a revision
/// without multi round-trip requests it is an error with a message that
/// says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputRequired {
    message: String,
}

impl From<InputRequired> for crate::ToolError {
    fn from(asked: InputRequired) -> Self {
        crate::ToolError::new(asked.message)
    }
}

impl From<InputRequired> for crate::PromptError {
    fn from(asked: InputRequired) -> Self {
        crate::PromptError::new(asked.message)
    }
}

impl From<InputRequired> for crate::ResourceReadError {
    fn from(asked: InputRequired) -> Self {
        crate::ResourceReadError::new(asked.message)
    }
}

/// What a round asked, unsealed ([`Round::take_asked`]): each request's
/// key, method and params, and the state to keep.
pub(crate) type Asks = (Vec<(String, InputMethod, Value)>, Option<Value>);

/// What the author's code asked for in this round.
#[derive(Debug)]
struct Asked {
    requests: InputRequests,
    state: Option<Value>,
}

/// One round of a request that may ask for input (2026-07-28): the answers
/// the client brought, the state the previous round left, and what this
/// round asks.
#[derive(Debug)]
pub(crate) struct Round<'k> {
    key: Option<&'k StateKey>,
    binding: Binding<'k>,
    capabilities: Option<Map<String, Value>>,
    responses: Map<String, Value>,
    /// A verified `requestState` came with the request.
    resumed: bool,
    state: Option<Value>,
    asked: Mutex<Option<Asked>>,
    now: SystemTime,
}

impl<'k> Round<'k> {
    /// Opens a round: `retry` holds the request's `inputResponses` and
    /// `requestState` when it is a retry, `meta` the client's capabilities.
    /// A bad `inputResponses` is -32602, and so is a `requestState` that
    /// does not open under `key` for `binding`, has expired, or whose
    /// answers do not fit what it asked.
    pub(crate) fn open(
        key: Option<&'k StateKey>,
        binding: Binding<'k>,
        retry: Option<&Map<String, Value>>,
        meta: Option<&Map<String, Value>>,
        now: SystemTime,
    ) -> Result<Round<'k>, ErrorObject> {
        let responses = match retry.and_then(|r| r.get("inputResponses")) {
            None => Map::new(),
            Some(Value::Object(responses)) => responses.clone(),
            Some(other) => {
                return Err(ErrorObject::invalid_params(format!(
                    "`inputResponses` must be an object of answers by the keys of `inputRequests`; got {other}"
                )));
            }
        };
        if let Some((key, _)) = responses.iter().find(|(_, answer)| !answer.is_object()) {
            return Err(ErrorObject::invalid_params(format!(
                "`inputResponses.{key}` must be an object: the result of the request asked under that key"
            )));
        }
        let capabilities = meta
            .and_then(|meta| meta.get(CLIENT_CAPABILITIES_KEY))
            .and_then(Value::as_object)
            .cloned();
        let mut round = Round {
            key,
            binding,
            capabilities,
            responses,
            resumed: false,
            state: None,
            asked: Mutex::new(None),
            now,
        };
        match retry.and_then(|r| r.get("requestState")) {
            None => {}
            Some(Value::String(token)) => {
                round.state = round.unseal(token)?;
                round.resumed = true;
            }
            Some(_) => return Err(bad_state("it is not a string")),
        }
        Ok(round)
    }

    /// The author's state from the verified `requestState`, after checking
    /// that the answers fit what that round asked.
    fn unseal(&self, token: &str) -> Result<Option<Value>, ErrorObject> {
        let key = self
            .key
            .ok_or_else(|| bad_state("this server seals no state"))?;
        let plain = key
            .open(&self.binding, token)
            .ok_or_else(|| bad_state("it fails its integrity check for this request and caller"))?;
        let payload: Value = serde_json::from_slice(&plain)
            .map_err(|_| bad_state("it fails its integrity check for this request and caller"))?;
        let expires = payload["exp"].as_u64().unwrap_or(0);
        if unix_seconds(self.now) >= expires {
            return Err(bad_state(
                "it has expired: call again without `requestState` and `inputResponses`",
            ));
        }
        if let Some(asked) = payload["asked"].as_object() {
            for (key, method) in asked {
                let method = method.as_str().and_then(InputMethod::of);
                if let (Some(method), Some(answer)) = (method, self.responses.get(key))
                    && !method.fits(answer)
                {
                    return Err(ErrorObject::invalid_params(format!(
                        "`inputResponses.{key}` is not a result of `{}`, which was asked under that key",
                        method.method()
                    )));
                }
            }
        }
        Ok(payload.get("state").cloned())
    }

    /// A round run in this process for a handshake revision
    /// ([`crate::ask`]): the answers the client gave to server-to-client
    /// requests, and the state the previous round kept, both held in memory
    /// (nothing to seal or verify). `capabilities`: what the client declared
    /// at `initialize`, `None` when unknown (then every method may be asked).
    pub(crate) fn local(
        binding: Binding<'static>,
        capabilities: Option<&Map<String, Value>>,
        responses: Map<String, Value>,
        state: Option<Value>,
    ) -> Round<'static> {
        let capabilities = Some(capabilities.cloned().unwrap_or_else(|| {
            [
                InputMethod::Elicitation,
                InputMethod::Sampling,
                InputMethod::Roots,
            ]
            .into_iter()
            .map(|m| (m.capability().to_owned(), json!({})))
            .collect()
        }));
        Round {
            key: None,
            binding,
            capabilities,
            responses,
            resumed: state.is_some(),
            state,
            asked: Mutex::new(None),
            now: SystemTime::now(),
        }
    }

    /// What this round asked, unsealed: each request's key, method and
    /// params, and the state to keep; `None` when it asked nothing. A method
    /// the client did not declare is the `Err` of its capability's name.
    pub(crate) fn take_asked(&self) -> Option<Result<Asks, String>> {
        let asked = self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        let mut requests = Vec::new();
        for (key, request) in asked.requests.0 {
            let Some(method) = request["method"].as_str().and_then(InputMethod::of) else {
                return Some(Err(format!(
                    "input request {key:?} is not elicitation, sampling or roots"
                )));
            };
            if !self.supports(method) {
                return Some(Err(format!(
                    "the client did not declare the `{}` capability, so it cannot be asked for `{}`",
                    method.capability(),
                    method.method()
                )));
            }
            let params = request.get("params").cloned().unwrap_or_else(|| json!({}));
            requests.push((key, method, params));
        }
        Some(Ok((requests, asked.state)))
    }

    /// Whether the client declared the capability `method` needs.
    fn supports(&self, method: InputMethod) -> bool {
        self.capabilities
            .as_ref()
            .is_some_and(|caps| caps.contains_key(method.capability()))
    }

    /// What this round asked, as the `input_required` result (sealing the
    /// state), or `None` when it asked nothing.
    pub(crate) fn input_required(&self) -> Option<Result<Value, ErrorObject>> {
        let asked = self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        Some(self.seal(asked))
    }

    fn seal(&self, asked: Asked) -> Result<Value, ErrorObject> {
        let mut missing = Map::new();
        let mut methods = Map::new();
        for (key, method) in asked.requests.methods() {
            let Some(method) = method else {
                return Err(ErrorObject::internal(format!(
                    "input request {key:?} is not elicitation, sampling or roots"
                )));
            };
            if !self.supports(method) {
                missing.insert(method.capability().to_owned(), json!({}));
            }
            methods.insert(key.clone(), method.method().into());
        }
        if !missing.is_empty() {
            let names: Vec<&str> = missing.keys().map(String::as_str).collect();
            return Err(ErrorObject::new(
                MISSING_CAPABILITY,
                format!(
                    "this request needs the client capabilities {} to ask for input; declare them in \
                     `_meta.{CLIENT_CAPABILITIES_KEY}`",
                    names.join(", ")
                ),
            )
            .with_data(json!({"requiredCapabilities": missing})));
        }
        let key = self.key.ok_or_else(|| {
            ErrorObject::internal(
                "this server has no key to seal `requestState` with, so it cannot ask for input: \
                 give the server a StateKey",
            )
        })?;
        let expires = unix_seconds(self.now) + STATE_TTL.as_secs();
        let mut payload = json!({"exp": expires, "asked": methods});
        if let Some(state) = asked.state {
            payload["state"] = state;
        }
        let plain = serde_json::to_vec(&payload).map_err(ErrorObject::internal)?;
        let token = key
            .seal(&self.binding, &plain)
            .ok_or_else(|| ErrorObject::internal("sealing `requestState` failed"))?;
        let mut result = json!({"requestState": token});
        if !asked.requests.is_empty() {
            result["inputRequests"] = Value::Object(asked.requests.0);
        }
        Ok(result)
    }
}

fn bad_state(why: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "`requestState` is refused: {why}. Send the request again without `requestState` to start over"
    ))
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Multi round-trip requests, as the author's code sees them.
impl<'a> CallContext<'a> {
    /// The client's answer to the input request asked under `key` in the
    /// previous round, as sent (an `ElicitResult`, a `CreateMessageResult`,
    /// a `ListRootsResult`).
    pub fn input(&self, key: &str) -> Option<&'a Value> {
        self.round()?.responses.get(key)
    }

    /// What the author's code kept with [`CallContext::ask_with_state`] in
    /// the previous round, verified; `None` on a first round.
    pub fn input_state(&self) -> Option<&'a Value> {
        self.round()?.state.as_ref()
    }

    /// Whether this request resumes an earlier round: it came with a
    /// `requestState` that this server sealed for this very request and
    /// caller, not yet expired.
    pub fn resumed(&self) -> bool {
        self.round().is_some_and(|round| round.resumed)
    }

    /// The form's content when the user accepted the elicitation asked
    /// under `key`.
    pub fn elicited(&self, key: &str) -> Option<&'a Map<String, Value>> {
        let answer = self.input(key)?;
        (answer.get("action")? == "accept").then_some(())?;
        answer.get("content")?.as_object()
    }

    /// The text of the client's answer to the sampling asked under `key`.
    pub fn sampled_text(&self, key: &str) -> Option<&'a str> {
        self.input(key)?.get("content")?.get("text")?.as_str()
    }

    /// The URIs of the roots the client gave under `key`.
    pub fn roots(&self, key: &str) -> Option<Vec<&'a str>> {
        let roots = self.input(key)?.get("roots")?.as_array()?;
        Some(
            roots
                .iter()
                .filter_map(|r| r.get("uri")?.as_str())
                .collect(),
        )
    }

    /// Whether the client can be asked for `method` (it declared the
    /// capability in this request's `_meta`).
    pub fn can_ask(&self, method: InputMethod) -> bool {
        self.round().is_some_and(|round| round.supports(method))
    }

    /// Asks the client for `requests`; return what this gives (`Err(cx.ask(..).into())`)
    /// and the server answers `input_required`.
    pub fn ask(&self, requests: InputRequests) -> InputRequired {
        self.asking(requests, None)
    }

    /// [`CallContext::ask`], keeping `state` for the next round
    /// ([`CallContext::input_state`]), sealed in the `requestState`.
    pub fn ask_with_state(&self, requests: InputRequests, state: Value) -> InputRequired {
        self.asking(requests, Some(state))
    }

    fn asking(&self, requests: InputRequests, state: Option<Value>) -> InputRequired {
        let Some(round) = self.round() else {
            return InputRequired {
                message: format!(
                    "this asks the client for input (multi round-trip requests), which protocol \
                     revision {} does not have: call it at 2026-07-28",
                    self.protocol_version()
                ),
            };
        };
        *round
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Asked { requests, state });
        InputRequired {
            message: "input required".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StateKey {
        StateKey::derive(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn binding(name: &str, args: Value, caller: &str) -> Binding<'static> {
        Binding::new("tools/call", name, Arguments::Value(args), caller)
    }

    fn params(pairs: Value) -> Map<String, Value> {
        pairs.as_object().cloned().unwrap_or_default()
    }

    fn meta() -> Map<String, Value> {
        params(json!({CLIENT_CAPABILITIES_KEY: {"elicitation": {}, "sampling": {}}}))
    }

    fn open<'k>(
        key: &'k StateKey,
        binding: Binding<'k>,
        retry: &Map<String, Value>,
        now: SystemTime,
    ) -> Result<Round<'k>, ErrorObject> {
        Round::open(Some(key), binding, Some(retry), Some(&meta()), now)
    }

    /// The first round of `binding`: asks for a name with `state`; the
    /// sealed `requestState` it hands out.
    fn first_round(key: &StateKey, binding: Binding<'_>, now: SystemTime) -> String {
        let round = open(key, binding, &params(json!({})), now).unwrap();
        *round.asked.lock().unwrap() = Some(Asked {
            requests: InputRequests::new().elicit("name", "Name?", json!({"type": "object"})),
            state: Some(json!({"step": 1})),
        });
        let result = round.input_required().unwrap().unwrap();
        assert_eq!(
            result["inputRequests"]["name"]["method"],
            "elicitation/create"
        );
        result["requestState"].as_str().unwrap().to_owned()
    }

    fn retry<'k>(
        key: &'k StateKey,
        binding: Binding<'k>,
        state: &str,
        now: SystemTime,
    ) -> Result<Round<'k>, ErrorObject> {
        let answer = json!({"name": {"action": "accept", "content": {"name": "Ada"}}});
        open(
            key,
            binding,
            &params(json!({"inputResponses": answer, "requestState": state})),
            now,
        )
    }

    #[test]
    fn a_state_resumes_the_same_request_of_the_same_caller() {
        let key = key();
        let now = SystemTime::now();
        let args = json!({"b": [1, 2], "a": "x"});
        let state = first_round(&key, binding("t", args, "alice"), now);
        // The same arguments in another order bind alike.
        let reordered = json!({"a": "x", "b": [1, 2]});
        let round = retry(&key, binding("t", reordered, "alice"), &state, now).unwrap();
        assert_eq!(round.state, Some(json!({"step": 1})));
        assert_eq!(round.responses["name"]["content"]["name"], "Ada");
        // Another instance with the same deployment key resumes it too.
        let same = StateKey::derive(&[7u8; 32]).unwrap();
        assert!(
            retry(
                &same,
                binding("t", json!({"a": "x", "b": [1, 2]}), "alice"),
                &state,
                now
            )
            .is_ok()
        );
    }

    fn refused(result: Result<Round<'_>, ErrorObject>) -> ErrorObject {
        let error = result.expect_err("the state must be refused");
        assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{error:?}");
        error
    }

    #[test]
    fn a_state_with_one_byte_changed_is_refused() {
        let key = key();
        let now = SystemTime::now();
        let state = first_round(&key, binding("t", json!({}), "alice"), now);
        let mut raw = URL_SAFE_NO_PAD.decode(&state).unwrap();
        for at in [0, 5, raw.len() / 2, raw.len() - 1] {
            raw[at] ^= 0x01;
            let flipped = URL_SAFE_NO_PAD.encode(&raw);
            refused(retry(&key, binding("t", json!({}), "alice"), &flipped, now));
            raw[at] ^= 0x01;
        }
        let appended = format!("{state}-TAMPERED");
        refused(retry(
            &key,
            binding("t", json!({}), "alice"),
            &appended,
            now,
        ));
        assert!(retry(&key, binding("t", json!({}), "alice"), &state, now).is_ok());
    }

    #[test]
    fn a_state_replayed_elsewhere_is_refused() {
        let key = key();
        let now = SystemTime::now();
        let state = first_round(&key, binding("t", json!({"n": 1}), "alice"), now);
        refused(retry(
            &key,
            binding("other", json!({"n": 1}), "alice"),
            &state,
            now,
        ));
        refused(retry(
            &key,
            binding("t", json!({"n": 2}), "alice"),
            &state,
            now,
        ));
        let caller = refused(retry(
            &key,
            binding("t", json!({"n": 1}), "mallory"),
            &state,
            now,
        ));
        assert!(caller.message.contains("integrity"), "{}", caller.message);
        let prompt = Binding::new(
            "prompts/get",
            "t",
            Arguments::Value(json!({"n": 1})),
            "alice",
        );
        refused(retry(&key, prompt, &state, now));
        let other_key = StateKey::derive(&[8u8; 32]).unwrap();
        refused(retry(
            &other_key,
            binding("t", json!({"n": 1}), "alice"),
            &state,
            now,
        ));
    }

    #[test]
    fn an_expired_state_is_refused() {
        let key = key();
        let then = SystemTime::now() - STATE_TTL - Duration::from_secs(1);
        let state = first_round(&key, binding("t", json!({}), "alice"), then);
        let error = refused(retry(
            &key,
            binding("t", json!({}), "alice"),
            &state,
            SystemTime::now(),
        ));
        assert!(error.message.contains("expired"), "{}", error.message);
        let fresh = then + STATE_TTL - Duration::from_secs(1);
        assert!(retry(&key, binding("t", json!({}), "alice"), &state, fresh).is_ok());
    }

    #[test]
    fn answers_must_fit_what_was_asked() {
        let key = key();
        let now = SystemTime::now();
        let state = first_round(&key, binding("t", json!({}), "alice"), now);
        let wrong = json!({"name": {"roots": []}});
        let error = refused(open(
            &key,
            binding("t", json!({}), "alice"),
            &params(json!({"inputResponses": wrong, "requestState": state})),
            now,
        ));
        assert!(
            error.message.contains("elicitation/create"),
            "{}",
            error.message
        );
        for bad in [json!(null), json!(5), json!({"name": 12345})] {
            refused(open(
                &key,
                binding("t", json!({}), "alice"),
                &params(json!({"inputResponses": bad})),
                now,
            ));
        }
    }

    #[test]
    fn asking_for_an_undeclared_capability_is_refused() {
        let key = key();
        let round = open(
            &key,
            binding("t", json!({}), "alice"),
            &params(json!({})),
            SystemTime::now(),
        )
        .unwrap();
        *round.asked.lock().unwrap() = Some(Asked {
            requests: InputRequests::new().list_roots("roots"),
            state: None,
        });
        let error = round.input_required().unwrap().unwrap_err();
        assert_eq!(error.code, MISSING_CAPABILITY);
        assert_eq!(
            error.data,
            Some(json!({"requiredCapabilities": {"roots": {}}}))
        );
    }

    #[test]
    fn keys_need_32_bytes_and_never_show() {
        assert_eq!(
            StateKey::derive(b"short").err(),
            Some(StateKeyError::TooShort(5))
        );
        assert_eq!(format!("{:?}", key()), "StateKey(..)");
    }
}
