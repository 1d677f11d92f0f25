//! Documents in and out of the API in the formats teams already use:
//!
//! - `POST /api/v1/import/{csaf|stix|misp}` converts a document into bulletins and publishes
//!   them — all of them, or none: every bulletin is checked (content, labels, audience) before
//!   the first is published. `?tlp=` gives the label of a document that carries none (without
//!   it such a document is refused); `?dry_run=true` converts and checks only. A document is
//!   published at most once: the same version again is answered `200` with
//!   `"outcome": "duplicate"` and stores nothing, a newer version supersedes what the older
//!   one became, an older one is refused `409 stale_import` (see `land`).
//! - `POST /api/v1/import/{format}/bulletin` takes one bulletin a streaming importer (the CLI)
//!   converted itself, with where it came from, under the same rules.
//! - `GET /api/v1/bulletins/{id}/export/{csaf|stix|misp|cap}` writes one bulletin, when the
//!   sharing policy lets this person export it (`Action::Export`, audited).

#[allow(unused_imports)]
use crate::openapi::{JsonObject, Refusals};
use atalaya_core::policy::{Action, Actor, Decision};
use atalaya_core::{BulletinDraft, Tlp};
use atalaya_formats::exchange::{
    self, HeldImports, HeldObject, ImportError, ImportOptions, ImportSource, Imported,
    SourceFormat, Verdict, VersionRefusal,
};
use atalaya_store::ImportClaim;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Need;
use crate::auth::right::{Publish, ReadBulletins};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// The formats a document can be imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImportFormat {
    Csaf,
    Stix,
    Misp,
}

impl ImportFormat {
    fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "csaf" => Ok(Self::Csaf),
            "stix" => Ok(Self::Stix),
            "misp" => Ok(Self::Misp),
            other => Err(ErrorCode::UnknownFormat
                .with(format!("cannot import {other:?}: use csaf, stix or misp"))),
        }
    }

    fn source(self) -> SourceFormat {
        match self {
            Self::Csaf => SourceFormat::Csaf,
            Self::Stix => SourceFormat::Stix,
            Self::Misp => SourceFormat::Misp,
        }
    }

    fn convert(self, bytes: &[u8], opts: &ImportOptions) -> Result<Imported, ImportError> {
        match self {
            Self::Csaf => atalaya_formats::csaf::import(bytes, opts),
            Self::Stix => atalaya_formats::stix::import::import(bytes, opts),
            Self::Misp => atalaya_formats::misp::import(bytes, opts),
        }
    }
}

/// Query of `POST /api/v1/import/{format}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Label for a document that carries none.
    tlp: Option<String>,
    /// Convert and check only.
    #[serde(default)]
    dry_run: bool,
}

/// One imported bulletin, as the reply lists it.
fn summary(id: Option<uuid::Uuid>, d: &BulletinDraft) -> Value {
    json!({
        "id": id,
        "tlp": d.tlp.label(),
        "kind": d.content.kind.as_str(),
        "severity": d.content.severity,
        "title": d.content.title,
        "indicators": d.content.indicators.len(),
        "carries": d.content.payload.as_ref().map(|p| match p {
            atalaya_core::bulletin::StructuredPayload::Csaf(_) => "csaf",
            atalaya_core::bulletin::StructuredPayload::Stix(_) => "stix",
        }),
    })
}

/// `POST /api/v1/import/{format}`.
#[utoipa::path(
    post,
    path = "/api/v1/import/{format}",
    tag = "exchange",
    params(("format" = String, Path, description = "the exchange format (csaf, stix, misp, cap)"), ImportQuery),
    request_body(content((JsonObject = "application/json"), (String = "application/xml")), description = "the document in `format`"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn import(
    State(state): State<AppState>,
    _: Need<Publish>,
    Path(format): Path<String>,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let format = ImportFormat::parse(&format)?;
    let Query(query) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    let default_tlp = match query.tlp.as_deref() {
        None => None,
        Some(t) => Some(Tlp::parse(t).ok_or_else(|| {
            ErrorCode::InvalidQuery.with(format!(
                "tlp={t:?} is not a TLP 2.0 label (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)"
            ))
        })?),
    };
    let opts = ImportOptions {
        default_tlp,
        max_bytes: exchange::DEFAULT_MAX_BYTES,
    };
    let bytes = crate::body::read(body).await?;
    // Conversion is CPU work on up to 16 MiB: off the async workers.
    let imported = tokio::task::spawn_blocking(move || format.convert(&bytes, &opts))
        .await
        .map_err(ApiError::internal)??;
    if imported.bulletins.is_empty() {
        return Err(ApiError::from(ImportError::new(
            exchange::codes::NOTHING_TO_IMPORT,
            "the document holds nothing that becomes a bulletin",
        )));
    }
    let units = units_of(imported.bulletins, imported.sources)?;
    let (status, mut reply) = land(&state, units, query.dry_run).await?;
    reply["warnings"] = json!(imported.warnings);
    Ok((status, Json(reply)).into_response())
}

/// Body of `POST /api/v1/import/{format}/bulletin`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertedBulletin {
    /// The bulletin, converted already.
    bulletin: BulletinDraft,
    /// Where it came from.
    source: ImportSource,
}

/// Query of `POST /api/v1/import/{format}/bulletin`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConvertedQuery {
    /// Check only.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/import/{format}/bulletin`: one bulletin that a streaming importer (the CLI,
/// for a STIX bundle over the import limit) converted itself, with where it came from. The
/// node applies the same checks, sharing policy and re-import rules as for a whole document.
#[utoipa::path(
    post,
    path = "/api/v1/import/{format}/bulletin",
    tag = "exchange",
    params(("format" = String, Path, description = "the exchange format (csaf, stix, misp, cap)"), ConvertedQuery),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn import_converted(
    State(state): State<AppState>,
    _: Need<Publish>,
    Path(format): Path<String>,
    query: Result<Query<ConvertedQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let format = ImportFormat::parse(&format)?;
    let Query(query) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    let unit: ConvertedBulletin = crate::api::json_body(body).await?;
    if unit.source.format != format.source() || unit.source.objects.is_empty() {
        return Err(ErrorCode::InvalidSource.with(format!(
            "the bulletin's source must name at least one {} object",
            format.source().as_str()
        )));
    }
    let (status, reply) = land(&state, vec![(unit.bulletin, unit.source)], query.dry_run).await?;
    Ok((status, Json(reply)).into_response())
}

/// Each bulletin with where it came from. An importer that does not say where every bulletin
/// came from cannot be imported at most once: refused rather than published blind.
fn units_of(
    bulletins: Vec<BulletinDraft>,
    sources: Vec<ImportSource>,
) -> Result<Vec<(BulletinDraft, ImportSource)>, ApiError> {
    if bulletins.len() != sources.len() || sources.iter().any(|s| s.objects.is_empty()) {
        return Err(ApiError::internal(format!(
            "the importer named the source of {} of its {} bulletins",
            sources.len(),
            bulletins.len()
        )));
    }
    Ok(bulletins.into_iter().zip(sources).collect())
}

/// What became of one imported bulletin.
enum Landed {
    /// Published as this bulletin, new or revising an earlier import.
    Published(uuid::Uuid),
    /// Imported before at this version: the bulletins that hold it.
    Duplicate(Vec<uuid::Uuid>),
}

/// The newest version held of each object of `sources`, as the import record has it.
async fn held_for(state: &AppState, sources: &[&ImportSource]) -> Result<HeldImports, ApiError> {
    let mut out = Vec::new();
    for format in [SourceFormat::Csaf, SourceFormat::Misp, SourceFormat::Stix] {
        let mut keys: Vec<String> = sources
            .iter()
            .filter(|s| s.format == format)
            .flat_map(|s| s.objects.iter().map(|o| o.key.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            continue;
        }
        out.extend(
            state
                .fed
                .store
                .held_imports(format.as_str(), &keys)
                .await?
                .into_iter()
                .map(|r| HeldObject {
                    key: r.key,
                    version: r.version,
                    part: r.part,
                    bulletin: r.bulletin,
                }),
        );
    }
    Ok(HeldImports::new(out))
}

/// An import refused for what the node holds: 409, nothing stored.
fn version_refused(e: &VersionRefusal) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        e.code(),
        format!("{e}; nothing was imported"),
    )
}

/// Apply a verdict to a bulletin: `None` for a duplicate (the bulletins that hold it).
fn apply(
    verdict: Verdict,
    draft: &mut BulletinDraft,
    source: &mut ImportSource,
) -> Option<Vec<uuid::Uuid>> {
    match verdict {
        Verdict::Duplicate(held) => return Some(held),
        Verdict::Publish { supersedes, keep } => {
            draft.content.supersedes = supersedes;
            if let Some(keep) = keep {
                exchange::trim_group(draft, source, &keep);
            }
        }
    }
    None
}

/// The import claim of a bulletin about to be published: its objects, and the versions of them
/// `held` says the node holds.
fn claim(source: &ImportSource, held: &HeldImports) -> ImportClaim {
    ImportClaim {
        format: source.format.as_str().to_owned(),
        part: source.part,
        objects: source
            .objects
            .iter()
            .map(|o| (o.key.clone(), o.version.clone()))
            .collect(),
        seen: source
            .objects
            .iter()
            .map(|o| (o.key.clone(), held.version(&o.key).map(str::to_owned)))
            .collect(),
    }
}

/// How many times an import re-decides after losing a race to another import of the same
/// objects (the second decision normally finds a duplicate).
const RACES: usize = 3;

/// Publish imported bulletins, each at most once (the re-import rules of
/// [`atalaya_formats::exchange::judge`]):
///
/// 1. every bulletin is judged against the import record first: an older version than one
///    held refuses the whole document (409 `stale_import`, or `incomparable_version`), and
///    nothing is published;
/// 2. the bulletins left to publish pass the same checks as any bulletin, all before the
///    first is published (422 `invalid_bulletin` otherwise);
/// 3. each is published with its import record in one transaction. A bulletin whose objects
///    another import recorded in the meantime (two imports of the same document at once) is
///    judged again: it is then a duplicate, and only one bulletin exists.
///
/// The reply: `outcome` `imported` (201) when anything was published, `duplicate` (200) when
/// everything had been imported before; each bulletin with its `outcome` (`new`, `revision`
/// with the id it `supersedes`, or `duplicate` with the id of the bulletin that holds it).
async fn land(
    state: &AppState,
    mut units: Vec<(BulletinDraft, ImportSource)>,
    dry_run: bool,
) -> Result<(StatusCode, Value), ApiError> {
    let sources: Vec<&ImportSource> = units.iter().map(|(_, s)| s).collect();
    let held = held_for(state, &sources).await?;
    let mut duplicates: Vec<Option<Vec<uuid::Uuid>>> = Vec::new();
    for (draft, source) in &mut units {
        let verdict = exchange::judge(source, &held).map_err(|e| version_refused(&e))?;
        duplicates.push(apply(verdict, draft, source));
    }
    let mut problems = Vec::new();
    for (i, ((draft, _), dup)) in units.iter().zip(&duplicates).enumerate() {
        if dup.is_some() {
            continue;
        }
        if let Err(e) = state.fed.preview_recipients(draft.clone()) {
            problems.push(crate::error::problem(
                exchange::codes::INVALID_BULLETIN,
                &format!("bulletins[{i}]"),
                &e.to_string(),
            ));
        }
    }
    if !problems.is_empty() {
        let message = format!(
            "{} of the {} bulletins would be refused; nothing was imported",
            problems.len(),
            units.len()
        );
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            exchange::codes::INVALID_BULLETIN,
            message,
        )
        .with_problems(problems));
    }
    let mut lines = Vec::new();
    let mut published = 0usize;
    for ((mut draft, mut source), dup) in units.into_iter().zip(duplicates) {
        let mut line = summary(None, &draft);
        let landed = match dup {
            Some(held) => Landed::Duplicate(held),
            None if dry_run => {
                line["outcome"] = json!(outcome_of(&draft));
                line["supersedes"] = json!(draft.content.supersedes);
                lines.push(line);
                continue;
            }
            None => publish_once(state, &mut draft, &mut source, &held).await?,
        };
        match landed {
            Landed::Published(id) => {
                published += 1;
                line = summary(Some(id), &draft);
                line["outcome"] = json!(outcome_of(&draft));
                line["supersedes"] = json!(draft.content.supersedes);
            }
            Landed::Duplicate(held) => {
                line["id"] = json!(held.first());
                line["outcome"] = json!("duplicate");
                if held.len() > 1 {
                    line["held_by"] = json!(held);
                }
            }
        }
        lines.push(line);
    }
    let would = dry_run && lines.iter().any(|l| l["outcome"] != "duplicate");
    let (status, outcome) = if published > 0 {
        (StatusCode::CREATED, "imported")
    } else if would {
        (StatusCode::OK, "imported")
    } else {
        (StatusCode::OK, "duplicate")
    };
    let mut reply = json!({"outcome": outcome, "bulletins": lines});
    if dry_run {
        reply["dry_run"] = json!(true);
    }
    Ok((status, reply))
}

fn outcome_of(draft: &BulletinDraft) -> &'static str {
    if draft.content.supersedes.is_some() {
        "revision"
    } else {
        "new"
    }
}

/// Publish one judged bulletin with its import record; judged again when another import of
/// the same objects got there first.
async fn publish_once(
    state: &AppState,
    draft: &mut BulletinDraft,
    source: &mut ImportSource,
    held: &HeldImports,
) -> Result<Landed, ApiError> {
    let mut since: Option<HeldImports> = None;
    for _ in 0..RACES {
        let held = since.as_ref().unwrap_or(held);
        let published = state
            .fed
            .publish_imported(draft.clone(), &claim(source, held))
            .await
            .map_err(ApiError::internal)?;
        if let Some((bulletin, _)) = published {
            return Ok(Landed::Published(bulletin.id));
        }
        let now_held = held_for(state, &[&*source]).await?;
        let verdict = exchange::judge(source, &now_held).map_err(|e| version_refused(&e))?;
        since = Some(now_held);
        if let Some(dup) = apply(verdict, draft, source) {
            return Ok(Landed::Duplicate(dup));
        }
    }
    Err(ErrorCode::ImportConflict
        .with("other imports of the same document kept changing it; try again"))
}

/// Publish what a TAXII client posted, at most once per object version (see [`land`]); the
/// first refusal is the reason for every object of the post.
pub(crate) async fn land_posted(
    state: &AppState,
    imported: Imported,
) -> std::result::Result<(), String> {
    let units = units_of(imported.bulletins, imported.sources)
        .map_err(|e| format!("{}: {}", e.code, e.message))?;
    land(state, units, false)
        .await
        .map(|_| ())
        .map_err(|e| format!("{}: {}", e.code, e.message))
}

/// `GET /api/v1/bulletins/{id}/export/{format}`.
#[utoipa::path(
    get,
    path = "/api/v1/bulletins/{id}/export/{format}",
    tag = "exchange",
    params(("id" = String, Path, description = "the id (a UUID)"), ("format" = String, Path, description = "the exchange format (csaf, stix, misp, cap)")),
    responses(
        (status = 200, description = "done", content((JsonObject = "application/json"), (String = "application/cap+xml"))),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    Need(auth, ..): Need<ReadBulletins>,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = crate::api::bulletin_id(&id)?;
    let record = state
        .fed
        .store
        .bulletin(id)
        .await?
        .ok_or_else(|| ApiError::not_found("bulletin"))?;
    let b = &record.bulletin;
    if !matches!(format.as_str(), "csaf" | "stix" | "misp" | "cap") {
        return Err(ErrorCode::UnknownFormat.with(format!(
            "cannot export as {format:?}: use csaf, stix, misp or cap"
        )));
    }
    if let Decision::Deny(d) = state.fed.decide_audited(
        &atalaya_node::bulletins::policy_item(b),
        &b.id.to_string(),
        &Actor::Person { user: &auth.name },
        Action::Export,
    ) {
        return Err(d.into());
    }
    let json_body = |v: Value| {
        (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string_pretty(&v).unwrap_or_default(),
        )
            .into_response()
    };
    match format.as_str() {
        "csaf" => {
            let publisher = crate::csaf::publisher(&state);
            // Its earlier revisions, oldest first, so the tracking id and history carry on.
            let mut earlier = Vec::new();
            let mut cursor = b.content.supersedes;
            while let Some(prev) = cursor {
                if earlier.len() >= 100 {
                    break;
                }
                let Some(r) = state.fed.store.bulletin(prev).await? else {
                    break;
                };
                cursor = r.bulletin.content.supersedes;
                earlier.push(r.bulletin);
            }
            earlier.reverse();
            let doc =
                atalaya_formats::csaf::export_revisions(b, &earlier, &publisher).map_err(|e| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
                })?;
            Ok(json_body(doc))
        }
        "stix" => {
            let objects = atalaya_formats::stix::export::bulletin_objects(b);
            Ok(json_body(atalaya_formats::stix::export::bundle(objects)))
        }
        "misp" => {
            let team = state
                .fed
                .roster()
                .member(&b.origin)
                .map(|m| m.team.clone())
                .unwrap_or_else(|| b.origin.to_string());
            let org = atalaya_formats::misp::MispOrg::for_node(b.origin.as_str(), &team);
            Ok(json_body(atalaya_formats::misp::export_event(b, &org)))
        }
        _ => {
            let xml = crate::feeds::cap_export(&state, b.id)
                .await?
                .ok_or_else(|| {
                    ErrorCode::CapNotAvailable
                        .with("CAP 1.2 alerts are made for public (TLP:CLEAR) attack warnings only")
                })?;
            Ok((
                [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
                xml,
            )
                .into_response())
        }
    }
}
