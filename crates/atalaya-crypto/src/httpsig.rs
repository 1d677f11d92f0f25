//! HTTP Message Signatures (RFC 9421) with Ed25519, plus `Content-Digest` (RFC 9530), for
//! node-to-node requests.
//!
//! One signature labelled `atalaya` covers, in this order, `"@method" "@authority" "@path"
//! "@query"` and, when the request has a body, `"content-digest"`. Its parameters are
//! `created` (unix seconds), `keyid` (the signer's key reference), `alg="ed25519"` and `nonce`
//! (16 random bytes, base64url without padding). Replay protection (remembering nonces) is left
//! to the caller.
//!
//! A receiver checks in two steps, so that nobody makes it read a body before it knows who is
//! sending: [`verify_request_head`] checks the signature over the request line and headers
//! (the signed `Content-Digest` value included), and gives the digest the body must have;
//! [`DigestCheck`] then hashes the body as it streams in. [`verify_request`] does both for a
//! body already in memory. The headers are structured fields (RFC 8941), parsed with `sfv`.

mod fields;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer, SigningKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use crate::keys::PublicSigningKey;
use fields::{BareItem, Member};

/// The signature label used in `Signature-Input` and `Signature`.
pub const LABEL: &str = "atalaya";
/// The only supported signature algorithm.
pub const ALG_ED25519: &str = "ed25519";

/// The parts of an HTTP request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request method, e.g. `POST` (case-sensitive, used as is).
    pub method: &'a str,
    /// The target authority, `host[:port]` (compared lowercased). Per RFC 9421 §2.2.3 it must
    /// be normalized as RFC 9110 §4.2.3 says: without the scheme's default port (`:443` for
    /// `https`), as `url::Url::port()` gives it. Other implementations derive `@authority` from
    /// the URL that way, so `host:443` here would not verify there.
    pub authority: &'a str,
    /// The absolute path, e.g. `/fed/v1/inbox` (an empty path counts as `/`).
    pub path: &'a str,
    /// The query string without the leading `?`, if any.
    pub query: Option<&'a str>,
    /// The request body, if the request has one.
    pub body: Option<&'a [u8]>,
}

/// The parts of an HTTP request the signature covers that are known before its body is read.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// The request method, e.g. `POST` (case-sensitive, used as is).
    pub method: &'a str,
    /// The target authority, `host[:port]` (compared lowercased; see [`RequestParts`]).
    pub authority: &'a str,
    /// The absolute path (an empty path counts as `/`).
    pub path: &'a str,
    /// The query string without the leading `?`, if any.
    pub query: Option<&'a str>,
    /// Whether the request has a body: then the signature must cover its `Content-Digest`.
    pub has_body: bool,
}

impl<'a> RequestParts<'a> {
    /// The parts known before the body.
    pub fn head(&self) -> RequestHead<'a> {
        RequestHead {
            method: self.method,
            authority: self.authority,
            path: self.path,
            query: self.query,
            has_body: self.body.is_some(),
        }
    }
}

/// The SHA-256 a request's body must have, taken from its signed `Content-Digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDigest([u8; 32]);

impl BodyDigest {
    /// Start checking a body that arrives in pieces.
    pub fn check(self) -> DigestCheck {
        DigestCheck {
            expected: self,
            hasher: Sha256::new(),
        }
    }
}

/// Hashes a body as it streams in; [`DigestCheck::finish`] says whether it is the signed one.
pub struct DigestCheck {
    expected: BodyDigest,
    hasher: Sha256,
}

impl DigestCheck {
    /// The next piece of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    /// The whole body arrived: refuse it unless it is the one the signature covers.
    pub fn finish(self) -> Result<(), RequestSigError> {
        if self.hasher.finalize()[..] == self.expected.0[..] {
            Ok(())
        } else {
            Err(RequestSigError::DigestMismatch(
                "body does not match Content-Digest",
            ))
        }
    }
}

/// Header values to attach to an outgoing signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// The `Content-Digest` header value, when the request has a body.
    pub content_digest: Option<String>,
    /// The `Signature-Input` header value.
    pub signature_input: String,
    /// The `Signature` header value.
    pub signature: String,
}

/// Raw header values of an incoming request (multiple field lines joined with ", ").
#[derive(Debug, Clone, Copy, Default)]
pub struct IncomingSignature<'a> {
    /// The `Signature-Input` header value.
    pub signature_input: Option<&'a str>,
    /// The `Signature` header value.
    pub signature: Option<&'a str>,
    /// The `Content-Digest` header value.
    pub content_digest: Option<&'a str>,
}

/// What a successful verification established about the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The signer's key reference (`keyid`).
    pub key_ref: String,
    /// The signature nonce; the caller must reject reuse.
    pub nonce: String,
    /// The signature creation time, unix seconds.
    pub created: i64,
    /// What the body must hash to, when the request has one (from the signed
    /// `Content-Digest`); the caller checks the body against it as it reads.
    pub body_digest: Option<BodyDigest>,
}

/// Why a request could not be signed or its signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestSigError {
    /// The request carries no `atalaya` signature.
    #[error("request is not signed: {0}")]
    UnsignedRequest(&'static str),
    /// The signature headers are not in the expected shape.
    #[error("malformed request signature: {0}")]
    MalformedSignature(&'static str),
    /// The signature uses an algorithm other than Ed25519.
    #[error("unsupported signature algorithm {0:?}; only \"ed25519\" is accepted")]
    UnsupportedAlgorithm(String),
    /// The signature does not cover every required component.
    #[error("signature does not cover {0}")]
    IncompleteCoverage(&'static str),
    /// The signature has no nonce.
    #[error("signature has no nonce")]
    MissingNonce,
    /// The signature's creation time is too far from now.
    #[error("signature created at {created} is more than {max_skew_secs}s away from now ({now})")]
    StaleRequest {
        /// The signature's `created` parameter.
        created: i64,
        /// The verifier's current time.
        now: i64,
        /// The allowed difference in seconds.
        max_skew_secs: i64,
    },
    /// The body does not match its `Content-Digest`.
    #[error("content digest mismatch: {0}")]
    DigestMismatch(&'static str),
    /// No public key is known for the signature's key reference.
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("request signature does not verify")]
    BadSignature,
    /// The key reference cannot be carried in a header (it must be printable ASCII).
    #[error("key reference {0:?} is not printable ASCII")]
    InvalidKeyRef(String),
}

impl RequestSigError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsignedRequest(_) => "unsigned_request",
            Self::MalformedSignature(_) => "malformed_signature",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::IncompleteCoverage(_) => "incomplete_coverage",
            Self::MissingNonce => "missing_nonce",
            Self::StaleRequest { .. } => "stale_request",
            Self::DigestMismatch(_) => "digest_mismatch",
            Self::UnknownKey(_) => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::InvalidKeyRef(_) => "invalid_key_ref",
        }
    }
}

/// The RFC 9530 `Content-Digest` value of `body`: `sha-256=:<standard base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// Signs a request, returning the headers to send with it.
pub fn sign_request(
    parts: &RequestParts<'_>,
    key: &SigningKey,
    key_ref: &str,
    created: i64,
    rng: &mut impl CryptoRngCore,
) -> Result<SignatureHeaders, RequestSigError> {
    if !fields::is_valid_string(key_ref) {
        return Err(RequestSigError::InvalidKeyRef(key_ref.to_owned()));
    }
    let mut nonce_bytes = [0u8; 16];
    rng.fill_bytes(&mut nonce_bytes);
    let nonce = URL_SAFE_NO_PAD.encode(nonce_bytes);

    let mut components = vec![
        Component::Method,
        Component::Authority,
        Component::Path,
        Component::Query,
    ];
    if parts.body.is_some() {
        components.push(Component::ContentDigest);
    }
    let params = vec![
        ("created".to_owned(), ParamValue::Integer(created)),
        ("keyid".to_owned(), ParamValue::String(key_ref.to_owned())),
        ("alg".to_owned(), ParamValue::String(ALG_ED25519.to_owned())),
        ("nonce".to_owned(), ParamValue::String(nonce)),
    ];
    let signature_params = serialize_signature_params(&components, &params);
    let digest = parts.body.map(content_digest);
    let base = signature_base(
        &parts.head(),
        digest.as_deref(),
        &components,
        &signature_params,
    );
    let signature = key.sign(base.as_bytes());
    Ok(SignatureHeaders {
        content_digest: digest,
        signature_input: format!("{LABEL}={signature_params}"),
        signature: format!("{LABEL}=:{}:", STANDARD.encode(signature.to_bytes())),
    })
}

/// Verifies the `atalaya` signature of an incoming request whose body is already in memory.
///
/// `lookup` maps the signature's `keyid` to the signer's public key. Nonce reuse is not checked.
pub fn verify_request(
    parts: &RequestParts<'_>,
    headers: &IncomingSignature<'_>,
    now: i64,
    max_skew_secs: i64,
    lookup: impl FnOnce(&str) -> Option<PublicSigningKey>,
) -> Result<VerifiedRequest, RequestSigError> {
    verify(
        &parts.head(),
        parts.body,
        headers,
        now,
        max_skew_secs,
        lookup,
    )
}

/// Verifies the `atalaya` signature of an incoming request before its body is read: the
/// signature input's shape, algorithm, coverage, nonce and age, then the key, then the
/// signature over the request line and headers, `Content-Digest` included as sent. The body
/// is not trusted yet: check it against [`VerifiedRequest::body_digest`] as it arrives.
///
/// `lookup` maps the signature's `keyid` to the signer's public key. Nonce reuse is not checked.
pub fn verify_request_head(
    head: &RequestHead<'_>,
    headers: &IncomingSignature<'_>,
    now: i64,
    max_skew_secs: i64,
    lookup: impl FnOnce(&str) -> Option<PublicSigningKey>,
) -> Result<VerifiedRequest, RequestSigError> {
    verify(head, None, headers, now, max_skew_secs, lookup)
}

fn verify(
    head: &RequestHead<'_>,
    body: Option<&[u8]>,
    headers: &IncomingSignature<'_>,
    now: i64,
    max_skew_secs: i64,
    lookup: impl FnOnce(&str) -> Option<PublicSigningKey>,
) -> Result<VerifiedRequest, RequestSigError> {
    let (Some(input), Some(signature)) = (headers.signature_input, headers.signature) else {
        return Err(RequestSigError::UnsignedRequest(
            "missing Signature-Input or Signature header",
        ));
    };
    let parsed = parse_signature(input, signature)?;

    match parsed.param_str("alg") {
        Some(ALG_ED25519) => {}
        Some(other) => return Err(RequestSigError::UnsupportedAlgorithm(other.to_owned())),
        None => {
            return Err(RequestSigError::UnsupportedAlgorithm(
                "(missing)".to_owned(),
            ));
        }
    }
    for required in [
        Component::Method,
        Component::Authority,
        Component::Path,
        Component::Query,
    ] {
        if !parsed.components.contains(&required) {
            return Err(RequestSigError::IncompleteCoverage(
                "all of \"@method\" \"@authority\" \"@path\" \"@query\"",
            ));
        }
    }
    let covers_digest = parsed.components.contains(&Component::ContentDigest);
    if head.has_body && !covers_digest {
        return Err(RequestSigError::IncompleteCoverage(
            "\"content-digest\" of the body",
        ));
    }
    let nonce = match parsed.param_str("nonce") {
        Some(nonce) if !nonce.is_empty() => nonce.to_owned(),
        _ => return Err(RequestSigError::MissingNonce),
    };
    let max_skew = u64::try_from(max_skew_secs).unwrap_or(0);
    if now.abs_diff(parsed.created) > max_skew {
        return Err(RequestSigError::StaleRequest {
            created: parsed.created,
            now,
            max_skew_secs,
        });
    }
    let mut digest_header = None;
    let mut body_digest = None;
    if head.has_body || covers_digest {
        let header = headers
            .content_digest
            .ok_or(RequestSigError::DigestMismatch(
                "missing Content-Digest header",
            ))?
            .trim_matches([' ', '\t']);
        let digest = parse_content_digest(header)?;
        if let Some(body) = body {
            let mut check = digest.check();
            check.update(body);
            check.finish()?;
        }
        digest_header = Some(header);
        body_digest = Some(digest);
    }
    let key_ref = parsed.keyid.clone();
    let key = lookup(&key_ref).ok_or_else(|| RequestSigError::UnknownKey(key_ref.clone()))?;

    let signature_params = serialize_signature_params(&parsed.components, &parsed.params);
    let base = signature_base(head, digest_header, &parsed.components, &signature_params);
    key.verifying_key()
        .verify_strict(base.as_bytes(), &parsed.signature)
        .map_err(|_| RequestSigError::BadSignature)?;
    Ok(VerifiedRequest {
        key_ref,
        nonce,
        created: parsed.created,
        body_digest,
    })
}

/// The `sha-256` member of a `Content-Digest` dictionary (RFC 9530): the field must be
/// exactly one 32-byte `sha-256` digest, as [`content_digest`] writes it.
fn parse_content_digest(header: &str) -> Result<BodyDigest, RequestSigError> {
    let mismatch = RequestSigError::DigestMismatch;
    let found = fields::members(header, "sha-256")
        .map_err(|_| mismatch("Content-Digest is not a valid structured-field dictionary"))?;
    let digest = match found.as_slice() {
        [
            Member::Item(fields::Item {
                bare: BareItem::Bytes(bytes),
                ..
            }),
        ] => bytes
            .as_slice()
            .try_into()
            .map(BodyDigest)
            .map_err(|_| mismatch("the sha-256 Content-Digest is not 32 bytes"))?,
        [] => return Err(mismatch("Content-Digest has no sha-256 digest")),
        _ => return Err(mismatch("Content-Digest is not one sha-256 byte sequence")),
    };
    if header != format!("sha-256=:{}:", STANDARD.encode(digest.0)) {
        return Err(mismatch(
            "Content-Digest must be exactly sha-256=:<base64>: and nothing else",
        ));
    }
    Ok(digest)
}

/// A covered component this module knows how to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    Method,
    Authority,
    Path,
    Query,
    ContentDigest,
}

impl Component {
    fn name(self) -> &'static str {
        match self {
            Self::Method => "@method",
            Self::Authority => "@authority",
            Self::Path => "@path",
            Self::Query => "@query",
            Self::ContentDigest => "content-digest",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Self::Method,
            Self::Authority,
            Self::Path,
            Self::Query,
            Self::ContentDigest,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }

    /// The component value (RFC 9421 §2.1, §2.2) for `head`; `content-digest` is the header
    /// value as sent (trimmed), the body being checked against it separately.
    fn value(self, head: &RequestHead<'_>, content_digest: Option<&str>) -> String {
        match self {
            Self::Method => head.method.to_owned(),
            Self::Authority => head.authority.to_ascii_lowercase(),
            Self::Path if head.path.is_empty() => "/".to_owned(),
            Self::Path => head.path.to_owned(),
            Self::Query => format!("?{}", head.query.unwrap_or_default()),
            Self::ContentDigest => content_digest.unwrap_or_default().to_owned(),
        }
    }
}

/// A signature parameter value: `created` is an integer, the others are strings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ParamValue {
    Integer(i64),
    String(String),
}

/// The `atalaya` members of `Signature-Input` and `Signature`, validated.
struct ParsedSignature {
    components: Vec<Component>,
    /// The parameters in wire order (only created, keyid, alg, nonce; no duplicates).
    params: Vec<(String, ParamValue)>,
    created: i64,
    keyid: String,
    signature: Signature,
}

impl ParsedSignature {
    fn param_str(&self, name: &str) -> Option<&str> {
        self.params.iter().find_map(|(k, v)| match v {
            ParamValue::String(s) if k == name => Some(s.as_str()),
            _ => None,
        })
    }
}

fn malformed(reason: &'static str) -> RequestSigError {
    RequestSigError::MalformedSignature(reason)
}

/// Finds the single `atalaya` member of a dictionary header, ignoring other labels.
fn label_member(header: &str) -> Result<Option<Member>, RequestSigError> {
    let mut members = fields::members(header, LABEL)
        .map_err(|_| malformed("not a valid structured-field dictionary (RFC 8941)"))?
        .into_iter();
    let member = members.next();
    if members.next().is_some() {
        return Err(malformed("duplicate \"atalaya\" member"));
    }
    Ok(member)
}

fn parse_signature(input: &str, signature: &str) -> Result<ParsedSignature, RequestSigError> {
    let Some(input_member) = label_member(input)? else {
        return Err(RequestSigError::UnsignedRequest("no \"atalaya\" signature"));
    };
    let Member::InnerList(items, params) = input_member else {
        return Err(malformed("Signature-Input member is not an inner list"));
    };

    let mut components = Vec::with_capacity(items.len());
    for item in items {
        let BareItem::String(name) = &item.bare else {
            return Err(malformed("covered component is not a string"));
        };
        if !item.params.is_empty() {
            return Err(malformed("covered component parameters are not supported"));
        }
        let component =
            Component::from_name(name).ok_or(malformed("unsupported covered component"))?;
        if components.contains(&component) {
            return Err(malformed("duplicate covered component"));
        }
        components.push(component);
    }

    let mut created = None;
    let mut keyid = None;
    let mut checked_params: Vec<(String, ParamValue)> = Vec::with_capacity(params.len());
    for (name, value) in params {
        if checked_params.iter().any(|(earlier, _)| *earlier == name) {
            return Err(malformed("duplicate signature parameter"));
        }
        let value = match (name.as_str(), value) {
            ("created", BareItem::Integer(n)) => {
                created = Some(n);
                ParamValue::Integer(n)
            }
            ("keyid", BareItem::String(s)) => {
                keyid = Some(s.clone());
                ParamValue::String(s)
            }
            ("alg" | "nonce", BareItem::String(s)) => ParamValue::String(s),
            ("created" | "keyid" | "alg" | "nonce", _) => {
                return Err(malformed("signature parameter has the wrong type"));
            }
            _ => return Err(malformed("unsupported signature parameter")),
        };
        checked_params.push((name, value));
    }
    let created = created.ok_or(malformed("missing created parameter"))?;
    let keyid = keyid.ok_or(malformed("missing keyid parameter"))?;

    let signature = match label_member(signature)? {
        Some(Member::Item(fields::Item {
            bare: BareItem::Bytes(bytes),
            ..
        })) => {
            let bytes: [u8; 64] = bytes
                .try_into()
                .map_err(|_| malformed("signature is not 64 bytes"))?;
            Signature::from_bytes(&bytes)
        }
        Some(_) => return Err(malformed("Signature member is not a byte sequence")),
        None => return Err(malformed("Signature header has no \"atalaya\" member")),
    };
    Ok(ParsedSignature {
        components,
        params: checked_params,
        created,
        keyid,
        signature,
    })
}

/// Serializes the inner list of components with its parameters (the `@signature-params` value).
fn serialize_signature_params(components: &[Component], params: &[(String, ParamValue)]) -> String {
    let mut out = String::from("(");
    for (i, component) in components.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        fields::serialize_string(component.name(), &mut out);
    }
    out.push(')');
    for (name, value) in params {
        out.push(';');
        out.push_str(name);
        out.push('=');
        match value {
            ParamValue::Integer(n) => out.push_str(&n.to_string()),
            ParamValue::String(s) => fields::serialize_string(s, &mut out),
        }
    }
    out
}

/// The RFC 9421 §2.5 signature base: one `"<component>": <value>` line per covered component,
/// then the `"@signature-params"` line, joined by `\n` without a trailing newline.
fn signature_base(
    head: &RequestHead<'_>,
    content_digest: Option<&str>,
    components: &[Component],
    signature_params: &str,
) -> String {
    let mut base = String::new();
    for component in components {
        base.push('"');
        base.push_str(component.name());
        base.push_str("\": ");
        base.push_str(&component.value(head, content_digest));
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(signature_params);
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{TestRng, test_keys};
    use ed25519_dalek::Verifier;

    const KEY_REF: &str = "cl-csirt#0123456789abcdef";
    const NOW: i64 = 1_700_000_000;
    const SKEW: i64 = 300;
    const BODY: &[u8] = br#"{"hello": "world"}"#;

    fn post() -> RequestParts<'static> {
        RequestParts {
            method: "POST",
            authority: "Node-B.example:8443",
            path: "/fed/v1/inbox",
            query: Some("after=1&limit=5"),
            body: Some(BODY),
        }
    }

    fn get() -> RequestParts<'static> {
        RequestParts {
            method: "GET",
            authority: "node-b.example",
            path: "/fed/v1/outbox",
            query: None,
            body: None,
        }
    }

    fn sign(parts: &RequestParts<'_>, created: i64) -> SignatureHeaders {
        sign_request(
            parts,
            test_keys(1).signing_key(),
            KEY_REF,
            created,
            &mut TestRng(42),
        )
        .unwrap()
    }

    fn incoming(headers: &SignatureHeaders) -> IncomingSignature<'_> {
        IncomingSignature {
            signature_input: Some(&headers.signature_input),
            signature: Some(&headers.signature),
            content_digest: headers.content_digest.as_deref(),
        }
    }

    fn lookup(key_ref: &str) -> Option<PublicSigningKey> {
        (key_ref == KEY_REF).then(|| test_keys(1).verifying_key())
    }

    fn verify(
        parts: &RequestParts<'_>,
        headers: &IncomingSignature<'_>,
    ) -> Result<VerifiedRequest, RequestSigError> {
        verify_request(parts, headers, NOW, SKEW, lookup)
    }

    fn verify_code(parts: &RequestParts<'_>, headers: &IncomingSignature<'_>) -> &'static str {
        verify(parts, headers).unwrap_err().code()
    }

    /// Re-signs `signature_input` (after the label) so that only the tested property is wrong.
    fn resign(parts: &RequestParts<'_>, signature_params: &str) -> String {
        let components: Vec<Component> = signature_params
            .trim_start_matches('(')
            .split(')')
            .next()
            .unwrap()
            .split_whitespace()
            .map(|c| Component::from_name(c.trim_matches('"')).unwrap())
            .collect();
        let digest = parts.body.map(content_digest);
        let base = signature_base(
            &parts.head(),
            digest.as_deref(),
            &components,
            signature_params,
        );
        let signature = test_keys(1).signing_key().sign(base.as_bytes());
        format!("{LABEL}=:{}:", STANDARD.encode(signature.to_bytes()))
    }

    #[test]
    fn content_digest_matches_rfc9530_example() {
        assert_eq!(
            content_digest(BODY),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            content_digest(b""),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
    }

    #[test]
    fn round_trip_post_and_get() {
        for parts in [post(), get()] {
            let headers = sign(&parts, NOW);
            let verified = verify(&parts, &incoming(&headers)).unwrap();
            assert_eq!(verified.key_ref, KEY_REF);
            assert_eq!(verified.created, NOW);
            assert_eq!(verified.nonce.len(), 22); // 16 bytes, base64url without padding
            assert!(
                headers
                    .signature_input
                    .contains(&format!(";nonce=\"{}\"", verified.nonce))
            );
            assert_eq!(headers.content_digest.is_some(), parts.body.is_some());
        }
    }

    #[test]
    fn header_shapes() {
        let headers = sign(&post(), NOW);
        let nonce = verify(&post(), &incoming(&headers)).unwrap().nonce;
        assert_eq!(
            headers.signature_input,
            format!(
                "atalaya=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-digest\")\
                 ;created=1700000000;keyid=\"{KEY_REF}\";alg=\"ed25519\";nonce=\"{nonce}\""
            )
        );
        assert!(headers.signature.starts_with("atalaya=:") && headers.signature.ends_with("=:"));
        assert_eq!(headers.signature.len(), "atalaya=::".len() + 88);

        let get_headers = sign(&get(), NOW);
        assert!(get_headers.signature_input.starts_with(
            "atalaya=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1700000000;"
        ));
    }

    #[test]
    fn nonces_differ_between_requests() {
        let key = test_keys(1);
        let mut rng = TestRng(7);
        let a = sign_request(&get(), key.signing_key(), KEY_REF, NOW, &mut rng).unwrap();
        let b = sign_request(&get(), key.signing_key(), KEY_REF, NOW, &mut rng).unwrap();
        assert_ne!(a.signature_input, b.signature_input);
    }

    #[test]
    fn fixed_signature_base_vector() {
        let components = [
            Component::Method,
            Component::Authority,
            Component::Path,
            Component::Query,
            Component::ContentDigest,
        ];
        let params = concat!(
            r#"("@method" "@authority" "@path" "@query" "content-digest")"#,
            r#";created=1700000000;keyid="cl-csirt#0123";alg="ed25519""#,
            r#";nonce="AAECAwQFBgcICQoLDA0ODw""#
        );
        let expected = concat!(
            "\"@method\": POST\n",
            "\"@authority\": node-b.example:8443\n",
            "\"@path\": /fed/v1/inbox\n",
            "\"@query\": ?after=1&limit=5\n",
            "\"content-digest\": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n",
            "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" ",
            "\"content-digest\");created=1700000000;keyid=\"cl-csirt#0123\";alg=\"ed25519\";",
            "nonce=\"AAECAwQFBgcICQoLDA0ODw\""
        );
        let digest = content_digest(BODY);
        assert_eq!(
            signature_base(&post().head(), Some(&digest), &components, params),
            expected
        );

        let expected_get = concat!(
            "\"@method\": GET\n",
            "\"@authority\": node-b.example\n",
            "\"@path\": /fed/v1/outbox\n",
            "\"@query\": ?\n",
            "\"@signature-params\": (\"@method\")"
        );
        assert_eq!(
            signature_base(&get().head(), None, &components[..4], "(\"@method\")"),
            expected_get
        );

        // The signature produced by sign_request is over exactly such a hand-built base.
        let headers = sign(&post(), 1_700_000_000);
        let signature_params = headers.signature_input.strip_prefix("atalaya=").unwrap();
        let hand_built = format!(
            "\"@method\": POST\n\"@authority\": node-b.example:8443\n\"@path\": /fed/v1/inbox\n\
             \"@query\": ?after=1&limit=5\n\"content-digest\": {}\n\"@signature-params\": {}",
            content_digest(BODY),
            signature_params
        );
        let b64 = headers
            .signature
            .strip_prefix("atalaya=:")
            .unwrap()
            .strip_suffix(':')
            .unwrap();
        let bytes: [u8; 64] = STANDARD.decode(b64).unwrap().try_into().unwrap();
        test_keys(1)
            .verifying_key()
            .verifying_key()
            .verify(hand_built.as_bytes(), &Signature::from_bytes(&bytes))
            .unwrap();
    }

    #[test]
    fn missing_headers_are_unsigned() {
        let headers = sign(&get(), NOW);
        let mut only_input = incoming(&headers);
        only_input.signature = None;
        assert_eq!(verify_code(&get(), &only_input), "unsigned_request");
        let mut only_sig = incoming(&headers);
        only_sig.signature_input = None;
        assert_eq!(verify_code(&get(), &only_sig), "unsigned_request");
        assert_eq!(
            verify_code(&get(), &IncomingSignature::default()),
            "unsigned_request"
        );

        let other_label = IncomingSignature {
            signature_input: Some("sig1=(\"@method\");created=1"),
            signature: Some("sig1=:AAAA:"),
            content_digest: None,
        };
        assert_eq!(verify_code(&get(), &other_label), "unsigned_request");
    }

    #[test]
    fn other_labels_and_parameter_order_are_tolerated() {
        let parts = get();
        let headers = sign(&parts, NOW);
        let nonce = verify(&parts, &incoming(&headers)).unwrap().nonce;
        let params = format!(
            "(\"@path\" \"@query\" \"@method\" \"@authority\");nonce=\"{nonce}\";alg=\"ed25519\";\
             keyid=\"{KEY_REF}\";created={NOW}"
        );
        let input = format!("sig1=(\"@method\");created=1;keyid=\"x\", {LABEL}={params}");
        let signature = format!("sig1=:AAAA:, {}", resign(&parts, &params));
        let headers = IncomingSignature {
            signature_input: Some(&input),
            signature: Some(&signature),
            content_digest: None,
        };
        let verified = verify(&parts, &headers).unwrap();
        assert_eq!(verified.nonce, nonce);
    }

    #[test]
    fn malformed_signatures() {
        let parts = get();
        let good = sign(&parts, NOW);
        let base_params = good.signature_input.strip_prefix("atalaya=").unwrap();
        let bad_inputs = [
            "atalaya=\"not a list\"".to_owned(),
            "atalaya=(\"@method\"".to_owned(),
            "atalaya=(@method);created=1".to_owned(),
            format!(
                "atalaya=(\"@method\" \"@status\"){}",
                &base_params[base_params.find(';').unwrap()..]
            ),
            format!(
                "atalaya=(\"@method\" \"@method\"){}",
                &base_params[base_params.find(';').unwrap()..]
            ),
            format!("{};created=1", good.signature_input),
            format!("{};expires=1", good.signature_input),
            good.signature_input.replace(";created=1700000000", ""),
            good.signature_input
                .replace(&format!(";keyid=\"{KEY_REF}\""), ""),
            good.signature_input
                .replace("created=1700000000", "created=\"1700000000\""),
            format!("{}, {}", good.signature_input, good.signature_input),
        ];
        for input in &bad_inputs {
            let headers = IncomingSignature {
                signature_input: Some(input),
                ..incoming(&good)
            };
            assert_eq!(
                verify_code(&parts, &headers),
                "malformed_signature",
                "{input}"
            );
        }
        let bad_signatures = [
            "atalaya=:AAAA:".to_owned(),
            "atalaya=\"abc\"".to_owned(),
            "sig1=:AAAA:".to_owned(),
            "atalaya=:not base64:".to_owned(),
            format!("{}, {}", good.signature, good.signature),
        ];
        for signature in &bad_signatures {
            let headers = IncomingSignature {
                signature: Some(signature),
                ..incoming(&good)
            };
            assert_eq!(
                verify_code(&parts, &headers),
                "malformed_signature",
                "{signature}"
            );
        }
    }

    #[test]
    fn unsupported_algorithm() {
        let parts = get();
        let good = sign(&parts, NOW);
        for input in [
            good.signature_input
                .replace("alg=\"ed25519\"", "alg=\"rsa-pss-sha512\""),
            good.signature_input.replace(";alg=\"ed25519\"", ""),
        ] {
            let params = input.strip_prefix("atalaya=").unwrap();
            let signature = resign(&parts, params);
            let headers = IncomingSignature {
                signature_input: Some(&input),
                signature: Some(&signature),
                content_digest: None,
            };
            assert_eq!(
                verify_code(&parts, &headers),
                "unsupported_algorithm",
                "{input}"
            );
        }
    }

    #[test]
    fn incomplete_coverage() {
        let good = sign(&post(), NOW);
        let cases = [
            (
                post(),
                "\"@method\" \"@authority\" \"@path\" \"@query\" \"content-digest\"",
                "\"@method\" \"@authority\" \"@path\" \"@query\"",
            ),
            (post(), "\"@query\" ", ""),
            (get(), "\"@method\" ", ""),
        ];
        for (parts, from, to) in cases {
            let headers = sign(&parts, NOW);
            let input = headers.signature_input.replacen(from, to, 1);
            assert_ne!(input, headers.signature_input);
            let signature = resign(&parts, input.strip_prefix("atalaya=").unwrap());
            let incoming = IncomingSignature {
                signature_input: Some(&input),
                signature: Some(&signature),
                content_digest: good.content_digest.as_deref(),
            };
            assert_eq!(
                verify_code(&parts, &incoming),
                "incomplete_coverage",
                "{input}"
            );
        }
    }

    #[test]
    fn missing_nonce() {
        let parts = get();
        let good = sign(&parts, NOW);
        let nonce = verify(&parts, &incoming(&good)).unwrap().nonce;
        for replacement in ["", ";nonce=\"\""] {
            let input = good
                .signature_input
                .replace(&format!(";nonce=\"{nonce}\""), replacement);
            let signature = resign(&parts, input.strip_prefix("atalaya=").unwrap());
            let headers = IncomingSignature {
                signature_input: Some(&input),
                signature: Some(&signature),
                content_digest: None,
            };
            assert_eq!(verify_code(&parts, &headers), "missing_nonce", "{input}");
        }
    }

    #[test]
    fn clock_skew() {
        let parts = post();
        for (created, ok) in [
            (NOW - 299, true),
            (NOW + 299, true),
            (NOW - 300, true),
            (NOW - 301, false),
            (NOW + 301, false),
            (NOW - 100_000, false),
        ] {
            let headers = sign(&parts, created);
            let result = verify(&parts, &incoming(&headers));
            if ok {
                result.unwrap();
            } else {
                assert_eq!(
                    result.unwrap_err().code(),
                    "stale_request",
                    "created {created}"
                );
            }
        }
    }

    #[test]
    fn digest_mismatch() {
        let parts = post();
        let headers = sign(&parts, NOW);
        let missing = IncomingSignature {
            content_digest: None,
            ..incoming(&headers)
        };
        assert_eq!(verify_code(&parts, &missing), "digest_mismatch");

        let other = content_digest(b"other");
        let wrong = IncomingSignature {
            content_digest: Some(&other),
            ..incoming(&headers)
        };
        assert_eq!(verify_code(&parts, &wrong), "digest_mismatch");

        // A tampered body with its original digest header.
        let tampered = RequestParts {
            body: Some(br#"{"hello": "World"}"#),
            ..parts
        };
        assert_eq!(
            verify_code(&tampered, &incoming(&headers)),
            "digest_mismatch"
        );

        // A tampered body with a recomputed digest header fails the signature instead.
        let digest = content_digest(br#"{"hello": "World"}"#);
        let recomputed = IncomingSignature {
            content_digest: Some(&digest),
            ..incoming(&headers)
        };
        assert_eq!(verify_code(&tampered, &recomputed), "bad_signature");
    }

    #[test]
    fn the_head_is_verified_first_and_the_body_streams_against_its_digest() {
        let parts = post();
        let headers = sign(&parts, NOW);
        let verified =
            verify_request_head(&parts.head(), &incoming(&headers), NOW, SKEW, lookup).unwrap();
        let digest = verified.body_digest.unwrap();
        let mut check = digest.check();
        for chunk in BODY.chunks(5) {
            check.update(chunk);
        }
        check.finish().unwrap();
        let mut other = digest.check();
        other.update(br#"{"hello": "World"}"#);
        assert_eq!(other.finish().unwrap_err().code(), "digest_mismatch");
        let mut short = digest.check();
        short.update(&BODY[..BODY.len() - 1]);
        assert_eq!(short.finish().unwrap_err().code(), "digest_mismatch");

        let get = get();
        let verified =
            verify_request_head(&get.head(), &incoming(&sign(&get, NOW)), NOW, SKEW, lookup)
                .unwrap();
        assert_eq!(verified.body_digest, None);

        // Digest headers in a shape we do not read are refused before the signature is checked.
        let good = headers.content_digest.clone().unwrap();
        let b64 = good
            .strip_prefix("sha-256=:")
            .unwrap()
            .strip_suffix(':')
            .unwrap();
        for bad in [
            "sha-512=:AAAA:".to_owned(),
            "sha-256=\"x\"".to_owned(),
            "sha-256=:AAAA:".to_owned(),
            "(((".to_owned(),
            format!("{good}, {good}"),
            format!("{good}, sha-512=:AAAA:"),
            format!("sha-256=:{b64}:;p=1"),
        ] {
            let headers = IncomingSignature {
                content_digest: Some(&bad),
                ..incoming(&headers)
            };
            let err = verify_request_head(&parts.head(), &headers, NOW, SKEW, lookup).unwrap_err();
            assert_eq!(err.code(), "digest_mismatch", "{bad}");
        }
    }

    #[test]
    fn unknown_key() {
        let key = test_keys(1);
        let headers = sign_request(
            &get(),
            key.signing_key(),
            "xx-csirt#00",
            NOW,
            &mut TestRng(3),
        )
        .unwrap();
        let err = verify(&get(), &incoming(&headers)).unwrap_err();
        assert_eq!(err, RequestSigError::UnknownKey("xx-csirt#00".into()));
    }

    #[test]
    fn wrong_key_or_tampering_fails() {
        let parts = post();
        let headers = sign(&parts, NOW);
        let other_key = |_: &str| Some(test_keys(2).verifying_key());
        let err = verify_request(&parts, &incoming(&headers), NOW, SKEW, other_key).unwrap_err();
        assert_eq!(err.code(), "bad_signature");

        let tampered = [
            RequestParts {
                method: "PUT",
                ..parts
            },
            RequestParts {
                authority: "node-c.example:8443",
                ..parts
            },
            RequestParts {
                path: "/fed/v1/admin",
                ..parts
            },
            RequestParts {
                query: Some("after=0&limit=5"),
                ..parts
            },
            RequestParts {
                query: None,
                ..parts
            },
        ];
        for parts in tampered {
            assert_eq!(
                verify_code(&parts, &incoming(&headers)),
                "bad_signature",
                "{parts:?}"
            );
        }

        let mut signature = headers.signature.clone().into_bytes();
        signature[10] = if signature[10] == b'A' { b'B' } else { b'A' };
        let signature = String::from_utf8(signature).unwrap();
        let flipped = IncomingSignature {
            signature: Some(&signature),
            ..incoming(&headers)
        };
        assert_eq!(verify_code(&parts, &flipped), "bad_signature");

        // Changing the created time (still within skew) breaks the signature too.
        let input = headers
            .signature_input
            .replace("created=1700000000", "created=1700000001");
        let changed = IncomingSignature {
            signature_input: Some(&input),
            ..incoming(&headers)
        };
        assert_eq!(verify_code(&parts, &changed), "bad_signature");
    }

    #[test]
    fn authority_is_compared_case_insensitively() {
        let headers = sign(&post(), NOW);
        let parts = RequestParts {
            authority: "NODE-B.EXAMPLE:8443",
            ..post()
        };
        verify(&parts, &incoming(&headers)).unwrap();
    }

    #[test]
    fn key_ref_must_be_printable_ascii() {
        let key = test_keys(1);
        for bad in ["cl-csirt#ñ", "a\nb"] {
            let err =
                sign_request(&get(), key.signing_key(), bad, NOW, &mut TestRng(1)).unwrap_err();
            assert_eq!(err.code(), "invalid_key_ref");
        }
        let quoted = "we\"ird\\ref";
        let headers =
            sign_request(&get(), key.signing_key(), quoted, NOW, &mut TestRng(1)).unwrap();
        let lookup = |k: &str| (k == quoted).then(|| key.verifying_key());
        let verified = verify_request(&get(), &incoming(&headers), NOW, SKEW, lookup).unwrap();
        assert_eq!(verified.key_ref, quoted);
    }
}
