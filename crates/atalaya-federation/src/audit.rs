//! The audit queue and its writer: every event is in the audit trail before the answer it
//! records leaves the node, and many concurrent requests' events share one transaction.
//!
//! Requests enqueue events ([`crate::Federation::audit`]) and carry on; the writer takes
//! everything queued, writes it in one transaction (group commit), and publishes how many
//! events it has taken from the queue so far. The HTTP edge takes an [`AuditMark`] when a
//! request begins and, after the handler returned and before the response leaves, waits
//! ([`AuditQueue::durable`]) until every event enqueued so far is written — so a `kill -9` can
//! never lose the record of an answer already given. A request that enqueued nothing (no one
//! did while it ran) does not wait at all. Background tasks that audit (deliveries, relays) do
//! not wait: nothing leaves the node in their name.
//!
//! If a write fails, the events in it are lost, and every request that may have had an event in
//! it is refused instead of answered ([`AuditUnwritten`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atalaya_core::audit::AuditEvent;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::Federation;

/// Most events in one commit.
const BATCH: usize = 1000;

/// Failed writes remembered (positions in the queue), for requests still waiting.
const FAILURES_KEPT: usize = 256;

/// How long a request waits for its audit entries before it is refused.
const DURABLE_WAIT: Duration = Duration::from_secs(30);

/// The writer's progress: events are numbered 1, 2, … in queue order.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// Events taken from the queue and written (or lost in a failed write), in queue order.
    taken: u64,
    /// The writer stopped: nothing more will be written.
    stopped: bool,
}

/// The audit queue of a node.
#[derive(Debug)]
pub struct AuditQueue {
    tx: mpsc::UnboundedSender<AuditEvent>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<AuditEvent>>>,
    /// Events enqueued so far (counted before each is sent, so it never lags the queue).
    enqueued: AtomicU64,
    progress: watch::Sender<Progress>,
    /// Queue positions `(after, through]` of recent failed writes, oldest first.
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    recent: VecDeque<(u64, u64)>,
    /// Every failed write ending at or before this position has been forgotten.
    forgotten_through: u64,
}

/// Where the audit queue stood when a request began (see [`AuditQueue::durable`]).
#[derive(Debug, Clone, Copy)]
pub struct AuditMark {
    enqueued: u64,
    taken: u64,
}

/// The audit trail could not record what a request did, so its answer must not leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuditUnwritten {
    /// Writing to the audit trail failed.
    #[error("the audit trail could not be written")]
    WriteFailed,
    /// The writer did not get to the request's entries in time, or has stopped.
    #[error("the audit trail is not being written")]
    Unavailable,
}

impl Default for AuditQueue {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            enqueued: AtomicU64::new(0),
            progress: watch::channel(Progress::default()).0,
            failures: Mutex::new(Failures::default()),
        }
    }
}

impl AuditQueue {
    /// Queue `event` for the writer.
    pub(crate) fn enqueue(&self, event: AuditEvent) {
        // Counted before it is sent: whoever reads the count after this call returns waits for
        // this event too (the queue is FIFO and the writer counts what it takes, in order).
        self.enqueued.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.send(event);
    }

    /// Where the queue stands now; take it when a request begins.
    pub fn mark(&self) -> AuditMark {
        AuditMark {
            taken: self.progress.borrow().taken,
            enqueued: self.enqueued.load(Ordering::SeqCst),
        }
    }

    /// Wait until every event enqueued so far is written. Refused if a write that may have held
    /// an event of the request that took `since` failed, or the writer is not writing.
    pub async fn durable(&self, since: AuditMark) -> Result<(), AuditUnwritten> {
        let through = self.enqueued.load(Ordering::SeqCst);
        if through == since.enqueued {
            // Nothing was enqueued while the request ran, so nothing of it is pending.
            return Ok(());
        }
        let mut progress = self.progress.subscribe();
        let reached = tokio::time::timeout(
            DURABLE_WAIT,
            progress.wait_for(|p| p.taken >= through || p.stopped),
        )
        .await;
        match reached {
            Ok(Ok(p)) if p.taken >= through => {}
            _ => return Err(AuditUnwritten::Unavailable),
        }
        // The request's own events lie after what was taken when it began (`since.taken`) and
        // at or before `through`: any failed write overlapping that span may have held one.
        let failures = self
            .failures
            .lock()
            .map_err(|_| AuditUnwritten::Unavailable)?;
        let overlaps = failures.forgotten_through > since.taken
            || failures
                .recent
                .iter()
                .any(|&(after, upto)| upto > since.taken && after < through);
        if overlaps {
            return Err(AuditUnwritten::WriteFailed);
        }
        Ok(())
    }

    fn taken(&self, n: usize, ok: bool) {
        let after = self.progress.borrow().taken;
        let upto = after + n as u64;
        if !ok && let Ok(mut f) = self.failures.lock() {
            f.recent.push_back((after, upto));
            while f.recent.len() > FAILURES_KEPT {
                if let Some((_, end)) = f.recent.pop_front() {
                    f.forgotten_through = f.forgotten_through.max(end);
                }
            }
        }
        // Failures are recorded before the progress that waiters read.
        self.progress.send_modify(|p| p.taken = upto);
    }

    fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<AuditEvent>> {
        self.rx.lock().ok()?.take()
    }
}

/// Run the audit writer until `stop`, then write what is still queued. Cancel `stop` only once
/// nothing else audits any more (after the HTTP server and the background tasks have stopped).
pub async fn run(fed: Arc<Federation>, stop: CancellationToken) {
    let queue = fed.audit_queue();
    let Some(mut rx) = queue.take_receiver() else {
        return;
    };
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => None,
            e = rx.recv() => e,
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        write(&fed, &batch).await;
    }
    // Stopping: keep what is still queued.
    rx.close();
    let mut rest = Vec::new();
    while let Ok(e) = rx.try_recv() {
        rest.push(e);
        if rest.len() == BATCH {
            write(&fed, &rest).await;
            rest.clear();
        }
    }
    if !rest.is_empty() {
        write(&fed, &rest).await;
    }
    queue.progress.send_modify(|p| p.stopped = true);
}

async fn write(fed: &Federation, batch: &[AuditEvent]) {
    let result = fed.store.append_audit(batch).await;
    if let Err(e) = &result {
        tracing::error!(error = %e, lost = batch.len(), "audit trail write failed");
        crate::Metrics::add(&fed.metrics.audit_write_failures, 1);
    }
    fed.audit_queue().taken(batch.len(), result.is_ok());
    if result.is_ok() {
        fed.checkpoint_wake.notify_one();
    }
}

/// Publish signed checkpoints of the audit log (see [`crate::transparency`]): soon after each
/// write to the trail, but at most one every `audit_checkpoint_min_interval_ms` (writes in
/// between are covered by the next), and every `checkpoint_interval_ms` in any case when the
/// log changed; send the countersignatures of peers' heads back to them as they are made.
pub async fn run_checkpoints(fed: Arc<Federation>, cancel: CancellationToken) {
    let heartbeat = Duration::from_millis(fed.settings.checkpoint_interval_ms.max(100));
    let min_gap = Duration::from_millis(fed.settings.audit_checkpoint_min_interval_ms);
    // The first one at start: the log may have changed while the node was down.
    let mut due = true;
    loop {
        if due {
            match fed.publish_checkpoint().await {
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
            }
            // Coalesce: whatever is written during the gap goes into the next checkpoint.
            let gap = tokio::time::sleep(min_gap);
            tokio::pin!(gap);
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = &mut gap => break,
                    () = fed.cosignatures_wake.notified() => fed.push_cosignatures().await,
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(heartbeat) => due = true,
            () = fed.checkpoint_wake.notified() => due = true,
            () = fed.cosignatures_wake.notified() => {
                fed.push_cosignatures().await;
                due = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            at: atalaya_core::Timestamp::parse("2026-11-22T12:00:00Z").unwrap(),
            actor: "user:ana".into(),
            action: "view".into(),
            object: "b1".into(),
            decision: "allow".into(),
            reason: "TLP:AMBER".into(),
        }
    }

    #[tokio::test]
    async fn a_request_that_audited_nothing_does_not_wait() {
        let q = AuditQueue::default();
        q.enqueue(event()); // someone else's, before the request began, never written
        let mark = q.mark();
        assert_eq!(q.durable(mark).await, Ok(()));
    }

    #[tokio::test]
    async fn an_answer_waits_until_its_entry_is_written() {
        let q = Arc::new(AuditQueue::default());
        let mark = q.mark();
        q.enqueue(event());
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.durable(mark).await }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "answered before the entry was written"
        );
        q.taken(1, true);
        assert_eq!(waiting.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn a_failed_write_refuses_the_requests_it_may_hold_and_no_later_one() {
        let q = AuditQueue::default();
        let early = q.mark();
        q.enqueue(event());
        q.enqueue(event());
        q.taken(2, false);
        assert_eq!(q.durable(early).await, Err(AuditUnwritten::WriteFailed));
        let later = q.mark();
        q.enqueue(event());
        q.taken(1, true);
        assert_eq!(q.durable(later).await, Ok(()));
    }

    #[tokio::test]
    async fn a_stopped_writer_refuses_what_it_did_not_write() {
        let q = AuditQueue::default();
        let mark = q.mark();
        q.enqueue(event());
        q.progress.send_modify(|p| p.stopped = true);
        assert_eq!(q.durable(mark).await, Err(AuditUnwritten::Unavailable));
    }
}
