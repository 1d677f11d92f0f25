//! The edge every request crosses before a handler sees it (tower-http where it fits):
//!
//! - a request id (`x-request-id`, kept when the client or a proxy sent a well-formed one,
//!   made here otherwise), echoed on the response, put into the JSON error body as
//!   `error.request_id` and into the request's tracing span, so every log line of the work the
//!   request caused carries it;
//! - one access-log line per request: method, path (never the query, which may carry a
//!   token), status, latency and the request id;
//! - a request timeout (`[http] request_timeout_secs`), except for the endless event streams;
//! - one body limit per route group ([`BodyLimit`]): the handler reads with `body::read`, and
//!   the group's limit is the one enforced, with the same `too_large` refusal as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::ApiError;
use crate::error::ErrorBody;

/// The request id's header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Paths that answer with an endless stream: no request timeout.
const STREAMS: [&str; 2] = ["/public/v1/events", "/console/events"];

/// The body limits of the route groups (each the value its handlers used before).
pub mod body_limit {
    /// The JSON API (`/api/v1/…` except imports).
    pub const API: usize = 2 * 1024 * 1024;
    /// Imports into the API: CSAF, STIX, MISP, directory documents.
    pub const IMPORT: usize = atalaya_formats::exchange::DEFAULT_MAX_BYTES;
    /// TAXII 2.1 (`/taxii2/…`).
    pub const TAXII: usize = atalaya_formats::exchange::DEFAULT_MAX_BYTES;
    /// The console's forms.
    pub const CONSOLE_FORM: usize = 256 * 1024;
    /// Largest of all: what a body read outside every group is held to.
    pub const ANY: usize = {
        let mut max = API;
        if IMPORT > max {
            max = IMPORT;
        }
        if TAXII > max {
            max = TAXII;
        }
        max
    };
    const _: () = assert!(CONSOLE_FORM <= ANY);
    // The directory's documents and the exchange formats share the import group's limit.
    const _: () = assert!(atalaya_formats::directory::MAX_INPUT_BYTES == IMPORT);
}

/// A route group's body limit; applied with [`limit_bodies`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The error a limited body ends with: it names the limit, for the refusal's message.
#[derive(Debug, thiserror::Error)]
#[error("request body over {max} bytes")]
pub struct BodyOverLimit {
    /// The group's limit.
    pub max: usize,
}

/// Hold every request body of the group to `limit` (route-group middleware).
pub async fn limit_bodies(State(limit): State<BodyLimit>, req: Request, next: Next) -> Response {
    let max = limit.0;
    let req = req.map(|body| {
        // Any failure of the body (over the limit, or a broken connection) is reported as the
        // group's `too_large`, as the handlers' own limits did.
        Body::new(http_body_util::Limited::new(body, max).map_err(move |_| BodyOverLimit { max }))
    });
    next.run(req).await
}

/// Makes request ids: the node's start time (milliseconds, hexadecimal), then a counter, so
/// ids do not repeat across restarts. Neither draws on the node's entropy, whose sequence the
/// rest of the node (ids, keys) owns.
#[derive(Clone)]
pub struct RequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    /// Starting now.
    pub fn new(started: atalaya_core::Timestamp) -> Self {
        Self {
            prefix: format!("{:x}", started.unix_millis()).into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// A request id a client may choose: 1 to 64 of `A-Z a-z 0-9 - _ . :`. Anything else is
/// dropped (and a new id made), so a caller cannot write arbitrary text into the log.
fn acceptable_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    (1..=64).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
}

/// Drop an unacceptable `x-request-id` before the request-id layer looks for one.
pub async fn screen_request_id(mut req: Request, next: Next) -> Response {
    if req
        .headers()
        .get(&REQUEST_ID)
        .is_some_and(|v| !acceptable_id(v))
    {
        req.headers_mut().remove(&REQUEST_ID);
    }
    next.run(req).await
}

/// The request's id, as the request-id layer set it.
fn id_of<B>(req: &axum::http::Request<B>) -> &str {
    req.extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
}

/// The span of one request: every event of the work it causes carries these fields.
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %id_of(req),
    )
}

/// The access-log line, once the answer's head is ready (in the request's span, so it
/// carries method, path and request id).
pub fn access_log<B>(resp: &axum::http::Response<B>, latency: Duration, _: &tracing::Span) {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    tracing::info!(
        status = resp.status().as_u16(),
        latency_ms,
        "request served"
    );
}

/// Put the request id into the JSON error body (`error.request_id`), next to code and message.
pub async fn error_request_id(req: Request, next: Next) -> Response {
    let id = id_of(&req).to_owned();
    let mut resp = next.run(req).await;
    if let Some(ErrorBody(mut body)) = resp.extensions_mut().remove::<ErrorBody>()
        && body["error"].is_object()
    {
        body["error"]["request_id"] = serde_json::Value::String(id);
        let (mut parts, _) = resp.into_parts();
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(body.to_string()));
    }
    resp
}

/// Answer `503 request_timeout` when a request takes longer than the node allows; the event
/// streams are exempt (their answer starts at once and then never ends by design).
pub async fn request_timeout(
    State(timeout): State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    if timeout.is_zero() || STREAMS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(timeout_ms = timeout.as_millis() as u64, "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                format!(
                    "the node did not answer within {} s; try again later",
                    timeout.as_secs()
                ),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn status_of(app: &Router, path: &str) -> (StatusCode, String) {
        let req = axum::http::Request::builder()
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_slow_answer_times_out_and_an_event_stream_does_not() {
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "late"
        }
        let app = Router::new()
            .route("/api/v1/slow", get(slow))
            .route("/public/v1/events", get(slow))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                request_timeout,
            ));
        let (status, body) = status_of(&app, "/api/v1/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(body.contains("\"request_timeout\""), "{body}");
        let (status, body) = status_of(&app, "/public/v1/events").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "late"));
    }

    #[test]
    fn only_plain_short_ids_are_kept() {
        for ok in ["a", "abc-123", "0f.1_2:3", &"x".repeat(64)] {
            assert!(acceptable_id(&HeaderValue::from_str(ok).unwrap()), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "ñ", &"x".repeat(65), "a\tb"] {
            let Ok(v) = HeaderValue::from_str(bad) else {
                continue;
            };
            assert!(!acceptable_id(&v), "{bad}");
        }
    }
}
