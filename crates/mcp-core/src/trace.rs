//! Trace context: a W3C `traceparent` that a client puts in a request's
//! `_meta` (SEP-414 keeps the key unprefixed, as the OpenTelemetry
//! conventions for MCP use it), or that the front takes from its platform.
//!
//! A `traceparent` is `version-traceid-parentid-flags` in lowercase hex
//! (W3C Trace Context, section 3.2): two, 32, 16 and two digits; a trace or
//! parent id of only zeros, and version `ff`, are invalid; a later version
//! may append fields after a `-`. A malformed value is ignored, never an
//! error of the request.

/// The request `_meta` key of the W3C `traceparent` (SEP-414).
pub const TRACEPARENT_KEY: &str = "traceparent";

/// The trace id (32 hex digits) of a valid `traceparent`; `None` for
/// anything else.
///
/// ```
/// let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// assert_eq!(mcp_core::trace::trace_id(parent), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
/// assert_eq!(mcp_core::trace::trace_id("00-0-0-01"), None);
/// ```
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let bytes = traceparent.as_bytes();
    let (version, trace, parent, flags) = (
        bytes.get(0..2)?,
        bytes.get(3..35)?,
        bytes.get(36..52)?,
        bytes.get(53..55)?,
    );
    let dashes = [2, 35, 52].iter().all(|&i| bytes[i] == b'-');
    let hex = |part: &[u8]| part.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let zero = |part: &[u8]| part.iter().all(|&b| b == b'0');
    // Version 00 has exactly these fields; a later one may add more.
    let tail_ok = match bytes.len() {
        55 => true,
        _ => version != b"00" && bytes[55] == b'-',
    };
    let valid = dashes
        && tail_ok
        && [version, trace, parent, flags].into_iter().all(hex)
        && version != b"ff"
        && !zero(trace)
        && !zero(parent);
    valid.then(|| &traceparent[3..35])
}

std::thread_local! {
    /// The trace id of what this thread serves now ([`set_current`]).
    static CURRENT: std::cell::Cell<Option<[u8; 32]>> = const { std::cell::Cell::new(None) };
}

/// Marks the trace of what this thread serves from now on: the trace id of
/// `traceparent` when it is valid, else none. A front sets it when a request
/// begins (its platform's trace) and again when the request names its own
/// (`_meta`), so that every log line of the request can carry it
/// ([`current`]); a thread serves one request at a time (a Lambda
/// instance's current-thread runtime).
pub fn set_current(traceparent: Option<&str>) {
    let id = traceparent
        .and_then(trace_id)
        .and_then(|id| <[u8; 32]>::try_from(id.as_bytes()).ok());
    CURRENT.set(id);
}

/// The trace id [`set_current`] marked on this thread, if any.
pub fn current() -> Option<[u8; 32]> {
    CURRENT.get()
}

#[cfg(test)]
mod tests {
    use super::trace_id;

    #[test]
    fn the_current_trace_is_the_last_valid_one_set() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        super::set_current(Some(&format!("00-{id}-00f067aa0ba902b7-01")));
        assert_eq!(
            super::current().as_ref().map(|c| &c[..]),
            Some(id.as_bytes())
        );
        super::set_current(Some("not a traceparent"));
        assert_eq!(super::current(), None);
    }

    #[test]
    fn only_well_formed_traceparents_have_a_trace_id() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(trace_id(&format!("00-{id}-00f067aa0ba902b7-01")), Some(id));
        assert_eq!(
            trace_id(&format!("01-{id}-00f067aa0ba902b7-00-later")),
            Some(id),
            "a later version may add fields"
        );
        for bad in [
            "",
            "00",
            &format!("00-{id}-00f067aa0ba902b7-01-x"),
            &format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase()),
            &format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            &format!("00-{id}-{}-01", "0".repeat(16)),
            &format!("ff-{id}-00f067aa0ba902b7-01"),
            &format!("00_{id}-00f067aa0ba902b7-01"),
            &format!("00-{id}-00f067aa0ba902b7-0g"),
            "00-é-00f067aa0ba902b7-01-ééééééééééééééééééééééééééé",
        ] {
            assert_eq!(trace_id(bad), None, "{bad}");
        }
    }
}
