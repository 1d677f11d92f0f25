//! Census rounds as they travel: the coordinator opens a round (a signed `census-round`
//! envelope to the whole network, carrying its questionnaire) and closes it (a newer version of
//! the same round); each team answers (a signed `census-response` to the coordinator) while the
//! round is open. The questionnaire, answer checks and reports are `atalaya_core::census`.
//!
//! Rounds travel as TLP:CLEAR, so that every member gets them, also one that has not accepted
//! the sharing agreement; responses travel as TLP:GREEN to the coordinator only.

use atalaya_core::census::{self, Answers, CensusResponse, CensusRound, Questionnaire};
use atalaya_core::directory::{Problem, TeamId};
use atalaya_core::envelope::Payload;
use atalaya_core::{Audience, Envelope, EnvelopeKind, NodeId, Timestamp, Tlp};
use atalaya_store::{CensusResponseRow, CensusRoundRow, Store, StoreError};
use uuid::Uuid;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use crate::{Federation, FederationError, NodeEvent, Refusal};

/// Why a round could not be opened or closed, or a response not sent.
#[derive(Debug, thiserror::Error)]
pub enum CensusError {
    /// Only the coordinator runs census rounds.
    #[error("only the coordinator ({0}) opens and closes census rounds")]
    NotTheCoordinator(String),
    /// No such round here.
    #[error("no census round {0}")]
    NoSuchRound(Uuid),
    /// Closed already.
    #[error("census round {0} is closed")]
    AlreadyClosed(Uuid),
    /// This node is not the authority for the team answering.
    #[error("this node is not the authority for team {0}: its own node answers for it")]
    NotAuthoritative(String),
    /// The round, questionnaire or answers are not acceptable.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// Publishing failed.
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CensusError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            CensusError::NotTheCoordinator(_) => "not_the_coordinator",
            CensusError::NoSuchRound(_) => "not_found",
            CensusError::AlreadyClosed(_) => "round-closed",
            CensusError::NotAuthoritative(_) => "not_authoritative",
            CensusError::Invalid(p) => p.first().map_or("invalid", |p| p.code),
            CensusError::Federation(_) | CensusError::Store(_) => "internal_error",
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Federation {
    fn require_coordinator(&self) -> Result<(), CensusError> {
        let coordinator = self.roster().roster.coordinator.clone();
        if coordinator != self.me {
            return Err(CensusError::NotTheCoordinator(coordinator.to_string()));
        }
        Ok(())
    }

    /// The coordinator opens a census round with `questionnaire` (default: the network's).
    pub async fn open_census_round(
        &self,
        title: &str,
        closes: Option<Timestamp>,
        questionnaire: Option<Questionnaire>,
        opened_by: &str,
    ) -> Result<CensusRound, CensusError> {
        self.require_coordinator()?;
        let mut envelope = self.envelope_from_me(
            EnvelopeKind::CensusRound,
            Tlp::Clear,
            Audience::Network,
            Vec::new(),
            serde_json::Value::Null,
        );
        let round = CensusRound {
            id: envelope.id,
            title: title.trim().to_owned(),
            questionnaire: questionnaire.unwrap_or_else(|| census::default_questionnaire().clone()),
            opened: envelope.created,
            closes,
            closed: None,
            opened_by: opened_by.to_owned(),
        };
        round.check().map_err(CensusError::Invalid)?;
        envelope.body = Some(serde_json::to_value(&round).map_err(corrupt)?);
        self.publish_round(&envelope, &round).await?;
        tracing::info!(round = %round.id, title = %round.title, "census round opened");
        Ok(round)
    }

    /// The coordinator closes a round: no response is accepted after this.
    pub async fn close_census_round(&self, id: Uuid) -> Result<CensusRound, CensusError> {
        self.require_coordinator()?;
        let mut round = self
            .census_round(id)
            .await?
            .ok_or(CensusError::NoSuchRound(id))?;
        if round.closed.is_some() {
            return Err(CensusError::AlreadyClosed(id));
        }
        let mut envelope = self.envelope_from_me(
            EnvelopeKind::CensusRound,
            Tlp::Clear,
            Audience::Network,
            vec![id],
            serde_json::Value::Null,
        );
        round.closed = Some(envelope.created.max(round.opened));
        envelope.body = Some(serde_json::to_value(&round).map_err(corrupt)?);
        self.publish_round(&envelope, &round).await?;
        tracing::info!(round = %id, "census round closed");
        Ok(round)
    }

    async fn publish_round(
        &self,
        envelope: &Envelope,
        round: &CensusRound,
    ) -> Result<(), CensusError> {
        Envelope::from_object(envelope.to_object()).map_err(|e| {
            CensusError::Invalid(vec![Problem::new(e.code(), "round", e.to_string())])
        })?;
        self.publish_envelope(envelope, None).await?;
        keep_round(&Context::new(self), round, envelope.created).await?;
        Ok(())
    }

    /// Every round this node knows, newest first.
    pub async fn census_rounds(&self) -> Result<Vec<CensusRound>, StoreError> {
        self.store
            .census_rounds()
            .await?
            .iter()
            .map(|r| serde_json::from_str(&r.body).map_err(corrupt))
            .collect()
    }

    /// One round.
    pub async fn census_round(&self, id: Uuid) -> Result<Option<CensusRound>, StoreError> {
        round_held(self.store.as_ref(), id).await
    }

    /// The current responses to a round held here (the coordinator holds everyone's; a
    /// member holds its own).
    pub async fn census_responses(&self, round: Uuid) -> Result<Vec<CensusResponse>, StoreError> {
        self.store
            .census_responses(round)
            .await?
            .iter()
            .map(|r| serde_json::from_str(&r.body).map_err(corrupt))
            .collect()
    }

    /// A person here answers a round for `team` (a team this node is the authority for). The
    /// signed response goes to the coordinator; it replaces an earlier response of the team.
    pub async fn answer_census(
        &self,
        round_id: Uuid,
        team: TeamId,
        answers: Answers,
        submitted_by: &str,
    ) -> Result<CensusResponse, CensusError> {
        if team.authority() != &self.me {
            return Err(CensusError::NotAuthoritative(team.to_string()));
        }
        let round = self
            .census_round(round_id)
            .await?
            .ok_or(CensusError::NoSuchRound(round_id))?;
        let coordinator = self.roster().roster.coordinator.clone();
        let mut envelope = self.envelope_from_me(
            EnvelopeKind::CensusResponse,
            Tlp::Green,
            Audience::Nodes {
                nodes: vec![coordinator],
            },
            vec![round_id],
            serde_json::Value::Null,
        );
        let response = CensusResponse {
            round: round_id,
            team,
            answers,
            submitted: envelope.created,
            submitted_by: submitted_by.to_owned(),
        };
        census::check_response(&round, &response, envelope.created)
            .map_err(CensusError::Invalid)?;
        envelope.body = Some(serde_json::to_value(&response).map_err(corrupt)?);
        Envelope::from_object(envelope.to_object()).map_err(|e| {
            CensusError::Invalid(vec![Problem::new(e.code(), "response", e.to_string())])
        })?;
        self.publish_envelope(&envelope, None).await?;
        keep_response(&Context::new(self), &response, &self.me, envelope.id).await?;
        tracing::info!(round = %round_id, team = %response.team, "census answered");
        Ok(response)
    }
}

/// One round held here.
async fn round_held(store: &dyn Store, id: Uuid) -> Result<Option<CensusRound>, StoreError> {
    store
        .census_round(id)
        .await?
        .map(|r| serde_json::from_str(&r.body).map_err(corrupt))
        .transpose()
}

/// Keep a version of a round if it is newer than the one held.
async fn keep_round(
    ctx: &Context<'_>,
    round: &CensusRound,
    version: Timestamp,
) -> Result<(), StoreError> {
    let row = CensusRoundRow {
        id: round.id,
        opened: round.opened,
        closed: round.closed,
        version,
        body: serde_json::to_string(round).map_err(corrupt)?,
    };
    if ctx.store().save_census_round(&row).await? {
        ctx.notify(NodeEvent::Directory);
    }
    Ok(())
}

/// Keep a team's response (it replaces an earlier one of the team).
async fn keep_response(
    ctx: &Context<'_>,
    r: &CensusResponse,
    origin: &NodeId,
    envelope: Uuid,
) -> Result<(), StoreError> {
    let row = CensusResponseRow {
        round: r.round,
        team: r.team.to_string(),
        origin: origin.clone(),
        submitted: r.submitted,
        envelope,
        body: serde_json::to_string(r).map_err(corrupt)?,
    };
    if ctx.store().save_census_response(&row).await? {
        ctx.notify(NodeEvent::Directory);
    }
    Ok(())
}

/// Receives the coordinator's rounds (openings and closings).
pub(crate) struct CensusRoundHandler;

#[async_trait::async_trait]
impl KindHandler for CensusRoundHandler {
    type Item = CensusRound;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::CensusRound]
    }

    /// Only the coordinator runs rounds, and the round must be well formed.
    fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<CensusRound>, Refusal> {
        let env = incoming.envelope;
        let Payload::CensusRound(body) = incoming.payload else {
            return Err(unexpected());
        };
        let coordinator = &ctx.roster().roster.coordinator;
        if &env.origin != coordinator {
            return Err(Refusal::new(
                "not_the_coordinator",
                format!(
                    "only the coordinator {coordinator} runs census rounds, not {}",
                    env.origin
                ),
            ));
        }
        let round: CensusRound = serde_json::from_value(body)
            .map_err(|e| Refusal::new("invalid_body", format!("census round: {e}")))?;
        round
            .check()
            .map_err(|p| Refusal::new("invalid_body", joined(&p)))?;
        if round.id != env.id && !env.refs.contains(&round.id) {
            return Err(Refusal::new(
                "invalid_body",
                "a round is its opening envelope's id, or a later version refers to it",
            ));
        }
        Ok(Accepted::new(round))
    }

    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<CensusRound>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            keep_round(ctx, &a.item, a.created).await?;
        }
        Ok(())
    }
}

/// Receives the teams' responses (at the coordinator).
pub(crate) struct CensusResponseHandler;

#[async_trait::async_trait]
impl KindHandler for CensusResponseHandler {
    type Item = CensusResponse;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::CensusResponse]
    }

    fn check(
        &self,
        _: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<CensusResponse>, Refusal> {
        let Payload::CensusResponse(body) = incoming.payload else {
            return Err(unexpected());
        };
        let response: CensusResponse = serde_json::from_value(body)
            .map_err(|e| Refusal::new("invalid_body", format!("census response: {e}")))?;
        Ok(Accepted::new(response))
    }

    /// The sender must be the team's authority and the round, held here, open when the
    /// response was made.
    async fn check_held(
        &self,
        ctx: &Context<'_>,
        arrived: &mut Arrived<CensusResponse>,
        _: &mut (),
    ) -> Result<Option<Refusal>, StoreError> {
        let response = &arrived.item;
        if response.team.authority() != &arrived.origin {
            return Ok(Some(Refusal::new(
                "not_authoritative",
                format!(
                    "{} cannot answer for team {}: {} does",
                    arrived.origin,
                    response.team,
                    response.team.authority()
                ),
            )));
        }
        let Some(round) = round_held(ctx.store(), response.round).await? else {
            return Ok(Some(Refusal::new(
                "unknown_round",
                format!("this node holds no census round {}", response.round),
            )));
        };
        if let Err(p) = census::check_response(&round, response, arrived.created) {
            let code = if p.iter().any(|p| p.code == "round-closed") {
                "round_closed"
            } else {
                "invalid_body"
            };
            return Ok(Some(Refusal::new(code, joined(&p))));
        }
        Ok(None)
    }

    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<CensusResponse>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            keep_response(ctx, &a.item, &a.origin, a.id).await?;
        }
        Ok(())
    }
}

/// Problems, one after the other.
fn joined(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
