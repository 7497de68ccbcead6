//! Test hooks: ways for the end-to-end tests to land a signal, a panic or an
//! error inside a given stage, and to shorten waits. They exist only in builds
//! with the `test-hooks` cargo feature (scripts/test.sh builds one for the
//! tests); a release build reads none of these variables.
//!
//! - `MCP_DEPLOY_TEST_PAUSE_AT=STAGE` sleeps 5 s when STAGE starts.
//! - `MCP_DEPLOY_TEST_FAULT=STAGE:panic` or `STAGE:error` fails there.
//! - `MCP_DEPLOY_POLL_MS` sets the stack poll interval (default 2000).
//! - `MCP_DEPLOY_TEST_VERIFY_S` sets how long teardown retries a check (default 60).
//! - `MCP_DEPLOY_TEST_API_URL` replaces an internet-facing stack's `ApiUrl`
//!   (moto has no data plane: the tests point it at the emulator's REST front).

use std::time::Duration;

/// How long the CLI waits between looks, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often stack status and events are polled.
    pub poll: Duration,
    /// How long teardown keeps re-checking a resource that still answers, or
    /// whose check failed, before calling it left over or unverifiable: IAM
    /// is eventually consistent and calls can be throttled (audit item 4).
    pub verify_window: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(2),
            verify_window: Duration::from_secs(60),
        }
    }
}

impl Timing {
    /// The defaults, or in a test build what the hooks' variables say.
    pub fn from_env() -> Self {
        let defaults = Timing::default();
        Timing {
            poll: number("MCP_DEPLOY_POLL_MS").map_or(defaults.poll, Duration::from_millis),
            verify_window: number("MCP_DEPLOY_TEST_VERIFY_S")
                .map_or(defaults.verify_window, Duration::from_secs),
        }
    }
}

#[cfg(feature = "test-hooks")]
fn number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

#[cfg(not(feature = "test-hooks"))]
fn number(_: &str) -> Option<u64> {
    None
}

/// Runs the hooks registered for `stage`.
#[cfg(feature = "test-hooks")]
pub async fn at_stage(stage: &str) -> anyhow::Result<()> {
    if std::env::var("MCP_DEPLOY_TEST_PAUSE_AT").is_ok_and(|s| s == stage) {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    match std::env::var("MCP_DEPLOY_TEST_FAULT")
        .ok()
        .as_deref()
        .and_then(|f| f.split_once(':'))
    {
        Some((at, "panic")) if at == stage => panic!("test fault: a panic at stage {stage}"),
        Some((at, "error")) if at == stage => {
            anyhow::bail!("test fault: an error at stage {stage}")
        }
        _ => Ok(()),
    }
}

/// The internet-facing endpoint to smoke-test: the stack's, or in a test
/// build `MCP_DEPLOY_TEST_API_URL`.
pub fn api_url(deployed: &str) -> String {
    #[cfg(feature = "test-hooks")]
    if let Ok(url) = std::env::var("MCP_DEPLOY_TEST_API_URL") {
        return url;
    }
    deployed.to_owned()
}

/// Without the feature there are no hooks.
#[cfg(not(feature = "test-hooks"))]
pub async fn at_stage(_: &str) -> anyhow::Result<()> {
    Ok(())
}
