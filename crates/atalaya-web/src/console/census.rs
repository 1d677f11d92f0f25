//! The census in the console: the rounds this node knows, the coordinator's form to open one
//! and its Close buttons; the census form of a round (the round's questionnaire rendered from
//! its data in the person's language, filled in from the team's directory record or its last
//! response, every problem shown next to its question); a round's report with charts; and one
//! question compared across rounds.

use askama::Template;
use atalaya_core::Timestamp;
use atalaya_core::census::{
    self, AnswerValue, Answers, CensusResponse, CensusRound, Question, QuestionKind,
    QuestionSummary,
};
use atalaya_core::directory::{Day, Problem, TeamId};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::{Chrome, Officer, Posted, error_page, go, render_or_error, render_status};
use crate::auth::Need;
use crate::auth::right::{AnswerCensus, ManageCensus, ReadDirectory};
use crate::charts;
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// The navigation entry of every census page.
const NAV: &str = "census";

fn round_id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|_| ErrorCode::InvalidId.with("census round ids are UUIDs"))
}

/// The round a path names (`{id}`): a bad id is a 400, an unknown round a 404.
async fn round_of_path(state: &AppState, id: &str) -> Result<CensusRound, ApiError> {
    state
        .fed
        .census_round(round_id(id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("census round"))
}

/// The refusal of an answer to a round that takes none now.
fn round_closed(round: &CensusRound) -> ApiError {
    ErrorCode::RoundClosed.with(format!("round `{}` is not open for responses", round.title))
}

/// Whether this person runs rounds here: the right, at the roster's coordinator.
fn runs_rounds(state: &AppState, c: &Chrome) -> bool {
    c.can("census:manage") && &state.fed.roster().roster.coordinator == state.fed.node_id()
}

/// A `datetime-local` value (`2026-12-01T17:00`) in the person's zone, as a timestamp.
fn parse_local(value: &str, tz_name: &str) -> Result<Timestamp, String> {
    let civil: jiff::civil::DateTime = value
        .parse()
        .map_err(|e| format!("`{value}` is not a date and time: {e}"))?;
    let tz = jiff::tz::TimeZone::get(tz_name).unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = civil
        .to_zoned(tz)
        .map_err(|e| format!("`{value}` does not exist in {tz_name}: {e}"))?;
    Timestamp::from_unix_millis(zoned.timestamp().as_millisecond())
        .ok_or_else(|| format!("`{value}` is out of range"))
}

fn with_nav(mut c: Chrome) -> Chrome {
    c.nav = NAV;
    c
}

// ---- the list of rounds ----

/// One round in the list.
#[derive(Debug, Clone)]
pub struct RoundRow {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Opened, in the person's zone.
    pub opened: String,
    /// Closes (or closed), in the person's zone, or a dash.
    pub closes: String,
    /// Whether it takes responses now.
    pub open: bool,
    /// Responses held here.
    pub responses: usize,
}

#[derive(Template)]
#[template(path = "console/census.html")]
struct ListPage {
    c: Chrome,
    rounds: Vec<RoundRow>,
    runs_rounds: bool,
    questionnaire: String,
    problem: Option<(String, String)>,
    title_value: String,
    closes_value: String,
}

async fn list_page(
    state: &AppState,
    c: Chrome,
    problem: Option<(String, String)>,
    title_value: String,
    closes_value: String,
) -> Result<ListPage, ApiError> {
    let now = state.fed.now();
    let mut rounds = Vec::new();
    for r in state.fed.census_rounds().await? {
        let responses = state.fed.census_responses(r.id).await?.len();
        rounds.push(RoundRow {
            id: r.id.to_string(),
            title: r.title.clone(),
            opened: c.tr.when(r.opened),
            closes: c.tr.when_opt(r.closed.or(r.closes)),
            open: r.is_open(now),
            responses,
        });
    }
    let q = census::default_questionnaire();
    Ok(ListPage {
        runs_rounds: runs_rounds(state, &c),
        questionnaire: format!("{} (v{})", q.title.get(c.tr.lang.code()), q.version),
        rounds,
        problem,
        title_value,
        closes_value,
        c,
    })
}

/// `GET /console/census`: the rounds this node knows, newest first.
pub async fn list(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
) -> Response {
    let c = with_nav(o.c.clone());
    render_or_error(
        &o.c.tr,
        list_page(&state, c, None, String::new(), String::new()).await,
    )
}

/// `POST /console/census`: the coordinator opens a round with the network's questionnaire.
pub async fn open(
    State(state): State<AppState>,
    Need(p, ..): Need<ManageCensus, Posted>,
) -> Response {
    let o = &p.officer;
    let title = p.get("title").unwrap_or("").to_owned();
    let closes_value = p.get("closes").unwrap_or("").to_owned();
    let closes = if closes_value.is_empty() {
        Ok(None)
    } else {
        parse_local(&closes_value, &o.c.tr.tz_name).map(Some)
    };
    let outcome = match closes {
        Err(m) => Err(("bad-dates".to_owned(), m)),
        Ok(closes) => state
            .fed
            .open_census_round(&title, closes, None, &o.principal.name)
            .await
            .map_err(|e| match e {
                atalaya_federation::census::CensusError::Invalid(problems) => {
                    let first = problems.first();
                    (
                        first.map_or("invalid", |p| p.code).to_owned(),
                        problems
                            .iter()
                            .map(|p| p.message.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                }
                other => (other.code().to_owned(), other.to_string()),
            }),
    };
    match outcome {
        Ok(round) => go(&format!("/console/census/{}", round.id)),
        Err((code, message))
            if code == ErrorCode::NotTheCoordinator.as_str()
                || code == ErrorCode::InternalError.as_str() =>
        {
            let code = if code == ErrorCode::InternalError.as_str() {
                ErrorCode::InternalError
            } else {
                ErrorCode::NotTheCoordinator
            };
            error_page(&o.c.tr, &code.with(message))
        }
        Err(problem) => {
            let c = with_nav(o.c.clone());
            match list_page(&state, c, Some(problem), title, closes_value).await {
                Ok(page) => render_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
                Err(e) => error_page(&o.c.tr, &e),
            }
        }
    }
}

/// `POST /console/census/{id}/close`: the coordinator closes a round.
pub async fn close(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<ManageCensus, Posted>,
) -> Response {
    let o = &p.officer;
    let id = match round_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&o.c.tr, &e),
    };
    match state.fed.close_census_round(id).await {
        Ok(_) => go("/console/census"),
        Err(e) => error_page(&o.c.tr, &ApiError::from(e)),
    }
}

// ---- the census form ----

/// One choice of a question as the form shows it.
#[derive(Debug, Clone)]
pub struct ChoiceView {
    /// Stored value.
    pub value: String,
    /// Label in the person's language.
    pub label: String,
    /// Whether it is picked.
    pub checked: bool,
}

/// One question as the form shows it.
#[derive(Debug, Clone)]
pub struct QuestionView {
    /// Question id (the field is `q-<id>`).
    pub id: String,
    /// `text`, `long-text`, `boolean`, `number`, `date`, `single`, `multi`.
    pub kind: &'static str,
    /// Label.
    pub label: String,
    /// Help text, or empty.
    pub help: String,
    /// Must be answered.
    pub required: bool,
    /// Choices (single, multi).
    pub choices: Vec<ChoiceView>,
    /// The entered or filled-in value (text, long text, number, date).
    pub value: String,
    /// Boolean: yes picked.
    pub yes: bool,
    /// Boolean: no picked.
    pub no: bool,
    /// Smallest number, or empty.
    pub min: String,
    /// Largest number, or empty.
    pub max: String,
    /// Longest text.
    pub max_length: usize,
    /// Filled in from the directory record.
    pub prefilled: bool,
    /// Problems with the answer: (code, message).
    pub problems: Vec<(String, String)>,
}

/// A section of the form.
#[derive(Debug, Clone)]
pub struct SectionView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Its questions.
    pub questions: Vec<QuestionView>,
}

/// What the form holds for one question: raw field values.
#[derive(Debug, Clone, Default)]
struct Entered {
    value: String,
    picked: Vec<String>,
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

/// An answer as the form's raw values.
fn entered_of(value: &AnswerValue) -> Entered {
    match value {
        AnswerValue::Bool(b) => Entered {
            value: b.to_string(),
            picked: Vec::new(),
        },
        AnswerValue::Number(n) => Entered {
            value: number_text(*n),
            picked: Vec::new(),
        },
        AnswerValue::Text(s) => Entered {
            value: s.clone(),
            picked: vec![s.clone()],
        },
        AnswerValue::List(l) => Entered {
            value: String::new(),
            picked: l.clone(),
        },
    }
}

fn question_view(
    q: &Question,
    lang: &str,
    entered: Option<&Entered>,
    prefilled: bool,
    problems: &[Problem],
) -> QuestionView {
    let empty = Entered::default();
    let e = entered.unwrap_or(&empty);
    QuestionView {
        id: q.id.clone(),
        kind: q.kind.as_str(),
        label: q.label.get(lang).to_owned(),
        help: q
            .help
            .as_ref()
            .map_or(String::new(), |h| h.get(lang).to_owned()),
        required: q.required,
        choices: q
            .choices
            .iter()
            .map(|c| ChoiceView {
                value: c.value.clone(),
                label: c.label.get(lang).to_owned(),
                checked: e.picked.contains(&c.value),
            })
            .collect(),
        value: e.value.clone(),
        yes: e.value == "true",
        no: e.value == "false",
        min: q.min.map_or(String::new(), number_text),
        max: q.max.map_or(String::new(), number_text),
        max_length: q.text_limit(),
        prefilled: prefilled && entered.is_some(),
        problems: problems
            .iter()
            .filter(|p| p.field == q.id)
            .map(|p| (p.code.to_owned(), p.message.clone()))
            .collect(),
    }
}

fn sections_view(
    round: &CensusRound,
    lang: &str,
    entered: &std::collections::BTreeMap<String, Entered>,
    prefilled: bool,
    problems: &[Problem],
) -> Vec<SectionView> {
    round
        .questionnaire
        .sections
        .iter()
        .map(|s| SectionView {
            id: s.id.clone(),
            title: s.title.get(lang).to_owned(),
            questions: s
                .questions
                .iter()
                .map(|q| question_view(q, lang, entered.get(&q.id), prefilled, problems))
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/census_round.html")]
struct RoundPage {
    c: Chrome,
    id: String,
    title: String,
    questionnaire: String,
    opened: String,
    closes: String,
    open: bool,
    can_answer: bool,
    team: String,
    coordinator: String,
    /// `record`, `response` or empty: where the filled-in answers come from.
    source: &'static str,
    /// When this team's response held here was sent, or empty.
    last_sent: String,
    /// Just sent.
    sent: bool,
    /// Problems not tied to one question: (code, message).
    general: Vec<(String, String)>,
    problem_count: usize,
    sections: Vec<SectionView>,
}

/// This node's own team's latest response to a round held here.
async fn own_response(state: &AppState, round: Uuid) -> Result<Option<CensusResponse>, ApiError> {
    let team = TeamId::of_node(state.fed.node_id());
    Ok(state
        .fed
        .census_responses(round)
        .await?
        .into_iter()
        .filter(|r| r.team == team)
        .max_by_key(|r| r.submitted))
}

struct FormState {
    entered: std::collections::BTreeMap<String, Entered>,
    source: &'static str,
    problems: Vec<Problem>,
    sent: bool,
}

async fn round_page(
    state: &AppState,
    c: Chrome,
    round: &CensusRound,
    form: FormState,
) -> Result<RoundPage, ApiError> {
    let lang = c.tr.lang.code();
    let last = own_response(state, round.id).await?;
    let question_ids: Vec<&str> = round
        .questionnaire
        .questions()
        .map(|q| q.id.as_str())
        .collect();
    let general = form
        .problems
        .iter()
        .filter(|p| !question_ids.contains(&p.field.as_str()))
        .map(|p| (p.code.to_owned(), p.message.clone()))
        .collect();
    Ok(RoundPage {
        id: round.id.to_string(),
        title: round.title.clone(),
        questionnaire: format!(
            "{} (v{})",
            round.questionnaire.title.get(lang),
            round.questionnaire.version
        ),
        opened: c.tr.when(round.opened),
        closes: c.tr.when_opt(round.closed.or(round.closes)),
        open: round.is_open(state.fed.now()),
        can_answer: c.can("census:answer"),
        team: TeamId::of_node(state.fed.node_id()).to_string(),
        coordinator: state.fed.roster().roster.coordinator.to_string(),
        source: form.source,
        last_sent: last.map_or(String::new(), |r| c.tr.when(r.submitted)),
        sent: form.sent,
        general,
        problem_count: form.problems.len(),
        sections: sections_view(
            round,
            lang,
            &form.entered,
            form.source == "record",
            &form.problems,
        ),
        c,
    })
}

/// `?sent=1` after a response went out.
#[derive(Debug, Deserialize)]
pub struct SentQuery {
    sent: Option<String>,
}

/// `GET /console/census/{id}`: the round, and the census form while it is open.
pub async fn page(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
    Path(id): Path<String>,
    Query(q): Query<SentQuery>,
) -> Response {
    let result = async {
        let round = round_of_path(&state, &id).await?;
        let (answers, source) = match own_response(&state, round.id).await? {
            Some(r) => (r.answers, "response"),
            None => {
                let team = TeamId::of_node(state.fed.node_id());
                match state.fed.team(team.as_str()).await? {
                    Some(record) => (census::prefill(&round.questionnaire, &record), "record"),
                    None => (Answers::new(), ""),
                }
            }
        };
        let form = FormState {
            entered: answers
                .iter()
                .map(|(k, v)| (k.clone(), entered_of(v)))
                .collect(),
            source,
            problems: Vec::new(),
            sent: q.sent.is_some(),
        };
        round_page(&state, with_nav(o.c.clone()), &round, form).await
    }
    .await;
    render_or_error(&o.c.tr, result)
}

/// The form's fields as answers, typed by question kind; empty fields are left out. Fields that
/// cannot be read as their kind (a number that is not one) are problems.
fn answers_of(
    round: &CensusRound,
    p: &Posted,
) -> (
    Answers,
    std::collections::BTreeMap<String, Entered>,
    Vec<Problem>,
) {
    let mut answers = Answers::new();
    let mut entered = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for q in round.questionnaire.questions() {
        let name = format!("q-{}", q.id);
        let raw = p
            .fields
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str());
        let picked: Vec<String> = p.all(&name).into_iter().map(str::to_owned).collect();
        entered.insert(
            q.id.clone(),
            Entered {
                value: raw.to_owned(),
                picked: picked.clone(),
            },
        );
        let value = raw.trim();
        let answer = match q.kind {
            QuestionKind::Multi => (!picked.is_empty()).then_some(AnswerValue::List(picked)),
            _ if value.is_empty() => None,
            QuestionKind::Text | QuestionKind::LongText => Some(AnswerValue::Text(raw.to_owned())),
            QuestionKind::Date | QuestionKind::Single => Some(AnswerValue::Text(value.to_owned())),
            QuestionKind::Boolean => match value {
                "true" => Some(AnswerValue::Bool(true)),
                "false" => Some(AnswerValue::Bool(false)),
                other => {
                    problems.push(Problem::new(
                        "wrong-type",
                        q.id.as_str(),
                        format!("`{other}` is not yes or no"),
                    ));
                    None
                }
            },
            QuestionKind::Number => match value.parse::<f64>() {
                Ok(n) if n.is_finite() => Some(AnswerValue::Number(n)),
                _ => {
                    problems.push(Problem::new(
                        "wrong-type",
                        q.id.as_str(),
                        format!("`{value}` is not a number"),
                    ));
                    None
                }
            },
        };
        if let Some(a) = answer {
            answers.insert(q.id.clone(), a);
        }
    }
    (answers, entered, problems)
}

/// `POST /console/census/{id}/answer`: send this team's answers to the coordinator. On problems
/// the form comes back with what was entered and each problem next to its question; nothing is
/// stored or sent.
pub async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<AnswerCensus, Posted>,
) -> Response {
    let o = &p.officer;
    let round = match round_of_path(&state, &id).await {
        Ok(r) => r,
        Err(e) => return error_page(&o.c.tr, &e),
    };
    if !round.is_open(state.fed.now()) {
        return error_page(&o.c.tr, &round_closed(&round));
    }
    let (answers, entered, mut problems) = answers_of(&round, &p);
    if problems.is_empty() {
        let team = TeamId::of_node(state.fed.node_id());
        match state
            .fed
            .answer_census(round.id, team, answers, &o.principal.name)
            .await
        {
            Ok(_) => return go(&format!("/console/census/{}?sent=1", round.id)),
            Err(atalaya_federation::census::CensusError::Invalid(found)) => {
                if found.iter().any(|p| p.code == "round-closed") {
                    return error_page(&o.c.tr, &round_closed(&round));
                }
                problems = found;
            }
            Err(e) => return error_page(&o.c.tr, &ApiError::from(e)),
        }
    } else {
        // Show every problem at once: those of the answers that could be read too.
        let today = Day::of(state.fed.now());
        if let Err(more) = census::check_answers(&round.questionnaire, &answers, today) {
            let seen: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
            problems.extend(more.into_iter().filter(|m| !seen.contains(&m.field)));
        }
    }
    let form = FormState {
        entered,
        source: "",
        problems,
        sent: false,
    };
    match round_page(&state, with_nav(o.c.clone()), &round, form).await {
        Ok(page) => render_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
        Err(e) => error_page(&o.c.tr, &e),
    }
}

// ---- the report ----

/// One question of the report.
#[derive(Debug, Clone)]
pub struct ReportQuestion {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Responses that answered it.
    pub answered: usize,
    /// A bar chart of the choices (SVG), or empty.
    pub chart: String,
    /// Numbers: (min, median, max), or `None`.
    pub numbers: Option<(String, String, String)>,
    /// Text answers: (team, text).
    pub texts: Vec<(String, String)>,
}

/// One section of the report.
#[derive(Debug, Clone)]
pub struct ReportSection {
    /// Title.
    pub title: String,
    /// Its questions.
    pub questions: Vec<ReportQuestion>,
}

#[derive(Template)]
#[template(path = "console/census_report.html")]
struct ReportPage {
    c: Chrome,
    id: String,
    title: String,
    open: bool,
    expected_teams: usize,
    responded_teams: usize,
    expected_countries: usize,
    responded_countries: usize,
    rate: String,
    countries: Vec<(String, usize, usize)>,
    unlisted: Vec<String>,
    held_everyone: bool,
    sections: Vec<ReportSection>,
}

/// The label of a choice value (`true`/`false` for a boolean question).
fn choice_label(c: &Chrome, q: &Question, value: &str) -> String {
    if q.kind == QuestionKind::Boolean {
        return c.tr.t(if value == "true" {
            "census-yes"
        } else {
            "census-no"
        });
    }
    q.choices.iter().find(|ch| ch.value == value).map_or_else(
        || value.to_owned(),
        |ch| ch.label.get(c.tr.lang.code()).to_owned(),
    )
}

fn opt_number(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), number_text)
}

/// A summary as a chart or numbers.
fn summary_view(
    c: &Chrome,
    q: &Question,
    title: &str,
    summary: &QuestionSummary,
) -> (String, Option<(String, String, String)>) {
    match summary {
        QuestionSummary::Choices { counts, .. } => {
            let bars: Vec<(String, f64)> = counts
                .iter()
                .map(|cc| (choice_label(c, q, &cc.value), cc.count as f64))
                .collect();
            (charts::bar_chart(title, &bars, ""), None)
        }
        QuestionSummary::Numbers {
            min, median, max, ..
        } => (
            String::new(),
            Some((opt_number(*min), opt_number(*median), opt_number(*max))),
        ),
        QuestionSummary::Answered { .. } => (String::new(), None),
    }
}

/// `GET /console/census/{id}/report`: what the responses held here say (the coordinator holds
/// every team's).
pub async fn report(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let round = round_of_path(&state, &id).await?;
        let responses = state.fed.census_responses(round.id).await?;
        let teams = state.fed.teams().await?;
        let rep = census::report(&round, &responses, &teams);
        let c = with_nav(o.c.clone());
        let lang = c.tr.lang.code();
        // Each team's latest response, for the text answers.
        let mut latest: std::collections::BTreeMap<String, &CensusResponse> =
            std::collections::BTreeMap::new();
        for r in &responses {
            let key = r.team.to_string();
            if latest.get(&key).is_none_or(|k| k.submitted <= r.submitted) {
                latest.insert(key, r);
            }
        }
        let sections = round
            .questionnaire
            .sections
            .iter()
            .map(|s| ReportSection {
                title: s.title.get(lang).to_owned(),
                questions: s
                    .questions
                    .iter()
                    .filter_map(|q| {
                        let qr = rep.questions.iter().find(|r| r.question == q.id)?;
                        let label = q.label.get(lang).to_owned();
                        let (chart, numbers) = summary_view(&c, q, &label, &qr.summary);
                        let texts = if q.kind.is_text() {
                            latest
                                .iter()
                                .filter_map(|(team, r)| match r.answers.get(&q.id) {
                                    Some(AnswerValue::Text(t)) if !t.trim().is_empty() => {
                                        Some((team.clone(), t.clone()))
                                    }
                                    _ => None,
                                })
                                .collect()
                        } else {
                            Vec::new()
                        };
                        Some(ReportQuestion {
                            id: q.id.clone(),
                            label,
                            answered: qr.summary.answered(),
                            chart,
                            numbers,
                            texts,
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok::<_, ApiError>(ReportPage {
            id: round.id.to_string(),
            title: round.title.clone(),
            open: round.is_open(state.fed.now()),
            expected_teams: rep.expected_teams,
            responded_teams: rep.responded_teams,
            expected_countries: rep.expected_countries,
            responded_countries: rep.responded_countries,
            rate: format!("{:.0}%", rep.response_rate * 100.0),
            countries: rep
                .countries
                .iter()
                .map(|cr| (cr.country.to_string(), cr.expected, cr.responded))
                .collect(),
            unlisted: rep
                .unlisted_respondents
                .iter()
                .map(ToString::to_string)
                .collect(),
            held_everyone: &state.fed.roster().roster.coordinator == state.fed.node_id(),
            sections,
            c,
        })
    }
    .await;
    render_or_error(&o.c.tr, result)
}

// ---- one question across rounds ----

/// One round in the comparison.
#[derive(Debug, Clone)]
pub struct CompareRow {
    /// Round id.
    pub id: String,
    /// Round title.
    pub title: String,
    /// Responses that answered the question.
    pub answered: usize,
    /// Chart (choices), or empty.
    pub chart: String,
    /// Numbers: (min, median, max).
    pub numbers: Option<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "console/census_compare.html")]
struct ComparePage {
    c: Chrome,
    /// (id, label, selected).
    questions: Vec<(String, String, bool)>,
    question: String,
    label: String,
    rows: Vec<CompareRow>,
}

/// `?question=ID`.
#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    question: Option<String>,
}

/// `GET /console/census/compare?question=ID`: one question's answers, round by round.
pub async fn compare(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
    Query(q): Query<CompareQuery>,
) -> Response {
    let result = async {
        let c = with_nav(o.c.clone());
        let lang = c.tr.lang.code();
        let mut rounds = Vec::new();
        for round in state.fed.census_rounds().await? {
            let responses = state.fed.census_responses(round.id).await?;
            rounds.push((round, responses));
        }
        let chosen = q.question.unwrap_or_default();
        // Every question any round asks, labelled from the newest round that asks it.
        let mut questions: Vec<(String, String, bool)> = Vec::new();
        for (round, _) in &rounds {
            for question in round.questionnaire.questions() {
                if !questions.iter().any(|(id, _, _)| *id == question.id) {
                    questions.push((
                        question.id.clone(),
                        question.label.get(lang).to_owned(),
                        question.id == chosen,
                    ));
                }
            }
        }
        let asked = rounds
            .iter()
            .find_map(|(r, _)| r.questionnaire.question(&chosen).cloned());
        let mut rows = Vec::new();
        let mut label = String::new();
        if let Some(question) = &asked {
            label = question.label.get(lang).to_owned();
            for (id, title, summary) in census::compare(&rounds, &chosen) {
                let (chart, numbers) = summary_view(&c, question, &title, &summary);
                rows.push(CompareRow {
                    id: id.to_string(),
                    title,
                    answered: summary.answered(),
                    chart,
                    numbers,
                });
            }
        }
        Ok::<_, ApiError>(ComparePage {
            questions,
            question: if asked.is_some() {
                chosen
            } else {
                String::new()
            },
            label,
            rows,
            c,
        })
    }
    .await;
    render_or_error(&o.c.tr, result)
}
