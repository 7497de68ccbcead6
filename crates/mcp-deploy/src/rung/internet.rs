//! Rung 4: the function on the internet, deliberately - an API Gateway REST
//! API (regional) whose `/mcp` and OAuth metadata paths are Lambda proxy
//! integrations of the function, a stage with throttling, and a REGIONAL
//! WAFv2 web ACL associated with that stage - always together, never one
//! without the others. The function checks every bearer token itself (an
//! OAuth resource server): API Gateway passes `Authorization` through, and
//! WAF cannot protect a Function URL, so this stack has none. Because API
//! Gateway renames a proxy integration's `WWW-Authenticate`, the function is
//! also `/mcp`'s `REQUEST` authorizer and API Gateway's own 401 and 403 carry
//! the challenges (see `add_edge`).
//!
//! The smoke test is what a spec-following MCP client would meet: no token
//! is 401 with the challenge, the challenge's metadata URL is reachable and
//! names this endpoint and its issuer, a token minted for another server is
//! 401. With a way to get tokens (the local issuer, or tokens the user
//! exports), it also shows token isolation: a read token lists no
//! destructive tool and is refused one with 403 `insufficient_scope`; an
//! admin token calls it. Without tokens it says what it could not check.

use futures_util::future::BoxFuture;
use mcp_settings::{Setting, TransferMode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::{Aws, explain};
use crate::client::{Answer, Auth, McpClient};
use crate::progress::Progress;
use crate::rung::{Check, Rung, Smoked};
use crate::smoke::SmokeCx;
use crate::teardown::{Recorded, by_name, gone, gone_by};
use crate::template::{Expr, Resource, SpecError, StackSpec, Template, ids as function_ids, tags};

/// The rung's name (its key in the smoke report).
pub const NAME: &str = "internet";

/// Logical ids.
pub mod ids {
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
    /// The API's deployment: the prefix of its logical id, which ends with
    /// a hash of the API's resources and methods (see `add_api`).
    pub const API_DEPLOYMENT: &str = "McpApiDeployment";
    /// Its stage.
    pub const API_STAGE: &str = "McpApiStage";
    /// The `REQUEST` authorizer of `ANY /mcp` (the function itself).
    pub const AUTHORIZER: &str = "McpApiAuthorizer";
    /// API Gateway's own 401 (no or bad token), with the challenge.
    pub const UNAUTHORIZED_RESPONSE: &str = "McpApiUnauthorizedResponse";
    /// API Gateway's own 403 (the authorizer denied a tool the token's
    /// scopes do not cover), with the step-up challenge.
    pub const ACCESS_DENIED_RESPONSE: &str = "McpApiAccessDeniedResponse";
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
}

/// Output keys.
pub mod outputs {
    /// The MCP endpoint.
    pub const API_URL: &str = "ApiUrl";
    /// Its protected resource metadata.
    pub const RESOURCE_METADATA_URL: &str = "ResourceMetadataUrl";
    /// The REST API's id.
    pub const REST_API_ID: &str = "RestApiId";
    /// The web ACL's ARN.
    pub const WEB_ACL_ARN: &str = "WebAclArn";
    /// `demo --local` only: the development issuer's token endpoint.
    pub const TOKEN_ENDPOINT: &str = "TokenEndpoint";
}

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
    /// The OAuth issuer (the function's [`Setting::OAuthIssuer`]).
    pub issuer: String,
    /// The audience tokens must name ([`Setting::OAuthAudience`]), or `auto`.
    pub audience: String,
    /// The key set's URL, when not the issuer metadata's.
    pub jwks_url: Option<String>,
    /// How long the function trusts a fetched key set before fetching it
    /// again, when not the function's default.
    pub jwks_max_age_s: Option<u64>,
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
    /// The integrations' `ResponseTransferMode` (the function's
    /// [`Setting::RestTransferMode`] matches it).
    pub transfer_mode: TransferMode,
}

impl InternetSpec {
    /// Checks the settings; an error names the flag.
    pub fn check(&self) -> Result<(), SpecError> {
        let range = SpecError::Range;
        url("--issuer", &self.issuer).map_err(range)?;
        audience(&self.audience).map_err(range)?;
        if let Some(jwks) = &self.jwks_url {
            url("--jwks-url", jwks).map_err(range)?;
        }
        for cidr in &self.allow_cidrs {
            self::cidr(cidr).map_err(range)?;
        }
        for code in &self.block_countries {
            country(code).map_err(range)?;
        }
        waf_rate_limit(&self.rate_limit.to_string()).map_err(range)?;
        if self.throttle_rate == 0 || self.throttle_burst == 0 {
            return Err(range(
                "--throttle-rate and --throttle-burst must be above 0".into(),
            ));
        }
        Ok(())
    }
}

/// The flags of this rung (`--exposure internet`).
#[derive(Debug, Clone, clap::Args)]
pub struct InternetArgs {
    /// With --exposure internet: the OAuth issuer whose tokens are accepted
    /// (its `iss`; metadata from /.well-known/openid-configuration).
    #[arg(long, value_name = "URL", value_parser = |u: &str| url("--issuer", u))]
    pub issuer: Option<String>,
    /// With --exposure internet: the URL clients use, which tokens must name
    /// in `aud`; `auto` for the API's own
    /// https://<api>.execute-api.<region>.amazonaws.com/prod/mcp.
    #[arg(long, value_name = "URL", value_parser = audience)]
    pub audience: Option<String>,
    /// With --exposure internet: the issuer's key set, if not its metadata's
    /// `jwks_uri`.
    #[arg(long, value_name = "URL", value_parser = |u: &str| url("--jwks-url", u))]
    pub jwks_url: Option<String>,
    /// With --exposure internet: the function fetches the issuer's key set
    /// again once it is this old, so a withdrawn key stops working within
    /// it (the function's default: an hour).
    #[arg(long = "jwks-max-age", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub jwks_max_age_s: Option<u64>,
    /// With --exposure internet: only these source CIDRs may call
    /// (repeatable; IPv4 or IPv6). Default: anyone.
    #[arg(long = "allow-cidr", value_name = "CIDR", value_parser = cidr)]
    pub allow_cidrs: Vec<String>,
    /// With --exposure internet: block requests from this country (ISO
    /// 3166-1 alpha-2, repeatable).
    #[arg(long = "block-country", value_name = "CC", value_parser = country)]
    pub block_countries: Vec<String>,
    /// With --exposure internet: WAF blocks a client IP above this many
    /// requests per 5 minutes.
    #[arg(long, default_value_t = DEFAULT_RATE_LIMIT, value_parser = waf_rate_limit)]
    pub waf_rate_limit: u32,
    /// With --exposure internet: the stage's throttling, requests per second.
    #[arg(long, default_value_t = DEFAULT_THROTTLE_RATE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub throttle_rate: u32,
    /// With --exposure internet: the stage's burst.
    #[arg(long, default_value_t = DEFAULT_THROTTLE_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub throttle_burst: u32,
    /// With --exposure internet: the API Gateway integrations'
    /// ResponseTransferMode. `stream` (the default) invokes the function
    /// with its response streamed, so a tool's progress notifications reach
    /// SSE clients while it runs, for up to 15 minutes; `buffered` answers
    /// every request in one piece, within API Gateway's 29 seconds.
    #[arg(long, value_enum, default_value_t = TransferModeArg::Stream)]
    pub response_transfer_mode: TransferModeArg,
}

/// `--response-transfer-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransferModeArg {
    /// `STREAM`.
    Stream,
    /// `BUFFERED`.
    Buffered,
}

/// The ids of the flags that apply only with `--exposure internet`.
pub const FLAGS: [&str; 10] = [
    "issuer",
    "audience",
    "jwks_url",
    "jwks_max_age_s",
    "allow_cidrs",
    "block_countries",
    "waf_rate_limit",
    "throttle_rate",
    "throttle_burst",
    "response_transfer_mode",
];

impl InternetArgs {
    /// The stack these flags ask for: issuer and audience required.
    pub fn spec(&self) -> anyhow::Result<InternetSpec> {
        let (Some(issuer), Some(audience)) = (&self.issuer, &self.audience) else {
            anyhow::bail!(
                "--exposure internet needs --issuer URL (your identity provider's issuer) and \
                 --audience URL (the endpoint URL tokens must name; `auto` for the API's own): \
                 without them the endpoint would have no one to trust"
            );
        };
        Ok(InternetSpec {
            issuer: issuer.clone(),
            audience: audience.clone(),
            ..self.local_spec()
        })
    }

    /// `demo --local`: the emulator brings its own development issuer and
    /// audience.
    pub fn local_spec(&self) -> InternetSpec {
        InternetSpec {
            issuer: String::new(),
            audience: AUTO_AUDIENCE.into(),
            jwks_url: self.jwks_url.clone(),
            jwks_max_age_s: self.jwks_max_age_s,
            allow_cidrs: self.allow_cidrs.clone(),
            block_countries: self.block_countries.clone(),
            rate_limit: self.waf_rate_limit,
            throttle_rate: self.throttle_rate,
            throttle_burst: self.throttle_burst,
            transfer_mode: match self.response_transfer_mode {
                TransferModeArg::Stream => TransferMode::Stream,
                TransferModeArg::Buffered => TransferMode::Buffered,
            },
        }
    }
}

/// An issuer or key set URL: https (http only on loopback), no query.
fn url(flag: &str, text: &str) -> Result<String, String> {
    mcp_oauth::config::check_url(flag, text)
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

fn audience(text: &str) -> Result<String, String> {
    if text == AUTO_AUDIENCE {
        return Ok(text.to_owned());
    }
    url("--audience", text)
}

fn cidr(text: &str) -> Result<String, String> {
    if !is_cidr(text) {
        return Err(format!(
            "--allow-cidr {text:?} is not a CIDR block like 203.0.113.0/24 or 2001:db8::/32"
        ));
    }
    // WAF's IP sets take any CIDR but /0 (the wafv2 API's IPSet
    // `Addresses`): allowing everyone is leaving --allow-cidr out.
    if text.ends_with("/0") {
        return Err(format!(
            "--allow-cidr {text:?} would allow every address, and WAF refuses /0 in an IP set: \
             leave --allow-cidr out to let anyone call"
        ));
    }
    Ok(text.to_owned())
}

/// The country codes WAF's geo match takes (the wafv2 API's `CountryCode`,
/// botocore `wafv2/2019-07-29`): ISO 3166-1 alpha-2, plus `XK` for Kosovo;
/// the United Kingdom is `GB`, and `EU` is not a country.
const WAF_COUNTRIES: [&str; 250] = [
    "AF", "AX", "AL", "DZ", "AS", "AD", "AO", "AI", "AQ", "AG", "AR", "AM", "AW", "AU", "AT", "AZ",
    "BS", "BH", "BD", "BB", "BY", "BE", "BZ", "BJ", "BM", "BT", "BO", "BQ", "BA", "BW", "BV", "BR",
    "IO", "BN", "BG", "BF", "BI", "KH", "CM", "CA", "CV", "KY", "CF", "TD", "CL", "CN", "CX", "CC",
    "CO", "KM", "CG", "CD", "CK", "CR", "CI", "HR", "CU", "CW", "CY", "CZ", "DK", "DJ", "DM", "DO",
    "EC", "EG", "SV", "GQ", "ER", "EE", "ET", "FK", "FO", "FJ", "FI", "FR", "GF", "PF", "TF", "GA",
    "GM", "GE", "DE", "GH", "GI", "GR", "GL", "GD", "GP", "GU", "GT", "GG", "GN", "GW", "GY", "HT",
    "HM", "VA", "HN", "HK", "HU", "IS", "IN", "ID", "IR", "IQ", "IE", "IM", "IL", "IT", "JM", "JP",
    "JE", "JO", "KZ", "KE", "KI", "KP", "KR", "KW", "KG", "LA", "LV", "LB", "LS", "LR", "LY", "LI",
    "LT", "LU", "MO", "MK", "MG", "MW", "MY", "MV", "ML", "MT", "MH", "MQ", "MR", "MU", "YT", "MX",
    "FM", "MD", "MC", "MN", "ME", "MS", "MA", "MZ", "MM", "NA", "NR", "NP", "NL", "NC", "NZ", "NI",
    "NE", "NG", "NU", "NF", "MP", "NO", "OM", "PK", "PW", "PS", "PA", "PG", "PY", "PE", "PH", "PN",
    "PL", "PT", "PR", "QA", "RE", "RO", "RU", "RW", "BL", "SH", "KN", "LC", "MF", "PM", "VC", "WS",
    "SM", "ST", "SA", "SN", "RS", "SC", "SL", "SG", "SX", "SK", "SI", "SB", "SO", "ZA", "GS", "SS",
    "ES", "LK", "SD", "SR", "SJ", "SZ", "SE", "CH", "SY", "TW", "TJ", "TZ", "TH", "TL", "TG", "TK",
    "TO", "TT", "TN", "TR", "TM", "TC", "TV", "UG", "UA", "AE", "GB", "US", "UM", "UY", "UZ", "VU",
    "VE", "VN", "VG", "VI", "WF", "EH", "YE", "ZM", "ZW", "XK",
];

fn country(code: &str) -> Result<String, String> {
    if WAF_COUNTRIES.contains(&code) {
        return Ok(code.to_owned());
    }
    let hint = match code {
        "UK" => ": the United Kingdom is GB",
        "EU" => ": the EU is not a country, name each member (DE, FR, ...)",
        _ => "",
    };
    Err(format!(
        "--block-country {code:?} is not one of the ISO 3166-1 alpha-2 codes WAF takes (like \
         KP){hint}"
    ))
}

/// WAF's range for a rate-based rule's limit.
fn waf_rate_limit(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (10..=2_000_000_000).contains(&n) => Ok(n),
        _ => {
            Err("--waf-rate-limit must be 10 to 2,000,000,000 requests per IP per 5 minutes".into())
        }
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

/// The API's protected resource metadata URL (`--audience auto`).
fn api_metadata_url() -> Expr {
    Expr::sub(format!(
        "https://${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE}/.well-known/oauth-protected-resource/mcp",
        ids::REST_API
    ))
}

/// Where the function publishes its metadata: under the API's URL, or the
/// audience's (a custom domain).
fn metadata_url(spec: &InternetSpec) -> Value {
    if spec.audience == AUTO_AUDIENCE {
        json!(api_metadata_url())
    } else {
        json!(mcp_oauth::resource_metadata_url(&spec.audience).unwrap_or_default())
    }
}

/// The function's settings for this rung: the OAuth resource server.
fn settings(spec: &InternetSpec, t: &mut Template) {
    t.set(Setting::Auth, "oauth");
    t.set(Setting::OAuthIssuer, &spec.issuer);
    if spec.audience == AUTO_AUDIENCE {
        t.set(Setting::OAuthAudience, endpoint_url());
    } else {
        t.set(Setting::OAuthAudience, &spec.audience);
    }
    if let Some(url) = &spec.jwks_url {
        t.set(Setting::OAuthJwksUrl, url);
    }
    if let Some(age) = spec.jwks_max_age_s {
        t.set(Setting::OAuthJwksMaxAgeS, age.to_string());
    }
    // The function's answers to REST events must match how the
    // integrations read them.
    if spec.transfer_mode != TransferMode::default() {
        t.set(Setting::RestTransferMode, spec.transfer_mode.as_str());
    }
}

/// The Lambda proxy integration of every method, in `mode`: `STREAM` invokes
/// the function with `InvokeWithResponseStream` (its own URI, API version
/// 2021-11-15) and passes its stream on; `BUFFERED` invokes it with
/// `Invoke` (docs: apigateway developerguide `response-transfer-mode-lambda`).
fn integration(mode: TransferMode) -> Value {
    let (version, action) = match mode {
        TransferMode::Stream => ("2021-11-15", "response-streaming-invocations"),
        TransferMode::Buffered => ("2015-03-31", "invocations"),
    };
    json!({
        "Type": "AWS_PROXY",
        "IntegrationHttpMethod": "POST",
        "ResponseTransferMode": mode.as_str(),
        "Uri": Expr::sub(format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/{version}/functions/${{{}.Arn}}/{action}",
            function_ids::FUNCTION
        ))
    })
}

fn visibility(metric: &str) -> Value {
    json!({
        "SampledRequestsEnabled": true,
        "CloudWatchMetricsEnabled": true,
        "MetricName": metric
    })
}

fn api() -> Expr {
    Expr::reference(ids::REST_API)
}

/// The API, its stage, the function's permission for it, and the web ACL.
fn add(t: &mut Template, spec: &InternetSpec) -> Result<(), SpecError> {
    let deployment = add_api(t, &metadata_url(spec), spec.transfer_mode)?;
    add_stage(t, spec, &deployment);
    // API Gateway may invoke the function for this API only.
    t.insert(
        ids::API_PERMISSION,
        Resource::new(
            "AWS::Lambda::Permission",
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": Expr::get_att(function_ids::FUNCTION, "Arn"),
                "Principal": "apigateway.amazonaws.com",
                "SourceAccount": Expr::reference("AWS::AccountId"),
                "SourceArn": Expr::sub(format!(
                    "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{}}}/*",
                    ids::REST_API
                ))
            }),
        ),
    );
    add_web_acl(t, spec);
    Ok(())
}

/// API Gateway's edge of the OAuth resource server: the function as the
/// `REQUEST` authorizer of `/mcp` (no caching: it reads each request's
/// `Mcp-Method`/`Mcp-Name` to deny a tool the token's scopes do not cover),
/// and API Gateway's own 401 and 403 carrying the challenges. A Lambda proxy
/// integration's `WWW-Authenticate` reaches clients renamed to
/// `x-amzn-Remapped-WWW-Authenticate`; API Gateway's own responses are not
/// renamed. Their values are static (`'...'`): the metadata URL, the
/// scopes a first token should carry (401) and every scope (403; static, so
/// it cannot name one tool's). Returns the resources (id, properties), which
/// the deployment publishes.
fn add_edge(t: &mut Template, metadata: &Value) -> Result<Vec<(&'static str, Value)>, SpecError> {
    let scopes = challenge_scopes(t)?;
    let authorizer = json!({
        "RestApiId": api(),
        "Name": Expr::sub("${AWS::StackName}-oauth"),
        "Type": "REQUEST",
        "AuthorizerUri": Expr::sub(format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{}.Arn}}/invocations",
            function_ids::FUNCTION
        )),
        "IdentitySource": "method.request.header.Authorization",
        "AuthorizerResultTtlInSeconds": 0
    });
    let challenge = |prefix: &str, scope: &str| {
        let Some(url) = metadata.as_str() else {
            // `--audience auto`: the URL is the API's, known once deployed.
            let sub = metadata["Fn::Sub"].as_str().unwrap_or_default();
            return json!(Expr::sub(format!(
                "'Bearer {prefix}resource_metadata=\"{sub}\", scope=\"{scope}\"'"
            )));
        };
        json!(format!(
            "'Bearer {prefix}resource_metadata=\"{url}\", scope=\"{scope}\"'"
        ))
    };
    let response = |kind: &str, status: &str, challenge: Value, message: &str, code: i32| {
        let body =
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
        json!({
            "RestApiId": api(),
            "ResponseType": kind,
            "StatusCode": status,
            "ResponseParameters": {"gatewayresponse.header.WWW-Authenticate": challenge},
            "ResponseTemplates": {"application/json": body.to_string()}
        })
    };
    let parts = vec![
        (ids::AUTHORIZER, "AWS::ApiGateway::Authorizer", authorizer),
        (
            ids::UNAUTHORIZED_RESPONSE,
            "AWS::ApiGateway::GatewayResponse",
            response(
                "UNAUTHORIZED",
                "401",
                challenge("", &scopes.baseline.join(" ")),
                "this endpoint needs a valid bearer token: see the WWW-Authenticate challenge",
                -32001,
            ),
        ),
        (
            ids::ACCESS_DENIED_RESPONSE,
            "AWS::ApiGateway::GatewayResponse",
            response(
                "ACCESS_DENIED",
                "403",
                challenge(
                    "error=\"insufficient_scope\", ",
                    &scopes.supported.join(" "),
                ),
                "the token's scopes do not cover this tool: get a token with the scopes the \
                 WWW-Authenticate challenge names",
                -32003,
            ),
        ),
    ];
    Ok(parts
        .into_iter()
        .map(|(id, kind, properties)| {
            t.insert(id, Resource::new(kind, properties.clone()));
            (id, properties)
        })
        .collect())
}

/// The scopes the function's challenges name under the stack's settings:
/// a first token's (the read-only tools') and every one.
fn challenge_scopes(t: &Template) -> Result<mcp_oauth::Scopes, SpecError> {
    let lookup = |name: &str| -> Option<String> {
        if name == Setting::OAuthAudience.name() {
            // The audience does not change the scopes (and is not known
            // before deployment with `--audience auto`).
            return Some("https://audience.invalid/mcp".into());
        }
        let setting = Setting::ALL.iter().find(|s| s.name() == name)?;
        t.setting(*setting)?.as_str().map(str::to_owned)
    };
    mcp_settings::FunctionSettings::from_lookup(lookup)
        .map_err(|e| e.to_string())
        .and_then(|s| mcp_lambda::App::published_scopes(&s).map_err(|e| e.to_string()))
        .map_err(|e| SpecError::Range(format!("the function's scopes: {e}")))
}

/// The REST API, its paths, their methods as Lambda proxy integrations, and
/// the deployment of them; returns the deployment's logical id.
fn add_api(t: &mut Template, metadata: &Value, mode: TransferMode) -> Result<String, SpecError> {
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
    t.insert(ids::REST_API, rest_api);

    let integration = integration(mode);
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
    // What the deployment publishes, for its logical id.
    let mut published = Vec::new();
    for (id, part, parent) in paths {
        let parent = match parent {
            Some(parent) => Expr::reference(parent),
            None => Expr::get_att(ids::REST_API, "RootResourceId"),
        };
        let resource = json!({"RestApiId": api(), "ParentId": parent, "PathPart": part});
        published.push(json!([id, resource]));
        t.insert(id, Resource::new("AWS::ApiGateway::Resource", resource));
    }
    // `/mcp` behind the function as a REQUEST authorizer (see `add_edge`);
    // the metadata must be readable without a token.
    let methods = [
        (ids::API_MCP_METHOD, ids::API_MCP, "ANY", true),
        (ids::API_METADATA_METHOD, ids::API_METADATA, "GET", false),
        (
            ids::API_METADATA_MCP_METHOD,
            ids::API_METADATA_MCP,
            "GET",
            false,
        ),
    ];
    for (id, resource, verb, authorized) in methods {
        let mut method = json!({
            "RestApiId": api(),
            "ResourceId": Expr::reference(resource),
            "HttpMethod": verb,
            "AuthorizationType": "NONE",
            "Integration": integration
        });
        if authorized {
            method["AuthorizationType"] = json!("CUSTOM");
            method["AuthorizerId"] = json!(Expr::reference(ids::AUTHORIZER));
        }
        published.push(json!([id, method]));
        t.insert(id, Resource::new("AWS::ApiGateway::Method", method));
    }
    let edge = add_edge(t, metadata)?;
    published.extend(edge.iter().map(|(id, r)| json!([id, r])));
    let mut deployment = Resource::new(
        "AWS::ApiGateway::Deployment",
        json!({"RestApiId": api(), "Description": "mcp-ladder"}),
    );
    deployment.depends_on = methods.iter().map(|(id, ..)| (*id).to_owned()).collect();
    deployment
        .depends_on
        .extend(edge.into_iter().map(|(id, _)| id.to_owned()));
    let id = deployment_id(&Value::Array(published));
    t.insert(id.clone(), deployment);
    Ok(id)
}

/// The deployment's logical id: CloudFormation makes a new deployment only
/// when the `AWS::ApiGateway::Deployment` resource itself changes, not when
/// the methods or integrations it publishes do, so a hash of those is part
/// of its id and a changed API is deployed again.
fn deployment_id(published: &Value) -> String {
    use sha2::Digest as _;
    let text = mcp_core::model::sort_keys(published).to_string();
    let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    format!("{}{}", ids::API_DEPLOYMENT, &digest[..12])
}

/// The stage of `deployment`, throttled.
fn add_stage(t: &mut Template, spec: &InternetSpec, deployment: &str) {
    t.insert(
        ids::API_STAGE,
        Resource::new(
            "AWS::ApiGateway::Stage",
            json!({
                "RestApiId": api(),
                "DeploymentId": Expr::reference(deployment),
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
}

/// A blocking rule of the web ACL (priorities follow the list's order),
/// answering with `status` and the JSON-RPC-shaped body `body` (a key of
/// [`response_bodies`]) instead of WAF's bare 403.
fn rule(name: &str, statement: Value, status: u16, body: &str) -> Value {
    let mut response = json!({"ResponseCode": status, "CustomResponseBodyKey": body});
    if status == 429 {
        // The rate rule looks back over its window and lifts the block once
        // the address's rate falls: a minute is a fair first wait.
        response["ResponseHeaders"] = json!([{"Name": "Retry-After", "Value": "60"}]);
    }
    json!({
        "Name": name,
        "Action": {"Block": {"CustomResponse": response}},
        "Statement": statement,
        "VisibilityConfig": visibility(name)
    })
}

/// The bodies of WAF's answers, shaped as JSON-RPC errors so that an MCP
/// client shows the reason instead of an empty 403.
fn response_bodies() -> Value {
    let error = |code: i32, message: &str| {
        let body =
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
        json!({"ContentType": "APPLICATION_JSON", "Content": body.to_string()})
    };
    json!({
        "slow-down": error(-32000, "too many requests from this address: wait for Retry-After seconds, then retry"),
        "blocked-source": error(-32001, "this endpoint does not accept requests from this address or country")
    })
}

/// The common rule set's rules that inspect the body and misfire on MCP's
/// JSON tool arguments, set to count (logged, not blocked): an argument with
/// `<script>` (`CrossSiteScripting_BODY`), `../` (`GenericLFI_BODY`), a URL
/// (`GenericRFI_BODY`) or `169.254.169.254` (`EC2MetaDataSSRF_BODY`) is data
/// a tool may legitimately take, and bodies over 8 KB
/// (`SizeRestrictions_BODY`) are ordinary tool calls; the function bounds
/// bodies itself (1 MiB) and checks every token. The header and query rules
/// (`NoUserAgent_HEADER` among them) keep blocking.
const COUNTED_RULES: [&str; 5] = [
    "SizeRestrictions_BODY",
    "CrossSiteScripting_BODY",
    "GenericLFI_BODY",
    "GenericRFI_BODY",
    "EC2MetaDataSSRF_BODY",
];

/// The allowed CIDRs as IP sets (one per IP version), and the rule that
/// blocks every other source; none when anyone may call.
fn allow_list(t: &mut Template, spec: &InternetSpec) -> Option<Value> {
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
        let name = Expr::sub(format!(
            "${{AWS::StackName}}-{}",
            version.to_ascii_lowercase()
        ));
        let set = json!({
            "Name": name,
            "Scope": "REGIONAL",
            "IPAddressVersion": version,
            "Addresses": cidrs,
            "Tags": tags()
        });
        t.insert(id, Resource::new("AWS::WAFv2::IPSet", set));
        sets.push(json!({"IPSetReferenceStatement": {"Arn": Expr::get_att(id, "Arn")}}));
    }
    let allowed = match sets.len() {
        0 => return None,
        1 => sets.remove(0),
        _ => json!({"OrStatement": {"Statements": sets}}),
    };
    Some(rule(
        "only-allowed-cidrs",
        json!({"NotStatement": {"Statement": allowed}}),
        403,
        "blocked-source",
    ))
}

fn add_web_acl(t: &mut Template, spec: &InternetSpec) {
    let mut rules: Vec<Value> = allow_list(t, spec).into_iter().collect();
    if !spec.block_countries.is_empty() {
        let countries = json!({"GeoMatchStatement": {"CountryCodes": spec.block_countries}});
        rules.push(rule("blocked-countries", countries, 403, "blocked-source"));
    }
    let rate = json!({"RateBasedStatement": {
        "Limit": spec.rate_limit,
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 300
    }});
    rules.push(rule("rate-per-ip", rate, 429, "slow-down"));
    // The common rule set, with the body rules that misfire on MCP set to
    // count. A rule group takes an override action, not an action.
    let counted: Vec<Value> = COUNTED_RULES
        .iter()
        .map(|name| json!({"Name": name, "ActionToUse": {"Count": {}}}))
        .collect();
    let common = json!({
        "Name": "aws-common-rule-set",
        "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {
            "VendorName": "AWS",
            "Name": "AWSManagedRulesCommonRuleSet",
            "RuleActionOverrides": counted,
            // Not the metadata: the official Python SDK (mcp 2.3.0) fetches
            // it with a bare request, no User-Agent, which
            // `NoUserAgent_HEADER` would block; it is a static public GET.
            "ScopeDownStatement": {"NotStatement": {"Statement": {"ByteMatchStatement": {
                "FieldToMatch": {"UriPath": {}},
                "PositionalConstraint": "STARTS_WITH",
                "SearchString": format!("/{STAGE}/.well-known/"),
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}]
            }}}}
        }},
        "VisibilityConfig": visibility("aws-common-rule-set")
    });
    rules.push(common);
    for (priority, rule) in rules.iter_mut().enumerate() {
        rule["Priority"] = json!(priority);
    }
    t.insert(
        ids::WEB_ACL,
        Resource::new(
            "AWS::WAFv2::WebACL",
            json!({
                "Name": Expr::sub("${AWS::StackName}-waf"),
                "Description": "mcp-ladder: rate per IP answered 429, the AWS common rule set with its body rules counted, and the IP and country rules asked for answered 403",
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Rules": rules,
                "CustomResponseBodies": response_bodies(),
                "VisibilityConfig": visibility("mcp-ladder"),
                "Tags": tags()
            }),
        ),
    );
    t.insert(
        ids::WEB_ACL_ASSOCIATION,
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
fn outputs(t: &mut Template) {
    t.output(
        outputs::API_URL,
        Some("The MCP endpoint on the internet (OAuth bearer tokens, behind WAF)"),
        endpoint_url(),
    );
    t.output(
        outputs::RESOURCE_METADATA_URL,
        Some("The endpoint's OAuth Protected Resource Metadata (RFC 9728)"),
        api_metadata_url(),
    );
    t.output(outputs::REST_API_ID, None, Expr::reference(ids::REST_API));
    t.output(
        outputs::WEB_ACL_ARN,
        None,
        Expr::get_att(ids::WEB_ACL, "Arn"),
    );
}

/// Rung 4.
#[derive(Debug)]
pub struct Internet;

impl Rung for Internet {
    fn name(&self) -> &'static str {
        NAME
    }

    fn synth(&self, spec: &StackSpec, t: &mut Template) -> Result<(), SpecError> {
        let Some(internet) = &spec.internet else {
            return Ok(());
        };
        internet.check()?;
        if spec.gateway.is_some() || spec.url.is_some() {
            return Err(SpecError::Range(
                "the internet-facing stack has one front, API Gateway with OAuth: it takes no \
                 gateway and no Function URL"
                    .into(),
            ));
        }
        t.description = "mcp-ladder: an MCP server on Lambda, on the internet behind API Gateway and WAF, checking OAuth bearer tokens";
        t.function_description = "MCP server (mcp-ladder) on the internet: API Gateway and WAF in front, OAuth bearer tokens checked";
        settings(internet, t);
        add(t, internet)?;
        outputs(t);
        Ok(())
    }

    fn endpoint(&self) -> Option<&'static str> {
        Some(outputs::API_URL)
    }

    fn smoke<'a>(&'a self, cx: &'a SmokeCx<'a>) -> BoxFuture<'a, anyhow::Result<Option<Smoked>>> {
        Box::pin(async move {
            let Some(api_url) = cx.outputs.get(outputs::API_URL) else {
                return Ok(None);
            };
            // Bearer tokens, not SigV4: no AWS credentials are needed.
            let api_url = crate::hooks::api_url(api_url);
            let tokens = match cx.outputs.get(outputs::TOKEN_ENDPOINT) {
                Some(endpoint) => Tokens::Endpoint(endpoint.to_owned()),
                None => Tokens::from_env(),
            };
            let report = smoke(&api_url, &tokens, cx.progress).await?;
            let summary = if report.not_checked.is_empty() {
                "no token and foreign tokens out, scopes decide the tools"
            } else {
                "no token out, with checks left out (named above)"
            };
            Ok(Some(Smoked {
                report: serde_json::to_value(report)?,
                summary: summary.into(),
            }))
        })
    }

    fn checks(&self) -> &'static [(&'static str, Check)] {
        const CHECKS: [(&str, Check); 10] = [
            (
                "AWS::ApiGateway::RestApi",
                gone_by!(
                    "REST API",
                    |aws, id| aws.apigateway.get_rest_api().rest_api_id(id),
                    is_not_found_exception
                ),
            ),
            // CloudFormation names WAFv2 resources `name|id|scope`.
            ("AWS::WAFv2::WebACL", Check::Slow(web_acl_gone)),
            ("AWS::WAFv2::IPSet", Check::Gone(ip_set_gone)),
            // The API's parts go with the API (whose deletion is verified);
            // the association with the web ACL and the stage.
            ("AWS::ApiGateway::Resource", Check::Part),
            ("AWS::ApiGateway::Method", Check::Part),
            ("AWS::ApiGateway::Deployment", Check::Part),
            ("AWS::ApiGateway::Stage", Check::Part),
            ("AWS::ApiGateway::Authorizer", Check::Part),
            ("AWS::ApiGateway::GatewayResponse", Check::Part),
            ("AWS::WAFv2::WebACLAssociation", Check::Part),
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
            let named = |suffix: &str, logical_id: &'static str| {
                let name = format!("{stack_name}-{suffix}");
                move |listed: &str| (listed == name).then_some(logical_id)
            };
            let mut found = by_name(
                rest_apis(aws).await,
                named("api", ids::REST_API),
                "AWS::ApiGateway::RestApi",
                "aws apigateway get-rest-apis",
                progress,
            );
            found.extend(by_name(
                waf_listed(aws, Waf::WebAcls).await,
                named("waf", ids::WEB_ACL),
                "AWS::WAFv2::WebACL",
                "aws wafv2 list-web-acls --scope REGIONAL",
                progress,
            ));
            let (v4, v6) = (
                named("ipv4", ids::ALLOWED_IPV4),
                named("ipv6", ids::ALLOWED_IPV6),
            );
            found.extend(by_name(
                waf_listed(aws, Waf::IpSets).await,
                |name: &str| v4(name).or_else(|| v6(name)),
                "AWS::WAFv2::IPSet",
                "aws wafv2 list-ip-sets --scope REGIONAL",
                progress,
            ));
            found
        })
    }

    fn configure_local(&self, spec: &StackSpec, config: &mut lambda_emulator::EmulatorConfig) {
        if spec.internet.is_some() {
            // The stack's own web ACL (as far as WAF's rules are exact),
            // authorizer and gateway responses.
            // The stack's issuer is the development issuer, started later:
            // what the template says of it does not reach the emulator.
            let mut synthesized = spec.clone();
            if let Some(internet) = &mut synthesized.internet {
                internet.issuer = "https://issuer.invalid".into();
            }
            let template = crate::template::synth(&synthesized).map_err(anyhow::Error::from);
            let acl = template
                .as_ref()
                .map_err(|e| anyhow::anyhow!("{e:#}"))
                .and_then(lambda_emulator::waf::WebAcl::from_template);
            let acl = acl.unwrap_or_else(|e| {
                eprintln!("the local REST API runs WITHOUT the stack's web ACL: {e:#}");
                None
            });
            config.rest_api = Some(lambda_emulator::RestApiConfig {
                port: 0,
                stage: STAGE.into(),
                web_acl: acl.map(std::sync::Arc::new),
                template: template.ok().map(std::sync::Arc::new),
                transfer_mode: spec
                    .internet
                    .as_ref()
                    .map_or(TransferMode::default(), |i| i.transfer_mode),
                ..lambda_emulator::RestApiConfig::default()
            });
            config.dev_issuer = true;
        }
    }

    fn serve_local<'a>(
        &'a self,
        spec: &'a StackSpec,
        emulator: &'a lambda_emulator::Emulator,
        progress: &'a Progress,
    ) -> BoxFuture<'a, anyhow::Result<Vec<(&'static str, String)>>> {
        Box::pin(async move {
            if spec.internet.is_none() {
                return Ok(Vec::new());
            }
            let (Some(api_url), Some(issuer)) = (emulator.rest_api_url(), emulator.issuer()) else {
                anyhow::bail!("the emulator started without its REST API or issuer");
            };
            progress.story(
                "  local API Gateway REST API (emulated; on AWS a REGIONAL WAF web ACL is \
                 associated with its stage) and a development OIDC issuer (a test double)",
            );
            Ok(vec![
                (outputs::API_URL, api_url.to_owned()),
                (outputs::TOKEN_ENDPOINT, format!("{}/token", issuer.url())),
            ])
        })
    }
}

/// A WAFv2 physical id's `name|id|scope`.
fn waf_parts(physical_id: &str) -> (&str, &str, &str) {
    let mut parts = physical_id.splitn(3, '|');
    let mut next = || parts.next().unwrap_or_default();
    (next(), next(), next())
}

/// Every REST API of the region, as `(name, id)`.
async fn rest_apis(aws: &Aws) -> anyhow::Result<Vec<(String, String)>> {
    let mut items = aws
        .apigateway
        .get_rest_apis()
        .into_paginator()
        .items()
        .send();
    let mut apis = Vec::new();
    while let Some(api) = items.next().await {
        let api = api.map_err(|e| explain(e, "listing REST APIs"))?;
        if let (Some(name), Some(id)) = (api.name(), api.id()) {
            apis.push((name.to_owned(), id.to_owned()));
        }
    }
    Ok(apis)
}

/// The regional WAF resources listed by name.
#[derive(Clone, Copy)]
enum Waf {
    WebAcls,
    IpSets,
}

/// Every regional web ACL or IP set, as `(name, name|id|REGIONAL)` - the
/// physical id CloudFormation gives them. WAF pages with `NextMarker`.
async fn waf_listed(aws: &Aws, what: Waf) -> anyhow::Result<Vec<(String, String)>> {
    // One page of either list, as `(name, id)`s and the next marker.
    macro_rules! page {
        ($request:expr, $summaries:ident, $doing:literal, $marker:expr) => {{
            let scope = aws_sdk_wafv2::types::Scope::Regional;
            let page = $request.scope(scope).set_next_marker($marker).send().await;
            let page = page.map_err(|e| explain(e, $doing))?;
            let summaries = page.$summaries().iter();
            let named = summaries.filter_map(|s| Some((s.name()?.to_owned(), s.id()?.to_owned())));
            (
                named.collect::<Vec<_>>(),
                page.next_marker().map(str::to_owned),
            )
        }};
    }
    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let (page, next) = match what {
            Waf::WebAcls => page!(
                aws.wafv2.list_web_acls(),
                web_acls,
                "listing web ACLs",
                marker.take()
            ),
            Waf::IpSets => page!(
                aws.wafv2.list_ip_sets(),
                ip_sets,
                "listing IP sets",
                marker.take()
            ),
        };
        let empty = page.is_empty();
        listed.extend(
            page.into_iter()
                .map(|(name, id)| (name.clone(), format!("{name}|{id}|REGIONAL"))),
        );
        match next {
            Some(next) if !empty => marker = Some(next),
            _ => return Ok(listed),
        }
    }
}

fn web_acl_gone<'a>(aws: &'a Aws, id: &'a str) -> BoxFuture<'a, anyhow::Result<bool>> {
    Box::pin(async move {
        let (name, acl, scope) = waf_parts(id);
        let lookup = aws
            .wafv2
            .get_web_acl()
            .name(name)
            .id(acl)
            .scope(scope.into());
        gone(
            lookup.send().await,
            |e| e.is_waf_nonexistent_item_exception(),
            &format!("checking web ACL {name}"),
        )
    })
}

fn ip_set_gone<'a>(aws: &'a Aws, id: &'a str) -> BoxFuture<'a, anyhow::Result<bool>> {
    Box::pin(async move {
        let (name, set, scope) = waf_parts(id);
        let lookup = aws
            .wafv2
            .get_ip_set()
            .name(name)
            .id(set)
            .scope(scope.into());
        gone(
            lookup.send().await,
            |e| e.is_waf_nonexistent_item_exception(),
            &format!("checking IP set {name}"),
        )
    })
}

/// The destructive demo tool of the isolation story.
const DESTRUCTIVE: &str = "demo_drop_table";

/// Where the smoke test gets tokens.
#[derive(Debug, Clone)]
pub enum Tokens {
    /// A token endpoint that grants `client_credentials` for any scope and
    /// `resource` (the emulator's development issuer).
    Endpoint(String),
    /// Tokens the user obtained: `MCP_SMOKE_TOKEN_READ` (for this endpoint,
    /// without the admin scope), `MCP_SMOKE_TOKEN_ADMIN` (with it),
    /// `MCP_SMOKE_TOKEN_OTHER_AUDIENCE` (for another server).
    Given {
        /// A read-only token for this endpoint.
        read: Option<String>,
        /// A token with the admin scope.
        admin: Option<String>,
        /// A token minted for another audience.
        other_audience: Option<String>,
    },
}

impl Tokens {
    /// The tokens the user exported, if any.
    pub fn from_env() -> Tokens {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Tokens::Given {
            read: var("MCP_SMOKE_TOKEN_READ"),
            admin: var("MCP_SMOKE_TOKEN_ADMIN"),
            other_audience: var("MCP_SMOKE_TOKEN_OTHER_AUDIENCE"),
        }
    }
}

/// What the internet smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InternetSmokeReport {
    /// The MCP endpoint.
    pub api_url: String,
    /// The 401's `WWW-Authenticate`.
    pub challenge: String,
    /// The protected resource metadata.
    pub metadata: Value,
    /// The tools a read token listed, when one was available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_tools: Option<Vec<String>>,
    /// What was checked.
    pub checked: Vec<String>,
    /// What could not be checked, and why.
    pub not_checked: Vec<String>,
}

/// The endpoint's answer to `message` with `token` (or none).
async fn post(client: &McpClient, token: Option<&str>, message: &Value) -> anyhow::Result<Answer> {
    let auth = token.map_or(Auth::None, |t| Auth::Bearer(t.to_owned()));
    client.with_auth(auth).send(message).await
}

fn challenge(answer: &Answer) -> String {
    answer
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned()
}

async fn get_json(client: &McpClient, url: &str) -> anyhow::Result<Value> {
    let response = client
        .http()
        .get(url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("GET {url} answered {status}");
    }
    response
        .json()
        .await
        .map_err(|e| anyhow::anyhow!("GET {url} is not JSON: {e}"))
}

/// The quoted value of `name` in a `WWW-Authenticate` challenge.
pub fn challenge_param<'c>(challenge: &'c str, name: &str) -> Option<&'c str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &challenge[start..];
    rest.find('"').map(|end| &rest[..end])
}

async fn mint(
    client: &McpClient,
    endpoint: &str,
    audience: &str,
    scope: &str,
) -> anyhow::Result<String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "mcp-deploy-smoke"),
        ("scope", scope),
        ("resource", audience),
    ];
    let answer: Value = client
        .http()
        .post(endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("POST {endpoint}: {e}"))?
        .json()
        .await
        .map_err(|e| anyhow::anyhow!("the token endpoint's answer is not JSON: {e}"))?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the token endpoint gave no access_token: {answer}"))
}

fn list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

fn call_destructive() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": DESTRUCTIVE, "arguments": {"table": "customers"}}})
}

/// What the smoke test learnt so far, and what it could not check.
struct Findings {
    checked: Vec<String>,
    not_checked: Vec<String>,
}

/// Step 1, no token: 401 with a Bearer challenge naming the metadata.
async fn no_token(client: &McpClient, progress: &Progress) -> anyhow::Result<(String, String)> {
    let answer = post(client, None, &list()).await?;
    let challenge = challenge(&answer);
    if answer.status != 401 || !challenge.starts_with("Bearer ") {
        anyhow::bail!(
            "without a token the endpoint answered {} (challenge {challenge:?}), not 401 with a \
             Bearer challenge: it is not checking tokens. Tear it down (mcp-deploy teardown)",
            answer.status
        );
    }
    let Some(metadata_url) = challenge_param(&challenge, "resource_metadata") else {
        anyhow::bail!("the 401 challenge names no resource_metadata: {challenge}");
    };
    progress.story(format!("no token -> 401, WWW-Authenticate: {challenge}"));
    Ok((metadata_url.to_owned(), challenge))
}

/// Step 2, discovery: the metadata names this endpoint and its issuer.
async fn discover(
    client: &McpClient,
    api_url: &str,
    metadata_url: &str,
    progress: &Progress,
) -> anyhow::Result<(Value, String)> {
    let metadata = get_json(client, metadata_url).await?;
    if metadata["resource"] != json!(api_url) {
        anyhow::bail!(
            "the resource metadata at {metadata_url} names {} as its resource, not {api_url}: \
             clients will refuse it (set --audience to the URL clients use)",
            metadata["resource"]
        );
    }
    let issuer = metadata["authorization_servers"][0]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the resource metadata names no authorization server"))?
        .to_owned();
    progress.story(format!(
        "discovery: {metadata_url} -> resource {api_url}, authorization server {issuer}"
    ));
    Ok((metadata, issuer))
}

/// The tokens to try: `(read, admin, other audience)`.
async fn tokens(
    client: &McpClient,
    tokens: &Tokens,
    api_url: &str,
    issuer: &str,
    progress: &Progress,
) -> anyhow::Result<[Option<String>; 3]> {
    let endpoint = match tokens {
        Tokens::Given {
            read,
            admin,
            other_audience,
        } => return Ok([read.clone(), admin.clone(), other_audience.clone()]),
        Tokens::Endpoint(endpoint) => endpoint,
    };
    let openid = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let discovery = get_json(client, &openid).await?;
    progress.story(format!(
        "discovery: {issuer} publishes token endpoint {}",
        discovery["token_endpoint"]
    ));
    let other = "https://other.example.com/mcp";
    Ok([
        Some(mint(client, endpoint, api_url, "mcp:read").await?),
        Some(mint(client, endpoint, api_url, "mcp:read mcp:admin").await?),
        Some(mint(client, endpoint, other, "mcp:read mcp:admin").await?),
    ])
}

/// Step 3, a token for another server: 401. API Gateway's own 401 (the
/// authorizer's refusal) carries one static challenge for a missing and a
/// bad token alike, so `error="invalid_token"` is not looked for.
async fn foreign_token(client: &McpClient, token: &str, progress: &Progress) -> anyhow::Result<()> {
    let answer = post(client, Some(token), &list()).await?;
    if answer.status != 401 || !challenge(&answer).starts_with("Bearer ") {
        anyhow::bail!(
            "a token minted for another audience got {}, not 401 with a Bearer challenge: the \
             endpoint does not check `aud`. Tear it down",
            answer.status
        );
    }
    progress.story(format!(
        "a token for another server -> 401, WWW-Authenticate: {}",
        challenge(&answer)
    ));
    Ok(())
}

/// Step 4, a read token: no destructive tool listed, 403 calling it.
async fn read_token(
    client: &McpClient,
    token: &str,
    progress: &Progress,
) -> anyhow::Result<Vec<String>> {
    let answer = post(client, Some(token), &list()).await?;
    if answer.status != 200 {
        anyhow::bail!(
            "a read token could not list tools ({}): {}",
            answer.status,
            answer.body
        );
    }
    let names: Vec<String> = answer.body["result"]["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    progress.story(format!("read token: tools/list -> {}", names.join(", ")));
    if names.iter().any(|n| n == DESTRUCTIVE) {
        anyhow::bail!("a read token sees {DESTRUCTIVE}: scopes per tool are not applied");
    }
    let refused = post(client, Some(token), &call_destructive()).await?;
    let challenge = challenge(&refused);
    if refused.status != 403 || !challenge.contains("insufficient_scope") {
        anyhow::bail!(
            "a read token calling {DESTRUCTIVE} got {}, not 403 insufficient_scope",
            refused.status
        );
    }
    progress.story(format!(
        "read token: tools/call {DESTRUCTIVE} (a \"hallucinated\" call) -> 403, WWW-Authenticate: {challenge}"
    ));
    Ok(names)
}

/// Step 5, an admin token: the destructive tool runs.
async fn admin_token(client: &McpClient, token: &str, progress: &Progress) -> anyhow::Result<()> {
    let done = post(client, Some(token), &call_destructive()).await?;
    if done.status != 200 || done.body["result"]["isError"] == json!(true) {
        anyhow::bail!(
            "an admin token could not call {DESTRUCTIVE} ({}): {}",
            done.status,
            done.body
        );
    }
    progress.story(format!(
        "admin token: tools/call {DESTRUCTIVE} -> 200 {}",
        done.body["result"]["structuredContent"]
    ));
    Ok(())
}

impl Findings {
    /// Runs `check` when there is a token for it, else notes what to export.
    async fn with<F: Future<Output = anyhow::Result<()>>>(
        &mut self,
        token: Option<String>,
        check: impl FnOnce(String) -> F,
        passed: &str,
        missing: &str,
    ) -> anyhow::Result<()> {
        match token {
            Some(token) => {
                check(token).await?;
                self.checked.push(passed.to_owned());
            }
            None => self.not_checked.push(missing.to_owned()),
        }
        Ok(())
    }
}

/// The smoke test of an internet-facing endpoint.
pub async fn smoke(
    api_url: &str,
    tokens: &Tokens,
    progress: &Progress,
) -> anyhow::Result<InternetSmokeReport> {
    let client = McpClient::new(api_url, Auth::None)?;
    let mut found = Findings {
        checked: Vec::new(),
        not_checked: Vec::new(),
    };
    progress.story(">>> DEMO: the internet-facing endpoint (OAuth resource server behind WAF)");
    let (metadata_url, challenge) = no_token(&client, progress).await?;
    found
        .checked
        .push("no token: 401 with the Bearer challenge".into());
    let (metadata, issuer) = discover(&client, api_url, &metadata_url, progress).await?;
    found
        .checked
        .push("protected resource metadata: reachable, names this endpoint".into());
    let [read, admin, other] = self::tokens(&client, tokens, api_url, &issuer, progress).await?;
    let c = &client;
    found
        .with(
            other,
            |t| async move { foreign_token(c, &t, progress).await },
            "a token for another audience: 401",
            "a token for another audience (export MCP_SMOKE_TOKEN_OTHER_AUDIENCE to check it)",
        )
        .await?;
    let mut read_tools = None;
    let tools = &mut read_tools;
    found
        .with(
            read,
            |t| async move {
                *tools = Some(read_token(c, &t, progress).await?);
                Ok(())
            },
            "a read token: no destructive tool listed, and 403 insufficient_scope calling it",
            "token isolation with a read token (export MCP_SMOKE_TOKEN_READ to check it)",
        )
        .await?;
    found
        .with(
            admin,
            |t| async move { admin_token(c, &t, progress).await },
            "an admin token: the destructive tool runs",
            "an admin token's call (export MCP_SMOKE_TOKEN_ADMIN to check it)",
        )
        .await?;
    for what in &found.not_checked {
        progress.say(format!("not checked: {what}"));
    }
    progress.story("OK: unauthenticated and foreign tokens are refused; scopes decide the tools.");
    Ok(InternetSmokeReport {
        api_url: api_url.to_owned(),
        challenge,
        metadata,
        read_tools,
        checked: found.checked,
        not_checked: found.not_checked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_api_is_deployed_again() {
        let a = deployment_id(&json!([["McpApiMcpMethod", {"HttpMethod": "ANY"}]]));
        let b = deployment_id(&json!([["McpApiMcpMethod", {"HttpMethod": "POST"}]]));
        assert!(a.starts_with(ids::API_DEPLOYMENT) && a.len() == ids::API_DEPLOYMENT.len() + 12);
        assert_ne!(a, b);
        assert_eq!(
            a,
            deployment_id(&json!([["McpApiMcpMethod", {"HttpMethod": "ANY"}]]))
        );
    }

    #[test]
    fn the_integrations_and_the_function_agree_on_the_transfer_mode() {
        for (mode, uri, env) in [
            (
                TransferMode::Stream,
                "/2021-11-15/functions/${McpServerFunction.Arn}/response-streaming-invocations",
                Some("STREAM"),
            ),
            (
                TransferMode::Buffered,
                "/2015-03-31/functions/${McpServerFunction.Arn}/invocations",
                None,
            ),
        ] {
            let args = InternetArgs {
                issuer: Some("https://issuer.example.com".into()),
                audience: Some(AUTO_AUDIENCE.into()),
                jwks_url: None,
                jwks_max_age_s: None,
                allow_cidrs: Vec::new(),
                block_countries: Vec::new(),
                waf_rate_limit: DEFAULT_RATE_LIMIT,
                throttle_rate: DEFAULT_THROTTLE_RATE,
                throttle_burst: DEFAULT_THROTTLE_BURST,
                response_transfer_mode: match mode {
                    TransferMode::Stream => TransferModeArg::Stream,
                    TransferMode::Buffered => TransferModeArg::Buffered,
                },
            };
            let spec = StackSpec {
                url: None,
                internet: Some(args.spec().unwrap()),
                ..StackSpec::default()
            };
            let t = crate::template::synth(&spec).unwrap();
            for method in [
                ids::API_MCP_METHOD,
                ids::API_METADATA_METHOD,
                ids::API_METADATA_MCP_METHOD,
            ] {
                let integration = &t["Resources"][method]["Properties"]["Integration"];
                assert_eq!(integration["ResponseTransferMode"], mode.as_str());
                let sub = integration["Uri"]["Fn::Sub"].as_str().unwrap_or_default();
                assert!(sub.ends_with(uri), "{sub}");
            }
            let variables =
                &t["Resources"][function_ids::FUNCTION]["Properties"]["Environment"]["Variables"];
            assert_eq!(
                variables[Setting::RestTransferMode.name()].as_str(),
                env,
                "{variables}"
            );
        }
    }

    #[test]
    fn the_edge_takes_only_what_waf_takes() {
        assert!(country("GB").is_ok() && country("XK").is_ok() && country("KP").is_ok());
        assert!(country("UK").is_err_and(|e| e.contains("is GB")));
        assert!(country("EU").is_err_and(|e| e.contains("not a country")));
        assert!(country("kp").is_err());
        assert!(cidr("203.0.113.0/24").is_ok() && cidr("2001:db8::/32").is_ok());
        assert!(cidr("0.0.0.0/0").is_err_and(|e| e.contains("/0")));
        assert!(cidr("::/0").is_err());
        assert!(cidr("10.0.0.1").is_err());
    }

    #[test]
    fn challenge_parameters_are_read() {
        let c =
            r#"Bearer error="invalid_token", resource_metadata="https://a/b", scope="mcp:read""#;
        assert_eq!(challenge_param(c, "resource_metadata"), Some("https://a/b"));
        assert_eq!(challenge_param(c, "scope"), Some("mcp:read"));
        assert_eq!(challenge_param(c, "realm"), None);
    }
}
