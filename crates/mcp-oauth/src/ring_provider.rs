//! `jsonwebtoken`'s signatures, done by `ring`.
//!
//! `jsonwebtoken` parses tokens, JWKs and claims and validates them; the
//! signature math is a pluggable [`CryptoProvider`]. Its own providers bring
//! aws-lc-rs or the RustCrypto crates, a second crypto library in a function
//! that already links ring for TLS. This one maps each asymmetric JWS
//! algorithm to ring's verifier. HMAC is never accepted: a resource server
//! holds no shared secret, and accepting it is how a public key becomes a
//! forger's HMAC secret. Signing is ES256 only, for the development issuer,
//! and only with the `testing` feature.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature as sig;

/// The resource server's provider: it verifies and never signs, so a
/// function links no signing code.
pub static RING: CryptoProvider = CryptoProvider {
    signer_factory: no_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// [`RING`] that also signs ES256: for the test doubles that mint tokens
/// (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub static RING_SIGNING: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes [`RING`] the process's provider, unless one was installed first
/// (a test double's signing provider verifies the same way).
pub fn install() {
    let _ = RING.install_default();
}

/// Makes [`RING_SIGNING`] the process's provider: call it before anything
/// verifies a token (the first install wins).
#[cfg(any(test, feature = "testing"))]
pub fn install_signing() {
    let _ = RING_SIGNING.install_default();
}

fn no_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

/// The algorithms this server accepts: asymmetric signatures only.
pub const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn rsa_params(alg: Algorithm) -> Option<&'static sig::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn other_params(alg: Algorithm) -> Option<&'static dyn sig::VerificationAlgorithm> {
    Some(match alg {
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        _ => return None,
    })
}

struct RingVerifier {
    alg: Algorithm,
    key: DecodingKey,
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match (rsa_params(self.alg), self.key.kind()) {
            (Some(params), DecodingKeyKind::RsaModulusExponent { n, e }) => {
                sig::RsaPublicKeyComponents { n, e }.verify(params, message, signature)
            }
            (Some(params), DecodingKeyKind::SecretOrDer(der)) => {
                sig::UnparsedPublicKey::new(params, der).verify(message, signature)
            }
            (None, DecodingKeyKind::SecretOrDer(public)) => match other_params(self.alg) {
                Some(params) => {
                    sig::UnparsedPublicKey::new(params, public).verify(message, signature)
                }
                None => Err(ring::error::Unspecified),
            },
            (None, DecodingKeyKind::RsaModulusExponent { .. }) => Err(ring::error::Unspecified),
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    if !ACCEPTED.contains(alg) {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    if key.family() != alg.family() {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(RingVerifier {
        alg: *alg,
        key: key.clone(),
    }))
}

#[cfg(any(test, feature = "testing"))]
struct RingSigner(sig::EcdsaKeyPair);

#[cfg(any(test, feature = "testing"))]
impl signature::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let rng = ring::rand::SystemRandom::new();
        self.0
            .sign(&rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| signature::Error::new())
    }
}

#[cfg(any(test, feature = "testing"))]
impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

#[cfg(any(test, feature = "testing"))]
fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    if *alg != Algorithm::ES256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let rng = ring::rand::SystemRandom::new();
    sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, key.as_bytes(), &rng)
        .map(|pair| Box::new(RingSigner(pair)) as Box<dyn JwtSigner>)
        .map_err(|_| ErrorKind::InvalidEcdsaKey.into())
}

/// A fresh ES256 signing key.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub struct Es256Key {
    /// Its PKCS#8 document (for [`EncodingKey::from_ec_der`]).
    pub pkcs8: Vec<u8>,
    /// Its public point's `x` (32 bytes).
    pub x: Vec<u8>,
    /// Its public point's `y` (32 bytes).
    pub y: Vec<u8>,
}

/// Why no ES256 key could be made.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyGenError {
    /// The system's random source failed.
    #[error("no randomness for a key")]
    NoRandomness,
    /// ring refused the key it had just generated.
    #[error("the generated key does not parse")]
    Unparsable,
    /// The public key is not the 65-byte uncompressed point expected.
    #[error("the generated key's point is not uncompressed P-256")]
    NotUncompressed,
}

/// A fresh ES256 signing key, for test doubles.
#[cfg(any(test, feature = "testing"))]
pub fn generate_es256() -> Result<Es256Key, KeyGenError> {
    use ring::signature::KeyPair as _;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| KeyGenError::NoRandomness)?;
    let pair =
        sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| KeyGenError::Unparsable)?;
    // An uncompressed point: 0x04, then x and y, 32 bytes each.
    let point = pair.public_key().as_ref();
    match point {
        [4, xy @ ..] if xy.len() == 64 => Ok(Es256Key {
            pkcs8: pkcs8.as_ref().to_vec(),
            x: xy[..32].to_vec(),
            y: xy[32..].to_vec(),
        }),
        _ => Err(KeyGenError::NotUncompressed),
    }
}
