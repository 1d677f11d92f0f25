//! The directory's vocabularies, from the project's own data files (embedded at build time):
//! the FIRST CSIRT Services Framework v2.1 services, the SIM3 v1 parameters and the
//! critical-infrastructure sectors.

use std::sync::LazyLock;

use serde::Deserialize;

const SERVICES_CSV: &str = include_str!("../../../../data/first-csirt-services-v2.1.csv");
const SIM3_CSV: &str = include_str!("../../../../data/sim3-v1.csv");
const SECTORS_CSV: &str = include_str!("../../../../data/sectors.csv");

/// A service of the FIRST CSIRT Services Framework v2.1.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Service {
    /// Our stable id (`incident-coordination`).
    pub id: String,
    /// Service area id (`incident-management`).
    pub area: String,
    /// The framework's name for it.
    pub name: String,
}

/// A SIM3 v1 parameter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sim3Parameter {
    /// `O-1` .. `P-14`.
    pub id: String,
    /// Organisation, Human, Tools or Processes.
    pub category: String,
    /// Its name.
    pub name: String,
}

/// A critical-infrastructure sector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sector {
    /// Our key (`energy`).
    pub key: String,
    /// English name.
    pub name: String,
    /// The STIX 2.1 `industry-sector-ov` value.
    pub stix_industry_sector: String,
}

fn load<T: for<'de> Deserialize<'de>>(csv_text: &str) -> Vec<T> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .deserialize::<T>()
        .filter_map(Result::ok)
        .collect()
}

static SERVICES: LazyLock<Vec<Service>> = LazyLock::new(|| load(SERVICES_CSV));
static SIM3: LazyLock<Vec<Sim3Parameter>> = LazyLock::new(|| load(SIM3_CSV));
static SECTORS: LazyLock<Vec<Sector>> = LazyLock::new(|| load(SECTORS_CSV));

/// The framework's service areas, in its order: (id, name).
pub const SERVICE_AREAS: [(&str, &str); 5] = [
    ("event-management", "Information Security Event Management"),
    (
        "incident-management",
        "Information Security Incident Management",
    ),
    ("vulnerability-management", "Vulnerability Management"),
    ("situational-awareness", "Situational Awareness"),
    ("knowledge-transfer", "Knowledge Transfer"),
];

/// Every service, in the framework's order.
pub fn services() -> &'static [Service] {
    &SERVICES
}

/// The service with this id.
pub fn service(id: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.id == id)
}

/// Every SIM3 parameter, in order.
pub fn sim3_parameters() -> &'static [Sim3Parameter] {
    &SIM3
}

/// The SIM3 parameter with this id.
pub fn sim3_parameter(id: &str) -> Option<&'static Sim3Parameter> {
    SIM3.iter().find(|p| p.id == id)
}

/// Every sector, in the data file's order.
pub fn sectors() -> &'static [Sector] {
    &SECTORS
}

/// The sector with this key.
pub fn sector(key: &str) -> Option<&'static Sector> {
    SECTORS.iter().find(|s| s.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_files_load_whole() {
        assert_eq!(services().len(), 21, "FIRST framework v2.1 has 21 services");
        assert_eq!(sim3_parameters().len(), 44, "SIM3 v1 has 44 parameters");
        assert_eq!(sectors().len(), 16, "the 16 CISA sectors");
        for s in services() {
            assert!(
                SERVICE_AREAS.iter().any(|(a, _)| *a == s.area),
                "{} has an unknown area {}",
                s.id,
                s.area
            );
        }
        assert_eq!(
            service("incident-coordination").map(|s| s.area.as_str()),
            Some("incident-management")
        );
        assert_eq!(
            sim3_parameter("O-1").map(|p| p.name.as_str()),
            Some("Mandate")
        );
    }
}
