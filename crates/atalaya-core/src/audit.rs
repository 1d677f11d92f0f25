//! The tamper-evident audit trail: every entry carries the hash of the one before it, so a
//! changed, deleted or reordered entry breaks the chain; a truncated tail shows against the
//! signed checkpoints that peers keep.

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
}
