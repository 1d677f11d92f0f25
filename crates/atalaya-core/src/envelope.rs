//! The envelope: the signed unit that travels between nodes (DESIGN §5).
//!
//! An envelope is verified over the JSON object exactly as received (RFC 8785 canonical form of
//! everything but `sig`), so this module parses in two steps: the generic JSON object that the
//! signature covers, then the typed view the node reasons about.
//!
//! # Sealed items, and what a carrier sees (design note)
//!
//! TLP:AMBER+STRICT and TLP:RED bulletins travel sealed: the body is an age v1 file
//! (`sealed.ciphertext`) that only their recipient nodes can open, and it is sent to every
//! other member too, so that nodes which cannot read it can still carry it across a partition
//! (relay). Since protocol v1 with *recipients inside* (this version), the age file holds
//! [`SealedContent`]: the audience, the named people, the embargo, `refs` and the body. The
//! clear, signed part of a sealed envelope is only
//!
//! `{"v":1, "id", "kind":"bulletin", "origin", "created", "tlp", "embargo_until":null,
//! "refs":[], "sealed":{"alg":"age-x25519","ciphertext"}, "sig"}`
//!
//! with no `audience`, no `people` and no `sealed.to`. A receiver tries its sealing key on
//! the file (trial decryption; an age X25519 stanza names no recipient and can only be
//! recognised by the recipient's secret). If it opens, the content is authentic (the origin's
//! signature covers the ciphertext) and the node reads the labels from inside; if not, the
//! node is a carrier.
//!
//! **What a carrier can see**: the origin, the envelope id, that it is a bulletin, its TLP label
//! (AMBER+STRICT or RED), when it was created, the size of the age file, the number of stanzas
//! in it (padded by the origin to the roster's size, so it says nothing about the number of
//! recipients; the age crate adds a random "grease" stanza at times, which adds noise only),
//! when and from which peer it arrived, and whom the origin pushed it to directly (all members:
//! recipients and carriers alike get it). It cannot see the audience, the recipient nodes, the
//! named people, the embargo, which earlier bulletin it supersedes, or any content.
//!
//! **What an outside attacker on the network can learn**: the federation traffic is TLS, so
//! only its shape: which nodes talk, when, and how many bytes. A sealed item is pushed to every
//! member at once, recipients and carriers alike, so the fan-out does not single out the
//! recipients; what can still single them out is what follows: a recipient's acknowledgement
//! goes back to the origin (a small push a few seconds or minutes later), and a RED item may
//! make the recipient's people act. Timing and sizes are not padded.
//!
//! Envelopes of the earlier form (`sealed.to` and `audience`/`people` in clear, the age file
//! holding only the body) are still accepted and opened, so envelopes already signed verify
//! and travel after an upgrade; nodes no longer make them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::json::{self, JsonLimitError};
use crate::{Audience, BulletinContent, NodeId, Roster, Timestamp, Tlp};

/// The protocol version this node speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest envelope accepted, in bytes of JSON.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;

/// What an envelope carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvelopeKind {
    /// A warning, advisory, alert or mitigation (`Bulletin`).
    Bulletin,
    /// A new version of the roster, signed by the coordinator.
    Roster,
    /// A node's signed statement of its audit log: the chain head and the Merkle tree head
    /// (size, root), with a proof that it extends the one before; peers keep its history.
    AuditCheckpoint,
    /// A peer's signed report that a node's audit checkpoints do not hold to each other (the
    /// two signed checkpoints are the evidence).
    AuditInconsistency,
    /// The origin withdraws one of its bulletins.
    Retraction,
    /// A version of the network's sharing agreement, issued by the coordinator.
    Agreement,
    /// A node's acceptance of a version of the sharing agreement.
    AgreementAcceptance,
    /// A person at a receiving node acknowledged a bulletin (sent back to its origin).
    Acknowledgement,
    /// A communication check: a person at each target node must answer it.
    CommCheck,
    /// A person's answer to a communication check (sent back to the node that started it).
    CommCheckAnswer,
    /// A bulletin's origin asks a recipient that has not acknowledged it to call its on-call
    /// roster now.
    Renotify,
    /// A directory entry (a team record, a country's cybercrime contacts, the standards
    /// registry...), published by its authority; every node holds the whole directory.
    DirectoryRecord,
    /// The coordinator opens (or closes) a census round.
    CensusRound,
    /// A team's answers to a census round (sent to the coordinator).
    CensusResponse,
    /// An incident report a person made on another node's portal, passed to the node of the
    /// national CSIRT it is for (TLP:AMBER+STRICT, to that node only).
    IncidentReport,
}

impl EnvelopeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvelopeKind::Bulletin => "bulletin",
            EnvelopeKind::Roster => "roster",
            EnvelopeKind::AuditCheckpoint => "audit-checkpoint",
            EnvelopeKind::AuditInconsistency => "audit-inconsistency",
            EnvelopeKind::Retraction => "retraction",
            EnvelopeKind::Agreement => "agreement",
            EnvelopeKind::AgreementAcceptance => "agreement-acceptance",
            EnvelopeKind::Acknowledgement => "acknowledgement",
            EnvelopeKind::CommCheck => "comm-check",
            EnvelopeKind::CommCheckAnswer => "comm-check-answer",
            EnvelopeKind::Renotify => "renotify",
            EnvelopeKind::DirectoryRecord => "directory-record",
            EnvelopeKind::CensusRound => "census-round",
            EnvelopeKind::CensusResponse => "census-response",
            EnvelopeKind::IncidentReport => "incident-report",
        }
    }

    /// Parse a wire name; `None` for kinds this node does not know.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bulletin" => Some(EnvelopeKind::Bulletin),
            "roster" => Some(EnvelopeKind::Roster),
            "audit-checkpoint" => Some(EnvelopeKind::AuditCheckpoint),
            "audit-inconsistency" => Some(EnvelopeKind::AuditInconsistency),
            "retraction" => Some(EnvelopeKind::Retraction),
            "agreement" => Some(EnvelopeKind::Agreement),
            "agreement-acceptance" => Some(EnvelopeKind::AgreementAcceptance),
            "acknowledgement" => Some(EnvelopeKind::Acknowledgement),
            "comm-check" => Some(EnvelopeKind::CommCheck),
            "comm-check-answer" => Some(EnvelopeKind::CommCheckAnswer),
            "renotify" => Some(EnvelopeKind::Renotify),
            "directory-record" => Some(EnvelopeKind::DirectoryRecord),
            "census-round" => Some(EnvelopeKind::CensusRound),
            "census-response" => Some(EnvelopeKind::CensusResponse),
            "incident-report" => Some(EnvelopeKind::IncidentReport),
            _ => None,
        }
    }
}

/// The origin's signature over the canonical JSON of the envelope without `sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Always `ed25519` in protocol v1.
    pub alg: String,
    /// `<node_id>#<key id>`.
    pub key: String,
    /// Base64 of the 64-byte signature.
    pub value: String,
}

/// The signed unit that travels between nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Protocol version (1).
    pub v: u32,
    /// UUIDv7; receiving is idempotent by this id.
    pub id: Uuid,
    /// What the body is.
    pub kind: EnvelopeKind,
    /// The node that created and signed it.
    pub origin: NodeId,
    /// When the origin created it (UTC).
    pub created: Timestamp,
    /// Its sharing label.
    pub tlp: Tlp,
    /// Who it is addressed to; absent on a sealed envelope, whose audience is inside the
    /// sealed part ([`SealedContent`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// Not to be made public before this instant.
    pub embargo_until: Option<Timestamp>,
    /// Envelopes this one refers to (e.g. the bulletin it supersedes).
    pub refs: Vec<Uuid>,
    /// TLP:RED only: the people (`user@node`) it is for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    /// The content, in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// The content, sealed to named recipients (see the sharing-rules issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Value>,
    /// The origin's signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<Signature>,
}

/// Why an envelope was refused. Each case has a stable code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Over the size limit or nested too deep.
    #[error(transparent)]
    Limit(#[from] JsonLimitError),
    /// Not UTF-8.
    #[error("envelope is not valid UTF-8")]
    InvalidUtf8,
    /// Not JSON.
    #[error("envelope is not valid JSON: {0}")]
    MalformedJson(String),
    /// JSON, but not an object.
    #[error("envelope must be a JSON object")]
    NotAnObject,
    /// A protocol version this node does not speak.
    #[error("unsupported envelope version {0}; this node speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion(String),
    /// A kind this node does not know.
    #[error("unknown envelope kind {0:?}")]
    UnknownKind(String),
    /// A field is missing, extra or of the wrong type.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// A RED or AMBER+STRICT bulletin with its body in clear.
    #[error("a {0} bulletin must travel sealed to its recipients")]
    MustBeSealed(Tlp),
    /// The body does not match its kind.
    #[error("invalid {kind} body: {reason}")]
    InvalidBody {
        /// The envelope kind.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl EnvelopeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Limit(JsonLimitError::TooDeep { .. }) => "too_deep",
            EnvelopeError::Limit(JsonLimitError::TooLarge { .. }) => "too_large",
            EnvelopeError::InvalidUtf8 => "invalid_utf8",
            EnvelopeError::MalformedJson(_) => "malformed_json",
            EnvelopeError::NotAnObject => "not_an_object",
            EnvelopeError::UnsupportedVersion(_) => "unsupported_version",
            EnvelopeError::UnknownKind(_) => "unknown_kind",
            EnvelopeError::Malformed(_) => "malformed_envelope",
            EnvelopeError::InvalidBody { .. } => "invalid_body",
            EnvelopeError::MustBeSealed(_) => "must_be_sealed",
        }
    }
}

/// The content of an envelope, once its body has been checked against its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A bulletin's content.
    Bulletin(Box<BulletinContent>),
    /// A roster version.
    Roster(Box<Roster>),
    /// An audit log head.
    AuditCheckpoint(AuditCheckpoint),
    /// A report that a node's audit checkpoints do not hold to each other.
    AuditInconsistency(Box<AuditInconsistency>),
    /// A retraction.
    Retraction(Retraction),
    /// A version of the sharing agreement.
    Agreement(Agreement),
    /// A node's acceptance of an agreement version.
    AgreementAcceptance(AgreementAcceptance),
    /// An acknowledgement of a bulletin.
    Acknowledgement(crate::ack::Acknowledgement),
    /// A communication check.
    CommCheck(crate::comm_check::CommCheck),
    /// An answer to a communication check.
    CommCheckAnswer(crate::comm_check::CommCheckAnswer),
    /// A bulletin's origin asks a recipient to call its on-call roster.
    Renotify(crate::ack::Renotify),
    /// A directory entry.
    Directory(Box<crate::directory::DirectoryEntry>),
    /// A census round (body checked by the census module at the receiver).
    CensusRound(Value),
    /// A census response (body checked by the census module at the receiver).
    CensusResponse(Value),
    /// An incident report for the one node it is addressed to.
    IncidentReport(Box<crate::report::IncidentReport>),
    /// The body is sealed; only the named recipients can read it.
    Sealed(Sealed),
}

/// A node's audit log at some moment (the body of an `audit-checkpoint` envelope): a signed
/// tree head (`seq` = tree size, `root`, `time`) over the entries' chain hashes
/// (see [`crate::audit`]). Checkpoints from before the transparency log carry only `seq` and
/// `hash`; they still parse, and peers take no tree head from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditCheckpoint {
    /// The number of the newest entry, which is the number of entries: the tree size.
    pub seq: i64,
    /// The chain hash of entry `seq`.
    pub hash: String,
    /// The RFC 9162 root (hex) of the tree over the first `seq` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// When the node took this head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The proof that this tree extends the one of the checkpoint the node published before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<ConsistencyLink>,
}

/// A consistency proof (RFC 9162 §2.1.4) from an earlier tree head to the checkpoint's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyLink {
    /// The earlier tree size.
    pub seq: i64,
    /// The earlier root (hex).
    pub root: String,
    /// The proof's hashes (hex), in the RFC's order.
    pub proof: Vec<String>,
}

/// A signed report that a node's audit checkpoints do not hold to each other (the body of an
/// `audit-inconsistency` envelope). The two checkpoints are the node's own signed envelopes,
/// exactly as received, so anyone holding the roster can check them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditInconsistency {
    /// The node whose audit log does not hold to its past.
    pub node: NodeId,
    /// What is wrong: `audit_fork` (two roots for one size), `audit_not_extension` (the new
    /// tree does not extend the one held), `audit_truncated` (a later, smaller log).
    pub code: String,
    /// In words.
    pub detail: String,
    /// The checkpoint the reporter held (signed envelope, as received).
    pub held: String,
    /// The checkpoint it refused (signed envelope, as received).
    pub refused: String,
}

/// Whether `s` is 64 hex digits.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The origin withdraws a bulletin (the body of a `retraction` envelope). The bulletin stays
/// in every node's history, marked retracted, and is no longer passed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retraction {
    /// The bulletin withdrawn.
    pub bulletin: Uuid,
    /// Why.
    pub reason: String,
}

/// An envelope body encrypted to its recipient nodes (TLP:RED and TLP:AMBER+STRICT): an age
/// v1 file (X25519 recipients), base64. It holds a [`SealedContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// Always `age-x25519`.
    pub alg: String,
    /// Only in the earlier form: the nodes whose sealing keys can open it (the file then holds
    /// just the body, and the labels are in clear). Nodes no longer write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<NodeId>>,
    /// The age file, standard base64.
    pub ciphertext: String,
}

/// What the age file of a sealed envelope holds: the labels that say whom it is for, and the
/// body. Only the nodes that can open it learn them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedContent {
    /// Who it is addressed to.
    pub audience: Audience,
    /// TLP:RED: the people (`user@node`) it is for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    /// Not to be made public before this instant.
    #[serde(default)]
    pub embargo_until: Option<Timestamp>,
    /// Envelopes it refers to (the bulletin it supersedes).
    #[serde(default)]
    pub refs: Vec<Uuid>,
    /// The content.
    pub body: Value,
}

/// Why the content of an opened sealed envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed sealed content: {0}")]
pub struct SealedContentError(pub String);

impl SealedContent {
    /// The labels a sealed envelope's content must have to be believed: an audience that
    /// names someone; for TLP:RED, named nodes and people (`user@node`) at those nodes; named
    /// people for nothing else.
    pub fn check(&self, tlp: Tlp) -> Result<(), SealedContentError> {
        let err = |s: &str| Err(SealedContentError(s.to_owned()));
        if self.audience.is_empty() {
            return err("the audience names no recipient");
        }
        if tlp != Tlp::Red {
            if !self.people.is_empty() {
                return err("named people only apply to TLP:RED");
            }
            return Ok(());
        }
        let Audience::Nodes { nodes } = &self.audience else {
            return err("TLP:RED is addressed to named nodes");
        };
        if self.people.is_empty() {
            return err("TLP:RED names the people it is for");
        }
        for p in &self.people {
            let node = p
                .split_once('@')
                .filter(|(u, n)| !u.is_empty() && NodeId::new(n).is_ok())
                .map(|(_, n)| n);
            match node {
                None => return Err(SealedContentError(format!("{p:?} is not user@node"))),
                Some(n) if !nodes.iter().any(|m| m.as_str() == n) => {
                    return Err(SealedContentError(format!(
                        "{p} is at a node outside the audience"
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The envelope as its recipients read it: the clear part with the labels from inside.
    pub fn label(&self, env: &Envelope) -> Envelope {
        let mut opened = env.clone();
        opened.audience = Some(self.audience.clone());
        opened.people = self.people.clone();
        opened.embargo_until = self.embargo_until;
        opened.refs = self.refs.clone();
        opened
    }
}

impl Sealed {
    /// The algorithm name.
    pub const ALG: &'static str = "age-x25519";

    fn check(&self, env: &Envelope) -> Result<(), String> {
        let tlp = env.tlp;
        if self.alg != Self::ALG {
            return Err(format!(
                "sealed with {:?}; only {:?} is known",
                self.alg,
                Self::ALG
            ));
        }
        match &self.to {
            // The earlier form: labels in clear.
            Some(to) if to.is_empty() => {
                return Err("a sealed body names its recipients".into());
            }
            Some(_) if env.audience.is_none() => {
                return Err("a sealed body with `to` has its audience in clear".into());
            }
            Some(_) => {}
            None => {
                if env.audience.is_some()
                    || !env.people.is_empty()
                    || env.embargo_until.is_some()
                    || !env.refs.is_empty()
                {
                    return Err(
                        "a sealed envelope carries its audience, people, embargo and refs \
                         inside the sealed part"
                            .into(),
                    );
                }
            }
        }
        if !matches!(tlp, Tlp::Red | Tlp::AmberStrict) {
            return Err(format!(
                "{tlp} travels in clear; only RED and AMBER+STRICT are sealed"
            ));
        }
        Ok(())
    }
}

/// The network's information-sharing rules, one version (body of an `agreement` envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Increases with every new text.
    pub version: u64,
    /// The rules, Markdown.
    pub text: String,
    /// SHA-256 (hex) of `text`, what acceptances refer to.
    pub hash: String,
}

/// A node accepts a version of the agreement (body of an `agreement-acceptance` envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementAcceptance {
    /// The version accepted.
    pub version: u64,
    /// Its hash, as read by the accepting node.
    pub hash: String,
}

/// The SHA-256 (hex) of an agreement text.
pub fn agreement_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An envelope as received: the object the signature covers and the typed view of it.
#[derive(Debug, Clone)]
pub struct ParsedEnvelope {
    /// The JSON object exactly as received (what the signature covers).
    pub object: Map<String, Value>,
    /// The typed view.
    pub envelope: Envelope,
    /// The checked content.
    pub payload: Payload,
}

impl Envelope {
    /// Parse and check an envelope from untrusted bytes. Does not verify the signature.
    pub fn parse(raw: &[u8]) -> Result<ParsedEnvelope, EnvelopeError> {
        json::check_size("envelope", raw, MAX_ENVELOPE_BYTES)?;
        let text = std::str::from_utf8(raw).map_err(|_| EnvelopeError::InvalidUtf8)?;
        json::check_depth(text.as_bytes(), json::MAX_DEPTH)?;
        let value: Value =
            serde_json::from_str(text).map_err(|e| EnvelopeError::MalformedJson(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(EnvelopeError::NotAnObject);
        };
        Self::from_object(object)
    }

    /// Check an already-parsed JSON object (from a batch) as an envelope.
    pub fn from_object(object: Map<String, Value>) -> Result<ParsedEnvelope, EnvelopeError> {
        match object.get("v") {
            Some(Value::Number(n)) if n.as_u64() == Some(u64::from(PROTOCOL_VERSION)) => {}
            Some(other) => return Err(EnvelopeError::UnsupportedVersion(other.to_string())),
            None => return Err(EnvelopeError::Malformed("missing field `v`".into())),
        }
        match object.get("kind") {
            Some(Value::String(k)) if EnvelopeKind::parse(k).is_some() => {}
            Some(Value::String(k)) => return Err(EnvelopeError::UnknownKind(k.clone())),
            Some(_) => return Err(EnvelopeError::Malformed("`kind` must be a string".into())),
            None => return Err(EnvelopeError::Malformed("missing field `kind`".into())),
        }
        let envelope: Envelope = serde_json::from_value(Value::Object(object.clone()))
            .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        let payload = envelope.check_payload()?;
        Ok(ParsedEnvelope {
            object,
            envelope,
            payload,
        })
    }

    fn check_payload(&self) -> Result<Payload, EnvelopeError> {
        if self.audience.as_ref().is_some_and(Audience::is_empty) {
            return Err(EnvelopeError::Malformed(
                "audience names no recipient".into(),
            ));
        }
        let kind = self.kind.as_str();
        let body = match (&self.body, &self.sealed) {
            (Some(_), None)
                if self.kind == EnvelopeKind::Bulletin
                    && matches!(self.tlp, Tlp::Red | Tlp::AmberStrict) =>
            {
                return Err(EnvelopeError::MustBeSealed(self.tlp));
            }
            (Some(body), None) => body,
            (None, Some(sealed)) => {
                let sealed: Sealed = serde_json::from_value(sealed.clone())
                    .map_err(|e| EnvelopeError::Malformed(format!("sealed: {e}")))?;
                sealed.check(self).map_err(EnvelopeError::Malformed)?;
                return Ok(Payload::Sealed(sealed));
            }
            _ => {
                return Err(EnvelopeError::Malformed(
                    "exactly one of `body` and `sealed` is required".into(),
                ));
            }
        };
        let Some(audience) = &self.audience else {
            return Err(EnvelopeError::Malformed("missing field `audience`".into()));
        };
        let invalid = |reason: String| EnvelopeError::InvalidBody { kind, reason };
        match self.kind {
            EnvelopeKind::Bulletin => {
                let content: BulletinContent =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                content
                    .validate(self.created)
                    .map_err(|e| invalid(e.to_string()))?;
                if let Some(old) = content.supersedes
                    && !self.refs.contains(&old)
                {
                    return Err(invalid("`supersedes` must also be listed in `refs`".into()));
                }
                Ok(Payload::Bulletin(Box::new(content)))
            }
            EnvelopeKind::Agreement => {
                let a: Agreement =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                if a.version == 0 || a.text.trim().is_empty() || a.text.len() > 512 * 1024 {
                    return Err(invalid(
                        "an agreement has a version from 1 and a text (at most 512 KiB)".into(),
                    ));
                }
                if agreement_hash(&a.text) != a.hash {
                    return Err(invalid(
                        "the agreement's hash does not match its text".into(),
                    ));
                }
                Ok(Payload::Agreement(a))
            }
            EnvelopeKind::AgreementAcceptance => {
                let a: AgreementAcceptance =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                if a.version == 0 || a.hash.len() != 64 {
                    return Err(invalid(
                        "an acceptance names a version and its SHA-256".into(),
                    ));
                }
                Ok(Payload::AgreementAcceptance(a))
            }
            EnvelopeKind::Retraction => {
                let r: Retraction =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                if !self.refs.contains(&r.bulletin) {
                    return Err(invalid(
                        "the retracted bulletin must be listed in `refs`".into(),
                    ));
                }
                if r.reason.trim().is_empty() || r.reason.chars().count() > 1000 {
                    return Err(invalid(
                        "a retraction needs a reason (at most 1000 characters)".into(),
                    ));
                }
                Ok(Payload::Retraction(r))
            }
            EnvelopeKind::Acknowledgement => {
                let a: crate::ack::Acknowledgement =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                a.check().map_err(invalid)?;
                if !self.refs.contains(&a.bulletin) {
                    return Err(invalid(
                        "the acknowledged bulletin must be listed in `refs`".into(),
                    ));
                }
                Ok(Payload::Acknowledgement(a))
            }
            EnvelopeKind::CommCheck => {
                let c: crate::comm_check::CommCheck =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                c.check().map_err(invalid)?;
                if c.id != self.id {
                    return Err(invalid(
                        "a check is identified by its envelope: `id` must be the envelope's id"
                            .into(),
                    ));
                }
                if !matches!(audience, Audience::Nodes { .. }) {
                    return Err(invalid("a check is addressed to named nodes".into()));
                }
                Ok(Payload::CommCheck(c))
            }
            EnvelopeKind::CommCheckAnswer => {
                let a: crate::comm_check::CommCheckAnswer =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                a.check().map_err(invalid)?;
                if !self.refs.contains(&a.check) {
                    return Err(invalid(
                        "the answered check must be listed in `refs`".into(),
                    ));
                }
                Ok(Payload::CommCheckAnswer(a))
            }
            EnvelopeKind::Renotify => {
                let r: crate::ack::Renotify =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                r.check().map_err(invalid)?;
                if !self.refs.contains(&r.bulletin) {
                    return Err(invalid(
                        "the bulletin re-notified must be listed in `refs`".into(),
                    ));
                }
                Ok(Payload::Renotify(r))
            }
            EnvelopeKind::DirectoryRecord => {
                let entry: crate::directory::DirectoryEntry =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                if !matches!(self.tlp, Tlp::Clear | Tlp::Green) {
                    return Err(invalid(
                        "directory entries travel as TLP:CLEAR or TLP:GREEN".into(),
                    ));
                }
                if *audience != Audience::Network {
                    return Err(invalid(
                        "directory entries are addressed to the whole network".into(),
                    ));
                }
                Ok(Payload::Directory(Box::new(entry)))
            }
            EnvelopeKind::CensusRound => {
                if *audience != Audience::Network {
                    return Err(invalid(
                        "a census round is addressed to the whole network".into(),
                    ));
                }
                Ok(Payload::CensusRound(body.clone()))
            }
            EnvelopeKind::CensusResponse => {
                if !matches!(audience, Audience::Nodes { .. }) {
                    return Err(invalid(
                        "a census response is addressed to the coordinator".into(),
                    ));
                }
                Ok(Payload::CensusResponse(body.clone()))
            }
            EnvelopeKind::IncidentReport => {
                let r: crate::report::IncidentReport =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                let one_node = matches!(audience, Audience::Nodes { nodes } if nodes.len() == 1);
                if self.tlp != Tlp::AmberStrict || !one_node {
                    return Err(invalid(
                        "an incident report travels as TLP:AMBER+STRICT to one node".into(),
                    ));
                }
                if r.id != self.id || r.via != self.origin {
                    return Err(invalid(
                        "a report is its envelope's id, from the node whose portal took it".into(),
                    ));
                }
                let problems = r.check();
                if !problems.is_empty() {
                    return Err(invalid(
                        problems
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                    ));
                }
                Ok(Payload::IncidentReport(Box::new(r)))
            }
            EnvelopeKind::AuditCheckpoint => {
                let c: AuditCheckpoint =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                if c.seq < 1 || !is_sha256_hex(&c.hash) {
                    return Err(invalid(
                        "a checkpoint names an entry (seq >= 1) and its SHA-256".into(),
                    ));
                }
                if c.root.as_deref().is_some_and(|r| !is_sha256_hex(r))
                    || c.root.is_some() != c.time.is_some()
                {
                    return Err(invalid(
                        "a tree head has a root (SHA-256, hex) and a time".into(),
                    ));
                }
                if let Some(link) = &c.extends {
                    if c.root.is_none() || link.seq < 1 || link.seq > c.seq {
                        return Err(invalid(
                            "a consistency proof links an earlier tree head (1 <= seq <= this one)"
                                .into(),
                        ));
                    }
                    if !is_sha256_hex(&link.root)
                        || link.proof.len() > crate::merkle::MAX_PROOF_LEN
                        || !link.proof.iter().all(|h| is_sha256_hex(h))
                    {
                        return Err(invalid(
                            "a consistency proof is at most 65 SHA-256 hashes (hex)".into(),
                        ));
                    }
                }
                Ok(Payload::AuditCheckpoint(c))
            }
            EnvelopeKind::AuditInconsistency => {
                let r: AuditInconsistency =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                let known = ["audit_fork", "audit_not_extension", "audit_truncated"];
                if !known.contains(&r.code.as_str())
                    || r.detail.chars().count() > 2000
                    || r.held.len() > 64 * 1024
                    || r.refused.len() > 64 * 1024
                {
                    return Err(invalid(
                        "a report names a known inconsistency and carries two checkpoints".into(),
                    ));
                }
                if r.node == self.origin {
                    return Err(invalid("a node does not report itself".into()));
                }
                if self.audience != Some(Audience::Network) {
                    return Err(invalid(
                        "an inconsistency report is addressed to the whole network".into(),
                    ));
                }
                Ok(Payload::AuditInconsistency(Box::new(r)))
            }
            EnvelopeKind::Roster => {
                let roster: Roster =
                    serde_json::from_value(body.clone()).map_err(|e| invalid(e.to_string()))?;
                roster.validate().map_err(|e| invalid(e.to_string()))?;
                if roster.coordinator != self.origin {
                    return Err(invalid("a roster must come from its coordinator".into()));
                }
                Ok(Payload::Roster(Box::new(roster)))
            }
        }
    }

    /// The envelope as a JSON object (what gets signed, once `sig` is absent).
    pub fn to_object(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_content_labels_are_checked() {
        let content = |tlp_people: &[&str], audience: Value| SealedContent {
            audience: serde_json::from_value(audience).unwrap(),
            people: tlp_people.iter().map(|p| (*p).to_owned()).collect(),
            embargo_until: None,
            refs: Vec::new(),
            body: Value::Null,
        };
        let nodes = serde_json::json!({"scope": "nodes", "nodes": ["ar-csirt", "mx-csirt"]});
        assert!(
            content(&["duty@ar-csirt"], nodes.clone())
                .check(Tlp::Red)
                .is_ok()
        );
        assert!(content(&[], nodes.clone()).check(Tlp::AmberStrict).is_ok());
        for (people, audience, tlp) in [
            (&[][..], nodes.clone(), Tlp::Red),
            (&["duty@ar-csirt"][..], nodes.clone(), Tlp::AmberStrict),
            (&["duty@cl-csirt"][..], nodes.clone(), Tlp::Red),
            (&["ar-csirt"][..], nodes.clone(), Tlp::Red),
            (&["@ar-csirt"][..], nodes.clone(), Tlp::Red),
            (
                &["duty@ar-csirt"][..],
                serde_json::json!({"scope": "network"}),
                Tlp::Red,
            ),
            (
                &[][..],
                serde_json::json!({"scope": "nodes", "nodes": []}),
                Tlp::AmberStrict,
            ),
        ] {
            let c = content(people, audience.clone());
            assert!(c.check(tlp).is_err(), "{people:?} {audience} {tlp}");
        }
    }

    fn sample() -> Value {
        serde_json::json!({
            "v": 1,
            "id": "01936b2e-0000-7000-8000-000000000001",
            "kind": "bulletin",
            "origin": "cl-csirt",
            "created": "2026-11-22T10:00:00.000Z",
            "tlp": "GREEN",
            "audience": {"scope": "network"},
            "embargo_until": null,
            "refs": [],
            "body": {
                "kind": "attack-warning",
                "title": "Ransomware campaign against municipal networks",
                "summary": "Active exploitation observed.",
                "body": "Details in **Markdown**.",
                "severity": "high"
            },
            "sig": {"alg": "ed25519", "key": "cl-csirt#00", "value": "AA=="}
        })
    }

    fn parse(v: &Value) -> Result<ParsedEnvelope, EnvelopeError> {
        Envelope::parse(serde_json::to_string(v).unwrap().as_bytes())
    }

    #[test]
    fn checkpoints_old_and_new_parse_and_malformed_tree_heads_are_refused() {
        let with_body = |body: Value| {
            let mut v = sample();
            v["kind"] = "audit-checkpoint".into();
            v["body"] = body;
            parse(&v)
        };
        let h = "ab".repeat(32);
        // From before the transparency log: still an envelope, with no tree head.
        match with_body(serde_json::json!({"seq": 3, "hash": h}))
            .unwrap()
            .payload
        {
            Payload::AuditCheckpoint(c) => assert_eq!(c.root, None),
            other => panic!("{other:?}"),
        }
        let good = serde_json::json!({"seq": 8, "hash": h, "root": h, "time": "2026-11-22T10:00:00.000Z",
            "extends": {"seq": 4, "root": h, "proof": [h, h]}});
        with_body(good.clone()).unwrap();
        for (field, value) in [
            ("root", Value::from("xyz")),
            ("time", Value::Null),
            (
                "extends",
                serde_json::json!({"seq": 9, "root": h, "proof": []}),
            ),
            (
                "extends",
                serde_json::json!({"seq": 0, "root": h, "proof": []}),
            ),
            (
                "extends",
                serde_json::json!({"seq": 4, "root": h, "proof": ["beef"]}),
            ),
            (
                "extends",
                serde_json::json!({"seq": 4, "root": h, "proof": vec![h.clone(); 66]}),
            ),
            ("size", Value::from(8)),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            let e = with_body(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_body", "{field}");
        }
    }

    #[test]
    fn an_inconsistency_report_names_another_node_to_the_whole_network() {
        let report = |node: &str, code: &str| {
            let mut v = sample();
            v["kind"] = "audit-inconsistency".into();
            v["body"] = serde_json::json!({"node": node, "code": code, "detail": "d",
                "held": "{}", "refused": "{}"});
            parse(&v)
        };
        assert!(matches!(
            report("mx-csirt", "audit_fork").unwrap().payload,
            Payload::AuditInconsistency(_)
        ));
        assert_eq!(
            report("cl-csirt", "audit_fork").unwrap_err().code(),
            "invalid_body"
        );
        assert_eq!(
            report("mx-csirt", "looks_odd").unwrap_err().code(),
            "invalid_body"
        );
    }

    #[test]
    fn parses_a_bulletin() {
        let p = parse(&sample()).unwrap();
        assert_eq!(p.envelope.kind, EnvelopeKind::Bulletin);
        assert!(matches!(p.payload, Payload::Bulletin(_)));
    }

    #[test]
    fn refusals_have_codes() {
        let code = |v: Value| parse(&v).unwrap_err().code();
        let mut v = sample();
        v["v"] = 2.into();
        assert_eq!(code(v), "unsupported_version");
        let mut v = sample();
        v["kind"] = "telegram".into();
        assert_eq!(code(v), "unknown_kind");
        let mut v = sample();
        v["extra"] = 1.into();
        assert_eq!(code(v), "malformed_envelope");
        let mut v = sample();
        v["body"]["severity"] = "apocalyptic".into();
        assert_eq!(code(v), "invalid_body");
        let mut v = sample();
        v["audience"] = serde_json::json!({"scope": "nodes", "nodes": []});
        assert_eq!(code(v), "malformed_envelope");
        let mut v = sample();
        v["created"] = "2026-11-22T10:00:00-03:00".into();
        assert_eq!(code(v), "malformed_envelope");
        let mut v = sample();
        v["tlp"] = "RED".into();
        assert_eq!(code(v), "must_be_sealed");
        let mut v = sample();
        v["tlp"] = "AMBER+STRICT".into();
        v["sealed"] =
            serde_json::json!({"alg": "age-x25519", "to": ["cl-csirt"], "ciphertext": "AA=="});
        v.as_object_mut().unwrap().remove("body");
        assert!(parse(&v).is_ok());
        v["sealed"]["alg"] = "rot13".into();
        assert_eq!(code(v.clone()), "malformed_envelope");
        v["sealed"]["alg"] = "age-x25519".into();
        v["tlp"] = "GREEN".into();
        assert_eq!(code(v), "malformed_envelope", "GREEN is not sealed");

        // The form with the recipients inside: nothing of the audience, people, embargo or
        // refs in clear.
        let mut v = sample();
        v["tlp"] = "RED".into();
        let object = v.as_object_mut().unwrap();
        object.remove("body");
        object.remove("audience");
        v["sealed"] = serde_json::json!({"alg": "age-x25519", "ciphertext": "AA=="});
        let p = parse(&v).unwrap();
        assert!(matches!(
            p.payload,
            Payload::Sealed(Sealed { to: None, .. })
        ));
        assert_eq!(p.envelope.audience, None);
        let text = serde_json::to_string(&p.envelope.to_object()).unwrap();
        assert!(
            !text.contains("audience") && !text.contains("\"to\""),
            "{text}"
        );
        for (field, value) in [
            (
                "audience",
                serde_json::json!({"scope": "nodes", "nodes": ["mx-csirt"]}),
            ),
            ("people", serde_json::json!(["duty@mx-csirt"])),
            (
                "embargo_until",
                serde_json::json!("2026-12-01T00:00:00.000Z"),
            ),
            (
                "refs",
                serde_json::json!(["01936b2e-0000-7000-8000-000000000002"]),
            ),
        ] {
            let mut w = v.clone();
            w[field] = value;
            assert_eq!(code(w), "malformed_envelope", "{field} in clear");
        }
        let mut w = v.clone();
        w["sealed"]["to"] = serde_json::json!(["mx-csirt"]);
        assert_eq!(
            code(w),
            "malformed_envelope",
            "the earlier form has its audience in clear"
        );
        // A clear envelope still needs its audience.
        let mut w = sample();
        w.as_object_mut().unwrap().remove("audience");
        assert_eq!(code(w), "malformed_envelope");
        assert_eq!(Envelope::parse(b"[1]").unwrap_err().code(), "not_an_object");
        assert_eq!(Envelope::parse(b"{").unwrap_err().code(), "malformed_json");
        assert_eq!(
            Envelope::parse(b"{\"v\":\"\xff\"}").unwrap_err().code(),
            "invalid_utf8"
        );
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(
            Envelope::parse(deep.as_bytes()).unwrap_err().code(),
            "too_deep"
        );
        let big = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        assert_eq!(Envelope::parse(&big).unwrap_err().code(), "too_large");
    }

    fn check_envelope() -> Value {
        serde_json::json!({
            "v": 1,
            "id": "01936b2e-0000-7000-8000-0000000000c1",
            "kind": "comm-check",
            "origin": "coordinator",
            "created": "2026-11-22T10:00:00.000Z",
            "tlp": "CLEAR",
            "audience": {"scope": "nodes", "nodes": ["cl-csirt", "mx-csirt"]},
            "embargo_until": null,
            "refs": [],
            "body": {
                "id": "01936b2e-0000-7000-8000-0000000000c1",
                "started_at": "2026-11-22T10:00:00.000Z",
                "answer_by": "2026-11-22T11:00:00.000Z",
                "message": "Monthly communication check"
            }
        })
    }

    #[test]
    fn checks_answers_and_renotifies_are_checked_against_their_kind() {
        let p = parse(&check_envelope()).unwrap();
        assert!(matches!(p.payload, Payload::CommCheck(ref c) if c.message.is_some()));
        let code = |v: Value| parse(&v).unwrap_err().code();
        let mut v = check_envelope();
        v["body"]["id"] = "01936b2e-0000-7000-8000-0000000000c2".into();
        assert_eq!(code(v), "invalid_body", "the check id is the envelope id");
        let mut v = check_envelope();
        v["audience"] = serde_json::json!({"scope": "network"});
        assert_eq!(code(v), "invalid_body", "a check names its targets");
        let mut v = check_envelope();
        v["body"]["message"] = "x".repeat(501).into();
        assert_eq!(code(v), "invalid_body");
        let mut v = check_envelope();
        v["body"]["answer_by"] = "2026-11-22T09:00:00.000Z".into();
        assert_eq!(code(v), "invalid_body");

        let answer = serde_json::json!({
            "v": 1, "id": "01936b2e-0000-7000-8000-0000000000d1", "kind": "comm-check-answer",
            "origin": "mx-csirt", "created": "2026-11-22T10:01:00.000Z", "tlp": "CLEAR",
            "audience": {"scope": "nodes", "nodes": ["coordinator"]}, "embargo_until": null,
            "refs": ["01936b2e-0000-7000-8000-0000000000c1"],
            "body": {"check": "01936b2e-0000-7000-8000-0000000000c1", "answered_by": "ana",
                     "answered_at": "2026-11-22T10:01:00.000Z", "note": "all good"}
        });
        assert!(matches!(
            parse(&answer).unwrap().payload,
            Payload::CommCheckAnswer(_)
        ));
        let mut v = answer.clone();
        v["refs"] = serde_json::json!([]);
        assert_eq!(code(v), "invalid_body", "the check must be in refs");
        let mut v = answer.clone();
        v["body"]["answered_by"] = "".into();
        assert_eq!(code(v), "invalid_body");
        let mut v = answer;
        v["body"]["note"] = "n".repeat(501).into();
        assert_eq!(code(v), "invalid_body");

        let renotify = serde_json::json!({
            "v": 1, "id": "01936b2e-0000-7000-8000-0000000000e1", "kind": "renotify",
            "origin": "cl-csirt", "created": "2026-11-22T10:01:00.000Z", "tlp": "GREEN",
            "audience": {"scope": "nodes", "nodes": ["mx-csirt"]}, "embargo_until": null,
            "refs": ["01936b2e-0000-7000-8000-000000000001"],
            "body": {"bulletin": "01936b2e-0000-7000-8000-000000000001", "by": "ana",
                     "at": "2026-11-22T10:01:00.000Z"}
        });
        assert!(matches!(
            parse(&renotify).unwrap().payload,
            Payload::Renotify(_)
        ));
        let mut v = renotify.clone();
        v["refs"] = serde_json::json!([]);
        assert_eq!(code(v), "invalid_body");
        let mut v = renotify;
        v["body"]["extra"] = 1.into();
        assert_eq!(code(v), "invalid_body");
        for kind in [
            EnvelopeKind::CommCheck,
            EnvelopeKind::CommCheckAnswer,
            EnvelopeKind::Renotify,
        ] {
            assert_eq!(EnvelopeKind::parse(kind.as_str()), Some(kind));
        }
    }
}
