//! `/`: the public portal of every node, in the OAS's four languages, without login: the node's
//! public (TLP:CLEAR) advisories with search and filters, each advisory as a page, "how to
//! report an incident, and to whom" for every member state with a report form that reaches the
//! state's national CSIRT, and awareness pages the node's admins write in Markdown.
//!
//! Only what `policy::decide(.., Actor::Public, Action::PublishPublic, ..)` allows is shown
//! (through [`atalaya_federation::Federation::public_bulletins`] and the same decision for a
//! single advisory). The report form is protected without third parties: a proof of work
//! ([`pow`]), rate limits per client address and per destination state on the node's clock,
//! limits on every field and on the body, and a honeypot field.

#[allow(unused_imports)]
use crate::openapi::{JsonObject, Refusals};
use std::time::Duration;

use askama::Template;
use atalaya_core::directory::{Day, TeamRecord, TeamType, vocab};
use atalaya_core::policy::{Action, Actor, Decision, Denial, Item};
use atalaya_core::report::{self, IncidentReport, ReportForm};
use atalaya_core::{BulletinKind, CountryCode, Severity, Timestamp, member_states};
use atalaya_federation::Federation;
use atalaya_node::reports::{ReportError, ReportRoute};
use atalaya_store::{BulletinRecord, PortalPageRow, StoreError};
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::Need;
use crate::auth::right::ReadReports;
use crate::error::ErrorCode;
use crate::i18n::{Lang, Tr};
use crate::limits::Limit;
use crate::markdown;
use crate::page::{browser_lang, render, render_status, valid_slug};
use crate::{ApiError, AppState};

pub mod pow;

/// How the report form defends itself; the lead wires these from the node's `[portal]`
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSettings {
    /// Leading zero bits the proof of work needs (each bit doubles the browser's work).
    pub pow_bits: u8,
    /// How long a challenge stays valid, in seconds.
    pub challenge_ttl_secs: u32,
    /// The rate-limit window, in seconds.
    pub window_secs: u32,
    /// Report forms one client address may post per window.
    pub reports_per_address: u32,
    /// Reports one member state's team may receive through this node per window.
    pub reports_per_state: u32,
    /// Subscribers the public live stream (`/public/v1/events`) serves at once.
    pub live_subscribers: u32,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            pow_bits: 18,
            challenge_ttl_secs: 1800,
            window_secs: 3600,
            reports_per_address: 10,
            reports_per_state: 200,
            live_subscribers: 20_000,
        }
    }
}

/// The portal's state: its settings, the proof-of-work key, and the rate-limit counters.
pub struct Portal {
    /// Settings.
    pub settings: PortalSettings,
    pow: pow::Pow,
    /// Report forms per client address.
    by_address: Limit,
    /// Reports per member state.
    by_state: Limit,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Portal {
    /// The portal of the node `fed`: its proof-of-work key is derived from the node's signing
    /// key, so every process of the node accepts the challenges any of them issued.
    pub fn new(fed: &Federation, settings: PortalSettings) -> Self {
        let window = Duration::from_secs(u64::from(settings.window_secs.max(1)));
        Self {
            pow: pow::Pow::new(&fed.keys().signing_key().to_bytes()),
            by_address: Limit::new(settings.reports_per_address, window, fed.clock.clone()),
            by_state: Limit::new(settings.reports_per_state, window, fed.clock.clone()),
            settings,
        }
    }

    fn allow_address(&self, address: &str) -> bool {
        self.by_address.hit(address).is_ok()
    }

    fn allow_state(&self, country: &str) -> bool {
        self.by_state.hit(country).is_ok()
    }

    /// A fresh challenge for a report form.
    pub fn challenge(&self, fed: &Federation) -> String {
        let mut nonce = [0u8; 16];
        fed.entropy.fill(&mut nonce);
        let ttl = i64::from(self.settings.challenge_ttl_secs) * 1000;
        let expires = Timestamp::from_unix_millis(fed.now().unix_millis().saturating_add(ttl))
            .unwrap_or_else(|| fed.now());
        self.pow.issue(nonce, expires, self.settings.pow_bits)
    }
}

// ---------------------------------------------------------------------------------------------
// Language and chrome.

/// `?lang=` on every public page.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// The language of a public page: `?lang=`, else the browser's.
fn lang_of(headers: &HeaderMap, chosen: Option<&str>) -> Lang {
    chosen
        .and_then(Lang::from_code)
        .unwrap_or_else(|| browser_lang(headers))
}

/// What every portal page shows around its content.
#[derive(Debug, Clone)]
pub struct PortalChrome {
    /// Translations.
    pub tr: Tr,
    /// This node.
    pub node_id: String,
    /// This node's team.
    pub team: String,
    /// The page's path (for the language switcher).
    pub path: String,
    /// Which navigation entry is current.
    pub nav: &'static str,
    /// The awareness pages: (slug, title).
    pub pages: Vec<(String, String)>,
}

impl PortalChrome {
    /// The languages for the switcher: (code, native name, current).
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

    /// The language code, for links.
    pub fn l(&self) -> &'static str {
        self.tr.lang.code()
    }
}

async fn chrome(state: &AppState, lang: Lang, path: &str, nav: &'static str) -> PortalChrome {
    let pages = page_titles(state, lang).await.unwrap_or_default();
    PortalChrome {
        tr: Tr::new(lang, "UTC"),
        node_id: state.fed.node_id().to_string(),
        team: state
            .fed
            .roster()
            .member(state.fed.node_id())
            .map(|m| m.team.clone())
            .unwrap_or_default(),
        path: path.to_owned(),
        nav,
        pages,
    }
}

/// The awareness pages in `lang` (English where a page has no translation): (slug, title).
async fn page_titles(state: &AppState, lang: Lang) -> Result<Vec<(String, String)>, StoreError> {
    let rows = state.pages.all().await?;
    let mut out: Vec<(String, String)> = Vec::new();
    for r in &rows {
        if out.iter().any(|(s, _)| s == &r.slug) {
            continue;
        }
        let best = rows
            .iter()
            .find(|x| x.slug == r.slug && x.lang == lang.code())
            .or_else(|| rows.iter().find(|x| x.slug == r.slug && x.lang == "en"))
            .unwrap_or(r);
        out.push((r.slug.clone(), best.title.clone()));
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    p: PortalChrome,
    code: &'a str,
    message: String,
}

async fn error_page(state: &AppState, lang: Lang, code: ErrorCode) -> Response {
    let p = chrome(state, lang, "/", "").await;
    let message = match code.message_key() {
        Some(key) => p.tr.t(key),
        None => p.tr.tk("portal-error-", code.as_str()),
    };
    render_status(
        code.status(),
        &ErrorPage {
            p,
            code: code.as_str(),
            message,
        },
    )
}

async fn not_found(state: &AppState, lang: Lang) -> Response {
    error_page(state, lang, ErrorCode::NotFound).await
}

// ---------------------------------------------------------------------------------------------
// Home: public advisories with search and filters.

/// `GET /` query.
#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    lang: Option<String>,
    /// Text in the title or summary.
    q: Option<String>,
    kind: Option<String>,
    severity: Option<String>,
    sector: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    from: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    to: Option<String>,
    page: Option<u32>,
}

/// Advisories on one page of the list.
const PAGE_SIZE: usize = 20;
/// The most public advisories searched.
const MAX_PUBLIC: u32 = 2000;

const KINDS: [BulletinKind; 5] = [
    BulletinKind::AttackWarning,
    BulletinKind::VulnerabilityAdvisory,
    BulletinKind::SuspiciousActivity,
    BulletinKind::Mitigation,
    BulletinKind::Informational,
];

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// A severity's wire name.
pub fn severity_key(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// One advisory in the list.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// Kind key.
    pub kind: &'static str,
    /// Severity key.
    pub severity: &'static str,
    /// When, shown.
    pub when: String,
    /// Its origin node.
    pub origin: String,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    p: PortalChrome,
    items: Vec<Listed>,
    page: u32,
    pages: u32,
    q: String,
    kind: String,
    severity: String,
    sector: String,
    from: String,
    to: String,
    kinds: Vec<&'static str>,
    severities: Vec<&'static str>,
    sectors: Vec<(String, String)>,
    bad_dates: bool,
    /// The query string without `page`, for the pager's links.
    base: String,
    count_text: String,
    page_text: String,
}

fn day_start(s: &str) -> Option<i64> {
    Day::parse(s.trim()).ok().map(|d| {
        let days = (d.date()
            - time::Date::from_calendar_date(1970, time::Month::January, 1)
                .unwrap_or(time::Date::MIN))
        .whole_days();
        days * 86_400_000
    })
}

/// `GET /`: the node's public advisories, searched and filtered, paged.
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HomeQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let p = chrome(&state, lang, "/", "home").await;
    let records = match state.fed.public_bulletins(MAX_PUBLIC).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let text = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let text: String = text.chars().take(200).collect();
    let kind = q.kind.clone().unwrap_or_default();
    let severity = q.severity.clone().unwrap_or_default();
    let sector = q.sector.clone().unwrap_or_default();
    let from_s = q.from.clone().unwrap_or_default();
    let to_s = q.to.clone().unwrap_or_default();
    let from = (!from_s.trim().is_empty()).then(|| day_start(&from_s));
    let to = (!to_s.trim().is_empty()).then(|| day_start(&to_s).map(|d| d + 86_400_000));
    let bad_dates = matches!(from, Some(None)) || matches!(to, Some(None));
    let (from, to) = (from.flatten(), to.flatten());
    let matching: Vec<&BulletinRecord> = records
        .iter()
        .filter(|r| {
            let b = &r.bulletin;
            let c = &b.content;
            let created = b.created.unix_millis();
            (text.is_empty()
                || c.title.to_lowercase().contains(&text)
                || c.summary.to_lowercase().contains(&text))
                && (kind.is_empty() || c.kind.as_str() == kind)
                && (severity.is_empty() || severity_key(c.severity) == severity)
                && (sector.is_empty() || c.sectors.iter().any(|s| s == &sector))
                && from.is_none_or(|f| created >= f)
                && to.is_none_or(|t| created < t)
        })
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1) as u32;
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let items = matching
        .iter()
        .skip((page as usize - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|r| listed(&p.tr, r))
        .collect();
    let base = serde_urlencoded::to_string([
        ("lang", lang.code()),
        ("q", q.q.as_deref().unwrap_or("")),
        ("kind", &kind),
        ("severity", &severity),
        ("sector", &sector),
        ("from", &from_s),
        ("to", &to_s),
    ])
    .unwrap_or_default();
    let count_text = p.tr.ta("portal-count", &[("n", total.to_string())]);
    let page_text = p.tr.ta(
        "portal-page-of",
        &[("page", page.to_string()), ("pages", pages.to_string())],
    );
    let page_data = HomePage {
        count_text,
        page_text,
        kinds: KINDS.iter().map(|k| k.as_str()).collect(),
        severities: SEVERITIES.iter().map(|s| severity_key(*s)).collect(),
        sectors: vocab::sectors()
            .iter()
            .map(|s| (s.key.clone(), s.name.clone()))
            .collect(),
        p,
        items,
        page,
        pages,
        q: q.q.unwrap_or_default(),
        kind,
        severity,
        sector,
        from: from_s,
        to: to_s,
        bad_dates,
        base,
    };
    render(&page_data)
}

fn listed(tr: &Tr, r: &BulletinRecord) -> Listed {
    let b = &r.bulletin;
    Listed {
        id: b.id.to_string(),
        title: b.content.title.clone(),
        summary: b.content.summary.clone(),
        kind: b.content.kind.as_str(),
        severity: severity_key(b.content.severity),
        when: tr.when(b.created),
        origin: b.origin.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// One advisory.

#[derive(Template)]
#[template(path = "portal/advisory.html")]
struct AdvisoryPage {
    p: PortalChrome,
    a: Listed,
    body_html: String,
    sectors: Vec<String>,
    countries: Vec<String>,
    references: Vec<String>,
    indicators: Vec<(String, String)>,
    rsit: String,
    retracted: Option<(String, String)>,
}

/// `GET /advisories/{id}`: one public advisory; 404 for anything the public may not see; a
/// retracted public advisory shows that it was retracted, and nothing of its content.
pub async fn advisory(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return not_found(&state, lang).await;
    };
    let record = match state.fed.store.bulletin(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(&state, lang).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let b = &record.bulletin;
    let item = Item::of_bulletin(b, record.retracted.is_some());
    let decision = state
        .fed
        .decide(&item, &Actor::Public, Action::PublishPublic);
    let p = chrome(&state, lang, &format!("/advisories/{id}"), "home").await;
    let retracted = match decision {
        Decision::Allow => None,
        Decision::Deny(Denial::Retracted) => {
            // Was it public before it was retracted? Only then may the public learn that.
            let unretracted = Item {
                retracted: false,
                ..item
            };
            if !state
                .fed
                .decide(&unretracted, &Actor::Public, Action::PublishPublic)
                .is_allowed()
            {
                return not_found(&state, lang).await;
            }
            record
                .retracted
                .as_ref()
                .map(|(at, reason)| (p.tr.when(*at), reason.clone()))
        }
        Decision::Deny(_) => return not_found(&state, lang).await,
    };
    let c = &b.content;
    let shown = retracted.is_none();
    let page = AdvisoryPage {
        a: listed(&p.tr, &record),
        body_html: if shown {
            markdown::render(&c.body)
        } else {
            String::new()
        },
        sectors: if shown {
            c.sectors
                .iter()
                .map(|s| vocab::sector(s).map_or_else(|| s.clone(), |v| v.name.clone()))
                .collect()
        } else {
            Vec::new()
        },
        countries: if shown {
            c.countries
                .iter()
                .map(|cc| {
                    member_states::by_code(cc.as_str())
                        .map_or_else(|| cc.to_string(), |s| s.name_in(lang.code()).to_owned())
                })
                .collect()
        } else {
            Vec::new()
        },
        references: if shown {
            c.references
                .iter()
                .filter(|r| r.starts_with("https://") || r.starts_with("http://"))
                .cloned()
                .collect()
        } else {
            Vec::new()
        },
        indicators: if shown {
            c.indicators
                .iter()
                .take(500)
                .map(|i| {
                    let kind = serde_json::to_value(i.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    (kind, i.value.clone())
                })
                .collect()
        } else {
            Vec::new()
        },
        rsit: if shown {
            c.rsit.clone().unwrap_or_default()
        } else {
            String::new()
        },
        retracted,
        p,
    };
    let status = if page.retracted.is_some() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    render_status(status, &page)
}

// ---------------------------------------------------------------------------------------------
// How to report an incident, and to whom.

/// A national CSIRT's public contacts.
#[derive(Debug, Clone)]
pub struct Contacts {
    /// Short name.
    pub short_name: String,
    /// Official name.
    pub official_name: String,
    /// Where to report by e-mail.
    pub report_to: String,
    /// Public e-mail addresses.
    pub emails: Vec<String>,
    /// Public phone numbers.
    pub phones: Vec<String>,
    /// Business hours with their zone.
    pub hours: String,
    /// Reachable 24/7.
    pub available_24x7: bool,
    /// Web site.
    pub website: String,
    /// OpenPGP keys: (fingerprint, expiry).
    pub keys: Vec<(String, String)>,
}

fn contacts_of(t: &TeamRecord) -> Contacts {
    let t = t.public_view();
    let report_to = t
        .emails
        .iter()
        .find(|e| e.usage.iter().any(|u| u == "incident-report"))
        .or_else(|| t.emails.first())
        .map(|e| e.address.clone())
        .unwrap_or_default();
    Contacts {
        short_name: t.short_name.clone(),
        official_name: t.official_name.clone(),
        report_to,
        emails: t.emails.iter().map(|e| e.address.clone()).collect(),
        phones: t.phones.iter().map(|p| p.number.clone()).collect(),
        hours: t
            .business_hours
            .as_ref()
            .map(|h| format!("{} ({})", h.hours, h.timezone))
            .unwrap_or_default(),
        available_24x7: t.available_24x7,
        website: t
            .website
            .clone()
            .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
            .unwrap_or_default(),
        keys: t
            .pgp_keys
            .iter()
            .map(|k| {
                (
                    k.fingerprint.clone(),
                    k.expires.map(|d| d.to_string()).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// One member state on the report pages.
#[derive(Debug, Clone)]
pub struct StateEntry {
    /// Code.
    pub code: String,
    /// Name in the page's language.
    pub name: String,
    /// Its national CSIRT(s), public view.
    pub teams: Vec<Contacts>,
    /// Whether the network takes reports for it (a node of its national CSIRT exists).
    pub online: bool,
}

async fn state_entry(
    state: &AppState,
    teams: &[TeamRecord],
    code: CountryCode,
    lang: Lang,
) -> Result<StateEntry, StoreError> {
    let mut national: Vec<&TeamRecord> = teams
        .iter()
        .filter(|t| t.country == code && t.team_type == TeamType::National)
        .collect();
    national.sort_by(|a, b| a.short_name.cmp(&b.short_name));
    let online = state.reports.route(code).await? != ReportRoute::Nowhere;
    Ok(StateEntry {
        code: code.to_string(),
        name: member_states::by_code(code.as_str())
            .map_or_else(|| code.to_string(), |s| s.name_in(lang.code()).to_owned()),
        teams: national.into_iter().map(contacts_of).collect(),
        online,
    })
}

#[derive(Template)]
#[template(path = "portal/report_index.html")]
struct ReportIndex {
    p: PortalChrome,
    states: Vec<StateEntry>,
}

/// `GET /report`: for every member state, whom to report an incident to.
pub async fn report_index(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let p = chrome(&state, lang, "/report", "report").await;
    let teams = match state.fed.teams().await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut states = Vec::new();
    for s in member_states::all() {
        match state_entry(&state, &teams, s.iso2, lang).await {
            Ok(e) => states.push(e),
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    states.sort_by(|a, b| a.name.cmp(&b.name));
    render(&ReportIndex { p, states })
}

/// The report form's fields, as shown again after a refusal.
#[derive(Debug, Clone, Default)]
pub struct Filled {
    /// What happened.
    pub what: String,
    /// When.
    pub when: String,
    /// Contact.
    pub contact: String,
    /// Organisation.
    pub organisation: String,
    /// Sector.
    pub sector: String,
    /// RSIT class.
    pub rsit: String,
}

#[derive(Template)]
#[template(path = "portal/report_form.html")]
struct ReportFormPage {
    p: PortalChrome,
    s: StateEntry,
    challenge: String,
    bits: u8,
    f: Filled,
    /// The refusal's code and the problems by field: (field, message).
    refusal: Option<(String, String)>,
    problems: Vec<(String, String)>,
    sectors: Vec<(String, String)>,
    rsit: Vec<&'static str>,
    /// The reference of a report just taken.
    reference: Option<String>,
    heading: String,
}

fn member_state(code: &str) -> Option<CountryCode> {
    let code = code.trim().to_ascii_uppercase();
    CountryCode::new(&code)
        .ok()
        .filter(|c| member_states::is_member_state(*c))
}

async fn form_page(
    state: &AppState,
    lang: Lang,
    code: CountryCode,
    f: Filled,
    refusal: Option<(String, String)>,
    problems: Vec<(String, String)>,
    reference: Option<String>,
) -> Result<ReportFormPage, ApiError> {
    let teams = state.fed.teams().await?;
    let s = state_entry(state, &teams, code, lang).await?;
    let p = chrome(state, lang, &format!("/report/{code}"), "report").await;
    let heading = p.tr.ta("portal-report-to", &[("state", s.name.clone())]);
    Ok(ReportFormPage {
        heading,
        p,
        s,
        challenge: state.portal.challenge(&state.fed),
        bits: state.portal.settings.pow_bits,
        f,
        refusal,
        problems,
        sectors: vocab::sectors()
            .iter()
            .map(|s| (s.key.clone(), s.name.clone()))
            .collect(),
        rsit: report::RSIT_CLASSES.to_vec(),
        reference,
    })
}

/// `GET /report/{country}`: the state's national CSIRT's public contacts and, when the network
/// has its node, the report form.
pub async fn report_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(country): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let Some(code) = member_state(&country) else {
        return not_found(&state, lang).await;
    };
    match form_page(
        &state,
        lang,
        code,
        Filled::default(),
        None,
        Vec::new(),
        None,
    )
    .await
    {
        Ok(page) => render(&page),
        Err(e) => e.into_response(),
    }
}

/// `POST /report/{country}`: take a report. Refusals show the form again with the problem
/// (everything the person typed is escaped); nothing is stored unless every check passes.
pub async fn report_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    Path(country): Path<String>,
    Query(q): Query<LangQuery>,
    body: Body,
) -> Response {
    let lang0 = lang_of(&headers, q.lang.as_deref());
    let Some(code) = member_state(&country) else {
        return not_found(&state, lang0).await;
    };
    let now = state.fed.now();
    let refuse = |lang: Lang,
                  status: StatusCode,
                  code_: &'static str,
                  f: Filled,
                  problems: Vec<(String, String)>| {
        let state = state.clone();
        async move {
            let tr = Tr::new(lang, "UTC");
            let message = tr.tk("portal-error-", code_);
            match form_page(
                &state,
                lang,
                code,
                f,
                Some((code_.to_owned(), message)),
                problems,
                None,
            )
            .await
            {
                Ok(page) => render_status(status, &page),
                Err(e) => e.into_response(),
            }
        }
    };
    // A refusal that keeps nothing of what was typed.
    let refuse_plainly = |lang: Lang, code_: ErrorCode| {
        refuse(
            lang,
            code_.status(),
            code_.as_str(),
            Filled::default(),
            Vec::new(),
        )
    };
    // Every post counts against the address, before any costly work.
    if !state
        .portal
        .allow_address(&state.client_key(addr, &headers))
    {
        return refuse_plainly(lang0, ErrorCode::RateLimited).await;
    }
    let bytes = match axum::body::to_bytes(body, report::limits::BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return refuse_plainly(lang0, ErrorCode::TooLarge).await;
        }
    };
    let form: ReportForm = match report::parse_form(&bytes) {
        Ok(f) => f,
        Err(e) => {
            let status = if matches!(e, report::FormError::TooLarge) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            let problems = e
                .field()
                .map(|f| vec![(f.to_owned(), e.to_string())])
                .unwrap_or_default();
            return refuse(lang0, status, e.code(), Filled::default(), problems).await;
        }
    };
    let lang = Lang::from_code(&form.lang).unwrap_or(lang0);
    let filled = Filled {
        what: form.what.clone(),
        when: form.when.clone(),
        contact: form.contact.clone(),
        organisation: form.organisation.clone(),
        sector: form.sector.clone(),
        rsit: form.rsit.clone(),
    };
    if !form.website.is_empty() {
        tracing::info!(address = %addr.ip(), "report form refused: honeypot filled in");
        return refuse_plainly(lang, ErrorCode::Honeypot).await;
    }
    let solved = match state.portal.pow.verify(
        &form.challenge,
        &form.pow,
        now,
        state.portal.settings.pow_bits,
    ) {
        Ok(s) => s,
        Err(e) => {
            return refuse(lang, StatusCode::BAD_REQUEST, e.code(), filled, Vec::new()).await;
        }
    };
    let route = match state.reports.route(code).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if route == ReportRoute::Nowhere {
        return refuse_plainly(lang, ErrorCode::NoNodeForState).await;
    }
    let id = state.reports.new_id();
    let report: IncidentReport = match form.to_report(id, code, now, state.fed.node_id().clone()) {
        Ok(r) => r,
        Err(problems) => {
            let tr = Tr::new(lang, "UTC");
            let problems = problems
                .iter()
                .map(|p| (p.field.clone(), tr.tk("portal-problem-", p.code)))
                .collect();
            return refuse(
                lang,
                ErrorCode::InvalidReport.status(),
                ErrorCode::InvalidReport.as_str(),
                filled,
                problems,
            )
            .await;
        }
    };
    if !state.portal.allow_state(code.as_str()) {
        return refuse(
            lang,
            ErrorCode::RateLimited.status(),
            ErrorCode::RateLimited.as_str(),
            filled,
            Vec::new(),
        )
        .await;
    }
    match state
        .pages
        .claim_challenge(&solved.nonce, solved.expires, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                lang,
                ErrorCode::PowReplayed.status(),
                ErrorCode::PowReplayed.as_str(),
                filled,
                Vec::new(),
            )
            .await;
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    match state.reports.file(report.clone()).await {
        Ok(_) => {}
        Err(ReportError::NoNode(_)) => {
            return refuse_plainly(lang, ErrorCode::NoNodeForState).await;
        }
        Err(ReportError::Invalid(m)) => {
            tracing::warn!(reason = %m, "incident report not sent");
            return refuse(
                lang,
                ErrorCode::NotSent.status(),
                ErrorCode::NotSent.as_str(),
                filled,
                Vec::new(),
            )
            .await;
        }
        Err(e) => return ApiError::internal(e).into_response(),
    }
    match form_page(
        &state,
        lang,
        code,
        Filled::default(),
        None,
        Vec::new(),
        Some(report.reference),
    )
    .await
    {
        Ok(page) => render_status(StatusCode::CREATED, &page),
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Awareness pages.

#[derive(Template)]
#[template(path = "portal/page.html")]
struct AwarenessPage {
    p: PortalChrome,
    title: String,
    body_html: String,
    updated: String,
}

/// `GET /pages/{slug}`: an awareness page in the reader's language (English when it has no
/// translation).
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    if !valid_slug(&slug) {
        return not_found(&state, lang).await;
    }
    let row = match state.pages.page(&slug, lang.code()).await {
        Ok(Some(r)) => Some(r),
        Ok(None) => match state.pages.page(&slug, "en").await {
            Ok(r) => r,
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(row) = row else {
        return not_found(&state, lang).await;
    };
    let p = chrome(&state, lang, &format!("/pages/{slug}"), "pages").await;
    render(&AwarenessPage {
        title: row.title.clone(),
        body_html: markdown::render(&row.body),
        updated: p.tr.when(row.updated),
        p,
    })
}

/// The default awareness pages: (slug, language, Markdown whose first line is `# Title`).
const DEFAULT_PAGES: [(&str, &str, &str); 8] = [
    (
        "staying-safe-online",
        "en",
        include_str!("../../portal-pages/en/staying-safe-online.md"),
    ),
    (
        "how-reporting-works",
        "en",
        include_str!("../../portal-pages/en/how-reporting-works.md"),
    ),
    (
        "staying-safe-online",
        "es",
        include_str!("../../portal-pages/es/staying-safe-online.md"),
    ),
    (
        "how-reporting-works",
        "es",
        include_str!("../../portal-pages/es/how-reporting-works.md"),
    ),
    (
        "staying-safe-online",
        "pt",
        include_str!("../../portal-pages/pt/staying-safe-online.md"),
    ),
    (
        "how-reporting-works",
        "pt",
        include_str!("../../portal-pages/pt/how-reporting-works.md"),
    ),
    (
        "staying-safe-online",
        "fr",
        include_str!("../../portal-pages/fr/staying-safe-online.md"),
    ),
    (
        "how-reporting-works",
        "fr",
        include_str!("../../portal-pages/fr/how-reporting-works.md"),
    ),
];

/// Seed the default awareness pages (two per language) that the store does not hold yet; an
/// admin's edits are never overwritten. Returns how many were added. Run at every start.
pub async fn seed_default_pages(fed: &Federation) -> Result<usize, StoreError> {
    let pages = atalaya_node::portal::PortalPages::new(fed.store.clone());
    let mut added = 0;
    for (slug, lang, text) in DEFAULT_PAGES {
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        let row = PortalPageRow {
            slug: slug.to_owned(),
            lang: lang.to_owned(),
            title: first.trim_start_matches('#').trim().to_owned(),
            body: rest.trim_start().to_owned(),
            updated: fed.now(),
            updated_by: "atalaya".to_owned(),
        };
        if pages.seed(&row).await? {
            added += 1;
        }
    }
    Ok(added)
}

// ---------------------------------------------------------------------------------------------
// Static files and the API.

/// `GET /portal/static/{file}`: the portal's own script (the proof of work) and styles.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "portal-1.js" => (
            include_bytes!("../../static/portal-1.js"),
            "text/javascript",
        ),
        "portal-1.css" => (include_bytes!("../../static/portal-1.css"), "text/css"),
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

/// `?limit=`
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/reports`: the incident reports filed here, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "reports",
    params(ReportsQuery),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn api_reports(
    State(state): State<AppState>,
    _: Need<ReadReports>,
    query: Result<Query<ReportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ErrorCode::InvalidQuery.with(e.body_text()))?;
    let reports = state
        .reports
        .list(q.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    Ok(Json(serde_json::json!({"reports": reports})).into_response())
}

/// `GET /api/v1/reports/{id}`: one report filed here.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "the id (a UUID)")),
    responses(
        (status = 200, description = "done", body = JsonObject),
        Refusals,
    ),
    security(("bearer" = []))
)]
pub async fn api_report(
    State(state): State<AppState>,
    _: Need<ReadReports>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id
        .parse::<uuid::Uuid>()
        .map_err(|_| ApiError::not_found("report"))?;
    let report = state
        .reports
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))?;
    Ok(Json(report).into_response())
}

/// Paths served by the portal (they get the portal's security headers).
pub fn is_portal_path(path: &str) -> bool {
    path == "/"
        || ["/advisories/", "/report", "/pages/", "/portal/"]
            .iter()
            .any(|p| path.starts_with(p))
}
