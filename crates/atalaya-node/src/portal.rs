//! The public portal's content: the awareness pages (one per slug and language) and the
//! single-use proof-of-work challenges of the report form.

use std::sync::Arc;

use atalaya_core::Timestamp;
use atalaya_store::{PortalPageRow, Store, StoreError};

/// The portal-content service of a node.
pub struct PortalPages {
    store: Arc<dyn Store>,
}

impl PortalPages {
    /// The service over a node's store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Every awareness page, by slug then language.
    pub async fn all(&self) -> Result<Vec<PortalPageRow>, StoreError> {
        self.store.portal_pages().await
    }

    /// One awareness page.
    pub async fn page(&self, slug: &str, lang: &str) -> Result<Option<PortalPageRow>, StoreError> {
        self.store.portal_page(slug, lang).await
    }

    /// Keep an awareness page (replacing the one with its slug and language).
    pub async fn save(&self, row: &PortalPageRow) -> Result<(), StoreError> {
        self.store.save_portal_page(row).await
    }

    /// Keep an awareness page only if none has its slug and language; whether it did.
    pub async fn seed(&self, row: &PortalPageRow) -> Result<bool, StoreError> {
        self.store.seed_portal_page(row).await
    }

    /// Mark a proof-of-work challenge used: true the first time, false if it was used already.
    pub async fn claim_challenge(
        &self,
        nonce: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.store.claim_challenge(nonce, expires, now).await
    }
}
