//! The `Store`: everything a node keeps. One trait, so callers never see the backend; SQLite is
//! the embedded default (`SqliteStore`), and a PostgreSQL implementation plugs in behind the same
//! trait and the same conformance suite (`testing::conformance`, behind the `testing` feature).

use async_trait::async_trait;
use atalaya_core::audit::{AuditEntry, AuditEvent};
use atalaya_core::comm_check::{CheckFacts, CommCheck, CommCheckAnswer, ReceivedCheck};
use atalaya_core::{Bulletin, NodeId, Timestamp};
use uuid::Uuid;

mod sqlite;
#[cfg(feature = "testing")]
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

/// A signed audit tree head held of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHeadRecord {
    /// Whose.
    pub node: NodeId,
    /// Tree size.
    pub size: u64,
    /// Root (hex).
    pub root: String,
    /// When the node took it.
    pub time: Timestamp,
    /// The signed `audit-checkpoint` envelope.
    pub raw: String,
    /// When it was kept here.
    pub received: Timestamp,
    /// This node's countersignature of it (JSON), as a witness.
    pub cosignature: Option<String>,
}

/// An audit inconsistency: one node's checkpoints that cannot both be true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InconsistencyRecord {
    /// The report's envelope id.
    pub envelope: Uuid,
    /// The node whose log does not hold to its past.
    pub node: NodeId,
    /// Who found it.
    pub reporter: NodeId,
    /// `audit_fork`, `audit_not_extension` or `audit_truncated`.
    pub code: String,
    /// In words.
    pub detail: String,
    /// The size of the head the reporter held.
    pub held_size: u64,
    /// When it was found.
    pub at: Timestamp,
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
    /// When the current streak of failures began (`None` when the last exchange succeeded).
    pub failing_since: Option<Timestamp>,
    /// When the duty roster was paged about the current outage (cleared when it is back).
    pub down_alerted: Option<Timestamp>,
}

/// One page sent about a peer going down or coming back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAlert {
    /// The peer.
    pub peer: NodeId,
    /// Down or back.
    pub event: atalaya_core::peer_health::PeerAlertKind,
    /// Who was paged (`name <address>`), or `nobody on call`.
    pub target: String,
    /// `email`, `webhook` or `none`.
    pub channel: String,
    /// `sent`, or why it was not.
    pub outcome: String,
    /// When.
    pub at: Timestamp,
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
    /// The renotify envelope that caused the call; `None` for the deadline schedule.
    pub renotify: Option<Uuid>,
}

/// A re-notification the origin of a bulletin sent to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenotifySent {
    /// The recipient asked.
    pub node: NodeId,
    /// Who asked.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The renotify envelope.
    pub envelope: Uuid,
}

/// A re-notification received from a bulletin's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRenotify {
    /// The renotify envelope.
    pub envelope: Uuid,
    /// The bulletin.
    pub bulletin: Uuid,
    /// The bulletin's origin, which asked.
    pub origin: NodeId,
    /// Who asked there.
    pub by: String,
    /// When they asked.
    pub at: Timestamp,
    /// When it reached this node.
    pub received: Timestamp,
}

/// A stored API token (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Token id (not secret).
    pub id: String,
    /// Human name.
    pub name: String,
    /// The account it belongs to; `None` for tokens made on the node with the CLI.
    pub user_id: Option<String>,
    /// Its rights: space-separated scopes, `*` for all.
    pub scopes: String,
    /// Created.
    pub created: Timestamp,
    /// When it stops working, if ever.
    pub expires: Option<Timestamp>,
    /// Last used (to the minute).
    pub last_used: Option<Timestamp>,
    /// Revoked, if it was.
    pub revoked: Option<Timestamp>,
}

/// A person's account at this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// Login name (unique).
    pub username: String,
    /// Name shown to others (in acknowledgements, for instance).
    pub display_name: String,
    /// Role name (`duty_officer`).
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Confirmed TOTP secret (base32), if enrolled.
    pub totp_secret: Option<String>,
    /// The last TOTP step accepted.
    pub totp_last_step: Option<i64>,
    /// Preferred language, if chosen.
    pub language: Option<String>,
    /// IANA time zone for showing times.
    pub timezone: String,
    /// Demo only: no second factor required.
    pub mfa_exempt: bool,
    /// Created.
    pub created: Timestamp,
    /// Disabled, if it was.
    pub disabled: Option<Timestamp>,
}

/// A console session (the cookie's value is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    /// Whose.
    pub user_id: String,
    /// The CSRF token of the session.
    pub csrf: String,
    /// Whether the second factor was given (or is not required).
    pub mfa_done: bool,
    /// The address it was opened from.
    pub address: String,
    /// Opened.
    pub created: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
    /// Absolute end.
    pub expires: Timestamp,
}

/// A directory entry as kept: the newest per (record, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRow {
    /// `team`, `cybercrime`, `standards-registry`, `standards-adoption`, `minimum-services`.
    pub record: String,
    /// Team id, country code or `network`.
    pub key: String,
    /// The node that signed it.
    pub authority: NodeId,
    /// When its envelope was created.
    pub created: Timestamp,
    /// The envelope.
    pub envelope: Uuid,
    /// The entry's JSON (the envelope body).
    pub body: String,
}

/// A census round as kept (its JSON body is the `atalaya_core::census::CensusRound`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CensusRoundRow {
    /// Round id.
    pub id: Uuid,
    /// Opened.
    pub opened: Timestamp,
    /// Closed, if it was.
    pub closed: Option<Timestamp>,
    /// The version held (the envelope creation time of the newest version).
    pub version: Timestamp,
    /// The round's JSON.
    pub body: String,
}

/// A team's response to a census round as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CensusResponseRow {
    /// Round id.
    pub round: Uuid,
    /// Team id.
    pub team: String,
    /// The node that signed it.
    pub origin: NodeId,
    /// Submitted.
    pub submitted: Timestamp,
    /// Its envelope.
    pub envelope: Uuid,
    /// The response's JSON.
    pub body: String,
}

/// An awareness page of the public portal, in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalPageRow {
    /// Its address (`staying-safe-online`).
    pub slug: String,
    /// Its language (`en`, `es`, `pt`, `fr`).
    pub lang: String,
    /// Title.
    pub title: String,
    /// Body, Markdown.
    pub body: String,
    /// Last changed.
    pub updated: Timestamp,
    /// By whom (a username, or `atalaya` for the pages seeded on first start).
    pub updated_by: String,
}

/// An incident report filed here (its JSON body is the `atalaya_core::report::IncidentReport`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentReportRow {
    /// Report id.
    pub id: Uuid,
    /// The reference the person was shown.
    pub reference: String,
    /// The member state it is for.
    pub country: String,
    /// The node whose portal took it.
    pub via: NodeId,
    /// When it was filed here.
    pub received: Timestamp,
    /// The report's JSON.
    pub body: String,
}

/// A warning sent about a directory record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryWarningRow {
    /// Team id.
    pub team: String,
    /// Key fingerprint, or `contacts`.
    pub subject: String,
    /// `expiring`, `expired`, `stale-...`.
    pub stage: String,
    /// The sentence sent.
    pub text: String,
    /// When.
    pub sent: Timestamp,
    /// To whom, and how it went (`name <address>: sent`), one per line.
    pub recipients: String,
}

/// A STIX object to keep for the TAXII server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStixObject {
    /// `<type>--<uuid>`.
    pub object_id: String,
    /// The STIX type.
    pub kind: String,
    /// Its version (`modified`, or `created`), as written in the object.
    pub version: String,
    /// The same, in microseconds since the epoch (for ordering versions).
    pub version_us: i64,
    /// `spec_version` (2.1).
    pub spec_version: String,
    /// The TLP wire name it is filed under: its bulletin's, or for a shared object the label
    /// it stands for (a TLP marking definition), `CLEAR` otherwise. Only `CLEAR` rows are
    /// candidates for the public collection.
    pub tlp: String,
    /// The labels of the bulletin it came from (`retracted` is not kept: it is read from the
    /// bulletin); `None` for objects shared by many bulletins (a node's identity, the TLP
    /// markings), which every reader of a collection they are filed for may see.
    pub labels: Option<StixLabels>,
    /// The object, as JSON.
    pub json: String,
}

/// The sharing labels of the bulletin a STIX object came from, for the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixLabels {
    /// The bulletin.
    pub bulletin: Uuid,
    /// Its origin.
    pub origin: NodeId,
    /// TLP wire name (`CLEAR`, `AMBER+STRICT`).
    pub tlp: String,
    /// Audience JSON.
    pub audience: String,
    /// Not public before.
    pub embargo_until: Option<Timestamp>,
    /// RED: the people it is for, JSON array.
    pub people: String,
    /// Its origin retracted it.
    pub retracted: bool,
}

/// One row of the import record: an object of an imported document (a CSAF advisory, a MISP
/// event, a STIX object) at one version, and the bulletin it went into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// `csaf`, `misp` or `stix`.
    pub format: String,
    /// What names the object across versions.
    pub key: String,
    /// Its version.
    pub version: String,
    /// Which bulletin of the object this is, when it became several (from 0).
    pub part: u32,
    /// The bulletin.
    pub bulletin: Uuid,
    /// When it was imported.
    pub imported: Timestamp,
}

/// What an import publishes a bulletin for: the objects it records, and what it saw of them
/// when it decided to publish, so the store can tell that another import got there first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportClaim {
    /// `csaf`, `misp` or `stix`.
    pub format: String,
    /// Which bulletin of its objects this is (from 0).
    pub part: u32,
    /// The objects the bulletin is made of: `(key, version)`.
    pub objects: Vec<(String, String)>,
    /// For each object, the newest version held when the import decided (`None`: none).
    pub seen: Vec<(String, Option<String>)>,
}

/// A kept STIX object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixRow {
    /// Sequence number (paging).
    pub seq: i64,
    /// TAXII `date_added`, microseconds since the epoch; grows with `seq`.
    pub added: i64,
    /// `<type>--<uuid>`.
    pub object_id: String,
    /// Its version as written in the object.
    pub version: String,
    /// `spec_version`.
    pub spec_version: String,
    /// The labels of its bulletin; `None` for shared public objects.
    pub labels: Option<StixLabels>,
    /// The object, as JSON.
    pub json: String,
}

/// Which kept STIX objects to list, in `(added, seq)` order.
#[derive(Debug, Clone, Default)]
pub struct StixQuery {
    /// Only after this position (`added`, `seq`) — the paging cursor.
    pub after: Option<(i64, i64)>,
    /// Only added strictly after this instant (microseconds).
    pub added_after: Option<i64>,
    /// Only these ids (empty: any).
    pub ids: Vec<String>,
    /// Only these types (empty: any).
    pub types: Vec<String>,
    /// Only these spec versions (empty: any).
    pub spec_versions: Vec<String>,
    /// The earliest version of each object.
    pub first: bool,
    /// The latest version of each object.
    pub last: bool,
    /// Every version (overrides `first`, `last` and `at`).
    pub all_versions: bool,
    /// These versions (microseconds).
    pub at: Vec<i64>,
    /// Only objects of TLP:CLEAR bulletins and shared objects (the public collection; the
    /// policy still decides per object).
    pub clear_only: bool,
    /// At most this many (capped at 10,000).
    pub limit: u32,
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

    /// An exchange with the peer that is not a delivery (a pull) failed.
    async fn record_peer_failure(&self, peer: &NodeId, error: &str, now: Timestamp) -> Result<()>;

    /// An exchange with the peer that is not a delivery (a pull) succeeded.
    async fn record_peer_success(&self, peer: &NodeId, now: Timestamp) -> Result<()>;

    /// Keep the pages sent about a peer and set when its current outage was paged (`None`
    /// once it is back), in one transaction.
    async fn record_peer_alerts(
        &self,
        peer: &NodeId,
        alerts: &[PeerAlert],
        down_alerted: Option<Timestamp>,
    ) -> Result<()>;

    /// The latest pages about peers, newest first.
    async fn peer_alerts(&self, limit: u32) -> Result<Vec<PeerAlert>>;

    /// For each of `origins` this node holds envelopes of: the log position of the newest
    /// one. Peers compare it with how far they have read this log for that origin, to know
    /// whether this node holds something of it they have not seen.
    async fn holdings(&self, origins: &[NodeId]) -> Result<Vec<(NodeId, i64)>>;

    /// When the envelope of `origin` that reached this log last was created.
    async fn newest_from(&self, origin: &NodeId) -> Result<Option<Timestamp>>;

    /// The log position just before the first envelope of `origin` created at or after
    /// `since` (the log head when there is none): where a relay starts serving a node that
    /// lost touch with `origin` around `since`, instead of at the beginning of time.
    async fn position_before(&self, origin: &NodeId, since: Timestamp) -> Result<i64>;

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

    /// Keep a new API token (its hash only).
    async fn add_api_token(&self, token: &ApiToken, hash: &str) -> Result<()>;

    /// The token with this hash, if it exists, is not revoked and has not expired.
    async fn api_token_by_hash(&self, hash: &str, now: Timestamp) -> Result<Option<ApiToken>>;

    /// Tokens, newest first: all, or those of one account.
    async fn api_tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiToken>>;

    /// Note that a token was used (kept to the minute, so reads do not all become writes).
    async fn touch_api_token(&self, id: &str, now: Timestamp) -> Result<()>;

    /// Revoke a token by id; returns whether it existed.
    async fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<bool>;

    /// Create an account; `false` when the username is taken.
    async fn add_user(&self, user: &UserRecord) -> Result<bool>;

    /// The account with this username.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>>;

    /// The account with this id.
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>>;

    /// Every account, by username.
    async fn users(&self) -> Result<Vec<UserRecord>>;

    /// Replace an account's mutable fields (all but id, username and created).
    async fn update_user(&self, user: &UserRecord) -> Result<()>;

    /// Accept TOTP step `step` for the account only if it is later than the last one accepted
    /// (atomic: two requests cannot both use one code). Returns whether it was accepted.
    async fn advance_totp_step(&self, user_id: &str, step: i64) -> Result<bool>;

    /// Replace the account's recovery codes (hashes).
    async fn set_recovery_codes(&self, user_id: &str, hashes: &[String]) -> Result<()>;

    /// Spend a recovery code; `false` if unknown or already used.
    async fn use_recovery_code(&self, user_id: &str, hash: &str, now: Timestamp) -> Result<bool>;

    /// How many unused recovery codes the account has.
    async fn recovery_codes_left(&self, user_id: &str) -> Result<u32>;

    /// Keep a new session.
    async fn add_session(&self, session: &SessionRecord) -> Result<()>;

    /// The session with this hash, if it exists.
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>>;

    /// Record activity and the second factor on a session.
    async fn update_session(
        &self,
        id_hash: &str,
        last_seen: Timestamp,
        mfa_done: bool,
    ) -> Result<()>;

    /// End a session.
    async fn delete_session(&self, id_hash: &str) -> Result<()>;

    /// End every session of an account (disabled, password changed); returns how many.
    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64>;

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

    /// How many leaves the audit Merkle tree has (it catches up with the trail at the next
    /// [`Store::append_audit`] if it lags, e.g. after an upgrade).
    async fn audit_tree_size(&self) -> Result<u64>;

    /// The hashes of these complete subtrees of the audit tree (those it has).
    async fn audit_subtrees(
        &self,
        wanted: &[atalaya_core::merkle::Subtree],
    ) -> Result<std::collections::HashMap<atalaya_core::merkle::Subtree, atalaya_core::merkle::Hash>>;

    /// Keep a tree head of `node` (a peer's accepted checkpoint, or this node's own published
    /// one); the history per node is bounded (the oldest go first). Nothing if held already.
    async fn save_audit_head(&self, head: &AuditHeadRecord) -> Result<()>;

    /// The newest tree head held of `node`.
    async fn latest_audit_head(&self, node: &NodeId) -> Result<Option<AuditHeadRecord>>;

    /// The tree heads held of `node`, newest first, at most `limit`.
    async fn audit_heads(&self, node: &NodeId, limit: u32) -> Result<Vec<AuditHeadRecord>>;

    /// Keep a witness's countersignature of this node's head (size, root); false if that
    /// witness's is held already.
    async fn save_cosignature(
        &self,
        size: u64,
        root: &str,
        witness: &NodeId,
        json: &str,
        now: Timestamp,
    ) -> Result<bool>;

    /// The countersignatures (JSON) held of this node's head of `size`.
    async fn cosignatures(&self, size: u64) -> Result<Vec<String>>;

    /// Record an audit inconsistency (found here or reported); false if known already.
    async fn save_inconsistency(&self, r: &InconsistencyRecord) -> Result<bool>;

    /// Whether `reporter` already reported `node` against its head of `held_size`.
    async fn inconsistency_reported(
        &self,
        node: &NodeId,
        reporter: &NodeId,
        held_size: u64,
    ) -> Result<bool>;

    /// Audit inconsistencies known here, newest first.
    async fn inconsistencies(&self, limit: u32) -> Result<Vec<InconsistencyRecord>>;

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

    // ---- Communication checks ------------------------------------------------------------
    // At the node that starts a check: the check and its targets, then their answers; the
    // delivery of each target comes from the outbox row of the check's envelope (same id). At
    // a target: the check received, pending until a person answers it, once.

    /// Keep a check this node started, with its targets (before its envelope goes out).
    async fn save_comm_check(
        &self,
        check: &CommCheck,
        started_by: &str,
        targets: &[NodeId],
    ) -> Result<()>;

    /// A check this node started, with what it knows of each target.
    async fn comm_check(&self, id: Uuid) -> Result<Option<CheckFacts>>;

    /// The checks this node started, newest first, at most `limit` (capped at 500).
    async fn comm_checks(&self, limit: u32) -> Result<Vec<CheckFacts>>;

    /// Record `node`'s answer to a check this node started. False (and nothing changed) when
    /// the check is unknown, `node` was not a target, or it had answered already.
    async fn save_check_answer(
        &self,
        answer: &CommCheckAnswer,
        node: &NodeId,
        envelope: Uuid,
    ) -> Result<bool>;

    /// Keep a check received from `from` (once; a repeat changes nothing).
    async fn save_received_check(
        &self,
        check: &CommCheck,
        from: &NodeId,
        now: Timestamp,
    ) -> Result<()>;

    /// A check this node received.
    async fn received_check(&self, id: Uuid) -> Result<Option<ReceivedCheck>>;

    /// Checks received and not answered yet, oldest first.
    async fn pending_checks(&self) -> Result<Vec<ReceivedCheck>>;

    /// Record this node's answer to a received check. False (and nothing changed) when it was
    /// answered already or never received.
    async fn answer_received_check(&self, answer: &CommCheckAnswer, envelope: Uuid)
    -> Result<bool>;

    // ---- Re-notify -----------------------------------------------------------------------
    // At a bulletin's origin: the re-notifications sent, per recipient (the ack matrix shows
    // the latest). At a recipient: those received, until the on-call roster was called.

    /// Record that this node re-notified `nodes` about its `bulletin`.
    async fn save_renotify_sent(
        &self,
        bulletin: Uuid,
        nodes: &[NodeId],
        by: &str,
        at: Timestamp,
        envelope: Uuid,
    ) -> Result<()>;

    /// The re-notifications sent about a bulletin, oldest first.
    async fn renotifies_sent(&self, bulletin: Uuid) -> Result<Vec<RenotifySent>>;

    // The STIX objects of the TAXII server (filled from the bulletins table, in its order).

    /// Bulletins not yet turned into STIX objects, in the order they were stored, with their
    /// position (pass it to [`Store::save_stix_objects`]); at most `limit`.
    async fn stix_backlog(&self, limit: u32) -> Result<Vec<(i64, BulletinRecord)>>;

    /// Keep the STIX objects of the bulletins up to `position` (an object already kept with the
    /// same id and version is left as it is), giving each a `date_added` at or after `now` that
    /// grows with every object. Returns how many were added.
    async fn save_stix_objects(
        &self,
        position: i64,
        objects: &[NewStixObject],
        now: Timestamp,
    ) -> Result<u64>;

    /// Kept STIX objects, in `(added, seq)` order.
    async fn stix_objects(&self, query: &StixQuery) -> Result<Vec<StixRow>>;

    /// Keep a re-notification received (once, by envelope id).
    async fn save_renotify_received(&self, r: &ReceivedRenotify) -> Result<()>;

    /// Re-notifications received whose on-call roster has not been called yet, oldest first.
    async fn pending_renotifies(&self) -> Result<Vec<ReceivedRenotify>>;

    /// The on-call roster was called for this re-notification.
    async fn mark_renotify_handled(&self, envelope: Uuid, now: Timestamp) -> Result<()>;

    /// Keep a directory entry if it is newer (by creation time, then envelope id) than the one
    /// held for its (record, key). Returns whether it is now the current entry.
    async fn save_directory_entry(&self, row: &DirectoryRow) -> Result<bool>;

    /// The current entries of one record kind, by key.
    async fn directory_entries(&self, record: &str) -> Result<Vec<DirectoryRow>>;

    /// The current entry for (record, key).
    async fn directory_entry(&self, record: &str, key: &str) -> Result<Option<DirectoryRow>>;

    /// Keep a census round (or a newer version of it; a closed version always replaces an open
    /// one, closing is final). Returns whether it is now current.
    async fn save_census_round(&self, row: &CensusRoundRow) -> Result<bool>;

    /// Every census round, newest first.
    async fn census_rounds(&self) -> Result<Vec<CensusRoundRow>>;

    /// One census round.
    async fn census_round(&self, id: Uuid) -> Result<Option<CensusRoundRow>>;

    /// Keep a team's response if it is newer than the one held. Returns whether it is current.
    async fn save_census_response(&self, row: &CensusResponseRow) -> Result<bool>;

    /// The current responses to a round, by team.
    async fn census_responses(&self, round: Uuid) -> Result<Vec<CensusResponseRow>>;

    /// Claim a directory warning: true if it was not sent before (then the caller sends it and
    /// fills in the recipients).
    async fn claim_directory_warning(&self, w: &DirectoryWarningRow) -> Result<bool>;

    /// Record who a claimed warning went to.
    async fn set_directory_warning_recipients(
        &self,
        team: &str,
        subject: &str,
        stage: &str,
        recipients: &str,
    ) -> Result<()>;

    /// The most recent warnings, newest first.
    async fn directory_warnings(&self, limit: u32) -> Result<Vec<DirectoryWarningRow>>;

    // ---- The public portal ---------------------------------------------------------------

    /// Keep an awareness page (replacing the one with its slug and language).
    async fn save_portal_page(&self, row: &PortalPageRow) -> Result<()>;

    /// Keep an awareness page only if none has its slug and language. Returns whether it did.
    async fn seed_portal_page(&self, row: &PortalPageRow) -> Result<bool>;

    /// Every awareness page, by slug then language.
    async fn portal_pages(&self) -> Result<Vec<PortalPageRow>>;

    /// One awareness page.
    async fn portal_page(&self, slug: &str, lang: &str) -> Result<Option<PortalPageRow>>;

    /// File an incident report (once: a repeat of its id changes nothing). Returns whether it
    /// was new.
    async fn save_incident_report(&self, row: &IncidentReportRow) -> Result<bool>;

    /// The reports filed here, newest first, at most `limit` (capped at 1000).
    async fn incident_reports(&self, limit: u32) -> Result<Vec<IncidentReportRow>>;

    /// One report, by id.
    async fn incident_report(&self, id: Uuid) -> Result<Option<IncidentReportRow>>;

    /// Mark a proof-of-work challenge used: true the first time, false if it was used already.
    /// Challenges that expired before `now` are forgotten (they are refused as expired anyway).
    async fn claim_challenge(
        &self,
        nonce: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<bool>;

    // Import record.
    /// What the node holds of these imported objects: for each key of `format`, the rows of
    /// its newest version (one per part).
    async fn held_imports(&self, format: &str, keys: &[String]) -> Result<Vec<ImportRecord>>;

    /// [`Store::publish`] for a bulletin made from an imported document, recording its objects
    /// in the same transaction. When what the claim saw has changed (another import of the
    /// same objects committed first), nothing is stored and `None` is returned: decide again.
    async fn publish_imported(
        &self,
        envelope: &NewEnvelope,
        recipients: &[NodeId],
        now: Timestamp,
        claim: &ImportClaim,
    ) -> Result<Option<i64>>;
}
