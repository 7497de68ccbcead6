//! The stack as typed Rust definitions, synthesised to a CloudFormation
//! template (the CDK-equivalent). Serialisation is deterministic: maps are
//! ordered, so the same spec always gives the same bytes.

mod internet;

pub use internet::{
    AUTO_AUDIENCE, DEFAULT_RATE_LIMIT, DEFAULT_THROTTLE_BURST, DEFAULT_THROTTLE_RATE, InternetSpec,
    STAGE,
};

use std::collections::BTreeMap;

use mcp_lambda::agentcore::{Dropped, ExportError, cloudformation_payload, function_tools};
use serde::Serialize;
use serde_json::{Value, json};

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
    fn text(s: impl Into<String>) -> Self {
        Expr::Text(s.into())
    }
    fn reference(name: &str) -> Self {
        Expr::Ref { name: name.into() }
    }
    fn get_att(resource: &str, attribute: &str) -> Self {
        Expr::GetAtt {
            target: [resource.into(), attribute.into()],
        }
    }
    fn sub(template: impl Into<String>) -> Self {
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

/// What to synthesise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    /// The function's architecture.
    pub arch: Arch,
    /// Principals granted both invoke permissions (account ids or IAM ARNs);
    /// empty means the deploying account itself.
    pub principals: Vec<String>,
    /// Function memory in MB.
    pub memory_mb: u32,
    /// Function timeout in seconds.
    pub timeout_s: u32,
    /// Log retention in days.
    pub log_retention_days: u32,
    /// Put the function behind an AgentCore Gateway too (rung 3).
    pub gateway: Option<GatewaySpec>,
    /// Per-caller, per-tool rate limits, counted in a shared table.
    pub rate_limits: Option<RateLimitSpec>,
    /// The Function URL streams responses (`InvokeMode: RESPONSE_STREAM`,
    /// and `MCP_INVOKE_MODE` for the function to match); else `BUFFERED`.
    pub response_streaming: bool,
    /// The scopes a bearer token needs per tool (`MCP_TOOL_SCOPES`, already
    /// checked against the function's tools).
    pub tool_scopes: Option<String>,
    /// On the internet instead (rung 4): API Gateway REST, WAF, and the
    /// function as an OAuth resource server; no Function URL.
    pub internet: Option<InternetSpec>,
}

/// Rate limits for the function (`MCP_RATE_LIMITS`) and where every instance
/// counts them (`MCP_RATE_LIMIT_TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSpec {
    /// The limits as JSON, already validated.
    pub limits: String,
    /// The table: `None` makes one in the stack (deleted with it); `Some`
    /// names a table the user brings (key `pk` String, TTL `ttl`), kept.
    pub existing_table: Option<String>,
}

impl Default for StackSpec {
    fn default() -> Self {
        StackSpec {
            arch: Arch::Arm64,
            principals: Vec::new(),
            memory_mb: 128,
            timeout_s: 10,
            log_retention_days: 14,
            gateway: None,
            rate_limits: None,
            response_streaming: true,
            tool_scopes: None,
            internet: None,
        }
    }
}

/// An Amazon Bedrock AgentCore Gateway in front of the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySpec {
    /// Who may call the gateway.
    pub auth: GatewayAuth,
    /// Keep the Function URL as well (the function serves both fronts).
    pub function_url: bool,
    /// The target's tool schemas (`InlinePayload`, CloudFormation's spelling).
    pub tools: Value,
}

/// The gateway's inbound authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayAuth {
    /// SigV4 (service `bedrock-agentcore`), IAM principals with
    /// `bedrock-agentcore:InvokeGateway`.
    AwsIam,
    /// Bearer JWTs from an OpenID provider.
    CustomJwt {
        /// `https://.../.well-known/openid-configuration`.
        discovery_url: String,
        /// Accepted `aud` values.
        audiences: Vec<String>,
        /// Accepted `client_id` values.
        clients: Vec<String>,
        /// Accepted scopes.
        scopes: Vec<String>,
    },
}

/// The gateway target's name: the gateway lists the tools as
/// `mcp-ladder___<tool>`.
pub const GATEWAY_TARGET_NAME: &str = "mcp-ladder";
/// The gateway's name in a stack of this name.
pub fn gateway_name(stack_name: &str) -> String {
    format!("{stack_name}-gw")
}

/// Whether a stack name makes a valid gateway name (`^([0-9a-zA-Z][-]?){1,48}$`).
pub fn gateway_name_fits(stack_name: &str) -> bool {
    let name = gateway_name(stack_name);
    let units = name.bytes().filter(u8::is_ascii_alphanumeric).count();
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.contains("--")
        && !name.starts_with('-')
        && units <= 48
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
    /// Out of Lambda's range.
    #[error("{0}")]
    Range(String),
}

/// Checks one principal: an account id or an IAM/STS ARN, never `*`.
pub fn check_principal(principal: &str) -> Result<(), SpecError> {
    let is_account = principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit());
    let is_arn = (principal.starts_with("arn:aws:iam::") || principal.starts_with("arn:aws:sts::"))
        && principal
            .split(':')
            .nth(4)
            .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        && principal.split(':').nth(5).is_some_and(|r| !r.is_empty());
    if principal.contains('*') || !(is_account || is_arn) {
        return Err(SpecError::Principal(principal.to_owned()));
    }
    Ok(())
}

/// Logical ids, shared with the deploy and teardown code.
pub mod ids {
    /// The execution role.
    pub const ROLE: &str = "McpServerRole";
    /// The log group.
    pub const LOG_GROUP: &str = "McpServerLogGroup";
    /// The function.
    pub const FUNCTION: &str = "McpServerFunction";
    /// The Function URL.
    pub const URL: &str = "McpServerUrl";
    /// The gateway's role (may invoke the function, nothing else).
    pub const GATEWAY_ROLE: &str = "McpGatewayRole";
    /// The AgentCore Gateway.
    pub const GATEWAY: &str = "McpGateway";
    /// The gateway's Lambda target.
    pub const GATEWAY_TARGET: &str = "McpGatewayTarget";
    /// The rate-limit counts every instance shares.
    pub const RATE_LIMIT_TABLE: &str = "McpRateLimitTable";
    /// The internet-facing REST API.
    pub const REST_API: &str = "McpRestApi";
    /// Its `/mcp` resource.
    pub const API_MCP: &str = "McpApiMcpResource";
    /// Its `/.well-known` resource.
    pub const API_WELL_KNOWN: &str = "McpApiWellKnownResource";
    /// Its `/.well-known/oauth-protected-resource` resource.
    pub const API_METADATA: &str = "McpApiMetadataResource";
    /// Its `/.well-known/oauth-protected-resource/mcp` resource.
    pub const API_METADATA_MCP: &str = "McpApiMetadataMcpResource";
    /// `ANY /mcp`.
    pub const API_MCP_METHOD: &str = "McpApiMcpMethod";
    /// `GET /.well-known/oauth-protected-resource`.
    pub const API_METADATA_METHOD: &str = "McpApiMetadataMethod";
    /// `GET /.well-known/oauth-protected-resource/mcp`.
    pub const API_METADATA_MCP_METHOD: &str = "McpApiMetadataMcpMethod";
    /// The API's deployment.
    pub const API_DEPLOYMENT: &str = "McpApiDeployment";
    /// Its stage.
    pub const API_STAGE: &str = "McpApiStage";
    /// API Gateway's right to invoke the function, for this API only.
    pub const API_PERMISSION: &str = "McpApiInvokePermission";
    /// The WAF web ACL.
    pub const WEB_ACL: &str = "McpWebAcl";
    /// Its association with the stage.
    pub const WEB_ACL_ASSOCIATION: &str = "McpWebAclAssociation";
    /// The allowed IPv4 CIDRs.
    pub const ALLOWED_IPV4: &str = "McpAllowedIpv4";
    /// The allowed IPv6 CIDRs.
    pub const ALLOWED_IPV6: &str = "McpAllowedIpv6";
    /// Template parameter: the asset bucket.
    pub const ASSET_BUCKET: &str = "AssetBucket";
    /// Template parameter: the asset key.
    pub const ASSET_KEY: &str = "AssetKey";
}

/// The tag that names the stack on every taggable resource.
pub const STACK_TAG: &str = "mcp-ladder:stack";

fn tags() -> Value {
    json!([{ "Key": STACK_TAG, "Value": Expr::reference("AWS::StackName") }])
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_replace_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<String>,
    properties: Value,
}

impl Resource {
    fn new(kind: &'static str, properties: impl Serialize) -> Self {
        Resource {
            kind,
            deletion_policy: None,
            update_replace_policy: None,
            depends_on: Vec::new(),
            properties: serde_json::to_value(properties).unwrap_or(Value::Null),
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

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionUrl {
    target_function_arn: Expr,
    auth_type: &'static str,
    invoke_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Permission {
    action: &'static str,
    function_name: Expr,
    principal: Expr,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_url_auth_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_via_function_url: Option<bool>,
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

/// Synthesises the stack template.
pub fn synth(spec: &StackSpec) -> Result<Value, SpecError> {
    for p in &spec.principals {
        check_principal(p)?;
    }
    if !(128..=10_240).contains(&spec.memory_mb) {
        return Err(SpecError::Range("memory must be 128 to 10240 MB".into()));
    }
    if !(1..=900).contains(&spec.timeout_s) {
        return Err(SpecError::Range("timeout must be 1 to 900 seconds".into()));
    }
    if let Some(internet) = &spec.internet {
        internet.check()?;
        if spec.gateway.is_some() || !spec.principals.is_empty() {
            return Err(SpecError::Range(
                "the internet-facing stack has one front, API Gateway with OAuth: it takes no \
                 gateway and no IAM principals"
                    .into(),
            ));
        }
    }
    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();

    let log_group_arn = format!(
        "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{FUNCTION_NAME}"
    );
    // Logs only: write to its own log group, nothing else.
    resources.insert(
        ids::ROLE.into(),
        service_role(
            "lambda.amazonaws.com",
            "write-own-logs",
            json!(["logs:CreateLogStream", "logs:PutLogEvents"]),
            Expr::sub(format!("{log_group_arn}:*")),
        ),
    );

    let mut log_group = Resource::new(
        "AWS::Logs::LogGroup",
        LogGroup {
            log_group_name: Expr::sub(format!("/aws/lambda/{FUNCTION_NAME}")),
            retention_in_days: spec.log_retention_days,
            tags: tags(),
        },
    );
    // A teardown leaves no log group behind.
    log_group.deletion_policy = Some("Delete");
    log_group.update_replace_policy = Some("Delete");
    resources.insert(ids::LOG_GROUP.into(), log_group);

    let mut environment = json!({"MCP_ACCOUNT_ID": Expr::reference("AWS::AccountId")});
    if let Some(limits) = &spec.rate_limits {
        add_rate_limits(&mut resources, &mut environment, limits);
    }
    // WAF cannot protect a Function URL: the internet-facing stack has none.
    let url = spec.internet.is_none() && spec.gateway.as_ref().is_none_or(|g| g.function_url);
    // The function's answers must match how its URL reads them.
    let invoke_mode = if spec.response_streaming {
        "RESPONSE_STREAM"
    } else {
        "BUFFERED"
    };
    if url {
        environment["MCP_INVOKE_MODE"] = json!(invoke_mode);
    }
    if let Some(scopes) = &spec.tool_scopes {
        environment["MCP_TOOL_SCOPES"] = json!(scopes);
    }
    if let Some(internet) = &spec.internet {
        internet::environment(internet, &mut environment);
    }

    let function = Resource::new(
        "AWS::Lambda::Function",
        Function {
            function_name: Expr::sub(FUNCTION_NAME),
            description: if spec.internet.is_some() {
                "MCP server (mcp-ladder) on the internet: API Gateway and WAF in front, OAuth bearer tokens checked"
            } else {
                "MCP server (mcp-ladder), reachable only through its AWS_IAM Function URL"
            },
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
            environment: json!({"Variables": environment}),
            logging_config: json!({"LogFormat": "JSON", "LogGroup": Expr::reference(ids::LOG_GROUP)}),
            tags: tags(),
        },
    );
    // The Ref to the log group in LoggingConfig orders it first.
    resources.insert(ids::FUNCTION.into(), function);

    if url {
        let principals: Vec<Expr> = if spec.principals.is_empty() {
            vec![Expr::reference("AWS::AccountId")]
        } else {
            spec.principals.iter().map(Expr::text).collect()
        };
        for (i, principal) in principals.into_iter().enumerate() {
            let suffix = if i == 0 {
                String::new()
            } else {
                (i + 1).to_string()
            };
            resources.insert(
                format!("InvokeFunctionUrlPermission{suffix}"),
                Resource::new(
                    "AWS::Lambda::Permission",
                    Permission {
                        action: "lambda:InvokeFunctionUrl",
                        function_name: Expr::get_att(ids::FUNCTION, "Arn"),
                        principal: principal.clone(),
                        function_url_auth_type: Some("AWS_IAM"),
                        invoked_via_function_url: None,
                    },
                ),
            );
            // Required since October 2025 for URL invocations, scoped to them.
            resources.insert(
                format!("InvokeFunctionPermission{suffix}"),
                Resource::new(
                    "AWS::Lambda::Permission",
                    Permission {
                        action: "lambda:InvokeFunction",
                        function_name: Expr::get_att(ids::FUNCTION, "Arn"),
                        principal,
                        function_url_auth_type: None,
                        invoked_via_function_url: Some(true),
                    },
                ),
            );
        }

        // AWS_IAM: SigV4-signed callers only. No CORS: not browser-facing. The
        // URL waits for both permissions: created in parallel, a fresh URL can
        // answer 403 (or the permissions conflict with 409) for a while.
        let mut url = Resource::new(
            "AWS::Lambda::Url",
            FunctionUrl {
                target_function_arn: Expr::get_att(ids::FUNCTION, "Arn"),
                auth_type: "AWS_IAM",
                invoke_mode,
            },
        );
        url.depends_on = resources
            .iter()
            .filter(|(_, r)| r.kind == "AWS::Lambda::Permission")
            .map(|(id, _)| id.clone())
            .collect();
        resources.insert(ids::URL.into(), url);
    }
    let mut outputs = json!({
        "FunctionName": {"Value": Expr::reference(ids::FUNCTION)},
        "AccountId": {"Value": Expr::reference("AWS::AccountId")},
        "Region": {"Value": Expr::reference("AWS::Region")}
    });
    if let Some(RateLimitSpec {
        existing_table: None,
        ..
    }) = &spec.rate_limits
    {
        outputs["RateLimitTable"] = json!({"Description": "The rate-limit counts every instance shares", "Value": Expr::reference(ids::RATE_LIMIT_TABLE)});
    }
    if url {
        outputs["FunctionUrl"] = json!({"Description": "The IAM-authenticated Function URL", "Value": Expr::get_att(ids::URL, "FunctionUrl")});
    }
    if let Some(internet) = &spec.internet {
        internet::add(&mut resources, internet);
        internet::outputs(&mut outputs);
    }
    if let Some(gateway) = &spec.gateway {
        add_gateway(&mut resources, gateway);
        outputs["GatewayUrl"] = json!({"Description": "The AgentCore Gateway's MCP endpoint", "Value": Expr::get_att(ids::GATEWAY, "GatewayUrl")});
        outputs["GatewayId"] = json!({"Value": Expr::get_att(ids::GATEWAY, "GatewayIdentifier")});
        outputs["GatewayTargetName"] = json!({"Value": GATEWAY_TARGET_NAME});
    }

    let description = if spec.internet.is_some() {
        "mcp-ladder: an MCP server on Lambda, on the internet behind API Gateway and WAF, checking OAuth bearer tokens"
    } else {
        "mcp-ladder: an MCP server on Lambda behind a Function URL that only IAM principals of this account can call"
    };
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Parameters": {
            ids::ASSET_BUCKET: {"Type": "String", "Description": "The S3 bucket holding the function package (see `mcp-deploy prepare`)."},
            ids::ASSET_KEY: {"Type": "String", "Description": "The package's key: assets/<sha256>.zip."}
        },
        "Resources": resources,
        "Outputs": outputs
    }))
}

impl GatewaySpec {
    /// A gateway in front of this project's function, with its tools as the
    /// target's schemas; also what the conversion dropped.
    pub fn for_function(
        auth: GatewayAuth,
        function_url: bool,
    ) -> Result<(GatewaySpec, Vec<Dropped>), ExportError> {
        let export = function_tools()?;
        let spec = GatewaySpec {
            auth,
            function_url,
            tools: cloudformation_payload(&export.tools),
        };
        Ok((spec, export.dropped))
    }
}

/// A role that `service` of this account may assume, allowed `action` on
/// `resource` and nothing else.
fn service_role(service: &str, policy_name: &str, action: Value, resource: Expr) -> Resource {
    Resource::new(
        "AWS::IAM::Role",
        Role {
            assume_role_policy_document: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": Expr::reference("AWS::AccountId")}}
                }]
            }),
            policies: json!([{
                "PolicyName": policy_name,
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]
                }
            }]),
            tags: tags(),
        },
    )
}

/// The rate-limit settings in the function's environment, the table (unless
/// the user brings one), and the function's right to count in it: one
/// `dynamodb:UpdateItem` per call, on that table only.
fn add_rate_limits(
    resources: &mut BTreeMap<String, Resource>,
    environment: &mut Value,
    limits: &RateLimitSpec,
) {
    environment["MCP_RATE_LIMITS"] = json!(limits.limits);
    let (name, arn) = match &limits.existing_table {
        Some(table) => (
            Expr::text(table),
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table}"
            )),
        ),
        None => {
            // The table's contract: partition key `pk` (String), no sort
            // key, TTL attribute `ttl`; on demand; deleted with the stack.
            let mut table = Resource::new(
                "AWS::DynamoDB::Table",
                json!({
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": true},
                    "Tags": tags()
                }),
            );
            table.deletion_policy = Some("Delete");
            table.update_replace_policy = Some("Delete");
            resources.insert(ids::RATE_LIMIT_TABLE.into(), table);
            (
                Expr::reference(ids::RATE_LIMIT_TABLE),
                Expr::get_att(ids::RATE_LIMIT_TABLE, "Arn"),
            )
        }
    };
    environment["MCP_RATE_LIMIT_TABLE"] = json!(name);
    if let Some(role) = resources.get_mut(ids::ROLE)
        && let Some(policies) = role.properties["Policies"].as_array_mut()
    {
        policies.push(json!({
            "PolicyName": "count-rate-limits",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": arn}]
            }
        }));
    }
}

/// The gateway, its role and its Lambda target.
fn add_gateway(resources: &mut BTreeMap<String, Resource>, gateway: &GatewaySpec) {
    // This function, and nothing else.
    resources.insert(
        ids::GATEWAY_ROLE.into(),
        service_role(
            "bedrock-agentcore.amazonaws.com",
            "invoke-the-mcp-function",
            json!("lambda:InvokeFunction"),
            Expr::get_att(ids::FUNCTION, "Arn"),
        ),
    );
    let (authorizer_type, authorizer) = match &gateway.auth {
        GatewayAuth::AwsIam => ("AWS_IAM", None),
        GatewayAuth::CustomJwt {
            discovery_url,
            audiences,
            clients,
            scopes,
        } => {
            let mut jwt = json!({"DiscoveryUrl": discovery_url});
            for (key, values) in [
                ("AllowedAudience", audiences),
                ("AllowedClients", clients),
                ("AllowedScopes", scopes),
            ] {
                if !values.is_empty() {
                    jwt[key] = json!(values);
                }
            }
            ("CUSTOM_JWT", Some(json!({"CustomJWTAuthorizer": jwt})))
        }
    };
    let mut properties = json!({
        "Name": Expr::sub("${AWS::StackName}-gw"),
        "Description": "mcp-ladder: the MCP function's tools behind an AgentCore Gateway",
        "RoleArn": Expr::get_att(ids::GATEWAY_ROLE, "Arn"),
        "ProtocolType": "MCP",
        // Semantic search exists only if chosen at creation.
        "ProtocolConfiguration": {"Mcp": {
            "SearchType": "SEMANTIC",
            "SupportedVersions": ["2025-11-25", "2025-06-18", "2025-03-26"]
        }},
        "AuthorizerType": authorizer_type,
        "Tags": {STACK_TAG: Expr::reference("AWS::StackName")}
    });
    if let Some(authorizer) = authorizer {
        properties["AuthorizerConfiguration"] = authorizer;
    }
    resources.insert(
        ids::GATEWAY.into(),
        Resource::new("AWS::BedrockAgentCore::Gateway", properties),
    );
    resources.insert(
        ids::GATEWAY_TARGET.into(),
        Resource::new(
            "AWS::BedrockAgentCore::GatewayTarget",
            json!({
                "Name": GATEWAY_TARGET_NAME,
                "Description": "The mcp-ladder function's tools",
                "GatewayIdentifier": Expr::get_att(ids::GATEWAY, "GatewayIdentifier"),
                "TargetConfiguration": {"Mcp": {"Lambda": {
                    "LambdaArn": Expr::get_att(ids::FUNCTION, "Arn"),
                    "ToolSchema": {"InlinePayload": gateway.tools}
                }}},
                "CredentialProviderConfigurations": [{"CredentialProviderType": "GATEWAY_IAM_ROLE"}]
            }),
        ),
    );
}

/// The template as pretty JSON with a final newline (the `infra/` format).
pub fn to_text(template: &Value) -> String {
    let mut text =
        serde_json::to_string_pretty(&mcp_core::model::sort_keys(template)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up account id (no real one appears in the repository).
    fn acct() -> String {
        "0".repeat(12)
    }

    #[test]
    fn principals_are_checked() {
        let a = acct();
        for good in [
            a.clone(),
            format!("arn:aws:iam::{a}:role/Invoker"),
            format!("arn:aws:iam::{a}:user/u"),
        ] {
            assert_eq!(check_principal(&good), Ok(()), "{good}");
        }
        let bad = [
            "*".to_owned(),
            "arn:aws:iam::*:role/x".to_owned(),
            format!("arn:aws:iam::{a}:*"),
            "lambda.amazonaws.com".to_owned(),
            "12345".to_owned(),
            String::new(),
        ];
        for bad in bad {
            assert!(check_principal(&bad).is_err(), "{bad}");
        }
    }

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
        let table = &t["Resources"][ids::RATE_LIMIT_TABLE];
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
        let env = &t["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"];
        assert_eq!(env["MCP_RATE_LIMITS"], limits);
        assert_eq!(
            env["MCP_RATE_LIMIT_TABLE"],
            json!({"Ref": ids::RATE_LIMIT_TABLE})
        );
        let policies = &t["Resources"][ids::ROLE]["Properties"]["Policies"];
        assert_eq!(
            policies[1]["PolicyDocument"]["Statement"],
            json!([{"Effect": "Allow", "Action": "dynamodb:UpdateItem",
                    "Resource": {"Fn::GetAtt": [ids::RATE_LIMIT_TABLE, "Arn"]}}])
        );
        assert_eq!(
            t["Outputs"]["RateLimitTable"]["Value"],
            json!({"Ref": ids::RATE_LIMIT_TABLE})
        );

        // A table the user brings: no table in the stack (nor deleted with it).
        let brought = synth(&StackSpec {
            rate_limits: Some(RateLimitSpec {
                limits,
                existing_table: Some("team-limits".into()),
            }),
            ..StackSpec::default()
        })
        .unwrap();
        assert!(brought["Resources"].get(ids::RATE_LIMIT_TABLE).is_none());
        assert!(brought["Outputs"].get("RateLimitTable").is_none());
        let env = &brought["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"];
        assert_eq!(env["MCP_RATE_LIMIT_TABLE"], "team-limits");
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
            plain["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"]
                .get("MCP_RATE_LIMITS")
                .is_none()
        );
    }

    #[test]
    fn tool_scopes_reach_the_function() {
        let scopes = r#"{"demo_drop_table":["ops:admin"]}"#;
        let t = synth(&StackSpec {
            tool_scopes: Some(scopes.into()),
            ..StackSpec::default()
        })
        .unwrap();
        let env = &t["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"];
        assert_eq!(env["MCP_TOOL_SCOPES"], scopes);
        let plain = synth(&StackSpec::default()).unwrap();
        let env = &plain["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"];
        assert!(env.get("MCP_TOOL_SCOPES").is_none());
    }

    #[test]
    fn the_url_and_the_function_agree_on_the_invoke_mode() {
        for (streaming, mode) in [(true, "RESPONSE_STREAM"), (false, "BUFFERED")] {
            let t = synth(&StackSpec {
                response_streaming: streaming,
                ..StackSpec::default()
            })
            .unwrap();
            assert_eq!(
                t["Resources"]["McpServerUrl"]["Properties"]["InvokeMode"],
                mode
            );
            let env = &t["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"];
            assert_eq!(env["MCP_INVOKE_MODE"], mode);
        }
        // No URL (a gateway target alone): the function is invoked directly,
        // never streams, and is not told to.
        let t = synth(&gateway(GatewayAuth::AwsIam, false)).unwrap();
        let env = &t["Resources"][ids::FUNCTION]["Properties"]["Environment"]["Variables"];
        assert!(env.get("MCP_INVOKE_MODE").is_none(), "{env}");
    }

    #[test]
    fn deterministic_and_account_bounded() {
        let spec = StackSpec::default();
        let a = to_text(&synth(&spec).unwrap());
        let b = to_text(&synth(&spec).unwrap());
        assert_eq!(a, b);
        assert!(!a.contains("\"*\""), "no wildcard anywhere");
        let t = synth(&spec).unwrap();
        assert_eq!(
            t["Resources"]["McpServerUrl"]["Properties"]["AuthType"],
            "AWS_IAM"
        );
        assert!(
            t["Resources"]["McpServerUrl"]["Properties"]
                .get("Cors")
                .is_none()
        );
        assert_eq!(
            t["Resources"]["McpServerLogGroup"]["DeletionPolicy"],
            "Delete"
        );
        assert_eq!(
            t["Resources"]["McpServerFunction"]["Properties"]["Architectures"],
            json!(["arm64"])
        );
        let url_perm = &t["Resources"]["InvokeFunctionUrlPermission"]["Properties"];
        assert_eq!(url_perm["Principal"], json!({"Ref": "AWS::AccountId"}));
        assert_eq!(url_perm["FunctionUrlAuthType"], "AWS_IAM");
        let fn_perm = &t["Resources"]["InvokeFunctionPermission"]["Properties"];
        assert_eq!(fn_perm["InvokedViaFunctionUrl"], true);
        // The URL appears only once both permissions exist (audit item 6).
        assert_eq!(
            t["Resources"]["McpServerUrl"]["DependsOn"],
            json!(["InvokeFunctionPermission", "InvokeFunctionUrlPermission"])
        );
    }

    #[test]
    fn named_principals_replace_the_account() {
        let role = format!("arn:aws:iam::{}:role/A", acct());
        let spec = StackSpec {
            arch: Arch::X86_64,
            principals: vec![role.clone(), acct()],
            ..StackSpec::default()
        };
        let t = synth(&spec).unwrap();
        assert_eq!(
            t["Resources"]["InvokeFunctionUrlPermission"]["Properties"]["Principal"],
            json!(role)
        );
        assert_eq!(
            t["Resources"]["InvokeFunctionPermission2"]["Properties"]["Principal"],
            json!(acct())
        );
        assert_eq!(
            t["Resources"]["McpServerFunction"]["Properties"]["Architectures"],
            json!(["x86_64"])
        );
        let bad = StackSpec {
            principals: vec!["*".into()],
            ..StackSpec::default()
        };
        assert!(matches!(synth(&bad), Err(SpecError::Principal(_))));
    }

    fn gateway(auth: GatewayAuth, function_url: bool) -> StackSpec {
        StackSpec {
            gateway: Some(GatewaySpec {
                auth,
                function_url,
                tools: json!([{"Name": "t", "Description": "d", "InputSchema": {"Type": "object"}}]),
            }),
            ..StackSpec::default()
        }
    }

    #[test]
    fn the_gateway_rung_invokes_only_its_function() {
        let t = synth(&gateway(GatewayAuth::AwsIam, false)).unwrap();
        let r = &t["Resources"];
        assert!(r.get(ids::URL).is_none(), "no Function URL unless asked");
        assert!(r.get("InvokeFunctionUrlPermission").is_none());
        assert!(t["Outputs"].get("FunctionUrl").is_none());
        let gw = &r[ids::GATEWAY]["Properties"];
        assert_eq!(gw["AuthorizerType"], "AWS_IAM");
        assert_eq!(gw["ProtocolConfiguration"]["Mcp"]["SearchType"], "SEMANTIC");
        assert!(gw.get("AuthorizerConfiguration").is_none());
        let statement =
            &r[ids::GATEWAY_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
        assert_eq!(
            statement,
            &json!([{"Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": [ids::FUNCTION, "Arn"]}}])
        );
        let target = &r[ids::GATEWAY_TARGET]["Properties"];
        assert_eq!(
            target["TargetConfiguration"]["Mcp"]["Lambda"]["ToolSchema"]["InlinePayload"][0]["Name"],
            "t"
        );
        assert_eq!(
            target["CredentialProviderConfigurations"],
            json!([{"CredentialProviderType": "GATEWAY_IAM_ROLE"}])
        );
        assert!(!to_text(&t).contains("\"*\""), "no wildcard anywhere");

        let jwt = GatewayAuth::CustomJwt {
            discovery_url: "https://issuer.example/.well-known/openid-configuration".into(),
            audiences: vec!["https://mcp.example".into()],
            clients: vec![],
            scopes: vec!["tools:read".into()],
        };
        let t = synth(&gateway(jwt, true)).unwrap();
        let gw = &t["Resources"][ids::GATEWAY]["Properties"];
        assert_eq!(gw["AuthorizerType"], "CUSTOM_JWT");
        assert_eq!(
            gw["AuthorizerConfiguration"]["CustomJWTAuthorizer"],
            json!({"DiscoveryUrl": "https://issuer.example/.well-known/openid-configuration",
                   "AllowedAudience": ["https://mcp.example"], "AllowedScopes": ["tools:read"]})
        );
        assert!(
            t["Resources"].get(ids::URL).is_some(),
            "--with-function-url keeps the URL"
        );
    }

    #[test]
    fn gateway_names_follow_agentcore() {
        assert!(gateway_name_fits("mcp-ladder"));
        assert!(gateway_name_fits(&"a".repeat(46)));
        assert!(!gateway_name_fits(&"a".repeat(47)));
        assert!(!gateway_name_fits("a--b"));
        assert!(!gateway_name_fits("a_b"));
    }
}
