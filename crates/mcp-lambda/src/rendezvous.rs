//! Where calls that ask the client wait for its answers, shared by every
//! instance of the function: a DynamoDB table
//! ([`Setting::RendezvousTable`](mcp_settings::Setting::RendezvousTable)),
//! for [`mcp_http::asking`].
//!
//! The table has the rate-limit table's contract (partition key `pk`, TTL
//! attribute `ttl`) and may be the same table: a parked call is one item,
//! `pk = "park#<128 random bits>"`, which no counter's key can be. It holds
//! the caller, the revision, the request, what was asked, what the tool
//! kept, the round, `ttl` (10 minutes on), `n` (how many requests), `m` (how
//! many are answered) and `ans` (the answers, by request index). Every step
//! is one conditional `UpdateItem`, the one operation the rate limiter
//! already links (each other operation adds its own serialisers to the
//! binary, about 30 KB zipped each):
//!
//! ```text
//! park    SET the call's attributes, m = 0, ans = {}
//!         condition attribute_not_exists(pk)
//! answer  SET ans.<i> = :response ADD m :one
//!         condition caller = :caller AND ttl > :now AND n > :i
//!               AND attribute_not_exists(ans.<i>)
//! take    SET ttl = :now REMOVE req, state, ans     (ReturnValues ALL_OLD)
//!         condition caller = :caller AND ttl > :now AND m = n
//! ```
//!
//! A take whose condition fails reads the item from the failure
//! (`ReturnValuesOnConditionCheckFailure ALL_OLD`): the caller's live call
//! with answers missing is [`Taken::Waiting`], anything else
//! [`Taken::Gone`]. A taken call keeps no request, state or answer, and its
//! `ttl` is now, so no step finds it again; DynamoDB deletes expired items
//! within days, not at once (its TTL documentation), which is why every
//! step checks `ttl` itself. Every operation has a time budget; past it
//! the client is told the rendezvous did not answer.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
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

fn text(s: impl Into<String>) -> AttributeValue {
    AttributeValue::S(s.into())
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
    let answers = item.get("ans").and_then(|a| a.as_m().ok());
    let answers = (0..asked.len())
        .map(|i| {
            let answer = answers?.get(&i.to_string())?.as_s().ok()?;
            serde_json::from_str::<Value>(answer).ok()
        })
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
            let asked: Vec<[&str; 2]> = call
                .asked
                .iter()
                .map(|(key, method)| [key.as_str(), method.method()])
                .collect();
            let mut sets = "#caller = :caller, #v = :v, #req = :req, #asked = :asked, \
                            #round = :round, #n = :n, #m = :zero, #ans = :empty, #t = :ttl"
                .to_owned();
            let mut update = self
                .client()
                .update_item()
                .table_name(&self.table)
                .key("pk", key(&call.id))
                .condition_expression("attribute_not_exists(pk)")
                .expression_attribute_values(":caller", text(&call.caller))
                .expression_attribute_values(":v", text(&call.version))
                .expression_attribute_values(":req", text(&call.request))
                .expression_attribute_values(
                    ":asked",
                    text(serde_json::to_string(&asked).unwrap_or_default()),
                )
                .expression_attribute_values(":round", number(call.round))
                .expression_attribute_values(":n", number(call.asked.len()))
                .expression_attribute_values(":zero", number(0))
                .expression_attribute_values(":empty", AttributeValue::M(Item::new()))
                .expression_attribute_values(":ttl", number(call.expires));
            if let Some(state) = &call.state {
                sets.push_str(", #state = :state");
                update = update.expression_attribute_values(":state", text(state.to_string()));
            }
            for name in [
                "caller", "v", "req", "asked", "round", "n", "m", "ans", "state",
            ] {
                if name != "state" || call.state.is_some() {
                    update = update.expression_attribute_names(format!("#{name}"), name);
                }
            }
            let update = update
                .expression_attribute_names("#t", "ttl")
                .update_expression(format!("SET {sets}"))
                .send();
            self.within("parking a call", update)
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
                .update_expression("SET #ans.#i = :response ADD #m :one")
                .condition_expression(
                    "#caller = :caller AND #t > :now AND #n > :i AND attribute_not_exists(#ans.#i)",
                )
                .expression_attribute_names("#ans", "ans")
                .expression_attribute_names("#i", index.to_string())
                .expression_attribute_names("#m", "m")
                .expression_attribute_names("#n", "n")
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_names("#caller", "caller")
                .expression_attribute_values(":response", text(response.to_string()))
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":caller", text(caller))
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
            let now = now_s();
            let update = self
                .client()
                .update_item()
                .table_name(&self.table)
                .key("pk", key(id))
                .update_expression("SET #t = :now REMOVE #req, #state, #ans")
                .condition_expression("#caller = :caller AND #t > :now AND #m = #n")
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_names("#req", "req")
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#ans", "ans")
                .expression_attribute_names("#caller", "caller")
                .expression_attribute_names("#m", "m")
                .expression_attribute_names("#n", "n")
                .expression_attribute_values(":caller", text(caller))
                .expression_attribute_values(":now", number(now))
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send();
            match self.within("taking a parked call", update).await? {
                Ok(taken) => Ok(taken
                    .attributes()
                    .and_then(|item| call_of(id, item))
                    .map_or(Taken::Gone, |call| Taken::Ready(Box::new(call)))),
                Err(e) => match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        // The caller's live call, not every answer in yet.
                        let waiting = failed.item().is_some_and(|item| {
                            let live = |name: &str| item.get(name).and_then(|v| v.as_n().ok());
                            item.get("caller")
                                .and_then(|c| c.as_s().ok())
                                .is_some_and(|c| c == caller)
                                && live("ttl")
                                    .and_then(|t| t.parse::<u64>().ok())
                                    .is_some_and(|t| t > now)
                        });
                        Ok(if waiting { Taken::Waiting } else { Taken::Gone })
                    }
                    _ => Err(self.failed("taking a parked call", DisplayErrorContext(e))),
                },
            }
        })
    }
}
