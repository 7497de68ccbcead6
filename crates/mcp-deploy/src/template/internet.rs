//! The internet-facing rung's resources: an API Gateway REST API (regional)
//! whose `/mcp` and OAuth metadata paths are Lambda proxy integrations of
//! the function, a stage with throttling, and a REGIONAL WAFv2 web ACL
//! associated with that stage - always together, never one without the
//! others. The function checks every bearer token itself (`MCP_AUTH=oauth`):
//! API Gateway passes `Authorization` through, and WAF cannot protect a
//! Function URL, so this stack has none.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Expr, Resource, SpecError, ids, tags};

/// The stage: the first path segment of every URL of the API.
pub const STAGE: &str = "prod";

/// The WAF rate-based rule's default: requests per client IP per five
/// minutes, beyond which WAF blocks that IP until its rate falls.
pub const DEFAULT_RATE_LIMIT: u32 = 1000;

/// The stage's default throttling (requests per second, and burst).
pub const DEFAULT_THROTTLE_RATE: u32 = 50;
/// The stage's default burst.
pub const DEFAULT_THROTTLE_BURST: u32 = 100;

/// `--audience auto`: the API's own MCP endpoint URL, known once deployed.
pub const AUTO_AUDIENCE: &str = "auto";

/// What the internet-facing rung needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternetSpec {
    /// The OAuth issuer (`MCP_OAUTH_ISSUER`).
    pub issuer: String,
    /// The audience tokens must name (`MCP_OAUTH_AUDIENCE`), or `auto`.
    pub audience: String,
    /// The key set's URL, when not the issuer metadata's.
    pub jwks_url: Option<String>,
    /// Only these CIDRs may call (IPv4 or IPv6); empty: anyone.
    pub allow_cidrs: Vec<String>,
    /// These countries (ISO 3166-1 alpha-2) are blocked.
    pub block_countries: Vec<String>,
    /// WAF: requests per IP per five minutes.
    pub rate_limit: u32,
    /// The stage's steady requests per second.
    pub throttle_rate: u32,
    /// The stage's burst.
    pub throttle_burst: u32,
}

impl InternetSpec {
    /// Checks the settings; an error names the flag.
    pub fn check(&self) -> Result<(), SpecError> {
        let bad = |m: String| Err(SpecError::Range(m));
        mcp_oauth::config::check_url("--issuer", &self.issuer).map_err(SpecError::Range)?;
        if self.audience != AUTO_AUDIENCE {
            mcp_oauth::config::check_url("--audience", &self.audience).map_err(SpecError::Range)?;
        }
        if let Some(url) = &self.jwks_url {
            mcp_oauth::config::check_url("--jwks-url", url).map_err(SpecError::Range)?;
        }
        for cidr in &self.allow_cidrs {
            if !is_cidr(cidr) {
                return bad(format!(
                    "--allow-cidr {cidr:?} is not a CIDR block like 203.0.113.0/24 or 2001:db8::/32"
                ));
            }
        }
        for country in &self.block_countries {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return bad(format!(
                    "--block-country {country:?} is not an ISO 3166-1 alpha-2 code like KP"
                ));
            }
        }
        // WAF's range for a rate-based rule's limit.
        if !(10..=2_000_000_000).contains(&self.rate_limit) {
            return bad(
                "--rate-limit must be 10 to 2,000,000,000 requests per IP per 5 minutes".into(),
            );
        }
        if self.throttle_rate == 0 || self.throttle_burst == 0 {
            return bad("--throttle-rate and --throttle-burst must be above 0".into());
        }
        Ok(())
    }
}

fn is_cidr(text: &str) -> bool {
    let Some((ip, bits)) = text.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

/// The API's MCP endpoint (`--audience auto`, and the `ApiUrl` output).
pub fn endpoint_url() -> Expr {
    Expr::sub(format!(
        "https://${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE}/mcp",
        ids::REST_API
    ))
}

/// The function's settings for this rung.
pub fn environment(spec: &InternetSpec, environment: &mut Value) {
    environment["MCP_AUTH"] = json!("oauth");
    environment["MCP_OAUTH_ISSUER"] = json!(spec.issuer);
    environment["MCP_OAUTH_AUDIENCE"] = if spec.audience == AUTO_AUDIENCE {
        json!(endpoint_url())
    } else {
        json!(spec.audience)
    };
    if let Some(url) = &spec.jwks_url {
        environment["MCP_OAUTH_JWKS_URL"] = json!(url);
    }
}

fn visibility(metric: &str) -> Value {
    json!({
        "SampledRequestsEnabled": true,
        "CloudWatchMetricsEnabled": true,
        "MetricName": metric
    })
}

/// The API, its stage, the function's permission for it, and the web ACL.
pub fn add(resources: &mut BTreeMap<String, Resource>, spec: &InternetSpec) {
    let api = || Expr::reference(ids::REST_API);
    let mut rest_api = Resource::new(
        "AWS::ApiGateway::RestApi",
        json!({
            "Name": Expr::sub("${AWS::StackName}-api"),
            "Description": "mcp-ladder: the MCP function on the internet, behind WAF; the function checks every bearer token",
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "Tags": tags()
        }),
    );
    rest_api.deletion_policy = Some("Delete");
    resources.insert(ids::REST_API.into(), rest_api);

    let integration = json!({
        "Type": "AWS_PROXY",
        "IntegrationHttpMethod": "POST",
        "Uri": Expr::sub(format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{}.Arn}}/invocations",
            ids::FUNCTION
        ))
    });
    // (logical id, path part, parent logical id or None for the root)
    let paths: [(&str, &str, Option<&str>); 4] = [
        (ids::API_MCP, "mcp", None),
        (ids::API_WELL_KNOWN, ".well-known", None),
        (
            ids::API_METADATA,
            "oauth-protected-resource",
            Some(ids::API_WELL_KNOWN),
        ),
        (ids::API_METADATA_MCP, "mcp", Some(ids::API_METADATA)),
    ];
    for (id, part, parent) in paths {
        let parent = match parent {
            Some(parent) => Expr::reference(parent),
            None => Expr::get_att(ids::REST_API, "RootResourceId"),
        };
        resources.insert(
            id.into(),
            Resource::new(
                "AWS::ApiGateway::Resource",
                json!({"RestApiId": api(), "ParentId": parent, "PathPart": part}),
            ),
        );
    }
    // No API Gateway authorizer: the function is the OAuth resource server,
    // and the metadata must be readable without a token.
    let methods = [
        (ids::API_MCP_METHOD, ids::API_MCP, "ANY"),
        (ids::API_METADATA_METHOD, ids::API_METADATA, "GET"),
        (ids::API_METADATA_MCP_METHOD, ids::API_METADATA_MCP, "GET"),
    ];
    for (id, resource, verb) in methods {
        resources.insert(
            id.into(),
            Resource::new(
                "AWS::ApiGateway::Method",
                json!({
                    "RestApiId": api(),
                    "ResourceId": Expr::reference(resource),
                    "HttpMethod": verb,
                    "AuthorizationType": "NONE",
                    "Integration": integration
                }),
            ),
        );
    }
    let mut deployment = Resource::new(
        "AWS::ApiGateway::Deployment",
        json!({"RestApiId": api(), "Description": "mcp-ladder"}),
    );
    deployment.depends_on = methods.iter().map(|(id, _, _)| (*id).to_owned()).collect();
    resources.insert(ids::API_DEPLOYMENT.into(), deployment);
    resources.insert(
        ids::API_STAGE.into(),
        Resource::new(
            "AWS::ApiGateway::Stage",
            json!({
                "RestApiId": api(),
                "DeploymentId": Expr::reference(ids::API_DEPLOYMENT),
                "StageName": STAGE,
                "Description": "mcp-ladder: throttled; WAF in front",
                "MethodSettings": [{
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": spec.throttle_rate,
                    "ThrottlingBurstLimit": spec.throttle_burst
                }],
                "Tags": tags()
            }),
        ),
    );
    // API Gateway may invoke the function for this API only.
    resources.insert(
        ids::API_PERMISSION.into(),
        Resource::new(
            "AWS::Lambda::Permission",
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": Expr::get_att(ids::FUNCTION, "Arn"),
                "Principal": "apigateway.amazonaws.com",
                "SourceAccount": Expr::reference("AWS::AccountId"),
                "SourceArn": Expr::sub(format!(
                    "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{}}}/*",
                    ids::REST_API
                ))
            }),
        ),
    );
    add_web_acl(resources, spec);
}

fn add_web_acl(resources: &mut BTreeMap<String, Resource>, spec: &InternetSpec) {
    let mut rules = Vec::new();
    let mut priority = 0;
    let (v4, v6): (Vec<&String>, Vec<&String>) =
        spec.allow_cidrs.iter().partition(|c| !c.contains(':'));
    let mut sets = Vec::new();
    for (id, version, cidrs) in [
        (ids::ALLOWED_IPV4, "IPV4", v4),
        (ids::ALLOWED_IPV6, "IPV6", v6),
    ] {
        if cidrs.is_empty() {
            continue;
        }
        resources.insert(
            id.into(),
            Resource::new(
                "AWS::WAFv2::IPSet",
                json!({
                    "Name": Expr::sub(format!("${{AWS::StackName}}-{}", version.to_ascii_lowercase())),
                    "Scope": "REGIONAL",
                    "IPAddressVersion": version,
                    "Addresses": cidrs,
                    "Tags": tags()
                }),
            ),
        );
        sets.push(json!({"IPSetReferenceStatement": {"Arn": Expr::get_att(id, "Arn")}}));
    }
    if !sets.is_empty() {
        let allowed = if sets.len() == 1 {
            sets.remove(0)
        } else {
            json!({"OrStatement": {"Statements": sets}})
        };
        rules.push(json!({
            "Name": "only-allowed-cidrs",
            "Priority": priority,
            "Action": {"Block": {}},
            "Statement": {"NotStatement": {"Statement": allowed}},
            "VisibilityConfig": visibility("only-allowed-cidrs")
        }));
        priority += 1;
    }
    if !spec.block_countries.is_empty() {
        rules.push(json!({
            "Name": "blocked-countries",
            "Priority": priority,
            "Action": {"Block": {}},
            "Statement": {"GeoMatchStatement": {"CountryCodes": spec.block_countries}},
            "VisibilityConfig": visibility("blocked-countries")
        }));
        priority += 1;
    }
    rules.push(json!({
        "Name": "rate-per-ip",
        "Priority": priority,
        "Action": {"Block": {}},
        "Statement": {"RateBasedStatement": {
            "Limit": spec.rate_limit,
            "AggregateKeyType": "IP",
            "EvaluationWindowSec": 300
        }},
        "VisibilityConfig": visibility("rate-per-ip")
    }));
    priority += 1;
    // The common rule set, except its 8 KB body limit, which would refuse
    // large tool calls: the function bounds bodies itself (1 MiB).
    rules.push(json!({
        "Name": "aws-common-rule-set",
        "Priority": priority,
        "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {
            "VendorName": "AWS",
            "Name": "AWSManagedRulesCommonRuleSet",
            "RuleActionOverrides": [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
        }},
        "VisibilityConfig": visibility("aws-common-rule-set")
    }));
    resources.insert(
        ids::WEB_ACL.into(),
        Resource::new(
            "AWS::WAFv2::WebACL",
            json!({
                "Name": Expr::sub("${AWS::StackName}-waf"),
                "Description": "mcp-ladder: rate per IP, the AWS common rule set, and the IP and country rules asked for",
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Rules": rules,
                "VisibilityConfig": visibility("mcp-ladder"),
                "Tags": tags()
            }),
        ),
    );
    resources.insert(
        ids::WEB_ACL_ASSOCIATION.into(),
        Resource::new(
            "AWS::WAFv2::WebACLAssociation",
            json!({
                "ResourceArn": Expr::sub(format!(
                    "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{{}}}/stages/${{{}}}",
                    ids::REST_API, ids::API_STAGE
                )),
                "WebACLArn": Expr::get_att(ids::WEB_ACL, "Arn")
            }),
        ),
    );
}

/// The outputs of this rung.
pub fn outputs(outputs: &mut Value) {
    outputs["ApiUrl"] = json!({"Description": "The MCP endpoint on the internet (OAuth bearer tokens, behind WAF)", "Value": endpoint_url()});
    outputs["ResourceMetadataUrl"] = json!({"Description": "The endpoint's OAuth Protected Resource Metadata (RFC 9728)", "Value": Expr::sub(format!(
        "https://${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE}/.well-known/oauth-protected-resource/mcp",
        ids::REST_API
    ))});
    outputs["RestApiId"] = json!({"Value": Expr::reference(ids::REST_API)});
    outputs["WebAclArn"] = json!({"Value": Expr::get_att(ids::WEB_ACL, "Arn")});
}
