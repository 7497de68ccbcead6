//! The checked-in templates are what the CLI synthesises: the server stack
//! (`infra/template.json`, `mcp-deploy synth`), the gateway rung's
//! (`infra/gateway.json`, `mcp-deploy synth --rung gateway`), the internet-facing
//! rung's (`infra/internet.json`, `mcp-deploy synth --exposure internet --issuer
//! https://issuer.example.com --audience auto`), the server stack with tracing,
//! a dashboard and alarms (`infra/observability.json`, `mcp-deploy synth
//! --tracing --dashboard`) and the asset stack that
//! `mcp-deploy prepare` creates (`infra/assets.json`). Refresh them with
//! `UPDATE_INFRA=1 cargo test -p mcp-deploy --test infra`; cfn-lint checks
//! every file in `infra/` (tests/e2e/test_template.py).

use std::path::Path;

use mcp_deploy::assets::assets_template;
use mcp_deploy::rung::gateway::{GatewayAuth, GatewaySpec};
use mcp_deploy::rung::internet::{self, InternetSpec};
use mcp_deploy::rung::observe::ObserveSpec;
use mcp_deploy::template::{StackSpec, synth, to_text};

fn check(file: &str, synthesised: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../infra")
        .join(file);
    if std::env::var_os("UPDATE_INFRA").is_some() {
        std::fs::write(&path, synthesised).expect("infra/ is writable");
    }
    let checked_in = std::fs::read_to_string(&path).expect("the checked-in template is readable");
    assert!(
        checked_in == synthesised,
        "infra/{file} differs from what mcp-deploy synthesises: run \
         UPDATE_INFRA=1 cargo test -p mcp-deploy --test infra, review the diff, commit it"
    );
}

#[test]
fn infra_template_is_current() {
    check(
        "template.json",
        &to_text(&synth(&StackSpec::default()).unwrap()),
    );
}

#[test]
fn infra_assets_template_is_current() {
    check("assets.json", &to_text(&assets_template()));
}

#[test]
fn infra_gateway_template_is_current() {
    let (gateway, _) = GatewaySpec::for_function(GatewayAuth::AwsIam).unwrap();
    let spec = StackSpec {
        url: None,
        gateway: Some(gateway),
        ..StackSpec::default()
    };
    check("gateway.json", &to_text(&synth(&spec).unwrap()));
}

#[test]
fn infra_internet_template_is_current() {
    let spec = StackSpec {
        url: None,
        internet: Some(InternetSpec {
            issuer: "https://issuer.example.com".into(),
            audience: internet::AUTO_AUDIENCE.into(),
            jwks_url: None,
            jwks_max_age_s: None,
            allow_cidrs: Vec::new(),
            block_countries: Vec::new(),
            rate_limit: internet::DEFAULT_RATE_LIMIT,
            throttle_rate: internet::DEFAULT_THROTTLE_RATE,
            throttle_burst: internet::DEFAULT_THROTTLE_BURST,
            transfer_mode: mcp_settings::TransferMode::Stream,
        }),
        ..StackSpec::default()
    };
    check("internet.json", &to_text(&synth(&spec).unwrap()));
}

#[test]
fn infra_observability_template_is_current() {
    let spec = StackSpec {
        observe: ObserveSpec {
            tracing: true,
            dashboard: true,
        },
        ..StackSpec::default()
    };
    check("observability.json", &to_text(&synth(&spec).unwrap()));
}
