//! Where the road ends: each message kind's handler, and the one list of them.
//!
//! The road ([`crate::Federation::receive_batch`]) checks what every envelope has in common —
//! well formed, signed by its origin, a member (or, for a roster, the coordinator), accepted by
//! the sharing policy — and then hands the envelope to the handler registered for its kind,
//! in three steps:
//!
//! 1. [`KindHandler::check`], without I/O (on the worker threads that verify signatures):
//!    what is malformed for this kind or comes from the wrong sender is refused;
//! 2. [`KindHandler::check_held`], against what the node holds and what the same batch
//!    accepted before (its `notes`);
//! 3. after the batch's envelopes are stored in one transaction, [`KindHandler::keep`], once
//!    per batch with everything of its kinds that was accepted (batched: a busy batch costs
//!    one call per handler, not one per envelope).
//!
//! **Who registers what.** The road registers its own kinds ([`road`]: the roster, the audit
//! trail's transparency messages, and — until they move — the other domains still in this
//! crate). The domain services above (the `atalaya-node` crate) register theirs: whoever starts
//! the node passes their [`Handlers`] to [`crate::Federation::start`], which keeps them after
//! the road's. A handler outside this crate sees the node only through [`Context`].
//!
//! Adding a message kind: the kind and its payload in `atalaya_core::envelope`, one handler
//! (in its domain's service), and one line where that domain's handlers are listed (for
//! `atalaya-node`, its `handlers()`). Nothing else of the road changes.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use atalaya_core::envelope::Payload;
use atalaya_core::{Bulletin, Envelope, EnvelopeKind, NodeId, Timestamp};
use atalaya_store::{NewEnvelope, Store, StoreError};

use crate::{Federation, FederationError, NodeEvent, Refusal, RosterView};

/// The kinds the road itself handles, with their handlers. The order is the order in which a
/// batch's accepted items are kept; the handlers given to [`crate::Federation::start`] come
/// after these.
pub fn road() -> Handlers {
    Handlers::default()
        .with(crate::roster_view::RosterHandler)
        .with(crate::agreement::AgreementHandler)
        .with(crate::bulletins::AcknowledgementHandler)
        .with(crate::bulletins::RetractionHandler)
        .with(crate::transparency::AuditHandler)
        .with(crate::bulletins::BulletinHandler)
        .with(crate::directory::DirectoryHandler)
        .with(crate::census::CensusRoundHandler)
        .with(crate::census::CensusResponseHandler)
        .with(crate::renotify::RenotifyHandler)
}

/// What a message kind does when it arrives.
#[async_trait]
pub trait KindHandler: Send + Sync + 'static {
    /// What the check makes of one envelope, carried to [`KindHandler::keep`].
    type Item: Send + Sync + 'static;
    /// What the handler notes while one batch is checked (most note nothing: `()`).
    type Notes: Default + Send + Sync + 'static;

    /// The kinds it receives (most handlers one; a domain whose kinds refer to each other in
    /// the same batch, several).
    fn kinds(&self) -> &'static [EnvelopeKind];

    /// Whether it reads sealed envelopes of its kinds. Those it does not are stored as they
    /// are and passed on, unread.
    fn opens_sealed(&self) -> bool {
        false
    }

    /// The check that needs no I/O, after the road's.
    fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<Self::Item>, Refusal>;

    /// The check against what this node holds, and what the batch accepted before (`notes`).
    async fn check_held(
        &self,
        _ctx: &Context<'_>,
        _arrived: &mut Arrived<Self::Item>,
        _notes: &mut Self::Notes,
    ) -> Result<Option<Refusal>, StoreError> {
        Ok(None)
    }

    /// Keep what was accepted of its kinds in one batch, once their envelopes are stored.
    /// Called once per batch that brought any of its kinds, also when all were refused.
    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<Self::Item>>,
        notes: Self::Notes,
    ) -> Result<(), FederationError>;
}

/// An envelope that passed the road: well formed, signed by its origin, accepted by the policy.
pub struct Incoming<'a> {
    /// The envelope, with its labels as they travel (a sealed one's are inside).
    pub envelope: &'a Envelope,
    /// The signed text, as received.
    pub raw: &'a str,
    /// What it carries.
    pub payload: Payload,
    /// For a roster envelope: the roster, verified against the coordinator's key.
    pub roster: Option<RosterView>,
}

/// What a handler's check accepted.
pub struct Accepted<T> {
    /// What the handler keeps of it.
    pub item: T,
    /// The labels the envelope is stored under when they are not those it travels with (a
    /// sealed bulletin this node opened).
    pub labels: Option<Envelope>,
    /// The bulletin the envelope carries, stored with it.
    pub bulletin: Option<Bulletin>,
}

impl<T> Accepted<T> {
    /// Accepted, stored under its own labels.
    pub fn new(item: T) -> Self {
        Self {
            item,
            labels: None,
            bulletin: None,
        }
    }
}

/// The refusal of a payload that is not of the handler's kinds (the envelope parser makes the
/// payload of the envelope's kind, so this does not happen).
pub fn unexpected() -> Refusal {
    Refusal::new(
        "invalid_body",
        "the body is not of the kind the envelope names",
    )
}

/// An accepted envelope as its handler keeps it.
pub struct Arrived<T> {
    /// The envelope's id.
    pub id: uuid::Uuid,
    /// Its origin.
    pub origin: NodeId,
    /// When its origin made it.
    pub created: Timestamp,
    /// What the handler's check made of it.
    pub item: T,
}

/// What a handler may use of the node: its id, the roster, storage, the clock, and the hooks
/// that tell the rest of the node something changed.
pub struct Context<'a> {
    fed: &'a Federation,
    roster: Arc<RosterView>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(fed: &'a Federation) -> Self {
        Self {
            roster: fed.roster(),
            fed,
        }
    }

    /// This node.
    pub fn me(&self) -> &NodeId {
        self.fed.node_id()
    }

    /// The roster in force (when the batch arrived).
    pub fn roster(&self) -> &RosterView {
        &self.roster
    }

    /// Storage.
    pub fn store(&self) -> &dyn Store {
        self.fed.store.as_ref()
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.fed.now()
    }

    /// Tell the people watching the node that something changed.
    pub fn notify(&self, event: NodeEvent) {
        self.fed.notify(event);
    }

    /// Wake the escalation loop (a re-notification arrived).
    pub fn wake_escalation(&self) {
        self.fed.escalation_wake().notify_one();
    }

    /// The sharing agreement or its acceptances changed: the policy reads them again.
    pub async fn agreement_changed(&self) -> Result<(), StoreError> {
        self.fed.reload_agreement().await
    }

    /// Open a sealed envelope with this node's key: the envelope with the labels from inside
    /// and the body, or `None` when this node only carries it.
    pub fn unseal(
        &self,
        envelope: &Envelope,
        sealed: &atalaya_core::envelope::Sealed,
    ) -> Result<Option<(Envelope, Vec<u8>)>, Refusal> {
        self.fed.unseal(envelope, sealed)
    }

    /// Whether this node is in the audience of these labels.
    pub fn addressed(&self, labels: &Envelope) -> bool {
        self.roster.member(self.me()).is_some_and(|m| {
            labels
                .audience
                .as_ref()
                .is_some_and(|a| a.includes(&m.node_id, m.country))
        })
    }

    /// The whole federation, for the road's own kinds (roster, audit trail).
    pub(crate) fn federation(&self) -> &Federation {
        self.fed
    }
}

/// Handlers of message kinds, in keeping order.
#[derive(Default)]
pub struct Handlers {
    handlers: Vec<Box<dyn Dispatch>>,
    by_kind: HashMap<EnvelopeKind, usize>,
}

impl Handlers {
    /// Register a handler for its kinds (a kind registered twice keeps its first handler).
    pub fn with(self, handler: impl KindHandler) -> Self {
        self.push(Box::new(Typed(handler)))
    }

    /// These handlers, then `others` (a kind registered in both keeps the first handler).
    pub fn then(self, others: Handlers) -> Self {
        others.handlers.into_iter().fold(self, Self::push)
    }

    /// The kinds of every registered handler, in registration order (a kind registered twice
    /// is listed twice).
    pub fn kinds(&self) -> Vec<EnvelopeKind> {
        self.handlers
            .iter()
            .flat_map(|h| h.kinds().iter().copied())
            .collect()
    }

    fn push(mut self, handler: Box<dyn Dispatch>) -> Self {
        let index = self.handlers.len();
        self.handlers.push(handler);
        for kind in self.handlers[index].kinds() {
            if *self.by_kind.entry(*kind).or_insert(index) != index {
                tracing::error!(kind = kind.as_str(), "two handlers for one kind");
            }
        }
        self
    }

    /// The check after the road's: the row to store and what its handler makes of it.
    pub(crate) fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Checked, Refusal> {
        let env = incoming.envelope;
        let Some(&index) = self.by_kind.get(&env.kind) else {
            return Err(Refusal::new(
                "unsupported_kind",
                format!("this node does not receive {} envelopes", env.kind.as_str()),
            ));
        };
        let handler = &self.handlers[index];
        if matches!(incoming.payload, Payload::Sealed(_)) && !handler.opens_sealed() {
            return Ok(Checked {
                row: crate::new_envelope(env, incoming.raw, None),
                handler: None,
            });
        }
        let raw = incoming.raw;
        let accepted = handler.check(ctx, incoming)?;
        Ok(Checked {
            row: crate::new_envelope(
                accepted.labels.as_ref().unwrap_or(env),
                raw,
                accepted.bulletin,
            ),
            handler: Some((index, accepted.item)),
        })
    }

    /// Start on a batch.
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch {
            handlers: self,
            work: (0..self.handlers.len()).map(|_| None).collect(),
        }
    }
}

/// An envelope of a batch that passed the checks without I/O.
pub(crate) struct Checked {
    /// The row to store.
    pub(crate) row: NewEnvelope,
    /// Its handler and what it made of it (`None`: carried unread).
    handler: Option<(usize, Box<dyn Any + Send + Sync>)>,
}

/// One batch on its way through the handlers.
pub(crate) struct Batch<'h> {
    handlers: &'h Handlers,
    work: Vec<Option<Box<dyn Work + 'h>>>,
}

impl Batch<'_> {
    /// The check against what the node holds: the row to store, or the refusal.
    pub(crate) async fn check_held(
        &mut self,
        ctx: &Context<'_>,
        checked: Checked,
    ) -> Result<Result<NewEnvelope, Refusal>, StoreError> {
        let Some((index, item)) = checked.handler else {
            return Ok(Ok(checked.row));
        };
        let handlers = self.handlers;
        let work = self.work[index].get_or_insert_with(|| handlers.handlers[index].begin());
        let row = checked.row;
        let arrived = Arrived {
            id: row.id,
            origin: row.origin.clone(),
            created: row.created,
            item,
        };
        Ok(match work.check_held(ctx, arrived).await? {
            Some(refusal) => Err(refusal),
            None => Ok(row),
        })
    }

    /// Keep what each handler accepted, in the registry's order.
    pub(crate) async fn keep(self, ctx: &Context<'_>) -> Result<(), FederationError> {
        for work in self.work.into_iter().flatten() {
            work.keep(ctx).await?;
        }
        Ok(())
    }
}

/// A handler with its item type hidden, so that handlers of every kind sit in one list.
#[async_trait]
trait Dispatch: Send + Sync {
    fn kinds(&self) -> &'static [EnvelopeKind];
    fn opens_sealed(&self) -> bool;
    fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<Box<dyn Any + Send + Sync>>, Refusal>;
    fn begin(&self) -> Box<dyn Work + '_>;
}

/// A handler's part of one batch.
#[async_trait]
trait Work: Send {
    async fn check_held(
        &mut self,
        ctx: &Context<'_>,
        arrived: Arrived<Box<dyn Any + Send + Sync>>,
    ) -> Result<Option<Refusal>, StoreError>;
    async fn keep(self: Box<Self>, ctx: &Context<'_>) -> Result<(), FederationError>;
}

struct Typed<H>(H);

#[async_trait]
impl<H: KindHandler> Dispatch for Typed<H> {
    fn kinds(&self) -> &'static [EnvelopeKind] {
        self.0.kinds()
    }

    fn opens_sealed(&self) -> bool {
        self.0.opens_sealed()
    }

    fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<Box<dyn Any + Send + Sync>>, Refusal> {
        let a = self.0.check(ctx, incoming)?;
        Ok(Accepted {
            item: Box::new(a.item),
            labels: a.labels,
            bulletin: a.bulletin,
        })
    }

    fn begin(&self) -> Box<dyn Work + '_> {
        Box::new(TypedWork {
            handler: &self.0,
            arrived: Vec::new(),
            notes: H::Notes::default(),
        })
    }
}

struct TypedWork<'h, H: KindHandler> {
    handler: &'h H,
    arrived: Vec<Arrived<H::Item>>,
    notes: H::Notes,
}

#[async_trait]
impl<H: KindHandler> Work for TypedWork<'_, H> {
    async fn check_held(
        &mut self,
        ctx: &Context<'_>,
        arrived: Arrived<Box<dyn Any + Send + Sync>>,
    ) -> Result<Option<Refusal>, StoreError> {
        let Ok(item) = arrived.item.downcast::<H::Item>() else {
            // Cannot happen: the item was made by this handler's check.
            return Ok(Some(Refusal::new(
                "internal_error",
                "the envelope could not be checked",
            )));
        };
        let mut arrived = Arrived {
            id: arrived.id,
            origin: arrived.origin,
            created: arrived.created,
            item: *item,
        };
        let refusal = self
            .handler
            .check_held(ctx, &mut arrived, &mut self.notes)
            .await?;
        if refusal.is_none() {
            self.arrived.push(arrived);
        }
        Ok(refusal)
    }

    async fn keep(self: Box<Self>, ctx: &Context<'_>) -> Result<(), FederationError> {
        let this = *self;
        this.handler.keep(ctx, this.arrived, this.notes).await
    }
}
