//! The stack as typed Rust definitions, synthesised to a CloudFormation
//! template (the CDK-equivalent). This file holds what every stack has - the
//! function, its role and its log group - and the [`Template`] each rung adds
//! its part to ([`crate::rung`]). Serialisation is deterministic: maps are
//! ordered, so the same spec always gives the same bytes.

use std::collections::BTreeMap;

use mcp_settings::{FunctionSettings, Setting};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::rung::gateway::GatewaySpec;
use crate::rung::internet::InternetSpec;
use crate::rung::observe::ObserveSpec;
use crate::rung::rate_limit::RateLimitSpec;
use crate::rung::url::UrlSpec;

/// A CloudFormation value: a literal or an intrinsic function.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Expr {
    /// A literal string.
    Text(String),
    /// `{"Ref": name}`.
    Ref {
        /// The parameter, resource or pseudo parameter.
        #[serde(rename = "Ref")]
        name: String,
    },
    /// `{"Fn::GetAtt": [resource, attribute]}`.
    GetAtt {
        /// `[resource, attribute]`.
        #[serde(rename = "Fn::GetAtt")]
        target: [String; 2],
    },
    /// `{"Fn::Sub": template}`.
    Sub {
        /// The template string.
        #[serde(rename = "Fn::Sub")]
        template: String,
    },
}

impl Expr {
    pub(crate) fn text(s: impl Into<String>) -> Self {
        Expr::Text(s.into())
    }
    pub(crate) fn reference(name: &str) -> Self {
        Expr::Ref { name: name.into() }
    }
    pub(crate) fn get_att(resource: &str, attribute: &str) -> Self {
        Expr::GetAtt {
            target: [resource.into(), attribute.into()],
        }
    }
    pub(crate) fn sub(template: impl Into<String>) -> Self {
        Expr::Sub {
            template: template.into(),
        }
    }
}

/// The function's instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Arch {
    /// Graviton: cheaper per millisecond, the default.
    #[default]
    Arm64,
    /// Intel/AMD.
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    /// The name Lambda uses.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }
}

/// What to synthesise: the function, and the rungs in front of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    /// The function's architecture.
    pub arch: Arch,
    /// Function memory in MB.
    pub memory_mb: u32,
    /// Function timeout in seconds.
    pub timeout_s: u32,
    /// Log retention in days.
    pub log_retention_days: u32,
    /// The function's settings no rung owns, already checked against its
    /// tools, resources and prompts: the scopes per tool, resource and prompt
    /// ([`Setting::ToolScopes`], [`Setting::ResourceScopes`],
    /// [`Setting::PromptScopes`]) and the batch limit ([`Setting::MaxBatch`]).
    pub settings: FunctionSettings,
    /// Rung 2: the IAM-authenticated Function URL.
    pub url: Option<UrlSpec>,
    /// Rung 3: an AgentCore Gateway with the function as its Lambda target.
    pub gateway: Option<GatewaySpec>,
    /// Rung 4: API Gateway REST, WAF, and the function as an OAuth resource
    /// server; no Function URL.
    pub internet: Option<InternetSpec>,
    /// Per-caller, per-tool rate limits, counted in a shared table (an
    /// add-on to any rung).
    pub rate_limits: Option<RateLimitSpec>,
    /// Active tracing, and the dashboard with its alarms (an add-on to any
    /// rung); the metrics' namespace is always set.
    pub observe: ObserveSpec,
}

impl Default for StackSpec {
    fn default() -> Self {
        StackSpec {
            arch: Arch::Arm64,
            memory_mb: 128,
            timeout_s: 10,
            log_retention_days: 14,
            settings: FunctionSettings::default(),
            url: Some(UrlSpec::default()),
            gateway: None,
            internet: None,
            rate_limits: None,
            observe: ObserveSpec::default(),
        }
    }
}

/// Why a spec cannot be synthesised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A wildcard or malformed principal.
    #[error(
        "--allow-principal {0:?} is not allowed: name an account id (12 digits) or an IAM ARN \
         (arn:aws:iam::ACCOUNT:role/NAME); wildcards are never granted"
    )]
    Principal(String),
    /// Out of range, or rungs that cannot go together.
    #[error("{0}")]
    Range(String),
}

/// Logical ids of what every stack has; each rung names its own.
pub mod ids {
    /// The execution role.
    pub const ROLE: &str = "McpServerRole";
    /// The log group.
    pub const LOG_GROUP: &str = "McpServerLogGroup";
    /// The function.
    pub const FUNCTION: &str = "McpServerFunction";
    /// Template parameter: the asset bucket.
    pub const ASSET_BUCKET: &str = "AssetBucket";
    /// Template parameter: the asset key.
    pub const ASSET_KEY: &str = "AssetKey";
}

/// Output keys every stack has.
pub mod outputs {
    /// The function's name.
    pub const FUNCTION_NAME: &str = "FunctionName";
    /// The account.
    pub const ACCOUNT_ID: &str = "AccountId";
    /// The region.
    pub const REGION: &str = "Region";
}

/// The tag that names the stack on every taggable resource.
pub const STACK_TAG: &str = "mcp-ladder:stack";

pub(crate) fn tags() -> Value {
    json!([{ "Key": STACK_TAG, "Value": Expr::reference("AWS::StackName") }])
}

/// One resource of the template.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) deletion_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) update_replace_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) depends_on: Vec<String>,
    pub(crate) properties: Value,
}

impl Resource {
    pub(crate) fn new(kind: &'static str, properties: impl Serialize) -> Self {
        Resource {
            kind,
            deletion_policy: None,
            update_replace_policy: None,
            depends_on: Vec::new(),
            properties: serde_json::to_value(properties).unwrap_or(Value::Null),
        }
    }

    /// Deleted with the stack, also when replaced.
    pub(crate) fn deleted_with_stack(mut self) -> Self {
        self.deletion_policy = Some("Delete");
        self.update_replace_policy = Some("Delete");
        self
    }
}

/// The template being built: each rung adds resources, function settings
/// and outputs.
#[derive(Debug)]
pub struct Template {
    pub(crate) resources: BTreeMap<String, Resource>,
    environment: Map<String, Value>,
    outputs: Map<String, Value>,
    /// The stack's description.
    pub(crate) description: &'static str,
    /// The function's description.
    pub(crate) function_description: &'static str,
    /// Properties of the function beyond those every stack sets (its
    /// `TracingConfig`, for one).
    pub(crate) function_properties: Map<String, Value>,
}

impl Template {
    /// Adds a resource under its logical id.
    pub(crate) fn insert(&mut self, id: impl Into<String>, resource: Resource) {
        self.resources.insert(id.into(), resource);
    }

    /// One of the function's settings, as the template sets it (a string,
    /// or an intrinsic function CloudFormation resolves).
    pub(crate) fn setting(&self, setting: Setting) -> Option<&Value> {
        self.environment.get(setting.name())
    }

    /// Sets one of the function's settings.
    pub(crate) fn set(&mut self, setting: Setting, value: impl Serialize) {
        self.environment.insert(
            setting.name().to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
    }

    /// Adds an output, with a description when it helps a reader.
    pub(crate) fn output(&mut self, key: &str, description: Option<&str>, value: impl Serialize) {
        let mut output = json!({"Value": value});
        if let Some(description) = description {
            output["Description"] = json!(description);
        }
        self.outputs.insert(key.to_owned(), output);
    }

    /// Allows the function's role `action` (one, or a list) on `resource`,
    /// as its own policy.
    pub(crate) fn allow_function(
        &mut self,
        policy_name: &str,
        action: impl Serialize,
        resource: Expr,
    ) {
        if let Some(role) = self.resources.get_mut(ids::ROLE)
            && let Some(policies) = role.properties["Policies"].as_array_mut()
        {
            policies.push(policy(policy_name, json!(action), resource));
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Role {
    assume_role_policy_document: Value,
    policies: Value,
    tags: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LogGroup {
    log_group_name: Expr,
    retention_in_days: u32,
    tags: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Function {
    function_name: Expr,
    description: &'static str,
    runtime: &'static str,
    handler: &'static str,
    architectures: [&'static str; 1],
    code: Value,
    role: Expr,
    memory_size: u32,
    timeout: u32,
    environment: Value,
    logging_config: Value,
    tags: Value,
}

/// The function's name: derived from the stack so the log group can be named first.
const FUNCTION_NAME: &str = "${AWS::StackName}-mcp";

/// The function's physical name in a stack of this name.
pub fn function_name(stack_name: &str) -> String {
    FUNCTION_NAME.replace("${AWS::StackName}", stack_name)
}

/// The longest stack name whose function name (`<stack>-mcp`) fits Lambda's
/// 64 characters (audit item 3).
pub const MAX_STACK_NAME: usize = 64 - "-mcp".len();

/// Synthesises the stack template: the function, then each rung's part.
pub fn synth(spec: &StackSpec) -> Result<Value, SpecError> {
    if !(128..=10_240).contains(&spec.memory_mb) {
        return Err(SpecError::Range("memory must be 128 to 10240 MB".into()));
    }
    if !(1..=900).contains(&spec.timeout_s) {
        return Err(SpecError::Range("timeout must be 1 to 900 seconds".into()));
    }
    let mut t = base(spec);
    for rung in crate::rung::ALL {
        rung.synth(spec, &mut t)?;
    }
    let mut function = Resource::new(
        "AWS::Lambda::Function",
        Function {
            function_name: Expr::sub(FUNCTION_NAME),
            description: t.function_description,
            runtime: "provided.al2023",
            handler: "bootstrap",
            architectures: [spec.arch.lambda_name()],
            code: json!({
                "S3Bucket": Expr::reference(ids::ASSET_BUCKET),
                "S3Key": Expr::reference(ids::ASSET_KEY)
            }),
            role: Expr::get_att(ids::ROLE, "Arn"),
            memory_size: spec.memory_mb,
            timeout: spec.timeout_s,
            environment: json!({"Variables": t.environment}),
            logging_config: json!({"LogFormat": "JSON", "LogGroup": Expr::reference(ids::LOG_GROUP)}),
            tags: tags(),
        },
    );
    if let Some(properties) = function.properties.as_object_mut() {
        properties.extend(std::mem::take(&mut t.function_properties));
    }
    // The Ref to the log group in LoggingConfig orders it first.
    t.insert(ids::FUNCTION, function);
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": t.description,
        "Parameters": {
            ids::ASSET_BUCKET: {"Type": "String", "Description": "The S3 bucket holding the function package (see `mcp-deploy prepare`)."},
            ids::ASSET_KEY: {"Type": "String", "Description": "The package's key: assets/<sha256>.zip."}
        },
        "Resources": t.resources,
        "Outputs": t.outputs
    }))
}

/// What every stack has but the function itself: its role (logs only), its
/// log group, its settings every rung shares, and the outputs.
fn base(spec: &StackSpec) -> Template {
    let mut t = Template {
        resources: BTreeMap::new(),
        environment: Map::new(),
        outputs: Map::new(),
        description: "mcp-ladder: an MCP server on Lambda behind a Function URL that only IAM principals of this account can call",
        function_description: "MCP server (mcp-ladder), reachable only through its AWS_IAM Function URL",
        function_properties: Map::new(),
    };
    let log_group_arn = format!(
        "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{FUNCTION_NAME}"
    );
    // Logs only: write to its own log group, nothing else.
    t.insert(
        ids::ROLE,
        service_role(
            "lambda.amazonaws.com",
            None,
            "write-own-logs",
            json!(["logs:CreateLogStream", "logs:PutLogEvents"]),
            Expr::sub(format!("{log_group_arn}:*")),
        ),
    );
    // A teardown leaves no log group behind.
    let log_group = LogGroup {
        log_group_name: Expr::sub(format!("/aws/lambda/{FUNCTION_NAME}")),
        retention_in_days: spec.log_retention_days,
        tags: tags(),
    };
    t.insert(
        ids::LOG_GROUP,
        Resource::new("AWS::Logs::LogGroup", log_group).deleted_with_stack(),
    );
    t.set(Setting::AccountId, Expr::reference("AWS::AccountId"));
    for (name, value) in spec.settings.to_env() {
        t.environment.insert(name.to_owned(), Value::String(value));
    }
    t.output(outputs::FUNCTION_NAME, None, Expr::reference(ids::FUNCTION));
    t.output(outputs::ACCOUNT_ID, None, Expr::reference("AWS::AccountId"));
    t.output(outputs::REGION, None, Expr::reference("AWS::Region"));
    t
}

fn policy(name: &str, action: Value, resource: Expr) -> Value {
    json!({
        "PolicyName": name,
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]
        }
    })
}

/// A role that `service` of this account may assume (on behalf of a
/// resource matching `source_arn`, when given), allowed `action` on
/// `resource` and nothing else.
pub(crate) fn service_role(
    service: &str,
    source_arn: Option<Expr>,
    policy_name: &str,
    action: Value,
    resource: Expr,
) -> Resource {
    let mut condition =
        json!({"StringEquals": {"aws:SourceAccount": Expr::reference("AWS::AccountId")}});
    if let Some(arn) = source_arn {
        condition["ArnLike"] = json!({"aws:SourceArn": arn});
    }
    Resource::new(
        "AWS::IAM::Role",
        Role {
            assume_role_policy_document: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": condition
                }]
            }),
            policies: json!([policy(policy_name, action, resource)]),
            tags: tags(),
        },
    )
}

/// The template as pretty JSON with a final newline (the `infra/` format).
pub fn to_text(template: &Value) -> String {
    let mut text =
        serde_json::to_string_pretty(&mcp_core::model::sort_keys(template)).unwrap_or_default();
    text.push('\n');
    text
}

/// The function's settings in a synthesised template.
#[cfg(test)]
pub(crate) fn environment(template: &Value) -> &Value {
    &template["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_account_bounded() {
        let spec = StackSpec::default();
        let a = to_text(&synth(&spec).unwrap());
        let b = to_text(&synth(&spec).unwrap());
        assert_eq!(a, b);
        assert!(!a.contains("\"*\""), "no wildcard anywhere");
        let t = synth(&spec).unwrap();
        assert_eq!(t["Resources"][ids::LOG_GROUP]["DeletionPolicy"], "Delete");
        assert_eq!(
            t["Resources"][ids::FUNCTION]["Properties"]["Architectures"],
            json!(["arm64"])
        );
        let arm = synth(&StackSpec {
            arch: Arch::X86_64,
            ..StackSpec::default()
        })
        .unwrap();
        assert_eq!(
            arm["Resources"][ids::FUNCTION]["Properties"]["Architectures"],
            json!(["x86_64"])
        );
    }

    #[test]
    fn tool_scopes_reach_the_function() {
        let scopes = r#"{"demo_drop_table":["ops:admin"]}"#;
        let t = synth(&StackSpec {
            settings: FunctionSettings {
                tool_scopes: Some(scopes.into()),
                max_batch: Some(5),
                ..FunctionSettings::default()
            },
            ..StackSpec::default()
        })
        .unwrap();
        assert_eq!(environment(&t)[Setting::ToolScopes.name()], scopes);
        assert_eq!(environment(&t)[Setting::MaxBatch.name()], "5");
        let plain = synth(&StackSpec::default()).unwrap();
        assert!(
            environment(&plain)
                .get(Setting::ToolScopes.name())
                .is_none()
        );
    }

    #[test]
    fn limits_of_lambda_are_refused() {
        for spec in [
            StackSpec {
                memory_mb: 64,
                ..StackSpec::default()
            },
            StackSpec {
                timeout_s: 901,
                ..StackSpec::default()
            },
        ] {
            assert!(matches!(synth(&spec), Err(SpecError::Range(_))));
        }
    }
}
