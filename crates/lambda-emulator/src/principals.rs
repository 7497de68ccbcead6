//! Who may call the local Function URL: principals, their secrets, and the
//! invoke permissions a resource policy would grant them.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::sigv4::Secret;

/// The two actions AWS requires for a Function URL with `AuthType = AWS_IAM`.
pub const INVOKE_ACTIONS: [&str; 2] = ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"];

/// An IAM principal that can sign requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Principal {
    /// The access key id it signs with.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The session token, for temporary credentials.
    #[serde(default)]
    pub session_token: Option<String>,
    /// Its account.
    pub account_id: String,
    /// Its ARN (reported to the function as `userArn`).
    pub arn: String,
    /// Its unique id (reported as `userId` and `callerId`).
    pub user_id: String,
    /// The invoke actions it holds (default: both on the function, and
    /// `bedrock-agentcore:InvokeGateway` on the local gateway).
    #[serde(default = "all_invoke_actions")]
    pub allow: Vec<String>,
}

fn all_invoke_actions() -> Vec<String> {
    INVOKE_ACTIONS
        .iter()
        .chain([&crate::gateway::INVOKE_GATEWAY])
        .map(|a| (*a).to_owned())
        .collect()
}

impl Secret for Principal {
    fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }
    fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

impl Principal {
    /// Why this principal may not invoke a function of `account`, if it may not.
    pub fn refusal(&self, account: &str) -> Option<String> {
        if self.account_id != account {
            return Some(format!(
                "{} belongs to account {}, not to this function's account: the URL is bounded to its own account",
                self.arn, self.account_id
            ));
        }
        let missing: Vec<&str> = INVOKE_ACTIONS
            .into_iter()
            .filter(|a| !self.allow.iter().any(|g| g == a))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{} is not allowed {}: a Function URL with AWS_IAM needs both lambda:InvokeFunctionUrl and lambda:InvokeFunction",
                self.arn,
                missing.join(" and ")
            )
        })
    }
}

/// A principals file: `{"principals": [ ... ]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalsFile {
    principals: Vec<Principal>,
}

/// Reads a principals file.
pub fn load(path: &Path) -> anyhow::Result<Vec<Principal>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the principals file {}", path.display()))?;
    let file: PrincipalsFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a principals file ({{\"principals\": [...]}})",
            path.display()
        )
    })?;
    Ok(file.principals)
}

/// The principal of the standard AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), taken to
/// be a user of `account` holding both invoke actions.
pub fn from_env(account: &str) -> anyhow::Result<Option<Principal>> {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let (Some(access_key_id), Some(secret_access_key)) =
        (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    else {
        if var("AWS_ACCESS_KEY_ID").is_some() {
            bail!("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: export both");
        }
        return Ok(None);
    };
    Ok(Some(Principal {
        user_id: format!(
            "AIDALOCAL{}",
            &access_key_id.chars().rev().take(8).collect::<String>()
        ),
        arn: format!("arn:aws:iam::{account}:user/local-developer"),
        account_id: account.to_owned(),
        access_key_id,
        secret_access_key,
        session_token: var("AWS_SESSION_TOKEN"),
        allow: all_invoke_actions(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(account: &str, allow: &[&str]) -> Principal {
        Principal {
            access_key_id: "AK".into(),
            secret_access_key: "s".into(),
            session_token: None,
            account_id: account.into(),
            arn: format!("arn:aws:iam::{account}:user/u"),
            user_id: "AIDA".into(),
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn policy() {
        assert_eq!(principal("1", &INVOKE_ACTIONS).refusal("1"), None);
        assert!(
            principal("2", &INVOKE_ACTIONS)
                .refusal("1")
                .unwrap()
                .contains("not to this function's account")
        );
        let only_url = principal("1", &["lambda:InvokeFunctionUrl"])
            .refusal("1")
            .unwrap();
        assert!(
            only_url.contains("not allowed lambda:InvokeFunction:"),
            "{only_url}"
        );
        let none = principal("1", &[]).refusal("1").unwrap();
        assert!(
            none.contains("lambda:InvokeFunctionUrl and lambda:InvokeFunction: "),
            "{none}"
        );
    }
}
