//! Coverage: where the hemisphere has a national CSIRT that meets the network's minimum service
//! set, where it has only a point of contact, and where it has nothing; which sectors no team
//! covers; where nobody answers at night; and how mature the teams say they are (SIM3).
//!
//! The minimum service set is data (`data/minimum-service-set.json`) the coordinator may replace
//! with the set the network agrees on; [`coverage`] is a pure function of the directory, the
//! roster and the agreement acceptances.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::vocab;
use super::{Problem, TeamId, TeamRecord, TeamType};
use crate::census::Text;
use crate::member_states::MemberState;
use crate::{CountryCode, NodeId};

const DEFAULT_MINIMUM_SET: &str = include_str!("../../../../data/minimum-service-set.json");

/// Most requirements a minimum service set may have.
pub const MAX_REQUIREMENTS: usize = 50;

/// A mandate flag of the team record ([`super::Mandate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MandateFlag {
    /// Receives the network's warnings and disseminates them nationally.
    DisseminatesNationally,
    /// Authorised by its government to share with other teams.
    AuthorisedToShare,
    /// Assists other teams when asked.
    AssistsOtherTeams,
}

/// How a requirement is tested on a team record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RequirementTest {
    /// The record names a government designation.
    Designated,
    /// The team's authority node accepted the current sharing agreement.
    AcceptedAgreement,
    /// A mandate flag is set.
    Mandate {
        /// Which flag.
        flag: MandateFlag,
    },
    /// The team offers at least one of these FIRST services.
    Service {
        /// Service ids of `data/first-csirt-services-v2.1.csv`.
        any_of: Vec<String>,
    },
}

/// One requirement of the minimum service set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id (`designated`), what reports list as missing.
    pub id: String,
    /// What it asks, in the OAS languages.
    pub name: Text,
    /// How it is tested.
    pub test: RequirementTest,
}

/// The minimum a team must meet to count as a full member of the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinimumServiceSet {
    /// Version of the set; a changed set gets a new one.
    pub version: u32,
    /// The requirements, in display order.
    pub requirements: Vec<Requirement>,
}

static DEFAULT: LazyLock<MinimumServiceSet> = LazyLock::new(|| {
    // The unit tests prove the file parses; an empty set is only a guard.
    serde_json::from_str(DEFAULT_MINIMUM_SET).unwrap_or(MinimumServiceSet {
        version: 1,
        requirements: Vec::new(),
    })
});

/// The network's default minimum service set, `data/minimum-service-set.json`, from the
/// network's framework documents: designated by its government, accepted the sharing agreement,
/// receives and disseminates warnings nationally, authorised to share, assists other teams.
///
/// It adds one service, incident coordination: the mandate flags say a team *may* assist and
/// share, but the network's promise of help between countries is kept by a team that actually
/// coordinates incidents, and it is the FIRST framework service that names that work.
pub fn default_minimum_set() -> MinimumServiceSet {
    DEFAULT.clone()
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl MinimumServiceSet {
    /// Whether a coordinator's set is usable: a version, 1 to [`MAX_REQUIREMENTS`] requirements
    /// with well-formed unique ids and an English name, and service tests that name at least one
    /// known FIRST service.
    pub fn check(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        if self.version == 0 {
            problems.push(Problem::new(
                "bad-version",
                "version",
                "versions start at 1",
            ));
        }
        if self.requirements.is_empty() {
            problems.push(Problem::new(
                "too-small",
                "requirements",
                "a minimum set needs at least one requirement",
            ));
        }
        if self.requirements.len() > MAX_REQUIREMENTS {
            problems.push(Problem::new(
                "too-large",
                "requirements",
                format!("at most {MAX_REQUIREMENTS} requirements"),
            ));
        }
        let mut ids = BTreeSet::new();
        for (i, r) in self.requirements.iter().enumerate() {
            let f = format!("requirements.{i}");
            if !valid_id(&r.id) {
                problems.push(Problem::new(
                    "bad-id",
                    format!("{f}.id"),
                    format!("`{}`: use lower-case letters, digits and `-`", r.id),
                ));
            }
            if !ids.insert(r.id.as_str()) {
                problems.push(Problem::new(
                    "duplicate-id",
                    format!("{f}.id"),
                    format!("`{}` appears twice", r.id),
                ));
            }
            if r.name.0.get("en").is_none_or(|s| s.trim().is_empty()) {
                problems.push(Problem::new(
                    "missing-label",
                    format!("{f}.name"),
                    "an English name is required",
                ));
            }
            if let RequirementTest::Service { any_of } = &r.test {
                if any_of.is_empty() {
                    problems.push(Problem::new(
                        "missing-services",
                        format!("{f}.test.any_of"),
                        "name at least one service",
                    ));
                }
                for s in any_of.iter().filter(|s| vocab::service(s).is_none()) {
                    problems.push(Problem::new(
                        "unknown-service",
                        format!("{f}.test.any_of"),
                        format!("`{s}` is not a FIRST CSIRT Services Framework v2.1 service"),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The ids of the requirements `team` does not meet, in the set's order. A hosted team meets
    /// `accepted-agreement` when its authority node accepted.
    pub fn missing(&self, team: &TeamRecord, accepted_agreement: &BTreeSet<NodeId>) -> Vec<String> {
        self.requirements
            .iter()
            .filter(|r| !meets(team, &r.test, accepted_agreement))
            .map(|r| r.id.clone())
            .collect()
    }
}

fn meets(team: &TeamRecord, test: &RequirementTest, accepted: &BTreeSet<NodeId>) -> bool {
    match test {
        RequirementTest::Designated => team.designation.is_some(),
        RequirementTest::AcceptedAgreement => accepted.contains(team.authority()),
        RequirementTest::Mandate { flag } => match flag {
            MandateFlag::DisseminatesNationally => team.mandate.disseminates_nationally,
            MandateFlag::AuthorisedToShare => team.mandate.authorised_to_share,
            MandateFlag::AssistsOtherTeams => team.mandate.assists_other_teams,
        },
        RequirementTest::Service { any_of } => any_of.iter().any(|s| team.offers(s)),
    }
}

/// What coverage is computed from.
#[derive(Debug, Clone, Copy)]
pub struct CoverageInput<'a> {
    /// The member states to report on (usually `member_states::all()`).
    pub states: &'a [MemberState],
    /// The directory's teams.
    pub teams: &'a [TeamRecord],
    /// Nodes that accepted the current sharing agreement; a hosted team counts its authority
    /// node.
    pub accepted_agreement: &'a BTreeSet<NodeId>,
    /// Countries with a node in the roster: each has a point of contact in the network.
    pub roster_countries: &'a BTreeSet<CountryCode>,
    /// The minimum service set.
    pub minimum: &'a MinimumServiceSet,
}

/// How well a member state is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoverageStatus {
    /// No team and no point of contact.
    None,
    /// A point of contact (a roster node or some team), but no national CSIRT.
    ContactOnly,
    /// A national CSIRT that misses a minimum requirement, or a country nobody answers for at
    /// all hours.
    Partial,
    /// A national CSIRT that meets every minimum requirement, and 24/7 availability.
    Full,
}

impl CoverageStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageStatus::None => "none",
            CoverageStatus::ContactOnly => "contact-only",
            CoverageStatus::Partial => "partial",
            CoverageStatus::Full => "full",
        }
    }
}

/// Who speaks for a country in the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "team", rename_all = "kebab-case")]
pub enum PointOfContact {
    /// A node of the country is in the roster.
    Roster,
    /// No roster node, but the directory has this team of the country (the first by id).
    Team(TeamId),
}

/// One member state's coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateCoverage {
    /// The state.
    pub country: CountryCode,
    /// Its English name.
    pub name_en: String,
    /// `none`, `contact-only`, `partial` or `full`.
    pub status: CoverageStatus,
    /// Its national CSIRT: the team of type `national` of the country (the first by id when the
    /// directory has several).
    pub national_team: Option<TeamId>,
    /// Its point of contact: a roster node, or else any team of the country.
    pub point_of_contact: Option<PointOfContact>,
    /// Teams whose country it is.
    pub teams: usize,
    /// Those teams by type (every type, zeros included).
    pub teams_by_type: BTreeMap<TeamType, usize>,
    /// Whether any team of the country is available 24/7.
    pub available_24x7: bool,
    /// Sector keys no team covers in the country. A team covers sector S in country C when C is
    /// its country or one of its constituency countries, and S is one of its constituency
    /// sectors.
    pub uncovered_sectors: Vec<String>,
    /// Requirement ids the national team misses (empty when there is no national team).
    pub missing_requirements: Vec<String>,
    /// The national team's SIM3 band (0–4), when it assessed itself.
    pub sim3_band: Option<u8>,
}

/// A team that misses minimum requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamGap {
    /// The team.
    pub team: TeamId,
    /// Its country.
    pub country: CountryCode,
    /// Requirement ids it misses, in the set's order.
    pub missing: Vec<String>,
}

/// The teams' SIM3 self-assessments, summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaturityDistribution {
    /// Index = band 0–4: teams whose mean level over the SIM3 parameters they assessed rounds
    /// (half up) to that band.
    pub bands: [usize; 5],
    /// Teams without an assessment (or with no known SIM3 parameter in it).
    pub unassessed: usize,
    /// Category letter (`O`, `H`, `T`, `P`) → the mean over assessed teams of each team's mean
    /// level in that category (a team that assessed no parameter of a category is left out of
    /// it; a category no team assessed is absent).
    pub categories: BTreeMap<String, f64>,
}

/// Network-wide counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageTotals {
    /// Member states reported on.
    pub member_states: usize,
    /// Teams in the directory.
    pub teams: usize,
    /// Member states with a national CSIRT.
    pub with_national_csirt: usize,
    /// States whose status is `full`.
    pub full: usize,
    /// States whose status is `partial`.
    pub partial: usize,
    /// States whose status is `contact-only`.
    pub contact_only: usize,
    /// States whose status is `none`.
    pub none: usize,
    /// States with a team available 24/7.
    pub available_24x7: usize,
}

/// The coverage report. Per member state ([`StateCoverage`]): its national team or none, its
/// point of contact (roster node or any team), its teams by type, its status (`none`,
/// `contact-only`, `partial`, `full`), whether any of its teams is available 24/7, the sectors no
/// team covers there, the national team's missing requirements and SIM3 band. Network-wide: the
/// states without a national CSIRT, the states without any point of contact, every team that
/// misses minimum requirements (with the ids), sector gaps (sector → states where no team covers
/// it), 24/7 gaps (states where no team is available 24/7), the SIM3 maturity distribution and the
/// totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// Version of the minimum service set applied.
    pub minimum_version: u32,
    /// Per member state, in the order given.
    pub states: Vec<StateCoverage>,
    /// States without a national CSIRT.
    pub without_national_csirt: Vec<CountryCode>,
    /// States without any point of contact.
    pub without_contact: Vec<CountryCode>,
    /// Teams (any type, by id) that miss at least one minimum requirement.
    pub teams_missing_requirements: Vec<TeamGap>,
    /// Sector key → states where no team covers it (sectors covered everywhere are absent).
    pub sector_gaps: BTreeMap<String, Vec<CountryCode>>,
    /// States where no team is available 24/7.
    pub gaps_24x7: Vec<CountryCode>,
    /// SIM3 maturity over all teams.
    pub maturity: MaturityDistribution,
    /// Counts.
    pub totals: CoverageTotals,
}

/// A team's mean SIM3 level per category letter and overall, over known parameters.
fn sim3_means(team: &TeamRecord) -> Option<(f64, BTreeMap<String, f64>)> {
    let levels = &team.sim3.as_ref()?.levels;
    let mut all = Vec::new();
    let mut by_category: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (id, level) in levels {
        let Some(param) = vocab::sim3_parameter(id) else {
            continue;
        };
        let level = f64::from((*level).min(4));
        all.push(level);
        let letter: String = param.category.chars().take(1).collect();
        by_category.entry(letter).or_default().push(level);
    }
    if all.is_empty() {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Some((
        mean(&all),
        by_category
            .into_iter()
            .map(|(k, v)| (k, mean(&v)))
            .collect(),
    ))
}

fn band(mean: f64) -> u8 {
    // Half up; mean levels are within 0..=4 (levels above 4 were clamped), so the cast is exact.
    (mean + 0.5).floor().clamp(0.0, 4.0) as u8
}

fn covers(team: &TeamRecord, country: CountryCode, sector: &str) -> bool {
    (team.country == country || team.constituency.countries.contains(&country))
        && team.constituency.sectors.iter().any(|s| s == sector)
}

/// Coverage of the member states by the directory's teams (see [`CoverageReport`]).
pub fn coverage(input: &CoverageInput) -> CoverageReport {
    let mut teams: Vec<&TeamRecord> = input.teams.iter().collect();
    teams.sort_by(|a, b| a.id.cmp(&b.id));

    let mut states = Vec::new();
    let mut sector_gaps: BTreeMap<String, Vec<CountryCode>> = BTreeMap::new();
    for state in input.states {
        let c = state.iso2;
        let own: Vec<&TeamRecord> = teams.iter().copied().filter(|t| t.country == c).collect();
        let national = own
            .iter()
            .copied()
            .find(|t| t.team_type == TeamType::National);
        let point_of_contact = if input.roster_countries.contains(&c) {
            Some(PointOfContact::Roster)
        } else {
            own.first().map(|t| PointOfContact::Team(t.id.clone()))
        };
        let teams_by_type = TeamType::ALL
            .into_iter()
            .map(|ty| (ty, own.iter().filter(|t| t.team_type == ty).count()))
            .collect();
        let available_24x7 = own.iter().any(|t| t.available_24x7);
        let uncovered_sectors: Vec<String> = vocab::sectors()
            .iter()
            .filter(|s| !teams.iter().any(|t| covers(t, c, &s.key)))
            .map(|s| s.key.clone())
            .collect();
        for s in &uncovered_sectors {
            sector_gaps.entry(s.clone()).or_default().push(c);
        }
        let missing_requirements = national
            .map(|t| input.minimum.missing(t, input.accepted_agreement))
            .unwrap_or_default();
        let status = match (national, &point_of_contact) {
            (Some(_), _) if missing_requirements.is_empty() && available_24x7 => {
                CoverageStatus::Full
            }
            (Some(_), _) => CoverageStatus::Partial,
            (None, Some(_)) => CoverageStatus::ContactOnly,
            (None, None) => CoverageStatus::None,
        };
        states.push(StateCoverage {
            country: c,
            name_en: state.name_en.clone(),
            status,
            national_team: national.map(|t| t.id.clone()),
            point_of_contact,
            teams: own.len(),
            teams_by_type,
            available_24x7,
            uncovered_sectors,
            missing_requirements,
            sim3_band: national.and_then(sim3_means).map(|(m, _)| band(m)),
        });
    }

    let teams_missing_requirements = teams
        .iter()
        .filter_map(|t| {
            let missing = input.minimum.missing(t, input.accepted_agreement);
            (!missing.is_empty()).then(|| TeamGap {
                team: t.id.clone(),
                country: t.country,
                missing,
            })
        })
        .collect();

    let mut bands = [0usize; 5];
    let mut unassessed = 0;
    let mut category_means: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for t in &teams {
        match sim3_means(t) {
            Some((mean, categories)) => {
                if let Some(slot) = bands.get_mut(usize::from(band(mean))) {
                    *slot += 1;
                }
                for (k, v) in categories {
                    category_means.entry(k).or_default().push(v);
                }
            }
            None => unassessed += 1,
        }
    }
    let maturity = MaturityDistribution {
        bands,
        unassessed,
        categories: category_means
            .into_iter()
            .map(|(k, v)| (k, v.iter().sum::<f64>() / v.len() as f64))
            .collect(),
    };

    let count = |s: CoverageStatus| states.iter().filter(|x| x.status == s).count();
    let totals = CoverageTotals {
        member_states: states.len(),
        teams: teams.len(),
        with_national_csirt: states.iter().filter(|s| s.national_team.is_some()).count(),
        full: count(CoverageStatus::Full),
        partial: count(CoverageStatus::Partial),
        contact_only: count(CoverageStatus::ContactOnly),
        none: count(CoverageStatus::None),
        available_24x7: states.iter().filter(|s| s.available_24x7).count(),
    };
    CoverageReport {
        minimum_version: input.minimum.version,
        without_national_csirt: states
            .iter()
            .filter(|s| s.national_team.is_none())
            .map(|s| s.country)
            .collect(),
        without_contact: states
            .iter()
            .filter(|s| s.point_of_contact.is_none())
            .map(|s| s.country)
            .collect(),
        teams_missing_requirements,
        sector_gaps,
        gaps_24x7: states
            .iter()
            .filter(|s| !s.available_24x7)
            .map(|s| s.country)
            .collect(),
        maturity,
        totals,
        states,
    }
}

/// The report as CSV, one row per member state: `iso2, name_en, status, national_team,
/// point_of_contact` (`roster`, or the id of the team that is the contact), `teams,
/// available_24x7, missing_requirements, uncovered_sectors` (both `;`-separated) and `sim3_band`.
pub fn to_csv(report: &CoverageReport) -> String {
    let mut out = String::from(
        "iso2,name_en,status,national_team,point_of_contact,teams,available_24x7,missing_requirements,uncovered_sectors,sim3_band\n",
    );
    for s in &report.states {
        let poc = match &s.point_of_contact {
            Some(PointOfContact::Roster) => "roster".to_owned(),
            Some(PointOfContact::Team(t)) => t.to_string(),
            None => String::new(),
        };
        let fields = [
            s.country.to_string(),
            s.name_en.clone(),
            s.status.as_str().to_owned(),
            s.national_team
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            poc,
            s.teams.to_string(),
            s.available_24x7.to_string(),
            s.missing_requirements.join(";"),
            s.uncovered_sectors.join(";"),
            s.sim3_band.map(|b| b.to_string()).unwrap_or_default(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled; a
/// field that a spreadsheet would read as a formula gets a leading `'`.
fn csv_field(f: &str) -> String {
    let f = if f.starts_with(['=', '+', '-', '@']) {
        format!("'{f}")
    } else {
        f.to_owned()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::member_states;

    fn team(v: Value) -> TeamRecord {
        let mut base = json!({
            "official_name": "A team", "short_name": "T",
            "updated": "2026-01-01T00:00:00.000Z"
        });
        for (k, val) in v.as_object().unwrap() {
            base[k] = val.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn flags(d: bool, a: bool, s: bool) -> Value {
        json!({"disseminates_nationally": d, "authorised_to_share": a, "assists_other_teams": s})
    }

    fn designation() -> Value {
        json!({"reference": "Decree 1", "date": "2020-01-01"})
    }

    /// Four states, six teams:
    ///
    /// | team            | country | type       | designated | flags (d,a,s) | services              | 24/7 | sectors (countries)                | SIM3                     |
    /// |-----------------|---------|------------|------------|---------------|-----------------------|------|------------------------------------|--------------------------|
    /// | cl-csirt        | CL      | national   | yes        | y y y         | incident-coordination | yes  | government, energy                 | O-1 3, O-2 3, H-1 2, T-1 4 |
    /// | cl-csirt/banca  | CL      | sectoral   | no         | n n n         | incident-analysis     | no   | financial-services                 | none                     |
    /// | br-cert         | BR      | national   | yes        | y y n         | incident-coordination | yes  | financial-services, energy, communications | O-1 2, P-1 1     |
    /// | br-cert/rnp     | BR      | academic   | no         | n n n         | —                     | no   | information-technology (+JM)       | H-1 0, H-2 1             |
    /// | jm-cirt         | JM      | government | yes        | y y y         | incident-coordination | yes  | government                         | none                     |
    /// | jm-cirt/telco   | JM      | private    | no         | n n n         | —                     | no   | communications (+HT)               | X-9 3 (unknown: unassessed) |
    ///
    /// Nodes cl-csirt and br-cert accepted the agreement; CL and BR have roster nodes.
    fn fixture() -> (
        Vec<MemberState>,
        Vec<TeamRecord>,
        BTreeSet<NodeId>,
        BTreeSet<CountryCode>,
    ) {
        let states = ["CL", "BR", "JM", "HT"]
            .map(|c| member_states::by_code(c).unwrap().clone())
            .to_vec();
        let teams = vec![
            // Given out of id order: the report sorts by id.
            team(
                json!({"id": "jm-cirt/telco", "country": "JM", "team_type": "private",
                "constituency": {"sectors": ["communications"], "countries": ["HT"]},
                "sim3": {"assessed": "2025-01-01", "levels": {"X-9": 3}}}),
            ),
            team(
                json!({"id": "cl-csirt", "country": "CL", "team_type": "national",
                "designation": designation(), "mandate": flags(true, true, true),
                "services": ["incident-coordination"], "available_24x7": true,
                "constituency": {"sectors": ["government", "energy"]},
                "sim3": {"assessed": "2025-01-01",
                         "levels": {"O-1": 3, "O-2": 3, "H-1": 2, "T-1": 4}}}),
            ),
            team(
                json!({"id": "cl-csirt/banca", "country": "CL", "team_type": "sectoral",
                "services": ["incident-analysis"],
                "constituency": {"sectors": ["financial-services"]}}),
            ),
            team(
                json!({"id": "br-cert", "country": "BR", "team_type": "national",
                "designation": designation(), "mandate": flags(true, true, false),
                "services": ["incident-coordination"], "available_24x7": true,
                "constituency": {"sectors": ["financial-services", "energy", "communications"]},
                "sim3": {"assessed": "2025-01-01", "levels": {"O-1": 2, "P-1": 1}}}),
            ),
            team(
                json!({"id": "br-cert/rnp", "country": "BR", "team_type": "academic",
                "constituency": {"sectors": ["information-technology"], "countries": ["JM"]},
                "sim3": {"assessed": "2025-01-01", "levels": {"H-1": 0, "H-2": 1}}}),
            ),
            team(
                json!({"id": "jm-cirt", "country": "JM", "team_type": "government",
                "designation": designation(), "mandate": flags(true, true, true),
                "services": ["incident-coordination"], "available_24x7": true,
                "constituency": {"sectors": ["government"]}}),
            ),
        ];
        let accepted = ["cl-csirt", "br-cert"]
            .map(|n| NodeId::new(n).unwrap())
            .into();
        let roster = ["CL", "BR"].map(|c| CountryCode::new(c).unwrap()).into();
        (states, teams, accepted, roster)
    }

    fn cc(list: &[&str]) -> Vec<CountryCode> {
        list.iter().map(|c| CountryCode::new(c).unwrap()).collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Every sector key except these, in the data file's order.
    fn sectors_except(covered: &[&str]) -> Vec<String> {
        vocab::sectors()
            .iter()
            .map(|s| s.key.clone())
            .filter(|k| !covered.contains(&k.as_str()))
            .collect()
    }

    fn id(s: &str) -> TeamId {
        TeamId::new(s).unwrap()
    }

    #[test]
    fn the_default_minimum_set_is_the_networks() {
        let set: MinimumServiceSet = serde_json::from_str(DEFAULT_MINIMUM_SET).unwrap();
        assert_eq!(set, default_minimum_set(), "the embedded file parsed");
        assert_eq!(set.check(), Ok(()));
        let ids: Vec<&str> = set.requirements.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "designated",
                "accepted-agreement",
                "disseminates-nationally",
                "authorised-to-share",
                "assists-other-teams",
                "incident-coordination"
            ]
        );
        assert!(set.requirements.iter().all(|r| r.name.has_all_languages()));
    }

    #[test]
    fn every_minimum_set_rejection_has_its_code() {
        type Edit = fn(&mut MinimumServiceSet);
        let cases: [(&str, Edit); 8] = [
            ("bad-version", |s| s.version = 0),
            ("too-small", |s| s.requirements.clear()),
            ("too-large", |s| {
                let one = s.requirements[0].clone();
                s.requirements = (0..51)
                    .map(|i| Requirement {
                        id: format!("r{i}"),
                        ..one.clone()
                    })
                    .collect();
            }),
            ("bad-id", |s| s.requirements[0].id = "Designated".into()),
            ("duplicate-id", |s| {
                s.requirements[1].id = "designated".into()
            }),
            ("missing-label", |s| {
                s.requirements[0].name = Text::default()
            }),
            ("missing-services", |s| {
                s.requirements[5].test = RequirementTest::Service { any_of: vec![] };
            }),
            ("unknown-service", |s| {
                s.requirements[5].test = RequirementTest::Service {
                    any_of: vec!["incident-coordination".into(), "firewalls".into()],
                };
            }),
        ];
        for (code, edit) in cases {
            let mut set = default_minimum_set();
            edit(&mut set);
            let got: Vec<&str> = set.check().unwrap_err().iter().map(|p| p.code).collect();
            assert_eq!(got, [code]);
        }
        let unknown_kind = r#"{"version":1,"requirements":[{"id":"x","name":{"en":"X"},
            "test":{"kind":"audited"}}]}"#;
        assert!(serde_json::from_str::<MinimumServiceSet>(unknown_kind).is_err());
        let unknown_flag = r#"{"version":1,"requirements":[{"id":"x","name":{"en":"X"},
            "test":{"kind":"mandate","flag":"answers_phone"}}]}"#;
        assert!(serde_json::from_str::<MinimumServiceSet>(unknown_flag).is_err());
    }

    #[test]
    fn coverage_of_a_small_hemisphere_matches_the_hand_count() {
        let (states, teams, accepted, roster) = fixture();
        let minimum = default_minimum_set();
        let report = coverage(&CoverageInput {
            states: &states,
            teams: &teams,
            accepted_agreement: &accepted,
            roster_countries: &roster,
            minimum: &minimum,
        });
        assert_eq!(report.minimum_version, 1);
        let [cl, br, jm, ht] = &report.states[..] else {
            panic!("four states in the order given");
        };
        let by_type = |n: usize, g: usize, s: usize, a: usize, p: usize| {
            BTreeMap::from([
                (TeamType::National, n),
                (TeamType::Government, g),
                (TeamType::Sectoral, s),
                (TeamType::Academic, a),
                (TeamType::Private, p),
            ])
        };

        // Chile: cl-csirt meets all six requirements (designated, its node accepted, three
        // flags, incident coordination) and is 24/7 → full. Sectors covered: government and
        // energy (cl-csirt), financial services (banca) → 13 of 16 uncovered. SIM3 mean
        // (3+3+2+4)/4 = 3 → band 3.
        assert_eq!(cl.name_en, "Chile");
        assert_eq!(cl.status, CoverageStatus::Full);
        assert_eq!(cl.national_team, Some(id("cl-csirt")));
        assert_eq!(cl.point_of_contact, Some(PointOfContact::Roster));
        assert_eq!(cl.teams, 2);
        assert_eq!(cl.teams_by_type, by_type(1, 0, 1, 0, 0));
        assert!(cl.available_24x7);
        assert_eq!(
            cl.uncovered_sectors,
            sectors_except(&["government", "energy", "financial-services"])
        );
        assert_eq!(cl.uncovered_sectors.len(), 13);
        assert!(cl.missing_requirements.is_empty());
        assert_eq!(cl.sim3_band, Some(3));

        // Brazil: br-cert does not assist other teams → partial. Covered: financial services,
        // energy, communications (br-cert), information technology (rnp) → 12 uncovered. SIM3
        // mean (2+1)/2 = 1.5 → band 2 (half up).
        assert_eq!(br.status, CoverageStatus::Partial);
        assert_eq!(br.national_team, Some(id("br-cert")));
        assert_eq!(br.point_of_contact, Some(PointOfContact::Roster));
        assert_eq!(br.teams_by_type, by_type(1, 0, 0, 1, 0));
        assert!(br.available_24x7);
        assert_eq!(
            br.uncovered_sectors,
            sectors_except(&[
                "financial-services",
                "energy",
                "communications",
                "information-technology"
            ])
        );
        assert_eq!(br.missing_requirements, strings(&["assists-other-teams"]));
        assert_eq!(br.sim3_band, Some(2));

        // Jamaica: no national team (jm-cirt is a government team), no roster node → its
        // contact is its first team by id, jm-cirt → contact-only. 24/7 through jm-cirt.
        // Covered: government (jm-cirt), communications (telco), information technology (rnp,
        // which serves JM from Brazil) → 13 uncovered.
        assert_eq!(jm.status, CoverageStatus::ContactOnly);
        assert_eq!(jm.national_team, None);
        assert_eq!(
            jm.point_of_contact,
            Some(PointOfContact::Team(id("jm-cirt")))
        );
        assert_eq!(jm.teams, 2);
        assert_eq!(jm.teams_by_type, by_type(0, 1, 0, 0, 1));
        assert!(jm.available_24x7);
        assert_eq!(
            jm.uncovered_sectors,
            sectors_except(&["government", "communications", "information-technology"])
        );
        assert!(jm.missing_requirements.is_empty());
        assert_eq!(jm.sim3_band, None);

        // Haiti: no team of its own, no roster node → none; the Jamaican telco serves its
        // communications sector, so 15 sectors are uncovered.
        assert_eq!(ht.status, CoverageStatus::None);
        assert_eq!(ht.point_of_contact, None);
        assert_eq!(ht.teams, 0);
        assert_eq!(ht.teams_by_type, by_type(0, 0, 0, 0, 0));
        assert!(!ht.available_24x7);
        assert_eq!(ht.uncovered_sectors, sectors_except(&["communications"]));

        assert_eq!(report.without_national_csirt, cc(&["JM", "HT"]));
        assert_eq!(report.without_contact, cc(&["HT"]));
        assert_eq!(report.gaps_24x7, cc(&["HT"]));

        // Every team but cl-csirt misses something; hosted teams count their node's acceptance
        // (banca and rnp do not miss `accepted-agreement`), jm-cirt's node did not accept.
        let all_but_agreement = strings(&[
            "designated",
            "disseminates-nationally",
            "authorised-to-share",
            "assists-other-teams",
            "incident-coordination",
        ]);
        let gaps: Vec<(TeamId, Vec<String>)> = report
            .teams_missing_requirements
            .iter()
            .map(|g| (g.team.clone(), g.missing.clone()))
            .collect();
        assert_eq!(
            gaps,
            [
                (id("br-cert"), strings(&["assists-other-teams"])),
                (id("br-cert/rnp"), all_but_agreement.clone()),
                (id("cl-csirt/banca"), all_but_agreement),
                (id("jm-cirt"), strings(&["accepted-agreement"])),
                (
                    id("jm-cirt/telco"),
                    minimum.requirements.iter().map(|r| r.id.clone()).collect()
                ),
            ]
        );
        assert_eq!(report.teams_missing_requirements[3].country, cc(&["JM"])[0]);

        // Sector gaps: every sector appears (none is covered in all four states).
        assert_eq!(report.sector_gaps.len(), 16);
        assert_eq!(report.sector_gaps["government"], cc(&["BR", "HT"]));
        assert_eq!(report.sector_gaps["energy"], cc(&["JM", "HT"]));
        assert_eq!(report.sector_gaps["financial-services"], cc(&["JM", "HT"]));
        assert_eq!(report.sector_gaps["communications"], cc(&["CL"]));
        assert_eq!(
            report.sector_gaps["information-technology"],
            cc(&["CL", "HT"])
        );
        assert_eq!(report.sector_gaps["water"], cc(&["CL", "BR", "JM", "HT"]));

        // Maturity: cl-csirt band 3, br-cert band 2, rnp mean 0.5 → band 1; banca and jm-cirt
        // have no assessment and telco's only parameter is unknown → 3 unassessed.
        // O: cl 3, br 2 → 2.5; H: cl 2, rnp 0.5 → 1.25; T: cl 4; P: br 1.
        assert_eq!(report.maturity.bands, [0, 1, 1, 1, 0]);
        assert_eq!(report.maturity.unassessed, 3);
        let cats: Vec<(&str, f64)> = report
            .maturity
            .categories
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(cats, [("H", 1.25), ("O", 2.5), ("P", 1.0), ("T", 4.0)]);

        assert_eq!(
            report.totals,
            CoverageTotals {
                member_states: 4,
                teams: 6,
                with_national_csirt: 2,
                full: 1,
                partial: 1,
                contact_only: 1,
                none: 1,
                available_24x7: 3,
            }
        );

        let csv = to_csv(&report);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[0],
            "iso2,name_en,status,national_team,point_of_contact,teams,available_24x7,missing_requirements,uncovered_sectors,sim3_band"
        );
        assert_eq!(
            lines[2],
            format!(
                "BR,Brazil,partial,br-cert,roster,2,true,assists-other-teams,{},2",
                br.uncovered_sectors.join(";")
            )
        );
        assert_eq!(
            lines[3],
            format!(
                "JM,Jamaica,contact-only,,jm-cirt,2,true,,{},",
                jm.uncovered_sectors.join(";")
            )
        );
        assert!(lines[4].starts_with("HT,Haiti,none,,,0,false,,chemical;"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["states"][2]["status"], "contact-only");
        assert_eq!(
            json["states"][2]["point_of_contact"],
            json!({"kind": "team", "team": "jm-cirt"})
        );
        assert_eq!(json["states"][0]["teams_by_type"]["national"], 1);
    }

    #[test]
    fn a_national_team_without_anyone_at_night_is_partial() {
        let (states, mut teams, accepted, roster) = fixture();
        for t in &mut teams {
            t.available_24x7 = false;
        }
        let minimum = default_minimum_set();
        let report = coverage(&CoverageInput {
            states: &states,
            teams: &teams,
            accepted_agreement: &accepted,
            roster_countries: &roster,
            minimum: &minimum,
        });
        assert_eq!(report.states[0].status, CoverageStatus::Partial);
        assert!(report.states[0].missing_requirements.is_empty());
        assert_eq!(report.gaps_24x7, cc(&["CL", "BR", "JM", "HT"]));
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Bahamas, The"), "\"Bahamas, The\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("plain"), "plain");
    }
}
