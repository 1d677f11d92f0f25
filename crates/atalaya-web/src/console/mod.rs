//! `/console/...`: the duty officers' console, rendered on the server (askama), with htmx
//! fragments refreshed by server-sent events. Every page needs a complete session (password
//! and, where the role requires it, a second factor); every form carries the session's CSRF
//! token; every action checks the person's right, exactly as the JSON API does.

use atalaya_core::access::{Permission, Permissions, Role};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::auth::{self, Principal};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};
use atalaya_node::accounts::Session;

mod admin;
mod bulletins;
mod census;
mod checks;
pub mod directory;
mod login;
pub mod map;
mod need;
mod portal;
mod watch;

pub use crate::i18n::{self, Lang, Tr};
pub use crate::page::{browser_lang, render, render_status};

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(watch::floor))
        .route("/console/", get(watch::floor))
        .route("/console/login", get(login::form).post(login::submit))
        .route(
            "/console/login/totp",
            get(login::totp_form).post(login::totp_submit),
        )
        .route(
            "/console/enrol",
            get(login::enrol_form).post(login::enrol_submit),
        )
        .route("/console/logout", post(login::logout))
        .route("/console/language", post(admin::set_language))
        .route("/console/events", get(watch::events))
        .route("/console/fragments/feed", get(watch::feed_fragment))
        .route("/console/fragments/awaiting", get(watch::awaiting_fragment))
        .route("/console/fragments/map", get(watch::map_fragment))
        .route(
            "/console/compose",
            get(bulletins::compose).post(bulletins::publish),
        )
        .route("/console/compose/preview", post(bulletins::preview))
        .route("/console/bulletins/{id}", get(bulletins::page))
        .route(
            "/console/bulletins/{id}/matrix",
            get(bulletins::matrix_fragment),
        )
        .route("/console/bulletins/{id}/ack", post(bulletins::acknowledge))
        .route("/console/bulletins/{id}/renotify", post(checks::renotify))
        .route("/console/checks", get(checks::page).post(checks::start))
        .route("/console/checks/{id}", get(checks::report))
        .route("/console/checks/{id}/answer", post(checks::answer))
        .route("/console/peers", get(admin::peers))
        .route("/console/users", get(admin::users).post(admin::create_user))
        .route("/console/users/{id}/role", post(admin::change_role))
        .route("/console/users/{id}/disable", post(admin::disable_user))
        .route("/console/users/{id}/enable", post(admin::enable_user))
        .route(
            "/console/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/console/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/console/settings", get(admin::settings))
        .route("/console/settings/oncall", post(admin::save_oncall))
        .route(
            "/console/account",
            get(admin::account).post(admin::save_account),
        )
        .route("/console/directory", get(directory::list))
        .route(
            "/console/directory/new",
            get(directory::new_form).post(directory::new_submit),
        )
        .route("/console/directory/team/{id}", get(directory::team))
        .route(
            "/console/directory/team/{id}/edit",
            get(directory::edit_form).post(directory::edit_submit),
        )
        .route(
            "/console/directory/team/{id}/confirm",
            post(directory::confirm),
        )
        .route("/console/coverage", get(directory::coverage_page))
        .route(
            "/console/cybercrime",
            get(directory::cybercrime).post(directory::save_cybercrime),
        )
        .route(
            "/console/standards",
            get(directory::standards).post(directory::save_standards),
        )
        // The census: rounds, the census form, reports and comparisons.
        .route("/console/census", get(census::list).post(census::open))
        .route("/console/census/compare", get(census::compare))
        .route("/console/census/{id}", get(census::page))
        .route("/console/census/{id}/answer", post(census::answer))
        .route("/console/census/{id}/close", post(census::close))
        .route("/console/census/{id}/report", get(census::report))
        // The public portal: reports from the public, awareness pages.
        .route("/console/reports", get(portal::reports))
        .route("/console/reports/{id}", get(portal::report))
        .route("/console/pages", get(portal::pages))
        .route(
            "/console/pages/{slug}",
            get(portal::edit_form).post(portal::edit_submit),
        )
        .route("/console/static/{file}", get(static_file))
}

/// The vendored and own static files; names carry their version, so they are cached for long.
async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "htmx-2.0.11.min.js" => (
            include_bytes!("../../static/htmx-2.0.11.min.js"),
            "text/javascript",
        ),
        "htmx-ext-sse-2.2.4.js" => (
            include_bytes!("../../static/htmx-ext-sse-2.2.4.js"),
            "text/javascript",
        ),
        "console-2.css" => (include_bytes!("../../static/console-2.css"), "text/css"),
        "console-1.js" => (
            include_bytes!("../../static/console-1.js"),
            "text/javascript",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// What every console page shows around its content.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Translations and time formatting.
    pub tr: Tr,
    /// The session's CSRF token, for forms and htmx requests.
    pub csrf: String,
    /// The person's shown name.
    pub person: String,
    /// Their username.
    pub username: String,
    /// Their role.
    pub role: Role,
    /// Their rights.
    pub rights: Permissions,
    /// This node.
    pub node_id: String,
    /// This node's team.
    pub team: String,
    /// Which navigation entry is current.
    pub nav: &'static str,
}

impl Chrome {
    /// Whether the person holds the right with this scope name.
    pub fn can(&self, scope: &str) -> bool {
        scope
            .parse::<Permission>()
            .is_ok_and(|p| self.rights.contains(p))
    }

    /// The languages, for the switcher: (code, native name, current).
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .into_iter()
            .map(|l| (l.code(), l.native_name(), l == self.tr.lang))
            .collect()
    }

    /// `aria-current` for a navigation entry.
    pub fn current(&self, nav: &str) -> &'static str {
        if self.nav == nav { "page" } else { "false" }
    }
}

/// The language of a request: the person's choice, else the `atalaya_lang` cookie (set on the
/// login page), else the browser's.
pub fn request_lang(headers: &HeaderMap, chosen: Option<&str>) -> Lang {
    chosen
        .and_then(Lang::from_code)
        .or_else(|| auth::cookie(headers, "atalaya_lang").and_then(Lang::from_code))
        .unwrap_or_else(|| browser_lang(headers))
}

/// A person with a complete session, and the page chrome for them.
pub struct Officer {
    /// The session.
    pub session: Session,
    /// As the API sees them.
    pub principal: Principal,
    /// Page chrome.
    pub c: Chrome,
}

impl Officer {
    /// Refuse (403 page) unless the person holds `right`.
    #[allow(clippy::result_large_err)] // a response is what a handler returns anyway
    pub fn require(&self, right: Permission) -> Result<(), Response> {
        self.principal
            .require(right)
            .map_err(|e| error_page(&self.c.tr, &e))
    }
}

/// After a successful form: the page to show next (a plain redirect, and `HX-Redirect` so an
/// htmx-submitted form moves the whole page too).
pub fn go(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert("hx-redirect", v);
    }
    r
}

/// Send the browser to `to` (for htmx requests, with `HX-Redirect` so the whole page moves).
pub fn redirect(headers: &HeaderMap, to: &str) -> Response {
    if headers.contains_key("hx-request") {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        Redirect::to(to).into_response()
    }
}

impl FromRequestParts<AppState> for Officer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = match auth::session_of(parts, state).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(redirect(&parts.headers, "/console/login")),
            Err(e) => return Err(e.into_response()),
        };
        if !session.record.mfa_done {
            let to = if session.user.totp_secret.is_some() {
                "/console/login/totp"
            } else {
                "/console/enrol"
            };
            return Err(redirect(&parts.headers, to));
        }
        let lang = request_lang(&parts.headers, session.user.language.as_deref());
        let tr = Tr::new(lang, &session.user.timezone);
        let principal = Principal::of_session(session.clone());
        let c = Chrome {
            tr,
            csrf: session.record.csrf.clone(),
            person: session.user.display_name.clone(),
            username: session.user.username.clone(),
            role: session.role(),
            rights: principal.rights,
            node_id: state.fed.node_id().to_string(),
            team: state
                .fed
                .roster()
                .member(state.fed.node_id())
                .map(|m| m.team.clone())
                .unwrap_or_default(),
            nav: nav_of(parts.uri.path()),
        };
        Ok(Officer {
            session,
            principal,
            c,
        })
    }
}

fn nav_of(path: &str) -> &'static str {
    let rest = path.trim_start_matches("/console").trim_start_matches('/');
    match rest.split('/').next().unwrap_or("") {
        "compose" => "compose",
        "bulletins" => "bulletins",
        "peers" => "peers",
        "users" => "users",
        "tokens" => "tokens",
        "settings" => "settings",
        "account" => "account",
        "checks" => "checks",
        "directory" => "directory",
        "coverage" => "coverage",
        "cybercrime" => "cybercrime",
        "standards" => "standards",
        "census" => "census",
        "reports" => "reports",
        "pages" => "pages",
        _ => "watch",
    }
}

/// A submitted console form: the person, and the fields, after the CSRF check (the token in
/// the `_csrf` field or the `X-CSRF-Token` header, and no foreign `Origin`).
pub struct Posted {
    /// Who.
    pub officer: Officer,
    /// The fields, in order (repeated names for multi-selects).
    pub fields: Vec<(String, String)>,
}

impl Posted {
    /// The first value of a field, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-blank value of a field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// Read an urlencoded form body with the console's limit.
pub async fn read_form(body: Body) -> Result<Vec<(String, String)>, ApiError> {
    let bytes = crate::body::read(body).await?;
    serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| ErrorCode::MalformedForm.with(format!("not a form: {e}")))
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let officer = Officer::from_request_parts(&mut parts, state).await?;
        let tr = officer.c.tr.clone();
        let fields = read_form(body).await.map_err(|e| error_page(&tr, &e))?;
        let sent = fields
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .or_else(|| {
                parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
            })
            .unwrap_or("");
        if !auth::same_secret(sent, &officer.c.csrf) || auth::cross_origin(&parts.headers) {
            return Err(error_page(&tr, &auth::csrf_refused()));
        }
        Ok(Posted { officer, fields })
    }
}

/// Render a page that was built, or the error page for why it could not be.
pub fn render_or_error(tr: &Tr, page: Result<impl askama::Template, ApiError>) -> Response {
    match page {
        Ok(p) => render(&p),
        Err(e) => error_page(tr, &e),
    }
}

#[derive(askama::Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    tr: &'a Tr,
    code: &'a str,
    message: &'a str,
    status: u16,
}

/// An error as a small page (or fragment) with its code and message, in the person's language.
pub fn error_page(tr: &Tr, e: &ApiError) -> Response {
    let page = ErrorPage {
        tr,
        code: e.code,
        message: &e.message,
        status: e.status.as_u16(),
    };
    render_status(e.status, &page)
}

/// The console's Content-Security-Policy: own scripts and styles only, no inline script, no
/// eval, no framing; forms post only here.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";
