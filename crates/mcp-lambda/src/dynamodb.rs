//! Rate-limit counts that every instance of the function shares: a DynamoDB
//! table (`MCP_RATE_LIMIT_TABLE`).
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
//! A refused call writes nothing. Items expire by TTL after their window.
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
//! budget (`MCP_RATE_LIMIT_BUDGET_MS`, default 500 ms) that includes the
//! client's first connection; past it the check is [`Unavailable`] and the
//! core decides (read-only tools run, others are refused).

use std::fmt;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use mcp_core::limits::{Call, Counted, Counter, Unavailable};
use tokio::sync::OnceCell;

/// The environment variable naming the table.
pub const TABLE_ENV: &str = "MCP_RATE_LIMIT_TABLE";
/// The environment variable with the time budget per check, in milliseconds.
pub const BUDGET_ENV: &str = "MCP_RATE_LIMIT_BUDGET_MS";
/// The budget when none is set.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(500);

/// Counts in a DynamoDB table shared by every instance.
pub struct DynamoDbCounter {
    table: String,
    budget: Duration,
    client: OnceCell<Client>,
}

impl fmt::Debug for DynamoDbCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbCounter")
            .field("table", &self.table)
            .field("budget", &self.budget)
            .field("connected", &self.client.initialized())
            .finish()
    }
}

/// A setting that cannot be used; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(String);

impl DynamoDbCounter {
    /// A counter for `table`; nothing is contacted until the first call.
    pub fn new(table: impl Into<String>, budget: Duration) -> Self {
        DynamoDbCounter {
            table: table.into(),
            budget,
            client: OnceCell::new(),
        }
    }

    /// `MCP_RATE_LIMIT_TABLE` and `MCP_RATE_LIMIT_BUDGET_MS`, when a table is named.
    pub fn from_env() -> Result<Option<Self>, SettingError> {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        let Some(table) = var(TABLE_ENV) else {
            return Ok(None);
        };
        let budget = match var(BUDGET_ENV) {
            None => DEFAULT_BUDGET,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(SettingError(format!(
                        "{BUDGET_ENV} is {text:?}: give whole milliseconds above 0, e.g. 500"
                    )));
                }
            },
        };
        Ok(Some(DynamoDbCounter::new(table.trim(), budget)))
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                // rustls with ring: a smaller function than the default
                // aws-lc build, and it cross-compiles with zig.
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .http_client(http)
                    .load()
                    .await;
                Client::new(&config)
            })
            .await
    }

    async fn update(&self, call: Call<'_>) -> Result<mcp_core::limits::Decision, Unavailable> {
        let window = call.window();
        let limit = call.quota.limit;
        let number = |n: u64| AttributeValue::N(n.to_string());
        let result = self
            .client()
            .await
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
                        Unavailable(format!("table {} returned no count `c`", self.table))
                    })?;
                Ok(call.decide(count, true))
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Ok(call.decide(limit, false))
                }
                _ => Err(Unavailable(format!(
                    "DynamoDB table {}: {}",
                    self.table,
                    DisplayErrorContext(&error)
                ))),
            },
        }
    }
}

/// The item of a caller, tool and window. The window's length is in the key,
/// so a changed quota starts new items instead of reading old counts.
fn item_key(call: &Call<'_>, start_s: u64) -> String {
    format!(
        "{}#{}s#{start_s}#{}",
        call.tool, call.quota.window_s, call.caller
    )
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
                    Err(why)
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
        assert_eq!(
            item_key(&call, call.window().start_s),
            "word_count#60s#6000#arn:aws:iam::ACCOUNT:user/a#b"
        );
    }
}
