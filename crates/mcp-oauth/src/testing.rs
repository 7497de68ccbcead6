//! A signing key for test doubles: the development issuer of the emulator
//! and this crate's tests mint tokens with it. Never used on AWS: a real
//! deployment trusts its identity provider's keys, fetched from its JWKS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub use crate::ring_provider::KeyGenError;

/// A token could not be signed (a header whose `alg` is not ES256, or
/// claims that do not serialise).
#[derive(Debug, thiserror::Error)]
#[error("cannot sign: {0}")]
pub struct SignError(jsonwebtoken::errors::Error);

/// A fresh ES256 key pair with a key id.
pub struct TestKey {
    kid: String,
    encoding: EncodingKey,
    x: Vec<u8>,
    y: Vec<u8>,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TestKey {
    /// A new key (a new one every run: nothing to leak, nothing to reuse).
    /// It installs the signing provider; in a process that also verifies
    /// tokens, make the first key before the first verification.
    pub fn generate(kid: impl Into<String>) -> Result<TestKey, KeyGenError> {
        crate::ring_provider::install_signing();
        let key = crate::ring_provider::generate_es256()?;
        Ok(TestKey {
            kid: kid.into(),
            encoding: EncodingKey::from_ec_der(&key.pkcs8),
            x: key.x,
            y: key.y,
        })
    }

    /// Its key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Its public half as a JWK.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.x),
            "y": URL_SAFE_NO_PAD.encode(&self.y),
        })
    }

    /// Its public point (`0x04 || x || y`), as a careless server might use
    /// it as an HMAC secret.
    pub fn public_point(&self) -> Vec<u8> {
        let mut point = vec![4];
        point.extend_from_slice(&self.x);
        point.extend_from_slice(&self.y);
        point
    }

    /// A token with these claims, signed ES256, naming this key.
    pub fn sign(&self, claims: &Value) -> Result<String, SignError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        self.sign_with(header, claims)
    }

    /// A token with this header (its `alg` must be ES256) and claims.
    pub fn sign_with(&self, header: Header, claims: &Value) -> Result<String, SignError> {
        encode(&header, claims, &self.encoding).map_err(SignError)
    }
}
