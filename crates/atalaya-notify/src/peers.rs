//! Paging the duty roster about a peer that stays unreachable: once when its outage passes the
//! alert threshold, and once more when it is back. Both pages are kept (`peer_alerts`) and shown
//! in the console and the API; the peer's row remembers that its outage was paged, so a restart
//! of this node does not page it again.

use atalaya_core::escalation::{OnCallEntry, OnCallRole, OnCallRoster};
use atalaya_core::peer_health::{self, HealthRules, PeerAlertKind};
use atalaya_core::{Clock, NodeId, Timestamp};
use atalaya_store::{PeerAlert, PeerState, Store, StoreError};

use crate::Notifier;

/// Who is paged about a peer: the primary duty officers, or everyone on call when the roster
/// names no primary.
fn duty(roster: &OnCallRoster) -> Vec<&OnCallEntry> {
    let primary: Vec<&OnCallEntry> = roster
        .entries
        .iter()
        .filter(|e| e.role == OnCallRole::Primary)
        .collect();
    if primary.is_empty() {
        roster.entries.iter().collect()
    } else {
        primary
    }
}

/// The page's subject and text.
fn alert_text(me: &NodeId, s: &PeerState, kind: PeerAlertKind, now: Timestamp) -> (String, String) {
    let since = s
        .failing_since
        .map_or_else(|| "unknown".to_owned(), |t| format!("{t} (UTC)"));
    match kind {
        PeerAlertKind::Down => (
            format!("[Atalaya {me}] PEER UNREACHABLE: {}", s.peer),
            format!(
                "{me} has not been able to exchange with {peer} since {since}.\n\n\
                 Failed exchanges in a row: {failures}\n\
                 Last error:                {error}\n\
                 Envelopes waiting for it:  {pending}\n\n\
                 Warnings for {peer} stay queued here and reach it when it is back, or through \
                 other members that hold them. Call its team if this lasts.\n\
                 You will get one more message when it is reachable again.\n",
                peer = s.peer,
                failures = s.consecutive_failures,
                error = s.last_error.as_deref().unwrap_or("none"),
                pending = s.pending,
            ),
        ),
        PeerAlertKind::Back => (
            format!("[Atalaya {me}] PEER BACK: {}", s.peer),
            format!(
                "{me} exchanges with {peer} again ({now} UTC); the outage was paged at {paged}.\n\
                 Envelopes still waiting for it: {pending}\n",
                peer = s.peer,
                paged = s
                    .down_alerted
                    .map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
                pending = s.pending,
            ),
        ),
    }
}

/// One pass: page the duty roster about every peer of `peers` whose outage passed the alert
/// threshold and was not paged yet, and about every paged peer that is back. Returns the pages
/// sent (or recorded as impossible: nobody on call, no e-mail configured).
pub async fn peer_alerts_once(
    store: &dyn Store,
    me: &NodeId,
    peers: &[NodeId],
    clock: &dyn Clock,
    notifier: &Notifier,
    rules: &HealthRules,
) -> Result<Vec<PeerAlert>, StoreError> {
    let now = clock.now();
    let roster: OnCallRoster = match store.oncall().await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::error!(error = %e, "on-call roster unreadable");
            OnCallRoster {
                entries: Vec::new(),
                step_minutes: 15,
            }
        }),
        None => OnCallRoster {
            entries: Vec::new(),
            step_minutes: 15,
        },
    };
    let mut made = Vec::new();
    for s in store.peer_states().await? {
        if !peers.contains(&s.peer) {
            continue;
        }
        let Some(kind) = peer_health::alert_due(
            s.consecutive_failures,
            s.failing_since,
            s.down_alerted,
            now,
            rules,
        ) else {
            continue;
        };
        let (subject, body) = alert_text(me, &s, kind, now);
        let mut alerts = Vec::new();
        let people = duty(&roster);
        for person in &people {
            let payload = serde_json::json!({
                "event": format!("peer-{}", kind.as_str()), "node": me, "peer": s.peer,
                "failing_since": s.failing_since, "last_error": s.last_error,
                "pending": s.pending, "person": person.name, "at": now,
            });
            for call in notifier.page(person, &subject, &body, &payload).await {
                tracing::warn!(peer = %s.peer, event = kind.as_str(), person = %person.name, channel = call.channel, outcome = %call.outcome, "peer alert");
                alerts.push(PeerAlert {
                    peer: s.peer.clone(),
                    event: kind,
                    target: call.target,
                    channel: call.channel.to_owned(),
                    outcome: call.outcome,
                    at: now,
                });
            }
        }
        if alerts.is_empty() {
            tracing::warn!(peer = %s.peer, event = kind.as_str(), "peer alert: nobody on call");
            alerts.push(PeerAlert {
                peer: s.peer.clone(),
                event: kind,
                target: "nobody on call".into(),
                channel: "none".into(),
                outcome: "no one on the on-call roster to page".into(),
                at: now,
            });
        }
        let down_alerted = match kind {
            PeerAlertKind::Down => Some(now),
            PeerAlertKind::Back => None,
        };
        store
            .record_peer_alerts(&s.peer, &alerts, down_alerted)
            .await?;
        made.extend(alerts);
    }
    Ok(made)
}
