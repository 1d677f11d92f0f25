//! `/feeds/misp/`: the node's public (TLP:CLEAR) bulletins as a MISP feed that any MISP
//! instance can subscribe to (Sync Actions → Feeds → add a feed of type "MISP Feed" with this
//! URL): `manifest.json`, one `<uuid>.json` per event, and `hashes.csv`.
//!
//! Only what [`atalaya_federation::Federation::public_bulletins`] returns is ever shown: the
//! policy's public decision (CLEAR, embargo over, not retracted), made at each request.

use atalaya_formats::misp::{self, MispOrg};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::{ApiError, AppState};

/// Most events in the feed (the newest public ones).
pub const FEED_EVENTS: u32 = 1_000;

/// The public bulletins as MISP events, newest first.
async fn events(state: &AppState) -> Result<Vec<Value>, ApiError> {
    let records = state.fed.public_bulletins(FEED_EVENTS).await?;
    let roster = state.fed.roster();
    Ok(records
        .iter()
        .map(|r| {
            let b = &r.bulletin;
            let team = roster
                .member(&b.origin)
                .map(|m| m.team.clone())
                .unwrap_or_else(|| b.origin.to_string());
            misp::export_event(b, &MispOrg::for_node(b.origin.as_str(), &team))
        })
        .collect())
}

fn json(v: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(v).unwrap_or_default(),
    )
        .into_response()
}

/// `GET /feeds/misp/manifest.json`: one entry per public event.
pub async fn manifest(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(json(&misp::feed_manifest(&events(&state).await?)))
}

/// `GET /feeds/misp/hashes.csv`: `md5(value),event uuid` per attribute.
pub async fn hashes(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        misp::feed_hashes_csv(&events(&state).await?),
    )
        .into_response())
}

/// `GET /feeds/misp/{uuid}.json`: one public event; 404 for anything not public.
pub async fn event(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("MISP feed event");
    let id = file
        .strip_suffix(".json")
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .ok_or_else(not_found)?;
    let records = state.fed.public_bulletins(FEED_EVENTS).await?;
    let r = records
        .iter()
        .find(|r| r.bulletin.id == id)
        .ok_or_else(not_found)?;
    let b = &r.bulletin;
    let team = state
        .fed
        .roster()
        .member(&b.origin)
        .map(|m| m.team.clone())
        .unwrap_or_else(|| b.origin.to_string());
    Ok(json(&misp::export_event(
        b,
        &MispOrg::for_node(b.origin.as_str(), &team),
    )))
}
