//! The OAS member states, from the project's own data file (embedded at build time).

use serde::Deserialize;

use crate::CountryCode;

const CSV: &str = include_str!("../../../data/oas_member_states.csv");

/// One member state of the Organization of American States.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// ISO 3166-1 alpha-2.
    pub iso2: CountryCode,
    /// ISO 3166-1 alpha-3.
    pub iso3: String,
    /// English name.
    pub name_en: String,
    /// Spanish name.
    pub name_es: String,
    /// Portuguese name.
    pub name_pt: String,
    /// French name.
    pub name_fr: String,
    /// Main languages (ISO 639-1), most used first.
    pub languages: Vec<String>,
    /// IANA time zone of the capital.
    pub timezone: String,
    /// OAS sub-region.
    pub subregion: String,
    /// `active`, `member-not-participating`, `withdrawn` or `disputed`.
    pub status: String,
}

#[derive(Deserialize)]
struct Row {
    iso2: String,
    iso3: String,
    name_en: String,
    name_es: String,
    name_pt: String,
    name_fr: String,
    languages: String,
    timezone: String,
    oas_subregion: String,
    status: String,
}

/// The 35 member states in the data file's order.
pub fn all() -> Vec<MemberState> {
    let mut reader = csv::Reader::from_reader(CSV.as_bytes());
    reader
        .deserialize::<Row>()
        .filter_map(Result::ok)
        .filter_map(|r| {
            Some(MemberState {
                iso2: CountryCode::new(&r.iso2).ok()?,
                iso3: r.iso3,
                name_en: r.name_en,
                name_es: r.name_es,
                name_pt: r.name_pt,
                name_fr: r.name_fr,
                languages: r
                    .languages
                    .split([';', ',', ' ', '|'])
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                timezone: r.timezone,
                subregion: r.oas_subregion,
                status: r.status,
            })
        })
        .collect()
}

static STATES: std::sync::LazyLock<Vec<MemberState>> = std::sync::LazyLock::new(all);

/// Whether a country is an OAS member state.
pub fn is_member_state(country: CountryCode) -> bool {
    STATES.iter().any(|s| s.iso2 == country)
}

/// The member state with this alpha-2 code.
pub fn by_code(code: &str) -> Option<&'static MemberState> {
    STATES.iter().find(|s| s.iso2.as_str() == code)
}

impl MemberState {
    /// The state's name in one of the OAS's languages (`en`, `es`, `pt`, `fr`; English
    /// otherwise).
    pub fn name_in(&self, lang: &str) -> &str {
        match lang {
            "es" => &self.name_es,
            "pt" => &self.name_pt,
            "fr" => &self.name_fr,
            _ => &self.name_en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_five_states_all_parsed() {
        let states = all();
        assert_eq!(states.len(), 35);
        assert_eq!(states[0].iso2.as_str(), "AG");
        assert!(
            states
                .iter()
                .any(|s| s.iso2.as_str() == "CL" && s.name_es == "Chile")
        );
        assert_eq!(CSV.lines().count() - 1, 35, "a row failed to parse");
    }
}
