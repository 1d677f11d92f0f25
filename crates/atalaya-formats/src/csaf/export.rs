//! A bulletin as a CSAF 2.0 document.

use atalaya_core::bulletin::{IndicatorType, StructuredPayload};
use atalaya_core::{Bulletin, Severity, Tlp};
use serde_json::{Map, Value, json};

use super::{mandatory, schema};
use crate::exchange::ImportProblem;

/// Who issues the exported documents: the node's team (CSAF `/document/publisher`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsafPublisher {
    /// The team's name.
    pub name: String,
    /// The node's public base URL, e.g. `https://atalaya.csirt.gob.cl` (CSAF `namespace`).
    pub namespace: String,
    /// How to reach the team (a sentence; optional).
    pub contact_details: Option<String>,
    /// The team's mandate (optional).
    pub issuing_authority: Option<String>,
}

impl CsafPublisher {
    /// The publisher object of a CSAF document or provider metadata (category coordinator).
    pub fn to_json(&self) -> Value {
        let mut p = json!({
            "category": "coordinator",
            "name": self.name,
            "namespace": self.namespace,
        });
        if let Some(c) = &self.contact_details {
            p["contact_details"] = json!(c);
        }
        if let Some(a) = &self.issuing_authority {
            p["issuing_authority"] = json!(a);
        }
        p
    }
}

/// Why a bulletin could not be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The revisions given do not form the bulletin's chain of `supersedes`.
    #[error("the earlier revisions are not the chain this bulletin supersedes: {0}")]
    BrokenChain(String),
    /// The document built is not valid CSAF (a bug; the problems say where).
    #[error("the exported CSAF document is not valid: {} problem(s)", .0.len())]
    Invalid(Vec<ImportProblem>),
}

impl ExportError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::BrokenChain(_) => "broken_chain",
            ExportError::Invalid(_) => "invalid_csaf",
        }
    }
}

/// The CSAF file name of a tracking id (CSAF §5.1): lower-cased, every run of characters
/// other than `+`, `-`, `a-z`, `0-9` replaced by one `_`, then `.json`.
pub fn file_name(tracking_id: &str) -> String {
    let mut out = String::with_capacity(tracking_id.len() + 5);
    let mut in_run = false;
    for c in tracking_id.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out.push_str(".json");
    out
}

/// A bulletin as a CSAF 2.0 document: the one it carries, unchanged, or one built from it
/// (see [`export_revisions`]) for a bulletin that revises nothing.
pub fn export(bulletin: &Bulletin, publisher: &CsafPublisher) -> Result<Value, ExportError> {
    export_revisions(bulletin, &[], publisher)
}

/// A bulletin as a CSAF 2.0 document, with `earlier` the bulletins it revises, oldest first
/// (each superseded by the next, the last by `bulletin`), so that every revision keeps one
/// tracking id and the revision history lists them all.
///
/// A bulletin carrying a CSAF document returns it unchanged. Otherwise the document is
/// `csaf_security_advisory` when the bulletin names CVEs and products (the Markdown list under
/// an `Affected products` heading of its body), else `csaf_base`; tracking id
/// `<ORIGIN>-<id of the first revision>`, integer versions, publisher category coordinator,
/// the TLP label (CLEAR as TLP 1.0 `WHITE`; AMBER+STRICT as `AMBER` with the restriction in
/// `distribution.text`), the summary and body as notes, the links as external references and
/// one vulnerability per CVE. The result is checked against the schema and the mandatory tests.
pub fn export_revisions(
    bulletin: &Bulletin,
    earlier: &[Bulletin],
    publisher: &CsafPublisher,
) -> Result<Value, ExportError> {
    if let Some(StructuredPayload::Csaf(doc)) = &bulletin.content.payload {
        return Ok(doc.clone());
    }
    let mut chain: Vec<&Bulletin> = earlier.iter().collect();
    chain.push(bulletin);
    for w in chain.windows(2) {
        if w[1].content.supersedes != Some(w[0].id) {
            return Err(ExportError::BrokenChain(format!(
                "{} does not supersede {}",
                w[1].id, w[0].id
            )));
        }
    }
    let first = chain[0];
    let c = &bulletin.content;
    let tracking_id = format!("{}-{}", first.origin.as_str().to_uppercase(), first.id);

    let products = affected_products(&c.body);
    let cves: Vec<&str> = c
        .indicators
        .iter()
        .filter(|i| i.kind == IndicatorType::Cve)
        .map(|i| i.value.as_str())
        .fold(Vec::new(), |mut v, x| {
            if !v.contains(&x) {
                v.push(x);
            }
            v
        });
    let advisory = !cves.is_empty() && !products.is_empty();

    let mut notes = vec![json!({"category": "summary", "title": "Summary", "text": c.summary})];
    if !c.body.trim().is_empty() {
        notes.push(json!({"category": "details", "title": "Details", "text": c.body}));
    }
    notes.push(json!({
        "category": "general",
        "title": "Kind of warning",
        "text": format!("Atalaya bulletin kind: {}.", c.kind.as_str()),
    }));

    let mut references: Vec<Value> = Vec::new();
    if bulletin.tlp == Tlp::Clear {
        let year = &first.created.to_string()[..4];
        references.push(json!({
            "category": "self",
            "summary": "This advisory on the issuing node's CSAF provider",
            "url": format!(
                "{}/.well-known/csaf/clear/{year}/{}",
                publisher.namespace.trim_end_matches('/'),
                file_name(&tracking_id)
            ),
        }));
    }
    for r in &c.references {
        references.push(json!({"category": "external", "summary": "Reference", "url": r}));
    }

    let history: Vec<Value> = chain
        .iter()
        .enumerate()
        .map(|(i, b)| {
            json!({
                "date": b.created.to_string(),
                "number": (i + 1).to_string(),
                "summary": if i == 0 { "Initial release.".to_owned() }
                    else { format!("Revision: {}", b.content.title) },
            })
        })
        .collect();

    let (label, text) = match bulletin.tlp {
        Tlp::Clear => ("WHITE", None),
        Tlp::Green => ("GREEN", None),
        Tlp::Amber => ("AMBER", None),
        Tlp::AmberStrict => (
            "AMBER",
            Some("TLP:AMBER+STRICT: share only within the recipient's organisation."),
        ),
        Tlp::Red => ("RED", None),
    };
    let mut distribution = json!({"tlp": {"label": label, "url": "https://www.first.org/tlp/"}});
    if let Some(t) = text {
        distribution["text"] = json!(t);
    }

    let mut document = Map::new();
    document.insert(
        "aggregate_severity".into(),
        json!({"namespace": "https://www.first.org/cvss/specification-document",
               "text": severity_text(c.severity)}),
    );
    document.insert(
        "category".into(),
        json!(if advisory {
            "csaf_security_advisory"
        } else {
            "csaf_base"
        }),
    );
    document.insert("csaf_version".into(), json!("2.0"));
    document.insert("distribution".into(), distribution);
    document.insert("notes".into(), Value::Array(notes));
    document.insert("publisher".into(), publisher.to_json());
    if !references.is_empty() {
        document.insert("references".into(), Value::Array(references));
    }
    document.insert("title".into(), json!(c.title));
    document.insert(
        "tracking".into(),
        json!({
            "current_release_date": bulletin.created.to_string(),
            "generator": {
                "date": bulletin.created.to_string(),
                "engine": {"name": "Atalaya", "version": env!("CARGO_PKG_VERSION")},
            },
            "id": tracking_id,
            "initial_release_date": first.created.to_string(),
            "revision_history": history,
            "status": "final",
            "version": chain.len().to_string(),
        }),
    );

    let mut doc = Map::new();
    doc.insert("document".into(), Value::Object(document));
    let ids: Vec<String> = (1..=products.len())
        .map(|i| format!("CSAFPID-{i:04}"))
        .collect();
    if advisory {
        let names: Vec<Value> = products
            .iter()
            .zip(&ids)
            .map(|(name, id)| json!({"name": name, "product_id": id}))
            .collect();
        doc.insert("product_tree".into(), json!({"full_product_names": names}));
    }
    if !cves.is_empty() {
        let vulns: Vec<Value> = cves
            .iter()
            .map(|cve| {
                let mut v = json!({
                    "cve": cve,
                    "notes": [{"category": "description", "title": "Summary", "text": c.summary}],
                });
                if advisory {
                    v["product_status"] = json!({"known_affected": ids});
                }
                v
            })
            .collect();
        doc.insert("vulnerabilities".into(), Value::Array(vulns));
    }
    let doc = Value::Object(doc);
    let mut problems = schema::validate(schema::Which::Csaf, &doc);
    problems.extend(mandatory::run(&doc));
    if !problems.is_empty() {
        return Err(ExportError::Invalid(problems));
    }
    Ok(doc)
}

fn severity_text(s: Severity) -> &'static str {
    match s {
        Severity::Info => "None",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// The items of the first Markdown list under a heading `Affected products` (any level, any
/// case) of `body`, as the officer or the CSAF import wrote them.
pub(crate) fn affected_products(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut inside = false;
    for line in body.lines() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('#') {
            if inside {
                break;
            }
            inside = h
                .trim_start_matches('#')
                .trim()
                .eq_ignore_ascii_case("affected products");
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            let item = item.trim();
            if !item.is_empty() && !out.iter().any(|x| x == item) {
                out.push(item.to_owned());
            }
        } else if !t.is_empty() && !out.is_empty() {
            break;
        }
    }
    out
}
