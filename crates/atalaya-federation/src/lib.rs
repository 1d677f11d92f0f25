//! The road a message travels, and only the road: publishing (seal, sign, store with one outbox
//! row per recipient in one transaction), the durable per-peer outbox, the anti-entropy pull
//! that also relays, and the inbox that checks what arrives — signature, roster, the sharing
//! policy's accept decision — before it hands each envelope to the handler registered for its
//! kind ([`handler`]: the one list of kinds, and how to add one).
//!
//! `Federation` holds a node's federation state; the HTTP edge (`atalaya-web`) calls
//! [`Federation::receive_batch`], [`Federation::serve_pull`] and
//! [`Federation::authenticate_request`], and the background tasks ([`outbox`], [`sync`]) do the
//! rest. Every decision about who may receive what goes through `atalaya_core::policy::decide`.
//! The audit trail travels too, as signed tree heads that peers hold the node to
//! ([`transparency`]).
//!
//! A pushed batch is checked from the outside in, and nothing of a request's body is read
//! before its signature verified; [`inbox`] states the order and holds the I/O-free part.
//!
//! Each domain's module holds what it publishes and its handler: [`bulletins`] (with
//! retractions and acknowledgements), [`renotify`], [`agreement`], [`directory`], [`census`],
//! and the road's own [`roster_view`] and [`transparency`]; sealing is in `seal`.
//! The domains are moving up to their services in `atalaya-node` (incident reports and
//! communication checks are there), which register their handlers when the node starts
//! ([`Federation::start`]) and publish through [`Federation::envelope_from_me`] and
//! [`Federation::publish_envelope`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use atalaya_core::audit::AuditEvent;
use atalaya_core::envelope::Payload;
use atalaya_core::policy::{self, Action, Actor, AgreementStatus, Context, Item, NodePolicy};
use atalaya_core::{
    Bulletin, BulletinDraft, Clock, Entropy, EntropyRng, Envelope, EnvelopeKind, NodeId, Timestamp,
    ids,
};
use atalaya_crypto::{NodeKeys, PublicSigningKey, sign_envelope, verify_envelope};
use atalaya_store::{Ingested, NewEnvelope, PeerState, Store, StoreError};
use serde_json::value::RawValue;
use tokio::sync::{Notify, broadcast, watch};

pub mod agreement;
pub mod audit;
pub mod bulletins;
pub mod census;
pub mod client;
pub mod directory;
pub mod handler;
pub mod inbox;
pub mod metrics;
pub mod outbox;
pub mod renotify;
pub mod roster_view;
mod seal;
pub mod settings;
pub mod sync;
pub mod transparency;
pub mod wire;

pub use client::PeerClient;
pub use handler::Handlers;
pub use metrics::Metrics;
pub use renotify::Renotified;
pub use roster_view::{RosterView, RosterViewError, sign_roster};
pub use settings::FederationSettings;
pub use wire::{BatchReply, Rejected};

/// Federation failures that are not a verdict on an envelope.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bulletin is not acceptable.
    #[error("{0}")]
    InvalidBulletin(String),
    /// The roster is not acceptable.
    #[error(transparent)]
    Roster(#[from] RosterViewError),
    /// This node is not in the roster it was given.
    #[error("this node ({0}) is not a member of the roster")]
    NotInRoster(NodeId),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A node does not acknowledge its own bulletins.
    #[error("bulletin {0} is this node's own: its recipients acknowledge it")]
    OwnBulletin(uuid::Uuid),
    /// Only the coordinator may do this.
    #[error("{0} is not the coordinator: only the coordinator issues the sharing agreement")]
    NotTheCoordinator(NodeId),
    /// No agreement has been issued.
    #[error("the coordinator has not issued a sharing agreement yet")]
    NoAgreement,
    /// No such bulletin here.
    #[error("no bulletin {0}")]
    NoSuchBulletin(uuid::Uuid),
    /// Only a bulletin's origin may do this.
    #[error("only the bulletin's origin ({0}) can retract it")]
    NotTheOrigin(NodeId),
    /// Retracted already.
    #[error("bulletin {0} is already retracted")]
    AlreadyRetracted(uuid::Uuid),
    /// The item's labels contradict each other or name unknown nodes.
    #[error(transparent)]
    Labels(#[from] policy::LabelError),
    /// Only the origin of a bulletin may do this, and this node is not it.
    #[error("bulletin {0} is not this node's: only its origin can do this")]
    NotOurBulletin(uuid::Uuid),
    /// A node that is not one of the bulletin's recipients.
    #[error("{0:?} is not a recipient of this bulletin")]
    NotARecipient(String),
    /// A recipient that acknowledged already.
    #[error("{0} has acknowledged this bulletin already")]
    AlreadyAcknowledged(NodeId),
    /// No recipient is overdue.
    #[error("no recipient of bulletin {0} is overdue: name the recipients to re-notify")]
    NothingOverdue(uuid::Uuid),
}

/// A refusal with a stable code: of an envelope, or of a whole request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable code.
    pub code: &'static str,
    /// Human explanation.
    pub message: String,
}

impl Refusal {
    /// A refusal with its code and explanation.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A federation request whose signature verified over its request line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The requesting member.
    pub node: NodeId,
    /// What the body must hash to (signed `Content-Digest`), when the request has a body.
    pub body_digest: Option<atalaya_crypto::BodyDigest>,
}

/// The node's identity: id, keys, and the coordinator key it trusts for rosters.
pub struct Identity {
    /// This node's id.
    pub node_id: NodeId,
    /// Its keys.
    pub keys: NodeKeys,
    /// The coordinator's public key: only rosters signed with it are accepted.
    pub coordinator_key: PublicSigningKey,
}

/// A node's federation service.
pub struct Federation {
    me: NodeId,
    keys: NodeKeys,
    key_ref: String,
    coordinator_key: PublicSigningKey,
    roster: RwLock<Arc<RosterView>>,
    roster_changed: watch::Sender<u64>,
    node_policy: RwLock<Arc<NodePolicy>>,
    agreement: RwLock<Arc<AgreementStatus>>,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// The injected randomness.
    pub entropy: Arc<dyn Entropy>,
    /// Timing and limits.
    pub settings: FederationSettings,
    /// Counters.
    pub metrics: Metrics,
    /// HTTP client for peers.
    pub client: PeerClient,
    signals: Mutex<HashMap<NodeId, Arc<PeerSignals>>>,
    /// Peers whose last exchange succeeded and is recorded as such (so a success is written
    /// once per streak, not at every pull).
    healthy: Mutex<std::collections::HashSet<NodeId>>,
    escalation_wake: Arc<Notify>,
    audit_queue: audit::AuditQueue,
    /// Notified after each write to the audit trail: a checkpoint is due.
    pub(crate) checkpoint_wake: Notify,
    /// The tree head (size, root hex) this process last published: not sent twice, even when
    /// the one stored for that size says otherwise (a log rewritten at the same size).
    pub(crate) last_published: Mutex<Option<(u64, String)>>,
    /// Countersignatures of peers' audit heads to send back to them.
    cosignatures_out: Mutex<Vec<atalaya_core::audit::Cosignature>>,
    pub(crate) cosignatures_wake: Notify,
    events: broadcast::Sender<NodeEvent>,
    /// The handler of each message kind, where the road ends.
    handlers: handler::Handlers,
}

/// Something a person watching the node would want to see change (the console's live
/// updates listen to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeEvent {
    /// A bulletin was published here or arrived, or one was retracted.
    Bulletins,
    /// An acknowledgement was made here or arrived, or a delivery was recorded.
    Acknowledgements,
    /// A peer's reachability changed (a delivery succeeded or failed).
    Peers,
    /// A directory entry or census round or response was published here or arrived.
    Directory,
}

/// Wake-ups for one peer's outbox worker.
#[derive(Debug, Default)]
pub struct PeerSignals {
    /// New envelopes are queued for the peer.
    pub work: Notify,
    /// The peer just contacted us, so it is up: retry now instead of waiting out the backoff.
    pub alive: Notify,
}

impl Federation {
    /// Build the service from the roster stored (or `initial_roster`, if newer), receiving
    /// the road's own message kinds and those of `handlers` (the domain services' kinds).
    pub async fn start(
        identity: Identity,
        initial_roster: Option<&str>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        settings: FederationSettings,
        handlers: Handlers,
    ) -> Result<Arc<Self>, FederationError> {
        let stored = store.roster().await?;
        let mut view = match &stored {
            Some((_, raw)) => Some(RosterView::from_signed(raw, &identity.coordinator_key)?),
            None => None,
        };
        if let Some(raw) = initial_roster {
            let candidate = RosterView::from_signed(raw, &identity.coordinator_key)?;
            if view
                .as_ref()
                .is_none_or(|v| candidate.version() > v.version())
            {
                view = Some(candidate);
            }
        }
        let view = view.ok_or_else(|| {
            FederationError::Roster(RosterViewError::Invalid(
                "no roster: give the node a signed roster file".into(),
            ))
        })?;
        if view.member(&identity.node_id).is_none() {
            return Err(FederationError::NotInRoster(identity.node_id));
        }
        let client = PeerClient::new(&settings).map_err(FederationError::Signing)?;
        let key_ref = format!("{}#{}", identity.node_id, identity.keys.key_id());
        let (roster_changed, _) = watch::channel(view.version());
        let fed = Arc::new(Self {
            me: identity.node_id,
            keys: identity.keys,
            key_ref,
            coordinator_key: identity.coordinator_key,
            roster: RwLock::new(Arc::new(view)),
            roster_changed,
            node_policy: RwLock::new(Arc::new(NodePolicy::default())),
            agreement: RwLock::new(Arc::new(AgreementStatus::default())),
            store,
            clock,
            entropy,
            settings,
            metrics: Metrics::default(),
            client,
            signals: Mutex::new(HashMap::new()),
            healthy: Mutex::new(std::collections::HashSet::new()),
            escalation_wake: Arc::new(Notify::new()),
            audit_queue: audit::AuditQueue::default(),
            checkpoint_wake: Notify::new(),
            last_published: Mutex::new(None),
            cosignatures_out: Mutex::new(Vec::new()),
            cosignatures_wake: Notify::new(),
            events: broadcast::channel(1024).0,
            handlers: handler::road().then(handlers),
        });
        if let Some(json) = fed.store.node_policy().await? {
            let policy: NodePolicy = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("node policy: {e}")))?;
            if let Ok(mut p) = fed.node_policy.write() {
                *p = Arc::new(policy);
            }
        }
        fed.reload_agreement().await?;
        // Make sure the roster in use is in the log and the roster table, so peers can pull it.
        let raw = fed.roster().raw.clone();
        fed.accept_roster_raw(&raw).await?;
        Ok(fed)
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        &self.me
    }

    /// The key reference this node signs with (`<node_id>#<key id>`).
    pub fn key_ref(&self) -> &str {
        &self.key_ref
    }

    /// This node's keys.
    pub fn keys(&self) -> &NodeKeys {
        &self.keys
    }

    /// The roster in force.
    pub fn roster(&self) -> Arc<RosterView> {
        self.roster
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// This node's own sharing policy.
    pub fn node_policy(&self) -> Arc<NodePolicy> {
        read(&self.node_policy)
    }

    /// Replace this node's own sharing policy: checked against the roster, stored, then in
    /// force for every later decision (push, relay, pull, accept).
    pub async fn set_node_policy(&self, policy: NodePolicy) -> Result<(), FederationError> {
        policy.check(&self.roster().roster)?;
        let json =
            serde_json::to_string(&policy).map_err(|e| FederationError::Signing(e.to_string()))?;
        self.store.set_node_policy(&json, self.now()).await?;
        if let Ok(mut p) = self.node_policy.write() {
            *p = Arc::new(policy);
        }
        tracing::info!("node sharing policy updated");
        Ok(())
    }

    /// The sharing agreement in force and who accepted it.
    pub fn agreement(&self) -> Arc<AgreementStatus> {
        read(&self.agreement)
    }

    /// Decide with everything this node knows right now.
    pub fn decide(&self, item: &Item<'_>, actor: &Actor<'_>, action: Action) -> policy::Decision {
        let view = self.roster();
        let node_policy = self.node_policy();
        let agreement = self.agreement();
        let ctx = Context {
            me: &self.me,
            roster: &view.roster,
            now: self.now(),
            agreement: &agreement,
            node_policy: &node_policy,
        };
        policy::decide(item, actor, action, &ctx)
    }

    /// Record a policy decision in the audit trail when it must be: every denial, and every
    /// view, export, relay and constituent notification of material that is not TLP:CLEAR.
    /// Queued for the audit writer; an HTTP request's answer waits until it is written (see
    /// [`audit`]).
    pub fn audit(
        &self,
        item: &Item<'_>,
        object: &str,
        actor: &Actor<'_>,
        action: Action,
        decision: &policy::Decision,
    ) {
        let (verdict, reason) = match decision {
            policy::Decision::Deny(d) => ("deny", d.code().to_owned()),
            policy::Decision::Allow
                if item.tlp != atalaya_core::Tlp::Clear
                    && matches!(
                        action,
                        Action::Relay
                            | Action::View
                            | Action::Export
                            | Action::NotifyConstituent
                            | Action::Carry
                    ) =>
            {
                ("allow", item.tlp.label().to_owned())
            }
            policy::Decision::Allow => return,
        };
        let actor = match actor {
            Actor::Node(n) => format!("node:{n}"),
            Actor::Person { user } => format!("user:{user}"),
            Actor::Constituent { name, .. } => format!("constituent:{name}"),
            Actor::Public => "public".to_owned(),
        };
        let action = serde_json::to_value(action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.audit_queue.enqueue(AuditEvent {
            at: self.now(),
            actor,
            action,
            object: object.to_owned(),
            decision: verdict.to_owned(),
            reason,
        });
    }

    /// Decide and record the decision in the audit trail.
    pub fn decide_audited(
        &self,
        item: &Item<'_>,
        object: &str,
        actor: &Actor<'_>,
        action: Action,
    ) -> policy::Decision {
        let d = self.decide(item, actor, action);
        self.audit(item, object, actor, action, &d);
        d
    }

    /// The audit queue: the HTTP edge waits on it until a request's entries are written.
    pub fn audit_queue(&self) -> &audit::AuditQueue {
        &self.audit_queue
    }

    /// Notified with the new version whenever the roster changes.
    pub(crate) fn watch_roster(&self) -> watch::Receiver<u64> {
        self.roster_changed.subscribe()
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Notified when a renotify arrives, so the escalation loop calls the on-call roster at
    /// once instead of at its next tick.
    pub fn escalation_wake(&self) -> Arc<Notify> {
        Arc::clone(&self.escalation_wake)
    }

    /// The wake-ups of a peer's outbox worker.
    pub(crate) fn signals(&self, peer: &NodeId) -> Arc<PeerSignals> {
        let mut w = self.signals.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(w.entry(peer.clone()).or_default())
    }

    /// Install a signed roster (from the API, a file, or a peer): verified against the
    /// coordinator key, kept only when newer. Returns whether it replaced the current one.
    pub async fn accept_roster_raw(&self, raw: &str) -> Result<bool, FederationError> {
        let view = RosterView::from_signed(raw, &self.coordinator_key)?;
        let parsed =
            Envelope::parse(raw.as_bytes()).map_err(|e| RosterViewError::Invalid(e.to_string()))?;
        let new = new_envelope(&parsed.envelope, raw, None);
        self.store
            .ingest(std::slice::from_ref(&new), self.now())
            .await?;
        self.install(view).await
    }

    async fn install(&self, view: RosterView) -> Result<bool, FederationError> {
        let stored = self
            .store
            .install_roster(view.version(), &view.raw, self.now())
            .await?;
        if view.version() <= self.roster().version() {
            return Ok(stored);
        }
        let version = view.version();
        if let Ok(mut current) = self.roster.write() {
            *current = Arc::new(view);
        }
        self.roster_changed.send_replace(version);
        tracing::info!(version, "roster installed");
        Ok(true)
    }

    /// Every peer of the current roster with its delivery state (zeros for a peer never
    /// exchanged with).
    pub async fn peer_report(&self) -> Result<Vec<(atalaya_core::Member, PeerState)>, StoreError> {
        let states = self.store.peer_states().await?;
        let view = self.roster();
        Ok(view
            .roster
            .peers_of(&self.me)
            .map(|m| {
                let state = states
                    .iter()
                    .find(|s| s.peer == m.node_id)
                    .cloned()
                    .unwrap_or(PeerState {
                        peer: m.node_id.clone(),
                        pending: 0,
                        oldest_pending: None,
                        delivered: 0,
                        last_success: None,
                        last_failure: None,
                        last_error: None,
                        consecutive_failures: 0,
                        failing_since: None,
                        down_alerted: None,
                    });
                (m.clone(), state)
            })
            .collect())
    }

    /// The `host[:port]` peers must address this node by (from its roster endpoint).
    pub(crate) fn own_authority(&self) -> Option<String> {
        let view = self.roster();
        let endpoint = &view.member(&self.me)?.endpoint;
        let rest = endpoint
            .split_once("://")
            .map_or(endpoint.as_str(), |(_, r)| r);
        let authority = rest.split('/').next()?.to_ascii_lowercase();
        // A default port is implied, not written (RFC 9110 §4.2.3).
        let authority = match endpoint.split_once("://").map(|(s, _)| s) {
            Some("https") => authority
                .strip_suffix(":443")
                .map(str::to_owned)
                .unwrap_or(authority),
            Some("http") => authority
                .strip_suffix(":80")
                .map(str::to_owned)
                .unwrap_or(authority),
            _ => authority,
        };
        Some(authority)
    }

    /// The coordinator re-distributes the roster it holds to every member.
    pub async fn publish_current_roster(&self) -> Result<(), FederationError> {
        let view = self.roster();
        if view.roster.coordinator != self.me {
            return Ok(());
        }
        let parsed = Envelope::parse(view.raw.as_bytes())
            .map_err(|e| RosterViewError::Invalid(e.to_string()))?;
        let Some(stored) = self.store.envelope(parsed.envelope.id).await? else {
            return Ok(());
        };
        // Queue it for every member that has no outbox row for it yet.
        let have: Vec<NodeId> = self
            .store
            .deliveries(parsed.envelope.id)
            .await?
            .into_iter()
            .map(|d| d.peer)
            .collect();
        let missing: Vec<NodeId> = self
            .recipients(&parsed.envelope)
            .0
            .into_iter()
            .filter(|p| !have.contains(p))
            .collect();
        if !missing.is_empty() {
            self.store
                .enqueue(stored.cursor, &missing, self.now())
                .await?;
            for p in &missing {
                self.signals(p).work.notify_one();
            }
        }
        Ok(())
    }

    /// The members that may read an envelope this node originates, as
    /// [`Federation::publish_envelope`] would send it to them now (the decisions are audited
    /// as the policy says).
    pub fn readers(&self, env: &Envelope) -> Vec<NodeId> {
        self.recipients(env).0
    }

    /// The members that may receive an envelope this node originates.
    fn recipients(&self, env: &Envelope) -> (Vec<NodeId>, Vec<NodeId>) {
        let view = self.roster();
        let item = item_of(env);
        let object = env.id.to_string();
        let mut readers = Vec::new();
        let mut carriers = Vec::new();
        for m in view.roster.peers_of(&self.me) {
            let peer = Actor::Node(&m.node_id);
            let d = self.decide(&item, &peer, Action::Deliver);
            if d.is_allowed() {
                readers.push(m.node_id.clone());
            } else if policy::is_sealed(&item)
                && self
                    .decide_audited(&item, &object, &peer, Action::Carry)
                    .is_allowed()
            {
                carriers.push(m.node_id.clone());
            } else {
                self.audit(&item, &object, &peer, Action::Deliver, &d);
            }
        }
        (readers, carriers)
    }

    /// Listen to what changes at this node.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Tell listeners that something changed (nobody listening is fine).
    pub fn notify(&self, event: NodeEvent) {
        let _ = self.events.send(event);
    }

    /// The labels of a draft, checked against each other and the roster (DESIGN §6).
    fn check_labels(&self, draft: &BulletinDraft, now: Timestamp) -> Result<(), FederationError> {
        policy::check_labels(
            &policy::Labels {
                tlp: draft.tlp,
                audience: &draft.audience,
                embargo_until: draft.embargo_until,
                people: &draft.people,
                constituents: &draft.constituents,
            },
            &self.roster().roster,
            now,
        )?;
        Ok(())
    }

    /// The members a draft would reach if published now, after the same label checks and
    /// sharing policy as [`Federation::publish`], without publishing or auditing anything
    /// (the compose form's confirmation).
    pub fn preview_recipients(&self, draft: BulletinDraft) -> Result<Vec<NodeId>, FederationError> {
        let now = self.now();
        self.check_labels(&draft, now)?;
        let bulletin = Bulletin::new(draft, uuid::Uuid::nil(), self.me.clone(), now)
            .map_err(|e| FederationError::InvalidBulletin(e.to_string()))?;
        let envelope = bulletin.to_envelope();
        let item = item_of(&envelope);
        let view = self.roster();
        Ok(view
            .roster
            .peers_of(&self.me)
            .filter(|m| {
                self.decide(&item, &Actor::Node(&m.node_id), Action::Deliver)
                    .is_allowed()
            })
            .map(|m| m.node_id.clone())
            .collect())
    }

    /// A bulletin of this node's from a draft whose labels passed the checks (not yet stored).
    fn new_bulletin(&self, draft: BulletinDraft) -> Result<Bulletin, FederationError> {
        if self.roster().member(&self.me).is_none() {
            return Err(FederationError::NotInRoster(self.me.clone()));
        }
        let now = self.now();
        self.check_labels(&draft, now)?;
        let id = ids::new_id(now, &mut EntropyRng(self.entropy.as_ref()));
        Bulletin::new(draft, id, self.me.clone(), now)
            .map_err(|e| FederationError::InvalidBulletin(e.to_string()))
    }

    /// Publish a bulletin: sign it, store it with one outbox row per eligible peer in one
    /// transaction, and wake the peers' workers. Returns the bulletin and its recipients.
    pub async fn publish(
        &self,
        draft: BulletinDraft,
    ) -> Result<(Bulletin, Vec<NodeId>), FederationError> {
        let bulletin = self.new_bulletin(draft)?;
        let id = bulletin.id;
        let recipients = self
            .publish_envelope(&bulletin.to_envelope(), Some(bulletin.clone()))
            .await?;
        tracing::info!(%id, recipients = recipients.len(), "bulletin published");
        Ok((bulletin, recipients))
    }

    /// [`Federation::publish`] for a bulletin imported from a document, recording what it was
    /// made from in the same transaction (`claim`). `None` when another import of the same
    /// objects committed after `claim` was decided: nothing was published; decide again.
    pub async fn publish_imported(
        &self,
        draft: BulletinDraft,
        claim: &atalaya_store::ImportClaim,
    ) -> Result<Option<(Bulletin, Vec<NodeId>)>, FederationError> {
        let bulletin = self.new_bulletin(draft)?;
        let id = bulletin.id;
        let Some(recipients) = self
            .publish_envelope_claimed(&bulletin.to_envelope(), Some(bulletin.clone()), Some(claim))
            .await?
        else {
            tracing::info!(%id, "import lost to a concurrent import of the same document");
            return Ok(None);
        };
        tracing::info!(%id, recipients = recipients.len(), "imported bulletin published");
        Ok(Some((bulletin, recipients)))
    }

    /// Sign an envelope this node originates, store it with one outbox row per peer the policy
    /// allows (one transaction), and wake those peers' workers. Returns the recipients.
    pub async fn publish_envelope(
        &self,
        envelope: &Envelope,
        bulletin: Option<Bulletin>,
    ) -> Result<Vec<NodeId>, FederationError> {
        self.publish_envelope_claimed(envelope, bulletin, None)
            .await?
            .ok_or_else(|| {
                FederationError::InvalidBulletin("an unclaimed publication was refused".into())
            })
    }

    /// [`Federation::publish_envelope`], recording an import claim in the same transaction;
    /// `None` when the claim lost to another import (nothing was stored).
    async fn publish_envelope_claimed(
        &self,
        envelope: &Envelope,
        bulletin: Option<Bulletin>,
        claim: Option<&atalaya_store::ImportClaim>,
    ) -> Result<Option<Vec<NodeId>>, FederationError> {
        // Readers may open it; carriers (sealed items only) hold ciphertext to relay it.
        let (recipients, carriers) = self.recipients(envelope);
        let labels = envelope;
        let sealed;
        let envelope =
            if envelope.kind == EnvelopeKind::Bulletin && policy::travels_sealed(envelope.tlp) {
                sealed = self.seal_for(envelope, &recipients)?;
                &sealed
            } else {
                envelope
            };
        let mut object = envelope.to_object();
        sign_envelope(&mut object, self.keys.signing_key(), &self.key_ref)
            .map_err(|e| FederationError::Signing(e.to_string()))?;
        let raw =
            serde_json::to_string(&object).map_err(|e| FederationError::Signing(e.to_string()))?;
        // The origin knows whom a sealed item is for: its row keeps the labels.
        let new = new_envelope(labels, &raw, bulletin);
        let queued = [recipients.as_slice(), carriers.as_slice()].concat();
        match claim {
            None => {
                self.store.publish(&new, &queued, envelope.created).await?;
            }
            Some(claim) => {
                let stored = self
                    .store
                    .publish_imported(&new, &queued, envelope.created, claim)
                    .await?;
                if stored.is_none() {
                    return Ok(None);
                }
            }
        }
        Metrics::add(&self.metrics.envelopes_published, 1);
        for p in recipients.iter().chain(&carriers) {
            self.signals(p).work.notify_one();
        }
        self.notify(match envelope.kind {
            EnvelopeKind::Acknowledgement => NodeEvent::Acknowledgements,
            _ => NodeEvent::Bulletins,
        });
        Ok(Some(recipients))
    }

    /// Refresh the agreement status the policy sees from the store.
    pub(crate) async fn reload_agreement(&self) -> Result<(), StoreError> {
        let status = match self.store.current_agreement().await? {
            Some((version, _, _)) => AgreementStatus {
                version: Some(version),
                accepted: self.store.acceptances(version).await?.into_iter().collect(),
            },
            None => AgreementStatus::default(),
        };
        if let Ok(mut a) = self.agreement.write() {
            *a = Arc::new(status);
        }
        Ok(())
    }

    /// An unsigned envelope about the network itself, from this node, to every member.
    fn control_envelope(&self, kind: EnvelopeKind, body: serde_json::Value) -> Envelope {
        self.envelope_from_me(
            kind,
            atalaya_core::Tlp::Green,
            atalaya_core::Audience::Network,
            Vec::new(),
            body,
        )
    }

    /// An unsigned envelope from this node, created now.
    pub fn envelope_from_me(
        &self,
        kind: EnvelopeKind,
        tlp: atalaya_core::Tlp,
        audience: atalaya_core::Audience,
        refs: Vec<uuid::Uuid>,
        body: serde_json::Value,
    ) -> Envelope {
        let now = self.now();
        Envelope {
            v: atalaya_core::envelope::PROTOCOL_VERSION,
            id: ids::new_id(now, &mut EntropyRng(self.entropy.as_ref())),
            kind,
            origin: self.me.clone(),
            created: now,
            tlp,
            audience: Some(audience),
            embargo_until: None,
            refs,
            people: Vec::new(),
            body: Some(body),
            sealed: None,
            sig: None,
        }
    }

    /// Ask `peer` for the checkpoint of this node's audit log it holds, and check that this
    /// node signed it.
    pub async fn fetch_own_checkpoint(
        &self,
        peer: &atalaya_core::Member,
    ) -> Result<Option<atalaya_core::envelope::AuditCheckpoint>, client::PeerError> {
        let Some(raw) = self.fetch_checkpoint_raw(peer, &self.me).await? else {
            return Ok(None);
        };
        let parsed = Envelope::parse(raw.as_bytes())
            .map_err(|e| client::PeerError::BadAnswer(e.to_string()))?;
        verify_envelope(&parsed.object, &self.keys.verifying_key()).map_err(|e| {
            client::PeerError::BadAnswer(format!("checkpoint not signed by this node: {e}"))
        })?;
        match parsed.payload {
            Payload::AuditCheckpoint(c) if parsed.envelope.origin == self.me => Ok(Some(c)),
            _ => Err(client::PeerError::BadAnswer(
                "not a checkpoint of this node".into(),
            )),
        }
    }

    /// Check one envelope that arrived from a peer (push or pull): authentic, accepted by the
    /// sharing policy (a roster needs only the coordinator's signature), then its kind's check.
    fn check(&self, raw: &str, ctx: &handler::Context<'_>) -> Result<handler::Checked, Refusal> {
        let inbox::Authentic { parsed, roster } = inbox::authentic(
            raw,
            ctx.roster(),
            &self.coordinator_key,
            self.now(),
            self.settings.max_skew_secs,
        )?;
        let env = &parsed.envelope;
        if roster.is_none()
            && let policy::Decision::Deny(d) = self.decide_audited(
                &item_of(env),
                &env.id.to_string(),
                &Actor::Node(&env.origin),
                Action::Accept,
            )
        {
            return Err(Refusal::new(d.code(), d.to_string()));
        }
        self.handlers.check(
            ctx,
            handler::Incoming {
                envelope: &parsed.envelope,
                raw,
                payload: parsed.payload,
                roster,
            },
        )
    }

    /// Check every envelope of a batch (signatures are the costly part), keeping the batch's
    /// order: a large batch is split into one contiguous piece per core, checked on scoped
    /// threads (the calling worker is handed over with `block_in_place` meanwhile).
    fn check_all(
        &self,
        envelopes: &[&RawValue],
        ctx: &handler::Context<'_>,
    ) -> Vec<Result<handler::Checked, Refusal>> {
        /// Below this many envelopes per thread, starting threads costs more than it saves.
        const PER_THREAD: usize = 32;
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let threads = cores.min(envelopes.len() / PER_THREAD);
        let check_piece = |piece: &[&RawValue]| -> Vec<Result<handler::Checked, Refusal>> {
            piece.iter().map(|raw| self.check(raw.get(), ctx)).collect()
        };
        if threads < 2 || !multi_thread {
            return check_piece(envelopes);
        }
        let size = envelopes.len().div_ceil(threads);
        tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let mut pieces = envelopes.chunks(size);
                let first = pieces.next().unwrap_or_default();
                let others: Vec<_> = pieces
                    .map(|piece| (piece.len(), scope.spawn(move || check_piece(piece))))
                    .collect();
                let mut out = check_piece(first);
                for (len, handle) in others {
                    match handle.join() {
                        Ok(checked) => out.extend(checked),
                        Err(_) => out.extend((0..len).map(|_| {
                            Err(Refusal::new(
                                "internal_error",
                                "the envelope could not be checked",
                            ))
                        })),
                    }
                }
                out
            })
        })
    }

    /// Check and store a batch of envelopes (from a push by `sender`, or a pull page): the
    /// road's checks and each kind's, one transaction for the envelopes accepted, then each
    /// kind's handler keeps what it accepted.
    pub async fn receive_batch(
        &self,
        envelopes: &[&RawValue],
    ) -> Result<BatchReply, FederationError> {
        let ctx = handler::Context::new(self);
        let mut reply = BatchReply::default();
        let mut accepted = Vec::with_capacity(envelopes.len());
        let mut batch = self.handlers.batch();
        let checked = self.check_all(envelopes, &ctx);
        for (index, (raw, result)) in envelopes.iter().zip(checked).enumerate() {
            // What can only be judged against what this node already holds.
            let result = match result {
                Ok(c) => batch.check_held(&ctx, c).await?,
                Err(r) => Err(r),
            };
            match result {
                Ok(row) => accepted.push(row),
                Err(r) => {
                    self.metrics.reject(r.code);
                    tracing::debug!(index, code = r.code, reason = %r.message, "envelope refused");
                    reply.rejected.push(Rejected {
                        index,
                        id: id_of(raw.get()),
                        code: r.code.to_owned(),
                        reason: r.message,
                    });
                }
            }
        }
        if !accepted.is_empty() {
            let outcome = self.store.ingest(&accepted, self.now()).await?;
            for (new, result) in accepted.iter().zip(outcome) {
                match result {
                    Ingested::Stored(_) => reply.accepted.push(new.id),
                    Ingested::Duplicate => reply.duplicate.push(new.id),
                }
            }
        }
        Metrics::add(&self.metrics.envelopes_in, reply.accepted.len() as u64);
        if !reply.accepted.is_empty() {
            self.notify(NodeEvent::Bulletins);
            self.notify(NodeEvent::Acknowledgements);
        }
        Metrics::add(
            &self.metrics.envelopes_duplicate,
            reply.duplicate.len() as u64,
        );
        batch.keep(&ctx).await?;
        Ok(reply)
    }

    /// Serve `GET /fed/v1/outbox` to `requester`: envelopes after `after` (optionally only those
    /// of `origin`) that the policy lets it receive. Returns (raw envelopes, next cursor, more).
    ///
    /// `since` (with an `origin` other than this node, on a first relay request, `after` = 0)
    /// starts at the first envelope of that origin created at or after it, so a node that lost
    /// touch with an origin is not sent that origin's whole history again by every holder.
    /// A page stops before `MAX_BATCH_BYTES` (one larger envelope always goes alone).
    pub async fn serve_pull(
        &self,
        requester: &NodeId,
        after: i64,
        origin: Option<&NodeId>,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<(Vec<String>, i64, bool), FederationError> {
        let limit = limit.clamp(1, self.settings.pull_page.max(1));
        let after = match (origin, since) {
            (Some(o), Some(since)) if after == 0 && o != &self.me => {
                self.store.position_before(o, since).await?.max(0)
            }
            _ => after,
        };
        // Everything up to `after` from this node reached the requester: its cursor only moves
        // after it stored them.
        if origin == Some(&self.me) && after > 0 {
            let n = self.store.mark_pulled(requester, after, self.now()).await?;
            if n > 0 {
                Metrics::add(&self.metrics.envelopes_out, n);
            }
        }
        let rows = self.store.log_after(after, origin, limit).await?;
        let mut more = rows.len() as u32 == limit;
        let mut next = after;
        let mut out = Vec::with_capacity(rows.len());
        let mut bytes = 0;
        for row in rows {
            if bytes + row.raw.len() > wire::MAX_BATCH_BYTES && !out.is_empty() {
                more = true;
                break;
            }
            next = row.cursor;
            let (kind, tlp, audience) = match row_labels(&row) {
                Ok(labels) => labels,
                Err(why) => {
                    // Not served (its labels cannot be read, so no decision can be made), but
                    // never silently: the pull goes on past it.
                    tracing::error!(id = %row.id, cursor = row.cursor, why, "stored envelope cannot be decoded: not served");
                    Metrics::add(&self.metrics.undecodable_rows, 1);
                    continue;
                }
            };
            let item = Item {
                origin: &row.origin,
                kind,
                tlp,
                audience: &audience,
                embargo_until: None,
                people: &[],
                retracted: row.retracted,
            };
            let action = if row.origin == self.me {
                Action::ServeOnPull
            } else {
                Action::Relay
            };
            let object = row.id.to_string();
            let peer = Actor::Node(requester);
            let mut decision = self.decide(&item, &peer, action);
            if !decision.is_allowed() && policy::is_sealed(&item) {
                decision = self.decide(&item, &peer, Action::Carry);
            }
            self.audit(&item, &object, &peer, action, &decision);
            if decision.is_allowed() {
                bytes += row.raw.len();
                out.push(row.raw);
            }
        }
        Ok((out, next, more))
    }

    /// What this node holds of each member of the roster: its newest log position per origin
    /// (sent with every pull page, so peers know whom to ask for an origin they cannot reach).
    pub async fn holdings(&self) -> Result<Vec<(NodeId, i64)>, StoreError> {
        let origins: Vec<NodeId> = self
            .roster()
            .roster
            .members
            .iter()
            .map(|m| m.node_id.clone())
            .collect();
        self.store.holdings(&origins).await
    }

    /// A peer answered (a pull or a push): record it once per streak, not at every exchange.
    pub(crate) async fn peer_answered(&self, peer: &NodeId) {
        let first = self
            .healthy
            .lock()
            .map(|mut h| h.insert(peer.clone()))
            .unwrap_or(true);
        if first {
            if let Err(e) = self.store.record_peer_success(peer, self.now()).await {
                tracing::error!(%peer, error = %e, "could not record the peer's answer");
            }
            self.notify(NodeEvent::Peers);
        }
    }

    /// An exchange with a peer that is not a delivery failed (a pull).
    pub(crate) async fn peer_failed(&self, peer: &NodeId, error: &str) {
        self.forget_healthy(peer);
        if let Err(e) = self
            .store
            .record_peer_failure(peer, error, self.now())
            .await
        {
            tracing::error!(%peer, error = %e, "could not record the peer's failure");
        }
        self.notify(NodeEvent::Peers);
    }

    /// A failure was recorded for `peer` elsewhere (a push): its next answer must be recorded.
    pub(crate) fn forget_healthy(&self, peer: &NodeId) {
        if let Ok(mut h) = self.healthy.lock() {
            h.remove(peer);
        }
    }

    /// The one word the console, the API and the map use for a peer: `unreachable` or
    /// `retrying` (by the node's health rules), else `lagging` (envelopes waiting), `reachable`
    /// or `unknown` (never exchanged with).
    pub fn peer_condition(&self, state: &PeerState) -> &'static str {
        use atalaya_core::peer_health::Reachability;
        match self.reachability(state) {
            Reachability::Unreachable => "unreachable",
            Reachability::Retrying => "retrying",
            Reachability::Up if state.pending > 0 => "lagging",
            Reachability::Up if state.last_success.is_some() => "reachable",
            Reachability::Up => "unknown",
        }
    }

    /// Whether a peer is up, retrying or unreachable, by the node's health rules.
    pub fn reachability(&self, state: &PeerState) -> atalaya_core::peer_health::Reachability {
        atalaya_core::peer_health::reachability(
            state.consecutive_failures,
            state.failing_since,
            self.now(),
            &self.settings.health_rules(),
        )
    }

    /// Authenticate a signed federation request from its request line and headers, before
    /// any of its body is read: the signature input, the key against the roster, the age, the
    /// signature (over `Content-Digest` too, when there is a body), then the nonce.
    ///
    /// The nonce is recorded here, once the signature is known to be good (so nobody can burn
    /// a member's nonces with forged requests) and before the body is read (so a replay is
    /// refused without reading its body, and a replay with another body too: it carries the
    /// same nonce). A body that then fails its digest costs the sender that nonce; a sender
    /// signs every attempt afresh, so nothing is lost. The caller checks the body against
    /// [`Authenticated::body_digest`] as it reads.
    pub async fn authenticate_request(
        &self,
        parts: &atalaya_crypto::RequestHead<'_>,
        headers: &atalaya_crypto::IncomingSignature<'_>,
    ) -> Result<Authenticated, Refusal> {
        let view = self.roster();
        let now = self.now();
        // A request signed for another node must not be accepted here (cross-node replay).
        if let Some(own) = self.own_authority()
            && !parts.authority.eq_ignore_ascii_case(&own)
        {
            self.metrics.reject("wrong_authority");
            return Err(Refusal::new(
                "wrong_authority",
                format!(
                    "this request was addressed to {}, not to this node ({own})",
                    parts.authority
                ),
            ));
        }
        let verified = atalaya_crypto::verify_request_head(
            parts,
            headers,
            now.unix_seconds(),
            self.settings.max_skew_secs,
            |key_ref| {
                let (node, key_id) = key_ref.split_once('#')?;
                let node = NodeId::new(node).ok()?;
                view.key_of(&node, key_id).cloned()
            },
        )
        .map_err(|e| {
            // Say why a well-formed signature from a removed node fails.
            let code = e.code();
            if code == "unknown_key"
                && let Some(node) = headers
                    .signature_input
                    .and_then(|s| s.split("keyid=\"").nth(1))
                    .and_then(|s| s.split('#').next())
                    .and_then(|s| NodeId::new(s).ok())
                && view.roster.is_removed(&node)
            {
                return Refusal::new(
                    "removed_member",
                    format!("{node} has been removed from the network"),
                );
            }
            Refusal::new(code, e.to_string())
        })
        .inspect_err(|r| self.metrics.reject(r.code))?;
        let (node, _) = verified
            .key_ref
            .split_once('#')
            .unwrap_or((&verified.key_ref, ""));
        let node = NodeId::new(node).map_err(|e| Refusal::new("unknown_key", e.to_string()))?;
        let expires = now.plus_millis((self.settings.max_skew_secs * 2 + 60) * 1000);
        let fresh = self
            .store
            .remember_nonce(&verified.key_ref, &verified.nonce, expires, now)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "nonce store failed");
                Refusal::new("internal_error", "the node could not record the request")
            })?;
        if !fresh {
            self.metrics.reject("replayed_request");
            return Err(Refusal::new(
                "replayed_request",
                "this request (nonce) was already received",
            ));
        }
        // A peer that talks to us is up: let its outbox worker retry now.
        self.signals(&node).alive.notify_one();
        Ok(Authenticated {
            node,
            body_digest: verified.body_digest,
        })
    }

    /// Sign an outgoing request to a peer.
    pub(crate) fn sign_request(
        &self,
        parts: &atalaya_crypto::RequestParts<'_>,
    ) -> Result<atalaya_crypto::SignatureHeaders, String> {
        atalaya_crypto::sign_request(
            parts,
            self.keys.signing_key(),
            &self.key_ref,
            self.now().unix_seconds(),
            &mut EntropyRng(self.entropy.as_ref()),
        )
        .map_err(|e| e.to_string())
    }
}

fn note_name(note: atalaya_core::ack::AckNote) -> String {
    serde_json::to_value(note)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn read<T>(lock: &RwLock<Arc<T>>) -> Arc<T> {
    lock.read()
        .map(|g| Arc::clone(&g))
        .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
}

/// The audience of an envelope whose labels this node cannot read (a sealed item it carries).
static NOBODY: atalaya_core::Audience = atalaya_core::Audience::Nodes { nodes: Vec::new() };

/// The labels of an envelope, as the policy reads them.
fn item_of(env: &Envelope) -> Item<'_> {
    Item {
        origin: &env.origin,
        kind: env.kind,
        tlp: env.tlp,
        audience: env.audience.as_ref().unwrap_or(&NOBODY),
        embargo_until: env.embargo_until,
        people: &env.people,
        retracted: false,
    }
}

fn tlp_name(env: &Envelope) -> String {
    serde_json::to_value(env.tlp)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The row to store for a signed envelope: its labels, as the policy reads them, and the raw text.
fn new_envelope(env: &Envelope, raw: &str, bulletin: Option<Bulletin>) -> NewEnvelope {
    NewEnvelope {
        id: env.id,
        kind: env.kind.as_str().to_owned(),
        origin: env.origin.clone(),
        created: env.created,
        tlp: tlp_name(env),
        audience: serde_json::to_string(env.audience.as_ref().unwrap_or(&NOBODY))
            .unwrap_or_default(),
        raw: raw.to_owned(),
        bulletin,
    }
}

/// The labels of a stored row, as the policy reads them, or what cannot be decoded.
fn row_labels(
    row: &atalaya_store::StoredEnvelope,
) -> Result<(EnvelopeKind, atalaya_core::Tlp, atalaya_core::Audience), String> {
    let kind = EnvelopeKind::parse(&row.kind).ok_or_else(|| format!("kind {:?}", row.kind))?;
    let tlp = atalaya_core::Tlp::parse(&row.tlp).ok_or_else(|| format!("tlp {:?}", row.tlp))?;
    let audience = serde_json::from_str(&row.audience).map_err(|e| format!("audience: {e}"))?;
    Ok((kind, tlp, audience))
}

fn id_of(raw: &str) -> Option<uuid::Uuid> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: uuid::Uuid,
    }
    serde_json::from_str::<IdOnly>(raw).ok().map(|i| i.id)
}
