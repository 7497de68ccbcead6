//! The function's one HTTPS connector: HTTP/1.1 over hyper (already in the
//! function for the Runtime API) and rustls with ring, trusting the system's
//! roots. The DynamoDB counter and the OAuth key fetch both use it.

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

/// An HTTPS (and, for emulators on loopback, HTTP) connector; an error says
/// why TLS cannot be set up.
pub(crate) fn https_connector() -> Result<HttpsConnector<HttpConnector>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        // Lambda's images have roots; a bare test machine may not.
        tracing::warn!(
            "no TLS trust roots on this system: only http:// endpoints (an emulator) can be reached"
        );
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|tls| {
            let tls = tls.with_root_certificates(roots).with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .build()
        })
        .map_err(|e| format!("no TLS configuration: {e}"))
}
