//! Where calls that ask the client wait for its answers, shared by every
//! instance of the function: a DynamoDB table
//! ([`Setting::RendezvousTable`](mcp_settings::Setting::RendezvousTable)),
//! for [`mcp_http::asking`].
//!
//! The table has the rate-limit table's contract (partition key `pk`, TTL
//! attribute `ttl`) and may be the same table: a parked call is one item,
//! `pk = "park#<128 random bits>"`, which no counter's key can be. It holds
//! the caller, the revision, the request, what was asked, what the tool
//! kept, the round, `ttl` (10 minutes on) and `n` (how many requests), and
//! gains `a<i>` as the client answers request `i`:
//!
//! ```text
//! park    PutItem     condition attribute_not_exists(pk)
//! answer  UpdateItem  SET a<i> = :response
//!                     condition caller = :caller AND ttl > :now
//!                           AND n > :i AND attribute_not_exists(a<i>)
//! take    GetItem (strongly consistent), then, once every a<i> is in,
//!         DeleteItem  condition attribute_exists(pk)
//! ```
//!
//! DynamoDB deletes expired items within days, not at once (its TTL
//! documentation), so `ttl` is checked by every operation as well; the
//! conditional delete lets exactly one `GET` resume a call. Every operation
//! has a time budget; past it the client is told the rendezvous did not
//! answer.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use mcp_core::InputMethod;
use mcp_http::asking::{ParkedCall, Pending, Rendezvous, RendezvousError, Taken, now_s};
use serde_json::Value;

/// How long one DynamoDB operation of the rendezvous may take.
pub const BUDGET: Duration = Duration::from_secs(2);

/// Parked calls in a DynamoDB table every instance shares.
pub struct DynamoDbRendezvous {
    table: String,
    client: OnceLock<Client>,
}

impl std::fmt::Debug for DynamoDbRendezvous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoDbRendezvous")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

type Item = std::collections::HashMap<String, AttributeValue>;

impl DynamoDbRendezvous {
    /// The rendezvous in `table`; nothing is contacted until a call asks.
    pub fn new(table: impl Into<String>) -> Self {
        DynamoDbRendezvous {
            table: table.into(),
            client: OnceLock::new(),
        }
    }

    /// The rendezvous in `table` through `client` (tests).
    pub fn with_client(table: impl Into<String>, client: Client) -> Self {
        let rendezvous = DynamoDbRendezvous::new(table);
        let _ = rendezvous.client.set(client);
        rendezvous
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(crate::dynamodb::client_from_env)
    }

    fn failed(&self, what: &str, why: impl std::fmt::Display) -> RendezvousError {
        RendezvousError(format!("DynamoDB table {} ({what}): {why}", self.table))
    }

    /// `future` within the budget.
    async fn within<T, E>(
        &self,
        what: &str,
        future: impl Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, RendezvousError> {
        tokio::time::timeout(BUDGET, future)
            .await
            .map_err(|_| self.failed(what, format!("no answer within {} s", BUDGET.as_secs())))
    }
}

fn key(id: &str) -> AttributeValue {
    AttributeValue::S(format!("park#{id}"))
}

fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn item_of(call: &ParkedCall) -> Item {
    let asked: Vec<[&str; 2]> = call
        .asked
        .iter()
        .map(|(key, method)| [key.as_str(), method.method()])
        .collect();
    let mut item = Item::from([
        ("pk".to_owned(), key(&call.id)),
        ("ttl".to_owned(), number(call.expires)),
        ("caller".to_owned(), AttributeValue::S(call.caller.clone())),
        ("v".to_owned(), AttributeValue::S(call.version.clone())),
        ("req".to_owned(), AttributeValue::S(call.request.clone())),
        (
            "asked".to_owned(),
            AttributeValue::S(serde_json::to_string(&asked).unwrap_or_default()),
        ),
        ("round".to_owned(), number(call.round)),
        ("n".to_owned(), number(call.asked.len())),
    ]);
    if let Some(state) = &call.state {
        item.insert("state".to_owned(), AttributeValue::S(state.to_string()));
    }
    item
}

/// The call an item holds; `None` when it is not one of ours.
fn call_of(id: &str, item: &Item) -> Option<ParkedCall> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let whole = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let asked: Vec<(String, String)> = serde_json::from_str(&text("asked")?).ok()?;
    let asked = asked
        .into_iter()
        .map(|(key, method)| Some((key, InputMethod::of(&method)?)))
        .collect::<Option<Vec<_>>>()?;
    let answers = (0..asked.len())
        .map(|i| text(&format!("a{i}")).and_then(|a| serde_json::from_str::<Value>(&a).ok()))
        .collect();
    Some(ParkedCall {
        id: id.to_owned(),
        caller: text("caller")?,
        version: text("v")?,
        request: text("req")?,
        asked,
        state: text("state").and_then(|s| serde_json::from_str(&s).ok()),
        round: usize::try_from(whole("round")?).ok()?,
        expires: whole("ttl")?,
        answers,
    })
}

impl Rendezvous for DynamoDbRendezvous {
    fn park<'a>(&'a self, call: &'a ParkedCall) -> Pending<'a, ()> {
        Box::pin(async move {
            let put = self
                .client()
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item_of(call)))
                .condition_expression("attribute_not_exists(pk)")
                .send();
            self.within("parking a call", put)
                .await?
                .map(|_| ())
                .map_err(|e| self.failed("parking a call", DisplayErrorContext(e)))
        })
    }

    fn answer<'a>(
        &'a self,
        id: &'a str,
        index: usize,
        caller: &'a str,
        response: &'a Value,
    ) -> Pending<'a, bool> {
        Box::pin(async move {
            let update = self
                .client()
                .update_item()
                .table_name(&self.table)
                .key("pk", key(id))
                .update_expression("SET #a = :response")
                .condition_expression(
                    "caller = :caller AND #t > :now AND #n > :i AND attribute_not_exists(#a)",
                )
                .expression_attribute_names("#a", format!("a{index}"))
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_names("#n", "n")
                .expression_attribute_values(":response", AttributeValue::S(response.to_string()))
                .expression_attribute_values(":caller", AttributeValue::S(caller.to_owned()))
                .expression_attribute_values(":now", number(now_s()))
                .expression_attribute_values(":i", number(index))
                .send();
            match self.within("keeping an answer", update).await? {
                Ok(_) => Ok(true),
                Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
                Err(e) => Err(self.failed("keeping an answer", DisplayErrorContext(e))),
            }
        })
    }

    fn take<'a>(&'a self, id: &'a str, caller: &'a str) -> Pending<'a, Taken> {
        Box::pin(async move {
            let get = self
                .client()
                .get_item()
                .table_name(&self.table)
                .key("pk", key(id))
                .consistent_read(true)
                .send();
            let output = self
                .within("reading a parked call", get)
                .await?
                .map_err(|e| self.failed("reading a parked call", DisplayErrorContext(e)))?;
            let Some(call) = output.item().and_then(|item| call_of(id, item)) else {
                return Ok(Taken::Gone);
            };
            if call.caller != caller || call.expires <= now_s() {
                return Ok(Taken::Gone);
            }
            if call.answers.iter().any(Option::is_none) {
                return Ok(Taken::Waiting);
            }
            let delete = self
                .client()
                .delete_item()
                .table_name(&self.table)
                .key("pk", key(id))
                .condition_expression("attribute_exists(pk)")
                .send();
            match self.within("taking a parked call", delete).await? {
                Ok(_) => Ok(Taken::Ready(Box::new(call))),
                // Another request took it first.
                Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(Taken::Gone),
                Err(e) => Err(self.failed("taking a parked call", DisplayErrorContext(e))),
            }
        })
    }
}
