//! MISP events (the MISP core format, draft-dulaunoy-misp-core-format): events in, bulletins
//! out as events, and a MISP feed (a `manifest.json`, one `<uuid>.json` per event and
//! `hashes.csv`) that a MISP instance can subscribe to.
//!
//! # Import
//! A document is `{"Event": {...}}`, a list of those, `{"response": [...]}` (what the MISP API
//! answers), or a bare event object (what PyMISP writes). Each event becomes a bulletin:
//! - `info` → title (cut to the title limit; the full text stays in the body);
//! - attributes, and the attributes of its objects, → typed indicators: `ip-src`, `ip-dst`
//!   (a prefix becomes a CIDR) and their `|port` forms, `domain`, `hostname`, `domain|ip`,
//!   `hostname|port`, `url`, `email`, `email-src`, `email-dst`, `email-reply-to`, `md5`,
//!   `sha1`, `sha256`, `filename|md5`, `filename|sha1`, `filename|sha256`, `AS`,
//!   `vulnerability` (a CVE id); `link` becomes a reference. The attribute's comment, its
//!   `to_ids` flag, the port and the file name are kept in the indicator's comment. Other
//!   types (and values a bulletin would refuse) are listed in the body and in the warnings;
//!   deleted attributes and proposals (`ShadowAttribute`) are left out;
//! - `threat_level_id` → severity (1 high, 2 medium, 3 low, 4 undefined → info);
//! - `tlp:` tags of the event and of its attributes → the label, the most restrictive
//!   winning (`tlp:white` reads as CLEAR); a `tlp:` tag TLP 2.0 does not have refuses the
//!   document ([`codes::UNKNOWN_LABEL`]); no label → [`ImportOptions::default_tlp`] or
//!   [`codes::NO_LABEL`];
//! - `rsit:` (or `ecsirt:`) machine tags → the RSIT class/type; `atalaya:kind`,
//!   `atalaya:sector` and `atalaya:country` tags (what [`export_event`] writes) → kind,
//!   sectors and countries; other tags, the distribution, the analysis state and the creator
//!   organisation are noted in the body.
//!
//! # Export
//! [`export_event`] writes a bulletin as an event whose uuid is the bulletin's id, with the
//! `tlp:` tag, `rsit:` and `atalaya:` tags (plain tags, no galaxies), one attribute per
//! indicator with its MISP type, category and `to_ids`, `link` attributes for the
//! references, and the summary and body as an event report (Markdown). Attribute uuids are
//! derived from the bulletin id and the attribute, so exporting twice gives the same event.

use atalaya_core::bulletin::{IndicatorType, limits};
use atalaya_core::directory::vocab;
use atalaya_core::{
    Audience, Bulletin, BulletinContent, BulletinDraft, BulletinKind, CountryCode, Indicator,
    Severity, Timestamp, Tlp,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::exchange::{
    ImportError, ImportOptions, ImportProblem, ImportSource, Imported, SourceFormat, codes,
};
use crate::text::{self, Body, Warnings};

/// Most events in one document.
pub const MAX_EVENTS: usize = 1_000;
/// Most attributes (with those of objects) in one document.
pub const MAX_ATTRIBUTES: usize = 200_000;

/// The organisation that creates the exported events (`Orgc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MispOrg {
    /// Its name.
    pub name: String,
    /// Its uuid.
    pub uuid: Uuid,
}

impl MispOrg {
    /// The organisation of a node: its team's name, and a uuid derived from the node id (the
    /// same on every export, so a subscribing MISP sees one organisation).
    pub fn for_node(node_id: &str, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            uuid: derived_uuid(&["atalaya-node", node_id]),
        }
    }
}

/// A uuid (version 8) derived from `parts` by SHA-256.
fn derived_uuid(parts: &[&str]) -> Uuid {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

// ---------------------------------------------------------------------------------------------
// Import

/// Import a MISP document: one bulletin draft per event (more when an event has more
/// indicators than a bulletin holds), or a refusal and nothing.
pub fn import(bytes: &[u8], opts: &ImportOptions) -> Result<Imported, ImportError> {
    if bytes.len() > opts.max_bytes {
        return Err(ImportError::new(
            codes::TOO_LARGE,
            format!(
                "the document is {} bytes; the limit is {} bytes",
                bytes.len(),
                opts.max_bytes
            ),
        ));
    }
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| ImportError::new(codes::MALFORMED, format!("not JSON: {e}")))?;
    let events = events_of(&doc)?;
    if events.is_empty() {
        return Err(ImportError::new(
            codes::NOTHING_TO_IMPORT,
            "the document holds no MISP event",
        ));
    }
    if events.len() > MAX_EVENTS {
        return Err(ImportError::new(
            codes::TOO_LARGE,
            format!(
                "{} events; at most {MAX_EVENTS} are imported at once",
                events.len()
            ),
        ));
    }
    let mut problems = Vec::new();
    for (i, (path, e)) in events.iter().enumerate() {
        match e.get("info") {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => problems.push(ImportProblem {
                path: format!("{path}/info"),
                message: format!("event {i} has no `info` (every MISP event must have one)"),
            }),
        }
        if let Some(a) = e.get("Attribute")
            && !a.is_array()
        {
            problems.push(ImportProblem {
                path: format!("{path}/Attribute"),
                message: "`Attribute` must be an array".into(),
            });
        }
        if let Some(o) = e.get("Object")
            && !o.is_array()
        {
            problems.push(ImportProblem {
                path: format!("{path}/Object"),
                message: "`Object` must be an array".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::with_problems(
            codes::SCHEMA_INVALID,
            format!("not a valid MISP event: {}", problems[0].message),
            problems,
        ));
    }
    let total: usize = events.iter().map(|(_, e)| attributes_of(e).len()).sum();
    if total > MAX_ATTRIBUTES {
        return Err(ImportError::new(
            codes::TOO_LARGE,
            format!("{total} attributes; at most {MAX_ATTRIBUTES} are imported at once"),
        ));
    }
    let mut warnings = Warnings::default();
    let mut bulletins = Vec::new();
    let mut sources = Vec::new();
    for (path, e) in &events {
        let drafts = event(path, e, opts, &mut warnings)?;
        let (key, version) = identity(e);
        for part in 0..drafts.len() {
            sources.push(ImportSource::single(
                SourceFormat::Misp,
                key.clone(),
                version.clone(),
                u32::try_from(part).unwrap_or(u32::MAX),
            ));
        }
        bulletins.extend(drafts);
    }
    Ok(Imported {
        bulletins,
        sources,
        warnings: warnings.finish(),
    })
}

/// What names an event across its versions, and which version it is: its `uuid` and its
/// `timestamp` (MISP moves it at every change of the event or its attributes), else its
/// `publish_timestamp`. An event without a uuid is named by a digest of its content, and one
/// without either timestamp is versioned by that digest: the same content is then the same
/// event, and any change a new one.
fn identity(e: &Map<String, Value>) -> (String, String) {
    let digest = || {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(e).unwrap_or_default());
        let d = h.finalize();
        format!(
            "sha256:{}",
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    };
    let key = field(e, "uuid")
        .map(|u| u.trim().to_ascii_lowercase())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(digest);
    let version = ["timestamp", "publish_timestamp"]
        .iter()
        .filter_map(|k| field(e, k))
        .map(|t| t.trim().to_owned())
        .find(|t| !t.is_empty() && t != "0" && t.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(digest);
    (key, version)
}

fn not_misp() -> ImportError {
    ImportError::new(
        codes::SCHEMA_INVALID,
        "not a MISP event: expected {\"Event\": {...}}, a list of them, {\"response\": [...]} or an event object with `info`",
    )
}

/// An event and where it is in the document (a JSON pointer).
type Located<'a> = (String, &'a Map<String, Value>);

/// One event: `{"Event": {...}}` or a bare event object.
fn one_event(v: &Value, path: String) -> Result<Located<'_>, ImportError> {
    match v {
        Value::Object(m) => match m.get("Event") {
            Some(Value::Object(e)) => Ok((format!("{path}/Event"), e)),
            Some(_) => Err(ImportError::new(
                codes::SCHEMA_INVALID,
                format!("{path}/Event is not an object"),
            )),
            None if m.contains_key("info") => Ok((path, m)),
            None => Err(not_misp()),
        },
        _ => Err(not_misp()),
    }
}

/// The events of a document, with where each is.
fn events_of(doc: &Value) -> Result<Vec<Located<'_>>, ImportError> {
    match doc {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| one_event(v, format!("/{i}")))
            .collect(),
        Value::Object(m) => match m.get("response") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| one_event(v, format!("/response/{i}")))
                .collect(),
            Some(_) => Err(ImportError::new(
                codes::SCHEMA_INVALID,
                "`response` is not a list of events",
            )),
            None => Ok(vec![one_event(doc, String::new())?]),
        },
        _ => Err(not_misp()),
    }
}

fn attributes_of(e: &Map<String, Value>) -> Vec<(&Map<String, Value>, Option<&str>)> {
    let mut out: Vec<(&Map<String, Value>, Option<&str>)> = e
        .get("Attribute")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|a| (a, None))
        .collect();
    for o in e
        .get("Object")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        let name = o.get("name").and_then(Value::as_str);
        if o.get("deleted").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        out.extend(
            o.get("Attribute")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .map(|a| (a, Some(name.unwrap_or("object")))),
        );
    }
    out
}

fn tags_of(v: &Map<String, Value>) -> impl Iterator<Item = &str> {
    v.get("Tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
}

/// A MISP string field that may also be written as a number.
fn field<'a>(v: &'a Map<String, Value>, key: &str) -> Option<std::borrow::Cow<'a, str>> {
    match v.get(key)? {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// The TLP a `tlp:` tag names: `Ok(None)` for a tag of another namespace.
fn tlp_of_tag(tag: &str) -> Result<Option<Tlp>, String> {
    let lower = tag.trim().to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("tlp:") else {
        return Ok(None);
    };
    match rest.trim_matches('"') {
        "white" | "clear" => Ok(Some(Tlp::Clear)),
        "green" => Ok(Some(Tlp::Green)),
        "amber" => Ok(Some(Tlp::Amber)),
        "amber+strict" => Ok(Some(Tlp::AmberStrict)),
        "red" => Ok(Some(Tlp::Red)),
        _ => Err(format!("tag {tag:?} is not a TLP 2.0 label")),
    }
}

/// `namespace:predicate="value"` → (namespace, predicate, value).
fn machine_tag(tag: &str) -> Option<(&str, &str, &str)> {
    let (ns, rest) = tag.split_once(':')?;
    let (pred, value) = rest.split_once('=')?;
    Some((ns, pred, value.trim_matches('"')))
}

fn machine_key(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// What an attribute becomes.
enum Mapped {
    Indicators(Vec<(IndicatorType, String, Option<String>)>),
    Reference(String),
    Unsupported,
}

fn ip_kind(v: &str) -> IndicatorType {
    if v.contains('/') {
        IndicatorType::Cidr
    } else {
        IndicatorType::Ip
    }
}

fn map_attribute(ty: &str, value: &str) -> Mapped {
    use IndicatorType::*;
    let one = |k, v: &str| Mapped::Indicators(vec![(k, v.trim().to_owned(), None)]);
    let split = |v: &str| -> (String, String) {
        let (a, b) = v.split_once('|').unwrap_or((v, ""));
        (a.trim().to_owned(), b.trim().to_owned())
    };
    match ty {
        "ip-src" | "ip-dst" => one(ip_kind(value), value),
        "ip-src|port" | "ip-dst|port" => {
            let (ip, port) = split(value);
            Mapped::Indicators(vec![(ip_kind(&ip), ip, Some(format!("port {port}")))])
        }
        "domain" | "hostname" => one(Domain, value),
        "hostname|port" => {
            let (host, port) = split(value);
            Mapped::Indicators(vec![(Domain, host, Some(format!("port {port}")))])
        }
        "domain|ip" => {
            let (d, ip) = split(value);
            Mapped::Indicators(vec![(Domain, d, None), (ip_kind(&ip), ip, None)])
        }
        "url" => one(Url, value),
        "link" => Mapped::Reference(value.trim().to_owned()),
        "email" | "email-src" | "email-dst" | "email-reply-to" => one(Email, value),
        "md5" | "sha1" | "sha256" => one(Hash, &value.to_ascii_lowercase()),
        "filename|md5" | "filename|sha1" | "filename|sha256" => {
            let (name, hash) = split(value);
            Mapped::Indicators(vec![(
                Hash,
                hash.to_ascii_lowercase(),
                Some(format!("filename {name}")),
            )])
        }
        "AS" => {
            let v = value.trim();
            let digits = v
                .strip_prefix("AS")
                .or_else(|| v.strip_prefix("as"))
                .unwrap_or(v);
            one(Asn, &format!("AS{digits}"))
        }
        "vulnerability" => one(Cve, &value.to_ascii_uppercase()),
        _ => Mapped::Unsupported,
    }
}

fn severity_of(level: Option<&str>) -> Severity {
    match level.map(str::trim) {
        Some("1") => Severity::High,
        Some("3") => Severity::Low,
        Some("4") => Severity::Info,
        _ => Severity::Medium,
    }
}

fn distribution_name(d: &str) -> &'static str {
    match d {
        "0" => "your organisation only",
        "1" => "this community only",
        "2" => "connected communities",
        "3" => "all communities",
        "4" => "a sharing group",
        "5" => "inherit event",
        _ => "unknown",
    }
}

fn analysis_name(a: &str) -> &'static str {
    match a {
        "0" => "initial",
        "1" => "ongoing",
        "2" => "complete",
        _ => "unknown",
    }
}

fn event(
    path: &str,
    e: &Map<String, Value>,
    opts: &ImportOptions,
    warnings: &mut Warnings,
) -> Result<Vec<BulletinDraft>, ImportError> {
    let info = e.get("info").and_then(Value::as_str).unwrap_or_default();
    let uuid = field(e, "uuid").map(|u| u.into_owned());
    let name = uuid
        .as_deref()
        .map(|u| format!("MISP event {u}"))
        .unwrap_or_else(|| {
            format!(
                "the MISP event at {}",
                if path.is_empty() { "/" } else { path }
            )
        });
    let label_error =
        |why: String| ImportError::new(codes::UNKNOWN_LABEL, format!("{name}: {why}"));
    let mut tlp: Option<Tlp> = None;
    let mut raise = |t: Tlp| tlp = Some(tlp.map_or(t, |l| l.max(t)));
    let mut rsit = None;
    let mut kind = None;
    let mut sectors = Vec::new();
    let mut countries = Vec::new();
    let mut other_tags = Vec::new();
    for tag in tags_of(e) {
        if let Some(t) = tlp_of_tag(tag).map_err(label_error)? {
            raise(t);
            continue;
        }
        match machine_tag(tag) {
            Some(("rsit" | "ecsirt", class, ty)) if machine_key(class) && machine_key(ty) => {
                if rsit.is_none() {
                    rsit = Some(format!("{class}/{ty}"));
                }
            }
            Some(("atalaya", "kind", k)) => {
                kind = serde_json::from_value::<BulletinKind>(Value::String(k.to_owned())).ok();
            }
            Some(("atalaya", "sector", s)) if vocab::sector(s).is_some() => {
                if sectors.len() < limits::LABELS && !sectors.iter().any(|x| x == s) {
                    sectors.push(s.to_owned());
                }
            }
            Some(("atalaya", "country", c)) => {
                if let Ok(c) = CountryCode::new(c)
                    && countries.len() < limits::LABELS
                    && !countries.contains(&c)
                {
                    countries.push(c);
                }
            }
            _ => other_tags.push(tag.to_owned()),
        }
    }
    let mut indicators = Vec::new();
    let mut references = Vec::new();
    let mut unsupported = Vec::new();
    let mut deleted = 0;
    for (a, object) in attributes_of(e) {
        if a.get("deleted").and_then(Value::as_bool) == Some(true) {
            deleted += 1;
            continue;
        }
        for tag in tags_of(a) {
            if let Some(t) = tlp_of_tag(tag).map_err(label_error)? {
                raise(t);
            }
        }
        let ty = field(a, "type").unwrap_or_default();
        let value = field(a, "value").unwrap_or_default();
        let to_ids = match a.get("to_ids") {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => Some(s == "1" || s == "true"),
            Some(Value::Number(n)) => Some(n.as_u64() == Some(1)),
            _ => None,
        };
        let comment = a
            .get("comment")
            .and_then(Value::as_str)
            .and_then(|c| text::one_line(c, 500));
        let line = |why: &str| {
            format!(
                "- {} {}{}{}",
                text::code(&ty),
                text::code(&value),
                object
                    .map(|o| format!(" (object {})", text::code(o)))
                    .unwrap_or_default(),
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": {why}")
                }
            )
        };
        match map_attribute(&ty, &value) {
            Mapped::Indicators(list) => {
                for (kind, v, extra) in list {
                    let note: Vec<String> = [
                        comment.clone(),
                        extra,
                        to_ids.map(|t| format!("to_ids={t}")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    let i = Indicator {
                        kind,
                        value: v,
                        first_seen: ts(a, "first_seen"),
                        last_seen: ts(a, "last_seen"),
                        comment: (!note.is_empty()).then(|| note.join("; ")),
                    };
                    match i.validate() {
                        Ok(()) => indicators.push(i),
                        Err(why) => {
                            warnings
                                .push(format!("{name}: {ty} attribute: {why}; kept in the body"));
                            unsupported.push(line(&why));
                        }
                    }
                }
            }
            Mapped::Reference(url) => {
                if (url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() <= 2048
                    && !url.chars().any(char::is_whitespace)
                    && references.len() < limits::REFERENCES
                {
                    if !references.contains(&url) {
                        references.push(url);
                    }
                } else {
                    unsupported.push(line("not an http(s) link"));
                }
            }
            Mapped::Unsupported => {
                warnings.push(format!(
                    "{name}: attributes of type {ty:?} have no indicator type here; kept in the body"
                ));
                unsupported.push(line(""));
            }
        }
    }
    if deleted > 0 {
        warnings.push(format!("{name}: {deleted} deleted attributes left out"));
    }
    let proposals = e
        .get("ShadowAttribute")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
        + e.get("Attribute")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("ShadowAttribute").and_then(Value::as_array))
            .map(Vec::len)
            .sum::<usize>();
    if proposals > 0 {
        warnings.push(format!(
            "{name}: {proposals} proposals (ShadowAttribute) left out"
        ));
    }
    if e.get("Galaxy")
        .and_then(Value::as_array)
        .is_some_and(|g| !g.is_empty())
    {
        warnings.push(format!("{name}: galaxies are not imported"));
    }
    let sightings = e
        .get("Sighting")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let tlp = match tlp.or(opts.default_tlp) {
        Some(t) => t,
        None => {
            return Err(ImportError::new(
                codes::NO_LABEL,
                format!(
                    "{name} has no tlp: tag (on the event or its attributes), and no default label was given"
                ),
            ));
        }
    };
    let org = e
        .get("Orgc")
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str)
        .and_then(|o| text::one_line(o, 200));
    let date = field(e, "date").map(|d| d.into_owned());
    let mut body = Body::default();
    let long_info = info.chars().count() > limits::TITLE_CHARS || info.contains('\n');
    if long_info {
        body.line(&text::clip(info, 16 * 1024));
        body.line("");
    }
    let facts: Vec<String> = [
        uuid.as_deref().map(|u| format!("uuid {}", text::code(u))),
        org.as_deref()
            .map(|o| format!("created by {}", text::code(o))),
        date.as_deref().map(|d| format!("dated {}", text::code(d))),
        field(e, "analysis").map(|a| format!("analysis {}", analysis_name(&a))),
        field(e, "distribution").map(|d| format!("distribution: {}", distribution_name(&d))),
        (sightings > 0).then(|| format!("{sightings} sightings")),
    ]
    .into_iter()
    .flatten()
    .collect();
    body.line(&format!(
        "Imported from a MISP event ({}).",
        facts.join(", ")
    ));
    if !other_tags.is_empty() {
        body.line("");
        let tags: Vec<String> = other_tags.iter().take(100).map(|t| text::code(t)).collect();
        body.line(&format!("Tags: {}.", tags.join(", ")));
    }
    if !unsupported.is_empty() {
        body.line("");
        body.line("Attributes that are not indicators here:");
        body.line("");
        for l in &unsupported {
            body.line(l);
        }
    }
    let title = text::one_line(info, limits::TITLE_CHARS).unwrap_or_else(|| name.clone());
    let summary = format!(
        "{}{}{}: {} indicators{}.",
        name,
        org.as_deref()
            .map(|o| format!(" by {o}"))
            .unwrap_or_default(),
        date.as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default(),
        indicators.len(),
        if unsupported.is_empty() {
            String::new()
        } else {
            format!(", {} other attributes", unsupported.len())
        }
    );
    let kind = kind.unwrap_or(
        if !indicators.is_empty() && indicators.iter().all(|i| i.kind == IndicatorType::Cve) {
            BulletinKind::VulnerabilityAdvisory
        } else {
            BulletinKind::SuspiciousActivity
        },
    );
    let content = BulletinContent {
        kind,
        title,
        summary,
        body: body.finish(),
        severity: severity_of(field(e, "threat_level_id").as_deref()),
        rsit,
        sectors,
        countries,
        indicators: Vec::new(),
        references,
        payload: None,
        supersedes: None,
        ack_required_by: None,
    };
    let chunks: Vec<Vec<Indicator>> = if indicators.len() <= limits::INDICATORS {
        vec![indicators]
    } else {
        indicators
            .chunks(limits::INDICATORS)
            .map(<[Indicator]>::to_vec)
            .collect()
    };
    let parts = chunks.len();
    Ok(chunks
        .into_iter()
        .enumerate()
        .map(|(n, chunk)| {
            let mut content = content.clone();
            if parts > 1 {
                let suffix = format!(" ({}/{parts})", n + 1);
                content.title = format!(
                    "{}{suffix}",
                    text::clip(&content.title, limits::TITLE_CHARS - suffix.chars().count())
                );
            }
            content.indicators = chunk;
            BulletinDraft {
                tlp,
                audience: Audience::Network,
                embargo_until: None,
                people: Vec::new(),
                constituents: Vec::new(),
                content,
            }
        })
        .collect())
}

fn ts(a: &Map<String, Value>, key: &str) -> Option<Timestamp> {
    a.get(key)
        .and_then(Value::as_str)
        .and_then(|s| Timestamp::parse(s).ok())
}

// ---------------------------------------------------------------------------------------------
// Export

/// The `tlp:` tag of a label.
pub fn tlp_tag(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "tlp:clear",
        Tlp::Green => "tlp:green",
        Tlp::Amber => "tlp:amber",
        Tlp::AmberStrict => "tlp:amber+strict",
        Tlp::Red => "tlp:red",
    }
}

/// MISP distribution of an event with this label: CLEAR to all communities, GREEN to
/// connected communities, anything more restrictive to the organisation only.
fn distribution(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "3",
        Tlp::Green => "2",
        _ => "0",
    }
}

fn threat_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "1",
        Severity::Medium => "2",
        Severity::Low => "3",
        Severity::Info => "4",
    }
}

/// MISP type, category and default `to_ids` of an indicator.
fn misp_type(i: &Indicator) -> (&'static str, &'static str, bool) {
    match i.kind {
        IndicatorType::Ip | IndicatorType::Cidr => ("ip-dst", "Network activity", true),
        IndicatorType::Domain => ("domain", "Network activity", true),
        IndicatorType::Url => ("url", "Network activity", true),
        IndicatorType::Email => ("email-src", "Payload delivery", true),
        IndicatorType::Hash => match i.value.len() {
            32 => ("md5", "Payload delivery", true),
            40 => ("sha1", "Payload delivery", true),
            _ => ("sha256", "Payload delivery", true),
        },
        IndicatorType::Asn => ("AS", "Network activity", false),
        IndicatorType::Cve => ("vulnerability", "External analysis", false),
    }
}

/// The date part of a timestamp (`YYYY-MM-DD`).
fn date_of(t: Timestamp) -> String {
    t.to_string().chars().take(10).collect()
}

/// A bulletin as a MISP event (`{"Event": {...}}`).
pub fn export_event(b: &Bulletin, org: &MispOrg) -> Value {
    let c = &b.content;
    let id = b.id.to_string();
    let seconds = b.created.unix_seconds().to_string();
    let mut tags = vec![json!({"name": tlp_tag(b.tlp)})];
    tags.push(json!({"name": format!("atalaya:kind=\"{}\"", c.kind.as_str())}));
    if let Some((class, ty)) = c.rsit.as_deref().and_then(|r| r.split_once('/')) {
        tags.push(json!({"name": format!("rsit:{class}=\"{ty}\"")}));
    }
    for s in &c.sectors {
        tags.push(json!({"name": format!("atalaya:sector=\"{s}\"")}));
    }
    for country in &c.countries {
        tags.push(json!({"name": format!("atalaya:country=\"{}\"", country.as_str())}));
    }
    let mut attributes = Vec::new();
    for (n, i) in c.indicators.iter().enumerate() {
        let (ty, category, default_ids) = misp_type(i);
        let value = match i.kind {
            // MISP stores AS numbers without the prefix.
            IndicatorType::Asn => i.value.trim_start_matches("AS").to_owned(),
            _ => i.value.clone(),
        };
        let comment = i.comment.clone().unwrap_or_default();
        let to_ids = if comment.contains("to_ids=false") {
            false
        } else if comment.contains("to_ids=true") {
            true
        } else {
            default_ids
        };
        let mut a = json!({
            "uuid": derived_uuid(&[&id, "attribute", &n.to_string(), ty, &value]),
            "type": ty,
            "category": category,
            "to_ids": to_ids,
            "value": value,
            "comment": comment,
            "distribution": "5",
            "timestamp": seconds,
            "disable_correlation": false,
        });
        if let Some(t) = i.first_seen {
            a["first_seen"] = json!(t.to_string());
        }
        if let Some(t) = i.last_seen {
            a["last_seen"] = json!(t.to_string());
        }
        attributes.push(a);
    }
    for (n, r) in c.references.iter().enumerate() {
        attributes.push(json!({
            "uuid": derived_uuid(&[&id, "reference", &n.to_string(), r]),
            "type": "link",
            "category": "External analysis",
            "to_ids": false,
            "value": r,
            "comment": "",
            "distribution": "5",
            "timestamp": seconds,
            "disable_correlation": false,
        }));
    }
    let mut report = format!("{}\n", c.summary);
    if !c.body.is_empty() {
        report.push('\n');
        report.push_str(&c.body);
    }
    json!({"Event": {
        "uuid": id,
        "info": c.title,
        "date": date_of(b.created),
        "timestamp": seconds,
        "publish_timestamp": seconds,
        "published": true,
        "threat_level_id": threat_level(c.severity),
        "analysis": "2",
        "distribution": distribution(b.tlp),
        "sharing_group_id": "0",
        "Orgc": {"name": org.name, "uuid": org.uuid},
        "Tag": tags,
        "Attribute": attributes,
        "EventReport": [{
            "uuid": derived_uuid(&[&id, "report"]),
            "name": c.title,
            "content": report,
            "distribution": "5",
            "timestamp": seconds,
        }],
    }})
}

/// A MISP feed's `manifest.json` for these events (as [`export_event`] writes them): one
/// entry per event uuid with `info`, `date`, `analysis`, `threat_level_id`, `timestamp`,
/// `Orgc` and `Tag`.
pub fn feed_manifest(events: &[Value]) -> Value {
    let mut m = Map::new();
    for e in events {
        let e = e.get("Event").unwrap_or(e);
        let Some(uuid) = e.get("uuid").and_then(Value::as_str) else {
            continue;
        };
        let pick = |k: &str| e.get(k).cloned().unwrap_or(Value::Null);
        m.insert(
            uuid.to_owned(),
            json!({
                "info": pick("info"),
                "date": pick("date"),
                "analysis": pick("analysis"),
                "threat_level_id": pick("threat_level_id"),
                "timestamp": pick("timestamp"),
                "Orgc": pick("Orgc"),
                "Tag": pick("Tag"),
            }),
        );
    }
    Value::Object(m)
}

/// A MISP feed's `hashes.csv`: one line `md5(value),event uuid` per attribute value, which a
/// MISP instance uses to correlate without fetching every event.
pub fn feed_hashes_csv(events: &[Value]) -> String {
    use md5::Md5;
    let mut out = String::new();
    for e in events {
        let e = e.get("Event").unwrap_or(e);
        let Some(uuid) = e.get("uuid").and_then(Value::as_str) else {
            continue;
        };
        for a in e
            .get("Attribute")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(v) = a.get("value").and_then(Value::as_str) else {
                continue;
            };
            let digest = Md5::digest(v.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            out.push_str(&format!("{hex},{uuid}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use atalaya_core::NodeId;

    fn opts() -> ImportOptions {
        ImportOptions::default()
    }

    #[test]
    fn an_event_is_named_by_its_uuid_at_its_timestamp_or_by_its_content() {
        let mut e = sample();
        e["Event"]["timestamp"] = json!("1714560000");
        e["Event"]["publish_timestamp"] = json!("1714550000");
        let out = import(&serde_json::to_vec(&e).unwrap(), &opts()).unwrap();
        assert_eq!(out.sources.len(), out.bulletins.len());
        let s = &out.sources[0].objects[0];
        assert_eq!(s.key, "5758ebf5-c898-48e6-9fe9-5665c0a83866");
        assert_eq!(s.version, "1714560000", "timestamp moves at every change");
        e["Event"].as_object_mut().unwrap().remove("timestamp");
        let out = import(&serde_json::to_vec(&e).unwrap(), &opts()).unwrap();
        assert_eq!(out.sources[0].objects[0].version, "1714550000");
        // Neither timestamp nor uuid: the content names and versions it.
        e["Event"]
            .as_object_mut()
            .unwrap()
            .remove("publish_timestamp");
        e["Event"].as_object_mut().unwrap().remove("uuid");
        let a = import(&serde_json::to_vec(&e).unwrap(), &opts()).unwrap();
        let b = import(&serde_json::to_vec(&e).unwrap(), &opts()).unwrap();
        assert!(a.sources[0].objects[0].key.starts_with("sha256:"));
        assert_eq!(a.sources, b.sources, "the same content is the same event");
        e["Event"]["info"] = json!("Phishing wave, second day");
        let c = import(&serde_json::to_vec(&e).unwrap(), &opts()).unwrap();
        assert_ne!(a.sources[0].objects[0].key, c.sources[0].objects[0].key);
    }

    fn sample() -> Value {
        json!({"Event": {
            "uuid": "5758ebf5-c898-48e6-9fe9-5665c0a83866",
            "info": "Phishing wave against ministries",
            "date": "2024-05-01", "threat_level_id": "1", "analysis": "1", "distribution": "1",
            "Orgc": {"name": "CERT-X", "uuid": "57586e9a-4a64-4f79-9009-4dc1c0a83866"},
            "Tag": [{"name": "tlp:green"}, {"name": "rsit:fraud=\"phishing\""}, {"name": "osint"}],
            "Attribute": [
                {"type": "ip-dst|port", "category": "Network activity", "to_ids": true, "value": "198.51.100.7|443", "comment": "C2"},
                {"type": "domain", "category": "Network activity", "to_ids": true, "value": "login-gob.example"},
                {"type": "filename|sha256", "category": "Payload delivery", "to_ids": true,
                 "value": "invoice.exe|ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"},
                {"type": "text", "category": "Other", "to_ids": false, "value": "Locky"},
                {"type": "link", "category": "External analysis", "to_ids": false, "value": "https://cert.example/a"},
                {"type": "url", "category": "Network activity", "to_ids": true, "value": "http://x.example/a",
                 "Tag": [{"name": "tlp:amber"}]},
                {"type": "ip-src", "value": "203.0.113.9", "deleted": true},
            ],
            "Object": [{"name": "file", "Attribute": [
                {"type": "md5", "object_relation": "md5", "to_ids": false, "value": "D41D8CD98F00B204E9800998ECF8427E"}]}],
        }})
    }

    #[test]
    fn an_event_becomes_a_bulletin() {
        let got = import(sample().to_string().as_bytes(), &opts()).unwrap();
        assert_eq!(got.bulletins.len(), 1);
        let b = &got.bulletins[0];
        assert_eq!(b.tlp, Tlp::Amber, "the attribute's amber tag wins");
        assert_eq!(b.content.title, "Phishing wave against ministries");
        assert_eq!(b.content.severity, Severity::High);
        assert_eq!(b.content.rsit.as_deref(), Some("fraud/phishing"));
        assert_eq!(b.content.references, ["https://cert.example/a"]);
        let v: Vec<(IndicatorType, &str, Option<&str>)> = b
            .content
            .indicators
            .iter()
            .map(|i| (i.kind, i.value.as_str(), i.comment.as_deref()))
            .collect();
        assert_eq!(
            v,
            [
                (
                    IndicatorType::Ip,
                    "198.51.100.7",
                    Some("C2; port 443; to_ids=true")
                ),
                (
                    IndicatorType::Domain,
                    "login-gob.example",
                    Some("to_ids=true")
                ),
                (
                    IndicatorType::Hash,
                    "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
                    Some("filename invoice.exe; to_ids=true")
                ),
                (
                    IndicatorType::Url,
                    "http://x.example/a",
                    Some("to_ids=true")
                ),
                (
                    IndicatorType::Hash,
                    "d41d8cd98f00b204e9800998ecf8427e",
                    Some("to_ids=false")
                ),
            ]
        );
        assert!(b.content.body.contains("`Locky`"));
        assert!(b.content.body.contains("`osint`"));
        assert!(got.warnings.iter().any(|w| w.contains("\"text\"")));
        assert!(got.warnings.iter().any(|w| w.contains("1 deleted")));
        let now = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        b.content.validate(now).unwrap();
    }

    #[test]
    fn documents_of_several_shapes_are_read() {
        let e = sample();
        let bare = e["Event"].clone();
        for doc in [
            json!([e.clone(), e.clone()]),
            json!({"response": [e.clone(), {"Event": bare.clone()}]}),
        ] {
            assert_eq!(
                import(doc.to_string().as_bytes(), &opts())
                    .unwrap()
                    .bulletins
                    .len(),
                2
            );
        }
        assert_eq!(
            import(bare.to_string().as_bytes(), &opts())
                .unwrap()
                .bulletins
                .len(),
            1
        );
    }

    #[test]
    fn labels_are_required_and_must_be_tlp_2() {
        let mut e = sample();
        e["Event"]["Tag"] = json!([{"name": "tlp:white"}]);
        e["Event"]["Attribute"] = json!([]);
        assert_eq!(
            import(e.to_string().as_bytes(), &opts()).unwrap().bulletins[0].tlp,
            Tlp::Clear
        );
        e["Event"]["Tag"] = json!([{"name": "tlp:amber+strict"}, {"name": "tlp:green"}]);
        assert_eq!(
            import(e.to_string().as_bytes(), &opts()).unwrap().bulletins[0].tlp,
            Tlp::AmberStrict
        );
        e["Event"]["Tag"] = json!([{"name": "tlp:ex:chr"}]);
        assert_eq!(
            import(e.to_string().as_bytes(), &opts()).unwrap_err().code,
            codes::UNKNOWN_LABEL
        );
        e["Event"]["Tag"] = json!([]);
        assert_eq!(
            import(e.to_string().as_bytes(), &opts()).unwrap_err().code,
            codes::NO_LABEL
        );
        let with = ImportOptions {
            default_tlp: Some(Tlp::Green),
            ..opts()
        };
        assert_eq!(
            import(e.to_string().as_bytes(), &with).unwrap().bulletins[0].tlp,
            Tlp::Green
        );
    }

    #[test]
    fn bad_documents_are_refused_with_a_code() {
        let with = ImportOptions {
            default_tlp: Some(Tlp::Green),
            ..opts()
        };
        let cases: Vec<(String, &str)> = vec![
            ("{".into(), codes::MALFORMED),
            ("\"x\"".into(), codes::SCHEMA_INVALID),
            ("{\"a\": 1}".into(), codes::SCHEMA_INVALID),
            ("{\"Event\": []}".into(), codes::SCHEMA_INVALID),
            (
                "{\"Event\": {\"date\": \"2024-01-01\"}}".into(),
                codes::SCHEMA_INVALID,
            ),
            (
                "{\"Event\": {\"info\": \"x\", \"Attribute\": {}}}".into(),
                codes::SCHEMA_INVALID,
            ),
            ("{\"response\": {}}".into(), codes::SCHEMA_INVALID),
            ("[]".into(), codes::NOTHING_TO_IMPORT),
        ];
        for (doc, code) in cases {
            assert_eq!(
                import(doc.as_bytes(), &with).unwrap_err().code,
                code,
                "{doc}"
            );
        }
        let big = ImportOptions {
            max_bytes: 10,
            ..with
        };
        assert_eq!(
            import(sample().to_string().as_bytes(), &big)
                .unwrap_err()
                .code,
            codes::TOO_LARGE
        );
        let many: Vec<Value> = (0..=MAX_EVENTS).map(|_| json!({"info": "x"})).collect();
        assert_eq!(
            import(Value::Array(many).to_string().as_bytes(), &with)
                .unwrap_err()
                .code,
            codes::TOO_LARGE
        );
    }

    #[test]
    fn large_events_are_split_within_the_indicator_limit() {
        let attrs: Vec<Value> = (0..limits::INDICATORS + 1)
            .map(|n| json!({"type": "ip-dst", "value": format!("10.{}.{}.{}", n / 65536, (n / 256) % 256, n % 256)}))
            .collect();
        let e =
            json!({"Event": {"info": "Scan", "Tag": [{"name": "tlp:clear"}], "Attribute": attrs}});
        let got = import(e.to_string().as_bytes(), &opts()).unwrap();
        assert_eq!(got.bulletins.len(), 2);
        assert_eq!(got.bulletins[1].content.title, "Scan (2/2)");
    }

    fn bulletin(draft: BulletinDraft) -> Bulletin {
        let t = Timestamp::parse("2026-03-01T10:00:00Z").unwrap();
        Bulletin::new(
            draft,
            Uuid::parse_str("0193a000-0000-7000-8000-000000000001").unwrap(),
            NodeId::new("cl-csirt").unwrap(),
            t,
        )
        .unwrap()
    }

    #[test]
    fn export_and_import_round_trip() {
        let mut draft = import(sample().to_string().as_bytes(), &opts())
            .unwrap()
            .bulletins
            .remove(0);
        draft.content.sectors = vec!["energy".into()];
        draft.content.countries = vec![CountryCode::new("CL").unwrap()];
        draft.content.indicators.push(Indicator {
            kind: IndicatorType::Asn,
            value: "AS64500".into(),
            first_seen: None,
            last_seen: None,
            comment: None,
        });
        let b = bulletin(draft);
        let org = MispOrg::for_node("cl-csirt", "CSIRT de Gobierno");
        let ev = export_event(&b, &org);
        assert_eq!(ev, export_event(&b, &org), "deterministic");
        let e = &ev["Event"];
        assert_eq!(e["uuid"], json!(b.id.to_string()));
        assert_eq!(e["date"], json!("2026-03-01"));
        assert_eq!(e["threat_level_id"], json!("1"));
        assert_eq!(e["distribution"], json!("0"));
        let tags: Vec<&str> = e["Tag"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(tags.contains(&"tlp:amber"));
        assert!(tags.contains(&"rsit:fraud=\"phishing\""));
        assert!(tags.contains(&"atalaya:sector=\"energy\""));
        let attrs = e["Attribute"].as_array().unwrap();
        assert_eq!(
            attrs.len(),
            b.content.indicators.len() + b.content.references.len()
        );
        let asn = attrs.iter().find(|a| a["type"] == "AS").unwrap();
        assert_eq!(asn["value"], json!("64500"));
        assert_eq!(asn["to_ids"], json!(false));
        let md5 = attrs.iter().find(|a| a["type"] == "md5").unwrap();
        assert_eq!(md5["to_ids"], json!(false), "to_ids kept from the import");
        let back = import(ev.to_string().as_bytes(), &opts())
            .unwrap()
            .bulletins
            .remove(0);
        assert_eq!(back.tlp, b.tlp);
        assert_eq!(back.content.kind, b.content.kind);
        assert_eq!(back.content.sectors, b.content.sectors);
        assert_eq!(back.content.countries, b.content.countries);
        assert_eq!(back.content.rsit, b.content.rsit);
        assert_eq!(back.content.references, b.content.references);
        let values = |c: &BulletinContent| {
            c.indicators
                .iter()
                .map(|i| (i.kind, i.value.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(values(&back.content), values(&b.content));
    }

    #[test]
    fn the_feed_lists_every_event_and_hashes_its_values() {
        let b = bulletin(
            import(sample().to_string().as_bytes(), &opts())
                .unwrap()
                .bulletins
                .remove(0),
        );
        let ev = export_event(&b, &MispOrg::for_node("cl-csirt", "CSIRT"));
        let m = feed_manifest(std::slice::from_ref(&ev));
        let entry = &m[b.id.to_string()];
        for k in [
            "info",
            "date",
            "analysis",
            "threat_level_id",
            "timestamp",
            "Orgc",
            "Tag",
        ] {
            assert!(!entry[k].is_null(), "{k}");
        }
        let csv = feed_hashes_csv(&[ev]);
        assert_eq!(
            csv.lines().count(),
            b.content.indicators.len() + b.content.references.len()
        );
        // md5("login-gob.example")
        let line = csv.lines().nth(1).unwrap();
        assert!(line.ends_with(&format!(",{}", b.id)));
        assert_eq!(line.split(',').next().unwrap().len(), 32);
    }
}
