//! A local stand-in for the web ACL the internet rung's stack puts in front
//! of its REST API, built from the stack's own template (`mcp-deploy synth
//! --exposure internet`), for the rules whose behaviour is exact:
//!
//! - a rate-based rule aggregating by IP (`RateBasedStatement`): requests per
//!   client address over `EvaluationWindowSec`; past `Limit` the rule's
//!   action answers. AWS evaluates rates every few seconds and may let a
//!   burst through; this counts every request, so it blocks no later than
//!   AWS does;
//! - an IP allow-list (`NotStatement` of `IPSetReferenceStatement`s, or of
//!   an `OrStatement` of them), with the IP sets' `Addresses`;
//! - a country block (`GeoMatchStatement`): WAF places the source address;
//!   locally the address is always 127.0.0.1, so the country is read from
//!   the request header [`COUNTRY_HEADER`], which tests set;
//! - AWS's common rule set (`AWSManagedRulesCommonRuleSet`): its
//!   `NoUserAgent_HEADER` rule (a request without `User-Agent` is blocked)
//!   unless the template overrides it to count. Its other rules match
//!   patterns AWS does not publish and are not evaluated here.
//!
//! A rule's `Block` answers with its `CustomResponse` (status, headers, a
//! body from the web ACL's `CustomResponseBodies`), else as API Gateway
//! answers a request WAF blocked: 403 `{"message":"Forbidden"}` (its
//! `WAF_FILTERED` gateway response). A statement this stand-in does not
//! know is refused when the web ACL is loaded: a rule silently skipped
//! would make the local front kinder than AWS.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use ipnet::IpNet;
use serde_json::Value;

/// The request header the stand-in reads the caller's country from (ISO
/// 3166 alpha-2), in place of WAF's geolocation of the source address.
pub const COUNTRY_HEADER: &str = "x-emulator-country";

/// What a rule matches.
#[derive(Debug)]
enum Statement {
    /// More than `limit` requests from one address within `window`.
    Rate { limit: usize, window: Duration },
    /// A source address in none of these networks.
    NotIn(Vec<IpNet>),
    /// A caller in one of these countries.
    Geo(Vec<String>),
    /// No `User-Agent` header (the common rule set's `NoUserAgent_HEADER`),
    /// on a path that does not start with the rule group's scope-down
    /// exception, if any.
    NoUserAgent { except: Option<String> },
}

/// A blocking answer: the status, headers and body.
#[derive(Debug, Clone)]
struct Block {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<(String, &'static str)>,
}

#[derive(Debug)]
struct Rule {
    name: String,
    statement: Statement,
    block: Block,
}

/// The web ACL: its rules in priority order, and the rate rules' counts.
#[derive(Debug)]
pub struct WebAcl {
    rules: Vec<Rule>,
    seen: Mutex<HashMap<(usize, IpAddr), VecDeque<Instant>>>,
}

/// What the rules decided for one request.
#[derive(Debug)]
pub struct Blocked {
    /// The rule that blocked it.
    pub rule: String,
    /// The answer.
    pub response: Response<Full<Bytes>>,
}

impl WebAcl {
    /// The web ACL of a CloudFormation template (the first
    /// `AWS::WAFv2::WebACL`), with its IP sets; `None` when it has none.
    pub fn from_template(template: &Value) -> anyhow::Result<Option<WebAcl>> {
        let resources = template["Resources"]
            .as_object()
            .context("the template has no Resources")?;
        let Some(acl) = resources
            .values()
            .find(|r| r["Type"] == "AWS::WAFv2::WebACL")
        else {
            return Ok(None);
        };
        let acl = &acl["Properties"];
        let mut rules: Vec<(i64, Rule)> = Vec::new();
        for rule in acl["Rules"].as_array().into_iter().flatten() {
            let name = rule["Name"].as_str().unwrap_or("unnamed").to_owned();
            let parsed = Self::rule(rule, &name, acl, resources)
                .with_context(|| format!("web ACL rule {name:?}"))?;
            let priority = rule["Priority"].as_i64().unwrap_or(i64::MAX);
            rules.extend(parsed.map(|r| (priority, r)));
        }
        rules.sort_by_key(|(priority, _)| *priority);
        Ok(Some(WebAcl {
            rules: rules.into_iter().map(|(_, r)| r).collect(),
            seen: Mutex::new(HashMap::new()),
        }))
    }

    /// One rule; `None` for a managed rule group whose evaluated rule is
    /// overridden to count.
    fn rule(
        rule: &Value,
        name: &str,
        acl: &Value,
        resources: &serde_json::Map<String, Value>,
    ) -> anyhow::Result<Option<Rule>> {
        let statement = &rule["Statement"];
        if let Some(group) = statement.get("ManagedRuleGroupStatement") {
            return Ok(common_rule_set(group)?.map(|statement| Rule {
                name: format!("{name}/NoUserAgent_HEADER"),
                statement,
                block: Block::forbidden(),
            }));
        }
        let block = match rule["Action"].get("Block") {
            Some(block) => Block::from_action(block, acl)?,
            None => bail!("only Block actions are emulated, not {}", rule["Action"]),
        };
        Ok(Some(Rule {
            name: name.to_owned(),
            statement: parse(statement, resources)?,
            block,
        }))
    }

    /// The first rule that blocks a request from `peer` with `headers`.
    pub fn check(&self, headers: &HeaderMap, path: &str, peer: IpAddr) -> Option<Blocked> {
        let now = Instant::now();
        self.rules.iter().enumerate().find_map(|(index, rule)| {
            let matched = match &rule.statement {
                Statement::Rate { limit, window } => {
                    self.over_rate(index, peer, now, *limit, *window)
                }
                Statement::NotIn(networks) => !networks.iter().any(|n| n.contains(&peer)),
                Statement::Geo(countries) => headers
                    .get(COUNTRY_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| {
                        countries
                            .iter()
                            .any(|blocked| blocked.eq_ignore_ascii_case(c.trim()))
                    }),
                Statement::NoUserAgent { except } => {
                    !headers.contains_key(http::header::USER_AGENT)
                        && !except
                            .as_deref()
                            .is_some_and(|prefix| path.starts_with(prefix))
                }
            };
            matched.then(|| Blocked {
                rule: rule.name.clone(),
                response: rule.block.response(),
            })
        })
    }

    /// Counts this request against rule `index` for `peer`; whether the
    /// address is now over the limit within the window.
    fn over_rate(
        &self,
        index: usize,
        peer: IpAddr,
        now: Instant,
        limit: usize,
        window: Duration,
    ) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let times = seen.entry((index, peer)).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            times.pop_front();
        }
        times.push_back(now);
        times.len() > limit
    }
}

/// The common rule set's evaluated rule, unless overridden to count.
fn common_rule_set(group: &Value) -> anyhow::Result<Option<Statement>> {
    let (vendor, name) = (&group["VendorName"], &group["Name"]);
    if vendor != "AWS" || name != "AWSManagedRulesCommonRuleSet" {
        bail!("only AWS's AWSManagedRulesCommonRuleSet is emulated, not {vendor}/{name}");
    }
    let counted = group["RuleActionOverrides"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| o["Name"] == "NoUserAgent_HEADER" && o["ActionToUse"].get("Count").is_some());
    let except = match group.get("ScopeDownStatement") {
        None => None,
        Some(scope) => Some(path_exception(scope)?),
    };
    Ok((!counted).then_some(Statement::NoUserAgent { except }))
}

/// The one scope-down this stand-in knows: `NOT (URI path STARTS_WITH s)`
/// with no text transformation; the prefix `s`.
fn path_exception(scope: &Value) -> anyhow::Result<String> {
    let matched = &scope["NotStatement"]["Statement"]["ByteMatchStatement"];
    let plain = matched["TextTransformations"]
        .as_array()
        .is_some_and(|t| t.iter().all(|t| t["Type"] == "NONE"));
    match (
        matched["FieldToMatch"].get("UriPath"),
        matched["PositionalConstraint"].as_str(),
        matched["SearchString"].as_str(),
    ) {
        (Some(_), Some("STARTS_WITH"), Some(prefix)) if plain => Ok(prefix.to_owned()),
        _ => {
            bail!("a scope-down statement other than NOT (UriPath STARTS_WITH ...) is not emulated")
        }
    }
}

/// A rule's statement.
fn parse(
    statement: &Value,
    resources: &serde_json::Map<String, Value>,
) -> anyhow::Result<Statement> {
    if let Some(rate) = statement.get("RateBasedStatement") {
        if rate["AggregateKeyType"] != "IP" || rate.get("ScopeDownStatement").is_some() {
            bail!("only rate rules aggregating by IP, without a scope-down, are emulated");
        }
        let limit = rate["Limit"]
            .as_u64()
            .context("a rate rule without a Limit")?;
        let window = rate["EvaluationWindowSec"].as_u64().unwrap_or(300);
        return Ok(Statement::Rate {
            limit: usize::try_from(limit)?,
            window: Duration::from_secs(window),
        });
    }
    if let Some(geo) = statement.get("GeoMatchStatement") {
        let codes = geo["CountryCodes"].as_array().context("no CountryCodes")?;
        return Ok(Statement::Geo(
            codes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ));
    }
    if let Some(inner) = statement.get("NotStatement").map(|n| &n["Statement"]) {
        let sets: Vec<&Value> = match inner.get("OrStatement") {
            Some(or) => or["Statements"].as_array().into_iter().flatten().collect(),
            None => vec![inner],
        };
        let mut networks = Vec::new();
        for set in sets {
            networks.extend(ip_set(set, resources)?);
        }
        return Ok(Statement::NotIn(networks));
    }
    Err(anyhow!("its statement is not emulated: {statement}"))
}

/// The addresses of an `IPSetReferenceStatement` whose `Arn` is the
/// `Fn::GetAtt` of an `AWS::WAFv2::IPSet` of the template.
fn ip_set(
    statement: &Value,
    resources: &serde_json::Map<String, Value>,
) -> anyhow::Result<Vec<IpNet>> {
    let arn = &statement["IPSetReferenceStatement"]["Arn"];
    let id = arn["Fn::GetAtt"][0].as_str().with_context(|| {
        format!("an IP set reference that is not a GetAtt of the template's: {statement}")
    })?;
    let addresses = resources
        .get(id)
        .map(|set| &set["Properties"]["Addresses"])
        .and_then(Value::as_array)
        .with_context(|| format!("the template has no IP set {id} with Addresses"))?;
    addresses
        .iter()
        .map(|a| {
            let text = a.as_str().unwrap_or_default();
            text.parse::<IpNet>()
                .with_context(|| format!("IP set {id}: {text:?} is not a CIDR"))
        })
        .collect()
}

impl Block {
    /// API Gateway's answer to a request WAF blocked without a custom
    /// response (its `WAF_FILTERED` gateway response).
    fn forbidden() -> Block {
        Block {
            status: StatusCode::FORBIDDEN,
            headers: vec![(
                HeaderName::from_static("x-amzn-errortype"),
                HeaderValue::from_static("ForbiddenException"),
            )],
            body: Some((r#"{"message":"Forbidden"}"#.to_owned(), "application/json")),
        }
    }

    /// A `Block` action: its `CustomResponse`, if any.
    fn from_action(block: &Value, acl: &Value) -> anyhow::Result<Block> {
        let Some(custom) = block.get("CustomResponse") else {
            return Ok(Block::forbidden());
        };
        let code = custom["ResponseCode"]
            .as_u64()
            .context("a CustomResponse without ResponseCode")?;
        let status = StatusCode::from_u16(u16::try_from(code)?)?;
        let mut headers = Vec::new();
        for header in custom["ResponseHeaders"].as_array().into_iter().flatten() {
            let name = header["Name"].as_str().unwrap_or_default();
            let value = header["Value"].as_str().unwrap_or_default();
            headers.push((HeaderName::try_from(name)?, HeaderValue::try_from(value)?));
        }
        let body = match custom["CustomResponseBodyKey"].as_str() {
            None => None,
            Some(key) => {
                let body = &acl["CustomResponseBodies"][key];
                let content = body["Content"]
                    .as_str()
                    .with_context(|| format!("no CustomResponseBodies entry {key:?}"))?;
                let kind = match body["ContentType"].as_str() {
                    Some("APPLICATION_JSON") => "application/json",
                    Some("TEXT_HTML") => "text/html",
                    _ => "text/plain",
                };
                Some((content.to_owned(), kind))
            }
        };
        Ok(Block {
            status,
            headers,
            body,
        })
    }

    fn response(&self) -> Response<Full<Bytes>> {
        let (body, kind) = self.body.clone().unwrap_or_default();
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if !kind.is_empty() {
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(kind));
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(rules: Value, user_agent_counted: bool) -> Value {
        let mut overrides =
            vec![json!({"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}})];
        if user_agent_counted {
            overrides.push(json!({"Name": "NoUserAgent_HEADER", "ActionToUse": {"Count": {}}}));
        }
        let mut rules = rules.as_array().cloned().unwrap_or_default();
        rules.push(
            json!({"Name": "common", "Priority": 9, "OverrideAction": {"None": {}},
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS",
                "Name": "AWSManagedRulesCommonRuleSet", "RuleActionOverrides": overrides}}}),
        );
        json!({"Resources": {
            "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {
                "DefaultAction": {"Allow": {}},
                "CustomResponseBodies": {"slow": {"ContentType": "APPLICATION_JSON", "Content": "{\"e\":1}"}},
                "Rules": rules}},
            "V4": {"Type": "AWS::WAFv2::IPSet", "Properties": {"Addresses": ["192.0.2.0/24"]}}
        }})
    }

    fn acl(rules: Value, user_agent_counted: bool) -> WebAcl {
        WebAcl::from_template(&template(rules, user_agent_counted))
            .expect("loads")
            .expect("has a web ACL")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_rate_rule_answers_its_custom_response_past_the_limit_per_address() {
        let rate = json!([{"Name": "rate", "Priority": 0, "Statement": {"RateBasedStatement": {
            "Limit": 2, "AggregateKeyType": "IP", "EvaluationWindowSec": 60}},
            "Action": {"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "slow",
                "ResponseHeaders": [{"Name": "Retry-After", "Value": "60"}]}}}}]);
        let acl = acl(rate, false);
        let ua = headers(&[("user-agent", "t")]);
        assert!(acl.check(&ua, "/prod/mcp", LOCAL).is_none());
        assert!(acl.check(&ua, "/prod/mcp", LOCAL).is_none());
        let blocked = acl
            .check(&ua, "/prod/mcp", LOCAL)
            .expect("the third is over the limit");
        assert_eq!(blocked.rule, "rate");
        assert_eq!(blocked.response.status(), 429);
        assert_eq!(blocked.response.headers()["retry-after"], "60");
        assert_eq!(
            blocked.response.headers()["content-type"],
            "application/json"
        );
        // Another address has its own count.
        assert!(
            acl.check(&ua, "/prod/mcp", "192.0.2.7".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn no_user_agent_is_forbidden_unless_counted() {
        let blocked = acl(json!([]), false)
            .check(&HeaderMap::new(), "/prod/mcp", LOCAL)
            .expect("blocked");
        assert_eq!(blocked.rule, "common/NoUserAgent_HEADER");
        assert_eq!(blocked.response.status(), 403);
        assert_eq!(
            blocked.response.headers()["x-amzn-errortype"],
            "ForbiddenException"
        );
        assert!(
            acl(json!([]), true)
                .check(&HeaderMap::new(), "/prod/mcp", LOCAL)
                .is_none()
        );
    }

    #[test]
    fn allow_lists_and_countries_block_by_source() {
        let rules = json!([
            {"Name": "only", "Priority": 0, "Action": {"Block": {}}, "Statement": {"NotStatement": {"Statement":
                {"IPSetReferenceStatement": {"Arn": {"Fn::GetAtt": ["V4", "Arn"]}}}}}},
            {"Name": "geo", "Priority": 1, "Action": {"Block": {}}, "Statement": {"GeoMatchStatement":
                {"CountryCodes": ["GB"]}}}
        ]);
        let acl = acl(rules, false);
        let ua = headers(&[("user-agent", "t")]);
        assert_eq!(
            acl.check(&ua, "/prod/mcp", LOCAL)
                .expect("not in the set")
                .rule,
            "only"
        );
        let inside: IpAddr = "192.0.2.9".parse().unwrap();
        assert!(acl.check(&ua, "/prod/mcp", inside).is_none());
        let gb = headers(&[("user-agent", "t"), (COUNTRY_HEADER, "gb")]);
        assert_eq!(
            acl.check(&gb, "/prod/mcp", inside)
                .expect("blocked country")
                .rule,
            "geo"
        );
    }

    #[test]
    fn a_statement_not_emulated_is_refused_not_skipped() {
        let rules = json!([{"Name": "regex", "Priority": 0, "Action": {"Block": {}},
            "Statement": {"RegexMatchStatement": {"RegexString": "x"}}}]);
        let error = WebAcl::from_template(&template(rules, false)).expect_err("refused");
        assert!(
            format!("{error:#}").contains("web ACL rule \"regex\": its statement is not emulated"),
            "{error:#}"
        );
        assert!(
            WebAcl::from_template(&json!({"Resources": {}}))
                .unwrap()
                .is_none()
        );
    }
}
