//! Verification of SigV4-signed requests, as a Function URL with
//! `AuthType = AWS_IAM` does it before the function runs.
//!
//! The canonical request is built here (the `aws-sigv4` crate keeps its own
//! private), following the non-S3 rules: the path normalised and encoded once
//! more, the query decoded and re-encoded strictly, header values trimmed with
//! inner whitespace collapsed. Key derivation and the HMAC are `aws-sigv4`'s.

use std::fmt;
use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::PrimitiveDateTime;
use time::macros::format_description;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Everything but the unreserved characters `A-Z a-z 0-9 - _ . ~`.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, keeping `/` (for paths).
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// The parts of a received request that a signature covers, as they arrived.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path as sent (still percent-encoded), without the query.
    pub path: &'a str,
    /// The query as sent, without the `?`.
    pub query: &'a str,
    /// Every header in arrival order; names in any case, values as received.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

impl RequestParts<'_> {
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header<'s>(&'s self, name: &'s str) -> Option<&'s str> {
        self.values(name).next()
    }
}

/// A secret a principal signs with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The access key id (`AKIA...`, `ASIA...`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

/// What the verifier needs of a signer: its secret and, for temporary
/// credentials, its session token. Lets callers look up their own records
/// (principals) without copying secrets per request.
pub trait Secret {
    /// The secret access key.
    fn secret_access_key(&self) -> &str;
    /// The session token of temporary credentials.
    fn session_token(&self) -> Option<&str>;
}

impl Secret for Credential {
    fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }
    fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Why a request was refused. Every variant is a 403 for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// No `Authorization` header.
    #[error(
        "the request is not signed: sign it with SigV4 (service lambda) using credentials of this account"
    )]
    Unsigned,
    /// A presigned URL (signature in the query).
    #[error("presigned URLs are not accepted here: sign the Authorization header")]
    Presigned,
    /// The `Authorization` header cannot be read.
    #[error("the Authorization header is malformed: {0}")]
    Malformed(String),
    /// The signature is for another region, service or day.
    #[error("the credential scope {got} does not match {want}")]
    WrongScope {
        /// The scope in the request.
        got: String,
        /// What this URL expects.
        want: String,
    },
    /// The signing time is too far from now.
    #[error(
        "the signature time {0} is more than 5 minutes from the server's clock: check the client's clock"
    )]
    Skewed(String),
    /// A header that must be signed is not.
    #[error("the {0} header must be signed")]
    MustBeSigned(&'static str),
    /// A signed header is absent.
    #[error("the signed header {0} is missing from the request")]
    SignedHeaderMissing(String),
    /// The payload hash is not the body's.
    #[error(
        "x-amz-content-sha256 must be the SHA-256 of the body (UNSIGNED-PAYLOAD is not accepted)"
    )]
    PayloadHash,
    /// Nobody here has this access key.
    #[error("the access key {0} is not known here")]
    UnknownAccessKey(String),
    /// The session token does not belong to the access key.
    #[error("the security token is missing or invalid for this access key")]
    Token,
    /// The signature does not match.
    #[error(
        "the signature does not match: check the secret key and that nothing changed the request after signing"
    )]
    Signature,
}

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key_id: String,
    /// `date/region/service/aws4_request`.
    pub scope: String,
    /// Lower-case names, as listed.
    pub signed_headers: Vec<String>,
    /// Lower-case hex.
    pub signature: String,
}

impl Authorization {
    /// Parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    pub fn parse(value: &str) -> Result<Authorization, Denial> {
        let malformed = |why: &str| Denial::Malformed(why.to_owned());
        let (algorithm, rest) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| malformed("no parameters"))?;
        if algorithm != ALGORITHM {
            return Err(malformed("the algorithm must be AWS4-HMAC-SHA256"));
        }
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (key, val) = part
                .trim()
                .split_once('=')
                .ok_or_else(|| malformed("a parameter without '='"))?;
            match key {
                "Credential" => credential = Some(val),
                "SignedHeaders" => signed = Some(val),
                "Signature" => signature = Some(val),
                _ => return Err(malformed("an unknown parameter")),
            }
        }
        let credential = credential.ok_or_else(|| malformed("no Credential"))?;
        let (access_key_id, scope) = credential
            .split_once('/')
            .ok_or_else(|| malformed("Credential has no scope"))?;
        let signed = signed.ok_or_else(|| malformed("no SignedHeaders"))?;
        let signature = signature.ok_or_else(|| malformed("no Signature"))?;
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("the Signature is not 64 hex digits"));
        }
        let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
        if signed_headers
            .iter()
            .any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase()))
        {
            return Err(malformed(
                "SignedHeaders must be lower-case names separated by ';'",
            ));
        }
        Ok(Authorization {
            access_key_id: access_key_id.to_owned(),
            scope: scope.to_owned(),
            signed_headers,
            signature: signature.to_ascii_lowercase(),
        })
    }
}

/// The canonical request of `req` for the given signed headers.
pub fn canonical_request(
    req: &RequestParts<'_>,
    signed_headers: &[String],
) -> Result<String, Denial> {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_path(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = req.values(name).map(normalise_value).collect();
        if values.is_empty() {
            return Err(Denial::SignedHeaderMissing(name.clone()));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(&hex::encode(Sha256::digest(req.body)));
    Ok(out)
}

/// The string to sign for a canonical request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hash}")
}

/// Removes `.` and `..` segments and empty segments, keeps a trailing slash,
/// then encodes every byte but the unreserved ones and `/`.
fn canonical_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut normalised = format!("/{}", segments.join("/"));
    if path.ends_with('/') && normalised != "/" {
        normalised.push('/');
    }
    utf8_percent_encode(&normalised, PATH).to_string()
}

/// Decodes each key and value, encodes them strictly, sorts by key then value.
fn canonical_query(query: &str) -> String {
    let encode = |raw: &str| {
        let bytes: Vec<u8> = percent_decode_str(raw).collect();
        percent_encoding::percent_encode(&bytes, STRICT).to_string()
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(k), encode(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn normalise_value(value: &str) -> String {
    value.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let when = PrimitiveDateTime::parse(value, format).ok()?.assume_utc();
    Some(SystemTime::from(when))
}

/// A request's headers as the verifier reads them: names and raw values,
/// in order, repeated names kept.
pub(crate) fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// What a URL accepts: its region and service, and the clock tolerance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The region the URL is in.
    pub region: String,
    /// The signing name, `lambda` for Function URLs.
    pub service: String,
    /// How far the signing time may be from now (AWS: 5 minutes).
    pub max_skew: Duration,
}

impl Verifier {
    /// A verifier for Function URLs of `region`.
    pub fn lambda(region: impl Into<String>) -> Self {
        Verifier {
            region: region.into(),
            service: "lambda".into(),
            max_skew: Duration::from_secs(300),
        }
    }

    /// Checks the signature of `req` at time `now`; `lookup` finds the signer
    /// of an access key. Returns that signer.
    pub fn verify<'c, S: Secret + ?Sized>(
        &self,
        req: &RequestParts<'_>,
        now: SystemTime,
        lookup: impl Fn(&str) -> Option<&'c S>,
    ) -> Result<&'c S, Denial> {
        if percent_decode_str(req.query)
            .decode_utf8_lossy()
            .contains("X-Amz-Signature=")
        {
            return Err(Denial::Presigned);
        }
        let mut authorizations = req.values("authorization");
        let auth = authorizations.next().ok_or(Denial::Unsigned)?;
        if authorizations.next().is_some() {
            return Err(Denial::Malformed(
                "more than one Authorization header".into(),
            ));
        }
        let auth = Authorization::parse(auth)?;
        for required in ["host", "x-amz-date"] {
            if !auth.signed_headers.iter().any(|h| h == required) {
                return Err(Denial::MustBeSigned(if required == "host" {
                    "host"
                } else {
                    "x-amz-date"
                }));
            }
        }
        let amz_date = req
            .header("x-amz-date")
            .ok_or(Denial::SignedHeaderMissing("x-amz-date".into()))?;
        let signed_at = parse_amz_date(amz_date)
            .ok_or_else(|| Denial::Malformed("x-amz-date is not YYYYMMDDTHHMMSSZ".into()))?;
        let skew = now
            .duration_since(signed_at)
            .unwrap_or_else(|e| e.duration());
        if skew > self.max_skew {
            return Err(Denial::Skewed(amz_date.to_owned()));
        }
        let want = format!(
            "{}/{}/{}/aws4_request",
            &amz_date[..8],
            self.region,
            self.service
        );
        if auth.scope != want {
            return Err(Denial::WrongScope {
                got: auth.scope,
                want,
            });
        }
        let declared = req.header("x-amz-content-sha256");
        if declared.is_some_and(|d| d != hex::encode(Sha256::digest(req.body))) {
            return Err(Denial::PayloadHash);
        }
        let signer = lookup(&auth.access_key_id)
            .ok_or_else(|| Denial::UnknownAccessKey(auth.access_key_id.clone()))?;
        let token_ok = match (signer.session_token(), req.header("x-amz-security-token")) {
            (None, None) => true,
            (Some(want), Some(got)) => bool::from(want.as_bytes().ct_eq(got.as_bytes())),
            _ => false,
        };
        if !token_ok {
            return Err(Denial::Token);
        }
        let canonical = canonical_request(req, &auth.signed_headers)?;
        let to_sign = string_to_sign(amz_date, &auth.scope, &canonical);
        let key = aws_sigv4::sign::v4::generate_signing_key(
            signer.secret_access_key(),
            signed_at,
            &self.region,
            &self.service,
        );
        let expected = aws_sigv4::sign::v4::calculate_signature(key, to_sign.as_bytes());
        if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
            Ok(signer)
        } else {
            Err(Denial::Signature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path("//example//"), "/example/");
        assert_eq!(canonical_path("/example1/example2/../.."), "/");
        assert_eq!(canonical_path("/./example"), "/example");
        assert_eq!(
            canonical_path("/a%20b"),
            "/a%2520b",
            "the wire path is encoded once more"
        );
        assert_eq!(canonical_path("/ሴ"), "/%E1%88%B4");
    }

    #[test]
    fn queries() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(
            canonical_query("k=a+b&s=%20"),
            "k=a%2Bb&s=%20",
            "a literal + is not a space"
        );
        assert_eq!(canonical_query("flag"), "flag=");
    }

    #[test]
    fn authorization_header() {
        let auth = Authorization::parse(&format!(
            "AWS4-HMAC-SHA256 Credential=AK/20200101/r/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
            "a".repeat(64)
        ))
        .unwrap();
        assert_eq!(auth.access_key_id, "AK");
        assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
        for bad in [
            "",
            "AWS4-HMAC-SHA1 Credential=a",
            "AWS4-HMAC-SHA256 Credential=AK",
            "AWS4-HMAC-SHA256 Signature=zz",
        ] {
            assert!(Authorization::parse(bad).is_err(), "{bad}");
        }
    }
}
