//! The `Store`: everything a node keeps. One trait, so callers never see the backend; SQLite is
//! the embedded default (`SqliteStore`), and a PostgreSQL implementation plugs in behind the same
//! trait and the same conformance suite (`testing::conformance`).

use async_trait::async_trait;
use atalaya_core::audit::{AuditEntry, AuditEvent};
use atalaya_core::{Bulletin, NodeId, Timestamp};
use uuid::Uuid;

mod sqlite;
pub mod testing;

pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// Storage failures. Callers map them to "internal error" at the edge; details go to the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Schema migration failed at start.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be decoded (corruption or a bug).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An envelope to append to the log, with the labels the policy needs to decide without parsing.
#[derive(Debug, Clone)]
pub struct NewEnvelope {
    /// Envelope id.
    pub id: Uuid,
    /// Wire kind.
    pub kind: String,
    /// Origin node.
    pub origin: NodeId,
    /// Creation time at the origin.
    pub created: Timestamp,
    /// TLP wire name.
    pub tlp: String,
    /// Audience as JSON.
    pub audience: String,
    /// The signed envelope as received or signed, byte for byte.
    pub raw: String,
    /// The decoded bulletin, for bulletin envelopes whose body this node can read.
    pub bulletin: Option<Bulletin>,
}

/// An envelope in the local log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEnvelope {
    /// Position in this node's log.
    pub cursor: i64,
    /// Envelope id.
    pub id: Uuid,
    /// Wire kind.
    pub kind: String,
    /// Origin node.
    pub origin: NodeId,
    /// Creation time at the origin.
    pub created: Timestamp,
    /// When it reached this node.
    pub received: Timestamp,
    /// TLP wire name.
    pub tlp: String,
    /// Audience JSON.
    pub audience: String,
    /// The signed envelope.
    pub raw: String,
    /// A bulletin envelope whose origin retracted it.
    pub retracted: bool,
}

/// What happened to one envelope of an ingested batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// New: appended at this cursor.
    Stored(i64),
    /// Already held; nothing changed.
    Duplicate,
}

/// A bulletin with what this node knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct BulletinRecord {
    /// The bulletin.
    pub bulletin: Bulletin,
    /// When it reached this node (equal to `created` at the origin).
    pub received: Timestamp,
    /// When and why its origin retracted it.
    pub retracted: Option<(Timestamp, String)>,
}

/// Filters for listing bulletins, newest first.
#[derive(Debug, Clone, Default)]
pub struct BulletinQuery {
    /// Only from this origin.
    pub origin: Option<NodeId>,
    /// Only created strictly before this instant (paging).
    pub before: Option<Timestamp>,
    /// At most this many (capped at 500).
    pub limit: u32,
}

/// Delivery of one envelope to one peer, as the origin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The peer.
    pub peer: NodeId,
    /// Queued at.
    pub enqueued: Timestamp,
    /// Accepted by the peer at.
    pub delivered: Option<Timestamp>,
    /// Attempts so far.
    pub attempts: i64,
    /// Last error, if the last attempt failed.
    pub last_error: Option<String>,
}

/// A peer's health and backlog, as seen from this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerState {
    /// The peer.
    pub peer: NodeId,
    /// Envelopes waiting for it.
    pub pending: i64,
    /// When the oldest waiting envelope was queued.
    pub oldest_pending: Option<Timestamp>,
    /// Envelopes it has accepted.
    pub delivered: i64,
    /// Last successful exchange.
    pub last_success: Option<Timestamp>,
    /// Last failed exchange.
    pub last_failure: Option<Timestamp>,
    /// Its error.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: i64,
}

/// An acknowledgement as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckRecord {
    /// The acknowledging node.
    pub node: NodeId,
    /// The person.
    pub by: String,
    /// Their note (wire name).
    pub note: String,
    /// Free text.
    pub comment: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// One call made while escalating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRecord {
    /// The bulletin.
    pub bulletin: Uuid,
    /// 0 primary, 1 secondary, 2 lead.
    pub level: i64,
    /// Who was called.
    pub target: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// `sent`, or the error.
    pub outcome: String,
    /// When.
    pub at: Timestamp,
}

/// A stored API token (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Token id (not secret).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Created.
    pub created: Timestamp,
    /// Revoked, if it was.
    pub revoked: Option<Timestamp>,
}

/// Everything a node keeps. Object-safe: callers hold an `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Append an envelope this node created, its bulletin, and one outbox row per recipient, in
    /// one transaction. Returns the envelope's cursor.
    async fn publish(
        &self,
        envelope: &NewEnvelope,
        recipients: &[NodeId],
        now: Timestamp,
    ) -> Result<i64>;

    /// Queue an envelope already in the log for more peers (rows that exist are kept).
    async fn enqueue(&self, cursor: i64, peers: &[NodeId], now: Timestamp) -> Result<()>;

    /// Append envelopes received from peers, idempotently by id, in one transaction.
    async fn ingest(&self, batch: &[NewEnvelope], now: Timestamp) -> Result<Vec<Ingested>>;

    /// Whether the log holds this envelope.
    async fn has_envelope(&self, id: Uuid) -> Result<bool>;

    /// One envelope by id.
    async fn envelope(&self, id: Uuid) -> Result<Option<StoredEnvelope>>;

    /// Envelopes after `after` in log order (optionally only from `origin`), at most `limit`.
    async fn log_after(
        &self,
        after: i64,
        origin: Option<&NodeId>,
        limit: u32,
    ) -> Result<Vec<StoredEnvelope>>;

    /// The highest cursor in the log (0 when empty).
    async fn log_head(&self) -> Result<i64>;

    /// Bulletins, newest first.
    async fn bulletins(&self, query: &BulletinQuery) -> Result<Vec<BulletinRecord>>;

    /// One bulletin.
    async fn bulletin(&self, id: Uuid) -> Result<Option<BulletinRecord>>;

    /// Per-peer delivery of one envelope (at its origin).
    async fn deliveries(&self, id: Uuid) -> Result<Vec<Delivery>>;

    /// Undelivered envelopes for a peer, in log order.
    async fn pending(&self, peer: &NodeId, limit: u32) -> Result<Vec<StoredEnvelope>>;

    /// The peer accepted these (by cursor); also records a success for the peer.
    async fn mark_delivered(&self, peer: &NodeId, cursors: &[i64], now: Timestamp) -> Result<()>;

    /// The peer pulled our log past `cursor`: everything up to it has reached the peer.
    async fn mark_pulled(&self, peer: &NodeId, cursor: i64, now: Timestamp) -> Result<u64>;

    /// An attempt to deliver these to the peer failed.
    async fn record_failure(
        &self,
        peer: &NodeId,
        cursors: &[i64],
        error: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// Health and backlog of every peer this node has exchanged with or queued for.
    async fn peer_states(&self) -> Result<Vec<PeerState>>;

    /// Our position in `peer`'s log for envelopes of `origin`.
    async fn pull_cursor(&self, peer: &NodeId, origin: &NodeId) -> Result<i64>;

    /// Move our position in `peer`'s log for `origin`.
    async fn set_pull_cursor(
        &self,
        peer: &NodeId,
        origin: &NodeId,
        cursor: i64,
        now: Timestamp,
    ) -> Result<()>;

    /// The newest accepted roster: (version, signed envelope).
    async fn roster(&self) -> Result<Option<(u64, String)>>;

    /// Keep a roster version if it is newer than the current one; returns whether it was.
    async fn install_roster(&self, version: u64, raw: &str, now: Timestamp) -> Result<bool>;

    /// Keep a new API token's hash.
    async fn add_api_token(&self, id: &str, name: &str, hash: &str, now: Timestamp) -> Result<()>;

    /// The token with this hash, if it exists and is not revoked.
    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;

    /// Revoke a token by id; returns whether it existed.
    async fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<bool>;

    /// This node's own sharing policy (JSON), if one was set.
    async fn node_policy(&self) -> Result<Option<String>>;

    /// Replace this node's own sharing policy.
    async fn set_node_policy(&self, json: &str, now: Timestamp) -> Result<()>;

    /// Append events to the audit trail, chaining each to the one before; returns the new
    /// head (seq, hash).
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(i64, String)>;

    /// Audit entries after `after`, in order, at most `limit`.
    async fn audit_entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>>;

    /// The head (seq, hash) of the local audit chain, if any entry exists.
    async fn audit_head(&self) -> Result<Option<(i64, String)>>;

    /// Keep a peer's audit checkpoint if it is later than the one held.
    async fn save_checkpoint(
        &self,
        node: &NodeId,
        seq: i64,
        hash: &str,
        raw: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// The latest audit checkpoint held of `node`: (seq, hash, signed envelope).
    async fn checkpoint_of(&self, node: &NodeId) -> Result<Option<(i64, String, String)>>;

    /// Record that `origin` retracted `bulletin`; the bulletin (held now or later) is marked
    /// retracted only if it is `origin`'s own.
    async fn record_retraction(
        &self,
        bulletin: Uuid,
        origin: &NodeId,
        envelope: Uuid,
        reason: &str,
        at: Timestamp,
    ) -> Result<()>;

    /// Keep a version of the sharing agreement (once).
    async fn save_agreement(
        &self,
        version: u64,
        hash: &str,
        text: &str,
        raw: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// The newest agreement: (version, hash, text).
    async fn current_agreement(&self) -> Result<Option<(u64, String, String)>>;

    /// The hash of an agreement version, if held.
    async fn agreement_hash(&self, version: u64) -> Result<Option<String>>;

    /// Record that `node` accepted `version`.
    async fn save_acceptance(
        &self,
        node: &NodeId,
        version: u64,
        raw: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// The nodes that accepted `version`.
    async fn acceptances(&self, version: u64) -> Result<Vec<NodeId>>;

    /// Keep an acknowledgement of `bulletin` by `ack.node` (a later one replaces an earlier).
    async fn save_ack(&self, bulletin: Uuid, ack: &AckRecord, envelope: Uuid) -> Result<()>;

    /// The acknowledgements of a bulletin.
    async fn acks(&self, bulletin: Uuid) -> Result<Vec<AckRecord>>;

    /// This node's on-call roster (JSON).
    async fn oncall(&self) -> Result<Option<String>>;

    /// Replace the on-call roster.
    async fn set_oncall(&self, json: &str, now: Timestamp) -> Result<()>;

    /// Bulletins from other nodes whose acknowledgement deadline is at or before `now`, that
    /// `me` has not acknowledged and that were not retracted.
    async fn overdue_for(&self, me: &NodeId, now: Timestamp) -> Result<Vec<Bulletin>>;

    /// Record one escalation call.
    async fn record_escalation(&self, e: &EscalationRecord) -> Result<()>;

    /// The escalation calls made for a bulletin.
    async fn escalations(&self, bulletin: Uuid) -> Result<Vec<EscalationRecord>>;

    /// Record a request nonce; false when it was already seen (a replay). Forgets expired ones.
    async fn remember_nonce(
        &self,
        key_ref: &str,
        nonce: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<bool>;
}
