//! The SQLite store: one file per node, WAL, one writer connection and a few readers.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use atalaya_core::audit::{self, AuditEntry, AuditEvent};
use atalaya_core::merkle;
use atalaya_core::{Bulletin, NodeId, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use crate::{
    AckRecord, ApiToken, AuditHeadRecord, BulletinQuery, BulletinRecord, CensusResponseRow,
    CensusRoundRow, Delivery, DirectoryRow, DirectoryWarningRow, EscalationRecord,
    IncidentReportRow, InconsistencyRecord, Ingested, NewEnvelope, PeerAlert, PeerState,
    PortalPageRow, ReceivedRenotify, RenotifySent, Result, SessionRecord, Store, StoreError,
    StoredEnvelope, UserRecord,
};
use crate::{ImportClaim, ImportRecord, NewStixObject, StixLabels, StixQuery, StixRow};
use atalaya_core::comm_check::{
    AnswerFacts, CheckFacts, CommCheck, CommCheckAnswer, ReceivedCheck, TargetFacts,
};

/// How hard SQLite works to survive a power cut. Both survive a crash of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// fsync at every commit: a committed envelope survives a power cut.
    #[default]
    Full,
    /// fsync at checkpoints: the last commits may be lost on a power cut, never on a crash.
    Normal,
}

/// Options for opening the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Durability.
    pub synchronous: Synchronous,
    /// Reader connections.
    pub readers: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            readers: 4,
        }
    }
}

/// The SQLite implementation of `Store`.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    ingests: std::sync::Arc<IngestQueue>,
    synchronous: Synchronous,
}

/// Work on the writer connection inside a transaction, for [`SqliteStore::commit_relaxed`].
type RelaxedWork<T> = Box<
    dyn for<'c> FnOnce(
            &'c mut sqlx::SqliteConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>,
        > + Send,
>;

/// Group commit of received envelopes. Every `ingest` queues its batch; whoever then holds
/// `lead` takes everything queued and stores it in **one** transaction, so pushes arriving
/// together from several peers share one commit (one fsync) instead of queueing for one each.
/// A caller whose batch an earlier leader already committed just takes its answer.
#[derive(Debug, Default)]
struct IngestQueue {
    waiting: std::sync::Mutex<Vec<IngestRequest>>,
    lead: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// One caller's batch in the group-commit queue, and where its outcome goes.
#[derive(Debug)]
struct IngestRequest {
    batch: Vec<NewEnvelope>,
    now: Timestamp,
    reply: tokio::sync::oneshot::Sender<Result<Vec<Ingested>>>,
}

impl IngestQueue {
    fn take(&self) -> Vec<IngestRequest> {
        match self.waiting.lock() {
            Ok(mut w) => std::mem::take(&mut *w),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    fn push(&self, request: IngestRequest) {
        match self.waiting.lock() {
            Ok(mut w) => w.push(request),
            Err(poisoned) => poisoned.into_inner().push(request),
        }
    }
}

/// The columns `envelope_row` reads, as a literal so queries stay static SQL.
macro_rules! envelope_columns {
    () => {
        "e.cursor, e.id, e.kind, e.origin, e.created_ms, e.received_ms, e.tlp, e.audience, e.raw, \
         COALESCE((SELECT b.retracted_ms IS NOT NULL FROM bulletins b WHERE b.id = e.id), 0) AS retracted"
    };
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and run the embedded migrations.
    pub async fn open(path: &Path, options: &SqliteOptions) -> Result<Self> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.synchronous {
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-4000")
            .pragma("temp_store", "memory");
        // Connections, once open, stay open: a warning after hours of quiet must not pay for
        // opening the database again. (`min_connections` above zero is avoided on the readers:
        // sqlx's pool maintenance task has had acquire bugs with it.)
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.readers.max(1))
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.read_only(true))
            .await?;
        Ok(Self {
            writer,
            reader,
            ingests: std::sync::Arc::default(),
            synchronous: options.synchronous,
        })
    }

    /// Run `work` on the writer and commit it without waiting for the disk (this one commit at
    /// synchronous=NORMAL), for records whose loss in a power cut costs only a repeat: a
    /// request nonce (a replayed push is received idempotently, a replayed pull reads what the
    /// requester may read) and a delivery mark (the envelope is pushed again and counted as a
    /// duplicate). Never for envelopes or the audit trail. The WAL is written in order, so the
    /// next ordinary commit's fsync makes these durable too; a crash of the process loses
    /// nothing either way. Runs as its own task so that a cancelled caller cannot hand the
    /// connection back still relaxed.
    async fn commit_relaxed<T: Send + 'static>(&self, work: RelaxedWork<T>) -> Result<T> {
        let writer = self.writer.clone();
        let relax = self.synchronous == Synchronous::Full;
        tokio::spawn(async move {
            let mut conn = writer.acquire().await?;
            if relax {
                sqlx::query("PRAGMA synchronous = NORMAL")
                    .execute(&mut *conn)
                    .await?;
            }
            let result = work(&mut conn).await;
            if relax
                && sqlx::query("PRAGMA synchronous = FULL")
                    .execute(&mut *conn)
                    .await
                    .is_err()
            {
                // Never hand back a connection that would commit without fsync.
                conn.close_on_drop();
            }
            result
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("relaxed commit: {e}")))?
    }

    /// Store every batch of `group` in one transaction and answer each caller. If that
    /// transaction fails, each batch is tried in its own, so one caller's failure is not
    /// another's.
    async fn commit_group(writer: &SqlitePool, group: Vec<IngestRequest>) {
        let together = async {
            let mut tx = writer.begin().await?;
            let mut outcomes = Vec::with_capacity(group.len());
            for r in &group {
                outcomes.push(append(&mut tx, &r.batch, r.now).await?);
            }
            tx.commit().await?;
            Ok::<_, StoreError>(outcomes)
        }
        .await;
        match together {
            Ok(outcomes) => {
                for (r, out) in group.into_iter().zip(outcomes) {
                    // A caller that went away still had its envelopes stored.
                    let _ = r.reply.send(Ok(ingested(out)));
                }
            }
            Err(e) if group.len() == 1 => {
                if let Some(r) = group.into_iter().next() {
                    let _ = r.reply.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, batches = group.len(), "group commit failed: storing each batch alone");
                for r in group {
                    let alone = async {
                        let mut tx = writer.begin().await?;
                        let out = append(&mut tx, &r.batch, r.now).await?;
                        tx.commit().await?;
                        Ok(ingested(out))
                    }
                    .await;
                    let _ = r.reply.send(alone);
                }
            }
        }
    }

    /// Close both pools, waiting for in-flight work.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_unix_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms}")))
}

fn opt_ts(ms: Option<i64>) -> Result<Option<Timestamp>> {
    ms.map(ts).transpose()
}

macro_rules! token_columns {
    () => {
        "id, name, user_id, scopes, created_ms, expires_ms, last_used_ms, revoked_ms"
    };
}

fn api_token(r: &sqlx::sqlite::SqliteRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        user_id: r.try_get("user_id")?,
        scopes: r.try_get("scopes")?,
        created: ts(r.try_get("created_ms")?)?,
        expires: opt_ts(r.try_get("expires_ms")?)?,
        last_used: opt_ts(r.try_get("last_used_ms")?)?,
        revoked: opt_ts(r.try_get("revoked_ms")?)?,
    })
}

macro_rules! user_columns {
    () => {
        "id, username, display_name, role, password_hash, totp_secret, totp_last_step, language,
         timezone, mfa_exempt, created_ms, disabled_ms"
    };
}

fn user(r: &sqlx::sqlite::SqliteRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: r.try_get("role")?,
        password_hash: r.try_get("password_hash")?,
        totp_secret: r.try_get("totp_secret")?,
        totp_last_step: r.try_get("totp_last_step")?,
        language: r.try_get("language")?,
        timezone: r.try_get("timezone")?,
        mfa_exempt: r.try_get("mfa_exempt")?,
        created: ts(r.try_get("created_ms")?)?,
        disabled: opt_ts(r.try_get("disabled_ms")?)?,
    })
}

/// The Merkle leaf of an audit entry's chain hash.
fn leaf(entry_hash: &str) -> Result<merkle::Hash> {
    audit::leaf_of(entry_hash)
        .ok_or_else(|| StoreError::Corrupt(format!("audit entry hash {entry_hash:?}")))
}

/// A stored subtree hash, which must be there and be 32 bytes.
fn hash32(h: Option<&[u8]>, s: &merkle::Subtree) -> Result<merkle::Hash> {
    h.and_then(|h| <merkle::Hash>::try_from(h).ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "audit tree: subtree at level {}, index {} missing or malformed",
                s.level, s.index
            ))
        })
}

fn node(s: &str) -> Result<NodeId> {
    NodeId::new(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn uuid(s: &str) -> Result<Uuid> {
    Uuid::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn envelope_row(row: &SqliteRow) -> Result<StoredEnvelope> {
    Ok(StoredEnvelope {
        cursor: row.try_get("cursor")?,
        id: uuid(row.try_get("id")?)?,
        kind: row.try_get("kind")?,
        origin: node(row.try_get("origin")?)?,
        created: ts(row.try_get("created_ms")?)?,
        received: ts(row.try_get("received_ms")?)?,
        tlp: row.try_get("tlp")?,
        audience: row.try_get("audience")?,
        raw: row.try_get("raw")?,
        retracted: row.try_get::<i64, _>("retracted")? != 0,
    })
}

fn bulletin_row(row: &SqliteRow) -> Result<BulletinRecord> {
    let json: &str = row.try_get("json")?;
    let bulletin: Bulletin =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let retracted = match row.try_get::<Option<i64>, _>("retracted_ms")? {
        Some(ms) => Some((
            ts(ms)?,
            row.try_get::<Option<String>, _>("retraction_reason")?
                .unwrap_or_default(),
        )),
        None => None,
    };
    Ok(BulletinRecord {
        bulletin,
        received: ts(row.try_get("received_ms")?)?,
        retracted,
    })
}

/// STIX object rows per multi-row statement (13 parameters each).
const STIX_ROWS_PER_STATEMENT: usize = 1_000;

/// Rows per multi-row statement (SQLite allows 32,766 parameters; a bulletin row takes 12).
const ROWS_PER_STATEMENT: usize = 200;

/// Append envelopes (and their bulletins) inside a transaction, a few statements per batch
/// rather than per envelope. Returns each one's cursor, `None` when its id was already held
/// (before, or earlier in the same batch).
/// Append an envelope this node created and queue it for its recipients, inside `tx`.
async fn publish_in(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    envelope: &NewEnvelope,
    recipients: &[NodeId],
    now: Timestamp,
) -> Result<i64> {
    let cursor = append(tx, std::slice::from_ref(envelope), now)
        .await?
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(|| StoreError::Corrupt(format!("envelope {} published twice", envelope.id)))?;
    for peer in recipients {
        sqlx::query("INSERT INTO outbox (peer, cursor, enqueued_ms) VALUES (?, ?, ?)")
            .bind(peer.as_str())
            .bind(cursor)
            .bind(now.unix_millis())
            .execute(&mut **tx)
            .await?;
    }
    Ok(cursor)
}

async fn append(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    batch: &[NewEnvelope],
    now: Timestamp,
) -> Result<Vec<Option<i64>>> {
    let mut out = Vec::with_capacity(batch.len());
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO envelopes (id, kind, origin, created_ms, received_ms, tlp, audience, raw) ",
        );
        qb.push_values(chunk, |mut row, e| {
            row.push_bind(e.id.to_string())
                .push_bind(e.kind.clone())
                .push_bind(e.origin.as_str().to_owned())
                .push_bind(e.created.unix_millis())
                .push_bind(now.unix_millis())
                .push_bind(e.tlp.clone())
                .push_bind(e.audience.clone())
                .push_bind(e.raw.clone());
        });
        qb.push(" ON CONFLICT (id) DO NOTHING RETURNING id, cursor");
        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        let mut stored: std::collections::HashMap<String, i64> = rows.into_iter().collect();
        let mut bulletins = Vec::new();
        for e in chunk {
            // The first occurrence of an id takes its cursor; any repeat is a duplicate.
            let cursor = stored.remove(&e.id.to_string());
            if let (Some(_), Some(b)) = (cursor, &e.bulletin) {
                bulletins.push((b, e.tlp.as_str()));
            }
            out.push(cursor);
        }
        insert_bulletins(tx, &bulletins, now).await?;
    }
    Ok(out)
}

fn ingested(cursors: Vec<Option<i64>>) -> Vec<Ingested> {
    cursors
        .into_iter()
        .map(|c| c.map_or(Ingested::Duplicate, Ingested::Stored))
        .collect()
}

/// Insert decoded bulletins; a retraction by the same origin that arrived first applies at once.
async fn insert_bulletins(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    bulletins: &[(&Bulletin, &str)],
    now: Timestamp,
) -> Result<()> {
    if bulletins.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(bulletins.len());
    for (b, tlp) in bulletins {
        let json = serde_json::to_string(b).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let severity = serde_json::to_value(b.content.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        rows.push((b, *tlp, json, severity));
    }
    let mut qb = QueryBuilder::<Sqlite>::new(
        "INSERT INTO bulletins (id, origin, created_ms, received_ms, kind, severity, tlp, title, \
         supersedes, json, retracted_ms, retraction_reason) ",
    );
    qb.push_values(&rows, |mut row, (b, tlp, json, severity)| {
        let (id, origin) = (b.id.to_string(), b.origin.as_str().to_owned());
        row.push_bind(id.clone())
            .push_bind(origin.clone())
            .push_bind(b.created.unix_millis())
            .push_bind(now.unix_millis())
            .push_bind(b.content.kind.as_str())
            .push_bind(severity.clone())
            .push_bind(tlp.to_string())
            .push_bind(b.content.title.clone())
            .push_bind(b.content.supersedes.map(|s| s.to_string()))
            .push_bind(json.clone());
        for column in ["at_ms", "reason"] {
            row.push(format_args!(
                "(SELECT r.{column} FROM retractions r WHERE r.bulletin = "
            ))
            .push_bind_unseparated(id.clone())
            .push_unseparated(" AND r.origin = ")
            .push_bind_unseparated(origin.clone())
            .push_unseparated(")");
        }
    });
    qb.push(" ON CONFLICT (id) DO NOTHING");
    qb.build().execute(&mut **tx).await?;
    Ok(())
}

/// One more failure in the peer's current streak (which starts now if it had none).
async fn peer_failed(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    peer: &NodeId,
    error: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO peers (peer, last_failure_ms, last_error, consecutive_failures, failing_since_ms)
         VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (peer) DO UPDATE SET last_failure_ms = excluded.last_failure_ms,
             last_error = excluded.last_error, consecutive_failures = consecutive_failures + 1,
             failing_since_ms = COALESCE(failing_since_ms, excluded.failing_since_ms)",
    )
    .bind(peer.as_str())
    .bind(now.unix_millis())
    .bind(error)
    .bind(now.unix_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn touch_peer(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    peer: &NodeId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO peers (peer, last_success_ms, consecutive_failures) VALUES (?, ?, 0)
         ON CONFLICT (peer) DO UPDATE SET last_success_ms = excluded.last_success_ms,
             consecutive_failures = 0, last_error = NULL, failing_since_ms = NULL",
    )
    .bind(peer.as_str())
    .bind(now.unix_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn push_cursors(qb: &mut QueryBuilder<Sqlite>, cursors: &[i64]) {
    qb.push(" AND cursor IN (");
    let mut sep = qb.separated(", ");
    for c in cursors {
        sep.push_bind(*c);
    }
    qb.push(")");
}

/// The columns `received_check_row` reads.
macro_rules! received_check_columns {
    () => {
        "id, origin, started_ms, answer_by_ms, message, received_ms, answered_ms, answered_by, note"
    };
}

fn answer_facts(row: &SqliteRow) -> Result<Option<AnswerFacts>> {
    Ok(match row.try_get::<Option<i64>, _>("answered_ms")? {
        Some(ms) => Some(AnswerFacts {
            by: row
                .try_get::<Option<String>, _>("answered_by")?
                .unwrap_or_default(),
            at: ts(ms)?,
            note: row.try_get("note")?,
        }),
        None => None,
    })
}

fn received_check_row(row: &SqliteRow) -> Result<ReceivedCheck> {
    Ok(ReceivedCheck {
        check: CommCheck {
            id: uuid(row.try_get("id")?)?,
            started_at: ts(row.try_get("started_ms")?)?,
            answer_by: ts(row.try_get("answer_by_ms")?)?,
            message: row.try_get("message")?,
        },
        from: node(row.try_get("origin")?)?,
        received_at: ts(row.try_get("received_ms")?)?,
        answer: answer_facts(row)?,
    })
}

impl SqliteStore {
    /// A started check (its `comm_checks` row) with its targets: their answers, and their
    /// delivery from the outbox row of the check's envelope.
    async fn check_facts(&self, row: &SqliteRow) -> Result<CheckFacts> {
        let id: String = row.try_get("id")?;
        let targets = sqlx::query(
            "SELECT t.node, t.answered_ms, t.answered_by, t.note,
                 o.peer IS NOT NULL AS sent, o.delivered_ms, COALESCE(o.attempts, 0) AS attempts,
                 o.last_error
             FROM comm_check_targets t
             LEFT JOIN envelopes e ON e.id = t.check_id
             LEFT JOIN outbox o ON o.cursor = e.cursor AND o.peer = t.node
             WHERE t.check_id = ? ORDER BY t.node",
        )
        .bind(&id)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|r| {
            Ok(TargetFacts {
                node: node(r.try_get("node")?)?,
                sent: r.try_get::<i64, _>("sent")? != 0,
                delivered_at: opt_ts(r.try_get("delivered_ms")?)?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                answer: answer_facts(r)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(CheckFacts {
            check: CommCheck {
                id: uuid(&id)?,
                started_at: ts(row.try_get("started_ms")?)?,
                answer_by: ts(row.try_get("answer_by_ms")?)?,
                message: row.try_get("message")?,
            },
            started_by: row.try_get("started_by")?,
            targets,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn publish(
        &self,
        envelope: &NewEnvelope,
        recipients: &[NodeId],
        now: Timestamp,
    ) -> Result<i64> {
        let mut tx = self.writer.begin().await?;
        let cursor = publish_in(&mut tx, envelope, recipients, now).await?;
        tx.commit().await?;
        Ok(cursor)
    }

    async fn enqueue(&self, cursor: i64, peers: &[NodeId], now: Timestamp) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for peer in peers {
            sqlx::query(
                "INSERT INTO outbox (peer, cursor, enqueued_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(peer.as_str())
            .bind(cursor)
            .bind(now.unix_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn ingest(&self, batch: &[NewEnvelope], now: Timestamp) -> Result<Vec<Ingested>> {
        let (reply, mut outcome) = tokio::sync::oneshot::channel();
        self.ingests.push(IngestRequest {
            batch: batch.to_vec(),
            now,
            reply,
        });
        // Our batch may go out with the group of a leader before us: then take the answer at
        // once rather than queueing for the lead behind the next group's commit.
        let lead = tokio::select! {
            biased;
            done = &mut outcome => return done.map_err(|_| {
                StoreError::Corrupt("the group commit ended without an answer".into())
            })?,
            lead = std::sync::Arc::clone(&self.ingests.lead).lock_owned() => lead,
        };
        if let Ok(done) = outcome.try_recv() {
            return done;
        }
        let group = self.ingests.take();
        // The group's commit runs to its end even if this caller is cancelled: the other
        // callers in it wait for their answers.
        let writer = self.writer.clone();
        let commit = tokio::spawn(async move {
            Self::commit_group(&writer, group).await;
            drop(lead);
        });
        let _ = commit.await;
        outcome
            .await
            .map_err(|_| StoreError::Corrupt("the group commit ended without an answer".into()))?
    }

    async fn has_envelope(&self, id: Uuid) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM envelopes WHERE id = ?")
            .bind(id.to_string())
            .fetch_one(&self.reader)
            .await?;
        Ok(n > 0)
    }

    async fn envelope(&self, id: Uuid) -> Result<Option<StoredEnvelope>> {
        sqlx::query(concat!(
            "SELECT ",
            envelope_columns!(),
            " FROM envelopes e WHERE e.id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(envelope_row)
        .transpose()
    }

    async fn log_after(
        &self,
        after: i64,
        origin: Option<&NodeId>,
        limit: u32,
    ) -> Result<Vec<StoredEnvelope>> {
        let rows = match origin {
            Some(o) => sqlx::query(concat!(
                "SELECT ",
                envelope_columns!(),
                " FROM envelopes e WHERE e.origin = ? AND e.cursor > ? ORDER BY e.cursor LIMIT ?"
            ))
            .bind(o.as_str())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?,
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    envelope_columns!(),
                    " FROM envelopes e WHERE e.cursor > ? ORDER BY e.cursor LIMIT ?"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await?
            }
        };
        rows.iter().map(envelope_row).collect()
    }

    async fn log_head(&self) -> Result<i64> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(cursor) FROM envelopes")
            .fetch_one(&self.reader)
            .await?;
        Ok(head.unwrap_or(0))
    }

    async fn bulletins(&self, q: &BulletinQuery) -> Result<Vec<BulletinRecord>> {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT json, received_ms, retracted_ms, retraction_reason FROM bulletins WHERE 1 = 1",
        );
        if let Some(o) = &q.origin {
            qb.push(" AND origin = ").push_bind(o.as_str());
        }
        if let Some(b) = q.before {
            qb.push(" AND created_ms < ").push_bind(b.unix_millis());
        }
        qb.push(" ORDER BY created_ms DESC, id DESC LIMIT ")
            .push_bind(i64::from(q.limit.clamp(1, 500)));
        let rows = qb.build().fetch_all(&self.reader).await?;
        rows.iter().map(bulletin_row).collect()
    }

    async fn bulletin(&self, id: Uuid) -> Result<Option<BulletinRecord>> {
        sqlx::query(
            "SELECT json, received_ms, retracted_ms, retraction_reason FROM bulletins WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(bulletin_row)
        .transpose()
    }

    async fn deliveries(&self, id: Uuid) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT o.peer, o.enqueued_ms, o.delivered_ms, o.attempts, o.last_error
             FROM outbox o JOIN envelopes e ON e.cursor = o.cursor
             WHERE e.id = ? ORDER BY o.peer",
        )
        .bind(id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    peer: node(r.try_get("peer")?)?,
                    enqueued: ts(r.try_get("enqueued_ms")?)?,
                    delivered: opt_ts(r.try_get("delivered_ms")?)?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    async fn pending(&self, peer: &NodeId, limit: u32) -> Result<Vec<StoredEnvelope>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            envelope_columns!(),
            " FROM outbox o JOIN envelopes e ON e.cursor = o.cursor
             WHERE o.peer = ? AND o.delivered_ms IS NULL ORDER BY o.cursor LIMIT ?"
        ))
        .bind(peer.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(envelope_row).collect()
    }

    async fn mark_delivered(&self, peer: &NodeId, cursors: &[i64], now: Timestamp) -> Result<()> {
        let (peer, cursors) = (peer.clone(), cursors.to_vec());
        self.commit_relaxed(Box::new(move |conn| {
            Box::pin(async move {
                let mut tx = sqlx::Connection::begin(conn).await?;
                if !cursors.is_empty() {
                    let mut qb = QueryBuilder::<Sqlite>::new("UPDATE outbox SET delivered_ms = ");
                    qb.push_bind(now.unix_millis())
                        .push(", attempts = attempts + 1, last_error = NULL WHERE delivered_ms IS NULL AND peer = ")
                        .push_bind(peer.as_str());
                    push_cursors(&mut qb, &cursors);
                    qb.build().execute(&mut *tx).await?;
                }
                touch_peer(&mut tx, &peer, now).await?;
                tx.commit().await?;
                Ok(())
            })
        }))
        .await
    }

    async fn mark_pulled(&self, peer: &NodeId, cursor: i64, now: Timestamp) -> Result<u64> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE outbox SET delivered_ms = ?, last_error = NULL
             WHERE peer = ? AND cursor <= ? AND delivered_ms IS NULL",
        )
        .bind(now.unix_millis())
        .bind(peer.as_str())
        .bind(cursor)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Nothing new: no write (pulls come often; only progress is worth a commit).
        if done > 0 {
            touch_peer(&mut tx, peer, now).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn record_failure(
        &self,
        peer: &NodeId,
        cursors: &[i64],
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        if !cursors.is_empty() {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ",
            );
            qb.push_bind(error)
                .push(" WHERE delivered_ms IS NULL AND peer = ")
                .push_bind(peer.as_str());
            push_cursors(&mut qb, cursors);
            qb.build().execute(&mut *tx).await?;
        }
        peer_failed(&mut tx, peer, error, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn peer_states(&self) -> Result<Vec<PeerState>> {
        let rows = sqlx::query(
            "WITH names AS (SELECT peer FROM peers UNION SELECT DISTINCT peer FROM outbox)
             SELECT n.peer,
                 (SELECT COUNT(*) FROM outbox o WHERE o.peer = n.peer AND o.delivered_ms IS NULL) AS pending,
                 (SELECT MIN(enqueued_ms) FROM outbox o WHERE o.peer = n.peer AND o.delivered_ms IS NULL) AS oldest,
                 (SELECT COUNT(*) FROM outbox o WHERE o.peer = n.peer AND o.delivered_ms IS NOT NULL) AS delivered,
                 p.last_success_ms, p.last_failure_ms, p.last_error, COALESCE(p.consecutive_failures, 0) AS failures,
                 p.failing_since_ms, p.down_alerted_ms
             FROM names n LEFT JOIN peers p ON p.peer = n.peer ORDER BY n.peer",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PeerState {
                    peer: node(r.try_get("peer")?)?,
                    pending: r.try_get("pending")?,
                    oldest_pending: opt_ts(r.try_get("oldest")?)?,
                    delivered: r.try_get("delivered")?,
                    last_success: opt_ts(r.try_get("last_success_ms")?)?,
                    last_failure: opt_ts(r.try_get("last_failure_ms")?)?,
                    last_error: r.try_get("last_error")?,
                    consecutive_failures: r.try_get("failures")?,
                    failing_since: opt_ts(r.try_get("failing_since_ms")?)?,
                    down_alerted: opt_ts(r.try_get("down_alerted_ms")?)?,
                })
            })
            .collect()
    }

    async fn record_peer_failure(&self, peer: &NodeId, error: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        peer_failed(&mut tx, peer, error, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_peer_success(&self, peer: &NodeId, now: Timestamp) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        touch_peer(&mut tx, peer, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_peer_alerts(
        &self,
        peer: &NodeId,
        alerts: &[PeerAlert],
        down_alerted: Option<Timestamp>,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for a in alerts {
            sqlx::query(
                "INSERT INTO peer_alerts (peer, event, target, channel, outcome, at_ms)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(a.peer.as_str())
            .bind(a.event.as_str())
            .bind(&a.target)
            .bind(&a.channel)
            .bind(&a.outcome)
            .bind(a.at.unix_millis())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO peers (peer, consecutive_failures, down_alerted_ms) VALUES (?, 0, ?)
             ON CONFLICT (peer) DO UPDATE SET down_alerted_ms = excluded.down_alerted_ms",
        )
        .bind(peer.as_str())
        .bind(down_alerted.map(Timestamp::unix_millis))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn peer_alerts(&self, limit: u32) -> Result<Vec<PeerAlert>> {
        let rows = sqlx::query(
            "SELECT peer, event, target, channel, outcome, at_ms FROM peer_alerts
             ORDER BY at_ms DESC, id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let event: String = r.try_get("event")?;
                Ok(PeerAlert {
                    peer: node(r.try_get("peer")?)?,
                    event: atalaya_core::peer_health::PeerAlertKind::parse(&event)
                        .ok_or_else(|| StoreError::Corrupt(format!("peer alert event {event}")))?,
                    target: r.try_get("target")?,
                    channel: r.try_get("channel")?,
                    outcome: r.try_get("outcome")?,
                    at: ts(r.try_get("at_ms")?)?,
                })
            })
            .collect()
    }

    async fn holdings(&self, origins: &[NodeId]) -> Result<Vec<(NodeId, i64)>> {
        // One indexed lookup per origin (envelopes_by_origin): cheap enough for every pull.
        let mut out = Vec::new();
        for origin in origins {
            let head: Option<i64> =
                sqlx::query_scalar("SELECT MAX(cursor) FROM envelopes WHERE origin = ?")
                    .bind(origin.as_str())
                    .fetch_one(&self.reader)
                    .await?;
            if let Some(head) = head {
                out.push((origin.clone(), head));
            }
        }
        Ok(out)
    }

    async fn newest_from(&self, origin: &NodeId) -> Result<Option<Timestamp>> {
        let ms: Option<i64> = sqlx::query_scalar(
            "SELECT created_ms FROM envelopes WHERE origin = ? ORDER BY cursor DESC LIMIT 1",
        )
        .bind(origin.as_str())
        .fetch_optional(&self.reader)
        .await?;
        opt_ts(ms)
    }

    async fn position_before(&self, origin: &NodeId, since: Timestamp) -> Result<i64> {
        let first: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(cursor) FROM envelopes WHERE origin = ? AND created_ms >= ?",
        )
        .bind(origin.as_str())
        .bind(since.unix_millis())
        .fetch_one(&self.reader)
        .await?;
        match first {
            Some(c) => Ok(c - 1),
            None => self.log_head().await,
        }
    }

    async fn pull_cursor(&self, peer: &NodeId, origin: &NodeId) -> Result<i64> {
        let c: Option<i64> =
            sqlx::query_scalar("SELECT cursor FROM pull_cursors WHERE peer = ? AND origin = ?")
                .bind(peer.as_str())
                .bind(origin.as_str())
                .fetch_optional(&self.writer)
                .await?;
        Ok(c.unwrap_or(0))
    }

    async fn set_pull_cursor(
        &self,
        peer: &NodeId,
        origin: &NodeId,
        cursor: i64,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pull_cursors (peer, origin, cursor, updated_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (peer, origin) DO UPDATE SET cursor = MAX(cursor, excluded.cursor),
                 updated_ms = excluded.updated_ms",
        )
        .bind(peer.as_str())
        .bind(origin.as_str())
        .bind(cursor)
        .bind(now.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn roster(&self) -> Result<Option<(u64, String)>> {
        let row = sqlx::query("SELECT version, raw FROM rosters ORDER BY version DESC LIMIT 1")
            .fetch_optional(&self.writer)
            .await?;
        row.map(|r| {
            let v: i64 = r.try_get("version")?;
            Ok((u64::try_from(v).unwrap_or(0), r.try_get("raw")?))
        })
        .transpose()
    }

    async fn install_roster(&self, version: u64, raw: &str, now: Timestamp) -> Result<bool> {
        let version = i64::try_from(version).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "INSERT INTO rosters (version, raw, installed_ms)
             SELECT ?, ?, ? WHERE ? > COALESCE((SELECT MAX(version) FROM rosters), 0)",
        )
        .bind(version)
        .bind(raw)
        .bind(now.unix_millis())
        .bind(version)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    async fn add_api_token(&self, t: &ApiToken, hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, hash, created_ms, user_id, scopes, expires_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(hash)
        .bind(t.created.unix_millis())
        .bind(&t.user_id)
        .bind(&t.scopes)
        .bind(t.expires.map(|e| e.unix_millis()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn api_token_by_hash(&self, hash: &str, now: Timestamp) -> Result<Option<ApiToken>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens WHERE hash = ? AND revoked_ms IS NULL
             AND (expires_ms IS NULL OR expires_ms > ?)"
        ))
        .bind(hash)
        .bind(now.unix_millis())
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| api_token(&r)).transpose()
    }

    async fn api_tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens WHERE ?1 IS NULL OR user_id = ?1
             ORDER BY created_ms DESC, id"
        ))
        .bind(user_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(api_token).collect()
    }

    async fn touch_api_token(&self, id: &str, now: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_ms = ?1 WHERE id = ?2
             AND (last_used_ms IS NULL OR last_used_ms < ?1 - 60000)",
        )
        .bind(now.unix_millis())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<bool> {
        let n =
            sqlx::query("UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL")
                .bind(now.unix_millis())
                .bind(id)
                .execute(&self.writer)
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    async fn add_user(&self, u: &UserRecord) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, totp_secret,
                totp_last_step, language, timezone, mfa_exempt, created_ms, disabled_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&u.id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.role)
        .bind(&u.password_hash)
        .bind(&u.totp_secret)
        .bind(u.totp_last_step)
        .bind(&u.language)
        .bind(&u.timezone)
        .bind(u.mfa_exempt)
        .bind(u.created.unix_millis())
        .bind(u.disabled.map(|d| d.unix_millis()))
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username = ?"
        ))
        .bind(username)
        .fetch_optional(&self.writer)
        .await?;
        row.map(|r| user(&r)).transpose()
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?;
        row.map(|r| user(&r)).transpose()
    }

    async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY username"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(user).collect()
    }

    async fn update_user(&self, u: &UserRecord) -> Result<()> {
        sqlx::query(
            "UPDATE users SET display_name = ?, role = ?, password_hash = ?, totp_secret = ?,
                totp_last_step = ?, language = ?, timezone = ?, mfa_exempt = ?, disabled_ms = ?
             WHERE id = ?",
        )
        .bind(&u.display_name)
        .bind(&u.role)
        .bind(&u.password_hash)
        .bind(&u.totp_secret)
        .bind(u.totp_last_step)
        .bind(&u.language)
        .bind(&u.timezone)
        .bind(u.mfa_exempt)
        .bind(u.disabled.map(|d| d.unix_millis()))
        .bind(&u.id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn advance_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE users SET totp_last_step = ?1 WHERE id = ?2
             AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn set_recovery_codes(&self, user_id: &str, hashes: &[String]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for h in hashes {
            sqlx::query("INSERT OR IGNORE INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(user_id)
                .bind(h)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &str, now: Timestamp) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE recovery_codes SET used_ms = ? WHERE user_id = ? AND code_hash = ?
             AND used_ms IS NULL",
        )
        .bind(now.unix_millis())
        .bind(user_id)
        .bind(hash)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn recovery_codes_left(&self, user_id: &str) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_ms IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.writer)
        .await?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    async fn add_session(&self, s: &SessionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, mfa_done, address, created_ms,
                last_seen_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id_hash)
        .bind(&s.user_id)
        .bind(&s.csrf)
        .bind(s.mfa_done)
        .bind(&s.address)
        .bind(s.created.unix_millis())
        .bind(s.last_seen.unix_millis())
        .bind(s.expires.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT id_hash, user_id, csrf, mfa_done, address, created_ms, last_seen_ms,
                expires_ms FROM sessions WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&self.writer)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                id_hash: r.try_get("id_hash")?,
                user_id: r.try_get("user_id")?,
                csrf: r.try_get("csrf")?,
                mfa_done: r.try_get("mfa_done")?,
                address: r.try_get("address")?,
                created: ts(r.try_get("created_ms")?)?,
                last_seen: ts(r.try_get("last_seen_ms")?)?,
                expires: ts(r.try_get("expires_ms")?)?,
            })
        })
        .transpose()
    }

    async fn update_session(
        &self,
        id_hash: &str,
        last_seen: Timestamp,
        mfa_done: bool,
    ) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_ms = ?, mfa_done = ? WHERE id_hash = ?")
            .bind(last_seen.unix_millis())
            .bind(mfa_done)
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user_id)
            .execute(&self.writer)
            .await?
            .rows_affected())
    }

    async fn node_policy(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT json FROM node_policy WHERE id = 1")
                .fetch_optional(&self.writer)
                .await?,
        )
    }

    async fn set_node_policy(&self, json: &str, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO node_policy (id, json, updated_ms) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_ms = excluded.updated_ms",
        )
        .bind(json)
        .bind(now.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(i64, String)> {
        let mut tx = self.writer.begin().await?;
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (mut seq, mut prev) = head.unwrap_or((0, audit::GENESIS.to_owned()));
        // The Merkle tree is written with the entries; if it lags the trail (the database
        // predates it), the missing leaves come first.
        let tree_size: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE level = 0")
                .fetch_one(&mut *tx)
                .await?;
        let mut leaves = Vec::with_capacity(events.len());
        if tree_size < seq {
            let lagging: Vec<String> =
                sqlx::query_scalar("SELECT hash FROM audit WHERE seq > ? ORDER BY seq")
                    .bind(tree_size)
                    .fetch_all(&mut *tx)
                    .await?;
            for h in &lagging {
                leaves.push(leaf(h)?);
            }
        }
        for e in events {
            seq += 1;
            let hash = audit::entry_hash(&prev, seq, e);
            sqlx::query(
                "INSERT INTO audit (seq, at_ms, actor, action, object, decision, reason, prev_hash, hash)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(e.at.unix_millis())
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.object)
            .bind(&e.decision)
            .bind(&e.reason)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            leaves.push(leaf(&hash)?);
            prev = hash;
        }
        let size = u64::try_from(tree_size).unwrap_or(0);
        let shape = merkle::peaks(size);
        let mut peak_hashes = Vec::with_capacity(shape.len());
        for s in &shape {
            let h: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT hash FROM audit_tree WHERE level = ? AND idx = ?")
                    .bind(i64::from(s.level))
                    .bind(i64::try_from(s.index).unwrap_or(i64::MAX))
                    .fetch_optional(&mut *tx)
                    .await?;
            peak_hashes.push(hash32(h.as_deref(), s)?);
        }
        let nodes = merkle::append(size, &peak_hashes, &leaves)
            .map_err(|e| StoreError::Corrupt(format!("audit tree: {e}")))?;
        for (s, h) in nodes {
            sqlx::query("INSERT INTO audit_tree (level, idx, hash) VALUES (?, ?, ?)")
                .bind(i64::from(s.level))
                .bind(i64::try_from(s.index).unwrap_or(i64::MAX))
                .bind(h.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((seq, prev))
    }

    async fn audit_entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>> {
        // Stored order (rowid), not seq order: a reordered file must show as reordered.
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, action, object, decision, reason, prev_hash, hash
             FROM audit WHERE rowid > ? ORDER BY rowid LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get("seq")?,
                    event: AuditEvent {
                        at: ts(r.try_get("at_ms")?)?,
                        actor: r.try_get("actor")?,
                        action: r.try_get("action")?,
                        object: r.try_get("object")?,
                        decision: r.try_get("decision")?,
                        reason: r.try_get("reason")?,
                    },
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect()
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.writer)
                .await?,
        )
    }

    async fn audit_tree_size(&self) -> Result<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE level = 0")
                .fetch_one(&self.reader)
                .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn audit_subtrees(
        &self,
        wanted: &[merkle::Subtree],
    ) -> Result<std::collections::HashMap<merkle::Subtree, merkle::Hash>> {
        let mut conn = self.reader.acquire().await?;
        let mut out = std::collections::HashMap::with_capacity(wanted.len());
        for s in wanted {
            let h: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT hash FROM audit_tree WHERE level = ? AND idx = ?")
                    .bind(i64::from(s.level))
                    .bind(i64::try_from(s.index).unwrap_or(i64::MAX))
                    .fetch_optional(&mut *conn)
                    .await?;
            if h.is_some() {
                out.insert(*s, hash32(h.as_deref(), s)?);
            }
        }
        Ok(out)
    }

    async fn save_audit_head(&self, h: &AuditHeadRecord) -> Result<()> {
        /// Heads kept per node: the newest is what matters; the rest is evidence.
        const KEPT: i64 = 1024;
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO audit_heads (node, size, root, time_ms, raw, received_ms, cosignature)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node, size) DO NOTHING",
        )
        .bind(h.node.as_str())
        .bind(i64::try_from(h.size).unwrap_or(i64::MAX))
        .bind(&h.root)
        .bind(h.time.unix_millis())
        .bind(&h.raw)
        .bind(h.received.unix_millis())
        .bind(h.cosignature.as_deref())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM audit_heads WHERE node = ?1 AND size < (
                 SELECT size FROM audit_heads WHERE node = ?1 ORDER BY size DESC LIMIT 1 OFFSET ?2)",
        )
        .bind(h.node.as_str())
        .bind(KEPT - 1)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn latest_audit_head(&self, node: &NodeId) -> Result<Option<AuditHeadRecord>> {
        Ok(self.audit_heads(node, 1).await?.into_iter().next())
    }

    async fn audit_heads(&self, of: &NodeId, limit: u32) -> Result<Vec<AuditHeadRecord>> {
        let rows = sqlx::query(
            "SELECT node, size, root, time_ms, raw, received_ms, cosignature FROM audit_heads
             WHERE node = ? ORDER BY size DESC LIMIT ?",
        )
        .bind(of.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditHeadRecord {
                    node: node(r.try_get("node")?)?,
                    size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
                    root: r.try_get("root")?,
                    time: ts(r.try_get("time_ms")?)?,
                    raw: r.try_get("raw")?,
                    received: ts(r.try_get("received_ms")?)?,
                    cosignature: r.try_get("cosignature")?,
                })
            })
            .collect()
    }

    async fn save_cosignature(
        &self,
        size: u64,
        root: &str,
        witness: &NodeId,
        json: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO audit_cosignatures (size, root, witness, json, received_ms)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (size, witness) DO NOTHING",
        )
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(root)
        .bind(witness.as_str())
        .bind(json)
        .bind(now.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT json FROM audit_cosignatures WHERE size = ? ORDER BY witness",
        )
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .fetch_all(&self.reader)
        .await?)
    }

    async fn save_inconsistency(&self, r: &InconsistencyRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO audit_inconsistencies (envelope, node, reporter, code, detail, held_size, at_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (envelope) DO NOTHING",
        )
        .bind(r.envelope.to_string())
        .bind(r.node.as_str())
        .bind(r.reporter.as_str())
        .bind(&r.code)
        .bind(&r.detail)
        .bind(i64::try_from(r.held_size).unwrap_or(i64::MAX))
        .bind(r.at.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn inconsistency_reported(
        &self,
        of: &NodeId,
        reporter: &NodeId,
        held_size: u64,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_inconsistencies WHERE node = ? AND reporter = ? AND held_size = ?",
        )
        .bind(of.as_str())
        .bind(reporter.as_str())
        .bind(i64::try_from(held_size).unwrap_or(i64::MAX))
        .fetch_one(&self.writer)
        .await?;
        Ok(n > 0)
    }

    async fn inconsistencies(&self, limit: u32) -> Result<Vec<InconsistencyRecord>> {
        let rows = sqlx::query(
            "SELECT envelope, node, reporter, code, detail, held_size, at_ms
             FROM audit_inconsistencies ORDER BY at_ms DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InconsistencyRecord {
                    envelope: uuid(r.try_get("envelope")?)?,
                    node: node(r.try_get("node")?)?,
                    reporter: node(r.try_get("reporter")?)?,
                    code: r.try_get("code")?,
                    detail: r.try_get("detail")?,
                    held_size: u64::try_from(r.try_get::<i64, _>("held_size")?).unwrap_or(0),
                    at: ts(r.try_get("at_ms")?)?,
                })
            })
            .collect()
    }

    async fn record_retraction(
        &self,
        bulletin: Uuid,
        origin: &NodeId,
        envelope: Uuid,
        reason: &str,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO retractions (bulletin, origin, envelope, reason, at_ms) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(bulletin.to_string())
        .bind(origin.as_str())
        .bind(envelope.to_string())
        .bind(reason)
        .bind(at.unix_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE bulletins SET retracted_ms = ?, retraction_reason = ?
             WHERE id = ? AND origin = ? AND retracted_ms IS NULL",
        )
        .bind(at.unix_millis())
        .bind(reason)
        .bind(bulletin.to_string())
        .bind(origin.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn save_agreement(
        &self,
        version: u64,
        hash: &str,
        text: &str,
        raw: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO agreements (version, hash, text, raw, received_ms) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(i64::try_from(version).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(hash)
        .bind(text)
        .bind(raw)
        .bind(now.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn current_agreement(&self) -> Result<Option<(u64, String, String)>> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT version, hash, text FROM agreements ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&self.writer)
        .await?;
        Ok(row.map(|(v, h, t)| (u64::try_from(v).unwrap_or(0), h, t)))
    }

    async fn agreement_hash(&self, version: u64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT hash FROM agreements WHERE version = ?")
                .bind(i64::try_from(version).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                .fetch_optional(&self.writer)
                .await?,
        )
    }

    async fn save_acceptance(
        &self,
        node: &NodeId,
        version: u64,
        raw: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO agreement_acceptances (node, version, raw, received_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(node.as_str())
        .bind(i64::try_from(version).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(raw)
        .bind(now.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn acceptances(&self, version: u64) -> Result<Vec<NodeId>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT node FROM agreement_acceptances WHERE version = ? ORDER BY node",
        )
        .bind(i64::try_from(version).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .fetch_all(&self.writer)
        .await?;
        rows.iter().map(|n| node(n)).collect()
    }

    async fn save_ack(&self, bulletin: Uuid, ack: &AckRecord, envelope: Uuid) -> Result<()> {
        sqlx::query(
            "INSERT INTO acknowledgements (bulletin, node, by_whom, note, comment, at_ms, envelope)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (bulletin, node) DO UPDATE SET by_whom = excluded.by_whom, note = excluded.note,
                 comment = excluded.comment, at_ms = excluded.at_ms, envelope = excluded.envelope
             WHERE excluded.at_ms >= acknowledgements.at_ms",
        )
        .bind(bulletin.to_string())
        .bind(ack.node.as_str())
        .bind(&ack.by)
        .bind(&ack.note)
        .bind(&ack.comment)
        .bind(ack.at.unix_millis())
        .bind(envelope.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn acks(&self, bulletin: Uuid) -> Result<Vec<AckRecord>> {
        let rows = sqlx::query(
            "SELECT node, by_whom, note, comment, at_ms FROM acknowledgements WHERE bulletin = ? ORDER BY node",
        )
        .bind(bulletin.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AckRecord {
                    node: node(r.try_get("node")?)?,
                    by: r.try_get("by_whom")?,
                    note: r.try_get("note")?,
                    comment: r.try_get("comment")?,
                    at: ts(r.try_get("at_ms")?)?,
                })
            })
            .collect()
    }

    async fn oncall(&self) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT json FROM oncall WHERE id = 1")
            .fetch_optional(&self.writer)
            .await?)
    }

    async fn set_oncall(&self, json: &str, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO oncall (id, json, updated_ms) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_ms = excluded.updated_ms",
        )
        .bind(json)
        .bind(now.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn overdue_for(&self, me: &NodeId, now: Timestamp) -> Result<Vec<Bulletin>> {
        // Deadlines are stored as fixed-width RFC 3339 UTC text, so text order is time order.
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT b.json FROM bulletins b
             WHERE b.origin != ?1 AND b.retracted_ms IS NULL
               AND json_extract(b.json, '$.ack_required_by') IS NOT NULL
               AND json_extract(b.json, '$.ack_required_by') <= ?2
               AND NOT EXISTS (SELECT 1 FROM acknowledgements a WHERE a.bulletin = b.id AND a.node = ?1)
             ORDER BY b.created_ms LIMIT 500",
        )
        .bind(me.as_str())
        .bind(now.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|j| serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn record_escalation(&self, e: &EscalationRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO escalations (bulletin, renotify, level, target, channel, outcome, at_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT DO UPDATE SET outcome = excluded.outcome, at_ms = excluded.at_ms",
        )
        .bind(e.bulletin.to_string())
        .bind(e.renotify.map(|r| r.to_string()).unwrap_or_default())
        .bind(e.level)
        .bind(&e.target)
        .bind(&e.channel)
        .bind(&e.outcome)
        .bind(e.at.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn escalations(&self, bulletin: Uuid) -> Result<Vec<EscalationRecord>> {
        let rows = sqlx::query(
            "SELECT renotify, level, target, channel, outcome, at_ms FROM escalations WHERE bulletin = ?
             ORDER BY at_ms, renotify, level, target, channel",
        )
        .bind(bulletin.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EscalationRecord {
                    bulletin,
                    level: r.try_get("level")?,
                    target: r.try_get("target")?,
                    channel: r.try_get("channel")?,
                    outcome: r.try_get("outcome")?,
                    at: ts(r.try_get("at_ms")?)?,
                    renotify: match r.try_get::<&str, _>("renotify")? {
                        "" => None,
                        id => Some(uuid(id)?),
                    },
                })
            })
            .collect()
    }

    async fn remember_nonce(
        &self,
        key_ref: &str,
        nonce: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<bool> {
        let (key_ref, nonce) = (key_ref.to_owned(), nonce.to_owned());
        self.commit_relaxed(Box::new(move |conn| {
            Box::pin(async move {
                let mut tx = sqlx::Connection::begin(conn).await?;
                sqlx::query("DELETE FROM seen_nonces WHERE expires_ms < ?")
                    .bind(now.unix_millis())
                    .execute(&mut *tx)
                    .await?;
                let fresh = sqlx::query(
                    "INSERT INTO seen_nonces (key_ref, nonce, expires_ms) VALUES (?, ?, ?)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&key_ref)
                .bind(&nonce)
                .bind(expires.unix_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(fresh)
            })
        }))
        .await
    }

    // ---- Communication checks ------------------------------------------------------------

    async fn save_comm_check(
        &self,
        check: &CommCheck,
        started_by: &str,
        targets: &[NodeId],
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO comm_checks (id, started_ms, answer_by_ms, message, started_by)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(check.id.to_string())
        .bind(check.started_at.unix_millis())
        .bind(check.answer_by.unix_millis())
        .bind(&check.message)
        .bind(started_by)
        .execute(&mut *tx)
        .await?;
        for node in targets {
            sqlx::query(
                "INSERT INTO comm_check_targets (check_id, node) VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(check.id.to_string())
            .bind(node.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn comm_check(&self, id: Uuid) -> Result<Option<CheckFacts>> {
        let row = sqlx::query(
            "SELECT id, started_ms, answer_by_ms, message, started_by FROM comm_checks WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        match row {
            Some(r) => Ok(Some(self.check_facts(&r).await?)),
            None => Ok(None),
        }
    }

    async fn comm_checks(&self, limit: u32) -> Result<Vec<CheckFacts>> {
        let rows = sqlx::query(
            "SELECT id, started_ms, answer_by_ms, message, started_by FROM comm_checks
             ORDER BY started_ms DESC, id DESC LIMIT ?",
        )
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.reader)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.check_facts(r).await?);
        }
        Ok(out)
    }

    async fn save_check_answer(
        &self,
        answer: &CommCheckAnswer,
        node: &NodeId,
        envelope: Uuid,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE comm_check_targets SET answered_ms = ?, answered_by = ?, note = ?, answer_envelope = ?
             WHERE check_id = ? AND node = ? AND answered_ms IS NULL",
        )
        .bind(answer.answered_at.unix_millis())
        .bind(&answer.answered_by)
        .bind(&answer.note)
        .bind(envelope.to_string())
        .bind(answer.check.to_string())
        .bind(node.as_str())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn save_received_check(
        &self,
        check: &CommCheck,
        from: &NodeId,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO received_checks (id, origin, started_ms, answer_by_ms, message, received_ms)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(check.id.to_string())
        .bind(from.as_str())
        .bind(check.started_at.unix_millis())
        .bind(check.answer_by.unix_millis())
        .bind(&check.message)
        .bind(now.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn received_check(&self, id: Uuid) -> Result<Option<ReceivedCheck>> {
        sqlx::query(concat!(
            "SELECT ",
            received_check_columns!(),
            " FROM received_checks WHERE id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(received_check_row)
        .transpose()
    }

    async fn pending_checks(&self) -> Result<Vec<ReceivedCheck>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            received_check_columns!(),
            " FROM received_checks WHERE answered_ms IS NULL ORDER BY received_ms, id LIMIT 500"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(received_check_row).collect()
    }

    async fn answer_received_check(
        &self,
        answer: &CommCheckAnswer,
        envelope: Uuid,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE received_checks SET answered_ms = ?, answered_by = ?, note = ?, answer_envelope = ?
             WHERE id = ? AND answered_ms IS NULL",
        )
        .bind(answer.answered_at.unix_millis())
        .bind(&answer.answered_by)
        .bind(&answer.note)
        .bind(envelope.to_string())
        .bind(answer.check.to_string())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    // ---- Re-notify -----------------------------------------------------------------------

    async fn save_renotify_sent(
        &self,
        bulletin: Uuid,
        nodes: &[NodeId],
        by: &str,
        at: Timestamp,
        envelope: Uuid,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for node in nodes {
            sqlx::query(
                "INSERT INTO renotifies_sent (envelope, bulletin, node, by_whom, at_ms) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(envelope.to_string())
            .bind(bulletin.to_string())
            .bind(node.as_str())
            .bind(by)
            .bind(at.unix_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn renotifies_sent(&self, bulletin: Uuid) -> Result<Vec<RenotifySent>> {
        let rows = sqlx::query(
            "SELECT node, by_whom, at_ms, envelope FROM renotifies_sent WHERE bulletin = ?
             ORDER BY at_ms, node",
        )
        .bind(bulletin.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RenotifySent {
                    node: node(r.try_get("node")?)?,
                    by: r.try_get("by_whom")?,
                    at: ts(r.try_get("at_ms")?)?,
                    envelope: uuid(r.try_get("envelope")?)?,
                })
            })
            .collect()
    }

    async fn stix_backlog(&self, limit: u32) -> Result<Vec<(i64, BulletinRecord)>> {
        let rows = sqlx::query(
            "SELECT rowid AS position, json, received_ms, retracted_ms, retraction_reason
             FROM bulletins WHERE rowid > (SELECT position FROM stix_progress WHERE id = 1)
             ORDER BY rowid LIMIT ?",
        )
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("position")?, bulletin_row(r)?)))
            .collect()
    }

    async fn save_stix_objects(
        &self,
        position: i64,
        objects: &[NewStixObject],
        now: Timestamp,
    ) -> Result<u64> {
        let mut tx = self.writer.begin().await?;
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(added) FROM stix_objects")
            .fetch_one(&mut *tx)
            .await?;
        let mut added = now.unix_millis().saturating_mul(1000);
        if let Some(l) = last {
            added = added.max(l + 1);
        }
        let mut inserted = 0;
        for chunk in objects.chunks(STIX_ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO stix_objects (added, object_id, type, version, version_us, \
                 spec_version, bulletin_id, origin, tlp, audience, embargo_ms, people, json) ",
            );
            qb.push_values(chunk, |mut row, o| {
                let l = o.labels.as_ref();
                row.push_bind(added)
                    .push_bind(o.object_id.clone())
                    .push_bind(o.kind.clone())
                    .push_bind(o.version.clone())
                    .push_bind(o.version_us)
                    .push_bind(o.spec_version.clone())
                    .push_bind(l.map(|l| l.bulletin.to_string()))
                    .push_bind(l.map(|l| l.origin.as_str().to_owned()))
                    .push_bind(o.tlp.clone())
                    .push_bind(l.map(|l| l.audience.clone()))
                    .push_bind(l.and_then(|l| l.embargo_until).map(Timestamp::unix_millis))
                    .push_bind(l.map(|l| l.people.clone()))
                    .push_bind(o.json.clone());
                added += 1;
            });
            qb.push(" ON CONFLICT (object_id, version_us) DO NOTHING");
            inserted += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        sqlx::query("UPDATE stix_progress SET position = MAX(position, ?) WHERE id = 1")
            .bind(position)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn stix_objects(&self, q: &StixQuery) -> Result<Vec<StixRow>> {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT s.seq, s.added, s.object_id, s.version, s.spec_version, s.bulletin_id, \
             s.origin, s.tlp, s.audience, s.embargo_ms, s.people, s.json, \
             (SELECT b.retracted_ms IS NOT NULL FROM bulletins b WHERE b.id = s.bulletin_id) \
             AS retracted FROM stix_objects s WHERE 1 = 1",
        );
        if q.clear_only {
            qb.push(" AND s.tlp = 'CLEAR'");
        }
        if let Some((added, seq)) = q.after {
            qb.push(" AND (s.added > ")
                .push_bind(added)
                .push(" OR (s.added = ")
                .push_bind(added)
                .push(" AND s.seq > ")
                .push_bind(seq)
                .push("))");
        }
        if let Some(t) = q.added_after {
            qb.push(" AND s.added > ").push_bind(t);
        }
        for (column, values) in [
            ("s.object_id", &q.ids),
            ("s.type", &q.types),
            ("s.spec_version", &q.spec_versions),
        ] {
            if !values.is_empty() {
                qb.push(format_args!(" AND {column} IN ("));
                let mut sep = qb.separated(", ");
                for v in values {
                    sep.push_bind(v.clone());
                }
                qb.push(")");
            }
        }
        if !q.all_versions && (q.first || q.last || !q.at.is_empty()) {
            qb.push(" AND (0");
            if q.last {
                qb.push(
                    " OR NOT EXISTS (SELECT 1 FROM stix_objects o WHERE o.object_id = s.object_id \
                     AND o.version_us > s.version_us)",
                );
            }
            if q.first {
                qb.push(
                    " OR NOT EXISTS (SELECT 1 FROM stix_objects o WHERE o.object_id = s.object_id \
                     AND o.version_us < s.version_us)",
                );
            }
            if !q.at.is_empty() {
                qb.push(" OR s.version_us IN (");
                let mut sep = qb.separated(", ");
                for v in &q.at {
                    sep.push_bind(*v);
                }
                qb.push(")");
            }
            qb.push(")");
        }
        qb.push(" ORDER BY s.added, s.seq LIMIT ")
            .push_bind(i64::from(q.limit.clamp(1, 10_000)));
        let rows = qb.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                let labels = match r.try_get::<Option<String>, _>("bulletin_id")? {
                    Some(b) => Some(StixLabels {
                        bulletin: uuid(&b)?,
                        origin: node(
                            &r.try_get::<Option<String>, _>("origin")?
                                .unwrap_or_default(),
                        )?,
                        tlp: r.try_get("tlp")?,
                        audience: r
                            .try_get::<Option<String>, _>("audience")?
                            .unwrap_or_default(),
                        embargo_until: opt_ts(r.try_get("embargo_ms")?)?,
                        people: r
                            .try_get::<Option<String>, _>("people")?
                            .unwrap_or_default(),
                        retracted: r.try_get::<Option<bool>, _>("retracted")?.unwrap_or(false),
                    }),
                    None => None,
                };
                Ok(StixRow {
                    seq: r.try_get("seq")?,
                    added: r.try_get("added")?,
                    object_id: r.try_get("object_id")?,
                    version: r.try_get("version")?,
                    spec_version: r.try_get("spec_version")?,
                    labels,
                    json: r.try_get("json")?,
                })
            })
            .collect()
    }

    async fn save_renotify_received(&self, r: &ReceivedRenotify) -> Result<()> {
        sqlx::query(
            "INSERT INTO renotifies_received (envelope, bulletin, origin, by_whom, at_ms, received_ms)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(r.envelope.to_string())
        .bind(r.bulletin.to_string())
        .bind(r.origin.as_str())
        .bind(&r.by)
        .bind(r.at.unix_millis())
        .bind(r.received.unix_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn pending_renotifies(&self) -> Result<Vec<ReceivedRenotify>> {
        let rows = sqlx::query(
            "SELECT envelope, bulletin, origin, by_whom, at_ms, received_ms FROM renotifies_received
             WHERE handled_ms IS NULL ORDER BY received_ms, envelope LIMIT 500",
        )
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReceivedRenotify {
                    envelope: uuid(r.try_get("envelope")?)?,
                    bulletin: uuid(r.try_get("bulletin")?)?,
                    origin: node(r.try_get("origin")?)?,
                    by: r.try_get("by_whom")?,
                    at: ts(r.try_get("at_ms")?)?,
                    received: ts(r.try_get("received_ms")?)?,
                })
            })
            .collect()
    }

    async fn mark_renotify_handled(&self, envelope: Uuid, now: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE renotifies_received SET handled_ms = ? WHERE envelope = ? AND handled_ms IS NULL",
        )
        .bind(now.unix_millis())
        .bind(envelope.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn save_directory_entry(&self, row: &DirectoryRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO directory_entries (record, key, authority, created_ms, envelope_id, body)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (record, key) DO UPDATE SET
                 authority = excluded.authority, created_ms = excluded.created_ms,
                 envelope_id = excluded.envelope_id, body = excluded.body
             WHERE (excluded.created_ms, excluded.envelope_id)
                 > (directory_entries.created_ms, directory_entries.envelope_id)",
        )
        .bind(&row.record)
        .bind(&row.key)
        .bind(row.authority.as_str())
        .bind(row.created.unix_millis())
        .bind(row.envelope.to_string())
        .bind(&row.body)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn directory_entries(&self, record: &str) -> Result<Vec<DirectoryRow>> {
        let rows = sqlx::query(
            "SELECT record, key, authority, created_ms, envelope_id, body FROM directory_entries
             WHERE record = ? ORDER BY key",
        )
        .bind(record)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(directory_row).collect()
    }

    async fn directory_entry(&self, record: &str, key: &str) -> Result<Option<DirectoryRow>> {
        sqlx::query(
            "SELECT record, key, authority, created_ms, envelope_id, body FROM directory_entries
             WHERE record = ? AND key = ?",
        )
        .bind(record)
        .bind(key)
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(directory_row)
        .transpose()
    }

    async fn save_census_round(&self, row: &CensusRoundRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO census_rounds (id, opened_ms, closed_ms, version_ms, body)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET
                 closed_ms = excluded.closed_ms, version_ms = excluded.version_ms,
                 body = excluded.body
             WHERE excluded.version_ms > census_rounds.version_ms
                OR (census_rounds.closed_ms IS NULL AND excluded.closed_ms IS NOT NULL)",
        )
        .bind(row.id.to_string())
        .bind(row.opened.unix_millis())
        .bind(row.closed.map(Timestamp::unix_millis))
        .bind(row.version.unix_millis())
        .bind(&row.body)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn census_rounds(&self) -> Result<Vec<CensusRoundRow>> {
        let rows = sqlx::query(
            "SELECT id, opened_ms, closed_ms, version_ms, body FROM census_rounds
             ORDER BY opened_ms DESC, id DESC LIMIT 1000",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(census_round_row).collect()
    }

    async fn census_round(&self, id: Uuid) -> Result<Option<CensusRoundRow>> {
        sqlx::query(
            "SELECT id, opened_ms, closed_ms, version_ms, body FROM census_rounds WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(census_round_row)
        .transpose()
    }

    async fn save_census_response(&self, row: &CensusResponseRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO census_responses (round, team, origin, submitted_ms, envelope_id, body)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (round, team) DO UPDATE SET
                 origin = excluded.origin, submitted_ms = excluded.submitted_ms,
                 envelope_id = excluded.envelope_id, body = excluded.body
             WHERE (excluded.submitted_ms, excluded.envelope_id)
                 > (census_responses.submitted_ms, census_responses.envelope_id)",
        )
        .bind(row.round.to_string())
        .bind(&row.team)
        .bind(row.origin.as_str())
        .bind(row.submitted.unix_millis())
        .bind(row.envelope.to_string())
        .bind(&row.body)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn census_responses(&self, round: Uuid) -> Result<Vec<CensusResponseRow>> {
        let rows = sqlx::query(
            "SELECT round, team, origin, submitted_ms, envelope_id, body FROM census_responses
             WHERE round = ? ORDER BY team",
        )
        .bind(round.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CensusResponseRow {
                    round: uuid(r.try_get("round")?)?,
                    team: r.try_get("team")?,
                    origin: node(r.try_get("origin")?)?,
                    submitted: ts(r.try_get("submitted_ms")?)?,
                    envelope: uuid(r.try_get("envelope_id")?)?,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }

    async fn claim_directory_warning(&self, w: &DirectoryWarningRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO directory_warnings (team, subject, stage, text, sent_ms, recipients)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&w.team)
        .bind(&w.subject)
        .bind(&w.stage)
        .bind(&w.text)
        .bind(w.sent.unix_millis())
        .bind(&w.recipients)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_directory_warning_recipients(
        &self,
        team: &str,
        subject: &str,
        stage: &str,
        recipients: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE directory_warnings SET recipients = ? WHERE team = ? AND subject = ? AND stage = ?",
        )
        .bind(recipients)
        .bind(team)
        .bind(subject)
        .bind(stage)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn directory_warnings(&self, limit: u32) -> Result<Vec<DirectoryWarningRow>> {
        let rows = sqlx::query(
            "SELECT team, subject, stage, text, sent_ms, recipients FROM directory_warnings
             ORDER BY sent_ms DESC, team LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DirectoryWarningRow {
                    team: r.try_get("team")?,
                    subject: r.try_get("subject")?,
                    stage: r.try_get("stage")?,
                    text: r.try_get("text")?,
                    sent: ts(r.try_get("sent_ms")?)?,
                    recipients: r.try_get("recipients")?,
                })
            })
            .collect()
    }

    async fn save_portal_page(&self, row: &PortalPageRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO portal_pages (slug, lang, title, body, updated_ms, updated_by)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (slug, lang) DO UPDATE SET title = excluded.title,
                 body = excluded.body, updated_ms = excluded.updated_ms,
                 updated_by = excluded.updated_by",
        )
        .bind(&row.slug)
        .bind(&row.lang)
        .bind(&row.title)
        .bind(&row.body)
        .bind(row.updated.unix_millis())
        .bind(&row.updated_by)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn seed_portal_page(&self, row: &PortalPageRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO portal_pages (slug, lang, title, body, updated_ms, updated_by)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&row.slug)
        .bind(&row.lang)
        .bind(&row.title)
        .bind(&row.body)
        .bind(row.updated.unix_millis())
        .bind(&row.updated_by)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn portal_pages(&self) -> Result<Vec<PortalPageRow>> {
        let rows = sqlx::query(
            "SELECT slug, lang, title, body, updated_ms, updated_by FROM portal_pages
             ORDER BY slug, lang LIMIT 2000",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(portal_page_row).collect()
    }

    async fn portal_page(&self, slug: &str, lang: &str) -> Result<Option<PortalPageRow>> {
        sqlx::query(
            "SELECT slug, lang, title, body, updated_ms, updated_by FROM portal_pages
             WHERE slug = ? AND lang = ?",
        )
        .bind(slug)
        .bind(lang)
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(portal_page_row)
        .transpose()
    }

    async fn save_incident_report(&self, row: &IncidentReportRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO incident_reports (id, reference, country, via, received_ms, body)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(row.id.to_string())
        .bind(&row.reference)
        .bind(&row.country)
        .bind(row.via.as_str())
        .bind(row.received.unix_millis())
        .bind(&row.body)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn incident_reports(&self, limit: u32) -> Result<Vec<IncidentReportRow>> {
        let rows = sqlx::query(
            "SELECT id, reference, country, via, received_ms, body FROM incident_reports
             ORDER BY received_ms DESC, id DESC LIMIT ?",
        )
        .bind(i64::from(limit.min(1000)))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(incident_report_row).collect()
    }

    async fn incident_report(&self, id: Uuid) -> Result<Option<IncidentReportRow>> {
        sqlx::query(
            "SELECT id, reference, country, via, received_ms, body FROM incident_reports
             WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(incident_report_row)
        .transpose()
    }

    async fn claim_challenge(
        &self,
        nonce: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM portal_used_challenges WHERE expires_ms < ?")
            .bind(now.unix_millis())
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "INSERT INTO portal_used_challenges (nonce, expires_ms) VALUES (?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(nonce)
        .bind(expires.unix_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn held_imports(&self, format: &str, keys: &[String]) -> Result<Vec<ImportRecord>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "SELECT i.source_key, i.version, i.part, i.bulletin_id, i.imported_ms \
                 FROM imports i WHERE i.format = ",
            );
            qb.push_bind(format).push(" AND i.source_key IN (");
            let mut list = qb.separated(", ");
            for k in chunk {
                list.push_bind(k.as_str());
            }
            qb.push(
                ") AND i.version = (SELECT j.version FROM imports j \
                 WHERE j.format = i.format AND j.source_key = i.source_key \
                 ORDER BY j.seq DESC LIMIT 1) ORDER BY i.seq",
            );
            for r in qb.build().fetch_all(&self.reader).await? {
                out.push(ImportRecord {
                    format: format.to_owned(),
                    key: r.try_get("source_key")?,
                    version: r.try_get("version")?,
                    part: u32::try_from(r.try_get::<i64, _>("part")?)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    bulletin: uuid(r.try_get("bulletin_id")?)?,
                    imported: ts(r.try_get("imported_ms")?)?,
                });
            }
        }
        Ok(out)
    }

    async fn publish_imported(
        &self,
        envelope: &NewEnvelope,
        recipients: &[NodeId],
        now: Timestamp,
        claim: &ImportClaim,
    ) -> Result<Option<i64>> {
        // One writer connection: nothing commits between this check and the commit below.
        let mut tx = self.writer.begin().await?;
        for (key, seen) in &claim.seen {
            let newest: Option<String> = sqlx::query_scalar(
                "SELECT version FROM imports WHERE format = ? AND source_key = ? \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(&claim.format)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if &newest != seen {
                return Ok(None);
            }
        }
        let cursor = publish_in(&mut tx, envelope, recipients, now).await?;
        for (key, version) in &claim.objects {
            // An object held at this version already (listed again by a newer report) now
            // points at the newest bulletin that carries it.
            sqlx::query(
                "INSERT INTO imports (format, source_key, version, part, bulletin_id, imported_ms) \
                 VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (format, source_key, version, part) DO UPDATE \
                 SET bulletin_id = excluded.bulletin_id, imported_ms = excluded.imported_ms",
            )
            .bind(&claim.format)
            .bind(key)
            .bind(version)
            .bind(i64::from(claim.part))
            .bind(envelope.id.to_string())
            .bind(now.unix_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(cursor))
    }
}

fn portal_page_row(r: &SqliteRow) -> Result<PortalPageRow> {
    Ok(PortalPageRow {
        slug: r.try_get("slug")?,
        lang: r.try_get("lang")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        updated: ts(r.try_get("updated_ms")?)?,
        updated_by: r.try_get("updated_by")?,
    })
}

fn incident_report_row(r: &SqliteRow) -> Result<IncidentReportRow> {
    Ok(IncidentReportRow {
        id: uuid(r.try_get("id")?)?,
        reference: r.try_get("reference")?,
        country: r.try_get("country")?,
        via: node(r.try_get("via")?)?,
        received: ts(r.try_get("received_ms")?)?,
        body: r.try_get("body")?,
    })
}

fn directory_row(r: &SqliteRow) -> Result<DirectoryRow> {
    Ok(DirectoryRow {
        record: r.try_get("record")?,
        key: r.try_get("key")?,
        authority: node(r.try_get("authority")?)?,
        created: ts(r.try_get("created_ms")?)?,
        envelope: uuid(r.try_get("envelope_id")?)?,
        body: r.try_get("body")?,
    })
}

fn census_round_row(r: &SqliteRow) -> Result<CensusRoundRow> {
    Ok(CensusRoundRow {
        id: uuid(r.try_get("id")?)?,
        opened: ts(r.try_get("opened_ms")?)?,
        closed: r
            .try_get::<Option<i64>, _>("closed_ms")?
            .map(ts)
            .transpose()?,
        version: ts(r.try_get("version_ms")?)?,
        body: r.try_get("body")?,
    })
}
