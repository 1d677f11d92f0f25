//! Communication checks as people read them: the checks this node started (with what it knows
//! of each target) and the checks it received and must answer. Starting and answering a check
//! travel through the federation.

use std::sync::Arc;

use atalaya_core::comm_check::{CheckFacts, ReceivedCheck};
use atalaya_store::{Store, StoreError};
use uuid::Uuid;

/// The communication-check service of a node.
pub struct Checks {
    store: Arc<dyn Store>,
}

impl Checks {
    /// The service over a node's store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The checks this node started, newest first, at most `limit` (capped at 500).
    pub async fn started(&self, limit: u32) -> Result<Vec<CheckFacts>, StoreError> {
        self.store.comm_checks(limit).await
    }

    /// A check this node started.
    pub async fn started_check(&self, id: Uuid) -> Result<Option<CheckFacts>, StoreError> {
        self.store.comm_check(id).await
    }

    /// A check this node received.
    pub async fn received_check(&self, id: Uuid) -> Result<Option<ReceivedCheck>, StoreError> {
        self.store.received_check(id).await
    }

    /// Checks received and not answered yet, oldest first.
    pub async fn pending(&self) -> Result<Vec<ReceivedCheck>, StoreError> {
        self.store.pending_checks().await
    }
}
