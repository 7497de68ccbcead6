//! The typed wire model: the JSON-RPC envelope and the MCP request and result
//! shapes this core speaks, shared by the server, the HTTP layer and clients.
//!
//! Every type serialises to exactly what the revision it was built for
//! defines: fields a revision lacks are `None` and are skipped. Results are
//! built per revision by the server ([`crate::Server`]); a client deserialises
//! the same types (unknown fields are ignored, as the specification asks).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::jsonrpc::{ErrorCode, ErrorObject, RequestId};
pub use crate::prompt::{GetPromptResult, PromptArgument, PromptInfo, PromptMessage, Role};
pub use crate::resource::{ResourceInfo, TemplateInfo};
use crate::tool::Annotations;

/// The value with every object's keys in sorted order, whatever the build's
/// serde_json map keeps (insertion order when any crate in the build enables
/// `preserve_order`, as the AWS SDK's test utilities do). For JSON that ends up
/// as text a person or a test compares: schemas, templates.
pub fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// An implementation's identity (`serverInfo`, `clientInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    /// A programmatic name.
    pub name: String,
    /// The implementation's version.
    pub version: String,
    /// A display name (2025-06-18 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Implementation {
    /// Name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Implementation {
            name: name.into(),
            version: version.into(),
            title: None,
        }
    }
}

/// What the server offers (`capabilities`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCapabilities {
    /// Tools, when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolsCapability>,
    /// Resources, when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// Prompts, when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<PromptsCapability>,
    /// `completion/complete` (2025-03-26 on), when there is something to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<Map<String, Value>>,
    /// `logging/setLevel` and `notifications/message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Map<String, Value>>,
}

/// The resources capability.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesCapability {
    /// Whether `resources/subscribe` is served.
    #[serde(default)]
    pub subscribe: bool,
    /// Whether the server announces changes to the list.
    #[serde(default)]
    pub list_changed: bool,
}

/// The prompts capability.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptsCapability {
    /// Whether the server announces changes to the list.
    #[serde(default)]
    pub list_changed: bool,
}

/// The tools capability.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolsCapability {
    /// Whether the server announces changes to the list.
    #[serde(default)]
    pub list_changed: bool,
}

/// Whether a cached list may be shared between users (2026-07-28 `cacheScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// Any cache may serve it to anyone.
    Public,
    /// Only the requesting client may cache it.
    Private,
}

/// `initialize` parameters (2024-11-05 to 2025-11-25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The revision the client asks for.
    pub protocol_version: String,
    /// The client's capabilities.
    #[serde(default)]
    pub capabilities: Map<String, Value>,
    /// Who the client is.
    pub client_info: Implementation,
}

/// The `initialize` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The revision the server chose.
    pub protocol_version: String,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Who the server is.
    pub server_info: Implementation,
    /// Guidance for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// The `server/discover` result (2026-07-28).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Every revision the server serves, newest first.
    pub supported_versions: Vec<String>,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Guidance for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// How long the answer may be cached.
    pub ttl_ms: u64,
    /// Who may share the cached answer.
    pub cache_scope: CacheScope,
}

/// `tools/list` parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListToolsParams {
    /// A cursor from a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One tool as `tools/list` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolInfo {
    /// The name to call it by.
    pub name: String,
    /// A display name (2025-06-18 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of its arguments.
    pub input_schema: Value,
    /// The JSON Schema of `structuredContent` (2025-06-18 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Behaviour hints (2025-03-26 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

/// The `tools/list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListToolsResult {
    /// The tools, in the server's order.
    pub tools: Vec<ToolInfo>,
    /// The next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// 2026-07-28: how long the list may be cached, and by whom.
    #[serde(flatten)]
    pub cache: ListCache,
}

/// A list's cache hints: at 2026-07-28 `ttlMs` and `cacheScope`; none at
/// the handshake revisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCache {
    /// How long the list may be cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Who may share the cached list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
}

/// The `resources/list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResourcesResult {
    /// The resources.
    pub resources: Vec<ResourceInfo>,
    /// 2026-07-28: how long the list may be cached, and by whom.
    #[serde(flatten)]
    pub cache: ListCache,
}

/// The `resources/templates/list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResourceTemplatesResult {
    /// The templates.
    pub resource_templates: Vec<TemplateInfo>,
    /// 2026-07-28: how long the list may be cached, and by whom.
    #[serde(flatten)]
    pub cache: ListCache,
}

/// The `resources/read` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadResourceResult {
    /// The contents (a URI may stand for several).
    pub contents: Vec<ResourceContents>,
    /// 2026-07-28: how long the contents may be cached, and by whom (SEP-2549).
    #[serde(flatten)]
    pub cache: ListCache,
}

/// The `prompts/list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPromptsResult {
    /// The prompts.
    pub prompts: Vec<PromptInfo>,
    /// 2026-07-28: how long the list may be cached, and by whom.
    #[serde(flatten)]
    pub cache: ListCache,
}

/// The `completion/complete` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteResult {
    /// The values.
    pub completion: Completion,
}

/// Completion values: at most 100, with the total when there were more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    /// The values, best first.
    pub values: Vec<String>,
    /// How many there are in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    /// Whether there are more than `values` holds.
    #[serde(default)]
    pub has_more: bool,
}

impl Completion {
    /// The protocol's cap on values per answer.
    pub const MAX_VALUES: usize = 100;

    /// Up to [`Completion::MAX_VALUES`] of `values`, and how many there were.
    pub fn of(mut values: Vec<String>) -> Self {
        let total = values.len();
        values.truncate(Self::MAX_VALUES);
        Completion {
            has_more: total > values.len(),
            total: Some(total),
            values,
        }
    }
}

/// `tools/call` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallToolParams {
    /// The tool.
    pub name: String,
    /// Its arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
}

pub use crate::content::{Content, ResourceBody, ResourceContents, ResourceLink};

/// A JSON value kept as its text: a tool's output, serialised once and
/// written into the reply as it is (no `Value` tree is built for it).
#[derive(Debug, Clone)]
pub struct Json(Box<RawValue>);

impl Json {
    /// Serialises a value.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Json, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Json)
    }

    /// The JSON text, compact.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Whether it is a JSON object.
    pub fn is_object(&self) -> bool {
        self.get().starts_with('{')
    }

    /// As a `Value` (clients, tests).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for Json {
    /// The same JSON value, whatever the member order.
    fn eq(&self, other: &Json) -> bool {
        self.get() == other.get() || self.to_value() == other.to_value()
    }
}

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    /// Read through a `Value`, so that it also reads from one
    /// (`serde_json::from_value`), which a raw value cannot.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Json::of(&value).map_err(serde::de::Error::custom)
    }
}

/// The `tools/call` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// What the model reads.
    pub content: Vec<Content>,
    /// The same, as JSON matching the tool's `outputSchema` (2025-06-18 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Json>,
    /// Whether the tool failed (a failure the model can act on).
    #[serde(default)]
    pub is_error: bool,
}

impl CallToolResult {
    /// A failure for the model.
    pub fn error(message: impl Into<String>) -> Self {
        CallToolResult {
            content: vec![Content::text(message)],
            structured_content: None,
            is_error: true,
        }
    }
}

/// A result with no members (`ping`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyResult {}

/// Every result this server sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ServerResult {
    /// `initialize`.
    Initialize(InitializeResult),
    /// `server/discover`.
    Discover(DiscoverResult),
    /// `tools/list`.
    ListTools(ListToolsResult),
    /// `tools/call`.
    CallTool(CallToolResult),
    /// `resources/list`.
    ListResources(ListResourcesResult),
    /// `resources/templates/list`.
    ListResourceTemplates(ListResourceTemplatesResult),
    /// `resources/read`.
    ReadResource(ReadResourceResult),
    /// `prompts/list`.
    ListPrompts(ListPromptsResult),
    /// `prompts/get`.
    GetPrompt(GetPromptResult),
    /// `completion/complete`.
    Complete(CompleteResult),
    /// `ping`.
    Empty(EmptyResult),
    /// 2026-07-28: `tools/call`, `prompts/get` or `resources/read` needs
    /// input first (`inputRequests`, `requestState`; [`crate::mrtr`]).
    InputRequired(Value),
}

/// A result with, at 2026-07-28, its `resultType` and the server's identity in `_meta`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultEnvelope {
    /// The result.
    #[serde(flatten)]
    pub result: ServerResult,
    /// 2026-07-28: `"complete"` or `"input_required"`.
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<&'static str>,
    /// 2026-07-28: the server's identity.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
}

impl ResultEnvelope {
    /// A result of a handshake revision: nothing added.
    pub fn plain(result: ServerResult) -> Self {
        ResultEnvelope {
            result,
            result_type: None,
            meta: None,
        }
    }

    /// A 2026-07-28 result, complete or `input_required`, stamped with the
    /// server's identity.
    pub fn complete(result: ServerResult, server_info: Implementation) -> Self {
        let result_type = match result {
            ServerResult::InputRequired(_) => "input_required",
            _ => "complete",
        };
        ResultEnvelope {
            result,
            result_type: Some(result_type),
            meta: Some(ResultMeta {
                server_info,
                subscription_id: None,
            }),
        }
    }
}

/// The `_meta` of a 2026-07-28 result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultMeta {
    /// The server's identity.
    #[serde(rename = "io.modelcontextprotocol/serverInfo")]
    pub server_info: Implementation,
    /// `subscriptions/listen`: the subscription the result closes (the
    /// request's JSON-RPC id).
    #[serde(
        rename = "io.modelcontextprotocol/subscriptionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_id: Option<Value>,
}

/// One JSON-RPC response: a result or an error, for a known or unknown id.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The request's id; `None` (sent as `null`) when it could not be read.
    pub id: Option<RequestId>,
    /// The outcome.
    pub body: Result<ResultEnvelope, ErrorObject>,
}

impl Response {
    /// A success.
    pub fn result(id: RequestId, result: ResultEnvelope) -> Self {
        Response {
            id: Some(id),
            body: Ok(result),
        }
    }

    /// A failure.
    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Response {
            id,
            body: Err(error),
        }
    }

    /// The error code, when this is an error.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.body.as_ref().err().map(|e| e.code)
    }
}

impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("id", &self.id)?;
        match &self.body {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

/// What the server sends back for one message: a response, or a batch of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "one reply per message, moved a few times: boxing would cost an allocation per request"
)]
pub enum Reply {
    /// The reply to a single message.
    One(Response),
    /// The replies to a batch (never empty).
    Batch(Vec<Response>),
}

impl Reply {
    /// The error code of a single error reply (a batch has none of its own).
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Reply::One(response) => response.error_code(),
            Reply::Batch(_) => None,
        }
    }

    /// The reply as a JSON value (tests, logs).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The reply as compact JSON text (an HTTP body).
    pub fn to_json(&self) -> String {
        // serde_json writes UTF-8: the check cannot fail, and costs less
        // than the regrowths `serde_json::to_string` starts with.
        String::from_utf8(self.to_vec()).unwrap_or_default()
    }

    /// The reply as compact JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        // Most replies fit: one allocation instead of a series of regrowths.
        let mut out = Vec::with_capacity(512);
        // Serialising these types cannot fail: every map key is a string.
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }
}

/// A request as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientRequest<'a, P> {
    /// Always `"2.0"`.
    pub jsonrpc: &'static str,
    /// The id, echoed in the response.
    pub id: u64,
    /// The method.
    pub method: &'a str,
    /// The parameters.
    pub params: P,
}

impl<'a, P: Serialize> ClientRequest<'a, P> {
    /// A request.
    pub fn new(id: u64, method: &'a str, params: P) -> Self {
        ClientRequest {
            jsonrpc: "2.0",
            id,
            method,
            params,
        }
    }
}

/// A response as a client reads it, with the result still untyped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClientResponse {
    /// The echoed id.
    #[serde(default)]
    pub id: Value,
    /// The result, on success.
    #[serde(default)]
    pub result: Option<Value>,
    /// The error, on failure.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_serialise_as_json_rpc() {
        let ok = Response::result(
            RequestId::from(3),
            ResultEnvelope::plain(ServerResult::Empty(EmptyResult {})),
        );
        assert_eq!(
            serde_json::to_value(&ok).unwrap_or_default(),
            json!({"jsonrpc":"2.0","id":3,"result":{}})
        );
        let err = Response::error(None, ErrorObject::parse_error("eof"));
        assert_eq!(err.error_code(), Some(ErrorCode::PARSE_ERROR));
        assert_eq!(
            serde_json::to_value(&err).unwrap_or_default(),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: eof"}})
        );
    }

    #[test]
    fn complete_results_carry_type_and_server_info() {
        let result = ResultEnvelope::complete(
            ServerResult::CallTool(CallToolResult::error("no")),
            Implementation::new("s", "1"),
        );
        let v = serde_json::to_value(&result).unwrap_or_default();
        assert_eq!(v["resultType"], "complete");
        assert_eq!(
            v["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "s"
        );
        assert_eq!(v["isError"], true);
        let back: CallToolResult = serde_json::from_value(v).unwrap_or_else(|_| CallToolResult {
            content: vec![],
            structured_content: None,
            is_error: false,
        });
        assert_eq!(back, CallToolResult::error("no"));
    }
}
