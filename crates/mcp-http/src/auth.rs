//! Where authentication plugs in: an [`Authenticator`] looks at the request
//! parts and says who is calling, or refuses with a status and a challenge.
//!
//! Today's scheme is [`TrustFront`]: behind a Function URL with
//! `AuthType AWS_IAM`, AWS has verified the SigV4 signature and both invoke
//! permissions before the function runs, so the identity the front read from
//! the event's IAM context is the caller. A bearer-token scheme (an OAuth
//! resource server) implements the same trait and answers 401/403 with a
//! `WWW-Authenticate` challenge.

use std::future::Future;
use std::pin::Pin;

use http::{HeaderValue, StatusCode};
use mcp_core::Identity;

use crate::RequestParts;

/// A boxed future, so authenticators can do I/O (fetch signing keys).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a request was refused before the protocol saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    /// 401 (no or bad credentials), 403 (not allowed), 503 (cannot check now).
    pub status: StatusCode,
    /// The `WWW-Authenticate` challenge, for 401 and 403.
    pub challenge: Option<HeaderValue>,
    /// What the caller should do, in the JSON-RPC error body.
    pub message: String,
}

/// Decides who is calling.
pub trait Authenticator: Send + Sync {
    /// The caller (`None`: anonymous, where the scheme allows it), or a refusal.
    fn authenticate<'a>(
        &'a self,
        request: &'a RequestParts<'a>,
    ) -> BoxFuture<'a, Result<Option<Identity>, AuthError>>;

    /// A public JSON document this scheme serves at `path` to a `GET`
    /// without credentials (an OAuth resource server's RFC 9728 metadata).
    fn document(&self, path: &str) -> Option<&str> {
        let _ = path;
        None
    }

    /// The URL of the scheme's resource metadata, named in the
    /// `insufficient_scope` challenge of a 403.
    fn resource_metadata(&self) -> Option<&str> {
        None
    }
}

/// Trusts the identity the front established (the Function URL's IAM check).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustFront;

impl Authenticator for TrustFront {
    fn authenticate<'a>(
        &'a self,
        request: &'a RequestParts<'a>,
    ) -> BoxFuture<'a, Result<Option<Identity>, AuthError>> {
        let identity = request.front_identity.cloned();
        Box::pin(std::future::ready(Ok(identity)))
    }
}
