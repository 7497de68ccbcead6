//! The tool trait, tool metadata and the registry that dispatches calls.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::ProtocolVersion;
use crate::content::Content;
use crate::context::CallContext;
use crate::model::{Json, ToolInfo};
use crate::scopes::ScopesError;

/// A tool a model can call.
///
/// Arguments arrive as a typed value deserialised with serde, so arguments
/// that do not fit give the model an `isError` result naming what was wrong;
/// the output is serialised into `structuredContent` and a text block. Both
/// JSON Schemas (`inputSchema`, `outputSchema`) are derived from the types
/// with `schemars`, so the schema a client sees and the parser cannot differ.
///
/// `call` is async: a tool may query a database or call an AWS API. A tool
/// that only computes writes an `async fn` with a plain body.
///
/// ```
/// use mcp_core::{Annotations, CallContext, Tool, ToolDefinition, ToolError};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// struct Shout;
///
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct Args {
///     /// The text to shout.
///     text: String,
/// }
///
/// #[derive(Serialize, JsonSchema)]
/// struct Loud { text: String }
///
/// impl Tool for Shout {
///     type Args = Args;
///     type Output = Loud;
///     fn definition(&self) -> ToolDefinition {
///         ToolDefinition::new("shout", "Upper-cases text.").annotations(Annotations::read_only())
///     }
///     async fn call(&self, args: Args, _cx: &CallContext<'_>) -> Result<Loud, ToolError> {
///         if args.text.is_empty() {
///             // What the model reads in the `isError` result.
///             return Err("there is no text to shout: pass a non-empty `text`".into());
///         }
///         Ok(Loud { text: args.text.to_uppercase() })
///     }
/// }
/// ```
pub trait Tool: Send + Sync + 'static {
    /// The arguments, deserialised from `tools/call` `arguments` (an absent
    /// member is `{}`); its schema is the tool's `inputSchema`.
    type Args: DeserializeOwned + JsonSchema + Send;
    /// The result; it must serialise to a JSON object; its schema is the
    /// tool's `outputSchema`.
    type Output: Serialize + JsonSchema;

    /// Name, description, title and annotations; called once, at registration.
    fn definition(&self) -> ToolDefinition;

    /// Runs the tool. An `Err` becomes a result with `isError: true`.
    fn call(
        &self,
        args: Self::Args,
        cx: &CallContext<'_>,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
}

/// A tool whose result is content blocks for the model - images, audio,
/// resources, or text - rather than a structured object: a screenshot, a
/// chart, a document fetched whole. Its `tools/list` entry has no
/// `outputSchema` and its result no `structuredContent`. Registered with
/// [`ToolRegistry::register_content`].
pub trait ContentTool: Send + Sync + 'static {
    /// The arguments, as for [`Tool::Args`].
    type Args: DeserializeOwned + JsonSchema + Send;

    /// Name, description, title and annotations; called once, at registration.
    fn definition(&self) -> ToolDefinition;

    /// Runs the tool. An `Err` becomes a result with `isError: true`. Blocks
    /// the request's revision lacks are turned into text on the way out.
    fn call(
        &self,
        args: Self::Args,
        cx: &CallContext<'_>,
    ) -> impl Future<Output = Result<Vec<Content>, ToolError>> + Send;
}

/// The arguments of a tool that takes none: `{}` (unknown members are refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// The JSON Schema of `T` as MCP carries it: inlined, without `$schema` or a
/// top-level `title` or `description`.
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(map) = &mut schema {
        // The tool's own title and description say what it is; the type's
        // doc comment is for Rust readers.
        map.remove("title");
        map.remove("description");
        // A closed object with no members still lists none, as clients expect.
        if map.get("additionalProperties") == Some(&Value::Bool(false)) {
            map.entry("properties")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
    }
    crate::model::sort_keys(&schema)
}

message_error! {
    /// A tool failure the model should see: a result with `isError: true`
    /// whose text is the message, so say what went wrong and what to do
    /// instead. `Err("...".into())` and `?` on a `Result<_, String>` make one.
    ToolError
}

/// Behaviour hints for clients (2025-03-26 on). They are hints, not guarantees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// The tool does not modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling again with the same arguments has no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool reaches outside a closed set of entities (the web, other services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

impl Annotations {
    /// A pure computation: read-only, non-destructive, idempotent, closed-world.
    pub fn read_only() -> Self {
        Annotations {
            read_only_hint: Some(true),
            destructive_hint: Some(false),
            idempotent_hint: Some(true),
            open_world_hint: Some(false),
        }
    }
}

/// What `tools/list` says about a tool. The schemas are derived from the
/// tool's types when it is registered.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    name: String,
    title: Option<String>,
    description: String,
    schemas: Schemas,
    annotations: Annotations,
    scopes: Option<Vec<String>>,
    client_capabilities: Vec<&'static str>,
}

/// Builds one schema from a type ([`schema_of`] for that type).
type DeriveSchema = fn() -> Value;

/// A tool's two schemas, derived from its types on first use (a cold start
/// that never lists tools does not pay for them) and then kept.
#[derive(Debug, Clone, Default, PartialEq)]
struct Schemas {
    derive: Option<(DeriveSchema, DeriveSchema)>,
    input: OnceLock<Value>,
    output: OnceLock<Value>,
}

impl Schemas {
    fn of<T: Tool>() -> Self {
        Schemas {
            derive: Some((schema_of::<T::Args>, schema_of::<T::Output>)),
            ..Schemas::default()
        }
    }

    fn of_content<T: ContentTool>() -> Self {
        Schemas {
            derive: Some((schema_of::<T::Args>, || Value::Null)),
            ..Schemas::default()
        }
    }

    fn input(&self) -> &Value {
        self.input
            .get_or_init(|| self.derive.map_or(Value::Null, |(input, _)| input()))
    }

    fn output(&self) -> &Value {
        self.output
            .get_or_init(|| self.derive.map_or(Value::Null, |(_, output)| output()))
    }
}

impl ToolDefinition {
    /// A tool's name and what it does, for the model.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        ToolDefinition {
            name: name.into(),
            title: None,
            description: description.into(),
            schemas: Schemas::default(),
            annotations: Annotations::default(),
            scopes: None,
            client_capabilities: Vec::new(),
        }
    }

    /// A human-readable name (2025-06-18 on).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// States both schemas instead of deriving them from the tool's types:
    /// for a tool whose `Args` are a free map because another party checks
    /// them (a proxy to a tool defined elsewhere). Its arguments are then
    /// not checked against `input` here.
    pub fn with_schemas(self, input: Value, output: Value) -> Self {
        let schemas = Schemas {
            derive: None,
            input: OnceLock::from(input),
            output: OnceLock::from(output),
        };
        ToolDefinition { schemas, ..self }
    }

    /// The OAuth scopes a caller's token must hold, all of them, to see and
    /// call the tool, instead of the default its annotations give
    /// ([`crate::scopes::default_for`]).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The scopes a caller needs: the tool's own, else the default for its
    /// annotations (`mcp:read` for a read-only tool, `mcp:write` otherwise).
    pub fn required_scopes(&self) -> Vec<&str> {
        match &self.scopes {
            Some(scopes) => scopes.iter().map(String::as_str).collect(),
            None => vec![crate::scopes::default_for(&self.annotations)],
        }
    }

    /// The client capabilities (`"sampling"`, `"elicitation"`, `"roots"`)
    /// the tool cannot run without. At 2026-07-28 a call whose `_meta`
    /// does not declare them all is refused before the tool runs, with
    /// MissingRequiredClientCapability (-32021) naming the missing ones.
    pub fn requires_client_capabilities(
        mut self,
        capabilities: impl IntoIterator<Item = &'static str>,
    ) -> Self {
        self.client_capabilities = capabilities.into_iter().collect();
        self
    }

    /// The client capabilities the tool cannot run without.
    pub fn required_client_capabilities(&self) -> &[&'static str] {
        &self.client_capabilities
    }

    /// Behaviour hints.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.annotations = annotations;
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The behaviour hints.
    pub fn hints(&self) -> &Annotations {
        &self.annotations
    }

    /// The JSON Schema of the arguments (derived from the tool's `Args`).
    pub fn input_schema(&self) -> &Value {
        self.schemas.input()
    }

    /// The JSON Schema of `structuredContent` (derived from the tool's `Output`).
    pub fn output_schema(&self) -> &Value {
        self.schemas.output()
    }

    /// The tool's `tools/list` entry as the given revision defines it.
    pub fn to_wire(&self, version: ProtocolVersion) -> ToolInfo {
        let modern = version.has_structured_output();
        ToolInfo {
            name: self.name.clone(),
            title: self.title.clone().filter(|_| modern),
            description: Some(self.description.clone()),
            input_schema: self.input_schema().clone(),
            output_schema: modern
                .then(|| self.output_schema())
                .filter(|schema| !schema.is_null())
                .cloned(),
            annotations: (version.has_tool_annotations()
                && self.annotations != Annotations::default())
            .then(|| self.annotations.clone()),
        }
    }

    /// Checks the name, and (`schemas`) that both schemas describe objects.
    fn validate(&self, schemas: bool) -> Result<(), RegistryError> {
        let name = &self.name;
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if name.is_empty() || name.len() > 128 || !name.chars().all(valid_char) {
            return Err(RegistryError::InvalidName(name.clone()));
        }
        if !schemas {
            return Ok(());
        }
        for (which, schema) in [
            ("inputSchema", self.input_schema()),
            ("outputSchema", self.output_schema()),
        ] {
            // A content tool has no output schema.
            if which == "outputSchema" && schema.is_null() {
                continue;
            }
            if schema.get("type") != Some(&Value::from("object")) {
                return Err(RegistryError::NotAnObjectSchema {
                    tool: name.clone(),
                    which,
                });
            }
        }
        Ok(())
    }
}

/// Why a tool could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Names are 1 to 128 characters of `A-Z a-z 0-9 _ - .`.
    #[error("invalid tool name {0:?}: use 1 to 128 characters of A-Z, a-z, 0-9, '_', '-', '.'")]
    InvalidName(String),
    /// Two tools with the same name.
    #[error("a tool named {0:?} is already registered")]
    Duplicate(String),
    /// MCP requires object schemas for arguments and structured results.
    #[error(
        "tool {tool:?}: {which} must be a JSON Schema with \"type\": \"object\" (use a struct, or a map)"
    )]
    NotAnObjectSchema {
        /// The tool.
        tool: String,
        /// `inputSchema` or `outputSchema`.
        which: &'static str,
    },
}

/// How a call ended, before it is put on the wire.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallOutcome {
    /// The tool's output, a JSON object serialised once in the output
    /// type's own field order (the same in every build): the text block and
    /// `structuredContent` both come from it.
    Output(Json),
    /// Content blocks of a [`ContentTool`].
    Content(Vec<Content>),
    /// Arguments that do not fit the tool's arguments type (`isError: true`).
    BadArguments(String),
    /// A failure for the model (`isError: true`).
    ToolError(String),
}

/// Why a call broke (the tool, not the caller, is at fault): a JSON-RPC
/// internal error rather than a result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Broken {
    /// A [`Tool`]'s output serialised to something other than an object.
    #[error("tool output is not a JSON object")]
    NotAnObject,
    /// A [`Tool`]'s output could not be serialised.
    #[error("tool output could not be serialised: {0}")]
    Unserialisable(serde_json::Error),
    /// The tool panicked.
    #[error("tool {0:?} panicked")]
    Panicked(String),
}

use crate::BoxFuture;

/// A call's arguments: a `Value` (the classified path) or the raw JSON object
/// of the typed path, read straight into the tool's `Args`.
#[derive(Debug, Clone)]
pub(crate) enum Arguments<'a> {
    Value(Value),
    Raw(&'a RawValue),
}

impl Arguments<'_> {
    /// The arguments as a `Value` (read, for the raw ones; `null` when they
    /// are not JSON, which the tool's own parse then reports).
    pub(crate) fn to_value(&self) -> std::borrow::Cow<'_, Value> {
        match self {
            Arguments::Value(value) => std::borrow::Cow::Borrowed(value),
            Arguments::Raw(raw) => {
                std::borrow::Cow::Owned(serde_json::from_str(raw.get()).unwrap_or(Value::Null))
            }
        }
    }

    fn parse<T: DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        match self {
            Arguments::Value(value) => serde_json::from_value(value),
            // A misfit is read again as a `Value` so that the message (and a
            // duplicate member, where a `Value` keeps the last) is exactly the
            // classified path's.
            Arguments::Raw(raw) => serde_json::from_str(raw.get()).or_else(|_| {
                serde_json::from_str::<Value>(raw.get()).and_then(serde_json::from_value)
            }),
        }
    }
}

trait ErasedTool: Send + Sync {
    fn call_json<'a>(
        &'a self,
        args: Arguments<'a>,
        cx: CallContext<'a>,
    ) -> BoxFuture<'a, Result<CallOutcome, Broken>>;

    fn parse_args(&self, args: Value) -> Result<(), serde_json::Error>;
}

/// A tool of either kind as the registry runs it: its arguments type, and
/// its result as a call outcome.
trait Run: Send + Sync {
    type Args: DeserializeOwned + Send;

    fn run(
        &self,
        args: Self::Args,
        cx: &CallContext<'_>,
    ) -> impl Future<Output = Result<CallOutcome, Broken>> + Send;
}

/// A [`Tool`]: a structured object, serialised once.
struct Typed<T>(T);

impl<T: Tool> Run for Typed<T> {
    type Args = T::Args;

    async fn run(&self, args: T::Args, cx: &CallContext<'_>) -> Result<CallOutcome, Broken> {
        match self.0.call(args, cx).await {
            Ok(output) => match Json::of(&output) {
                Ok(json) if json.is_object() => Ok(CallOutcome::Output(json)),
                Ok(_) => Err(Broken::NotAnObject),
                Err(e) => Err(Broken::Unserialisable(e)),
            },
            Err(e) => Ok(CallOutcome::ToolError(e.message)),
        }
    }
}

/// A [`ContentTool`]: content blocks.
struct TypedContent<T>(T);

impl<T: ContentTool> Run for TypedContent<T> {
    type Args = T::Args;

    async fn run(&self, args: T::Args, cx: &CallContext<'_>) -> Result<CallOutcome, Broken> {
        Ok(match self.0.call(args, cx).await {
            Ok(blocks) => CallOutcome::Content(blocks),
            Err(e) => CallOutcome::ToolError(e.message),
        })
    }
}

impl<R: Run> ErasedTool for R {
    fn call_json<'a>(
        &'a self,
        args: Arguments<'a>,
        cx: CallContext<'a>,
    ) -> BoxFuture<'a, Result<CallOutcome, Broken>> {
        Box::pin(async move {
            match args.parse() {
                Ok(args) => self.run(args, &cx).await,
                Err(e) => Ok(CallOutcome::BadArguments(e.to_string())),
            }
        })
    }

    fn parse_args(&self, args: Value) -> Result<(), serde_json::Error> {
        serde_json::from_value::<R::Args>(args).map(drop)
    }
}

/// A tool's call, with a panic inside the tool turned into an error.
pub(crate) struct ToolCall<'a> {
    name: &'a str,
    future: BoxFuture<'a, Result<CallOutcome, Broken>>,
}

impl Future for ToolCall<'_> {
    type Output = Result<CallOutcome, Broken>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let future = &mut this.future;
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(Err(Broken::Panicked(this.name.to_owned()))),
        }
    }
}

struct Entry {
    definition: ToolDefinition,
    tool: Box<dyn ErasedTool>,
}

/// The tools a server offers, in registration order (the order of `tools/list`).
#[derive(Default)]
pub struct ToolRegistry {
    entries: Vec<Entry>,
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.definition.name()))
            .finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool after checking its name and, in debug builds (so in every
    /// tool crate's tests), that its derived schemas describe objects. A
    /// release build derives the schemas on first use instead: a Lambda cold
    /// start that only calls tools never builds them.
    pub fn register<T: Tool>(&mut self, tool: T) -> Result<&mut Self, RegistryError> {
        let mut definition = tool.definition();
        if definition.schemas.input.get().is_none() {
            definition.schemas = Schemas::of::<T>();
        }
        self.add(definition, Box::new(Typed(tool)))
    }

    /// Adds a tool whose results are content blocks, with the same checks.
    pub fn register_content<T: ContentTool>(
        &mut self,
        tool: T,
    ) -> Result<&mut Self, RegistryError> {
        let mut definition = tool.definition();
        definition.schemas = Schemas::of_content::<T>();
        self.add(definition, Box::new(TypedContent(tool)))
    }

    fn add(
        &mut self,
        definition: ToolDefinition,
        tool: Box<dyn ErasedTool>,
    ) -> Result<&mut Self, RegistryError> {
        definition.validate(cfg!(debug_assertions))?;
        if self.get(definition.name()).is_some() {
            return Err(RegistryError::Duplicate(definition.name.clone()));
        }
        self.entries.push(Entry { definition, tool });
        Ok(self)
    }

    /// The definitions, in `tools/list` order.
    pub fn definitions(&self) -> impl Iterator<Item = &ToolDefinition> {
        self.entries.iter().map(|e| &e.definition)
    }

    /// How many tools are registered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.definition.name == name)
    }

    /// Sets the scopes the named tools need (a deployment's overrides,
    /// [`crate::scopes::parse`]); `Err` ([`ScopesError::UnknownTool`]) names
    /// a tool there is not, and the tools there are.
    pub fn set_scopes(&mut self, scopes: crate::scopes::ToolScopes) -> Result<(), ScopesError> {
        for (name, scopes) in scopes {
            let Some(entry) = self.entries.iter_mut().find(|e| e.definition.name == name) else {
                let known = self.definitions().map(|d| d.name().to_owned()).collect();
                return Err(ScopesError::UnknownTool { tool: name, known });
            };
            entry.definition.scopes = Some(scopes);
        }
        Ok(())
    }

    /// The definition of a tool, by name.
    pub fn definition(&self, name: &str) -> Option<&ToolDefinition> {
        self.get(name).map(|e| &e.definition)
    }

    /// Whether `args` deserialise into the tool's arguments type, without
    /// running it (`None`: no such tool; `Err`: serde's account of the
    /// misfit). Tests use it to prove that a schema and its type agree.
    pub fn parse_args(&self, name: &str, args: Value) -> Option<Result<(), serde_json::Error>> {
        self.get(name).map(|e| e.tool.parse_args(args))
    }

    /// Calls a tool by name. `None`: no such tool. The future's `Err`: the
    /// tool broke (its output could not be serialised, or it panicked).
    pub(crate) fn call<'a>(
        &'a self,
        name: &'a str,
        args: Arguments<'a>,
        cx: CallContext<'a>,
    ) -> Option<ToolCall<'a>> {
        let entry = self.get(name)?;
        Some(ToolCall {
            name,
            future: entry.tool.call_json(args, cx),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    struct Named(&'static str);
    impl Tool for Named {
        type Args = Map<String, Value>;
        type Output = Map<String, Value>;
        fn definition(&self) -> ToolDefinition {
            ToolDefinition::new(self.0, "test")
        }
        async fn call(
            &self,
            args: Self::Args,
            _: &CallContext<'_>,
        ) -> Result<Self::Output, ToolError> {
            Ok(args)
        }
    }

    #[test]
    fn names_are_validated() {
        let mut reg = ToolRegistry::new();
        assert!(reg.register(Named("ok_name-1.2")).is_ok());
        for bad in ["", "has space", "slash/no", "ünï"] {
            assert_eq!(
                reg.register(Named(bad)).err(),
                Some(RegistryError::InvalidName(bad.into()))
            );
        }
        let long: &'static str = Box::leak("a".repeat(129).into_boxed_str());
        assert!(reg.register(Named(long)).is_err());
        assert_eq!(
            reg.register(Named("ok_name-1.2")).err(),
            Some(RegistryError::Duplicate("ok_name-1.2".into()))
        );
        assert_eq!(reg.len(), 1);
    }

    #[test]
    fn tool_errors_are_made_from_messages() {
        fn halve(n: u32, checked: Result<(), String>) -> Result<u32, ToolError> {
            checked?;
            let even = n
                .is_multiple_of(2)
                .then_some(n)
                .ok_or("give an even number")?;
            Ok(even / 2)
        }
        assert_eq!(halve(4, Ok(())), Ok(2));
        assert_eq!(halve(3, Ok(())), Err(ToolError::new("give an even number")));
        let failed = halve(4, Err("the store is down: try again".to_owned()));
        assert_eq!(
            failed.map_err(|e| e.to_string()),
            Err("the store is down: try again".to_owned())
        );
    }

    struct NotAnObject;
    impl Tool for NotAnObject {
        type Args = Map<String, Value>;
        type Output = Vec<String>;
        fn definition(&self) -> ToolDefinition {
            ToolDefinition::new("list", "returns a list")
        }
        async fn call(&self, _: Self::Args, _: &CallContext<'_>) -> Result<Vec<String>, ToolError> {
            Ok(vec![])
        }
    }

    #[test]
    #[cfg(debug_assertions)] // release builds check schemas on first use
    fn outputs_must_be_objects() {
        assert_eq!(
            ToolRegistry::new().register(NotAnObject).err(),
            Some(RegistryError::NotAnObjectSchema {
                tool: "list".into(),
                which: "outputSchema"
            })
        );
    }

    #[test]
    fn wire_shape_follows_revision() {
        let mut reg = ToolRegistry::new();
        reg.register(Named("t")).unwrap_or_else(|e| panic!("{e}"));
        let def = reg
            .definition("t")
            .cloned()
            .unwrap_or_else(|| ToolDefinition::new("x", "x"))
            .title("T")
            .annotations(Annotations::read_only());
        let old = def.to_wire(ProtocolVersion::V2024_11_05);
        assert!(old.title.is_none() && old.annotations.is_none());
        assert!(old.output_schema.is_none());
        let mid = def.to_wire(ProtocolVersion::V2025_03_26);
        assert!(mid.annotations.is_some() && mid.output_schema.is_none());
        let new = def.to_wire(ProtocolVersion::V2025_06_18);
        assert_eq!(new.title.as_deref(), Some("T"));
        assert_eq!(new.annotations.and_then(|a| a.read_only_hint), Some(true));
        assert_eq!(
            new.output_schema,
            Some(json!({"type": "object", "additionalProperties": true}))
        );
    }
}
