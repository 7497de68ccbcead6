//! `demo_account_context`: where the function runs and who called it.

use mcp_core::{Annotations, CallContext, NoArgs, Tool, ToolDefinition, ToolError};
use schemars::JsonSchema;
use serde::Serialize;

/// The IAM identity of the caller, as the Function URL's `AWS_IAM` authorizer
/// reported it in `requestContext.authorizer.iam`. What is unknown is left
/// out, never `null`: the schema a gateway is given has no `null`s
/// (`crate::agentcore`), and clients that check output against it would
/// refuse one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// The caller's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The caller's ARN (user, or assumed-role session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_arn: Option<String>,
    /// The caller's unique id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
}

/// What the transport knows about one invocation; attached to each request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The ARN the function was invoked by (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
    pub invoked_function_arn: Option<String>,
    /// The signed caller, when the URL uses IAM auth.
    pub caller: Option<Caller>,
}

/// The function's own environment, read once at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionEnv {
    /// `AWS_REGION`.
    pub region: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: Option<String>,
    /// The account of the function's settings
    /// ([`Setting::AccountId`](mcp_settings::Setting::AccountId)), used when
    /// the invoked ARN is unavailable.
    pub account_fallback: Option<String>,
}

impl FunctionEnv {
    /// Reads the environment Lambda gives the function, and the account of
    /// its `settings`.
    pub fn from_env(settings: &mcp_settings::FunctionSettings) -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        FunctionEnv {
            region: var("AWS_REGION"),
            function_name: var("AWS_LAMBDA_FUNCTION_NAME"),
            account_fallback: settings.account_id.clone(),
        }
    }
}

/// Reports the account, region and function this call ran in, and who made it.
#[derive(Debug, Clone, Default)]
pub struct DemoAccountContext {
    env: FunctionEnv,
}

impl DemoAccountContext {
    /// The tool, reporting from `env`.
    pub fn new(env: FunctionEnv) -> Self {
        DemoAccountContext { env }
    }
}

/// The result of `demo_account_context`; what is unknown is left out.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccountContext {
    /// The account the function runs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region the function runs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The function's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Who called, as IAM authenticated them (absent without IAM auth, and
    /// through a gateway, which does not pass its caller on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
}

/// The account field of a Lambda function ARN.
fn account_of(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some(_partition), Some("lambda"), Some(_region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!account.is_empty()).then_some(account)
}

impl Tool for DemoAccountContext {
    type Args = NoArgs;
    type Output = AccountContext;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "demo_account_context",
            "Report the AWS account, region and function this MCP server runs in, and the IAM \
             identity that signed this call: proof that the call stayed inside the account.",
        )
        .title("Account context")
        .annotations(Annotations::read_only())
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<AccountContext, ToolError> {
        let Some(invocation) = cx.extensions().get::<Invocation>() else {
            return Err(ToolError::new(
                "demo_account_context runs only inside the Lambda function (there is no \
                 invocation to report on here)",
            ));
        };
        let account = invocation
            .invoked_function_arn
            .as_deref()
            .and_then(account_of)
            .map(str::to_owned)
            .or_else(|| self.env.account_fallback.clone());
        Ok(AccountContext {
            account,
            region: self.env.region.clone(),
            function: self.env.function_name.clone(),
            caller: invocation.caller.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_from_arn() {
        assert_eq!(
            account_of("arn:aws:lambda:eu-central-1:4242:function:f"),
            Some("4242")
        );
        assert_eq!(
            account_of("arn:aws-cn:lambda:cn-north-1:1:function:f:live"),
            Some("1")
        );
        assert_eq!(account_of("arn:aws:s3:::bucket"), None);
        assert_eq!(account_of("nonsense"), None);
    }
}
