//! One incoming message, parsed once for the transport and the server.
//!
//! The common message - a single `tools/call` request - is read straight into
//! borrowed, typed fields, and its `arguments` stay raw JSON until the tool's
//! own `Args` type reads them: no `Value` tree is built and dropped per call.
//! Every other message, and every malformed one, is read into a [`Value`] and
//! classified by hand ([`crate::classify`]) so that each shape keeps its exact
//! error.
//!
//! The two readings answer alike: the typed one accepts only messages that the
//! `Value` path would accept unchanged (exactly the members `jsonrpc` = "2.0",
//! a string or integer `id`, `method` = "tools/call", and an object `params`
//! with a string `name`, object or null `arguments` and an object or null
//! `_meta`; no duplicate member), and gives up on anything else, which then
//! takes the `Value` path. `tests/fast_path.rs` checks that both give the same
//! reply.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::jsonrpc::RequestId;
use crate::meta::PROTOCOL_VERSION_KEY;

/// A parsed message: the typed reading of a `tools/call`, or a `Value`.
#[derive(Debug)]
pub struct Incoming<'a>(pub(crate) Repr<'a>);

#[derive(Debug)]
pub(crate) enum Repr<'a> {
    Call(ToolCallRequest<'a>),
    Value(Value),
}

/// A single `tools/call` request, borrowed from the input.
#[derive(Debug)]
pub(crate) struct ToolCallRequest<'a> {
    pub(crate) id: RequestId,
    pub(crate) name: Cow<'a, str>,
    /// Raw JSON, an object; `None` for absent or null.
    pub(crate) arguments: Option<&'a RawValue>,
    /// `params._meta`; `None` for absent or null.
    pub(crate) meta: Option<Map<String, Value>>,
}

impl<'a> Incoming<'a> {
    /// Parses one message or batch. The error is the JSON parser's, for a
    /// -32700 reply.
    pub fn parse(input: &'a [u8]) -> Result<Incoming<'a>, serde_json::Error> {
        if let Some(call) = ToolCallRequest::parse(input) {
            return Ok(Incoming(Repr::Call(call)));
        }
        serde_json::from_slice(input).map(|value| Incoming(Repr::Value(value)))
    }

    /// Wraps a message that is already a `Value`.
    pub fn from_value(value: Value) -> Incoming<'static> {
        Incoming(Repr::Value(value))
    }

    /// Whether this is one message (an object), not a batch or a stray value.
    pub fn is_object(&self) -> bool {
        match &self.0 {
            Repr::Call(_) => true,
            Repr::Value(value) => value.is_object(),
        }
    }

    /// The `method` member, when it is a string.
    pub fn method(&self) -> Option<&str> {
        match &self.0 {
            Repr::Call(_) => Some("tools/call"),
            Repr::Value(value) => value.get("method").and_then(Value::as_str),
        }
    }

    /// The tool a `tools/call` names (`params.name`), when it is a string.
    pub fn tool(&self) -> Option<&str> {
        match &self.0 {
            Repr::Call(call) => Some(&call.name),
            Repr::Value(value) if self.method() == Some("tools/call") => {
                value["params"]["name"].as_str()
            }
            Repr::Value(_) => None,
        }
    }

    /// The request's id, when it is a valid one.
    pub fn id(&self) -> Option<RequestId> {
        match &self.0 {
            Repr::Call(call) => Some(call.id.clone()),
            Repr::Value(value) => value.get("id").and_then(RequestId::from_value),
        }
    }

    /// Whether `params._meta` names a protocol revision (the 2026-07-28
    /// envelope), whatever its value.
    pub fn has_envelope(&self) -> bool {
        match &self.0 {
            Repr::Call(call) => call
                .meta
                .as_ref()
                .is_some_and(|meta| meta.contains_key(PROTOCOL_VERSION_KEY)),
            Repr::Value(value) => value
                .get("params")
                .and_then(Value::as_object)
                .is_some_and(crate::meta::has_envelope),
        }
    }

    /// The W3C `traceparent` in `params._meta` (SEP-414), when it is a
    /// well-formed one.
    pub fn traceparent(&self) -> Option<&str> {
        let key = crate::trace::TRACEPARENT_KEY;
        let value = match &self.0 {
            Repr::Call(call) => call.meta.as_ref()?.get(key)?.as_str(),
            Repr::Value(value) => value.get("params")?.get("_meta")?.get(key)?.as_str(),
        };
        value.filter(|t| crate::trace::trace_id(t).is_some())
    }

    /// Why a request's `params._meta` is not a valid 2026-07-28 envelope
    /// (-32602 when a required member is missing or malformed, -32022 for a
    /// revision not served through it); `None` when it is one, and for a
    /// notification or a batch.
    pub fn envelope_error(&self) -> Option<crate::jsonrpc::ErrorObject> {
        let meta = match &self.0 {
            Repr::Call(call) => call.meta.as_ref(),
            Repr::Value(value) if value.get("id").is_some() => match value.get("params") {
                None => None,
                Some(Value::Object(params)) => params.get("_meta").and_then(Value::as_object),
                // By-position params: the server's own -32602 says why.
                Some(_) => return None,
            },
            Repr::Value(_) => return None,
        };
        crate::meta::envelope_meta_version(meta).err()
    }

    /// The revision `params._meta` names, when it is a string.
    pub fn envelope_version(&self) -> Option<&str> {
        match &self.0 {
            Repr::Call(call) => call.meta.as_ref()?.get(PROTOCOL_VERSION_KEY)?.as_str(),
            Repr::Value(value) => value["params"]["_meta"][PROTOCOL_VERSION_KEY].as_str(),
        }
    }
}

impl<'a> ToolCallRequest<'a> {
    /// The typed reading, or `None` when the message is anything but a
    /// well-formed single `tools/call`.
    fn parse(input: &'a [u8]) -> Option<ToolCallRequest<'a>> {
        let ObjectOnly(wire) = serde_json::from_slice::<ObjectOnly<WireCall<'a>>>(input).ok()?;
        let ObjectOnly(params) = wire.params;
        let arguments = match params.arguments {
            Some(raw) if !raw.get().starts_with('{') => return None,
            other => other,
        };
        (wire.jsonrpc == "2.0" && wire.method == "tools/call").then_some(())?;
        Some(ToolCallRequest {
            id: RequestId::from_value(&wire.id)?,
            name: params.name,
            arguments,
            meta: params.meta.map(|ObjectOnly(meta)| meta),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCall<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    id: Value,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: ObjectOnly<WireCallParams<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCallParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta", default)]
    meta: Option<ObjectOnly<Map<String, Value>>>,
}

/// `T` read only from a JSON object. A derived struct also reads from an
/// array (its fields by position), which the typed path must not accept.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Objects<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Objects<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Objects(PhantomData))
            .map(ObjectOnly)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(input: &str) -> bool {
        matches!(
            Incoming::parse(input.as_bytes()),
            Ok(Incoming(Repr::Call(_)))
        )
    }

    #[test]
    fn the_common_call_is_read_typed() {
        assert!(typed(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#
        ));
        assert!(typed(
            r#"{"params":{"_meta":{"k":1},"arguments":null,"name":"t"},"method":"tools/call","id":"x","jsonrpc":"2.0"}"#
        ));
        assert!(typed(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#
        ));
    }

    #[test]
    fn every_other_shape_takes_the_value_path() {
        for input in [
            r#"["2.0",1,"tools/call",{"name":"t"}]"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["t"]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":["x"]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","extra":1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","name":"u"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"},"x":1}"#,
        ] {
            assert!(!typed(input), "{input}");
        }
    }

    #[test]
    fn accessors_agree_across_readings() {
        let input = r#"{"jsonrpc":"2.0","id":"7","method":"tools/call","params":{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        let fast = Incoming::parse(input.as_bytes()).unwrap();
        let slow = Incoming::from_value(serde_json::from_str(input).unwrap());
        assert!(matches!(fast.0, Repr::Call(_)));
        for m in [&fast, &slow] {
            assert!(m.is_object());
            assert_eq!(m.method(), Some("tools/call"));
            assert_eq!(m.tool(), Some("t"));
            assert_eq!(m.id(), RequestId::from_value(&Value::from("7")));
            assert!(m.has_envelope());
            assert_eq!(m.envelope_version(), Some("2026-07-28"));
        }
    }
}
