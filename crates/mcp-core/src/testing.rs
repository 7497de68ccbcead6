//! Checks for tool authors' tests: that a tool's published schemas and its
//! Rust types agree. Every tool crate runs [`schema_problems`] over its
//! registry, so a new tool is checked without a new test.
//!
//! The checker understands the JSON Schema keywords `schemars` emits for
//! plain data types (`type`, `properties`, `required`, `additionalProperties`,
//! `items`, `minimum`, `maximum`, `enum`, `const`, `anyOf`, `oneOf`); anything
//! else is reported, so a schema is never half-checked in silence.

use serde_json::{Map, Value, json};

use crate::ToolRegistry;

/// Keywords that only annotate, and so need no check.
const ANNOTATIONS: [&str; 5] = ["description", "title", "format", "default", "examples"];

/// Whether `value` conforms to `schema`; the error names the first mismatch
/// by its JSON pointer.
pub fn conforms(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, value, "")
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let Value::Object(schema) = schema else {
        return match schema {
            Value::Bool(true) => Ok(()),
            _ => Err(format!("{at}: the schema refuses every value")),
        };
    };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "type" => {
                let actual = type_name(value);
                let fits = |t: &Value| {
                    t.as_str()
                        .is_some_and(|t| t == actual || (t == "number" && actual == "integer"))
                };
                let ok = match rule {
                    Value::Array(types) => types.iter().any(fits),
                    one => fits(one),
                };
                if !ok {
                    return Err(format!("{at}: {actual} where the schema wants {rule}"));
                }
            }
            "properties" => {
                let (Some(props), Some(obj)) = (rule.as_object(), value.as_object()) else {
                    continue;
                };
                for (name, sub) in props {
                    if let Some(member) = obj.get(name) {
                        check(sub, member, &format!("{at}/{name}"))?;
                    }
                }
            }
            "required" => {
                let Some(obj) = value.as_object() else {
                    continue;
                };
                for name in rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !obj.contains_key(name) {
                        return Err(format!("{at}: the required member {name:?} is missing"));
                    }
                }
            }
            "additionalProperties" => {
                let (Some(obj), Some(props)) = (value.as_object(), schema.get("properties")) else {
                    continue;
                };
                for (name, member) in obj {
                    if props.get(name).is_none() {
                        check(rule, member, &format!("{at}/{name}"))
                            .map_err(|_| format!("{at}: the member {name:?} is not allowed"))?;
                    }
                }
            }
            "items" => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    check(rule, item, &format!("{at}/{i}"))?;
                }
            }
            "minimum" | "maximum" => {
                let (Some(limit), Some(n)) = (rule.as_f64(), value.as_f64()) else {
                    continue;
                };
                if (keyword == "minimum" && n < limit) || (keyword == "maximum" && n > limit) {
                    return Err(format!("{at}: {n} is beyond the {keyword} {limit}"));
                }
            }
            "enum" if !rule.as_array().is_some_and(|v| v.contains(value)) => {
                return Err(format!("{at}: {value} is not one of {rule}"));
            }
            "const" if rule != value => {
                return Err(format!("{at}: {value} is not {rule}"));
            }
            "anyOf" | "oneOf" => {
                let branches = rule.as_array().map(Vec::as_slice).unwrap_or_default();
                let fitting = branches
                    .iter()
                    .filter(|b| check(b, value, at).is_ok())
                    .count();
                if fitting == 0 || (keyword == "oneOf" && fitting > 1) {
                    return Err(format!(
                        "{at}: {value} fits {fitting} branches of {keyword}"
                    ));
                }
            }
            "enum" | "const" => {}
            k if ANNOTATIONS.contains(&k) => {}
            other => return Err(format!("{at}: the checker does not know {other:?}")),
        }
    }
    Ok(())
}

/// A value that conforms to `schema`: every member, each with a plain value.
pub fn sample(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
        .and_then(|b| b.first())
    {
        return sample(first);
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        Some(Value::String(t)) => t.as_str(),
        _ => "object",
    };
    match kind {
        "string" => json!("sample text"),
        "integer" => json!(
            schema
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .max(1)
        ),
        "number" => json!(1.5),
        "boolean" => json!(true),
        "array" => json!([sample(schema.get("items").unwrap_or(&json!({})))]),
        "null" => Value::Null,
        _ => Value::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(name, sub)| (name.clone(), sample(sub)))
                .collect(),
        ),
    }
}

/// A value of the wrong JSON type for `schema`.
fn wrong_type(schema: &Value) -> Value {
    let allows = |t: &str| match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(|x| x == t),
        Some(one) => one == t,
        None => true,
    };
    if !allows("string") {
        json!("not the right type")
    } else if !allows("object") {
        json!({"not": "the right type"})
    } else {
        json!(12345)
    }
}

/// Every disagreement between each tool's `inputSchema` and its `Args` type,
/// found by feeding the type values the schema accepts and refuses.
pub fn schema_problems(registry: &ToolRegistry) -> Vec<String> {
    let mut problems = Vec::new();
    for def in registry.definitions() {
        let name = def.name();
        let schema = def.input_schema();
        let mut report = |what: String| problems.push(format!("{name}: {what}"));
        let parse = |args: &Map<String, Value>| {
            registry
                .parse_args(name, Value::Object(args.clone()))
                .unwrap_or_else(|| Err(serde::de::Error::custom("not registered")))
        };
        let Value::Object(full) = sample(schema) else {
            report("the schema's sample is not an object".into());
            continue;
        };
        if let Err(e) = conforms(schema, &Value::Object(full.clone())) {
            report(format!("the schema refuses its own sample: {e}"));
        }
        if let Err(e) = parse(&full) {
            report(format!(
                "the type refuses {full:?}, which the schema allows: {e}"
            ));
        }
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let props = schema.get("properties").and_then(Value::as_object);
        for (member, sub) in props.into_iter().flatten() {
            let mut without = full.clone();
            without.remove(member);
            match (required.contains(&member.as_str()), parse(&without)) {
                (true, Ok(())) => report(format!(
                    "{member:?} is required by the schema but the type accepts it missing"
                )),
                (false, Err(e)) => report(format!(
                    "{member:?} is optional in the schema but the type needs it: {e}"
                )),
                _ => {}
            }
            let mut mistyped = full.clone();
            mistyped.insert(member.clone(), wrong_type(sub));
            if parse(&mistyped).is_ok() {
                report(format!("the type accepts a wrongly typed {member:?}"));
            }
        }
        let mut extra = full.clone();
        extra.insert("unexpected_member_xyz".into(), json!(1));
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        match (closed, parse(&extra)) {
            (true, Ok(())) => {
                report("the schema refuses unknown members but the type accepts them".into())
            }
            (false, Err(e)) => report(format!(
                "the schema allows unknown members but the type refuses them: {e}"
            )),
            _ => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CallContext, Tool, ToolDefinition, ToolError};

    /// A schema that says more than the type enforces.
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Drifted {
        #[schemars(with = "String")]
        n: u32,
    }

    struct DriftTool;
    impl Tool for DriftTool {
        type Args = Drifted;
        type Output = Map<String, Value>;
        fn definition(&self) -> ToolDefinition {
            ToolDefinition::new("drift", "a schema that drifted from its type")
        }
        async fn call(&self, a: Drifted, _: &CallContext<'_>) -> Result<Self::Output, ToolError> {
            Ok(Map::from_iter([("n".to_owned(), json!(a.n))]))
        }
    }

    #[test]
    fn drift_is_reported() {
        let mut registry = ToolRegistry::new();
        registry
            .register(DriftTool)
            .map(drop)
            .unwrap_or_else(|e| panic!("{e}"));
        let problems = schema_problems(&registry);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("the type refuses") && p.contains("which the schema allows")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_checker_checks() {
        let schema = json!({"type": "object", "additionalProperties": false, "required": ["n"],
            "properties": {"n": {"type": "integer", "minimum": 0}, "s": {"type": ["string", "null"]}}});
        assert!(conforms(&schema, &json!({"n": 1, "s": null})).is_ok());
        assert!(conforms(&schema, &json!({"n": -1})).is_err());
        assert!(conforms(&schema, &json!({"s": "x"})).is_err());
        assert!(conforms(&schema, &json!({"n": 1, "x": 1})).is_err());
        assert!(conforms(&schema, &json!({"n": "1"})).is_err());
        assert!(conforms(&json!({"pattern": "a"}), &json!("a")).is_err());
        assert!(conforms(&schema, &sample(&schema)).is_ok());
    }
}
