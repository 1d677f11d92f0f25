//! Bulletins: warnings of attacks, vulnerability advisories, suspicious-activity alerts,
//! mitigation advice. A revision is a new bulletin that `supersedes` the old one.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::envelope::PROTOCOL_VERSION;
use crate::{Audience, CountryCode, Envelope, EnvelopeKind, NodeId, Timestamp, Tlp};

/// Limits on a bulletin's fields.
pub mod limits {
    /// Longest title, in characters.
    pub const TITLE_CHARS: usize = 200;
    /// Longest summary, in characters.
    pub const SUMMARY_CHARS: usize = 4_000;
    /// Largest Markdown body, in bytes.
    pub const BODY_BYTES: usize = 256 * 1024;
    /// Most indicators in one bulletin.
    pub const INDICATORS: usize = 5_000;
    /// Most references.
    pub const REFERENCES: usize = 100;
    /// Most sectors or countries.
    pub const LABELS: usize = 64;
    /// Largest content as JSON (with any CSAF or STIX document it carries): what fits in one
    /// envelope (`MAX_ENVELOPE_BYTES`, 1 MiB) with room for the labels and signature. A larger
    /// bulletin would be stored here and refused by every peer.
    pub const CONTENT_BYTES: usize = crate::envelope::MAX_ENVELOPE_BYTES - 32 * 1024;
}

/// What kind of warning a bulletin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BulletinKind {
    /// An attack in progress.
    AttackWarning,
    /// A vulnerability and its fix or workaround.
    VulnerabilityAdvisory,
    /// Activity that may be an attack.
    SuspiciousActivity,
    /// Advice on how to mitigate.
    Mitigation,
    /// For information.
    Informational,
}

impl BulletinKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BulletinKind::AttackWarning => "attack-warning",
            BulletinKind::VulnerabilityAdvisory => "vulnerability-advisory",
            BulletinKind::SuspiciousActivity => "suspicious-activity",
            BulletinKind::Mitigation => "mitigation",
            BulletinKind::Informational => "informational",
        }
    }
}

/// How serious it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// The type of an observable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndicatorType {
    /// An IPv4 or IPv6 address.
    Ip,
    /// An IP prefix.
    Cidr,
    /// A domain name.
    Domain,
    /// A URL.
    Url,
    /// An e-mail address.
    Email,
    /// A file hash (MD5, SHA-1 or SHA-256, hex).
    Hash,
    /// An autonomous system number.
    Asn,
    /// A CVE id.
    Cve,
}

/// A typed observable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// The observable's type.
    #[serde(rename = "type")]
    pub kind: IndicatorType,
    /// The observable.
    pub value: String,
    /// First seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    /// Last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Indicator {
    /// Whether the value is well formed for its type (the same test a bulletin applies to
    /// each of its indicators), so importers can set aside what a bulletin would refuse.
    pub fn validate(&self) -> Result<(), String> {
        self.check()
    }

    fn check(&self) -> Result<(), String> {
        let v = self.value.as_str();
        let ok = match self.kind {
            IndicatorType::Ip => v.parse::<std::net::IpAddr>().is_ok(),
            IndicatorType::Cidr => v.split_once('/').is_some_and(|(ip, len)| {
                let max = match ip.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(_)) => 32,
                    Ok(std::net::IpAddr::V6(_)) => 128,
                    Err(_) => return false,
                };
                len.parse::<u8>().is_ok_and(|l| l <= max)
            }),
            IndicatorType::Domain => {
                !v.is_empty()
                    && v.len() <= 253
                    && v.contains('.')
                    && v.split('.').all(|l| {
                        !l.is_empty()
                            && l.len() <= 63
                            && l.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    })
            }
            IndicatorType::Url => {
                (v.starts_with("http://") || v.starts_with("https://") || v.starts_with("ftp://"))
                    && v.len() <= 4096
                    && !v.chars().any(char::is_whitespace)
            }
            IndicatorType::Email => v
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !v.contains(' ')),
            IndicatorType::Hash => {
                matches!(v.len(), 32 | 40 | 64) && v.bytes().all(|b| b.is_ascii_hexdigit())
            }
            IndicatorType::Asn => v.strip_prefix("AS").unwrap_or(v).parse::<u32>().is_ok(),
            IndicatorType::Cve => v.strip_prefix("CVE-").is_some_and(|rest| {
                rest.split_once('-').is_some_and(|(y, n)| {
                    y.len() == 4
                        && y.bytes().all(|b| b.is_ascii_digit())
                        && n.len() >= 4
                        && n.bytes().all(|b| b.is_ascii_digit())
                })
            }),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("indicator {v:?} is not a valid {:?}", self.kind))
        }
    }
}

/// A structured document carried with a bulletin, unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", content = "document", rename_all = "kebab-case")]
pub enum StructuredPayload {
    /// A CSAF 2.0 document.
    Csaf(Value),
    /// A STIX 2.1 bundle.
    Stix(Value),
}

/// What a bulletin says: the part of it that travels as the envelope body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinContent {
    /// What kind of warning.
    pub kind: BulletinKind,
    /// One line.
    pub title: String,
    /// A paragraph.
    pub summary: String,
    /// The full text, Markdown.
    #[serde(default)]
    pub body: String,
    /// How serious.
    pub severity: Severity,
    /// RSIT classification, `class/type` machine keys (e.g. `malicious-code/ransomware`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsit: Option<String>,
    /// Affected sectors (keys of the sectors vocabulary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<String>,
    /// Affected countries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<CountryCode>,
    /// Observables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<Indicator>,
    /// Links (http/https).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// A CSAF document or STIX bundle carried unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<StructuredPayload>,
    /// The bulletin this one revises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Uuid>,
    /// Recipients should acknowledge before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_required_by: Option<Timestamp>,
}

/// Why a bulletin is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BulletinError {
    /// A field is out of bounds or malformed.
    #[error("{field}: {reason}")]
    Field {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn field(field: &'static str, reason: impl Into<String>) -> BulletinError {
    BulletinError::Field {
        field,
        reason: reason.into(),
    }
}

impl BulletinContent {
    /// Check every field's bounds; `created` is when the bulletin was (or is being) created.
    pub fn validate(&self, created: Timestamp) -> Result<(), BulletinError> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err(field("title", "must not be empty"));
        }
        if self.title.chars().count() > limits::TITLE_CHARS {
            return Err(field(
                "title",
                format!("longer than {} characters", limits::TITLE_CHARS),
            ));
        }
        if self.title.chars().any(char::is_control) {
            return Err(field("title", "must be one line of text"));
        }
        if self.summary.trim().is_empty() {
            return Err(field("summary", "must not be empty"));
        }
        if self.summary.chars().count() > limits::SUMMARY_CHARS {
            return Err(field(
                "summary",
                format!("longer than {} characters", limits::SUMMARY_CHARS),
            ));
        }
        if self.body.len() > limits::BODY_BYTES {
            return Err(field(
                "body",
                format!("larger than {} bytes", limits::BODY_BYTES),
            ));
        }
        if self.indicators.len() > limits::INDICATORS {
            return Err(field(
                "indicators",
                format!("more than {}", limits::INDICATORS),
            ));
        }
        for i in &self.indicators {
            i.check().map_err(|e| field("indicators", e))?;
        }
        if self.references.len() > limits::REFERENCES {
            return Err(field(
                "references",
                format!("more than {}", limits::REFERENCES),
            ));
        }
        for r in &self.references {
            if !(r.starts_with("https://") || r.starts_with("http://")) || r.len() > 2048 {
                return Err(field("references", format!("{r:?} is not an http(s) URL")));
            }
        }
        if self.sectors.len() > limits::LABELS || self.countries.len() > limits::LABELS {
            return Err(field(
                "sectors",
                format!("more than {} labels", limits::LABELS),
            ));
        }
        if let Some(rsit) = &self.rsit {
            let ok = rsit.split_once('/').is_some_and(|(c, t)| {
                [c, t].iter().all(|p| {
                    !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                })
            });
            if !ok {
                return Err(field(
                    "rsit",
                    "use the taxonomy's machine keys as class/type",
                ));
            }
        }
        if let Some(deadline) = self.ack_required_by
            && deadline <= created
        {
            return Err(field(
                "ack_required_by",
                "must be after the bulletin's creation",
            ));
        }
        let size = serde_json::to_vec(self).map_or(usize::MAX, |v| v.len());
        if size > limits::CONTENT_BYTES {
            return Err(field(
                "content",
                format!(
                    "{size} bytes as JSON; a bulletin (with the document it carries) must fit in {} bytes to travel",
                    limits::CONTENT_BYTES
                ),
            ));
        }
        Ok(())
    }
}

/// What an officer submits: content plus labels. The node adds id, origin and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinDraft {
    /// Sharing label.
    pub tlp: Tlp,
    /// Recipients; the whole network when absent.
    #[serde(default = "network")]
    pub audience: Audience,
    /// Not public before.
    #[serde(default)]
    pub embargo_until: Option<Timestamp>,
    /// TLP:RED only: the people (`user@node`) it is for.
    #[serde(default)]
    pub people: Vec<String>,
    /// Organisations of the origin's country to notify (never for AMBER+STRICT or RED).
    #[serde(default)]
    pub constituents: Vec<String>,
    /// The content.
    #[serde(flatten)]
    pub content: BulletinContent,
}

fn network() -> Audience {
    Audience::Network
}

/// A warning, as a node holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bulletin {
    /// Same as its envelope's id.
    pub id: Uuid,
    /// The node that issued it.
    pub origin: NodeId,
    /// When it was issued.
    pub created: Timestamp,
    /// Sharing label.
    pub tlp: Tlp,
    /// Recipients.
    pub audience: Audience,
    /// Not public before.
    pub embargo_until: Option<Timestamp>,
    /// TLP:RED only: the people (`user@node`) it is for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    /// At the origin only (never sent): organisations of its country to notify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constituents: Vec<String>,
    /// The content.
    #[serde(flatten)]
    pub content: BulletinContent,
}

impl Bulletin {
    /// Create a bulletin at `origin` from a draft; checks every field.
    pub fn new(
        draft: BulletinDraft,
        id: Uuid,
        origin: NodeId,
        created: Timestamp,
    ) -> Result<Self, BulletinError> {
        draft.content.validate(created)?;
        if draft.audience.is_empty() {
            return Err(field("audience", "names no recipient"));
        }
        Ok(Self {
            id,
            origin,
            created,
            tlp: draft.tlp,
            audience: draft.audience,
            embargo_until: draft.embargo_until,
            people: draft.people,
            constituents: draft.constituents,
            content: draft.content,
        })
    }

    /// Rebuild a bulletin from its envelope and checked content.
    pub fn from_envelope(env: &Envelope, content: BulletinContent) -> Self {
        Self {
            id: env.id,
            origin: env.origin.clone(),
            created: env.created,
            tlp: env.tlp,
            // An envelope whose labels were never known addresses no one.
            audience: env
                .audience
                .clone()
                .unwrap_or(Audience::Nodes { nodes: Vec::new() }),
            embargo_until: env.embargo_until,
            people: env.people.clone(),
            constituents: Vec::new(),
            content,
        }
    }

    /// The unsigned envelope that carries this bulletin.
    pub fn to_envelope(&self) -> Envelope {
        Envelope {
            v: PROTOCOL_VERSION,
            id: self.id,
            kind: EnvelopeKind::Bulletin,
            origin: self.origin.clone(),
            created: self.created,
            tlp: self.tlp,
            audience: Some(self.audience.clone()),
            embargo_until: self.embargo_until,
            refs: self.content.supersedes.into_iter().collect(),
            people: self.people.clone(),
            body: serde_json::to_value(&self.content).ok(),
            sealed: None,
            sig: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> BulletinDraft {
        serde_json::from_value(serde_json::json!({
            "tlp": "AMBER",
            "kind": "vulnerability-advisory",
            "title": "Critical flaw in VPN appliances",
            "summary": "Patch now.",
            "severity": "critical",
            "indicators": [{"type": "cve", "value": "CVE-2026-12345"}, {"type": "ip", "value": "192.0.2.7"}],
            "references": ["https://example.org/advisory"]
        }))
        .unwrap()
    }

    #[test]
    fn round_trips_through_an_envelope() {
        let t = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let b = Bulletin::new(draft(), Uuid::nil(), NodeId::new("cl-csirt").unwrap(), t).unwrap();
        assert_eq!(b.audience, Audience::Network);
        let env = b.to_envelope();
        let content: BulletinContent = serde_json::from_value(env.body.clone().unwrap()).unwrap();
        assert_eq!(Bulletin::from_envelope(&env, content), b);
    }

    #[test]
    fn refuses_bad_fields() {
        let t = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let id = NodeId::new("cl-csirt").unwrap();
        type Mutation = Box<dyn Fn(&mut BulletinDraft)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("title", Box::new(|d| d.content.title = " ".into())),
            ("title", Box::new(|d| d.content.title = "x".repeat(201))),
            ("summary", Box::new(|d| d.content.summary = String::new())),
            (
                "indicators",
                Box::new(|d| d.content.indicators[1].value = "300.1.1.1".into()),
            ),
            (
                "references",
                Box::new(|d| d.content.references = vec!["javascript:alert(1)".into()]),
            ),
            (
                "rsit",
                Box::new(|d| d.content.rsit = Some("Malware".into())),
            ),
            (
                "ack_required_by",
                Box::new(move |d| d.content.ack_required_by = Some(t)),
            ),
            (
                "content",
                Box::new(|d| {
                    d.content.payload = Some(StructuredPayload::Csaf(serde_json::json!({
                        "document": {"notes": [{"text": "x".repeat(limits::CONTENT_BYTES)}]}
                    })))
                }),
            ),
        ];
        for (f, mutate) in cases {
            let mut d = draft();
            mutate(&mut d);
            match Bulletin::new(d, Uuid::nil(), id.clone(), t) {
                Err(BulletinError::Field { field, .. }) => assert_eq!(field, f),
                other => panic!("{f}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<BulletinDraft, _> = serde_json::from_value(serde_json::json!({
            "tlp": "GREEN", "kind": "informational", "title": "t", "summary": "s",
            "severity": "low", "colour": "blue"
        }));
        assert!(r.is_err());
    }
}
