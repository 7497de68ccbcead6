//! JSON-RPC 2.0: error codes, message classification and reply construction.
//!
//! Messages are classified from a parsed [`Value`] by hand rather than through
//! a derived enum, so that every malformed shape gets the exact error the
//! specification asks for instead of whatever an untagged enum reports.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON-RPC error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    /// The input is not valid JSON.
    pub const PARSE_ERROR: ErrorCode = ErrorCode(-32700);
    /// The JSON is not a valid JSON-RPC request.
    pub const INVALID_REQUEST: ErrorCode = ErrorCode(-32600);
    /// The method does not exist or is not available at this revision.
    pub const METHOD_NOT_FOUND: ErrorCode = ErrorCode(-32601);
    /// Invalid method parameters (also: unknown tool).
    pub const INVALID_PARAMS: ErrorCode = ErrorCode(-32602);
    /// An internal error of the server.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(-32603);
    /// A resource URI nothing serves (the resources page of the specification).
    pub const RESOURCE_NOT_FOUND: ErrorCode = ErrorCode(-32002);
    /// 2026-07-28: HTTP headers disagree with the request body.
    pub const HEADER_MISMATCH: ErrorCode = ErrorCode(-32020);
    /// 2026-07-28: the request needs a client capability the client did not
    /// declare in its `_meta` (HTTP 400).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: ErrorCode = ErrorCode(-32021);
    /// 2026-07-28: the requested protocol revision is not supported.
    pub const UNSUPPORTED_PROTOCOL_VERSION: ErrorCode = ErrorCode(-32022);
    /// This project: the caller's rate limit for the tool is reached (an
    /// implementation-defined server error; HTTP 429).
    pub const RATE_LIMITED: ErrorCode = ErrorCode(-32029);
    /// This project: the shared rate-limit store did not answer within its
    /// time budget, and the tool changes state, so it was not run (HTTP 503).
    pub const RATE_LIMIT_UNAVAILABLE: ErrorCode = ErrorCode(-32030);
    /// The caller's scopes do not cover the tool (this project's choice in
    /// the implementation-defined range; HTTP answers it with 403).
    pub const INSUFFICIENT_SCOPE: ErrorCode = ErrorCode(-32031);
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The `error` member of a JSON-RPC error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: ErrorCode,
    /// A short description a person or a model can act on.
    pub message: String,
    /// Structured detail, where the specification defines one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error without data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured detail.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700.
    pub fn parse_error(detail: impl fmt::Display) -> Self {
        Self::new(ErrorCode::PARSE_ERROR, format!("Parse error: {detail}"))
    }

    /// -32600.
    pub fn invalid_request(detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorCode::INVALID_REQUEST,
            format!("Invalid request: {detail}"),
        )
    }

    /// -32601, naming the method.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }

    /// -32602.
    pub fn invalid_params(detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorCode::INVALID_PARAMS,
            format!("Invalid params: {detail}"),
        )
    }

    /// -32603.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorCode::INTERNAL_ERROR,
            format!("Internal error: {detail}"),
        )
    }
}

/// A validated request id: a string or an integer, kept exactly as received.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct RequestId(Value);

impl RequestId {
    /// Accepts a string or an integer; `null`, fractions and anything else are refused.
    pub fn from_value(value: &Value) -> Option<RequestId> {
        match value {
            Value::String(_) => Some(RequestId(value.clone())),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(RequestId(value.clone())),
            _ => None,
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId(Value::from(n))
    }
}

/// One classified JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A call that expects a reply.
    Request {
        id: RequestId,
        method: String,
        params: Params,
    },
    /// A call without an id: never answered.
    Notification { method: String, params: Params },
    /// A response from the peer (this server sends no requests, so it is dropped).
    Response,
}

/// The `params` member: absent, an object, or a by-position array.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    /// No `params` member.
    None,
    /// Named parameters, the only form MCP uses.
    Object(Map<String, Value>),
    /// Positional parameters: valid JSON-RPC, but no MCP method takes them.
    Array(Vec<Value>),
}

impl Params {
    /// The named parameters, treating an absent member as empty; `None` for
    /// positional ones.
    pub fn into_object(self) -> Option<Map<String, Value>> {
        match self {
            Params::None => Some(Map::new()),
            Params::Object(map) => Some(map),
            Params::Array(_) => None,
        }
    }
}

/// Classifies one JSON value as a JSON-RPC message.
///
/// On failure the caller answers with the returned error and `id: null`, as
/// JSON-RPC requires when the id cannot be trusted.
pub fn classify(value: Value) -> Result<Message, ErrorObject> {
    let Value::Object(mut obj) = value else {
        return Err(ErrorObject::invalid_request(
            "a message must be a JSON object",
        ));
    };
    match obj.get("jsonrpc") {
        Some(Value::String(v)) if v == "2.0" => {}
        Some(_) => return Err(ErrorObject::invalid_request("`jsonrpc` must be \"2.0\"")),
        None => return Err(ErrorObject::invalid_request("missing `jsonrpc: \"2.0\"`")),
    }
    let id = match obj.get("id") {
        None => None,
        Some(raw) => Some(RequestId::from_value(raw).ok_or_else(|| {
            ErrorObject::invalid_request("`id` must be a string or an integer (not null)")
        })?),
    };
    let Some(method) = obj.remove("method") else {
        if id.is_some() && (obj.contains_key("result") || obj.contains_key("error")) {
            return Ok(Message::Response);
        }
        return Err(ErrorObject::invalid_request("missing `method`"));
    };
    let Value::String(method) = method else {
        return Err(ErrorObject::invalid_request("`method` must be a string"));
    };
    let params = match obj.remove("params") {
        None => Params::None,
        Some(Value::Object(map)) => Params::Object(map),
        Some(Value::Array(items)) => Params::Array(items),
        Some(_) => {
            return Err(ErrorObject::invalid_request(
                "`params` must be an object when present",
            ));
        }
    };
    Ok(match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method, params },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_kept_exactly() {
        for raw in [
            json!(0),
            json!(-7),
            json!(u64::MAX),
            json!("abc"),
            json!(""),
        ] {
            let id = RequestId::from_value(&raw).unwrap();
            assert_eq!(serde_json::to_value(id).unwrap(), raw, "echoed exactly");
        }
        for raw in [json!(null), json!(1.5), json!(true), json!([1]), json!({})] {
            assert!(RequestId::from_value(&raw).is_none(), "{raw}");
        }
    }

    #[test]
    fn classifies_shapes() {
        let req = classify(json!({"jsonrpc":"2.0","id":1,"method":"ping"})).unwrap();
        assert!(
            matches!(req, Message::Request { ref method, params: Params::None, .. } if method == "ping")
        );
        let note = classify(json!({"jsonrpc":"2.0","method":"x","params":{}})).unwrap();
        assert!(matches!(note, Message::Notification { .. }));
        let resp = classify(json!({"jsonrpc":"2.0","id":1,"result":{}})).unwrap();
        assert_eq!(resp, Message::Response);
        for bad in [
            json!(1),
            json!({"id":1,"method":"ping"}),
            json!({"jsonrpc":"1.0","id":1,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1}),
            json!({"jsonrpc":"2.0","id":1,"method":7}),
            json!({"jsonrpc":"2.0","id":1,"method":"ping","params":3}),
            json!({"jsonrpc":"2.0","id":null,"method":"ping"}),
        ] {
            let err = classify(bad.clone()).unwrap_err();
            assert_eq!(err.code, ErrorCode::INVALID_REQUEST, "{bad}");
        }
    }
}
