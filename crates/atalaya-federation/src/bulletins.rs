//! Bulletins as they arrive, with what refers to them: retractions by their origin, and
//! acknowledgements by their recipients (back to the origin).
//!
//! A sealed bulletin (TLP:RED, TLP:AMBER+STRICT) is opened with this node's key; one this node
//! cannot open, or that is not addressed to it, is stored unread and passed on (this node
//! carries it).

use async_trait::async_trait;
use atalaya_core::ack::Acknowledgement;
use atalaya_core::envelope::{Payload, Retraction, Sealed};
use atalaya_core::{Bulletin, BulletinContent, Envelope, EnvelopeKind};
use atalaya_store::StoreError;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use crate::{FederationError, Refusal};

/// Receives bulletins: stored with their envelope, nothing more to keep.
pub(crate) struct BulletinHandler;

#[async_trait]
impl KindHandler for BulletinHandler {
    type Item = ();
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::Bulletin]
    }

    fn opens_sealed(&self) -> bool {
        true
    }

    /// A sealed bulletin this node can open is stored with the labels from inside; one it
    /// only carries, with none (its row's audience names no one).
    fn check(&self, ctx: &Context<'_>, incoming: Incoming<'_>) -> Result<Accepted<()>, Refusal> {
        let env = incoming.envelope;
        match incoming.payload {
            Payload::Bulletin(content) => Ok(Accepted {
                item: (),
                labels: None,
                bulletin: Some(Bulletin::from_envelope(env, *content)),
            }),
            Payload::Sealed(sealed) => Ok(match open_sealed(ctx, env, &sealed)? {
                Some((opened, content)) => Accepted {
                    item: (),
                    bulletin: Some(Bulletin::from_envelope(&opened, content)),
                    labels: Some(opened),
                },
                None => Accepted::new(()),
            }),
            _ => Err(unexpected()),
        }
    }

    async fn keep(
        &self,
        _: &Context<'_>,
        _: Vec<Arrived<()>>,
        _: (),
    ) -> Result<(), FederationError> {
        // Stored with its envelope.
        Ok(())
    }
}

/// Open a sealed bulletin by trying this node's sealing key on it. `None` when this node
/// only carries it: no stanza opens with its key, or (earlier form) `to` does not name it,
/// or the labels inside do not address it. Otherwise the envelope as its recipients read
/// it (the labels from inside) and the bulletin's content. The origin's signature, already
/// verified, covers the ciphertext, so what is inside is the origin's.
fn open_sealed(
    ctx: &Context<'_>,
    env: &Envelope,
    sealed: &Sealed,
) -> Result<Option<(Envelope, BulletinContent)>, Refusal> {
    let Some((labelled, body)) = ctx.unseal(env, sealed)? else {
        return Ok(None);
    };
    let content: BulletinContent = serde_json::from_slice(&body).map_err(|e| {
        Refusal::new(
            "cannot_open_sealed",
            format!("the opened body is not a bulletin: {e}"),
        )
    })?;
    content
        .validate(env.created)
        .map_err(|e| Refusal::new("invalid_body", e.to_string()))?;
    if let Some(old) = content.supersedes
        && !labelled.refs.contains(&old)
    {
        return Err(Refusal::new(
            "invalid_body",
            "`supersedes` must also be listed in `refs`",
        ));
    }
    // Sealed to this node but not addressed to it: hold it as a carrier, read nothing.
    if !ctx.addressed(&labelled) && &env.origin != ctx.me() {
        return Ok(None);
    }
    Ok(Some((labelled, content)))
}

/// Receives retractions: only a bulletin's origin retracts it.
pub(crate) struct RetractionHandler;

#[async_trait]
impl KindHandler for RetractionHandler {
    type Item = Retraction;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::Retraction]
    }

    fn check(
        &self,
        _: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<Retraction>, Refusal> {
        match incoming.payload {
            Payload::Retraction(r) => Ok(Accepted::new(r)),
            _ => Err(unexpected()),
        }
    }

    /// Refuse a retraction of someone else's bulletin.
    async fn check_held(
        &self,
        ctx: &Context<'_>,
        arrived: &mut Arrived<Retraction>,
        _: &mut (),
    ) -> Result<Option<Refusal>, StoreError> {
        let r = &arrived.item;
        if let Some(held) = ctx.store().bulletin(r.bulletin).await?
            && held.bulletin.origin != arrived.origin
        {
            return Ok(Some(Refusal::new(
                "not_the_origin",
                format!(
                    "{} cannot retract bulletin {}: only its origin {} can",
                    arrived.origin, r.bulletin, held.bulletin.origin
                ),
            )));
        }
        Ok(None)
    }

    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<Retraction>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            ctx.store()
                .record_retraction(a.item.bulletin, &a.origin, a.id, &a.item.reason, a.created)
                .await?;
        }
        Ok(())
    }
}

/// Receives acknowledgements of this node's bulletins from their recipients.
pub(crate) struct AcknowledgementHandler;

#[async_trait]
impl KindHandler for AcknowledgementHandler {
    type Item = Acknowledgement;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::Acknowledgement]
    }

    fn check(
        &self,
        _: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<Acknowledgement>, Refusal> {
        match incoming.payload {
            Payload::Acknowledgement(a) => Ok(Accepted::new(a)),
            _ => Err(unexpected()),
        }
    }

    /// Refuse an acknowledgement of a bulletin this node does not hold, did not originate, or
    /// did not send to the acknowledging node.
    async fn check_held(
        &self,
        ctx: &Context<'_>,
        arrived: &mut Arrived<Acknowledgement>,
        _: &mut (),
    ) -> Result<Option<Refusal>, StoreError> {
        let a = &arrived.item;
        let Some(held) = ctx.store().bulletin(a.bulletin).await? else {
            return Ok(Some(Refusal::new(
                "unknown_bulletin",
                format!("this node holds no bulletin {}", a.bulletin),
            )));
        };
        if &held.bulletin.origin != ctx.me() {
            return Ok(Some(Refusal::new(
                "not_our_bulletin",
                format!(
                    "bulletin {} is {}'s, not this node's",
                    a.bulletin, held.bulletin.origin
                ),
            )));
        }
        let sender = ctx.roster().member(&arrived.origin);
        if !sender.is_some_and(|m| held.bulletin.audience.includes(&m.node_id, m.country)) {
            return Ok(Some(Refusal::new(
                "not_a_recipient",
                format!("{} was not sent bulletin {}", arrived.origin, a.bulletin),
            )));
        }
        Ok(None)
    }

    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<Acknowledgement>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            let ack = a.item;
            let record = atalaya_store::AckRecord {
                node: a.origin,
                by: ack.by,
                note: crate::note_name(ack.note),
                comment: ack.comment,
                at: a.created,
            };
            ctx.store().save_ack(ack.bulletin, &record, a.id).await?;
        }
        Ok(())
    }
}
