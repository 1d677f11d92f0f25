//! The sharing agreement as it travels: the coordinator issues each version (a signed
//! `agreement` envelope to the whole network) and every member accepts it (a signed
//! `agreement-acceptance`). The policy reads who accepted which version
//! ([`crate::Federation::agreement`]): a member that has not accepted the current one receives
//! only TLP:CLEAR.

use async_trait::async_trait;
use atalaya_core::envelope::{Agreement, AgreementAcceptance, Payload};
use atalaya_core::{Envelope, EnvelopeKind};
use atalaya_store::StoreError;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler};
use crate::{Federation, FederationError, Refusal};

impl Federation {
    /// The coordinator issues a new version of the sharing agreement (and accepts it).
    pub async fn issue_agreement(&self, text: &str) -> Result<u64, FederationError> {
        if self.roster().roster.coordinator != self.me {
            return Err(FederationError::NotTheCoordinator(self.me.clone()));
        }
        let version = self
            .store
            .current_agreement()
            .await?
            .map_or(1, |(v, _, _)| v + 1);
        let hash = atalaya_core::envelope::agreement_hash(text);
        let body = serde_json::json!({"version": version, "text": text, "hash": hash});
        let envelope = self.control_envelope(EnvelopeKind::Agreement, body);
        Envelope::from_object(envelope.to_object())
            .map_err(|e| FederationError::InvalidBulletin(e.to_string()))?;
        self.publish_envelope(&envelope, None).await?;
        self.store
            .save_agreement(version, &hash, text, "", self.now())
            .await?;
        self.accept_agreement().await?;
        Ok(version)
    }

    /// This node accepts the current version of the sharing agreement.
    pub async fn accept_agreement(&self) -> Result<u64, FederationError> {
        let (version, hash, _) = self
            .store
            .current_agreement()
            .await?
            .ok_or(FederationError::NoAgreement)?;
        let envelope = self.control_envelope(
            EnvelopeKind::AgreementAcceptance,
            serde_json::json!({"version": version, "hash": hash}),
        );
        self.publish_envelope(&envelope, None).await?;
        self.store
            .save_acceptance(&self.me, version, "", self.now())
            .await?;
        self.reload_agreement().await?;
        tracing::info!(version, "sharing agreement accepted");
        Ok(version)
    }
}

/// Receives versions of the agreement and acceptances of them: one handler for both kinds,
/// since an acceptance may name a version issued earlier in the same batch.
pub(crate) struct AgreementHandler;

/// A received version or acceptance, with its signed text (kept as evidence).
pub(crate) enum AgreementItem {
    Issued(Agreement, String),
    Accepted(AgreementAcceptance, String),
}

#[async_trait]
impl KindHandler for AgreementHandler {
    type Item = AgreementItem;
    /// The versions (number, hash) accepted earlier in the batch.
    type Notes = Vec<(u64, String)>;

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::Agreement, EnvelopeKind::AgreementAcceptance]
    }

    fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<AgreementItem>, Refusal> {
        let origin = &incoming.envelope.origin;
        let raw = incoming.raw.to_owned();
        match incoming.payload {
            Payload::Agreement(_) if origin != &ctx.roster().roster.coordinator => {
                Err(Refusal::new(
                    "not_the_coordinator",
                    format!("only the coordinator issues the sharing agreement, not {origin}"),
                ))
            }
            Payload::Agreement(a) => Ok(Accepted::new(AgreementItem::Issued(a, raw))),
            Payload::AgreementAcceptance(a) => Ok(Accepted::new(AgreementItem::Accepted(a, raw))),
            _ => Err(crate::handler::unexpected()),
        }
    }

    /// Refuse an acceptance of a version that does not exist (here or earlier in the same
    /// batch) or whose text differs.
    async fn check_held(
        &self,
        ctx: &Context<'_>,
        arrived: &mut Arrived<AgreementItem>,
        issued: &mut Vec<(u64, String)>,
    ) -> Result<Option<Refusal>, StoreError> {
        let a = match &arrived.item {
            AgreementItem::Issued(g, _) => {
                issued.push((g.version, g.hash.clone()));
                return Ok(None);
            }
            AgreementItem::Accepted(a, _) => a,
        };
        let known = match issued.iter().find(|(v, _)| *v == a.version) {
            Some((_, hash)) => Some(hash.clone()),
            None => ctx.store().agreement_hash(a.version).await?,
        };
        Ok(match known {
            None => Some(Refusal::new(
                "unknown_agreement_version",
                format!("there is no version {} of the sharing agreement", a.version),
            )),
            Some(h) if h != a.hash => Some(Refusal::new(
                "agreement_hash_mismatch",
                format!("the accepted text does not match version {}", a.version),
            )),
            Some(_) => None,
        })
    }

    /// Keep the versions, then the acceptances, and let the policy read them again.
    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<AgreementItem>>,
        _: Vec<(u64, String)>,
    ) -> Result<(), FederationError> {
        if arrived.is_empty() {
            return Ok(());
        }
        for a in &arrived {
            if let AgreementItem::Issued(g, raw) = &a.item {
                ctx.store()
                    .save_agreement(g.version, &g.hash, &g.text, raw, ctx.now())
                    .await?;
            }
        }
        for a in &arrived {
            if let AgreementItem::Accepted(acceptance, raw) = &a.item {
                ctx.store()
                    .save_acceptance(&a.origin, acceptance.version, raw, ctx.now())
                    .await?;
            }
        }
        ctx.agreement_changed().await?;
        Ok(())
    }
}
