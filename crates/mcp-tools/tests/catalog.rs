//! The core's breadth through the default catalog and the conformance
//! fixture pack: resources, templates, prompts, completions, content types
//! and log levels, at every revision (a revision never receives a field or a
//! block type it lacks).
#![expect(clippy::unwrap_used, reason = "tests")]

use std::sync::{Arc, Mutex};

use mcp_core::scopes::ScopesError;
use mcp_core::{Notify, ProtocolVersion, RequestContext, Server, ServerInfo, Session};
use mcp_tools::{Catalog, conformance};
use serde_json::{Value, json};

fn server() -> Server {
    let mut catalog = Catalog::portable().unwrap();
    conformance::install(&mut catalog).unwrap();
    catalog.serve(ServerInfo::new("t", "0"))
}

/// Collects the notifications a request sends.
#[derive(Default)]
struct Sink(Mutex<Vec<Value>>);

impl Notify for Sink {
    fn send(&self, notification: Value) {
        self.0.lock().unwrap().push(notification);
    }
}

/// `key` of every member of the array `list`.
fn each<'v>(list: &'v Value, key: &str) -> Vec<&'v str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap())
        .collect()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A session at `version`: initialized on a stateful connection for the
/// handshake revisions; stateless (with the `_meta` envelope) for 2026-07-28.
struct At {
    server: Server,
    session: Session,
    version: ProtocolVersion,
    next_id: u64,
    /// What the server offers: the `initialize` result's capabilities, or
    /// `server/discover`'s at 2026-07-28.
    capabilities: Value,
}

impl At {
    fn new(version: ProtocolVersion) -> At {
        let mut at = At {
            server: server(),
            session: Session::new(),
            version,
            next_id: 1,
            capabilities: Value::Null,
        };
        let started = if version.is_stateless() {
            at.result("server/discover", json!({}))
        } else {
            let result = at.result("initialize", json!({"protocolVersion": version.as_str(), "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}));
            assert_eq!(result["protocolVersion"], version.as_str());
            result
        };
        at.capabilities = started["capabilities"].clone();
        at
    }

    fn send(&mut self, method: &str, mut params: Value, sink: Option<Arc<Sink>>) -> Value {
        if self.version.is_stateless() && method != "initialize" {
            let meta = params
                .as_object_mut()
                .unwrap()
                .entry("_meta")
                .or_insert(json!({}));
            meta["io.modelcontextprotocol/protocolVersion"] = json!(self.version.as_str());
            meta["io.modelcontextprotocol/clientCapabilities"] = json!({});
        }
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut context = RequestContext::default();
        if let Some(sink) = sink {
            context.notify = sink;
        }
        let reply = block_on(
            self.server
                .handle_value(&mut self.session, message, &context),
        );
        reply.unwrap().to_value()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    fn result(&mut self, method: &str, params: Value) -> Value {
        let reply = self.request(method, params);
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }

    fn error(&mut self, method: &str, params: Value) -> (i64, String) {
        let reply = self.request(method, params);
        let error = &reply["error"];
        assert!(error.is_object(), "{method} should fail: {reply}");
        (
            error["code"].as_i64().unwrap(),
            error["message"].as_str().unwrap().to_owned(),
        )
    }
}

#[test]
fn capabilities_follow_the_catalog_and_the_revision() {
    for version in ProtocolVersion::ALL {
        let capabilities = At::new(version).capabilities;
        assert_eq!(
            capabilities["resources"],
            json!({"subscribe": true, "listChanged": false})
        );
        assert_eq!(capabilities["prompts"], json!({"listChanged": false}));
        assert_eq!(
            capabilities.get("completions").is_some(),
            version.has_completions(),
            "{version}"
        );
        assert_eq!(
            capabilities.get("logging").is_some(),
            !version.is_stateless(),
            "{version}"
        );
    }
}

#[test]
fn resources_list_read_and_subscribe_at_every_revision() {
    for version in ProtocolVersion::ALL {
        let mut at = At::new(version);
        let listed = at.result("resources/list", json!({}));
        let uris: Vec<&str> = each(&listed["resources"], "uri");
        assert!(uris.contains(&mcp_tools::GUIDE_URI) && uris.contains(&"test://static-text"));
        let guide = &listed["resources"][0];
        assert_eq!(
            guide.get("title").is_some(),
            version.has_structured_output(),
            "{version}: {guide}"
        );
        assert_eq!(
            listed.get("ttlMs").is_some(),
            version.is_stateless(),
            "{version}"
        );

        let templates = at.result("resources/templates/list", json!({}));
        assert_eq!(
            templates["resourceTemplates"][0]["uriTemplate"],
            "test://template/{id}/data"
        );

        let text = at.result("resources/read", json!({"uri": "test://static-text"}));
        assert_eq!(
            text["contents"],
            json!([{"uri": "test://static-text", "mimeType": "text/plain", "text": "This is the content of the static text resource."}])
        );
        let binary = at.result("resources/read", json!({"uri": "test://static-binary"}));
        assert_eq!(binary["contents"][0]["mimeType"], "image/png");
        assert!(
            binary["contents"][0]["blob"]
                .as_str()
                .unwrap()
                .starts_with("iVBORw0KGgo")
        );
        let templated = at.result("resources/read", json!({"uri": "test://template/123/data"}));
        let data: Value =
            serde_json::from_str(templated["contents"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(data["id"], "123");
        assert_eq!(templated["contents"][0]["uri"], "test://template/123/data");

        // Not found: -32002 up to 2025-11-25, -32602 from 2026-07-28 (SEP-2164).
        let not_found = if version.is_stateless() {
            -32602
        } else {
            -32002
        };
        for uri in ["test://nothing", "test://template/1/2/data"] {
            let (code, message) = at.error("resources/read", json!({"uri": uri}));
            assert_eq!(code, not_found, "{message}");
            assert!(message.contains(uri), "{message}");
        }
        if version.is_stateless() {
            // SEP-2549: a read carries its cache hints.
            assert_eq!(
                (text["ttlMs"].as_u64(), text["cacheScope"].as_str()),
                (Some(60_000), Some("private"))
            );
        } else {
            assert!(text.get("ttlMs").is_none(), "{version}");
        }
        let (code, _) = at.error("resources/read", json!({}));
        assert_eq!(code, -32602);
        if version.is_stateless() {
            // Replaced by `subscriptions/listen` (SEP-2575).
            let (code, _) = at.error(
                "resources/subscribe",
                json!({"uri": "test://watched-resource"}),
            );
            assert_eq!(code, -32601);
        } else {
            assert_eq!(
                at.result(
                    "resources/subscribe",
                    json!({"uri": "test://watched-resource"})
                ),
                empty_result(version)
            );
            let (code, _) = at.error("resources/subscribe", json!({"uri": "test://nothing"}));
            assert_eq!(code, -32002);
        }
        let (code, _) = at.error("resources/list", json!({"cursor": "x"}));
        assert_eq!(code, -32602);
    }
}

/// An empty result as `version` frames it (2026-07-28 adds its envelope).
fn empty_result(version: ProtocolVersion) -> Value {
    if version.is_stateless() {
        json!({"resultType": "complete", "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "t", "version": "0"}}})
    } else {
        json!({})
    }
}

#[test]
fn prompts_list_get_and_check_their_arguments() {
    for version in ProtocolVersion::ALL {
        let mut at = At::new(version);
        let listed = at.result("prompts/list", json!({}));
        let names: Vec<&str> = each(&listed["prompts"], "name");
        assert_eq!(
            names,
            [
                "count_words",
                "test_simple_prompt",
                "test_prompt_with_arguments",
                "test_prompt_with_embedded_resource",
                "test_prompt_with_image",
                "test_input_required_result_prompt"
            ]
        );
        assert_eq!(
            listed["prompts"][0]["arguments"],
            json!([{"name": "text", "description": "The text to count", "required": true}])
        );

        let got = at.result(
            "prompts/get",
            json!({"name": "test_prompt_with_arguments", "arguments": {"arg1": "one", "arg2": "two"}}),
        );
        assert_eq!(got["messages"][0]["role"], "user");
        let text = got["messages"][0]["content"]["text"].as_str().unwrap();
        assert!(text.contains("one") && text.contains("two"), "{text}");

        let embedded = at.result(
            "prompts/get",
            json!({"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": "test://example-resource"}}),
        );
        assert_eq!(embedded["messages"][0]["content"]["type"], "resource");
        assert_eq!(
            embedded["messages"][0]["content"]["resource"]["uri"],
            "test://example-resource"
        );
        let image = at.result("prompts/get", json!({"name": "test_prompt_with_image"}));
        assert_eq!(image["messages"][0]["content"]["type"], "image");

        for (params, needle) in [
            (
                json!({"name": "test_prompt_with_arguments", "arguments": {"arg1": "x"}}),
                "arg2",
            ),
            (
                json!({"name": "test_simple_prompt", "arguments": {"extra": "x"}}),
                "extra",
            ),
            (json!({"name": "nope"}), "nope"),
            (
                json!({"name": "count_words", "arguments": {"text": 3}}),
                "strings",
            ),
            (json!({}), "name"),
        ] {
            let (code, message) = at.error("prompts/get", params);
            assert_eq!(code, -32602, "{message}");
            assert!(message.contains(needle), "{message} should name {needle}");
        }
    }
}

#[test]
fn completions_where_the_revision_has_them() {
    for version in ProtocolVersion::ALL {
        let mut at = At::new(version);
        let params = json!({"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "argument": {"name": "arg1", "value": "testi"}});
        if !version.has_completions() {
            let (code, _) = at.error("completion/complete", params);
            assert_eq!(code, -32601, "{version}");
            continue;
        }
        let done = at.result("completion/complete", params);
        assert_eq!(
            done["completion"],
            json!({"values": ["testing"], "total": 1, "hasMore": false})
        );
        let done = at.result(
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "test://template/{id}/data"}, "argument": {"name": "id", "value": "12"}}),
        );
        assert_eq!(done["completion"]["values"], json!(["12", "123"]));
        for params in [
            json!({"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "a", "value": ""}}),
            json!({"ref": {"type": "ref/prompt", "name": "test_simple_prompt"}, "argument": {"name": "a", "value": ""}}),
            json!({"ref": {"type": "ref/resource", "uri": "test://nothing/{x}"}, "argument": {"name": "x", "value": ""}}),
            json!({"ref": {"type": "ref/other"}, "argument": {"name": "a", "value": ""}}),
            json!({"ref": {"type": "ref/prompt", "name": "count_words"}}),
        ] {
            let (code, message) = at.error("completion/complete", params.clone());
            assert_eq!(code, -32602, "{params}: {message}");
        }
    }
}

#[test]
fn content_tools_give_blocks_a_revision_can_carry() {
    for version in ProtocolVersion::ALL {
        let mut at = At::new(version);
        let listed = at.result("tools/list", json!({}));
        let image_tool = listed["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "test_image_content")
            .unwrap()
            .clone();
        assert!(
            image_tool.get("outputSchema").is_none(),
            "a content tool has no outputSchema: {image_tool}"
        );
        let call = |at: &mut At, name: &str| at.result("tools/call", json!({"name": name}));
        let image = call(&mut at, "test_image_content");
        assert_eq!(image["content"][0]["type"], "image");
        assert_eq!(image["content"][0]["mimeType"], "image/png");
        assert!(image.get("structuredContent").is_none());
        let audio = call(&mut at, "test_audio_content");
        let block = &audio["content"][0];
        if version.has_audio_content() {
            assert_eq!(block["type"], "audio");
            assert_eq!(block["mimeType"], "audio/wav");
        } else {
            assert_eq!(block["type"], "text", "{version} has no audio: {block}");
        }
        let mixed = call(&mut at, "test_multiple_content_types");
        let types: Vec<&str> = each(&mixed["content"], "type");
        assert_eq!(types, ["text", "image", "resource"]);
        let failed = call(&mut at, "test_error_handling");
        assert_eq!(failed["isError"], true);
        assert!(
            failed["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("intentionally")
        );
    }
}

#[test]
fn log_levels_filter_what_a_tool_sends() {
    // A stateful connection: `logging/setLevel` holds for the next calls.
    let mut at = At::new(ProtocolVersion::V2025_11_25);
    let logs = |at: &mut At, params: Value| {
        let sink = Arc::new(Sink::default());
        let reply = at.send("tools/call", params, Some(sink.clone()));
        assert_eq!(reply["result"]["isError"], false, "{reply}");
        sink.0.lock().unwrap().clone()
    };
    let call = json!({"name": "test_tool_with_logging"});
    let sent = logs(&mut at, call.clone());
    assert_eq!(sent.len(), 3, "all levels before any setLevel: {sent:?}");
    assert_eq!(sent[0]["method"], "notifications/message");
    assert_eq!(sent[0]["params"]["level"], "info");
    assert_eq!(
        at.result("logging/setLevel", json!({"level": "warning"})),
        json!({})
    );
    assert!(
        logs(&mut at, call.clone()).is_empty(),
        "info is below warning"
    );
    assert_eq!(
        at.result("logging/setLevel", json!({"level": "debug"})),
        json!({})
    );
    assert_eq!(logs(&mut at, call.clone()).len(), 3);
    for bad in [json!({"level": "verbose"}), json!({})] {
        let (code, message) = at.error("logging/setLevel", bad);
        assert_eq!(code, -32602);
        assert!(message.contains("emergency"), "{message} lists the levels");
    }

    // 2026-07-28: nothing unless the request opts in through its `_meta`.
    let mut modern = At::new(ProtocolVersion::V2026_07_28);
    assert!(logs(&mut modern, call.clone()).is_empty());
    let opted_in = json!({"name": "test_tool_with_logging", "_meta": {"io.modelcontextprotocol/logLevel": "info"}});
    assert_eq!(logs(&mut modern, opted_in).len(), 3);
    let above = json!({"name": "test_tool_with_logging", "_meta": {"io.modelcontextprotocol/logLevel": "error"}});
    assert!(logs(&mut modern, above).is_empty());
}

#[test]
fn progress_reaches_the_token_of_the_request() {
    for version in ProtocolVersion::ALL {
        let mut at = At::new(version);
        let sink = Arc::new(Sink::default());
        let reply = at.send(
            "tools/call",
            json!({"name": "test_tool_with_progress", "_meta": {"progressToken": 42}}),
            Some(sink.clone()),
        );
        assert_eq!(reply["result"]["isError"], false);
        let sent = sink.0.lock().unwrap().clone();
        let progress: Vec<f64> = sent
            .iter()
            .map(|n| {
                assert_eq!(n["params"]["progressToken"], 42);
                assert_eq!(
                    n["params"].get("message").is_some(),
                    version.has_progress_message()
                );
                n["params"]["progress"].as_f64().unwrap()
            })
            .collect();
        assert_eq!(progress, [0.0, 50.0, 100.0], "{version}");
    }
}

#[test]
fn the_portable_catalog_has_no_fixtures() {
    let catalog = Catalog::portable().unwrap();
    assert!(
        catalog
            .tools
            .definitions()
            .all(|d| !d.name().starts_with("test_"))
    );
}

/// The context of a bearer-token caller holding `scopes`.
fn scoped(scopes: &[&str]) -> RequestContext {
    RequestContext {
        identity: Some(mcp_core::Identity {
            scheme: mcp_core::AuthScheme::Bearer,
            principal: "subject".into(),
            account: None,
            scopes: Some(scopes.iter().map(|s| (*s).to_owned()).collect()),
        }),
        ..RequestContext::default()
    }
}

fn as_caller(server: &Server, context: &RequestContext, method: &str, params: Value) -> Value {
    let mut session = Session::stateless(ProtocolVersion::V2025_11_25);
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    block_on(server.handle_value(&mut session, message, context))
        .unwrap()
        .to_value()
}

#[test]
fn a_read_token_cannot_reach_the_destructive_tool_and_an_admin_token_can() {
    let server = Catalog::portable()
        .unwrap()
        .serve(ServerInfo::new("t", "0"));
    let names = |context: &RequestContext| -> Vec<String> {
        let listed = as_caller(&server, context, "tools/list", json!({}));
        each(&listed["result"]["tools"], "name")
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let read = scoped(&["mcp:read"]);
    assert_eq!(names(&read), ["word_count", "demo_echo", "demo_progress"]);
    let drop = json!({"name": "demo_drop_table", "arguments": {"table": "users"}});
    let refused = as_caller(&server, &read, "tools/call", drop.clone());
    assert_eq!(refused["error"]["code"], -32031, "{refused}");
    assert_eq!(
        refused["error"]["data"]["requiredScopes"],
        json!(["mcp:admin"])
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not run")
    );

    let admin = scoped(&["mcp:read", "mcp:admin"]);
    assert!(names(&admin).contains(&"demo_drop_table".to_owned()));
    let done = as_caller(&server, &admin, "tools/call", drop);
    assert_eq!(
        done["result"]["structuredContent"]["dropped"], false,
        "{done}"
    );
}

#[test]
fn a_deployment_overrides_scopes_by_tool_name() {
    let overrides = mcp_core::scopes::parse(r#"{"word_count": ["words:count"]}"#).unwrap();
    let server = Catalog::portable()
        .unwrap()
        .serve(ServerInfo::new("t", "0"))
        .with_tool_scopes(overrides)
        .unwrap();
    let call = json!({"name": "word_count", "arguments": {"text": "a b"}});
    let read = as_caller(&server, &scoped(&["mcp:read"]), "tools/call", call.clone());
    assert_eq!(
        read["error"]["data"]["requiredScopes"],
        json!(["words:count"])
    );
    let counted = as_caller(&server, &scoped(&["words:count"]), "tools/call", call);
    assert_eq!(counted["result"]["structuredContent"]["words"], 2);

    let unknown = mcp_core::scopes::parse(r#"{"wordcount": ["x"]}"#).unwrap();
    let error = Catalog::portable()
        .unwrap()
        .serve(ServerInfo::new("t", "0"))
        .with_tool_scopes(unknown)
        .unwrap_err();
    assert!(
        matches!(&error, ScopesError::UnknownTool { tool, known }
            if tool == "wordcount" && known.iter().any(|k| k == "word_count")),
        "{error:?}"
    );
    let error = error.to_string();
    assert!(
        error.contains("\"wordcount\"") && error.contains("word_count"),
        "{error}"
    );
}

/// The settings of the function as `mcp_tools::govern` applies them.
fn governed(vars: &[(&str, &str)]) -> Result<Server, mcp_settings::SettingsError> {
    let settings = mcp_settings::FunctionSettings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })?;
    let server = Catalog::portable()
        .unwrap()
        .serve(ServerInfo::new("t", "0"));
    mcp_tools::govern(server, &settings)
}

#[test]
fn the_batch_limit_setting_bounds_a_batch() {
    let server = governed(&[("MCP_MAX_BATCH", "2")]).unwrap();
    let mut session = Session::stateless(ProtocolVersion::V2025_03_26);
    let ping = |id| json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
    let batch = json!([ping(1), ping(2), ping(3)]);
    let context = RequestContext::default();
    let reply = block_on(server.handle_value(&mut session, batch, &context))
        .unwrap()
        .to_value();
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 2")
    );
    let error = governed(&[("MCP_TOOL_SCOPES", r#"{"nope": ["x"]}"#)])
        .err()
        .unwrap()
        .to_string();
    assert!(error.starts_with("MCP_TOOL_SCOPES: "), "{error}");
}

#[test]
fn resource_and_prompt_scope_settings_apply_and_name_bad_entries() {
    let server = governed(&[
        (
            "MCP_RESOURCE_SCOPES",
            &format!(r#"{{"{}": ["docs:read"]}}"#, mcp_tools::GUIDE_URI),
        ),
        ("MCP_PROMPT_SCOPES", r#"{"count_words": ["prompts:use"]}"#),
    ])
    .unwrap();
    let read = scoped(&["mcp:read"]);
    let guide = json!({"uri": mcp_tools::GUIDE_URI});
    let refused = as_caller(&server, &read, "resources/read", guide.clone());
    assert_eq!(
        refused["error"]["data"]["requiredScopes"],
        json!(["docs:read"])
    );
    let listed = as_caller(&server, &read, "prompts/list", json!({}));
    assert_eq!(listed["result"]["prompts"], json!([]));
    let docs = scoped(&["docs:read"]);
    let served = as_caller(&server, &docs, "resources/read", guide);
    assert_eq!(served["result"]["contents"][0]["uri"], mcp_tools::GUIDE_URI);

    for (setting, text) in [
        ("MCP_RESOURCE_SCOPES", r#"{"file:///nope": ["x"]}"#),
        ("MCP_PROMPT_SCOPES", r#"{"nope": ["x"]}"#),
        ("MCP_PROMPT_SCOPES", r#"{"count_words": "x"}"#),
    ] {
        let error = governed(&[(setting, text)]).err().unwrap().to_string();
        assert!(error.starts_with(&format!("{setting}: ")), "{error}");
    }
}
