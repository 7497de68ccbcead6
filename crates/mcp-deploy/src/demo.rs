//! `demo`: deploy, prove the boundary, tear down and verify, with the
//! teardown guaranteed on SIGINT, SIGTERM, SIGHUP, errors and panics.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use tokio::signal::unix::{SignalKind, signal};

use crate::aws::Aws;
use crate::client::{McpClient, smoke};
use crate::progress::Progress;
use crate::stack;
use crate::teardown::teardown;
use crate::template::StackSpec;

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

/// The function package for `deploy`: `--zip`, or the one `scripts/build-lambda.sh` built.
pub fn package_path(zip: Option<PathBuf>, spec: &StackSpec) -> PathBuf {
    zip.unwrap_or_else(|| {
        PathBuf::from(format!(
            "target/lambda/{}/bootstrap/bootstrap.zip",
            spec.arch.lambda_name()
        ))
    })
}

/// The credentials the SDK would sign with.
pub async fn credentials(aws: &Aws) -> anyhow::Result<Credentials> {
    let provider = aws.config.credentials_provider().ok_or_else(|| {
        anyhow!(
            "no AWS credentials: export MCP_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    })?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| anyhow!("cannot load AWS credentials: {e}"))
}

/// `demo` against AWS (or an emulated control plane).
pub async fn demo_aws(
    aws: Aws,
    stack_name: String,
    account: String,
    spec: StackSpec,
    zip: PathBuf,
) -> anyhow::Result<()> {
    let progress = Progress::new();
    let work = {
        let (aws, stack_name, account) = (aws.clone(), stack_name.clone(), account.clone());
        async move {
            progress.stage("checking-account").await?;
            aws.check_account(&account).await?;
            stack::prepare(&aws, &progress).await?;
            let deployed = stack::deploy(&aws, &stack_name, &spec, &zip, &progress).await?;
            progress.story(format!("  {stack_name}"));
            progress.story(format!("  Deployment time: {:.2}s", deployed.seconds));
            progress.story(format!("  FunctionUrl: {}", deployed.outputs.function_url));
            let mut client = McpClient::new(
                &deployed.outputs.function_url,
                &aws.region,
                credentials(&aws).await?,
            )?;
            smoke(&mut client, &account, &progress).await?;
            Ok(())
        }
    };
    let what = format!("stack {stack_name} and its resources");
    guarded(
        &progress,
        work,
        || async { teardown(&aws, &stack_name, &progress).await.map(|_| ()) },
        &what,
    )
    .await
}

/// Settings of `demo --local`.
#[derive(Debug, Clone)]
pub struct LocalDemo {
    /// The function binary.
    pub bootstrap: PathBuf,
    /// The function's account.
    pub account: String,
    /// The region.
    pub region: String,
}

/// `demo --local`: the same story on this machine, with the emulator as AWS.
pub async fn demo_local(local: LocalDemo) -> anyhow::Result<()> {
    use lambda_emulator::principals::INVOKE_ACTIONS;
    use lambda_emulator::{Auth, Emulator, EmulatorConfig, Principal, Verifier};

    let progress = Progress::new();
    if !local.bootstrap.is_file() {
        bail!(
            "{} is missing: build the function (cargo build --release -p mcp-lambda) or pass --bootstrap",
            local.bootstrap.display()
        );
    }
    // A throwaway principal of the function's account, holding both invoke permissions.
    let nonce = format!(
        "{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let principal = Principal {
        access_key_id: format!("AKIALOCAL{}", &nonce[..11].to_uppercase()),
        secret_access_key: format!("local-{nonce}"),
        session_token: None,
        account_id: local.account.clone(),
        arn: format!("arn:aws:iam::{}:user/mcp-deploy-local", local.account),
        user_id: "AIDALOCALMCPDEPLOY".into(),
        allow: INVOKE_ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
    };
    let credentials = Credentials::new(
        &principal.access_key_id,
        &principal.secret_access_key,
        None,
        None,
        "mcp-deploy-local",
    );
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Emulator>();
    let work = {
        let local = local.clone();
        async move {
            progress.stage("deploying").await?;
            let started = std::time::Instant::now();
            let mut config = EmulatorConfig::new(
                &local.bootstrap,
                "mcp-ladder-local",
                &local.region,
                &local.account,
            );
            config
                .function
                .env
                .push(("MCP_ACCOUNT_ID".into(), local.account.clone()));
            config
                .function
                .env
                .push(("AWS_LAMBDA_LOG_LEVEL".into(), "warn".into()));
            config.auth = Auth::AwsIam {
                verifier: Verifier::lambda(&local.region),
                principals: vec![principal],
            };
            let emulator = Emulator::start(config).await?;
            let url = emulator.url();
            if ready_tx.send(emulator).is_err() {
                bail!("the teardown guard went away");
            }
            progress.story("  local Function URL (AuthType AWS_IAM, emulated)");
            progress.story(format!(
                "  Deployment time: {:.2}s",
                started.elapsed().as_secs_f64()
            ));
            progress.story(format!("  FunctionUrl: {url}"));
            progress.stage("stack-ready").await?;
            let mut client = McpClient::new(&url, &local.region, credentials)?;
            smoke(&mut client, &local.account, &progress).await?;
            Ok(())
        }
    };
    let cleanup = || async move {
        let Ok(emulator) = ready_rx.await else {
            progress.say("nothing deployed: the emulator never started");
            return Ok(());
        };
        progress.stage("deleting-stack").await?;
        let addr = emulator.addr();
        let pid = emulator.stats().pid();
        emulator.shutdown().await;
        // Verify like the AWS teardown: the function's process and the URL are gone.
        tokio::time::sleep(Duration::from_millis(100)).await;
        if pid != 0 && std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if !status.contains(") Z ") {
                bail!("teardown is NOT clean: the function process {pid} is still running");
            }
        }
        if pid == 0 {
            progress.story("[teardown] verified: no function process was ever started");
        } else {
            progress.story(format!(
                "[teardown] verified: function process {pid} is gone"
            ));
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            bail!("teardown is NOT clean: {addr} still accepts connections");
        }
        progress.story(format!(
            "[teardown] verified: http://{addr}/ refuses connections"
        ));
        progress.story("[teardown] stack status: DELETE_COMPLETE (emulated)");
        progress.story("[teardown] clean.");
        Ok(())
    };
    guarded(&progress, work, cleanup, "the local emulator").await
}
