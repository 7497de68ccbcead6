//! Rung 3: an Amazon Bedrock AgentCore Gateway in front of the function (its
//! Lambda target), with semantic tool search and its own inbound auth (IAM
//! or bearer JWTs).

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use mcp_lambda::agentcore::{Dropped, ExportError, cloudformation_payload, function_tools};
use mcp_settings::Setting;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::aws::{Aws, explain};
use crate::client::McpClient;
use crate::progress::Progress;
use crate::rung::{Check, Rung, Smoked};
use crate::smoke::{SmokeCx, connect_and_list, unsigned_control};
use crate::teardown::{Recorded, gone, gone_by};
use crate::template::{
    Expr, Resource, SpecError, StackSpec, Template, ids as function_ids, service_role,
};

/// The rung's name (its key in the smoke report).
pub const NAME: &str = "gateway";
/// The gateway target's name: the gateway lists the tools as
/// `mcp-ladder___<tool>`.
pub const TARGET_NAME: &str = "mcp-ladder";
/// The gateway's built-in search tool (AWS docs, `gateway-using-mcp-semantic-search`).
pub const SEARCH_TOOL: &str = "x_amz_bedrock_agentcore_search";

/// The regions where a gateway can have semantic tool search (AWS docs,
/// `gateway-using-mcp-semantic-search`, as of 2026-12).
pub const SEMANTIC_SEARCH_REGIONS: [&str; 18] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "sa-east-1",
];

/// Logical ids.
pub mod ids {
    /// The gateway's role (may invoke the function, nothing else).
    pub const ROLE: &str = "McpGatewayRole";
    /// The AgentCore Gateway.
    pub const GATEWAY: &str = "McpGateway";
    /// The gateway's Lambda target.
    pub const TARGET: &str = "McpGatewayTarget";
}

/// Output keys.
pub mod outputs {
    /// The gateway's MCP endpoint.
    pub const URL: &str = "GatewayUrl";
    /// Its identifier.
    pub const ID: &str = "GatewayId";
    /// The target's name.
    pub const TARGET_NAME: &str = "GatewayTargetName";
}

/// An Amazon Bedrock AgentCore Gateway in front of the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySpec {
    /// Who may call the gateway.
    pub auth: GatewayAuth,
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

impl GatewaySpec {
    /// A gateway in front of this project's function, with its tools as the
    /// target's schemas; also what the conversion dropped.
    pub fn for_function(auth: GatewayAuth) -> Result<(GatewaySpec, Vec<Dropped>), ExportError> {
        let export = function_tools()?;
        let spec = GatewaySpec {
            auth,
            tools: cloudformation_payload(&export.tools),
        };
        Ok((spec, export.dropped))
    }
}

/// The flags of this rung.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// With --rung gateway: keep the Function URL as well.
    #[arg(long)]
    pub with_function_url: bool,
    /// With --rung gateway: who may call it. `iam`: SigV4 (service
    /// bedrock-agentcore); `jwt`: bearer tokens from --jwt-discovery-url.
    #[arg(long, value_enum, default_value_t = GatewayAuthArg::Iam)]
    pub gateway_auth: GatewayAuthArg,
    /// With --gateway-auth jwt: the issuer's
    /// https://.../.well-known/openid-configuration.
    #[arg(long, value_name = "URL", value_parser = discovery_url,
          required_if_eq("gateway_auth", "jwt"))]
    pub jwt_discovery_url: Option<String>,
    /// With --gateway-auth jwt: an accepted `aud` (repeatable; this or
    /// --jwt-client is needed, else any token of the issuer would do).
    #[arg(long = "jwt-audience", value_name = "AUDIENCE")]
    pub jwt_audiences: Vec<String>,
    /// With --gateway-auth jwt: an accepted client id (repeatable).
    #[arg(long = "jwt-client", value_name = "CLIENT_ID")]
    pub jwt_clients: Vec<String>,
    /// With --gateway-auth jwt: an accepted scope (repeatable).
    #[arg(long = "jwt-scope", value_name = "SCOPE")]
    pub jwt_scopes: Vec<String>,
}

/// The ids of the flags that apply only with `--rung gateway`, and those
/// only with `--gateway-auth jwt`.
pub const FLAGS: [&str; 6] = [
    "with_function_url",
    "gateway_auth",
    "jwt_discovery_url",
    "jwt_audiences",
    "jwt_clients",
    "jwt_scopes",
];
/// The flags that need `--gateway-auth jwt`.
pub const JWT_FLAGS: [&str; 4] = [
    "jwt_discovery_url",
    "jwt_audiences",
    "jwt_clients",
    "jwt_scopes",
];

/// `--gateway-auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GatewayAuthArg {
    /// SigV4.
    Iam,
    /// Bearer JWTs.
    Jwt,
}

fn discovery_url(url: &str) -> Result<String, String> {
    if url.starts_with("https://") && url.ends_with("/.well-known/openid-configuration") {
        return Ok(url.to_owned());
    }
    Err(format!(
        "{url:?} must be https://ISSUER/.well-known/openid-configuration"
    ))
}

impl GatewayArgs {
    /// The gateway these flags ask for; what its schemas cannot hold is
    /// named on stderr.
    pub fn spec(&self) -> anyhow::Result<GatewaySpec> {
        let auth = match self.gateway_auth {
            GatewayAuthArg::Iam => GatewayAuth::AwsIam,
            GatewayAuthArg::Jwt if self.jwt_audiences.is_empty() && self.jwt_clients.is_empty() => {
                anyhow::bail!(
                    "--gateway-auth jwt needs --jwt-audience or --jwt-client: without either, \
                     any token of the issuer would be accepted"
                )
            }
            GatewayAuthArg::Jwt => GatewayAuth::CustomJwt {
                discovery_url: self.jwt_discovery_url.clone().unwrap_or_default(),
                audiences: self.jwt_audiences.clone(),
                clients: self.jwt_clients.clone(),
                scopes: self.jwt_scopes.clone(),
            },
        };
        let (spec, dropped) = GatewaySpec::for_function(auth)?;
        for dropped in dropped {
            eprintln!("gateway schema: {dropped}");
        }
        Ok(spec)
    }
}

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

/// Checks the stack's name before anything is created, and announces
/// semantic search as final (it cannot be added to a gateway later).
fn check_name(stack_name: &str) -> anyhow::Result<()> {
    if !gateway_name_fits(stack_name) {
        anyhow::bail!(
            "the gateway would be named {:?}, which AgentCore refuses: use a stack name of \
             letters, digits and single hyphens, at most 46 letters and digits",
            gateway_name(stack_name)
        );
    }
    eprintln!(
        "gateway: semantic tool search (SearchType SEMANTIC) is set at creation; a gateway \
         created without it can never have it"
    );
    Ok(())
}

fn authorizer(auth: &GatewayAuth) -> (&'static str, Option<Value>) {
    let GatewayAuth::CustomJwt {
        discovery_url,
        audiences,
        clients,
        scopes,
    } = auth
    else {
        return ("AWS_IAM", None);
    };
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

/// Why a deployed gateway's authorizer type is not changed: CloudFormation's
/// schema lets `AuthorizerType` be updated, but AgentCore refuses the update
/// and the stack rolls back (DESIGN.md, "Against real AWS (2)").
fn authorizer_change(id: &str, deployed: &str, wanted: &str) -> anyhow::Error {
    let flag = |kind: &str| if kind == "AWS_IAM" { "iam" } else { "jwt" };
    anyhow::anyhow!(
        "the deployed gateway {id} authenticates callers with {deployed}, and this deploy asks \
         for {wanted}: AgentCore does not change a gateway's authorizer type in place (the \
         update would fail and roll back), so nothing was changed. Deploy again with \
         --gateway-auth {}, or tear the stack down (`mcp-deploy teardown`) and deploy it anew \
         with --gateway-auth {} (the gateway's URL changes)",
        flag(deployed),
        flag(wanted)
    )
}

fn target(gateway: &GatewaySpec) -> Resource {
    Resource::new(
        "AWS::BedrockAgentCore::GatewayTarget",
        json!({
            "Name": TARGET_NAME,
            "Description": "The mcp-ladder function's tools",
            "GatewayIdentifier": Expr::get_att(ids::GATEWAY, "GatewayIdentifier"),
            "TargetConfiguration": {"Mcp": {"Lambda": {
                "LambdaArn": Expr::get_att(function_ids::FUNCTION, "Arn"),
                "ToolSchema": {"InlinePayload": gateway.tools}
            }}},
            "CredentialProviderConfigurations": [{"CredentialProviderType": "GATEWAY_IAM_ROLE"}]
        }),
    )
}

/// Rung 3.
#[derive(Debug)]
pub struct Gateway;

impl Rung for Gateway {
    fn name(&self) -> &'static str {
        NAME
    }

    fn synth(&self, spec: &StackSpec, t: &mut Template) -> Result<(), SpecError> {
        let Some(gateway) = &spec.gateway else {
            return Ok(());
        };
        // This function, and nothing else; assumed only by AgentCore acting
        // for a resource of this account and region (the aws:SourceArn
        // condition AWS's AgentCore samples put beside aws:SourceAccount).
        let agentcore =
            "arn:${AWS::Partition}:bedrock-agentcore:${AWS::Region}:${AWS::AccountId}:*";
        t.insert(
            ids::ROLE,
            service_role(
                "bedrock-agentcore.amazonaws.com",
                Some(Expr::sub(agentcore)),
                "invoke-the-mcp-function",
                json!("lambda:InvokeFunction"),
                Expr::get_att(function_ids::FUNCTION, "Arn"),
            ),
        );
        let (authorizer_type, authorizer) = authorizer(&gateway.auth);
        let mut properties = json!({
            "Name": Expr::sub("${AWS::StackName}-gw"),
            "Description": "mcp-ladder: the MCP function's tools behind an AgentCore Gateway",
            "RoleArn": Expr::get_att(ids::ROLE, "Arn"),
            "ProtocolType": "MCP",
            // Semantic search exists only if chosen at creation.
            "ProtocolConfiguration": {"Mcp": {
                "SearchType": "SEMANTIC",
                "SupportedVersions": ["2025-11-25", "2025-06-18", "2025-03-26"]
            }},
            "AuthorizerType": authorizer_type,
            "Tags": {crate::template::STACK_TAG: Expr::reference("AWS::StackName")}
        });
        if let Some(authorizer) = authorizer {
            properties["AuthorizerConfiguration"] = authorizer;
        }
        t.insert(
            ids::GATEWAY,
            Resource::new("AWS::BedrockAgentCore::Gateway", properties),
        );
        t.insert(ids::TARGET, target(gateway));
        // The function serves the gateway's invocations only when told so.
        t.set(Setting::GatewayTarget, "1");
        t.output(
            outputs::URL,
            Some("The AgentCore Gateway's MCP endpoint"),
            Expr::get_att(ids::GATEWAY, "GatewayUrl"),
        );
        t.output(
            outputs::ID,
            None,
            Expr::get_att(ids::GATEWAY, "GatewayIdentifier"),
        );
        t.output(outputs::TARGET_NAME, None, TARGET_NAME);
        Ok(())
    }

    fn check_stack_name(&self, spec: &StackSpec, stack_name: &str) -> anyhow::Result<()> {
        match spec.gateway {
            Some(_) => check_name(stack_name),
            None => Ok(()),
        }
    }

    fn check_region(&self, spec: &StackSpec, region: &str) -> anyhow::Result<()> {
        if spec.gateway.is_none() || SEMANTIC_SEARCH_REGIONS.contains(&region) {
            return Ok(());
        }
        anyhow::bail!(
            "the gateway's semantic tool search (SearchType SEMANTIC, which this stack asks for \
             and which cannot be added later) exists in {} regions, not in {region}: deploy \
             the gateway rung in one of {}",
            SEMANTIC_SEARCH_REGIONS.len(),
            SEMANTIC_SEARCH_REGIONS.join(", ")
        )
    }

    fn endpoint(&self) -> Option<&'static str> {
        Some(outputs::URL)
    }

    fn smoke<'a>(&'a self, cx: &'a SmokeCx<'a>) -> BoxFuture<'a, anyhow::Result<Option<Smoked>>> {
        Box::pin(async move {
            let Some(url) = cx.outputs.get(outputs::URL) else {
                return Ok(None);
            };
            let mut client = McpClient::sigv4(url, cx.region, cx.credentials().await?)?
                .with_service("bedrock-agentcore");
            let report = smoke(&mut client, cx.progress).await?;
            Ok(Some(Smoked {
                report: serde_json::to_value(report)?,
                summary: "the gateway lists, searches and calls; unsigned out".into(),
            }))
        })
    }

    fn checks(&self) -> &'static [(&'static str, Check)] {
        const CHECKS: [(&str, Check); 3] = [
            (
                "AWS::BedrockAgentCore::Gateway",
                gone_by!(
                    "gateway",
                    |aws, id| aws.agentcore.get_gateway().gateway_identifier(id),
                    is_resource_not_found_exception
                )
                .slow(),
            ),
            (
                WORKLOAD_IDENTITY,
                gone_by!(
                    "workload identity",
                    |aws, id| aws.agentcore.get_workload_identity().name(id),
                    is_resource_not_found_exception
                )
                .slow(),
            ),
            (
                "AWS::BedrockAgentCore::GatewayTarget",
                Check::Gone(target_gone),
            ),
        ];
        &CHECKS
    }

    fn named_after<'a>(
        &'a self,
        aws: &'a Aws,
        stack_name: &'a str,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Vec<Recorded>> {
        Box::pin(async move {
            named_after(aws, stack_name, progress)
                .await
                .into_iter()
                .collect()
        })
    }

    /// Each gateway's workload identity, which AgentCore made for it and
    /// CloudFormation does not list.
    fn also_recorded<'a>(
        &'a self,
        aws: &'a Aws,
        recorded: &'a [Recorded],
        progress: &'a Progress,
    ) -> BoxFuture<'a, Vec<Recorded>> {
        Box::pin(async move {
            let mut identities = Vec::new();
            for gateway in recorded.iter().filter(|r| r.kind == GATEWAY_KIND) {
                if let Some(identity) = workload_identity(aws, &gateway.physical_id, progress).await
                {
                    identities.push(identity);
                }
            }
            identities
        })
    }

    fn check_update<'a>(
        &'a self,
        aws: &'a Aws,
        spec: &'a StackSpec,
        outputs: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let (Some(gateway), Some(id)) = (&spec.gateway, outputs.get(outputs::ID)) else {
                return Ok(());
            };
            let deployed = aws.agentcore.get_gateway().gateway_identifier(id).send();
            let deployed = deployed
                .await
                .map_err(|e| explain(e, "reading the deployed gateway"))?;
            let wanted = authorizer(&gateway.auth).0;
            match deployed.authorizer_type().as_str() {
                same if same == wanted => Ok(()),
                other => Err(authorizer_change(id, other, wanted)),
            }
        })
    }

    fn configure_local(&self, spec: &StackSpec, config: &mut lambda_emulator::EmulatorConfig) {
        if spec.gateway.is_some() {
            let target = Setting::GatewayTarget.name().to_owned();
            config.function.env.push((target, "1".into()));
        }
    }

    fn serve_local<'a>(
        &'a self,
        spec: &'a StackSpec,
        emulator: &'a lambda_emulator::Emulator,
        progress: &'a Progress,
    ) -> BoxFuture<'a, anyhow::Result<Vec<(&'static str, String)>>> {
        Box::pin(async move {
            if spec.gateway.is_none() {
                return Ok(Vec::new());
            }
            // The function's tools as the deploy CLI exports them.
            let export = function_tools()?;
            let tools = serde_json::from_value(mcp_lambda::agentcore::api_payload(&export.tools))?;
            let url = emulator.serve_gateway(TARGET_NAME, tools).await?;
            progress.story(
                "  local AgentCore Gateway (emulated; on AWS, SearchType SEMANTIC is set at \
                 creation and a gateway created without it can never have it)",
            );
            Ok(vec![(outputs::URL, url)])
        })
    }
}

fn target_gone<'a>(aws: &'a Aws, id: &'a str) -> BoxFuture<'a, anyhow::Result<bool>> {
    Box::pin(async move {
        // CloudFormation names a target by both parts of its identifier.
        let (gateway, target) = id.split_once('|').unwrap_or((id, ""));
        let lookup = aws
            .agentcore
            .get_gateway_target()
            .gateway_identifier(gateway)
            .target_id(target)
            .send();
        gone(
            lookup.await,
            |e| e.is_resource_not_found_exception(),
            &format!("checking gateway target {id}"),
        )
    })
}

/// A gateway named after the stack (`<stack>-gw`), found by listing: its
/// identifier is random, so it is checked by name once the stack is gone.
/// When gateways cannot be listed (no AgentCore in the region, no
/// permission), that is said, and the teardown goes on.
/// A gateway's type, as CloudFormation names it.
const GATEWAY_KIND: &str = "AWS::BedrockAgentCore::Gateway";
/// What teardown calls a gateway's workload identity (no CloudFormation
/// type has it: AgentCore makes it with the gateway).
const WORKLOAD_IDENTITY: &str = "AWS::BedrockAgentCore::WorkloadIdentity";

/// The workload identity of gateway `id`, by name (the last part of its
/// ARN). A gateway already gone has none to record; a lookup that failed is
/// said.
async fn workload_identity(aws: &Aws, id: &str, progress: &Progress) -> Option<Recorded> {
    let gateway = match aws
        .agentcore
        .get_gateway()
        .gateway_identifier(id)
        .send()
        .await
    {
        Ok(gateway) => gateway,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return None;
        }
        Err(e) => {
            progress.say(format!(
                "gateway {id}'s workload identity not recorded ({:#}): look for it with `aws \
                 bedrock-agentcore-control list-workload-identities`",
                explain(e, "reading the gateway")
            ));
            return None;
        }
    };
    let arn = gateway.workload_identity_details()?.workload_identity_arn();
    let name = arn.rsplit_once('/').map_or(arn, |(_, name)| name);
    progress.say(format!(
        "recorded {WORKLOAD_IDENTITY} of gateway {id}: {name}"
    ));
    Some(Recorded {
        logical_id: format!("{}/WorkloadIdentity", ids::GATEWAY),
        kind: WORKLOAD_IDENTITY.into(),
        physical_id: name.to_owned(),
    })
}

async fn named_after(aws: &Aws, stack_name: &str, progress: &Progress) -> Option<Recorded> {
    let name = gateway_name(stack_name);
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
                    logical_id: ids::GATEWAY.into(),
                    kind: GATEWAY_KIND.into(),
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

/// What the gateway smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySmokeReport {
    /// The revision and `serverInfo`.
    pub connected: crate::client::Connected,
    /// Tool names from `tools/list`, as the gateway lists them.
    pub tools: Vec<String>,
    /// The search tool's ranking for the query.
    pub search: Vec<String>,
    /// The called tool's structured result.
    pub called: Value,
    /// The unsigned request's status (must be 401 or 403).
    pub unsigned_status: u16,
}

fn arguments(key: &str, value: &str) -> Map<String, Value> {
    let mut arguments = Map::new();
    arguments.insert(key.into(), Value::from(value));
    arguments
}

/// How long the first call through a new gateway is retried: AgentCore
/// assumes the gateway's role to invoke the function, and a role seconds old
/// may not be assumable yet (IAM is eventually consistent; AWS's AgentCore
/// samples wait before the first call).
const FIRST_CALL_WINDOW: std::time::Duration = std::time::Duration::from_secs(30);

/// `word_count` through the gateway, retried for [`FIRST_CALL_WINDOW`].
async fn first_call(client: &McpClient, tool: &str) -> anyhow::Result<Value> {
    use backon::Retryable as _;
    let text = arguments("text", "the gateway runs the same tools");
    (|| client.call_for_output(tool, text.clone()))
        .retry(crate::retry::policy(FIRST_CALL_WINDOW))
        .notify(|e, _| eprintln!("  (the gateway's first call failed, retrying: {e:#})"))
        .await
}

/// The gateway's story: list, search, call (signed for
/// `bedrock-agentcore`), then the unsigned negative control.
pub async fn smoke(
    client: &mut McpClient,
    progress: &Progress,
) -> anyhow::Result<GatewaySmokeReport> {
    let banner = ">>> DEMO: a SigV4-signed client of the gateway (service bedrock-agentcore)";
    let (connected, tools) = connect_and_list(client, banner, progress).await?;
    let word_count = format!("{TARGET_NAME}___word_count");
    if !tools.contains(&word_count) {
        anyhow::bail!(
            "the gateway does not list {word_count}: the target's tools did not register"
        );
    }
    let query = "how many words are in this text";
    let ranked = client
        .call_for_output(SEARCH_TOOL, arguments("query", query))
        .await?;
    let search: Vec<String> = ranked["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    progress.story(format!("{SEARCH_TOOL} {query:?} -> {search:?}"));
    if search.first() != Some(&word_count) {
        anyhow::bail!("the search did not rank {word_count} first for {query:?}: {search:?}");
    }
    let called = first_call(client, &word_count).await?;
    progress.story(format!("tools/call {word_count} -> {called}"));
    // AWS does not document the status an unsigned request to an IAM
    // gateway gets: either refusal will do, an answer will not.
    let unsigned_status = unsigned_control(
        client,
        &[401, 403],
        "the gateway does not check inbound signatures. Tear it down and check its AuthorizerType",
        progress,
    )
    .await?;
    Ok(GatewaySmokeReport {
        connected,
        tools,
        search,
        called,
        unsigned_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rung::url::UrlSpec;
    use crate::template::{synth, to_text};

    fn gateway(auth: GatewayAuth, url: bool) -> StackSpec {
        StackSpec {
            url: url.then(UrlSpec::default),
            gateway: Some(GatewaySpec {
                auth,
                tools: json!([{"Name": "t", "Description": "d", "InputSchema": {"Type": "object"}}]),
            }),
            ..StackSpec::default()
        }
    }

    #[test]
    fn the_gateway_rung_invokes_only_its_function() {
        let t = synth(&gateway(GatewayAuth::AwsIam, false)).unwrap();
        let r = &t["Resources"];
        assert!(
            r.get(crate::rung::url::URL).is_none(),
            "no Function URL unless asked"
        );
        assert!(r.get("InvokeFunctionUrlPermission").is_none());
        assert!(t["Outputs"].get("FunctionUrl").is_none());
        let gw = &r[ids::GATEWAY]["Properties"];
        assert_eq!(gw["AuthorizerType"], "AWS_IAM");
        assert_eq!(gw["ProtocolConfiguration"]["Mcp"]["SearchType"], "SEMANTIC");
        assert!(gw.get("AuthorizerConfiguration").is_none());
        let trust = &r[ids::ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(
            trust["Condition"]["ArnLike"]["aws:SourceArn"],
            json!({"Fn::Sub": "arn:${AWS::Partition}:bedrock-agentcore:${AWS::Region}:${AWS::AccountId}:*"})
        );
        let statement = &r[ids::ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
        assert_eq!(
            statement,
            &json!([{"Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": [function_ids::FUNCTION, "Arn"]}}])
        );
        let target = &r[ids::TARGET]["Properties"];
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
            t["Resources"].get(crate::rung::url::URL).is_some(),
            "--with-function-url keeps the URL"
        );
    }

    #[test]
    fn semantic_search_is_asked_for_only_where_it_exists() {
        let spec = gateway(GatewayAuth::AwsIam, false);
        assert!(Gateway.check_region(&spec, "eu-central-1").is_ok());
        let refused = Gateway.check_region(&spec, "me-central-1");
        assert!(refused.is_err_and(|e| e.to_string().contains("not in me-central-1")));
        assert!(
            Gateway
                .check_region(&StackSpec::default(), "me-central-1")
                .is_ok()
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
