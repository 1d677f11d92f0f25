//! Anti-entropy: every node periodically pulls from every peer what it may have missed, and
//! asks the peers that hold an unreachable origin's envelopes to relay them.
//!
//! Direct pulls ask a peer only for its own envelopes (`origin=<peer>`), so nothing travels
//! twice in the normal case. Every pull reply also says what the peer holds of each origin (the
//! position of its newest envelope of that origin in its log). When an origin cannot be reached,
//! the node asks the reachable peers whose position for that origin is past how far it has read
//! their log — the holders, whoever they are: no member, the coordinator included, is a fixed
//! relay. Relayed envelopes carry the origin's signature, so a holder can pass them on but
//! cannot forge or alter them, and the holder's policy (`Action::Relay`, or `Carry` for sealed
//! items) decides what it may pass on.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use atalaya_core::{Member, NodeId, Timestamp};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::Federation;
use crate::client::PeerError;

/// Most pages taken from one peer for one origin in one round, so one busy peer cannot starve
/// the others.
const MAX_PAGES_PER_ROUND: usize = 100;
/// Most pages taken from one holder for a relayed origin in one round.
const MAX_RELAY_PAGES: usize = 20;
/// Most holders asked for one unreachable origin in one round (picked at random among those
/// holding something new): several, so one lying or slow holder cannot hold the origin back.
const HOLDERS_PER_ORIGIN: usize = 3;
/// Most relay requests in flight at once.
const RELAY_CONCURRENCY: usize = 4;
/// A first relay request starts this long before the newest envelope already held from the
/// origin (clocks drift, and envelopes created just before the link broke may be missing).
const RELAY_LOOKBACK_MS: i64 = 10 * 60_000;

/// What one pull from a peer for one origin brought.
#[derive(Debug, Default)]
pub struct PullOutcome {
    /// Envelopes newly stored.
    pub stored: usize,
    /// What the peer said it holds of each origin (from its last page).
    pub holds: Vec<(NodeId, i64)>,
}

/// Pull from `peer` (envelopes of `origin`) until caught up, or `max_pages`.
///
/// `advertised` is the position `peer` said it holds for `origin`: if it then serves less
/// than that, it lied (or lost data), and our cursor moves to that position so it is not asked
/// again until it advertises more.
pub async fn pull_from(
    fed: &Federation,
    peer: &Member,
    origin: &NodeId,
    max_pages: usize,
    advertised: Option<i64>,
) -> Result<PullOutcome, PeerError> {
    let store_err = |e: atalaya_store::StoreError| PeerError::Transport(e.to_string());
    let mut outcome = PullOutcome::default();
    for _ in 0..max_pages {
        let after = fed
            .store
            .pull_cursor(&peer.node_id, origin)
            .await
            .map_err(store_err)?;
        let since = if after == 0 && origin != &peer.node_id {
            relay_start(fed, origin).await.map_err(store_err)?
        } else {
            None
        };
        let page = fed.pull_page(peer, after, Some(origin), since).await?;
        outcome.stored += page.reply.accepted.len();
        outcome.holds = page.holds;
        if !page.reply.rejected.is_empty() {
            tracing::warn!(peer = %peer.node_id, %origin, rejected = page.reply.rejected.len(), first = ?page.reply.rejected.first(), "pulled envelopes refused");
        }
        let progressed = page.next > after;
        if progressed {
            fed.store
                .set_pull_cursor(&peer.node_id, origin, page.next, fed.now())
                .await
                .map_err(store_err)?;
        }
        if !page.more || !progressed {
            if let Some(claimed) = advertised
                && page.next < claimed
                && !page.more
            {
                tracing::warn!(peer = %peer.node_id, %origin, claimed, served = page.next, "holder served less than it said it holds");
                crate::Metrics::add(&fed.metrics.relay_inconsistent, 1);
                fed.store
                    .set_pull_cursor(&peer.node_id, origin, claimed, fed.now())
                    .await
                    .map_err(store_err)?;
            }
            break;
        }
    }
    Ok(outcome)
}

/// Where a first relay request for `origin` starts: a while before the newest envelope this
/// node holds of it (everything older came while the origin was reachable), or from the
/// beginning when it holds none.
async fn relay_start(
    fed: &Federation,
    origin: &NodeId,
) -> Result<Option<Timestamp>, atalaya_store::StoreError> {
    Ok(fed
        .store
        .newest_from(origin)
        .await?
        .map(|t| t.plus_millis(-RELAY_LOOKBACK_MS)))
}

/// One anti-entropy round. Returns the peers that could not be reached directly.
pub async fn round(fed: &Arc<Federation>) -> BTreeSet<NodeId> {
    let view = fed.roster();
    let peers: Vec<Member> = view.roster.peers_of(fed.node_id()).cloned().collect();
    let results: Vec<(Member, Result<PullOutcome, PeerError>)> =
        futures::stream::iter(peers.clone())
            .map(|peer| {
                let fed = Arc::clone(fed);
                async move {
                    let r = pull_from(&fed, &peer, &peer.node_id, MAX_PAGES_PER_ROUND, None).await;
                    (peer, r)
                }
            })
            .buffer_unordered(fed.settings.pull_concurrency.max(1) as usize)
            .collect()
            .await;
    let mut unreachable = BTreeSet::new();
    let mut holders: Vec<(Member, Vec<(NodeId, i64)>)> = Vec::new();
    for (peer, r) in results {
        match r {
            Ok(outcome) => {
                fed.peer_answered(&peer.node_id).await;
                if outcome.stored > 0 {
                    tracing::info!(peer = %peer.node_id, new = outcome.stored, "caught up from peer");
                }
                holders.push((peer, outcome.holds));
            }
            Err(PeerError::Suspended(_)) => {
                unreachable.insert(peer.node_id);
            }
            Err(e) => {
                tracing::debug!(peer = %peer.node_id, error = %e, "direct pull failed");
                fed.peer_failed(&peer.node_id, &e.to_string()).await;
                unreachable.insert(peer.node_id);
            }
        }
    }
    relay(fed, &unreachable, &holders).await;
    unreachable
}

/// Ask the holders of each unreachable origin for what they hold of it that this node has not
/// read from them yet: at most `HOLDERS_PER_ORIGIN` per origin, picked at random, several at
/// once.
async fn relay(
    fed: &Arc<Federation>,
    unreachable: &BTreeSet<NodeId>,
    holders: &[(Member, Vec<(NodeId, i64)>)],
) {
    let mut asks: Vec<(Member, NodeId, i64)> = Vec::new();
    for origin in unreachable {
        let mut ahead = Vec::new();
        for (holder, holds) in holders {
            let Some(&(_, position)) = holds.iter().find(|(o, _)| o == origin) else {
                continue;
            };
            match fed.store.pull_cursor(&holder.node_id, origin).await {
                Ok(read) if position > read => ahead.push((holder.clone(), position)),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "pull cursor unreadable"),
            }
        }
        shuffle(&mut ahead, fed.entropy.as_ref());
        asks.extend(
            ahead
                .into_iter()
                .take(HOLDERS_PER_ORIGIN)
                .map(|(holder, position)| (holder, origin.clone(), position)),
        );
    }
    futures::stream::iter(asks)
        .for_each_concurrent(RELAY_CONCURRENCY, |(holder, origin, position)| {
            let fed = Arc::clone(fed);
            async move {
                crate::Metrics::add(&fed.metrics.relay_pulls, 1);
                match pull_from(&fed, &holder, &origin, MAX_RELAY_PAGES, Some(position)).await {
                    Ok(o) if o.stored > 0 => {
                        crate::Metrics::add(&fed.metrics.relayed_in, o.stored as u64);
                        tracing::info!(%origin, holder = %holder.node_id, new = o.stored, "relayed envelopes received");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(%origin, holder = %holder.node_id, error = %e, "relay pull failed")
                    }
                }
            }
        })
        .await;
}

/// Fisher–Yates with the injected randomness.
fn shuffle<T>(items: &mut [T], entropy: &dyn atalaya_core::Entropy) {
    for i in (1..items.len()).rev() {
        let mut b = [0u8; 8];
        entropy.fill(&mut b);
        let j = (u64::from_le_bytes(b) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The pause before the next round: the interval ±50 %, so that nodes started together do not
/// all pull from each other at the same instant, round after round.
pub fn next_delay(interval_ms: u64, entropy: &dyn atalaya_core::Entropy) -> Duration {
    let interval_ms = interval_ms.max(100);
    let mut b = [0u8; 8];
    entropy.fill(&mut b);
    let jitter = u64::from_le_bytes(b) % interval_ms;
    Duration::from_millis(interval_ms / 2 + jitter)
}

/// Run anti-entropy rounds every `pull_interval_ms` on average (the first one at once) until
/// cancelled.
pub async fn run(fed: Arc<Federation>, cancel: CancellationToken) {
    loop {
        let interval = next_delay(fed.settings.pull_interval_ms, fed.entropy.as_ref());
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = round(&fed) => crate::Metrics::add(&fed.metrics.sync_rounds, 1),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(interval) => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_spread_around_the_interval() {
        let e = atalaya_core::SeededEntropy::new(3);
        let delays: Vec<u128> = (0..200).map(|_| next_delay(1000, &e).as_millis()).collect();
        assert!(delays.iter().all(|d| (500..1500).contains(d)));
        assert!(delays.iter().min() < Some(&600) && delays.iter().max() > Some(&1400));
    }

    #[test]
    fn holders_are_picked_evenly() {
        let e = atalaya_core::SeededEntropy::new(7);
        let mut firsts = [0u32; 5];
        for _ in 0..5000 {
            let mut v = [0, 1, 2, 3, 4];
            shuffle(&mut v, &e);
            let mut sorted = v;
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2, 3, 4], "a permutation");
            firsts[v[0]] += 1;
        }
        assert!(
            firsts.iter().all(|&n| (800..1200).contains(&n)),
            "no holder is favoured (no fixed relay): {firsts:?}"
        );
    }
}
