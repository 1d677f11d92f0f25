//! The audit trail as a transparency log between nodes (see `atalaya_core::audit`).
//!
//! A node publishes signed tree heads of its audit log (`audit-checkpoint` envelopes) soon after
//! every batch of entries, each carrying a consistency proof from the head it published before.
//! A peer moves the head it holds of a node only along proven extensions: the proof carried, or
//! one it asks the node for (`GET /fed/v1/audit/consistency`). It keeps every head it accepted
//! and countersigns it (a witness cosignature, pushed back to the node). A head that cannot
//! extend the one held — another root for the same size, a proof that fails, a later and smaller
//! log — is refused, nothing of it is kept, and the peer sends every member a signed
//! `audit-inconsistency` report carrying both signed heads as evidence.

use std::collections::HashMap;
use std::time::Duration;

use atalaya_core::audit::{self, Cosignature, TreeHead, Verdict};
use atalaya_core::envelope::{AuditCheckpoint, AuditInconsistency, ConsistencyLink, Payload};
use atalaya_core::merkle::{self, Hash};
use atalaya_core::{Envelope, EnvelopeKind, NodeId};
use atalaya_crypto::{signature_key_ref, verify_envelope};
use atalaya_store::{AuditHeadRecord, InconsistencyRecord, StoreError};
use base64::Engine as _;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use crate::{Federation, FederationError, Refusal, RosterView};

/// Longest a receiver waits for an origin's consistency proof before refusing the checkpoint
/// for now (`audit_unproven`; the next checkpoint tries again).
const PROOF_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// An inconsistency found while receiving, to report once the batch is stored.
pub(crate) struct Found {
    node: NodeId,
    held_size: u64,
    held_raw: String,
    refused_raw: String,
    inconsistency: audit::Inconsistency,
}

/// What a received checkpoint leads to.
pub(crate) enum CheckpointOutcome {
    /// A new head to keep (with this node's cosignature).
    Keep(AuditHeadRecord),
    /// Store the envelope, keep no head (the same head again, a late one, an old format).
    Nothing,
    /// Refuse the envelope.
    Refuse(Refusal),
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(merkle::to_hex).collect()
}

fn unhex(hashes: &[String]) -> Option<Vec<Hash>> {
    hashes.iter().map(|h| merkle::from_hex(h)).collect()
}

/// The tree head a stored record states (`None` if its root is not a hash).
fn head_of(r: &AuditHeadRecord) -> Option<TreeHead> {
    Some(TreeHead {
        size: r.size,
        root: merkle::from_hex(&r.root)?,
        time: r.time,
    })
}

impl Federation {
    /// The root of the first `size` entries of this node's audit tree (`None` if it has fewer).
    pub async fn audit_root(&self, size: u64) -> Result<Option<Hash>, StoreError> {
        if size > self.store.audit_tree_size().await? {
            return Ok(None);
        }
        let wanted = merkle::peaks(size);
        let got = self.store.audit_subtrees(&wanted).await?;
        Ok(merkle::root(size, &mut |s| got.get(&s).copied()).ok())
    }

    /// A consistency proof between two sizes of this node's audit tree.
    pub async fn audit_consistency(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Result<Vec<Hash>, merkle::ProofError>, StoreError> {
        let size = self.store.audit_tree_size().await?;
        if to > size {
            return Ok(Err(merkle::ProofError::Sizes(format!(
                "this node's audit log has {size} entries, not {to}"
            ))));
        }
        let wanted = match merkle::consistency_subtrees(from, to) {
            Ok(w) => w,
            Err(e) => return Ok(Err(e)),
        };
        let got = self.store.audit_subtrees(&wanted).await?;
        Ok(merkle::consistency_proof(from, to, &mut |s| {
            got.get(&s).copied()
        }))
    }

    /// Sign and send this node's audit tree head to every member, if it changed since the last
    /// one published, with a consistency proof from that one. Returns the size published.
    pub(crate) async fn publish_checkpoint(&self) -> Result<Option<u64>, FederationError> {
        let mut size = self.store.audit_tree_size().await?;
        if let Some((seq, _)) = self.store.audit_head().await?
            && u64::try_from(seq).is_ok_and(|s| s > size)
        {
            // The tree lags the trail (a database from before it): an empty append catches up.
            self.store.append_audit(&[]).await?;
            size = self.store.audit_tree_size().await?;
        }
        let (Some(root), Some((seq, hash))) =
            (self.audit_root(size).await?, self.store.audit_head().await?)
        else {
            return Ok(None);
        };
        if u64::try_from(seq).ok() != Some(size) {
            tracing::error!(
                seq,
                size,
                "the audit tree does not cover the trail: not published"
            );
            return Ok(None);
        }
        let last = self.store.latest_audit_head(&self.me).await?;
        let this = (size, merkle::to_hex(&root));
        let sent = self.last_published.lock().ok().and_then(|l| l.clone());
        if sent.as_ref() == Some(&this)
            || last
                .as_ref()
                .is_some_and(|l| l.size == this.0 && l.root == this.1)
        {
            return Ok(None);
        }
        let mut extends = None;
        if let Some(l) = &last {
            // The tree as it is now says what it was at the last size published; if that is
            // not what was signed then, the peers will say so.
            match self.audit_root(l.size).await? {
                Some(then) if merkle::to_hex(&then) != l.root => tracing::error!(
                    size = l.size,
                    "this node's audit log no longer matches the checkpoint it published: it was rewritten"
                ),
                None => tracing::error!(
                    published = l.size,
                    now = size,
                    "this node's audit log is shorter than the checkpoint it published: it was truncated"
                ),
                _ => {}
            }
            if l.size < size
                && let (Some(then), Ok(proof)) = (
                    self.audit_root(l.size).await?,
                    self.audit_consistency(l.size, size).await?,
                )
            {
                extends = Some(ConsistencyLink {
                    seq: i64::try_from(l.size).unwrap_or(i64::MAX),
                    root: merkle::to_hex(&then),
                    proof: hexes(&proof),
                });
            }
        }
        let time = self.now();
        let body = AuditCheckpoint {
            seq,
            hash,
            root: Some(merkle::to_hex(&root)),
            time: Some(time),
            extends,
        };
        let envelope = self.control_envelope(
            EnvelopeKind::AuditCheckpoint,
            serde_json::to_value(&body).map_err(|e| FederationError::Signing(e.to_string()))?,
        );
        self.publish_envelope(&envelope, None).await?;
        let raw = self
            .store
            .envelope(envelope.id)
            .await?
            .map(|e| e.raw)
            .unwrap_or_default();
        self.store
            .save_audit_head(&AuditHeadRecord {
                node: self.me.clone(),
                size,
                root: merkle::to_hex(&root),
                time,
                raw,
                received: time,
                cosignature: None,
            })
            .await?;
        if let Ok(mut l) = self.last_published.lock() {
            *l = Some(this);
        }
        tracing::debug!(size, "audit checkpoint published");
        Ok(Some(size))
    }

    /// Judge a checkpoint from `origin` against the head held of it (or accepted earlier in the
    /// same batch, `batch`). Inconsistencies found are added to `found`, to be reported.
    pub(crate) async fn judge_checkpoint(
        &self,
        origin: &NodeId,
        cp: &AuditCheckpoint,
        raw: &str,
        batch: &mut HashMap<NodeId, AuditHeadRecord>,
        found: &mut Vec<Found>,
    ) -> Result<CheckpointOutcome, StoreError> {
        // This node's own heads come back through relays; a head of the old format has no tree.
        let (Some(root), Some(time)) = (&cp.root, cp.time) else {
            return Ok(CheckpointOutcome::Nothing);
        };
        if origin == &self.me {
            return Ok(CheckpointOutcome::Nothing);
        }
        let Some(root) = merkle::from_hex(root) else {
            return Ok(CheckpointOutcome::Refuse(Refusal::new(
                "invalid_body",
                "the checkpoint's root is not a SHA-256",
            )));
        };
        let new = TreeHead {
            size: u64::try_from(cp.seq).unwrap_or(0),
            root,
            time,
        };
        let held = match batch.get(origin) {
            Some(h) => Some(h.clone()),
            None => self.store.latest_audit_head(origin).await?,
        };
        let held_head = held.as_ref().and_then(head_of);
        let carried = cp.extends.as_ref().and_then(|l| {
            Some((
                u64::try_from(l.seq).ok()?,
                merkle::from_hex(&l.root)?,
                unhex(&l.proof)?,
            ))
        });
        let mut verdict = audit::judge(
            held_head.as_ref(),
            &new,
            carried.as_ref().map(|(s, r, p)| (*s, r, p.as_slice())),
        );
        if verdict == Verdict::NeedsProof
            && let Some(h) = &held_head
        {
            let member = self.roster().member(origin).cloned();
            let fetched = match member {
                Some(m) => tokio::time::timeout(
                    PROOF_FETCH_TIMEOUT,
                    self.fetch_consistency(&m, h.size, new.size),
                )
                .await
                .map_err(|_| "timed out".to_owned())
                .and_then(|r| r.map_err(|e| e.to_string())),
                None => Err("not in the roster".to_owned()),
            };
            match fetched {
                Ok(proof) => {
                    verdict = audit::judge(Some(h), &new, Some((h.size, &h.root, &proof)));
                }
                Err(e) => {
                    return Ok(CheckpointOutcome::Refuse(Refusal::new(
                        "audit_unproven",
                        format!(
                            "no proof that this checkpoint of {} entries extends the one of {} held, and {origin} could not be asked for one: {e}",
                            new.size, h.size
                        ),
                    )));
                }
            }
        }
        Ok(match verdict {
            Verdict::Extends => {
                let record = AuditHeadRecord {
                    node: origin.clone(),
                    size: new.size,
                    root: merkle::to_hex(&new.root),
                    time: new.time,
                    raw: raw.to_owned(),
                    received: self.now(),
                    cosignature: self.cosign(origin, &new),
                };
                batch.insert(origin.clone(), record.clone());
                CheckpointOutcome::Keep(record)
            }
            Verdict::Stale => {
                // A late head changes nothing, unless one of the same size held says otherwise.
                let earlier = self
                    .store
                    .audit_heads(origin, 1024)
                    .await?
                    .into_iter()
                    .find(|h| h.size == new.size);
                match earlier {
                    Some(h) if head_of(&h).is_some_and(|e| e.root != new.root) => {
                        let detail = format!(
                            "two different roots for the same {} entries (the node's heads it signed before)",
                            new.size
                        );
                        found.push(Found {
                            node: origin.clone(),
                            held_size: h.size,
                            held_raw: h.raw,
                            refused_raw: raw.to_owned(),
                            inconsistency: audit::Inconsistency {
                                code: "audit_fork",
                                detail: detail.clone(),
                            },
                        });
                        CheckpointOutcome::Refuse(Refusal::new("audit_fork", detail))
                    }
                    _ => CheckpointOutcome::Nothing,
                }
            }
            Verdict::Same | Verdict::NeedsProof => CheckpointOutcome::Nothing,
            Verdict::Inconsistent(i) => {
                let refusal = Refusal::new(i.code, i.detail.clone());
                if let Some(h) = held {
                    found.push(Found {
                        node: origin.clone(),
                        held_size: h.size,
                        held_raw: h.raw,
                        refused_raw: raw.to_owned(),
                        inconsistency: i,
                    });
                }
                CheckpointOutcome::Refuse(refusal)
            }
        })
    }

    /// This node's countersignature of `origin`'s head (JSON), queued to be sent back to it.
    fn cosign(&self, origin: &NodeId, head: &TreeHead) -> Option<String> {
        use ed25519_dalek::Signer as _;
        let witnessed = self.now();
        let msg = audit::cosignature_message(&self.me, witnessed, origin, head);
        let sig = self.keys.signing_key().sign(&msg);
        let c = Cosignature {
            origin: origin.clone(),
            size: head.size,
            root: merkle::to_hex(&head.root),
            time: head.time,
            witness: self.me.clone(),
            key: self.key_ref.clone(),
            witnessed,
            sig: base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()),
        };
        if let Ok(mut q) = self.cosignatures_out.lock() {
            q.push(c.clone());
        }
        self.cosignatures_wake.notify_one();
        serde_json::to_string(&c).ok()
    }

    /// Send every queued countersignature back to the node it is for (best effort: a head
    /// not countersigned is still held and checked).
    pub(crate) async fn push_cosignatures(&self) {
        let queued: Vec<Cosignature> = self
            .cosignatures_out
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default();
        for c in queued {
            let Some(member) = self.roster().member(&c.origin).cloned() else {
                continue;
            };
            if let Err(e) = self.send_cosignature(&member, &c).await {
                tracing::debug!(origin = %c.origin, error = %e, "countersignature not delivered");
            }
        }
    }

    /// Check a witness's countersignature: by the witness's current key, over a head that
    /// `origin` signed. `from` is the authenticated sender, when it came over the network.
    pub fn verify_cosignature(&self, c: &Cosignature) -> Result<TreeHead, Refusal> {
        let forged = |why: String| Refusal::new("forged_cosignature", why);
        let head = c
            .head()
            .ok_or_else(|| Refusal::new("invalid_cosignature", "the root is not a SHA-256"))?;
        let (node, key_id) = c.key.split_once('#').unwrap_or((&c.key, ""));
        if node != c.witness.as_str() {
            return Err(forged(format!(
                "signed with {}, a key of another node than the witness {}",
                c.key, c.witness
            )));
        }
        let view = self.roster();
        let key = view.key_of(&c.witness, key_id).ok_or_else(|| {
            Refusal::new(
                "unknown_key",
                format!("{} is not a current key of {}", c.key, c.witness),
            )
        })?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(&c.sig)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| forged("the signature is not 64 bytes of base64".into()))?;
        let msg = audit::cosignature_message(&c.witness, c.witnessed, &c.origin, &head);
        key.verifying_key()
            .verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| forged(format!("the signature is not {}'s", c.witness)))?;
        Ok(head)
    }

    /// A witness `from` sends its countersignature of one of this node's heads: kept if it is
    /// that witness's, by its key, of a head this node published. Returns whether it was new.
    pub async fn accept_cosignature(
        &self,
        from: &NodeId,
        c: &Cosignature,
    ) -> Result<Result<bool, Refusal>, StoreError> {
        if &c.witness != from {
            return Ok(Err(Refusal::new(
                "forged_cosignature",
                format!("a countersignature by {} sent by {from}", c.witness),
            )));
        }
        if c.origin != self.me {
            return Ok(Err(Refusal::new(
                "unknown_checkpoint",
                format!(
                    "a countersignature of {}'s checkpoint, not this node's",
                    c.origin
                ),
            )));
        }
        let head = match self.verify_cosignature(c) {
            Ok(h) => h,
            Err(r) => return Ok(Err(r)),
        };
        let published = self
            .store
            .audit_heads(&self.me, 1024)
            .await?
            .into_iter()
            .find(|h| h.size == head.size);
        if !published.is_some_and(|h| head_of(&h) == Some(head)) {
            return Ok(Err(Refusal::new(
                "unknown_checkpoint",
                format!(
                    "this node published no checkpoint of {} entries with that root and time",
                    head.size
                ),
            )));
        }
        let json = serde_json::to_string(c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Ok(self
            .store
            .save_cosignature(head.size, &c.root, from, &json, self.now())
            .await?))
    }

    /// Report what was found to every member (once per node and head held), and keep it.
    pub(crate) async fn raise_inconsistencies(
        &self,
        found: Vec<Found>,
    ) -> Result<(), FederationError> {
        for f in found {
            if self
                .store
                .inconsistency_reported(&f.node, &self.me, f.held_size)
                .await?
            {
                continue;
            }
            let body = AuditInconsistency {
                node: f.node.clone(),
                code: f.inconsistency.code.to_owned(),
                detail: f.inconsistency.detail.clone(),
                held: f.held_raw,
                refused: f.refused_raw,
            };
            let envelope = self.control_envelope(
                EnvelopeKind::AuditInconsistency,
                serde_json::to_value(&body).map_err(|e| FederationError::Signing(e.to_string()))?,
            );
            self.publish_envelope(&envelope, None).await?;
            self.store
                .save_inconsistency(&InconsistencyRecord {
                    envelope: envelope.id,
                    node: f.node.clone(),
                    reporter: self.me.clone(),
                    code: body.code.clone(),
                    detail: body.detail.clone(),
                    held_size: f.held_size,
                    at: envelope.created,
                })
                .await?;
            tracing::error!(node = %f.node, code = body.code, detail = body.detail, "audit log inconsistency reported to every member");
            self.notify(crate::NodeEvent::Peers);
        }
        Ok(())
    }
}

/// Receives the audit trail of other nodes: their checkpoints (kept only as proven extensions
/// of the head held) and reports that a node's checkpoints do not hold to each other.
pub(crate) struct AuditHandler;

/// A received checkpoint or inconsistency report.
pub(crate) enum AuditItem {
    /// A checkpoint, with its signed text and the head to keep (once judged).
    Checkpoint {
        checkpoint: AuditCheckpoint,
        raw: String,
        head: Option<AuditHeadRecord>,
    },
    /// Another node's report, its evidence checked.
    Inconsistency(InconsistencyRecord),
}

/// What judging a batch's checkpoints noted.
#[derive(Default)]
pub(crate) struct AuditNotes {
    /// The newest head accepted in the batch, per node.
    heads: HashMap<NodeId, AuditHeadRecord>,
    /// Inconsistencies found, to report once the batch is stored.
    found: Vec<Found>,
}

#[async_trait::async_trait]
impl KindHandler for AuditHandler {
    type Item = AuditItem;
    type Notes = AuditNotes;

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[
            EnvelopeKind::AuditCheckpoint,
            EnvelopeKind::AuditInconsistency,
        ]
    }

    fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<AuditItem>, Refusal> {
        let env = incoming.envelope;
        match incoming.payload {
            Payload::AuditCheckpoint(checkpoint) => Ok(Accepted::new(AuditItem::Checkpoint {
                checkpoint,
                raw: incoming.raw.to_owned(),
                head: None,
            })),
            Payload::AuditInconsistency(r) => {
                let held_size = check_inconsistency(&r, ctx.roster())?;
                Ok(Accepted::new(AuditItem::Inconsistency(
                    InconsistencyRecord {
                        envelope: env.id,
                        node: r.node,
                        reporter: env.origin.clone(),
                        code: r.code,
                        detail: r.detail,
                        held_size,
                        at: env.created,
                    },
                )))
            }
            _ => Err(unexpected()),
        }
    }

    /// A checkpoint is kept only as a proven extension of the head held (or the first).
    async fn check_held(
        &self,
        ctx: &Context<'_>,
        arrived: &mut Arrived<AuditItem>,
        notes: &mut AuditNotes,
    ) -> Result<Option<Refusal>, StoreError> {
        let AuditItem::Checkpoint {
            checkpoint,
            raw,
            head,
        } = &mut arrived.item
        else {
            return Ok(None);
        };
        let outcome = ctx
            .federation()
            .judge_checkpoint(
                &arrived.origin,
                checkpoint,
                raw,
                &mut notes.heads,
                &mut notes.found,
            )
            .await?;
        Ok(match outcome {
            CheckpointOutcome::Keep(h) => {
                *head = Some(h);
                None
            }
            CheckpointOutcome::Nothing => None,
            CheckpointOutcome::Refuse(r) => Some(r),
        })
    }

    /// Keep the heads, then the reports received, then report what was found.
    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<AuditItem>>,
        notes: AuditNotes,
    ) -> Result<(), FederationError> {
        let store = ctx.store();
        for a in &arrived {
            if let AuditItem::Checkpoint {
                head: Some(head), ..
            } = &a.item
            {
                store.save_audit_head(head).await?;
            }
        }
        for a in &arrived {
            if let AuditItem::Inconsistency(r) = &a.item
                && store.save_inconsistency(r).await?
            {
                tracing::error!(node = %r.node, reporter = %r.reporter, code = r.code, "audit log inconsistency reported");
                ctx.notify(crate::NodeEvent::Peers);
            }
        }
        ctx.federation().raise_inconsistencies(notes.found).await
    }
}

/// Check the evidence of a received inconsistency report: both heads are the accused
/// node's own signed checkpoints. Returns the size of the head the reporter held.
fn check_inconsistency(r: &AuditInconsistency, view: &RosterView) -> Result<u64, Refusal> {
    let bad = |why: String| Refusal::new("invalid_evidence", why);
    let mut held_size = 0;
    for (which, raw) in [("held", &r.held), ("refused", &r.refused)] {
        let parsed = Envelope::parse(raw.as_bytes())
            .map_err(|e| bad(format!("the {which} checkpoint: {e}")))?;
        let Payload::AuditCheckpoint(cp) = &parsed.payload else {
            return Err(bad(format!("the {which} evidence is not a checkpoint")));
        };
        if parsed.envelope.origin != r.node {
            return Err(bad(format!(
                "the {which} checkpoint is {}'s, not {}'s",
                parsed.envelope.origin, r.node
            )));
        }
        let key_ref = signature_key_ref(&parsed.object)
            .map_err(|e| bad(format!("the {which} checkpoint: {e}")))?;
        let key_id = key_ref.split_once('#').map_or("", |(_, k)| k);
        let key = view
            .key_of(&r.node, key_id)
            .ok_or_else(|| bad(format!("the {which} checkpoint's key is not {}'s", r.node)))?;
        verify_envelope(&parsed.object, key).map_err(|e| {
            bad(format!(
                "the {which} checkpoint is not signed by {}: {e}",
                r.node
            ))
        })?;
        if which == "held" {
            held_size = u64::try_from(cp.seq).unwrap_or(0);
        }
    }
    Ok(held_size)
}
