//! `/api/v1/teams`, `/api/v1/directory/*`, `/api/v1/cybercrime*`, `/api/v1/standards*`: the
//! member directory as JSON (and its exports), for officers and scripts.
//!
//! Reading needs `directory:read`; publishing needs `directory:write`, and the federation layer
//! refuses an entry this node is not the authority for (403 `not_authoritative`). Every entry
//! is checked (`DirectoryEntry::check_content`) before it is signed: a refused entry names every
//! problem and nothing is stored.

#[allow(unused_imports)]
use crate::openapi::{JsonObject, Refusals};
use atalaya_core::CountryCode;
use atalaya_core::directory::{
    self, CountryCybercrime, DirectoryEntry, StandardsAdoption, StandardsRegistry, TeamRecord,
};
use atalaya_formats::directory as formats;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::json_body;
use crate::auth::Need;
use crate::auth::right::{EditDirectory, ManageCensus, ReadDirectory};
use crate::error::ErrorCode;
use crate::{ApiError, AppState, body};

/// Check an entry, naming every problem (422), before handing it to the federation.
fn checked(state: &AppState, entry: DirectoryEntry) -> Result<DirectoryEntry, ApiError> {
    let today = directory::Day::of(state.fed.now());
    match entry.check_content(today) {
        Ok(()) => Ok(entry),
        Err(problems) => {
            let code = problems.first().map_or("invalid", |p| p.code);
            Err(ApiError::problems(&problems, code))
        }
    }
}

/// Publish an entry and reply with what was published.
async fn publish(state: &AppState, entry: DirectoryEntry) -> Result<Value, ApiError> {
    let entry = checked(state, entry)?;
    // The authority is checked first, so that a record for someone else's team is refused as
    // such whatever its content.
    let published = state.fed.publish_directory_entry(entry.clone()).await?;
    Ok(json!({
        "entry": entry,
        "envelope": published.envelope,
        "recipients": published.recipients,
    }))
}

/// Parse a JSON body as `T`, filling `updated` with the node's clock when it is missing.
async fn entry_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    body: Body,
) -> Result<T, ApiError> {
    let mut value: Value = json_body(body).await?;
    if let Value::Object(map) = &mut value {
        map.insert(
            "updated".into(),
            serde_json::to_value(state.fed.now()).unwrap_or(Value::Null),
        );
    }
    serde_json::from_value(value).map_err(|e| ErrorCode::MalformedEntry.with(e.to_string()))
}

/// Filters of `GET /api/v1/teams`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TeamFilter {
    country: Option<String>,
    #[serde(rename = "type")]
    team_type: Option<String>,
    service: Option<String>,
}

/// `GET /api/v1/teams`: every team record this node holds, optionally filtered.
#[utoipa::path(
    get,
    path = "/api/v1/teams",
    tag = "directory",
    params(TeamFilter),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn list_teams(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Query(filter): Query<TeamFilter>,
) -> Result<Response, ApiError> {
    let country =
        match filter.country.as_deref() {
            None | Some("") => None,
            Some(c) => Some(CountryCode::new(c).map_err(|_| {
                ErrorCode::UnknownCountry.with(format!("`{c}` is not a country code"))
            })?),
        };
    let team_type = match filter.team_type.as_deref() {
        None | Some("") => None,
        Some(t) => Some(directory::TeamType::parse(t).ok_or_else(|| {
            ErrorCode::BadField.with(format!(
                "`{t}` is not a team type (national, government, sectoral, academic, private)"
            ))
        })?),
    };
    if let Some(s) = filter.service.as_deref().filter(|s| !s.is_empty())
        && directory::vocab::service(s).is_none()
    {
        return Err(ErrorCode::UnknownService.with(format!(
            "`{s}` is not a service of the FIRST CSIRT Services Framework v2.1"
        )));
    }
    let teams: Vec<TeamRecord> = state
        .fed
        .teams()
        .await?
        .into_iter()
        .filter(|t| country.is_none_or(|c| t.country == c))
        .filter(|t| team_type.is_none_or(|ty| t.team_type == ty))
        .filter(|t| {
            filter
                .service
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_none_or(|s| t.offers(s))
        })
        .collect();
    Ok(Json(json!({"teams": teams})).into_response())
}

async fn team_or_404(state: &AppState, id: &str) -> Result<TeamRecord, ApiError> {
    state
        .fed
        .team(id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))
}

/// `GET /api/v1/teams/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/teams/{id}",
    tag = "directory",
    params(("id" = String, Path, description = "the team id")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_team(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(team_or_404(&state, &id).await?).into_response())
}

/// `PUT /api/v1/teams/{id}`: publish this node's record for a team it is the authority for.
#[utoipa::path(
    put,
    path = "/api/v1/teams/{id}",
    tag = "directory",
    params(("id" = String, Path, description = "the team id")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn put_team(
    State(state): State<AppState>,
    _: Need<EditDirectory>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let team: TeamRecord = entry_body(&state, body).await?;
    if team.id.as_str() != id {
        return Err(ErrorCode::IdMismatch.with(format!(
            "the record's id `{}` is not the path's `{id}`",
            team.id
        )));
    }
    let team = with_armored_keys(directory::normalise(team), state.fed.now())?;
    let reply = publish(&state, DirectoryEntry::Team(Box::new(team))).await?;
    Ok(Json(team_reply(reply)).into_response())
}

/// The reply to a team publication: `{team, envelope, recipients}`.
fn team_reply(mut reply: Value) -> Value {
    let team = reply["entry"]["data"].take();
    json!({"team": team, "envelope": reply["envelope"], "recipients": reply["recipients"]})
}

/// Read an armoured key given with a team record and refuse what the directory must not list:
/// a key that is malformed, fails its self-signatures, is too weak, revoked or expired, or
/// whose encryption subkeys all expired or were revoked. `Err` is `(code, message)`:
/// `bad-key` or `expired-key`.
pub(crate) fn check_armored_key(
    armored: &str,
    now: atalaya_core::Timestamp,
) -> Result<atalaya_crypto::OpenPgpKey, (&'static str, String)> {
    use atalaya_crypto::openpgp::EncryptionState;
    let key = atalaya_crypto::openpgp::parse_public_key(armored.trim().as_bytes())
        .map_err(|e| ("bad-key", e.to_string()))?;
    let fpr = &key.fingerprint;
    let now = now.unix_seconds();
    if key.revoked {
        return Err(("bad-key", format!("key {fpr} has been revoked")));
    }
    if key.expired_at(now) {
        return Err(("expired-key", format!("key {fpr} has expired")));
    }
    match key.encryption_state(now) {
        EncryptionState::Expired(sub) => Err((
            "expired-key",
            format!(
                "the encryption subkey {} of key {fpr} has expired; extend it or add a new one",
                sub.fingerprint
            ),
        )),
        EncryptionState::Revoked(sub) => Err((
            "bad-key",
            format!(
                "the encryption subkey {} of key {fpr} has been revoked and there is no other",
                sub.fingerprint
            ),
        )),
        // A key that only signs is listed (teams publish such keys); hygiene points it out.
        EncryptionState::Usable(_) | EncryptionState::None => Ok(key),
    }
}

/// Fill each armoured key's fingerprint and expiry from the key itself, refusing a key that
/// [`check_armored_key`] refuses or whose fingerprint is not the one given.
pub(crate) fn with_armored_keys(
    mut team: TeamRecord,
    now: atalaya_core::Timestamp,
) -> Result<TeamRecord, ApiError> {
    for (i, key) in team.pgp_keys.iter_mut().enumerate() {
        let Some(armored) = &key.armored else {
            continue;
        };
        let field = format!("pgp_keys[{i}]");
        let refuse = |code: &'static str, message: String| {
            ApiError::problems(&[directory::Problem::new(code, &field, message)], code)
        };
        let parsed = check_armored_key(armored, now).map_err(|(code, m)| refuse(code, m))?;
        if !key.fingerprint.is_empty() && key.fingerprint != parsed.fingerprint {
            return Err(refuse(
                ErrorCode::BadKey.as_str(),
                format!(
                    "the fingerprint given ({}) is not the key's ({})",
                    key.fingerprint, parsed.fingerprint
                ),
            ));
        }
        key.fingerprint = parsed.fingerprint;
        key.expires = parsed
            .expires
            .and_then(atalaya_node::directory::day_of_unix);
    }
    Ok(team)
}

/// `POST /api/v1/teams/{id}/confirm-contacts`: a person confirms the team's contacts are right.
#[utoipa::path(
    post,
    path = "/api/v1/teams/{id}/confirm-contacts",
    tag = "directory",
    params(("id" = String, Path, description = "the team id")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn confirm_contacts(
    State(state): State<AppState>,
    _: Need<EditDirectory>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut team = team_or_404(&state, &id).await?;
    let now = state.fed.now();
    team.contacts_confirmed = Some(now);
    team.updated = now;
    let reply = publish(&state, DirectoryEntry::Team(Box::new(team))).await?;
    Ok(Json(team_reply(reply)).into_response())
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /api/v1/teams/{id}/rfc2350`: the team's RFC 2350 description (public fields).
#[utoipa::path(
    get,
    path = "/api/v1/teams/{id}/rfc2350",
    tag = "directory",
    params(("id" = String, Path, description = "the team id")),
    responses(
        (status = 200, description = "done", body = String, content_type = "text/plain"),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn team_rfc2350(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let team = team_or_404(&state, &id).await?;
    let today = directory::Day::of(state.fed.now());
    Ok(text(
        "text/plain; charset=utf-8",
        formats::rfc2350::rfc2350(&team, today),
    ))
}

/// `GET /api/v1/teams/{id}/vcard`: the team's public contacts as a vCard 4.0.
#[utoipa::path(
    get,
    path = "/api/v1/teams/{id}/vcard",
    tag = "directory",
    params(("id" = String, Path, description = "the team id")),
    responses(
        (status = 200, description = "done", body = String, content_type = "text/vcard"),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn team_vcard(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let team = team_or_404(&state, &id).await?;
    Ok(text(
        "text/vcard; charset=utf-8",
        formats::vcard::vcard(&team),
    ))
}

/// Query of the export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    view: Option<String>,
}

fn view_of(s: Option<&str>) -> Result<formats::View, ApiError> {
    match s {
        None | Some("members") => Ok(formats::View::Members),
        Some("public") => Ok(formats::View::Public),
        Some(other) => {
            Err(ErrorCode::BadView.with(format!("view `{other}` is not `members` or `public`")))
        }
    }
}

/// `GET /api/v1/directory/export?format=json|csv|ti|first|vcard&view=members|public`.
#[utoipa::path(
    get,
    path = "/api/v1/directory/export",
    tag = "directory",
    params(ExportQuery),
    responses(
        (status = 200, description = "done", content((JsonObject = "application/json"), (String = "text/csv"), (String = "text/vcard"))),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let view = view_of(q.view.as_deref())?;
    let teams = state.fed.teams().await?;
    let now = state.fed.now();
    let attachment = |name: &str| format!("attachment; filename=\"{name}\"");
    Ok(match q.format.as_deref().unwrap_or("json") {
        "json" => (
            [(header::CONTENT_DISPOSITION, attachment("directory.json"))],
            Json(formats::json::export_directory(&teams, now, view)),
        )
            .into_response(),
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, attachment("directory.csv")),
            ],
            formats::csv::export_csv(&teams, view),
        )
            .into_response(),
        "ti" => Json(formats::ti::export_ti(&teams)).into_response(),
        "first" => Json(formats::first::export_first(&teams)).into_response(),
        "vcard" => text("text/vcard; charset=utf-8", formats::vcard::vcards(&teams)),
        other => {
            return Err(ErrorCode::BadFormat.with(format!(
                "format `{other}` is not json, csv, ti, first or vcard"
            )));
        }
    })
}

/// Query of the import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    format: Option<String>,
}

/// `POST /api/v1/directory/import?format=ti|first|json`: import team records as teams this
/// node hosts. All or nothing: if any team is refused, none is published.
#[utoipa::path(
    post,
    path = "/api/v1/directory/import",
    tag = "directory",
    params(ImportQuery),
    request_body(content((JsonObject = "application/json"), (String = "text/csv")), description = "the entries, in the query's `format`"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn import(
    State(state): State<AppState>,
    _: Need<EditDirectory>,
    Query(q): Query<ImportQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body::read(body).await?;
    let me = state.fed.node_id().clone();
    let now = state.fed.now();
    let format_error = |e: formats::FormatError| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
    };
    let results: Vec<Result<TeamRecord, formats::ImportProblem>> =
        match q.format.as_deref().unwrap_or("") {
            "ti" => formats::ti::import_ti(&bytes, &me, now).map_err(format_error)?,
            "first" => formats::first::import_first(&bytes, &me, now).map_err(format_error)?,
            "json" => formats::json::import_directory(&bytes)
                .map_err(format_error)?
                .teams
                .into_iter()
                .map(Ok)
                .collect(),
            other => {
                return Err(ErrorCode::BadFormat.with(format!(
                    "format `{other}` is not ti, first or json (give ?format=)"
                )));
            }
        };
    let today = directory::Day::of(now);
    let roster = state.fed.roster();
    let mut problems = Vec::new();
    let mut teams = Vec::new();
    for result in results {
        match result {
            Err(p) => problems
                .push(json!({"team": p.team, "code": p.code, "field": "", "message": p.message})),
            Ok(team) => {
                let mut team = directory::normalise(team);
                team.updated = now;
                let entry = DirectoryEntry::Team(Box::new(team.clone()));
                if let Err(e) = entry.check_authority(&me, &roster.roster) {
                    problems.push(json!({"team": team.id, "code": e.code(), "field": "id", "message": e.to_string()}));
                    continue;
                }
                match entry.check_content(today) {
                    Ok(()) => teams.push(team),
                    Err(ps) => problems.extend(ps.into_iter().map(|p| {
                        json!({"team": team.id, "code": p.code, "field": p.field, "message": p.message})
                    })),
                }
            }
        }
    }
    if teams.is_empty() && problems.is_empty() {
        return Err(ErrorCode::EmptyImport.with("the file holds no team"));
    }
    if !problems.is_empty() {
        // A file holding a team of another authority is refused with that code, but as the
        // whole file's problem (422), not as a refusal of the caller (403).
        let code = match problems[0]["code"].as_str() {
            Some("not_authoritative") => ErrorCode::NotAuthoritative,
            _ => ErrorCode::ImportRefused,
        };
        return Err(code
            .with(format!(
                "{} problem(s) in the file; nothing was imported",
                problems.len()
            ))
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .with_problems(problems));
    }
    let mut imported = Vec::with_capacity(teams.len());
    for team in teams {
        let id = team.id.clone();
        state
            .fed
            .publish_directory_entry(DirectoryEntry::Team(Box::new(team)))
            .await?;
        imported.push(id);
    }
    Ok(Json(json!({"imported": imported})).into_response())
}

/// Query of the key-hygiene report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HygieneQuery {
    within_days: Option<i64>,
    max_age_days: Option<i64>,
}

/// `GET /api/v1/directory/hygiene`: keys that expire soon (or have), keys that cannot be
/// encrypted to (`key_problems`: encryption subkey expired, expiring or revoked, none, key
/// revoked, key no longer passing the checks), and contacts nobody
/// confirmed recently (windows from the node's `[directory]` settings unless given), with the
/// warnings this node sent.
#[utoipa::path(
    get,
    path = "/api/v1/directory/hygiene",
    tag = "directory",
    params(HygieneQuery),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn hygiene(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Query(q): Query<HygieneQuery>,
) -> Result<Response, ApiError> {
    let within = q.within_days.unwrap_or(state.directory.key_warning_days);
    let max_age = q
        .max_age_days
        .unwrap_or(state.directory.contacts_max_age_days);
    if !(0..=3650).contains(&within) || !(1..=3650).contains(&max_age) {
        return Err(ErrorCode::BadWindow.with("within_days is 0–3650 and max_age_days 1–3650"));
    }
    let teams = state.fed.teams().await?;
    let now = state.fed.now();
    let today = directory::Day::of(now);
    let keys = directory::expiring_keys(&teams, today, within);
    let problems = directory::key_problems(
        &teams,
        today,
        within,
        &atalaya_node::directory::read_armored_key,
    );
    let stale = directory::stale_contacts(&teams, now, max_age);
    Ok(Json(json!({
        "expiring_keys": keys.iter().map(|k| json!({
            "team": k.team, "fingerprint": k.fingerprint, "expires": k.expires, "days_left": k.days_left,
        })).collect::<Vec<_>>(),
        "key_problems": problems.iter().map(key_problem_json).collect::<Vec<_>>(),
        "stale_contacts": stale.iter().map(|s| json!({
            "team": s.team, "last_confirmed": s.last_confirmed,
        })).collect::<Vec<_>>(),
        "warnings_sent": state.fed.store.directory_warnings(100).await?.iter().map(|w| json!({
            "team": w.team, "subject": w.subject, "stage": w.stage, "text": w.text,
            "sent": w.sent, "recipients": w.recipients,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// One key finding: `{team, fingerprint, problem}` and, by problem, `subkey`, `expires`,
/// `days_left` or `reason`.
fn key_problem_json(p: &directory::KeyProblem) -> Value {
    use directory::KeyFinding as F;
    let mut v = json!({"team": p.team, "fingerprint": p.fingerprint, "problem": p.finding.code()});
    match &p.finding {
        F::EncryptionExpiring {
            subkey,
            expires,
            days_left,
        } => {
            v["subkey"] = json!(subkey);
            v["expires"] = json!(expires);
            v["days_left"] = json!(days_left);
        }
        F::EncryptionExpired { subkey, expired } => {
            v["subkey"] = json!(subkey);
            v["expires"] = json!(expired);
        }
        F::EncryptionRevoked { subkey } => v["subkey"] = json!(subkey),
        F::Unreadable { reason } => v["reason"] = json!(reason),
        F::Revoked | F::NoEncryptionKey => {}
    }
    v
}

fn country_of(s: &str) -> Result<CountryCode, ApiError> {
    CountryCode::new(s)
        .ok()
        .filter(|c| atalaya_core::member_states::is_member_state(*c))
        .ok_or_else(|| ErrorCode::UnknownCountry.with(format!("`{s}` is not an OAS member state")))
}

/// Refuse an entry whose country is not the path's.
fn same_country(entry: CountryCode, path: CountryCode) -> Result<(), ApiError> {
    if entry == path {
        Ok(())
    } else {
        Err(ErrorCode::IdMismatch.with(format!("the entry is for {entry}, the path for {path}")))
    }
}

/// `GET /api/v1/cybercrime`: every member state's cybercrime entry (members only).
#[utoipa::path(
    get,
    path = "/api/v1/cybercrime",
    tag = "directory",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn list_cybercrime(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
) -> Result<Response, ApiError> {
    let countries = state.fed.cybercrime_entries().await?;
    Ok(Json(json!({"countries": countries})).into_response())
}

/// `GET /api/v1/cybercrime/{country}`.
#[utoipa::path(
    get,
    path = "/api/v1/cybercrime/{country}",
    tag = "directory",
    params(("country" = String, Path, description = "ISO 3166-1 alpha-2 country code")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_cybercrime(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
    Path(country): Path<String>,
) -> Result<Response, ApiError> {
    let country = country_of(&country)?;
    let entry = state
        .fed
        .cybercrime_entries()
        .await?
        .into_iter()
        .find(|c| c.country == country)
        .ok_or_else(|| ApiError::not_found("cybercrime entry"))?;
    Ok(Json(entry).into_response())
}

/// `PUT /api/v1/cybercrime/{country}`: this node's country's authorities and laws.
#[utoipa::path(
    put,
    path = "/api/v1/cybercrime/{country}",
    tag = "directory",
    params(("country" = String, Path, description = "ISO 3166-1 alpha-2 country code")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn put_cybercrime(
    State(state): State<AppState>,
    _: Need<EditDirectory>,
    Path(country): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let country = country_of(&country)?;
    let entry: CountryCybercrime = entry_body(&state, body).await?;
    same_country(entry.country, country)?;
    let reply = publish(&state, DirectoryEntry::Cybercrime(Box::new(entry))).await?;
    Ok(Json(reply).into_response())
}

/// `GET /api/v1/standards`: the registry of recommended standards.
#[utoipa::path(
    get,
    path = "/api/v1/standards",
    tag = "directory",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_standards(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
) -> Result<Response, ApiError> {
    Ok(match state.fed.standards_registry().await? {
        Some(r) => Json(json!(r)).into_response(),
        None => Json(json!({"standards": [], "updated": null})).into_response(),
    })
}

/// `PUT /api/v1/standards`: the coordinator keeps the registry.
#[utoipa::path(
    put,
    path = "/api/v1/standards",
    tag = "directory",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn put_standards(
    State(state): State<AppState>,
    _: Need<ManageCensus>,
    body: Body,
) -> Result<Response, ApiError> {
    let registry: StandardsRegistry = entry_body(&state, body).await?;
    let reply = publish(
        &state,
        DirectoryEntry::StandardsRegistry(Box::new(registry)),
    )
    .await?;
    Ok(Json(reply).into_response())
}

/// `GET /api/v1/standards/adoption`: every state's adoption of the recommended standards.
#[utoipa::path(
    get,
    path = "/api/v1/standards/adoption",
    tag = "directory",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn list_adoption(
    State(state): State<AppState>,
    _: Need<ReadDirectory>,
) -> Result<Response, ApiError> {
    let countries = state.fed.standards_adoptions().await?;
    Ok(Json(json!({"countries": countries})).into_response())
}

/// `PUT /api/v1/standards/adoption/{country}`: this node's country's adoption. Standards not in
/// the registry are refused.
#[utoipa::path(
    put,
    path = "/api/v1/standards/adoption/{country}",
    tag = "directory",
    params(("country" = String, Path, description = "ISO 3166-1 alpha-2 country code")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn put_adoption(
    State(state): State<AppState>,
    _: Need<EditDirectory>,
    Path(country): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let country = country_of(&country)?;
    let adoption: StandardsAdoption = entry_body(&state, body).await?;
    same_country(adoption.country, country)?;
    let known: Vec<String> = state
        .fed
        .standards_registry()
        .await?
        .map(|r| r.standards.into_iter().map(|s| s.id).collect())
        .unwrap_or_default();
    let unknown: Vec<directory::Problem> = adoption
        .adoptions
        .iter()
        .enumerate()
        .filter(|(_, a)| !known.contains(&a.standard))
        .map(|(i, a)| {
            directory::Problem::new(
                "unknown-standard",
                format!("adoptions[{i}].standard"),
                format!(
                    "`{}` is not in the network's standards registry",
                    a.standard
                ),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::problems(&unknown, ErrorCode::UnknownStandard));
    }
    let reply = publish(
        &state,
        DirectoryEntry::StandardsAdoption(Box::new(adoption)),
    )
    .await?;
    Ok(Json(reply).into_response())
}
