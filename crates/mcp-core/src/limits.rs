//! Per-caller, per-tool rate limits (the function's setting
//! `mcp_settings::Setting::RateLimits`, read by [`Limits::parse`]), the
//! decision a transport turns into headers, and the in-process counter.
//!
//! Configuration, a contract:
//! `{"default": "100/60s", "tools": {"word_count": "10/60s", "demo_echo": "5/1m"}}`:
//! a quota and a window in `s`, `m` or `h`. A tool's own limit replaces the
//! default for that tool.
//!
//! Windows are fixed and aligned to the clock (a 60 s window starts on the
//! minute): a counter per caller, tool and window is all the state, which a
//! shared store can keep with one conditional update per admitted call and
//! expire by time. Across a window's edge a caller can get up to twice the
//! quota in a short burst; that is the price of one write per call.
//!
//! Headers follow draft-ietf-httpapi-ratelimit-headers-10:
//! `RateLimit-Policy: "word_count";q=10;w=60` and `RateLimit: "word_count";r=9;t=42`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::jsonrpc::{ErrorCode, ErrorObject};

/// A quota per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Calls allowed per window.
    pub limit: u64,
    /// The window, in whole seconds.
    pub window_s: u64,
}

impl Quota {
    /// Reads `<count>/<n><s|m|h>` (`10/60s`, `5/1m`, `100/1h`).
    pub fn parse(text: &str) -> Option<Quota> {
        let (count, window) = text.trim().split_once('/')?;
        let limit: u64 = count.trim().parse().ok()?;
        let window = window.trim();
        let unit = window.chars().last()?;
        let amount: u64 = window[..window.len() - unit.len_utf8()].parse().ok()?;
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
        let window_s = amount.checked_mul(seconds).filter(|w| *w > 0)?;
        (limit > 0).then_some(Quota { limit, window_s })
    }
}

/// A limit that cannot be read; the message names the entry (the caller
/// names the setting).
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    /// The text is not JSON.
    #[error(
        "not JSON ({0}); write {{\"default\": \"100/60s\", \"tools\": {{\"word_count\": \"10/60s\"}}}}"
    )]
    NotJson(serde_json::Error),
    /// The text is JSON, but not an object.
    #[error("not a JSON object with \"default\" and \"tools\"")]
    NotAnObject,
    /// `tools` is not an object.
    #[error("\"tools\" must be an object of tool names to quotas")]
    ToolsNotAnObject,
    /// A member other than `default` and `tools`.
    #[error("unknown member {0:?}: only \"default\" and \"tools\"")]
    UnknownMember(String),
    /// An entry that is not a quota ([`Quota::parse`]).
    #[error(
        "{entry} is {value}, not a quota and a window like \"10/60s\", \"5/1m\" or \"100/1h\" (both above 0)"
    )]
    NotAQuota {
        /// `default`, or `tools.<name>`.
        entry: String,
        /// The entry, as written.
        value: Value,
    },
}

/// The configured limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    default: Option<Quota>,
    tools: BTreeMap<String, Quota>,
}

impl Limits {
    /// Reads the JSON configuration.
    pub fn parse(text: &str) -> Result<Limits, LimitsError> {
        let value: Value = serde_json::from_str(text).map_err(LimitsError::NotJson)?;
        let Value::Object(members) = value else {
            return Err(LimitsError::NotAnObject);
        };
        let quota = |entry: &str, value: &Value| -> Result<Quota, LimitsError> {
            value
                .as_str()
                .and_then(Quota::parse)
                .ok_or_else(|| LimitsError::NotAQuota {
                    entry: entry.to_owned(),
                    value: value.clone(),
                })
        };
        let mut limits = Limits::default();
        for (key, value) in &members {
            match key.as_str() {
                "default" => limits.default = Some(quota("default", value)?),
                "tools" => {
                    let Value::Object(tools) = value else {
                        return Err(LimitsError::ToolsNotAnObject);
                    };
                    for (tool, value) in tools {
                        limits
                            .tools
                            .insert(tool.clone(), quota(&format!("tools.{tool}"), value)?);
                    }
                }
                other => return Err(LimitsError::UnknownMember(other.to_owned())),
            }
        }
        Ok(limits)
    }

    /// The policy for `tool`: its name and quota (the tool's own, else the default).
    pub fn policy(&self, tool: &str) -> Option<(&str, Quota)> {
        match self.tools.get_key_value(tool) {
            Some((name, quota)) => Some((name.as_str(), *quota)),
            None => self.default.map(|quota| ("default", quota)),
        }
    }
}

/// Where a call stands against its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The policy's name: the tool's, or `default`.
    pub policy: String,
    /// The quota.
    pub quota: Quota,
    /// Calls left in this window after this one (0 when refused).
    pub remaining: u64,
    /// Seconds until the window ends and the quota returns.
    pub reset_s: u64,
    /// Whether the call may run.
    pub admitted: bool,
}

impl Decision {
    /// The `RateLimit-Policy` field value.
    pub fn policy_header(&self) -> String {
        format!(
            "\"{}\";q={};w={}",
            self.policy, self.quota.limit, self.quota.window_s
        )
    }

    /// The `RateLimit` field value.
    pub fn header(&self) -> String {
        format!(
            "\"{}\";r={};t={}",
            self.policy, self.remaining, self.reset_s
        )
    }

    /// The error a refused call gets: what the limit is and when to retry.
    pub fn error(&self, tool: &str) -> ErrorObject {
        ErrorObject::new(
            ErrorCode::RATE_LIMITED,
            format!(
                "Rate limit reached for tool `{tool}`: {} calls per {} s for this caller. Try again in {} s, \
                 or use another tool meanwhile.",
                self.quota.limit, self.quota.window_s, self.reset_s
            ),
        )
        .with_data(json!({
            "tool": tool,
            "limit": self.quota.limit,
            "windowSeconds": self.quota.window_s,
            "retryAfterSeconds": self.reset_s,
        }))
    }
}

/// One call to count: who calls which tool, under which policy, and when.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// Who authenticated (an IAM principal ARN, a token subject, `local`).
    pub caller: &'a str,
    /// The policy's name: the tool's, or `default`.
    pub policy: &'a str,
    /// The tool called.
    pub tool: &'a str,
    /// The quota that applies.
    pub quota: Quota,
    /// When the call came.
    pub now: SystemTime,
}

/// The fixed window a call falls in, in whole seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The window's first second (a multiple of the window's length).
    pub start_s: u64,
    /// The first second of the next window.
    pub end_s: u64,
    /// Seconds from the call to `end_s`, rounded up (never early).
    pub reset_s: u64,
}

impl Call<'_> {
    /// The window this call counts in.
    pub fn window(&self) -> Window {
        let now_s = self
            .now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let start_s = now_s - now_s % self.quota.window_s;
        let end_s = start_s + self.quota.window_s;
        Window {
            start_s,
            end_s,
            reset_s: end_s - now_s,
        }
    }

    /// The decision once the window's count is known: `count` calls admitted
    /// in it so far, including this one when `admitted`.
    pub fn decide(&self, count: u64, admitted: bool) -> Decision {
        Decision {
            policy: self.policy.to_owned(),
            quota: self.quota,
            remaining: self.quota.limit.saturating_sub(count),
            reset_s: self.window().reset_s,
            admitted,
        }
    }
}

/// A counter could not be reached in time (unreachable, slow); the text
/// says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Why a counter gave no decision. Only [`CountError::Unavailable`] is an
/// outage (read-only tools then run unmetered); the store answering "no" in
/// another way refuses the call whatever the tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// The store could not be reached, or did not answer within the budget.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// The store refused the request itself (a validation error, a table
    /// that is not the contract's, missing permissions): retrying will not
    /// help, and the call is refused with the reason.
    #[error("{0}")]
    Refused(String),
    /// The store is throttling this caller's item (too many writes to one
    /// key): the call is refused as over its limit, to retry after
    /// `retry_after_s`.
    #[error("{why}")]
    Throttled {
        /// When to try again, in seconds.
        retry_after_s: u64,
        /// What the store said.
        why: String,
    },
}

/// What a counter answers, some time later.
pub type Counted<'a> = Pin<Box<dyn Future<Output = Result<Decision, CountError>> + Send + 'a>>;

/// Where the counts live: in this process ([`InProcess`]) or in a store that
/// every instance shares (the Lambda function's DynamoDB table).
///
/// A counter admits at most `quota.limit` calls per caller, tool and window,
/// counting only admitted calls, and answers within its own time budget.
pub trait Counter: Send + Sync + fmt::Debug {
    /// Counts `call` if its window has room, and says where it stands.
    fn count<'a>(&'a self, call: Call<'a>) -> Counted<'a>;
}

/// The error when the counter could not decide and the tool may change
/// state: refused, so that an outage never lets a destructive call through
/// unmetered. Read-only tools are admitted instead (see `Server::admit`).
pub fn unavailable_error(tool: &str, why: &Unavailable) -> ErrorObject {
    ErrorObject::new(
        ErrorCode::RATE_LIMIT_UNAVAILABLE,
        format!(
            "Tool `{tool}` was not run: its rate limit could not be checked ({why}), and it is not \
             read-only, so it is refused rather than run unmetered. Try again in a few seconds."
        ),
    )
    .with_data(json!({ "tool": tool, "retryAfterSeconds": UNAVAILABLE_RETRY_S }))
}

/// What `Retry-After` says when the counter could not decide.
pub const UNAVAILABLE_RETRY_S: u64 = 1;

/// The error when the store refused the check itself (not an outage): the
/// call is refused whatever the tool, with the store's reason.
pub fn refused_error(tool: &str, why: &str) -> ErrorObject {
    ErrorObject::new(
        ErrorCode::INTERNAL_ERROR,
        format!(
            "Tool `{tool}` was not run: the rate-limit store refused to count the call ({why}). \
             This is the deployment's problem, not a transient one: retrying will not help; \
             tell whoever runs this server."
        ),
    )
    .with_data(json!({ "tool": tool, "reason": why }))
}

/// The decision and error when the store throttles this caller's item: the
/// call is refused as over its limit (-32029, HTTP 429), to retry after
/// `retry_after_s`.
pub fn throttled(call: &Call<'_>, retry_after_s: u64, why: &str) -> (Decision, ErrorObject) {
    let decision = Decision {
        policy: call.policy.to_owned(),
        quota: call.quota,
        remaining: 0,
        reset_s: retry_after_s,
        admitted: false,
    };
    let error = ErrorObject::new(
        ErrorCode::RATE_LIMITED,
        format!(
            "Tool `{}` was not run: this caller's calls of it are coming faster than the \
             rate-limit store can count them ({why}). Try again in {retry_after_s} s.",
            call.tool
        ),
    )
    .with_data(json!({ "tool": call.tool, "retryAfterSeconds": retry_after_s }));
    (decision, error)
}

/// Counts calls in process memory: right for one process (stdio, one local
/// instance); on Lambda each instance would count alone.
#[derive(Debug, Default)]
pub struct InProcess {
    /// Per caller and tool: the current window's start and its count. A new
    /// window replaces the old one, so there is one entry per pair.
    windows: Mutex<HashMap<(String, String), (u64, u64)>>,
}

impl InProcess {
    /// Counts one call against its quota, now.
    pub fn check(&self, call: Call<'_>) -> Decision {
        let start = call.window().start_s;
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = windows
            .entry((call.caller.to_owned(), call.tool.to_owned()))
            .or_insert((start, 0));
        if window.0 != start {
            *window = (start, 0);
        }
        let admitted = window.1 < call.quota.limit;
        if admitted {
            window.1 += 1;
        }
        call.decide(window.1, admitted)
    }
}

impl Counter for InProcess {
    fn count<'a>(&'a self, call: Call<'a>) -> Counted<'a> {
        Box::pin(std::future::ready(Ok(self.check(call))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_and_errors_name_the_entry() {
        assert_eq!(
            Quota::parse("10/60s"),
            Some(Quota {
                limit: 10,
                window_s: 60
            })
        );
        assert_eq!(
            Quota::parse("5/1m"),
            Some(Quota {
                limit: 5,
                window_s: 60
            })
        );
        assert_eq!(
            Quota::parse("100/1h"),
            Some(Quota {
                limit: 100,
                window_s: 3600
            })
        );
        for bad in [
            "10", "10/60", "x/60s", "10/0s", "0/60s", "10/60d", "10/-1s", "",
        ] {
            assert_eq!(Quota::parse(bad), None, "{bad}");
        }
        let limits = Limits::parse(
            r#"{"default": "100/60s", "tools": {"word_count": "10/60s", "demo_echo": "5/1m"}}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            limits.policy("word_count"),
            Some((
                "word_count",
                Quota {
                    limit: 10,
                    window_s: 60
                }
            ))
        );
        assert_eq!(
            limits.policy("other"),
            Some((
                "default",
                Quota {
                    limit: 100,
                    window_s: 60
                }
            ))
        );
        for (text, names) in [
            (
                r#"{"tools": {"word_count": "ten/60s"}}"#,
                "tools.word_count is \"ten/60s\"",
            ),
            (r#"{"default": 5}"#, "default is 5"),
            (r#"{"defaults": "5/1s"}"#, "unknown member \"defaults\""),
            (r#"{"tools": []}"#, "\"tools\" must be an object"),
            ("nope", "not JSON"),
        ] {
            let error = Limits::parse(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(names), "{text}: {error}");
        }
    }

    #[test]
    fn errors_say_which_part_is_wrong() {
        assert!(matches!(
            Limits::parse(r#"{"defaults": "5/1s"}"#),
            Err(LimitsError::UnknownMember(member)) if member == "defaults"
        ));
        assert!(matches!(
            Limits::parse(r#"{"tools": {"t": "5"}}"#),
            Err(LimitsError::NotAQuota { entry, value }) if entry == "tools.t" && value == "5"
        ));
        assert!(matches!(Limits::parse("[]"), Err(LimitsError::NotAnObject)));
    }

    #[test]
    fn headers_follow_the_draft() {
        // draft-ietf-httpapi-ratelimit-headers-10, section 3 and 4 examples' syntax.
        let decision = Decision {
            policy: "burst".into(),
            quota: Quota {
                limit: 100,
                window_s: 60,
            },
            remaining: 50,
            reset_s: 30,
            admitted: true,
        };
        assert_eq!(decision.policy_header(), "\"burst\";q=100;w=60");
        assert_eq!(decision.header(), "\"burst\";r=50;t=30");
    }

    #[test]
    fn a_window_admits_its_quota_and_then_says_when() {
        let counter = InProcess::default();
        let quota = Quota {
            limit: 3,
            window_s: 60,
        };
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let call = |caller, tool, now| Call {
            caller,
            policy: tool,
            tool,
            quota,
            now,
        };
        let decisions: Vec<Decision> = (0..4)
            .map(|_| counter.check(call("alice", "t", at(6_000 + 18))))
            .collect();
        assert_eq!(
            decisions
                .iter()
                .map(|d| (d.admitted, d.remaining, d.reset_s))
                .collect::<Vec<_>>(),
            [(true, 2, 42), (true, 1, 42), (true, 0, 42), (false, 0, 42)]
        );
        // Callers and tools count apart; the next window starts afresh.
        assert!(counter.check(call("bob", "t", at(6_018))).admitted);
        assert!(counter.check(call("alice", "u", at(6_018))).admitted);
        let next = counter.check(call("alice", "t", at(6_060)));
        assert!(next.admitted && next.remaining == 2 && next.reset_s == 60);
        let error = decisions[3].error("t");
        assert_eq!(error.code, ErrorCode::RATE_LIMITED);
        assert!(error.message.contains("Try again in 42 s"));
    }
}
