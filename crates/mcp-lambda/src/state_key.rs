//! The key that seals multi round-trip `requestState` ([`mcp_core::mrtr`]):
//! one for every instance of the deployment, so that any instance resumes a
//! round another began.
//!
//! With [`Setting::StateKeySecretArn`] the function reads the secret's
//! value from Secrets Manager once, at init (`GetSecretValue`, which the
//! stack's role is allowed on that secret alone), and derives the key from
//! it ([`StateKey::derive`], HKDF-SHA256). The value never leaves the
//! process: it is not logged, not returned, not in the template (the stack
//! has Secrets Manager generate it). A secret that cannot be read stops the
//! function at init with the reason, rather than serving with a key other
//! instances do not share.
//!
//! Without the setting each instance makes a random key: right only where
//! one process serves every call (the emulator with one instance, stdio).
//!
//! The client reads the standard environment like the rate-limit counter's
//! (`AWS_REGION`, the function's credentials, `AWS_ENDPOINT_URL_SECRETS_MANAGER`
//! or `AWS_ENDPOINT_URL`) and shares its HTTP/1.1 client over rustls with ring.

use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use mcp_core::StateKey;
use mcp_settings::{FunctionSettings, Setting};

use crate::dynamodb::{AwsEnv, Http1Client};

/// How long init waits for the secret before it gives up.
pub const BUDGET: Duration = Duration::from_secs(5);

/// The key `settings` provide, and how long getting it took.
pub async fn load(settings: &FunctionSettings) -> Result<(StateKey, Duration), String> {
    let started = Instant::now();
    let key = match settings.state_key_secret_arn.as_deref() {
        Some(arn) => from_secret(&client_from_env(), arn).await?,
        None => StateKey::random().map_err(|e| e.to_string())?,
    };
    Ok((key, started.elapsed()))
}

/// The key derived from the value of the secret `arn` names.
pub async fn from_secret(client: &Client, arn: &str) -> Result<StateKey, String> {
    let setting = Setting::StateKeySecretArn;
    let read = client.get_secret_value().secret_id(arn).send();
    let output = match tokio::time::timeout(BUDGET, read).await {
        Err(_) => {
            return Err(format!(
                "{setting}: Secrets Manager did not answer within {BUDGET:?}"
            ));
        }
        Ok(Err(e)) => {
            return Err(format!(
                "{setting}: reading the secret failed: {}",
                DisplayErrorContext(&e)
            ));
        }
        Ok(Ok(output)) => output,
    };
    let secret = match (output.secret_string(), output.secret_binary()) {
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, Some(blob)) => blob.as_ref().to_vec(),
        (None, None) => return Err(format!("{setting}: the secret has no value")),
    };
    StateKey::derive(&secret).map_err(|e| format!("{setting}: {e}"))
}

/// A Secrets Manager client for the function's environment.
pub fn client_from_env() -> Client {
    let aws = AwsEnv::read("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    let mut config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .http_client(Http1Client::new());
    if let Some(region) = aws.region {
        config = config.region(region);
    }
    if let Some(credentials) = aws.credentials {
        config = config.credentials_provider(credentials);
    }
    if let Some(url) = aws.endpoint {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}
