//! The one error type at the HTTP edge: every refusal is a status, a stable code and a message,
//! as `{"error": {"code": "...", "message": "...", "request_id": "..."}}` (the edge adds the
//! request id). Internal details go to the log only. The codes the web crate spells are the
//! [`ErrorCode`] list; each domain's refusals convert with `From` (see `domain.rs`), so
//! handlers use `?`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

mod code;
mod domain;

pub use code::ErrorCode;
pub(crate) use domain::problem;

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
    /// A new error. The web's own codes are [`ErrorCode`]s ([`ApiError::of`]); this is for a
    /// code that comes from a domain (a denial, a label or import problem, an account refusal).
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            problems: None,
        }
    }

    /// The error with `code`, its status and `message`.
    pub fn of(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code.status(), code.as_str(), message)
    }

    /// The same error with another status (for the few places where a code is answered with
    /// a status other than its usual one).
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// 422 naming every problem of the input; the code is the first problem's.
    pub fn problems<P: serde::Serialize + std::fmt::Display>(
        problems: &[P],
        code: impl Into<&'static str>,
    ) -> Self {
        let code = code.into();
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

    /// 400 for input that is not what the endpoint takes (prefer an [`ErrorCode`]).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid credentials (prefer an [`ErrorCode`]).
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::of(ErrorCode::NotFound, format!("no such {what}"))
    }

    /// 500; the cause is logged, never returned.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::of(
            ErrorCode::InternalError,
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
