//! Escalation: when a bulletin's acknowledgement deadline passes and nobody at the receiving
//! team acknowledged it, the team's on-call roster is called, one step at a time: the primary
//! at the deadline, the secondary one step later, the team lead one step after that.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Who is called at which step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnCallRole {
    /// Called at the deadline.
    Primary,
    /// Called one step later.
    Secondary,
    /// Called two steps later.
    Lead,
}

impl OnCallRole {
    /// All roles, in escalation order.
    pub const ORDER: [OnCallRole; 3] =
        [OnCallRole::Primary, OnCallRole::Secondary, OnCallRole::Lead];

    /// The escalation level (0 for the primary).
    pub fn level(self) -> i64 {
        match self {
            OnCallRole::Primary => 0,
            OnCallRole::Secondary => 1,
            OnCallRole::Lead => 2,
        }
    }
}

/// One person on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCallEntry {
    /// Their step.
    pub role: OnCallRole,
    /// Their name.
    pub name: String,
    /// E-mail address to write to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Webhook (http/https) to call (a pager, a chat room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// Their IANA time zone, e.g. `America/Santiago` (times in messages are UTC and say so).
    pub timezone: String,
}

/// A node's on-call roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCallRoster {
    /// The people.
    pub entries: Vec<OnCallEntry>,
    /// Minutes between steps.
    #[serde(default = "default_step")]
    pub step_minutes: u32,
}

fn default_step() -> u32 {
    15
}

impl OnCallRoster {
    /// Every entry reachable somehow, with a sane address; a step of 1 minute to 24 hours.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=1440).contains(&self.step_minutes) {
            return Err("step_minutes must be between 1 and 1440".into());
        }
        for e in &self.entries {
            if e.name.trim().is_empty() {
                return Err("every entry needs a name".into());
            }
            if e.email.is_none() && e.webhook.is_none() {
                return Err(format!(
                    "{} has neither an e-mail address nor a webhook",
                    e.name
                ));
            }
            if let Some(m) = &e.email
                && (!m.contains('@') || m.contains(char::is_whitespace) || m.len() > 254)
            {
                return Err(format!("{m:?} is not an e-mail address"));
            }
            if let Some(w) = &e.webhook
                && !(w.starts_with("https://") || w.starts_with("http://"))
            {
                return Err(format!("{w:?} is not an http(s) URL"));
            }
            if !e.timezone.contains('/') && e.timezone != "UTC" {
                return Err(format!("{:?} is not an IANA time zone", e.timezone));
            }
        }
        Ok(())
    }
}

/// The roles whose turn has come at `now` for a deadline, leaving out those already called.
pub fn due(
    deadline: Timestamp,
    step_minutes: u32,
    now: Timestamp,
    called: &[i64],
) -> Vec<OnCallRole> {
    let step = i64::from(step_minutes) * 60_000;
    OnCallRole::ORDER
        .into_iter()
        .filter(|r| now.millis_since(deadline) >= r.level() * step)
        .filter(|r| !called.contains(&r.level()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_come_in_order_and_once() {
        let t = |min: i64| Timestamp::from_unix_millis(1_800_000_000_000 + min * 60_000).unwrap();
        let deadline = t(0);
        assert!(
            due(deadline, 15, t(-1), &[]).is_empty(),
            "not before the deadline"
        );
        assert_eq!(due(deadline, 15, t(0), &[]), vec![OnCallRole::Primary]);
        assert_eq!(due(deadline, 15, t(14), &[0]), vec![]);
        assert_eq!(due(deadline, 15, t(15), &[0]), vec![OnCallRole::Secondary]);
        assert_eq!(
            due(deadline, 15, t(31), &[]),
            OnCallRole::ORDER.to_vec(),
            "a node that was down catches up"
        );
        assert!(due(deadline, 15, t(500), &[0, 1, 2]).is_empty());
    }

    #[test]
    fn rosters_are_checked() {
        let mut r: OnCallRoster = serde_json::from_value(serde_json::json!({
            "entries": [{"role": "primary", "name": "Ana", "email": "ana@csirt.example", "timezone": "America/Santiago"}]
        }))
        .unwrap();
        assert_eq!(r.step_minutes, 15);
        r.check().unwrap();
        r.entries[0].email = None;
        assert!(r.check().is_err());
        r.entries[0].webhook = Some("ftp://x".into());
        assert!(r.check().is_err());
        r.entries[0].webhook = Some("https://pager.example/hook".into());
        r.check().unwrap();
        r.step_minutes = 0;
        assert!(r.check().is_err());
    }
}
