//! The node's CSAF 2.0 provider (CSAF §7.1) under `/.well-known/csaf/`, and the coordinator's
//! lister document under `/.well-known/csaf-aggregator/`. No authentication: everything here
//! is public, so it is built from [`Federation::public_bulletins`] (TLP:CLEAR, embargo over,
//! not retracted — the policy decides) and nothing else.
//!
//! What is published: this node's own public bulletins that are vulnerability advisories or
//! carry a CSAF document (a CSAF provider distributes its own documents, §7.2.1; the members'
//! providers are listed by the coordinator's `aggregator.json`). A carried document is served
//! unchanged, and only when its own label is TLP:WHITE or absent (a document marked GREEN,
//! AMBER or RED stays out even if the bulletin around it was relabelled CLEAR). A bulletin's
//! revisions (`supersedes`) are one document with one tracking id.
//!
//! Files: `provider-metadata.json`; `clear/<yyyy>/<file>.json` with `.sha256`, `.sha512` and
//! (when the node has its OpenPGP key) `.asc`; `clear/index.txt`; `clear/changes.csv`;
//! `feed-tlp-clear.json` (ROLIE); `openpgp/<FINGERPRINT>.asc`.
//!
//! [`Federation::public_bulletins`]: atalaya_federation::Federation::public_bulletins

use std::collections::{HashMap, HashSet};

use atalaya_core::bulletin::StructuredPayload;
use atalaya_core::{Bulletin, BulletinKind};
use atalaya_formats::csaf::provider::{self, Entry, ListedProvider, Provider};
use atalaya_formats::csaf::{self, CsafPublisher};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256, Sha512};

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// Most public bulletins looked at.
const MAX_BULLETINS: u32 = 2_000;

/// One published document, serialised once.
struct Published {
    /// The bulletin whose newest revision this document is.
    bulletin: uuid::Uuid,
    entry: Entry,
    bytes: Vec<u8>,
}

fn base_url(state: &AppState) -> String {
    let me = state.fed.node_id().clone();
    state
        .fed
        .roster()
        .member(&me)
        .map(|m| m.endpoint.trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

fn provider(state: &AppState) -> Provider {
    let me = state.fed.node_id().clone();
    let name = state
        .fed
        .roster()
        .member(&me)
        .map(|m| m.team.clone())
        .unwrap_or_else(|| me.as_str().to_owned());
    Provider {
        base_url: base_url(state),
        publisher: CsafPublisher {
            name,
            namespace: base_url(state),
            contact_details: None,
            issuing_authority: None,
        },
        openpgp_fingerprint: state.csaf_signer.as_ref().map(|s| s.fingerprint()),
    }
}

/// Who issues the CSAF documents this node exports: its team, under its public URL.
pub(crate) fn publisher(state: &AppState) -> CsafPublisher {
    provider(state).publisher
}

/// Where this node's provider serves the CSAF document of each bulletin it publishes there
/// (bulletin id → absolute URL), for the links of the Atom feed.
pub(crate) async fn document_urls(
    state: &AppState,
) -> Result<HashMap<uuid::Uuid, String>, ApiError> {
    let p = provider(state);
    Ok(published(state)
        .await?
        .into_iter()
        .map(|d| (d.bulletin, p.document_url(&d.entry)))
        .collect())
}

/// Whether a carried CSAF document may sit in the public (TLP:WHITE) folder.
fn public_label(doc: &serde_json::Value) -> bool {
    matches!(
        doc.pointer("/document/distribution/tlp/label")
            .and_then(serde_json::Value::as_str),
        None | Some("WHITE")
    )
}

fn carried(b: &Bulletin) -> Option<&serde_json::Value> {
    match &b.content.payload {
        Some(StructuredPayload::Csaf(doc)) => Some(doc),
        _ => None,
    }
}

/// The documents this node publishes, newest first.
async fn published(state: &AppState) -> Result<Vec<Published>, ApiError> {
    let me = state.fed.node_id().clone();
    let records = state.fed.public_bulletins(MAX_BULLETINS).await?;
    let chosen: Vec<&Bulletin> = records
        .iter()
        .map(|r| &r.bulletin)
        .filter(|b| b.origin == me)
        .filter(|b| match carried(b) {
            Some(doc) => public_label(doc),
            None => b.content.kind == BulletinKind::VulnerabilityAdvisory,
        })
        .collect();
    let by_id: HashMap<uuid::Uuid, &Bulletin> = chosen.iter().map(|b| (b.id, *b)).collect();
    let superseded: HashSet<uuid::Uuid> =
        chosen.iter().filter_map(|b| b.content.supersedes).collect();
    let p = provider(state);
    let mut out: Vec<Published> = Vec::new();
    let mut paths = HashSet::new();
    for head in chosen.iter().filter(|b| !superseded.contains(&b.id)) {
        // Its earlier public revisions, oldest first.
        let mut earlier: Vec<Bulletin> = Vec::new();
        let mut cursor = head.content.supersedes;
        while let Some(id) = cursor {
            let Some(prev) = by_id.get(&id) else { break };
            if earlier.iter().any(|e| e.id == id) || earlier.len() > 100 {
                break;
            }
            earlier.push((*prev).clone());
            cursor = prev.content.supersedes;
        }
        earlier.reverse();
        let doc = match csaf::export_revisions(head, &earlier, &p.publisher) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(bulletin = %head.id, error = %e, "bulletin left out of the CSAF provider");
                continue;
            }
        };
        let Some(entry) = Entry::of(&doc) else {
            continue;
        };
        // Newest first: a second document with the same file name is an older copy.
        if !paths.insert(entry.path.clone()) {
            continue;
        }
        let mut bytes = serde_json::to_vec_pretty(&doc).map_err(ApiError::internal)?;
        bytes.push(b'\n');
        out.push(Published {
            bulletin: head.id,
            entry,
            bytes,
        });
    }
    Ok(out)
}

fn json_response(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn value_response(v: &serde_json::Value) -> Result<Response, ApiError> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(ApiError::internal)?;
    bytes.push(b'\n');
    Ok(json_response(bytes))
}

/// The newest release among the documents, or now when there is none.
fn last_updated(state: &AppState, docs: &[Published]) -> atalaya_core::Timestamp {
    docs.iter()
        .filter_map(|d| atalaya_core::Timestamp::parse(&d.entry.current_release_date).ok())
        .max()
        .unwrap_or_else(|| state.fed.now())
}

/// `GET /.well-known/csaf/provider-metadata.json`.
pub async fn provider_metadata(State(state): State<AppState>) -> Result<Response, ApiError> {
    let docs = published(&state).await?;
    let meta = provider::provider_metadata(&provider(&state), last_updated(&state, &docs));
    value_response(&meta)
}

/// `GET /.well-known/csaf/clear/index.txt`.
pub async fn index_txt(State(state): State<AppState>) -> Result<Response, ApiError> {
    let docs = published(&state).await?;
    let entries: Vec<Entry> = docs.into_iter().map(|d| d.entry).collect();
    Ok(text(
        "text/plain; charset=utf-8",
        provider::index_txt(&entries),
    ))
}

/// `GET /.well-known/csaf/clear/changes.csv`.
pub async fn changes_csv(State(state): State<AppState>) -> Result<Response, ApiError> {
    let docs = published(&state).await?;
    let entries: Vec<Entry> = docs.into_iter().map(|d| d.entry).collect();
    Ok(text(
        "text/csv; charset=utf-8",
        provider::changes_csv(&entries),
    ))
}

/// `GET /.well-known/csaf/feed-tlp-clear.json`: the ROLIE feed.
pub async fn feed(State(state): State<AppState>) -> Result<Response, ApiError> {
    let docs = published(&state).await?;
    let updated = last_updated(&state, &docs);
    let entries: Vec<Entry> = docs.into_iter().map(|d| d.entry).collect();
    value_response(&provider::rolie_feed(&provider(&state), &entries, updated))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `GET /.well-known/csaf/clear/{yyyy}/{file}`: a document (`.json`), its hashes
/// (`.json.sha256`, `.json.sha512`: the hex digest, two spaces, the file name) or its
/// signature (`.json.asc`).
pub async fn document(
    State(state): State<AppState>,
    Path((year, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (name, suffix) = ["", ".sha256", ".sha512", ".asc"]
        .iter()
        .rev()
        .find_map(|s| {
            file.strip_suffix(s)
                .filter(|n| n.ends_with(".json"))
                .map(|n| (n, *s))
        })
        .ok_or_else(|| ApiError::not_found("CSAF document"))?;
    let path = format!("{year}/{name}");
    let docs = published(&state).await?;
    let doc = docs
        .into_iter()
        .find(|d| d.entry.path == path)
        .ok_or_else(|| ApiError::not_found("CSAF document"))?;
    Ok(match suffix {
        "" => json_response(doc.bytes),
        ".sha256" => text(
            "text/plain; charset=utf-8",
            format!("{}  {name}\n", hex(&Sha256::digest(&doc.bytes))),
        ),
        ".sha512" => text(
            "text/plain; charset=utf-8",
            format!("{}  {name}\n", hex(&Sha512::digest(&doc.bytes))),
        ),
        _ => {
            let signer = state
                .csaf_signer
                .as_ref()
                .ok_or_else(|| ApiError::not_found("CSAF signature"))?;
            // A fixed signing time (the release, never before the key) keeps the file stable.
            let when = atalaya_core::Timestamp::parse(&doc.entry.current_release_date)
                .map(|t| t.unix_seconds())
                .unwrap_or(0);
            let when = u32::try_from(when)
                .unwrap_or(u32::MAX)
                .max(signer.created());
            text(
                "application/pgp-signature",
                signer
                    .sign_detached_armored(&doc.bytes, when)
                    .map_err(ApiError::internal)?,
            )
        }
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn listing(title: &str, names: &[String]) -> Response {
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {t}</title></head>\n<body><h1>Index of {t}</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n",
        t = escape(title)
    );
    for n in names {
        let n = escape(n);
        html.push_str(&format!("<li><a href=\"{n}\">{n}</a></li>\n"));
    }
    html.push_str("</ul></body></html>\n");
    text("text/html; charset=utf-8", html)
}

/// `GET /.well-known/csaf/clear/`: the folder's listing (CSAF §7.1.14): the year folders,
/// `index.txt` and `changes.csv`.
pub async fn list_clear(State(state): State<AppState>) -> Result<Response, ApiError> {
    let docs = published(&state).await?;
    let mut names: Vec<String> = docs
        .iter()
        .filter_map(|d| d.entry.path.split_once('/').map(|(y, _)| format!("{y}/")))
        .collect();
    names.sort();
    names.dedup();
    names.push("changes.csv".into());
    names.push("index.txt".into());
    Ok(listing(
        &format!("{}/{}/", provider::WELL_KNOWN, provider::CLEAR_DIR),
        &names,
    ))
}

/// `GET /.well-known/csaf/clear/{yyyy}/`: a year's documents with their hash and signature
/// files.
pub async fn list_year(
    State(state): State<AppState>,
    Path(year): Path<String>,
) -> Result<Response, ApiError> {
    let docs = published(&state).await?;
    let mut names = Vec::new();
    for d in &docs {
        if let Some(file) = d.entry.path.strip_prefix(&format!("{year}/")) {
            names.push(file.to_owned());
            for suffix in [".asc", ".sha256", ".sha512"] {
                if suffix != ".asc" || state.csaf_signer.is_some() {
                    names.push(format!("{file}{suffix}"));
                }
            }
        }
    }
    if names.is_empty() {
        return Err(ApiError::not_found("CSAF folder"));
    }
    names.sort();
    Ok(listing(
        &format!("{}/{}/{year}/", provider::WELL_KNOWN, provider::CLEAR_DIR),
        &names,
    ))
}

/// `GET /.well-known/csaf/openpgp/{FINGERPRINT}.asc`: the key that signs the documents.
pub async fn openpgp_key(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let signer = state
        .csaf_signer
        .as_ref()
        .ok_or_else(|| ApiError::not_found("OpenPGP key"))?;
    let wanted = file
        .strip_suffix(".asc")
        .ok_or_else(|| ApiError::not_found("OpenPGP key"))?;
    if !wanted.eq_ignore_ascii_case(&signer.fingerprint()) {
        return Err(ApiError::not_found("OpenPGP key"));
    }
    let p = provider(&state);
    let user_id = format!(
        "{} CSAF signing key <{}>",
        p.publisher.name,
        p.metadata_url()
    );
    Ok(text(
        "application/pgp-keys",
        signer
            .public_key_armored(&user_id)
            .map_err(ApiError::internal)?,
    ))
}

/// `GET /.well-known/csaf-aggregator/aggregator.json`, on the coordinator only: a CSAF
/// lister naming every member node's provider. (`lister`, not `aggregator`: it does not
/// mirror the members' documents, which CSAF §7.2.5 asks of an aggregator.)
pub async fn aggregator(State(state): State<AppState>) -> Result<Response, ApiError> {
    let view = state.fed.roster();
    let roster = &view.roster;
    if &roster.coordinator != state.fed.node_id() {
        return Err(ErrorCode::NotFound
            .with("only the network's coordinator lists the members' CSAF providers"));
    }
    let listed: Vec<ListedProvider> = roster
        .members
        .iter()
        .filter(|m| m.endpoint.starts_with("https://") || m.endpoint.starts_with("http://"))
        .map(|m| {
            let base = m.endpoint.trim_end_matches('/');
            ListedProvider {
                publisher: CsafPublisher {
                    name: m.team.clone(),
                    namespace: base.to_owned(),
                    contact_details: None,
                    issuing_authority: None,
                },
                metadata_url: format!("{base}{}/provider-metadata.json", provider::WELL_KNOWN),
                last_updated: roster.issued,
            }
        })
        .collect();
    if listed.is_empty() {
        return Err(ApiError::not_found("CSAF providers"));
    }
    let me = provider(&state);
    let doc = provider::aggregator(
        &me.base_url,
        "lister",
        &me.publisher,
        &listed,
        roster.issued,
    );
    value_response(&doc)
}
