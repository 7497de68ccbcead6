//! `teardown`: delete the stack, then prove every resource it had is gone.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{StackResourceSummary, StackStatus};
use serde::Serialize;

use crate::aws::{Aws, explain};
use crate::progress::Progress;
use crate::stack::{EventCursor, WaitError, describe, is_settled, settle, status_of, wait};
use crate::template::function_name;

/// A physical resource recorded before deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// The logical id.
    pub logical_id: String,
    /// The CloudFormation type.
    pub kind: String,
    /// The physical id.
    pub physical_id: String,
}

/// What the teardown proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeardownReport {
    /// The stack's name.
    pub stack_name: String,
    /// Its id, when there was a stack.
    pub stack_id: Option<String>,
    /// The resources it had.
    pub resources: Vec<Recorded>,
    /// One line per verified resource.
    pub verified: Vec<String>,
}

async fn record(aws: &Aws, stack_id: &str) -> anyhow::Result<Vec<(Recorded, String)>> {
    let mut out = Vec::new();
    let mut pages = aws
        .cfn
        .list_stack_resources()
        .stack_name(stack_id)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| explain(e, "listing the stack's resources"))?;
        for r in page.stack_resource_summaries() {
            out.push((
                recorded(r),
                r.resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            ));
        }
    }
    Ok(out)
}

fn recorded(r: &StackResourceSummary) -> Recorded {
    Recorded {
        logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
        kind: r.resource_type().unwrap_or_default().to_owned(),
        physical_id: r.physical_resource_id().unwrap_or_default().to_owned(),
    }
}

/// A lookup's verdict: found is `false`, the service's "not found" is `true`,
/// any other error (expired credentials, throttling) is an error.
fn gone<T, E, R>(
    lookup: Result<T, SdkError<E, R>>,
    not_found: impl Fn(&E) -> bool,
    action: &str,
) -> anyhow::Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match lookup {
        Ok(_) => Ok(false),
        Err(e) if e.as_service_error().is_some_and(&not_found) => Ok(true),
        Err(e) => Err(explain(e, action)),
    }
}

/// Whether the WAFv2 resource of physical id `name|id|scope` is gone, by
/// its `Get` operation (`get_web_acl`, `get_ip_set`).
macro_rules! waf_gone {
    ($aws:expr, $get:ident, $physical:expr, $what:literal) => {{
        let (name, id, scope) = waf_parts($physical);
        gone(
            $aws.wafv2
                .$get()
                .name(name)
                .id(id)
                .scope(scope.into())
                .send()
                .await,
            |e| e.is_waf_nonexistent_item_exception(),
            &format!(concat!("checking ", $what, " {}"), name),
        )?
    }};
}

/// Whether one recorded resource is gone: `Ok(true)` gone, `Ok(false)` still
/// there, `Err` could not tell (which counts as not verified).
async fn is_gone(aws: &Aws, r: &Recorded) -> anyhow::Result<Option<bool>> {
    let id = r.physical_id.as_str();
    if PARTS.contains(&r.kind.as_str()) {
        return Ok(None); // a part of the function, the API or the web ACL: it goes with it
    }
    if id.is_empty() {
        return Ok(Some(true)); // never created
    }
    Ok(Some(match r.kind.as_str() {
        "AWS::Lambda::Function" => gone(
            aws.lambda.get_function().function_name(id).send().await,
            |e| e.is_resource_not_found_exception(),
            &format!("checking function {id}"),
        )?,
        "AWS::Lambda::Url" => gone(
            aws.lambda
                .get_function_url_config()
                .function_name(id)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
            &format!("checking the Function URL of {id}"),
        )?,
        "AWS::IAM::Role" => gone(
            aws.iam.get_role().role_name(id).send().await,
            |e| e.is_no_such_entity_exception(),
            &format!("checking role {id}"),
        )?,
        "AWS::DynamoDB::Table" => gone(
            aws.dynamodb.describe_table().table_name(id).send().await,
            |e| e.is_resource_not_found_exception(),
            &format!("checking table {id}"),
        )?,
        "AWS::BedrockAgentCore::Gateway" => gone(
            aws.agentcore
                .get_gateway()
                .gateway_identifier(id)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
            &format!("checking gateway {id}"),
        )?,
        "AWS::BedrockAgentCore::GatewayTarget" => {
            // CloudFormation names a target by both parts of its identifier.
            let (gateway, target) = id.split_once('|').unwrap_or((id, ""));
            gone(
                aws.agentcore
                    .get_gateway_target()
                    .gateway_identifier(gateway)
                    .target_id(target)
                    .send()
                    .await,
                |e| e.is_resource_not_found_exception(),
                &format!("checking gateway target {id}"),
            )?
        }
        "AWS::ApiGateway::RestApi" => gone(
            aws.apigateway.get_rest_api().rest_api_id(id).send().await,
            |e| e.is_not_found_exception(),
            &format!("checking REST API {id}"),
        )?,
        // CloudFormation names WAFv2 resources `name|id|scope`.
        "AWS::WAFv2::WebACL" => waf_gone!(aws, get_web_acl, id, "web ACL"),
        "AWS::WAFv2::IPSet" => waf_gone!(aws, get_ip_set, id, "IP set"),
        "AWS::Logs::LogGroup" => {
            let out = aws
                .logs
                .describe_log_groups()
                .log_group_name_prefix(id)
                .send()
                .await
                .map_err(|e| explain(e, &format!("checking log group {id}")))?;
            !out.log_groups()
                .iter()
                .any(|g| g.log_group_name() == Some(id))
        }
        _ => return Ok(None),
    }))
}

/// A WAFv2 physical id's `name|id|scope`.
fn waf_parts(physical_id: &str) -> (&str, &str, &str) {
    let mut parts = physical_id.splitn(3, '|');
    let mut next = || parts.next().unwrap_or_default();
    (next(), next(), next())
}

/// Parts of another resource, gone with it: a permission with its function;
/// the API's resources, methods, deployment and stage with the API (whose
/// deletion is verified); the association with the web ACL and the stage.
const PARTS: [&str; 6] = [
    "AWS::Lambda::Permission",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::WAFv2::WebACLAssociation",
];

/// The resource types [`is_gone`] can look up (the [`PARTS`] go with theirs).
const CHECKED: [&str; 16] = [
    "AWS::Lambda::Permission",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::ApiGateway::RestApi",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::IPSet",
    "AWS::Lambda::Function",
    "AWS::Lambda::Url",
    "AWS::IAM::Role",
    "AWS::Logs::LogGroup",
    "AWS::DynamoDB::Table",
    "AWS::BedrockAgentCore::Gateway",
    "AWS::BedrockAgentCore::GatewayTarget",
];

/// Re-checks one resource until it is gone or the verify window closes:
/// IAM is eventually consistent and calls can be throttled, so one "still
/// there" or one failed call is not yet a verdict (audit item 4).
async fn settle_gone(aws: &Aws, r: &Recorded, deadline: Instant) -> anyhow::Result<Option<bool>> {
    let mut pause = Duration::from_millis(500);
    loop {
        let verdict = is_gone(aws, r).await;
        let done = matches!(verdict, Ok(None | Some(true))) || Instant::now() + pause > deadline;
        if done {
            return verdict;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(8));
    }
}

/// The resources whose names follow from the stack's name, so they can be
/// checked after the stack itself is gone (audit item 5).
fn deterministic(stack_name: &str) -> [Recorded; 2] {
    let function = function_name(stack_name);
    [
        Recorded {
            logical_id: crate::template::ids::FUNCTION.into(),
            kind: "AWS::Lambda::Function".into(),
            physical_id: function.clone(),
        },
        Recorded {
            logical_id: crate::template::ids::LOG_GROUP.into(),
            kind: "AWS::Logs::LogGroup".into(),
            physical_id: format!("/aws/lambda/{function}"),
        },
    ]
}

/// A gateway named after the stack (`<stack>-gw`), found by listing: its
/// identifier is random, so it is checked by name once the stack is gone.
/// When gateways cannot be listed (no AgentCore in the region, no
/// permission), that is said, and the teardown goes on.
async fn gateway_named_after(aws: &Aws, stack_name: &str, progress: &Progress) -> Option<Recorded> {
    let name = crate::template::gateway_name(stack_name);
    let mut items = aws
        .agentcore
        .list_gateways()
        .into_paginator()
        .items()
        .send();
    while let Some(item) = items.next().await {
        match item {
            Ok(gateway) if gateway.name() == name => {
                return Some(Recorded {
                    logical_id: crate::template::ids::GATEWAY.into(),
                    kind: "AWS::BedrockAgentCore::Gateway".into(),
                    physical_id: gateway.gateway_id().to_owned(),
                });
            }
            Ok(_) => {}
            Err(e) => {
                progress.say(format!(
                    "gateways not checked by name ({:#}): if this stack had a gateway, look for {name} \
                     with `aws bedrock-agentcore-control list-gateways`",
                    explain(e, "listing gateways")
                ));
                return None;
            }
        }
    }
    None
}

/// Which stack to tear down.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The stack of this name, whatever its id (the `teardown` command).
    Name(&'a str),
    /// Exactly this stack (the demo's guard: only what this run created).
    Id {
        /// The stack's name, for messages and the deterministic names.
        name: &'a str,
        /// Its id (an ARN).
        id: &'a str,
    },
}

impl Target<'_> {
    fn name(&self) -> &str {
        match self {
            Target::Name(name) | Target::Id { name, .. } => name,
        }
    }

    fn lookup(&self) -> &str {
        match self {
            Target::Name(name) => name,
            Target::Id { id, .. } => id,
        }
    }
}

/// Verifies the resources, each within the verify window.
async fn verify(
    aws: &Aws,
    resources: &[Recorded],
    progress: &Progress,
) -> (Vec<String>, Vec<String>) {
    let deadline = Instant::now() + aws.timing.verify_window;
    let mut verified = Vec::new();
    let mut remaining = Vec::new();
    for r in resources {
        if !CHECKED.contains(&r.kind.as_str()) {
            // Never "goes with its function" by default: a stack with a
            // resource this version cannot look up is not verified clean.
            remaining.push(format!(
                "{} {} ({}) cannot be checked by this version of mcp-deploy: check it by hand",
                r.kind, r.physical_id, r.logical_id
            ));
            continue;
        }
        match settle_gone(aws, r, deadline).await {
            Ok(Some(true)) => {
                let line = format!("verified: {} {} is gone", r.kind, r.physical_id);
                progress.story(format!("[teardown] {line}"));
                verified.push(line);
            }
            Ok(Some(false)) => remaining.push(format!(
                "{} {} ({}) still exists",
                r.kind, r.physical_id, r.logical_id
            )),
            Ok(None) => progress.say(format!(
                "{} {} goes with the resource that holds it",
                r.kind, r.logical_id
            )),
            Err(e) => remaining.push(format!(
                "{} {} could not be verified: {e:#}",
                r.kind, r.physical_id
            )),
        }
    }
    (verified, remaining)
}

fn not_clean(remaining: &[String]) -> anyhow::Error {
    anyhow!(
        "teardown is NOT clean; these remain:\n  {}\nDelete them by hand (they are named above) or run \
         `mcp-deploy teardown` again",
        remaining.join("\n  ")
    )
}

/// Deletes the stack and verifies. Nothing deployed is a success once the
/// resources with deterministic names are checked too; anything left, or
/// anything that could not be checked, is an error naming it.
pub async fn teardown(
    aws: &Aws,
    target: Target<'_>,
    progress: &Progress,
) -> anyhow::Result<TeardownReport> {
    let stack_name = target.name().to_owned();
    let found = describe(aws, target.lookup())
        .await?
        .filter(|s| status_of(s) != StackStatus::DeleteComplete);
    let Some(stack) = found else {
        // The stack is gone (or never was): what its name implies must be gone too.
        let mut resources = deterministic(&stack_name).to_vec();
        resources.extend(gateway_named_after(aws, &stack_name, progress).await);
        let (verified, remaining) = verify(aws, &resources, progress).await;
        if !remaining.is_empty() {
            return Err(not_clean(&remaining).context(format!(
                "stack {stack_name} no longer exists, but resources named after it do"
            )));
        }
        progress.say(format!(
            "nothing deployed: stack {stack_name} does not exist, and neither do its function, log group and gateway"
        ));
        return Ok(TeardownReport {
            stack_name,
            stack_id: None,
            resources: vec![],
            verified,
        });
    };
    let stack_id = stack.stack_id().unwrap_or(target.lookup()).to_owned();
    let status = status_of(&stack);
    if !is_settled(&status) && status != StackStatus::DeleteInProgress {
        progress.say(format!(
            "stack {stack_name} is {}: waiting for it to settle before deleting",
            status.as_str()
        ));
        settle(aws, &stack_id, &mut EventCursor::default(), progress).await?;
    }
    let before = record(aws, &stack_id).await?;
    let mut resources: Vec<Recorded> = before.iter().map(|(r, _)| r.clone()).collect();
    for r in &resources {
        progress.say(format!(
            "recorded {} {} {}",
            r.kind, r.logical_id, r.physical_id
        ));
    }
    // Whatever the stack recorded, the names it implies are checked as well.
    for extra in deterministic(&stack_name) {
        if !resources
            .iter()
            .any(|r| r.kind == extra.kind && r.physical_id == extra.physical_id)
        {
            resources.push(extra);
        }
    }
    progress.stage("deleting-stack").await?;
    progress.say(format!("deleting stack {stack_name}"));
    aws.cfn
        .delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| explain(e, "deleting the stack"))?;
    match wait(aws, &stack_id, StackStatus::DeleteComplete, progress).await {
        Ok(_) => {}
        Err(e @ WaitError::Ended { .. }) => {
            let after = record(aws, &stack_id).await.unwrap_or_default();
            let failed: Vec<String> = after
                .iter()
                .filter(|(_, s)| s != "DELETE_COMPLETE")
                .map(|(r, s)| format!("{} {} ({}) is {s}", r.kind, r.logical_id, r.physical_id))
                .collect();
            bail!(
                "the stack did not delete ({e}). Still there:\n  {}\nFix what blocks them (see the \
                 stack events), then run `mcp-deploy teardown` again; or retain them with `aws \
                 cloudformation delete-stack --stack-name {stack_id} --retain-resources <logical ids>` \
                 and delete them by hand",
                failed.join("\n  ")
            );
        }
        Err(e) => bail!(
            "the deletion of stack {stack_name} was requested, but its progress could not be \
             followed ({e}); it may still be going on: run `mcp-deploy teardown` again to finish \
             and verify"
        ),
    }
    progress.stage("verifying").await?;
    let (verified, mut remaining) = verify(aws, &resources, progress).await;
    let final_status = describe(aws, &stack_id)
        .await?
        .and_then(|s| s.stack_status().map(|s| s.as_str().to_owned()))
        .ok_or_else(|| anyhow!("stack {stack_id} cannot be looked up by its id"))?;
    progress.story(format!("[teardown] stack status: {final_status}"));
    if final_status != "DELETE_COMPLETE" {
        remaining.push(format!(
            "stack {stack_id} is {final_status}, not DELETE_COMPLETE"
        ));
    }
    if !remaining.is_empty() {
        return Err(not_clean(&remaining));
    }
    progress.story("[teardown] clean.");
    Ok(TeardownReport {
        stack_name,
        stack_id: Some(stack_id),
        resources,
        verified,
    })
}
