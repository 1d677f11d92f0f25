//! Logging in: password, then the second factor (or its enrolment), then the watch floor.
//!
//! Before a session exists, the login form is protected from cross-site posting by a
//! double-submit token: a random value in a SameSite=Strict cookie that must come back in
//! the form.

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;

use super::{Lang, Tr, read_form, render, render_status, request_lang};
use crate::AppState;
use crate::auth::{self, session_cookie};
use atalaya_node::accounts::{NextStep, Session};

const LOGIN_COOKIE: &str = "atalaya_login";

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    tr: Tr,
    token: String,
    error: Option<String>,
    username: String,
    node_id: String,
    langs: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Template)]
#[template(path = "console/totp.html")]
struct TotpPage {
    tr: Tr,
    csrf: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/enrol.html")]
struct EnrolPage {
    tr: Tr,
    csrf: String,
    error: Option<String>,
    qr_svg: String,
    secret: String,
    uri: String,
    codes: Vec<String>,
}

/// `?lang=es` on the login page.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn langs(current: Lang) -> Vec<(&'static str, &'static str, bool)> {
    Lang::ALL
        .into_iter()
        .map(|l| (l.code(), l.native_name(), l == current))
        .collect()
}

fn login_page(
    state: &AppState,
    lang: Lang,
    error: Option<String>,
    username: String,
    status: StatusCode,
) -> Response {
    let token = atalaya_node::accounts::sha256_hex(&format!(
        "{}{}",
        state.fed.now().unix_millis(),
        atalaya_core::ids::random_hex(
            16,
            &mut atalaya_core::EntropyRng(state.fed.entropy.as_ref())
        )
    ));
    let page = LoginPage {
        tr: Tr::new(lang, "UTC"),
        token: token.clone(),
        error,
        username,
        node_id: state.fed.node_id().to_string(),
        langs: langs(lang),
    };
    let mut r = render_status(status, &page);
    let cookie = format!("{LOGIN_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /console/login`
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = request_lang(&headers, q.lang.as_deref());
    let mut r = login_page(&state, lang, None, String::new(), StatusCode::OK);
    if let Some(l) = q.lang.as_deref().and_then(Lang::from_code) {
        let c = format!(
            "atalaya_lang={}; Path=/; SameSite=Strict; Max-Age=31536000",
            l.code()
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `POST /console/login`
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let lang = request_lang(&headers, None);
    let tr = Tr::new(lang, "UTC");
    let fields = match read_form(body).await {
        Ok(f) => f,
        Err(e) => return super::error_page(&tr, &e),
    };
    let username = field(&fields, "username").trim().to_owned();
    let sent = field(&fields, "_login");
    let expected = auth::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !auth::same_secret(sent, expected) || auth::cross_origin(&headers) {
        return login_page(
            &state,
            lang,
            Some(tr.t("error-csrf")),
            username,
            StatusCode::FORBIDDEN,
        );
    }
    let address = state.client_ip(addr, &headers).to_string();
    match state
        .accounts
        .login(
            &username,
            field(&fields, "password"),
            &address,
            state.login_limits.as_ref(),
        )
        .await
    {
        Ok((cookie, session, next)) => {
            // The browser's zone becomes the person's until they choose one.
            let tz = field(&fields, "tz");
            if session.user.timezone == "UTC" && tz != "UTC" && !tz.is_empty() {
                let _ = state
                    .accounts
                    .set_preferences(&session.user, session.user.language.as_deref(), tz)
                    .await;
            }
            let to = match next {
                NextStep::Done => "/console",
                NextStep::Totp => "/console/login/totp",
                NextStep::Enrol => "/console/enrol",
            };
            let settings = &state.accounts.settings;
            let max_age = i64::from(settings.session_max_hours) * 3600;
            let mut r = Redirect::to(to).into_response();
            if let Ok(v) =
                HeaderValue::from_str(&session_cookie(settings.secure_cookie, &cookie, max_age))
            {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let status = auth::account_error(&e).status;
            let message = match &e {
                atalaya_node::accounts::AccountError::TooManyAttempts { minutes } => {
                    tr.ta("error-too-many", &[("minutes", minutes.to_string())])
                }
                atalaya_node::accounts::AccountError::Disabled => tr.t("error-disabled"),
                atalaya_node::accounts::AccountError::BadCredentials => tr.t("error-credentials"),
                other => other.to_string(),
            };
            login_page(&state, lang, Some(message), username, status)
        }
    }
}

/// A session that has given its password but not yet its second factor.
async fn half_session(state: &AppState, headers: &HeaderMap) -> Result<(Session, Tr), Response> {
    let name = auth::session_cookie_name(state.accounts.settings.secure_cookie);
    let Some(value) = auth::cookie(headers, name) else {
        return Err(Redirect::to("/console/login").into_response());
    };
    match state.accounts.session(value).await {
        Ok(Some(s)) => {
            let lang = request_lang(headers, s.user.language.as_deref());
            let tr = Tr::new(lang, &s.user.timezone);
            if s.record.mfa_done {
                return Err(Redirect::to("/console").into_response());
            }
            Ok((s, tr))
        }
        Ok(None) => Err(Redirect::to("/console/login").into_response()),
        Err(e) => Err(auth::account_error(&e).into_response()),
    }
}

/// A form posted by a half session, after its CSRF check.
async fn half_session_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Session, Tr, Vec<(String, String)>), Response> {
    let (session, tr) = half_session(state, headers).await?;
    let fields = read_form(body)
        .await
        .map_err(|e| super::error_page(&tr, &e))?;
    if !form_csrf_ok(&fields, &session, headers) {
        return Err(super::error_page(&tr, &auth::csrf_refused()));
    }
    Ok((session, tr, fields))
}

/// `GET /console/login/totp`
pub async fn totp_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match half_session(&state, &headers).await {
        Ok((s, tr)) => render(&TotpPage {
            tr,
            csrf: s.record.csrf,
            error: None,
        }),
        Err(r) => r,
    }
}

fn form_csrf_ok(fields: &[(String, String)], session: &Session, headers: &HeaderMap) -> bool {
    auth::same_secret(field(fields, "_csrf"), &session.record.csrf) && !auth::cross_origin(headers)
}

/// `POST /console/login/totp`
pub async fn totp_submit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let address = state.client_ip(addr, &headers).to_string();
    let (session, tr, fields) = match half_session_form(&state, &headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .accounts
        .second_factor(
            &session,
            field(&fields, "code"),
            &address,
            state.login_limits.as_ref(),
        )
        .await
    {
        Ok(()) => Redirect::to("/console").into_response(),
        Err(e) => {
            let status = auth::account_error(&e).status;
            let error = match &e {
                atalaya_node::accounts::AccountError::TooManyAttempts { minutes } => {
                    tr.ta("error-too-many", &[("minutes", minutes.to_string())])
                }
                _ => tr.t("error-code"),
            };
            render_status(
                status,
                &TotpPage {
                    tr,
                    csrf: session.record.csrf,
                    error: Some(error),
                },
            )
        }
    }
}

fn qr_svg(uri: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Inline in HTML: without the XML declaration.
    match svg.split_once("?>") {
        Some((_, rest)) => rest.trim().to_owned(),
        None => svg,
    }
}

fn enrol_page(state: &AppState, session: &Session, tr: Tr, error: Option<String>) -> EnrolPage {
    let secret = state.accounts.enrolment_secret(session);
    let issuer = format!("Atalaya {}", state.fed.node_id());
    let uri = atalaya_crypto::totp::otpauth_uri(&secret, &issuer, &session.user.username);
    EnrolPage {
        tr,
        csrf: session.record.csrf.clone(),
        error,
        qr_svg: qr_svg(&uri),
        secret,
        uri,
        codes: Vec::new(),
    }
}

/// `GET /console/enrol`: the QR code and the secret to type by hand.
pub async fn enrol_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match half_session(&state, &headers).await {
        Ok((s, _)) if s.user.totp_secret.is_some() => {
            Redirect::to("/console/login/totp").into_response()
        }
        Ok((s, tr)) => render(&enrol_page(&state, &s, tr, None)),
        Err(r) => r,
    }
}

/// `POST /console/enrol`: confirm with a first code; show the recovery codes once.
pub async fn enrol_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (session, tr, fields) = match half_session_form(&state, &headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .accounts
        .confirm_enrolment(
            &session,
            field(&fields, "code"),
            state.login_limits.as_ref(),
        )
        .await
    {
        Ok(codes) => {
            let mut page = enrol_page(&state, &session, tr, None);
            page.codes = codes;
            page.qr_svg.clear();
            render(&page)
        }
        Err(e) => {
            let status = auth::account_error(&e).status;
            let error = tr.t("error-code");
            render_status(status, &enrol_page(&state, &session, tr, Some(error)))
        }
    }
}

/// `POST /console/logout`
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let name = auth::session_cookie_name(state.accounts.settings.secure_cookie);
    if let Some(value) = auth::cookie(&headers, name)
        && let Ok(Some(session)) = state.accounts.session(value).await
    {
        let fields = read_form(body).await.unwrap_or_default();
        if !form_csrf_ok(&fields, &session, &headers) {
            let tr = Tr::new(request_lang(&headers, None), "UTC");
            return super::error_page(&tr, &auth::csrf_refused());
        }
        if let Err(e) = state.accounts.logout(&session).await {
            return auth::account_error(&e).into_response();
        }
    }
    let mut r = Redirect::to("/console/login").into_response();
    let secure = state.accounts.settings.secure_cookie;
    if let Ok(v) = HeaderValue::from_str(&session_cookie(secure, "", 0)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
