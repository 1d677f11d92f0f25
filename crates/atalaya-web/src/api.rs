//! `/api/v1/*`: the JSON API for officers and scripts, authenticated by API token.

#[allow(unused_imports)]
use crate::openapi::{JsonObject, Refusals};
use atalaya_core::{BulletinDraft, NodeId, Timestamp};
use atalaya_node::bulletins::ReadError;
use atalaya_store::{BulletinQuery, BulletinRecord, Delivery};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Need;
use crate::auth::right::{
    Acknowledge, EditOnCall, EditPolicy, EditRoster, Publish, ReadBulletins, Renotify, Retract,
};
use crate::error::ErrorCode;
use crate::{ApiError, AppState, body};

/// A bulletin id from the path.
pub(crate) fn bulletin_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse()
        .map_err(|_| ErrorCode::InvalidId.with("bulletin ids are UUIDs"))
}

/// A JSON request body, read with the API's size limit and parsed with our error codes.
pub(crate) async fn json_body<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = body::read(body).await?;
    body::parse(&bytes)
}

/// A bulletin as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct BulletinView<'a> {
    #[serde(flatten)]
    bulletin: &'a atalaya_core::Bulletin,
    received: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    retracted: Option<Value>,
}

pub(crate) fn view(r: &BulletinRecord) -> BulletinView<'_> {
    BulletinView {
        bulletin: &r.bulletin,
        received: r.received,
        retracted: r
            .retracted
            .as_ref()
            .map(|(at, reason)| json!({"at": at, "reason": reason})),
    }
}

/// Body of `POST /api/v1/bulletins/{id}/retract`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetractRequest {
    reason: String,
}

/// `POST /api/v1/bulletins/{id}/retract`: the origin withdraws its bulletin.
#[utoipa::path(
    post,
    path = "/api/v1/bulletins/{id}/retract",
    tag = "bulletins",
    params(("id" = String, Path, description = "the id (a UUID)")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn retract(
    State(state): State<AppState>,
    _: Need<Retract>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = bulletin_id(&id)?;
    let req: RetractRequest = json_body(body).await?;
    use atalaya_federation::FederationError as E;
    let retraction = state
        .fed
        .retract(id, &req.reason)
        .await
        .map_err(|e| match e {
            E::NoSuchBulletin(_) => ApiError::not_found("bulletin"),
            e @ E::NotTheOrigin(_) => ErrorCode::NotTheOrigin.with(e.to_string()),
            e @ E::AlreadyRetracted(_) => ErrorCode::AlreadyRetracted.with(e.to_string()),
            E::InvalidBulletin(m) => ErrorCode::InvalidRetraction.with(m),
            other => ApiError::internal(other),
        })?;
    Ok(Json(json!({"retraction": retraction, "bulletin": id})).into_response())
}

/// `POST /api/v1/bulletins`: publish a bulletin from this node.
#[utoipa::path(
    post,
    path = "/api/v1/bulletins",
    tag = "bulletins",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 201, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn publish(
    State(state): State<AppState>,
    _: Need<Publish>,
    body: Body,
) -> Result<Response, ApiError> {
    let draft: BulletinDraft = json_body(body).await?;
    let (bulletin, recipients) = state.fed.publish(draft).await?;
    let body = json!({"bulletin": bulletin, "recipients": recipients});
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/bulletins/{}", bulletin.id),
        )],
        Json(body),
    )
        .into_response())
}

/// Query of `GET /api/v1/bulletins`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<u32>,
    /// Only bulletins published before this instant (RFC 3339).
    #[param(value_type = Option<String>)]
    before: Option<Timestamp>,
    /// Only bulletins from this node.
    #[param(value_type = Option<String>)]
    origin: Option<NodeId>,
}

/// `GET /api/v1/bulletins`: newest first.
#[utoipa::path(
    get,
    path = "/api/v1/bulletins",
    tag = "bulletins",
    params(ListQuery),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Need(auth, ..): Need<ReadBulletins>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    let records = state
        .bulletins
        .list(
            &auth.name,
            &BulletinQuery {
                origin: q.origin,
                before: q.before,
                limit: q.limit.unwrap_or(50).clamp(1, 500),
            },
        )
        .await?;
    let items: Vec<BulletinView<'_>> = records.iter().map(|r| view(r)).collect();
    Ok(Json(json!({"bulletins": items})).into_response())
}

/// One peer's delivery of a bulletin, as the origin sees it.
#[derive(Debug, Serialize)]
struct DeliveryView {
    peer: NodeId,
    state: &'static str,
    enqueued: Timestamp,
    delivered: Option<Timestamp>,
    attempts: i64,
    last_error: Option<String>,
    /// Holds the sealed envelope only to relay it; cannot read it, does not acknowledge it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    carrier: bool,
    /// For recipients: where they stand with acknowledging it.
    #[serde(skip_serializing_if = "Option::is_none")]
    ack_state: Option<atalaya_core::ack::AckState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged: Option<Value>,
    /// When this node last re-notified the recipient.
    #[serde(skip_serializing_if = "Option::is_none")]
    renotified_at: Option<Timestamp>,
}

fn ack_json(a: &atalaya_store::AckRecord) -> Value {
    json!({"at": a.at, "by": a.by, "note": a.note, "comment": a.comment})
}

fn delivery_view(
    d: Delivery,
    bulletin: &atalaya_core::Bulletin,
    acks: &[atalaya_store::AckRecord],
    renotified: &[atalaya_store::RenotifySent],
    roster: &atalaya_core::Roster,
    now: Timestamp,
) -> DeliveryView {
    let state = match (&d.delivered, &d.last_error) {
        (Some(_), _) => "delivered",
        (None, Some(_)) => "retrying",
        (None, None) => "queued",
    };
    let reader = roster
        .member(&d.peer)
        .is_some_and(|m| bulletin.audience.includes(&m.node_id, m.country));
    let ack = acks.iter().find(|a| a.node == d.peer);
    DeliveryView {
        ack_state: reader.then(|| {
            atalaya_core::ack::ack_state(
                d.delivered.is_some(),
                ack.is_some(),
                bulletin.content.ack_required_by,
                now,
            )
        }),
        acknowledged: ack.map(ack_json),
        renotified_at: renotified
            .iter()
            .filter(|r| r.node == d.peer)
            .map(|r| r.at)
            .max(),
        carrier: !reader,
        peer: d.peer,
        state,
        enqueued: d.enqueued,
        delivered: d.delivered,
        attempts: d.attempts,
        last_error: d.last_error,
    }
}

/// `GET /api/v1/bulletins/{id}`: the bulletin and, at its origin, per-peer delivery.
#[utoipa::path(
    get,
    path = "/api/v1/bulletins/{id}",
    tag = "bulletins",
    params(("id" = String, Path, description = "the id (a UUID)")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    Need(auth, ..): Need<ReadBulletins>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = bulletin_id(&id)?;
    let record = state
        .bulletins
        .read(&auth.name, id)
        .await
        .map_err(|e| match e {
            ReadError::NotFound => ApiError::not_found("bulletin"),
            ReadError::Denied(d) => ApiError::new(StatusCode::FORBIDDEN, d.code(), d.to_string()),
            ReadError::Store(e) => e.into(),
        })?;
    let mut body = serde_json::to_value(view(&record)).map_err(ApiError::internal)?;
    if &record.bulletin.origin == state.fed.node_id() {
        let acks = state.bulletins.acks(&record).await?;
        let renotified = state.bulletins.renotifies_sent(&record).await?;
        let roster = state.fed.roster();
        let now = state.fed.now();
        let deliveries: Vec<DeliveryView> = state
            .bulletins
            .deliveries(&record)
            .await?
            .into_iter()
            .map(|d| delivery_view(d, &record.bulletin, &acks, &renotified, &roster.roster, now))
            .collect();
        let delivered = deliveries.iter().filter(|d| d.delivered.is_some()).count();
        let acknowledged = deliveries
            .iter()
            .filter(|d| d.acknowledged.is_some())
            .count();
        let readers = deliveries.iter().filter(|d| !d.carrier).count();
        body["deliveries"] = serde_json::to_value(&deliveries).map_err(ApiError::internal)?;
        body["delivered"] = json!({"done": delivered, "of": deliveries.len()});
        body["acknowledged"] = json!({"done": acknowledged, "of": readers});
    } else if let Some(own) = state
        .bulletins
        .acks(&record)
        .await?
        .iter()
        .find(|a| &a.node == state.fed.node_id())
    {
        body["acknowledgement"] = ack_json(own);
    }
    if &record.bulletin.origin != state.fed.node_id() {
        let calls: Vec<Value> = state
            .bulletins
            .escalations(&record)
            .await?
            .iter()
            .map(|e| json!({"step": escalation_step(e), "level": e.level, "target": e.target, "channel": e.channel, "outcome": e.outcome, "at": e.at, "renotify": e.renotify}))
            .collect();
        if !calls.is_empty() {
            body["escalations"] = json!(calls);
        }
    }
    Ok(Json(json!({"bulletin": body})).into_response())
}

/// The label of an escalation call: the step of the deadline schedule, or `renotify` for a
/// call the bulletin's origin asked for.
fn escalation_step(e: &atalaya_store::EscalationRecord) -> &'static str {
    use atalaya_core::escalation::OnCallRole;
    if e.renotify.is_some() {
        return "renotify";
    }
    match OnCallRole::ORDER.into_iter().find(|r| r.level() == e.level) {
        Some(OnCallRole::Primary) => "primary",
        Some(OnCallRole::Secondary) => "secondary",
        Some(OnCallRole::Lead) => "lead",
        None => "unknown",
    }
}

#[derive(Debug, Serialize)]
struct PeerView {
    peer: NodeId,
    country: Option<String>,
    endpoint: Option<String>,
    pending: i64,
    oldest_pending: Option<Timestamp>,
    lag_seconds: f64,
    delivered: i64,
    last_success: Option<Timestamp>,
    last_failure: Option<Timestamp>,
    last_error: Option<String>,
    consecutive_failures: i64,
    /// `reachable`, `lagging`, `retrying`, `unreachable` or `unknown`.
    state: &'static str,
    /// When its current streak of failures began.
    failing_since: Option<Timestamp>,
    /// When the duty roster was paged about its current outage.
    down_alerted: Option<Timestamp>,
}

/// `GET /api/v1/status`: this node, its roster and every peer's delivery state.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "node",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
) -> Result<Response, ApiError> {
    let fed = &state.fed;
    let view = fed.roster();
    let now = fed.now();
    let mut peers = Vec::new();
    for (m, s) in fed.peer_report().await? {
        let lag = s
            .oldest_pending
            .map_or(0.0, |t| now.millis_since(t) as f64 / 1000.0);
        let state = fed.peer_condition(&s);
        peers.push(PeerView {
            peer: s.peer,
            country: Some(m.country.to_string()),
            endpoint: Some(m.endpoint.clone()),
            pending: s.pending,
            oldest_pending: s.oldest_pending,
            lag_seconds: lag,
            delivered: s.delivered,
            last_success: s.last_success,
            last_failure: s.last_failure,
            last_error: s.last_error,
            consecutive_failures: s.consecutive_failures,
            state,
            failing_since: s.failing_since,
            down_alerted: s.down_alerted,
        });
    }
    let body = json!({
        "node": fed.node_id(),
        "key": fed.key_ref(),
        "roster": {"network": view.roster.network, "version": view.version(), "members": view.roster.members.len()},
        "log_head": fed.store.log_head().await?,
        "now": now,
        "peers": peers,
        "peer_alerts": state.peers.alerts(20).await?.into_iter().map(|a| json!({
            "peer": a.peer, "event": a.event, "target": a.target, "channel": a.channel,
            "outcome": a.outcome, "at": a.at,
        })).collect::<Vec<_>>(),
        // Nodes whose audit checkpoints do not hold to each other (found here or reported).
        "audit_inconsistencies": state.peers.inconsistencies(50).await?.into_iter().map(|i| json!({
            "node": i.node, "reporter": i.reporter, "code": i.code, "detail": i.detail,
            "held_size": i.held_size, "at": i.at, "report": i.envelope,
        })).collect::<Vec<_>>(),
    });
    Ok(Json(body).into_response())
}

/// `PUT /api/v1/roster`: install a coordinator-signed roster; the coordinator also sends it on.
#[utoipa::path(
    put,
    path = "/api/v1/roster",
    tag = "federation",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn install_roster(
    State(state): State<AppState>,
    _: Need<EditRoster>,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body::read(body).await?;
    let text = body::check_text(&bytes)?;
    let installed = state
        .fed
        .accept_roster_raw(text)
        .await
        .map_err(|e| match e {
            atalaya_federation::FederationError::Roster(r) => {
                ErrorCode::InvalidRoster.with(r.to_string())
            }
            other => ApiError::internal(other),
        })?;
    state
        .fed
        .publish_current_roster()
        .await
        .map_err(ApiError::internal)?;
    let version = state.fed.roster().version();
    Ok(Json(json!({"installed": installed, "version": version})).into_response())
}

/// `GET /api/v1/roster`: the roster in force.
#[utoipa::path(
    get,
    path = "/api/v1/roster",
    tag = "federation",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_roster(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
) -> Result<Response, ApiError> {
    let v = state.fed.roster();
    let signed: Value = serde_json::from_str(&v.raw).map_err(ApiError::internal)?;
    Ok(Json(json!({"roster": v.roster, "signed": signed})).into_response())
}

/// `GET /api/v1/policy`: this node's own sharing policy.
#[utoipa::path(
    get,
    path = "/api/v1/policy",
    tag = "node",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_policy(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
) -> Result<Response, ApiError> {
    Ok(Json(json!({"policy": *state.fed.node_policy()})).into_response())
}

/// `PUT /api/v1/policy`: replace this node's own sharing policy.
#[utoipa::path(
    put,
    path = "/api/v1/policy",
    tag = "node",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn set_policy(
    State(state): State<AppState>,
    _: Need<EditPolicy>,
    body: Body,
) -> Result<Response, ApiError> {
    let policy: atalaya_core::policy::NodePolicy = json_body(body).await?;
    state
        .fed
        .set_node_policy(policy)
        .await
        .map_err(|e| match e {
            atalaya_federation::FederationError::Labels(l) => l.into(),
            other => ApiError::internal(other),
        })?;
    Ok(Json(json!({"policy": *state.fed.node_policy()})).into_response())
}

/// `GET /public/v1/bulletins`: what the public may see (no credentials): TLP:CLEAR bulletins
/// whose embargo is over and that were not retracted, newest first.
pub async fn public_bulletins(State(state): State<AppState>) -> Result<Response, ApiError> {
    let records = state.fed.public_bulletins(100).await?;
    let items: Vec<BulletinView<'_>> = records.iter().map(view).collect();
    Ok(Json(json!({"bulletins": items})).into_response())
}

fn agreement_error(e: atalaya_federation::FederationError) -> ApiError {
    use atalaya_federation::FederationError as E;
    match e {
        e @ E::NotTheCoordinator(_) => ErrorCode::NotTheCoordinator.with(e.to_string()),
        e @ E::NoAgreement => ErrorCode::NoAgreement.with(e.to_string()),
        E::InvalidBulletin(m) => ErrorCode::InvalidAgreement.with(m),
        other => ApiError::internal(other),
    }
}

/// `GET /api/v1/agreement`: the sharing agreement in force and who accepted it.
#[utoipa::path(
    get,
    path = "/api/v1/agreement",
    tag = "federation",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_agreement(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
) -> Result<Response, ApiError> {
    let current = state.fed.store.current_agreement().await?;
    let status = state.fed.agreement();
    let body = match current {
        Some((version, hash, text)) => json!({
            "version": version,
            "hash": hash,
            "text": text,
            "accepted_by": status.accepted,
            "accepted_here": status.accepted.contains(state.fed.node_id()),
        }),
        None => {
            json!({"version": null, "note": "no agreement issued: every member receives every label"})
        }
    };
    Ok(Json(body).into_response())
}

/// Body of `POST /api/v1/agreement`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueAgreement {
    text: String,
}

/// `POST /api/v1/agreement`: the coordinator issues a new version.
#[utoipa::path(
    post,
    path = "/api/v1/agreement",
    tag = "federation",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 201, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn issue_agreement(
    State(state): State<AppState>,
    _: Need<EditPolicy>,
    body: Body,
) -> Result<Response, ApiError> {
    let req: IssueAgreement = json_body(body).await?;
    let version = state
        .fed
        .issue_agreement(&req.text)
        .await
        .map_err(agreement_error)?;
    Ok((StatusCode::CREATED, Json(json!({"version": version}))).into_response())
}

/// `POST /api/v1/agreement/accept`: this node accepts the current version.
#[utoipa::path(
    post,
    path = "/api/v1/agreement/accept",
    tag = "federation",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn accept_agreement(
    State(state): State<AppState>,
    _: Need<EditPolicy>,
) -> Result<Response, ApiError> {
    let version = state
        .fed
        .accept_agreement()
        .await
        .map_err(agreement_error)?;
    Ok(Json(json!({"accepted": version})).into_response())
}

/// Body of `POST /api/v1/bulletins/{id}/ack`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    #[serde(default = "received")]
    note: atalaya_core::ack::AckNote,
    comment: Option<String>,
}

fn received() -> atalaya_core::ack::AckNote {
    atalaya_core::ack::AckNote::Received
}

/// `POST /api/v1/bulletins/{id}/ack`: a person here acknowledges a bulletin this node received.
#[utoipa::path(
    post,
    path = "/api/v1/bulletins/{id}/ack",
    tag = "bulletins",
    params(("id" = String, Path, description = "the id (a UUID)")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn acknowledge(
    State(state): State<AppState>,
    Need(auth, ..): Need<Acknowledge>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = bulletin_id(&id)?;
    let req: AckRequest = json_body(body).await?;
    let envelope = state
        .fed
        .acknowledge(id, &auth.display_name, req.note, req.comment)
        .await
        .map_err(ack_error)?;
    Ok(Json(json!({"acknowledgement": envelope, "bulletin": id})).into_response())
}

/// `GET /api/v1/oncall`: this node's on-call roster.
#[utoipa::path(
    get,
    path = "/api/v1/oncall",
    tag = "node",
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn show_oncall(
    State(state): State<AppState>,
    _: Need<ReadBulletins>,
) -> Result<Response, ApiError> {
    let roster: Value = match state.oncall.json().await? {
        Some(j) => serde_json::from_str(&j).map_err(ApiError::internal)?,
        None => Value::Null,
    };
    Ok(Json(json!({"oncall": roster})).into_response())
}

/// `PUT /api/v1/oncall`: replace the on-call roster (primary, secondary, lead; e-mail and/or
/// webhook; time zone; minutes between steps).
#[utoipa::path(
    put,
    path = "/api/v1/oncall",
    tag = "node",
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn set_oncall(
    State(state): State<AppState>,
    _: Need<EditOnCall>,
    body: Body,
) -> Result<Response, ApiError> {
    let roster: atalaya_core::escalation::OnCallRoster = json_body(body).await?;
    roster
        .check()
        .map_err(|m| ErrorCode::InvalidOncall.with(m))?;
    let text = serde_json::to_string(&roster).map_err(ApiError::internal)?;
    state.oncall.replace(&text).await?;
    Ok(Json(json!({"oncall": roster})).into_response())
}

/// A refused acknowledgement, with its code.
pub(crate) fn ack_error(e: atalaya_federation::FederationError) -> ApiError {
    use atalaya_federation::FederationError as E;
    match e {
        E::NoSuchBulletin(_) => {
            ErrorCode::NeverReceived.with("this node never received that bulletin")
        }
        e @ E::OwnBulletin(_) => ErrorCode::OwnBulletin.with(e.to_string()),
        E::InvalidBulletin(m) => ErrorCode::InvalidAcknowledgement.with(m),
        other => ApiError::internal(other),
    }
}

/// A refused re-notification, with its code.
pub(crate) fn renotify_error(e: atalaya_federation::FederationError) -> ApiError {
    use atalaya_federation::FederationError as E;
    match e {
        E::NoSuchBulletin(_) => ApiError::not_found("bulletin"),
        e @ E::NotOurBulletin(_) => ErrorCode::NotOurBulletin.with(e.to_string()),
        e @ E::NotARecipient(_) => ErrorCode::NotARecipient.with(e.to_string()),
        e @ E::AlreadyAcknowledged(_) => ErrorCode::AlreadyAcknowledged.with(e.to_string()),
        e @ E::NothingOverdue(_) => ErrorCode::NothingOverdue.with(e.to_string()),
        e @ E::AlreadyRetracted(_) => ErrorCode::Retracted.with(e.to_string()),
        E::InvalidBulletin(m) => ErrorCode::InvalidRenotify.with(m),
        other => ApiError::internal(other),
    }
}

/// Body of `POST /api/v1/bulletins/{id}/renotify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenotifyRequest {
    /// The recipients to re-notify (default: every overdue one).
    nodes: Option<Vec<String>>,
}

/// `POST /api/v1/bulletins/{id}/renotify`: at the bulletin's origin, ask recipients that have
/// not acknowledged it to call their on-call roster now.
#[utoipa::path(
    post,
    path = "/api/v1/bulletins/{id}/renotify",
    tag = "bulletins",
    params(("id" = String, Path, description = "the id (a UUID)")),
    request_body(content = JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn renotify(
    State(state): State<AppState>,
    Need(auth, ..): Need<Renotify>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = bulletin_id(&id)?;
    let req: RenotifyRequest = json_body(body).await?;
    let done = state
        .fed
        .renotify(id, req.nodes.as_deref(), &auth.name)
        .await
        .map_err(renotify_error)?;
    Ok(Json(json!({
        "bulletin": id,
        "renotify": done.envelope,
        "renotified": done.nodes,
        "not_sent": done.not_sent,
    }))
    .into_response())
}
