//! CSAF 2.0 (OASIS Common Security Advisory Framework): advisories in and out, and the pieces
//! of a CSAF provider and aggregator (CSAF §7).
//!
//! - [`import`]: any CSAF 2.0 document (every profile) becomes one bulletin draft carrying the
//!   document unchanged, after the bundled JSON schema ([`schema`]) and the mandatory tests
//!   ([`mandatory`], all of §6.1) accepted it;
//! - [`export`] / [`export_revisions`]: a bulletin as a CSAF document (its own document when it
//!   carries one), and [`file_name`] for it (CSAF §5.1);
//! - [`provider`]: `provider-metadata.json`, `index.txt`, `changes.csv`, the ROLIE feed and
//!   `aggregator.json`.
//!
//! CSAF 2.0 speaks TLP 1.0: its `WHITE` is TLP 2.0's CLEAR, both ways.

use atalaya_core::bulletin::{IndicatorType, StructuredPayload, limits};
use atalaya_core::{
    Audience, BulletinContent, BulletinDraft, BulletinKind, Indicator, Severity, Timestamp, Tlp,
};
use serde_json::Value;

use crate::exchange::{ImportError, ImportOptions, ImportSource, Imported, SourceFormat, codes};

mod cvss;
mod export;
mod language;
pub mod mandatory;
pub mod provider;
pub mod schema;

pub use export::{CsafPublisher, ExportError, export, export_revisions, file_name};

/// The CSAF profiles (`/document/category` values) of CSAF 2.0.
pub const PROFILES: [&str; 5] = [
    "csaf_base",
    "csaf_security_incident_response",
    "csaf_informational_advisory",
    "csaf_security_advisory",
    "csaf_vex",
];

/// Read a CSAF 2.0 document into one bulletin draft.
///
/// Refused, with the code in [`codes`]: over `opts.max_bytes` (`too_large`); not one JSON
/// object, or followed by anything but whitespace (`malformed`); not valid against the CSAF
/// 2.0 schema (`schema_invalid`, every error with its JSON pointer); failing a mandatory test
/// (`mandatory_test_failed`, each failure naming its test, e.g. `6.1.1 Missing Definition of
/// Product ID`); without a TLP label and no default (`no_label`); or making a bulletin that
/// breaks a bulletin rule (`invalid_bulletin`).
pub fn import(bytes: &[u8], opts: &ImportOptions) -> Result<Imported, ImportError> {
    if bytes.len() > opts.max_bytes {
        return Err(ImportError::new(
            codes::TOO_LARGE,
            format!(
                "the document is {} bytes, more than the {} allowed",
                bytes.len(),
                opts.max_bytes
            ),
        ));
    }
    // serde_json refuses trailing non-whitespace and nests at most 128 levels deep.
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| ImportError::new(codes::MALFORMED, format!("not a JSON document: {e}")))?;
    if !doc.is_object() {
        return Err(ImportError::new(
            codes::MALFORMED,
            "a CSAF document is a JSON object",
        ));
    }
    let problems = schema::validate(schema::Which::Csaf, &doc);
    if !problems.is_empty() {
        return Err(ImportError::with_problems(
            codes::SCHEMA_INVALID,
            format!(
                "not valid against the CSAF 2.0 JSON schema ({} problem{})",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ),
            problems,
        ));
    }
    let problems = mandatory::run(&doc);
    if !problems.is_empty() {
        let mut tests: Vec<&str> = Vec::new();
        for t in problems.iter().filter_map(|p| p.message.split(':').next()) {
            if !tests.contains(&t) {
                tests.push(t);
            }
        }
        return Err(ImportError::with_problems(
            codes::MANDATORY_TEST_FAILED,
            format!("fails the CSAF mandatory tests {}", tests.join(", ")),
            problems,
        ));
    }
    let mut warnings = Vec::new();
    let draft = to_draft(&doc, opts, &mut warnings)?;
    Ok(Imported {
        bulletins: vec![draft],
        sources: vec![source_of(&doc)],
        warnings,
    })
}

/// What names the advisory across its versions: the publisher's namespace (a URI, so without
/// spaces) and the tracking id, joined by a space; and its tracking version (§3.1.11).
fn source_of(doc: &Value) -> ImportSource {
    ImportSource::single(
        SourceFormat::Csaf,
        format!(
            "{} {}",
            s(doc, "/document/publisher/namespace").unwrap_or(""),
            s(doc, "/document/tracking/id").unwrap_or("")
        ),
        s(doc, "/document/tracking/version")
            .unwrap_or("")
            .to_owned(),
        0,
    )
}

fn s<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn arr<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// One line of at most `max` characters, and whether it was cut.
fn one_line(text: &str, max: usize) -> (String, bool) {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    cut(&line, max)
}

fn cut(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_owned(), false);
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    (out, true)
}

/// The TLP of the document: `distribution.tlp.label` (TLP 1.0, `WHITE` = CLEAR).
fn label(doc: &Value, opts: &ImportOptions) -> Result<Tlp, ImportError> {
    match s(doc, "/document/distribution/tlp/label") {
        Some(l) => Tlp::parse(l).ok_or_else(|| {
            ImportError::new(
                codes::UNKNOWN_LABEL,
                format!("the TLP label {l:?} is not one of WHITE, GREEN, AMBER, RED"),
            )
        }),
        None => opts.default_tlp.ok_or_else(|| {
            ImportError::new(
                codes::NO_LABEL,
                "the document has no TLP label (/document/distribution/tlp/label) and no \
                 default label was given",
            )
        }),
    }
}

fn kind_of(category: &str) -> BulletinKind {
    match category {
        // An incident response document reports an attack that happened or is under way.
        "csaf_security_incident_response" => BulletinKind::AttackWarning,
        "csaf_informational_advisory" => BulletinKind::Informational,
        _ => BulletinKind::VulnerabilityAdvisory,
    }
}

/// CVSS v3 qualitative rating of a base score (FIRST CVSS v3.1 §5); v2 has no "critical".
fn severity_of(score: f64, v3: bool) -> Severity {
    match score {
        s if v3 && s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Info,
    }
}

/// Every product name in the tree (branch leaves, full product names, relationships).
fn product_names(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        for b in v
            .get("branches")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if let Some(n) = b.pointer("/product/name").and_then(Value::as_str) {
                out.push(n.to_owned());
            }
            walk(b, out);
        }
    }
    let mut out = Vec::new();
    if let Some(tree) = doc.get("product_tree") {
        walk(tree, &mut out);
    }
    for p in arr(doc, "/product_tree/full_product_names") {
        if let Some(n) = s(p, "/name") {
            out.push(n.to_owned());
        }
    }
    for r in arr(doc, "/product_tree/relationships") {
        if let Some(n) = s(r, "/full_product_name/name") {
            out.push(n.to_owned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|n| seen.insert(n.clone()));
    out
}

fn to_draft(
    doc: &Value,
    opts: &ImportOptions,
    warnings: &mut Vec<String>,
) -> Result<BulletinDraft, ImportError> {
    let tlp = label(doc, opts)?;
    let category = s(doc, "/document/category").unwrap_or("csaf_base");
    let tracking_id = s(doc, "/document/tracking/id").unwrap_or("");
    let (title, cut_title) = one_line(s(doc, "/document/title").unwrap_or(""), limits::TITLE_CHARS);
    if cut_title {
        warnings.push(format!(
            "the title was shortened to {} characters",
            limits::TITLE_CHARS
        ));
    }

    // Summary: the first summary note, else description, general, details; else the title.
    let notes = arr(doc, "/document/notes");
    let summary_text = ["summary", "description", "general", "details"]
        .iter()
        .find_map(|cat| {
            notes
                .iter()
                .find(|n| s(n, "/category") == Some(cat))
                .and_then(|n| s(n, "/text"))
        })
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(&title);
    let (summary, cut_summary) = cut(summary_text.trim(), limits::SUMMARY_CHARS);
    if cut_summary {
        warnings.push(format!(
            "the summary was shortened to {} characters",
            limits::SUMMARY_CHARS
        ));
    }

    // CVEs and severity.
    let mut indicators: Vec<Indicator> = Vec::new();
    let mut best: Option<(f64, Severity)> = None;
    for v in arr(doc, "/vulnerabilities") {
        if let Some(cve) = s(v, "/cve")
            && !indicators.iter().any(|i| i.value == cve)
        {
            indicators.push(Indicator {
                kind: IndicatorType::Cve,
                value: cve.to_owned(),
                first_seen: None,
                last_seen: None,
                comment: s(v, "/title").map(|t| one_line(t, 500).0),
            });
        }
        for score in arr(v, "/scores") {
            for (key, v3) in [("cvss_v3", true), ("cvss_v2", false)] {
                if let Some(b) = score
                    .get(key)
                    .and_then(|c| c.get("baseScore"))
                    .and_then(Value::as_f64)
                {
                    let sev = severity_of(b, v3);
                    if best.is_none_or(|(_, s)| sev > s) {
                        best = Some((b, sev));
                    }
                }
            }
        }
    }
    if indicators.len() > limits::INDICATORS {
        indicators.truncate(limits::INDICATORS);
        warnings.push(format!(
            "only the first {} CVEs were kept",
            limits::INDICATORS
        ));
    }
    let severity = match best {
        Some((_, sev)) => sev,
        None => {
            warnings.push(
                "the document has no CVSS score: the bulletin's severity is set to medium"
                    .to_owned(),
            );
            Severity::Medium
        }
    };

    // References (http/https), the document's first, then the vulnerabilities'.
    let mut references: Vec<String> = Vec::new();
    let mut skipped = 0usize;
    let refs = arr(doc, "/document/references").iter().chain(
        arr(doc, "/vulnerabilities")
            .iter()
            .flat_map(|v| arr(v, "/references")),
    );
    for r in refs {
        let Some(url) = s(r, "/url") else { continue };
        let ok = (url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 2048;
        if !ok || references.iter().any(|x| x == url) {
            continue;
        }
        if references.len() >= limits::REFERENCES {
            skipped += 1;
            continue;
        }
        references.push(url.to_owned());
    }
    if skipped > 0 {
        warnings.push(format!(
            "{skipped} references beyond the first {} were left out",
            limits::REFERENCES
        ));
    }

    let body = body(doc, tracking_id, warnings);
    let content = BulletinContent {
        kind: kind_of(category),
        title,
        summary,
        body,
        severity,
        rsit: None,
        sectors: Vec::new(),
        countries: Vec::new(),
        indicators,
        references,
        payload: Some(StructuredPayload::Csaf(doc.clone())),
        supersedes: None,
        ack_required_by: None,
    };
    let when = s(doc, "/document/tracking/current_release_date")
        .and_then(|d| Timestamp::parse(d).ok())
        .or_else(|| Timestamp::from_unix_millis(0));
    if let Some(when) = when {
        content.validate(when).map_err(|e| {
            ImportError::new(
                codes::INVALID_BULLETIN,
                format!("the advisory does not make a valid bulletin: {e}"),
            )
        })?;
    }
    Ok(BulletinDraft {
        tlp,
        audience: Audience::Network,
        embargo_until: None,
        people: Vec::new(),
        constituents: Vec::new(),
        content,
    })
}

/// Markdown with what a reader needs: the notes, the affected products, each vulnerability.
fn body(doc: &Value, tracking_id: &str, warnings: &mut Vec<String>) -> String {
    let md = |t: &str| t.replace('\r', "");
    let mut out = String::new();
    let publisher = s(doc, "/document/publisher/name").unwrap_or("");
    out.push_str(&format!(
        "CSAF advisory {} by {}, version {}.\n",
        md(tracking_id),
        md(publisher),
        md(s(doc, "/document/tracking/version").unwrap_or(""))
    ));
    for n in arr(doc, "/document/notes") {
        let title = s(n, "/title").or(s(n, "/category")).unwrap_or("Note");
        out.push_str(&format!(
            "\n## {}\n\n{}\n",
            one_line(title, 200).0,
            md(s(n, "/text").unwrap_or(""))
        ));
    }
    let products = product_names(doc);
    if !products.is_empty() {
        out.push_str("\n## Affected products\n\n");
        for p in &products {
            out.push_str(&format!("- {}\n", one_line(p, 500).0));
        }
    }
    let vulns = arr(doc, "/vulnerabilities");
    if !vulns.is_empty() {
        out.push_str("\n## Vulnerabilities\n");
        for v in vulns {
            let name = s(v, "/cve").or(s(v, "/title")).unwrap_or("Vulnerability");
            out.push_str(&format!("\n### {}\n", one_line(name, 200).0));
            if let Some(t) = s(v, "/title") {
                out.push_str(&format!("\n{}\n", one_line(t, 500).0));
            }
            for n in arr(v, "/notes") {
                out.push_str(&format!("\n{}\n", md(s(n, "/text").unwrap_or(""))));
            }
            for r in arr(v, "/remediations") {
                out.push_str(&format!(
                    "\n- {}: {}\n",
                    s(r, "/category").unwrap_or("remediation"),
                    one_line(s(r, "/details").unwrap_or(""), 2000).0
                ));
            }
        }
    }
    if out.len() > limits::BODY_BYTES {
        let mut end = limits::BODY_BYTES - 64;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("\n\n(shortened: the full advisory is attached)\n");
        warnings.push("the text was shortened; the full CSAF document is attached".to_owned());
    }
    out
}

#[cfg(test)]
mod tests;
