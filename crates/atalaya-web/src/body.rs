//! Reading request bodies with limits, and JSON with our error codes.

use std::time::Duration;

use atalaya_crypto::BodyDigest;
use axum::body::{Body, Bytes};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ErrorCode;
use crate::{ApiError, edge};
use atalaya_core::json;

/// Read a body held to its route group's limit ([`crate::edge::BodyLimit`]), refusing more
/// with `too_large` (413) naming that limit. A body outside every group is held to the largest.
pub async fn read(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, edge::body_limit::ANY)
        .await
        .map_err(|e| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                if let Some(over) = c.downcast_ref::<edge::BodyOverLimit>() {
                    return too_large(over.max);
                }
                cause = c.source();
            }
            too_large(edge::body_limit::ANY)
        })
}

/// The announced `Content-Length`, refusing one over `max` with `too_large` before anything
/// is read (no key is needed to know a body is too large).
pub fn content_length(
    headers: &axum::http::HeaderMap,
    max: usize,
) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(axum::http::header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    let n: u64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ErrorCode::InvalidContentLength.with("Content-Length is not a number"))?;
    match usize::try_from(n) {
        Ok(n) if n <= max => Ok(Some(n)),
        _ => Err(too_large(max)),
    }
}

fn too_large(max: usize) -> ApiError {
    ErrorCode::TooLarge.with(format!("request body over {max} bytes"))
}

/// Read the body of a request whose signature already verified: at most `max` bytes, exactly
/// `announced` when a length was announced, within `timeout`, and refused unless it hashes to
/// the signed `digest` (checked as it streams, so nothing is parsed before).
pub async fn read_signed(
    body: Body,
    max: usize,
    announced: Option<usize>,
    digest: BodyDigest,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let read = async {
        let mut check = digest.check();
        let mut out = Vec::with_capacity(announced.unwrap_or(0).min(max));
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| incomplete())?;
            let len = out.len().saturating_add(chunk.len());
            if len > max {
                return Err(too_large(max));
            }
            if announced.is_some_and(|n| len > n) {
                return Err(ErrorCode::BodyLongerThanAnnounced
                    .with("the body is longer than its Content-Length"));
            }
            check.update(&chunk);
            out.extend_from_slice(&chunk);
        }
        if announced.is_some_and(|n| out.len() < n) {
            return Err(incomplete());
        }
        check
            .finish()
            .map_err(|e| ApiError::unauthorized(e.code(), e.to_string()))?;
        Ok(Bytes::from(out))
    };
    tokio::time::timeout(timeout, read).await.map_err(|_| {
        ErrorCode::BodyTimeout.with(format!(
            "the body did not arrive within {} ms",
            timeout.as_millis()
        ))
    })?
}

fn incomplete() -> ApiError {
    ErrorCode::IncompleteBody
        .with("the body ended before its Content-Length, or the connection failed while sending it")
}

/// Check UTF-8 and nesting before any parsing.
pub fn check_text(bytes: &[u8]) -> Result<&str, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ErrorCode::InvalidUtf8.with("the body is not valid UTF-8"))?;
    json::check_depth(bytes, json::MAX_DEPTH)
        .map_err(|e| ErrorCode::TooDeep.with(e.to_string()))?;
    Ok(text)
}

/// Parse a JSON body into `T`: malformed JSON and wrong shapes get distinct codes.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = check_text(bytes)?;
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ErrorCode::MalformedJson.with(format!("not valid JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| ErrorCode::InvalidRequest.with(e.to_string()))
}
