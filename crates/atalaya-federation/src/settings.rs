//! Federation timing and limits, part of the node's configuration.

use atalaya_core::NodeId;
use serde::{Deserialize, Serialize};

/// How this node exchanges envelopes with its peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationSettings {
    /// Most envelopes in one push to a peer.
    pub push_batch: u32,
    /// Most envelopes served or requested per pull page.
    pub pull_page: u32,
    /// Milliseconds between anti-entropy pulls from every peer.
    pub pull_interval_ms: u64,
    /// First retry delay after a failed push, in milliseconds; doubles per failure.
    pub backoff_base_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub backoff_max_ms: u64,
    /// Timeout of one request to a peer, in milliseconds.
    pub request_timeout_ms: u64,
    /// Largest clock difference accepted on a signed request, in seconds.
    pub max_skew_secs: i64,
    /// Allow peers on loopback and private addresses (test networks, the demo). Off in
    /// production: peer URLs come from the roster and must not reach internal services.
    pub allow_private_peers: bool,
    /// Peers this node will not contact (suspended by the operator); envelopes for them stay
    /// queued and reach them later, or through other members' relays.
    pub suspended_peers: Vec<NodeId>,
    /// Peers this node pulls at once during anti-entropy.
    pub pull_concurrency: u32,
    /// Milliseconds between signed checkpoints of the audit log sent to every peer when
    /// nothing else prompted one (the log changed but no checkpoint went out).
    pub checkpoint_interval_ms: u64,
    /// Shortest time, in milliseconds, between two audit checkpoints: one follows each write
    /// to the audit trail, and writes within this gap share the next. 30 s: at 5 s, 35 nodes'
    /// checkpoints and countersignatures cost the dissemination benchmark its p99 target
    /// (312 ms against 64 ms at 30 s, one run each on `b0d818b`).
    pub audit_checkpoint_min_interval_ms: u64,
    /// Consecutive failed exchanges before a peer can be shown unreachable.
    pub peer_down_after_failures: u32,
    /// How long, in milliseconds, a streak of failures must last before a peer is shown
    /// unreachable (one failure, or a burst, is only "retrying").
    pub peer_down_after_ms: u64,
    /// Milliseconds a peer may stay unreachable before the duty roster is paged (once per
    /// outage, and once more when it is back).
    pub peer_alert_after_ms: u64,
    /// Largest body a member may push in one request, in bytes (read only after its signature
    /// verified; a larger announced or actual body is refused with `too_large`).
    pub inbox_max_bytes: u64,
    /// Bodies one member may have being read at once (more get `peer_busy`): with
    /// `inbox_max_bytes`, what one member can make this node hold.
    pub inbox_bodies_per_peer: u32,
    /// Milliseconds an authenticated member has to send the whole body (`body_timeout`).
    pub inbox_body_timeout_ms: u64,
    /// Federation requests being authenticated at once; the rest wait their turn.
    pub unauthenticated_concurrency: u32,
    /// Milliseconds a federation request may take to be authenticated, its turn included
    /// (`busy` after that); no body is read before.
    pub unauthenticated_timeout_ms: u64,
}

impl FederationSettings {
    /// The rules that judge a peer's health.
    pub fn health_rules(&self) -> atalaya_core::peer_health::HealthRules {
        atalaya_core::peer_health::HealthRules {
            down_after_failures: self.peer_down_after_failures.max(1),
            down_after_ms: self.peer_down_after_ms,
            alert_after_ms: self.peer_alert_after_ms,
        }
    }
}

impl Default for FederationSettings {
    fn default() -> Self {
        Self {
            push_batch: 256,
            pull_page: 1000,
            pull_interval_ms: 30_000,
            backoff_base_ms: 250,
            backoff_max_ms: 60_000,
            request_timeout_ms: 10_000,
            max_skew_secs: 300,
            allow_private_peers: false,
            suspended_peers: Vec::new(),
            pull_concurrency: 8,
            checkpoint_interval_ms: 300_000,
            audit_checkpoint_min_interval_ms: 30_000,
            peer_down_after_failures: 3,
            peer_down_after_ms: 60_000,
            peer_alert_after_ms: 15 * 60_000,
            inbox_max_bytes: crate::wire::MAX_BATCH_BYTES as u64,
            inbox_bodies_per_peer: 4,
            inbox_body_timeout_ms: 30_000,
            unauthenticated_concurrency: 64,
            unauthenticated_timeout_ms: 5_000,
        }
    }
}
