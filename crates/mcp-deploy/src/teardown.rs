//! `teardown`: delete the stack, then prove every resource it had is gone.

use anyhow::{anyhow, bail};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{StackResourceSummary, StackStatus};
use backon::Retryable as _;
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::aws::{Aws, explain};
use crate::progress::Progress;
use crate::rung::Check;
use crate::stack::{EventCursor, WaitError, describe, is_settled, settle, status_of, wait};
use crate::template::{function_name, ids};

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
pub(crate) fn gone<T, E, R>(
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

/// A [`Check::Gone`] by one SDK call on the physical id: `request` is the
/// call to send (`aws` and `id` bound), `not_found` the service error that
/// means the resource is gone, `what` names it in messages.
macro_rules! gone_by {
    ($what:literal, |$aws:ident, $id:ident| $request:expr, $not_found:ident) => {{
        fn lookup<'a>(
            $aws: &'a $crate::aws::Aws,
            $id: &'a str,
        ) -> futures_util::future::BoxFuture<'a, anyhow::Result<bool>> {
            Box::pin(async move {
                let sent = $request.send().await;
                let action = format!(concat!("checking ", $what, " {}"), $id);
                $crate::teardown::gone(sent, |e| e.$not_found(), &action)
            })
        }
        $crate::rung::Check::Gone(lookup)
    }};
}
pub(crate) use gone_by;

/// How the function's own resources (every stack has them) are proven gone;
/// each rung lists its own ([`crate::rung::Rung::checks`]).
pub(crate) const FUNCTION_CHECKS: [(&str, Check); 3] = [
    (
        "AWS::Lambda::Function",
        gone_by!(
            "function",
            |aws, id| aws.lambda.get_function().function_name(id),
            is_resource_not_found_exception
        ),
    ),
    (
        "AWS::IAM::Role",
        gone_by!(
            "role",
            |aws, id| aws.iam.get_role().role_name(id),
            is_no_such_entity_exception
        ),
    ),
    ("AWS::Logs::LogGroup", Check::Gone(log_group_gone)),
];

fn log_group_gone<'a>(aws: &'a Aws, id: &'a str) -> BoxFuture<'a, anyhow::Result<bool>> {
    Box::pin(async move {
        let out = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(id)
            .send()
            .await
            .map_err(|e| explain(e, &format!("checking log group {id}")))?;
        Ok(!out
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(id)))
    })
}

/// Whether one recorded resource is gone: `Some(true)` gone, `Some(false)`
/// still there, `None` a part that goes with another; `Err` could not tell
/// (which counts as not verified).
async fn is_gone(aws: &Aws, r: &Recorded, check: Check) -> anyhow::Result<Option<bool>> {
    match check {
        Check::Part => Ok(None),
        // Never created.
        Check::Gone(_) | Check::Slow(_) if r.physical_id.is_empty() => Ok(Some(true)),
        Check::Gone(lookup) | Check::Slow(lookup) => lookup(aws, &r.physical_id).await.map(Some),
    }
}

/// Re-checks one resource until it is gone or the verify window closes:
/// IAM is eventually consistent and calls can be throttled, so one "still
/// there" or one failed call is not yet a verdict (audit item 4).
async fn settle_gone(aws: &Aws, r: &Recorded, check: Check) -> anyhow::Result<Option<bool>> {
    let verdict = (|| async {
        match is_gone(aws, r, check).await {
            Ok(Some(false)) => Err(Verdict::Present),
            Ok(done) => Ok(done),
            Err(e) => Err(Verdict::Failed(e)),
        }
    })
    .retry(crate::retry::policy(window(aws, check)))
    .await;
    match verdict {
        Ok(done) => Ok(done),
        Err(Verdict::Present) => Ok(Some(false)),
        Err(Verdict::Failed(e)) => Err(e),
    }
}

/// How many verify windows a slow deletion gets ([`Check::Slow`]):
/// AgentCore deletes a gateway, and then its workload identity,
/// asynchronously (aws/agentcore-cli #1901), and WAF lets go of a web ACL
/// only once its association is gone. Five minutes by default.
pub(crate) const SLOW_WINDOWS: u32 = 5;

/// How long `check`'s resource is re-checked.
fn window(aws: &Aws, check: Check) -> std::time::Duration {
    match check {
        Check::Slow(_) => aws.timing.verify_window * SLOW_WINDOWS,
        _ => aws.timing.verify_window,
    }
}

/// Why a resource is not yet verified gone.
enum Verdict {
    Present,
    Failed(anyhow::Error),
}

/// The resources whose names follow from the stack's name, so they can be
/// checked after the stack itself is gone (audit item 5).
fn deterministic(stack_name: &str) -> [Recorded; 2] {
    let function = function_name(stack_name);
    [
        Recorded {
            logical_id: ids::FUNCTION.into(),
            kind: "AWS::Lambda::Function".into(),
            physical_id: function.clone(),
        },
        Recorded {
            logical_id: ids::LOG_GROUP.into(),
            kind: "AWS::Logs::LogGroup".into(),
            physical_id: format!("/aws/lambda/{function}"),
        },
    ]
}

/// The resources of `kind` found by name once their stack is gone: each
/// listed `(name, physical id)` whose name `wanted` maps to a logical id.
/// A listing that failed is said, with how to look by hand, and finds
/// nothing.
pub(crate) fn by_name(
    listed: anyhow::Result<Vec<(String, String)>>,
    wanted: impl Fn(&str) -> Option<&'static str>,
    kind: &str,
    by_hand: &str,
    progress: &Progress,
) -> Vec<Recorded> {
    match listed {
        Ok(listed) => listed
            .into_iter()
            .filter_map(|(name, physical_id)| {
                Some(Recorded {
                    logical_id: wanted(&name)?.to_owned(),
                    kind: kind.to_owned(),
                    physical_id,
                })
            })
            .collect(),
        Err(e) => {
            progress.say(format!(
                "{kind} not checked by name ({e:#}): if the stack had one, look for it with \
                 `{by_hand}`"
            ));
            Vec::new()
        }
    }
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
    let mut verified = Vec::new();
    let mut remaining = Vec::new();
    for r in resources {
        let Some(check) = crate::rung::check_for(&r.kind) else {
            // Never "goes with its function" by default: a stack with a
            // resource this version cannot look up is not verified clean.
            remaining.push(format!(
                "{} {} ({}) cannot be checked by this version of mcp-deploy: check it by hand",
                r.kind, r.physical_id, r.logical_id
            ));
            continue;
        };
        match settle_gone(aws, r, check).await {
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
        return nothing_deployed(aws, stack_name, progress).await;
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
    let resources = recorded_and_named(aws, &stack_id, &stack_name, progress).await?;
    progress.stage("deleting-stack").await?;
    progress.say(format!("deleting stack {stack_name}"));
    aws.cfn
        .delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| explain(e, "deleting the stack"))?;
    wait_deleted(aws, &stack_id, &stack_name, progress).await?;
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

/// The stack is gone (or never was): what its name implies must be gone too.
async fn nothing_deployed(
    aws: &Aws,
    stack_name: String,
    progress: &Progress,
) -> anyhow::Result<TeardownReport> {
    let mut resources = deterministic(&stack_name).to_vec();
    for rung in crate::rung::ALL {
        resources.extend(rung.named_after(aws, &stack_name, progress).await);
    }
    resources.extend(also_recorded(aws, &resources, progress).await);
    let (verified, remaining) = verify(aws, &resources, progress).await;
    if !remaining.is_empty() {
        return Err(not_clean(&remaining).context(format!(
            "stack {stack_name} no longer exists, but resources named after it do"
        )));
    }
    progress.say(format!(
        "nothing deployed: stack {stack_name} does not exist, and neither do the resources named after it"
    ));
    Ok(TeardownReport {
        stack_name,
        stack_id: None,
        resources: vec![],
        verified,
    })
}

/// What each rung adds to `recorded` (made outside CloudFormation's record).
async fn also_recorded(aws: &Aws, recorded: &[Recorded], progress: &Progress) -> Vec<Recorded> {
    let mut more = Vec::new();
    for rung in crate::rung::ALL {
        more.extend(rung.also_recorded(aws, recorded, progress).await);
    }
    more
}

/// What the stack has, recorded before deletion, and the names it implies.
async fn recorded_and_named(
    aws: &Aws,
    stack_id: &str,
    stack_name: &str,
    progress: &Progress,
) -> anyhow::Result<Vec<Recorded>> {
    let before = record(aws, stack_id).await?;
    let mut resources: Vec<Recorded> = before.into_iter().map(|(r, _)| r).collect();
    resources.extend(also_recorded(aws, &resources, progress).await);
    for r in &resources {
        progress.say(format!(
            "recorded {} {} {}",
            r.kind, r.logical_id, r.physical_id
        ));
    }
    // Whatever the stack recorded, the names it implies are checked as well.
    for extra in deterministic(stack_name) {
        if !resources
            .iter()
            .any(|r| r.kind == extra.kind && r.physical_id == extra.physical_id)
        {
            resources.push(extra);
        }
    }
    Ok(resources)
}

/// Waits for `DELETE_COMPLETE`; a failed deletion names what blocks it.
async fn wait_deleted(
    aws: &Aws,
    stack_id: &str,
    stack_name: &str,
    progress: &Progress,
) -> anyhow::Result<()> {
    match wait(aws, stack_id, StackStatus::DeleteComplete, progress).await {
        Ok(_) => Ok(()),
        Err(e @ WaitError::Ended { .. }) => {
            let after = record(aws, stack_id).await.unwrap_or_default();
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
}
