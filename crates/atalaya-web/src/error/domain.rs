//! Each domain's refusals as edge errors, so handlers can use `?`. A domain's own codes (a
//! policy denial, a label problem, an import problem) pass through unchanged; the rest take
//! their code from [`ErrorCode`].

use atalaya_core::policy::{Denial, LabelError};
use atalaya_federation::FederationError;
use atalaya_federation::census::CensusError;
use atalaya_federation::directory::DirectoryError;
use atalaya_formats::exchange::{self, ImportError};
use atalaya_node::checks::CheckError;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ApiError, ErrorCode};

/// A policy denial: 403 with the denial's own code.
impl From<Denial> for ApiError {
    fn from(d: Denial) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, d.code(), d.to_string())
    }
}

/// A label that does not parse or does not fit: 422 with the label problem's code.
impl From<LabelError> for ApiError {
    fn from(l: LabelError) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, l.code(), l.to_string())
    }
}

/// The refusals of the federation's operations. A refused input is `invalid_bulletin`; an
/// operation that reads another kind of input names its own code (see the handlers of
/// retraction, acknowledgement, agreement and renotification).
impl From<FederationError> for ApiError {
    fn from(e: FederationError) -> Self {
        use FederationError as E;
        match e {
            E::InvalidBulletin(m) => ErrorCode::InvalidBulletin.with(m),
            E::Labels(l) => l.into(),
            e @ E::NotInRoster(_) => ErrorCode::RemovedMember.with(e.to_string()),
            E::NoSuchBulletin(_) => ApiError::not_found("bulletin"),
            e @ E::NotTheOrigin(_) => ErrorCode::NotTheOrigin.with(e.to_string()),
            e @ E::AlreadyRetracted(_) => ErrorCode::AlreadyRetracted.with(e.to_string()),
            e @ E::NotTheCoordinator(_) => ErrorCode::NotTheCoordinator.with(e.to_string()),
            e @ E::NoAgreement => ErrorCode::NoAgreement.with(e.to_string()),
            e @ E::OwnBulletin(_) => ErrorCode::OwnBulletin.with(e.to_string()),
            e @ E::NotOurBulletin(_) => ErrorCode::NotOurBulletin.with(e.to_string()),
            e @ E::NotARecipient(_) => ErrorCode::NotARecipient.with(e.to_string()),
            e @ E::AlreadyAcknowledged(_) => ErrorCode::AlreadyAcknowledged.with(e.to_string()),
            e @ E::NothingOverdue(_) => ErrorCode::NothingOverdue.with(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

/// A communication check refused.
impl From<CheckError> for ApiError {
    fn from(e: CheckError) -> Self {
        match e {
            e @ CheckError::UnknownNode(_) => ErrorCode::UnknownNode.with(e.to_string()),
            e @ CheckError::OwnNode => ErrorCode::OwnNode.with(e.to_string()),
            e @ CheckError::NoTargets => ErrorCode::NoTargets.with(e.to_string()),
            CheckError::Invalid(m) => ErrorCode::InvalidCheck.with(m),
            e @ CheckError::NeverReceived(_) => ErrorCode::NeverReceived.with(e.to_string()),
            e @ CheckError::OwnCheck(_) => ErrorCode::OwnCheck.with(e.to_string()),
            e @ CheckError::AlreadyAnswered(_) => ErrorCode::AlreadyAnswered.with(e.to_string()),
            CheckError::Federation(e @ FederationError::NotInRoster(_)) => {
                ErrorCode::RemovedMember.with(e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

/// A directory publication refused.
impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            e @ DirectoryError::NotAuthoritative(_) => {
                ErrorCode::NotAuthoritative.with(e.to_string())
            }
            DirectoryError::Invalid { code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            DirectoryError::Federation(FederationError::NotInRoster(n)) => ErrorCode::RemovedMember
                .with(format!("this node ({n}) is not a member of the roster")),
            other => ApiError::internal(other),
        }
    }
}

/// A census operation refused.
impl From<CensusError> for ApiError {
    fn from(e: CensusError) -> Self {
        match e {
            CensusError::Invalid(problems) => {
                let code = problems.first().map_or("invalid", |p| p.code);
                ApiError::problems(&problems, code)
            }
            e @ CensusError::NoSuchRound(_) => ErrorCode::NotFound.with(e.to_string()),
            e @ (CensusError::NotTheCoordinator(_) | CensusError::NotAuthoritative(_)) => {
                ApiError::new(StatusCode::FORBIDDEN, e.code(), e.to_string())
            }
            e @ CensusError::AlreadyClosed(_) => ErrorCode::RoundClosed.with(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

/// A refused import: its own code, every problem listed.
impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        let status = match e.code {
            exchange::codes::TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            exchange::codes::MALFORMED => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let problems = e
            .problems
            .iter()
            .map(|p| problem(e.code, &p.path, &p.message))
            .collect();
        ApiError::new(status, e.code, e.reason).with_problems(problems)
    }
}

/// One problem as the API lists it: `{code, field, message}`.
pub(crate) fn problem(code: &str, field: &str, message: &str) -> Value {
    json!({"code": code, "field": field, "message": message})
}

impl ApiError {
    /// The same error listing `problems` (none: unchanged).
    #[must_use]
    pub fn with_problems(mut self, problems: Vec<Value>) -> Self {
        if !problems.is_empty() {
            self.problems = Some(Value::Array(problems));
        }
        self
    }
}
