//! The tool registry as an AgentCore Gateway Lambda target's inline tool
//! schemas.
//!
//! The gateway's schema language is a subset of JSON Schema: a schema node
//! has `type` (one of string, number, integer, boolean, array, object),
//! `properties`, `required`, `items` and `description`, and nothing else
//! (`AWS::BedrockAgentCore::GatewayTarget` `SchemaDefinition`, as bundled with
//! cfn-lint; the API's `SchemaDefinition` has the same members).
//!
//! The conversion is honest about the difference:
//! - a keyword that only narrows what is valid (`enum`, `format`, `minimum`,
//!   `maxLength`, `additionalProperties: false`, a `null` in a type list, ...)
//!   is dropped and reported by name and path. The gateway then accepts a
//!   little more than the tool does; the function still checks every call
//!   against the tool's own type and answers a misfit with a message the
//!   model can act on;
//! - a construct that changes the shape (`anyOf`, `oneOf`, `allOf`, `$ref`,
//!   tuple `items`, a node with no single type) cannot be expressed: the tool
//!   is refused with the reason, never exported loosened.

use std::fmt;

use mcp_core::ToolRegistry;
use serde::Serialize;
use serde_json::{Map, Value};

/// The types a gateway schema node can have.
const TYPES: [&str; 6] = ["string", "number", "integer", "boolean", "array", "object"];
/// Keywords that change a schema's shape: a tool using them is refused.
const SHAPE_KEYWORDS: [&str; 11] = [
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "$ref",
    "if",
    "then",
    "else",
    "patternProperties",
    "prefixItems",
    "dependentSchemas",
];

/// One schema node in the gateway's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDefinition {
    /// The type.
    pub kind: String,
    /// An object's members, in the tool schema's order.
    pub properties: Option<Vec<(String, SchemaDefinition)>>,
    /// An object's required members.
    pub required: Option<Vec<String>>,
    /// An array's items.
    pub items: Option<Box<SchemaDefinition>>,
    /// Text for the model.
    pub description: Option<String>,
}

/// One exported tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolExport {
    /// The tool's name (the gateway lists it as `<target>___<name>`).
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its arguments.
    pub input_schema: SchemaDefinition,
    /// Its structured output.
    pub output_schema: Option<SchemaDefinition>,
}

/// A keyword left out of an exported schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// The tool.
    pub tool: String,
    /// Where, as a JSON pointer into the tool definition (`/inputSchema/properties/x`).
    pub path: String,
    /// The keyword (`format`, `minimum`, `type: null`, ...).
    pub keyword: String,
}

impl Dropped {
    /// What leaving it out means.
    pub fn consequence(&self) -> &'static str {
        match (self.path.starts_with("/inputSchema"), self.keyword.as_str()) {
            (true, _) => "the gateway does not check it; the function still does",
            (false, "type: null") => "the tool may still return null there",
            (false, _) => {
                "the gateway's schema does not state it; the tool's output still keeps to it"
            }
        }
    }
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: dropped `{}` at {} ({})",
            self.tool,
            self.keyword,
            self.path,
            self.consequence()
        )
    }
}

/// A tool whose schema the gateway cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tool {tool:?} cannot be a gateway tool: {reason} at {path}")]
pub struct Refused {
    /// The tool.
    pub tool: String,
    /// Where.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The registry, converted: every tool, and every keyword that was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The tools, in registry order.
    pub tools: Vec<ToolExport>,
    /// What the gateway will not check (the function still does).
    pub dropped: Vec<Dropped>,
}

/// Why the function's tools cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The registry itself would not build.
    #[error(transparent)]
    Registry(#[from] mcp_core::RegistryError),
    /// Tools the gateway's schema language cannot hold.
    #[error(
        "{}; change these tools' argument or output types to plain objects, arrays and scalars",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Refused(Vec<Refused>),
}

/// The tools this function serves ([`crate::registry`]), exported.
pub fn function_tools() -> Result<Export, ExportError> {
    let registry = crate::registry(crate::FunctionEnv::default())?;
    export(&registry).map_err(ExportError::Refused)
}

/// Converts every tool; any refusal fails the whole export (a target with
/// some tools missing would be a silent loss), listing every refused tool.
pub fn export(registry: &ToolRegistry) -> Result<Export, Vec<Refused>> {
    let mut out = Export {
        tools: Vec::new(),
        dropped: Vec::new(),
    };
    let mut refused = Vec::new();
    for tool in registry.definitions() {
        let mut cx = Convert {
            tool: tool.name(),
            dropped: &mut out.dropped,
        };
        let input = cx.node(tool.input_schema(), "/inputSchema");
        let output = cx.node(tool.output_schema(), "/outputSchema");
        match (input, output) {
            (Ok(input_schema), Ok(output_schema)) => out.tools.push(ToolExport {
                name: tool.name().to_owned(),
                description: tool.description().to_owned(),
                input_schema,
                output_schema: Some(output_schema),
            }),
            (Err(e), _) | (_, Err(e)) => refused.push(e),
        }
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(refused)
    }
}

struct Convert<'a> {
    tool: &'a str,
    dropped: &'a mut Vec<Dropped>,
}

impl Convert<'_> {
    fn refuse(&self, path: &str, reason: impl Into<String>) -> Refused {
        Refused {
            tool: self.tool.to_owned(),
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    fn drop_keyword(&mut self, path: &str, keyword: impl Into<String>) {
        self.dropped.push(Dropped {
            tool: self.tool.to_owned(),
            path: path.to_owned(),
            keyword: keyword.into(),
        });
    }

    fn node(&mut self, schema: &Value, path: &str) -> Result<SchemaDefinition, Refused> {
        let Value::Object(schema) = schema else {
            return Err(self.refuse(path, "a schema that is not an object"));
        };
        if let Some(keyword) = SHAPE_KEYWORDS.iter().find(|k| schema.contains_key(**k)) {
            return Err(self.refuse(
                path,
                format!("`{keyword}` (a choice or reference of shapes)"),
            ));
        }
        let kind = self.kind(schema, path)?;
        let mut node = SchemaDefinition {
            kind: kind.clone(),
            properties: None,
            required: None,
            items: None,
            description: None,
        };
        for (key, value) in schema {
            let at = format!("{path}/{}", escape(key));
            match key.as_str() {
                "type" => {}
                "description" => node.description = value.as_str().map(str::to_owned),
                "properties" if kind == "object" => {
                    node.properties = Some(self.properties(value, &at)?)
                }
                "required" if kind == "object" => {
                    node.required = Some(
                        value
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    );
                }
                "items" if kind == "array" => match value {
                    Value::Object(_) => node.items = Some(Box::new(self.node(value, &at)?)),
                    _ => return Err(self.refuse(&at, "`items` that is not one schema (a tuple)")),
                },
                "additionalProperties" if value == &Value::Bool(true) => {}
                _ => self.drop_keyword(path, keyword_name(key, value)),
            }
        }
        Ok(node)
    }

    /// The node's one type; a `null` beside it is dropped (the gateway has
    /// no null), two or more other types cannot be expressed.
    fn kind(&mut self, schema: &Map<String, Value>, path: &str) -> Result<String, Refused> {
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return Err(self.refuse(path, "a schema without a `type` (any value)")),
        };
        let (nulls, others): (Vec<&str>, Vec<&str>) = types.into_iter().partition(|t| *t == "null");
        if !nulls.is_empty() && !others.is_empty() {
            self.drop_keyword(path, "type: null");
        }
        match others.as_slice() {
            [one] if TYPES.contains(one) => Ok((*one).to_owned()),
            [] => Err(self.refuse(path, "a value that can only be null")),
            [one] => Err(self.refuse(path, format!("the type {one:?}"))),
            _ => Err(self.refuse(path, format!("a choice of types {others:?}"))),
        }
    }

    fn properties(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Result<Vec<(String, SchemaDefinition)>, Refused> {
        let Value::Object(members) = value else {
            return Err(self.refuse(path, "`properties` that is not an object"));
        };
        members
            .iter()
            .map(|(name, schema)| {
                Ok((
                    name.clone(),
                    self.node(schema, &format!("{path}/{}", escape(name)))?,
                ))
            })
            .collect()
    }
}

/// The name a dropped keyword is reported by (`additionalProperties: false`).
fn keyword_name(key: &str, value: &Value) -> String {
    match (key, value) {
        ("additionalProperties", Value::Bool(b)) => format!("additionalProperties: {b}"),
        _ => key.to_owned(),
    }
}

/// A JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The export as the AgentCore control-plane API and CLI take a target's
/// inline payload (`name`, `description`, `inputSchema`, `outputSchema`).
pub fn api_payload(tools: &[ToolExport]) -> Value {
    Value::Array(tools.iter().map(|t| tool_json(t, false)).collect())
}

/// The export as `AWS::BedrockAgentCore::GatewayTarget`'s `InlinePayload`
/// (CloudFormation spells every member in PascalCase).
pub fn cloudformation_payload(tools: &[ToolExport]) -> Value {
    Value::Array(tools.iter().map(|t| tool_json(t, true)).collect())
}

fn tool_json(tool: &ToolExport, pascal: bool) -> Value {
    let key = |camel: &str| -> String {
        if pascal {
            let mut chars = camel.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        } else {
            camel.to_owned()
        }
    };
    let mut out = Map::new();
    out.insert(key("name"), Value::from(tool.name.clone()));
    out.insert(key("description"), Value::from(tool.description.clone()));
    out.insert(key("inputSchema"), schema_json(&tool.input_schema, &key));
    if let Some(output) = &tool.output_schema {
        out.insert(key("outputSchema"), schema_json(output, &key));
    }
    Value::Object(out)
}

fn schema_json(node: &SchemaDefinition, key: &dyn Fn(&str) -> String) -> Value {
    let mut out = Map::new();
    out.insert(key("type"), Value::from(node.kind.clone()));
    if let Some(properties) = &node.properties {
        let members = properties
            .iter()
            .map(|(name, schema)| (name.clone(), schema_json(schema, key)))
            .collect();
        out.insert(key("properties"), Value::Object(members));
    }
    if let Some(required) = &node.required {
        out.insert(key("required"), Value::from(required.clone()));
    }
    if let Some(items) = &node.items {
        out.insert(key("items"), schema_json(items, key));
    }
    if let Some(description) = &node.description {
        out.insert(key("description"), Value::from(description.clone()));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(schema: Value) -> (Result<SchemaDefinition, Refused>, Vec<Dropped>) {
        let mut dropped = Vec::new();
        let result = Convert {
            tool: "t",
            dropped: &mut dropped,
        }
        .node(&schema, "/inputSchema");
        (result, dropped)
    }

    #[test]
    fn narrowing_keywords_are_dropped_by_name() {
        let (node, dropped) = convert(json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "format": "uint32", "minimum": 0},
                "tag": {"type": ["string", "null"], "enum": ["a", "b"]},
                "list": {"type": "array", "items": {"type": "string", "maxLength": 3}}
            },
            "required": ["n"],
            "additionalProperties": false,
            "description": "args"
        }));
        let node = node.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(node.required, Some(vec!["n".to_owned()]));
        assert_eq!(node.description.as_deref(), Some("args"));
        let names: Vec<String> = dropped
            .iter()
            .map(|d| format!("{} {}", d.path, d.keyword))
            .collect();
        for expected in [
            "/inputSchema additionalProperties: false",
            "/inputSchema/properties/n format",
            "/inputSchema/properties/n minimum",
            "/inputSchema/properties/tag type: null",
            "/inputSchema/properties/tag enum",
            "/inputSchema/properties/list/items maxLength",
        ] {
            assert!(
                names.contains(&expected.to_owned()),
                "{expected} not in {names:?}"
            );
        }
        assert_eq!(names.len(), 6, "{names:?}");
        let payload = schema_json(&node, &|k: &str| k.to_owned());
        assert_eq!(payload["properties"]["tag"], json!({"type": "string"}));
    }

    #[test]
    fn shapes_the_gateway_cannot_hold_are_refused() {
        for (schema, reason) in [
            (
                json!({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}),
                "anyOf",
            ),
            (
                json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}),
                "$ref",
            ),
            (
                json!({"type": "object", "properties": {"a": {}}}),
                "without a `type`",
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": ["string", "integer"]}}}),
                "choice of types",
            ),
            (
                json!({"type": "array", "items": [{"type": "string"}]}),
                "tuple",
            ),
            (json!({"type": "null"}), "only be null"),
        ] {
            let (result, _) = convert(schema.clone());
            let refused = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains(reason), "{schema}: {refused:?}");
        }
    }

    #[test]
    fn the_function_tools_export() {
        let env = crate::FunctionEnv::default();
        let registry = crate::registry(env).unwrap_or_default();
        let export = export(&registry).unwrap_or_else(|e| panic!("{e:?}"));
        let names: Vec<&str> = export.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "word_count",
                "demo_echo",
                "demo_progress",
                "demo_drop_table",
                "demo_account_context"
            ]
        );
        let cfn = cloudformation_payload(&export.tools);
        assert_eq!(cfn[0]["InputSchema"]["Type"], "object");
        assert_eq!(cfn[0]["InputSchema"]["Required"], json!(["text"]));
        let api = api_payload(&export.tools);
        assert_eq!(
            api[0]["inputSchema"]["properties"]["text"]["type"],
            "string"
        );
    }
}
