//! What travels in a `directory-record` envelope, and who is the authority for each entry.
//!
//! Every node holds the whole directory; each entry has exactly one authority, and a node
//! refuses an entry signed by anyone else:
//!
//! | Entry | Key | Authority |
//! |---|---|---|
//! | team record | team id | the node its id names (`cl-csirt`, `cl-csirt/banca`); the team's country must be that node's, except for the coordinator, which may record teams of states without a node |
//! | cybercrime points of contact and laws | country | a node of that country, or the coordinator |
//! | standards adoption | country | a node of that country, or the coordinator |
//! | standards registry | — | the coordinator |
//! | minimum service set | — | the coordinator |
//!
//! The newest entry (by envelope creation time, then envelope id) replaces the one held.

use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::team::{Day, TeamRecord};
use crate::{CountryCode, NodeId, Roster, Timestamp};

/// The network's agreed minimum service set, kept as data (its checks live in
/// `directory::coverage`); carried opaquely here so the entry layer does not depend on it.
pub type MinimumServiceSetData = serde_json::Value;

/// A kind of authority that investigates or prosecutes cybercrime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorityKind {
    /// Police cybercrime unit.
    Police,
    /// Public prosecutor's office.
    Prosecutor,
    /// Central authority for mutual legal assistance.
    CentralAuthority,
    /// 24/7 point of contact under the Budapest Convention (art. 35) or the G7 network.
    Network247,
    /// Another authority.
    Other,
}

/// A contact of a cybercrime authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityContact {
    /// `email`, `phone` or `url`.
    pub channel: String,
    /// The address, number or link.
    pub value: String,
    /// Answered around the clock.
    #[serde(default)]
    pub available_24x7: bool,
    /// A note (language, hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An authority that investigates or prosecutes cybercrime (members only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CybercrimeAuthority {
    /// The authority's name.
    pub name: String,
    /// What it is.
    pub kind: AuthorityKind,
    /// The unit inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// How to reach it.
    pub contacts: Vec<AuthorityContact>,
}

/// What a law on cybercrime covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LawKind {
    /// Defines offences.
    Substantive,
    /// Investigation powers, electronic evidence.
    Procedural,
    /// Mutual legal assistance and international co-operation.
    MutualLegalAssistance,
}

/// A national law on cybercrime (public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CybercrimeLaw {
    /// Its title (`Ley 21.459 que establece normas sobre delitos informáticos`).
    pub title: String,
    /// What it covers.
    pub kinds: Vec<LawKind>,
    /// When it was enacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enacted: Option<Day>,
    /// A public link to the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A member state's cybercrime entry: its authorities (members only) and laws (public). Kept
/// apart from CSIRT records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryCybercrime {
    /// The member state.
    pub country: CountryCode,
    /// Authorities and their 24/7 contacts.
    #[serde(default)]
    pub authorities: Vec<CybercrimeAuthority>,
    /// Laws.
    #[serde(default)]
    pub laws: Vec<CybercrimeLaw>,
    /// When the entry was last changed.
    pub updated: Timestamp,
    /// Fictitious data shipped with the demo network.
    #[serde(default)]
    pub demo: bool,
}

/// A security standard the network recommends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityStandard {
    /// Stable id (`itu-t-x1051`).
    pub id: String,
    /// Issuing body (`ITU-T`, `ISO/IEC`, `IETF`, `FIRST`).
    pub body: String,
    /// Its number (`X.1051`).
    pub number: String,
    /// Title.
    pub title: String,
    /// Public link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The registry of recommended standards (kept by the coordinator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardsRegistry {
    /// The standards.
    pub standards: Vec<SecurityStandard>,
    /// When it was last changed.
    pub updated: Timestamp,
}

/// How far a member state has adopted a standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdoptionStatus {
    /// Adopted (in regulation or national practice).
    Adopted,
    /// Being adopted.
    InProgress,
    /// Planned.
    Planned,
    /// Not adopted.
    NotAdopted,
}

impl AdoptionStatus {
    /// Every status, in order.
    pub const ALL: [AdoptionStatus; 4] = [
        AdoptionStatus::Adopted,
        AdoptionStatus::InProgress,
        AdoptionStatus::Planned,
        AdoptionStatus::NotAdopted,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdoptionStatus::Adopted => "adopted",
            AdoptionStatus::InProgress => "in-progress",
            AdoptionStatus::Planned => "planned",
            AdoptionStatus::NotAdopted => "not-adopted",
        }
    }
}

/// One standard's adoption in a member state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adoption {
    /// The standard's id in the registry.
    pub standard: String,
    /// How far.
    pub status: AdoptionStatus,
    /// Obstacles the state reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obstacles: Option<String>,
}

/// A member state's adoption of the recommended standards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardsAdoption {
    /// The member state.
    pub country: CountryCode,
    /// One row per standard.
    pub adoptions: Vec<Adoption>,
    /// When it was last changed.
    pub updated: Timestamp,
    /// Fictitious data shipped with the demo network.
    #[serde(default)]
    pub demo: bool,
}

/// The body of a `directory-record` envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", content = "data", rename_all = "kebab-case")]
pub enum DirectoryEntry {
    /// A CSIRT's record.
    Team(Box<TeamRecord>),
    /// A member state's cybercrime authorities and laws.
    Cybercrime(Box<CountryCybercrime>),
    /// The recommended standards.
    StandardsRegistry(Box<StandardsRegistry>),
    /// A member state's adoption of them.
    StandardsAdoption(Box<StandardsAdoption>),
    /// The network's minimum service set.
    MinimumServices(Box<MinimumServiceSetData>),
}

/// Which entries an entry replaces: (record kind, key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryKey {
    /// `team`, `cybercrime`, `standards-registry`, `standards-adoption`, `minimum-services`.
    pub record: &'static str,
    /// Team id, country code, or `network`.
    pub key: String,
}

/// Why a node may not publish an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// The node is not the record's authority.
    #[error("{origin} is not the authority for {what}: {authority} is")]
    NotAuthority {
        /// Who signed it.
        origin: String,
        /// The entry.
        what: String,
        /// Who may.
        authority: String,
    },
    /// The node is not in the roster.
    #[error("{0} is not a member of the roster")]
    NotAMember(String),
}

impl AuthorityError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorityError::NotAuthority { .. } => "not_authoritative",
            AuthorityError::NotAMember(_) => "unknown_origin",
        }
    }
}

/// Longest name or title in a cybercrime or standards entry.
const MAX_NAME: usize = 300;
/// Most rows in one list.
const MAX_ROWS: usize = 200;

fn check_text(problems: &mut Vec<Problem>, field: String, text: &str, max: usize) {
    if text.trim().is_empty() {
        problems.push(Problem::new("bad-field", field, "must not be empty"));
    } else if text.chars().count() > max {
        problems.push(Problem::new(
            "bad-field",
            field,
            format!("at most {max} characters"),
        ));
    } else if text.chars().any(|c| c.is_control() && c != '\n') {
        problems.push(Problem::new(
            "bad-field",
            field,
            "must not contain control characters",
        ));
    }
}

fn check_url(problems: &mut Vec<Problem>, field: String, url: &str) {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && url.len() > "https://".len()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<');
    if !ok {
        problems.push(Problem::new(
            "bad-url",
            field,
            format!("`{url}` is not an http(s) URL"),
        ));
    }
}

fn check_member_state(problems: &mut Vec<Problem>, field: &str, country: CountryCode) {
    if !crate::member_states::is_member_state(country) {
        problems.push(Problem::new(
            "unknown-country",
            field,
            format!("{country} is not an OAS member state"),
        ));
    }
}

fn check_rows<T>(problems: &mut Vec<Problem>, field: &str, rows: &[T]) {
    if rows.len() > MAX_ROWS {
        problems.push(Problem::new(
            "bad-field",
            field,
            format!("at most {MAX_ROWS} entries"),
        ));
    }
}

impl CountryCybercrime {
    fn check(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        check_member_state(&mut p, "country", self.country);
        check_rows(&mut p, "authorities", &self.authorities);
        check_rows(&mut p, "laws", &self.laws);
        for (i, a) in self.authorities.iter().enumerate() {
            check_text(&mut p, format!("authorities[{i}].name"), &a.name, MAX_NAME);
            if let Some(unit) = &a.unit {
                check_text(&mut p, format!("authorities[{i}].unit"), unit, MAX_NAME);
            }
            if a.contacts.is_empty() {
                p.push(Problem::new(
                    "bad-field",
                    format!("authorities[{i}].contacts"),
                    "an authority needs at least one contact",
                ));
            }
            check_rows(&mut p, "contacts", &a.contacts);
            for (j, c) in a.contacts.iter().enumerate() {
                let field = format!("authorities[{i}].contacts[{j}]");
                match c.channel.as_str() {
                    "email" => {
                        if c.value.matches('@').count() != 1 || c.value.len() > 254 {
                            p.push(Problem::new(
                                "bad-email",
                                field.clone(),
                                format!("`{}` is not an e-mail address", c.value),
                            ));
                        }
                    }
                    "phone" => {
                        let digits = c.value.chars().filter(char::is_ascii_digit).count();
                        if !c.value.starts_with('+')
                            || !(7..=20).contains(&digits)
                            || !c.value[1..]
                                .chars()
                                .all(|ch| ch.is_ascii_digit() || " -()".contains(ch))
                        {
                            p.push(Problem::new(
                                "bad-phone",
                                field.clone(),
                                format!(
                                    "`{}` is not an international phone number (+...)",
                                    c.value
                                ),
                            ));
                        }
                    }
                    "url" => check_url(&mut p, field.clone(), &c.value),
                    other => p.push(Problem::new(
                        "bad-field",
                        field.clone(),
                        format!("channel `{other}` is not one of email, phone, url"),
                    )),
                }
                if let Some(note) = &c.note {
                    check_text(&mut p, format!("{field}.note"), note, MAX_NAME);
                }
            }
        }
        for (i, law) in self.laws.iter().enumerate() {
            check_text(&mut p, format!("laws[{i}].title"), &law.title, MAX_NAME);
            if law.kinds.is_empty() {
                p.push(Problem::new(
                    "bad-field",
                    format!("laws[{i}].kinds"),
                    "name what the law covers: substantive, procedural, mutual-legal-assistance",
                ));
            }
            if let Some(url) = &law.url {
                check_url(&mut p, format!("laws[{i}].url"), url);
            }
        }
        p
    }
}

impl StandardsRegistry {
    fn check(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        check_rows(&mut p, "standards", &self.standards);
        let mut seen = std::collections::BTreeSet::new();
        for (i, s) in self.standards.iter().enumerate() {
            if NodeId::new(&s.id).is_err() {
                p.push(Problem::new(
                    "bad-field",
                    format!("standards[{i}].id"),
                    format!("`{}` is not an id (lower-case letters, digits, `-`)", s.id),
                ));
            }
            if !seen.insert(s.id.as_str()) {
                p.push(Problem::new(
                    "duplicate",
                    format!("standards[{i}].id"),
                    format!("`{}` is listed twice", s.id),
                ));
            }
            check_text(&mut p, format!("standards[{i}].body"), &s.body, 50);
            check_text(&mut p, format!("standards[{i}].number"), &s.number, 50);
            check_text(&mut p, format!("standards[{i}].title"), &s.title, MAX_NAME);
            if let Some(url) = &s.url {
                check_url(&mut p, format!("standards[{i}].url"), url);
            }
        }
        p
    }
}

impl StandardsAdoption {
    fn check(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        check_member_state(&mut p, "country", self.country);
        check_rows(&mut p, "adoptions", &self.adoptions);
        let mut seen = std::collections::BTreeSet::new();
        for (i, a) in self.adoptions.iter().enumerate() {
            if !seen.insert(a.standard.as_str()) {
                p.push(Problem::new(
                    "duplicate",
                    format!("adoptions[{i}].standard"),
                    format!("`{}` is listed twice", a.standard),
                ));
            }
            if let Some(o) = &a.obstacles {
                check_text(&mut p, format!("adoptions[{i}].obstacles"), o, 2000);
            }
        }
        p
    }
}

impl DirectoryEntry {
    /// Check the entry's content as of `today`: what an authority checks before signing and a
    /// receiver checks again.
    pub fn check_content(&self, today: Day) -> Result<(), Vec<Problem>> {
        let problems = match self {
            DirectoryEntry::Team(t) => match super::validate::validate(t, today) {
                Ok(()) => Vec::new(),
                Err(p) => p,
            },
            DirectoryEntry::Cybercrime(c) => c.check(),
            DirectoryEntry::StandardsRegistry(r) => r.check(),
            DirectoryEntry::StandardsAdoption(a) => a.check(),
            DirectoryEntry::MinimumServices(m) => {
                match serde_json::from_value::<super::coverage::MinimumServiceSet>((**m).clone()) {
                    Ok(set) => match set.check() {
                        Ok(()) => Vec::new(),
                        Err(p) => p,
                    },
                    Err(e) => vec![Problem::new("bad-field", "minimum-services", e.to_string())],
                }
            }
        };
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The (record kind, key) this entry replaces.
    pub fn key(&self) -> EntryKey {
        match self {
            DirectoryEntry::Team(t) => EntryKey {
                record: "team",
                key: t.id.as_str().to_owned(),
            },
            DirectoryEntry::Cybercrime(c) => EntryKey {
                record: "cybercrime",
                key: c.country.as_str().to_owned(),
            },
            DirectoryEntry::StandardsRegistry(_) => EntryKey {
                record: "standards-registry",
                key: "network".into(),
            },
            DirectoryEntry::StandardsAdoption(a) => EntryKey {
                record: "standards-adoption",
                key: a.country.as_str().to_owned(),
            },
            DirectoryEntry::MinimumServices(_) => EntryKey {
                record: "minimum-services",
                key: "network".into(),
            },
        }
    }

    /// Whether `origin` may publish this entry under `roster` (see the module's table).
    pub fn check_authority(&self, origin: &NodeId, roster: &Roster) -> Result<(), AuthorityError> {
        let member = roster
            .members
            .iter()
            .find(|m| &m.node_id == origin)
            .ok_or_else(|| AuthorityError::NotAMember(origin.to_string()))?;
        let coordinator = &roster.coordinator == origin;
        let refuse = |what: String, authority: String| {
            Err(AuthorityError::NotAuthority {
                origin: origin.to_string(),
                what,
                authority,
            })
        };
        let country_entry = |country: CountryCode, what: &str| {
            if coordinator || member.country == country {
                Ok(())
            } else {
                refuse(
                    format!("the {what} of {country}"),
                    format!("a node of {country} or the coordinator"),
                )
            }
        };
        match self {
            DirectoryEntry::Team(t) => {
                if t.id.authority() != origin {
                    return refuse(format!("team {}", t.id), t.id.authority().to_string());
                }
                if !coordinator && t.country != member.country {
                    return refuse(
                        format!("team {} of {}", t.id, t.country),
                        format!("a node of {} (or the coordinator)", t.country),
                    );
                }
                Ok(())
            }
            DirectoryEntry::Cybercrime(c) => country_entry(c.country, "cybercrime entry"),
            DirectoryEntry::StandardsAdoption(a) => country_entry(a.country, "standards adoption"),
            DirectoryEntry::StandardsRegistry(_) | DirectoryEntry::MinimumServices(_) => {
                if coordinator {
                    Ok(())
                } else {
                    refuse(
                        self.key().record.to_owned(),
                        format!("the coordinator {}", roster.coordinator),
                    )
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::directory::team::{Constituency, Mandate, TeamId, TeamType};
    use crate::{Member, Role};

    fn node(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn member(id: &str, country: &str, role: Role) -> Member {
        Member {
            node_id: node(id),
            country: CountryCode::new(country).unwrap(),
            team: id.into(),
            role,
            signing_key: String::new(),
            sealing_key: String::new(),
            endpoint: format!("http://{id}.invalid"),
        }
    }

    fn roster() -> Roster {
        Roster {
            network: "test".into(),
            version: 1,
            issued: Timestamp::from_unix_millis(0).unwrap(),
            coordinator: node("oas-coord"),
            members: vec![
                member("oas-coord", "US", Role::Coordinator),
                member("cl-csirt", "CL", Role::Member),
                member("pe-csirt", "PE", Role::Member),
            ],
            removed: vec![],
        }
    }

    fn team(id: &str, country: &str) -> DirectoryEntry {
        DirectoryEntry::Team(Box::new(TeamRecord {
            id: TeamId::new(id).unwrap(),
            official_name: "Test".into(),
            short_name: "T".into(),
            country: CountryCode::new(country).unwrap(),
            team_type: TeamType::National,
            host_organisation: None,
            postal_address: None,
            website: None,
            established: None,
            designation: None,
            constituency: Constituency::default(),
            services: vec![],
            business_hours: None,
            available_24x7: false,
            emails: vec![],
            phones: vec![],
            pgp_keys: vec![],
            first: None,
            trusted_introducer: None,
            mandate: Mandate::default(),
            sim3: None,
            member_notes: None,
            contacts_confirmed: None,
            updated: Timestamp::from_unix_millis(0).unwrap(),
            demo: false,
        }))
    }

    #[test]
    fn a_node_is_the_authority_for_its_own_and_hosted_teams_only() {
        let r = roster();
        assert!(
            team("cl-csirt", "CL")
                .check_authority(&node("cl-csirt"), &r)
                .is_ok()
        );
        assert!(
            team("cl-csirt/banca", "CL")
                .check_authority(&node("cl-csirt"), &r)
                .is_ok()
        );
        let e = team("pe-csirt", "PE")
            .check_authority(&node("cl-csirt"), &r)
            .unwrap_err();
        assert_eq!(e.code(), "not_authoritative");
        assert!(e.to_string().contains("pe-csirt"), "{e}");
        // A node may not host a team of another country; the coordinator may.
        assert!(
            team("cl-csirt/xy", "PE")
                .check_authority(&node("cl-csirt"), &r)
                .is_err()
        );
        assert!(
            team("oas-coord/ht", "HT")
                .check_authority(&node("oas-coord"), &r)
                .is_ok()
        );
        // Not in the roster at all.
        let e = team("xx-csirt", "CL")
            .check_authority(&node("xx-csirt"), &r)
            .unwrap_err();
        assert_eq!(e.code(), "unknown_origin");
    }

    #[test]
    fn country_entries_belong_to_that_country_and_registries_to_the_coordinator() {
        let r = roster();
        let now = Timestamp::from_unix_millis(0).unwrap();
        let cc = |c: &str| {
            DirectoryEntry::Cybercrime(Box::new(CountryCybercrime {
                country: CountryCode::new(c).unwrap(),
                authorities: vec![],
                laws: vec![],
                updated: now,
                demo: false,
            }))
        };
        assert!(cc("CL").check_authority(&node("cl-csirt"), &r).is_ok());
        assert!(cc("PE").check_authority(&node("cl-csirt"), &r).is_err());
        assert!(cc("PE").check_authority(&node("oas-coord"), &r).is_ok());
        let reg = DirectoryEntry::StandardsRegistry(Box::new(StandardsRegistry {
            standards: vec![],
            updated: now,
        }));
        assert!(reg.check_authority(&node("oas-coord"), &r).is_ok());
        assert!(reg.check_authority(&node("cl-csirt"), &r).is_err());
        assert_eq!(reg.key().record, "standards-registry");
    }

    #[test]
    fn the_entry_is_tagged_on_the_wire() {
        let e = team("cl-csirt", "CL");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["record"], "team");
        assert_eq!(v["data"]["id"], "cl-csirt");
        let back: DirectoryEntry = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
