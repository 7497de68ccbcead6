//! Request dispatch: one message in, at most one reply out.

use serde_json::{Map, Value};

use crate::context::{LogLevel, RequestContext};
use crate::incoming::{Incoming, Repr, ToolCallRequest};
use crate::jsonrpc::{self, ErrorCode, ErrorObject, Message, Params, RequestId};
use crate::limits::{Call, CountError, Counter, InProcess, Limits};
use crate::model::{
    CacheScope, CallToolResult, CompleteResult, Completion, Content, DiscoverResult, EmptyResult,
    Implementation, InitializeResult, Json, ListCache, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PromptsCapability,
    ReadResourceResult, Reply, ResourcesCapability, Response, ResultEnvelope, ServerCapabilities,
    ServerResult, ToolsCapability,
};
use crate::prompt::{PromptArguments, Prompts};
use crate::resource::{self, Resources};
use crate::scopes::{BASELINE, ScopesError, ToolScopes};
use crate::tool::{Arguments, CallOutcome, ToolRegistry};

mod asking;
use crate::{ProtocolVersion, meta};

/// Who this server says it is (`serverInfo`).
pub type ServerInfo = Implementation;

impl Implementation {
    /// The identity as the given revision shows it (`title` from 2025-06-18 on).
    fn for_version(&self, version: ProtocolVersion) -> Implementation {
        Implementation {
            title: self
                .title
                .clone()
                .filter(|_| version.has_structured_output()),
            ..self.clone()
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
    log_level: Option<LogLevel>,
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
            log_level: None,
        }
    }

    /// One stateless exchange at a revision the transport determined (HTTP).
    pub fn stateless(version: ProtocolVersion) -> Self {
        Session {
            version: Some(version),
            stateless: true,
            log_level: None,
        }
    }

    /// The negotiated revision, once there is one.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.version
    }
}

/// How long 2026-07-28 clients may cache `tools/list` and `server/discover`.
const LIST_TTL_MS: u64 = 60_000;
/// Who may cache them: the lists depend on the caller (its scopes).
const LIST_CACHE_SCOPE: CacheScope = CacheScope::Private;

/// How many messages one JSON-RPC batch may hold by default: a batch runs
/// its calls one after the other within one request, so without a bound one
/// small body could run thousands of tool calls.
pub const DEFAULT_MAX_BATCH: usize = 20;

/// An MCP server: identity, tools, and the dispatch of every revision.
#[derive(Debug)]
pub struct Server {
    info: ServerInfo,
    instructions: Option<String>,
    tools: ToolRegistry,
    resources: Resources,
    prompts: Prompts,
    limits: Option<(Limits, Box<dyn Counter>)>,
    max_batch: usize,
    /// The scopes per resource (by URI or template pattern) and per prompt
    /// that replace [`crate::scopes::BASELINE`].
    resource_scopes: ToolScopes,
    prompt_scopes: ToolScopes,
    /// Seals the `requestState` of multi round-trip requests.
    state_key: Option<crate::mrtr::StateKey>,
}

/// What one batch remembers across its messages: the tools whose rate limit
/// already refused this caller, so that the rest of the batch neither counts
/// them again (a refused conditional write still costs the store a write)
/// nor runs them.
#[derive(Debug, Default)]
struct Batch {
    refused: std::sync::Mutex<Vec<(String, ErrorObject)>>,
}

impl Batch {
    fn refused(&self, tool: &str) -> Option<ErrorObject> {
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        refused
            .iter()
            .find(|(t, _)| t == tool)
            .map(|(_, error)| error.clone())
    }

    fn remember(&self, tool: &str, error: &ErrorObject) {
        self.refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((tool.to_owned(), error.clone()));
    }
}

impl Server {
    /// A server offering `tools`.
    pub fn new(info: ServerInfo, tools: ToolRegistry) -> Self {
        Server {
            info,
            instructions: None,
            tools,
            resources: Resources::new(),
            prompts: Prompts::new(),
            limits: None,
            max_batch: DEFAULT_MAX_BATCH,
            resource_scopes: ToolScopes::new(),
            prompt_scopes: ToolScopes::new(),
            state_key: None,
        }
    }

    /// Lets tools, prompts and resource templates ask the client for input
    /// at 2026-07-28 ([`crate::mrtr`]), sealing `requestState` with `key`:
    /// the key every instance of the deployment holds. Without one, asking
    /// is an internal error.
    pub fn with_state_key(mut self, key: crate::mrtr::StateKey) -> Self {
        self.state_key = Some(key);
        self
    }

    /// Bounds the messages of one JSON-RPC batch (at least 1; default
    /// [`DEFAULT_MAX_BATCH`]): a larger batch is refused whole, -32600, and
    /// none of it runs.
    pub fn with_max_batch(mut self, max: usize) -> Self {
        self.max_batch = max.max(1);
        self
    }

    /// Limits `tools/call` per caller and tool, counted in this process.
    /// The caller is the request's identity (its principal), else `local`.
    pub fn with_rate_limits(self, limits: Limits) -> Self {
        self.with_rate_limit_counter(limits, Box::new(InProcess::default()))
    }

    /// Limits `tools/call` per caller and tool, counted by `counter` (a store
    /// that instances share, on Lambda).
    pub fn with_rate_limit_counter(mut self, limits: Limits, counter: Box<dyn Counter>) -> Self {
        self.limits = Some((limits, counter));
        self
    }

    /// Guidance for the model about the server as a whole.
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Offers `resources` (the capability is offered when there are any).
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// Offers `prompts` (the capability is offered when there are any).
    pub fn with_prompts(mut self, prompts: Prompts) -> Self {
        self.prompts = prompts;
        self
    }

    /// Overrides the scopes of the named tools (a deployment's overrides,
    /// [`crate::scopes::parse`]); `Err` ([`crate::scopes::ScopesError::UnknownTool`])
    /// names a tool the server does not have.
    pub fn with_tool_scopes(
        mut self,
        scopes: crate::scopes::ToolScopes,
    ) -> Result<Self, crate::scopes::ScopesError> {
        self.tools.set_scopes(scopes)?;
        Ok(self)
    }

    /// Sets the scopes the named resources need instead of
    /// [`crate::scopes::BASELINE`], by a fixed resource's URI or a
    /// template's pattern; `Err` ([`ScopesError::Unknown`]) names one the
    /// server does not offer. Call it after [`Server::with_resources`].
    pub fn with_resource_scopes(mut self, scopes: ToolScopes) -> Result<Self, ScopesError> {
        known("resource", &scopes, self.resources.entries().collect())?;
        self.resource_scopes = scopes;
        Ok(self)
    }

    /// Sets the scopes the named prompts need instead of
    /// [`crate::scopes::BASELINE`]; `Err` ([`ScopesError::Unknown`]) names
    /// one the server does not offer. Call it after [`Server::with_prompts`].
    pub fn with_prompt_scopes(mut self, scopes: ToolScopes) -> Result<Self, ScopesError> {
        known("prompt", &scopes, self.prompts.names().collect())?;
        self.prompt_scopes = scopes;
        Ok(self)
    }

    /// Every scope the resources and prompts need, each once (for a
    /// resource server's published `scopes_supported`).
    pub fn content_scopes(&self) -> Vec<&str> {
        let resources = self
            .resources
            .entries()
            .map(|entry| Self::scopes_of(&self.resource_scopes, Some(entry)));
        let prompts = self
            .prompts
            .names()
            .map(|name| Self::scopes_of(&self.prompt_scopes, Some(name)));
        let mut all: Vec<&str> = Vec::new();
        for scope in resources.chain(prompts).flatten() {
            if !all.contains(&scope) {
                all.push(scope);
            }
        }
        all
    }

    /// The tools on offer.
    pub fn tools(&self) -> &ToolRegistry {
        &self.tools
    }

    /// Handles one raw message (a stdio line, an HTTP body): the reply, or
    /// `None` when JSON-RPC asks for none (notifications, responses).
    pub async fn handle_bytes(
        &self,
        session: &mut Session,
        input: &[u8],
        request: &RequestContext,
    ) -> Option<Reply> {
        match Incoming::parse(input) {
            Ok(message) => self.handle(session, message, request).await,
            Err(e) => Some(Reply::One(Response::error(
                None,
                ErrorObject::parse_error(e),
            ))),
        }
    }

    /// Handles one parsed message or batch.
    pub async fn handle_value(
        &self,
        session: &mut Session,
        value: Value,
        request: &RequestContext,
    ) -> Option<Reply> {
        self.handle(session, Incoming::from_value(value), request)
            .await
    }

    /// Handles one message or batch, parsed by [`Incoming::parse`].
    pub async fn handle(
        &self,
        session: &mut Session,
        message: Incoming<'_>,
        request: &RequestContext,
    ) -> Option<Reply> {
        let value = match message.0 {
            Repr::Call(call) => {
                let id = call.id.clone();
                let body = self.typed_call(session, call, request).await;
                return Some(Reply::One(Response { id: Some(id), body }));
            }
            Repr::Value(value) => value,
        };
        let Value::Array(items) = value else {
            return self
                .handle_single(session, value, request, None)
                .await
                .map(Reply::One);
        };
        let refuse = |why: String| {
            Some(Reply::One(Response::error(
                None,
                ErrorObject::invalid_request(why),
            )))
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
        if items.len() > self.max_batch {
            return refuse(format!(
                "a batch of {} messages is over this server's limit of {}: send at most {} \
                 per batch (nothing in this one was run)",
                items.len(),
                self.max_batch,
                self.max_batch
            ));
        }
        let batch = Batch::default();
        let mut replies = Vec::new();
        for item in items {
            if let Some(reply) = self
                .handle_single(session, item, request, Some(&batch))
                .await
            {
                replies.push(reply);
            }
        }
        (!replies.is_empty()).then_some(Reply::Batch(replies))
    }

    async fn handle_single(
        &self,
        session: &mut Session,
        value: Value,
        request: &RequestContext,
        batch: Option<&Batch>,
    ) -> Option<Response> {
        match jsonrpc::classify(value) {
            Err(error) => Some(Response::error(None, error)),
            Ok(Message::Response) => None,
            // `notifications/initialized`, `notifications/cancelled` and
            // unknown notifications need no action here: a transport that runs
            // calls concurrently cancels them through the request's
            // cancellation, and JSON-RPC forbids replying to any notification.
            Ok(Message::Notification { .. }) => None,
            Ok(Message::Request { id, method, params }) => {
                let body = self
                    .dispatch(session, &id, &method, params, request, batch)
                    .await;
                Some(Response { id: Some(id), body })
            }
        }
    }

    async fn dispatch(
        &self,
        session: &mut Session,
        id: &RequestId,
        method: &str,
        params: Params,
        request: &RequestContext,
        batch: Option<&Batch>,
    ) -> Result<ResultEnvelope, ErrorObject> {
        let Some(params) = params.into_object() else {
            return Err(ErrorObject::invalid_params(
                "MCP parameters are named: send `params` as an object, not an array",
            ));
        };
        // 2026-07-28 has no handshake (SEP-2575): `initialize` there is an
        // unknown method, like the other methods it removed.
        let stateless = session.version.is_some_and(ProtocolVersion::is_stateless);
        if method == "initialize" && (stateless || meta::has_envelope(&params)) {
            return Err(ErrorObject::method_not_found(method));
        }
        if method == "initialize" {
            return self
                .initialize(session, &params, batch.is_some())
                .map(ResultEnvelope::plain);
        }
        let meta = params.get("_meta").and_then(Value::as_object);
        let (version, enveloped) = self.version_of(session, method, meta)?;
        let log_level = log_level_of(session, version, meta)?;
        if method == "logging/setLevel" && !version.is_stateless() {
            session.log_level = Some(set_level(&params)?);
            let result = ServerResult::Empty(EmptyResult {});
            return Ok(self.envelope(result, version, enveloped));
        }
        if method == "subscriptions/listen" && version.is_stateless() {
            return self.listen(id, &params, version, request);
        }
        let result = self
            .method(method, params, (version, log_level), request, batch)
            .await?;
        Ok(self.envelope(result, version, enveloped))
    }

    /// The revision a request is served at, and whether it came in the
    /// 2026-07-28 envelope (`meta` is `params._meta`).
    fn version_of(
        &self,
        session: &Session,
        method: &str,
        meta: Option<&Map<String, Value>>,
    ) -> Result<(ProtocolVersion, bool), ErrorObject> {
        if method == "server/discover" || meta::is_envelope(meta) {
            return Ok((meta::envelope_meta_version(meta)?, true));
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
        Ok((version, false))
    }

    fn envelope(
        &self,
        result: ServerResult,
        version: ProtocolVersion,
        enveloped: bool,
    ) -> ResultEnvelope {
        if enveloped {
            ResultEnvelope::complete(result, self.info.for_version(version))
        } else {
            ResultEnvelope::plain(result)
        }
    }

    /// A `tools/call` read by the typed path: the same steps as `dispatch`
    /// and `call_tool` take for it.
    async fn typed_call(
        &self,
        session: &Session,
        call: ToolCallRequest<'_>,
        request: &RequestContext,
    ) -> Result<ResultEnvelope, ErrorObject> {
        let meta = call.meta.as_ref();
        let (version, enveloped) = self.version_of(session, "tools/call", meta)?;
        let log_level = log_level_of(session, version, meta)?;
        let arguments = match call.arguments {
            Some(raw) => Arguments::Raw(raw),
            None => Arguments::Value(Value::Object(Map::new())),
        };
        let result = self
            .run_tool(
                &call.name,
                (arguments, None),
                meta,
                (version, log_level),
                request,
                None,
            )
            .await?;
        Ok(self.envelope(result, version, enveloped))
    }

    async fn method(
        &self,
        method: &str,
        params: Map<String, Value>,
        (version, log_level): (ProtocolVersion, Option<LogLevel>),
        request: &RequestContext,
        batch: Option<&Batch>,
    ) -> Result<ServerResult, ErrorObject> {
        let cx = || request.call(version, None).with_min_log_level(log_level);
        let offers_resources = !self.resources.is_empty();
        let offers_prompts = !self.prompts.is_empty();
        match method {
            "tools/list" => self
                .list_tools(&params, version, request)
                .map(ServerResult::ListTools),
            "tools/call" => {
                self.call_tool(params, (version, log_level), request, batch)
                    .await
            }
            "ping" if !version.is_stateless() => Ok(ServerResult::Empty(EmptyResult {})),
            "server/discover" => Ok(ServerResult::Discover(self.discover(version))),
            "resources/list" if offers_resources => {
                single_page(&params, method)?;
                Ok(ServerResult::ListResources(ListResourcesResult {
                    resources: self
                        .resources
                        .list()
                        .filter(|r| self.may_see(&self.resource_scopes, &r.uri, request))
                        .map(|r| r.for_version(version))
                        .collect(),
                    cache: self.list_cache(version),
                }))
            }
            "resources/templates/list" if offers_resources => {
                single_page(&params, method)?;
                Ok(ServerResult::ListResourceTemplates(
                    ListResourceTemplatesResult {
                        resource_templates: self
                            .resources
                            .templates()
                            .filter(|t| {
                                self.may_see(&self.resource_scopes, &t.uri_template, request)
                            })
                            .map(|t| t.for_version(version))
                            .collect(),
                        cache: self.list_cache(version),
                    },
                ))
            }
            "resources/read" if offers_resources => {
                let uri = string_param(&params, "uri", method)?;
                self.check_resource(uri, request)?;
                let round = self.round(
                    ("resources/read", uri, &Value::Null),
                    &params,
                    version,
                    request,
                )?;
                let contents = self
                    .resources
                    .read(uri, cx().with_round(round.as_ref()))
                    .await;
                if let Some(asked) = round.as_ref().and_then(|r| r.input_required()) {
                    return asked.map(ServerResult::InputRequired);
                }
                Ok(ServerResult::ReadResource(ReadResourceResult {
                    contents: contents.map_err(|e| resource::error_at(e, version))?,
                    cache: self.list_cache(version),
                }))
            }
            // 2026-07-28 replaced them with `subscriptions/listen`.
            "resources/subscribe" | "resources/unsubscribe"
                if offers_resources && !version.is_stateless() =>
            {
                // Resources here never change while the server runs: a
                // subscription is acknowledged and no update will follow.
                let uri = string_param(&params, "uri", method)?;
                self.check_resource(uri, request)?;
                if !self.resources.exists(uri) {
                    return Err(resource::not_found(uri, None));
                }
                Ok(ServerResult::Empty(EmptyResult {}))
            }
            "prompts/list" if offers_prompts => {
                single_page(&params, method)?;
                let mut prompts = self.prompts.list(version);
                prompts.retain(|p| self.may_see(&self.prompt_scopes, &p.name, request));
                Ok(ServerResult::ListPrompts(ListPromptsResult {
                    prompts,
                    cache: self.list_cache(version),
                }))
            }
            "prompts/get" if offers_prompts => {
                let name = string_param(&params, "name", method)?;
                self.check_prompt(name, request)?;
                let arguments = prompt_arguments(params.get("arguments"))?;
                let bound = serde_json::to_value(&arguments).unwrap_or_default();
                let round = self.round(("prompts/get", name, &bound), &params, version, request)?;
                let cx = cx().with_round(round.as_ref());
                let result = self.prompts.get(name, arguments, version, cx).await;
                if let Some(asked) = round.as_ref().and_then(|r| r.input_required()) {
                    return asked.map(ServerResult::InputRequired);
                }
                Ok(ServerResult::GetPrompt(result?))
            }
            "completion/complete" if self.offers_completions(version) => {
                self.complete(&params, request).map(ServerResult::Complete)
            }
            _ => Err(ErrorObject::method_not_found(method)),
        }
    }

    /// `subscriptions/listen` (2026-07-28): the acknowledgement, then at
    /// once the graceful end of the subscription. Nothing this server
    /// offers changes while it runs (its lists and resources are fixed when
    /// it starts), so no notification could ever follow; ending the stream
    /// with a result tells the client it closed cleanly and need not
    /// reconnect - and a function behind a Function URL cannot hold a
    /// stream open past its invocation anyway. The acknowledgement names
    /// what the server honours: the subscribed resources that exist (they
    /// are never updated); list changes are not offered (the capabilities
    /// say `listChanged: false`).
    fn listen(
        &self,
        id: &RequestId,
        params: &Map<String, Value>,
        version: ProtocolVersion,
        request: &RequestContext,
    ) -> Result<ResultEnvelope, ErrorObject> {
        let none = Map::new();
        let filter = match params.get("notifications") {
            None => &none,
            Some(Value::Object(filter)) => filter,
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "`subscriptions/listen` needs `notifications`, an object such as \
                     {\"resourceSubscriptions\": [\"<uri>\"]}",
                ));
            }
        };
        let mut honoured = Map::new();
        if let Some(uris) = filter.get("resourceSubscriptions") {
            let Some(uris) = uris.as_array() else {
                return Err(ErrorObject::invalid_params(
                    "`notifications.resourceSubscriptions` must be an array of resource URIs",
                ));
            };
            let kept: Vec<Value> = uris
                .iter()
                .filter_map(Value::as_str)
                .filter(|uri| {
                    self.resources.exists(uri) && self.check_resource(uri, request).is_ok()
                })
                .map(Value::from)
                .collect();
            if !kept.is_empty() {
                honoured.insert("resourceSubscriptions".into(), Value::Array(kept));
            }
        }
        let subscription = serde_json::to_value(id).unwrap_or(Value::Null);
        request.notify.send(serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/subscriptions/acknowledged",
            "params": {
                "_meta": { meta::SUBSCRIPTION_ID_KEY: subscription },
                "notifications": honoured,
            },
        }));
        let mut envelope = self.envelope(ServerResult::Empty(EmptyResult {}), version, true);
        if let Some(meta) = envelope.meta.as_mut() {
            meta.subscription_id = Some(subscription);
        }
        Ok(envelope)
    }

    /// `ttlMs` and `cacheScope` of a list, at the stateless revision.
    fn list_cache(&self, version: ProtocolVersion) -> ListCache {
        let stateless = version.is_stateless();
        ListCache {
            ttl_ms: stateless.then_some(LIST_TTL_MS),
            cache_scope: stateless.then_some(LIST_CACHE_SCOPE),
        }
    }

    fn offers_completions(&self, version: ProtocolVersion) -> bool {
        version.has_completions()
            && (!self.prompts.is_empty() || self.resources.templates().next().is_some())
    }

    /// The scopes of `key`'s entry in `overrides` (a resource's URI or
    /// pattern, a prompt's name), else the baseline; `None` for the key of
    /// nothing offered, which needs the baseline too.
    fn scopes_of<'s>(overrides: &'s ToolScopes, key: Option<&str>) -> Vec<&'s str> {
        match key.and_then(|k| overrides.get(k)) {
            Some(scopes) => scopes.iter().map(String::as_str).collect(),
            None => vec![crate::scopes::BASELINE],
        }
    }

    /// Whether the caller holds every scope of the entry `key`.
    fn may_see(&self, overrides: &ToolScopes, key: &str, request: &RequestContext) -> bool {
        lacking(&Self::scopes_of(overrides, Some(key)), request).is_empty()
    }

    /// Refuses a caller without the scopes of what serves `uri` (the
    /// baseline for a URI nothing serves, so that a caller without it
    /// learns nothing of what exists).
    fn check_resource(&self, uri: &str, request: &RequestContext) -> Result<(), ErrorObject> {
        let entry = self.resources.entry_of(uri);
        let required = Self::scopes_of(&self.resource_scopes, entry);
        refuse_lacking("resource", entry.unwrap_or(uri), &required, request)
    }

    /// Refuses a caller without the scopes of prompt `name`; an unknown
    /// prompt is named to a caller with the baseline, with only the prompts
    /// it may see.
    fn check_prompt(&self, name: &str, request: &RequestContext) -> Result<(), ErrorObject> {
        let exists = self.prompts.contains(name);
        let required = Self::scopes_of(&self.prompt_scopes, exists.then_some(name));
        refuse_lacking("prompt", name, &required, request)?;
        if exists {
            return Ok(());
        }
        let visible: Vec<&str> = self
            .prompts
            .names()
            .filter(|p| self.may_see(&self.prompt_scopes, p, request))
            .collect();
        Err(ErrorObject::invalid_params(format!(
            "Unknown prompt: {name:?}; available prompts: {}",
            visible.join(", ")
        )))
    }

    fn complete(
        &self,
        params: &Map<String, Value>,
        request: &RequestContext,
    ) -> Result<CompleteResult, ErrorObject> {
        let bad = |what: &str| {
            ErrorObject::invalid_params(format!(
                "`completion/complete` needs {what}: {{\"ref\": {{\"type\": \"ref/prompt\", \
                 \"name\": ...}} or {{\"type\": \"ref/resource\", \"uri\": ...}}, \
                 \"argument\": {{\"name\": ..., \"value\": ...}}}}"
            ))
        };
        let reference = params.get("ref").ok_or_else(|| bad("`ref`"))?;
        let argument = params.get("argument").ok_or_else(|| bad("`argument`"))?;
        let (Some(name), Some(value)) = (
            argument.get("name").and_then(Value::as_str),
            argument.get("value").and_then(Value::as_str),
        ) else {
            return Err(bad("`argument.name` and `argument.value` (strings)"));
        };
        let text = |key| reference.get(key).and_then(Value::as_str);
        let values = match text("type") {
            Some("ref/prompt") => {
                let prompt = text("name").ok_or_else(|| bad("`ref.name`"))?;
                self.check_prompt(prompt, request)?;
                self.prompts.complete(prompt, name, value)?
            }
            Some("ref/resource") => {
                let uri = text("uri").ok_or_else(|| bad("`ref.uri`"))?;
                let template = self.resources.templates().any(|t| t.uri_template == uri);
                let required = Self::scopes_of(&self.resource_scopes, template.then_some(uri));
                refuse_lacking("resource", uri, &required, request)?;
                self.resources.complete(uri, name, value).ok_or_else(|| {
                    ErrorObject::invalid_params(format!(
                        "no resource template {uri:?}: completion works on the templates of \
                         resources/templates/list"
                    ))
                })?
            }
            _ => {
                refuse_lacking("completion", "completion/complete", &[BASELINE], request)?;
                return Err(bad("a `ref.type`"));
            }
        };
        Ok(CompleteResult {
            completion: Completion::of(values),
        })
    }

    fn capabilities(&self, version: ProtocolVersion) -> ServerCapabilities {
        ServerCapabilities {
            tools: Some(ToolsCapability {
                list_changed: false,
            }),
            resources: (!self.resources.is_empty()).then_some(ResourcesCapability {
                subscribe: true,
                list_changed: false,
            }),
            prompts: (!self.prompts.is_empty()).then_some(PromptsCapability {
                list_changed: false,
            }),
            completions: self.offers_completions(version).then(Map::new),
            // Deprecated in 2026-07-28, where a request's `_meta` carries
            // its own level instead.
            logging: (!version.is_stateless()).then(Map::new),
        }
    }

    fn initialize(
        &self,
        session: &mut Session,
        params: &Map<String, Value>,
        in_batch: bool,
    ) -> Result<ServerResult, ErrorObject> {
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
        Ok(ServerResult::Initialize(InitializeResult {
            protocol_version: version.as_str().to_owned(),
            capabilities: self.capabilities(version),
            server_info: self.info.for_version(version),
            instructions: self.instructions.clone(),
        }))
    }

    fn discover(&self, version: ProtocolVersion) -> DiscoverResult {
        DiscoverResult {
            supported_versions: ProtocolVersion::supported_names()
                .iter()
                .map(|v| (*v).to_owned())
                .collect(),
            capabilities: self.capabilities(version),
            instructions: self.instructions.clone(),
            ttl_ms: LIST_TTL_MS,
            cache_scope: LIST_CACHE_SCOPE,
        }
    }

    fn list_tools(
        &self,
        params: &Map<String, Value>,
        version: ProtocolVersion,
        request: &RequestContext,
    ) -> Result<ListToolsResult, ErrorObject> {
        single_page(params, "tools/list")?;
        Ok(ListToolsResult {
            tools: self
                .tools
                .definitions()
                .filter(|d| missing_scopes(d, request).is_empty())
                .map(|d| d.to_wire(version))
                .collect(),
            next_cursor: None,
            cache: self.list_cache(version),
        })
    }

    async fn call_tool(
        &self,
        mut params: Map<String, Value>,
        at: (ProtocolVersion, Option<LogLevel>),
        request: &RequestContext,
        batch: Option<&Batch>,
    ) -> Result<ServerResult, ErrorObject> {
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
        let meta = params.get("_meta").and_then(Value::as_object);
        let arguments = (Arguments::Value(arguments), Some(&params));
        self.run_tool(name, arguments, meta, at, request, batch)
            .await
    }

    /// Runs a tool; `retry` is the request's `params` when they may carry
    /// `inputResponses` and `requestState`.
    async fn run_tool(
        &self,
        name: &str,
        (arguments, retry): (Arguments<'_>, Option<&Map<String, Value>>),
        meta: Option<&Map<String, Value>>,
        (version, log_level): (ProtocolVersion, Option<LogLevel>),
        request: &RequestContext,
        batch: Option<&Batch>,
    ) -> Result<ServerResult, ErrorObject> {
        // Only a caller with scopes pays for the check (a lookup and a list).
        if request
            .identity
            .as_ref()
            .is_some_and(|i| i.scopes.is_some())
            && let Some(definition) = self.tools.definition(name)
        {
            let missing = missing_scopes(definition, request);
            if !missing.is_empty() {
                let required = definition.required_scopes();
                return Err(crate::scopes::insufficient(name, &required, &missing));
            }
        }
        // At 2026-07-28 the tool's definition decides two things: the
        // capabilities its caller must declare, and whether it may ask.
        let stateless_tool = version
            .is_stateless()
            .then(|| self.tools.definition(name))
            .flatten();
        if let Some(definition) = stateless_tool {
            let missing =
                meta::undeclared_capabilities(meta, definition.required_client_capabilities());
            if !missing.is_empty() {
                return Err(meta::missing_capabilities(
                    &format!("the tool {name:?}"),
                    &missing,
                ));
            }
        }
        if let Some(refused) = self.admit(name, request, batch).await {
            return Err(refused);
        }
        // A handshake revision whose transport carries server-to-client
        // requests: the tool may ask, as at 2026-07-28 (`asking`).
        if let Some(channel) = request
            .extensions
            .get::<crate::ask::ClientChannel>()
            .filter(|_| !version.is_stateless() && self.tools.definition(name).is_some())
        {
            return self
                .call_asking(
                    name,
                    arguments,
                    meta,
                    (version, log_level),
                    request,
                    channel,
                )
                .await;
        }
        let round = match stateless_tool.is_some() {
            true => {
                let binding = crate::mrtr::Binding::new(
                    "tools/call",
                    name,
                    arguments.clone(),
                    &request.caller(),
                );
                crate::mrtr::Round::open(
                    self.state_key.as_ref(),
                    binding,
                    retry,
                    meta,
                    std::time::SystemTime::now(),
                )
                .map(Some)?
            }
            false => None,
        };
        let cx = request
            .call(version, meta.and_then(|meta| meta.get("progressToken")))
            .with_min_log_level(log_level)
            .with_trace_from(meta)
            .with_round(round.as_ref());
        let Some(call) = self.tools.call(name, arguments, cx) else {
            return Err(self.unknown_tool(name, request));
        };
        let outcome = call.await;
        if let Some(asked) = round.as_ref().and_then(|r| r.input_required()) {
            return asked.map(ServerResult::InputRequired);
        }
        self.tool_outcome(name, outcome, version)
    }

    /// The error of a call of a tool that does not exist, naming only the
    /// tools this caller may see: the names of the others are not its
    /// business.
    fn unknown_tool(&self, name: &str, request: &RequestContext) -> ErrorObject {
        let known: Vec<&str> = self
            .tools
            .definitions()
            .filter(|d| missing_scopes(d, request).is_empty())
            .map(|d| d.name())
            .collect();
        ErrorObject::new(
            ErrorCode::INVALID_PARAMS,
            format!(
                "Unknown tool: {name:?}; available tools: {}",
                known.join(", ")
            ),
        )
    }

    /// The `tools/call` result of what the tool gave.
    fn tool_outcome(
        &self,
        name: &str,
        outcome: Result<CallOutcome, crate::tool::Broken>,
        version: ProtocolVersion,
    ) -> Result<ServerResult, ErrorObject> {
        Ok(ServerResult::CallTool(
            match outcome.map_err(ErrorObject::internal)? {
                CallOutcome::Output(output) => tool_result(output, version),
                CallOutcome::Content(blocks) => CallToolResult {
                    content: blocks.into_iter().map(|b| b.for_version(version)).collect(),
                    structured_content: None,
                    is_error: false,
                },
                CallOutcome::BadArguments(why) => {
                    let schema = self
                        .tools
                        .definition(name)
                        .map_or(&Value::Null, |d| d.input_schema());
                    CallToolResult::error(format!(
                        "Invalid arguments for tool `{name}`: {why}. Call it again with arguments \
                     that match its inputSchema: {schema}"
                    ))
                }
                CallOutcome::ToolError(message) => CallToolResult::error(message),
            },
        ))
    }

    /// The round of a `prompts/get` or `resources/read` (`what`: the
    /// method, the name, the arguments) at 2026-07-28; `None` before it.
    fn round<'k>(
        &'k self,
        (method, name, arguments): (&'static str, &str, &Value),
        params: &Map<String, Value>,
        version: ProtocolVersion,
        request: &RequestContext,
    ) -> Result<Option<crate::mrtr::Round<'k>>, ErrorObject> {
        if !version.is_stateless() {
            return Ok(None);
        }
        let binding = crate::mrtr::Binding::new(
            method,
            name,
            Arguments::Value(arguments.clone()),
            &request.caller(),
        );
        let meta = params.get("_meta").and_then(Value::as_object);
        crate::mrtr::Round::open(
            self.state_key.as_ref(),
            binding,
            Some(params),
            meta,
            std::time::SystemTime::now(),
        )
        .map(Some)
    }

    /// Counts a call of an existing tool against its limit; the error when
    /// it is over. The decision is left in the request for the transport.
    ///
    /// When the counter cannot decide (a shared store slow or unreachable), a
    /// read-only tool runs - it changes nothing, so an outage of the limiter
    /// costs load, not damage - and any other tool is refused: a call that
    /// may write or destroy is never let through unmetered.
    ///
    /// When the store refuses the check itself (not an outage), the call is
    /// refused with its reason; when it throttles the caller's item, the
    /// call is refused as over its limit (429, `Retry-After`).
    ///
    /// Within a batch (one caller), a tool refused in any of these ways is
    /// refused again without counting.
    async fn admit(
        &self,
        tool: &str,
        request: &RequestContext,
        batch: Option<&Batch>,
    ) -> Option<ErrorObject> {
        let (limits, counter) = self.limits.as_ref()?;
        let definition = self.tools.definition(tool)?;
        let (policy, quota) = limits.policy(tool)?;
        if let Some(refused) = batch.and_then(|b| b.refused(tool)) {
            return Some(refused);
        }
        let caller = request
            .identity
            .as_ref()
            .map_or("local", |identity| identity.principal.as_str());
        let call = Call {
            caller,
            policy,
            tool,
            quota,
            now: std::time::SystemTime::now(),
        };
        let (decision, refused) = match counter.count(call).await {
            Ok(decision) => {
                let refused = (!decision.admitted).then(|| decision.error(tool));
                (Some(decision), refused)
            }
            Err(CountError::Unavailable(_)) if definition.hints().read_only_hint == Some(true) => {
                (None, None)
            }
            Err(CountError::Unavailable(why)) => {
                (None, Some(crate::limits::unavailable_error(tool, &why)))
            }
            Err(CountError::Refused(why)) => (None, Some(crate::limits::refused_error(tool, &why))),
            Err(CountError::Throttled { retry_after_s, why }) => {
                let (decision, error) = crate::limits::throttled(&call, retry_after_s, &why);
                (Some(decision), Some(error))
            }
        };
        if let (Some(batch), Some(error)) = (batch, &refused) {
            batch.remember(tool, error);
        }
        if let Some(decision) = decision {
            let _ = request.rate_limit.set(decision);
        }
        refused
    }
}

/// The scopes of `tool` the caller lacks; none when the caller's scheme
/// has no scopes (IAM, stdio).
fn missing_scopes<'d>(tool: &'d crate::ToolDefinition, request: &RequestContext) -> Vec<&'d str> {
    lacking(&tool.required_scopes(), request)
}

/// The scopes of `required` the caller lacks; none when the caller's
/// scheme has no scopes (IAM, stdio).
fn lacking<'a>(required: &[&'a str], request: &RequestContext) -> Vec<&'a str> {
    match request.identity.as_ref().and_then(|i| i.scopes.as_ref()) {
        None => Vec::new(),
        Some(granted) => crate::scopes::missing(required, granted),
    }
}

/// The insufficient-scope refusal when the caller lacks any of `required`
/// for `name`, a `kind` of entry.
fn refuse_lacking(
    kind: &str,
    name: &str,
    required: &[&str],
    request: &RequestContext,
) -> Result<(), ErrorObject> {
    let missing = lacking(required, request);
    if missing.is_empty() {
        return Ok(());
    }
    Err(crate::scopes::insufficient_for(
        kind, name, required, &missing,
    ))
}

/// Refuses overrides that name an entry `known` does not hold.
fn known(kind: &'static str, overrides: &ToolScopes, known: Vec<&str>) -> Result<(), ScopesError> {
    match overrides
        .keys()
        .find(|name| !known.contains(&name.as_str()))
    {
        None => Ok(()),
        Some(name) => Err(ScopesError::Unknown {
            kind,
            name: name.clone(),
            known: known.into_iter().map(str::to_owned).collect(),
        }),
    }
}

/// The `_meta` key of a request's own log level (2026-07-28, where
/// `logging/setLevel` has no session to set).
pub const LOG_LEVEL_META: &str = "io.modelcontextprotocol/logLevel";

/// The least severe level a request's log messages are sent at: its own
/// `_meta` level, else the connection's `logging/setLevel`, else all of
/// them at a handshake revision and none at 2026-07-28, where a request opts
/// in through its `_meta` (SEP-2577).
fn log_level_of(
    session: &Session,
    version: ProtocolVersion,
    meta: Option<&Map<String, Value>>,
) -> Result<Option<LogLevel>, ErrorObject> {
    match meta.and_then(|m| m.get(LOG_LEVEL_META)) {
        None if version.is_stateless() => Ok(None),
        None => Ok(Some(session.log_level.unwrap_or(LogLevel::Debug))),
        Some(level) => level
            .as_str()
            .and_then(LogLevel::parse)
            .map(Some)
            .ok_or_else(|| bad_level(LOG_LEVEL_META, level)),
    }
}

fn bad_level(what: &str, level: &Value) -> ErrorObject {
    let names: Vec<&str> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
    ErrorObject::invalid_params(format!(
        "`{what}` must be one of {}; got {level}",
        names.join(", ")
    ))
}

/// The level of a `logging/setLevel`.
fn set_level(params: &Map<String, Value>) -> Result<LogLevel, ErrorObject> {
    let level = params.get("level").unwrap_or(&Value::Null);
    level
        .as_str()
        .and_then(LogLevel::parse)
        .ok_or_else(|| bad_level("level", level))
}

/// Lists here have one page (everything fits): a cursor was never handed out.
fn single_page(params: &Map<String, Value>, method: &str) -> Result<(), ErrorObject> {
    match params.get("cursor") {
        None => Ok(()),
        Some(cursor) => Err(ErrorObject::invalid_params(format!(
            "unknown cursor {cursor}: `{method}` has a single page; call it without a cursor"
        ))),
    }
}

fn string_param<'p>(
    params: &'p Map<String, Value>,
    key: &str,
    method: &str,
) -> Result<&'p str, ErrorObject> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params(format!("`{method}` needs `{key}` (a string)")))
}

/// `prompts/get` arguments: an object of strings (absent is none).
fn prompt_arguments(arguments: Option<&Value>) -> Result<PromptArguments, ErrorObject> {
    let Some(arguments) = arguments.filter(|a| !a.is_null()) else {
        return Ok(PromptArguments::new());
    };
    let not_strings = || {
        ErrorObject::invalid_params("prompt `arguments` must be an object whose values are strings")
    };
    arguments
        .as_object()
        .ok_or_else(not_strings)?
        .iter()
        .map(|(k, v)| Ok((k.clone(), v.as_str().ok_or_else(not_strings)?.to_owned())))
        .collect()
}

fn tool_result(output: Json, version: ProtocolVersion) -> CallToolResult {
    CallToolResult {
        content: vec![Content::text(output.get())],
        structured_content: version.has_structured_output().then_some(output),
        is_error: false,
    }
}
