//! Communication checks as they travel: a node starts a check for some or all of its peers (a
//! signed `comm-check` envelope addressed to them), a person at each target answers once (a
//! signed `comm-check-answer` back to the initiator), and each side refuses what does not fit
//! what it holds. The report itself is computed in `atalaya_core::comm_check`.
//!
//! Both kinds travel as TLP:CLEAR: they carry nothing confidential, and a check must reach
//! every member, also one that has not accepted the sharing agreement (which receives only
//! CLEAR) — reaching it is the point of the check.
//!
//! **The service** ([`Checks`]): built over the node's federation, with no background work.
//! Its kinds (`comm-check`, `comm-check-answer`) are received by [`CommCheckHandler`] and
//! [`CommCheckAnswerHandler`], registered in [`crate::handlers`]. The reports and history of
//! checks are computed in `atalaya_core::comm_check` from what the store holds.

use std::sync::Arc;

use atalaya_core::comm_check::{self, CheckFacts, CommCheck, CommCheckAnswer, ReceivedCheck};
use atalaya_core::envelope::Payload;
use atalaya_core::{Audience, Envelope, EnvelopeKind, NodeId, Tlp};
use atalaya_federation::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use atalaya_federation::{Federation, FederationError, Refusal};
use atalaya_store::StoreError;
use uuid::Uuid;

/// Why a check could not be started or answered.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A target that is not a current member (or not a node id at all).
    #[error("{0:?} is not a member of the roster")]
    UnknownNode(String),
    /// This node among the targets.
    #[error("a node does not check itself: name its peers")]
    OwnNode,
    /// Nobody to check.
    #[error("no member to check")]
    NoTargets,
    /// A message, deadline, name or note out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// An answer to a check this node never received.
    #[error("this node never received check {0}")]
    NeverReceived(Uuid),
    /// An answer to a check this node started.
    #[error("check {0} was started by this node: its targets answer it")]
    OwnCheck(Uuid),
    /// A second answer.
    #[error("check {0} has been answered already")]
    AlreadyAnswered(Uuid),
    /// Publishing failed.
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A check just started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedCheck {
    /// The check as sent.
    pub check: CommCheck,
    /// The members it is addressed to.
    pub targets: Vec<NodeId>,
    /// Those it was queued for (this node's own sharing policy may refuse some).
    pub sent: Vec<NodeId>,
}

/// Communication checks: starting them, and answering those of peers.
pub struct Checks {
    fed: Arc<Federation>,
}

impl Checks {
    /// The service over the node's federation.
    pub fn new(fed: Arc<Federation>) -> Self {
        Self { fed }
    }

    /// The checks this node started, newest first, at most `limit` (capped at 500).
    pub async fn started(&self, limit: u32) -> Result<Vec<CheckFacts>, StoreError> {
        self.fed.store.comm_checks(limit).await
    }

    /// A check this node started.
    pub async fn started_check(&self, id: Uuid) -> Result<Option<CheckFacts>, StoreError> {
        self.fed.store.comm_check(id).await
    }

    /// A check this node received.
    pub async fn received_check(&self, id: Uuid) -> Result<Option<ReceivedCheck>, StoreError> {
        self.fed.store.received_check(id).await
    }

    /// Checks received and not answered yet, oldest first.
    pub async fn pending(&self) -> Result<Vec<ReceivedCheck>, StoreError> {
        self.fed.store.pending_checks().await
    }

    /// Start a communication check for `targets` (default: every peer in the roster). The
    /// check and its targets are stored before the signed envelope goes out, so no answer can
    /// arrive for a check this node does not know.
    pub async fn start(
        &self,
        targets: Option<&[String]>,
        message: Option<String>,
        answer_within_minutes: u32,
        started_by: &str,
    ) -> Result<StartedCheck, CheckError> {
        let me = self.fed.node_id();
        let view = self.fed.roster();
        if view.member(me).is_none() {
            return Err(FederationError::NotInRoster(me.clone()).into());
        }
        if !(1..=comm_check::MAX_ANSWER_WITHIN_MINUTES).contains(&answer_within_minutes) {
            return Err(CheckError::Invalid(format!(
                "`answer_within_minutes` is between 1 and {}",
                comm_check::MAX_ANSWER_WITHIN_MINUTES
            )));
        }
        let peers: Vec<NodeId> = view
            .roster
            .peers_of(me)
            .map(|m| m.node_id.clone())
            .collect();
        let targets = match targets {
            None => peers,
            Some(list) => {
                let mut out: Vec<NodeId> = Vec::with_capacity(list.len());
                for s in list {
                    let id =
                        NodeId::new(s.trim()).map_err(|_| CheckError::UnknownNode(s.clone()))?;
                    if &id == me {
                        return Err(CheckError::OwnNode);
                    }
                    if !peers.contains(&id) {
                        return Err(CheckError::UnknownNode(s.clone()));
                    }
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
                out
            }
        };
        if targets.is_empty() {
            return Err(CheckError::NoTargets);
        }
        let message = message.filter(|m| !m.trim().is_empty());
        let mut envelope = self.fed.envelope_from_me(
            EnvelopeKind::CommCheck,
            Tlp::Clear,
            Audience::Nodes {
                nodes: targets.clone(),
            },
            Vec::new(),
            serde_json::Value::Null,
        );
        let check = CommCheck {
            id: envelope.id,
            started_at: envelope.created,
            answer_by: envelope
                .created
                .plus_millis(i64::from(answer_within_minutes) * 60_000),
            message,
        };
        check.check().map_err(CheckError::Invalid)?;
        envelope.body = Some(to_body(&check)?);
        // The same checks a target makes.
        Envelope::from_object(envelope.to_object())
            .map_err(|e| CheckError::Invalid(e.to_string()))?;
        self.fed
            .store
            .save_comm_check(&check, started_by, &targets)
            .await?;
        let sent = self.fed.publish_envelope(&envelope, None).await?;
        tracing::info!(check = %check.id, targets = targets.len(), sent = sent.len(), "communication check started");
        Ok(StartedCheck {
            check,
            targets,
            sent,
        })
    }

    /// A person here answers a check this node received: once; the signed answer goes back to
    /// the node that started it. Returns the answer's envelope id.
    pub async fn answer(
        &self,
        id: Uuid,
        answered_by: &str,
        note: Option<String>,
    ) -> Result<Uuid, CheckError> {
        let note = note.filter(|n| !n.trim().is_empty());
        comm_check::check_answer_fields(answered_by, note.as_deref())
            .map_err(CheckError::Invalid)?;
        let Some(received) = self.fed.store.received_check(id).await? else {
            if self.fed.store.comm_check(id).await?.is_some() {
                return Err(CheckError::OwnCheck(id));
            }
            return Err(CheckError::NeverReceived(id));
        };
        if received.answer.is_some() {
            return Err(CheckError::AlreadyAnswered(id));
        }
        let mut envelope = self.fed.envelope_from_me(
            EnvelopeKind::CommCheckAnswer,
            Tlp::Clear,
            Audience::Nodes {
                nodes: vec![received.from.clone()],
            },
            vec![id],
            serde_json::Value::Null,
        );
        let answer = CommCheckAnswer {
            check: id,
            answered_by: answered_by.to_owned(),
            answered_at: envelope.created,
            note,
        };
        envelope.body = Some(to_body(&answer)?);
        Envelope::from_object(envelope.to_object())
            .map_err(|e| CheckError::Invalid(e.to_string()))?;
        // Recorded first and only once: of two people answering at the same moment, one wins.
        if !self
            .fed
            .store
            .answer_received_check(&answer, envelope.id)
            .await?
        {
            return Err(CheckError::AlreadyAnswered(id));
        }
        self.fed.publish_envelope(&envelope, None).await?;
        tracing::info!(check = %id, by = answered_by, "communication check answered");
        Ok(envelope.id)
    }
}

fn to_body(value: &impl serde::Serialize) -> Result<serde_json::Value, CheckError> {
    serde_json::to_value(value)
        .map_err(|e| CheckError::Federation(FederationError::Signing(e.to_string())))
}

/// Receives communication checks started by peers.
pub struct CommCheckHandler;

#[async_trait::async_trait]
impl KindHandler for CommCheckHandler {
    type Item = CommCheck;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::CommCheck]
    }

    fn check(
        &self,
        _: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<CommCheck>, Refusal> {
        match incoming.payload {
            Payload::CommCheck(c) => Ok(Accepted::new(c)),
            _ => Err(unexpected()),
        }
    }

    /// Keep the checks of other nodes, for a person here to answer.
    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<CommCheck>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            if &a.origin != ctx.me() {
                ctx.store()
                    .save_received_check(&a.item, &a.origin, ctx.now())
                    .await?;
            }
        }
        Ok(())
    }
}

/// Receives the answers to the checks this node started.
pub struct CommCheckAnswerHandler;

#[async_trait::async_trait]
impl KindHandler for CommCheckAnswerHandler {
    type Item = CommCheckAnswer;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::CommCheckAnswer]
    }

    fn check(
        &self,
        _: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<CommCheckAnswer>, Refusal> {
        match incoming.payload {
            Payload::CommCheckAnswer(a) => Ok(Accepted::new(a)),
            _ => Err(unexpected()),
        }
    }

    /// Refuse an answer that does not fit the checks this node started: an unknown check, one
    /// this node did not start, a sender it was not addressed to, a second answer. A repeat of
    /// an envelope already held passes (it is a duplicate, not a refusal).
    async fn check_held(
        &self,
        ctx: &Context<'_>,
        arrived: &mut Arrived<CommCheckAnswer>,
        _: &mut (),
    ) -> Result<Option<Refusal>, StoreError> {
        let store = ctx.store();
        let a = &arrived.item;
        if store.has_envelope(arrived.id).await? {
            return Ok(None);
        }
        let Some(facts) = store.comm_check(a.check).await? else {
            return Ok(Some(if store.received_check(a.check).await?.is_some() {
                Refusal::new(
                    "not_our_check",
                    format!("check {} was not started by this node", a.check),
                )
            } else {
                Refusal::new(
                    "unknown_check",
                    format!("this node started no check {}", a.check),
                )
            }));
        };
        Ok(
            match facts.targets.iter().find(|t| t.node == arrived.origin) {
                None => Some(Refusal::new(
                    "not_a_target",
                    format!("check {} was not sent to {}", a.check, arrived.origin),
                )),
                Some(t) if t.answer.is_some() => Some(Refusal::new(
                    "already_answered",
                    format!("{} has answered check {} already", arrived.origin, a.check),
                )),
                Some(_) => None,
            },
        )
    }

    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<CommCheckAnswer>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            // False for a repeat (or a second answer in the same batch): the first one stands.
            if ctx
                .store()
                .save_check_answer(&a.item, &a.origin, a.id)
                .await?
            {
                tracing::info!(check = %a.item.check, node = %a.origin, "communication check answered");
            }
        }
        Ok(())
    }
}
