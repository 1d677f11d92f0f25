//! The public portal in the console: the incident reports the public sent to this node's team
//! (for those on watch), and the awareness pages the node's admins write in Markdown, with a
//! preview rendered exactly as the portal will show it.

use askama::Template;
use atalaya_core::directory::Problem;
use atalaya_core::member_states;
use atalaya_core::report::IncidentReport;
use atalaya_store::PortalPageRow;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Chrome, Lang, Officer, Posted, go, render, render_or_error, render_status};
use crate::auth::Need;
use crate::auth::right::{EditPortal, ReadReports};
use crate::markdown;
use crate::page::valid_slug;
use crate::{ApiError, AppState};

/// Longest awareness page, in bytes of Markdown.
pub const PAGE_BODY_BYTES: usize = 64 * 1024;
/// Longest page title, in characters.
pub const PAGE_TITLE_CHARS: usize = 200;

/// One report in the list.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// Id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// State, named in the officer's language.
    pub country: String,
    /// Received, in the officer's zone.
    pub received: String,
    /// The first line of what happened.
    pub what: String,
    /// The node whose portal took it.
    pub via: String,
}

fn country_name(code: &str, lang: Lang) -> String {
    member_states::by_code(code)
        .map_or_else(|| code.to_owned(), |s| s.name_in(lang.code()).to_owned())
}

fn row(c: &Chrome, r: &IncidentReport) -> ReportRow {
    let first: String = r
        .what
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(140)
        .collect();
    ReportRow {
        id: r.id.to_string(),
        reference: r.reference.clone(),
        country: country_name(r.country.as_str(), c.tr.lang),
        received: c.tr.when(r.received),
        what: first,
        via: r.via.to_string(),
    }
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage {
    c: Chrome,
    reports: Vec<ReportRow>,
}

/// `GET /console/reports`: the incident reports filed here, newest first.
pub async fn reports(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadReports, Officer>,
) -> Response {
    let page = state
        .reports
        .list(500)
        .await
        .map_err(ApiError::from)
        .map(|rs| ReportsPage {
            reports: rs.iter().map(|r| row(&o.c, r)).collect(),
            c: o.c.clone(),
        });
    render_or_error(&o.c.tr, page)
}

#[derive(Template)]
#[template(path = "console/report.html")]
struct ReportPage {
    c: Chrome,
    r: ReportRow,
    report: IncidentReport,
    sector: String,
    rsit: String,
}

/// `GET /console/reports/{id}`: one report.
pub async fn report(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadReports, Officer>,
    Path(id): Path<String>,
) -> Response {
    let found = match id.parse::<uuid::Uuid>() {
        Ok(id) => state.reports.get(id).await.map_err(ApiError::from),
        Err(_) => Ok(None),
    };
    let page = found
        .and_then(|r| r.ok_or_else(|| ApiError::not_found("report")))
        .map(|report| ReportPage {
            r: row(&o.c, &report),
            sector: report
                .sector
                .as_deref()
                .map(|s| {
                    atalaya_core::directory::vocab::sector(s)
                        .map_or_else(|| s.to_owned(), |v| v.name.clone())
                })
                .unwrap_or_default(),
            rsit: report
                .rsit
                .as_deref()
                .map(|r| o.c.tr.tk("rsit-", r))
                .unwrap_or_default(),
            report,
            c: o.c.clone(),
        });
    render_or_error(&o.c.tr, page)
}

/// One page in the list: (slug, language, title, updated, by).
#[derive(Debug, Clone)]
pub struct PageRow {
    /// Address.
    pub slug: String,
    /// Language.
    pub lang: String,
    /// Title.
    pub title: String,
    /// Updated, in the person's zone.
    pub updated: String,
    /// By.
    pub by: String,
}

#[derive(Template)]
#[template(path = "console/pages.html")]
struct PagesPage {
    c: Chrome,
    pages: Vec<PageRow>,
    saved: bool,
    problems: Vec<Problem>,
}

/// `?saved=1`, or `?new=<slug>&lang=` to start a page.
#[derive(Debug, Default, Deserialize)]
pub struct PagesQuery {
    saved: Option<String>,
    new: Option<String>,
    lang: Option<String>,
}

/// `GET /console/pages`: the portal's awareness pages.
pub async fn pages(
    State(state): State<AppState>,
    Need(o, ..): Need<EditPortal, Officer>,
    Query(q): Query<PagesQuery>,
) -> Response {
    let mut problems = Vec::new();
    if let Some(slug) = q.new.as_deref().map(str::trim) {
        let lang = q
            .lang
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or(o.c.tr.lang);
        if valid_slug(slug) {
            return go(&format!("/console/pages/{slug}?lang={}", lang.code()));
        }
        problems.push(Problem::new(
            "bad-slug",
            "slug",
            "1 to 64 of a-z, 0-9 and -",
        ));
    }
    let page = state
        .pages
        .all()
        .await
        .map_err(ApiError::from)
        .map(|rows| PagesPage {
            pages: rows
                .iter()
                .map(|r| PageRow {
                    slug: r.slug.clone(),
                    lang: r.lang.clone(),
                    title: r.title.clone(),
                    updated: o.c.tr.when(r.updated),
                    by: r.updated_by.clone(),
                })
                .collect(),
            saved: q.saved.is_some(),
            problems,
            c: o.c.clone(),
        });
    render_or_error(&o.c.tr, page)
}

#[derive(Template)]
#[template(path = "console/page_edit.html")]
struct PageEdit {
    c: Chrome,
    slug: String,
    lang: String,
    title: String,
    body: String,
    preview: Option<String>,
    problems: Vec<Problem>,
    languages: Vec<(&'static str, &'static str)>,
}

/// `?lang=`
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

fn languages() -> Vec<(&'static str, &'static str)> {
    Lang::ALL
        .iter()
        .map(|l| (l.code(), l.native_name()))
        .collect()
}

/// `GET /console/pages/{slug}?lang=`: the edit form (empty for a new page or translation).
pub async fn edit_form(
    State(state): State<AppState>,
    Need(o, ..): Need<EditPortal, Officer>,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    if !valid_slug(&slug) {
        return super::error_page(&o.c.tr, &ApiError::not_found("page"));
    }
    let lang = q
        .lang
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or(o.c.tr.lang)
        .code()
        .to_owned();
    let held = match state.pages.page(&slug, &lang).await {
        Ok(p) => p,
        Err(e) => return super::error_page(&o.c.tr, &ApiError::from(e)),
    };
    let (title, body) = held.map_or_else(Default::default, |p| (p.title, p.body));
    render(&PageEdit {
        c: o.c,
        slug,
        lang,
        title,
        body,
        preview: None,
        problems: Vec::new(),
        languages: languages(),
    })
}

/// Every problem with a page as submitted.
pub fn page_problems(slug: &str, lang: &str, title: &str, body: &str) -> Vec<Problem> {
    let mut p = Vec::new();
    if !valid_slug(slug) {
        p.push(Problem::new(
            "bad-slug",
            "slug",
            "1 to 64 of a-z, 0-9 and -",
        ));
    }
    if Lang::from_code(lang).is_none_or(|l| l.code() != lang) {
        p.push(Problem::new(
            "not-a-choice",
            "lang",
            "one of en, es, pt, fr",
        ));
    }
    let t = title.trim();
    if t.is_empty() || t.chars().count() > PAGE_TITLE_CHARS || t.chars().any(char::is_control) {
        p.push(Problem::new(
            "bad-title",
            "title",
            format!("1 to {PAGE_TITLE_CHARS} characters, on one line"),
        ));
    }
    if body.len() > PAGE_BODY_BYTES {
        p.push(Problem::new(
            "too-long",
            "body",
            format!("at most {} KiB", PAGE_BODY_BYTES / 1024),
        ));
    }
    p
}

/// `POST /console/pages/{slug}`: preview (`action=preview`) or save a page in one language.
pub async fn edit_submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Need(form, ..): Need<EditPortal, Posted>,
) -> Response {
    let field = |name: &str| {
        form.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (lang, title, body) = (
        field("lang"),
        field("title"),
        field("body").replace("\r\n", "\n"),
    );
    let preview = form.get("action") == Some("preview");
    let problems = page_problems(&slug, &lang, &title, &body);
    if preview || !problems.is_empty() {
        let status = if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let rendered =
            (problems.is_empty() || body.len() <= PAGE_BODY_BYTES).then(|| markdown::render(&body));
        return render_status(
            status,
            &PageEdit {
                c: form.officer.c,
                slug,
                lang,
                title,
                body,
                preview: rendered,
                problems,
                languages: languages(),
            },
        );
    }
    let row = PortalPageRow {
        slug: slug.clone(),
        lang,
        title: title.trim().to_owned(),
        body,
        updated: state.fed.now(),
        updated_by: form.officer.c.username.clone(),
    };
    if let Err(e) = state.pages.save(&row).await {
        return ApiError::from(e).into_response();
    }
    tracing::info!(slug = %row.slug, lang = %row.lang, by = %row.updated_by, "portal page saved");
    go("/console/pages?saved=1")
}
