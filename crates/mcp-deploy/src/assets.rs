//! The asset bucket (`prepare`, like `cdk bootstrap`) and package uploads.
//!
//! The bucket's name is fixed per account and region and it outlives its
//! stack (`DeletionPolicy: Retain`), so every S3 call names the expected
//! owner, and `prepare` reuses a bucket the account already owns instead of
//! failing on "already exists" after the asset stack was deleted (audit
//! items 2 and 7).

use std::path::Path;

use anyhow::{Context as _, bail};
use aws_sdk_cloudformation::types::{StackStatus, Tag};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::aws::{Aws, explain};
use crate::progress::Progress;
use crate::stack::{self, describe, status_of};
use crate::template::{self, STACK_TAG};

/// The stack that creates the asset bucket, one per account and region.
pub const ASSETS_STACK: &str = "McpLadderAssets";

/// The asset bucket's name.
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("mcp-ladder-assets-{account}-{region}")
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
                    // Deny plain HTTP to everyone, as AWS's
                    // s3-bucket-ssl-requests-only guidance does (audit item 8).
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
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

/// Whether the account owns the bucket: `Ok(false)` when it does not exist,
/// an error (with the real cause) for anything else, such as another owner.
async fn owned(aws: &Aws, bucket: &str, account: &str) -> anyhow::Result<bool> {
    match aws
        .s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => bail!(
            "the asset bucket {bucket} exists but account {account} cannot use it (403): it \
             belongs to another account, or these credentials lack s3:ListBucket on it"
        ),
        Err(e) => Err(explain(e, &format!("checking the asset bucket {bucket}"))),
    }
}

/// `prepare`: makes sure the account's asset bucket exists, creating the asset
/// stack when it does not.
pub async fn prepare(aws: &Aws, account: &str, progress: &Progress) -> anyhow::Result<String> {
    let bucket = bucket_name(account, &aws.region);
    let stack = describe(aws, ASSETS_STACK).await?;
    if owned(aws, &bucket, account).await? {
        match stack.as_ref().map(status_of) {
            Some(StackStatus::CreateComplete | StackStatus::UpdateComplete) => progress.say(
                format!("already prepared: asset bucket {bucket} ({ASSETS_STACK})"),
            ),
            _ => progress.say(format!(
                "already prepared: reusing asset bucket {bucket}, kept when an earlier \
                 {ASSETS_STACK} stack was deleted"
            )),
        }
        return Ok(bucket);
    }
    if let Some(stack) = stack {
        let status = status_of(&stack);
        let id = stack.stack_id().unwrap_or(ASSETS_STACK);
        if status.as_str().ends_with("_IN_PROGRESS") {
            bail!(
                "stack {ASSETS_STACK} is {}: wait for it to finish and run prepare again",
                status.as_str()
            );
        }
        // The stack exists but its bucket does not (deleted by hand, or a
        // failed create): replace the stack.
        progress.say(format!(
            "stack {ASSETS_STACK} is {} but bucket {bucket} is missing: replacing the stack",
            status.as_str()
        ));
        aws.cfn
            .delete_stack()
            .stack_name(id)
            .send()
            .await
            .map_err(|e| explain(e, "deleting the stale asset stack"))?;
        stack::wait(aws, id, StackStatus::DeleteComplete, progress).await?;
    }
    progress.say(format!(
        "creating {ASSETS_STACK} (the asset bucket {bucket})"
    ));
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
    stack::wait(aws, &id, StackStatus::CreateComplete, progress).await?;
    if !owned(aws, &bucket, account).await? {
        bail!("the asset stack was created but bucket {bucket} does not answer");
    }
    progress.say(format!("prepared: asset bucket {bucket}"));
    Ok(bucket)
}

/// The asset bucket, or an error that says to run `prepare`.
pub async fn asset_bucket(aws: &Aws, account: &str) -> anyhow::Result<String> {
    let bucket = bucket_name(account, &aws.region);
    if !owned(aws, &bucket, account).await? {
        bail!(
            "the asset bucket {bucket} does not exist: run `mcp-deploy prepare` once for this \
             account and region (like cdk bootstrap)"
        );
    }
    Ok(bucket)
}

/// Uploads the package once, keyed by its SHA-256; returns the key.
pub async fn upload(
    aws: &Aws,
    bucket: &str,
    account: &str,
    zip: &Path,
    progress: &Progress,
) -> anyhow::Result<String> {
    let package = std::fs::read(zip).with_context(|| {
        format!(
            "cannot read the function package {}: build it with scripts/build-lambda.sh or pass --zip",
            zip.display()
        )
    })?;
    let key = format!("assets/{}.zip", hex::encode(Sha256::digest(&package)));
    let present = aws
        .s3
        .head_object()
        .bucket(bucket)
        .key(&key)
        .expected_bucket_owner(account)
        .send()
        .await;
    match present {
        Ok(_) => {
            progress.say(format!("package s3://{bucket}/{key} is already uploaded"));
            return Ok(key);
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => return Err(explain(e, &format!("checking s3://{bucket}/{key}"))),
    }
    progress.say(format!(
        "uploading {} ({} bytes) to s3://{bucket}/{key}",
        zip.display(),
        package.len()
    ));
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .expected_bucket_owner(account)
        .body(package.into())
        .send()
        .await
        .map_err(|e| explain(e, "uploading the package"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refuses_plain_http_to_everyone() {
        let template = assets_template();
        let statement = &template["Resources"]["AssetBucketPolicy"]["Properties"]["PolicyDocument"]
            ["Statement"][0];
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(
            statement["Principal"], "*",
            "audit item 8: not only the account"
        );
        assert_eq!(
            statement["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        let account = "0".repeat(12);
        assert_eq!(
            bucket_name(&account, "eu-central-1"),
            format!("mcp-ladder-assets-{account}-eu-central-1")
        );
    }
}
