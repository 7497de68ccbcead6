//! The verifier against the AWS SigV4 test suite (header signing, the non-S3
//! `normalize: true` cases): every signed request is accepted, its canonical
//! request and string to sign are reproduced byte for byte, and any change
//! to a signed part is refused.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lambda_emulator::sigv4::{
    Authorization, Credential, Denial, RequestParts, Verifier, canonical_request, string_to_sign,
};
use serde_json::Value;

struct Raw {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// Parses the suite's raw HTTP: the request line may hold spaces in the
/// path, and a line starting with whitespace continues the previous header.
fn parse(text: &str) -> Raw {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let uri = rest.rsplit_once(' ').unwrap().0;
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    Raw {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigv4/v4")
}

struct Case {
    name: String,
    context: Value,
    dir: PathBuf,
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(suite())
        .unwrap()
        .map(|entry| {
            let dir = entry.unwrap().path();
            let context =
                serde_json::from_str(&std::fs::read_to_string(dir.join("context.json")).unwrap())
                    .unwrap();
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                context,
                dir,
            }
        })
        .filter(|case| case.context["normalize"] == true)
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn read(case: &Case, file: &str) -> String {
    std::fs::read_to_string(case.dir.join(file)).unwrap()
}

fn credential(case: &Case) -> Credential {
    let c = &case.context["credentials"];
    Credential {
        access_key_id: c["access_key_id"].as_str().unwrap().into(),
        secret_access_key: c["secret_access_key"].as_str().unwrap().into(),
        session_token: c["token"].as_str().map(str::to_owned),
    }
}

fn verify(case: &Case, raw: &Raw) -> Result<(), Denial> {
    let verifier = Verifier {
        region: case.context["region"].as_str().unwrap().into(),
        service: case.context["service"].as_str().unwrap().into(),
        max_skew: std::time::Duration::from_secs(300),
    };
    let now: SystemTime = time::OffsetDateTime::parse(
        case.context["timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .into();
    let cred = credential(case);
    verifier
        .verify(&raw.parts(), now, |key| {
            (key == cred.access_key_id).then_some(&cred)
        })
        .map(|_| ())
}

#[test]
fn every_normalised_case_verifies_byte_for_byte() {
    let cases = cases();
    assert_eq!(cases.len(), 31, "the suite has 31 normalize:true cases");
    for case in &cases {
        let raw = parse(&read(case, "header-signed-request.txt"));
        let auth_value = raw
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .unwrap()
            .1
            .clone();
        let auth = Authorization::parse(&auth_value).unwrap();
        let canonical = canonical_request(&raw.parts(), &auth.signed_headers).unwrap();
        assert_eq!(
            canonical,
            read(case, "header-canonical-request.txt"),
            "{}: canonical request",
            case.name
        );
        let amz_date = &raw
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-date"))
            .unwrap()
            .1;
        let sts = string_to_sign(amz_date, &auth.scope, &canonical);
        assert_eq!(
            sts,
            read(case, "header-string-to-sign.txt"),
            "{}: string to sign",
            case.name
        );
        assert_eq!(
            auth.signature,
            read(case, "header-signature.txt").trim(),
            "{}",
            case.name
        );
        assert_eq!(
            verify(case, &raw),
            Ok(()),
            "{}: the signed request must verify",
            case.name
        );
    }
}

#[test]
fn any_change_to_a_signed_part_is_refused() {
    for case in &cases() {
        let signed = read(case, "header-signed-request.txt");
        let auth = Authorization::parse(
            &parse(&signed)
                .headers
                .iter()
                .find(|(n, _)| n == "Authorization")
                .unwrap()
                .1,
        )
        .unwrap();
        let mut tampered: Vec<(&str, Raw)> = Vec::new();
        let mut raw = parse(&signed);
        raw.method = if raw.method == "GET" {
            "POST".into()
        } else {
            "GET".into()
        };
        tampered.push(("method", raw));
        let mut raw = parse(&signed);
        raw.path.push('x');
        tampered.push(("path", raw));
        let mut raw = parse(&signed);
        raw.query.push_str(if raw.query.is_empty() {
            "extra=1"
        } else {
            "&extra=1"
        });
        tampered.push(("query", raw));
        let mut raw = parse(&signed);
        raw.body.push(b'!');
        tampered.push(("body", raw));
        for name in auth.signed_headers.iter().filter(|n| *n != "x-amz-date") {
            let mut raw = parse(&signed);
            let header = raw
                .headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .unwrap();
            header.1.push('x');
            tampered.push(("signed header", raw));
        }
        for (what, raw) in &tampered {
            assert!(
                verify(case, raw).is_err(),
                "{}: a changed {what} was accepted",
                case.name
            );
        }
    }
}
