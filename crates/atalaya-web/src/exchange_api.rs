//! Documents in and out of the API in the formats teams already use:
//!
//! - `POST /api/v1/import/{csaf|stix|misp}` converts a document into bulletins and publishes
//!   them — all of them, or none: every bulletin is checked (content, labels, audience) before
//!   the first is published. `?tlp=` gives the label of a document that carries none (without
//!   it such a document is refused); `?dry_run=true` converts and checks only.
//! - `GET /api/v1/bulletins/{id}/export/{csaf|stix|misp|cap}` writes one bulletin, when the
//!   sharing policy lets this person export it (`Action::Export`, audited).

use atalaya_core::policy::{Action, Actor, Decision};
use atalaya_core::{BulletinDraft, Tlp};
use atalaya_formats::exchange::{self, ImportError, ImportOptions, Imported};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::{ApiError, AppState};
use atalaya_core::access::Permission;

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
            other => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_format",
                format!("cannot import {other:?}: use csaf, stix or misp"),
            )),
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Label for a document that carries none.
    tlp: Option<String>,
    /// Convert and check only.
    #[serde(default)]
    dry_run: bool,
}

/// The HTTP status and body of a refused document.
fn refused(e: ImportError) -> ApiError {
    let status = match e.code {
        exchange::codes::TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        exchange::codes::MALFORMED => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let problems = e
        .problems
        .iter()
        .map(|p| problem(e.code, &p.path, &p.message))
        .collect();
    with_problems(ApiError::new(status, e.code, e.reason), problems)
}

/// One problem as the API lists it: `{code, field, message}`.
fn problem(code: &str, field: &str, message: &str) -> Value {
    json!({"code": code, "field": field, "message": message})
}

fn with_problems(mut e: ApiError, problems: Vec<Value>) -> ApiError {
    if !problems.is_empty() {
        e.problems = Some(Value::Array(problems));
    }
    e
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
pub async fn import(
    State(state): State<AppState>,
    auth: Principal,
    Path(format): Path<String>,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    auth.require(Permission::Publish)?;
    let format = ImportFormat::parse(&format)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let default_tlp = match query.tlp.as_deref() {
        None => None,
        Some(t) => Some(Tlp::parse(t).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!(
                    "tlp={t:?} is not a TLP 2.0 label (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)"
                ),
            )
        })?),
    };
    let opts = ImportOptions {
        default_tlp,
        max_bytes: exchange::DEFAULT_MAX_BYTES,
    };
    let bytes = crate::body::read(body, opts.max_bytes).await?;
    // Conversion is CPU work on up to 16 MiB: off the async workers.
    let imported = tokio::task::spawn_blocking(move || format.convert(&bytes, &opts))
        .await
        .map_err(ApiError::internal)?
        .map_err(refused)?;
    if imported.bulletins.is_empty() {
        return Err(refused(ImportError::new(
            exchange::codes::NOTHING_TO_IMPORT,
            "the document holds nothing that becomes a bulletin",
        )));
    }
    // All or nothing: every bulletin passes the same checks publishing applies, first.
    let mut problems = Vec::new();
    for (i, draft) in imported.bulletins.iter().enumerate() {
        if let Err(e) = state.fed.preview_recipients(draft.clone()) {
            problems.push(problem(
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
            imported.bulletins.len()
        );
        return Err(with_problems(
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                exchange::codes::INVALID_BULLETIN,
                message,
            ),
            problems,
        ));
    }
    if query.dry_run {
        let bulletins: Vec<Value> = imported
            .bulletins
            .iter()
            .map(|d| summary(None, d))
            .collect();
        return Ok(Json(json!({
            "dry_run": true,
            "bulletins": bulletins,
            "warnings": imported.warnings,
        }))
        .into_response());
    }
    let mut bulletins = Vec::new();
    for draft in imported.bulletins {
        let line = summary(None, &draft);
        let (bulletin, _) = state.fed.publish(draft).await.map_err(ApiError::internal)?;
        let mut line = line;
        line["id"] = json!(bulletin.id);
        bulletins.push(line);
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"bulletins": bulletins, "warnings": imported.warnings})),
    )
        .into_response())
}

/// `GET /api/v1/bulletins/{id}/export/{format}`.
pub async fn export(
    State(state): State<AppState>,
    auth: Principal,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.require(Permission::ReadBulletins)?;
    let id = crate::api::bulletin_id(&id)?;
    let record = state
        .fed
        .store
        .bulletin(id)
        .await?
        .ok_or_else(|| ApiError::not_found("bulletin"))?;
    let b = &record.bulletin;
    if !matches!(format.as_str(), "csaf" | "stix" | "misp" | "cap") {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_format",
            format!("cannot export as {format:?}: use csaf, stix, misp or cap"),
        ));
    }
    if let Decision::Deny(d) = state.fed.decide_audited(
        &crate::api::bulletin_item(b),
        &b.id.to_string(),
        &Actor::Person { user: &auth.name },
        Action::Export,
    ) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            d.code(),
            d.to_string(),
        ));
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
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "cap_not_available",
                        "CAP 1.2 alerts are made for public (TLP:CLEAR) attack warnings only",
                    )
                })?;
            Ok((
                [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
                xml,
            )
                .into_response())
        }
    }
}
