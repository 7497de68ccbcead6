//! The deploy and teardown decisions moto cannot produce, driven by canned
//! SDK responses (aws-smithy-mocks): a stack left in ROLLBACK_COMPLETE or
//! DELETE_FAILED, throttling, expired credentials, and a status that cannot
//! be read while a deletion goes on.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetError;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::types::{ChangeSetType, Stack, StackStatus};
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use mcp_deploy::aws::Aws;
use mcp_deploy::hooks::Timing;
use mcp_deploy::progress::Progress;
use mcp_deploy::stack;
use mcp_deploy::teardown::{Target, teardown};
use mcp_deploy::template::StackSpec;

const REGION: &str = "eu-central-1";
/// The account the credentials belong to (a placeholder: twelve zeros).
const ACCOUNT: &str = concat!("000000", "000000");
const STACK: &str = "McpDecisions";

fn stack_id(n: u8) -> String {
    format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/id-{n}")
}

/// A client of `$krate` answering from `$rules`: no network, no retries.
macro_rules! client {
    ($krate:ident, $rules:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $krate::Config::builder()
                .behavior_version($krate::config::BehaviorVersion::latest())
                .region($krate::config::Region::new(REGION))
                .credentials_provider(test_credentials())
                .retry_config(RetryConfig::disabled())
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

fn test_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("AKIDTEST", "secret", None, None, "test"))
}

/// Rules per service, for one `Aws`.
#[derive(Default)]
struct Rules {
    cfn: Vec<Rule>,
    s3: Vec<Rule>,
    sts: Vec<Rule>,
    lambda: Vec<Rule>,
    logs: Vec<Rule>,
}

fn aws(rules: &Rules) -> Aws {
    let config = SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(test_credentials())
        .http_client(create_mock_http_client())
        .build();
    let none: [&Rule; 0] = [];
    Aws {
        region: REGION.into(),
        cfn: client!(aws_sdk_cloudformation, &rules.cfn),
        lambda: client!(aws_sdk_lambda, &rules.lambda),
        s3: client!(aws_sdk_s3, &rules.s3),
        sts: client!(aws_sdk_sts, &rules.sts),
        iam: client!(aws_sdk_iam, none),
        // Long enough for the retries below, short enough for a test.
        logs: client!(aws_sdk_cloudwatchlogs, &rules.logs),
        cloudwatch: client!(aws_sdk_cloudwatch, none),
        dynamodb: client!(aws_sdk_dynamodb, none),
        agentcore: client!(aws_sdk_bedrockagentcorecontrol, none),
        apigateway: client!(aws_sdk_apigateway, none),
        wafv2: client!(aws_sdk_wafv2, none),
        secretsmanager: client!(aws_sdk_secretsmanager, none),
        timing: Timing {
            poll: Duration::from_millis(1),
            verify_window: Duration::from_secs(5),
        },
        config,
    }
}

fn stack_in(status: StackStatus, n: u8) -> Stack {
    Stack::builder()
        .stack_name(STACK)
        .stack_id(stack_id(n))
        .stack_status(status)
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .build()
}

fn described(status: StackStatus, n: u8) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(stack_in(status, n))
        .build()
}

/// The asset bucket and package exist: deploy gets as far as the stack.
fn assets_present() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_s3::Client::head_bucket)
            .match_requests(|r| r.expected_bucket_owner() == Some(ACCOUNT))
            .then_output(|| HeadBucketOutput::builder().build()),
        mock!(aws_sdk_s3::Client::head_object)
            .match_requests(|r| r.expected_bucket_owner() == Some(ACCOUNT))
            .then_output(|| HeadObjectOutput::builder().build()),
    ]
}

fn package() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mcp-decisions-{}.zip", std::process::id()));
    std::fs::write(&path, b"not really a zip").unwrap_or_else(|e| panic!("{e}"));
    path
}

async fn deploy(aws: &Aws) -> anyhow::Result<stack::Deployed> {
    stack::deploy(
        aws,
        STACK,
        &StackSpec::default(),
        &package(),
        ACCOUNT,
        &Progress::new(),
        &|_| {},
    )
    .await
}

fn throttled() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

#[tokio::test]
async fn deploy_refuses_a_stack_in_delete_failed() {
    let rules = Rules {
        cfn: vec![
            mock!(aws_sdk_cloudformation::Client::describe_stacks)
                .then_output(|| described(StackStatus::DeleteFailed, 1)),
        ],
        s3: assets_present(),
        ..Rules::default()
    };
    let err = deploy(&aws(&rules)).await.err().map(|e| format!("{e:#}"));
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("DELETE_FAILED: finish the teardown first")),
        "{err:?}"
    );
}

#[tokio::test]
async fn deploy_replaces_a_rollback_complete_stack_by_its_id() {
    let first = stack_id(1);
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .sequence()
        .output(|| described(StackStatus::RollbackComplete, 1))
        .output(|| described(StackStatus::DeleteComplete, 1))
        .build();
    let delete = mock!(aws_sdk_cloudformation::Client::delete_stack)
        .match_requests(move |r| r.stack_name() == Some(first.as_str()))
        .then_output(|| DeleteStackOutput::builder().build());
    let events = mock!(aws_sdk_cloudformation::Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    // The new change set must create, not update; stop the deploy there.
    let create = mock!(aws_sdk_cloudformation::Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_error(|| {
            CreateChangeSetError::generic(
                ErrorMetadata::builder()
                    .code("Stop")
                    .message("the test stops here")
                    .build(),
            )
        });
    let rules = Rules {
        cfn: vec![describe, delete, events, create],
        s3: assets_present(),
        ..Rules::default()
    };
    let err = deploy(&aws(&rules)).await.err().map(|e| format!("{e:#}"));
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("the test stops here")),
        "{err:?}"
    );
    assert_eq!(
        rules.cfn[1].num_calls(),
        1,
        "the failed stack was deleted by id"
    );
    assert_eq!(rules.cfn[3].num_calls(), 1, "then a CREATE change set");
}

#[tokio::test]
async fn throttling_is_named_with_what_to_do() {
    let rules = Rules {
        cfn: vec![mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(throttled)],
        ..Rules::default()
    };
    let err = teardown(&aws(&rules), Target::Name(STACK), &Progress::new())
        .await
        .err()
        .map(|e| format!("{e:#}"));
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("throttling") && e.contains("wait a minute")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_status_lost_during_deletion_is_not_a_failed_deletion() {
    // The stack is found and deleted; every later status read is throttled.
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .sequence()
        .output(|| described(StackStatus::CreateComplete, 2))
        .error(throttled)
        .times(10)
        .build();
    let rules = Rules {
        cfn: vec![
            describe,
            mock!(aws_sdk_cloudformation::Client::list_stack_resources)
                .then_output(|| ListStackResourcesOutput::builder().build()),
            mock!(aws_sdk_cloudformation::Client::delete_stack)
                .then_output(|| DeleteStackOutput::builder().build()),
            mock!(aws_sdk_cloudformation::Client::describe_stack_events)
                .then_output(|| DescribeStackEventsOutput::builder().build()),
        ],
        ..Rules::default()
    };
    let err = teardown(&aws(&rules), Target::Name(STACK), &Progress::new())
        .await
        .err()
        .map(|e| format!("{e:#}"));
    let err = err.unwrap_or_default();
    assert!(err.contains("could not be followed"), "{err}");
    assert!(err.contains("run `mcp-deploy teardown` again"), "{err}");
    assert!(!err.contains("did not delete"), "{err}");
    assert_eq!(
        rules.cfn[2].num_calls(),
        1,
        "the deletion was requested once"
    );
}

#[tokio::test]
async fn expired_credentials_say_how_to_refresh() {
    let rules = Rules {
        sts: vec![
            mock!(aws_sdk_sts::Client::get_caller_identity).then_error(|| {
                GetCallerIdentityError::generic(
                    ErrorMetadata::builder()
                        .code("ExpiredToken")
                        .message("The security token included in the request is expired")
                        .build(),
                )
            }),
        ],
        ..Rules::default()
    };
    let err = aws(&rules)
        .check_account(ACCOUNT)
        .await
        .err()
        .map(|e| format!("{e:#}"));
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("session has expired") && e.contains("refresh")),
        "{err:?}"
    );
}

/// One resource of the stack, as `ListStackResources` lists it.
fn summary(
    logical: &str,
    physical: &str,
    kind: &str,
) -> aws_sdk_cloudformation::types::StackResourceSummary {
    aws_sdk_cloudformation::types::StackResourceSummary::builder()
        .logical_resource_id(logical)
        .physical_resource_id(physical)
        .resource_type(kind)
        .resource_status("CREATE_COMPLETE".into())
        .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
        .build()
}

/// A stack that exists, is deleted and lists `resources`; its log group is gone.
fn deleted_stack(
    resources: Vec<aws_sdk_cloudformation::types::StackResourceSummary>,
    lambda: Vec<Rule>,
) -> Rules {
    use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .sequence()
        .output(|| described(StackStatus::CreateComplete, 3))
        .output(|| described(StackStatus::DeleteComplete, 3))
        .times(5)
        .build();
    let listed =
        mock!(aws_sdk_cloudformation::Client::list_stack_resources).then_output(move || {
            ListStackResourcesOutput::builder()
                .set_stack_resource_summaries(Some(resources.clone()))
                .build()
        });
    Rules {
        cfn: vec![
            describe,
            listed,
            mock!(aws_sdk_cloudformation::Client::delete_stack)
                .then_output(|| DeleteStackOutput::builder().build()),
            mock!(aws_sdk_cloudformation::Client::describe_stack_events)
                .then_output(|| DescribeStackEventsOutput::builder().build()),
        ],
        lambda,
        logs: vec![
            mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
                .then_output(|| DescribeLogGroupsOutput::builder().build()),
        ],
        ..Rules::default()
    }
}

#[tokio::test]
async fn a_function_still_visible_once_is_retried_until_gone() {
    use aws_sdk_lambda::operation::get_function::{GetFunctionError, GetFunctionOutput};
    use aws_sdk_lambda::types::error::ResourceNotFoundException;

    let function = format!("{STACK}-mcp");
    // Eventually consistent: the function answers once more, then is gone.
    let get_function = mock!(aws_sdk_lambda::Client::get_function)
        .sequence()
        .output(|| GetFunctionOutput::builder().build())
        .error(|| {
            GetFunctionError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        })
        .build();
    let rules = deleted_stack(
        vec![summary(
            "McpServerFunction",
            &function,
            "AWS::Lambda::Function",
        )],
        vec![get_function],
    );
    let report = teardown(&aws(&rules), Target::Name(STACK), &Progress::new())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        rules.lambda[0].num_calls(),
        2,
        "checked again after a found"
    );
    assert!(
        report.verified.contains(&format!(
            "verified: AWS::Lambda::Function {function} is gone"
        )),
        "{:?}",
        report.verified
    );
}

#[tokio::test]
async fn a_resource_teardown_cannot_look_up_is_reported_not_assumed_gone() {
    use aws_sdk_lambda::operation::get_function::GetFunctionError;
    use aws_sdk_lambda::types::error::ResourceNotFoundException;

    let rules = deleted_stack(
        vec![
            summary(
                "McpServerFunction",
                &format!("{STACK}-mcp"),
                "AWS::Lambda::Function",
            ),
            summary("McpCdn", "E0123456789", "AWS::CloudFront::Distribution"),
        ],
        vec![mock!(aws_sdk_lambda::Client::get_function).then_error(|| {
            GetFunctionError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        })],
    );
    let error = teardown(&aws(&rules), Target::Name(STACK), &Progress::new())
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(
        error.contains("AWS::CloudFront::Distribution E0123456789 (McpCdn) cannot be checked"),
        "{error}"
    );
}
