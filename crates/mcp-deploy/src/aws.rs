//! One AWS configuration, the service clients made from it, and errors that
//! say what to do.

use std::error::Error as StdError;

use anyhow::anyhow;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::hooks::Timing;
use crate::settings::{Settings, SettingsError};

/// The clients every command uses, from one `SdkConfig`.
#[derive(Debug, Clone)]
pub struct Aws {
    /// The shared configuration (credentials, region, endpoint).
    pub config: SdkConfig,
    /// The resolved region.
    pub region: String,
    /// CloudFormation.
    pub cfn: aws_sdk_cloudformation::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// S3 (path-style when the endpoint is overridden).
    pub s3: aws_sdk_s3::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch (the dashboard and alarms).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// DynamoDB (the rate-limit table).
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// AgentCore control plane (the gateway rung).
    pub agentcore: aws_sdk_bedrockagentcorecontrol::Client,
    /// API Gateway (the internet-facing rung).
    pub apigateway: aws_sdk_apigateway::Client,
    /// WAFv2 (the internet-facing rung's web ACL).
    pub wafv2: aws_sdk_wafv2::Client,
    /// Secrets Manager (the key of multi round-trip requests).
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    /// Poll intervals and verification windows.
    pub timing: Timing,
}

/// Whether a command must prove the credentials' account first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountCheck {
    /// Commands that create or delete: the expected account must be set and match.
    Required,
    /// Commands that only read or clean up: checked when the account is set.
    IfSet,
    /// No check (the local emulator).
    Skip,
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The account.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

impl Aws {
    /// Loads the configuration: flags and environment first, then the AWS
    /// config files and the default credential chain.
    pub async fn load(settings: &Settings) -> anyhow::Result<Aws> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let config = loader.load().await;
        let region = config
            .region()
            .map(ToString::to_string)
            .ok_or(SettingsError::Missing {
                what: "the AWS region",
                var: "MCP_REGION",
                flag: "--region",
            })?;
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(settings.endpoint_url.is_some())
            .build();
        Ok(Aws {
            region,
            cfn: aws_sdk_cloudformation::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sts: aws_sdk_sts::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            agentcore: aws_sdk_bedrockagentcorecontrol::Client::new(&config),
            apigateway: aws_sdk_apigateway::Client::new(&config),
            wafv2: aws_sdk_wafv2::Client::new(&config),
            secretsmanager: aws_sdk_secretsmanager::Client::new(&config),
            timing: Timing::from_env(),
            config,
        })
    }

    /// Who the credentials are (STS `GetCallerIdentity`).
    pub async fn identity(&self) -> anyhow::Result<Identity> {
        let out = self.sts.get_caller_identity().send().await.map_err(|e| {
            explain(
                e,
                "checking who the credentials belong to (STS GetCallerIdentity)",
            )
        })?;
        Ok(Identity {
            account: out.account().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
        })
    }

    /// The one connect step every command takes: the configuration, then
    /// (when `check` asks for it) proof that the credentials belong to the
    /// expected account, before anything else is called.
    pub async fn connect(settings: &Settings, check: AccountCheck) -> anyhow::Result<Aws> {
        let aws = Aws::load(settings).await?;
        match (check, &settings.account) {
            (AccountCheck::Required, _) => {
                aws.check_account(settings.require_account()?).await?;
            }
            (AccountCheck::IfSet, Some(account)) => {
                aws.check_account(account).await?;
            }
            (AccountCheck::IfSet | AccountCheck::Skip, _) => {}
        }
        Ok(aws)
    }

    /// The credentials the SDK would sign with.
    pub async fn credentials(&self) -> anyhow::Result<aws_credential_types::Credentials> {
        use aws_credential_types::provider::ProvideCredentials as _;
        let provider = self.config.credentials_provider().ok_or_else(|| {
            anyhow!(
                "no AWS credentials: export MCP_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        })?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| anyhow!("cannot load AWS credentials: {e}"))
    }

    /// Refuses credentials of any other account than `expected`.
    pub async fn check_account(&self, expected: &str) -> anyhow::Result<Identity> {
        let identity = self.identity().await?;
        if identity.account != expected {
            return Err(anyhow!(
                "the credentials belong to account {} ({}), not to {var} {expected}: \
                 use a profile of {expected} (MCP_PROFILE or --profile) or fix {var}",
                identity.account,
                identity.arn,
                var = mcp_settings::Setting::AccountId.name()
            ));
        }
        Ok(identity)
    }
}

/// Turns an SDK error into a message that says what to do.
pub fn explain<E, R>(err: SdkError<E, R>, action: &str) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(&err).to_string(),
    };
    if is_expired_sso(&detail) {
        return anyhow!(
            "{action}: the AWS SSO session has expired: run `aws sso login --profile <MCP_PROFILE>` \
             and run again ({detail})"
        );
    }
    match err.code() {
        Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired") => anyhow!(
            "{action}: the AWS session has expired: refresh the credentials (for SSO: aws sso login \
             --profile <MCP_PROFILE>) and run again"
        ),
        Some("InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch") => {
            anyhow!(
                "{action}: AWS does not accept these credentials: check MCP_PROFILE / the AWS_* variables ({detail})"
            )
        }
        Some("Throttling" | "ThrottlingException" | "TooManyRequestsException") => {
            anyhow!("{action}: AWS is throttling the calls: wait a minute and run again ({detail})")
        }
        _ if detail.contains("no credentials")
            || detail.contains("failed to load credentials")
            || detail.contains("the credential provider was not enabled") =>
        {
            anyhow!(
                "{action}: no AWS credentials found: export MCP_PROFILE (a profile in ~/.aws/config) or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        }
        _ => anyhow::Error::new(err).context(format!("{action} failed: {detail}")),
    }
}

/// An expired SSO session arrives as a credentials-provider error whose text
/// names SSO, not as `ExpiredToken` (audit item 9).
fn is_expired_sso(detail: &str) -> bool {
    let text = detail.to_ascii_lowercase();
    text.contains("sso")
        && (text.contains("expired") || text.contains("refresh") || text.contains("invalid_grant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_sso_sessions_are_recognised() {
        assert!(is_expired_sso(
            "failed to load credentials: the SSO session has expired or is invalid"
        ));
        assert!(is_expired_sso("SSO Token refresh failed: invalid_grant"));
        assert!(!is_expired_sso("AccessDenied: not authorized"));
        assert!(!is_expired_sso("the token has expired"));
    }
}
