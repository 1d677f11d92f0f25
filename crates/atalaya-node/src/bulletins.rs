//! Bulletins as the people of this node read them.
//!
//! Every read that shows a person a bulletin comes from here. Each makes the sharing policy's
//! View decision for that person and records it in the audit trail as the policy says
//! ([`Federation::audit`]: every denial, and every allowed view of material that is not
//! TLP:CLEAR) — here, and nowhere else. A [`Visible`] can only be made by this module, so a
//! handler that holds one knows the decision was made and recorded; a handler cannot show a
//! bulletin it did not get from here without reaching past the service to the store.
//!
//! **A list is a view.** A row of the API's list, of the watch floor's feed or of its
//! "awaiting acknowledgement" list shows the bulletin's title, origin and label, which is
//! reading it: each listed bulletin is decided and audited like a bulletin opened on its own
//! page, and one the person may not see is left out of the list and its denial recorded. The
//! API's list always did this; the watch floor did not, and now does.
//!
//! **Cost.** Auditing does not write per entry: [`Federation::audit`] queues the event and the
//! audit writer takes everything queued in one transaction (group commit, see
//! `atalaya_federation::audit`). A watch floor of fifty rows adds fifty queued events and one
//! write, and its answer waits for that one write, as an API list of fifty always did.
//!
//! **Not here:** what the public sees (portal, feeds, the public live stream) is decided with
//! `Action::PublishPublic` for `Actor::Public` ([`Federation::is_public`]), which the policy
//! does not audit; exports decide `Action::Export`.

use std::ops::Deref;
use std::sync::Arc;

use atalaya_core::policy::{Action, Actor, Decision, Denial, Item};
use atalaya_core::{Bulletin, Timestamp};
use atalaya_federation::Federation;
use atalaya_store::{
    AckRecord, BulletinQuery, BulletinRecord, Delivery, EscalationRecord, RenotifySent, StoreError,
};
use uuid::Uuid;

/// A bulletin (or its record) that a person may see: the View decision was made for them and
/// recorded in the audit trail. Only [`Bulletins`] makes one.
#[derive(Debug, Clone)]
pub struct Visible<T>(T);

impl<T> Visible<T> {
    /// What was read.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Visible<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// What a [`Visible`] can hold: a bulletin, or the record around one.
pub trait HoldsBulletin {
    /// The bulletin.
    fn bulletin(&self) -> &Bulletin;
}

impl HoldsBulletin for Bulletin {
    fn bulletin(&self) -> &Bulletin {
        self
    }
}

impl HoldsBulletin for BulletinRecord {
    fn bulletin(&self) -> &Bulletin {
        &self.bulletin
    }
}

/// Why a bulletin could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No bulletin has that id here.
    #[error("no such bulletin")]
    NotFound,
    /// The sharing policy does not let this person see it (the denial is in the audit trail).
    #[error("{0}")]
    Denied(Denial),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A bulletin as the sharing policy sees it.
pub fn policy_item(b: &Bulletin) -> Item<'_> {
    Item::of_bulletin(b, false)
}

/// The bulletin service of a node: the reads of bulletins a person may see.
pub struct Bulletins {
    fed: Arc<Federation>,
}

impl Bulletins {
    /// The service over a node's federation (its store, policy and audit trail).
    pub fn new(fed: Arc<Federation>) -> Self {
        Self { fed }
    }

    /// The one place a person's View of a bulletin is decided, and audited as the policy says.
    fn view(&self, user: &str, b: &Bulletin) -> Decision {
        self.fed.decide_audited(
            &policy_item(b),
            &b.id.to_string(),
            &Actor::Person { user },
            Action::View,
        )
    }

    /// The bulletin `id` for person `user`.
    pub async fn read(&self, user: &str, id: Uuid) -> Result<Visible<BulletinRecord>, ReadError> {
        let record = self
            .fed
            .store
            .bulletin(id)
            .await?
            .ok_or(ReadError::NotFound)?;
        match self.view(user, &record.bulletin) {
            Decision::Allow => Ok(Visible(record)),
            Decision::Deny(d) => Err(ReadError::Denied(d)),
        }
    }

    /// The bulletins of `query` (newest first) that `user` may see; each one listed is a view.
    pub async fn list(
        &self,
        user: &str,
        query: &BulletinQuery,
    ) -> Result<Vec<Visible<BulletinRecord>>, StoreError> {
        let records = self.fed.store.bulletins(query).await?;
        Ok(records
            .into_iter()
            .filter(|r| self.view(user, &r.bulletin).is_allowed())
            .map(Visible)
            .collect())
    }

    /// Bulletins from other nodes with an acknowledgement deadline that this node has not
    /// acknowledged and that `user` may see, whatever the deadline; each one listed is a view.
    pub async fn awaiting(&self, user: &str) -> Result<Vec<Visible<Bulletin>>, StoreError> {
        let now = self.fed.now();
        // Every unacknowledged bulletin with a deadline: the horizon is the end of year 9999.
        let horizon = Timestamp::from_unix_millis(253_402_300_799_000).unwrap_or(now);
        let list = self
            .fed
            .store
            .overdue_for(self.fed.node_id(), horizon)
            .await?;
        Ok(list
            .into_iter()
            .filter(|b| self.view(user, b).is_allowed())
            .map(Visible)
            .collect())
    }

    /// This node's newest bulletin that asks for acknowledgement and is not retracted (among
    /// its last twenty), if `user` may see it: the warning the watch floor's map follows.
    pub async fn current_warning(
        &self,
        user: &str,
    ) -> Result<Option<Visible<BulletinRecord>>, StoreError> {
        let current = self
            .fed
            .store
            .bulletins(&BulletinQuery {
                origin: Some(self.fed.node_id().clone()),
                limit: 20,
                ..Default::default()
            })
            .await?
            .into_iter()
            .find(|r| r.bulletin.content.ack_required_by.is_some() && r.retracted.is_none());
        Ok(current
            .filter(|r| self.view(user, &r.bulletin).is_allowed())
            .map(Visible))
    }

    // What happened to a bulletin the person may see. These take a `Visible`: only a bulletin
    // whose View was decided and audited can be asked about.

    /// The acknowledgements of the bulletin (from every node that acknowledged it).
    pub async fn acks<T: HoldsBulletin>(
        &self,
        b: &Visible<T>,
    ) -> Result<Vec<AckRecord>, StoreError> {
        self.fed.store.acks(b.bulletin().id).await
    }

    /// Its delivery to each peer (at its origin).
    pub async fn deliveries<T: HoldsBulletin>(
        &self,
        b: &Visible<T>,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.fed.store.deliveries(b.bulletin().id).await
    }

    /// The re-notifications this node sent about it, oldest first.
    pub async fn renotifies_sent<T: HoldsBulletin>(
        &self,
        b: &Visible<T>,
    ) -> Result<Vec<RenotifySent>, StoreError> {
        self.fed.store.renotifies_sent(b.bulletin().id).await
    }

    /// The escalation calls this node made for it.
    pub async fn escalations<T: HoldsBulletin>(
        &self,
        b: &Visible<T>,
    ) -> Result<Vec<EscalationRecord>, StoreError> {
        self.fed.store.escalations(b.bulletin().id).await
    }
}
