//! The DynamoDB counter against moto (with `tests/moto`'s atomic writes), a
//! port nobody listens on, and a local endpoint that throttles: what each
//! DynamoDB answer means for a call.
//!
//! moto runs from the virtualenv `scripts/test.sh` makes (`.venv-moto` at
//! the repository's root), or the Python that `MCP_MOTO_PYTHON` names.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use mcp_core::limits::{Call, CountError, Counter, Quota};
use mcp_lambda::dynamodb::DynamoDbCounter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// moto's server on 127.0.0.1, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let python = std::env::var_os("MCP_MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join(".venv-moto/bin/python"));
        assert!(
            python.exists(),
            "{} is missing: run scripts/test.sh (it installs moto), or set MCP_MOTO_PYTHON",
            python.display()
        );
        let port = free_port();
        let mut command = Command::new(python);
        command
            .arg("run_moto.py")
            .arg(port.to_string())
            .current_dir(repo().join("tests/moto"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        let child = command.spawn().expect("moto starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start within 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client_for(endpoint: &str) -> Client {
    let config = mcp_lambda::dynamodb::client_config()
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

async fn create_table(client: &Client, name: &str, key: &str) {
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("an attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("a key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("the table is created");
}

fn call(caller: &str) -> Call<'_> {
    Call {
        caller,
        policy: "default",
        tool: "word_count",
        quota: Quota {
            limit: 3,
            window_s: 60,
        },
        now: SystemTime::now(),
    }
}

#[tokio::test]
async fn the_counter_against_moto_bounds_its_key_and_tells_refusals_from_outages() {
    let moto = Moto::start();
    let client = client_for(&moto.endpoint);
    create_table(&client, "limits", "pk").await;
    create_table(&client, "not-the-contract", "id").await;
    let budget = Duration::from_secs(5);

    // A caller id over DynamoDB's 2,048-byte partition key is counted like
    // any other: its key is a hash.
    let account = "0".repeat(12); // a placeholder: no real account id in the repository
    let long = format!("arn:aws:iam::{account}:role/{}", "r".repeat(3000));
    let counter = DynamoDbCounter::with_client("limits", budget, client.clone());
    let mut admitted = Vec::new();
    for _ in 0..5 {
        let decision = counter.count(call(&long)).await.expect("counted");
        admitted.push(decision.admitted);
    }
    assert_eq!(admitted, [true, true, true, false, false]);
    assert!(
        counter
            .count(call("short"))
            .await
            .expect("counted")
            .admitted
    );
    let items = client
        .scan()
        .table_name("limits")
        .send()
        .await
        .expect("scanned");
    let keys: Vec<String> = items
        .items()
        .iter()
        .filter_map(|item| item.get("pk")?.as_s().ok().cloned())
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter().all(|k| k.len() < 200 && !k.contains("rrrr")),
        "{keys:?}"
    );

    // DynamoDB refusing the request itself is a refusal with its reason.
    let wrong = DynamoDbCounter::with_client("not-the-contract", budget, client.clone());
    match wrong.count(call("a")).await {
        Err(CountError::Refused(why)) => assert!(why.contains("ValidationException"), "{why}"),
        other => panic!("a table with another key: {other:?}"),
    }
    let missing = DynamoDbCounter::with_client("missing", budget, client.clone());
    match missing.count(call("a")).await {
        Err(CountError::Refused(why)) => {
            assert!(why.contains("ResourceNotFoundException"), "{why}");
        }
        other => panic!("a missing table: {other:?}"),
    }

    // Nobody listening is an outage.
    let nowhere = client_for(&format!("http://127.0.0.1:{}", free_port()));
    let unreachable = DynamoDbCounter::with_client("limits", Duration::from_secs(2), nowhere);
    assert!(matches!(
        unreachable.count(call("a")).await,
        Err(CountError::Unavailable(_))
    ));
}

/// A local endpoint that answers every request as DynamoDB answers a write
/// to a hot item; counts the requests.
async fn throttling_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = socket.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buffer.len() < end + 4 + length {
                        continue;
                    }
                    buffer.drain(..end + 4 + length);
                    seen.fetch_add(1, Ordering::SeqCst);
                    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;
                    let response = format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, requests)
}

#[tokio::test]
async fn a_throttled_item_is_a_refusal_to_retry_not_an_outage() {
    let (endpoint, requests) = throttling_endpoint().await;
    let budget = Duration::from_secs(1);
    let counter = DynamoDbCounter::with_client("limits", budget, client_for(&endpoint));
    let started = Instant::now();
    match counter.count(call("hot")).await {
        Err(CountError::Throttled { retry_after_s, why }) => {
            assert_eq!(retry_after_s, 1);
            assert!(
                why.contains("ProvisionedThroughputExceededException"),
                "{why}"
            );
        }
        other => panic!("a throttled item: {other:?}"),
    }
    assert!(started.elapsed() < budget, "answered within the budget");
    assert!(requests.load(Ordering::SeqCst) >= 1);
}
