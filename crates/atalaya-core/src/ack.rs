//! Acknowledgements: a person at a receiving team says "received and handled", and the origin
//! sees, per recipient, whether and when that happened — or that it is overdue.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;

/// What the acknowledging team says about its situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckNote {
    /// Received; nothing more to say.
    Received,
    /// Not affected.
    NoImpact,
    /// Looking into it.
    Investigating,
    /// Affected.
    Affected,
}

/// The body of an `acknowledgement` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    /// The bulletin acknowledged.
    pub bulletin: Uuid,
    /// The person (account name at the acknowledging node).
    pub by: String,
    /// Their note.
    pub note: AckNote,
    /// Free text, at most 1,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Acknowledgement {
    /// Bounds on the free-text fields.
    pub fn check(&self) -> Result<(), String> {
        if self.by.trim().is_empty() || self.by.chars().count() > 100 {
            return Err("`by` names the person (1 to 100 characters)".into());
        }
        if self
            .comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > 1000)
        {
            return Err("`comment` is longer than 1000 characters".into());
        }
        Ok(())
    }
}

/// The body of a `renotify` envelope: the origin of a bulletin asks a recipient that has not
/// acknowledged it to call its on-call roster now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renotify {
    /// The bulletin.
    pub bulletin: Uuid,
    /// When the origin asked.
    pub at: Timestamp,
    /// Who asked (account name at the origin).
    pub by: String,
}

impl Renotify {
    /// Bounds on who asked.
    pub fn check(&self) -> Result<(), String> {
        if self.by.trim().is_empty() || self.by.chars().count() > 100 {
            return Err("`by` names the person (1 to 100 characters)".into());
        }
        Ok(())
    }
}

/// Where one recipient stands with one bulletin, as its origin sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckState {
    /// Not yet accepted by the recipient's node.
    Queued,
    /// Stored at the recipient; nobody acknowledged yet, and no deadline passed.
    Delivered,
    /// A person acknowledged it.
    Acknowledged,
    /// The acknowledgement deadline passed without one.
    Overdue,
}

/// The state of a recipient: acknowledged wins; then a passed deadline makes it overdue.
pub fn ack_state(
    delivered: bool,
    acknowledged: bool,
    deadline: Option<Timestamp>,
    now: Timestamp,
) -> AckState {
    if acknowledged {
        AckState::Acknowledged
    } else if deadline.is_some_and(|d| now >= d) {
        AckState::Overdue
    } else if delivered {
        AckState::Delivered
    } else {
        AckState::Queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        let t = |ms| Timestamp::from_unix_millis(ms).unwrap();
        assert_eq!(ack_state(false, false, None, t(0)), AckState::Queued);
        assert_eq!(
            ack_state(true, false, Some(t(10)), t(9)),
            AckState::Delivered
        );
        assert_eq!(
            ack_state(true, false, Some(t(10)), t(10)),
            AckState::Overdue
        );
        assert_eq!(
            ack_state(false, false, Some(t(10)), t(11)),
            AckState::Overdue,
            "undelivered past the deadline is overdue too"
        );
        assert_eq!(
            ack_state(true, true, Some(t(10)), t(11)),
            AckState::Acknowledged
        );
    }

    #[test]
    fn bounds() {
        let mut a = Acknowledgement {
            bulletin: Uuid::nil(),
            by: "ana".into(),
            note: AckNote::Affected,
            comment: None,
        };
        a.check().unwrap();
        a.comment = Some("x".repeat(1001));
        assert!(a.check().is_err());
        a.comment = None;
        a.by = " ".into();
        assert!(a.check().is_err());
        assert!(serde_json::from_str::<AckNote>("\"panicking\"").is_err());
        assert_eq!(
            serde_json::to_string(&AckNote::NoImpact).unwrap(),
            "\"no-impact\""
        );
        let mut r = Renotify {
            bulletin: Uuid::nil(),
            at: Timestamp::from_unix_millis(0).unwrap(),
            by: "coordinator".into(),
        };
        r.check().unwrap();
        r.by = "x".repeat(101);
        assert!(r.check().is_err());
        r.by = String::new();
        assert!(r.check().is_err());
    }
}
