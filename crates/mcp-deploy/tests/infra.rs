//! The checked-in template is what the CLI synthesises. Refresh it with
//! `UPDATE_INFRA=1 cargo test -p mcp-deploy --test infra`.

use std::path::Path;

use mcp_deploy::template::{StackSpec, synth, to_text};

#[test]
fn infra_template_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.json");
    let synthesised = to_text(&synth(&StackSpec::default()).unwrap());
    if std::env::var_os("UPDATE_INFRA").is_some() {
        std::fs::write(&path, &synthesised).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        checked_in == synthesised,
        "infra/template.json differs from `mcp-deploy synth`: run \
         UPDATE_INFRA=1 cargo test -p mcp-deploy --test infra, review the diff, commit it"
    );
}
