//! What the portal and the console share to make a page: the reader's language and the
//! rendering of a template (with its status), and the rule for an awareness page's address.
//! Neither of them is imported by the other for these.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::ApiError;
use crate::i18n::Lang;

/// The language the browser asks for (`Accept-Language`).
pub fn browser_lang(headers: &HeaderMap) -> Lang {
    Lang::negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )
}

/// Render a template, or a plain 500 if it cannot be.
pub fn render(t: &impl askama::Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Render with a status.
pub fn render_status(status: StatusCode, t: &impl askama::Template) -> Response {
    let mut r = render(t);
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// An awareness page's address: 1–64 of `a-z`, `0-9` and `-`.
pub fn valid_slug(slug: &str) -> bool {
    (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
