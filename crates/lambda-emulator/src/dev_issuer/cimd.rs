//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
//! MCP 2026-07-28's SHOULD for authorization servers): a `client_id` that is
//! an `https` URL names a JSON document the client hosts there, which this
//! issuer fetches for each request that names it - never over plain HTTP,
//! never without verifying the certificate (the system's roots, and the
//! extra CA the emulator is given for tests), at most [`MAX_DOCUMENT_BYTES`]
//! and [`FETCH_TIMEOUT`], following no redirect.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::Value;
use url::Url;

use super::clients::Client;

/// The largest document read: the draft's recommended maximum, 5 kilobytes
/// (section 6.6 of -00 and -01).
pub(super) const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// How long one fetch may take, connection and body included.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `client_id` is meant as a Client ID Metadata Document URL. The
/// client ids this issuer generates never start with `https://` (the
/// draft's "Supporting Both Pre-Registered and Unregistered Clients").
pub(super) fn is_document_url(client_id: &str) -> bool {
    client_id
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Checks a Client Identifier URL (the draft's section 3): `https`, a path,
/// no single-dot or double-dot segment, no fragment, no user name or
/// password.
fn document_url(client_id: &str) -> Result<Url, String> {
    let url = Url::parse(client_id)
        .map_err(|e| format!("the client_id {client_id:?} is not a URL ({e})"))?;
    let refuse = |why: &str| Err(format!("the client_id {client_id:?} {why}"));
    if url.scheme() != "https" {
        return refuse("is not an https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("has a user name or password");
    }
    if url.fragment().is_some() {
        return refuse("has a fragment");
    }
    // The path as written: `Url` resolves dot segments away.
    let after_scheme = &client_id["https://".len()..];
    let path = after_scheme
        .find('/')
        .map_or("", |start| &after_scheme[start..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        return refuse("has no path");
    }
    if path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return refuse("has a . or .. path segment");
    }
    Ok(url)
}

/// Fetches metadata documents.
#[derive(Debug)]
pub(super) struct Fetcher {
    http: HttpClient<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl Fetcher {
    /// A fetcher trusting the system's roots and the certificates in
    /// `extra_ca_pem` (PEM); an error if that PEM holds no certificate or
    /// one rustls cannot use.
    pub(super) fn new(extra_ca_pem: Option<&[u8]>) -> anyhow::Result<Fetcher> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(pem) = extra_ca_pem {
            let certificates = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("the CA certificate PEM is not valid: {e}"))?;
            if certificates.is_empty() {
                anyhow::bail!("the CA certificate PEM holds no CERTIFICATE");
            }
            for certificate in certificates {
                roots.add(certificate).map_err(|e| {
                    anyhow::anyhow!("the CA certificate cannot be used as a trust root: {e}")
                })?;
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        let http = HttpClient::builder(hyper_util::rt::TokioExecutor::new())
            // A document is fetched now and then: no connection is kept.
            .pool_max_idle_per_host(0)
            .build(https);
        Ok(Fetcher { http })
    }

    /// The client `client_id` names: its document fetched and checked. An
    /// error is an `invalid_client` description.
    pub(super) async fn client(&self, client_id: &str) -> Result<Client, String> {
        let url = document_url(client_id)?;
        let body = match tokio::time::timeout(FETCH_TIMEOUT, self.get(client_id)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(format!(
                    "fetching the client's metadata document {url} took longer than {} s",
                    FETCH_TIMEOUT.as_secs()
                ));
            }
        };
        let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(&body) else {
            return Err(format!(
                "the client's metadata document at {url} is not a JSON object"
            ));
        };
        match document.get("client_id") {
            Some(Value::String(id)) if id == client_id => {}
            Some(Value::String(id)) => {
                return Err(format!(
                    "the metadata document's client_id {id:?} is not its URL {client_id:?}"
                ));
            }
            _ => return Err(format!("the metadata document at {url} has no client_id")),
        }
        Client::from_document(client_id, &document)
    }

    /// The body of a 200 answer to `GET url`, at most [`MAX_DOCUMENT_BYTES`].
    async fn get(&self, url: &str) -> Result<Bytes, String> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::USER_AGENT,
                "lambda-emulator development issuer",
            )
            .body(Empty::new())
            .map_err(|e| format!("the client_id {url:?} cannot be requested ({e})"))?;
        let response = self.http.request(request).await.map_err(|e| {
            // hyper-util's error says "client error (Connect)"; its source
            // says why (refused, certificate not trusted).
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why = format!("{why}: {cause}");
                source = cause.source();
            }
            format!("the client's metadata document {url} could not be fetched over HTTPS ({why})")
        })?;
        let status = response.status();
        if status != StatusCode::OK {
            let redirect = if status.is_redirection() {
                " (redirects are not followed)"
            } else {
                ""
            };
            return Err(format!(
                "the client's metadata document {url} answered {status}, not 200 OK{redirect}"
            ));
        }
        match Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
            .collect()
            .await
        {
            Ok(body) => Ok(body.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(format!(
                "the client's metadata document {url} is larger than {MAX_DOCUMENT_BYTES} bytes"
            )),
            Err(e) => Err(format!(
                "the client's metadata document {url} could not be read ({e})"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_identifier_url_has_the_drafts_shape() {
        for good in [
            "https://app.example.com/client.json",
            "https://127.0.0.1:8443/oauth/client",
            "https://app.example.com/c?v=1",
            "https://app.example.com/",
        ] {
            assert!(document_url(good).is_ok(), "{good}");
        }
        for bad in [
            "https://app.example.com",
            "https://app.example.com/a/../client.json",
            "https://app.example.com/./client.json",
            "https://user:pw@app.example.com/client.json",
            "https://app.example.com/client.json#x",
            "https://",
        ] {
            assert!(document_url(bad).is_err(), "{bad}");
        }
        assert!(is_document_url("HTTPS://app.example.com/c"));
        assert!(!is_document_url("http://app.example.com/c"));
        assert!(!is_document_url("abc"));
    }

    #[test]
    fn a_ca_pem_without_a_certificate_is_refused() {
        assert!(Fetcher::new(Some(b"not pem")).is_err());
        assert!(Fetcher::new(None).is_ok());
    }

    #[tokio::test]
    async fn plain_http_is_never_fetched() {
        let fetcher = Fetcher::new(None).unwrap();
        let error = fetcher.get("http://127.0.0.1:9/client.json").await;
        assert!(error.is_err_and(|e| e.contains("could not be fetched over HTTPS")));
    }
}
