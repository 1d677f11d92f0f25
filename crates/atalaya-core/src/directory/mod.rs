//! The hemisphere's CSIRT directory: team records, their vocabularies and rules.

pub mod hygiene;
pub mod team;
pub mod validate;
pub mod vocab;

pub use hygiene::{KeyWarning, StaleContacts, expiring_keys, stale_contacts};
pub use team::{
    BusinessHours, Constituency, Day, Designation, Email, FirstMembership, Mandate, PgpKey, Phone,
    PhoneUsage, Sim3Assessment, TeamId, TeamRecord, TeamType, TiClassification, TiStatus,
};
pub use validate::{Problem, normalise, validate};
