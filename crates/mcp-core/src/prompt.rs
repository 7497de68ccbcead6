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

message_error! {
    /// A prompt that could not be made for these arguments: `prompts/get`
    /// answers an invalid-params error with the message, so say which
    /// argument is wrong and what would do. `Err("...".into())` and `?` on a
    /// `Result<_, String>` make one.
    PromptError
}

/// Why a prompt could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptRegistryError {
    /// Two prompts with the same name.
    #[error("a prompt named {0:?} is already registered")]
    Duplicate(String),
}

/// A prompt: its description and how its messages are made.
pub trait Prompt: Send + Sync + 'static {
    /// Name, description and arguments; called once, at registration.
    fn definition(&self) -> PromptInfo;

    /// The messages for these arguments (every required one is present). An
    /// `Err` is an invalid-params error with its message.
    fn get(
        &self,
        arguments: &PromptArguments,
        cx: &CallContext<'_>,
    ) -> impl Future<Output = Result<Vec<PromptMessage>, PromptError>> + Send;

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
    ) -> BoxFuture<'a, Result<Vec<PromptMessage>, PromptError>>;
    fn complete(&self, argument: &str, prefix: &str) -> Vec<String>;
}

struct Typed<T>(T);

impl<T: Prompt> ErasedPrompt for Typed<T> {
    fn get<'a>(
        &'a self,
        arguments: PromptArguments,
        cx: CallContext<'a>,
    ) -> BoxFuture<'a, Result<Vec<PromptMessage>, PromptError>> {
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
    pub fn add<T: Prompt>(&mut self, prompt: T) -> Result<&mut Self, PromptRegistryError> {
        let info = prompt.definition();
        if self.entries.iter().any(|(i, _)| i.name == info.name) {
            return Err(PromptRegistryError::Duplicate(info.name));
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

    /// Whether a prompt has this name.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(info, _)| info.name == name)
    }

    /// The prompts' names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(info, _)| info.name.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestContext;
    use crate::jsonrpc::ErrorCode;

    struct Pick;

    impl Prompt for Pick {
        fn definition(&self) -> PromptInfo {
            PromptInfo::new("pick", "Asks for a colour.")
                .arguments(vec![PromptArgument::required("colour", "red or blue")])
        }

        async fn get(
            &self,
            arguments: &PromptArguments,
            _: &CallContext<'_>,
        ) -> Result<Vec<PromptMessage>, PromptError> {
            let colour = arguments.get("colour").map_or("", String::as_str);
            if !matches!(colour, "red" | "blue") {
                return Err(format!("there is no colour {colour:?}: pick red or blue").into());
            }
            Ok(vec![PromptMessage::user(Content::text(colour))])
        }
    }

    #[tokio::test]
    async fn a_prompts_own_error_is_invalid_params_with_its_message() {
        let mut prompts = Prompts::new();
        prompts.add(Pick).unwrap_or_else(|e| panic!("{e}"));
        let request = RequestContext::default();
        let get = |colour: &str| {
            let arguments = PromptArguments::from([("colour".to_owned(), colour.to_owned())]);
            let cx = request.call(ProtocolVersion::LATEST_HANDSHAKE, None);
            prompts.get("pick", arguments, ProtocolVersion::LATEST_HANDSHAKE, cx)
        };
        assert!(get("red").await.is_ok());
        let error = get("green")
            .await
            .err()
            .unwrap_or_else(|| panic!("refused"));
        assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
        assert_eq!(
            error.message,
            "Invalid params: there is no colour \"green\": pick red or blue"
        );
    }

    #[test]
    fn a_second_prompt_of_a_name_is_refused() {
        let mut prompts = Prompts::new();
        assert!(prompts.add(Pick).is_ok());
        let error = prompts.add(Pick).err();
        assert_eq!(error, Some(PromptRegistryError::Duplicate("pick".into())));
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("a prompt named \"pick\" is already registered")
        );
    }
}
