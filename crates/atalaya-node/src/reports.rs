//! Incident reports from the public, as they reach the right national team: a person picks a
//! member state on any node's portal; the report belongs to that state's national CSIRT. When
//! this node is (or hosts) that team, it files the report here; otherwise it sends it, as a
//! signed `incident-report` envelope (TLP:AMBER+STRICT, addressed to that one node), to the node
//! of the national CSIRT, which files it when it arrives. A state whose national CSIRT has no
//! node takes no reports through the network: the portal shows its public contacts instead.
//!
//! Like census responses, a report travels to one node only; the policy (audience of one node)
//! keeps every other node from receiving, relaying or pulling it.
//!
//! **The service** ([`Reports`]): built over the node's federation ([`Reports::new`]), with no
//! background work and nothing to shut down. The portal takes reports through it
//! ([`Reports::route`], [`Reports::file`]); the API and the console read them through it
//! ([`Reports::list`], [`Reports::get`]).
//!
//! **Its message kind** (`incident-report`) is received by [`IncidentReportHandler`], which the
//! node registers when it starts the federation ([`crate::handlers`]).
//!
//! # Adding a message kind (this module is the worked example)
//!
//! 1. The kind and its payload in `atalaya_core::envelope` (`EnvelopeKind`, `Payload`), and the
//!    kind in the test of [`crate::handlers`] that every kind has exactly one handler.
//! 2. One handler in the domain's service, implementing
//!    [`atalaya_federation::handler::KindHandler`]: `check` (no I/O: turn the payload into the
//!    handler's item, or refuse with a stable code), optionally `check_held` (against what the
//!    node holds), and `keep` (once per batch, with everything of the kind that was accepted,
//!    after the batch's envelopes are stored). It sees the node through the
//!    [`Context`](atalaya_federation::handler::Context) only: id, roster, store, clock, events.
//! 3. One line in [`crate::handlers`] registering it.
//! 4. Sending: build the envelope with [`Federation::envelope_from_me`] and publish it with
//!    [`Federation::publish_envelope`] (sign, store with its outbox rows in one transaction,
//!    wake the peers' workers). The road carries it; nothing else of the federation changes.

use std::sync::Arc;

use atalaya_core::directory::TeamType;
use atalaya_core::envelope::Payload;
use atalaya_core::report::IncidentReport;
use atalaya_core::{Audience, CountryCode, Envelope, EnvelopeKind, NodeId, Timestamp, Tlp};
use atalaya_federation::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use atalaya_federation::{Federation, FederationError, NodeEvent, Refusal};
use atalaya_store::{IncidentReportRow, Store, StoreError};
use uuid::Uuid;

/// Where a report for a member state goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportRoute {
    /// This node is (or hosts) the state's national CSIRT: it files the report.
    Here,
    /// The national CSIRT is at that node: the report travels there.
    Node(NodeId),
    /// The state's national CSIRT has no node in the network.
    Nowhere,
}

/// Why a report could not be filed or sent.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No node takes reports for the state.
    #[error("no node of the network takes incident reports for {0}")]
    NoNode(CountryCode),
    /// The report is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Sending failed.
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReportError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::NoNode(_) => "no_node_for_state",
            ReportError::Invalid(_) => "invalid_report",
            ReportError::Federation(_) | ReportError::Store(_) => "internal_error",
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The incident reports of this node: taking them from the portal, and reading those filed.
pub struct Reports {
    fed: Arc<Federation>,
}

impl Reports {
    /// The service over the node's federation.
    pub fn new(fed: Arc<Federation>) -> Self {
        Self { fed }
    }

    /// Where a report for `country` goes: the node that is the authority for the state's
    /// national CSIRT record (this node first, if it is one of them), else a member node of
    /// that state in the roster; nowhere when neither is in the roster.
    pub async fn route(&self, country: CountryCode) -> Result<ReportRoute, StoreError> {
        let view = self.fed.roster();
        let usable = |n: &NodeId| view.member(n).is_some() && !view.roster.is_removed(n);
        let mut nodes: Vec<NodeId> = self
            .fed
            .teams()
            .await?
            .into_iter()
            .filter(|t| t.country == country && t.team_type == TeamType::National)
            .map(|t| t.authority().clone())
            .filter(|n| usable(n))
            .collect();
        if nodes.is_empty() {
            nodes = view
                .roster
                .in_country(country)
                .map(|m| m.node_id.clone())
                .filter(|n| usable(n))
                .collect();
        }
        nodes.sort();
        Ok(if nodes.contains(self.fed.node_id()) {
            ReportRoute::Here
        } else {
            nodes
                .into_iter()
                .next()
                .map_or(ReportRoute::Nowhere, ReportRoute::Node)
        })
    }

    /// A new id for a report taken now (the envelope's id when it travels).
    pub fn new_id(&self) -> Uuid {
        atalaya_core::ids::new_id(
            self.fed.now(),
            &mut atalaya_core::EntropyRng(self.fed.entropy.as_ref()),
        )
    }

    /// File a report taken by this node's portal, or send it to the node of the state's
    /// national CSIRT. Returns where it went.
    pub async fn file(&self, report: IncidentReport) -> Result<ReportRoute, ReportError> {
        let me = self.fed.node_id();
        let problems = report.check();
        if !problems.is_empty() || &report.via != me {
            return Err(ReportError::Invalid(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .chain((&report.via != me).then(|| "via: not this node".to_owned()))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        let route = self.route(report.country).await?;
        match &route {
            ReportRoute::Nowhere => return Err(ReportError::NoNode(report.country)),
            ReportRoute::Here => {
                if keep_report(self.fed.store.as_ref(), self.fed.now(), &report).await? {
                    self.fed.notify(NodeEvent::Bulletins);
                }
            }
            ReportRoute::Node(node) => {
                let mut envelope = self.fed.envelope_from_me(
                    EnvelopeKind::IncidentReport,
                    Tlp::AmberStrict,
                    Audience::Nodes {
                        nodes: vec![node.clone()],
                    },
                    Vec::new(),
                    serde_json::to_value(&report).map_err(corrupt)?,
                );
                envelope.id = report.id;
                Envelope::from_object(envelope.to_object())
                    .map_err(|e| ReportError::Invalid(e.to_string()))?;
                if !self.fed.readers(&envelope).contains(node) {
                    // The sharing policy or agreement keeps it from that node: say so rather
                    // than let the person believe it went.
                    return Err(ReportError::Invalid(format!(
                        "the sharing rules do not let incident reports reach {node}"
                    )));
                }
                self.fed.publish_envelope(&envelope, None).await?;
            }
        }
        tracing::info!(reference = %report.reference, country = %report.country, ?route, "incident report taken");
        Ok(route)
    }

    /// The reports filed here, newest first.
    pub async fn list(&self, limit: u32) -> Result<Vec<IncidentReport>, StoreError> {
        self.fed
            .store
            .incident_reports(limit)
            .await?
            .iter()
            .map(|r| serde_json::from_str(&r.body).map_err(corrupt))
            .collect()
    }

    /// One report filed here.
    pub async fn get(&self, id: Uuid) -> Result<Option<IncidentReport>, StoreError> {
        self.fed
            .store
            .incident_report(id)
            .await?
            .map(|r| serde_json::from_str(&r.body).map_err(corrupt))
            .transpose()
    }
}

/// File a report here; whether it is new (the caller tells the people watching the node).
async fn keep_report(
    store: &dyn Store,
    now: Timestamp,
    report: &IncidentReport,
) -> Result<bool, StoreError> {
    let row = IncidentReportRow {
        id: report.id,
        reference: report.reference.clone(),
        country: report.country.to_string(),
        via: report.via.clone(),
        received: now,
        body: serde_json::to_string(report).map_err(corrupt)?,
    };
    store.save_incident_report(&row).await
}

/// Receives the reports other nodes' portals took for this node's national CSIRT.
pub struct IncidentReportHandler;

#[async_trait::async_trait]
impl KindHandler for IncidentReportHandler {
    type Item = IncidentReport;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::IncidentReport]
    }

    fn check(
        &self,
        _: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<IncidentReport>, Refusal> {
        match incoming.payload {
            Payload::IncidentReport(r) => Ok(Accepted::new(*r)),
            _ => Err(unexpected()),
        }
    }

    /// File the reports of other nodes (the policy already made sure they were addressed to
    /// this node).
    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<IncidentReport>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            let r = &a.item;
            if &a.origin != ctx.me() && keep_report(ctx.store(), ctx.now(), r).await? {
                ctx.notify(NodeEvent::Bulletins);
                tracing::info!(reference = %r.reference, via = %r.via, "incident report received");
            }
        }
        Ok(())
    }
}
