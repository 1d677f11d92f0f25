//! The hemisphere's CSIRT directory: team records, their vocabularies and rules.

pub mod coverage;
pub mod problem;
pub mod team;
pub mod vocab;

pub use problem::Problem;
pub use team::{
    BusinessHours, Constituency, Day, Designation, Email, FirstMembership, Mandate, PgpKey, Phone,
    PhoneUsage, Sim3Assessment, TeamId, TeamRecord, TeamType, TiClassification, TiStatus,
};
