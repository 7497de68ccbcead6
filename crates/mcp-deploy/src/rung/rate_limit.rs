//! Per-caller, per-tool rate limits, an add-on to any rung: the function's
//! limits, and the DynamoDB table every instance counts in (made in the
//! stack, or one the user brings).

use mcp_settings::Setting;
use serde_json::json;

use futures_util::future::BoxFuture;

use crate::aws::{Aws, explain};
use crate::progress::Progress;
use crate::rung::{Check, Rung};
use crate::teardown::{Recorded, by_name, gone_by};
use crate::template::{Expr, Resource, SpecError, StackSpec, Template, tags};

/// The table's logical id.
pub const TABLE: &str = "McpRateLimitTable";
/// The output that names the table the stack made.
pub const OUTPUT: &str = "RateLimitTable";

/// Rate limits for the function and where every instance counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSpec {
    /// The limits as JSON, already validated.
    pub limits: String,
    /// The table: `None` makes one in the stack (deleted with it); `Some`
    /// names a table the user brings (key `pk` String, TTL `ttl`), kept.
    pub existing_table: Option<String>,
}

/// The flags of this add-on.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitArgs {
    /// Per-caller, per-tool rate limits (the function's rate-limit setting),
    /// e.g. '{"default": "100/60s", "tools": {"word_count": "10/60s"}}'.
    /// Every instance counts in one DynamoDB table, made in the stack unless
    /// --rate-limit-table names one.
    #[arg(long, value_name = "JSON", value_parser = limits)]
    pub rate_limits: Option<String>,
    /// With --rate-limits: count in this existing table (partition key `pk`
    /// of type String, no sort key, TTL attribute `ttl`); the stack neither
    /// makes nor deletes it.
    #[arg(long, value_name = "TABLE", value_parser = table_name, requires = "rate_limits")]
    pub rate_limit_table: Option<String>,
}

impl RateLimitArgs {
    /// The limits these flags ask for.
    pub fn spec(&self) -> Option<RateLimitSpec> {
        Some(RateLimitSpec {
            limits: self.rate_limits.clone()?,
            existing_table: self.rate_limit_table.clone(),
        })
    }
}

fn limits(text: &str) -> Result<String, String> {
    mcp_core::limits::Limits::parse(text).map_err(|e| e.to_string())?;
    Ok(text.trim().to_owned())
}

fn table_name(table: &str) -> Result<String, String> {
    let fits = (3..=255).contains(&table.len())
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !fits {
        return Err(format!(
            "{table:?} is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, _ . -)"
        ));
    }
    Ok(table.to_owned())
}

/// The add-on.
#[derive(Debug)]
pub struct RateLimits;

impl Rung for RateLimits {
    fn name(&self) -> &'static str {
        "rateLimits"
    }

    /// The limits in the function's settings, the table (unless the user
    /// brings one), and the function's right to count in it: one
    /// `dynamodb:UpdateItem` per call, on that table only.
    fn synth(&self, spec: &StackSpec, t: &mut Template) -> Result<(), SpecError> {
        let Some(limits) = &spec.rate_limits else {
            return Ok(());
        };
        t.set(Setting::RateLimits, &limits.limits);
        let (name, arn) = match &limits.existing_table {
            Some(table) => (
                Expr::text(table),
                Expr::sub(format!(
                    "arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table}"
                )),
            ),
            None => {
                t.insert(TABLE, contract_table());
                t.output(
                    OUTPUT,
                    Some("The rate-limit counts every instance shares"),
                    Expr::reference(TABLE),
                );
                (Expr::reference(TABLE), Expr::get_att(TABLE, "Arn"))
            }
        };
        t.set(Setting::RateLimitTable, name);
        t.allow_function("count-rate-limits", "dynamodb:UpdateItem", arn);
        Ok(())
    }

    /// The table the stack made has a name CloudFormation chose:
    /// `<stack>-McpRateLimitTable-<suffix>`. A table the user named is theirs.
    fn named_after<'a>(
        &'a self,
        aws: &'a Aws,
        stack_name: &'a str,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Vec<Recorded>> {
        Box::pin(tables_named(aws, stack_name, TABLE, progress))
    }

    fn checks(&self) -> &'static [(&'static str, Check)] {
        &TABLE_CHECKS
    }
}

/// A table with the contract the function's tables share: partition key
/// `pk` (String), no sort key, TTL attribute `ttl`; on demand; deleted with
/// the stack.
pub(crate) fn contract_table() -> Resource {
    let table = json!({
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": true},
        "Tags": tags()
    });
    Resource::new("AWS::DynamoDB::Table", table).deleted_with_stack()
}

/// How teardown proves a table gone.
pub(crate) const TABLE_CHECKS: [(&str, Check); 1] = [(
    "AWS::DynamoDB::Table",
    gone_by!(
        "table",
        |aws, id| aws.dynamodb.describe_table().table_name(id),
        is_resource_not_found_exception
    ),
)];

/// The stack's table `logical_id` once the stack is gone: CloudFormation
/// named it `<stack>-<logical id>-<suffix>`.
pub(crate) async fn tables_named(
    aws: &Aws,
    stack_name: &str,
    logical_id: &'static str,
    progress: &Progress,
) -> Vec<Recorded> {
    let prefix = format!("{stack_name}-{logical_id}-");
    by_name(
        tables(aws).await,
        |name: &str| name.starts_with(&prefix).then_some(logical_id),
        "AWS::DynamoDB::Table",
        "aws dynamodb list-tables",
        progress,
    )
}

/// Every table of the region, as `(name, name)`.
async fn tables(aws: &Aws) -> anyhow::Result<Vec<(String, String)>> {
    let mut names = aws.dynamodb.list_tables().into_paginator().items().send();
    let mut tables = Vec::new();
    while let Some(name) = names.next().await {
        let name = name.map_err(|e| explain(e, "listing DynamoDB tables"))?;
        tables.push((name.clone(), name));
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{environment, ids, synth};

    #[test]
    fn rate_limits_bring_a_table_and_the_right_to_count_in_it_only() {
        let limits = r#"{"default":"100/60s"}"#.to_owned();
        let spec = StackSpec {
            rate_limits: Some(RateLimitSpec {
                limits: limits.clone(),
                existing_table: None,
            }),
            ..StackSpec::default()
        };
        let t = synth(&spec).unwrap();
        let table = &t["Resources"][TABLE];
        assert_eq!(table["Type"], "AWS::DynamoDB::Table");
        assert_eq!(table["DeletionPolicy"], "Delete");
        let props = &table["Properties"];
        assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            props["KeySchema"],
            json!([{"AttributeName": "pk", "KeyType": "HASH"}])
        );
        assert_eq!(
            props["TimeToLiveSpecification"],
            json!({"AttributeName": "ttl", "Enabled": true})
        );
        let env = environment(&t);
        assert_eq!(env[Setting::RateLimits.name()], limits);
        assert_eq!(env[Setting::RateLimitTable.name()], json!({"Ref": TABLE}));
        let policies = &t["Resources"][ids::ROLE]["Properties"]["Policies"];
        assert_eq!(
            policies[1]["PolicyDocument"]["Statement"],
            json!([{"Effect": "Allow", "Action": "dynamodb:UpdateItem",
                    "Resource": {"Fn::GetAtt": [TABLE, "Arn"]}}])
        );
        assert_eq!(t["Outputs"][OUTPUT]["Value"], json!({"Ref": TABLE}));

        // A table the user brings: no table in the stack (nor deleted with it).
        let brought = synth(&StackSpec {
            rate_limits: Some(RateLimitSpec {
                limits,
                existing_table: Some("team-limits".into()),
            }),
            ..StackSpec::default()
        })
        .unwrap();
        assert!(brought["Resources"].get(TABLE).is_none());
        assert!(brought["Outputs"].get(OUTPUT).is_none());
        assert_eq!(
            environment(&brought)[Setting::RateLimitTable.name()],
            "team-limits"
        );
        let statement = &brought["Resources"][ids::ROLE]["Properties"]["Policies"][1]["PolicyDocument"]
            ["Statement"][0];
        assert!(
            statement["Resource"]["Fn::Sub"]
                .as_str()
                .is_some_and(|arn| arn.ends_with(":table/team-limits"))
        );
        // Without limits, nothing of it.
        let plain = synth(&StackSpec::default()).unwrap();
        assert!(
            environment(&plain)
                .get(Setting::RateLimits.name())
                .is_none()
        );
    }

    #[test]
    fn table_names_follow_dynamodb() {
        assert!(table_name("team-limits").is_ok());
        assert!(table_name("ab").is_err());
        assert!(table_name("has space").is_err());
    }
}
