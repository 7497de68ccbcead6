//! The prompts capability: message templates a user picks (a slash command
//! in a client), filled in with string arguments by `prompts/get`.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::ProtocolVersion;
use crate::content::Content;
use crate::context::CallContext;
use crate::jsonrpc::ErrorObject;

/// One argument a prompt takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptArgument {
    /// Its name.
    pub name: String,
    /// What to give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether `prompts/get` needs it.
    #[serde(default)]
    pub required: bool,
}

impl PromptArgument {
    /// A required argument.
    pub fn required(name: &str, description: &str) -> Self {
        PromptArgument {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            required: true,
        }
    }
}

/// One prompt as `prompts/list` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptInfo {
    /// The name to get it by.
    pub name: String,
    /// A display name (2025-06-18 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<PromptArgument>,
}

impl PromptInfo {
    /// A prompt's name and what it is for.
    pub fn new(name: &str, description: &str) -> Self {
        PromptInfo {
            name: name.to_owned(),
            title: None,
            description: Some(description.to_owned()),
            arguments: Vec::new(),
        }
    }

    /// With these arguments.
    pub fn arguments(mut self, arguments: Vec<PromptArgument>) -> Self {
        self.arguments = arguments;
        self
    }

    fn for_version(&self, version: ProtocolVersion) -> PromptInfo {
        PromptInfo {
            title: self
                .title
                .clone()
                .filter(|_| version.has_structured_output()),
            ..self.clone()
        }
    }
}

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    User,
    /// The model.
    Assistant,
}

/// One message of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: Content,
}

impl PromptMessage {
    /// A message from the user.
    pub fn user(content: Content) -> Self {
        PromptMessage {
            role: Role::User,
            content,
        }
    }
}

/// The `prompts/get` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPromptResult {
    /// What the prompt is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The messages.
    pub messages: Vec<PromptMessage>,
}

/// The arguments of a `prompts/get`, by name.
pub type PromptArguments = BTreeMap<String, String>;

/// A prompt: its description and how its messages are made.
pub trait Prompt: Send + Sync + 'static {
    /// Name, description and arguments; called once, at registration.
    fn definition(&self) -> PromptInfo;

    /// The messages for these arguments (every required one is present). An
    /// `Err` is an invalid-params error with that message.
    fn get(
        &self,
        arguments: &PromptArguments,
        cx: &CallContext<'_>,
    ) -> impl Future<Output = Result<Vec<PromptMessage>, String>> + Send;

    /// Values for `argument` that start with `prefix` (`completion/complete`).
    fn complete(&self, argument: &str, prefix: &str) -> Vec<String> {
        let _ = (argument, prefix);
        Vec::new()
    }
}

use crate::BoxFuture;

trait ErasedPrompt: Send + Sync {
    fn get<'a>(
        &'a self,
        arguments: PromptArguments,
        cx: CallContext<'a>,
    ) -> BoxFuture<'a, Result<Vec<PromptMessage>, String>>;
    fn complete(&self, argument: &str, prefix: &str) -> Vec<String>;
}

struct Typed<T>(T);

impl<T: Prompt> ErasedPrompt for Typed<T> {
    fn get<'a>(
        &'a self,
        arguments: PromptArguments,
        cx: CallContext<'a>,
    ) -> BoxFuture<'a, Result<Vec<PromptMessage>, String>> {
        Box::pin(async move { self.0.get(&arguments, &cx).await })
    }

    fn complete(&self, argument: &str, prefix: &str) -> Vec<String> {
        self.0.complete(argument, prefix)
    }
}

/// The prompts a server offers, in registration order.
#[derive(Default)]
pub struct Prompts {
    entries: Vec<(PromptInfo, Box<dyn ErasedPrompt>)>,
}

impl fmt::Debug for Prompts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(info, _)| &info.name))
            .finish()
    }
}

impl Prompts {
    /// No prompts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are none (the capability is then not offered).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a prompt; `Err` with the name when one has it already.
    pub fn add<T: Prompt>(&mut self, prompt: T) -> Result<&mut Self, String> {
        let info = prompt.definition();
        if self.entries.iter().any(|(i, _)| i.name == info.name) {
            return Err(format!(
                "a prompt named {:?} is already registered",
                info.name
            ));
        }
        self.entries.push((info, Box::new(Typed(prompt))));
        Ok(self)
    }

    /// The prompts as `version` describes them.
    pub fn list(&self, version: ProtocolVersion) -> Vec<PromptInfo> {
        self.entries
            .iter()
            .map(|(info, _)| info.for_version(version))
            .collect()
    }

    fn find(&self, name: &str) -> Result<&(PromptInfo, Box<dyn ErasedPrompt>), ErrorObject> {
        self.entries
            .iter()
            .find(|(info, _)| info.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.entries.iter().map(|(i, _)| i.name.as_str()).collect();
                ErrorObject::invalid_params(format!(
                    "Unknown prompt: {name:?}; available prompts: {}",
                    known.join(", ")
                ))
            })
    }

    /// `prompts/get`: checks the arguments, then makes the messages.
    pub async fn get(
        &self,
        name: &str,
        arguments: PromptArguments,
        version: ProtocolVersion,
        cx: CallContext<'_>,
    ) -> Result<GetPromptResult, ErrorObject> {
        let (info, prompt) = self.find(name)?;
        let missing: Vec<&str> = info
            .arguments
            .iter()
            .filter(|a| a.required && !arguments.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ErrorObject::invalid_params(format!(
                "prompt {name:?} needs the argument(s) {}",
                missing.join(", ")
            )));
        }
        if let Some(unknown) = arguments
            .keys()
            .find(|k| !info.arguments.iter().any(|a| &a.name == *k))
        {
            return Err(ErrorObject::invalid_params(format!(
                "prompt {name:?} takes no argument {unknown:?}; it takes: {}",
                info.arguments
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let messages = prompt
            .get(arguments, cx)
            .await
            .map_err(ErrorObject::invalid_params)?;
        Ok(GetPromptResult {
            description: info.description.clone(),
            messages: messages
                .into_iter()
                .map(|m| PromptMessage {
                    role: m.role,
                    content: m.content.for_version(version),
                })
                .collect(),
        })
    }

    /// Completion values for a prompt's argument.
    pub fn complete(
        &self,
        name: &str,
        argument: &str,
        prefix: &str,
    ) -> Result<Vec<String>, ErrorObject> {
        let (info, prompt) = self.find(name)?;
        if !info.arguments.iter().any(|a| a.name == argument) {
            return Err(ErrorObject::invalid_params(format!(
                "prompt {name:?} has no argument {argument:?}"
            )));
        }
        Ok(prompt.complete(argument, prefix))
    }
}
