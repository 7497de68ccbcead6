//! Rung 2: the function behind a Function URL with `AuthType = AWS_IAM`.
//! Only principals named in its two invoke permissions (the deploying
//! account by default, never `*`) get in; an unsigned request gets 403
//! before the function runs.

use futures_util::future::BoxFuture;
use mcp_settings::Setting;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::McpClient;
use crate::rung::{Check, Rung, Smoked};
use crate::smoke::{SmokeCx, connect_and_list, unsigned_control};
use crate::teardown::gone_by;
use crate::template::{Expr, Resource, SpecError, StackSpec, Template, ids as function_ids};

/// The rung's name.
pub const NAME: &str = "url";
/// The output that holds the URL.
pub const OUTPUT: &str = "FunctionUrl";
/// The Function URL's logical id.
pub const URL: &str = "McpServerUrl";

/// The Function URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSpec {
    /// Principals granted both invoke permissions (account ids or IAM ARNs);
    /// empty means the deploying account itself.
    pub principals: Vec<String>,
    /// `InvokeMode: RESPONSE_STREAM` (the function told to match); else
    /// `BUFFERED`.
    pub streaming: bool,
}

impl Default for UrlSpec {
    fn default() -> Self {
        UrlSpec {
            principals: Vec::new(),
            streaming: true,
        }
    }
}

/// The flags of this rung.
#[derive(Debug, Clone, clap::Args)]
pub struct UrlArgs {
    /// A principal granted lambda:InvokeFunctionUrl and lambda:InvokeFunction
    /// (an account id or an IAM ARN; repeatable). Default: the deploying
    /// account, whose principals then also need those permissions in IAM.
    #[arg(long = "allow-principal", value_name = "ARN_OR_ACCOUNT", value_parser = principal)]
    pub allow_principals: Vec<String>,
    /// The Function URL's InvokeMode. `response-stream` (the default) sends
    /// a tool's progress notifications to SSE clients while it runs;
    /// `buffered` answers every request in one piece.
    #[arg(long, value_enum, default_value_t = InvokeModeArg::ResponseStream)]
    pub invoke_mode: InvokeModeArg,
}

/// `--invoke-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InvokeModeArg {
    /// `RESPONSE_STREAM`.
    ResponseStream,
    /// `BUFFERED`.
    Buffered,
}

impl UrlArgs {
    /// The URL these flags ask for.
    pub fn spec(&self) -> UrlSpec {
        UrlSpec {
            principals: self.allow_principals.clone(),
            streaming: self.invoke_mode == InvokeModeArg::ResponseStream,
        }
    }
}

/// Checks one principal: an account id or an IAM/STS ARN, never `*`.
pub fn check_principal(principal: &str) -> Result<(), SpecError> {
    let is_account = principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit());
    let is_arn = (principal.starts_with("arn:aws:iam::") || principal.starts_with("arn:aws:sts::"))
        && principal
            .split(':')
            .nth(4)
            .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        && principal.split(':').nth(5).is_some_and(|r| !r.is_empty());
    if principal.contains('*') || !(is_account || is_arn) {
        return Err(SpecError::Principal(principal.to_owned()));
    }
    Ok(())
}

fn principal(text: &str) -> Result<String, SpecError> {
    check_principal(text).map(|()| text.to_owned())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionUrl {
    target_function_arn: Expr,
    auth_type: &'static str,
    invoke_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Permission {
    action: &'static str,
    function_name: Expr,
    principal: Expr,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_url_auth_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_via_function_url: Option<bool>,
}

/// Both invoke permissions for one principal; `suffix` tells them apart.
fn permissions(t: &mut Template, principal: Expr, suffix: &str) {
    let function = || Expr::get_att(function_ids::FUNCTION, "Arn");
    let url = Permission {
        action: "lambda:InvokeFunctionUrl",
        function_name: function(),
        principal: principal.clone(),
        function_url_auth_type: Some("AWS_IAM"),
        invoked_via_function_url: None,
    };
    t.insert(
        format!("InvokeFunctionUrlPermission{suffix}"),
        Resource::new("AWS::Lambda::Permission", url),
    );
    // Required since October 2025 for URL invocations, scoped to them.
    let invoke = Permission {
        action: "lambda:InvokeFunction",
        function_name: function(),
        principal,
        function_url_auth_type: None,
        invoked_via_function_url: Some(true),
    };
    t.insert(
        format!("InvokeFunctionPermission{suffix}"),
        Resource::new("AWS::Lambda::Permission", invoke),
    );
}

/// Rung 2.
#[derive(Debug)]
pub struct Url;

impl Rung for Url {
    fn name(&self) -> &'static str {
        NAME
    }

    /// At the top level, as `smoke --output json` has always printed it.
    fn report_key(&self) -> Option<&'static str> {
        None
    }

    fn synth(&self, spec: &StackSpec, t: &mut Template) -> Result<(), SpecError> {
        let Some(url) = &spec.url else {
            return Ok(());
        };
        for p in &url.principals {
            check_principal(p)?;
        }
        let principals: Vec<Expr> = if url.principals.is_empty() {
            vec![Expr::reference("AWS::AccountId")]
        } else {
            url.principals.iter().map(Expr::text).collect()
        };
        for (i, principal) in principals.into_iter().enumerate() {
            let suffix = if i == 0 {
                String::new()
            } else {
                (i + 1).to_string()
            };
            permissions(t, principal, &suffix);
        }
        // The function's answers must match how its URL reads them.
        let invoke_mode = if url.streaming {
            "RESPONSE_STREAM"
        } else {
            "BUFFERED"
        };
        t.set(Setting::InvokeMode, invoke_mode);
        // AWS_IAM: SigV4-signed callers only. No CORS: not browser-facing. The
        // URL waits for both permissions: created in parallel, a fresh URL can
        // answer 403 (or the permissions conflict with 409) for a while.
        let mut resource = Resource::new(
            "AWS::Lambda::Url",
            FunctionUrl {
                target_function_arn: Expr::get_att(function_ids::FUNCTION, "Arn"),
                auth_type: "AWS_IAM",
                invoke_mode,
            },
        );
        resource.depends_on = t
            .resources
            .iter()
            .filter(|(_, r)| r.kind == "AWS::Lambda::Permission")
            .map(|(id, _)| id.clone())
            .collect();
        t.insert(URL, resource);
        t.output(
            OUTPUT,
            Some("The IAM-authenticated Function URL"),
            Expr::get_att(URL, "FunctionUrl"),
        );
        Ok(())
    }

    fn endpoint(&self) -> Option<&'static str> {
        Some(OUTPUT)
    }

    fn smoke<'a>(&'a self, cx: &'a SmokeCx<'a>) -> BoxFuture<'a, anyhow::Result<Option<Smoked>>> {
        Box::pin(async move {
            let Some(url) = cx.outputs.get(OUTPUT) else {
                return Ok(None);
            };
            let mut client = McpClient::sigv4(url, cx.region, cx.credentials().await?)?;
            let report = smoke(&mut client, cx).await?;
            Ok(Some(Smoked {
                report: serde_json::to_value(report)?,
                summary: "signed in, unsigned out".into(),
            }))
        })
    }

    fn checks(&self) -> &'static [(&'static str, Check)] {
        const CHECKS: [(&str, Check); 2] = [
            (
                "AWS::Lambda::Url",
                gone_by!(
                    "the Function URL of",
                    |aws, id| aws.lambda.get_function_url_config().function_name(id),
                    is_resource_not_found_exception
                ),
            ),
            // A permission goes with its function.
            ("AWS::Lambda::Permission", Check::Part),
        ];
        &CHECKS
    }

    fn serve_local<'a>(
        &'a self,
        spec: &'a StackSpec,
        emulator: &'a lambda_emulator::Emulator,
        _: &'a crate::progress::Progress,
    ) -> BoxFuture<'a, anyhow::Result<Vec<(&'static str, String)>>> {
        // The emulator always serves its URL; the smoke test reads it only
        // where the stack would have one.
        let url = spec.url.as_ref().map(|_| (OUTPUT, emulator.url()));
        Box::pin(async move { Ok(url.into_iter().collect()) })
    }
}

/// What the smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmokeReport {
    /// The revision and `serverInfo` (from `server/discover` or `initialize`).
    pub connected: crate::client::Connected,
    /// Tool names from `tools/list`.
    pub tools: Vec<String>,
    /// `demo_account_context`'s structured result.
    pub account_context: Value,
    /// The unsigned request's status (must be 403).
    pub unsigned_status: u16,
    /// The wrongly-signed request's status (must be 403).
    pub wrong_region_status: u16,
}

/// The signed client's story, then the negative controls, which fail the
/// run unless the URL answers 403.
pub async fn smoke(client: &mut McpClient, cx: &SmokeCx<'_>) -> anyhow::Result<SmokeReport> {
    let progress = cx.progress;
    let banner = ">>> DEMO: SigV4-signed in-account client";
    let (connected, tools) = connect_and_list(client, banner, progress).await?;
    let context = client
        .call_for_output("demo_account_context", Map::new())
        .await?;
    progress.story(format!("tools/call demo_account_context -> {context}"));
    let account = context["account"].as_str().unwrap_or_default();
    if account != cx.account {
        anyhow::bail!(
            "the function reports account {account:?}, not the expected account {}: this is \
             not the stack you deployed",
            cx.account
        );
    }
    progress.story(
        "OK: a SigV4-signed, in-account client reached the remote MCP server, listed its tools, and invoked one.",
    );
    // AWS answers an unsigned request to an AWS_IAM Function URL with 403.
    let unsigned_status = unsigned_control(
        client,
        &[403],
        "the URL is not protected by AWS_IAM. Tear it down and check the stack's AuthType",
        progress,
    )
    .await?;
    let other = if cx.region == "us-east-1" {
        "eu-west-1"
    } else {
        "us-east-1"
    };
    let wrong_region_status = client.wrong_region_status(other).await?;
    progress.story(format!(
        "signed for {other} instead of {}: status {wrong_region_status}",
        cx.region
    ));
    if wrong_region_status != 403 {
        anyhow::bail!(
            "NEGATIVE CONTROL FAILED: a request signed for the wrong region got {wrong_region_status}, not 403"
        );
    }
    Ok(SmokeReport {
        connected,
        tools,
        account_context: context,
        unsigned_status,
        wrong_region_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{environment, synth};
    use serde_json::json;

    /// A made-up account id (no real one appears in the repository).
    fn acct() -> String {
        "0".repeat(12)
    }

    #[test]
    fn principals_are_checked() {
        let a = acct();
        for good in [
            a.clone(),
            format!("arn:aws:iam::{a}:role/Invoker"),
            format!("arn:aws:iam::{a}:user/u"),
        ] {
            assert_eq!(check_principal(&good), Ok(()), "{good}");
        }
        let bad = [
            "*".to_owned(),
            "arn:aws:iam::*:role/x".to_owned(),
            format!("arn:aws:iam::{a}:*"),
            "lambda.amazonaws.com".to_owned(),
            "12345".to_owned(),
            String::new(),
        ];
        for bad in bad {
            assert!(check_principal(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_url_is_account_bounded() {
        let t = synth(&StackSpec::default()).unwrap();
        let url = &t["Resources"][URL]["Properties"];
        assert_eq!(url["AuthType"], "AWS_IAM");
        assert!(url.get("Cors").is_none());
        let url_perm = &t["Resources"]["InvokeFunctionUrlPermission"]["Properties"];
        assert_eq!(url_perm["Principal"], json!({"Ref": "AWS::AccountId"}));
        assert_eq!(url_perm["FunctionUrlAuthType"], "AWS_IAM");
        let fn_perm = &t["Resources"]["InvokeFunctionPermission"]["Properties"];
        assert_eq!(fn_perm["InvokedViaFunctionUrl"], true);
        // The URL appears only once both permissions exist (audit item 6).
        assert_eq!(
            t["Resources"][URL]["DependsOn"],
            json!(["InvokeFunctionPermission", "InvokeFunctionUrlPermission"])
        );
    }

    #[test]
    fn named_principals_replace_the_account() {
        let role = format!("arn:aws:iam::{}:role/A", acct());
        let spec = StackSpec {
            url: Some(UrlSpec {
                principals: vec![role.clone(), acct()],
                streaming: true,
            }),
            ..StackSpec::default()
        };
        let t = synth(&spec).unwrap();
        assert_eq!(
            t["Resources"]["InvokeFunctionUrlPermission"]["Properties"]["Principal"],
            json!(role)
        );
        assert_eq!(
            t["Resources"]["InvokeFunctionPermission2"]["Properties"]["Principal"],
            json!(acct())
        );
        let bad = StackSpec {
            url: Some(UrlSpec {
                principals: vec!["*".into()],
                streaming: true,
            }),
            ..StackSpec::default()
        };
        assert!(matches!(synth(&bad), Err(SpecError::Principal(_))));
    }

    #[test]
    fn the_url_and_the_function_agree_on_the_invoke_mode() {
        for (streaming, mode) in [(true, "RESPONSE_STREAM"), (false, "BUFFERED")] {
            let t = synth(&StackSpec {
                url: Some(UrlSpec {
                    principals: Vec::new(),
                    streaming,
                }),
                ..StackSpec::default()
            })
            .unwrap();
            assert_eq!(t["Resources"][URL]["Properties"]["InvokeMode"], mode);
            assert_eq!(environment(&t)[Setting::InvokeMode.name()], mode);
        }
        // No URL: the function is invoked directly, never streams, and is
        // not told to.
        let t = synth(&StackSpec {
            url: None,
            ..StackSpec::default()
        })
        .unwrap();
        assert!(t["Resources"].get(URL).is_none());
        let env = environment(&t);
        assert!(env.get(Setting::InvokeMode.name()).is_none(), "{env}");
    }
}
