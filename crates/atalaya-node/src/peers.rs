//! What this node noticed about its peers: the pages it sent about them and the audit
//! inconsistencies it knows of.

use std::sync::Arc;

use atalaya_store::{InconsistencyRecord, PeerAlert, Store, StoreError};

/// The peer-watch service of a node.
pub struct Peers {
    store: Arc<dyn Store>,
}

impl Peers {
    /// The service over a node's store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The latest pages about peers, newest first.
    pub async fn alerts(&self, limit: u32) -> Result<Vec<PeerAlert>, StoreError> {
        self.store.peer_alerts(limit).await
    }

    /// Audit inconsistencies known here, newest first.
    pub async fn inconsistencies(
        &self,
        limit: u32,
    ) -> Result<Vec<InconsistencyRecord>, StoreError> {
        self.store.inconsistencies(limit).await
    }
}
