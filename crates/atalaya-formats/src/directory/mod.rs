//! Directory formats: the team record ([`atalaya_core::directory::TeamRecord`]) in and out of
//! the formats of the Trusted Introducer and FIRST directories, our own JSON, CSV, RFC 2350 and
//! vCard.
//!
//! Every importer refuses input over [`MAX_INPUT_BYTES`] (`too-large`) and input that is not
//! the format at all (`malformed`, with the position); an importer of a list of teams gives one
//! result per team, so that a report can name each team it refused ([`ImportProblem`]).

pub mod csv;
pub mod first;
pub mod json;
pub mod rfc2350;
pub mod ti;
pub mod vcard;

use atalaya_core::directory::{
    BusinessHours, Constituency, Day, Email, FirstMembership, Mandate, PgpKey, Phone, PhoneUsage,
    TeamId, TeamRecord, TeamType, TiClassification,
};
use atalaya_core::{CountryCode, NodeId, Timestamp};
use serde_json::Value;

/// The largest document an importer reads: 16 MiB (the whole Trusted Introducer directory is
/// well under 2 MiB).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Why a whole document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Over [`MAX_INPUT_BYTES`].
    #[error("the document is {size} bytes; the most accepted is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not the format at all.
    #[error("malformed document at line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A document of another format.
    #[error("this is not an Atalaya directory document (format {0:?})")]
    UnknownFormat(String),
    /// A version this software does not read.
    #[error("directory document version {0} is not supported (this software reads version 1)")]
    UnsupportedVersion(String),
}

impl FormatError {
    /// The stable code (`too-large`, `malformed`, `unknown-format`, `unsupported-version`).
    pub fn code(&self) -> &'static str {
        match self {
            FormatError::TooLarge { .. } => "too-large",
            FormatError::Malformed { .. } => "malformed",
            FormatError::UnknownFormat(_) => "unknown-format",
            FormatError::UnsupportedVersion(_) => "unsupported-version",
        }
    }

    /// A malformed-document error without a position.
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        FormatError::Malformed {
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// A malformed-document error from serde_json, keeping its line and column.
    pub(crate) fn from_json(e: &serde_json::Error) -> Self {
        FormatError::Malformed {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// Refuse a document over [`MAX_INPUT_BYTES`].
pub(crate) fn check_size(input: &[u8]) -> Result<(), FormatError> {
    if input.len() > MAX_INPUT_BYTES {
        Err(FormatError::TooLarge {
            size: input.len(),
            limit: MAX_INPUT_BYTES,
        })
    } else {
        Ok(())
    }
}

/// Why one team of an imported document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{team}: {message} ({code})")]
pub struct ImportProblem {
    /// The team's short name, or `#<n>` (1-based position) when it has none.
    pub team: String,
    /// A stable code: `missing-field`, `invalid-field` or `duplicate-id`.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl ImportProblem {
    pub(crate) fn new(team: &str, code: &'static str, message: impl Into<String>) -> Self {
        ImportProblem {
            team: team.to_owned(),
            code,
            message: message.into(),
        }
    }
}

/// One team of an imported list, as its problems name it: its short name (read from the
/// field `name_field` of the raw team), or `#<n>` (1-based position) when it has none.
pub(crate) struct TeamLabel(String);

impl TeamLabel {
    fn of(value: &Value, name_field: &str, index: usize) -> Self {
        TeamLabel(
            value
                .get(name_field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{}", index + 1)),
        )
    }

    /// The team has a field of the wrong shape or an unreadable value (`invalid-field`).
    pub(crate) fn invalid(&self, message: impl Into<String>) -> ImportProblem {
        ImportProblem::new(&self.0, "invalid-field", message)
    }

    /// The team lacks a field it must have (`missing-field`).
    pub(crate) fn missing(&self, field: &str) -> ImportProblem {
        ImportProblem::new(
            &self.0,
            "missing-field",
            format!("the team has no `{field}`"),
        )
    }
}

/// Import each team of a JSON list with `import_one`, in the list's order, naming each by its
/// `name_field` ([`TeamLabel`]); a later team that repeats an earlier one's id is refused
/// ([`refuse_duplicates`]).
pub(crate) fn import_each(
    teams: Vec<Value>,
    name_field: &str,
    import_one: impl Fn(Value, &TeamLabel) -> Result<TeamRecord, ImportProblem>,
) -> Vec<Result<TeamRecord, ImportProblem>> {
    let results = teams
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let label = TeamLabel::of(&v, name_field, i);
            import_one(v, &label)
        })
        .collect();
    refuse_duplicates(results)
}

/// What a directory format (Trusted Introducer, FIRST) says of one team: the fields such a
/// directory carries. The rest of the record is the importing node's: see [`Self::into_record`].
pub(crate) struct ImportedTeam {
    pub(crate) short_name: String,
    pub(crate) official_name: String,
    pub(crate) country: CountryCode,
    pub(crate) team_type: TeamType,
    pub(crate) host_organisation: Option<String>,
    pub(crate) postal_address: Option<String>,
    pub(crate) website: Option<String>,
    pub(crate) established: Option<Day>,
    pub(crate) constituency: Constituency,
    pub(crate) business_hours: Option<BusinessHours>,
    pub(crate) emails: Vec<Email>,
    pub(crate) phones: Vec<Phone>,
    pub(crate) pgp_keys: Vec<PgpKey>,
    pub(crate) first: Option<FirstMembership>,
    pub(crate) trusted_introducer: Option<TiClassification>,
}

impl ImportedTeam {
    /// The team's record in `host`'s directory as of `now`: its id is hosted by `host`
    /// ([`hosted_id`] of the short name), it is available 24x7 when it has an emergency number,
    /// and what no such directory carries (designation, services, mandate, SIM3, notes,
    /// confirmation) is left empty.
    pub(crate) fn into_record(
        self,
        host: &NodeId,
        now: Timestamp,
        label: &TeamLabel,
    ) -> Result<TeamRecord, ImportProblem> {
        let id = hosted_id(host, &self.short_name).map_err(|e| {
            label.invalid(format!("no team id can be made from the short name: {e}"))
        })?;
        let available_24x7 = self
            .phones
            .iter()
            .any(|p| p.usage.contains(&PhoneUsage::Emergency));
        Ok(TeamRecord {
            id,
            official_name: self.official_name,
            short_name: self.short_name,
            country: self.country,
            team_type: self.team_type,
            host_organisation: self.host_organisation,
            postal_address: self.postal_address,
            website: self.website,
            established: self.established,
            designation: None,
            constituency: self.constituency,
            services: Vec::new(),
            business_hours: self.business_hours,
            available_24x7,
            emails: self.emails,
            phones: self.phones,
            pgp_keys: self.pgp_keys,
            first: self.first,
            trusted_introducer: self.trusted_introducer,
            mandate: Mandate::default(),
            sim3: None,
            member_notes: None,
            contacts_confirmed: None,
            updated: now,
            demo: false,
        })
    }
}

/// Which part of the records an export shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Everything, for the network's members.
    Members,
    /// [`TeamRecord::public_view`] only.
    Public,
}

impl View {
    /// The record as this view shows it.
    pub fn apply(self, team: &TeamRecord) -> TeamRecord {
        match self {
            View::Members => team.clone(),
            View::Public => team.public_view(),
        }
    }
}

/// A slug for a team id from a team's short name: lower-case ASCII (common Latin accents
/// folded: `Panamá` → `panama`), anything else → `-`, runs collapsed, trimmed, at most 63
/// characters, starting with a letter (`team-` is put in front otherwise).
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = fold_accent(c).to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s = out.trim_matches('-').to_owned();
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) || s.len() < 2 {
        s = format!("team-{s}");
    }
    s.truncate(63);
    s.trim_end_matches('-').to_owned()
}

fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'A',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => 'O',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ç' => 'c',
        'Ç' => 'C',
        other => other,
    }
}

/// The id of a team hosted by `host`, from its short name.
pub(crate) fn hosted_id(host: &NodeId, short_name: &str) -> Result<TeamId, String> {
    TeamId::hosted(host, &slug(short_name))
}

/// Infer the team type from Trusted Introducer-style constituency types.
pub fn infer_team_type(types: &[String]) -> atalaya_core::directory::TeamType {
    use atalaya_core::directory::TeamType;
    let lower: Vec<String> = types.iter().map(|t| t.to_lowercase()).collect();
    let any = |words: &[&str]| lower.iter().any(|t| words.iter().any(|w| t.contains(w)));
    if any(&["national"]) {
        TeamType::National
    } else if any(&["government", "governmental", "public administration"]) {
        TeamType::Government
    } else if any(&["research", "education", "academic", "university"]) {
        TeamType::Academic
    } else if any(&[
        "ciip",
        "critical",
        "financial",
        "finance",
        "banking",
        "energy",
        "health",
        "telecom",
        "transport",
        "water",
        "sector",
    ]) {
        TeamType::Sectoral
    } else {
        TeamType::Private
    }
}

/// Normalise an OpenPGP fingerprint: hexadecimal digits only, upper case.
pub(crate) fn normalise_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A fingerprint in groups of four (`945C 2808 ...`), as directories print it.
pub fn spaced_fingerprint(fp: &str) -> String {
    let chars: Vec<char> = fp.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Give each of a list of per-team results a distinct id: a later team whose id repeats an
/// earlier one is refused with `duplicate-id`.
pub(crate) fn refuse_duplicates(
    results: Vec<Result<TeamRecord, ImportProblem>>,
) -> Vec<Result<TeamRecord, ImportProblem>> {
    let mut seen = std::collections::BTreeSet::new();
    results
        .into_iter()
        .map(|r| match r {
            Ok(team) if !seen.insert(team.id.clone()) => Err(ImportProblem::new(
                &team.short_name,
                "duplicate-id",
                format!(
                    "another team of this document already has the id {}",
                    team.id
                ),
            )),
            other => other,
        })
        .collect()
}

/// English name of a country: the member state's, else the code itself.
pub(crate) fn country_name(code: &str) -> String {
    atalaya_core::member_states::by_code(code)
        .map(|s| s.name_en.clone())
        .unwrap_or_else(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_team_id_slugs() {
        assert_eq!(slug("CERT.at"), "cert-at");
        assert_eq!(slug("  CSIRT  Panamá!! "), "csirt-panama");
        assert_eq!(slug("360 CERT"), "team-360-cert");
        assert_eq!(slug("é"), "team-e");
        let long = slug(&"A-".repeat(100));
        assert!(long.len() <= 63 && !long.ends_with('-'));
        let host = NodeId::new("cl-csirt").unwrap();
        for name in ["CERT.at", "360 CERT", "x", "ÑAÑA---", &"Zz ".repeat(40)] {
            assert!(hosted_id(&host, name).is_ok(), "{name}");
        }
    }

    #[test]
    fn team_types_follow_constituency_words() {
        use atalaya_core::directory::TeamType;
        let t = |s: &[&str]| infer_team_type(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&["National"]), TeamType::National);
        assert_eq!(t(&["Governmental"]), TeamType::Government);
        assert_eq!(t(&["Research & Education"]), TeamType::Academic);
        assert_eq!(t(&["CIIP"]), TeamType::Sectoral);
        assert_eq!(t(&["Financial"]), TeamType::Sectoral);
        assert_eq!(t(&["Commercial Organisation"]), TeamType::Private);
        assert_eq!(t(&[]), TeamType::Private);
    }

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(
            check_size(&vec![b' '; MAX_INPUT_BYTES + 1]).map_err(|e| e.code()),
            Err("too-large")
        );
        assert!(check_size(b"[]").is_ok());
    }
}
