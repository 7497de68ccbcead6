//! The tool trait, tool metadata and the registry that dispatches calls.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::ProtocolVersion;

/// A tool a model can call.
///
/// Arguments arrive as a typed value deserialised with serde, so arguments
/// that do not fit give the model an `isError` result naming what was wrong;
/// the output is serialised into `structuredContent` and a text block.
///
/// ```
/// use mcp_core::{Annotations, CallContext, Tool, ToolDefinition, ToolError};
/// use serde::{Deserialize, Serialize};
/// use serde_json::json;
///
/// struct Shout;
///
/// #[derive(Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Args { text: String }
///
/// #[derive(Serialize)]
/// struct Loud { text: String }
///
/// impl Tool for Shout {
///     type Args = Args;
///     type Output = Loud;
///     fn definition(&self) -> ToolDefinition {
///         ToolDefinition::new("shout", "Upper-cases text.")
///             .input_schema(json!({"type": "object",
///                 "properties": {"text": {"type": "string"}}, "required": ["text"]}))
///             .annotations(Annotations::read_only())
///     }
///     fn call(&self, args: Args, _cx: &CallContext<'_>) -> Result<Loud, ToolError> {
///         Ok(Loud { text: args.text.to_uppercase() })
///     }
/// }
/// ```
pub trait Tool: Send + Sync + 'static {
    /// The arguments, deserialised from `tools/call` `arguments` (an absent member is `{}`).
    type Args: DeserializeOwned;
    /// The result; it must serialise to a JSON object.
    type Output: Serialize;

    /// Name, description, schemas and annotations; called once, at registration.
    fn definition(&self) -> ToolDefinition;

    /// Runs the tool. An `Err` becomes a result with `isError: true`.
    fn call(&self, args: Self::Args, cx: &CallContext<'_>) -> Result<Self::Output, ToolError>;
}

/// A tool failure the model should see: a result with `isError: true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// A failure with a message a model can act on.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {}

/// Behaviour hints for clients (2025-03-26 on). They are hints, not guarantees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// The tool does not modify its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling again with the same arguments has no further effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool reaches outside a closed set of entities (the web, other services).
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// What `tools/list` says about a tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    name: String,
    title: Option<String>,
    description: String,
    input_schema: Value,
    output_schema: Option<Value>,
    annotations: Annotations,
}

impl ToolDefinition {
    /// A tool taking no arguments, until [`ToolDefinition::input_schema`] says otherwise.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        ToolDefinition {
            name: name.into(),
            title: None,
            description: description.into(),
            input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
            output_schema: None,
            annotations: Annotations::default(),
        }
    }

    /// A human-readable name (2025-06-18 on).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The JSON Schema of the arguments (an object schema).
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = schema;
        self
    }

    /// The JSON Schema of `structuredContent` (an object schema, 2025-06-18 on).
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
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

    /// The tool's `tools/list` entry as the given revision defines it.
    pub fn to_wire(&self, version: ProtocolVersion) -> Value {
        let mut tool = Map::new();
        tool.insert("name".into(), Value::String(self.name.clone()));
        if let (true, Some(title)) = (version.has_structured_output(), &self.title) {
            tool.insert("title".into(), Value::String(title.clone()));
        }
        tool.insert(
            "description".into(),
            Value::String(self.description.clone()),
        );
        tool.insert("inputSchema".into(), self.input_schema.clone());
        if let (true, Some(schema)) = (version.has_structured_output(), &self.output_schema) {
            tool.insert("outputSchema".into(), schema.clone());
        }
        if version.has_tool_annotations() && self.annotations != Annotations::default() {
            let annotations = serde_json::to_value(&self.annotations).unwrap_or(Value::Null);
            tool.insert("annotations".into(), annotations);
        }
        Value::Object(tool)
    }

    fn validate(&self) -> Result<(), RegistryError> {
        let name = &self.name;
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if name.is_empty() || name.len() > 128 || !name.chars().all(valid_char) {
            return Err(RegistryError::InvalidName(name.clone()));
        }
        for (which, schema) in [
            ("inputSchema", Some(&self.input_schema)),
            ("outputSchema", self.output_schema.as_ref()),
        ] {
            if schema.is_some_and(|s| s.get("type") != Some(&Value::from("object"))) {
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
    #[error("tool {tool:?}: {which} must be a JSON Schema with \"type\": \"object\"")]
    NotAnObjectSchema {
        /// The tool.
        tool: String,
        /// `inputSchema` or `outputSchema`.
        which: &'static str,
    },
}

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

/// What a tool knows about the request that called it.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// The revision the request was made at.
    pub protocol_version: ProtocolVersion,
    /// Values the transport attached.
    pub extensions: &'a Extensions,
}

/// How a call ended, before it is put on the wire.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallOutcome {
    /// The tool's output (a JSON object).
    Output(Value),
    /// Arguments that do not fit the tool's arguments type (`isError: true`).
    BadArguments(String),
    /// A failure for the model (`isError: true`).
    ToolError(String),
}

trait ErasedTool: Send + Sync {
    fn call_json(&self, args: Value, cx: &CallContext<'_>) -> Result<CallOutcome, String>;
}

struct Typed<T>(T);

impl<T: Tool> ErasedTool for Typed<T> {
    fn call_json(&self, args: Value, cx: &CallContext<'_>) -> Result<CallOutcome, String> {
        let args: T::Args = match serde_json::from_value(args) {
            Ok(args) => args,
            Err(e) => return Ok(CallOutcome::BadArguments(e.to_string())),
        };
        match self.0.call(args, cx) {
            Ok(output) => match serde_json::to_value(output) {
                Ok(value @ Value::Object(_)) => Ok(CallOutcome::Output(value)),
                Ok(_) => Err("tool output is not a JSON object".into()),
                Err(e) => Err(format!("tool output could not be serialised: {e}")),
            },
            Err(e) => Ok(CallOutcome::ToolError(e.message)),
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

    /// Adds a tool after checking its name and schemas.
    pub fn register<T: Tool>(&mut self, tool: T) -> Result<&mut Self, RegistryError> {
        let definition = tool.definition();
        definition.validate()?;
        if self.get(definition.name()).is_some() {
            return Err(RegistryError::Duplicate(definition.name.clone()));
        }
        self.entries.push(Entry {
            definition,
            tool: Box::new(Typed(tool)),
        });
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

    /// Calls a tool by name. `None`: no such tool. `Some(Err)`: the tool broke
    /// (its output could not be serialised, or it panicked) - an internal error.
    pub(crate) fn call(
        &self,
        name: &str,
        args: Value,
        cx: &CallContext<'_>,
    ) -> Option<Result<CallOutcome, String>> {
        let entry = self.get(name)?;
        let outcome = catch_unwind(AssertUnwindSafe(|| entry.tool.call_json(args, cx)))
            .unwrap_or_else(|_| Err(format!("tool {name:?} panicked")));
        Some(outcome)
    }

    /// The input schema of a tool, for argument error messages.
    pub(crate) fn input_schema(&self, name: &str) -> Option<&Value> {
        self.get(name).map(|e| &e.definition.input_schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);
    impl Tool for Named {
        type Args = Map<String, Value>;
        type Output = Map<String, Value>;
        fn definition(&self) -> ToolDefinition {
            ToolDefinition::new(self.0, "test")
        }
        fn call(&self, args: Self::Args, _: &CallContext<'_>) -> Result<Self::Output, ToolError> {
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
    fn wire_shape_follows_revision() {
        let def = ToolDefinition::new("t", "d")
            .title("T")
            .output_schema(json!({"type": "object"}))
            .annotations(Annotations::read_only());
        let old = def.to_wire(ProtocolVersion::V2024_11_05);
        assert!(old.get("title").is_none() && old.get("annotations").is_none());
        assert!(old.get("outputSchema").is_none());
        let mid = def.to_wire(ProtocolVersion::V2025_03_26);
        assert!(mid.get("annotations").is_some() && mid.get("outputSchema").is_none());
        let new = def.to_wire(ProtocolVersion::V2025_06_18);
        assert_eq!(new["title"], "T");
        assert_eq!(new["annotations"]["readOnlyHint"], true);
        assert_eq!(new["outputSchema"], json!({"type": "object"}));
    }
}
