//! Anti-entropy: every node periodically pulls from every peer what it may have missed, and
//! asks reachable peers to relay what it cannot get from an unreachable origin.
//!
//! Direct pulls ask a peer only for its own envelopes (`origin=<peer>`), so nothing travels
//! twice in the normal case. When an origin cannot be reached, the node asks other peers for
//! that origin's envelopes: they hold them with the origin's signature, so a relay can pass
//! them on but cannot forge or alter them.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use atalaya_core::{Member, NodeId};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::Federation;
use crate::client::PeerError;

/// Most pages taken from one peer in one round, so one busy peer cannot starve the others.
const MAX_PAGES_PER_ROUND: usize = 100;
/// How many reachable peers are asked to relay an unreachable origin.
const RELAYS_PER_ORIGIN: usize = 2;

/// Pull from `peer` (envelopes of `origin`) until caught up. Returns how many were new.
pub async fn pull_from(
    fed: &Federation,
    peer: &Member,
    origin: &NodeId,
) -> Result<usize, PeerError> {
    let mut stored = 0;
    for _ in 0..MAX_PAGES_PER_ROUND {
        let after = fed
            .store
            .pull_cursor(&peer.node_id, origin)
            .await
            .map_err(|e| PeerError::Transport(e.to_string()))?;
        let (reply, next, more) = fed.pull_page(peer, after, Some(origin)).await?;
        stored += reply.accepted.len();
        if !reply.rejected.is_empty() {
            tracing::warn!(peer = %peer.node_id, rejected = reply.rejected.len(), first = ?reply.rejected.first(), "pulled envelopes refused");
        }
        if next > after {
            fed.store
                .set_pull_cursor(&peer.node_id, origin, next, fed.now())
                .await
                .map_err(|e| PeerError::Transport(e.to_string()))?;
        }
        if !more {
            break;
        }
    }
    Ok(stored)
}

/// One anti-entropy round. Returns the peers that could not be reached directly.
pub async fn round(fed: &Arc<Federation>) -> BTreeSet<NodeId> {
    let view = fed.roster();
    let peers: Vec<Member> = view.roster.peers_of(fed.node_id()).cloned().collect();
    let results: Vec<(NodeId, Result<usize, PeerError>)> = futures::stream::iter(peers.clone())
        .map(|peer| {
            let fed = Arc::clone(fed);
            async move {
                let r = pull_from(&fed, &peer, &peer.node_id).await;
                (peer.node_id, r)
            }
        })
        .buffer_unordered(fed.settings.pull_concurrency.max(1) as usize)
        .collect()
        .await;
    let mut unreachable = BTreeSet::new();
    for (peer, r) in results {
        match r {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(%peer, new = n, "caught up from peer");
                }
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "direct pull failed");
                unreachable.insert(peer);
            }
        }
    }
    // Relay: ask reachable peers for what the unreachable origins published.
    let reachable: Vec<&Member> = peers
        .iter()
        .filter(|p| !unreachable.contains(&p.node_id))
        .collect();
    for origin in &unreachable {
        for relay in reachable.iter().take(RELAYS_PER_ORIGIN) {
            match pull_from(fed, relay, origin).await {
                Ok(n) if n > 0 => {
                    tracing::info!(%origin, relay = %relay.node_id, new = n, "relayed envelopes received")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(%origin, relay = %relay.node_id, error = %e, "relay pull failed")
                }
            }
        }
    }
    unreachable
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
}
