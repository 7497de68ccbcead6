//! The resources capability: data a client reads by URI - fixed resources
//! listed by `resources/list`, and templates (`resources/templates/list`)
//! whose URIs carry variables, read by a function of them.
//!
//! Templates use RFC 6570 level 1 (`{name}`); a variable matches one or more
//! characters up to the next literal part and never a `/`.
//!
//! Resources here do not change while the server runs (they are part of the
//! deployment), so a subscription (`resources/subscribe`) is acknowledged and
//! no `notifications/resources/updated` ever needs to follow it.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::ProtocolVersion;
use crate::content::ResourceContents;
use crate::context::CallContext;
use crate::jsonrpc::{ErrorCode, ErrorObject};

/// One resource as `resources/list` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// Its URI.
    pub uri: String,
    /// A programmatic name.
    pub name: String,
    /// A display name (2025-06-18 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// One template as `resources/templates/list` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInfo {
    /// The URI template (`test://template/{id}/data`).
    pub uri_template: String,
    /// A programmatic name.
    pub name: String,
    /// A display name (2025-06-18 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the resources are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Their media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

impl ResourceInfo {
    /// A resource at `uri` called `name`, with no title, description or
    /// media type.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceInfo {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
        }
    }

    /// The entry as `version` has it (`title` from 2025-06-18 on).
    pub(crate) fn for_version(&self, version: ProtocolVersion) -> ResourceInfo {
        ResourceInfo {
            title: self
                .title
                .clone()
                .filter(|_| version.has_structured_output()),
            ..self.clone()
        }
    }
}

impl TemplateInfo {
    /// The entry as `version` has it (`title` from 2025-06-18 on).
    pub(crate) fn for_version(&self, version: ProtocolVersion) -> TemplateInfo {
        TemplateInfo {
            title: self
                .title
                .clone()
                .filter(|_| version.has_structured_output()),
            ..self.clone()
        }
    }
}

/// The variables of a URI matched against a template, by name.
pub type UriVariables = BTreeMap<String, String>;

message_error! {
    /// A templated resource that could not be read: `resources/read` answers
    /// "resource not found" (-32002) with the URI and the message, so say
    /// why there is nothing at that URI. `Err("...".into())` and `?` on a
    /// `Result<_, String>` make one.
    ResourceReadError
}

/// Resources whose URIs follow a template, read by a function of the
/// variables.
pub trait ResourceTemplate: Send + Sync + 'static {
    /// The template and what it describes; called once, at registration.
    fn definition(&self) -> TemplateInfo;

    /// Reads the resource at `uri`, whose variables matched. An `Err` is a
    /// "resource not found" error with its message.
    fn read(
        &self,
        uri: &str,
        variables: &UriVariables,
        cx: &CallContext<'_>,
    ) -> impl Future<Output = Result<Vec<ResourceContents>, ResourceReadError>> + Send;

    /// Values for `variable` that start with `prefix` (`completion/complete`).
    fn complete(&self, variable: &str, prefix: &str) -> Vec<String> {
        let _ = (variable, prefix);
        Vec::new()
    }
}

use crate::BoxFuture;

trait ErasedTemplate: Send + Sync {
    fn read<'a>(
        &'a self,
        uri: &'a str,
        variables: UriVariables,
        cx: CallContext<'a>,
    ) -> BoxFuture<'a, Result<Vec<ResourceContents>, ResourceReadError>>;
    fn complete(&self, variable: &str, prefix: &str) -> Vec<String>;
}

struct Typed<T>(T);

impl<T: ResourceTemplate> ErasedTemplate for Typed<T> {
    fn read<'a>(
        &'a self,
        uri: &'a str,
        variables: UriVariables,
        cx: CallContext<'a>,
    ) -> BoxFuture<'a, Result<Vec<ResourceContents>, ResourceReadError>> {
        Box::pin(async move { self.0.read(uri, &variables, &cx).await })
    }

    fn complete(&self, variable: &str, prefix: &str) -> Vec<String> {
        self.0.complete(variable, prefix)
    }
}

struct Template {
    info: TemplateInfo,
    parts: Vec<Part>,
    reader: Box<dyn ErasedTemplate>,
}

/// A piece of a parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// Why a resource or template could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// Two resources with one URI, or two templates with one pattern.
    #[error("{0:?} is already registered")]
    Duplicate(String),
    /// A template this parser does not take.
    #[error(
        "URI template {template:?}: {why} (templates take {{name}} variables, separated by literal text)"
    )]
    BadTemplate {
        /// The template.
        template: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

fn parse_template(template: &str) -> Result<Vec<Part>, ResourceError> {
    let bad = |why| ResourceError::BadTemplate {
        template: template.to_owned(),
        why,
    };
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let end = rest.find('}').ok_or_else(|| bad("an unclosed `{`"))?;
                let name = &rest[1..end];
                let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
                if name.is_empty() || !name.chars().all(valid) {
                    return Err(bad("a variable name must be letters, digits and `_`"));
                }
                if matches!(parts.last(), Some(Part::Variable(_))) {
                    return Err(bad("two variables need literal text between them"));
                }
                parts.push(Part::Variable(name.to_owned()));
                rest = &rest[end + 1..];
            }
            found => {
                let end = found.unwrap_or(rest.len());
                if rest[..end].contains('}') {
                    return Err(bad("a `}` without its `{`"));
                }
                parts.push(Part::Literal(rest[..end].to_owned()));
                rest = &rest[end..];
            }
        }
    }
    Ok(parts)
}

/// The variables of `uri` when it matches the template's parts.
fn match_template(parts: &[Part], uri: &str) -> Option<UriVariables> {
    let mut variables = UriVariables::new();
    let mut rest = uri;
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
            Part::Variable(name) => {
                // Up to the next literal (or the end), never across a `/`.
                let end = match parts.get(i + 1) {
                    Some(Part::Literal(next)) => rest.find(next.as_str())?,
                    _ => rest.len(),
                };
                let value = &rest[..end];
                if value.is_empty() || value.contains('/') {
                    return None;
                }
                variables.insert(name.clone(), value.to_owned());
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty().then_some(variables)
}

/// The resources a server offers: fixed ones and templates, in
/// registration order.
#[derive(Default)]
pub struct Resources {
    fixed: Vec<(ResourceInfo, Vec<ResourceContents>)>,
    templates: Vec<Template>,
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resources")
            .field(
                "fixed",
                &self.fixed.iter().map(|(i, _)| &i.uri).collect::<Vec<_>>(),
            )
            .field(
                "templates",
                &self
                    .templates
                    .iter()
                    .map(|t| &t.info.uri_template)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The JSON-RPC error for a URI nothing here serves (-32002, as the
/// specification's resources page defines it).
pub fn not_found(uri: &str, why: Option<&str>) -> ErrorObject {
    let message = match why {
        Some(why) => format!("Resource not found: {uri}: {why}"),
        None => format!(
            "Resource not found: {uri}; list the resources and templates with \
             resources/list and resources/templates/list"
        ),
    };
    ErrorObject::new(ErrorCode::RESOURCE_NOT_FOUND, message)
        .with_data(serde_json::json!({"uri": uri}))
}

/// A resource error as the request's revision words it: from 2026-07-28 a
/// URI nothing serves is -32602 Invalid params (SEP-2164), before it -32002.
pub fn error_at(mut error: ErrorObject, version: ProtocolVersion) -> ErrorObject {
    if version.is_stateless() && error.code == ErrorCode::RESOURCE_NOT_FOUND {
        error.code = ErrorCode::INVALID_PARAMS;
    }
    error
}

impl Resources {
    /// No resources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are none (the capability is then not offered).
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty() && self.templates.is_empty()
    }

    /// Adds a resource whose contents are fixed.
    pub fn add(
        &mut self,
        info: ResourceInfo,
        contents: ResourceContents,
    ) -> Result<&mut Self, ResourceError> {
        if self.fixed.iter().any(|(i, _)| i.uri == info.uri) {
            return Err(ResourceError::Duplicate(info.uri));
        }
        self.fixed.push((info, vec![contents]));
        Ok(self)
    }

    /// Adds a template.
    pub fn add_template<T: ResourceTemplate>(
        &mut self,
        template: T,
    ) -> Result<&mut Self, ResourceError> {
        let info = template.definition();
        let parts = parse_template(&info.uri_template)?;
        if self.templates.iter().any(|t| t.parts == parts) {
            return Err(ResourceError::Duplicate(info.uri_template));
        }
        self.templates.push(Template {
            info,
            parts,
            reader: Box::new(Typed(template)),
        });
        Ok(self)
    }

    /// The fixed resources.
    pub fn list(&self) -> impl Iterator<Item = &ResourceInfo> {
        self.fixed.iter().map(|(info, _)| info)
    }

    /// The templates.
    pub fn templates(&self) -> impl Iterator<Item = &TemplateInfo> {
        self.templates.iter().map(|t| &t.info)
    }

    /// Whether `uri` names a resource here (fixed, or matching a template).
    pub fn exists(&self, uri: &str) -> bool {
        self.fixed.iter().any(|(i, _)| i.uri == uri)
            || self
                .templates
                .iter()
                .any(|t| match_template(&t.parts, uri).is_some())
    }

    /// The entry that serves `uri`: the fixed resource's URI, else the
    /// pattern of the first template it matches (what a deployment names
    /// in its scopes per resource).
    pub fn entry_of(&self, uri: &str) -> Option<&str> {
        if let Some((info, _)) = self.fixed.iter().find(|(i, _)| i.uri == uri) {
            return Some(&info.uri);
        }
        self.templates
            .iter()
            .find(|t| match_template(&t.parts, uri).is_some())
            .map(|t| t.info.uri_template.as_str())
    }

    /// Every entry a deployment may name: the fixed resources' URIs and the
    /// templates' patterns.
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.list()
            .map(|i| i.uri.as_str())
            .chain(self.templates().map(|t| t.uri_template.as_str()))
    }

    /// Reads `uri`: a fixed resource, else the first template it matches.
    pub async fn read(
        &self,
        uri: &str,
        cx: CallContext<'_>,
    ) -> Result<Vec<ResourceContents>, ErrorObject> {
        if let Some((_, contents)) = self.fixed.iter().find(|(i, _)| i.uri == uri) {
            return Ok(contents.clone());
        }
        for template in &self.templates {
            if let Some(variables) = match_template(&template.parts, uri) {
                return template
                    .reader
                    .read(uri, variables, cx)
                    .await
                    .map_err(|why| not_found(uri, Some(why.message())));
            }
        }
        Err(not_found(uri, None))
    }

    /// Completion values for a template's variable; `None` when no template
    /// has that pattern.
    pub fn complete(&self, template: &str, variable: &str, prefix: &str) -> Option<Vec<String>> {
        let found = self
            .templates
            .iter()
            .find(|t| t.info.uri_template == template)?;
        Some(found.reader.complete(variable, prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> UriVariables {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn templates_match_level_one_variables() {
        let parts = parse_template("test://template/{id}/data").unwrap();
        assert_eq!(
            match_template(&parts, "test://template/123/data"),
            Some(vars(&[("id", "123")]))
        );
        for miss in [
            "test://template//data",
            "test://template/1/2/data",
            "test://template/123/data/more",
            "test://other/123/data",
            "test://template/123",
        ] {
            assert_eq!(match_template(&parts, miss), None, "{miss}");
        }
        let tail = parse_template("file:///{dir}/{name}.txt").unwrap();
        assert_eq!(
            match_template(&tail, "file:///logs/today.txt"),
            Some(vars(&[("dir", "logs"), ("name", "today")]))
        );
        let end = parse_template("s3://bucket/{key}").unwrap();
        assert_eq!(
            match_template(&end, "s3://bucket/a"),
            Some(vars(&[("key", "a")]))
        );
    }

    struct Items;

    impl ResourceTemplate for Items {
        fn definition(&self) -> TemplateInfo {
            TemplateInfo {
                uri_template: "items://{id}".into(),
                name: "item".into(),
                title: None,
                description: None,
                mime_type: None,
            }
        }

        async fn read(
            &self,
            uri: &str,
            variables: &UriVariables,
            _: &CallContext<'_>,
        ) -> Result<Vec<ResourceContents>, ResourceReadError> {
            let id: u32 = variables["id"]
                .parse()
                .map_err(|_| "item ids are numbers, like items://7")?;
            Ok(vec![ResourceContents::text(
                uri,
                "text/plain",
                id.to_string(),
            )])
        }
    }

    #[tokio::test]
    async fn a_templates_own_error_is_not_found_with_its_message() {
        let mut resources = Resources::new();
        resources
            .add_template(Items)
            .unwrap_or_else(|e| panic!("{e}"));
        let request = crate::RequestContext::default();
        let read = |uri| resources.read(uri, request.call(ProtocolVersion::LATEST_HANDSHAKE, None));
        assert!(read("items://7").await.is_ok());
        let error = read("items://x")
            .await
            .err()
            .unwrap_or_else(|| panic!("refused"));
        assert_eq!(error.code, ErrorCode::RESOURCE_NOT_FOUND);
        assert_eq!(
            error.message,
            "Resource not found: items://x: item ids are numbers, like items://7"
        );
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        for (template, why) in [
            ("a/{", "unclosed"),
            ("a/{}", "variable name"),
            ("a/{x-y}", "variable name"),
            ("a/{x}{y}", "literal text"),
            ("a/}", "without"),
        ] {
            let error = parse_template(template).unwrap_err().to_string();
            assert!(error.contains(why), "{template}: {error}");
        }
    }
}
