//! The deploy CLI of the hosting ladder: a CDK-equivalent stack from typed
//! Rust definitions ([`template`]), deployed through CloudFormation change
//! sets ([`stack`]), proven with a SigV4-signed MCP client and negative
//! controls ([`client`]; the internet-facing rung's in [`internet`]), torn
//! down and verified ([`teardown`]), all under a teardown guard in [`demo`].
//!
//! ```no_run
//! let template = mcp_deploy::template::synth(&mcp_deploy::template::StackSpec::default())
//!     .expect("the default spec is valid");
//! print!("{}", mcp_deploy::template::to_text(&template));
//! ```

pub mod assets;
pub mod aws;
pub mod client;
pub mod demo;
pub mod guard;
pub mod hooks;
pub mod internet;
pub mod progress;
pub mod settings;
pub mod stack;
pub mod teardown;
pub mod template;
