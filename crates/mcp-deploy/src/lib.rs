//! The deploy CLI of the hosting ladder (rung 3): a CDK-equivalent stack from
//! typed Rust definitions ([`template`]), and the commands around it.
//!
//! ```no_run
//! let template = mcp_deploy::template::synth(&mcp_deploy::template::StackSpec::default())
//!     .expect("the default spec is valid");
//! print!("{}", mcp_deploy::template::to_text(&template));
//! ```

pub mod template;
