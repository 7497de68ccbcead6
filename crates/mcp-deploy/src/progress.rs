//! Progress on stderr (results go to stdout), with elapsed time.

use std::io::Write;
use std::time::Instant;

/// Prints progress lines to stderr, each with the time since the start.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    started: Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Starts the clock.
    pub fn new() -> Self {
        Progress {
            started: Instant::now(),
        }
    }

    /// Seconds since the start.
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// One line: `[  12.3s] message`.
    pub fn say(&self, message: impl AsRef<str>) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{:6.1}s] {}", self.elapsed_s(), message.as_ref());
    }

    /// A line without the clock (the story the demo tells).
    pub fn story(&self, message: impl AsRef<str>) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", message.as_ref());
    }

    /// A marker a test can wait for: `stage: NAME`. Test hooks, for proving
    /// the teardown guard: `MCP_DEPLOY_TEST_PAUSE_AT=NAME` sleeps a few seconds
    /// there (so a signal lands inside the stage); `MCP_DEPLOY_TEST_FAULT=NAME:panic`
    /// or `NAME:error` panics or fails there.
    pub async fn stage(&self, name: &str) -> anyhow::Result<()> {
        self.say(format!("stage: {name}"));
        if std::env::var("MCP_DEPLOY_TEST_PAUSE_AT").is_ok_and(|s| s == name) {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
        match std::env::var("MCP_DEPLOY_TEST_FAULT")
            .ok()
            .as_deref()
            .and_then(|f| f.split_once(':'))
        {
            Some((stage, "panic")) if stage == name => {
                panic!("test fault: a panic at stage {name}")
            }
            Some((stage, "error")) if stage == name => {
                anyhow::bail!("test fault: an error at stage {name}")
            }
            _ => Ok(()),
        }
    }
}
