//! The domain services of a node (issue 14, item 2): one module per domain, each owning its
//! part of the store and the rules of its reads. The web crate and the binary call these; the
//! federation crate below carries messages between nodes.
//!
//! - [`accounts`]: people, passwords and second factors, sessions, API tokens.
//! - [`bulletins`]: the bulletins a person may see; every such read is a View decided and
//!   audited in one place.
//! - [`checks`]: the communication checks this node started and received.
//! - [`directory`]: reading the teams' OpenPGP keys for key hygiene.
//! - [`oncall`]: who is called when a warning is not acknowledged.
//! - [`peers`]: pages sent about peers and the audit inconsistencies known here.
//! - [`portal`]: the public portal's awareness pages and report-form challenges.

pub mod accounts;
pub mod bulletins;
pub mod checks;
pub mod directory;
pub mod oncall;
pub mod peers;
pub mod portal;
