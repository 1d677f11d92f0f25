//! Re-notification: the origin of a bulletin asks recipients that have not acknowledged it to
//! call their on-call roster now (a signed `renotify` envelope); a recipient accepts it only
//! from the bulletin's origin and only for a bulletin it holds, and its escalation loop calls
//! everyone on call at once (`atalaya_notify::renotify_once`).

use atalaya_core::ack::{self, AckState, Renotify};
use atalaya_core::envelope::Payload;
use atalaya_core::{Audience, Envelope, EnvelopeKind, NodeId};
use atalaya_store::StoreError;
use uuid::Uuid;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use crate::{Federation, FederationError, Refusal};

/// A re-notification just sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renotified {
    /// The renotify envelope.
    pub envelope: Uuid,
    /// The recipients it was queued for.
    pub nodes: Vec<NodeId>,
    /// Recipients asked for that this node's own sharing policy does not send it to.
    pub not_sent: Vec<NodeId>,
}

impl Federation {
    /// Re-notify recipients of one of this node's bulletins that have not acknowledged it:
    /// the ones named, or by default every recipient whose deadline has passed.
    pub async fn renotify(
        &self,
        bulletin: Uuid,
        nodes: Option<&[String]>,
        by: &str,
    ) -> Result<Renotified, FederationError> {
        let held = self
            .store
            .bulletin(bulletin)
            .await?
            .ok_or(FederationError::NoSuchBulletin(bulletin))?;
        let b = &held.bulletin;
        if b.origin != self.me {
            return Err(FederationError::NotOurBulletin(bulletin));
        }
        if held.retracted.is_some() {
            return Err(FederationError::AlreadyRetracted(bulletin));
        }
        let view = self.roster();
        let now = self.now();
        let acks = self.store.acks(bulletin).await?;
        // The recipients (not the carriers of a sealed bulletin) and where each stands.
        let recipients: Vec<(NodeId, AckState)> = self
            .store
            .deliveries(bulletin)
            .await?
            .into_iter()
            .filter(|d| {
                view.member(&d.peer)
                    .is_some_and(|m| b.audience.includes(&m.node_id, m.country))
            })
            .map(|d| {
                let acked = acks.iter().any(|a| a.node == d.peer);
                let state =
                    ack::ack_state(d.delivered.is_some(), acked, b.content.ack_required_by, now);
                (d.peer, state)
            })
            .collect();
        let chosen: Vec<NodeId> = match nodes {
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for s in list {
                    let found = NodeId::new(s.trim())
                        .ok()
                        .and_then(|id| recipients.iter().find(|(n, _)| *n == id));
                    match found {
                        None => return Err(FederationError::NotARecipient(s.clone())),
                        Some((n, AckState::Acknowledged)) => {
                            return Err(FederationError::AlreadyAcknowledged(n.clone()));
                        }
                        Some((n, _)) if !out.contains(n) => out.push(n.clone()),
                        Some(_) => {}
                    }
                }
                out
            }
            None => recipients
                .iter()
                .filter(|(_, s)| *s == AckState::Overdue)
                .map(|(n, _)| n.clone())
                .collect(),
        };
        if chosen.is_empty() {
            return Err(FederationError::NothingOverdue(bulletin));
        }
        let body = Renotify {
            bulletin,
            at: now,
            by: by.to_owned(),
        };
        body.check().map_err(FederationError::InvalidBulletin)?;
        // It goes only to the recipients chosen, under the bulletin's label.
        let envelope = self.envelope_from_me(
            EnvelopeKind::Renotify,
            b.tlp,
            Audience::Nodes {
                nodes: chosen.clone(),
            },
            vec![bulletin],
            serde_json::to_value(&body).map_err(|e| FederationError::Signing(e.to_string()))?,
        );
        Envelope::from_object(envelope.to_object())
            .map_err(|e| FederationError::InvalidBulletin(e.to_string()))?;
        let sent = self.publish_envelope(&envelope, None).await?;
        self.store
            .save_renotify_sent(bulletin, &sent, by, envelope.created, envelope.id)
            .await?;
        let not_sent: Vec<NodeId> = chosen.into_iter().filter(|n| !sent.contains(n)).collect();
        tracing::info!(%bulletin, nodes = sent.len(), "recipients re-notified");
        Ok(Renotified {
            envelope: envelope.id,
            nodes: sent,
            not_sent,
        })
    }
}

/// Receives re-notifications from the origins of bulletins this node holds.
pub(crate) struct RenotifyHandler;

#[async_trait::async_trait]
impl KindHandler for RenotifyHandler {
    type Item = Renotify;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::Renotify]
    }

    fn check(
        &self,
        _: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<Renotify>, Refusal> {
        match incoming.payload {
            Payload::Renotify(r) => Ok(Accepted::new(r)),
            _ => Err(unexpected()),
        }
    }

    /// Refuse a renotify for a bulletin this node does not hold, or from a node that is not
    /// the bulletin's origin. A repeat of an envelope already held passes as a duplicate.
    async fn check_held(
        &self,
        ctx: &Context<'_>,
        arrived: &mut Arrived<Renotify>,
        _: &mut (),
    ) -> Result<Option<Refusal>, StoreError> {
        let r = &arrived.item;
        if ctx.store().has_envelope(arrived.id).await? {
            return Ok(None);
        }
        Ok(match ctx.store().bulletin(r.bulletin).await? {
            None => Some(Refusal::new(
                "unknown_bulletin",
                format!("this node never received bulletin {}", r.bulletin),
            )),
            Some(held) if held.bulletin.origin != arrived.origin => Some(Refusal::new(
                "not_the_origin",
                format!(
                    "{} cannot re-notify about bulletin {}: only its origin {} can",
                    arrived.origin, r.bulletin, held.bulletin.origin
                ),
            )),
            Some(_) => None,
        })
    }

    /// Keep them and wake the escalation loop, which calls the on-call roster at once.
    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<Renotify>>,
        _: (),
    ) -> Result<(), FederationError> {
        if arrived.is_empty() {
            return Ok(());
        }
        for a in arrived {
            let r = atalaya_store::ReceivedRenotify {
                envelope: a.id,
                bulletin: a.item.bulletin,
                origin: a.origin,
                by: a.item.by,
                at: a.item.at,
                received: ctx.now(),
            };
            ctx.store().save_renotify_received(&r).await?;
            tracing::warn!(bulletin = %r.bulletin, origin = %r.origin, "re-notified by the origin");
        }
        ctx.wake_escalation();
        Ok(())
    }
}
