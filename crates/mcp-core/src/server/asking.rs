//! A tool call at a handshake revision whose transport carries
//! server-to-client requests ([`crate::ask`]): each time the tool asks, the
//! requests go to the client one after the other, and the tool runs again
//! with the answers, as a 2026-07-28 retry would bring them.

use serde_json::{Map, Value};

use super::{LogLevel, ProtocolVersion, RequestContext, Server, ServerResult};
use crate::ask::{AskError, ClientChannel, MAX_ROUNDS, Parked};
use crate::jsonrpc::ErrorObject;
use crate::model::CallToolResult;
use crate::mrtr::{Binding, InputMethod, Round};
use crate::tool::Arguments;

impl Server {
    /// Runs tool `name`, carrying what it asks to the client through
    /// `channel`. An answer that does not come (refused, too late,
    /// undeliverable) ends the call with an `isError` result that says why.
    pub(super) async fn call_asking(
        &self,
        name: &str,
        arguments: Arguments<'_>,
        meta: Option<&Map<String, Value>>,
        (version, log_level): (ProtocolVersion, Option<LogLevel>),
        request: &RequestContext,
        channel: &ClientChannel,
    ) -> Result<ServerResult, ErrorObject> {
        let refused = |why: String| Ok(ServerResult::CallTool(CallToolResult::error(why)));
        let (mut answers, mut state, first) = match channel.resume() {
            None => (Map::new(), None, 0),
            Some(resume) => {
                let mut answers = Map::new();
                for (key, method, answer) in &resume.answers {
                    let answer = answer.clone().map_err(|(code, message)| AskError::Refused {
                        method: method.method().to_owned(),
                        code,
                        message,
                    });
                    match usable(name, *method, answer) {
                        Ok(answer) => answers.insert(key.clone(), answer),
                        Err(why) => return refused(why),
                    };
                }
                (answers, resume.state.clone(), resume.round)
            }
        };
        for round_number in first..MAX_ROUNDS {
            let binding = Binding::new("tools/call", name, Arguments::Value(Value::Null), "");
            let round = Round::local(binding, channel.capabilities(), answers, state);
            let cx = request
                .call(version, meta.and_then(|meta| meta.get("progressToken")))
                .with_min_log_level(log_level)
                .with_trace_from(meta)
                .with_round(Some(&round));
            let Some(call) = self.tools.call(name, arguments.clone(), cx) else {
                return Err(self.unknown_tool(name, request));
            };
            let outcome = call.await;
            let asked = match round.take_asked() {
                None => return self.tool_outcome(name, outcome, version),
                Some(Err(why)) => return refused(format!("Tool `{name}` cannot ask: {why}")),
                Some(Ok(asked)) => asked,
            };
            let (mut requests, kept) = asked;
            // `mode` came with 2025-11-25 (form or URL); before it every
            // elicitation is a form and the field is not in the schema.
            for (_, method, params) in &mut requests {
                if *method == InputMethod::Elicitation
                    && version < ProtocolVersion::V2025_11_25
                    && let Some(params) = params.as_object_mut()
                {
                    params.remove("mode");
                }
            }
            if channel.parks() {
                channel.park(Parked {
                    requests,
                    state: kept,
                    round: round_number + 1,
                });
                // A placeholder: the transport answers with the requests.
                return refused(format!("Tool `{name}` waits for the client's answers"));
            }
            answers = Map::new();
            for (key, method, params) in requests {
                if request.cancellation.is_cancelled() {
                    return refused(format!(
                        "Tool `{name}` was cancelled while asking the client"
                    ));
                }
                let answer = channel.request(method.method(), params).await;
                match usable(name, method, answer) {
                    Ok(answer) => answers.insert(key, answer),
                    Err(why) => return refused(why),
                };
            }
            state = kept;
        }
        refused(format!(
            "Tool `{name}` asked the client {MAX_ROUNDS} times without finishing: it was stopped"
        ))
    }
}

/// The client's answer to `method`, when the tool can use it; else why not.
fn usable(
    name: &str,
    method: InputMethod,
    answer: Result<Value, AskError>,
) -> Result<Value, String> {
    let answer = answer.map_err(|why| format!("Tool `{name}` asked the client: {why}"))?;
    if !method.fits(&answer) {
        return Err(format!(
            "Tool `{name}` asked the client for `{}` and the answer is not its result: {answer}",
            method.method()
        ));
    }
    Ok(answer)
}
