//! The tamper-evident audit trail, and the transparency log over it.
//!
//! Every entry carries the hash of the one before it, so a changed, deleted or reordered entry
//! breaks the chain. That alone cannot stop someone with the disk from rewriting an entry and
//! every hash after it; what stops them is outside the node. The entries' chain hashes are the
//! leaves of an RFC 9162 Merkle tree ([`crate::merkle`]; leaf `i` is the 32 bytes of entry
//! `i + 1`'s hash). The node signs tree heads (size, root, time) often — after each batch of
//! entries — and sends them to its peers as `audit-checkpoint` envelopes. A peer accepts a new
//! head only with a consistency proof that the new tree extends the one it holds ([`judge`]),
//! keeps the history, countersigns what it accepted ([`cosignature_message`]), and on anything
//! else refuses it and sends every member a signed `audit-inconsistency` report carrying both
//! signed heads. A rewritten history is then exposed from outside, restart or not.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Timestamp;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Who (`node:<id>`, `token:<name>`, `user:<name>`, `public`).
    pub actor: String,
    /// What (a policy action: deliver, relay, serve-on-pull, accept, view, …).
    pub action: String,
    /// On what (an envelope or bulletin id).
    pub object: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// Why (the denial code, or the label that made it worth recording).
    pub reason: String,
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position, from 1, without gaps.
    pub seq: i64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Hash of the previous entry (`GENESIS` for the first).
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

/// The hash of entry `seq` with `event`, chained to `prev_hash` (SHA-256, hex, over
/// length-prefixed fields so no two different entries encode alike).
pub fn entry_hash(prev_hash: &str, seq: i64, event: &AuditEvent) -> String {
    let mut h = Sha256::new();
    let at = event.at.to_string();
    let seq = seq.to_string();
    for field in [
        prev_hash,
        seq.as_str(),
        at.as_str(),
        &event.actor,
        &event.action,
        &event.object,
        &event.decision,
        &event.reason,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The first broken link of a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The entry where the chain stops holding.
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// Check a whole chain, in stored order, from the first entry.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<(), ChainBreak> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let brk = |reason: String| ChainBreak { seq: e.seq, reason };
        if e.seq != expected_seq {
            return Err(brk(format!(
                "expected entry {expected_seq} here: an entry was deleted or moved"
            )));
        }
        if e.prev_hash != prev {
            return Err(brk(
                "it does not follow the previous entry (deleted or reordered)".into(),
            ));
        }
        if entry_hash(&e.prev_hash, e.seq, &e.event) != e.hash {
            return Err(brk("its content does not match its hash (modified)".into()));
        }
        prev = e.hash.clone();
    }
    Ok(())
}

/// Check a chain against a checkpoint (`seq`, `hash`) that a peer holds.
pub fn verify_checkpoint(entries: &[AuditEntry], seq: i64, hash: &str) -> Result<(), ChainBreak> {
    match entries.iter().find(|e| e.seq == seq) {
        Some(e) if e.hash == hash => Ok(()),
        Some(_) => Err(ChainBreak {
            seq,
            reason: "differs from the checkpoint a peer holds: history was rewritten".into(),
        }),
        None => Err(ChainBreak {
            seq,
            reason: "missing, but a peer holds a checkpoint of it: the chain was truncated".into(),
        }),
    }
}

/// The Merkle leaf of an entry: its chain hash, as 32 bytes (`None` if it is not 64 hex digits).
pub fn leaf_of(entry_hash: &str) -> Option<crate::merkle::Hash> {
    crate::merkle::from_hex(entry_hash).map(|h| crate::merkle::leaf_hash(&h))
}

/// A signed tree head as a peer reasons about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Entries in the tree.
    pub size: u64,
    /// Its root.
    pub root: crate::merkle::Hash,
    /// When the node took it.
    pub time: Timestamp,
}

/// What a peer makes of a node's new checkpoint, given the one it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A proven extension (or the first head seen of the node): it becomes the one held.
    Extends,
    /// The head held, again.
    Same,
    /// An older head that arrived late; the one held stays.
    Stale,
    /// Larger, but the proof it carries does not start at the head held: ask the node for one.
    NeedsProof,
    /// The node's log does not hold to its past.
    Inconsistent(Inconsistency),
}

/// Why two heads of one node cannot both be true.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Inconsistency {
    /// `audit_fork`, `audit_not_extension` or `audit_truncated`.
    pub code: &'static str,
    /// In words.
    pub detail: String,
}

/// Judge `new` against `held` (RFC 9162 §2.1.4.2). `proof` is a consistency proof from a head of
/// size `proof.0` and root `proof.1`, if the checkpoint carried one or the node sent one.
pub fn judge(
    held: Option<&TreeHead>,
    new: &TreeHead,
    proof: Option<(u64, &crate::merkle::Hash, &[crate::merkle::Hash])>,
) -> Verdict {
    let Some(held) = held else {
        return Verdict::Extends;
    };
    let fail = |code, detail: String| Verdict::Inconsistent(Inconsistency { code, detail });
    if new.size == held.size {
        return if new.root == held.root {
            Verdict::Same
        } else {
            fail(
                "audit_fork",
                format!("two different roots for the same {} entries", new.size),
            )
        };
    }
    if new.size < held.size {
        return if new.time > held.time {
            fail(
                "audit_truncated",
                format!(
                    "the log shrank from {} to {} entries: entries were removed",
                    held.size, new.size
                ),
            )
        } else {
            Verdict::Stale
        };
    }
    match proof {
        Some((from, from_root, _)) if from == held.size && from_root != &held.root => fail(
            "audit_fork",
            format!(
                "the node now says its tree of {from} entries had another root than the one it signed"
            ),
        ),
        Some((from, from_root, path)) if from == held.size => {
            match crate::merkle::verify_consistency(from, new.size, from_root, &new.root, path) {
                Ok(()) => Verdict::Extends,
                Err(e) => fail(
                    "audit_not_extension",
                    format!(
                        "the tree of {} entries does not extend the one of {} held ({e}): history was rewritten",
                        new.size, held.size
                    ),
                ),
            }
        }
        _ => Verdict::NeedsProof,
    }
}

/// The statement a witness countersigns: one node's tree head, in lines of text (in the manner
/// of a transparency-log checkpoint note), so a third party needs nothing but the roster's keys.
pub fn checkpoint_text(origin: &crate::NodeId, head: &TreeHead) -> String {
    format!(
        "atalaya-audit-checkpoint/v1\norigin {origin}\nsize {}\nroot {}\ntime {}\n",
        head.size,
        crate::merkle::to_hex(&head.root),
        head.time
    )
}

/// The bytes a witness signs (Ed25519) to say it saw `origin`'s head and held it consistent with
/// everything it saw before.
pub fn cosignature_message(
    witness: &crate::NodeId,
    witnessed_at: Timestamp,
    origin: &crate::NodeId,
    head: &TreeHead,
) -> Vec<u8> {
    format!(
        "atalaya-audit-cosignature/v1\nwitness {witness}\nwitnessed {witnessed_at}\n{}",
        checkpoint_text(origin, head)
    )
    .into_bytes()
}

/// A witness's countersignature of a node's tree head: Ed25519, by the witness's node key, over
/// [`cosignature_message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cosignature {
    /// The node whose head it is.
    pub origin: crate::NodeId,
    /// Tree size.
    pub size: u64,
    /// Root (hex).
    pub root: String,
    /// When the node took the head.
    pub time: Timestamp,
    /// The witness.
    pub witness: crate::NodeId,
    /// The witness's key (`<node_id>#<key id>`).
    pub key: String,
    /// When the witness countersigned.
    pub witnessed: Timestamp,
    /// Base64 of the 64-byte signature.
    pub sig: String,
}

impl Cosignature {
    /// The head it vouches for (`None` if the root is not 64 hex digits).
    pub fn head(&self) -> Option<TreeHead> {
        Some(TreeHead {
            size: self.size,
            root: crate::merkle::from_hex(&self.root)?,
            time: self.time,
        })
    }

    /// The bytes the signature covers.
    pub fn message(&self) -> Option<Vec<u8>> {
        Some(cosignature_message(
            &self.witness,
            self.witnessed,
            &self.origin,
            &self.head()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let event = AuditEvent {
                    at: Timestamp::from_unix_millis(seq * 1000).unwrap(),
                    actor: format!("node:peer-{seq}"),
                    action: "deliver".into(),
                    object: format!("obj-{seq}"),
                    decision: "deny".into(),
                    reason: "not_in_audience".into(),
                };
                let hash = entry_hash(&prev, seq, &event);
                let e = AuditEntry {
                    seq,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn any_change_is_named() {
        let good = chain(5);
        verify_chain(&good).unwrap();
        let mut modified = good.clone();
        modified[2].event.decision = "allow".into();
        assert_eq!(verify_chain(&modified).unwrap_err().seq, 3);
        let mut deleted = good.clone();
        deleted.remove(1);
        assert_eq!(verify_chain(&deleted).unwrap_err().seq, 3);
        let mut reordered = good.clone();
        reordered.swap(1, 3);
        assert!(verify_chain(&reordered).is_err());
        // A rewritten chain that is internally consistent is caught by a peer's checkpoint.
        let truncated = &good[..3];
        verify_chain(truncated).unwrap();
        assert!(
            verify_checkpoint(truncated, 4, &good[3].hash)
                .unwrap_err()
                .reason
                .contains("truncated")
        );
        verify_checkpoint(&good, 4, &good[3].hash).unwrap();
        assert!(verify_checkpoint(&chain(5)[..], 4, "beef").is_err());
    }

    fn head(size: u64, root: u8, secs: i64) -> TreeHead {
        TreeHead {
            size,
            root: [root; 32],
            time: Timestamp::from_unix_millis(secs * 1000).unwrap(),
        }
    }

    #[test]
    fn a_peer_moves_only_along_proven_extensions() {
        let mut tree = crate::merkle::MemoryTree::new();
        let entries = chain(9);
        for e in &entries {
            tree.push(leaf_of(&e.hash).unwrap());
        }
        let at = |n: u64, secs: i64| TreeHead {
            size: n,
            root: tree.root(n).unwrap(),
            time: Timestamp::from_unix_millis(secs * 1000).unwrap(),
        };
        let (h4, h9) = (at(4, 10), at(9, 20));
        let proof = tree.consistency_proof(4, 9).unwrap();
        assert_eq!(judge(None, &h9, None), Verdict::Extends);
        assert_eq!(
            judge(Some(&h4), &h9, Some((4, &h4.root, &proof))),
            Verdict::Extends
        );
        assert_eq!(judge(Some(&h4), &h4, None), Verdict::Same);
        assert_eq!(judge(Some(&h9), &h4, None), Verdict::Stale);
        assert_eq!(judge(Some(&h4), &h9, None), Verdict::NeedsProof);
        assert_eq!(
            judge(Some(&h4), &h9, Some((3, &h4.root, &proof))),
            Verdict::NeedsProof
        );
        let code = |v: Verdict| match v {
            Verdict::Inconsistent(i) => i.code,
            other => panic!("{other:?}"),
        };
        // The attack: entry 3 rewritten, every later hash recomputed, a new tree.
        let mut rewritten = entries.clone();
        rewritten[2].event.decision = "allow".into();
        let mut prev = GENESIS.to_owned();
        let mut other = crate::merkle::MemoryTree::new();
        for e in &mut rewritten {
            e.prev_hash = prev.clone();
            e.hash = entry_hash(&prev, e.seq, &e.event);
            prev = e.hash.clone();
            other.push(leaf_of(&e.hash).unwrap());
        }
        verify_chain(&rewritten).unwrap();
        let forged = TreeHead {
            size: 9,
            root: other.root(9).unwrap(),
            time: h9.time,
        };
        let their_proof = other.consistency_proof(4, 9).unwrap();
        assert_eq!(
            code(judge(Some(&h4), &forged, Some((4, &h4.root, &their_proof)))),
            "audit_not_extension"
        );
        let their_root4 = other.root(4).unwrap();
        assert_eq!(
            code(judge(
                Some(&h4),
                &forged,
                Some((4, &their_root4, &their_proof))
            )),
            "audit_fork"
        );
        assert_eq!(code(judge(Some(&h9), &forged, None)), "audit_fork");
        assert_eq!(code(judge(Some(&h9), &at(4, 30), None)), "audit_truncated");
        assert_eq!(
            code(judge(
                Some(&head(2, 1, 0)),
                &head(3, 2, 1),
                Some((2, &[1; 32], &[]))
            )),
            "audit_not_extension"
        );
    }

    #[test]
    fn the_cosigned_statement_names_everything_it_vouches_for() {
        let origin = crate::NodeId::new("cl-csirt").unwrap();
        let witness = crate::NodeId::new("mx-csirt").unwrap();
        let h = head(7, 0xab, 1_800_000_000);
        let m = String::from_utf8(cosignature_message(&witness, h.time, &origin, &h)).unwrap();
        assert!(
            m.starts_with("atalaya-audit-cosignature/v1\nwitness mx-csirt\n"),
            "{m}"
        );
        assert!(m.contains("origin cl-csirt\nsize 7\nroot abab"), "{m}");
        assert_ne!(
            cosignature_message(&witness, h.time, &origin, &head(8, 0xab, 1_800_000_000)),
            cosignature_message(&witness, h.time, &origin, &h)
        );
    }
}
