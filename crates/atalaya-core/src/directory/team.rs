//! A CSIRT's directory record (DESIGN §4 `Team`), compatible with the Trusted Introducer team
//! record so that existing data imports without retyping.
//!
//! The record is plain data. Which node may publish it follows from its id (a node is the
//! authority for the team whose id is its node id, and for the teams it hosts, `<node>/<slug>`);
//! what the public may see is [`TeamRecord::public_view`]; whether it is well formed is
//! [`super::validate`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{CountryCode, NodeId, Timestamp};

/// A calendar day, `YYYY-MM-DD` on the wire (establishment, designation, key expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(time::Date);

/// The format of a [`Day`].
const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Day {
    /// Parse `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Self, String> {
        time::Date::parse(s, DAY_FORMAT)
            .map(Day)
            .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
    }

    /// Wrap a date.
    pub fn from_date(date: time::Date) -> Self {
        Day(date)
    }

    /// The date.
    pub fn date(self) -> time::Date {
        self.0
    }

    /// The UTC day of an instant.
    pub fn of(t: Timestamp) -> Self {
        let days = t.unix_seconds().div_euclid(86_400);
        let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1)
            .unwrap_or(time::Date::MIN);
        Day(epoch
            .checked_add(time::Duration::days(days))
            .unwrap_or(time::Date::MAX))
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        (later.0 - self.0).whole_days()
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.format(DAY_FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A team's directory id: the node id of the node that is its authority, alone for the node's
/// own team, or followed by `/` and a slug for a team that node hosts (`cl-csirt/banca-csirt`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeamId {
    text: String,
    authority: NodeId,
}

impl TeamId {
    /// Validate a team id.
    pub fn new(s: &str) -> Result<Self, String> {
        let (node, slug) = match s.split_once('/') {
            Some((n, slug)) => (n, Some(slug)),
            None => (s, None),
        };
        let authority = NodeId::new(node)
            .map_err(|_| format!("`{s}` is not a team id (<node id>[/<slug>])"))?;
        if let Some(slug) = slug {
            NodeId::new(slug).map_err(|_| {
                format!(
                    "`{s}` is not a team id: the slug after `/` must be lower-case letters, digits and `-`"
                )
            })?;
        }
        Ok(TeamId {
            text: s.to_owned(),
            authority,
        })
    }

    /// The team id of a node's own team.
    pub fn of_node(node: &NodeId) -> Self {
        TeamId {
            text: node.as_str().to_owned(),
            authority: node.clone(),
        }
    }

    /// A team hosted by `node`.
    pub fn hosted(node: &NodeId, slug: &str) -> Result<Self, String> {
        TeamId::new(&format!("{}/{slug}", node.as_str()))
    }

    /// The node that is the authority for this team's record.
    pub fn authority(&self) -> &NodeId {
        &self.authority
    }

    /// Whether this is a team hosted by its authority node (not the node's own team).
    pub fn is_hosted(&self) -> bool {
        self.text.contains('/')
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Serialize for TeamId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for TeamId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TeamId::new(&s).map_err(serde::de::Error::custom)
    }
}

/// What kind of team it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeamType {
    /// The national CSIRT (the country's point of contact in the network).
    National,
    /// A government CSIRT (public administration).
    Government,
    /// A sector's CSIRT (finance, energy, health, ...).
    Sectoral,
    /// A research and education network's or university's CSIRT.
    Academic,
    /// A company's or a commercial provider's CSIRT.
    Private,
}

impl TeamType {
    /// All types, in display order.
    pub const ALL: [TeamType; 5] = [
        TeamType::National,
        TeamType::Government,
        TeamType::Sectoral,
        TeamType::Academic,
        TeamType::Private,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TeamType::National => "national",
            TeamType::Government => "government",
            TeamType::Sectoral => "sectoral",
            TeamType::Academic => "academic",
            TeamType::Private => "private",
        }
    }

    /// Parse a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        TeamType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The government's designation of the team (the act that makes it the national CSIRT or gives
/// it its mandate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Designation {
    /// The document: a decree, law or resolution number.
    pub reference: String,
    /// When it was signed.
    pub date: Day,
    /// A public link to it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Whom the team serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constituency {
    /// Free constituency types as Trusted Introducer writes them (`National`, `CIIP`,
    /// `Research & Education`, `Government`, ...).
    #[serde(default)]
    pub types: Vec<String>,
    /// Critical-infrastructure sectors served (keys of `data/sectors.csv`).
    #[serde(default)]
    pub sectors: Vec<String>,
    /// Autonomous system numbers.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// Domain names; `*.` as the first label covers every subdomain (`*.gob.cl`).
    #[serde(default)]
    pub domains: Vec<String>,
    /// IP ranges in CIDR notation, IPv4 or IPv6.
    #[serde(default)]
    pub ip_ranges: Vec<String>,
    /// Countries served (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub countries: Vec<CountryCode>,
}

/// When the team is at its desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// As the team writes it (`08:00 to 18:00 Monday to Friday`).
    pub hours: String,
    /// IANA time zone (`America/Santiago`).
    pub timezone: String,
}

/// An e-mail address and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    /// The address.
    pub address: String,
    /// `contact`, `incident-report`, `emergency`, `abuse`, `vulnerability-report`, ...
    #[serde(default)]
    pub usage: Vec<String>,
    /// Shown on the public portal; otherwise members only.
    #[serde(default)]
    pub public: bool,
}

/// What a phone number is for (Trusted Introducer's usages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneUsage {
    /// Ordinary calls.
    Voice,
    /// The 24/7 emergency line.
    Emergency,
    /// Fax.
    Fax,
}

/// A phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    /// International format (`+56 2 2486 3850`).
    pub number: String,
    /// What it is for.
    pub usage: Vec<PhoneUsage>,
    /// IANA time zone of whoever answers.
    pub timezone: String,
    /// A note (`not a secure fax`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    /// Shown on the public portal; otherwise members only.
    #[serde(default)]
    pub public: bool,
}

/// An OpenPGP key of the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgpKey {
    /// The fingerprint: 40 hexadecimal digits (v4) or 64 (v6), upper case, no spaces.
    pub fingerprint: String,
    /// When the key expires; `None` for a key without expiry.
    pub expires: Option<Day>,
    /// The ASCII-armoured public key, when the team published it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armored: Option<String>,
}

/// Trusted Introducer's status for a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TiStatus {
    /// Listed in the directory.
    Listed,
    /// Accredited.
    Accredited,
    /// Certified (SIM3 audited).
    Certified,
}

/// Trusted Introducer classification of the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiClassification {
    /// Listed, accredited or certified.
    pub status: TiStatus,
    /// Since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Day>,
}

/// FIRST membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstMembership {
    /// Full member or liaison.
    pub member: bool,
    /// Since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Day>,
}

/// The team's SIM3 self-assessment: a level 0–4 per parameter of `data/sim3-v1.csv`
/// (0 not available, 1 implicit, 2 explicit internal, 3 explicit formalised, 4 explicit audited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sim3Assessment {
    /// When the team assessed itself.
    pub assessed: Day,
    /// Parameter id (`O-1`) → level.
    pub levels: BTreeMap<String, u8>,
}

/// What the team is mandated and able to do in the network, as the minimum service set asks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mandate {
    /// Receives warnings from the network and disseminates them in its country.
    #[serde(default)]
    pub disseminates_nationally: bool,
    /// Is authorised by its government to share information with other teams.
    #[serde(default)]
    pub authorised_to_share: bool,
    /// Assists other teams of the network when asked.
    #[serde(default)]
    pub assists_other_teams: bool,
}

/// A CSIRT's directory record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRecord {
    /// Directory id; fixes the authority node.
    pub id: TeamId,
    /// Official name.
    pub official_name: String,
    /// Short name (`CSIRT-CL`).
    pub short_name: String,
    /// Country of the team (ISO 3166-1 alpha-2, an OAS member state).
    pub country: CountryCode,
    /// National, government, sectoral, academic or private.
    pub team_type: TeamType,
    /// The organisation that hosts the team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_organisation: Option<String>,
    /// Postal address, lines separated by `\n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<String>,
    /// Web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// When the team was established.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established: Option<Day>,
    /// Designation by the government.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub designation: Option<Designation>,
    /// Whom it serves.
    #[serde(default)]
    pub constituency: Constituency,
    /// Services offered: ids from `data/first-csirt-services-v2.1.csv`.
    #[serde(default)]
    pub services: Vec<String>,
    /// Business hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// Reachable 24 hours a day, 7 days a week.
    #[serde(default)]
    pub available_24x7: bool,
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<Email>,
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<Phone>,
    /// OpenPGP keys.
    #[serde(default)]
    pub pgp_keys: Vec<PgpKey>,
    /// FIRST membership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<FirstMembership>,
    /// Trusted Introducer status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_introducer: Option<TiClassification>,
    /// What it is mandated to do in the network.
    #[serde(default)]
    pub mandate: Mandate,
    /// SIM3 self-assessment (members only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim3: Option<Sim3Assessment>,
    /// A note for the network's members (members only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_notes: Option<String>,
    /// When a person at the team last confirmed that the contacts are right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts_confirmed: Option<Timestamp>,
    /// When the record was last changed by its authority.
    pub updated: Timestamp,
    /// Fictitious data shipped with the demo network.
    #[serde(default)]
    pub demo: bool,
}

impl TeamRecord {
    /// The node that is the authority for this record.
    pub fn authority(&self) -> &NodeId {
        self.id.authority()
    }

    /// The record as the public may see it: public contacts only, without the SIM3 assessment
    /// or member notes (as FIRST separates public and member data).
    pub fn public_view(&self) -> TeamRecord {
        let mut public = self.clone();
        public.emails.retain(|e| e.public);
        public.phones.retain(|p| p.public);
        public.sim3 = None;
        public.member_notes = None;
        public
    }

    /// The 24/7 emergency phone numbers.
    pub fn emergency_phones(&self) -> impl Iterator<Item = &Phone> {
        self.phones
            .iter()
            .filter(|p| p.usage.contains(&PhoneUsage::Emergency))
    }

    /// Whether the team offers a service.
    pub fn offers(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}
