//! Token isolation: the OAuth scopes each tool needs.
//!
//! A caller whose identity carries scopes (a bearer token's `scope` or `scp`)
//! sees in `tools/list` only the tools whose scopes it holds, all of them,
//! and a call of any other tool is refused before the tool runs - so a model
//! that "hallucinates" a call to a destructive tool with a read-only token
//! fails safely. A caller without scopes (IAM, stdio) was already decided by
//! its own scheme and is not filtered.
//!
//! Defaults come from a tool's annotations: [`READ`] for a read-only tool,
//! [`WRITE`] for any other. A tool may name its own ([`crate::ToolDefinition::scopes`]),
//! and a deployment may override any tool's with a JSON object of tool name
//! to an array of scopes (the function's setting
//! `mcp_settings::Setting::ToolScopes`, read by [`parse`]):
//! `{"word_count": ["words:read"], "demo_drop_table": ["mcp:admin"]}`.
//!
//! Resources, prompts and completions are reachable with a token too, so
//! they need scopes as well: [`BASELINE`] (the read scope) unless a
//! deployment names others per resource (its URI, or a template's pattern;
//! `mcp_settings::Setting::ResourceScopes`) or per prompt
//! (`mcp_settings::Setting::PromptScopes`), in the same JSON form. Their
//! lists are filtered the same way, and `completion/complete` needs the
//! scopes of the prompt or template it completes.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::jsonrpc::{ErrorCode, ErrorObject};
use crate::tool::Annotations;

/// The scope a read-only tool needs by default.
pub const READ: &str = "mcp:read";
/// The scope any other tool needs by default.
pub const WRITE: &str = "mcp:write";
/// The scope the destructive demo tool needs (an example of a tool's own).
pub const ADMIN: &str = "mcp:admin";
/// The scope resources, prompts and completions need unless a deployment
/// names others: the read scope, which the 401 challenge asks for first.
pub const BASELINE: &str = READ;

/// The default scope for a tool with these annotations.
pub fn default_for(annotations: &Annotations) -> &'static str {
    if annotations.read_only_hint == Some(true) {
        READ
    } else {
        WRITE
    }
}

/// A deployment's scopes per tool (and, in the same form, per resource and
/// per prompt).
pub type ToolScopes = BTreeMap<String, Vec<String>>;

/// How the overrides are written, for the error messages.
const EXAMPLE: &str = r#"{"word_count": ["mcp:read"], "demo_drop_table": ["mcp:admin"]}"#;

/// A deployment's scope overrides that cannot be used: the text does not
/// parse ([`parse`]), or it names a tool the server does not have
/// ([`crate::ToolRegistry::set_scopes`]). The message names the bad entry;
/// the caller names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ScopesError {
    /// The text is not JSON.
    #[error("not JSON ({0}); write it like {EXAMPLE}")]
    NotJson(serde_json::Error),
    /// The text is JSON, but not an object.
    #[error("must be a JSON object of tool names, like {EXAMPLE}")]
    NotAnObject,
    /// A tool's entry is not a non-empty array of valid scope names.
    #[error(
        "{tool:?} is {value}, not a non-empty array of scope names (printable, no spaces or \
         quotes), like [\"mcp:read\"]"
    )]
    NotScopes {
        /// The tool.
        tool: String,
        /// Its entry, as written.
        value: Value,
    },
    /// The overrides name a tool that is not registered.
    #[error("there is no tool {tool:?}; the tools are: {}", known.join(", "))]
    UnknownTool {
        /// The name in the overrides.
        tool: String,
        /// The tools there are.
        known: Vec<String>,
    },
    /// The overrides name a resource or prompt that the server does not offer.
    #[error("there is no {kind} {name:?}; the {kind}s are: {}", known.join(", "))]
    Unknown {
        /// `resource` or `prompt`.
        kind: &'static str,
        /// The name (a URI, a template's pattern, a prompt's name) in the overrides.
        name: String,
        /// What there is.
        known: Vec<String>,
    },
}

/// Parses a JSON object of tool name to a non-empty array of scope strings;
/// an error names the bad entry (the caller names the setting).
pub fn parse(text: &str) -> Result<ToolScopes, ScopesError> {
    let value: Value = serde_json::from_str(text).map_err(ScopesError::NotJson)?;
    let Value::Object(map) = value else {
        return Err(ScopesError::NotAnObject);
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    };
    map.into_iter()
        .map(|(tool, scopes)| {
            let list: Option<Vec<String>> = scopes.as_array().and_then(|items| {
                items
                    .iter()
                    .map(|s| s.as_str().filter(|s| valid(s)).map(str::to_owned))
                    .collect()
            });
            match list {
                Some(list) if !list.is_empty() => Ok((tool, list)),
                _ => Err(ScopesError::NotScopes {
                    tool,
                    value: scopes,
                }),
            }
        })
        .collect()
}

/// The scopes of `required` that `granted` lacks.
pub fn missing<'a>(required: &[&'a str], granted: &[String]) -> Vec<&'a str> {
    required
        .iter()
        .copied()
        .filter(|scope| !granted.iter().any(|g| g == scope))
        .collect()
}

/// The refusal of a call the caller's scopes do not cover: JSON-RPC
/// -32031, which the HTTP layer answers with 403 and an
/// `insufficient_scope` challenge naming every scope the tool needs.
pub fn insufficient(tool: &str, required: &[&str], missing: &[&str]) -> ErrorObject {
    insufficient_for("tool", tool, required, missing)
}

/// The refusal of a request for `name`, a `kind` (`tool`, `resource`,
/// `prompt`) the caller's scopes do not cover: -32031, with the `kind` as
/// the key of `name` in its data beside `requiredScopes` and `missingScopes`.
pub fn insufficient_for(
    kind: &str,
    name: &str,
    required: &[&str],
    missing: &[&str],
) -> ErrorObject {
    let what = match kind {
        "tool" => "The tool did not run",
        _ => "Nothing was served",
    };
    let mut capitalised = kind.to_owned();
    if let Some(first) = capitalised.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    ErrorObject::new(
        ErrorCode::INSUFFICIENT_SCOPE,
        format!(
            "{capitalised} {name:?} needs the scope(s) {}, which this caller's token does not \
             grant (it lacks {}). {what}. Do not retry with this token: ask the user whether to \
             get one with those scopes.",
            required.join(" "),
            missing.join(" ")
        ),
    )
    .with_data(json!({kind: name, "requiredScopes": required, "missingScopes": missing}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_checked_entry_by_entry() {
        let parsed = parse(r#"{"a": ["x:read", "y"], "b": ["mcp:admin"]}"#).unwrap();
        assert_eq!(parsed["a"], ["x:read", "y"]);
        for (bad, named) in [
            ("[]", "JSON object"),
            ("{", "not JSON"),
            (r#"{"a": "x"}"#, "\"a\""),
            (r#"{"a": []}"#, "\"a\""),
            (r#"{"a": ["has space"]}"#, "\"a\""),
            (r#"{"a": [1]}"#, "\"a\""),
        ] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains(named), "{bad}: {error}");
        }
    }

    #[test]
    fn defaults_follow_the_annotations() {
        assert_eq!(default_for(&Annotations::read_only()), READ);
        assert_eq!(default_for(&Annotations::default()), WRITE);
        assert_eq!(missing(&["a", "b"], &["b".into()]), ["a"]);
    }
}
