//! Rung 2 of the hosting ladder: the project's tools as a Lambda function.
//!
//! The function (`bootstrap`, for `provided.al2023`) sits behind a Function
//! URL with `AuthType = AWS_IAM`, so only SigV4-signed callers of the account
//! that hold `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` reach it.
//! It serves stateless Streamable HTTP over the same `mcp-core` as
//! `mcp-local` - JSON responses, or SSE with a call's progress while it runs
//! when the URL streams ([`InvokeMode::ResponseStream`]) - with the
//! portable catalog plus `demo_account_context`, which reports the caller
//! IAM authenticated.
//!
//! This crate holds only adapters: a Lambda event becomes request parts for
//! `mcp-http` (the Streamable HTTP rules) and `mcp-core` (the protocol); a new
//! event source (API Gateway REST, gateway invocations) is another adapter.
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_lambda::runtime::Error> {
//! let app = mcp_lambda::App::from_env()?;
//! mcp_lambda::runtime::run(&app).await
//! # }
//! ```

mod account_context;
pub mod agentcore;
pub mod authorizer;
pub mod dynamodb;
mod gateway;
pub mod logging;
pub mod metrics;
pub mod oauth;
pub mod rendezvous;
pub mod runtime;
pub mod state_key;
mod tls;
pub mod xray;

use std::time::Instant;

use lambda_http::request::RequestContext as EventContext;
use lambda_http::{Body, Request, RequestExt, Response};
use mcp_core::limits::Limits;
use mcp_core::{
    AuthScheme, Extensions, Identity, RegistryError, RequestContext, Server, ServerInfo,
    ToolRegistry,
};
use mcp_http::{Authenticator, RequestParts, TrustFront};
use mcp_oauth::ResourceServer;
use mcp_settings::{AuthMode, FunctionSettings, InvokeMode, Setting, TransferMode};
use mcp_tools::{Catalog, CatalogError};

pub use account_context::{AccountContext, Caller, DemoAccountContext, FunctionEnv, Invocation};
pub use gateway::{TARGET_DELIMITER, TOOL_NAME_KEY};
pub use mcp_http::{CallOutcome, Exchange, HttpConfig};
use metrics::{CallRecord, Metrics};
pub use runtime::{ClientContext, Outcome};

/// The function: the MCP server and its HTTP front, built once per instance.
#[derive(Debug)]
pub struct App {
    server: Server,
    config: HttpConfig,
    /// Function URL requests are answered as response streams
    /// ([`InvokeMode::ResponseStream`]): a call's notifications reach the
    /// client as SSE events while its tool runs.
    streaming: bool,
    /// REST (payload format 1.0) events are answered as response streams
    /// with API Gateway's prelude ([`TransferMode::Stream`]): the
    /// integration's `ResponseTransferMode` is `STREAM`.
    rest_streaming: bool,
    /// The resource server ([`AuthMode::OAuth`](mcp_settings::AuthMode::OAuth)); `None`: IAM.
    oauth: Option<ResourceServer>,
    /// Whether invocations naming a tool in the client context (an
    /// AgentCore Gateway's) are served ([`Setting::GatewayTarget`]).
    gateway_target: bool,
    /// The EMF writer; `None`: metrics off.
    metrics: Option<Metrics>,
    /// Where sampled requests' spans go; `None` outside Lambda.
    xray: Option<xray::XRay>,
}

impl App {
    /// Builds the app from the environment Lambda gives the function: its
    /// settings ([`FunctionSettings::from_env`]), read once, and
    /// [`App::from_settings`].
    pub fn from_env() -> Result<App, runtime::Error> {
        let settings = FunctionSettings::from_env()?;
        App::from_settings(&settings, FunctionEnv::from_env(&settings))
    }

    /// Builds the app from `settings`: the fixture pack if asked for, the
    /// invoke mode, the scopes and the batch limit ([`mcp_tools::govern`]),
    /// the token check, and the rate
    /// limits (an init error names a bad entry), counted in the DynamoDB
    /// table when one is named, else per instance.
    pub fn from_settings(
        settings: &FunctionSettings,
        env: FunctionEnv,
    ) -> Result<App, runtime::Error> {
        let mut app = App::governed(settings, env)?;
        app.streaming = settings.invoke_mode == InvokeMode::ResponseStream;
        app.rest_streaming = settings.rest_transfer_mode == TransferMode::Stream;
        app.gateway_target = settings.gateway_target;
        app.metrics = Metrics::from_settings(settings);
        app.xray = xray::XRay::from_env();
        // Without the deployment's key (`runtime::start` reads it from
        // `MCP_STATE_KEY_SECRET_ARN`), this instance's own.
        if settings.state_key_secret_arn.is_none() {
            app = app.with_state_key(mcp_core::StateKey::random()?);
        }
        // After the scopes: the metadata publishes what the tools need.
        app.oauth = oauth::resource_server(settings, &app.server)?;
        let limits = match &settings.rate_limits {
            Some(text) => Some(Limits::parse(text).map_err(|e| Setting::RateLimits.invalid(e))?),
            None => None,
        };
        let table = dynamodb::DynamoDbCounter::from_settings(settings);
        Ok(match (limits, table) {
            (Some(limits), Some(table)) => {
                tracing::info!(
                    table = table.table(),
                    "rate limits shared by every instance"
                );
                app.with_rate_limit_counter(limits, Box::new(table))
            }
            (Some(limits), None) => {
                tracing::warn!(
                    "{}: no {} set, so limits are counted per instance: N concurrent instances admit up to N times each limit",
                    Setting::RateLimits,
                    Setting::RateLimitTable
                );
                app.with_rate_limits(limits)
            }
            (None, Some(table)) => {
                tracing::warn!(
                    table = table.table(),
                    "{} is set but {} is not: nothing is limited",
                    Setting::RateLimitTable,
                    Setting::RateLimits
                );
                app
            }
            (None, None) => app,
        })
    }

    /// Limits `tools/call` per caller and tool, counted by `counter`.
    pub fn with_rate_limit_counter(
        mut self,
        limits: Limits,
        counter: Box<dyn mcp_core::limits::Counter>,
    ) -> Self {
        self.server = self.server.with_rate_limit_counter(limits, counter);
        self
    }

    /// Seals multi round-trip `requestState` with `key`, the deployment's
    /// ([`state_key`]).
    pub fn with_state_key(mut self, key: mcp_core::StateKey) -> Self {
        self.server = self.server.with_state_key(key);
        self
    }

    /// Limits `tools/call` per caller (the signing principal) and tool.
    pub fn with_rate_limits(mut self, limits: Limits) -> Self {
        self.server = self.server.with_rate_limits(limits);
        self
    }

    /// The scopes the function publishes and asks for under `settings`
    /// (what its `WWW-Authenticate` challenges name): the deploy CLI puts
    /// them in API Gateway's own 401 and 403 answers, which replace the
    /// function's behind a REST API (see [`authorizer`]).
    pub fn published_scopes(
        settings: &FunctionSettings,
    ) -> Result<mcp_oauth::Scopes, runtime::Error> {
        let app = App::governed(settings, FunctionEnv::default())?;
        let configured = mcp_oauth::OAuthConfig::from_settings(settings)?
            .and_then(|config| config.scopes_supported);
        Ok(mcp_oauth::Scopes::of_server(
            &app.server,
            configured.as_deref(),
        )?)
    }

    /// The catalog `settings` ask for (the fixture pack too, if asked),
    /// with their scopes and batch limit applied ([`mcp_tools::govern`]).
    fn governed(settings: &FunctionSettings, env: FunctionEnv) -> Result<App, runtime::Error> {
        let mut config = HttpConfig::from_settings(settings);
        // Calls that ask the client wait in the table every instance reads,
        // else in this instance (docs/input-required.md).
        let rendezvous: std::sync::Arc<dyn mcp_http::asking::Rendezvous> =
            match &settings.rendezvous_table {
                Some(table) => std::sync::Arc::new(rendezvous::DynamoDbRendezvous::new(table)),
                None => std::sync::Arc::new(mcp_http::asking::InProcess::default()),
            };
        config.rendezvous = Some(mcp_http::asking::RendezvousHandle(rendezvous));
        let mut app = App::build(env, config, settings.conformance_fixtures)?;
        app.server = mcp_tools::govern(app.server, settings)?;
        Ok(app)
    }

    /// Builds the app from explicit settings (tests): buffered, trusting
    /// IAM, unlimited, without the conformance fixture pack.
    pub fn new(env: FunctionEnv, config: HttpConfig) -> Result<App, CatalogError> {
        App::build(env, config, false)
    }

    fn build(env: FunctionEnv, config: HttpConfig, fixtures: bool) -> Result<App, CatalogError> {
        let mut catalog = Catalog::portable()?;
        catalog.tools.register(DemoAccountContext::new(env))?;
        let catalog = catalog.with_fixtures(fixtures)?;
        let mut info = ServerInfo::new("mcp-lambda", env!("CARGO_PKG_VERSION"));
        info.title = Some("MCP ladder (Lambda, IAM-bounded)".into());
        let server = catalog.serve(info).with_instructions(
            "Tools running in an AWS Lambda function that only IAM principals of its own \
             account can call.",
        );
        Ok(App {
            server,
            config,
            streaming: false,
            rest_streaming: false,
            oauth: None,
            gateway_target: false,
            metrics: None,
            xray: None,
        })
    }

    /// Who decides the caller of `req`: the token check (OAuth),
    /// else the Function URL's IAM check - which a request through API
    /// Gateway never had, so with IAM that front is refused.
    fn authenticator(&self, req: &Request) -> &dyn Authenticator {
        match &self.oauth {
            Some(oauth) => oauth,
            None if Self::is_rest(req) => &UntrustedFront,
            None => &TrustFront,
        }
    }

    /// Whether `req` came through API Gateway's REST front (payload 1.0).
    fn is_rest(req: &Request) -> bool {
        matches!(
            req.request_context_ref(),
            Some(EventContext::ApiGatewayV1(_))
        )
    }

    /// Serves one Function URL request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let (identity, context) = request_context(&req);
        let parts = request_parts(&req, identity.as_ref());
        let auth = self.authenticator(&req);
        let out = mcp_http::exchange(&self.server, &self.config, auth, parts, context).await;
        self.log_exchange(&req, &out, started);
        let headers = out.headers();
        let body = out.body.map_or(Body::Empty, Body::Text);
        let mut response = Response::new(body);
        *response.status_mut() = out.status;
        *response.headers_mut() = headers;
        response
    }
}

/// Refuses every request: the front established no caller this function
/// can trust (API Gateway, to a function that trusts IAM).
struct UntrustedFront;

impl Authenticator for UntrustedFront {
    fn authenticate<'a>(
        &'a self,
        _: &'a RequestParts<'a>,
    ) -> mcp_http::BoxFuture<'a, Result<Option<Identity>, mcp_http::AuthError>> {
        Box::pin(std::future::ready(Err(mcp_http::AuthError {
            status: http::StatusCode::FORBIDDEN,
            challenge: None,
            message: format!(
                "this function trusts the Function URL's IAM check ({auth}={iam}) and serves no \
                 API Gateway requests: deploy it with {auth}={oauth} behind API Gateway",
                auth = Setting::Auth,
                iam = AuthMode::Iam.as_str(),
                oauth = AuthMode::OAuth.as_str(),
            ),
        })))
    }
}

/// The caller AWS authenticated and the context the core gets for `req`.
fn request_context(req: &Request) -> (Option<Identity>, RequestContext) {
    let lambda = req.lambda_context_ref();
    let caller = caller_of(req.request_context_ref());
    let identity = caller.as_ref().and_then(identity_of);
    let mut extensions = Extensions::new();
    extensions.insert(Invocation {
        invoked_function_arn: lambda.map(|c| c.invoked_function_arn.clone()),
        caller,
    });
    let mut context = RequestContext::with_extensions(extensions);
    context.traceparent = lambda
        .and_then(|c| c.xray_trace_id.as_deref())
        .and_then(xray_traceparent);
    mcp_core::trace::set_current(context.traceparent.as_deref());
    context.deadline = lambda.and_then(|c| deadline_of(c.deadline));
    (identity, context)
}

fn request_parts<'r>(req: &'r Request, identity: Option<&'r Identity>) -> RequestParts<'r> {
    RequestParts {
        method: req.method(),
        path: req.raw_http_path(),
        query: req.uri().query(),
        headers: req.headers(),
        body: req.body().as_ref(),
        front_identity: identity,
    }
}

impl App {
    /// The request's log line - never the token or the arguments (the body
    /// only at debug level) - and a `tools/call`'s metric line, both with
    /// the call's trace id.
    fn log_exchange(&self, req: &Request, out: &Exchange, started: Instant) {
        let duration = started.elapsed();
        let request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.as_str())
            .unwrap_or("-");
        let trace_id = out
            .traceparent
            .as_deref()
            .and_then(mcp_core::trace::trace_id);
        tracing::info!(
            request_id,
            method = out.method.as_deref().unwrap_or("-"),
            tool = out.tool.as_deref().unwrap_or("-"),
            outcome = out.outcome.map_or("-", CallOutcome::as_str),
            trace_id = trace_id.unwrap_or("-"),
            status = out.status.as_u16(),
            duration_us = duration.as_micros() as u64,
            "mcp request"
        );
        tracing::debug!(request_id, body = %String::from_utf8_lossy(req.body().as_ref()), "request body");
        if let (Some(xray), Some(header)) = (
            &self.xray,
            req.lambda_context_ref()
                .and_then(|c| c.xray_trace_id.as_deref()),
        ) {
            xray.send(
                header,
                &xray::Span {
                    method: out.method.as_deref().unwrap_or("-"),
                    target: out.tool.as_deref(),
                    outcome: out.outcome,
                    status: out.status.as_u16(),
                    duration,
                    trace_id,
                },
            );
        }
        if let (Some(tool), Some(outcome)) = (&out.tool, out.outcome) {
            self.record_call(tool, outcome, duration, trace_id, request_id);
        }
    }

    /// A `tools/call`'s metric line, when metrics are on; a tool that is
    /// not registered is counted as [`metrics::UNKNOWN_TOOL`].
    fn record_call(
        &self,
        tool: &str,
        outcome: CallOutcome,
        duration: std::time::Duration,
        trace_id: Option<&str>,
        request_id: &str,
    ) {
        let Some(metrics) = &self.metrics else { return };
        let registered = self.server.tools().definition(tool).is_some();
        metrics.record(&CallRecord {
            tool: if registered {
                tool
            } else {
                metrics::UNKNOWN_TOOL
            },
            outcome,
            duration,
            trace_id,
            request_id,
        });
    }

    /// Writes the cold start's metric line, when metrics are on.
    pub fn record_cold_start(&self) {
        if let Some(metrics) = &self.metrics {
            metrics.record_cold_start();
        }
    }
}

/// A W3C `traceparent` for Lambda's X-Ray trace header (`Root=1-{8 hex}-{24
/// hex};Parent={16 hex};Sampled={0|1}`, the value of `_X_AMZN_TRACE_ID`):
/// the root's hex digits are the trace id, as X-Ray maps W3C ids. `None`
/// without a root or a parent.
pub fn xray_traceparent(header: &str) -> Option<String> {
    let xray::TraceHeader {
        root,
        parent,
        sampled,
    } = xray::TraceHeader::parse(header)?;
    let (epoch, unique) = root.strip_prefix("1-")?.split_once('-')?;
    // Built by hand: this runs on every invocation.
    let mut traceparent = String::with_capacity(55);
    for part in [
        "00-",
        epoch,
        unique,
        "-",
        parent,
        if sampled { "-01" } else { "-00" },
    ] {
        traceparent.push_str(part);
    }
    mcp_core::trace::trace_id(&traceparent)
        .is_some()
        .then_some(traceparent)
}

/// The tools the function serves: the portable ones and `demo_account_context`.
pub fn registry(env: FunctionEnv) -> Result<ToolRegistry, RegistryError> {
    let mut tools = mcp_tools::registry()?;
    tools.register(DemoAccountContext::new(env))?;
    Ok(tools)
}

/// The invocation's deadline (`Lambda-Runtime-Deadline-Ms`, Unix epoch
/// milliseconds) on this process's clock; `None` when the Runtime API gave
/// none (0).
fn deadline_of(epoch_ms: u64) -> Option<Instant> {
    if epoch_ms == 0 {
        return None;
    }
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(epoch_ms);
    let left = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(Instant::now() + left)
}

/// The IAM caller from a Function URL event (payload format 2.0 arrives as
/// the API Gateway v2 context).
fn caller_of(context: Option<&EventContext>) -> Option<Caller> {
    let Some(EventContext::ApiGatewayV2(context)) = context else {
        return None;
    };
    let iam = context.authorizer.as_ref()?.iam.as_ref()?;
    Some(Caller {
        account_id: iam.account_id.clone(),
        user_arn: iam.user_arn.clone(),
        caller_id: iam.caller_id.clone(),
    })
}

/// The identity AWS authenticated: the signing principal's ARN and account.
fn identity_of(caller: &Caller) -> Option<Identity> {
    Some(Identity {
        scheme: AuthScheme::AwsIam,
        principal: caller.user_arn.clone()?,
        account: caller.account_id.clone(),
        scopes: None,
    })
}

#[cfg(test)]
mod tests {
    use super::xray_traceparent;

    #[test]
    fn an_xray_header_is_a_w3c_traceparent() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(
            xray_traceparent(header).as_deref(),
            Some("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")
        );
        let unsampled = "Parent=53995c3f42cd8ad8; Root=1-5759e988-bd862e3fe1be46a994272793";
        assert_eq!(
            xray_traceparent(unsampled).as_deref(),
            Some("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")
        );
        for bad in [
            "",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-BD862E3FE1BE46A994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988;Parent=53995c3f42cd8ad8",
        ] {
            assert_eq!(xray_traceparent(bad), None, "{bad}");
        }
    }
}
