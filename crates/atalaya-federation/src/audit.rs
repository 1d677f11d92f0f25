//! Writes the audit queue to the store in batches, off the hot path, until shutdown (then
//! drains what is left).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::Federation;

/// Most events in one commit.
const BATCH: usize = 1000;

/// Run the audit writer until `cancel`.
pub async fn run(fed: Arc<Federation>, cancel: CancellationToken) {
    let Some(mut rx) = fed.take_audit_queue() else {
        return;
    };
    loop {
        let first = tokio::select! {
            () = cancel.cancelled() => None,
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
        if let Err(e) = fed.store.append_audit(&batch).await {
            tracing::error!(error = %e, lost = batch.len(), "audit trail write failed");
        }
    }
    // Shutdown: keep what is still queued.
    rx.close();
    let mut rest = Vec::new();
    while let Ok(e) = rx.try_recv() {
        rest.push(e);
    }
    if !rest.is_empty()
        && let Err(e) = fed.store.append_audit(&rest).await
    {
        tracing::error!(error = %e, lost = rest.len(), "audit trail write failed at shutdown");
    }
}

/// Every `checkpoint_interval_ms`, send a signed checkpoint of the audit chain's head to every
/// peer (when it moved), and once more at shutdown.
pub async fn run_checkpoints(fed: Arc<Federation>, cancel: CancellationToken) {
    let interval = std::time::Duration::from_millis(fed.settings.checkpoint_interval_ms.max(100));
    let mut last = None;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
        match fed.publish_checkpoint(last).await {
            Ok(Some(seq)) => last = Some(seq),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
        }
    }
}
