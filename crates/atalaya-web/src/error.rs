//! The one error type at the HTTP edge: every refusal is a status, a stable code and a message,
//! as `{"error": {"code": "...", "message": "...", "request_id": "..."}}` (the edge adds the
//! request id). Internal details go to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An HTTP error with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
    /// Every problem found in the input, when there were several (`{code, field, message}`).
    pub problems: Option<serde_json::Value>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            problems: None,
        }
    }

    /// 422 naming every problem of the input; the code is the first problem's.
    pub fn problems<P: serde::Serialize + std::fmt::Display>(
        problems: &[P],
        code: &'static str,
    ) -> Self {
        let message = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message,
            problems: serde_json::to_value(problems).ok(),
        }
    }

    /// 400 for input that is not what the endpoint takes.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 500; the cause is logged, never returned.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the node could not complete the request; see its log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        if let Some(p) = self.problems {
            body["error"]["problems"] = p;
        }
        let mut resp = (self.status, Json(&body)).into_response();
        // The edge adds the request id to the body it finds here (`error.request_id`).
        resp.extensions_mut().insert(ErrorBody(body));
        resp
    }
}

/// The JSON body of an [`ApiError`] answer, kept on the response for the edge to complete.
#[derive(Debug, Clone)]
pub struct ErrorBody(pub serde_json::Value);

impl From<atalaya_federation::Refusal> for ApiError {
    fn from(r: atalaya_federation::Refusal) -> Self {
        let status = match r.code {
            "internal_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "removed_member" | "not_a_member" => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        };
        Self::new(status, r.code, r.message)
    }
}

impl From<atalaya_store::StoreError> for ApiError {
    fn from(e: atalaya_store::StoreError) -> Self {
        Self::internal(e)
    }
}
