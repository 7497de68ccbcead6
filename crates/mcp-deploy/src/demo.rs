//! `demo`: deploy, prove the boundary, tear down and verify, with the
//! teardown guaranteed on SIGINT, SIGTERM, SIGHUP, errors and panics - on
//! AWS ([`demo_aws`]) or on this machine with the emulator as AWS
//! ([`demo_local`]). Each rung of the spec serves its front and runs its
//! smoke test ([`crate::rung`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use aws_credential_types::Credentials;
use lambda_emulator::principals::INVOKE_ACTIONS;
use lambda_emulator::{Auth, Emulator, EmulatorConfig, Principal, Verifier};
use mcp_settings::FunctionSettings;

use crate::assets;
use crate::aws::Aws;
use crate::guard::guarded;
use crate::progress::Progress;
use crate::smoke::{SmokeCx, smoke_stack};
use crate::stack::{self, Outputs};
use crate::teardown::{Target, teardown};
use crate::template::{StackSpec, outputs};

/// The function package for `deploy`: `--zip`, or the one `scripts/build-lambda.sh` built.
pub fn package_path(zip: Option<PathBuf>, spec: &StackSpec) -> PathBuf {
    zip.unwrap_or_else(|| {
        PathBuf::from(format!(
            "target/lambda/{}/bootstrap/bootstrap.zip",
            spec.arch.lambda_name()
        ))
    })
}

/// Prints each rung's endpoint the outputs have, as `  Key: value`.
pub fn tell_endpoints(outputs: &Outputs, progress: &Progress) {
    for key in crate::rung::ALL.iter().filter_map(|rung| rung.endpoint()) {
        if let Some(url) = outputs.get(key) {
            progress.story(format!("  {key}: {url}"));
        }
    }
}

/// `demo` against AWS (or an emulated control plane).
///
/// The credentials' account is checked before the guard is armed, and the
/// guard deletes only the stack this run created or updated, by its id: a
/// failed check or an early Ctrl-C never touches a same-named stack of
/// another account (audit item 1).
pub async fn demo_aws(
    aws: Aws,
    stack_name: String,
    account: String,
    spec: StackSpec,
    zip: PathBuf,
) -> anyhow::Result<()> {
    let progress = Progress::new();
    progress.stage("checking-account").await?;
    aws.check_account(&account).await?;
    let touched: Arc<Mutex<Option<String>>> = Arc::default();
    let work = {
        let (aws, stack_name, account, touched) = (
            aws.clone(),
            stack_name.clone(),
            account.clone(),
            touched.clone(),
        );
        async move {
            progress.stage("preparing").await?;
            assets::prepare(&aws, &account, &progress).await?;
            let record = |id: &str| {
                *touched.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.to_owned());
            };
            let deployed =
                stack::deploy(&aws, &stack_name, &spec, &zip, &account, &progress, &record).await?;
            progress.story(format!("  {stack_name}"));
            progress.story(format!("  Deployment time: {:.2}s", deployed.seconds));
            tell_endpoints(&deployed.outputs, &progress);
            smoke_stack(&SmokeCx::deployed(
                &aws,
                &deployed.outputs,
                &account,
                &progress,
            ))
            .await?;
            Ok(())
        }
    };
    let what = format!("stack {stack_name} and its resources");
    let cleanup = || async {
        let id = touched.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(id) = id else {
            progress.say(format!(
                "nothing deployed: this run created no stack (a stack named {stack_name} that it \
                 did not create is left alone)"
            ));
            return Ok(());
        };
        let target = Target::Id {
            name: &stack_name,
            id: &id,
        };
        teardown(&aws, target, &progress).await.map(|_| ())
    };
    guarded(&progress, work, cleanup, &what).await
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
    /// The rungs to show, as a stack would have them.
    pub spec: StackSpec,
}

/// A throwaway principal of the function's account, holding both invoke
/// permissions and the gateway's.
fn local_principal(account: &str) -> Principal {
    let nonce = format!(
        "{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    Principal {
        access_key_id: format!("AKIALOCAL{}", &nonce[..11].to_uppercase()),
        secret_access_key: format!("local-{nonce}"),
        session_token: None,
        account_id: account.to_owned(),
        arn: format!("arn:aws:iam::{account}:user/mcp-deploy-local"),
        user_id: "AIDALOCALMCPDEPLOY".into(),
        allow: INVOKE_ACTIONS
            .iter()
            .chain([&lambda_emulator::gateway::INVOKE_GATEWAY])
            .map(|a| (*a).to_owned())
            .collect(),
    }
}

/// The emulator's configuration: the function behind the IAM-checked
/// local Function URL, streaming as the stack's URL does, and each rung's
/// front.
fn local_config(local: &LocalDemo, principal: Principal) -> EmulatorConfig {
    let mut config = EmulatorConfig::new(
        &local.bootstrap,
        "mcp-ladder-local",
        &local.region,
        &local.account,
    );
    let settings = FunctionSettings {
        account_id: Some(local.account.clone()),
        ..FunctionSettings::default()
    };
    let env = &mut config.function.env;
    env.extend(
        settings
            .to_env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "warn".into()));
    config.auth = Auth::AwsIam {
        verifier: Verifier::lambda(&local.region),
        principals: vec![principal],
    };
    config.invoke_mode = lambda_emulator::InvokeMode::ResponseStream;
    for rung in crate::rung::ALL {
        rung.configure_local(&local.spec, &mut config);
    }
    config
}

/// Starts the emulator and every rung's local front; the outputs a stack
/// would have.
async fn serve_local(
    local: &LocalDemo,
    emulator: &Emulator,
    progress: &Progress,
) -> anyhow::Result<Outputs> {
    let mut outputs = Outputs {
        stack_id: "local".into(),
        ..Outputs::default()
    };
    for (key, value) in [
        (outputs::FUNCTION_NAME, "mcp-ladder-local"),
        (outputs::ACCOUNT_ID, &local.account),
        (outputs::REGION, &local.region),
    ] {
        outputs.values.insert(key.into(), value.to_owned());
    }
    for rung in crate::rung::ALL {
        let served = rung.serve_local(&local.spec, emulator, progress).await?;
        outputs
            .values
            .extend(served.into_iter().map(|(k, v)| (k.to_owned(), v)));
    }
    Ok(outputs)
}

/// `demo --local`: the same story on this machine, with the emulator as AWS.
pub async fn demo_local(local: LocalDemo) -> anyhow::Result<()> {
    let progress = Progress::new();
    if !local.bootstrap.is_file() {
        bail!(
            "{} is missing: build the function (cargo build --release -p mcp-lambda) or pass --bootstrap",
            local.bootstrap.display()
        );
    }
    let principal = local_principal(&local.account);
    let credentials = Credentials::new(
        &principal.access_key_id,
        &principal.secret_access_key,
        None,
        None,
        "mcp-deploy-local",
    );
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Emulator>();
    let work = async move {
        progress.stage("deploying").await?;
        let started = std::time::Instant::now();
        let emulator = Emulator::start(local_config(&local, principal)).await?;
        progress.story("  local Function URL (AuthType AWS_IAM, emulated)");
        progress.story(format!(
            "  Deployment time: {:.2}s",
            started.elapsed().as_secs_f64()
        ));
        let served = serve_local(&local, &emulator, &progress).await;
        // The guard owns the emulator from here, whatever comes next.
        if ready_tx.send(emulator).is_err() {
            bail!("the teardown guard went away");
        }
        let outputs = served?;
        tell_endpoints(&outputs, &progress);
        progress.stage("stack-ready").await?;
        let cx = SmokeCx::local(
            &outputs,
            &local.account,
            &local.region,
            credentials,
            &progress,
        );
        smoke_stack(&cx).await?;
        Ok(())
    };
    let cleanup = || async move {
        let Ok(emulator) = ready_rx.await else {
            progress.say("nothing deployed: the emulator never started");
            return Ok(());
        };
        progress.stage("deleting-stack").await?;
        teardown_local(emulator, &progress).await
    };
    guarded(&progress, work, cleanup, "the local emulator").await
}

/// Every address the emulator listens on, named for the story.
fn local_addresses(emulator: &Emulator) -> Vec<(String, SocketAddr)> {
    let mut addresses = vec![(format!("http://{}/", emulator.addr()), emulator.addr())];
    for gateway in emulator.gateway_addrs() {
        addresses.push((format!("the gateway http://{gateway}/mcp"), gateway));
    }
    // The REST API and the issuer: each must refuse connections too.
    let others = emulator
        .rest_api_url()
        .into_iter()
        .chain(emulator.issuer().map(|i| i.url()));
    for url in others {
        let addr = url.trim_start_matches("http://").split('/').next();
        if let Some(addr) = addr.and_then(|a| a.parse().ok()) {
            addresses.push((format!("http://{addr}/"), addr));
        }
    }
    addresses
}

/// Stops the emulator and verifies like the AWS teardown: the function's
/// processes are gone and no address answers.
async fn teardown_local(emulator: Emulator, progress: &Progress) -> anyhow::Result<()> {
    let addresses = local_addresses(&emulator);
    let pids = emulator.stats().pids();
    emulator.shutdown().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for pid in pids.iter().filter(|pid| **pid != 0) {
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if !status.contains(") Z ") {
                bail!("teardown is NOT clean: the function process {pid} is still running");
            }
        }
        progress.story(format!(
            "[teardown] verified: function process {pid} is gone"
        ));
    }
    if pids.is_empty() {
        progress.story("[teardown] verified: no function process was ever started");
    }
    for (name, addr) in addresses {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            bail!("teardown is NOT clean: {name} still accepts connections");
        }
        progress.story(format!("[teardown] verified: {name} refuses connections"));
    }
    progress.story("[teardown] stack status: DELETE_COMPLETE (emulated)");
    progress.story("[teardown] clean.");
    Ok(())
}
