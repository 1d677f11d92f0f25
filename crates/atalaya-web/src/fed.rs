//! `/fed/v1/*`: what peers call. Every request must carry a valid RFC 9421 signature of a
//! current member; replays and stale requests are refused before the body is looked at.

use atalaya_core::NodeId;
use atalaya_crypto::{IncomingSignature, RequestParts};
use atalaya_federation::wire::{self, Batch, envelopes_json};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::{ApiError, AppState, body};

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Authenticate the calling node.
async fn caller(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<NodeId, ApiError> {
    let authority = header_str(headers, header::HOST.as_str())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let parts = RequestParts {
        method: method.as_str(),
        authority,
        path: uri.path(),
        query: uri.query(),
        body,
    };
    let sig = IncomingSignature {
        signature_input: header_str(headers, "signature-input"),
        signature: header_str(headers, "signature"),
        content_digest: header_str(headers, "content-digest"),
    };
    Ok(state.fed.authenticate_request(&parts, &sig).await?)
}

/// `POST /fed/v1/inbox`: a batch of envelopes; a verdict for each.
pub async fn inbox(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body::read(body, wire::MAX_BATCH_BYTES).await?;
    let sender = caller(&state, &method, &uri, &headers, Some(&bytes)).await?;
    let text = body::check_text(&bytes)?;
    let batch: Batch<'_> = serde_json::from_str(text).map_err(|e| {
        ApiError::bad_request(
            "malformed_batch",
            format!("expected {{\"envelopes\": [...]}}: {e}"),
        )
    })?;
    if batch.envelopes.len() > wire::MAX_BATCH_ENVELOPES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_envelopes",
            format!("at most {} envelopes per batch", wire::MAX_BATCH_ENVELOPES),
        ));
    }
    let reply = state
        .fed
        .receive_batch(&batch.envelopes)
        .await
        .map_err(ApiError::internal)?;
    tracing::debug!(%sender, accepted = reply.accepted.len(), duplicate = reply.duplicate.len(), rejected = reply.rejected.len(), "inbox");
    Ok(Json(reply).into_response())
}

/// Query of `GET /fed/v1/outbox`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// Return envelopes after this cursor.
    #[serde(default)]
    after: i64,
    /// At most this many.
    #[serde(default = "default_limit")]
    limit: u32,
    /// Only envelopes of this origin.
    origin: Option<NodeId>,
    /// With another origin than this node and `after` = 0: start at its first envelope
    /// created at or after this time (RFC 3339), where a relay to a node that lost touch with
    /// that origin begins.
    since: Option<atalaya_core::Timestamp>,
}

fn default_limit() -> u32 {
    500
}

/// `GET /fed/v1/outbox?after=&limit=&origin=`: what the caller may receive, in log order.
pub async fn outbox(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let requester = caller(&state, &method, &uri, &headers, None).await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    if q.after < 0 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "`after` must not be negative",
        ));
    }
    let (raws, next, more) = state
        .fed
        .serve_pull(&requester, q.after, q.origin.as_ref(), q.since, q.limit)
        .await
        .map_err(ApiError::internal)?;
    let holds = wire::holds_json(&state.fed.holdings().await?);
    let json = envelopes_json(
        "{\"envelopes\":",
        raws.iter().map(String::as_str),
        &format!(",\"next\":{next},\"more\":{more},\"holds\":{holds}}}"),
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// `GET /fed/v1/roster`: the signed roster in force here.
pub async fn roster(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller(&state, &method, &uri, &headers, None).await?;
    let raw = state.fed.roster().raw.clone();
    Ok(([(header::CONTENT_TYPE, "application/json")], raw).into_response())
}

/// Query of `GET /fed/v1/checkpoint`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// Whose checkpoint.
    node: NodeId,
}

/// `GET /fed/v1/checkpoint?node=`: the newest signed audit checkpoint this node accepted of
/// `node` (a node asks its peers for its own, to prove its history was not rewritten).
pub async fn checkpoint(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<CheckpointQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    caller(&state, &method, &uri, &headers, None).await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    match state.fed.store.latest_audit_head(&q.node).await? {
        Some(head) => Ok(([(header::CONTENT_TYPE, "application/json")], head.raw).into_response()),
        None => Err(ApiError::not_found("checkpoint")),
    }
}

/// Query of `GET /fed/v1/audit/consistency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The earlier tree size (a checkpoint the caller holds).
    from: u64,
    /// The later tree size.
    to: u64,
}

/// `GET /fed/v1/audit/consistency?from=&to=`: an RFC 9162 consistency proof between two sizes
/// of this node's audit tree, for a peer that holds a checkpoint of `from` entries and is
/// offered one of `to`.
pub async fn audit_consistency(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    caller(&state, &method, &uri, &headers, None).await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    match state.fed.audit_consistency(q.from, q.to).await? {
        Ok(proof) => Ok(Json(serde_json::json!({
            "from": q.from,
            "to": q.to,
            "proof": proof.iter().map(atalaya_core::merkle::to_hex).collect::<Vec<_>>(),
        }))
        .into_response()),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_such_proof",
            e.to_string(),
        )),
    }
}

/// `POST /fed/v1/audit/cosignature`: a witness sends back its countersignature of one of this
/// node's audit checkpoints; kept only if it is the caller's, by its key, of a checkpoint this
/// node published.
pub async fn audit_cosignature(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    /// A countersignature is a few hundred bytes.
    const MAX: usize = 4096;
    let bytes = body::read(body, MAX).await?;
    let witness = caller(&state, &method, &uri, &headers, Some(&bytes)).await?;
    let text = body::check_text(&bytes)?;
    let c: atalaya_core::audit::Cosignature = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request("invalid_cosignature", e.to_string()))?;
    match state.fed.accept_cosignature(&witness, &c).await? {
        Ok(new) => Ok(Json(serde_json::json!({"stored": new})).into_response()),
        Err(r) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            r.code,
            r.message,
        )),
    }
}
