//! The watch floor: what awaits this team's acknowledgement, the live feed of incoming and
//! outgoing bulletins, and the map of the hemisphere. Fragments are refreshed when the node
//! announces a change over server-sent events.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use atalaya_core::ack::AckState;
use atalaya_core::{Bulletin, NodeId, Tlp};
use atalaya_federation::NodeEvent;
use atalaya_node::bulletins::ReadError;
use atalaya_store::BulletinQuery;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;

use super::map::MAP;
use super::{Chrome, Officer, render};
use crate::auth::Need;
use crate::auth::right::ReadBulletins;
use crate::{ApiError, AppState};

/// A TLP label as the standard shows it: `TLP:AMBER+STRICT`, never translated.
pub fn tlp_label(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "TLP:CLEAR",
        Tlp::Green => "TLP:GREEN",
        Tlp::Amber => "TLP:AMBER",
        Tlp::AmberStrict => "TLP:AMBER+STRICT",
        Tlp::Red => "TLP:RED",
    }
}

/// The CSS class of a TLP label.
pub fn tlp_class(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "tlp-clear",
        Tlp::Green => "tlp-green",
        Tlp::Amber => "tlp-amber",
        Tlp::AmberStrict => "tlp-amber-strict",
        Tlp::Red => "tlp-red",
    }
}

/// One line of the feed.
#[derive(Debug, Clone)]
pub struct FeedRow {
    /// Bulletin id.
    pub id: String,
    /// `out` (ours) or `in`.
    pub direction: &'static str,
    /// Issued, in the person's zone.
    pub created: String,
    /// Origin node.
    pub origin: String,
    /// TLP label and class.
    pub tlp: (&'static str, &'static str),
    /// Kind key (for translation).
    pub kind: String,
    /// Severity key.
    pub severity: String,
    /// Title.
    pub title: String,
    /// Status, translated.
    pub status: String,
    /// Status class.
    pub status_class: &'static str,
}

/// The newest bulletins the person may see, with their status (each row a view, audited by
/// the bulletin service).
pub async fn feed_rows(state: &AppState, c: &Chrome, limit: u32) -> Result<Vec<FeedRow>, ApiError> {
    let fed = &state.fed;
    let me = fed.node_id();
    let now = fed.now();
    let records = state
        .bulletins
        .list(
            &c.username,
            &BulletinQuery {
                limit,
                ..Default::default()
            },
        )
        .await?;
    let mut rows = Vec::with_capacity(records.len());
    for r in records {
        let b = &r.bulletin;
        let ours = &b.origin == me;
        let (status, status_class) = if r.retracted.is_some() {
            (c.tr.t("status-retracted"), "st-retracted")
        } else if ours {
            let acks = state.bulletins.acks(&r).await?;
            let deliveries = state.bulletins.deliveries(&r).await?;
            let roster = fed.roster();
            let readers = deliveries
                .iter()
                .filter(|d| {
                    roster
                        .member(&d.peer)
                        .is_some_and(|m| b.audience.includes(&m.node_id, m.country))
                })
                .count();
            let delivered = deliveries.iter().filter(|d| d.delivered.is_some()).count();
            if b.content.ack_required_by.is_some() {
                (
                    c.tr.ta(
                        "status-acked-of",
                        &[
                            ("done", acks.len().to_string()),
                            ("of", readers.to_string()),
                        ],
                    ),
                    if acks.len() >= readers {
                        "st-done"
                    } else {
                        "st-pending"
                    },
                )
            } else {
                (
                    c.tr.ta(
                        "status-delivered-of",
                        &[
                            ("done", delivered.to_string()),
                            ("of", deliveries.len().to_string()),
                        ],
                    ),
                    "st-info",
                )
            }
        } else if let Some(deadline) = b.content.ack_required_by {
            let acked = state
                .bulletins
                .acks(&r)
                .await?
                .iter()
                .any(|a| &a.node == me);
            if acked {
                (c.tr.t("status-acknowledged"), "st-done")
            } else if now >= deadline {
                (c.tr.t("status-overdue"), "st-overdue")
            } else {
                (c.tr.t("status-awaiting"), "st-pending")
            }
        } else {
            (c.tr.t("status-received"), "st-info")
        };
        rows.push(FeedRow {
            id: b.id.to_string(),
            direction: if ours { "out" } else { "in" },
            created: c.tr.when(b.created),
            origin: b.origin.to_string(),
            tlp: (tlp_label(b.tlp), tlp_class(b.tlp)),
            kind: kind_key(b),
            severity: severity_key(b),
            title: b.content.title.clone(),
            status,
            status_class,
        });
    }
    Ok(rows)
}

fn kind_key(b: &Bulletin) -> String {
    serde_json::to_value(b.content.kind)
        .ok()
        .and_then(|v| v.as_str().map(|s| format!("kind-{s}")))
        .unwrap_or_default()
}

fn severity_key(b: &Bulletin) -> String {
    serde_json::to_value(b.content.severity)
        .ok()
        .and_then(|v| v.as_str().map(|s| format!("severity-{s}")))
        .unwrap_or_default()
}

/// A bulletin waiting for this team's acknowledgement.
#[derive(Debug, Clone)]
pub struct AwaitingRow {
    /// Bulletin id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Origin.
    pub origin: String,
    /// TLP.
    pub tlp: (&'static str, &'static str),
    /// Deadline in the person's zone.
    pub deadline: String,
    /// "12 min 05 s left" or "overdue by …".
    pub left: String,
    /// Past the deadline.
    pub overdue: bool,
}

/// What this team has not acknowledged yet, soonest deadline first.
pub async fn awaiting_rows(state: &AppState, c: &Chrome) -> Result<Vec<AwaitingRow>, ApiError> {
    let now = state.fed.now();
    let mut list = state.bulletins.awaiting(&c.username).await?;
    list.sort_by_key(|b| b.content.ack_required_by);
    Ok(list
        .into_iter()
        .map(|b| {
            let deadline = b.content.ack_required_by.unwrap_or(now);
            let left_ms = deadline.millis_since(now);
            let overdue = left_ms <= 0;
            AwaitingRow {
                id: b.id.to_string(),
                title: b.content.title.clone(),
                origin: b.origin.to_string(),
                tlp: (tlp_label(b.tlp), tlp_class(b.tlp)),
                deadline: c.tr.when(deadline),
                left: if overdue {
                    c.tr.ta("overdue-by", &[("time", c.tr.duration(-left_ms))])
                } else {
                    c.tr.ta("time-left", &[("time", c.tr.duration(left_ms))])
                },
                overdue,
            }
        })
        .collect())
}

/// One member state on the map.
#[derive(Debug, Clone)]
pub struct MapCountry {
    /// Its shape on the map.
    pub shape: &'static super::map::Shape,
    /// Name in the viewer's language.
    pub name: String,
    /// `self`, `reachable`, `lagging`, `retrying`, `unreachable`, `unknown` or `none` (no node).
    pub node_state: &'static str,
    /// Translated node state.
    pub node_state_text: String,
    /// `acknowledged`, `pending`, `overdue`, `not_delivered` or empty (not a recipient).
    pub ack: &'static str,
    /// Translated acknowledgement state.
    pub ack_text: String,
    /// The nodes there.
    pub nodes: String,
}

/// The map and the warning it shows acknowledgements for.
#[derive(Debug, Clone)]
pub struct MapView {
    /// Countries.
    pub countries: Vec<MapCountry>,
    /// View box.
    pub view_box: String,
    /// The current warning (our newest bulletin that asks for acknowledgement), if any.
    pub warning: Option<(String, String)>,
    /// Credit.
    pub source: String,
}

/// Build the map: each member state's node state and its acknowledgement of `warning` (our
/// newest bulletin with a deadline when `None`).
pub async fn map_view(
    state: &AppState,
    c: &Chrome,
    warning: Option<uuid::Uuid>,
) -> Result<MapView, ApiError> {
    let fed = &state.fed;
    let me = fed.node_id();
    let now = fed.now();
    let roster = fed.roster();
    let mut node_states: HashMap<NodeId, &'static str> = HashMap::new();
    for (m, s) in fed.peer_report().await? {
        node_states.insert(m.node_id.clone(), fed.peer_condition(&s));
    }
    // The warning whose acknowledgements are shown (its title is shown: a view).
    let current = match warning {
        Some(id) => match state.bulletins.read(&c.username, id).await {
            Ok(r) => Some(r),
            Err(ReadError::NotFound | ReadError::Denied(_)) => None,
            Err(ReadError::Store(e)) => return Err(e.into()),
        },
        None => state.bulletins.current_warning(&c.username).await?,
    };
    let mut ack_of: HashMap<NodeId, AckState> = HashMap::new();
    if let Some(r) = &current {
        let b = &r.bulletin;
        let acks = state.bulletins.acks(r).await?;
        for d in state.bulletins.deliveries(r).await? {
            let reader = roster
                .member(&d.peer)
                .is_some_and(|m| b.audience.includes(&m.node_id, m.country));
            if reader {
                let acked = acks.iter().any(|a| a.node == d.peer);
                ack_of.insert(
                    d.peer.clone(),
                    atalaya_core::ack::ack_state(
                        d.delivered.is_some(),
                        acked,
                        b.content.ack_required_by,
                        now,
                    ),
                );
            }
        }
    }
    let rank = |s: &str| match s {
        "self" => 5,
        "reachable" => 4,
        "lagging" => 3,
        "retrying" => 3,
        "unknown" => 2,
        "unreachable" => 1,
        _ => 0,
    };
    let countries = MAP
        .countries
        .iter()
        .map(|shape| {
            let members: Vec<_> = roster
                .roster
                .members
                .iter()
                .filter(|m| m.country.as_str() == shape.code)
                .collect();
            // A country's state is its best-connected node's.
            let node_state = members
                .iter()
                .map(|m| {
                    if &m.node_id == me {
                        "self"
                    } else {
                        node_states.get(&m.node_id).copied().unwrap_or("unknown")
                    }
                })
                .max_by_key(|s| rank(s))
                .unwrap_or("none");
            let ack = members
                .iter()
                .filter_map(|m| ack_of.get(&m.node_id))
                .map(|a| ack_word(*a))
                .min_by_key(|w| match *w {
                    "acknowledged" => 0,
                    "pending" => 1,
                    "not_delivered" => 2,
                    _ => 3,
                })
                .unwrap_or("");
            let name = atalaya_core::member_states::by_code(&shape.code)
                .map(|s| s.name_in(c.tr.lang.code()).to_owned())
                .unwrap_or_else(|| shape.name.clone());
            MapCountry {
                shape,
                name,
                node_state,
                node_state_text: c.tr.t(&format!("node-{node_state}")),
                ack,
                ack_text: if ack.is_empty() {
                    String::new()
                } else {
                    c.tr.t(&format!("ack-{ack}"))
                },
                nodes: members
                    .iter()
                    .map(|m| m.node_id.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })
        .collect();
    Ok(MapView {
        countries,
        view_box: format!("0 0 {} {}", MAP.view_box[0], MAP.view_box[1]),
        warning: current.map(|r| (r.bulletin.id.to_string(), r.bulletin.content.title.clone())),
        source: MAP.source.clone(),
    })
}

/// The word for an acknowledgement state.
pub fn ack_word(a: AckState) -> &'static str {
    match a {
        AckState::Acknowledged => "acknowledged",
        AckState::Overdue => "overdue",
        AckState::Queued => "not_delivered",
        _ => "pending",
    }
}

#[derive(Template)]
#[template(path = "console/watch.html")]
struct FloorPage {
    c: Chrome,
    awaiting: Vec<AwaitingRow>,
    pending: Vec<super::checks::PendingRow>,
    feed: Vec<FeedRow>,
    map: MapView,
}

#[derive(Template)]
#[template(path = "console/feed.html")]
struct FeedFragment {
    c: Chrome,
    feed: Vec<FeedRow>,
}

#[derive(Template)]
#[template(path = "console/awaiting.html")]
struct AwaitingFragment {
    c: Chrome,
    awaiting: Vec<AwaitingRow>,
    pending: Vec<super::checks::PendingRow>,
}

#[derive(Template)]
#[template(path = "console/map.html")]
struct MapFragment {
    c: Chrome,
    map: MapView,
}

/// How many bulletins the feed shows.
const FEED_LEN: u32 = 50;

/// `GET /console`: the watch floor.
pub async fn floor(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
) -> Response {
    let result = async {
        Ok::<_, ApiError>(FloorPage {
            awaiting: awaiting_rows(&state, &o.c).await?,
            pending: super::checks::pending_rows(&state, &o.c).await?,
            feed: feed_rows(&state, &o.c, FEED_LEN).await?,
            map: map_view(&state, &o.c, None).await?,
            c: o.c.clone(),
        })
    }
    .await;
    super::render_or_error(&o.c.tr, result)
}

/// `GET /console/fragments/feed`
pub async fn feed_fragment(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
) -> Response {
    match feed_rows(&state, &o.c, FEED_LEN).await {
        Ok(feed) => render(&FeedFragment { c: o.c, feed }),
        Err(e) => e.into_response(),
    }
}

/// `GET /console/fragments/awaiting`
pub async fn awaiting_fragment(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
) -> Response {
    let rows = async {
        Ok::<_, ApiError>((
            awaiting_rows(&state, &o.c).await?,
            super::checks::pending_rows(&state, &o.c).await?,
        ))
    }
    .await;
    match rows {
        Ok((awaiting, pending)) => render(&AwaitingFragment {
            c: o.c,
            awaiting,
            pending,
        }),
        Err(e) => e.into_response(),
    }
}

/// `?bulletin=` for the map.
#[derive(Debug, Deserialize)]
pub struct MapQuery {
    bulletin: Option<uuid::Uuid>,
}

/// `GET /console/fragments/map`
pub async fn map_fragment(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
    Query(q): Query<MapQuery>,
) -> Response {
    match map_view(&state, &o.c, q.bulletin).await {
        Ok(map) => render(&MapFragment { c: o.c, map }),
        Err(e) => e.into_response(),
    }
}

/// The SSE event name of a node event.
fn event_name(e: NodeEvent) -> &'static str {
    match e {
        NodeEvent::Bulletins => "bulletins",
        NodeEvent::Acknowledgements => "acks",
        NodeEvent::Peers => "peers",
        NodeEvent::Directory => "directory",
    }
}

/// `GET /console/events`: server-sent events naming what changed (`bulletins`, `acks`,
/// `peers`, `directory`); pages re-fetch their fragments, each rendered for its viewer.
pub async fn events(
    State(state): State<AppState>,
    _: Need<ReadBulletins, Officer>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let rx = state.fed.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        use tokio::sync::broadcast::error::RecvError;
        let name = match rx.recv().await {
            Ok(e) => event_name(e),
            // Fell behind: everything may have changed.
            Err(RecvError::Lagged(_)) => "bulletins",
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(Event::default().event(name).data("changed")), rx))
    });
    // The stream ends when the node shuts down, so shutdown never waits on a viewer.
    let stream = futures::StreamExt::take_until(stream, state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
