//! The key that seals multi round-trip `requestState` ([`mcp_core::mrtr`]):
//! one for every instance of the deployment, so that any instance resumes a
//! round another began.
//!
//! With [`Setting::StateKeySecretArn`] the function reads the secret's
//! value from Secrets Manager once, at init (`GetSecretValue`, which the
//! stack's role is allowed on that secret alone), and derives the key from
//! it ([`StateKey::derive`], HKDF-SHA256). The value never leaves the
//! process: it is not logged, not returned, not in the template. A secret
//! that cannot be read stops the function at init with the reason, rather
//! than serving with a key other instances do not share.
//!
//! Without the setting each instance makes a random key: right only where
//! one process serves every call (the emulator with one instance, stdio).
//!
//! The call is one SigV4-signed POST of the Secrets Manager JSON 1.1
//! protocol (`X-Amz-Target: secretsmanager.GetSecretValue`), made with the
//! signing crate and the HTTPS client the function already links, not a
//! second SDK client (measured: 258 KB more binary, 96 KB more zip). It
//! reads the standard environment like the rate-limit counter's client
//! (`AWS_REGION`, the function's credentials,
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL`).

use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_types::body::SdkBody;
use http_body_util::{BodyExt, Limited};
use hyper_util::client::legacy::Client;
use mcp_core::StateKey;
use mcp_settings::{FunctionSettings, Setting};
use serde_json::{Value, json};

use crate::dynamodb::AwsEnv;

/// How long init waits for the secret before it gives up.
pub const BUDGET: Duration = Duration::from_secs(5);

/// The largest answer read (a secret's value is at most 64 KB).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The key `settings` provide, and how long getting it took: derived from
/// the secret they name, else random for this instance.
pub async fn load(settings: &FunctionSettings) -> Result<(StateKey, Duration), String> {
    let started = Instant::now();
    let key = match settings.state_key_secret_arn.as_deref() {
        Some(arn) => from_secret(arn).await?,
        None => StateKey::random().map_err(|e| e.to_string())?,
    };
    Ok((key, started.elapsed()))
}

/// The key derived from the value of the secret `arn` names.
pub async fn from_secret(arn: &str) -> Result<StateKey, String> {
    let setting = Setting::StateKeySecretArn;
    let answer = match tokio::time::timeout(BUDGET, get_secret_value(arn)).await {
        Err(_) => {
            return Err(format!(
                "{setting}: Secrets Manager did not answer within {BUDGET:?}"
            ));
        }
        Ok(answer) => {
            answer.map_err(|why| format!("{setting}: reading the secret failed: {why}"))?
        }
    };
    let secret = answer["SecretString"]
        .as_str()
        .ok_or_else(|| format!("{setting}: the secret has no string value (SecretString)"))?;
    StateKey::derive(secret.as_bytes()).map_err(|e| format!("{setting}: {e}"))
}

/// `GetSecretValue` of `arn`: the answer's JSON, or why there is none (the
/// service's error type and message, never the value).
async fn get_secret_value(arn: &str) -> Result<Value, String> {
    let aws = AwsEnv::read("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    let region = aws
        .region
        .ok_or("AWS_REGION is not set (Lambda sets it)")?
        .to_string();
    let credentials = aws
        .credentials
        .ok_or("no credentials in the environment (Lambda sets them from the function's role)")?;
    let endpoint = aws
        .endpoint
        .unwrap_or_else(|| format!("https://secretsmanager.{region}.amazonaws.com"));
    let body = serde_json::to_vec(&json!({"SecretId": arn})).map_err(|e| e.to_string())?;
    let mut request = http::Request::post(format!("{}/", endpoint.trim_end_matches('/')))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.GetSecretValue")
        .body(body)
        .map_err(|e| e.to_string())?;
    sign_request(&mut request, &credentials, &region, "secretsmanager")?;
    let client = crate::tls::https_connector()
        .map(|https| Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))?;
    let (parts, body) = request.into_parts();
    let response = client
        .request(http::Request::from_parts(parts, SdkBody::from(body)))
        .await
        .map_err(|e| format!("no answer from {endpoint}: {e}"))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| format!("the answer could not be read: {e}"))?
        .to_bytes();
    let answer: Value =
        serde_json::from_slice(&body).map_err(|_| format!("the answer ({status}) is not JSON"))?;
    if !status.is_success() {
        let kind = answer["__type"].as_str().unwrap_or("unknown error");
        let message = answer["message"]
            .as_str()
            .or(answer["Message"].as_str())
            .unwrap_or("");
        return Err(format!("{status} {kind}: {message}"));
    }
    Ok(answer)
}

/// Signs the POST `request` in place with SigV4 for `service` in `region`
/// (the deploy CLI's MCP client signs with it too).
pub fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: &aws_sdk_dynamodb::config::Credentials,
    region: &str,
    service: &str,
) -> Result<(), String> {
    let identity = credentials.clone().into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("invalid signing parameters: {e}"))?
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        "POST",
        uri.as_str(),
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| format!("cannot sign the request: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("signing failed: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}
