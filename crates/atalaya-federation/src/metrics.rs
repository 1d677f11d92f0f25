//! Counters for `/metrics`. Per-peer gauges (outbox depth, lag) are read from the store when
//! scraped, so they cannot drift from the truth.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Federation counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Envelopes newly stored from peers (push or pull).
    pub envelopes_in: AtomicU64,
    /// Envelopes received that were already held.
    pub envelopes_duplicate: AtomicU64,
    /// Envelopes accepted by peers from our pushes.
    pub envelopes_out: AtomicU64,
    /// Envelopes this node published.
    pub envelopes_published: AtomicU64,
    /// Pushes that failed (transport or peer error).
    pub push_failures: AtomicU64,
    /// Anti-entropy rounds completed (every peer asked once).
    pub sync_rounds: AtomicU64,
    /// Requests to holders for an origin this node could not reach.
    pub relay_pulls: AtomicU64,
    /// Envelopes newly stored from holders of an unreachable origin.
    pub relayed_in: AtomicU64,
    /// Holders that served less of an origin than they said they hold.
    pub relay_inconsistent: AtomicU64,
    /// Pages sent to the duty roster about peers going down or coming back.
    pub peer_alerts: AtomicU64,
    /// Writes to the audit trail that failed (their requests were refused).
    pub audit_write_failures: AtomicU64,
    /// Stored envelopes whose labels could not be decoded when a peer pulled (not served).
    pub undecodable_rows: AtomicU64,
    /// Envelopes and requests refused, by reason code.
    rejections: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Count one refusal.
    pub fn reject(&self, code: &'static str) {
        let mut m = self.rejections.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(code).or_default() += 1;
    }

    /// Refusals so far, by reason.
    pub fn rejections(&self) -> BTreeMap<&'static str, u64> {
        self.rejections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Add to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Read a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
