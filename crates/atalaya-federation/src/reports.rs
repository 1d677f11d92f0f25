//! Incident reports from the public, as they reach the right national team: a person picks a
//! member state on any node's portal; the report belongs to that state's national CSIRT. When
//! this node is (or hosts) that team, it files the report here; otherwise it sends it, as a
//! signed `incident-report` envelope (TLP:AMBER+STRICT, addressed to that one node), to the node
//! of the national CSIRT, which files it when it arrives. A state whose national CSIRT has no
//! node takes no reports through the network: the portal shows its public contacts instead.
//!
//! Like census responses, a report travels to one node only; the policy (audience of one node)
//! keeps every other node from receiving, relaying or pulling it.

use atalaya_core::directory::TeamType;
use atalaya_core::envelope::Payload;
use atalaya_core::report::IncidentReport;
use atalaya_core::{Audience, CountryCode, Envelope, EnvelopeKind, NodeId, Tlp};
use atalaya_store::{IncidentReportRow, StoreError};
use uuid::Uuid;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use crate::{Federation, FederationError, NodeEvent, Refusal};

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

impl Federation {
    /// Where a report for `country` goes: the node that is the authority for the state's
    /// national CSIRT record (this node first, if it is one of them), else a member node of
    /// that state in the roster; nowhere when neither is in the roster.
    pub async fn report_route(&self, country: CountryCode) -> Result<ReportRoute, StoreError> {
        let view = self.roster();
        let usable = |n: &NodeId| view.member(n).is_some() && !view.roster.is_removed(n);
        let mut nodes: Vec<NodeId> = self
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
        Ok(if nodes.contains(&self.me) {
            ReportRoute::Here
        } else {
            nodes
                .into_iter()
                .next()
                .map_or(ReportRoute::Nowhere, ReportRoute::Node)
        })
    }

    /// A new id for a report taken now (the envelope's id when it travels).
    pub fn new_report_id(&self) -> Uuid {
        atalaya_core::ids::new_id(
            self.now(),
            &mut atalaya_core::EntropyRng(self.entropy.as_ref()),
        )
    }

    /// File a report taken by this node's portal, or send it to the node of the state's
    /// national CSIRT. Returns where it went.
    pub async fn file_incident_report(
        &self,
        report: IncidentReport,
    ) -> Result<ReportRoute, ReportError> {
        let problems = report.check();
        if !problems.is_empty() || report.via != self.me {
            return Err(ReportError::Invalid(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .chain((report.via != self.me).then(|| "via: not this node".to_owned()))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        let route = self.report_route(report.country).await?;
        match &route {
            ReportRoute::Nowhere => return Err(ReportError::NoNode(report.country)),
            ReportRoute::Here => {
                keep_report(&Context::new(self), &report).await?;
            }
            ReportRoute::Node(node) => {
                let mut envelope = self.envelope_from_me(
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
                if !self.recipients(&envelope).0.contains(node) {
                    // The sharing policy or agreement keeps it from that node: say so rather
                    // than let the person believe it went.
                    return Err(ReportError::Invalid(format!(
                        "the sharing rules do not let incident reports reach {node}"
                    )));
                }
                self.publish_envelope(&envelope, None).await?;
            }
        }
        tracing::info!(reference = %report.reference, country = %report.country, ?route, "incident report taken");
        Ok(route)
    }

    /// The reports filed here, newest first.
    pub async fn incident_reports(&self, limit: u32) -> Result<Vec<IncidentReport>, StoreError> {
        self.store
            .incident_reports(limit)
            .await?
            .iter()
            .map(|r| serde_json::from_str(&r.body).map_err(corrupt))
            .collect()
    }

    /// One report filed here.
    pub async fn incident_report(&self, id: Uuid) -> Result<Option<IncidentReport>, StoreError> {
        self.store
            .incident_report(id)
            .await?
            .map(|r| serde_json::from_str(&r.body).map_err(corrupt))
            .transpose()
    }
}

/// File a report here; whether it is new.
async fn keep_report(ctx: &Context<'_>, report: &IncidentReport) -> Result<bool, StoreError> {
    let row = IncidentReportRow {
        id: report.id,
        reference: report.reference.clone(),
        country: report.country.to_string(),
        via: report.via.clone(),
        received: ctx.now(),
        body: serde_json::to_string(report).map_err(corrupt)?,
    };
    let new = ctx.store().save_incident_report(&row).await?;
    if new {
        ctx.notify(NodeEvent::Bulletins);
    }
    Ok(new)
}

/// Receives the reports other nodes' portals took for this node's national CSIRT.
pub(crate) struct IncidentReportHandler;

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
            if &a.origin != ctx.me() && keep_report(ctx, r).await? {
                tracing::info!(reference = %r.reference, via = %r.via, "incident report received");
            }
        }
        Ok(())
    }
}
