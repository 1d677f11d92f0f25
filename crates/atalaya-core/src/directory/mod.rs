//! The hemisphere's CSIRT directory: team records, their vocabularies and rules.

pub mod coverage;
pub mod entry;
pub mod hygiene;
pub mod problem;
pub mod team;
pub mod validate;
pub mod vocab;

pub use entry::{
    Adoption, AdoptionStatus, AuthorityContact, AuthorityError, AuthorityKind, CountryCybercrime,
    CybercrimeAuthority, CybercrimeLaw, DirectoryEntry, EntryKey, LawKind, SecurityStandard,
    StandardsAdoption, StandardsRegistry,
};
pub use hygiene::{
    ArmoredKeyFacts, DirectorySettings, DueWarning, EncryptionKeyFacts, KeyFinding, KeyProblem,
    KeyReader, KeyWarning, StaleContacts, due_warnings, expiring_keys, key_problems,
    stale_contacts,
};
pub use problem::Problem;
pub use team::{
    BusinessHours, Constituency, Day, Designation, Email, FirstMembership, Mandate, PgpKey, Phone,
    PhoneUsage, Sim3Assessment, TeamId, TeamRecord, TeamType, TiClassification, TiStatus,
};
pub use validate::{normalise, validate};
