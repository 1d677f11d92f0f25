//! `/api/v1/census/*` and `/api/v1/coverage*`: census rounds (open, answer, report, compare)
//! and the coverage report of the network's member states.

#[allow(unused_imports)]
use crate::openapi::{JsonObject, Refusals};
use std::collections::BTreeSet;

use atalaya_core::census::{self, Answers, Questionnaire};
use atalaya_core::directory::coverage::{self, CoverageInput, CoverageReport, MinimumServiceSet};
use atalaya_core::directory::{DirectoryEntry, TeamId};
use atalaya_core::{Timestamp, member_states};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::json_body;
use crate::auth::Need;
use crate::auth::right::{AnswerCensus, ManageCensus, ReadDirectory};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

fn round_id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|_| ErrorCode::InvalidId.with("census round ids are UUIDs"))
}

async fn round_or_404(state: &AppState, id: Uuid) -> Result<census::CensusRound, ApiError> {
    state
        .fed
        .census_round(id)
        .await?
        .ok_or_else(|| ApiError::not_found("census round"))
}

/// `GET /api/v1/census/questionnaire`: the network's default questionnaire.
#[utoipa::path(
    get,
    path = "/api/v1/census/questionnaire",
    tag = "census",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn questionnaire(_: Need<ReadDirectory>) -> Result<Response, ApiError> {
    Ok(Json(census::default_questionnaire()).into_response())
}

/// `GET /api/v1/census/rounds`: every round this node knows, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/census/rounds",
    tag = "census",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn rounds(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
) -> Result<Response, ApiError> {
    let now = state.fed.now();
    let mut out = Vec::new();
    for round in state.fed.census_rounds().await? {
        let responses = state.fed.census_responses(round.id).await?.len();
        out.push(json!({
            "round": {"id": round.id, "title": round.title, "opened": round.opened,
                      "closes": round.closes, "closed": round.closed, "opened_by": round.opened_by,
                      "questionnaire": {"id": round.questionnaire.id, "version": round.questionnaire.version}},
            "open": round.is_open(now),
            "responses": responses,
        }));
    }
    Ok(Json(json!({"rounds": out})).into_response())
}

/// Body of `POST /api/v1/census/rounds`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRound {
    title: String,
    #[serde(default)]
    closes: Option<Timestamp>,
    #[serde(default)]
    questionnaire: Option<Questionnaire>,
}

/// `POST /api/v1/census/rounds`: the coordinator opens a round.
#[utoipa::path(
    post,
    path = "/api/v1/census/rounds",
    tag = "census",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 201, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn open_round(
    State(state): State<AppState>,
    Need(auth, ..): Need<ManageCensus>,
    body: Body,
) -> Result<Response, ApiError> {
    let req: OpenRound = json_body(body).await?;
    let round = state
        .fed
        .open_census_round(&req.title, req.closes, req.questionnaire, &auth.name)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"round": round}))).into_response())
}

/// `GET /api/v1/census/rounds/{id}`: the round with its questionnaire.
#[utoipa::path(
    get,
    path = "/api/v1/census/rounds/{id}",
    tag = "census",
    params(("id" = String, Path, description = "the id (a UUID)")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_round(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let round = round_or_404(&state, round_id(&id)?).await?;
    let open = round.is_open(state.fed.now());
    Ok(Json(json!({"round": round, "open": open})).into_response())
}

/// `POST /api/v1/census/rounds/{id}/close`: the coordinator closes a round.
#[utoipa::path(
    post,
    path = "/api/v1/census/rounds/{id}/close",
    tag = "census",
    params(("id" = String, Path, description = "the id (a UUID)")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn close_round(
    State(state): State<AppState>,
    _: Need<ManageCensus>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let round = state.fed.close_census_round(round_id(&id)?).await?;
    Ok(Json(json!({"round": round})).into_response())
}

/// Which team: `?team=`, default this node's own.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    team: Option<String>,
}

fn team_or_own(state: &AppState, team: Option<&str>) -> Result<TeamId, ApiError> {
    match team {
        None | Some("") => Ok(TeamId::of_node(state.fed.node_id())),
        Some(t) => TeamId::new(t).map_err(|m| ErrorCode::BadField.with(m)),
    }
}

/// `GET /api/v1/census/rounds/{id}/prefill?team=`: answers pre-filled from the team's record
/// (and its latest response to this round, if it answered already).
#[utoipa::path(
    get,
    path = "/api/v1/census/rounds/{id}/prefill",
    tag = "census",
    params(("id" = String, Path, description = "the id (a UUID)"), TeamQuery),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn prefill(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(id): Path<String>,
    Query(q): Query<TeamQuery>,
) -> Result<Response, ApiError> {
    let round = round_or_404(&state, round_id(&id)?).await?;
    let team = team_or_own(&state, q.team.as_deref())?;
    let answered = state
        .fed
        .census_responses(round.id)
        .await?
        .into_iter()
        .find(|r| r.team == team);
    let answers = match &answered {
        Some(r) => r.answers.clone(),
        None => match state.fed.team(team.as_str()).await? {
            Some(record) => census::prefill(&round.questionnaire, &record),
            None => Answers::new(),
        },
    };
    Ok(
        Json(json!({"team": team, "answers": answers, "answered": answered.map(|r| r.submitted)}))
            .into_response(),
    )
}

/// Body of `POST /api/v1/census/rounds/{id}/responses`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    #[serde(default)]
    team: Option<String>,
    answers: Answers,
}

/// `POST /api/v1/census/rounds/{id}/responses`: answer for a team this node is the authority
/// for (default its own).
#[utoipa::path(
    post,
    path = "/api/v1/census/rounds/{id}/responses",
    tag = "census",
    params(("id" = String, Path, description = "the id (a UUID)")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 201, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn answer(
    State(state): State<AppState>,
    Need(auth, ..): Need<AnswerCensus>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = round_id(&id)?;
    let req: Answer = json_body(body).await?;
    let team = team_or_own(&state, req.team.as_deref())?;
    let response = state
        .fed
        .answer_census(id, team, req.answers, &auth.name)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"response": response}))).into_response())
}

/// `GET /api/v1/census/rounds/{id}/responses`: the responses held here (the coordinator holds
/// everyone's, a member its own).
#[utoipa::path(
    get,
    path = "/api/v1/census/rounds/{id}/responses",
    tag = "census",
    params(("id" = String, Path, description = "the id (a UUID)")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn responses(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let round = round_or_404(&state, round_id(&id)?).await?;
    let responses = state.fed.census_responses(round.id).await?;
    Ok(Json(json!({"responses": responses})).into_response())
}

/// `GET /api/v1/census/rounds/{id}/report`: response rates and answers per question.
#[utoipa::path(
    get,
    path = "/api/v1/census/rounds/{id}/report",
    tag = "census",
    params(("id" = String, Path, description = "the id (a UUID)")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let round = round_or_404(&state, round_id(&id)?).await?;
    let responses = state.fed.census_responses(round.id).await?;
    let teams = state.fed.teams().await?;
    Ok(Json(census::report(&round, &responses, &teams)).into_response())
}

/// Which question to compare.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    question: Option<String>,
}

/// `GET /api/v1/census/compare?question=`: one question's answers across rounds, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/census/compare",
    tag = "census",
    params(CompareQuery),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn compare(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Query(q): Query<CompareQuery>,
) -> Result<Response, ApiError> {
    let question = q
        .question
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ErrorCode::MissingQuestion.with("name a question: ?question="))?;
    let mut rounds = Vec::new();
    for round in state.fed.census_rounds().await? {
        let responses = state.fed.census_responses(round.id).await?;
        rounds.push((round, responses));
    }
    if !rounds
        .iter()
        .any(|(r, _)| r.questionnaire.question(&question).is_some())
    {
        return Err(ErrorCode::UnknownQuestion.with(format!("no round asks question `{question}`")));
    }
    let series: Vec<Value> = census::compare(&rounds, &question)
        .into_iter()
        .map(|(id, title, summary)| json!({"round": id, "title": title, "summary": summary}))
        .collect();
    Ok(Json(json!({"question": question, "rounds": series})).into_response())
}

/// The network's minimum service set: the coordinator's newest entry, or the default.
pub async fn minimum_set(state: &AppState) -> Result<MinimumServiceSet, ApiError> {
    let held = state
        .fed
        .directory_entries("minimum-services")
        .await?
        .into_iter()
        .find_map(|e| match e {
            DirectoryEntry::MinimumServices(v) => serde_json::from_value(*v).ok(),
            _ => None,
        });
    Ok(held.unwrap_or_else(coverage::default_minimum_set))
}

/// The coverage report over what this node holds.
pub async fn coverage_report(state: &AppState) -> Result<CoverageReport, ApiError> {
    let states = member_states::all();
    let teams = state.fed.teams().await?;
    let accepted: BTreeSet<_> = state.fed.agreement().accepted.iter().cloned().collect();
    let roster_countries: BTreeSet<_> = state
        .fed
        .roster()
        .roster
        .members
        .iter()
        .map(|m| m.country)
        .collect();
    let minimum = minimum_set(state).await?;
    Ok(coverage::coverage(&CoverageInput {
        states: &states,
        teams: &teams,
        accepted_agreement: &accepted,
        roster_countries: &roster_countries,
        minimum: &minimum,
    }))
}

/// `?format=csv|json`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    format: Option<String>,
}

/// `GET /api/v1/coverage`: which member states have a national CSIRT that meets the minimum
/// service set, with sector, 24/7 and maturity gaps (`?format=csv` for one row per state).
#[utoipa::path(
    get,
    path = "/api/v1/coverage",
    tag = "census",
    params(FormatQuery),
    responses(
        (status = 200, description = "done", content((JsonObject = "application/json"), (String = "text/csv"))),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn coverage(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let report = coverage_report(&state).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(report).into_response()),
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"coverage.csv\"",
                ),
            ],
            coverage::to_csv(&report),
        )
            .into_response()),
        other => Err(ErrorCode::BadFormat.with(format!("format `{other}` is not json or csv"))),
    }
}

/// `GET /api/v1/coverage/minimum-services`.
#[utoipa::path(
    get,
    path = "/api/v1/coverage/minimum-services",
    tag = "census",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_minimum(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
) -> Result<Response, ApiError> {
    Ok(Json(minimum_set(&state).await?).into_response())
}

/// `PUT /api/v1/coverage/minimum-services`: the coordinator changes the minimum service set.
#[utoipa::path(
    put,
    path = "/api/v1/coverage/minimum-services",
    tag = "census",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn put_minimum(
    State(state): State<AppState>,
    _: Need<ManageCensus>,
    body: Body,
) -> Result<Response, ApiError> {
    let set: MinimumServiceSet = json_body(body).await?;
    if let Err(problems) = set.check() {
        let code = problems.first().map_or("invalid", |p| p.code);
        return Err(ApiError::problems(&problems, code));
    }
    let value = serde_json::to_value(&set).map_err(ApiError::internal)?;
    let published = state
        .fed
        .publish_directory_entry(DirectoryEntry::MinimumServices(Box::new(value)))
        .await?;
    Ok(Json(json!({"minimum_services": set, "envelope": published.envelope})).into_response())
}
