//! `demo_progress`: a task that takes a few seconds and says how far along
//! it is - what a report, a crawl or a batch of AWS calls looks like to a
//! client that asked for progress.

use std::time::{Duration, Instant};

use mcp_core::{Annotations, CallContext, Tool, ToolDefinition, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Works through `steps` steps of `step_ms` each, reporting progress after
/// every one; stops early when the client cancels, and before the request's
/// deadline (on Lambda, the function's timeout): a step that would end
/// within [`DEADLINE_MARGIN`] of it is not started, and the call ends with a
/// tool error saying it ran out of time.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoProgress;

/// The most steps a call may ask for.
pub const MAX_STEPS: u32 = 20;
/// The longest step a call may ask for, in milliseconds.
pub const MAX_STEP_MS: u32 = 2_000;
/// The time kept before the request's deadline to write the answer: a step
/// that would end later is not started.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1_000);

/// The arguments of `demo_progress`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoProgressArgs {
    /// How many steps (1 to 20; 5 when absent).
    #[serde(default = "default_steps")]
    pub steps: u32,
    /// How long each step takes, in milliseconds (0 to 2000; 600 when absent).
    #[serde(default = "default_step_ms")]
    pub step_ms: u32,
}

fn default_steps() -> u32 {
    5
}

fn default_step_ms() -> u32 {
    600
}

/// The result of `demo_progress`.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progressed {
    /// The steps done.
    pub steps: u32,
    /// How long they took, in milliseconds.
    pub elapsed_ms: u64,
}

impl Tool for DemoProgress {
    type Args = DemoProgressArgs;
    type Output = Progressed;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "demo_progress",
            "Run a demonstration task of a few seconds (steps x step_ms) that reports its \
             progress after every step; send a progressToken to see it. Changes nothing.",
        )
        .title("Progress demo")
        .annotations(Annotations::read_only())
    }

    async fn call(
        &self,
        args: DemoProgressArgs,
        cx: &CallContext<'_>,
    ) -> Result<Progressed, ToolError> {
        if !(1..=MAX_STEPS).contains(&args.steps) || args.step_ms > MAX_STEP_MS {
            return Err(ToolError::new(format!(
                "steps must be 1 to {MAX_STEPS} and step_ms 0 to {MAX_STEP_MS}; got steps {} and \
                 step_ms {}",
                args.steps, args.step_ms
            )));
        }
        let started = Instant::now();
        let total = f64::from(args.steps);
        cx.progress(0.0, Some(total), Some("starting"));
        let step_time = Duration::from_millis(u64::from(args.step_ms));
        for step in 1..=args.steps {
            if let Some(deadline) = cx.deadline()
                && Instant::now() + step_time + DEADLINE_MARGIN > deadline
            {
                let left = deadline.saturating_duration_since(Instant::now());
                return Err(ToolError::new(format!(
                    "ran out of time after {} of {} steps: the request ends in {} ms (the function's \
                     timeout), too soon for another step of {} ms and the answer; ask for fewer \
                     steps or a shorter step_ms",
                    step - 1,
                    args.steps,
                    left.as_millis(),
                    args.step_ms
                )));
            }
            tokio::select! {
                () = cx.cancellation().cancelled() => {
                    return Err(ToolError::new(format!("cancelled after {} of {} steps", step - 1, args.steps)));
                }
                () = tokio::time::sleep(step_time) => {}
            }
            let message = format!("step {step} of {}", args.steps);
            cx.progress(f64::from(step), Some(total), Some(&message));
        }
        Ok(Progressed {
            steps: args.steps,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use mcp_core::{Notify, ProtocolVersion, RequestContext};
    use serde_json::Value;

    use super::*;

    #[derive(Default)]
    struct Sink(Mutex<Vec<Value>>);

    impl Notify for Sink {
        fn send(&self, notification: Value) {
            self.0.lock().unwrap().push(notification);
        }
    }

    #[tokio::test]
    async fn reports_every_step_in_order() {
        let sink = Arc::new(Sink::default());
        let request = RequestContext {
            notify: sink.clone(),
            ..RequestContext::default()
        };
        let token = Value::from("t");
        let cx = request.call(ProtocolVersion::V2025_11_25, Some(&token));
        let args = DemoProgressArgs {
            steps: 3,
            step_ms: 1,
        };
        let done = DemoProgress.call(args, &cx).await.unwrap();
        assert_eq!(done.steps, 3);
        let progress: Vec<f64> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|n| n["params"]["progress"].as_f64().unwrap())
            .collect();
        assert_eq!(progress, [0.0, 1.0, 2.0, 3.0]);
    }

    #[tokio::test]
    async fn stops_before_the_deadline_with_a_margin() {
        let sink = Arc::new(Sink::default());
        let request = RequestContext {
            notify: sink.clone(),
            deadline: Some(Instant::now() + DEADLINE_MARGIN + Duration::from_millis(250)),
            ..RequestContext::default()
        };
        let token = Value::from("t");
        let cx = request.call(ProtocolVersion::V2025_11_25, Some(&token));
        let args = DemoProgressArgs {
            steps: 5,
            step_ms: 100,
        };
        let started = Instant::now();
        let error = DemoProgress.call(args, &cx).await.unwrap_err();
        assert!(
            error
                .message()
                .starts_with("ran out of time after 2 of 5 steps"),
            "{error}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "it stopped before the margin"
        );
        assert_eq!(
            sink.0.lock().unwrap().len(),
            3,
            "starting, then steps 1 and 2"
        );
    }

    #[tokio::test]
    async fn stops_when_cancelled_and_refuses_bad_sizes() {
        let request = RequestContext {
            cancellation: mcp_core::Cancellation::new(),
            ..RequestContext::default()
        };
        request.cancellation.cancel();
        let cx = request.call(ProtocolVersion::V2025_11_25, None);
        let args = DemoProgressArgs {
            steps: 20,
            step_ms: 2_000,
        };
        let error = DemoProgress.call(args, &cx).await.unwrap_err();
        assert!(
            error.message().contains("cancelled after 0 of 20"),
            "{error}"
        );
        for (steps, step_ms) in [(0, 1), (21, 1), (1, 2_001)] {
            let args = DemoProgressArgs { steps, step_ms };
            let error = DemoProgress.call(args, &cx).await.unwrap_err();
            assert!(error.message().contains("steps must be"), "{error}");
        }
    }
}
