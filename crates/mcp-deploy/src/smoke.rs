//! `smoke`: every rung whose endpoint the stack has proves its boundary -
//! the right callers in, the others out.

use aws_credential_types::Credentials;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::aws::Aws;
use crate::progress::Progress;
use crate::stack::Outputs;

/// What the smoke tests need: the stack's outputs, who should be inside,
/// and credentials to sign with (loaded only when a rung signs).
#[derive(Debug)]
pub struct SmokeCx<'a> {
    /// The deployed (or local) stack's outputs.
    pub outputs: &'a Outputs,
    /// The account the function must report.
    pub account: &'a str,
    /// The region requests are signed for.
    pub region: &'a str,
    /// Where the story goes.
    pub progress: &'a Progress,
    signer: Signer<'a>,
    credentials: OnceCell<Credentials>,
}

#[derive(Debug)]
enum Signer<'a> {
    /// The SDK's credentials, loaded on first use.
    Aws(&'a Aws),
    /// Given (the local demo's principal).
    Fixed(Credentials),
}

impl<'a> SmokeCx<'a> {
    /// Smoke tests of a deployed stack, signing with the SDK's credentials.
    pub fn deployed(
        aws: &'a Aws,
        outputs: &'a Outputs,
        account: &'a str,
        progress: &'a Progress,
    ) -> Self {
        SmokeCx {
            outputs,
            account,
            region: &aws.region,
            progress,
            signer: Signer::Aws(aws),
            credentials: OnceCell::new(),
        }
    }

    /// Smoke tests of the local emulator, signing as its principal.
    pub fn local(
        outputs: &'a Outputs,
        account: &'a str,
        region: &'a str,
        credentials: Credentials,
        progress: &'a Progress,
    ) -> Self {
        SmokeCx {
            outputs,
            account,
            region,
            progress,
            signer: Signer::Fixed(credentials),
            credentials: OnceCell::new(),
        }
    }

    /// The credentials SigV4 clients sign with.
    pub async fn credentials(&self) -> anyhow::Result<Credentials> {
        let credentials = self
            .credentials
            .get_or_try_init(|| async {
                match &self.signer {
                    Signer::Aws(aws) => aws.credentials().await,
                    Signer::Fixed(credentials) => Ok(credentials.clone()),
                }
            })
            .await?;
        Ok(credentials.clone())
    }
}

/// What the smoke tests of a stack saw: one report per rung (the Function
/// URL's fields at the top level, as `smoke --output json` has always
/// printed them) and the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSmoke {
    /// The reports.
    pub report: Value,
    /// One line.
    pub summary: String,
}

/// Runs the smoke test of every rung whose endpoint the stack has.
pub async fn smoke_stack(cx: &SmokeCx<'_>) -> anyhow::Result<StackSmoke> {
    let mut report = Map::new();
    let mut summaries = Vec::new();
    for rung in crate::rung::ALL {
        let Some(smoked) = rung.smoke(cx).await? else {
            continue;
        };
        match (rung.report_key(), smoked.report) {
            (None, Value::Object(fields)) => report.extend(fields),
            (key, other) => {
                report.insert(key.unwrap_or(rung.name()).to_owned(), other);
            }
        }
        summaries.push(smoked.summary);
    }
    if summaries.is_empty() {
        anyhow::bail!(
            "stack {} has no endpoint to smoke-test (no Function URL, gateway or API)",
            cx.outputs.stack_id
        );
    }
    Ok(StackSmoke {
        report: Value::Object(report),
        summary: format!("smoke test passed: {}", summaries.join("; ")),
    })
}

/// Connects and lists the tools, telling the story under `banner`.
pub async fn connect_and_list(
    client: &mut crate::client::McpClient,
    banner: &str,
    progress: &Progress,
) -> anyhow::Result<(crate::client::Connected, Vec<String>)> {
    progress.story(banner);
    progress.stage("smoke").await?;
    let connected = client.connect().await?;
    progress.story(format!(
        "initialize -> {} (protocol {}{})",
        serde_json::to_string(&connected.server_info)?,
        connected.protocol_version,
        if client.protocol_version().is_stateless() {
            ", stateless: server/discover"
        } else {
            ""
        }
    ));
    let tools: Vec<String> = client
        .list_tools()
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    progress.story(format!("tools/list -> {tools:?}"));
    Ok((connected, tools))
}

/// The unsigned request of a negative control: its status, which must be
/// one of `refused` (else the run fails, saying `otherwise`).
pub async fn unsigned_control(
    client: &crate::client::McpClient,
    refused: &[u16],
    otherwise: &str,
    progress: &Progress,
) -> anyhow::Result<u16> {
    let statuses: Vec<String> = refused.iter().map(u16::to_string).collect();
    let statuses = statuses.join(" or ");
    progress.story(format!(
        ">>> DEMO: negative control - an unsigned request must get {statuses}"
    ));
    progress.stage("negative-control").await?;
    let status = client.unsigned_status().await?;
    progress.story(format!("unsigned POST status: {status}"));
    if !refused.contains(&status) {
        anyhow::bail!(
            "NEGATIVE CONTROL FAILED: an unsigned request got {status}, not {statuses}: {otherwise}"
        );
    }
    Ok(status)
}
