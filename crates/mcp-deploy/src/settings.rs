//! Where settings come from: flags, then environment, then AWS config.

use std::fmt;

use crate::template::MAX_STACK_NAME;

/// The AWS flags every command shares.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS profile (else AWS_PROFILE, else the default chain).
    #[arg(long, global = true, env = "MCP_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (else the profile's region).
    #[arg(long, global = true, env = "MCP_REGION")]
    pub region: Option<String>,
    /// The account the credentials must belong to.
    #[arg(long, global = true, env = ACCOUNT_ID)]
    pub account: Option<String>,
    /// Send AWS API calls here instead, e.g. an emulator.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// The stack's name.
    #[arg(long, global = true, env = "MCP_STACK_NAME")]
    pub stack_name: Option<String>,
}

/// The account variable: the deploy scripts' contract, and the function's
/// own setting of the same name.
const ACCOUNT_ID: &str = mcp_settings::Setting::AccountId.name();

/// The default stack name.
pub const DEFAULT_STACK_NAME: &str = "McpLadderRemoteStack";

/// A setting that is missing or wrong, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Nothing gave a value.
    #[error("{what} is not set: export {var} or pass {flag}")]
    Missing {
        /// What the setting is.
        what: &'static str,
        /// The variable.
        var: &'static str,
        /// The flag.
        flag: &'static str,
    },
    /// The value is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// A value that is present and not blank (an exported empty variable is unset).
fn given(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.trim().is_empty())
}

/// Settings after resolution (the region may still come from the profile).
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// The profile, if any.
    pub profile: Option<String>,
    /// The region, if flags or environment gave one.
    pub region: Option<String>,
    /// The expected account, if given.
    pub account: Option<String>,
    /// The endpoint override.
    pub endpoint_url: Option<String>,
    /// The stack.
    pub stack_name: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("profile", &self.profile)
            .field("region", &self.region)
            .field("account", &self.account.as_ref().map(|_| "(set)"))
            .field("endpoint_url", &self.endpoint_url)
            .field("stack_name", &self.stack_name)
            .finish()
    }
}

impl Settings {
    /// Checks the flags (clap has already filled them from the environment).
    pub fn resolve(args: &AwsArgs) -> Result<Settings, SettingsError> {
        let account = given(&args.account);
        if let Some(account) = account
            .as_ref()
            .filter(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SettingsError::Invalid(format!(
                "the account {account:?} is not a 12-digit AWS account id: check {ACCOUNT_ID} or --account"
            )));
        }
        let stack_name = given(&args.stack_name).unwrap_or_else(|| DEFAULT_STACK_NAME.into());
        let valid = stack_name.len() <= MAX_STACK_NAME
            && stack_name.starts_with(|c: char| c.is_ascii_alphabetic())
            && stack_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(SettingsError::Invalid(format!(
                "the stack name {stack_name:?} is not valid: use up to {MAX_STACK_NAME} letters, digits \
                 and '-', starting with a letter (the function is named <stack>-mcp, and Lambda \
                 allows 64 characters)"
            )));
        }
        Ok(Settings {
            profile: given(&args.profile),
            region: given(&args.region),
            account,
            endpoint_url: given(&args.endpoint_url),
            stack_name,
        })
    }

    /// The expected account, required before anything is created.
    pub fn require_account(&self) -> Result<&str, SettingsError> {
        self.account.as_deref().ok_or(SettingsError::Missing {
            what: "the AWS account to deploy to",
            var: ACCOUNT_ID,
            flag: "--account",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(stack: &str) -> AwsArgs {
        AwsArgs {
            stack_name: Some(stack.into()),
            ..AwsArgs::default()
        }
    }

    #[test]
    fn stack_names_leave_room_for_the_function_name() {
        let longest = format!("A{}", "b".repeat(MAX_STACK_NAME - 1));
        let settings = Settings::resolve(&args(&longest)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            crate::template::function_name(&settings.stack_name).len(),
            64
        );
        let too_long = format!("{longest}c");
        let err = Settings::resolve(&args(&too_long))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("up to 60")));
        for bad in ["1abc", "has_underscore", "a b"] {
            assert!(Settings::resolve(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn blank_values_are_unset_and_accounts_are_twelve_digits() {
        let blank = AwsArgs {
            account: Some(" ".into()),
            region: Some(String::new()),
            ..AwsArgs::default()
        };
        let settings = Settings::resolve(&blank).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((settings.account, settings.region), (None, None));
        assert_eq!(settings.stack_name, DEFAULT_STACK_NAME);
        let short = AwsArgs {
            account: Some("12345".into()),
            ..AwsArgs::default()
        };
        assert!(Settings::resolve(&short).is_err());
    }
}
