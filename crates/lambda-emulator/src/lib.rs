//! Local AWS emulation for the remote rungs (2 to 4): the real `bootstrap`
//! behind a localhost Function URL that checks SigV4 and the invoke policy
//! the way a Function URL with `AuthType = AWS_IAM` does, before the function
//! runs.
//!
//! - [`runtime`]: a Lambda Runtime API (2018-06-01) that starts `bootstrap` as
//!   a child process with Lambda's environment, one invocation at a time, with
//!   a timeout, and a fresh instance after a crash or a timeout.
//! - [`function_url`]: the HTTP front, building payload format 2.0 events.
//! - [`sigv4`]: the signature verifier; [`principals`]: who may call.
//! - [`rest_api`]: an API Gateway REST front (payload format 1.0, bearer
//!   tokens passed through), the internet-facing rung's;
//!   [`dev_issuer`]: a development OAuth authorization server for it (a
//!   test double: registration, authorization code with PKCE, client
//!   credentials).
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use lambda_emulator::{Emulator, EmulatorConfig};
//! let config = EmulatorConfig::new("target/release/bootstrap", "mcp-ladder", "eu-central-1", "000000000000");
//! let emulator = Emulator::start(config).await?; // AWS_IAM with no principals: everyone gets 403
//! println!("{}", emulator.url());
//! # Ok(()) }
//! ```

pub mod api_edge;
pub mod dev_issuer;
pub mod function_url;
pub mod gateway;
pub mod logs;
pub mod principals;
pub mod rest_api;
pub mod runtime;
pub mod sigv4;
pub mod stream;
pub mod waf;
pub mod xray;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_settings::{AuthMode, Setting};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use dev_issuer::{DevIssuer, Grant};
pub use function_url::{Auth, FunctionUrl, InvokeMode};
pub use principals::Principal;
pub use rest_api::RestApi;
pub use runtime::{Function, FunctionSpec, InvokeError, Stats};
pub use sigv4::Verifier;

/// Locks a std mutex, recovering the data if a panicking thread poisoned it
/// (every critical section here leaves the data consistent).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves HTTP/1.1 on `listener`, one task per connection, Nagle off.
pub(crate) async fn serve_http<F, Fut, B>(listener: TcpListener, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    serve_http_with_peer(listener, move |req, _| handler(req)).await;
}

/// [`serve_http`], telling the handler who connected.
pub(crate) async fn serve_http_with_peer<F, Fut, B>(listener: TcpListener, handler: F)
where
    F: Fn(Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut pause = Duration::from_millis(1);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of
                // spinning, and try again.
                tracing::warn!(%error, "accept failed; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        pause = Duration::from_millis(1);
        // Without this every warm invocation waits ~40 ms on delayed ACKs.
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handler(req, peer));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A request id in Lambda's form (a random UUID).
pub(crate) fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A JSON response with the given status: every answer the emulator itself
/// writes (errors, refusals, stats) goes through here.
pub(crate) fn json_response(
    status: http::StatusCode,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Everything the emulator needs to run one function behind one URL.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The function.
    pub function: FunctionSpec,
    /// The URL's auth (`AWS_IAM` by default).
    pub auth: Auth,
    /// The URL's port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// The URL's `InvokeMode`.
    pub invoke_mode: InvokeMode,
    /// An API Gateway REST API in front of the function too (the
    /// internet-facing rung), on its own port.
    pub rest_api: Option<RestApiConfig>,
    /// A development OAuth authorization server (a test double), with the
    /// function configured to trust it
    /// ([`Setting::Auth`] `oauth`, [`Setting::OAuthIssuer`], and with a REST
    /// API, [`Setting::OAuthAudience`] = its MCP endpoint), unless `env` says
    /// otherwise.
    pub dev_issuer: bool,
    /// CA certificates (PEM) the development issuer trusts, besides the
    /// system's roots, when it fetches a Client ID Metadata Document.
    pub dev_issuer_ca: Option<Vec<u8>>,
}

/// Where the local REST API serves.
#[derive(Debug, Clone)]
pub struct RestApiConfig {
    /// Its port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Its stage: the first segment of every path.
    pub stage: String,
    /// The web ACL in front of it, if any ([`waf::WebAcl::from_template`]).
    pub web_acl: Option<Arc<waf::WebAcl>>,
    /// The internet stack's template (`mcp-deploy synth --exposure
    /// internet`): the REST API follows its Lambda authorizer and gateway
    /// responses ([`api_edge::ApiEdge`]).
    pub template: Option<Arc<serde_json::Value>>,
    /// How long a buffered Lambda proxy integration may take before API
    /// Gateway answers 504: 29 s ([`rest_api::INTEGRATION_TIMEOUT`]). Tests
    /// may shorten it, never lengthen it.
    pub integration_timeout: Duration,
    /// The integration's `ResponseTransferMode`: with `STREAM` the
    /// function's response stream goes to the client as it comes (and the
    /// function gets [`Setting::RestTransferMode`] `STREAM`, as the deploy
    /// CLI sets it, unless `env` sets it).
    pub transfer_mode: mcp_settings::TransferMode,
}

impl Default for RestApiConfig {
    fn default() -> Self {
        RestApiConfig {
            port: 0,
            stage: "local".into(),
            web_acl: None,
            template: None,
            integration_timeout: rest_api::INTEGRATION_TIMEOUT,
            transfer_mode: mcp_settings::TransferMode::Buffered,
        }
    }
}

/// Sets `setting` in `env` unless the caller set it.
fn set_default(env: &mut Vec<(String, String)>, setting: Setting, value: &str) {
    if !env.iter().any(|(k, _)| k == setting.name()) {
        env.push((setting.name().into(), value.into()));
    }
}

impl EmulatorConfig {
    /// A function with Lambda's defaults (128 MB, 10 s) behind an `AWS_IAM`
    /// URL that nobody may call until principals are added.
    pub fn new(
        bootstrap: impl Into<PathBuf>,
        name: impl Into<String>,
        region: impl Into<String>,
        account_id: impl Into<String>,
    ) -> Self {
        let region = region.into();
        EmulatorConfig {
            function: FunctionSpec {
                bootstrap: bootstrap.into(),
                name: name.into(),
                region: region.clone(),
                account_id: account_id.into(),
                memory_mb: 128,
                timeout: Duration::from_secs(10),
                concurrency: runtime::DEFAULT_CONCURRENCY,
                env: Vec::new(),
                credentials: runtime::RoleCredentials::mint(),
                tracing: runtime::Tracing::default(),
            },
            auth: Auth::AwsIam {
                verifier: Verifier::lambda(region),
                principals: Vec::new(),
            },
            port: 0,
            invoke_mode: InvokeMode::Buffered,
            rest_api: None,
            dev_issuer: false,
            dev_issuer_ca: None,
        }
    }
}

/// A running emulator; dropping it stops the URL and the function.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    url: Arc<FunctionUrl>,
    server: JoinHandle<()>,
    gateways: Mutex<Vec<(SocketAddr, JoinHandle<()>)>>,
    rest_api: Option<(String, JoinHandle<()>)>,
    issuer: Option<DevIssuer>,
}

impl Emulator {
    /// Binds the URL and starts serving. The function starts on first use.
    pub async fn start(mut config: EmulatorConfig) -> anyhow::Result<Emulator> {
        // The function's side of a streaming URL (its setting
        // `Setting::InvokeMode`), as the deploy CLI sets it; the caller's own
        // setting wins.
        let env = &mut config.function.env;
        if config.invoke_mode == InvokeMode::ResponseStream {
            set_default(
                env,
                Setting::InvokeMode,
                mcp_settings::InvokeMode::ResponseStream.as_str(),
            );
        }
        let issuer = match config.dev_issuer {
            true => Some(DevIssuer::start_trusting(config.dev_issuer_ca.as_deref()).await?),
            false => None,
        };
        if let Some(issuer) = &issuer {
            set_default(env, Setting::Auth, AuthMode::OAuth.as_str());
            set_default(env, Setting::OAuthIssuer, issuer.url());
        }
        let rest_listener = match &config.rest_api {
            Some(rest) => {
                let listener = TcpListener::bind(("127.0.0.1", rest.port)).await?;
                let endpoint = format!(
                    "http://{}/{}{}",
                    listener.local_addr()?,
                    rest.stage,
                    rest_api::MCP_RESOURCE
                );
                if rest.transfer_mode == mcp_settings::TransferMode::Stream {
                    set_default(
                        env,
                        Setting::RestTransferMode,
                        mcp_settings::TransferMode::Stream.as_str(),
                    );
                }
                let oauth = (Setting::Auth.name(), AuthMode::OAuth.as_str());
                if env.iter().any(|(k, v)| (k.as_str(), v.as_str()) == oauth) {
                    set_default(env, Setting::OAuthAudience, &endpoint);
                }
                Some((listener, endpoint, rest.clone()))
            }
            None => None,
        };
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let function = Arc::new(Function::new(config.function));
        let rest_api = match rest_listener {
            Some((listener, endpoint, rest)) => {
                let base = format!("http://{}", listener.local_addr()?);
                let edge = match &rest.template {
                    Some(template) => api_edge::ApiEdge::from_template(template, &base)?,
                    None => None,
                };
                let api = Arc::new(rest_api::RestApi {
                    function: function.clone(),
                    stage: rest.stage,
                    api_id: format!("local{:05}", addr.port()),
                    web_acl: rest.web_acl,
                    integration_timeout: rest
                        .integration_timeout
                        .min(rest_api::INTEGRATION_TIMEOUT),
                    edge: edge.map(Arc::new),
                    transfer_mode: rest.transfer_mode,
                });
                Some((endpoint, tokio::spawn(rest_api::serve(listener, api))))
            }
            None => None,
        };
        let url = Arc::new(FunctionUrl {
            function,
            auth: config.auth,
            invoke_mode: config.invoke_mode,
            url_id: format!("local{:027x}", u128::from(addr.port())),
        });
        let server = tokio::spawn(function_url::serve(listener, url.clone()));
        Ok(Emulator {
            addr,
            url,
            server,
            gateways: Mutex::new(Vec::new()),
            rest_api,
            issuer,
        })
    }

    /// The REST API's MCP endpoint (`http://127.0.0.1:PORT/<stage>/mcp`),
    /// when it serves one.
    pub fn rest_api_url(&self) -> Option<&str> {
        self.rest_api.as_ref().map(|(url, _)| url.as_str())
    }

    /// The development issuer, when it runs one.
    pub fn issuer(&self) -> Option<&DevIssuer> {
        self.issuer.as_ref()
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The addresses of the gateways it serves.
    pub fn gateway_addrs(&self) -> Vec<SocketAddr> {
        lock(&self.gateways).iter().map(|(addr, _)| *addr).collect()
    }

    /// What ran.
    pub fn stats(&self) -> &Arc<Stats> {
        self.url.function.stats()
    }

    /// Serves `GET /stats` (the counters and the metrics the function's
    /// EMF lines make, as JSON) and `GET /logs` (the function's log lines)
    /// on another 127.0.0.1 port, away from the Function URL's namespace;
    /// returns the URL of `/stats`.
    pub async fn serve_stats(&self) -> anyhow::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/stats", listener.local_addr()?);
        let stats = self.stats().clone();
        tokio::spawn(serve_http(listener, move |req| {
            let body = match req.uri().path() {
                "/logs" => stats.logs().lines_json(),
                "/traces" => stats.segments().json(),
                _ => stats.to_json(),
            };
            async move { Ok::<_, Infallible>(json_response(http::StatusCode::OK, body.to_string())) }
        }));
        Ok(url)
    }

    /// Serves a local AgentCore Gateway with the function as its Lambda
    /// target named `target`, on another 127.0.0.1 port; returns its MCP
    /// endpoint (`http://127.0.0.1:PORT/mcp`). The gateway takes the URL's
    /// principals, signing for `bedrock-agentcore` (or anyone, with no auth).
    pub async fn serve_gateway(
        &self,
        target: &str,
        tools: Vec<gateway::TargetTool>,
    ) -> anyhow::Result<String> {
        let auth = match &self.url.auth {
            Auth::None => gateway::GatewayAuth::None,
            Auth::AwsIam {
                verifier,
                principals,
            } => gateway::GatewayAuth::AwsIam {
                verifier: Verifier {
                    service: "bedrock-agentcore".into(),
                    ..verifier.clone()
                },
                principals: principals.clone(),
            },
        };
        let gateway = Arc::new(gateway::Gateway::new(
            self.url.function.clone(),
            target,
            tools,
            auth,
        )?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        lock(&self.gateways).push((addr, tokio::spawn(gateway::serve(listener, gateway))));
        Ok(format!("http://{addr}/mcp"))
    }

    /// Stops serving and stops the function.
    pub async fn shutdown(self) {
        self.server.abort();
        for (_, gateway) in lock(&self.gateways).drain(..) {
            gateway.abort();
        }
        if let Some((_, rest_api)) = &self.rest_api {
            rest_api.abort();
        }
        self.url.function.stop().await;
    }
}
