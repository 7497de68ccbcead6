//! API Gateway's own answers in front of the local REST API, built from the
//! stack's template (`mcp-deploy synth --exposure internet`): the Lambda
//! `REQUEST` authorizer of the methods that name one, and the gateway
//! responses that replace API Gateway's default 401 and 403.
//!
//! As API Gateway does (developer guide: "Use API Gateway Lambda
//! authorizers", "Input to an API Gateway Lambda authorizer", "Output from
//! an API Gateway Lambda authorizer", "Gateway responses for REST APIs"):
//!
//! - an identity source missing from the request (or empty) is a 401
//!   (`UNAUTHORIZED`) without invoking the authorizer;
//! - the authorizer is the function, invoked with the `REQUEST` event
//!   (`type`, `methodArn`, `resource`, `path`, `httpMethod`, both header maps,
//!   both query maps, `requestContext`); its error `Unauthorized` is a 401,
//!   any other error or an answer without `principalId` and
//!   `policyDocument` a 500 (`AUTHORIZER_CONFIGURATION_ERROR`);
//! - the policy is evaluated against the method's ARN: an explicit `Deny`
//!   wins, else an `Allow` admits, else 403 (`ACCESS_DENIED`);
//! - an admitted request reaches the integration with
//!   `requestContext.authorizer` = the answer's `context` (values as
//!   strings) and `principalId`;
//! - answers are cached per identity-source values for
//!   `AuthorizerResultTtlInSeconds` (300 when the template leaves it out);
//! - a gateway response's headers are its `ResponseParameters`
//!   (`gatewayresponse.header.NAME`): a static value in single quotes, or
//!   `method.request.header.NAME`; its body is its `application/json`
//!   template, which may not use `$` variables here (none is evaluated; a
//!   template needing one is refused at load, never answered wrongly).
//!
//! Static values are `Fn::Sub` strings in the template: the API's own URL,
//! `https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}`, becomes
//! the local front's; any other substitution is refused at load.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value, json};

/// CloudFormation's default `AuthorizerResultTtlInSeconds`.
const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// A gateway response's header value.
#[derive(Debug, Clone)]
enum HeaderSource {
    Static(String),
    RequestHeader(String),
}

/// One of the template's gateway responses.
#[derive(Debug, Clone)]
struct GatewayResponse {
    status: Option<StatusCode>,
    headers: Vec<(HeaderName, HeaderSource)>,
    body: Option<String>,
}

/// The `REQUEST` authorizer.
#[derive(Debug)]
struct Authorizer {
    /// The request headers that make up the identity (lower case).
    identity_headers: Vec<String>,
    ttl: Duration,
    /// `(resource path, HTTP method or ANY)` of the methods it guards.
    guards: Vec<(String, String)>,
    cache: Mutex<HashMap<String, (Instant, Value)>>,
}

/// What the authorizer decided.
#[derive(Debug)]
pub enum Decision {
    /// No authorizer on this method.
    Open,
    /// Admitted: the `requestContext.authorizer` of the integration's event.
    Allowed(Value),
    /// API Gateway answers itself.
    Refused(Response<Full<Bytes>>),
}

/// The template's authorizer and gateway responses.
#[derive(Debug)]
pub struct ApiEdge {
    authorizer: Option<Authorizer>,
    responses: HashMap<String, GatewayResponse>,
}

fn resources(template: &Value) -> anyhow::Result<&Map<String, Value>> {
    template["Resources"]
        .as_object()
        .context("the template has no Resources")
}

fn of_type<'t>(
    resources: &'t Map<String, Value>,
    kind: &'t str,
) -> impl Iterator<Item = (&'t String, &'t Value)> + 't {
    resources
        .iter()
        .filter(move |(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id, &r["Properties"]))
}

/// The path of an `AWS::ApiGateway::Resource`, from its parents.
fn resource_path(resources: &Map<String, Value>, id: &str) -> anyhow::Result<String> {
    let mut parts = Vec::new();
    let mut at = id.to_owned();
    for _ in 0..32 {
        let properties = &resources
            .get(&at)
            .with_context(|| format!("no resource {at}"))?["Properties"];
        parts.push(
            properties["PathPart"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        match properties["ParentId"].get("Ref").and_then(Value::as_str) {
            Some(parent) => at = parent.to_owned(),
            None => {
                parts.reverse();
                return Ok(format!("/{}", parts.join("/")));
            }
        }
    }
    bail!("resource {id}: its parents do not end at the API's root")
}

impl ApiEdge {
    /// The template's edge, with the API's URL standing for `base_url` (the
    /// local front's, `http://127.0.0.1:PORT`); `None` when the template has
    /// neither an authorizer nor a gateway response.
    pub fn from_template(template: &Value, base_url: &str) -> anyhow::Result<Option<ApiEdge>> {
        let resources = resources(template)?;
        let api = of_type(resources, "AWS::ApiGateway::RestApi")
            .map(|(id, _)| id.clone())
            .next();
        let mut responses = HashMap::new();
        for (id, properties) in of_type(resources, "AWS::ApiGateway::GatewayResponse") {
            let kind = properties["ResponseType"]
                .as_str()
                .with_context(|| format!("{id} has no ResponseType"))?;
            let response = Self::response(properties, api.as_deref(), base_url)
                .with_context(|| format!("gateway response {id}"))?;
            responses.insert(kind.to_owned(), response);
        }
        let authorizer = Self::authorizer(resources)?;
        if authorizer.is_none() && responses.is_empty() {
            return Ok(None);
        }
        Ok(Some(ApiEdge {
            authorizer,
            responses,
        }))
    }

    fn authorizer(resources: &Map<String, Value>) -> anyhow::Result<Option<Authorizer>> {
        let mut found = of_type(resources, "AWS::ApiGateway::Authorizer");
        let Some((id, properties)) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() {
            bail!("more than one authorizer: the local REST API knows one");
        }
        if properties["Type"] != "REQUEST" {
            bail!("authorizer {id}: only REQUEST authorizers are emulated");
        }
        let identity_headers = properties["IdentitySource"]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|source| {
                source
                    .strip_prefix("method.request.header.")
                    .map(str::to_ascii_lowercase)
                    .ok_or_else(|| {
                        anyhow!("authorizer {id}: identity source {source:?} is not a header")
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let ttl = properties["AuthorizerResultTtlInSeconds"]
            .as_u64()
            .map_or(DEFAULT_TTL, Duration::from_secs);
        let mut guards = Vec::new();
        for (method_id, method) in of_type(resources, "AWS::ApiGateway::Method") {
            if method["AuthorizationType"] != "CUSTOM" {
                continue;
            }
            if method["AuthorizerId"].get("Ref").and_then(Value::as_str) != Some(id.as_str()) {
                bail!("method {method_id} names an authorizer this template does not define");
            }
            let resource = method["ResourceId"]
                .get("Ref")
                .and_then(Value::as_str)
                .with_context(|| format!("method {method_id}: its ResourceId"))?;
            let verb = method["HttpMethod"].as_str().unwrap_or("ANY").to_owned();
            guards.push((resource_path(resources, resource)?, verb));
        }
        Ok(Some(Authorizer {
            identity_headers,
            ttl,
            guards,
            cache: Mutex::new(HashMap::new()),
        }))
    }

    fn response(
        properties: &Value,
        api: Option<&str>,
        base_url: &str,
    ) -> anyhow::Result<GatewayResponse> {
        let status = match &properties["StatusCode"] {
            Value::Null => None,
            code => {
                let text = code
                    .as_str()
                    .map_or_else(|| code.to_string(), str::to_owned);
                Some(
                    text.parse::<u16>()
                        .ok()
                        .and_then(|c| StatusCode::from_u16(c).ok())
                        .with_context(|| format!("StatusCode {text:?}"))?,
                )
            }
        };
        let mut headers = Vec::new();
        for (key, value) in properties["ResponseParameters"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let name = key
                .strip_prefix("gatewayresponse.header.")
                .with_context(|| format!("{key}: only headers are emulated"))?;
            let name = HeaderName::from_bytes(name.as_bytes())?;
            let text = match value {
                Value::String(text) => text.clone(),
                sub => substitute(sub, api, base_url)?,
            };
            let source =
                if let Some(quoted) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                    HeaderValue::from_str(quoted)
                        .with_context(|| format!("{key}: not a header value"))?;
                    HeaderSource::Static(quoted.to_owned())
                } else if let Some(header) = text.strip_prefix("method.request.header.") {
                    HeaderSource::RequestHeader(header.to_ascii_lowercase())
                } else {
                    bail!("{key}: {text:?} is neither 'static' nor method.request.header.NAME");
                };
            headers.push((name, source));
        }
        let body = match properties["ResponseTemplates"].get("application/json") {
            None => None,
            Some(Value::String(body)) if body.contains('$') => {
                bail!("its template uses variables, which the local REST API does not evaluate")
            }
            Some(Value::String(body)) => Some(body.clone()),
            Some(_) => bail!("its application/json template is not a string"),
        };
        Ok(GatewayResponse {
            status,
            headers,
            body,
        })
    }

    /// API Gateway's answer of `kind` (its gateway response if the template
    /// has one, else its default), for a request with `headers`.
    pub fn answer(
        &self,
        kind: &str,
        headers: &HeaderMap,
        default: (StatusCode, &'static str, &'static str),
    ) -> Response<Full<Bytes>> {
        let (default_status, error_type, message) = default;
        let custom = self.responses.get(kind);
        let body = custom
            .and_then(|r| r.body.clone())
            .unwrap_or_else(|| json!({"message": message}).to_string());
        let mut response = crate::json_response(
            custom.and_then(|r| r.status).unwrap_or(default_status),
            body,
        );
        let out = response.headers_mut();
        out.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        for (name, source) in custom.map(|r| r.headers.as_slice()).unwrap_or_default() {
            let value = match source {
                HeaderSource::Static(value) => HeaderValue::from_str(value).ok(),
                HeaderSource::RequestHeader(header) => headers.get(header).cloned(),
            };
            if let Some(value) = value {
                out.insert(name.clone(), value);
            }
        }
        response
    }

    /// Whether `resource` (its path) and `method` are guarded.
    fn guards(&self, resource: &str, method: &http::Method) -> bool {
        self.authorizer.as_ref().is_some_and(|a| {
            a.guards
                .iter()
                .any(|(path, verb)| path == resource && (verb == "ANY" || verb == method.as_str()))
        })
    }

    /// Runs the authorizer of `resource`/`method` for a request with
    /// `headers`: `invoke` calls the function with the authorizer's event
    /// (built by the caller, which knows the request) and gives its payload,
    /// or `Err(error message)`.
    pub async fn authorize<F, Fut>(
        &self,
        resource: &str,
        parts: &http::request::Parts,
        method_arn: &str,
        invoke: F,
    ) -> Decision
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<u8>, String>>,
    {
        let Some(authorizer) = self
            .authorizer
            .as_ref()
            .filter(|_| self.guards(resource, &parts.method))
        else {
            return Decision::Open;
        };
        let unauthorized = (
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
            "Unauthorized",
        );
        let mut key = Vec::new();
        for name in &authorizer.identity_headers {
            match parts.headers.get(name).and_then(|v| v.to_str().ok()) {
                Some(value) if !value.trim().is_empty() => key.push(value.to_owned()),
                _ => {
                    return Decision::Refused(self.answer(
                        "UNAUTHORIZED",
                        &parts.headers,
                        unauthorized,
                    ));
                }
            }
        }
        let key = key.join("\n");
        let cached = (!authorizer.ttl.is_zero())
            .then(|| {
                let cache = authorizer.cache.lock().unwrap_or_else(|e| e.into_inner());
                cache
                    .get(&key)
                    .filter(|(at, _)| at.elapsed() < authorizer.ttl)
                    .map(|(_, v)| v.clone())
            })
            .flatten();
        let answer = match cached {
            Some(answer) => answer,
            None => {
                let payload = match invoke().await {
                    Ok(payload) => payload,
                    Err(message) if message == "Unauthorized" => {
                        return Decision::Refused(self.answer(
                            "UNAUTHORIZED",
                            &parts.headers,
                            unauthorized,
                        ));
                    }
                    Err(message) => {
                        tracing::warn!(%message, "the authorizer failed");
                        return Decision::Refused(self.configuration_error(&parts.headers));
                    }
                };
                let Ok(answer) = serde_json::from_slice::<Value>(&payload) else {
                    return Decision::Refused(self.configuration_error(&parts.headers));
                };
                if !authorizer.ttl.is_zero() {
                    let mut cache = authorizer.cache.lock().unwrap_or_else(|e| e.into_inner());
                    cache.insert(key, (Instant::now(), answer.clone()));
                }
                answer
            }
        };
        let (Some(principal), Some(statements)) = (
            answer["principalId"].as_str(),
            answer["policyDocument"]["Statement"].as_array(),
        ) else {
            tracing::warn!("the authorizer's answer has no principalId or policyDocument");
            return Decision::Refused(self.configuration_error(&parts.headers));
        };
        match evaluate(statements, method_arn) {
            Some(true) => {
                let mut context = Map::new();
                for (k, v) in answer["context"].as_object().into_iter().flatten() {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    context.insert(k.clone(), json!(text));
                }
                context.insert("principalId".into(), json!(principal));
                Decision::Allowed(Value::Object(context))
            }
            Some(false) => Decision::Refused(self.answer(
                "ACCESS_DENIED",
                &parts.headers,
                (
                    StatusCode::FORBIDDEN,
                    "AccessDeniedException",
                    "User is not authorized to access this resource with an explicit deny",
                ),
            )),
            None => Decision::Refused(self.answer(
                "ACCESS_DENIED",
                &parts.headers,
                (
                    StatusCode::FORBIDDEN,
                    "AccessDeniedException",
                    "User is not authorized to access this resource",
                ),
            )),
        }
    }

    fn configuration_error(&self, headers: &HeaderMap) -> Response<Full<Bytes>> {
        self.answer(
            "AUTHORIZER_CONFIGURATION_ERROR",
            headers,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "AuthorizerConfigurationException",
                "null",
            ),
        )
    }
}

/// A `{"Fn::Sub": ...}` with the API's URL as the local front's.
fn substitute(value: &Value, api: Option<&str>, base_url: &str) -> anyhow::Result<String> {
    let text = value["Fn::Sub"]
        .as_str()
        .with_context(|| format!("{value}: neither a string nor Fn::Sub"))?;
    let api = api.context("Fn::Sub of a template without a REST API")?;
    let host = format!("https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}");
    let resolved = text.replace(&host, base_url);
    if resolved.contains("${") {
        bail!("{text:?}: only the API's own URL is substituted locally");
    }
    Ok(resolved)
}

/// `Some(true)`: an `Allow` matches `arn` and no `Deny` does; `Some(false)`:
/// a `Deny` matches; `None`: nothing matches (an implicit deny).
fn evaluate(statements: &[Value], arn: &str) -> Option<bool> {
    let matches = |statement: &Value| {
        let actions = as_list(&statement["Action"]);
        let resources = as_list(&statement["Resource"]);
        actions.iter().any(|a| wildcard(a, "execute-api:Invoke"))
            && resources.iter().any(|r| wildcard(r, arn))
    };
    let effect = |e: &str| statements.iter().any(|s| s["Effect"] == e && matches(s));
    if effect("Deny") {
        Some(false)
    } else if effect("Allow") {
        Some(true)
    } else {
        None
    }
}

fn as_list(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// IAM's `*` (any run) and `?` (one character) matching.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_match_as_iam_matches_them() {
        let arn = "arn:aws:execute-api:eu-west-1:acct:abc/prod/POST/mcp";
        let allow = json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn}]);
        assert_eq!(evaluate(allow.as_array().unwrap(), arn), Some(true));
        let star = json!([{"Effect": "Allow", "Action": ["execute-api:*"], "Resource": ["arn:aws:execute-api:*:*:abc/*"]}]);
        assert_eq!(evaluate(star.as_array().unwrap(), arn), Some(true));
        let deny = json!([
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": arn}
        ]);
        assert_eq!(evaluate(deny.as_array().unwrap(), arn), Some(false));
        let other = json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:eu-west-1:acct:abc/prod/GET/mcp"}]);
        assert_eq!(evaluate(other.as_array().unwrap(), arn), None);
    }

    fn template(response_value: Value) -> Value {
        json!({"Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
            "Mcp": {"Type": "AWS::ApiGateway::Resource", "Properties": {
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "mcp"}},
            "Auth": {"Type": "AWS::ApiGateway::Authorizer", "Properties": {
                "Type": "REQUEST", "IdentitySource": "method.request.header.Authorization",
                "AuthorizerResultTtlInSeconds": 0}},
            "Any": {"Type": "AWS::ApiGateway::Method", "Properties": {
                "ResourceId": {"Ref": "Mcp"}, "HttpMethod": "ANY",
                "AuthorizationType": "CUSTOM", "AuthorizerId": {"Ref": "Auth"}}},
            "Unauthorized": {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": {
                "ResponseType": "UNAUTHORIZED", "StatusCode": "401",
                "ResponseParameters": {"gatewayresponse.header.WWW-Authenticate": response_value}}}
        }})
    }

    #[test]
    fn the_templates_edge_is_read_with_the_local_url() {
        let value = json!({"Fn::Sub": "'Bearer resource_metadata=\"https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod/.well-known/oauth-protected-resource/mcp\"'"});
        let edge = ApiEdge::from_template(&template(value), "http://127.0.0.1:9")
            .expect("loads")
            .expect("has an edge");
        assert!(edge.guards("/mcp", &http::Method::POST));
        assert!(!edge.guards("/.well-known/oauth-protected-resource", &http::Method::GET));
        let answer = edge.answer(
            "UNAUTHORIZED",
            &HeaderMap::new(),
            (
                StatusCode::UNAUTHORIZED,
                "UnauthorizedException",
                "Unauthorized",
            ),
        );
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            answer.headers()["www-authenticate"],
            "Bearer resource_metadata=\"http://127.0.0.1:9/prod/.well-known/oauth-protected-resource/mcp\""
        );
        // Anything but the API's own URL is refused, not guessed.
        let foreign = json!({"Fn::Sub": "'${AWS::AccountId}'"});
        assert!(ApiEdge::from_template(&template(foreign), "http://127.0.0.1:9").is_err());
        assert!(
            ApiEdge::from_template(&template(json!("unquoted")), "http://127.0.0.1:9").is_err()
        );
    }
}
