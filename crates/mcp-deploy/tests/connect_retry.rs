//! Right after a deploy, AWS may answer a new Function URL with 403 until the
//! invoke permissions propagate (audit item 6): the client's first request
//! retries 403s for its connect window, and then names both permissions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_credential_types::Credentials;
use mcp_deploy::client::McpClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const DISCOVERED: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2026-07-28","2025-11-25"],"capabilities":{"tools":{"listChanged":false}},"ttlMs":1000,"cacheScope":"private","resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"stub","version":"1"}}}}"#;

/// A one-route HTTP server on 127.0.0.1: 403 for the first `refusals`
/// requests, then the `server/discover` result. Counts requests.
async fn stub(refusals: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/", listener.local_addr().expect("has an address"));
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            // Read the head and the body (Content-Length), then answer and close.
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(read) = stream.read(&mut buf).await {
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..read]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let (status, body) = if n < refusals {
                ("403 Forbidden", r#"{"Message":"Forbidden"}"#)
            } else {
                ("200 OK", DISCOVERED)
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (url, seen)
}

fn client(url: &str, window: Duration) -> McpClient {
    let credentials = Credentials::new("AKIDTEST", "secret", None, None, "test");
    McpClient::sigv4(url, "eu-central-1", credentials)
        .expect("a client")
        .with_connect_retry(window)
}

#[tokio::test]
async fn a_fresh_url_that_refuses_at_first_is_retried() {
    let (url, seen) = stub(2).await;
    let connected = client(&url, Duration::from_secs(20))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(connected.protocol_version, "2026-07-28");
    assert_eq!(connected.server_info.name, "stub");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "two refusals, then the answer"
    );
}

#[tokio::test]
async fn a_lasting_refusal_names_both_permissions() {
    let (url, seen) = stub(usize::MAX).await;
    let err = client(&url, Duration::from_secs(1))
        .connect()
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(
        err.contains("lambda:InvokeFunctionUrl") && err.contains("lambda:InvokeFunction "),
        "{err}"
    );
    assert!(
        seen.load(Ordering::SeqCst) >= 2,
        "it retried before giving up"
    );
}
