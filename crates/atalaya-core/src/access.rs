//! Who may do what at a node: the roles of a team's people, the rights each role holds, and the
//! scopes of API tokens (a token never holds more than the person who made it).
//!
//! Least privilege: a read-only observer sees bulletins and the directory and nothing else; a
//! liaison officer (the team lead who keeps the team's directory record and answers the census)
//! also acknowledges, answers communication checks, edits the team's directory entries and answers
//! census rounds; an analyst also publishes; a duty officer also
//! retracts, re-notifies, starts checks and keeps the on-call roster; analysts and duty officers
//! read the incident reports the public sends; only an admin manages people, tokens of others,
//! the sharing policy, the agreement, the roster and the public portal's pages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A right. Its string form is also an API token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// See bulletins, their matrices, peers, checks and the node's status.
    #[serde(rename = "bulletins:read")]
    ReadBulletins,
    /// Publish a bulletin.
    #[serde(rename = "bulletins:publish")]
    Publish,
    /// Retract one of this node's bulletins.
    #[serde(rename = "bulletins:retract")]
    Retract,
    /// Acknowledge a received bulletin on behalf of the team.
    #[serde(rename = "bulletins:ack")]
    Acknowledge,
    /// Ask recipients that have not acknowledged to look again.
    #[serde(rename = "bulletins:renotify")]
    Renotify,
    /// Start a communication check.
    #[serde(rename = "checks:run")]
    RunChecks,
    /// Answer a communication check on behalf of the team.
    #[serde(rename = "checks:answer")]
    AnswerChecks,
    /// Keep the on-call roster.
    #[serde(rename = "oncall:write")]
    EditOnCall,
    /// Change the node's sharing policy and the network agreement.
    #[serde(rename = "policy:write")]
    EditPolicy,
    /// Install the network roster (the coordinator's act).
    #[serde(rename = "roster:write")]
    EditRoster,
    /// Create, change and disable accounts; see and revoke everybody's tokens.
    #[serde(rename = "users:manage")]
    ManageUsers,
    /// See the member directory (every field), coverage reports, cybercrime contacts and the
    /// standards registry.
    #[serde(rename = "directory:read")]
    ReadDirectory,
    /// Keep the directory entries this node is the authority for: its team's record, the teams
    /// it hosts, its country's cybercrime and standards entries; import team records.
    #[serde(rename = "directory:write")]
    EditDirectory,
    /// Answer a census round on behalf of the team.
    #[serde(rename = "census:answer")]
    AnswerCensus,
    /// Open and close census rounds, and edit the minimum service set and the standards
    /// registry (the coordinator's acts).
    #[serde(rename = "census:manage")]
    ManageCensus,
    /// Edit the public portal's awareness pages.
    #[serde(rename = "portal:write")]
    EditPortal,
    /// Read the incident reports the public sent to this node's team.
    #[serde(rename = "reports:read")]
    ReadReports,
}

impl Permission {
    /// Every right, in a stable order.
    pub const ALL: [Permission; 17] = [
        Permission::ReadBulletins,
        Permission::Publish,
        Permission::Retract,
        Permission::Acknowledge,
        Permission::Renotify,
        Permission::RunChecks,
        Permission::AnswerChecks,
        Permission::EditOnCall,
        Permission::EditPolicy,
        Permission::EditRoster,
        Permission::ManageUsers,
        Permission::ReadDirectory,
        Permission::EditDirectory,
        Permission::AnswerCensus,
        Permission::ManageCensus,
        Permission::EditPortal,
        Permission::ReadReports,
    ];

    /// The scope string (`bulletins:read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadBulletins => "bulletins:read",
            Permission::Publish => "bulletins:publish",
            Permission::Retract => "bulletins:retract",
            Permission::Acknowledge => "bulletins:ack",
            Permission::Renotify => "bulletins:renotify",
            Permission::RunChecks => "checks:run",
            Permission::AnswerChecks => "checks:answer",
            Permission::EditOnCall => "oncall:write",
            Permission::EditPolicy => "policy:write",
            Permission::EditRoster => "roster:write",
            Permission::ManageUsers => "users:manage",
            Permission::ReadDirectory => "directory:read",
            Permission::EditDirectory => "directory:write",
            Permission::AnswerCensus => "census:answer",
            Permission::ManageCensus => "census:manage",
            Permission::EditPortal => "portal:write",
            Permission::ReadReports => "reports:read",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown scope {s:?}"))
    }
}

/// A set of rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Permissions(u32);

impl Permissions {
    /// No rights.
    pub const NONE: Permissions = Permissions(0);

    /// Every right.
    pub fn all() -> Self {
        Self::of(&Permission::ALL)
    }

    /// Exactly these rights.
    pub fn of(ps: &[Permission]) -> Self {
        Permissions(ps.iter().fold(0, |acc, p| acc | p.bit()))
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether every right of `other` is in this set.
    pub fn includes(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The rights in both sets.
    pub fn intersect(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }

    /// The rights, in a stable order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// The scope string stored with a token: space-separated scopes, `*` for all.
    pub fn to_scopes(self) -> String {
        if self == Self::all() {
            return "*".into();
        }
        self.iter()
            .map(Permission::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parse a scope string (space- or comma-separated, `*` for all). Empty is refused: a
    /// token that may do nothing is a mistake.
    pub fn parse_scopes(s: &str) -> Result<Permissions, String> {
        let s = s.trim();
        if s == "*" {
            return Ok(Self::all());
        }
        let mut set = Permissions::NONE;
        for part in s.split([' ', ',']).filter(|p| !p.is_empty()) {
            set = Permissions(set.0 | part.parse::<Permission>()?.bit());
        }
        if set == Permissions::NONE {
            return Err("a token needs at least one scope".into());
        }
        Ok(set)
    }
}

/// A person's role at their node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the node: people, policy, roster, everything.
    Admin,
    /// On watch: publishes, acknowledges, escalates, runs checks.
    DutyOfficer,
    /// Writes and publishes advisories, acknowledges.
    Analyst,
    /// Liaison with other teams and national organisations: acknowledges, answers checks.
    Liaison,
    /// Observes.
    ReadOnly,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::DutyOfficer,
        Role::Analyst,
        Role::Liaison,
        Role::ReadOnly,
    ];

    /// The stored and displayed name (`duty_officer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::DutyOfficer => "duty_officer",
            Role::Analyst => "analyst",
            Role::Liaison => "liaison",
            Role::ReadOnly => "read_only",
        }
    }

    /// The rights of the role.
    pub fn permissions(self) -> Permissions {
        use Permission::*;
        match self {
            Role::Admin => Permissions::all(),
            Role::DutyOfficer => Permissions::of(&[
                ReadBulletins,
                Publish,
                Retract,
                Acknowledge,
                Renotify,
                RunChecks,
                AnswerChecks,
                EditOnCall,
                ReadDirectory,
                ReadReports,
            ]),
            Role::Analyst => Permissions::of(&[
                ReadBulletins,
                Publish,
                Acknowledge,
                ReadDirectory,
                ReadReports,
            ]),
            Role::Liaison => Permissions::of(&[
                ReadBulletins,
                Acknowledge,
                AnswerChecks,
                ReadDirectory,
                EditDirectory,
                AnswerCensus,
            ]),
            Role::ReadOnly => Permissions::of(&[ReadBulletins, ReadDirectory]),
        }
    }

    /// Roles that can publish or change policy must use a second factor.
    pub fn requires_mfa(self) -> bool {
        let p = self.permissions();
        p.contains(Permission::Publish)
            || p.contains(Permission::EditPolicy)
            || p.contains(Permission::ManageUsers)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?} (admin, duty_officer, analyst, liaison, read_only)")
            })
    }
}

/// A username: 2–64 characters of lowercase letters, digits, `.`, `_`, `-`, starting with a
/// letter. Kept simple so it is unambiguous in logs, audit records and acknowledgements.
pub fn check_username(name: &str) -> Result<(), String> {
    let ok_len = (2..=64).contains(&name.len());
    let ok_first = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok_len && ok_first && ok_chars {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a username: 2-64 of a-z 0-9 . _ -, starting with a letter"
        ))
    }
}

/// A password the node accepts: 12–256 characters, not all the same character. (Length is
/// what matters; composition rules only make people write passwords down.)
pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 12 {
        return Err("a password needs at least 12 characters".into());
    }
    if n > 256 {
        return Err("a password may have at most 256 characters".into());
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err("a password of one repeated character is refused".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn roles_nest_by_least_privilege() {
        let p = |r: Role| r.permissions();
        assert!(p(Role::Admin).includes(p(Role::DutyOfficer)));
        assert!(p(Role::DutyOfficer).includes(p(Role::Analyst)));
        // The watch rights nest; keeping the directory and answering the census is the
        // liaison's (and the admin's) job, not the duty officer's.
        let directory = Permissions::of(&[Permission::EditDirectory, Permission::AnswerCensus]);
        assert!(p(Role::Liaison).includes(directory));
        assert!(!p(Role::DutyOfficer).contains(Permission::EditDirectory));
        assert!(p(Role::DutyOfficer).includes(Permissions(p(Role::Liaison).0 & !directory.0)));
        assert!(p(Role::Liaison).includes(p(Role::ReadOnly)));
        assert!(!p(Role::Liaison).contains(Permission::ManageCensus));
        assert!(!p(Role::Analyst).contains(Permission::AnswerChecks));
        assert!(!p(Role::Liaison).contains(Permission::Publish));
        assert!(!p(Role::DutyOfficer).contains(Permission::EditPolicy));
        assert!(!p(Role::DutyOfficer).contains(Permission::ManageUsers));
        // The public's incident reports are for those on watch; the portal's pages are the
        // admins' to edit.
        assert!(p(Role::Analyst).contains(Permission::ReadReports));
        assert!(!p(Role::Liaison).contains(Permission::ReadReports));
        assert!(!p(Role::ReadOnly).contains(Permission::ReadReports));
        for r in [
            Role::DutyOfficer,
            Role::Analyst,
            Role::Liaison,
            Role::ReadOnly,
        ] {
            assert!(!p(r).contains(Permission::EditPortal), "{r}");
        }
        assert!(p(Role::Admin).contains(Permission::EditPortal));
        assert_eq!(
            p(Role::ReadOnly),
            Permissions::of(&[Permission::ReadBulletins, Permission::ReadDirectory])
        );
    }

    #[test]
    fn mfa_is_mandatory_for_those_who_publish_or_change_policy() {
        assert!(Role::Admin.requires_mfa());
        assert!(Role::DutyOfficer.requires_mfa());
        assert!(Role::Analyst.requires_mfa());
        assert!(!Role::Liaison.requires_mfa());
        assert!(!Role::ReadOnly.requires_mfa());
    }

    #[test]
    fn scopes_round_trip_and_refuse_unknown_or_empty() {
        let s = Permissions::of(&[Permission::ReadBulletins, Permission::Acknowledge]);
        assert_eq!(s.to_scopes(), "bulletins:read bulletins:ack");
        assert_eq!(Permissions::parse_scopes(&s.to_scopes()).unwrap(), s);
        assert_eq!(
            Permissions::parse_scopes("bulletins:ack,bulletins:read").unwrap(),
            s
        );
        assert_eq!(Permissions::parse_scopes("*").unwrap(), Permissions::all());
        assert_eq!(Permissions::all().to_scopes(), "*");
        assert!(
            Permissions::parse_scopes("bulletins:delete")
                .unwrap_err()
                .contains("unknown scope")
        );
        assert!(Permissions::parse_scopes("  ").is_err());
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(check_username("ana.perez").is_ok());
        assert!(check_username("duty-cl_2").is_ok());
        for bad in ["A", "x", "1abc", "ana perez", "ana<script>", "Ana", ""] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert!(check_password("correct horse battery").is_ok());
        assert!(check_password("short").is_err());
        assert!(check_password(&"a".repeat(20)).is_err());
        assert!(check_password(&"ab".repeat(200)).is_err());
    }
}
