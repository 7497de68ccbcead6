//! Where settings come from: flags, then environment, then AWS config.

use std::fmt;

/// The AWS flags every command shares.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS profile (env MCP_PROFILE, then AWS_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS region (env MCP_REGION, then the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// The account the credentials must belong to (env MCP_ACCOUNT_ID).
    #[arg(long, global = true)]
    pub account: Option<String>,
    /// Send AWS API calls here instead (env AWS_ENDPOINT_URL), e.g. an emulator.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// The stack's name (env MCP_STACK_NAME).
    #[arg(long, global = true)]
    pub stack_name: Option<String>,
}

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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
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
    /// Flags over environment.
    pub fn resolve(args: &AwsArgs) -> Result<Settings, SettingsError> {
        let account = args.account.clone().or_else(|| env("MCP_ACCOUNT_ID"));
        if let Some(account) = account
            .as_ref()
            .filter(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SettingsError::Invalid(format!(
                "the account {account:?} is not a 12-digit AWS account id: check MCP_ACCOUNT_ID or --account"
            )));
        }
        let stack_name = args
            .stack_name
            .clone()
            .or_else(|| env("MCP_STACK_NAME"))
            .unwrap_or_else(|| DEFAULT_STACK_NAME.into());
        let valid = stack_name.len() <= 100
            && stack_name.starts_with(|c: char| c.is_ascii_alphabetic())
            && stack_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(SettingsError::Invalid(format!(
                "the stack name {stack_name:?} is not valid: use letters, digits and '-', starting with a letter"
            )));
        }
        Ok(Settings {
            profile: args
                .profile
                .clone()
                .or_else(|| env("MCP_PROFILE"))
                .or_else(|| env("AWS_PROFILE")),
            region: args.region.clone().or_else(|| env("MCP_REGION")),
            account,
            endpoint_url: args
                .endpoint_url
                .clone()
                .or_else(|| env("AWS_ENDPOINT_URL")),
            stack_name,
        })
    }

    /// The expected account, required before anything is created.
    pub fn require_account(&self) -> Result<&str, SettingsError> {
        self.account.as_deref().ok_or(SettingsError::Missing {
            what: "the AWS account to deploy to",
            var: "MCP_ACCOUNT_ID",
            flag: "--account",
        })
    }
}
