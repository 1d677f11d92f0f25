//! The domain services of a node (issue 14, item 2): one module per domain, each owning its
//! part of the store and the rules of its reads. The web crate and the binary call these; the
//! federation crate below carries messages between nodes.
//!
//! - [`accounts`]: people, passwords and second factors, sessions, API tokens.
//! - [`bulletins`]: the bulletins a person may see; every such read is a View decided and
//!   audited in one place.
//! - [`checks`]: communication checks, started here and answered by peers, and the reverse.
//! - [`directory`]: reading the teams' OpenPGP keys for key hygiene.
//! - [`oncall`]: who is called when a warning is not acknowledged.
//! - [`peers`]: pages sent about peers and the audit inconsistencies known here.
//! - [`portal`]: the public portal's awareness pages and report-form challenges.
//! - [`reports`]: incident reports from the public, taken by the portal and filed at the node
//!   of the state's national CSIRT.
//!
//! **Message kinds.** A service that owns message kinds has their handlers; [`handlers`] lists
//! them, and whoever starts the node passes that list to
//! [`Federation::start`](atalaya_federation::Federation::start), after the road's own. The
//! [`reports`] module header walks through adding a kind.

pub mod accounts;
pub mod bulletins;
pub mod checks;
pub mod directory;
pub mod oncall;
pub mod peers;
pub mod portal;
pub mod reports;

use atalaya_federation::Handlers;

/// The handlers of the message kinds the domain services own, to give to
/// [`Federation::start`](atalaya_federation::Federation::start).
pub fn handlers() -> Handlers {
    Handlers::default()
        .with(checks::CommCheckHandler)
        .with(checks::CommCheckAnswerHandler)
        .with(reports::IncidentReportHandler)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use atalaya_core::EnvelopeKind;

    /// Every kind of the protocol (the match stops compiling when a kind is added, so that its
    /// handler is not forgotten).
    fn every_kind() -> Vec<EnvelopeKind> {
        use EnvelopeKind as K;
        let all = vec![
            K::Bulletin,
            K::Roster,
            K::AuditCheckpoint,
            K::AuditInconsistency,
            K::Retraction,
            K::Agreement,
            K::AgreementAcceptance,
            K::Acknowledgement,
            K::CommCheck,
            K::CommCheckAnswer,
            K::Renotify,
            K::DirectoryRecord,
            K::CensusRound,
            K::CensusResponse,
            K::IncidentReport,
        ];
        for k in &all {
            match k {
                K::Bulletin
                | K::Roster
                | K::AuditCheckpoint
                | K::AuditInconsistency
                | K::Retraction
                | K::Agreement
                | K::AgreementAcceptance
                | K::Acknowledgement
                | K::CommCheck
                | K::CommCheckAnswer
                | K::Renotify
                | K::DirectoryRecord
                | K::CensusRound
                | K::CensusResponse
                | K::IncidentReport => {}
            }
        }
        all
    }

    /// The road's handlers and the services', as a node starts them: every kind has exactly
    /// one.
    #[test]
    fn every_kind_has_exactly_one_handler() {
        let mut count: HashMap<EnvelopeKind, usize> = HashMap::new();
        for k in atalaya_federation::handler::road()
            .then(super::handlers())
            .kinds()
        {
            *count.entry(k).or_default() += 1;
        }
        for k in every_kind() {
            assert_eq!(count.get(&k), Some(&1), "{}", k.as_str());
        }
        assert_eq!(count.len(), every_kind().len());
    }
}
