//! CloudFormation: the server stack (`deploy`), its queries, and bounded
//! waits that stream stack events.
//!
//! The decisions are pure functions ([`plan`], [`is_no_changes`]) so they are
//! tested without AWS; the calls around them are tested against moto and
//! with canned SDK responses (tests/decisions.rs).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use aws_sdk_cloudformation::client::Waiters as _;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetType, Parameter, Stack, StackEvent, StackStatus, Tag,
};
use serde::Serialize;
use serde_json::json;

use crate::assets;
use crate::aws::{Aws, explain};
use crate::progress::Progress;
use crate::template::{self, STACK_TAG, StackSpec, ids};

/// How long a stack operation may take before the CLI gives up waiting.
const STACK_WAIT: Duration = Duration::from_secs(30 * 60);

/// How many status checks in a row may fail (throttling, a network blip)
/// before a wait gives up; the operation itself goes on regardless.
const STATUS_RETRIES: u32 = 5;

/// The stack, or `None` when it does not exist.
pub async fn describe(aws: &Aws, name_or_id: &str) -> anyhow::Result<Option<Stack>> {
    match aws
        .cfn
        .describe_stacks()
        .stack_name(name_or_id)
        .send()
        .await
    {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e)
            if e.as_service_error()
                .and_then(|s| s.meta().message())
                .is_some_and(|m| m.contains("does not exist")) =>
        {
            Ok(None)
        }
        Err(e) => Err(explain(e, &format!("describing stack {name_or_id}"))),
    }
}

/// The stack's status (`UNKNOWN` when AWS gave none).
pub fn status_of(stack: &Stack) -> StackStatus {
    stack
        .stack_status()
        .cloned()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// Whether a status is settled (not `*_IN_PROGRESS`; `REVIEW_IN_PROGRESS`
/// waits for a change set to run, so it counts as settled).
pub fn is_settled(status: &StackStatus) -> bool {
    !status.as_str().ends_with("_IN_PROGRESS") || *status == StackStatus::ReviewInProgress
}

/// Why a wait ended without the stack reaching the state it wanted.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The stack settled in another state.
    #[error("stack {stack} ended {status} (wanted {want}): {reason}")]
    Ended {
        /// The stack.
        stack: String,
        /// Where it ended.
        status: String,
        /// What was wanted.
        want: String,
        /// CloudFormation's reason.
        reason: String,
    },
    /// Its status could not be read (the operation may still be going on).
    #[error("the status of stack {stack} could not be read: {cause:#}")]
    Unknown {
        /// The stack.
        stack: String,
        /// The last error.
        cause: anyhow::Error,
    },
    /// It is still in progress after the time limit.
    #[error(
        "stack {stack} is still {status} after {minutes} minutes: check the CloudFormation console"
    )]
    TimedOut {
        /// The stack.
        stack: String,
        /// Its status.
        status: String,
        /// The limit.
        minutes: u64,
    },
}

/// Stack events not printed yet, newest last. Events are read page by page
/// until one already seen; the local clock plays no part (audit item 10).
#[derive(Debug, Default)]
pub struct EventCursor {
    seen: HashSet<String>,
}

impl EventCursor {
    /// A cursor that skips every event the stack already has.
    /// Only the newest page is read: later reads stop at the first event
    /// already seen, which is on it, so a long history is never paged through.
    pub async fn after_existing(aws: &Aws, stack_id: &str) -> Self {
        let mut cursor = EventCursor::default();
        if let Ok(page) = aws
            .cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
        {
            cursor.seen.extend(
                page.stack_events()
                    .iter()
                    .filter_map(|e| e.event_id().map(str::to_owned)),
            );
        }
        cursor
    }

    async fn fetch(&mut self, aws: &Aws, stack_id: &str) -> Vec<StackEvent> {
        let mut fresh = Vec::new();
        let mut pages = aws
            .cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .into_paginator()
            .send();
        'pages: while let Some(Ok(page)) = pages.next().await {
            // Newest first: stop at the first event already printed.
            for event in page.stack_events() {
                match event.event_id() {
                    Some(id) if self.seen.contains(id) => break 'pages,
                    _ => fresh.push(event.clone()),
                }
            }
        }
        fresh.reverse();
        fresh
    }

    /// Prints the events that arrived since the last call. Events are
    /// progress, not truth: a failure to read them is ignored.
    pub async fn print_new(&mut self, aws: &Aws, stack_id: &str, progress: &Progress) {
        for event in self.fetch(aws, stack_id).await {
            if let Some(id) = event.event_id() {
                self.seen.insert(id.to_owned());
            }
            progress.say(format!(
                "{} {} {}{}",
                event.logical_resource_id().unwrap_or("-"),
                event.resource_type().unwrap_or("-"),
                event.resource_status().map(|s| s.as_str()).unwrap_or("-"),
                event
                    .resource_status_reason()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ));
        }
    }
}

/// Waits until the stack leaves its `*_IN_PROGRESS` state, printing new
/// events, and returns it settled. A status read that fails is retried; a
/// stack that disappears while deleting is `DELETE_COMPLETE`.
pub async fn settle(
    aws: &Aws,
    stack_id: &str,
    events: &mut EventCursor,
    progress: &Progress,
) -> Result<Option<Stack>, WaitError> {
    let deadline = Instant::now() + STACK_WAIT;
    let mut failures = 0;
    loop {
        events.print_new(aws, stack_id, progress).await;
        match describe(aws, stack_id).await {
            Ok(None) => return Ok(None),
            Ok(Some(stack)) if is_settled(&status_of(&stack)) => return Ok(Some(stack)),
            Ok(Some(stack)) if Instant::now() > deadline => {
                return Err(WaitError::TimedOut {
                    stack: stack_id.to_owned(),
                    status: status_of(&stack).as_str().to_owned(),
                    minutes: STACK_WAIT.as_secs() / 60,
                });
            }
            Ok(Some(_)) => failures = 0,
            Err(cause) => {
                failures += 1;
                if failures >= STATUS_RETRIES {
                    return Err(WaitError::Unknown {
                        stack: stack_id.to_owned(),
                        cause,
                    });
                }
                progress.say(format!(
                    "could not read the stack's status ({cause:#}); retrying"
                ));
            }
        }
        tokio::time::sleep(aws.timing.poll * (1 << failures.min(4))).await;
    }
}

/// [`settle`], then insists on the `want` state.
pub async fn wait(
    aws: &Aws,
    stack_id: &str,
    want: StackStatus,
    progress: &Progress,
) -> Result<Option<Stack>, WaitError> {
    let mut events = EventCursor::default();
    wait_with(aws, stack_id, want, &mut events, progress).await
}

/// [`wait`] with events printed from `events` on.
pub async fn wait_with(
    aws: &Aws,
    stack_id: &str,
    want: StackStatus,
    events: &mut EventCursor,
    progress: &Progress,
) -> Result<Option<Stack>, WaitError> {
    let stack = settle(aws, stack_id, events, progress).await?;
    let status = stack
        .as_ref()
        .map_or(StackStatus::DeleteComplete, status_of);
    if status != want {
        let reason = stack
            .as_ref()
            .and_then(|s| s.stack_status_reason())
            .unwrap_or("no reason given");
        return Err(WaitError::Ended {
            stack: stack
                .as_ref()
                .and_then(|s| s.stack_name())
                .unwrap_or(stack_id)
                .to_owned(),
            status: status.as_str().to_owned(),
            want: want.as_str().to_owned(),
            reason: reason.to_owned(),
        });
    }
    Ok(stack)
}

/// What a deployed stack offers: its id and its outputs, by key (each rung
/// names its own keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outputs {
    /// The stack's id (an ARN).
    #[serde(rename = "StackId")]
    pub stack_id: String,
    /// The outputs.
    #[serde(flatten)]
    pub values: BTreeMap<String, String>,
}

impl Outputs {
    /// The output `key`, if the stack has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The function's name.
    pub fn function_name(&self) -> &str {
        self.get(template::outputs::FUNCTION_NAME)
            .unwrap_or_default()
    }

    /// The Function URL, or what to do when the stack has none.
    pub fn require_function_url(&self) -> anyhow::Result<&str> {
        if let Some(url) = self.get(crate::rung::url::OUTPUT) {
            return Ok(url);
        }
        if let Some(api) = self.get(crate::rung::internet::outputs::API_URL) {
            bail!(
                "this stack is internet-facing and has no Function URL: call {api} with a \
                 bearer token from its issuer (any MCP client with OAuth support discovers it)"
            );
        }
        bail!(
            "this stack has no Function URL (a gateway-only stack): redeploy with \
             --with-function-url, or call its tools through GatewayUrl {}",
            self.get(crate::rung::gateway::outputs::URL).unwrap_or("-")
        )
    }
}

/// Reads the outputs of a stack.
pub fn outputs(stack: &Stack) -> anyhow::Result<Outputs> {
    let values = output_values(stack);
    let stack_id = stack.stack_id().unwrap_or_default().to_owned();
    if !values.contains_key(template::outputs::FUNCTION_NAME) {
        bail!(
            "stack {stack_id} has no {} output: it was not made by mcp-deploy, or is still \
             being made",
            template::outputs::FUNCTION_NAME
        );
    }
    Ok(Outputs { stack_id, values })
}

/// The deploy's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// The outputs.
    pub outputs: Outputs,
    /// Seconds from the first CloudFormation call to the stack being ready.
    pub seconds: f64,
}

/// What `deploy` does with the stack as it finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// No stack (or one waiting for its first change set): create it.
    Create,
    /// A settled stack: update it.
    Update,
    /// A stack whose first create failed (`ROLLBACK_COMPLETE`) cannot be
    /// updated: delete it (by this id), then create it.
    Replace(String),
}

/// Decides what `deploy` does; an error says what the user must do first.
pub fn plan(stack_name: &str, existing: Option<&Stack>) -> anyhow::Result<Plan> {
    let Some(stack) = existing else {
        return Ok(Plan::Create);
    };
    let id = stack.stack_id().unwrap_or(stack_name).to_owned();
    match status_of(stack) {
        StackStatus::ReviewInProgress => Ok(Plan::Create),
        StackStatus::RollbackComplete => Ok(Plan::Replace(id)),
        StackStatus::DeleteFailed => bail!(
            "stack {stack_name} is in DELETE_FAILED: finish the teardown first (mcp-deploy teardown), then deploy"
        ),
        s if !is_settled(&s) => bail!(
            "stack {stack_name} is busy ({}): wait for it to finish and run deploy again",
            s.as_str()
        ),
        _ => Ok(Plan::Update),
    }
}

/// Whether a change set failed only because there was nothing to change, as
/// AWS says in a FAILED change set's reason.
pub fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes")
}

/// A change set, created and described.
enum ChangeSet {
    /// Ready to execute.
    Ready { id: String, stack_id: String },
    /// Nothing to change.
    Empty { stack_id: String },
}

/// `deploy`: uploads the package and creates or updates the stack through a
/// change set. `on_stack` learns the stack's id as soon as CloudFormation has
/// one, so a teardown guard deletes exactly the stack this run touched.
pub async fn deploy(
    aws: &Aws,
    stack_name: &str,
    spec: &StackSpec,
    zip: &Path,
    account: &str,
    progress: &Progress,
    on_stack: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Deployed> {
    let template_body = checked_template(aws, spec)?;
    let existing = describe(aws, stack_name).await?;
    if let Some(stack) = &existing {
        check_update(aws, spec, stack).await?;
    }
    let bucket = assets::asset_bucket(aws, account).await?;
    let key = assets::upload(aws, &bucket, account, zip, progress).await?;

    let started = Instant::now();
    let kind = change_set_kind(aws, stack_name, existing.as_ref(), progress, on_stack).await?;
    let creating = kind == ChangeSetType::Create;
    progress
        .stage(if creating {
            "creating-stack"
        } else {
            "updating-stack"
        })
        .await?;
    let mut events = match existing.as_ref().and_then(|s| s.stack_id()) {
        Some(id) if !creating => EventCursor::after_existing(aws, id).await,
        _ => EventCursor::default(),
    };
    let parameters = [
        (ids::ASSET_BUCKET, bucket.as_str()),
        (ids::ASSET_KEY, key.as_str()),
    ];
    let change_set = create_change_set(
        aws,
        stack_name,
        kind,
        &template_body,
        &parameters,
        on_stack,
        progress,
    )
    .await?;
    let stack_id = match change_set {
        ChangeSet::Empty { stack_id } => {
            progress.say(format!(
                "no changes: stack {stack_name} is already up to date"
            ));
            let stack = describe(aws, &stack_id).await?;
            let stack = stack.ok_or_else(|| anyhow!("stack {stack_name} vanished"))?;
            let seconds = started.elapsed().as_secs_f64();
            return Ok(Deployed {
                outputs: outputs(&stack)?,
                seconds,
            });
        }
        ChangeSet::Ready { id, stack_id } => {
            let execute = aws.cfn.execute_change_set().change_set_name(&id);
            let executed = execute.stack_name(&stack_id).send().await;
            executed.map_err(|e| explain(e, "executing the change set"))?;
            stack_id
        }
    };
    progress.stage("stack-in-progress").await?;
    let want = if creating {
        StackStatus::CreateComplete
    } else {
        StackStatus::UpdateComplete
    };
    let stack = wait_with(aws, &stack_id, want, &mut events, progress)
        .await?
        .ok_or_else(|| anyhow!("stack {stack_name} vanished while deploying"))?;
    progress.stage("stack-ready").await?;
    Ok(Deployed {
        outputs: outputs(&stack)?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A stack's outputs by key (none while it is being made).
fn output_values(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect()
}

/// Each rung's refusal of a change its deployed resources cannot take.
async fn check_update(aws: &Aws, spec: &StackSpec, stack: &Stack) -> anyhow::Result<()> {
    let outputs = output_values(stack);
    for rung in crate::rung::ALL {
        rung.check_update(aws, spec, &outputs).await?;
    }
    Ok(())
}

/// The template, once every rung has found the region fit for it.
fn checked_template(aws: &Aws, spec: &StackSpec) -> anyhow::Result<String> {
    for rung in crate::rung::ALL {
        rung.check_region(spec, &aws.region)?;
    }
    Ok(template::to_text(&template::synth(spec)?))
}

/// What kind of change set the stack as found needs; a stack whose first
/// create failed is deleted first (by its id).
async fn change_set_kind(
    aws: &Aws,
    stack_name: &str,
    existing: Option<&Stack>,
    progress: &Progress,
    on_stack: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<ChangeSetType> {
    Ok(match plan(stack_name, existing)? {
        Plan::Create => ChangeSetType::Create,
        Plan::Update => ChangeSetType::Update,
        Plan::Replace(id) => {
            progress.say(format!(
                "stack {stack_name} is in ROLLBACK_COMPLETE (its first create failed): deleting it, then creating it again"
            ));
            on_stack(&id);
            aws.cfn
                .delete_stack()
                .stack_name(&id)
                .send()
                .await
                .map_err(|e| explain(e, "deleting the failed stack"))?;
            wait(aws, &id, StackStatus::DeleteComplete, progress).await?;
            ChangeSetType::Create
        }
    })
}

async fn create_change_set(
    aws: &Aws,
    stack_name: &str,
    kind: ChangeSetType,
    template_body: &str,
    parameters: &[(&str, &str)],
    on_stack: &(dyn Fn(&str) + Sync),
    progress: &Progress,
) -> anyhow::Result<ChangeSet> {
    let name = format!(
        "mcp-deploy-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    );
    let verb = if kind == ChangeSetType::Create {
        "creating"
    } else {
        "updating"
    };
    progress.say(format!(
        "{verb} stack {stack_name} through change set {name}"
    ));
    let mut request = aws
        .cfn
        .create_change_set()
        .stack_name(stack_name)
        .change_set_name(&name)
        .change_set_type(kind)
        .template_body(template_body)
        .capabilities(Capability::CapabilityIam)
        .tags(Tag::builder().key(STACK_TAG).value(stack_name).build());
    for (key, value) in parameters {
        request = request.parameters(
            Parameter::builder()
                .parameter_key(*key)
                .parameter_value(*value)
                .build(),
        );
    }
    let created = request
        .send()
        .await
        .map_err(|e| explain(e, "creating the change set"))?;
    let id = created.id().unwrap_or(&name).to_owned();
    let stack_id = created.stack_id().unwrap_or(stack_name).to_owned();
    on_stack(&stack_id);
    ready_or_empty(aws, &name, id, stack_id).await
}

/// Waits for the change set; one that failed only for having nothing to
/// change is deleted and reported empty.
async fn ready_or_empty(
    aws: &Aws,
    name: &str,
    id: String,
    stack_id: String,
) -> anyhow::Result<ChangeSet> {
    let waited = aws
        .cfn
        .wait_until_change_set_create_complete()
        .change_set_name(&id)
        .stack_name(&stack_id)
        .wait(STACK_WAIT)
        .await;
    if waited.is_ok() {
        return Ok(ChangeSet::Ready { id, stack_id });
    }
    // The waiter stops on FAILED: the reason says whether it was only empty.
    let described = aws
        .cfn
        .describe_change_set()
        .change_set_name(&id)
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| explain(e, "describing the change set"))?;
    let reason = described.status_reason().unwrap_or_default();
    if is_no_changes(reason) {
        let _ = aws
            .cfn
            .delete_change_set()
            .change_set_name(&id)
            .stack_name(&stack_id)
            .send()
            .await;
        return Ok(ChangeSet::Empty { stack_id });
    }
    bail!(
        "the change set {name} did not become ready ({}): {reason}",
        described
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "no status".into())
    )
}

/// Writes `{"<stack>": {outputs}}`, like cdk's `--outputs-file`.
pub fn write_outputs_file(path: &Path, stack_name: &str, outputs: &Outputs) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(&json!({ stack_name: outputs }))?;
    text.push('\n');
    std::fs::write(path, text)
        .with_context(|| format!("failed to write the outputs file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack id as CloudFormation returns it (plan() only passes it on).
    const STACK_ID: &str = "stack/S/1";

    fn stack(status: StackStatus) -> Stack {
        Stack::builder()
            .stack_name("S")
            .stack_id(STACK_ID)
            .stack_status(status)
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
    }

    #[test]
    fn plans_follow_the_stack_state() {
        let plan_for = |status| plan("S", Some(&stack(status))).map_err(|e| e.to_string());
        assert_eq!(plan("S", None).ok(), Some(Plan::Create));
        assert_eq!(plan_for(StackStatus::ReviewInProgress), Ok(Plan::Create));
        assert_eq!(plan_for(StackStatus::CreateComplete), Ok(Plan::Update));
        assert_eq!(
            plan_for(StackStatus::UpdateRollbackComplete),
            Ok(Plan::Update)
        );
        assert_eq!(
            plan_for(StackStatus::RollbackComplete),
            Ok(Plan::Replace(STACK_ID.into()))
        );
        assert!(plan_for(StackStatus::DeleteFailed).is_err_and(|e| e.contains("DELETE_FAILED")));
        assert!(plan_for(StackStatus::UpdateInProgress).is_err_and(|e| e.contains("busy")));
    }

    #[test]
    fn no_changes_is_read_from_the_reason() {
        assert!(is_no_changes(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(!is_no_changes("Template format error"));
    }
}
