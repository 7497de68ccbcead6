//! Rate-limit counts that every instance of the function shares: a DynamoDB
//! table ([`Setting::RateLimitTable`](mcp_settings::Setting::RateLimitTable)).
//!
//! The table is a contract, so a user can bring one: partition key `pk`
//! (String), no sort key, TTL attribute `ttl`. One item per caller, tool and
//! fixed window; one conditional `UpdateItem` per call, which DynamoDB applies
//! atomically, so N instances together admit exactly the quota:
//!
//! ```text
//! UpdateExpression     ADD c :one SET ttl = if_not_exists(ttl, :end)
//! ConditionExpression  attribute_not_exists(c) OR c < :limit
//! ```
//!
//! A refused call writes nothing, but DynamoDB bills it as a write. Items
//! expire by TTL after their window.
//!
//! The item's key holds the caller as a SHA-256 (hex), not as given: a
//! caller id can be any length (an IAM ARN, a token's `sub`), and a
//! partition key over 2,048 bytes is refused by DynamoDB - which, read as
//! an outage, once let read-only tools run unmetered for such a caller.
//!
//! What DynamoDB answers decides what the caller gets:
//! - the condition failed: over the limit (429);
//! - throttling of the item (`ProvisionedThroughputExceededException`,
//!   `ThrottlingException`, `RequestLimitExceeded`: one item takes at most
//!   1,000 writes a second): refused as over the limit, with `Retry-After`;
//! - any other error DynamoDB itself returns (a validation error, a table
//!   that is not the contract's, missing permissions): a refusal with that
//!   reason, whatever the tool ([`CountError::Refused`]);
//! - no answer (unreachable, a 5xx, slower than the budget): an outage
//!   ([`Unavailable`]), where the core lets read-only tools run.
//!
//! Fixed windows rather than GCRA: GCRA keeps one timestamp per key and needs
//! a read, then a conditional write on the value read, retried under
//! contention (two round trips or more when a caller runs on many instances
//! at once); a fixed window needs one write, whatever the contention, and
//! its `RateLimit` `t` is exact. The cost: across a window's edge a caller
//! can get up to twice the quota in a short burst.
//!
//! The client is built on the first counted call, not at init (the
//! function's cold start stays the floor's); it reads the standard
//! environment (`AWS_REGION`, the credentials Lambda gives the function,
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB`). Each check has a time
//! budget ([`Setting::RateLimitBudgetMs`](mcp_settings::Setting::RateLimitBudgetMs), default 1000 ms) that includes the
//! client's first connection; past it the check is [`Unavailable`] and the
//! core decides (read-only tools run, others are refused).

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use mcp_core::limits::{Call, CountError, Counted, Counter, UNAVAILABLE_RETRY_S, Unavailable};
use mcp_settings::FunctionSettings;

/// The budget when none is set: long enough for an instance's first check
/// (TLS roots, the client, a TLS handshake: about 20 M instructions before
/// the network, measured) on a 128 MB function's fraction of a CPU; short
/// enough that an outage costs a caller one second, not a hang.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(1000);

/// Counts in a DynamoDB table shared by every instance.
pub struct DynamoDbCounter {
    table: String,
    budget: Duration,
    client: OnceLock<Client>,
}

impl fmt::Debug for DynamoDbCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbCounter")
            .field("table", &self.table)
            .field("budget", &self.budget)
            .field("connected", &self.client.get().is_some())
            .finish()
    }
}

impl DynamoDbCounter {
    /// A counter for `table`; nothing is contacted until the first call.
    pub fn new(table: impl Into<String>, budget: Duration) -> Self {
        DynamoDbCounter {
            table: table.into(),
            budget,
            client: OnceLock::new(),
        }
    }

    /// A counter for `table` through `client` (tests: a client for a local
    /// endpoint), instead of one built from the environment.
    pub fn with_client(table: impl Into<String>, budget: Duration, client: Client) -> Self {
        let counter = DynamoDbCounter::new(table, budget);
        let _ = counter.client.set(client);
        counter
    }

    /// The counter `settings` name a table for, with their budget (else
    /// [`DEFAULT_BUDGET`]).
    pub fn from_settings(settings: &FunctionSettings) -> Option<Self> {
        let table = settings.rate_limit_table.as_deref()?;
        let budget = settings
            .rate_limit_budget_ms
            .map_or(DEFAULT_BUDGET, Duration::from_millis);
        Some(DynamoDbCounter::new(table, budget))
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(client_from_env)
    }

    async fn update(&self, call: Call<'_>) -> Result<mcp_core::limits::Decision, CountError> {
        let window = call.window();
        let limit = call.quota.limit;
        let number = |n: u64| AttributeValue::N(n.to_string());
        let result = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(item_key(&call, window.start_s)))
            .update_expression("ADD #c :one SET #t = if_not_exists(#t, :end)")
            .condition_expression("attribute_not_exists(#c) OR #c < :limit")
            .expression_attribute_names("#c", "c")
            .expression_attribute_names("#t", "ttl")
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":end", number(window.end_s))
            .expression_attribute_values(":limit", number(limit))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let count = output
                    .attributes()
                    .and_then(|item| item.get("c"))
                    .and_then(|c| c.as_n().ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| {
                        CountError::Refused(format!("table {} returned no count `c`", self.table))
                    })?;
                Ok(call.decide(count, true))
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Ok(call.decide(limit, false))
                }
                _ => Err(self.classify(&error)),
            },
        }
    }

    /// What a failed `UpdateItem` means for the call (see the module docs).
    fn classify(&self, error: &SdkError<UpdateItemError, HttpResponse>) -> CountError {
        let why = format!(
            "DynamoDB table {}: {}",
            self.table,
            DisplayErrorContext(error)
        );
        let SdkError::ServiceError(service) = error else {
            // No answer: a connection, timeout or response that could not be read.
            return Unavailable(why).into();
        };
        let code = service.err().code().unwrap_or_default();
        if THROTTLING.contains(&code) {
            return CountError::Throttled {
                retry_after_s: UNAVAILABLE_RETRY_S,
                why,
            };
        }
        // DynamoDB's own failures (a 5xx) are transient: an outage.
        let server_side = service.raw().status().is_server_error()
            || matches!(service.err(), UpdateItemError::InternalServerError(_))
            || code.is_empty();
        if server_side {
            Unavailable(why).into()
        } else {
            CountError::Refused(why)
        }
    }
}

/// The error codes DynamoDB throttles with: the table's or the account's
/// capacity, or one hot item's (at most 1,000 writes a second per item).
const THROTTLING: [&str; 3] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
];

/// A DynamoDB client from the environment Lambda gives a function: region
/// (`AWS_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the standard endpoint
/// overrides (`AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`, unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`).
///
/// Not `aws-config`: its default chains (profiles, SSO, STS, IMDS, ECS) have
/// no use on Lambda, which puts all of this in the environment. With them
/// and the SDK's default HTTP client the zipped function was 2.3 MB, over
/// its 2 MB budget (measured; see [`Http1Client`]).
pub(crate) fn client_from_env() -> Client {
    let aws = AwsEnv::read("AWS_ENDPOINT_URL_DYNAMODB");
    let mut config = client_config();
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

/// What an SDK client of the function reads from the standard environment:
/// the region, the credentials Lambda gives the function, and the endpoint
/// (`AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`). Without aws-config's
/// credential chains, which a function does not need.
pub(crate) struct AwsEnv {
    pub(crate) region: Option<aws_sdk_dynamodb::config::Region>,
    pub(crate) credentials: Option<aws_sdk_dynamodb::config::Credentials>,
    pub(crate) endpoint: Option<String>,
}

impl AwsEnv {
    pub(crate) fn read(service_endpoint: &str) -> AwsEnv {
        use aws_sdk_dynamodb::config::{Credentials, Region};
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some(Credentials::new(
                id,
                secret,
                var("AWS_SESSION_TOKEN"),
                None,
                "environment",
            )),
            _ => None,
        };
        let ignore_endpoints = var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        AwsEnv {
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .map(Region::new),
            credentials,
            endpoint: (!ignore_endpoints)
                .then(|| var(service_endpoint).or_else(|| var("AWS_ENDPOINT_URL")))
                .flatten(),
        }
    }
}

/// The client configuration the counter uses, before the region, the
/// credentials and the endpoint: the HTTP client below and the retry policy.
/// Retries stay (a pooled connection may have gone stale while Lambda froze
/// the instance), but with short waits: the SDK's default backoff (up to
/// 20 s) would turn a throttled item into a timeout of the check, read as an
/// outage. Public for clients of local endpoints (moto in the tests).
pub fn client_config() -> aws_sdk_dynamodb::config::Builder {
    let retry = aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(25))
        .with_max_backoff(Duration::from_millis(100));
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .retry_config(retry)
        .http_client(Http1Client::new())
}

/// The SDK's HTTP client, cut to what one DynamoDB call needs: HTTP/1.1
/// over hyper's pooled client (already in the function for the Runtime
/// API) and rustls with ring, trusting the system's roots. The SDK's own
/// client adds HTTP/2, proxies and aws-lc: 0.2 MB more zipped, measured.
/// Timeouts are the caller's: each check runs under its time budget.
#[derive(Debug, Clone)]
struct Http1Client {
    client: Result<
        hyper_util::client::legacy::Client<
            hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
            aws_smithy_types::body::SdkBody,
        >,
        String,
    >,
}

impl Http1Client {
    fn new() -> Self {
        let client = crate::tls::https_connector().map(|https| {
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(https)
        });
        Http1Client { client }
    }
}

impl aws_smithy_runtime_api::client::http::HttpConnector for Http1Client {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
        use aws_smithy_runtime_api::client::http::HttpConnectorFuture;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let client = match &self.client {
            Ok(client) => client,
            Err(why) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::other(
                    why.clone().into(),
                    None,
                )));
            }
        };
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = client.request(request);
        HttpConnectorFuture::new(async move {
            // Any transport failure may be a pooled connection that went
            // stale while Lambda froze the instance: retryable.
            let response = sent.await.map_err(|e| ConnectorError::io(e.into()))?;
            HttpResponse::try_from(response.map(aws_smithy_types::body::SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

impl aws_smithy_runtime_api::client::http::HttpClient for Http1Client {
    fn http_connector(
        &self,
        _: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        aws_smithy_runtime_api::client::http::SharedHttpConnector::new(self.clone())
    }
}

/// The item of a caller, tool and window. The window's length is in the key,
/// so a changed quota starts new items instead of reading old counts. The
/// caller is its SHA-256 in hex: 64 bytes whatever its length (tool names
/// are the server's own, so the key stays far below DynamoDB's 2,048 bytes).
fn item_key(call: &Call<'_>, start_s: u64) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, call.caller.as_bytes());
    let caller = mcp_core::hex::encode(digest.as_ref());
    format!("{}#{}s#{start_s}#{caller}", call.tool, call.quota.window_s)
}

impl Counter for DynamoDbCounter {
    fn count<'a>(&'a self, call: Call<'a>) -> Counted<'a> {
        Box::pin(async move {
            match tokio::time::timeout(self.budget, self.update(call)).await {
                Ok(Ok(decision)) => Ok(decision),
                Ok(Err(why)) => {
                    tracing::warn!(tool = call.tool, error = %why, "rate limit not checked");
                    Err(why)
                }
                Err(_) => {
                    let why = Unavailable(format!(
                        "DynamoDB table {} did not answer within {} ms",
                        self.table,
                        self.budget.as_millis()
                    ));
                    tracing::warn!(tool = call.tool, error = %why, "rate limit not checked");
                    Err(why.into())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_core::limits::Quota;
    use std::time::UNIX_EPOCH;

    #[test]
    fn keys_name_tool_window_and_caller() {
        let call = Call {
            caller: "arn:aws:iam::ACCOUNT:user/a#b",
            policy: "default",
            tool: "word_count",
            quota: Quota {
                limit: 5,
                window_s: 60,
            },
            now: UNIX_EPOCH + Duration::from_secs(6_018),
        };
        // SHA-256 of the caller, in hex.
        assert_eq!(
            item_key(&call, call.window().start_s),
            format!(
                "word_count#60s#6000#{}",
                "dbb4b190e2bf41f0af053d5328d52d38bbf219699baf35af09efba51bcef10eb"
            )
        );
        let long = "x".repeat(4096);
        let key = item_key(
            &Call {
                caller: &long,
                ..call
            },
            6000,
        );
        assert_eq!(key.len(), "word_count#60s#6000#".len() + 64);
    }
}
