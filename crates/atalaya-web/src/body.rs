//! Reading request bodies with limits, and JSON with our error codes.

use axum::body::{Body, Bytes};
use serde::de::DeserializeOwned;

use crate::ApiError;
use atalaya_core::json;

/// Read a body, refusing more than `max` bytes with `too_large` (413).
pub async fn read(body: Body, max: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("request body over {max} bytes"),
        )
    })
}

/// Check UTF-8 and nesting before any parsing.
pub fn check_text(bytes: &[u8]) -> Result<&str, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("invalid_utf8", "the body is not valid UTF-8"))?;
    json::check_depth(bytes, json::MAX_DEPTH)
        .map_err(|e| ApiError::bad_request("too_deep", e.to_string()))?;
    Ok(text)
}

/// Parse a JSON body into `T`: malformed JSON and wrong shapes get distinct codes.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = check_text(bytes)?;
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("not valid JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            e.to_string(),
        )
    })
}
