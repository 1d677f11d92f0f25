//! Communication checks: a node (usually the coordinator) sends a signed check to member nodes,
//! a person at each must answer it, and the report says who answered and how fast, who has not,
//! and who was never reached at all. The history of checks gives each member's trend.
//!
//! What travels: the `comm-check` body ([`CommCheck`]) and the `comm-check-answer` body
//! ([`CommCheckAnswer`]). What is computed here, from the facts a node stored and the time:
//! [`report`], [`summary`] and [`trend`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{NodeId, Timestamp};

/// Longest message of a check, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Longest note of an answer, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest name of the person who answers, in characters.
pub const MAX_ANSWERED_BY_CHARS: usize = 100;
/// Longest time given to answer: one week, in minutes.
pub const MAX_ANSWER_WITHIN_MINUTES: u32 = 7 * 24 * 60;

/// The body of a `comm-check` envelope. Its `id` is the envelope's own id, so an answer names
/// the check by the envelope it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommCheck {
    /// The check (the id of the envelope carrying it).
    pub id: Uuid,
    /// When the initiating node started it.
    pub started_at: Timestamp,
    /// A person should answer before this instant.
    pub answer_by: Timestamp,
    /// What the initiator says to the people answering (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl CommCheck {
    /// Bounds: a deadline after the start and at most a week later; a short message.
    pub fn check(&self) -> Result<(), String> {
        let window = self.answer_by.millis_since(self.started_at);
        if window <= 0 {
            return Err("`answer_by` must be after `started_at`".into());
        }
        if window > i64::from(MAX_ANSWER_WITHIN_MINUTES) * 60_000 {
            return Err(format!(
                "`answer_by` is at most {MAX_ANSWER_WITHIN_MINUTES} minutes after `started_at`"
            ));
        }
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS)
        {
            return Err(format!(
                "`message` is longer than {MAX_MESSAGE_CHARS} characters"
            ));
        }
        Ok(())
    }
}

/// The body of a `comm-check-answer` envelope: a person at a target node answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommCheckAnswer {
    /// The check answered.
    pub check: Uuid,
    /// The person (name or username at the answering node, 1 to 100 characters).
    pub answered_by: String,
    /// When they answered.
    pub answered_at: Timestamp,
    /// What they add (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CommCheckAnswer {
    /// Bounds on the free-text fields.
    pub fn check(&self) -> Result<(), String> {
        check_answer_fields(&self.answered_by, self.note.as_deref())
    }
}

/// The bounds on who answers and their note, shared by the API and the wire.
pub fn check_answer_fields(answered_by: &str, note: Option<&str>) -> Result<(), String> {
    if answered_by.trim().is_empty() || answered_by.chars().count() > MAX_ANSWERED_BY_CHARS {
        return Err(format!(
            "`answered_by` names the person (1 to {MAX_ANSWERED_BY_CHARS} characters)"
        ));
    }
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(format!("`note` is longer than {MAX_NOTE_CHARS} characters"));
    }
    Ok(())
}

/// A person's answer, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerFacts {
    /// Who answered.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Their note.
    pub note: Option<String>,
}

/// What the initiating node knows about one target of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFacts {
    /// The member.
    pub node: NodeId,
    /// Whether the check was queued for it (the node's own sharing policy may have refused).
    pub sent: bool,
    /// When the transport delivered the check (pushed and accepted, or pulled).
    pub delivered_at: Option<Timestamp>,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// The last delivery error, while undelivered.
    pub last_error: Option<String>,
    /// The answer, once one arrived.
    pub answer: Option<AnswerFacts>,
}

/// What the initiating node knows about a check it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFacts {
    /// The check as sent.
    pub check: CommCheck,
    /// Who started it here.
    pub started_by: String,
    /// Its targets, by node id.
    pub targets: Vec<TargetFacts>,
}

/// A check this node received, as stored at the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedCheck {
    /// The check.
    #[serde(flatten)]
    pub check: CommCheck,
    /// The node that started it.
    pub from: NodeId,
    /// When it reached this node.
    pub received_at: Timestamp,
    /// This node's answer, once given.
    pub answer: Option<AnswerFacts>,
}

/// Where one member stands with a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberStatus {
    /// A person answered.
    Answered,
    /// Delivered; nobody answered yet and the deadline is ahead.
    Unanswered,
    /// Delivered; the deadline passed without an answer.
    Overdue,
    /// Not delivered yet, no failure so far and the deadline ahead: in transit.
    Queued,
    /// Never delivered: the transport failed, the deadline passed, or it was never sent.
    Unreachable,
}

/// The status of one target at `now`. An answer wins (it may have come around a transport
/// failure, through a relay); then delivery decides.
pub fn member_status(t: &TargetFacts, answer_by: Timestamp, now: Timestamp) -> MemberStatus {
    let deadline_passed = now >= answer_by;
    match (&t.answer, t.delivered_at) {
        (Some(_), _) => MemberStatus::Answered,
        (None, Some(_)) if deadline_passed => MemberStatus::Overdue,
        (None, Some(_)) => MemberStatus::Unanswered,
        (None, None) if t.sent && t.last_error.is_none() && !deadline_passed => {
            MemberStatus::Queued
        }
        (None, None) => MemberStatus::Unreachable,
    }
}

/// Milliseconds from the start of the check to the answer (never negative: the two instants
/// come from two nodes' clocks).
pub fn answer_ms(check: &CommCheck, answer: &AnswerFacts) -> i64 {
    answer.at.millis_since(check.started_at).max(0)
}

/// One member's line in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberReport {
    /// The member.
    pub node: NodeId,
    /// Where it stands.
    pub status: MemberStatus,
    /// Whether the check was queued for it.
    pub sent: bool,
    /// When the transport delivered the check.
    pub delivered_at: Option<Timestamp>,
    /// Delivery attempts.
    pub attempts: i64,
    /// The last delivery error, while undelivered.
    pub last_error: Option<String>,
    /// When a person answered.
    pub answered_at: Option<Timestamp>,
    /// Who.
    pub answered_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
    /// Time to answer, in milliseconds from the start of the check.
    pub answer_ms: Option<i64>,
    /// Answered after the deadline.
    pub late: bool,
}

/// How many members are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Members checked.
    pub targets: usize,
    /// Answered.
    pub answered: usize,
    /// Delivered, not answered, deadline ahead.
    pub unanswered: usize,
    /// Delivered, not answered, deadline passed.
    pub overdue: usize,
    /// In transit.
    pub queued: usize,
    /// Never reached.
    pub unreachable: usize,
}

impl Totals {
    fn add(&mut self, s: MemberStatus) {
        self.targets += 1;
        match s {
            MemberStatus::Answered => self.answered += 1,
            MemberStatus::Unanswered => self.unanswered += 1,
            MemberStatus::Overdue => self.overdue += 1,
            MemberStatus::Queued => self.queued += 1,
            MemberStatus::Unreachable => self.unreachable += 1,
        }
    }
}

/// The report of one check at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The check.
    #[serde(flatten)]
    pub check: CommCheck,
    /// Who started it.
    pub started_by: String,
    /// Whether its deadline has passed.
    pub closed: bool,
    /// Counts per state.
    pub totals: Totals,
    /// Median time to answer of those who answered, in milliseconds.
    pub median_answer_ms: Option<i64>,
    /// One line per member, by node id.
    pub members: Vec<MemberReport>,
}

/// A check in the history: its counts without the member lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckSummary {
    /// The check.
    #[serde(flatten)]
    pub check: CommCheck,
    /// Who started it.
    pub started_by: String,
    /// Whether its deadline has passed.
    pub closed: bool,
    /// Counts per state.
    pub totals: Totals,
    /// Median time to answer, in milliseconds.
    pub median_answer_ms: Option<i64>,
}

/// The report of a check at `now`.
pub fn report(facts: &CheckFacts, now: Timestamp) -> CheckReport {
    let check = &facts.check;
    let mut totals = Totals::default();
    let mut members: Vec<MemberReport> = facts
        .targets
        .iter()
        .map(|t| {
            let status = member_status(t, check.answer_by, now);
            totals.add(status);
            MemberReport {
                node: t.node.clone(),
                status,
                sent: t.sent,
                delivered_at: t.delivered_at,
                attempts: t.attempts,
                last_error: if t.delivered_at.is_none() {
                    t.last_error.clone()
                } else {
                    None
                },
                answered_at: t.answer.as_ref().map(|a| a.at),
                answered_by: t.answer.as_ref().map(|a| a.by.clone()),
                note: t.answer.as_ref().and_then(|a| a.note.clone()),
                answer_ms: t.answer.as_ref().map(|a| answer_ms(check, a)),
                late: t.answer.as_ref().is_some_and(|a| a.at > check.answer_by),
            }
        })
        .collect();
    members.sort_by(|a, b| a.node.cmp(&b.node));
    let times: Vec<i64> = members.iter().filter_map(|m| m.answer_ms).collect();
    CheckReport {
        check: check.clone(),
        started_by: facts.started_by.clone(),
        closed: now >= check.answer_by,
        totals,
        median_answer_ms: median(&times),
        members,
    }
}

/// A check's line in the history at `now`.
pub fn summary(facts: &CheckFacts, now: Timestamp) -> CheckSummary {
    let r = report(facts, now);
    CheckSummary {
        check: r.check,
        started_by: r.started_by,
        closed: r.closed,
        totals: r.totals,
        median_answer_ms: r.median_answer_ms,
    }
}

/// The median of some durations (the mean of the two middle ones for an even count).
pub fn median(values: &[i64]) -> Option<i64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2),
    }
}

/// One check in a member's trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrendPoint {
    /// The check.
    pub check: Uuid,
    /// When it started.
    pub started_at: Timestamp,
    /// Where the member stood with it.
    pub status: MemberStatus,
    /// Its time to answer, `None` when it did not answer.
    pub answer_ms: Option<i64>,
}

/// A member's answer times over the recent checks, oldest first (a sparkline's points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberTrend {
    /// The member.
    pub node: NodeId,
    /// One point per recent check that targeted it, oldest first.
    pub points: Vec<TrendPoint>,
    /// How many of those it answered.
    pub answered: usize,
    /// Median time to answer over those it answered, in milliseconds.
    pub median_answer_ms: Option<i64>,
}

/// The trend of every member over the last `last` checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trend {
    /// The checks considered, oldest first.
    pub checks: Vec<Uuid>,
    /// One trend per member targeted by any of them, by node id.
    pub members: Vec<MemberTrend>,
}

/// Each member's answer times over the `last` most recent checks (given in any order).
pub fn trend(checks: &[CheckFacts], last: usize, now: Timestamp) -> Trend {
    let mut recent: Vec<&CheckFacts> = checks.iter().collect();
    // Oldest first; ids are UUIDv7, so they break ties in start order.
    recent.sort_by_key(|c| (c.check.started_at, c.check.id));
    let recent = &recent[recent.len().saturating_sub(last)..];
    let mut nodes: Vec<&NodeId> = recent
        .iter()
        .flat_map(|c| c.targets.iter().map(|t| &t.node))
        .collect();
    nodes.sort();
    nodes.dedup();
    let members = nodes
        .into_iter()
        .map(|node| {
            let points: Vec<TrendPoint> = recent
                .iter()
                .filter_map(|c| {
                    let t = c.targets.iter().find(|t| &t.node == node)?;
                    Some(TrendPoint {
                        check: c.check.id,
                        started_at: c.check.started_at,
                        status: member_status(t, c.check.answer_by, now),
                        answer_ms: t.answer.as_ref().map(|a| answer_ms(&c.check, a)),
                    })
                })
                .collect();
            let times: Vec<i64> = points.iter().filter_map(|p| p.answer_ms).collect();
            MemberTrend {
                node: node.clone(),
                answered: times.len(),
                median_answer_ms: median(&times),
                points,
            }
        })
        .collect();
    Trend {
        checks: recent.iter().map(|c| c.check.id).collect(),
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + s * 1000).unwrap()
    }

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn target(node: &str, delivered: Option<i64>, answered: Option<i64>) -> TargetFacts {
        TargetFacts {
            node: n(node),
            sent: true,
            delivered_at: delivered.map(t),
            attempts: i64::from(delivered.is_some()),
            last_error: None,
            answer: answered.map(|s| AnswerFacts {
                by: format!("duty officer at {node}"),
                at: t(s),
                note: None,
            }),
        }
    }

    fn facts(seq: u128, start: i64, targets: Vec<TargetFacts>) -> CheckFacts {
        CheckFacts {
            check: CommCheck {
                id: Uuid::from_u128(seq),
                started_at: t(start),
                answer_by: t(start + 3600),
                message: None,
            },
            started_by: "coordinator".into(),
            targets,
        }
    }

    #[test]
    fn a_report_names_who_answered_how_fast_and_who_was_never_reached() {
        let mut unreachable = target("br-cert", None, None);
        unreachable.attempts = 4;
        unreachable.last_error = Some("connection refused".into());
        let f = facts(
            1,
            0,
            vec![
                target("mx-csirt", Some(1), Some(95)),
                target("cl-csirt", Some(1), None),
                unreachable,
                target("ar-csirt", None, None),
                // Answered through a relay although the direct push never went through.
                target("co-csirt", None, Some(30)),
            ],
        );
        let r = report(&f, t(100));
        let line = |id: &str| r.members.iter().find(|m| m.node.as_str() == id).unwrap();
        assert_eq!(line("mx-csirt").status, MemberStatus::Answered);
        assert_eq!(line("mx-csirt").answer_ms, Some(95_000));
        assert_eq!(
            line("mx-csirt").answered_by.as_deref(),
            Some("duty officer at mx-csirt")
        );
        assert!(!line("mx-csirt").late);
        assert_eq!(line("cl-csirt").status, MemberStatus::Unanswered);
        assert_eq!(line("br-cert").status, MemberStatus::Unreachable);
        assert_eq!(
            line("br-cert").last_error.as_deref(),
            Some("connection refused")
        );
        assert_eq!(
            line("ar-csirt").status,
            MemberStatus::Queued,
            "no failure yet, deadline ahead: in transit"
        );
        assert_eq!(line("co-csirt").status, MemberStatus::Answered);
        assert_eq!(
            r.members
                .iter()
                .map(|m| m.node.as_str())
                .collect::<Vec<_>>(),
            ["ar-csirt", "br-cert", "cl-csirt", "co-csirt", "mx-csirt"],
            "sorted by node"
        );
        assert_eq!(
            r.totals,
            Totals {
                targets: 5,
                answered: 2,
                unanswered: 1,
                overdue: 0,
                queued: 1,
                unreachable: 1
            }
        );
        assert_eq!(r.median_answer_ms, Some(62_500));
        assert!(!r.closed);

        // After the deadline: the silent one is overdue, the one in transit unreachable.
        let r = report(&f, t(3600));
        assert!(r.closed);
        let line = |id: &str| r.members.iter().find(|m| m.node.as_str() == id).unwrap();
        assert_eq!(line("cl-csirt").status, MemberStatus::Overdue);
        assert_eq!(line("ar-csirt").status, MemberStatus::Unreachable);
        assert_eq!(
            (r.totals.overdue, r.totals.unreachable, r.totals.queued),
            (1, 2, 0)
        );
        let s = summary(&f, t(3600));
        assert_eq!(s.totals, r.totals);
        assert_eq!(s.median_answer_ms, r.median_answer_ms);
    }

    #[test]
    fn late_and_never_sent_and_clock_skew() {
        let mut not_sent = target("us-cert", None, None);
        not_sent.sent = false;
        let f = facts(
            1,
            0,
            vec![
                target("mx-csirt", Some(1), Some(4000)),
                target("cl-csirt", Some(1), Some(-2)),
                not_sent,
            ],
        );
        let r = report(&f, t(5000));
        let line = |id: &str| r.members.iter().find(|m| m.node.as_str() == id).unwrap();
        assert!(line("mx-csirt").late);
        assert_eq!(line("mx-csirt").status, MemberStatus::Answered);
        assert_eq!(
            line("cl-csirt").answer_ms,
            Some(0),
            "a target clock behind the initiator's never gives a negative time"
        );
        assert_eq!(
            member_status(&f.targets[2], f.check.answer_by, t(1)),
            MemberStatus::Unreachable,
            "never queued is unreachable at once"
        );
    }

    #[test]
    fn the_trend_follows_each_member_over_the_last_checks() {
        let checks = vec![
            facts(
                3,
                200,
                vec![
                    target("mx-csirt", Some(201), Some(230)),
                    target("cl-csirt", None, None),
                ],
            ),
            facts(1, 0, vec![target("mx-csirt", Some(1), Some(60))]),
            facts(
                2,
                100,
                vec![
                    target("mx-csirt", Some(101), Some(110)),
                    target("cl-csirt", Some(101), Some(190)),
                ],
            ),
        ];
        let tr = trend(&checks, 10, t(10_000));
        assert_eq!(
            tr.checks,
            [1, 2, 3].map(Uuid::from_u128).to_vec(),
            "oldest first"
        );
        let mx = &tr.members[1];
        assert_eq!(mx.node.as_str(), "mx-csirt");
        assert_eq!(
            mx.points.iter().map(|p| p.answer_ms).collect::<Vec<_>>(),
            [Some(60_000), Some(10_000), Some(30_000)]
        );
        assert_eq!(mx.median_answer_ms, Some(30_000));
        assert_eq!(mx.answered, 3);
        let cl = &tr.members[0];
        assert_eq!(cl.node.as_str(), "cl-csirt");
        assert_eq!(
            cl.points
                .iter()
                .map(|p| (p.answer_ms, p.status))
                .collect::<Vec<_>>(),
            [
                (Some(90_000), MemberStatus::Answered),
                (None, MemberStatus::Unreachable)
            ],
            "only the checks that targeted it; None where it did not answer"
        );
        assert_eq!(cl.median_answer_ms, Some(90_000));

        let tr = trend(&checks, 2, t(10_000));
        assert_eq!(tr.checks, [2, 3].map(Uuid::from_u128).to_vec());
        assert_eq!(tr.members[1].points.len(), 2);
        assert!(trend(&[], 5, t(0)).members.is_empty());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
        assert_eq!(median(&[10, 20]), Some(15));
    }

    #[test]
    fn bodies_are_bounded() {
        let mut c = CommCheck {
            id: Uuid::nil(),
            started_at: t(0),
            answer_by: t(60),
            message: Some("Monthly check: please answer.".into()),
        };
        c.check().unwrap();
        c.message = Some("x".repeat(MAX_MESSAGE_CHARS + 1));
        assert!(c.check().is_err());
        c.message = Some("é".repeat(MAX_MESSAGE_CHARS));
        c.check().unwrap();
        c.answer_by = t(0);
        assert!(c.check().is_err(), "deadline at the start");
        c.answer_by = t(i64::from(MAX_ANSWER_WITHIN_MINUTES) * 60 + 1);
        assert!(c.check().is_err(), "more than a week");

        let mut a = CommCheckAnswer {
            check: Uuid::nil(),
            answered_by: "ana".into(),
            answered_at: t(5),
            note: None,
        };
        a.check().unwrap();
        a.answered_by = "  ".into();
        assert!(a.check().is_err());
        a.answered_by = "x".repeat(MAX_ANSWERED_BY_CHARS + 1);
        assert!(a.check().is_err());
        a.answered_by = "ana".into();
        a.note = Some("y".repeat(MAX_NOTE_CHARS + 1));
        assert!(a.check().is_err());
        assert!(
            serde_json::from_value::<CommCheckAnswer>(serde_json::json!({
                "check": Uuid::nil(), "answered_by": "ana", "answered_at": t(5), "extra": 1
            }))
            .is_err()
        );
    }
}
