//! The internet-facing rung's (rung 4) side of the function: the resource
//! server its settings ask for ([`mcp_settings::Setting::Auth`]), and how
//! the resource server reaches the issuer (GETs over the function's HTTPS
//! connector, bounded in time by `mcp-oauth` and in size here).

use aws_smithy_types::body::SdkBody;
use http_body_util::{BodyExt, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use mcp_http::BoxFuture;
use mcp_oauth::{Fetch, FetchError, OAuthConfig, ResourceServer, Scopes};
use mcp_settings::FunctionSettings;

/// The largest issuer document read (metadata, key sets are a few KB).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// GETs issuer documents over HTTPS (HTTP on loopback: `mcp-oauth` refuses
/// any other `http` URL before it gets here). The client has the DynamoDB
/// counter's exact type, body included, so the function carries one copy of
/// hyper's client code, not two. It is made on the first fetch, not at init:
/// loading the system's trust roots took about 4 ms, three times the rest of
/// the function's init (bench/oauth_bench.py).
#[derive(Debug, Default)]
pub struct HttpsFetch {
    client: std::sync::OnceLock<Result<Client<HttpsConnector<HttpConnector>, SdkBody>, String>>,
}

impl HttpsFetch {
    /// A fetcher; its client comes with its first fetch.
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> &Result<Client<HttpsConnector<HttpConnector>, SdkBody>, String> {
        self.client.get_or_init(|| {
            crate::tls::https_connector()
                .map(|https| Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
        })
    }
}

impl Fetch for HttpsFetch {
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Vec<u8>, FetchError>> {
        Box::pin(async move {
            let client = self
                .client()
                .as_ref()
                .map_err(|e| FetchError::Request(e.clone().into()))?;
            let request = http::Request::get(url)
                .body(SdkBody::empty())
                .map_err(FetchError::Url)?;
            let response = client
                .request(request)
                .await
                .map_err(|e| FetchError::Request(e.into()))?;
            if !response.status().is_success() {
                return Err(FetchError::Status(response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(FetchError::Body)?;
            Ok(body.to_bytes().to_vec())
        })
    }
}

/// The authenticator `settings` ask for: `None` for IAM (the front's check
/// is trusted), the resource server for OAuth, configured for the scopes of
/// what `server` offers (tools, resources, prompts). An error names the
/// variable to fix.
pub fn resource_server(
    settings: &FunctionSettings,
    server: &mcp_core::Server,
) -> Result<Option<ResourceServer>, crate::runtime::Error> {
    let Some(config) = OAuthConfig::from_settings(settings)? else {
        return Ok(None);
    };
    let scopes = Scopes::of_server(server, config.scopes_supported.as_deref())?;
    let server = ResourceServer::new(config, scopes, Box::new(HttpsFetch::new()))?;
    tracing::info!(
        metadata = server.metadata_url(),
        "bearer tokens are checked on every request"
    );
    Ok(Some(server))
}
