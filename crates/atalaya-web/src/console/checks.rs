//! Communication checks in the console: start one, follow its report live, answer the checks
//! this node received (a person must), and see each member's answer times over the recent
//! checks. Also the origin's "re-notify" action on a bulletin's overdue recipients.

use askama::Template;
use atalaya_core::comm_check::{self, MemberStatus};
use axum::extract::{Path, State};
use axum::response::Response;

use super::{Chrome, Officer, Posted, go, render_or_error};
use crate::auth::Need;
use crate::auth::right::{AnswerChecks, ReadBulletins, Renotify, RunChecks};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

fn status_word(s: MemberStatus) -> &'static str {
    match s {
        MemberStatus::Answered => "answered",
        MemberStatus::Unanswered => "unanswered",
        MemberStatus::Overdue => "overdue",
        MemberStatus::Queued => "queued",
        MemberStatus::Unreachable => "unreachable",
    }
}

/// A check waiting for this team's answer.
#[derive(Debug, Clone)]
pub struct PendingRow {
    /// Check id.
    pub id: String,
    /// Who asks.
    pub from: String,
    /// Their message.
    pub message: String,
    /// Answer by.
    pub answer_by: String,
    /// Past it.
    pub overdue: bool,
}

/// The checks this node received and nobody here answered.
pub async fn pending_rows(state: &AppState, c: &Chrome) -> Result<Vec<PendingRow>, ApiError> {
    let now = state.fed.now();
    Ok(state
        .checks
        .pending()
        .await?
        .into_iter()
        .map(|r| PendingRow {
            id: r.check.id.to_string(),
            from: r.from.to_string(),
            message: r.check.message.clone().unwrap_or_default(),
            answer_by: c.tr.when(r.check.answer_by),
            overdue: now >= r.check.answer_by,
        })
        .collect())
}

/// A check in the history.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// Id.
    pub id: String,
    /// Started.
    pub started: String,
    /// By.
    pub by: String,
    /// Answered of targets.
    pub answered: usize,
    /// Targets.
    pub targets: usize,
    /// Unreachable.
    pub unreachable: usize,
    /// Median time to answer.
    pub median: String,
}

/// One member's trend: a sparkline and the median.
#[derive(Debug, Clone)]
pub struct TrendRow {
    /// Node.
    pub node: String,
    /// Answered of checks.
    pub answered: usize,
    /// Checks.
    pub checks: usize,
    /// Median.
    pub median: String,
    /// SVG polyline points of the answer times (oldest left).
    pub line: String,
    /// The same points, each drawn as a dot (a single check still shows).
    pub dots: Vec<(f64, f64)>,
    /// Checks not answered: x positions for a mark.
    pub missed: Vec<f64>,
    /// Text for screen readers and tooltips.
    pub text: String,
}

#[derive(Template)]
#[template(path = "console/checks.html")]
struct ChecksPage {
    c: Chrome,
    pending: Vec<PendingRow>,
    history: Vec<HistoryRow>,
    trend: Vec<TrendRow>,
    peers: usize,
}

const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 24.0;

fn trend_rows(c: &Chrome, t: &comm_check::Trend) -> Vec<TrendRow> {
    t.members
        .iter()
        .map(|m| {
            let n = m.points.len().max(1);
            let x = |i: usize| {
                if n == 1 {
                    SPARK_W / 2.0
                } else {
                    i as f64 * SPARK_W / (n - 1) as f64
                }
            };
            let max = m
                .points
                .iter()
                .filter_map(|p| p.answer_ms)
                .max()
                .unwrap_or(1)
                .max(1) as f64;
            let dots: Vec<(f64, f64)> = m
                .points
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    p.answer_ms
                        .map(|ms| (x(i), SPARK_H - 2.0 - (ms as f64 / max) * (SPARK_H - 4.0)))
                })
                .collect();
            let line = dots
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect::<Vec<_>>()
                .join(" ");
            let missed = m
                .points
                .iter()
                .enumerate()
                .filter(|(_, p)| p.answer_ms.is_none())
                .map(|(i, _)| x(i))
                .collect();
            let text = m
                .points
                .iter()
                .map(|p| match p.answer_ms {
                    Some(ms) => c.tr.duration(ms),
                    None => c.tr.tk("check-", status_word(p.status)),
                })
                .collect::<Vec<_>>()
                .join(" · ");
            TrendRow {
                node: m.node.to_string(),
                answered: m.answered,
                checks: m.points.len(),
                median: m
                    .median_answer_ms
                    .map_or_else(|| "—".into(), |ms| c.tr.duration(ms)),
                line,
                dots,
                missed,
                text,
            }
        })
        .collect()
}

/// `GET /console/checks`
pub async fn page(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
) -> Response {
    let result = async {
        let now = state.fed.now();
        let facts = state.checks.started(20).await?;
        let history = facts
            .iter()
            .map(|f| {
                let s = comm_check::summary(f, now);
                HistoryRow {
                    id: s.check.id.to_string(),
                    started: o.c.tr.when(s.check.started_at),
                    by: s.started_by,
                    answered: s.totals.answered,
                    targets: s.totals.targets,
                    unreachable: s.totals.unreachable,
                    median: s
                        .median_answer_ms
                        .map_or_else(|| "—".into(), |ms| o.c.tr.duration(ms)),
                }
            })
            .collect();
        let trend = comm_check::trend(&facts, 10, now);
        Ok::<_, ApiError>(ChecksPage {
            pending: pending_rows(&state, &o.c).await?,
            history,
            trend: trend_rows(&o.c, &trend),
            peers: state
                .fed
                .roster()
                .roster
                .peers_of(state.fed.node_id())
                .count(),
            c: o.c.clone(),
        })
    }
    .await;
    render_or_error(&o.c.tr, result)
}

/// `POST /console/checks`: start a check of every peer.
pub async fn start(
    State(state): State<AppState>,
    Need(p, ..): Need<RunChecks, Posted>,
) -> Response {
    let o = &p.officer;
    let minutes = match p.get("minutes").unwrap_or("15").parse::<u32>() {
        Ok(m) => m,
        Err(_) => {
            return super::error_page(
                &o.c.tr,
                &ErrorCode::InvalidCheck
                    .with("minutes: not a number")
                    .with_status(axum::http::StatusCode::BAD_REQUEST),
            );
        }
    };
    match state
        .checks
        .start(
            None,
            p.get("message").map(str::to_owned),
            minutes,
            &o.principal.name,
        )
        .await
    {
        Ok(started) => go(&format!("/console/checks/{}", started.check.id)),
        Err(e) => super::error_page(&o.c.tr, &ApiError::from(e)),
    }
}

/// One member in a check's report.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// Node.
    pub node: String,
    /// Status word.
    pub status: &'static str,
    /// Translated.
    pub status_text: String,
    /// Delivered at.
    pub delivered: String,
    /// Answered at.
    pub answered: String,
    /// By, with the note.
    pub by: String,
    /// Time to answer.
    pub time: String,
    /// Transport error.
    pub error: String,
}

#[derive(Template)]
#[template(path = "console/check.html")]
struct CheckPage {
    c: Chrome,
    id: String,
    started: String,
    answer_by: String,
    message: String,
    started_by: String,
    totals: comm_check::Totals,
    median: String,
    rows: Vec<ReportRow>,
}

/// `GET /console/checks/{id}`: the report, refreshed live.
pub async fn report(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id: uuid::Uuid = id
            .parse()
            .map_err(|_| ErrorCode::InvalidId.with("check ids are UUIDs"))?;
        let facts = state
            .checks
            .started_check(id)
            .await?
            .ok_or_else(|| ApiError::not_found("check started here"))?;
        let r = comm_check::report(&facts, state.fed.now());
        let tr = &o.c.tr;
        Ok::<_, ApiError>(CheckPage {
            id: r.check.id.to_string(),
            started: tr.when(r.check.started_at),
            answer_by: tr.when(r.check.answer_by),
            message: r.check.message.clone().unwrap_or_default(),
            started_by: r.started_by.clone(),
            totals: r.totals,
            median: r
                .median_answer_ms
                .map_or_else(|| "—".into(), |ms| tr.duration(ms)),
            rows: r
                .members
                .iter()
                .map(|m| ReportRow {
                    node: m.node.to_string(),
                    status: status_word(m.status),
                    status_text: tr.tk("check-", status_word(m.status)),
                    delivered: tr.when_opt(m.delivered_at),
                    answered: tr.when_opt(m.answered_at),
                    by: match (&m.answered_by, &m.note) {
                        (Some(b), Some(n)) => format!("{b} — {n}"),
                        (Some(b), None) => b.clone(),
                        _ => String::new(),
                    },
                    time: m.answer_ms.map_or_else(String::new, |ms| tr.duration(ms)),
                    error: m.last_error.clone().unwrap_or_default(),
                })
                .collect(),
            c: o.c.clone(),
        })
    }
    .await;
    render_or_error(&o.c.tr, result)
}

/// `POST /console/checks/{id}/answer`: a person here answers, in their own name.
pub async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<AnswerChecks, Posted>,
) -> Response {
    let o = &p.officer;
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return super::error_page(&o.c.tr, &ErrorCode::InvalidId.with("check ids are UUIDs"));
    };
    match state
        .checks
        .answer(
            id,
            &o.principal.display_name,
            p.get("note").map(str::to_owned),
        )
        .await
    {
        Ok(_) => go(p
            .get("back")
            .filter(|b| b.starts_with("/console"))
            .unwrap_or("/console/checks")),
        Err(atalaya_node::checks::CheckError::Invalid(m)) => {
            super::error_page(&o.c.tr, &ErrorCode::InvalidAnswer.with(m))
        }
        Err(e) => super::error_page(&o.c.tr, &ApiError::from(e)),
    }
}

/// `POST /console/bulletins/{id}/renotify`: ask the overdue recipients (or the one named in
/// `node`) to call their on-call roster now.
pub async fn renotify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<Renotify, Posted>,
) -> Response {
    let o = &p.officer;
    let Ok(bulletin) = id.parse::<uuid::Uuid>() else {
        return super::error_page(
            &o.c.tr,
            &ErrorCode::InvalidId.with("bulletin ids are UUIDs"),
        );
    };
    let nodes: Option<Vec<String>> = p.get("node").map(|n| vec![n.to_owned()]);
    match state
        .fed
        .renotify(bulletin, nodes.as_deref(), &o.principal.name)
        .await
    {
        Ok(_) => go(&format!("/console/bulletins/{bulletin}")),
        Err(e) => super::error_page(&o.c.tr, &crate::api::renotify_error(e)),
    }
}
