//! Composing and publishing a bulletin, and a bulletin's own page: its content and labels,
//! and at its origin the matrix of every recipient (delivered, acknowledged by whom, overdue),
//! refreshed live.

use askama::Template;
use atalaya_core::{BulletinDraft, Tlp};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use atalaya_node::bulletins::Visible;
use atalaya_store::BulletinRecord;

use super::watch::{ack_word, tlp_class, tlp_label};
use super::{Chrome, Officer, Posted, render, render_status};
use crate::auth::Need;
use crate::auth::right::{Acknowledge, Publish, ReadBulletins};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// The sectors vocabulary (key, English name), from the project's data file.
pub fn sectors() -> Vec<(String, String)> {
    include_str!("../../../../data/sectors.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split(',');
            Some((it.next()?.to_owned(), it.next()?.to_owned()))
        })
        .collect()
}

/// The choices the compose form offers.
#[derive(Debug, Clone)]
pub struct Choices {
    /// Member states (code, name).
    pub countries: Vec<(String, String)>,
    /// Roster members (node id, team, country).
    pub nodes: Vec<(String, String, String)>,
    /// Sectors (key, name).
    pub sectors: Vec<(String, String)>,
}

fn choices(state: &AppState, c: &Chrome) -> Choices {
    let roster = state.fed.roster();
    Choices {
        countries: atalaya_core::member_states::all()
            .iter()
            .map(|s| (s.iso2.to_string(), s.name_in(c.tr.lang.code()).to_owned()))
            .collect(),
        nodes: roster
            .roster
            .members
            .iter()
            .filter(|m| &m.node_id != state.fed.node_id())
            .map(|m| (m.node_id.to_string(), m.team.clone(), m.country.to_string()))
            .collect(),
        sectors: sectors(),
    }
}

/// What the person typed, kept to show the form again after a refusal.
#[derive(Debug, Clone, Default)]
pub struct Typed(pub Vec<(String, String)>);

impl Typed {
    /// A field's value.
    pub fn v(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Whether a choice was made (radio, select, checkbox).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    /// Whether a radio's value is this one, or it is the default and none was sent.
    pub fn is(&self, name: &str, value: &str, default: bool) -> bool {
        self.has(name, value) || (default && !self.0.iter().any(|(k, _)| k == name))
    }
}

#[derive(Template)]
#[template(path = "console/compose.html")]
struct ComposePage {
    c: Chrome,
    choices: Choices,
    typed: Typed,
    error: Option<String>,
    tlps: Vec<(&'static str, &'static str, &'static str)>,
    kinds: Vec<&'static str>,
    severities: Vec<&'static str>,
}

const KINDS: [&str; 5] = [
    "attack-warning",
    "vulnerability-advisory",
    "suspicious-activity",
    "mitigation",
    "informational",
];
const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

fn tlps() -> Vec<(&'static str, &'static str, &'static str)> {
    [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ]
    .into_iter()
    .map(|t| {
        let wire = match t {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        };
        (wire, tlp_label(t), tlp_class(t))
    })
    .collect()
}

fn compose_page(state: &AppState, c: Chrome, typed: Typed, error: Option<String>) -> ComposePage {
    ComposePage {
        choices: choices(state, &c),
        c,
        typed,
        error,
        tlps: tlps(),
        kinds: KINDS.to_vec(),
        severities: SEVERITIES.to_vec(),
    }
}

/// `GET /console/compose`
pub async fn compose(
    State(state): State<AppState>,
    Need(o, ..): Need<Publish, Officer>,
) -> Response {
    render(&compose_page(&state, o.c, Typed::default(), None))
}

/// A local date and time typed in the person's zone (`2026-11-22T15:30`), as an instant.
fn local_instant(text: &str, c: &Chrome) -> Result<String, String> {
    let civil: jiff::civil::DateTime = text
        .parse()
        .map_err(|_| format!("{text:?} is not a date and time"))?;
    let tz = jiff::tz::TimeZone::get(&c.tr.tz_name).unwrap_or(jiff::tz::TimeZone::UTC);
    let z = civil
        .to_zoned(tz)
        .map_err(|_| format!("{text:?} does not exist in {}", c.tr.tz_name))?;
    Ok(z.timestamp().strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// The draft a compose form describes. Every rule of DESIGN §4 is applied by the domain when
/// it is published; here only the form's own shapes are checked.
pub fn draft_from_form(p: &Posted, state: &AppState) -> Result<BulletinDraft, String> {
    let c = &p.officer.c;
    let tr = &c.tr;
    let required = |name: &str| -> Result<String, String> {
        p.get(name).map(str::to_owned).ok_or_else(|| {
            tr.ta(
                "error-required",
                &[("field", tr.t(&format!("field-{name}")))],
            )
        })
    };
    let audience = match p.get("audience").unwrap_or("network") {
        "network" => json!({"scope": "network"}),
        "countries" => json!({"scope": "countries", "countries": p.all("audience_countries")}),
        "nodes" => json!({"scope": "nodes", "nodes": p.all("audience_nodes")}),
        other => return Err(format!("unknown audience {other:?}")),
    };
    let now = state.fed.now();
    let ack_required_by = match p.get("ack_minutes") {
        None | Some("none") => Value::Null,
        Some("custom") => json!(local_instant(&required("ack_at")?, c)?),
        Some(m) => {
            let minutes: i64 = m
                .parse()
                .ok()
                .filter(|m| (1..=10_080).contains(m))
                .ok_or_else(|| format!("{m:?} is not a number of minutes"))?;
            json!(now.plus_millis(minutes * 60_000).to_string())
        }
    };
    let embargo = match p.get("embargo_until") {
        Some(t) => json!(local_instant(t, c)?),
        None => Value::Null,
    };
    let mut indicators = Vec::new();
    for l in lines(p.get("indicators").unwrap_or("")) {
        let (kind, value) = l
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("indicator {l:?}: write the type, a space, then the value"))?;
        indicators.push(json!({"type": kind.trim(), "value": value.trim()}));
    }
    let split_list = |name: &str| -> Vec<String> {
        p.get(name)
            .unwrap_or("")
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let draft = json!({
        "tlp": required("tlp")?,
        "audience": audience,
        "embargo_until": embargo,
        "people": split_list("people"),
        "constituents": split_list("constituents"),
        "kind": required("kind")?,
        "title": required("title")?,
        "summary": required("summary")?,
        "body": p.get("body").unwrap_or(""),
        "severity": required("severity")?,
        "rsit": p.get("rsit"),
        "sectors": p.all("sectors"),
        "countries": p.all("countries"),
        "indicators": indicators,
        "references": lines(p.get("references").unwrap_or("")).collect::<Vec<_>>(),
        "ack_required_by": ack_required_by,
    });
    let mut draft = draft;
    if let Some(o) = draft.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    serde_json::from_value(draft).map_err(|e| e.to_string())
}

#[derive(Template)]
#[template(path = "console/preview.html")]
struct PreviewFragment {
    c: Chrome,
    title: String,
    summary: String,
    tlp: (&'static str, &'static str),
    recipients: Vec<(String, String)>,
    error: Option<String>,
}

/// `POST /console/compose/preview`: the bulletin as it will go, and exactly who will get it.
pub async fn preview(
    State(state): State<AppState>,
    Need(p, ..): Need<Publish, Posted>,
) -> Response {
    let c = p.officer.c.clone();
    let outcome = draft_from_form(&p, &state).and_then(|draft| {
        let (title, summary, tlp) = (
            draft.content.title.clone(),
            draft.content.summary.clone(),
            draft.tlp,
        );
        state
            .fed
            .preview_recipients(draft)
            .map(|r| (title, summary, tlp, r))
            .map_err(|e| e.to_string())
    });
    match outcome {
        Ok((title, summary, tlp, recipients)) => {
            let roster = state.fed.roster();
            let recipients = recipients
                .iter()
                .map(|n| {
                    let team = roster.member(n).map(|m| m.team.clone()).unwrap_or_default();
                    (n.to_string(), team)
                })
                .collect();
            render(&PreviewFragment {
                c,
                title,
                summary,
                tlp: (tlp_label(tlp), tlp_class(tlp)),
                recipients,
                error: None,
            })
        }
        Err(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PreviewFragment {
                c,
                title: String::new(),
                summary: String::new(),
                tlp: ("", ""),
                recipients: Vec::new(),
                error: Some(e),
            },
        ),
    }
}

/// `POST /console/compose`: publish, then show the bulletin's page.
pub async fn publish(
    State(state): State<AppState>,
    Need(p, ..): Need<Publish, Posted>,
) -> Response {
    let result = match draft_from_form(&p, &state) {
        Ok(draft) => state.fed.publish(draft).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match result {
        Ok((bulletin, _)) => super::go(&format!("/console/bulletins/{}", bulletin.id)),
        Err(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &compose_page(
                &state,
                p.officer.c.clone(),
                Typed(p.fields.clone()),
                Some(e),
            ),
        ),
    }
}

/// One recipient in the origin's matrix.
#[derive(Debug, Clone)]
pub struct MatrixRow {
    /// Node.
    pub node: String,
    /// Team.
    pub team: String,
    /// Country.
    pub country: String,
    /// Delivered at (person's zone) or a dash.
    pub delivered: String,
    /// Acknowledged at.
    pub acked_at: String,
    /// By whom, with the note.
    pub acked_by: String,
    /// `acknowledged`, `pending`, `overdue`, `not_delivered`.
    pub state: &'static str,
    /// Translated state.
    pub state_text: String,
    /// Last delivery error, if any.
    pub error: String,
    /// When this node last re-notified it, if it did.
    pub renotified: String,
}

/// The matrix of a bulletin this node issued.
pub async fn matrix_rows(
    state: &AppState,
    c: &Chrome,
    r: &Visible<BulletinRecord>,
) -> Result<Vec<MatrixRow>, ApiError> {
    let b = &r.bulletin;
    let fed = &state.fed;
    let now = fed.now();
    let roster = fed.roster();
    let acks = state.bulletins.acks(r).await?;
    let renotified = state.bulletins.renotifies_sent(r).await?;
    let mut rows = Vec::new();
    for d in state.bulletins.deliveries(r).await? {
        let Some(m) = roster.member(&d.peer) else {
            continue;
        };
        if !b.audience.includes(&m.node_id, m.country) {
            continue; // a carrier: holds it sealed, does not acknowledge
        }
        let ack = acks.iter().find(|a| a.node == d.peer);
        let st = ack_word(atalaya_core::ack::ack_state(
            d.delivered.is_some(),
            ack.is_some(),
            b.content.ack_required_by,
            now,
        ));
        rows.push(MatrixRow {
            node: d.peer.to_string(),
            team: m.team.clone(),
            country: m.country.to_string(),
            delivered: c.tr.when_opt(d.delivered),
            acked_at: c.tr.when_opt(ack.map(|a| a.at)),
            acked_by: ack
                .map(|a| format!("{} — {}", a.by, c.tr.t(&format!("note-{}", a.note))))
                .unwrap_or_default(),
            state: st,
            state_text: c.tr.t(&format!("ack-{st}")),
            error: d.last_error.unwrap_or_default(),
            renotified: renotified
                .iter()
                .filter(|r| r.node == d.peer)
                .map(|r| r.at)
                .max()
                .map(|at| c.tr.when(at))
                .unwrap_or_default(),
        });
    }
    // Overdue first, then pending, then done: what needs attention on top.
    rows.sort_by_key(|r| {
        (
            match r.state {
                "overdue" => 0,
                "not_delivered" => 1,
                "pending" => 2,
                _ => 3,
            },
            r.node.clone(),
        )
    });
    Ok(rows)
}

#[derive(Template)]
#[template(path = "console/bulletin.html")]
struct BulletinPage {
    c: Chrome,
    bulletin: String,
    b: atalaya_core::Bulletin,
    ours: bool,
    tlp: (&'static str, &'static str),
    kind: String,
    severity: String,
    created: String,
    deadline: String,
    retracted: Option<(String, String)>,
    matrix: Vec<MatrixRow>,
    totals: (usize, usize, usize),
    own_ack: Option<String>,
    escalations: Vec<(String, String, String, String)>,
    can_ack: bool,
    audience: String,
    indicators: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/matrix.html")]
struct MatrixFragment {
    c: Chrome,
    bulletin: String,
    matrix: Vec<MatrixRow>,
    totals: (usize, usize, usize),
}

fn totals(m: &[MatrixRow]) -> (usize, usize, usize) {
    (
        m.iter().filter(|r| r.state == "acknowledged").count(),
        m.iter().filter(|r| r.state == "overdue").count(),
        m.len(),
    )
}

async fn load(
    state: &AppState,
    o: &Officer,
    id: &str,
) -> Result<Visible<BulletinRecord>, ApiError> {
    let id: uuid::Uuid = id
        .parse()
        .map_err(|_| ErrorCode::InvalidId.with("bulletin ids are UUIDs"))?;
    use atalaya_node::bulletins::ReadError;
    match state.bulletins.read(&o.c.username, id).await {
        Ok(r) => Ok(r),
        Err(ReadError::NotFound) => Err(ApiError::not_found("bulletin")),
        Err(ReadError::Denied(_)) => {
            Err(ErrorCode::NotForYou.with("the sharing policy does not let you see this bulletin"))
        }
        Err(ReadError::Store(e)) => Err(e.into()),
    }
}

/// `GET /console/bulletins/{id}`
pub async fn page(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        // Reading the full bulletin is recorded in the audit trail (who saw what) by the
        // bulletin service's read.
        let r = load(&state, &o, &id).await?;
        let me = state.fed.node_id();
        let ours = &r.bulletin.origin == me;
        let matrix = if ours {
            matrix_rows(&state, &o.c, &r).await?
        } else {
            Vec::new()
        };
        let own_ack = if ours {
            None
        } else {
            state
                .bulletins
                .acks(&r)
                .await?
                .into_iter()
                .find(|a| &a.node == me)
                .map(|a| format!("{} — {}", o.c.tr.when(a.at), a.by))
        };
        let escalations = if ours {
            Vec::new()
        } else {
            state
                .bulletins
                .escalations(&r)
                .await?
                .into_iter()
                .map(|e| (o.c.tr.when(e.at), e.target, e.channel, e.outcome))
                .collect()
        };
        let BulletinRecord {
            bulletin: b,
            retracted,
            ..
        } = r.into_inner();
        let audience = match &b.audience {
            atalaya_core::Audience::Network => o.c.tr.t("audience-network"),
            atalaya_core::Audience::Nodes { nodes } => nodes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            atalaya_core::Audience::Countries { countries } => countries
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        let kind = serde_json::to_value(b.content.kind)
            .ok()
            .and_then(|v| v.as_str().map(|s| o.c.tr.t(&format!("kind-{s}"))))
            .unwrap_or_default();
        let severity = serde_json::to_value(b.content.severity)
            .ok()
            .and_then(|v| v.as_str().map(|s| o.c.tr.t(&format!("severity-{s}"))))
            .unwrap_or_default();
        let indicators = b
            .content
            .indicators
            .iter()
            .map(|i| {
                (
                    serde_json::to_value(i.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    i.value.clone(),
                )
            })
            .collect();
        Ok::<_, ApiError>(BulletinPage {
            tlp: (tlp_label(b.tlp), tlp_class(b.tlp)),
            kind,
            severity,
            created: o.c.tr.when(b.created),
            deadline: o.c.tr.when_opt(b.content.ack_required_by),
            retracted: retracted.map(|(at, why)| (o.c.tr.when(at), why)),
            totals: totals(&matrix),
            matrix,
            can_ack: !ours && own_ack.is_none() && o.c.can("bulletins:ack"),
            own_ack,
            escalations,
            ours,
            audience,
            indicators,
            bulletin: b.id.to_string(),
            b,
            c: o.c.clone(),
        })
    }
    .await;
    super::render_or_error(&o.c.tr, result)
}

/// `GET /console/bulletins/{id}/matrix`
pub async fn matrix_fragment(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let r = load(&state, &o, &id).await?;
        Ok::<_, ApiError>((
            r.bulletin.id.to_string(),
            matrix_rows(&state, &o.c, &r).await?,
        ))
    }
    .await;
    match result {
        Ok((bulletin, matrix)) => render(&MatrixFragment {
            bulletin,
            totals: totals(&matrix),
            matrix,
            c: o.c,
        }),
        Err(e) => super::error_page(&o.c.tr, &e),
    }
}

/// `POST /console/bulletins/{id}/ack`: one action, with an optional note.
pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<Acknowledge, Posted>,
) -> Response {
    let o = &p.officer;
    let note = match p.get("note") {
        None => atalaya_core::ack::AckNote::Received,
        Some(n) => match serde_json::from_value(json!(n)) {
            Ok(n) => n,
            Err(_) => {
                return super::error_page(
                    &o.c.tr,
                    &ErrorCode::InvalidNote.with(format!("unknown note {n:?}")),
                );
            }
        },
    };
    let comment = p.get("comment").map(str::to_owned);
    let result = async {
        let r = load(&state, o, &id).await?;
        state
            .fed
            .acknowledge(r.bulletin.id, &o.principal.display_name, note, comment)
            .await
            .map_err(crate::api::ack_error)?;
        Ok::<_, ApiError>(r.bulletin.id)
    }
    .await;
    match result {
        Ok(id) => super::go(&format!("/console/bulletins/{id}")),
        Err(e) => super::error_page(&o.c.tr, &e),
    }
}
