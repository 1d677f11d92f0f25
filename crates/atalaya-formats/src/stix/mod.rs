//! STIX 2.1 (OASIS Standard, June 2021): bundles out of bulletins, and bulletins out of
//! bundles.
//!
//! - [`markings`]: the TLP 2.0 marking definitions (and the TLP 1.0 ones still found in the
//!   wild), both ways.
//! - [`export`]: bulletins as STIX objects (report, identity, indicators, vulnerabilities) and
//!   bundles.
//! - [`import`]: bundles in (streaming, bounded memory): reports, indicators, vulnerabilities
//!   and sightings become bulletin drafts.

pub mod export;
pub mod import;
pub mod markings;
