//! `/fed/v1/*`: what peers call. Every request must carry a valid RFC 9421 signature of a
//! current member, and nothing of its body is read before that signature verified.
//!
//! The order of checks (see also `atalaya_federation::inbox`):
//! 1. A `Content-Length` over the member limit (`inbox_max_bytes`): `too_large`, at once.
//! 2. Authentication from the request line and headers alone, at most
//!    `unauthenticated_concurrency` at a time and within `unauthenticated_timeout_ms` (else
//!    `busy`): signature input, key against the roster, timestamp window, signature (covering
//!    `Content-Digest`), nonce. Unsigned, garbage, unknown-key, stale and replayed requests are
//!    answered here; the body of an unauthenticated request is never read (hyper drops the
//!    connection, reading at most what already sits in its buffer).
//! 3. The body, for an authenticated member only: at most `inbox_bodies_per_peer` at once per
//!    member (`peer_busy`), at most `inbox_max_bytes` (`too_large`), exactly the announced
//!    length (`body_longer_than_announced`, `incomplete_body`), within `inbox_body_timeout_ms`
//!    (`body_timeout`), hashed as it streams and refused unless it is the signed one
//!    (`digest_mismatch`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atalaya_core::NodeId;
use atalaya_crypto::{IncomingSignature, RequestHead};
use atalaya_federation::wire::{self, envelopes_json};
use atalaya_federation::{Authenticated, FederationSettings, inbox as batch};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::error::ErrorCode;
use crate::{ApiError, AppState, body};

/// What a federation request must get through before its body is read: a turn among the
/// requests being authenticated, then (for a body) a turn among its member's bodies.
pub struct FedGate {
    authenticating: Semaphore,
    auth_timeout: Duration,
    /// Most bytes of one member's body.
    pub max_body: usize,
    /// How long a member has to send a body.
    pub body_timeout: Duration,
    bodies_per_peer: u32,
    reading: Arc<Mutex<HashMap<NodeId, u32>>>,
}

impl FedGate {
    /// The gate these settings describe.
    pub fn new(settings: &FederationSettings) -> Self {
        Self {
            authenticating: Semaphore::new(settings.unauthenticated_concurrency.max(1) as usize),
            auth_timeout: Duration::from_millis(settings.unauthenticated_timeout_ms),
            max_body: usize::try_from(settings.inbox_max_bytes).unwrap_or(usize::MAX),
            body_timeout: Duration::from_millis(settings.inbox_body_timeout_ms),
            bodies_per_peer: settings.inbox_bodies_per_peer.max(1),
            reading: Arc::default(),
        }
    }

    /// A turn to send a body for `node`, given back when the guard drops.
    fn start_body(&self, node: &NodeId) -> Result<BodyTurn, ApiError> {
        let mut reading = self
            .reading
            .lock()
            .map_err(|_| ApiError::internal("the body counter is poisoned"))?;
        let count = reading.entry(node.clone()).or_default();
        if *count >= self.bodies_per_peer {
            return Err(ErrorCode::PeerBusy.with(format!(
                "{node} already has {} bodies being read here; retry when one is done",
                self.bodies_per_peer
            )));
        }
        *count += 1;
        Ok(BodyTurn {
            node: node.clone(),
            reading: self.reading.clone(),
        })
    }
}

/// One member body being read.
struct BodyTurn {
    node: NodeId,
    reading: Arc<Mutex<HashMap<NodeId, u32>>>,
}

impl Drop for BodyTurn {
    fn drop(&mut self) {
        if let Ok(mut reading) = self.reading.lock()
            && let Some(count) = reading.get_mut(&self.node)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                reading.remove(&self.node);
            }
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Authenticate the calling node from the request line and headers (nothing of the body is
/// read here), waiting at most the gate's timeout for a turn and for the checks.
async fn caller(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    has_body: bool,
) -> Result<Authenticated, ApiError> {
    let authority = header_str(headers, header::HOST.as_str())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let head = RequestHead {
        method: method.as_str(),
        authority,
        path: uri.path(),
        query: uri.query(),
        has_body,
    };
    let sig = IncomingSignature {
        signature_input: header_str(headers, "signature-input"),
        signature: header_str(headers, "signature"),
        content_digest: header_str(headers, "content-digest"),
    };
    let gate = &state.fed_gate;
    let busy = || {
        ErrorCode::Busy.with(format!(
            "the node could not authenticate this request within {} ms; retry later",
            gate.auth_timeout.as_millis()
        ))
    };
    let authenticate = async {
        let _turn = gate.authenticating.acquire().await.map_err(|_| busy())?;
        Ok::<_, ApiError>(state.fed.authenticate_request(&head, &sig).await?)
    };
    tokio::time::timeout(gate.auth_timeout, authenticate)
        .await
        .map_err(|_| busy())?
}

/// The body of an authenticated request, read within the member's limits and checked
/// against its signed digest as it streams.
async fn signed_body(
    state: &AppState,
    who: &Authenticated,
    announced: Option<usize>,
    max: usize,
    body: Body,
) -> Result<axum::body::Bytes, ApiError> {
    let gate = &state.fed_gate;
    let digest = who.body_digest.ok_or_else(|| {
        ErrorCode::IncompleteCoverage
            .with("signature does not cover \"content-digest\" of the body")
    })?;
    let _turn = gate.start_body(&who.node)?;
    let read = body::read_signed(body, max, announced, digest, gate.body_timeout).await;
    if let Err(e) = &read {
        tracing::info!(sender = %who.node, code = e.code, "federation body refused");
    }
    read
}

/// `POST /fed/v1/inbox`: a batch of envelopes; a verdict for each.
pub async fn inbox(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let announced = body::content_length(&headers, state.fed_gate.max_body)?;
    let who = caller(&state, &method, &uri, &headers, true).await?;
    let bytes = signed_body(&state, &who, announced, state.fed_gate.max_body, body).await?;
    let batch = batch::read_batch(&bytes).map_err(|e| {
        let status = match e {
            batch::BatchError::TooManyEnvelopes => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    })?;
    let reply = state
        .fed
        .receive_batch(&batch.envelopes)
        .await
        .map_err(ApiError::internal)?;
    tracing::debug!(sender = %who.node, accepted = reply.accepted.len(), duplicate = reply.duplicate.len(), rejected = reply.rejected.len(), "inbox");
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
    let requester = caller(&state, &method, &uri, &headers, false).await?.node;
    let Query(q) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    if q.after < 0 {
        return Err(ErrorCode::InvalidQuery.with("`after` must not be negative"));
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
    caller(&state, &method, &uri, &headers, false).await?;
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
    caller(&state, &method, &uri, &headers, false).await?;
    let Query(q) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
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
    caller(&state, &method, &uri, &headers, false).await?;
    let Query(q) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    match state.fed.audit_consistency(q.from, q.to).await? {
        Ok(proof) => Ok(Json(serde_json::json!({
            "from": q.from,
            "to": q.to,
            "proof": proof.iter().map(atalaya_core::merkle::to_hex).collect::<Vec<_>>(),
        }))
        .into_response()),
        Err(e) => Err(ErrorCode::NoSuchProof.with(e.to_string())),
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
    let announced = body::content_length(&headers, MAX)?;
    let witness = caller(&state, &method, &uri, &headers, true).await?;
    let bytes = signed_body(&state, &witness, announced, MAX, body).await?;
    let witness = witness.node;
    let text = body::check_text(&bytes)?;
    let c: atalaya_core::audit::Cosignature = serde_json::from_str(text)
        .map_err(|e| ErrorCode::InvalidCosignature.with(e.to_string()))?;
    match state.fed.accept_cosignature(&witness, &c).await? {
        Ok(new) => Ok(Json(serde_json::json!({"stored": new})).into_response()),
        Err(r) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            r.code,
            r.message,
        )),
    }
}
