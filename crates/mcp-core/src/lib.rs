//! The transport-agnostic core of an MCP (Model Context Protocol) server.
//!
//! It turns one JSON-RPC message into at most one reply. It owns the protocol
//! (JSON-RPC 2.0 rules, revision negotiation, tools, resources, prompts,
//! completions, log levels, scopes per tool) and its typed wire model
//! ([`model`]), and nothing else: no I/O, no async runtime. Tools are async;
//! the transport drives the futures on its runtime and carries their
//! notifications ([`Notify`]). The stdio server (`mcp-local`) and the Lambda
//! function (`mcp-lambda`) are thin adapters around [`Server`].
//!
//! ```no_run
//! use mcp_core::{RequestContext, Server, ServerInfo, Session, ToolRegistry};
//!
//! # async fn run() {
//! let server = Server::new(ServerInfo::new("my-server", "1.0.0"), ToolRegistry::new());
//! let mut session = Session::new(); // one per stdio connection
//! let line = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;
//! if let Some(reply) = server.handle_bytes(&mut session, line, &RequestContext::default()).await {
//!     println!("{}", reply.to_value());
//! }
//! # }
//! ```
//!
//! # Protocol revisions
//!
//! | revision   | how a client starts | batches | tool fields added | result extras |
//! |------------|---------------------|---------|-------------------|---------------|
//! | 2024-11-05 | `initialize` | yes | `name`, `description`, `inputSchema` | - |
//! | 2025-03-26 | `initialize` | yes | `annotations` | - |
//! | 2025-06-18 | `initialize` | no  | `title`, `outputSchema` | `structuredContent` |
//! | 2025-11-25 | `initialize` | no  | (icons, tasks: not used here) | - |
//! | 2026-07-28 | none: `_meta` envelope on every request, `server/discover` | no | - | `resultType`, `_meta` server info; `ttlMs`/`cacheScope` on lists and `resources/read` |
//!
//! - `initialize` answers with the client's revision when it is one of the
//!   four handshake revisions, else with 2025-11-25. On a stateful connection
//!   (stdio) it fixes the revision; a second one is refused.
//! - A request whose `params._meta` names `io.modelcontextprotocol/protocolVersion`
//!   is served statelessly at that revision, whatever the connection negotiated.
//!   A revision other than 2026-07-28 there is -32022 with
//!   `data: {"supported": [...], "requested": ...}`; a missing
//!   `clientCapabilities` is -32602.
//! - `ping` exists up to 2025-11-25 (and before `initialize`); 2026-07-28 removed it,
//!   with `initialize`, `logging/setLevel` and `resources/subscribe`/`unsubscribe`
//!   (-32601), and added `subscriptions/listen` (acknowledged, then ended at once:
//!   nothing here changes while the server runs).
//! - At 2026-07-28 a tool call whose `_meta` lacks a client capability the tool
//!   requires ([`ToolDefinition::requires_client_capabilities`]) is -32021, a
//!   request without a log level gets no log messages, and a resource not found
//!   is -32602 (-32002 before).
//! - Batches (JSON arrays) are accepted only at 2024-11-05 and 2025-03-26.
//!
//! # JSON-RPC rules
//!
//! Invalid JSON is -32700 and a malformed message -32600, both with `id: null`;
//! ids are strings or integers and are echoed exactly; notifications and
//! responses are never answered; an unknown method is -32601, bad parameters and
//! unknown tools -32602, a tool that panics -32603. Arguments that do not fit
//! a tool, and tool failures, are results with `isError: true`.

/// Defines a failure that an author's code (a tool, a prompt, a resource
/// template) returns for the server to put on the wire as a message: made
/// from a `String` or a `&str` (so `Err("...".into())`, `?` on a
/// `Result<_, String>` and `.ok_or("...")?` all work), shown as the message.
macro_rules! message_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error("{message}")]
        pub struct $name {
            message: String,
        }

        impl $name {
            /// A failure with a message the client (or its model) can act on.
            pub fn new(message: impl Into<String>) -> Self {
                $name {
                    message: message.into(),
                }
            }

            /// The message.
            pub fn message(&self) -> &str {
                &self.message
            }
        }

        impl From<String> for $name {
            fn from(message: String) -> Self {
                $name::new(message)
            }
        }

        impl From<&str> for $name {
            fn from(message: &str) -> Self {
                $name::new(message)
            }
        }
    };
}

pub mod ask;
mod content;
pub mod hex;

mod context;
mod incoming;
mod jsonrpc;
pub mod limits;
pub mod meta;
pub mod model;
pub mod mrtr;
mod prompt;
mod resource;
pub mod scopes;
mod server;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tool;
pub mod trace;
mod version;

pub use ask::{AskError, ClientChannel, ClientRequests, Parked, Resume};
pub use context::{
    AuthScheme, CallContext, Cancellation, Cancelled, Discard, Extensions, Identity, LogLevel,
    Notify, RequestContext, log_notification, progress_notification,
};
pub use incoming::Incoming;
pub use jsonrpc::{ErrorCode, ErrorObject, Message, Params, RequestId, classify};
pub use model::{CacheScope, Reply, Response};
pub use mrtr::{InputMethod, InputRequests, InputRequired, StateKey};
pub use prompt::{Prompt, PromptArguments, PromptError, PromptRegistryError, Prompts};
pub use resource::{ResourceError, ResourceReadError, ResourceTemplate, Resources, UriVariables};
pub use server::{DEFAULT_MAX_BATCH, Server, ServerInfo, Session};
pub use tool::{
    Annotations, ContentTool, NoArgs, RegistryError, Tool, ToolDefinition, ToolError, ToolRegistry,
    schema_of,
};
pub use version::ProtocolVersion;

/// A boxed future: what a type-erased tool, prompt or template returns.
pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
