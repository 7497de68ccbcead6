//! The teardown guard: runs the work, then the cleanup whatever happened -
//! the work's end, an error, a panic, SIGINT, SIGTERM or SIGHUP.

use std::future::Future;
use std::time::Duration;

use anyhow::{anyhow, bail};
use tokio::signal::unix::{SignalKind, signal};

use crate::progress::Progress;

/// Why the work stopped before its end.
#[derive(Debug)]
enum Stop {
    Finished(anyhow::Result<()>),
    Signal(&'static str),
    Panicked(String),
}

/// Runs `work` under the guard, then `cleanup` whatever happened. The guard
/// is armed before `work` starts. A signal during `cleanup` does not abandon
/// it silently: the first is answered with a warning, a second one within 10 s
/// abandons it and says what to run.
pub async fn guarded<W, C, CF>(
    progress: &Progress,
    work: W,
    cleanup: C,
    what_remains: &str,
) -> anyhow::Result<()>
where
    W: Future<Output = anyhow::Result<()>> + Send + 'static,
    C: FnOnce() -> CF,
    CF: Future<Output = anyhow::Result<()>>,
{
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    progress.say("teardown guard armed: Ctrl-C, SIGTERM, SIGHUP, an error or a panic all lead to a verified teardown");
    let mut task = tokio::spawn(work);
    let stop = tokio::select! {
        joined = &mut task => match joined {
            Ok(result) => Stop::Finished(result),
            Err(e) if e.is_panic() => Stop::Panicked(panic_message(e.into_panic())),
            Err(e) => Stop::Panicked(e.to_string()),
        },
        _ = int.recv() => Stop::Signal("SIGINT"),
        _ = term.recv() => Stop::Signal("SIGTERM"),
        _ = hup.recv() => Stop::Signal("SIGHUP"),
    };
    if let Stop::Signal(_) = stop {
        task.abort();
        let _ = task.await; // the work is stopped before anything is deleted
    }
    match &stop {
        Stop::Finished(Ok(())) => {}
        Stop::Finished(Err(e)) => progress.story(format!(
            ">>> TRAP: the run failed ({e:#}): running teardown"
        )),
        Stop::Signal(name) => {
            progress.story(format!(">>> TRAP: {name} received: running teardown"))
        }
        Stop::Panicked(msg) => {
            progress.story(format!(">>> TRAP: a panic ({msg}): running teardown"))
        }
    }

    let mut cleaning = std::pin::pin!(cleanup());
    let mut warned_at: Option<tokio::time::Instant> = None;
    let cleaned = loop {
        tokio::select! {
            result = &mut cleaning => break result,
            _ = int.recv() => {},
            _ = term.recv() => {},
            _ = hup.recv() => {},
        }
        let now = tokio::time::Instant::now();
        if warned_at.is_some_and(|t| now.duration_since(t) < Duration::from_secs(10)) {
            bail!(
                "teardown ABANDONED by a second signal: {what_remains} may still exist: run `mcp-deploy teardown`"
            );
        }
        progress.story(format!(
            ">>> teardown is running and will verify what is left; signal again within 10 s to abandon it \
             (then {what_remains} may remain)"
        ));
        warned_at = Some(now);
    };
    match (stop, cleaned) {
        (Stop::Finished(Ok(())), Ok(())) => Ok(()),
        (_, Err(e)) => Err(e.context("the teardown failed")),
        (Stop::Finished(Err(e)), Ok(())) => {
            Err(e.context("the demo failed (torn down and verified)"))
        }
        (Stop::Signal(name), Ok(())) => {
            Err(anyhow!("interrupted by {name} (torn down and verified)"))
        }
        (Stop::Panicked(msg), Ok(())) => Err(anyhow!("panicked: {msg} (torn down and verified)")),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
