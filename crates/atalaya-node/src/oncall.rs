//! This node's on-call roster: who is called, in what order, when a warning is not
//! acknowledged. Kept as the JSON the API and the console read and write.

use std::sync::Arc;

use atalaya_core::Clock;
use atalaya_store::{Store, StoreError};

/// The on-call service of a node.
pub struct OnCall {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl OnCall {
    /// The service over a node's store and clock.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The roster as kept (JSON), if one was set.
    pub async fn json(&self) -> Result<Option<String>, StoreError> {
        self.store.oncall().await
    }

    /// Replace the roster with `json` (checked by the caller).
    pub async fn replace(&self, json: &str) -> Result<(), StoreError> {
        self.store.set_oncall(json, self.clock.now()).await
    }
}
