//! The one backoff policy of the CLI: what follows a deploy or a deletion is
//! eventually consistent (a fresh Function URL's permissions, IAM deleting a
//! role), so a refusal or a "still there" is retried for a while before it
//! is a verdict.

use std::time::Duration;

use backon::ExponentialBuilder;

/// Exponential pauses from 250 ms, doubling to at most 8 s, for `window` in
/// all (no pause is taken that would end past it).
pub fn policy(window: Duration) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_factor(2.0)
        .without_max_times()
        .with_total_delay(Some(window))
}
