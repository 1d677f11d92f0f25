//! Who is calling: a bearer API token, or a console session cookie (with the session's CSRF
//! token on every state-changing request). Handlers name the right they need in their
//! signature ([`Need`]), or ask the resulting [`Principal`] when it depends on the record.

use atalaya_core::access::{Permission, Permissions, Role};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};
use atalaya_node::accounts::{AccountError, Session};

mod need;

use crate::error::ErrorCode;
pub use need::{Checked, Need, Right, right};

/// The session cookie's name: with `Secure`, the `__Host-` prefix pins it to this host and path.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-atalaya_session"
    } else {
        "atalaya_session"
    }
}

/// A `Set-Cookie` value for the session (or its removal with `max_age` 0).
pub fn session_cookie(secure: bool, value: &str, max_age_seconds: i64) -> String {
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{}",
        session_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Equal strings, compared in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether a request changes state (and so needs a CSRF token when it comes with a cookie).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request from another site: the browser says so (`Sec-Fetch-Site`), or its `Origin` (sent
/// by browsers on every POST) is not ours. (`Origin: null`, which a strict referrer policy can
/// cause on same-origin posts, is left to the CSRF token and the SameSite cookie.)
pub fn cross_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if matches!(fetch_site, "cross-site" | "same-site") {
        return true;
    }
    let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    if origin == "null" {
        return false;
    }
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin_host != host
}

/// The live, complete (second factor given) session of the request, if any.
pub async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<Session>, ApiError> {
    let name = session_cookie_name(state.accounts.settings.secure_cookie);
    let Some(value) = cookie(&parts.headers, name) else {
        return Ok(None);
    };
    state
        .accounts
        .session(value)
        .await
        .map_err(|e| account_error(&e))
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// An API token (its id).
    Token(String),
    /// A console session.
    Session(Box<Session>),
}

/// An authenticated caller and their rights.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The name the sharing policy and the audit trail see: the username, or for a node
    /// token made with the CLI, the token's name.
    pub name: String,
    /// The name shown to other teams (in acknowledgements).
    pub display_name: String,
    /// The account, if a person.
    pub user_id: Option<String>,
    /// What they may do.
    pub rights: Permissions,
    /// How they authenticated.
    pub via: Via,
}

impl Principal {
    /// Refuse with 403 `forbidden` unless the caller holds `right`. A handler whose right does
    /// not depend on the record declares it instead ([`Need`]).
    pub fn require(&self, right: Permission) -> Result<(), ApiError> {
        if self.rights.contains(right) {
            Ok(())
        } else {
            Err(ErrorCode::Forbidden.with(format!("{} does not have the right {right}", self.name)))
        }
    }

    /// A principal for a console session.
    pub fn of_session(session: Session) -> Self {
        let role: Role = session.role();
        Principal {
            name: session.user.username.clone(),
            display_name: session.user.display_name.clone(),
            user_id: Some(session.user.id.clone()),
            rights: role.permissions(),
            via: Via::Session(Box::new(session)),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .filter(|t| !t.is_empty() && t.len() <= 256)
                .ok_or_else(|| {
                    ErrorCode::InvalidToken
                        .with("the Authorization header must be `Bearer <API token>`")
                })?;
            // Looked up by hash: the comparison happens on a digest, so its timing reveals
            // nothing about the token.
            return match state.accounts.token(token).await? {
                Some((t, owner, rights)) => Ok(Principal {
                    name: owner
                        .as_ref()
                        .map_or_else(|| t.name.clone(), |u| u.username.clone()),
                    display_name: owner
                        .as_ref()
                        .map_or_else(|| t.name.clone(), |u| u.display_name.clone()),
                    user_id: owner.map(|u| u.id),
                    rights,
                    via: Via::Token(t.id),
                }),
                None => Err(ErrorCode::InvalidToken.with("unknown, expired or revoked API token")),
            };
        }
        let Some(session) = session_of(parts, state).await? else {
            return Err(ErrorCode::MissingToken
                .with("send `Authorization: Bearer <API token>`, or log in to the console"));
        };
        if !session.record.mfa_done {
            return Err(
                ErrorCode::SecondFactorRequired.with("finish logging in with your second factor")
            );
        }
        if is_unsafe(&parts.method) {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same_secret(sent, &session.record.csrf) || cross_origin(&parts.headers) {
                return Err(csrf_refused());
            }
        }
        Ok(Principal::of_session(session))
    }
}

/// 403 `csrf_failed`.
pub fn csrf_refused() -> ApiError {
    ErrorCode::CsrfFailed.with("missing or wrong CSRF token; reload the page and try again")
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        account_error(&e)
    }
}

/// An account refusal as an HTTP error.
pub fn account_error(e: &AccountError) -> ApiError {
    let status = match e {
        AccountError::BadCredentials | AccountError::BadCode | AccountError::Disabled => {
            StatusCode::UNAUTHORIZED
        }
        AccountError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        AccountError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AccountError::Taken(_) => StatusCode::CONFLICT,
        AccountError::NotFound(_) => StatusCode::NOT_FOUND,
        AccountError::Forbidden(_) => StatusCode::FORBIDDEN,
        AccountError::Store(e) => return ApiError::internal(e),
        AccountError::Hash(e) => return ApiError::internal(e),
    };
    ApiError::new(status, e.code(), e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; atalaya_session_x=2; atalaya_session=abc"),
        );
        assert_eq!(cookie(&h, "atalaya_session"), Some("abc"));
        assert_eq!(cookie(&h, "a"), Some("1"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn session_cookie_attributes() {
        let c = session_cookie(true, "v", 60);
        assert_eq!(
            c,
            "__Host-atalaya_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(!session_cookie(false, "v", 60).contains("Secure"));
    }

    #[test]
    fn cross_origin_posts_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(
            !cross_origin(&h),
            "no Origin: not a browser cross-site post"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!cross_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_origin(&h));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
