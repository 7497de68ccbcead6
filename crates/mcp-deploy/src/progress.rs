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

    /// A marker a test can wait for: `stage: NAME`; test builds run their
    /// hooks here (see [`crate::hooks`]).
    pub async fn stage(&self, name: &str) -> anyhow::Result<()> {
        self.say(format!("stage: {name}"));
        crate::hooks::at_stage(name).await
    }
}
