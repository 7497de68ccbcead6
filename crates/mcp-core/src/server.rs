//! Request dispatch: one message in, at most one reply out.

use serde_json::{Map, Value, json};

use crate::jsonrpc::{self, ErrorCode, ErrorObject, Message, Params, RequestId};
use crate::tool::{CallContext, CallOutcome, Extensions, ToolRegistry};
use crate::{ProtocolVersion, meta};

/// Who this server says it is (`serverInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// A programmatic name.
    pub name: String,
    /// The server's version.
    pub version: String,
    /// A display name (sent from 2025-06-18 on).
    pub title: Option<String>,
}

impl ServerInfo {
    /// Name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ServerInfo {
            name: name.into(),
            version: version.into(),
            title: None,
        }
    }

    fn to_wire(&self, version: ProtocolVersion) -> Value {
        let mut info = json!({ "name": self.name, "version": self.version });
        if let (Some(title), true) = (&self.title, version.has_structured_output()) {
            info["title"] = Value::String(title.clone());
        }
        info
    }
}

/// Whether a cached list may be shared between users (2026-07-28 `cacheScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheScope {
    /// Any cache may serve it to anyone.
    Public,
    /// Only the requesting client may cache it.
    Private,
}

impl CacheScope {
    fn as_str(self) -> &'static str {
        match self {
            CacheScope::Public => "public",
            CacheScope::Private => "private",
        }
    }
}

/// The protocol state of one connection.
///
/// A stdio connection is stateful: `initialize` fixes the revision for the
/// rest of it. A Streamable HTTP request is stateless: its revision comes from
/// the `MCP-Protocol-Version` header and `initialize` changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    version: Option<ProtocolVersion>,
    stateless: bool,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A connection that has not yet sent `initialize` (stdio).
    pub fn new() -> Self {
        Session {
            version: None,
            stateless: false,
        }
    }

    /// One stateless exchange at a revision the transport determined (HTTP).
    pub fn stateless(version: ProtocolVersion) -> Self {
        Session {
            version: Some(version),
            stateless: true,
        }
    }

    /// The negotiated revision, once there is one.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.version
    }
}

/// An MCP server: identity, tools, and the dispatch of every revision.
#[derive(Debug)]
pub struct Server {
    info: ServerInfo,
    instructions: Option<String>,
    tools: ToolRegistry,
    list_ttl_ms: u64,
    list_cache_scope: CacheScope,
}

impl Server {
    /// A server offering `tools`.
    pub fn new(info: ServerInfo, tools: ToolRegistry) -> Self {
        Server {
            info,
            instructions: None,
            tools,
            list_ttl_ms: 60_000,
            list_cache_scope: CacheScope::Private,
        }
    }

    /// Guidance for the model about the server as a whole.
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// How long 2026-07-28 clients may cache `tools/list` and `server/discover`.
    pub fn with_list_cache(mut self, ttl_ms: u64, scope: CacheScope) -> Self {
        self.list_ttl_ms = ttl_ms;
        self.list_cache_scope = scope;
        self
    }

    /// The tools on offer.
    pub fn tools(&self) -> &ToolRegistry {
        &self.tools
    }

    /// Handles one raw message (a stdio line, an HTTP body): the reply, or
    /// `None` when JSON-RPC asks for none (notifications, responses).
    pub fn handle_bytes(
        &self,
        session: &mut Session,
        input: &[u8],
        extensions: &Extensions,
    ) -> Option<Value> {
        match serde_json::from_slice::<Value>(input) {
            Ok(value) => self.handle_value(session, value, extensions),
            Err(e) => Some(jsonrpc::error_response(None, ErrorObject::parse_error(e))),
        }
    }

    /// Handles one parsed message or batch.
    pub fn handle_value(
        &self,
        session: &mut Session,
        value: Value,
        extensions: &Extensions,
    ) -> Option<Value> {
        let Value::Array(items) = value else {
            return self.handle_single(session, value, extensions, false);
        };
        let refuse = |why: String| {
            Some(jsonrpc::error_response(
                None,
                ErrorObject::invalid_request(why),
            ))
        };
        if items.is_empty() {
            return refuse("an empty batch".into());
        }
        match session.version {
            Some(v) if v.allows_batches() => {}
            Some(v) => {
                return refuse(format!(
                    "protocol revision {v} does not allow batches: send one message at a time"
                ));
            }
            None => {
                return refuse(
                    "batches are not accepted before `initialize`: send it alone".into(),
                );
            }
        }
        let replies: Vec<Value> = items
            .into_iter()
            .filter_map(|item| self.handle_single(session, item, extensions, true))
            .collect();
        (!replies.is_empty()).then_some(Value::Array(replies))
    }

    fn handle_single(
        &self,
        session: &mut Session,
        value: Value,
        extensions: &Extensions,
        in_batch: bool,
    ) -> Option<Value> {
        match jsonrpc::classify(value) {
            Err(error) => Some(jsonrpc::error_response(None, error)),
            Ok(Message::Response) => None,
            Ok(Message::Notification { method, .. }) => {
                self.handle_notification(session, &method);
                None
            }
            Ok(Message::Request { id, method, params }) => {
                Some(self.handle_request(session, &id, &method, params, extensions, in_batch))
            }
        }
    }

    fn handle_notification(&self, _session: &mut Session, _method: &str) {
        // `notifications/initialized`, `notifications/cancelled` and unknown
        // notifications need no action: calls finish before the next message
        // is read, and JSON-RPC forbids replying to any notification.
    }

    fn handle_request(
        &self,
        session: &mut Session,
        id: &RequestId,
        method: &str,
        params: Params,
        extensions: &Extensions,
        in_batch: bool,
    ) -> Value {
        match self.dispatch(session, method, params, extensions, in_batch) {
            Ok(result) => jsonrpc::result_response(id, result),
            Err(error) => jsonrpc::error_response(Some(id), error),
        }
    }

    fn dispatch(
        &self,
        session: &mut Session,
        method: &str,
        params: Params,
        extensions: &Extensions,
        in_batch: bool,
    ) -> Result<Value, ErrorObject> {
        let Some(params) = params.into_object() else {
            return Err(ErrorObject::invalid_params(
                "MCP parameters are named: send `params` as an object, not an array",
            ));
        };
        if method == "initialize" {
            return self.initialize(session, &params, in_batch);
        }
        if method == "server/discover" || meta::has_envelope(&params) {
            let version = meta::envelope_version(&params)?;
            let result = self.method(method, params, version, extensions)?;
            return Ok(meta::complete(result, self.info.to_wire(version)));
        }
        let version = match session.version {
            Some(v) if v.is_stateless() => return Err(meta::missing_envelope()),
            Some(v) => v,
            None if method == "ping" => ProtocolVersion::LATEST_HANDSHAKE,
            None => {
                return Err(ErrorObject::invalid_request(
                    "the session is not initialized: send `initialize` first, or use protocol \
                     2026-07-28 with a per-request `_meta` envelope",
                ));
            }
        };
        self.method(method, params, version, extensions)
    }

    fn method(
        &self,
        method: &str,
        params: Map<String, Value>,
        version: ProtocolVersion,
        extensions: &Extensions,
    ) -> Result<Value, ErrorObject> {
        match method {
            "tools/list" => self.list_tools(&params, version),
            "tools/call" => self.call_tool(params, version, extensions),
            "ping" if !version.is_stateless() => Ok(json!({})),
            "server/discover" => Ok(self.discover()),
            _ => Err(ErrorObject::method_not_found(method)),
        }
    }

    fn capabilities() -> Value {
        json!({ "tools": { "listChanged": false } })
    }

    fn initialize(
        &self,
        session: &mut Session,
        params: &Map<String, Value>,
        in_batch: bool,
    ) -> Result<Value, ErrorObject> {
        if in_batch {
            return Err(ErrorObject::invalid_request(
                "`initialize` must not be part of a batch",
            ));
        }
        if !session.stateless && session.version.is_some() {
            return Err(ErrorObject::invalid_request(
                "the session is already initialized: `initialize` is sent once per connection",
            ));
        }
        let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
            return Err(ErrorObject::invalid_params(
                "`initialize` needs `protocolVersion` (a string such as \"2025-11-25\")",
            ));
        };
        // The handshake answers with the client's revision when it is one we
        // serve, else with our newest handshake revision; the client decides
        // whether it can live with that.
        let version = ProtocolVersion::parse(requested)
            .filter(|v| !v.is_stateless())
            .unwrap_or(ProtocolVersion::LATEST_HANDSHAKE);
        if !session.stateless {
            session.version = Some(version);
        }
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": Self::capabilities(),
            "serverInfo": self.info.to_wire(version),
        });
        if let Some(instructions) = &self.instructions {
            result["instructions"] = Value::String(instructions.clone());
        }
        Ok(result)
    }

    fn discover(&self) -> Value {
        let mut result = json!({
            "supportedVersions": ProtocolVersion::supported_names(),
            "capabilities": Self::capabilities(),
            "ttlMs": self.list_ttl_ms,
            "cacheScope": self.list_cache_scope.as_str(),
        });
        if let Some(instructions) = &self.instructions {
            result["instructions"] = Value::String(instructions.clone());
        }
        result
    }

    fn list_tools(
        &self,
        params: &Map<String, Value>,
        version: ProtocolVersion,
    ) -> Result<Value, ErrorObject> {
        if let Some(cursor) = params.get("cursor") {
            // Every tool fits on one page, so no cursor was ever handed out.
            return Err(ErrorObject::invalid_params(format!(
                "unknown cursor {cursor}: `tools/list` has a single page; call it without a cursor"
            )));
        }
        let tools: Vec<Value> = self
            .tools
            .definitions()
            .map(|d| d.to_wire(version))
            .collect();
        let mut result = json!({ "tools": tools });
        if version.is_stateless() {
            result["ttlMs"] = json!(self.list_ttl_ms);
            result["cacheScope"] = json!(self.list_cache_scope.as_str());
        }
        Ok(result)
    }

    fn call_tool(
        &self,
        mut params: Map<String, Value>,
        version: ProtocolVersion,
        extensions: &Extensions,
    ) -> Result<Value, ErrorObject> {
        // The arguments are moved into the tool, not copied.
        let arguments = params.remove("arguments");
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return Err(ErrorObject::invalid_params(
                "`tools/call` needs `name` (a string)",
            ));
        };
        let arguments = match arguments {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(args @ Value::Object(_)) => args,
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "`arguments` must be an object of named arguments",
                ));
            }
        };
        let cx = CallContext {
            protocol_version: version,
            extensions,
        };
        let Some(outcome) = self.tools.call(name, arguments, &cx) else {
            let known: Vec<&str> = self.tools.definitions().map(|d| d.name()).collect();
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                format!(
                    "Unknown tool: {name:?}; available tools: {}",
                    known.join(", ")
                ),
            ));
        };
        Ok(match outcome.map_err(ErrorObject::internal)? {
            CallOutcome::Output(output) => tool_result(output, version),
            CallOutcome::BadArguments(why) => {
                let schema = self
                    .tools
                    .input_schema(name)
                    .cloned()
                    .unwrap_or(Value::Null);
                tool_error(format!(
                    "Invalid arguments for tool `{name}`: {why}. Call it again with arguments \
                     that match its inputSchema: {schema}"
                ))
            }
            CallOutcome::ToolError(message) => tool_error(message),
        })
    }
}

fn tool_result(output: Value, version: ProtocolVersion) -> Value {
    let text = output.to_string();
    let mut result = json!({
        "content": [{ "type": "text", "text": text }],
        "isError": false,
    });
    if version.has_structured_output() {
        result["structuredContent"] = output;
    }
    result
}

fn tool_error(message: String) -> Value {
    json!({ "content": [{ "type": "text", "text": message }], "isError": true })
}
