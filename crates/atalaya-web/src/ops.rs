//! Health, readiness and Prometheus metrics.

use std::fmt::Write as _;

use atalaya_core::Timestamp;
use atalaya_core::peer_health::Reachability;
use atalaya_federation::Metrics;
use atalaya_store::PeerState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::{ApiError, AppState};

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the store answers and a roster is in force.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.fed.store.log_head().await {
        Ok(_) => (
            StatusCode::OK,
            format!("ready: roster v{}\n", state.fed.roster().version()),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

/// Unknown path.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics` on the node's address: with an API token or a console session, whoever
/// asks (a local reverse proxy is as much "loopback" as the operator). A scraper without a
/// token reads them at `[http] metrics_listen` instead ([`metrics_open`]).
pub async fn metrics(
    State(state): State<AppState>,
    caller: Result<Principal, ApiError>,
) -> Result<Response, ApiError> {
    caller?;
    metrics_open(State(state)).await
}

/// The router of the metrics-only address (`[http] metrics_listen`): `GET /metrics` without
/// credentials, nothing else. (Not part of the node's router, nor of its authorisation matrix.)
pub fn metrics_only(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics_open))
        .fallback(not_found)
        .with_state(state)
}

/// `GET /metrics` on the metrics-only address: no credentials (whoever can reach that address
/// may read them).
pub async fn metrics_open(State(state): State<AppState>) -> Result<Response, ApiError> {
    let fed = &state.fed;
    let m = &fed.metrics;
    let mut out = String::with_capacity(4096);
    let mut counter = |name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    };
    counter(
        "atalaya_envelopes_in_total",
        "Envelopes newly stored from peers.",
        Metrics::get(&m.envelopes_in),
    );
    counter(
        "atalaya_envelopes_duplicate_total",
        "Envelopes received that were already held.",
        Metrics::get(&m.envelopes_duplicate),
    );
    counter(
        "atalaya_envelopes_out_total",
        "Envelopes accepted by peers (push or pull).",
        Metrics::get(&m.envelopes_out),
    );
    counter(
        "atalaya_envelopes_published_total",
        "Envelopes this node originated.",
        Metrics::get(&m.envelopes_published),
    );
    counter(
        "atalaya_push_failures_total",
        "Pushes to peers that failed.",
        Metrics::get(&m.push_failures),
    );
    counter(
        "atalaya_audit_write_failures_total",
        "Writes to the audit trail that failed (their requests were refused).",
        Metrics::get(&m.audit_write_failures),
    );
    counter(
        "atalaya_undecodable_rows_total",
        "Stored envelopes whose labels could not be decoded when a peer pulled (not served).",
        Metrics::get(&m.undecodable_rows),
    );
    counter(
        "atalaya_sync_rounds_total",
        "Anti-entropy rounds completed.",
        Metrics::get(&m.sync_rounds),
    );
    counter(
        "atalaya_relay_pulls_total",
        "Requests to holders of an origin this node could not reach.",
        Metrics::get(&m.relay_pulls),
    );
    counter(
        "atalaya_relayed_in_total",
        "Envelopes newly stored from holders of an unreachable origin.",
        Metrics::get(&m.relayed_in),
    );
    counter(
        "atalaya_relay_inconsistent_total",
        "Holders that served less of an origin than they said they hold.",
        Metrics::get(&m.relay_inconsistent),
    );
    counter(
        "atalaya_peer_alerts_total",
        "Pages sent to the duty roster about peers going down or coming back.",
        Metrics::get(&m.peer_alerts),
    );
    let _ = writeln!(
        out,
        "# HELP atalaya_rejections_total Envelopes and requests refused, by reason.\n# TYPE atalaya_rejections_total counter"
    );
    for (reason, n) in m.rejections() {
        let _ = writeln!(
            out,
            "atalaya_rejections_total{{reason=\"{}\"}} {n}",
            escape(reason)
        );
    }
    let now = fed.now();
    let states: Vec<_> = fed
        .peer_report()
        .await?
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let seconds_since =
        |t: Option<Timestamp>| t.map_or(0.0, |t| now.millis_since(t) as f64 / 1000.0);
    let mut per_peer = |name: &str, help: &str, value: &dyn Fn(&PeerState) -> String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for s in &states {
            let _ = writeln!(
                out,
                "{name}{{peer=\"{}\"}} {}",
                escape(s.peer.as_str()),
                value(s)
            );
        }
    };
    per_peer(
        "atalaya_outbox_depth",
        "Envelopes queued for a peer.",
        &|s| s.pending.to_string(),
    );
    per_peer(
        "atalaya_outbox_lag_seconds",
        "Age of the oldest envelope queued for a peer.",
        &|s| format!("{:.3}", seconds_since(s.oldest_pending)),
    );
    per_peer(
        "atalaya_peer_consecutive_failures",
        "Failed exchanges since the last success.",
        &|s| s.consecutive_failures.to_string(),
    );
    per_peer(
        "atalaya_peer_unreachable",
        "1 when the peer is unreachable by the node's health rules (a streak of failures over a time window), else 0.",
        &|s| u8::from(fed.reachability(s) == Reachability::Unreachable).to_string(),
    );
    per_peer(
        "atalaya_peer_failing_seconds",
        "How long the peer's current streak of failures has lasted (0 when its last exchange succeeded).",
        &|s| format!("{:.3}", seconds_since(s.failing_since)),
    );
    let _ = writeln!(
        out,
        "# HELP atalaya_roster_version Version of the roster in force.\n# TYPE atalaya_roster_version gauge\natalaya_roster_version {}",
        fed.roster().version()
    );
    let _ = writeln!(
        out,
        "# HELP atalaya_log_head Highest cursor of the local envelope log.\n# TYPE atalaya_log_head gauge\natalaya_log_head {}",
        fed.store.log_head().await?
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}
