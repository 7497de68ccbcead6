//! The 2026-07-28 per-request envelope (`params._meta`) and result decoration.

use serde_json::{Map, Value};

use crate::ProtocolVersion;
use crate::jsonrpc::{ErrorCode, ErrorObject};

/// Request `_meta` key: the revision of this request.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// Request `_meta` key: the client's capabilities for this request.
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// Request `_meta` key: the client's `Implementation` (optional).
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";

/// Notification and result `_meta` key: the subscription (the JSON-RPC id of
/// its `subscriptions/listen` request) a message belongs to.
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// Whether the request carries a 2026-07-28 envelope (a `_meta` naming a revision).
pub fn has_envelope(params: &Map<String, Value>) -> bool {
    is_envelope(params.get("_meta").and_then(Value::as_object))
}

/// Whether a request's `_meta` object names a revision (the envelope).
pub fn is_envelope(meta: Option<&Map<String, Value>>) -> bool {
    meta.is_some_and(|meta| meta.contains_key(PROTOCOL_VERSION_KEY))
}

/// The -32602 error for a stateless request without its envelope.
pub fn missing_envelope() -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "requests at protocol 2026-07-28 carry `params._meta` with \"{PROTOCOL_VERSION_KEY}\" \
         and \"{CLIENT_CAPABILITIES_KEY}\""
    ))
}

/// Checks the envelope and returns its revision: -32602 for a malformed
/// envelope, -32022 (listing what is supported) for a revision not served
/// through the envelope.
pub fn envelope_version(params: &Map<String, Value>) -> Result<ProtocolVersion, ErrorObject> {
    envelope_meta_version(params.get("_meta").and_then(Value::as_object))
}

/// [`envelope_version`] from the request's `_meta` object.
pub fn envelope_meta_version(
    meta: Option<&Map<String, Value>>,
) -> Result<ProtocolVersion, ErrorObject> {
    let meta = meta.ok_or_else(missing_envelope)?;
    let (Some(requested), Some(capabilities)) = (
        meta.get(PROTOCOL_VERSION_KEY),
        meta.get(CLIENT_CAPABILITIES_KEY),
    ) else {
        return Err(missing_envelope());
    };
    let Value::String(requested) = requested else {
        return Err(ErrorObject::invalid_params(format!(
            "\"{PROTOCOL_VERSION_KEY}\" must be a string"
        )));
    };
    if !capabilities.is_object() {
        return Err(ErrorObject::invalid_params(format!(
            "\"{CLIENT_CAPABILITIES_KEY}\" must be an object"
        )));
    }
    match ProtocolVersion::parse(requested) {
        Some(v) if v.is_stateless() => Ok(v),
        _ => Err(unsupported_version(requested)),
    }
}

/// The capabilities of `required` that the request's `_meta` does not
/// declare in its client capabilities.
pub fn undeclared_capabilities<'r>(
    meta: Option<&Map<String, Value>>,
    required: &[&'r str],
) -> Vec<&'r str> {
    let declared = meta
        .and_then(|meta| meta.get(CLIENT_CAPABILITIES_KEY))
        .and_then(Value::as_object);
    required
        .iter()
        .copied()
        .filter(|capability| !declared.is_some_and(|d| d.contains_key(*capability)))
        .collect()
}

/// -32021 MissingRequiredClientCapability: `data.requiredCapabilities` is a
/// `ClientCapabilities` object keyed by each missing capability.
pub fn missing_capabilities(what: &str, missing: &[&str]) -> ErrorObject {
    let required: Map<String, Value> = missing
        .iter()
        .map(|capability| ((*capability).to_owned(), Value::Object(Map::new())))
        .collect();
    ErrorObject::new(
        ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
        format!(
            "{what} needs the client capabilities {}: declare them in \"{CLIENT_CAPABILITIES_KEY}\"",
            missing.join(", ")
        ),
    )
    .with_data(serde_json::json!({ "requiredCapabilities": required }))
}

/// -32022 UnsupportedProtocolVersion, with the revisions this server serves.
pub fn unsupported_version(requested: &str) -> ErrorObject {
    let supported = ProtocolVersion::supported_names();
    ErrorObject::new(
        ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
        format!(
            "Unsupported protocol version {requested:?} for a per-request envelope: use 2026-07-28, \
             or `initialize` with one of {}",
            supported[1..].join(", ")
        ),
    )
    .with_data(serde_json::json!({ "supported": supported, "requested": requested }))
}
