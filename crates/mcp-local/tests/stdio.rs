//! The real `mcp-local` binary over pipes: stdout purity, clean exits, flags.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-local");

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "debug") // logs must go to stderr even when verbose
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mcp-local starts")
}

fn read_all(mut from: impl Read) -> String {
    let mut text = String::new();
    from.read_to_string(&mut text).unwrap();
    text
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("mcp-local did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn malformed_session_keeps_stdout_pure_and_serves_on() {
    let mut child = spawn(&["--max-line-bytes", "1024"]);
    let script: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}"#.to_vec(),
        b"\xff\xfe garbage".to_vec(),
        br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_vec(),
        vec![b'a'; 5000],
        b"[]".to_vec(),
        br#"[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#.to_vec(),
        b"".to_vec(),
        br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"word_count","arguments":{"text":"a b c"}}}"#.to_vec(),
    ];
    let mut stdin = child.stdin.take().unwrap();
    for line in &script {
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    drop(stdin); // EOF ends the server
    let out = read_all(child.stdout.take().unwrap());
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");

    let replies: Vec<Value> = out
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON on stdout: {line:?}: {e}"))
        })
        .collect();
    let ids: Vec<Value> = replies
        .iter()
        .map(|r| {
            if r.is_array() {
                r[0]["id"].clone()
            } else {
                r["id"].clone()
            }
        })
        .collect();
    // parse error, initialize, parse error, (notification: nothing), too long,
    // empty batch, batch, id null, call
    assert_eq!(
        Value::Array(ids),
        json!([null, 1, null, null, null, 2, null, 3])
    );
    let flat = replies
        .iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_else(|| vec![r.clone()]));
    for reply in flat {
        assert_eq!(reply["jsonrpc"], "2.0");
        assert!(
            reply.get("result").is_some() != reply.get("error").is_some(),
            "{reply}"
        );
    }
    assert_eq!(
        replies[3]["error"]["message"],
        "Invalid request: message longer than 1024 bytes: it was discarded"
    );
    assert_eq!(
        replies[7]["result"]["structuredContent"],
        Value::Null,
        "none at 2025-03-26"
    );
    assert_eq!(
        replies[7]["result"]["content"][0]["text"],
        r#"{"words":3,"characters":5}"#
    );

    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("serving MCP on stdio"),
        "logs go to stderr: {err}"
    );
}

fn assert_signal_exits_zero(signal: &str) {
    let mut child = spawn(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")
        .unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap(); // the server is up and serving
    assert!(line.contains("\"result\""), "{line}");
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(
        status.code(),
        Some(0),
        "{signal} must end the server with exit 0, got {status}"
    );
    drop(stdin);
}

#[test]
fn sigterm_exits_zero() {
    assert_signal_exits_zero("-TERM");
}

#[test]
fn sigint_exits_zero() {
    assert_signal_exits_zero("-INT");
}

#[test]
fn help_and_version() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(
        text.contains("--max-line-bytes") && text.contains("stdio"),
        "{text}"
    );
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("mcp-local {}", env!("CARGO_PKG_VERSION"))
    );
    let bad = Command::new(BIN)
        .arg("--max-line-bytes=1")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "a bad flag is a usage error");
}

/// `MCP_RATE_LIMITS` on stdio: the caller is `local`; a call over the limit
/// is a JSON-RPC error a model can act on, and a bad setting stops the
/// server at start with the entry named.
#[test]
fn rate_limits_on_stdio() {
    let run = |limits: &str, input: &str| {
        let mut child = Command::new(BIN)
            .env("MCP_RATE_LIMITS", limits)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let status = wait_with_timeout(&mut child, Duration::from_secs(10));
        let out = read_all(child.stdout.take().unwrap());
        (status, out, read_all(child.stderr.take().unwrap()))
    };
    let call = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "word_count", "arguments": {"text": "a b"}}})
        .to_string()
    };
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;
    let input = format!("{init}\n{}\n{}\n", call(1), call(2));
    let (status, out, _) = run(r#"{"tools": {"word_count": "1/1h"}}"#, &input);
    assert!(status.success());
    let replies: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(replies[1]["result"]["isError"], false);
    assert_eq!(replies[2]["error"]["code"], -32029);
    assert_eq!(replies[2]["error"]["data"]["tool"], "word_count");
    let (status, out, err) = run(r#"{"tools": {"word_count": "1/1x"}}"#, "");
    assert!(!status.success() && out.is_empty());
    assert!(
        err.contains("MCP_RATE_LIMITS: tools.word_count is \"1/1x\""),
        "{err}"
    );
}

/// A multi round-trip request on one stdio connection (2026-07-28): the
/// fixture tool asks for a name, the retry with the answer and the sealed
/// state completes, and the state with one character changed is refused.
#[test]
fn a_tool_asks_and_the_retry_completes_on_stdio() {
    let mut child = Command::new(BIN)
        .env("MCP_CONFORMANCE_FIXTURES", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut exchange = |params: Value| -> Value {
        let mut params = params;
        params["name"] = "test_input_required_result_elicitation".into();
        params["arguments"] = json!({});
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}
        });
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
        writeln!(stdin, "{call}").unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    let asked = exchange(json!({}));
    assert_eq!(asked["result"]["resultType"], "input_required", "{asked}");
    let state = asked["result"]["requestState"].as_str().unwrap().to_owned();
    let answer = json!({"user_name": {"action": "accept", "content": {"name": "Ada"}}});
    let mut changed = state.clone().into_bytes();
    changed[10] = if changed[10] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    let refused = exchange(json!({"inputResponses": answer, "requestState": changed}));
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let done = exchange(json!({"inputResponses": answer, "requestState": state}));
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "Hello, Ada!");
    drop(stdin);
    assert!(wait_with_timeout(&mut child, Duration::from_secs(10)).success());
}
