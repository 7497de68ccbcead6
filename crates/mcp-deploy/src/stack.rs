//! CloudFormation: the asset stack (`prepare`), the server stack (`deploy`),
//! and bounded waits that stream stack events.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use aws_sdk_cloudformation::error::ProvideErrorMetadata as _;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, StackStatus, Tag,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::aws::{Aws, explain};
use crate::progress::Progress;
use crate::template::{self, STACK_TAG, StackSpec, ids};

/// The stack that holds the asset bucket, one per account and region.
pub const ASSETS_STACK: &str = "McpLadderAssets";

/// How long a stack operation may take before the CLI gives up waiting.
const STACK_WAIT: Duration = Duration::from_secs(30 * 60);

fn poll_interval() -> Duration {
    let ms = std::env::var("MCP_DEPLOY_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    Duration::from_millis(ms)
}

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

fn status_of(stack: &Stack) -> StackStatus {
    stack
        .stack_status()
        .cloned()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// Waits until the stack leaves its `*_IN_PROGRESS` state, printing new
/// events, and returns it in its settled state.
pub async fn settle(aws: &Aws, stack_id: &str, progress: &Progress) -> anyhow::Result<Stack> {
    let deadline = Instant::now() + STACK_WAIT;
    let mut seen: HashSet<String> = HashSet::new();
    let since =
        aws_smithy_types::DateTime::from(std::time::SystemTime::now() - Duration::from_secs(5));
    loop {
        print_new_events(aws, stack_id, &since, &mut seen, progress).await;
        let stack = describe(aws, stack_id)
            .await?
            .ok_or_else(|| anyhow!("stack {stack_id} vanished while waiting"))?;
        let status = status_of(&stack);
        if !status.as_str().ends_with("_IN_PROGRESS") || status == StackStatus::ReviewInProgress {
            return Ok(stack);
        }
        if Instant::now() > deadline {
            bail!(
                "stack {stack_id} is still {} after {} minutes: check the CloudFormation console",
                status.as_str(),
                STACK_WAIT.as_secs() / 60
            );
        }
        tokio::time::sleep(poll_interval()).await;
    }
}

/// [`settle`], then insists on the `want` state.
pub async fn wait(
    aws: &Aws,
    stack_id: &str,
    want: StackStatus,
    progress: &Progress,
) -> anyhow::Result<Stack> {
    let stack = settle(aws, stack_id, progress).await?;
    let status = status_of(&stack);
    if status != want {
        let reason = stack.stack_status_reason().unwrap_or("no reason given");
        bail!(
            "stack {} ended {} (wanted {}): {reason}",
            stack.stack_name().unwrap_or(stack_id),
            status.as_str(),
            want.as_str()
        );
    }
    Ok(stack)
}

async fn print_new_events(
    aws: &Aws,
    stack_id: &str,
    since: &aws_smithy_types::DateTime,
    seen: &mut HashSet<String>,
    progress: &Progress,
) {
    let Ok(out) = aws
        .cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
    else {
        return; // events are progress, not truth: the status check decides
    };
    let mut fresh: Vec<_> = out
        .stack_events()
        .iter()
        .filter(|e| e.timestamp().is_some_and(|t| t.secs() >= since.secs()))
        .filter(|e| e.event_id().is_some_and(|id| seen.insert(id.to_owned())))
        .collect();
    fresh.reverse(); // oldest first
    for event in fresh {
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

/// The asset stack's template: an encrypted, private, TLS-only bucket.
pub fn assets_template() -> serde_json::Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "mcp-ladder assets: function packages, keyed by content hash (like cdk bootstrap)",
        "Resources": {
            "AssetBucket": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": {"Fn::Sub": "mcp-ladder-assets-${AWS::AccountId}-${AWS::Region}"},
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]},
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": true, "BlockPublicPolicy": true,
                        "IgnorePublicAcls": true, "RestrictPublicBuckets": true
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "Tags": [{"Key": STACK_TAG, "Value": {"Ref": "AWS::StackName"}}]
                }
            },
            "AssetBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "AssetBucket"},
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": {"AWS": {"Ref": "AWS::AccountId"}},
                        "Action": "s3:*",
                        "Resource": [
                            {"Fn::GetAtt": ["AssetBucket", "Arn"]},
                            {"Fn::Sub": "${AssetBucket.Arn}/*"}
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                    }]}
                }
            }
        },
        "Outputs": {"BucketName": {"Value": {"Ref": "AssetBucket"}}}
    })
}

fn output(stack: &Stack, key: &str) -> Option<String> {
    stack
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
}

/// `prepare`: creates the asset stack once per account and region.
pub async fn prepare(aws: &Aws, progress: &Progress) -> anyhow::Result<String> {
    if let Some(stack) = describe(aws, ASSETS_STACK).await? {
        match status_of(&stack) {
            StackStatus::CreateComplete | StackStatus::UpdateComplete => {
                let bucket = output(&stack, "BucketName")
                    .ok_or_else(|| anyhow!("stack {ASSETS_STACK} has no BucketName output: delete it and run prepare again"))?;
                progress.say(format!(
                    "already prepared: asset bucket {bucket} ({ASSETS_STACK})"
                ));
                return Ok(bucket);
            }
            other => bail!(
                "stack {ASSETS_STACK} is {}: wait for it or delete it (aws cloudformation delete-stack --stack-name {ASSETS_STACK}), then run prepare again",
                other.as_str()
            ),
        }
    }
    progress.say(format!("creating {ASSETS_STACK} (the asset bucket)"));
    let created = aws
        .cfn
        .create_stack()
        .stack_name(ASSETS_STACK)
        .template_body(template::to_text(&assets_template()))
        .tags(Tag::builder().key(STACK_TAG).value(ASSETS_STACK).build())
        .send()
        .await
        .map_err(|e| explain(e, "creating the asset stack"))?;
    let id = created.stack_id().unwrap_or(ASSETS_STACK).to_owned();
    let stack = wait(aws, &id, StackStatus::CreateComplete, progress).await?;
    let bucket = output(&stack, "BucketName")
        .ok_or_else(|| anyhow!("the asset stack has no BucketName output"))?;
    progress.say(format!("prepared: asset bucket {bucket}"));
    Ok(bucket)
}

/// The asset bucket, or an error that says to run `prepare`.
pub async fn asset_bucket(aws: &Aws) -> anyhow::Result<String> {
    let missing = || {
        anyhow!(
            "the asset bucket is missing: run `mcp-deploy prepare` once for this account and region (like cdk bootstrap)"
        )
    };
    let stack = describe(aws, ASSETS_STACK).await?.ok_or_else(missing)?;
    let bucket = output(&stack, "BucketName").ok_or_else(missing)?;
    aws.s3
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map_err(|_| missing())?;
    Ok(bucket)
}

/// What a deployed stack offers (the stack's outputs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Outputs {
    /// The stack's id (an ARN).
    pub stack_id: String,
    /// The IAM-authenticated Function URL.
    pub function_url: String,
    /// The function.
    pub function_name: String,
    /// The account.
    pub account_id: String,
    /// The region.
    pub region: String,
}

/// Reads the outputs of a stack. moto 5.2.5 returns none for stacks made
/// through change sets (AWS always does), so they are then derived from the
/// stack's resources, as AWS would have computed them.
pub async fn outputs(aws: &Aws, stack: &Stack) -> anyhow::Result<Outputs> {
    let stack_id = stack.stack_id().unwrap_or_default().to_owned();
    if let (Some(url), Some(name), Some(account), Some(region)) = (
        output(stack, "FunctionUrl"),
        output(stack, "FunctionName"),
        output(stack, "AccountId"),
        output(stack, "Region"),
    ) {
        return Ok(Outputs {
            stack_id,
            function_url: url,
            function_name: name,
            account_id: account,
            region,
        });
    }
    let resources = aws
        .cfn
        .describe_stack_resources()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| explain(e, "listing the stack's resources"))?;
    let name = resources
        .stack_resources()
        .iter()
        .find(|r| r.logical_resource_id() == Some(ids::FUNCTION))
        .and_then(|r| r.physical_resource_id())
        .ok_or_else(|| anyhow!("the stack has no function"))?
        .to_owned();
    let url = aws
        .lambda
        .get_function_url_config()
        .function_name(&name)
        .send()
        .await
        .map_err(|e| explain(e, "reading the Function URL"))?;
    let account = stack_id.split(':').nth(4).unwrap_or_default().to_owned();
    Ok(Outputs {
        stack_id,
        function_url: url.function_url().to_owned(),
        function_name: name,
        account_id: account,
        region: aws.region.clone(),
    })
}

/// The deploy's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// The outputs.
    pub outputs: Outputs,
    /// False when the change set was empty.
    pub changed: bool,
    /// Seconds from the first CloudFormation call to the stack being ready.
    pub seconds: f64,
}

/// `deploy`: uploads the package and creates or updates the stack through a change set.
pub async fn deploy(
    aws: &Aws,
    stack_name: &str,
    spec: &StackSpec,
    zip: &Path,
    progress: &Progress,
) -> anyhow::Result<Deployed> {
    let template_body = template::to_text(&template::synth(spec)?);
    let bucket = asset_bucket(aws).await?;
    let package = std::fs::read(zip).with_context(|| {
        format!("cannot read the function package {}: build it with scripts/build-lambda.sh or pass --zip", zip.display())
    })?;
    let key = format!("assets/{}.zip", hex::encode(Sha256::digest(&package)));
    if aws
        .s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .is_ok()
    {
        progress.say(format!("package s3://{bucket}/{key} is already uploaded"));
    } else {
        progress.say(format!(
            "uploading {} ({} bytes) to s3://{bucket}/{key}",
            zip.display(),
            package.len()
        ));
        aws.s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(package.into())
            .send()
            .await
            .map_err(|e| explain(e, "uploading the package"))?;
    }

    let started = Instant::now();
    let existing = describe(aws, stack_name).await?;
    let kind = match existing.as_ref().map(status_of) {
        None => ChangeSetType::Create,
        Some(StackStatus::ReviewInProgress) => ChangeSetType::Create,
        Some(StackStatus::RollbackComplete) => {
            progress.say(format!(
                "stack {stack_name} is in ROLLBACK_COMPLETE (its first create failed): deleting it, then creating it again"
            ));
            let id = existing
                .as_ref()
                .and_then(|s| s.stack_id())
                .unwrap_or(stack_name)
                .to_owned();
            aws.cfn
                .delete_stack()
                .stack_name(&id)
                .send()
                .await
                .map_err(|e| explain(e, "deleting the failed stack"))?;
            wait(aws, &id, StackStatus::DeleteComplete, progress).await?;
            ChangeSetType::Create
        }
        Some(StackStatus::DeleteFailed) => bail!(
            "stack {stack_name} is in DELETE_FAILED: finish the teardown first (mcp-deploy teardown), then deploy"
        ),
        Some(s) if s.as_str().ends_with("_IN_PROGRESS") => {
            bail!(
                "stack {stack_name} is busy ({}): wait for it to finish and run deploy again",
                s.as_str()
            )
        }
        Some(_) => ChangeSetType::Update,
    };
    let change_set_name = format!(
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
    progress
        .stage(if kind == ChangeSetType::Create {
            "creating-stack"
        } else {
            "updating-stack"
        })
        .await?;
    progress.say(format!(
        "{verb} stack {stack_name} through change set {change_set_name}"
    ));
    let change_set = aws
        .cfn
        .create_change_set()
        .stack_name(stack_name)
        .change_set_name(&change_set_name)
        .change_set_type(kind.clone())
        .template_body(template_body)
        .parameters(
            Parameter::builder()
                .parameter_key(ids::ASSET_BUCKET)
                .parameter_value(&bucket)
                .build(),
        )
        .parameters(
            Parameter::builder()
                .parameter_key(ids::ASSET_KEY)
                .parameter_value(&key)
                .build(),
        )
        .capabilities(Capability::CapabilityIam)
        .tags(Tag::builder().key(STACK_TAG).value(stack_name).build())
        .send()
        .await;
    let change_set = match change_set {
        Ok(created) => created,
        // AWS makes a FAILED change set for "no changes" (handled below);
        // moto 5.2.5 refuses the CreateChangeSet call itself.
        Err(e)
            if e.message()
                .is_some_and(|m| m.contains("No updates are to be performed")) =>
        {
            return no_changes(
                aws,
                stack_name,
                existing
                    .as_ref()
                    .and_then(|s| s.stack_id())
                    .unwrap_or(stack_name),
                started,
                progress,
            )
            .await;
        }
        Err(e) => return Err(explain(e, "creating the change set")),
    };
    let change_set_id = change_set.id().unwrap_or(&change_set_name).to_owned();
    let stack_id = change_set.stack_id().unwrap_or(stack_name).to_owned();

    let deadline = Instant::now() + STACK_WAIT;
    loop {
        let described = aws
            .cfn
            .describe_change_set()
            .change_set_name(&change_set_id)
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| explain(e, "describing the change set"))?;
        match described.status() {
            Some(ChangeSetStatus::CreateComplete) => break,
            Some(ChangeSetStatus::Failed) => {
                let reason = described.status_reason().unwrap_or_default();
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    let _ = aws
                        .cfn
                        .delete_change_set()
                        .change_set_name(&change_set_id)
                        .stack_name(&stack_id)
                        .send()
                        .await;
                    progress.say(format!(
                        "no changes: stack {stack_name} is already up to date"
                    ));
                    let stack = describe(aws, &stack_id)
                        .await?
                        .ok_or_else(|| anyhow!("stack {stack_name} vanished"))?;
                    return Ok(Deployed {
                        outputs: outputs(aws, &stack).await?,
                        changed: false,
                        seconds: started.elapsed().as_secs_f64(),
                    });
                }
                bail!("the change set failed: {reason}");
            }
            _ if Instant::now() > deadline => bail!(
                "the change set is not ready after {} minutes",
                STACK_WAIT.as_secs() / 60
            ),
            _ => tokio::time::sleep(poll_interval().min(Duration::from_millis(1000))).await,
        }
    }
    aws.cfn
        .execute_change_set()
        .change_set_name(&change_set_id)
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| explain(e, "executing the change set"))?;
    progress.stage("stack-in-progress").await?;
    let want = if kind == ChangeSetType::Create {
        StackStatus::CreateComplete
    } else {
        StackStatus::UpdateComplete
    };
    let stack = wait(aws, &stack_id, want, progress).await?;
    progress.stage("stack-ready").await?;
    Ok(Deployed {
        outputs: outputs(aws, &stack).await?,
        changed: true,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn no_changes(
    aws: &Aws,
    stack_name: &str,
    stack_id: &str,
    started: Instant,
    progress: &Progress,
) -> anyhow::Result<Deployed> {
    progress.say(format!(
        "no changes: stack {stack_name} is already up to date"
    ));
    let stack = describe(aws, stack_id)
        .await?
        .ok_or_else(|| anyhow!("stack {stack_name} vanished"))?;
    Ok(Deployed {
        outputs: outputs(aws, &stack).await?,
        changed: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes `{"<stack>": {outputs}}`, like cdk's `--outputs-file`.
pub fn write_outputs_file(path: &Path, stack_name: &str, outputs: &Outputs) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(&json!({ stack_name: outputs }))?;
    text.push('\n');
    std::fs::write(path, text)
        .with_context(|| format!("failed to write the outputs file {}", path.display()))
}
