//! Interchange formats (DESIGN §3): what Atalaya reads from and writes for the tools teams
//! already use, so that nobody re-types a record.
//!
//! Everything here is pure: bytes or values in, values or text out; no I/O, and time comes in
//! as a parameter.
//!
//! - [`directory`] — the CSIRT directory:
//!   - [`directory::ti`]: the Trusted Introducer team records (`teams.json`), import and export;
//!   - [`directory::first`]: the FIRST teams API document (`api.first.org/data/v1/teams`),
//!     import and export;
//!   - [`directory::json`]: the directory as Atalaya's own versioned JSON document;
//!   - [`directory::csv`]: one spreadsheet row per team, guarded against formula injection;
//!   - [`directory::rfc2350`]: a team's RFC 2350 (BCP 21) description as plain text;
//!   - [`directory::vcard`]: vCard 4.0 (RFC 6350) cards of a team's public contacts, and a small
//!     vCard reader.
//!
//! - [`security_txt`] — a node's `/.well-known/security.txt` (RFC 9116) from its team's record.
//!
//! - [`exchange`] — what the importers and exporters of CSAF 2.0, STIX 2.1, MISP and CAP 1.2
//!   share: the imported drafts, the refusal codes, the limits.
//! - [`csaf`] — CSAF 2.0: advisories in and out (schema and mandatory tests), the provider's
//!   and the aggregator's files.
//! - [`stix`] — STIX 2.1: TLP 2.0 marking definitions, bundles out and in.
//! - [`misp`] — MISP events in and out, and a MISP feed.
//! - [`atom`] — the Atom 1.0 (RFC 4287) feed of a node's public advisories.
//! - [`cap`] — CAP 1.2 alerts for public attack warnings, and their Atom index feed.
//! - [`taxii`] — TAXII 2.1: the queries, cursors, media types and envelopes a server reads.

#![deny(missing_docs)]

mod alert;
pub mod atom;
pub mod cap;
pub mod csaf;
pub mod directory;
pub mod exchange;
pub mod misp;
pub mod security_txt;
pub mod stix;
pub mod taxii;
mod text;
mod xml;
