//! The rungs of the ladder the CLI climbs, one module each. A rung owns
//! everything about itself: its flags, its part of the template, its
//! outputs, its smoke test, its local demo and what its teardown must prove
//! gone. The phases ([`crate::template::synth`], [`crate::stack::deploy`],
//! [`crate::smoke`], [`crate::teardown`], [`crate::demo`]) are short drivers
//! that ask each rung in [`ALL`]; adding a rung is a module and one line
//! there.
//!
//! The rungs, numbered as everywhere in this project: 1 is the local stdio
//! server (`mcp-local`, nothing to deploy); 2 the IAM-authenticated Function
//! URL ([`url`]); 3 the AgentCore Gateway ([`gateway`]); 4 the
//! internet-facing API Gateway, WAF and OAuth ([`internet`]). Rate limits
//! ([`rate_limit`]) are an add-on to any of them; observability
//! ([`observe`]) and the key of multi round-trip requests ([`state_key`])
//! are added to every stack.

pub mod gateway;
pub mod internet;
pub mod observe;
pub mod rate_limit;
pub mod rendezvous;
pub mod state_key;
pub mod url;

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use lambda_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

use crate::aws::Aws;
use crate::progress::Progress;
use crate::smoke::SmokeCx;
use crate::teardown::Recorded;
use crate::template::{SpecError, StackSpec, Template};

/// Every rung and add-on, in the order they build a stack, smoke-test it and
/// are torn down.
pub const ALL: [&dyn Rung; 7] = [
    &url::Url,
    &gateway::Gateway,
    &internet::Internet,
    &rate_limit::RateLimits,
    &observe::Observe,
    &state_key::StateKey,
    &rendezvous::Rendezvous,
];

/// How teardown proves a resource of some type gone.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// It is part of another resource and goes with it (a permission with
    /// its function, a stage with its API).
    Part,
    /// Looked up by its physical id: `Ok(true)` when the service says it
    /// does not exist, `Ok(false)` when it answers, `Err` when it could not
    /// tell.
    Gone(Lookup),
    /// Looked up as [`Check::Gone`], for a resource that AWS deletes
    /// asynchronously: its own, longer wait ([`crate::teardown::SLOW_WINDOWS`]).
    Slow(Lookup),
}

impl Check {
    /// The same lookup, with the slow deletions' wait.
    pub const fn slow(self) -> Check {
        match self {
            Check::Gone(lookup) | Check::Slow(lookup) => Check::Slow(lookup),
            Check::Part => Check::Part,
        }
    }
}

/// A lookup by physical id (see [`Check::Gone`]).
pub type Lookup = for<'a> fn(&'a Aws, &'a str) -> BoxFuture<'a, anyhow::Result<bool>>;

/// What a rung's smoke test saw: its report (under the rung's name in
/// `smoke --output json`) and one line for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Smoked {
    /// The report.
    pub report: Value,
    /// What passed, in a few words.
    pub summary: String,
}

/// One rung of the ladder (or an add-on to every rung).
pub trait Rung: Sync {
    /// The rung's name.
    fn name(&self) -> &'static str;

    /// Where its smoke report goes in `smoke --output json`: under this key,
    /// or (`None`) with its fields at the top level.
    fn report_key(&self) -> Option<&'static str> {
        Some(self.name())
    }

    /// Adds its resources, function settings and outputs when `spec` asks
    /// for this rung; refuses a spec it cannot serve.
    fn synth(&self, spec: &StackSpec, template: &mut Template) -> Result<(), SpecError>;

    /// Checks what only the stack's name can tell, before anything is made.
    fn check_stack_name(&self, spec: &StackSpec, stack_name: &str) -> anyhow::Result<()> {
        let _ = (spec, stack_name);
        Ok(())
    }

    /// Checks that the region offers what the spec asks of this rung, before
    /// anything is uploaded or created.
    fn check_region(&self, spec: &StackSpec, region: &str) -> anyhow::Result<()> {
        let _ = (spec, region);
        Ok(())
    }

    /// `deploy` onto a stack that exists (its `outputs`): refuses a change
    /// this rung's deployed resources cannot take in place - where AWS
    /// would refuse it mid-update and the stack roll back - before anything
    /// is uploaded or changed.
    fn check_update<'a>(
        &'a self,
        aws: &'a Aws,
        spec: &'a StackSpec,
        outputs: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        let _ = (aws, spec, outputs);
        Box::pin(async { Ok(()) })
    }

    /// `teardown`, before deleting: what the stack's `recorded` resources
    /// made outside CloudFormation's record (a gateway's workload identity),
    /// to be proven gone as well.
    fn also_recorded<'a>(
        &'a self,
        aws: &'a Aws,
        recorded: &'a [Recorded],
        progress: &'a Progress,
    ) -> BoxFuture<'a, Vec<Recorded>> {
        let _ = (aws, recorded, progress);
        Box::pin(async { Vec::new() })
    }

    /// The output key of the endpoint it serves, if it serves one.
    fn endpoint(&self) -> Option<&'static str> {
        None
    }

    /// Smoke-tests its endpoint when the deployed stack has one.
    fn smoke<'a>(&'a self, cx: &'a SmokeCx<'a>) -> BoxFuture<'a, anyhow::Result<Option<Smoked>>> {
        let _ = cx;
        Box::pin(async { Ok(None) })
    }

    /// The resource types it creates, and how teardown proves each gone.
    fn checks(&self) -> &'static [(&'static str, Check)] {
        &[]
    }

    /// Resources named after the stack that teardown looks for once the
    /// stack itself is gone (their ids are not deterministic).
    fn named_after<'a>(
        &'a self,
        aws: &'a Aws,
        stack_name: &'a str,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Vec<Recorded>> {
        let _ = (aws, stack_name, progress);
        Box::pin(async { Vec::new() })
    }

    /// `demo --local`: sets up its front in the emulator's configuration.
    fn configure_local(&self, spec: &StackSpec, config: &mut EmulatorConfig) {
        let _ = (spec, config);
    }

    /// `demo --local`: once the emulator runs, serves its front and tells
    /// the story; the outputs it returns are what the smoke test reads.
    fn serve_local<'a>(
        &'a self,
        spec: &'a StackSpec,
        emulator: &'a Emulator,
        progress: &'a Progress,
    ) -> BoxFuture<'a, anyhow::Result<Vec<(&'static str, String)>>> {
        let _ = (spec, emulator, progress);
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// The check for resources of `kind`: the function's own, or a rung's.
pub fn check_for(kind: &str) -> Option<Check> {
    crate::teardown::FUNCTION_CHECKS
        .iter()
        .chain(ALL.iter().flat_map(|rung| rung.checks()))
        .find(|(k, _)| *k == kind)
        .map(|(_, check)| *check)
}
