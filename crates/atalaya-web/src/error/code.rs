//! The stable error codes of the HTTP edge, in one list: each knows the string clients and
//! tests see, its HTTP status and, where a page translates it, its message key.
//!
//! Codes that come from a domain (a policy denial, a label or import problem, an account
//! refusal, a federation protocol refusal) keep their own vocabulary and pass through
//! [`ApiError::new`](super::ApiError::new); this list is every code the web crate itself
//! spells.

use axum::http::StatusCode;

macro_rules! error_codes {
    ($($name:ident = ($code:literal, $status:ident $(, $key:literal)?),)*) => {
        /// A stable error code of the HTTP edge.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $code, "` (", stringify!($status), ")")]
                $name,
            )*
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The code as clients see it (`"not_found"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $code,)*
                }
            }

            /// The HTTP status it answers with.
            pub const fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$name => StatusCode::$status,)*
                }
            }

            /// The Fluent key of its translated message, where a page shows one.
            pub const fn message_key(self) -> Option<&'static str> {
                match self {
                    $(ErrorCode::$name => error_codes!(@key $($key)?),)*
                }
            }
        }
    };
    (@key $key:literal) => { Some($key) };
    (@key) => { None };
}

error_codes! {
    AlreadyAcknowledged = ("already_acknowledged", CONFLICT),
    AlreadyAnswered = ("already_answered", CONFLICT),
    AlreadyRetracted = ("already_retracted", CONFLICT),
    AuditUnavailable = ("audit_unavailable", SERVICE_UNAVAILABLE),
    BadField = ("bad-field", BAD_REQUEST),
    BadFormat = ("bad_format", BAD_REQUEST),
    BadKey = ("bad-key", UNPROCESSABLE_ENTITY),
    BadView = ("bad_view", BAD_REQUEST),
    BadWindow = ("bad_window", BAD_REQUEST),
    BodyLongerThanAnnounced = ("body_longer_than_announced", BAD_REQUEST),
    BodyTimeout = ("body_timeout", REQUEST_TIMEOUT),
    Busy = ("busy", SERVICE_UNAVAILABLE),
    CapNotAvailable = ("cap_not_available", UNPROCESSABLE_ENTITY),
    CsrfFailed = ("csrf_failed", FORBIDDEN, "error-csrf"),
    EmptyImport = ("empty_import", UNPROCESSABLE_ENTITY),
    Forbidden = ("forbidden", FORBIDDEN),
    Honeypot = ("honeypot", BAD_REQUEST, "portal-error-honeypot"),
    IdMismatch = ("id_mismatch", BAD_REQUEST),
    ImportConflict = ("import_conflict", CONFLICT),
    ImportRefused = ("import_refused", UNPROCESSABLE_ENTITY),
    IncompleteBody = ("incomplete_body", BAD_REQUEST),
    IncompleteCoverage = ("incomplete_coverage", UNAUTHORIZED),
    InternalError = ("internal_error", INTERNAL_SERVER_ERROR),
    InvalidAcknowledgement = ("invalid_acknowledgement", UNPROCESSABLE_ENTITY),
    InvalidAgreement = ("invalid_agreement", UNPROCESSABLE_ENTITY),
    InvalidAnswer = ("invalid_answer", UNPROCESSABLE_ENTITY),
    InvalidBulletin = ("invalid_bulletin", UNPROCESSABLE_ENTITY),
    InvalidCheck = ("invalid_check", UNPROCESSABLE_ENTITY),
    InvalidContentLength = ("invalid_content_length", BAD_REQUEST),
    InvalidCosignature = ("invalid_cosignature", BAD_REQUEST),
    InvalidDirectoryEntry = ("invalid_directory_entry", UNPROCESSABLE_ENTITY),
    InvalidId = ("invalid_id", BAD_REQUEST),
    InvalidNote = ("invalid_note", BAD_REQUEST),
    InvalidOncall = ("invalid_oncall", UNPROCESSABLE_ENTITY),
    InvalidQuery = ("invalid_query", BAD_REQUEST),
    InvalidRenotify = ("invalid_renotify", UNPROCESSABLE_ENTITY),
    InvalidReport = ("invalid_report", UNPROCESSABLE_ENTITY, "portal-error-invalid_report"),
    InvalidRequest = ("invalid_request", UNPROCESSABLE_ENTITY),
    InvalidRetraction = ("invalid_retraction", UNPROCESSABLE_ENTITY),
    InvalidRole = ("invalid_role", BAD_REQUEST),
    InvalidRoster = ("invalid_roster", UNPROCESSABLE_ENTITY),
    InvalidSource = ("invalid_source", UNPROCESSABLE_ENTITY),
    InvalidToken = ("invalid_token", UNAUTHORIZED),
    InvalidUtf8 = ("invalid_utf8", BAD_REQUEST),
    MalformedEntry = ("malformed_entry", UNPROCESSABLE_ENTITY),
    MalformedForm = ("malformed_form", BAD_REQUEST, "portal-error-malformed_form"),
    MalformedJson = ("malformed_json", BAD_REQUEST),
    MissingQuestion = ("missing_question", BAD_REQUEST),
    MissingToken = ("missing_token", UNAUTHORIZED),
    NeverReceived = ("never_received", NOT_FOUND),
    NoAgreement = ("no_agreement", CONFLICT),
    NoNodeForState = ("no_node_for_state", CONFLICT, "portal-error-no_node_for_state"),
    NoSuchProof = ("no_such_proof", UNPROCESSABLE_ENTITY),
    NoTargets = ("no_targets", UNPROCESSABLE_ENTITY),
    NotARecipient = ("not_a_recipient", UNPROCESSABLE_ENTITY),
    NotAcceptable = ("not_acceptable", NOT_ACCEPTABLE),
    NotAuthoritative = ("not_authoritative", FORBIDDEN),
    NotForYou = ("not_for_you", FORBIDDEN),
    NotFound = ("not_found", NOT_FOUND, "portal-error-not_found"),
    NotOurBulletin = ("not_our_bulletin", FORBIDDEN),
    NotSent = ("not_sent", CONFLICT, "portal-error-not_sent"),
    NotTheCoordinator = ("not_the_coordinator", FORBIDDEN),
    NotTheOrigin = ("not_the_origin", FORBIDDEN),
    NothingOverdue = ("nothing_overdue", CONFLICT),
    OwnAccount = ("own_account", BAD_REQUEST),
    OwnBulletin = ("own_bulletin", UNPROCESSABLE_ENTITY),
    OwnCheck = ("own_check", UNPROCESSABLE_ENTITY),
    OwnNode = ("own_node", UNPROCESSABLE_ENTITY),
    OwnRole = ("own_role", BAD_REQUEST),
    PeerBusy = ("peer_busy", TOO_MANY_REQUESTS),
    PowReplayed = ("pow_replayed", CONFLICT, "portal-error-pow_replayed"),
    RateLimited = ("rate_limited", TOO_MANY_REQUESTS, "portal-error-rate_limited"),
    RemovedMember = ("removed_member", FORBIDDEN),
    Retracted = ("retracted", CONFLICT),
    RoundClosed = ("round-closed", CONFLICT),
    SecondFactorRequired = ("second_factor_required", UNAUTHORIZED),
    TooDeep = ("too_deep", BAD_REQUEST),
    TooLarge = ("too_large", PAYLOAD_TOO_LARGE, "portal-error-too_large"),
    TooManySubscribers = ("too_many_subscribers", SERVICE_UNAVAILABLE),
    Unauthorized = ("unauthorized", UNAUTHORIZED),
    UnknownCountry = ("unknown-country", BAD_REQUEST),
    UnknownQuestion = ("unknown-question", NOT_FOUND),
    UnknownService = ("unknown-service", BAD_REQUEST),
    UnknownStandard = ("unknown-standard", UNPROCESSABLE_ENTITY),
    UnknownFormat = ("unknown_format", NOT_FOUND),
    UnknownNode = ("unknown_node", UNPROCESSABLE_ENTITY),
    UnsupportedMediaType = ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE),
}

impl ErrorCode {
    /// The error with this code, its status and `message`.
    pub fn with(self, message: impl Into<String>) -> super::ApiError {
        super::ApiError::of(self, message)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ErrorCode> for &'static str {
    fn from(c: ErrorCode) -> Self {
        c.as_str()
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeSet;

    use super::*;
    use crate::ApiError;
    use axum::response::IntoResponse;

    /// Every code, its status and its message key: the list clients and tests rely on. A
    /// change here is a change of the API.
    const EXPECTED: &[(&str, u16, Option<&str>)] = &[
        ("already_acknowledged", 409, None),
        ("already_answered", 409, None),
        ("already_retracted", 409, None),
        ("audit_unavailable", 503, None),
        ("bad-field", 400, None),
        ("bad_format", 400, None),
        ("bad-key", 422, None),
        ("bad_view", 400, None),
        ("bad_window", 400, None),
        ("body_longer_than_announced", 400, None),
        ("body_timeout", 408, None),
        ("busy", 503, None),
        ("cap_not_available", 422, None),
        ("csrf_failed", 403, Some("error-csrf")),
        ("empty_import", 422, None),
        ("forbidden", 403, None),
        ("honeypot", 400, Some("portal-error-honeypot")),
        ("id_mismatch", 400, None),
        ("import_conflict", 409, None),
        ("import_refused", 422, None),
        ("incomplete_body", 400, None),
        ("incomplete_coverage", 401, None),
        ("internal_error", 500, None),
        ("invalid_acknowledgement", 422, None),
        ("invalid_agreement", 422, None),
        ("invalid_answer", 422, None),
        ("invalid_bulletin", 422, None),
        ("invalid_check", 422, None),
        ("invalid_content_length", 400, None),
        ("invalid_cosignature", 400, None),
        ("invalid_directory_entry", 422, None),
        ("invalid_id", 400, None),
        ("invalid_note", 400, None),
        ("invalid_oncall", 422, None),
        ("invalid_query", 400, None),
        ("invalid_renotify", 422, None),
        ("invalid_report", 422, Some("portal-error-invalid_report")),
        ("invalid_request", 422, None),
        ("invalid_retraction", 422, None),
        ("invalid_role", 400, None),
        ("invalid_roster", 422, None),
        ("invalid_source", 422, None),
        ("invalid_token", 401, None),
        ("invalid_utf8", 400, None),
        ("malformed_entry", 422, None),
        ("malformed_form", 400, Some("portal-error-malformed_form")),
        ("malformed_json", 400, None),
        ("missing_question", 400, None),
        ("missing_token", 401, None),
        ("never_received", 404, None),
        ("no_agreement", 409, None),
        (
            "no_node_for_state",
            409,
            Some("portal-error-no_node_for_state"),
        ),
        ("no_such_proof", 422, None),
        ("no_targets", 422, None),
        ("not_a_recipient", 422, None),
        ("not_acceptable", 406, None),
        ("not_authoritative", 403, None),
        ("not_for_you", 403, None),
        ("not_found", 404, Some("portal-error-not_found")),
        ("not_our_bulletin", 403, None),
        ("not_sent", 409, Some("portal-error-not_sent")),
        ("not_the_coordinator", 403, None),
        ("not_the_origin", 403, None),
        ("nothing_overdue", 409, None),
        ("own_account", 400, None),
        ("own_bulletin", 422, None),
        ("own_check", 422, None),
        ("own_node", 422, None),
        ("own_role", 400, None),
        ("peer_busy", 429, None),
        ("pow_replayed", 409, Some("portal-error-pow_replayed")),
        ("rate_limited", 429, Some("portal-error-rate_limited")),
        ("removed_member", 403, None),
        ("retracted", 409, None),
        ("round-closed", 409, None),
        ("second_factor_required", 401, None),
        ("too_deep", 400, None),
        ("too_large", 413, Some("portal-error-too_large")),
        ("too_many_subscribers", 503, None),
        ("unauthorized", 401, None),
        ("unknown-country", 400, None),
        ("unknown-question", 404, None),
        ("unknown-service", 400, None),
        ("unknown-standard", 422, None),
        ("unknown_format", 404, None),
        ("unknown_node", 422, None),
        ("unsupported_media_type", 415, None),
    ];

    #[test]
    fn every_code_is_listed_once_with_its_status() {
        let seen: Vec<(&str, u16, Option<&str>)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str(), c.status().as_u16(), c.message_key()))
            .collect();
        assert_eq!(seen, EXPECTED);
        let strings: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            strings.len(),
            ErrorCode::ALL.len(),
            "a code string is used twice"
        );
        for c in ErrorCode::ALL {
            assert!(
                c.status().is_client_error() || c.status().is_server_error(),
                "{c} is not an error status"
            );
        }
    }

    #[test]
    fn every_message_key_is_translated() {
        use crate::console::{Lang, Tr};
        for lang in Lang::ALL {
            let tr = Tr::new(lang, "UTC");
            for key in ErrorCode::ALL.iter().filter_map(|c| c.message_key()) {
                assert_ne!(tr.t(key), key, "{key} has no {} message", lang.code());
            }
        }
    }

    #[test]
    fn codes_serialize_as_their_string() {
        assert_eq!(
            serde_json::to_value(ErrorCode::RoundClosed).unwrap(),
            serde_json::json!("round-closed")
        );
        assert_eq!(
            serde_json::to_value([ErrorCode::NotFound, ErrorCode::CsrfFailed]).unwrap(),
            serde_json::json!(["not_found", "csrf_failed"])
        );
    }

    async fn body_of(e: ApiError) -> (u16, serde_json::Value) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn an_error_answers_with_its_code_status_and_message() {
        let (status, body) = body_of(ErrorCode::InvalidQuery.with("no such field")).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], "invalid_query");
        assert_eq!(body["error"]["message"], "no such field");
        let (status, body) = body_of(ApiError::not_found("bulletin")).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(body["error"]["message"], "no such bulletin");
        let (status, body) = body_of(
            ErrorCode::InvalidCheck
                .with("minutes: not a number")
                .with_status(axum::http::StatusCode::BAD_REQUEST),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], "invalid_check");
    }
}
