//! The durable outbox: one worker per peer delivers that peer's queued envelopes in log order,
//! in batches, with capped exponential backoff, and stops cleanly on shutdown. Rows leave the
//! queue only when the peer accepted them (or pulled past them).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use atalaya_core::{Entropy, NodeId};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{Federation, Metrics};

/// Upper bound on one push's size, so a backlog of large envelopes still moves.
const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;

/// The delay before retry number `failures` (1-based): base·2^(n-1), capped, with ±25 % jitter.
pub fn backoff(failures: u32, base_ms: u64, max_ms: u64, entropy: &dyn Entropy) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << failures.saturating_sub(1).min(30));
    let capped = exp.min(max_ms).max(1);
    let mut b = [0u8; 2];
    entropy.fill(&mut b);
    let jitter = u64::from(u16::from_le_bytes(b)) % (capped / 2 + 1);
    Duration::from_millis(capped - capped / 4 + jitter)
}

/// Run one worker per peer of the current roster until `cancel`; follows roster changes.
pub async fn run(fed: Arc<Federation>, cancel: CancellationToken) {
    let mut workers: HashMap<NodeId, (CancellationToken, JoinHandle<()>)> = HashMap::new();
    let mut roster_rx = fed.watch_roster();
    loop {
        let view = fed.roster();
        let peers: Vec<NodeId> = view
            .roster
            .peers_of(fed.node_id())
            .map(|m| m.node_id.clone())
            .collect();
        workers.retain(|peer, (stop, _)| {
            let keep = peers.contains(peer);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for peer in peers {
            workers.entry(peer.clone()).or_insert_with(|| {
                let stop = cancel.child_token();
                let handle = tokio::spawn(worker(Arc::clone(&fed), peer, stop.clone()));
                (stop, handle)
            });
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = roster_rx.changed() => if changed.is_err() { break },
        }
    }
    for (_, (stop, handle)) in workers {
        stop.cancel();
        let _ = handle.await;
    }
}

/// Deliver everything queued for `peer`, forever, until cancelled.
async fn worker(fed: Arc<Federation>, peer: NodeId, cancel: CancellationToken) {
    let signals = fed.signals(&peer);
    let mut failures: u32 = 0;
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let pending = match fed
            .store
            .pending(&peer, fed.settings.push_batch.max(1))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(%peer, error = %e, "outbox read failed");
                sleep_or_cancel(&cancel, Duration::from_secs(1), None).await;
                continue;
            }
        };
        if pending.is_empty() {
            failures = 0;
            tokio::select! {
                () = cancel.cancelled() => return,
                () = signals.work.notified() => {},
                // A periodic look even without a wake-up: rows queued by another process
                // sharing the database, or by a restart, still go out.
                () = tokio::time::sleep(Duration::from_secs(30)) => {},
            }
            continue;
        }
        let Some(member) = fed.roster().member(&peer).cloned() else {
            return;
        };
        let mut size = 0;
        let batch: Vec<_> = pending
            .into_iter()
            .take_while(|e| {
                size += e.raw.len();
                size <= MAX_PUSH_BYTES || size == e.raw.len()
            })
            .collect();
        let cursors: Vec<i64> = batch.iter().map(|e| e.cursor).collect();
        let raws: Vec<String> = batch.into_iter().map(|e| e.raw).collect();
        let now = fed.now();
        match fed.push(&member, &raws).await {
            Ok(reply) => {
                let ok: Vec<i64> = cursors
                    .iter()
                    .zip(&raws)
                    .enumerate()
                    .filter(|(i, _)| !reply.rejected.iter().any(|r| r.index == *i))
                    .map(|(_, (c, _))| *c)
                    .collect();
                let refused: Vec<i64> = cursors
                    .iter()
                    .copied()
                    .filter(|c| !ok.contains(c))
                    .collect();
                if let Err(e) = fed.store.mark_delivered(&peer, &ok, fed.now()).await {
                    tracing::error!(%peer, error = %e, "could not record delivery");
                }
                fed.notify(crate::NodeEvent::Acknowledgements);
                fed.notify(crate::NodeEvent::Peers);
                Metrics::add(&fed.metrics.envelopes_out, ok.len() as u64);
                if refused.is_empty() {
                    failures = 0;
                } else {
                    let reasons: Vec<String> = reply
                        .rejected
                        .iter()
                        .map(|r| format!("{}: {}", r.code, r.reason))
                        .collect();
                    let error = format!("refused by peer: {}", reasons.join("; "));
                    tracing::warn!(%peer, %error, "peer refused envelopes");
                    let _ = fed.store.record_failure(&peer, &refused, &error, now).await;
                    if ok.is_empty() {
                        failures = failures.saturating_add(1);
                        let delay = backoff(
                            failures,
                            fed.settings.backoff_base_ms,
                            fed.settings.backoff_max_ms,
                            fed.entropy.as_ref(),
                        );
                        sleep_or_cancel(&cancel, delay, Some(&signals.alive)).await;
                    }
                }
            }
            Err(e) => {
                Metrics::add(&fed.metrics.push_failures, 1);
                failures = failures.saturating_add(1);
                let error = e.to_string();
                tracing::debug!(%peer, %error, failures, "push failed");
                fed.forget_healthy(&peer);
                if let Err(e) = fed.store.record_failure(&peer, &cursors, &error, now).await {
                    tracing::error!(%peer, error = %e, "could not record failure");
                }
                if failures == 1 {
                    fed.notify(crate::NodeEvent::Peers);
                }
                let delay = backoff(
                    failures,
                    fed.settings.backoff_base_ms,
                    fed.settings.backoff_max_ms,
                    fed.entropy.as_ref(),
                );
                if sleep_or_cancel(&cancel, delay, Some(&signals.alive)).await {
                    // Woken because the peer contacted us: it is up, retry at once.
                    failures = 0;
                }
            }
        }
    }
}

/// Sleep for `delay`, or until cancelled, or until woken. Returns true when woken early.
async fn sleep_or_cancel(
    cancel: &CancellationToken,
    delay: Duration,
    wake: Option<&tokio::sync::Notify>,
) -> bool {
    match wake {
        Some(w) => tokio::select! {
            () = cancel.cancelled() => false,
            () = tokio::time::sleep(delay) => false,
            () = w.notified() => true,
        },
        None => tokio::select! {
            () = cancel.cancelled() => false,
            () = tokio::time::sleep(delay) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atalaya_core::SeededEntropy;

    #[test]
    fn backoff_grows_and_is_capped() {
        let e = SeededEntropy::new(1);
        let d = |n| backoff(n, 250, 60_000, &e).as_millis() as u64;
        for n in 1..40 {
            let v = d(n);
            let nominal = (250u64 << (n - 1).min(30)).min(60_000);
            assert!(
                v >= nominal * 3 / 4 && v <= nominal * 5 / 4 + 1,
                "n={n} v={v}"
            );
        }
        assert!(d(1) < 400);
        assert!(d(30) <= 75_000);
    }
}
