//! Bulletins as STIX 2.1 objects and bundles.
//!
//! A bulletin becomes:
//! - a `report` (name, description, `published`, `report_types` from its kind, labels, and
//!   `object_refs` to everything below);
//! - the `identity` of the node that issued it (one id per node, whatever the bulletin);
//! - one `indicator` per observable, with a STIX pattern (`pattern_type: "stix"`);
//! - one `vulnerability` per CVE, with an external reference `source_name: "cve"`;
//! - the TLP 2.0 `marking-definition` objects used.
//!
//! Every object except the marking definitions carries `created_by_ref` (the node's identity)
//! and `object_marking_refs`: the bulletin's TLP, except on the node's identity, which is the
//! team's public name and is marked TLP:CLEAR so that the same id and version is the same object
//! in every bundle. Ids are derived from the bulletin's id and the object's position (a SHA-1
//! name-based UUID, laid out as version 4 since STIX 2.1 §2.9 asks for v4 ids on every object
//! but cyber-observables), so exporting a bulletin again yields the same objects; `created` and `modified` are the bulletin's
//! creation time (a revision is a new bulletin, with its own objects).

use atalaya_core::bulletin::IndicatorType;
use atalaya_core::{Bulletin, BulletinKind, Indicator, NodeId, Tlp};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::markings::{tlp2_id, tlp2_marking};

/// The UUIDv5 namespace of the ids Atalaya mints for objects that belong to no bulletin (a
/// node's identity, bundles).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_4a3e_9b1f_5c27_8e6a_2f41_b7d9_0c13);

/// `created` and `modified` of a node's identity: it is derived from the node id alone, so it
/// has one version.
pub const IDENTITY_CREATED: &str = "2020-01-01T00:00:00.000Z";

/// The media type of a STIX 2.1 document.
pub const MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// A deterministic id: the SHA-1 name-based UUID (RFC 9562 v5) of `name` under `namespace`,
/// with the version and variant bits of a v4 UUID. Its bits are a hash, as unpredictable as a
/// random v4's, and the same name always gives the same id.
pub fn stix_uuid(namespace: &Uuid, name: &[u8]) -> Uuid {
    uuid::Builder::from_random_bytes(Uuid::new_v5(namespace, name).into_bytes()).into_uuid()
}

/// The STIX id of the identity of node `node`.
pub fn identity_id(node: &NodeId) -> String {
    format!(
        "identity--{}",
        stix_uuid(&NAMESPACE, format!("identity:{node}").as_bytes())
    )
}

/// The STIX id of a bulletin's report.
pub fn report_id(b: &Bulletin) -> String {
    format!("report--{}", stix_uuid(&b.id, b"report"))
}

/// The identity object of a node (an organisation: its national CSIRT).
pub fn identity(node: &NodeId) -> Value {
    let id = identity_id(node);
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": id,
        "created": IDENTITY_CREATED,
        "modified": IDENTITY_CREATED,
        "name": node.as_str(),
        "identity_class": "organization",
        "created_by_ref": id,
        "object_marking_refs": [tlp2_id(Tlp::Clear)],
    })
}

/// A string as a STIX pattern string literal: single-quoted, with `\` and `'` escaped.
pub fn pattern_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The STIX pattern that matches an observable, or `None` for a CVE (which is a vulnerability,
/// not an observable) or a value that does not parse as its type.
pub fn pattern(kind: IndicatorType, value: &str) -> Option<String> {
    let lit = pattern_literal;
    Some(match kind {
        IndicatorType::Ip | IndicatorType::Cidr => {
            let addr = value.split('/').next().unwrap_or(value);
            let family = match addr.parse::<std::net::IpAddr>().ok()? {
                std::net::IpAddr::V4(_) => "ipv4-addr",
                std::net::IpAddr::V6(_) => "ipv6-addr",
            };
            format!("[{family}:value = {}]", lit(value))
        }
        IndicatorType::Domain => format!("[domain-name:value = {}]", lit(value)),
        IndicatorType::Url => format!("[url:value = {}]", lit(value)),
        IndicatorType::Email => format!("[email-addr:value = {}]", lit(value)),
        IndicatorType::Hash => {
            let algorithm = match value.len() {
                32 => "MD5",
                40 => "SHA-1",
                64 => "SHA-256",
                _ => return None,
            };
            format!(
                "[file:hashes.'{algorithm}' = {}]",
                lit(&value.to_ascii_lowercase())
            )
        }
        IndicatorType::Asn => {
            let n: u32 = value.strip_prefix("AS").unwrap_or(value).parse().ok()?;
            format!("[autonomous-system:number = {n}]")
        }
        IndicatorType::Cve => return None,
    })
}

fn report_types(kind: BulletinKind) -> &'static [&'static str] {
    match kind {
        BulletinKind::VulnerabilityAdvisory => &["vulnerability"],
        BulletinKind::AttackWarning
        | BulletinKind::SuspiciousActivity
        | BulletinKind::Mitigation
        | BulletinKind::Informational => &["threat-report"],
    }
}

fn indicator_types(kind: BulletinKind) -> &'static [&'static str] {
    match kind {
        BulletinKind::SuspiciousActivity => &["anomalous-activity"],
        _ => &["malicious-activity"],
    }
}

fn observable_name(kind: IndicatorType) -> &'static str {
    match kind {
        IndicatorType::Ip => "IP address",
        IndicatorType::Cidr => "IP prefix",
        IndicatorType::Domain => "Domain name",
        IndicatorType::Url => "URL",
        IndicatorType::Email => "E-mail address",
        IndicatorType::Hash => "File hash",
        IndicatorType::Asn => "Autonomous system",
        IndicatorType::Cve => "Vulnerability",
    }
}

fn severity_name(b: &Bulletin) -> &'static str {
    match b.content.severity {
        atalaya_core::Severity::Info => "info",
        atalaya_core::Severity::Low => "low",
        atalaya_core::Severity::Medium => "medium",
        atalaya_core::Severity::High => "high",
        atalaya_core::Severity::Critical => "critical",
    }
}

/// The properties every object of a bulletin shares.
fn common(b: &Bulletin, kind: &str, id: String, by: &str) -> Map<String, Value> {
    let created = b.created.to_string();
    let mut o = Map::new();
    o.insert("type".into(), json!(kind));
    o.insert("spec_version".into(), json!("2.1"));
    o.insert("id".into(), json!(id));
    o.insert("created".into(), json!(created));
    o.insert("modified".into(), json!(created));
    o.insert("created_by_ref".into(), json!(by));
    o.insert("object_marking_refs".into(), json!([tlp2_id(b.tlp)]));
    o
}

fn indicator(b: &Bulletin, index: usize, i: &Indicator, by: &str) -> Option<Value> {
    let id = format!(
        "indicator--{}",
        stix_uuid(&b.id, format!("indicator/{index}").as_bytes())
    );
    let pattern = pattern(i.kind, &i.value)?;
    let mut o = common(b, "indicator", id, by);
    o.insert("name".into(), json!(i.value));
    let mut description = format!("{} in: {}", observable_name(i.kind), b.content.title);
    if let Some(c) = i.comment.as_deref().filter(|c| !c.trim().is_empty()) {
        description = format!("{c}\n\n{description}");
    }
    o.insert("description".into(), json!(description));
    o.insert(
        "indicator_types".into(),
        json!(indicator_types(b.content.kind)),
    );
    o.insert("pattern".into(), json!(pattern));
    o.insert("pattern_type".into(), json!("stix"));
    o.insert("pattern_version".into(), json!("2.1"));
    o.insert(
        "valid_from".into(),
        json!(i.first_seen.unwrap_or(b.created).to_string()),
    );
    Some(Value::Object(o))
}

fn vulnerability(b: &Bulletin, index: usize, i: &Indicator, by: &str) -> Value {
    let id = format!(
        "vulnerability--{}",
        stix_uuid(&b.id, format!("vulnerability/{index}").as_bytes())
    );
    let mut o = common(b, "vulnerability", id, by);
    o.insert("name".into(), json!(i.value));
    if let Some(c) = i.comment.as_deref().filter(|c| !c.trim().is_empty()) {
        o.insert("description".into(), json!(c));
    }
    o.insert(
        "external_references".into(),
        json!([{"source_name": "cve", "external_id": i.value}]),
    );
    Value::Object(o)
}

/// Every STIX object a bulletin becomes, in a stable order: the marking definitions used, the
/// issuing node's identity, the report, then one indicator or vulnerability per observable in
/// the bulletin's order (an observable that has no STIX pattern is left out).
pub fn bulletin_objects(b: &Bulletin) -> Vec<Value> {
    let by = identity_id(&b.origin);
    let mut content = Vec::with_capacity(b.content.indicators.len());
    for (index, i) in b.content.indicators.iter().enumerate() {
        if i.kind == IndicatorType::Cve {
            content.push(vulnerability(b, index, i, &by));
        } else if let Some(o) = indicator(b, index, i, &by) {
            content.push(o);
        }
    }
    let mut refs: Vec<Value> = content.iter().map(|o| o["id"].clone()).collect();
    if refs.is_empty() {
        // A report refers to at least one object: a bulletin without observables is about the
        // team's own statement.
        refs.push(json!(by));
    }
    let mut report = common(b, "report", report_id(b), &by);
    report.insert("name".into(), json!(b.content.title));
    let mut description = b.content.summary.clone();
    if !b.content.body.trim().is_empty() {
        description.push_str("\n\n");
        description.push_str(&b.content.body);
    }
    report.insert("description".into(), json!(description));
    report.insert("published".into(), json!(b.created.to_string()));
    report.insert("report_types".into(), json!(report_types(b.content.kind)));
    let mut labels = vec![
        b.content.kind.as_str().to_owned(),
        format!("severity:{}", severity_name(b)),
    ];
    if let Some(rsit) = &b.content.rsit {
        labels.push(format!("rsit:{rsit}"));
    }
    labels.extend(b.content.sectors.iter().map(|s| format!("sector:{s}")));
    labels.extend(
        b.content
            .countries
            .iter()
            .map(|c| format!("country:{}", c.as_str().to_ascii_lowercase())),
    );
    report.insert("labels".into(), json!(labels));
    let mut references = vec![json!({"source_name": "atalaya", "external_id": b.id.to_string()})];
    references.extend(
        b.content
            .references
            .iter()
            .map(|u| json!({"source_name": "reference", "url": u})),
    );
    report.insert("external_references".into(), Value::Array(references));
    report.insert("object_refs".into(), Value::Array(refs));

    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tlp2_marking(Tlp::Clear));
    if b.tlp != Tlp::Clear {
        out.push(tlp2_marking(b.tlp));
    }
    out.push(identity(&b.origin));
    out.push(Value::Object(report));
    out.extend(content);
    out
}

/// A STIX 2.1 bundle of `objects`, without repeats of the same id and version (the issuing
/// node's identity and the markings, when several bulletins go in one bundle); its id is
/// derived from the objects' ids and versions, so the same objects make the same bundle.
pub fn bundle(mut objects: Vec<Value>) -> Value {
    let mut seen = std::collections::HashSet::new();
    objects.retain(|o| {
        seen.insert((
            o.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
            version_of(o).unwrap_or("").to_owned(),
        ))
    });
    let mut key = String::new();
    for o in &objects {
        for field in ["id", "modified"] {
            key.push_str(o.get(field).and_then(Value::as_str).unwrap_or(""));
            key.push('\n');
        }
    }
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", stix_uuid(&NAMESPACE, key.as_bytes())),
        "objects": objects,
    })
}

/// The version of a STIX object as TAXII names it: its `modified`, or `created` for objects
/// that are never modified (marking definitions).
pub fn version_of(object: &Value) -> Option<&str> {
    object
        .get("modified")
        .or_else(|| object.get("created"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use atalaya_core::{BulletinDraft, Timestamp};

    fn bulletin(tlp: &str, indicators: Value) -> Bulletin {
        let draft: BulletinDraft = serde_json::from_value(json!({
            "tlp": tlp, "kind": "attack-warning", "title": "Phishing wave", "summary": "Watch out.",
            "severity": "high", "indicators": indicators,
        }))
        .unwrap();
        Bulletin::new(
            draft,
            Uuid::from_u128(7),
            NodeId::new("cl-csirt").unwrap(),
            Timestamp::parse("2026-11-22T12:00:00Z").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn patterns_for_every_observable() {
        let cases = [
            (
                IndicatorType::Ip,
                "192.0.2.7",
                "[ipv4-addr:value = '192.0.2.7']",
            ),
            (
                IndicatorType::Ip,
                "2001:db8::1",
                "[ipv6-addr:value = '2001:db8::1']",
            ),
            (
                IndicatorType::Cidr,
                "10.0.0.0/8",
                "[ipv4-addr:value = '10.0.0.0/8']",
            ),
            (
                IndicatorType::Cidr,
                "2001:db8::/32",
                "[ipv6-addr:value = '2001:db8::/32']",
            ),
            (
                IndicatorType::Domain,
                "evil.example",
                "[domain-name:value = 'evil.example']",
            ),
            (
                IndicatorType::Email,
                "a@evil.example",
                "[email-addr:value = 'a@evil.example']",
            ),
            (
                IndicatorType::Asn,
                "AS64500",
                "[autonomous-system:number = 64500]",
            ),
            (
                IndicatorType::Hash,
                "D41D8CD98F00B204E9800998ECF8427E",
                "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']",
            ),
        ];
        for (k, v, p) in cases {
            assert_eq!(pattern(k, v).unwrap(), p);
        }
        assert_eq!(
            pattern(IndicatorType::Hash, &"a".repeat(40)).unwrap(),
            format!("[file:hashes.'SHA-1' = '{}']", "a".repeat(40))
        );
        assert!(pattern(IndicatorType::Cve, "CVE-2026-1234").is_none());
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(pattern_literal(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(
            pattern(IndicatorType::Url, "http://x.example/?q='1'").unwrap(),
            r"[url:value = 'http://x.example/?q=\'1\'']"
        );
    }

    #[test]
    fn a_bulletin_becomes_marked_objects_with_stable_ids() {
        let b = bulletin(
            "AMBER",
            json!([{"type": "ip", "value": "192.0.2.7"}, {"type": "cve", "value": "CVE-2026-1234"}]),
        );
        let objects = bulletin_objects(&b);
        let types: Vec<&str> = objects
            .iter()
            .map(|o| o["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "marking-definition",
                "marking-definition",
                "identity",
                "report",
                "indicator",
                "vulnerability"
            ]
        );
        let report = &objects[3];
        assert_eq!(report["object_refs"].as_array().unwrap().len(), 2);
        assert_eq!(report["object_marking_refs"], json!([tlp2_id(Tlp::Amber)]));
        assert_eq!(
            objects[5]["external_references"][0],
            json!({"source_name": "cve", "external_id": "CVE-2026-1234"})
        );
        assert_eq!(objects[4]["created_by_ref"], json!(identity_id(&b.origin)));
        // Exporting again yields the same objects, and the same bundle.
        assert_eq!(bulletin_objects(&b), objects);
        assert_eq!(bundle(objects.clone())["id"], bundle(objects)["id"]);
    }

    #[test]
    fn a_bulletin_without_observables_refers_to_its_issuer() {
        let b = bulletin("CLEAR", json!([]));
        let objects = bulletin_objects(&b);
        assert_eq!(objects.len(), 3, "one CLEAR marking, identity, report");
        assert_eq!(objects[2]["object_refs"], json!([identity_id(&b.origin)]));
    }
}
