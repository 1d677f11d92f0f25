//! `/api/v1/checks*`: communication checks. Start one (for all peers or some), read its report,
//! the history and each member's trend; at a target, list the checks waiting for an answer and
//! answer one.

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
use crate::auth::Principal;
use crate::{ApiError, AppState};
use atalaya_core::access::Permission;

/// Minutes given to answer when the request does not say.
const DEFAULT_ANSWER_WITHIN_MINUTES: u32 = 60;

fn check_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad_request("invalid_id", "check ids are UUIDs"))
}

pub(crate) fn check_error(e: CheckError) -> ApiError {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match e {
        e @ CheckError::UnknownNode(_) => {
            ApiError::new(unprocessable, "unknown_node", e.to_string())
        }
        e @ CheckError::OwnNode => ApiError::new(unprocessable, "own_node", e.to_string()),
        e @ CheckError::NoTargets => ApiError::new(unprocessable, "no_targets", e.to_string()),
        CheckError::Invalid(m) => ApiError::new(unprocessable, "invalid_check", m),
        e @ CheckError::NeverReceived(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "never_received", e.to_string())
        }
        e @ CheckError::OwnCheck(_) => ApiError::new(unprocessable, "own_check", e.to_string()),
        e @ CheckError::AlreadyAnswered(_) => {
            ApiError::new(StatusCode::CONFLICT, "already_answered", e.to_string())
        }
        CheckError::Federation(e @ atalaya_federation::FederationError::NotInRoster(_)) => {
            ApiError::new(StatusCode::FORBIDDEN, "removed_member", e.to_string())
        }
        other => ApiError::internal(other),
    }
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
pub async fn start(
    State(state): State<AppState>,
    auth: Principal,
    body: Body,
) -> Result<Response, ApiError> {
    auth.require(Permission::RunChecks)?;
    let req: StartRequest = json_body(body).await?;
    let minutes = req
        .answer_within_minutes
        .unwrap_or(DEFAULT_ANSWER_WITHIN_MINUTES);
    let started = state
        .checks
        .start(req.targets.as_deref(), req.message, minutes, &auth.name)
        .await
        .map_err(check_error)?;
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/checks`: the checks this node started, newest first, with their counts.
pub async fn history(
    State(state): State<AppState>,
    auth: Principal,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    auth.require(Permission::ReadBulletins)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let now = state.fed.now();
    let checks: Vec<comm_check::CheckSummary> = state
        .fed
        .store
        .comm_checks(q.limit.unwrap_or(50).clamp(1, 500))
        .await?
        .iter()
        .map(|f| comm_check::summary(f, now))
        .collect();
    Ok(Json(json!({"checks": checks})).into_response())
}

/// `GET /api/v1/checks/{id}`: the report of a check this node started; at a target, the
/// check as received with this node's answer.
pub async fn report(
    State(state): State<AppState>,
    auth: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(Permission::ReadBulletins)?;
    let id = check_id(&id)?;
    if let Some(facts) = state.fed.store.comm_check(id).await? {
        let report = comm_check::report(&facts, state.fed.now());
        return Ok(Json(json!({"check": report})).into_response());
    }
    match state.fed.store.received_check(id).await? {
        Some(received) => Ok(Json(json!({"received_check": received})).into_response()),
        None => Err(ApiError::not_found("check")),
    }
}

/// `GET /api/v1/checks/pending`: checks this node received that nobody here answered yet.
pub async fn pending(State(state): State<AppState>, auth: Principal) -> Result<Response, ApiError> {
    auth.require(Permission::ReadBulletins)?;
    let now = state.fed.now();
    let checks: Vec<serde_json::Value> = state
        .fed
        .store
        .pending_checks()
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
pub async fn answer(
    State(state): State<AppState>,
    auth: Principal,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    auth.require(Permission::AnswerChecks)?;
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
            CheckError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_answer", m)
            }
            other => check_error(other),
        })?;
    Ok(Json(json!({"check": id, "answer": envelope})).into_response())
}

/// Query of `GET /api/v1/checks/trend`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    last: Option<u32>,
}

/// Most checks a trend looks back over.
const MAX_TREND_CHECKS: u32 = 100;

/// `GET /api/v1/checks/trend?last=N`: each member's answer times over the last N checks this
/// node started (oldest first, `null` where it did not answer), and their median.
pub async fn trend(
    State(state): State<AppState>,
    auth: Principal,
    query: Result<Query<TrendQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    auth.require(Permission::ReadBulletins)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let last = q.last.unwrap_or(10);
    if !(1..=MAX_TREND_CHECKS).contains(&last) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`last` is between 1 and {MAX_TREND_CHECKS}"),
        ));
    }
    let checks = state.fed.store.comm_checks(last).await?;
    let trend = comm_check::trend(&checks, last as usize, state.fed.now());
    Ok(Json(json!({"trend": trend})).into_response())
}
