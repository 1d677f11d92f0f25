//! The files of a CSAF provider (CSAF §7.1) and of a lister or aggregator (§7.1.21):
//! `provider-metadata.json`, `index.txt`, `changes.csv`, a ROLIE feed, `aggregator.json`.
//!
//! Only the TLP:WHITE (TLP 2.0 CLEAR) distribution exists here: it is the only one Atalaya
//! serves in public. Paths are relative to [`WELL_KNOWN`] under the node's base URL:
//! `clear/<yyyy>/<file>.json` (with `.sha256`, `.sha512`, `.asc`), `clear/index.txt`,
//! `clear/changes.csv`, `feed-tlp-clear.json`, `openpgp/<FINGERPRINT>.asc`.

use atalaya_core::Timestamp;
use serde_json::{Value, json};

use super::export::{CsafPublisher, file_name};
use super::schema::CSAF_SCHEMA_URL;

/// Where a provider lives under a node's base URL.
pub const WELL_KNOWN: &str = "/.well-known/csaf";
/// Where a lister or aggregator lives under a node's base URL (not next to a provider).
pub const AGGREGATOR_PATH: &str = "/.well-known/csaf-aggregator/aggregator.json";
/// The folder of the public (TLP:WHITE) documents, under [`WELL_KNOWN`].
pub const CLEAR_DIR: &str = "clear";
/// The ROLIE feed of the public documents, under [`WELL_KNOWN`].
pub const CLEAR_FEED: &str = "feed-tlp-clear.json";

/// One published document, as the provider lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path under the distribution's folder: `<yyyy>/<file>.json`, the year of the initial
    /// release (CSAF §7.1.11).
    pub path: String,
    /// `/document/tracking/id`.
    pub tracking_id: String,
    /// `/document/title`.
    pub title: String,
    /// `/document/tracking/initial_release_date`.
    pub initial_release_date: String,
    /// `/document/tracking/current_release_date`.
    pub current_release_date: String,
    /// The first summary note, if any.
    pub summary: Option<String>,
}

impl Entry {
    /// The entry of a (valid) CSAF document; `None` when its tracking block is unusable.
    pub fn of(doc: &Value) -> Option<Entry> {
        let s = |p: &str| doc.pointer(p).and_then(Value::as_str);
        let tracking_id = s("/document/tracking/id")?.to_owned();
        let initial = s("/document/tracking/initial_release_date")?;
        let year = initial
            .get(..4)
            .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))?;
        let summary = doc
            .pointer("/document/notes")
            .and_then(Value::as_array)
            .and_then(|n| {
                n.iter()
                    .find(|x| x.get("category").and_then(Value::as_str) == Some("summary"))
            })
            .and_then(|n| n.get("text")?.as_str())
            .map(str::to_owned);
        Some(Entry {
            path: format!("{year}/{}", file_name(&tracking_id)),
            title: s("/document/title")?.to_owned(),
            initial_release_date: initial.to_owned(),
            current_release_date: s("/document/tracking/current_release_date")?.to_owned(),
            tracking_id,
            summary,
        })
    }
}

/// A provider: who it is and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The node's public base URL (no trailing slash).
    pub base_url: String,
    /// The team issuing the documents.
    pub publisher: CsafPublisher,
    /// Fingerprint (hex, upper case) of the OpenPGP key signing the documents, if they are.
    pub openpgp_fingerprint: Option<String>,
}

impl Provider {
    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// `https://node/.well-known/csaf/provider-metadata.json`.
    pub fn metadata_url(&self) -> String {
        format!("{}{WELL_KNOWN}/provider-metadata.json", self.base())
    }

    /// The folder of the public documents, with its trailing slash.
    pub fn directory_url(&self) -> String {
        format!("{}{WELL_KNOWN}/{CLEAR_DIR}/", self.base())
    }

    /// The ROLIE feed of the public documents.
    pub fn feed_url(&self) -> String {
        format!("{}{WELL_KNOWN}/{CLEAR_FEED}", self.base())
    }

    /// The URL of a document of the public folder.
    pub fn document_url(&self, entry: &Entry) -> String {
        format!("{}{}", self.directory_url(), entry.path)
    }

    /// The URL of the public OpenPGP key, when documents are signed.
    pub fn key_url(&self) -> Option<String> {
        self.openpgp_fingerprint
            .as_ref()
            .map(|f| format!("{}{WELL_KNOWN}/openpgp/{f}.asc", self.base()))
    }
}

/// `provider-metadata.json` (CSAF §7.1.7, §7.1.20): role `csaf_trusted_provider` when the
/// documents are signed (hashes are always served), else `csaf_provider`; both a directory
/// and a ROLIE distribution of TLP:WHITE.
pub fn provider_metadata(p: &Provider, last_updated: Timestamp) -> Value {
    let mut m = json!({
        "canonical_url": p.metadata_url(),
        "distributions": [{
            "directory_url": p.directory_url(),
            "rolie": {"feeds": [{
                "summary": "Public (TLP:CLEAR) advisories",
                "tlp_label": "WHITE",
                "url": p.feed_url(),
            }]},
        }],
        "last_updated": last_updated.to_string(),
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "publisher": p.publisher.to_json(),
        "role": if p.openpgp_fingerprint.is_some() { "csaf_trusted_provider" } else { "csaf_provider" },
    });
    if let (Some(fpr), Some(url)) = (&p.openpgp_fingerprint, p.key_url()) {
        m["public_openpgp_keys"] = json!([{"fingerprint": fpr, "url": url}]);
    }
    m
}

/// `index.txt` (CSAF §7.1.12): one document path per line.
pub fn index_txt(entries: &[Entry]) -> String {
    let mut paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut out = String::new();
    for p in paths {
        out.push_str(p);
        out.push('\n');
    }
    out
}

/// `changes.csv` (CSAF §7.1.13): `"<path>","<current_release_date>"`, newest first, no header.
pub fn changes_csv(entries: &[Entry]) -> String {
    let mut rows: Vec<(&Entry, Option<Timestamp>)> = entries
        .iter()
        .map(|e| (e, Timestamp::parse(&e.current_release_date).ok()))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.path.cmp(&b.0.path)));
    let mut out = String::new();
    for (e, _) in rows {
        out.push_str(&format!(
            "\"{}\",\"{}\"\n",
            e.path.replace('"', "\"\""),
            e.current_release_date.replace('"', "\"\"")
        ));
    }
    out
}

/// The ROLIE feed of the public documents (CSAF §7.1.15, RFC 8322), newest first; each
/// entry links the document, its hashes and (when signed) its signature.
pub fn rolie_feed(p: &Provider, entries: &[Entry], updated: Timestamp) -> Value {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        Timestamp::parse(&b.current_release_date)
            .ok()
            .cmp(&Timestamp::parse(&a.current_release_date).ok())
            .then_with(|| a.path.cmp(&b.path))
    });
    let entry: Vec<Value> = sorted
        .into_iter()
        .map(|e| {
            let url = p.document_url(e);
            let mut links = vec![
                json!({"rel": "self", "href": url}),
                json!({"rel": "hash", "href": format!("{url}.sha256")}),
                json!({"rel": "hash", "href": format!("{url}.sha512")}),
            ];
            if p.openpgp_fingerprint.is_some() {
                links.push(json!({"rel": "signature", "href": format!("{url}.asc")}));
            }
            let mut v = json!({
                "id": e.tracking_id,
                "title": e.title,
                "link": links,
                "published": e.initial_release_date,
                "updated": e.current_release_date,
                "content": {"type": "application/json", "src": url},
                "format": {"schema": CSAF_SCHEMA_URL, "version": "2.0"},
            });
            if let Some(s) = &e.summary {
                v["summary"] = json!({"content": s});
            }
            v
        })
        .collect();
    json!({"feed": {
        "id": format!("{}-csaf-feed-tlp-clear", p.publisher.name.to_lowercase().split_whitespace().collect::<Vec<_>>().join("-")),
        "title": format!("{} CSAF feed (TLP:CLEAR)", p.publisher.name),
        "link": [{"rel": "self", "href": p.feed_url()}],
        "category": [{"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}],
        "updated": updated.to_string(),
        "entry": entry,
    }})
}

/// A provider listed by a lister or aggregator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedProvider {
    /// The provider's team.
    pub publisher: CsafPublisher,
    /// Its `provider-metadata.json` URL.
    pub metadata_url: String,
    /// When this entry last changed.
    pub last_updated: Timestamp,
}

/// `aggregator.json` (CSAF §7.1.21). `category` is `lister` for a node that lists the
/// members' providers without mirroring their documents, `aggregator` for one that mirrors.
pub fn aggregator(
    base_url: &str,
    category: &str,
    operator: &CsafPublisher,
    providers: &[ListedProvider],
    last_updated: Timestamp,
) -> Value {
    let list: Vec<Value> = providers
        .iter()
        .map(|p| {
            json!({"metadata": {
                "last_updated": p.last_updated.to_string(),
                "publisher": p.publisher.to_json(),
                "role": "csaf_trusted_provider",
                "url": p.metadata_url,
            }})
        })
        .collect();
    let mut agg = operator.to_json();
    agg["category"] = json!(category);
    json!({
        "aggregator": agg,
        "aggregator_version": "2.0",
        "canonical_url": format!("{}{AGGREGATOR_PATH}", base_url.trim_end_matches('/')),
        "csaf_providers": list,
        "last_updated": last_updated.to_string(),
    })
}
