//! Whether a peer is up, as this node sees it.
//!
//! One failed exchange says little (a restart, a dropped connection): a peer is *unreachable*
//! only after a streak of consecutive failures that has also lasted a while, so the console does
//! not flap between states at every hiccup. A peer unreachable for longer than the alert
//! threshold pages the duty roster once, and once more when it is back — never every tick.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// When a streak of failures makes a peer unreachable, and when that pages someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRules {
    /// Consecutive failed exchanges before a peer can be unreachable.
    pub down_after_failures: u32,
    /// How long the streak must have lasted, in milliseconds.
    pub down_after_ms: u64,
    /// How long a peer must have been failing before the duty roster is paged, in milliseconds.
    pub alert_after_ms: u64,
}

impl Default for HealthRules {
    fn default() -> Self {
        Self {
            down_after_failures: 3,
            down_after_ms: 60_000,
            alert_after_ms: 15 * 60_000,
        }
    }
}

/// A peer's state as shown in the console, the API and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reachability {
    /// The last exchange succeeded (or none has failed yet).
    Up,
    /// Recent exchanges failed, but not for long or not often enough to call it down.
    Retrying,
    /// Failing for at least `down_after_failures` exchanges over `down_after_ms`.
    Unreachable,
}

impl Reachability {
    /// Its wire and display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Retrying => "retrying",
            Self::Unreachable => "unreachable",
        }
    }
}

/// What a peer's failure record says about it at `now`.
pub fn reachability(
    consecutive_failures: i64,
    failing_since: Option<Timestamp>,
    now: Timestamp,
    rules: &HealthRules,
) -> Reachability {
    if consecutive_failures <= 0 {
        return Reachability::Up;
    }
    let long_enough = failing_since.is_some_and(|since| {
        now.unix_millis().saturating_sub(since.unix_millis())
            >= i64::try_from(rules.down_after_ms).unwrap_or(i64::MAX)
    });
    if consecutive_failures >= i64::from(rules.down_after_failures) && long_enough {
        Reachability::Unreachable
    } else {
        Reachability::Retrying
    }
}

/// A page about a peer: it went down, or it came back after a down page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerAlertKind {
    /// Unreachable for longer than the alert threshold.
    Down,
    /// Reachable again after a `Down` page.
    Back,
}

impl PeerAlertKind {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Back => "back",
        }
    }

    /// The wire name read back.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "down" => Some(Self::Down),
            "back" => Some(Self::Back),
            _ => None,
        }
    }
}

/// The page due about a peer now, if any. `alerted` is when the current outage was paged
/// (`None` when it was not, or when the peer came back since).
pub fn alert_due(
    consecutive_failures: i64,
    failing_since: Option<Timestamp>,
    alerted: Option<Timestamp>,
    now: Timestamp,
    rules: &HealthRules,
) -> Option<PeerAlertKind> {
    let state = reachability(consecutive_failures, failing_since, now, rules);
    match (state, alerted, failing_since) {
        (Reachability::Up, Some(_), _) => Some(PeerAlertKind::Back),
        (Reachability::Unreachable, None, Some(since))
            if now.unix_millis().saturating_sub(since.unix_millis())
                >= i64::try_from(rules.alert_after_ms).unwrap_or(i64::MAX) =>
        {
            Some(PeerAlertKind::Down)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + s * 1000).unwrap()
    }

    const RULES: HealthRules = HealthRules {
        down_after_failures: 3,
        down_after_ms: 30_000,
        alert_after_ms: 600_000,
    };

    #[test]
    fn one_failure_does_not_make_a_peer_unreachable() {
        assert_eq!(reachability(0, None, t(0), &RULES), Reachability::Up);
        assert_eq!(
            reachability(1, Some(t(0)), t(3600), &RULES),
            Reachability::Retrying,
            "one failure, however long ago"
        );
        assert_eq!(
            reachability(50, Some(t(0)), t(29), &RULES),
            Reachability::Retrying,
            "many failures in a short burst"
        );
        assert_eq!(
            reachability(3, Some(t(0)), t(30), &RULES),
            Reachability::Unreachable
        );
        assert_eq!(
            reachability(3, None, t(30), &RULES),
            Reachability::Retrying,
            "a streak with no start time is not judged down"
        );
    }

    #[test]
    fn a_long_outage_pages_once_and_its_end_once() {
        assert_eq!(alert_due(5, Some(t(0)), None, t(599), &RULES), None);
        assert_eq!(
            alert_due(5, Some(t(0)), None, t(600), &RULES),
            Some(PeerAlertKind::Down)
        );
        assert_eq!(
            alert_due(9, Some(t(0)), Some(t(600)), t(900), &RULES),
            None,
            "already paged for this outage"
        );
        assert_eq!(
            alert_due(0, None, Some(t(600)), t(901), &RULES),
            Some(PeerAlertKind::Back)
        );
        assert_eq!(alert_due(0, None, None, t(902), &RULES), None);
        assert_eq!(
            alert_due(2, Some(t(0)), None, t(5000), &RULES),
            None,
            "retrying for long but too few failures (long backoff): not down"
        );
    }

    #[test]
    fn names_round_trip() {
        for k in [PeerAlertKind::Down, PeerAlertKind::Back] {
            assert_eq!(PeerAlertKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(PeerAlertKind::parse("sideways"), None);
        assert_eq!(
            serde_json::to_value(Reachability::Unreachable).ok(),
            Some(serde_json::json!("unreachable"))
        );
    }
}
