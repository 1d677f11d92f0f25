//! Atalaya's domain: nodes, the roster, envelopes, bulletins, sharing labels and the policy that
//! decides where each item may go.
//!
//! Pure Rust: no I/O, no async. Time and randomness come in as parameters (`Clock`, an RNG), so
//! every rule here is testable without sleeping.

pub mod access;
pub mod ack;
pub mod audience;
pub mod audit;
pub mod bulletin;
pub mod census;
pub mod clock;
pub mod comm_check;
pub mod directory;
pub mod entropy;
pub mod envelope;
pub mod escalation;
pub mod ids;
pub mod json;
pub mod member_states;
pub mod merkle;
pub mod node;
pub mod peer_health;
pub mod policy;
pub mod report;
pub mod roster;
pub mod tlp;

pub use audience::Audience;
pub use bulletin::{Bulletin, BulletinContent, BulletinDraft, BulletinKind, Indicator, Severity};
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use entropy::{Entropy, EntropyRng, OsEntropy, SeededEntropy};
pub use envelope::{Envelope, EnvelopeError, EnvelopeKind, Signature};
pub use node::{CountryCode, Node, NodeId, Role};
pub use roster::{Member, Roster};
pub use tlp::Tlp;
