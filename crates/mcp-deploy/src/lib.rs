//! The deploy CLI of the hosting ladder: a CDK-equivalent stack from typed
//! Rust definitions, one module per rung ([`rung`]: the IAM Function URL,
//! the AgentCore Gateway, the internet-facing API, and rate limits as an
//! add-on), each owning its flags, its part of the template, its outputs,
//! its smoke test, its local demo and what its teardown must prove gone.
//! The phases are short drivers that ask each rung: [`template::synth`],
//! [`stack::deploy`] (CloudFormation change sets), [`smoke::smoke_stack`]
//! (with the one MCP client, [`client`]), [`teardown::teardown`], and
//! [`demo`] under a teardown guard ([`guard`]).
//!
//! ```no_run
//! let template = mcp_deploy::template::synth(&mcp_deploy::template::StackSpec::default())
//!     .expect("the default spec is valid");
//! print!("{}", mcp_deploy::template::to_text(&template));
//! ```

pub mod assets;
pub mod aws;
pub mod cli;
pub mod client;
pub mod demo;
pub mod guard;
pub mod hooks;
pub mod progress;
pub mod retry;
pub mod rung;
pub mod settings;
pub mod smoke;
pub mod stack;
pub mod teardown;
pub mod template;
