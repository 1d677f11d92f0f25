//! `/feeds/*`: the node's public advisories as Atom (RFC 4287), its public attack warnings as
//! CAP 1.2 alerts, and the Atom index of those alerts that CAP aggregators subscribe to.
//!
//! Everything comes from `Federation::public_bulletins` (the policy's `PublishPublic` for the
//! public: TLP:CLEAR, embargo over, not retracted) and `Federation::public_retractions` (what the
//! public saw and was withdrawn: announced as a CAP `Cancel`, with nothing of its content).
//! Responses carry a strong `ETag` (a hash of the body), `Last-Modified`, and
//! `Cache-Control: public, max-age=60`; `If-None-Match` (or, without it, `If-Modified-Since`)
//! answers 304.

use std::collections::HashMap;

use atalaya_core::directory::TeamId;
use atalaya_core::{NodeId, Timestamp};
use atalaya_formats::atom::{self, Advisory, Site};
use atalaya_formats::cap::{self, AlertInput, IndexItem, Reference};
use atalaya_store::BulletinRecord;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// Entries in a feed.
const FEED_ENTRIES: u32 = 100;

/// What the feeds say about the node and the origins of what they list.
struct Context {
    base_url: String,
    name: String,
    origins: HashMap<NodeId, Origin>,
}

/// An origin as its alerts name it.
#[derive(Clone)]
struct Origin {
    name: String,
    sender: String,
    language: String,
}

impl Context {
    fn new(state: &AppState) -> Self {
        let me = state.fed.node_id().clone();
        let roster = state.fed.roster();
        let (base_url, name) = roster
            .member(&me)
            .map(|m| (m.endpoint.trim_end_matches('/').to_owned(), m.team.clone()))
            .unwrap_or_else(|| (String::new(), me.to_string()));
        Self {
            base_url,
            name,
            origins: HashMap::new(),
        }
    }

    fn site(&self) -> Site<'_> {
        Site {
            base_url: &self.base_url,
            name: &self.name,
        }
    }

    /// The team name, CAP sender and language of `node`'s bulletins: its public directory
    /// e-mail (incident reports first) or its host as the sender; its country's first language.
    async fn origin(&mut self, state: &AppState, node: &NodeId) -> Result<Origin, ApiError> {
        if let Some(o) = self.origins.get(node) {
            return Ok(o.clone());
        }
        let roster = state.fed.roster();
        let member = roster.member(node);
        let team = state.fed.team(TeamId::of_node(node).as_str()).await?;
        let mut emails: Vec<String> = Vec::new();
        if let Some(t) = &team {
            let public = t.public_view();
            for usage in ["incident-report", "contact", "emergency"] {
                for e in &public.emails {
                    if e.usage.iter().any(|u| u == usage) && !emails.contains(&e.address) {
                        emails.push(e.address.clone());
                    }
                }
            }
        }
        let host = member.and_then(|m| host_of(&m.endpoint));
        let email_refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        let sender = cap::sender_id(&email_refs, host.as_deref(), node.as_str());
        let country = member
            .map(|m| m.country)
            .or_else(|| team.as_ref().map(|t| t.country));
        let language = country
            .and_then(|c| atalaya_core::member_states::by_code(c.as_str()))
            .and_then(|s| s.languages.first().cloned())
            .unwrap_or_else(|| "en".to_owned());
        let name = member
            .map(|m| m.team.clone())
            .or_else(|| team.map(|t| t.official_name))
            .unwrap_or_else(|| node.to_string());
        let o = Origin {
            name,
            sender,
            language,
        };
        self.origins.insert(node.clone(), o.clone());
        Ok(o)
    }
}

/// The host of an `https://host[:port]/...` endpoint.
fn host_of(endpoint: &str) -> Option<String> {
    let rest = endpoint.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    (!host.is_empty()).then(|| host.to_owned())
}

/// The newest of a set of instants, the Unix epoch for none.
fn newest(times: impl IntoIterator<Item = Timestamp>) -> Timestamp {
    #[allow(clippy::expect_used)]
    times
        .into_iter()
        .max()
        .unwrap_or_else(|| Timestamp::from_unix_millis(0).expect("the epoch is a timestamp"))
}

/// An HTTP date (RFC 9110 IMF-fixdate).
fn http_date(t: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(t.unix_seconds())
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 GMT".to_owned())
}

fn parse_http_date(s: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(s.trim(), &format)
        .ok()
        .map(|d| d.assume_utc().unix_timestamp())
}

/// The body with its validators, or 304 when the client holds it.
fn cached(
    headers: &HeaderMap,
    body: String,
    content_type: &'static str,
    updated: Timestamp,
) -> Response {
    let etag = format!("\"{}\"", &atalaya_node::accounts::sha256_hex(&body)[..32]);
    let last_modified = http_date(updated);
    let fresh = match headers.get(header::IF_NONE_MATCH) {
        Some(v) => v.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
        }),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .is_some_and(|since| updated.unix_seconds() <= since),
    };
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    for (k, v) in [
        (header::ETAG, etag),
        (header::LAST_MODIFIED, last_modified),
        (header::CACHE_CONTROL, "public, max-age=60".to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

/// `GET /feeds/advisories.atom`: the node's public advisories (the newest 100).
pub async fn advisories(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match advisories_body(&state).await {
        Ok((body, updated)) => cached(&headers, body, atom::MEDIA_TYPE, updated),
        Err(e) => e.into_response(),
    }
}

async fn advisories_body(state: &AppState) -> Result<(String, Timestamp), ApiError> {
    let public = state.fed.public_bulletins(FEED_ENTRIES).await?;
    let withdrawn = state.fed.public_retractions(FEED_ENTRIES).await?;
    let csaf = crate::csaf::document_urls(state).await?;
    let mut ctx = Context::new(state);
    let mut authors = Vec::with_capacity(public.len());
    for r in &public {
        authors.push(ctx.origin(state, &r.bulletin.origin).await?.name);
    }
    let items: Vec<Advisory<'_>> = public
        .iter()
        .zip(&authors)
        .map(|(r, author)| Advisory {
            bulletin: &r.bulletin,
            author,
            csaf_url: csaf.get(&r.bulletin.id).map(String::as_str),
        })
        .collect();
    // A retraction changes the feed too (an entry leaves it).
    let updated = newest(
        public
            .iter()
            .map(|r| atom::public_since(&r.bulletin))
            .chain(
                withdrawn
                    .iter()
                    .filter_map(|r| r.retracted.as_ref().map(|(t, _)| *t)),
            ),
    );
    Ok((atom::advisories(&ctx.site(), &items, updated), updated))
}

/// `GET /feeds/cap.atom`: the index of the node's CAP messages: each public attack warning
/// that no public revision replaced, and each withdrawn one (its `Cancel`).
pub async fn cap_index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match cap_index_body(&state).await {
        Ok((body, updated)) => cached(&headers, body, atom::MEDIA_TYPE, updated),
        Err(e) => e.into_response(),
    }
}

async fn cap_index_body(state: &AppState) -> Result<(String, Timestamp), ApiError> {
    let alerts: Vec<BulletinRecord> = state
        .fed
        .public_bulletins(500)
        .await?
        .into_iter()
        .filter(|r| cap::is_alert(r.bulletin.content.kind))
        .collect();
    let withdrawn: Vec<BulletinRecord> = state
        .fed
        .public_retractions(FEED_ENTRIES)
        .await?
        .into_iter()
        .filter(|r| cap::is_alert(r.bulletin.content.kind))
        .collect();
    // An update replaces the alert it revises: aggregators follow the newest message.
    let replaced: Vec<uuid::Uuid> = alerts
        .iter()
        .filter_map(|r| r.bulletin.content.supersedes)
        .collect();
    let mut current: Vec<(&BulletinRecord, Option<Timestamp>, Timestamp)> = alerts
        .iter()
        .filter(|r| !replaced.contains(&r.bulletin.id))
        .map(|r| (r, None, atom::public_since(&r.bulletin)))
        .chain(withdrawn.iter().map(|r| {
            let at = r.retracted.as_ref().map(|(t, _)| *t);
            let since = atom::public_since(&r.bulletin);
            (r, at, at.map_or(since, |t| t.max(since)))
        }))
        .collect();
    current.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.bulletin.id.cmp(&a.0.bulletin.id)));
    current.truncate(FEED_ENTRIES as usize);
    let mut ctx = Context::new(state);
    let mut authors = Vec::with_capacity(current.len());
    for (r, _, _) in &current {
        authors.push(ctx.origin(state, &r.bulletin.origin).await?.name);
    }
    let items: Vec<IndexItem<'_>> = current
        .iter()
        .zip(&authors)
        .map(|((r, retracted, _), author)| IndexItem {
            bulletin: &r.bulletin,
            author,
            retracted: *retracted,
        })
        .collect();
    let updated = newest(current.iter().map(|(_, _, t)| *t));
    Ok((cap::index_feed(&ctx.site(), &items, updated), updated))
}

/// `GET /feeds/cap/{id}.xml`: the CAP message a public attack warning is now (its alert, its
/// update, or its cancellation). 404 for anything else, malformed ids included.
pub async fn cap_alert(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    match cap_alert_body(&state, &file).await {
        Ok(Some((body, updated))) => cached(&headers, body, cap::MEDIA_TYPE, updated),
        Ok(None) => ApiError::not_found("public alert").into_response(),
        Err(e) => e.into_response(),
    }
}

/// The CAP alert of bulletin `id` for `GET /api/v1/bulletins/{id}/export/cap`: the same message
/// the public feed serves, or `None` when the bulletin is not a public attack warning (CAP is
/// the public's alerting format here: scope Public, TLP:CLEAR only).
pub(crate) async fn cap_export(
    state: &AppState,
    id: uuid::Uuid,
) -> Result<Option<String>, ApiError> {
    Ok(cap_alert_body(state, &format!("{id}.xml"))
        .await?
        .map(|(body, _)| body))
}

async fn cap_alert_body(
    state: &AppState,
    file: &str,
) -> Result<Option<(String, Timestamp)>, ApiError> {
    let Some(id) = file
        .strip_suffix(".xml")
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
    else {
        return Ok(None);
    };
    let Some(r) = state.fed.store.bulletin(id).await? else {
        return Ok(None);
    };
    if !cap::is_alert(r.bulletin.content.kind) {
        return Ok(None);
    }
    let retracted = if state.fed.is_public(&r) {
        None
    } else if state.fed.was_public(&r) {
        r.retracted.as_ref().map(|(t, _)| *t)
    } else {
        return Ok(None);
    };
    let mut ctx = Context::new(state);
    let origin = ctx.origin(state, &r.bulletin.origin).await?;
    // Only a revision of something the public saw names it.
    let mut supersedes = None;
    if let Some(old) = r.bulletin.content.supersedes
        && let Some(o) = state.fed.store.bulletin(old).await?
        && cap::is_alert(o.bulletin.content.kind)
        && (state.fed.is_public(&o) || state.fed.was_public(&o))
    {
        let sender = ctx.origin(state, &o.bulletin.origin).await?.sender;
        supersedes = Some(Reference::to_alert(&o.bulletin, &sender));
    }
    let web = ctx.site().advisory_url(id);
    let input = AlertInput {
        bulletin: &r.bulletin,
        sender: &origin.sender,
        sender_name: &origin.name,
        web: &web,
        language: &origin.language,
        supersedes,
        retracted,
    };
    let body = cap::alert(&input)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.code(), e.to_string()))?;
    let since = atom::public_since(&r.bulletin);
    Ok(Some((body, retracted.map_or(since, |t| t.max(since)))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_http_dates() {
        assert_eq!(
            host_of("https://atalaya.example.cl/").as_deref(),
            Some("atalaya.example.cl")
        );
        assert_eq!(
            host_of("http://u@h.example:8443/x").as_deref(),
            Some("h.example:8443")
        );
        assert_eq!(host_of("nonsense"), None);
        let t = Timestamp::parse("2026-11-22T12:00:00.999Z").unwrap();
        assert_eq!(http_date(t), "Sun, 22 Nov 2026 12:00:00 GMT");
        assert_eq!(parse_http_date(&http_date(t)), Some(t.unix_seconds()));
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
