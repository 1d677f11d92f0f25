//! `/api/v1/checks*`: communication checks. Start one (for all peers or some), read its report,
//! the history and each member's trend; at a target, list the checks waiting for an answer and
//! answer one.

#[allow(unused_imports)]
use crate::openapi::{JsonObject, Refusals};
use atalaya_core::comm_check;
use atalaya_node::checks::CheckError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::json_body;
use crate::auth::Need;
use crate::auth::right::{AnswerChecks, ReadBulletins, RunChecks};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// Minutes given to answer when the request does not say.
const DEFAULT_ANSWER_WITHIN_MINUTES: u32 = 60;

fn check_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse()
        .map_err(|_| ErrorCode::InvalidId.with("check ids are UUIDs"))
}

/// Body of `POST /api/v1/checks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Node ids to check (default: every peer).
    targets: Option<Vec<String>>,
    /// What to tell the people answering.
    message: Option<String>,
    /// Minutes they have to answer.
    answer_within_minutes: Option<u32>,
}

/// `POST /api/v1/checks`: start a communication check.
#[utoipa::path(
    post,
    path = "/api/v1/checks",
    tag = "checks",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 201, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn start(
    State(state): State<AppState>,
    Need(auth, ..): Need<RunChecks>,
    body: Body,
) -> Result<Response, ApiError> {
    let req: StartRequest = json_body(body).await?;
    let minutes = req
        .answer_within_minutes
        .unwrap_or(DEFAULT_ANSWER_WITHIN_MINUTES);
    let started = state
        .checks
        .start(req.targets.as_deref(), req.message, minutes, &auth.name)
        .await?;
    let id = started.check.id;
    let body = json!({
        "id": id,
        "started_at": started.check.started_at,
        "answer_by": started.check.answer_by,
        "targets": started.targets,
        "sent": started.sent,
    });
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/checks/{id}"))],
        Json(body),
    )
        .into_response())
}

/// Query of `GET /api/v1/checks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/checks`: the checks this node started, newest first, with their counts.
#[utoipa::path(
    get,
    path = "/api/v1/checks",
    tag = "checks",
    params(HistoryQuery),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    let now = state.fed.now();
    let checks: Vec<comm_check::CheckSummary> = state
        .checks
        .started(q.limit.unwrap_or(50).clamp(1, 500))
        .await?
        .iter()
        .map(|f| comm_check::summary(f, now))
        .collect();
    Ok(Json(json!({"checks": checks})).into_response())
}

/// `GET /api/v1/checks/{id}`: the report of a check this node started; at a target, the
/// check as received with this node's answer.
#[utoipa::path(
    get,
    path = "/api/v1/checks/{id}",
    tag = "checks",
    params(("id" = String, Path, description = "the id (a UUID)")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = check_id(&id)?;
    if let Some(facts) = state.checks.started_check(id).await? {
        let report = comm_check::report(&facts, state.fed.now());
        return Ok(Json(json!({"check": report})).into_response());
    }
    match state.checks.received_check(id).await? {
        Some(received) => Ok(Json(json!({"received_check": received})).into_response()),
        None => Err(ApiError::not_found("check")),
    }
}

/// `GET /api/v1/checks/pending`: checks this node received that nobody here answered yet.
#[utoipa::path(
    get,
    path = "/api/v1/checks/pending",
    tag = "checks",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn pending(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
) -> Result<Response, ApiError> {
    let now = state.fed.now();
    let checks: Vec<serde_json::Value> = state
        .checks
        .pending()
        .await?
        .into_iter()
        .map(|c| {
            let overdue = now >= c.check.answer_by;
            let mut v = json!(c);
            v["overdue"] = json!(overdue);
            v
        })
        .collect();
    Ok(Json(json!({"checks": checks})).into_response())
}

/// Body of `POST /api/v1/checks/{id}/answer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The person answering (default: the caller's name as other teams see it). A node token
    /// made with the CLI is nobody in particular, so `atalaya check answer --by` names them.
    by: Option<String>,
    /// What they add.
    note: Option<String>,
}

/// `POST /api/v1/checks/{id}/answer`: a person here answers a check this node received.
#[utoipa::path(
    post,
    path = "/api/v1/checks/{id}/answer",
    tag = "checks",
    params(("id" = String, Path, description = "the id (a UUID)")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn answer(
    State(state): State<AppState>,
    Need(auth, ..): Need<AnswerChecks>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = check_id(&id)?;
    let req: AnswerRequest = json_body(body).await?;
    let envelope = state
        .checks
        .answer(
            id,
            req.by.as_deref().unwrap_or(&auth.display_name),
            req.note,
        )
        .await
        .map_err(|e| match e {
            CheckError::Invalid(m) => ErrorCode::InvalidAnswer.with(m),
            other => other.into(),
        })?;
    Ok(Json(json!({"check": id, "answer": envelope})).into_response())
}

/// Query of `GET /api/v1/checks/trend`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    last: Option<u32>,
}

/// Most checks a trend looks back over.
const MAX_TREND_CHECKS: u32 = 100;

/// `GET /api/v1/checks/trend?last=N`: each member's answer times over the last N checks this
/// node started (oldest first, `null` where it did not answer), and their median.
#[utoipa::path(
    get,
    path = "/api/v1/checks/trend",
    tag = "checks",
    params(TrendQuery),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn trend(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
    query: Result<Query<TrendQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    let last = q.last.unwrap_or(10);
    if !(1..=MAX_TREND_CHECKS).contains(&last) {
        return Err(
            ErrorCode::InvalidQuery.with(format!("`last` is between 1 and {MAX_TREND_CHECKS}"))
        );
    }
    let checks = state.checks.started(last).await?;
    let trend = comm_check::trend(&checks, last as usize, state.fed.now());
    Ok(Json(json!({"trend": trend})).into_response())
}
