//! Bulletins and what refers to them: acknowledging and retracting here, what the public may
//! see, and receiving bulletins, retractions by their origin, and acknowledgements by their
//! recipients (back to the origin).
//!
//! A sealed bulletin (TLP:RED, TLP:AMBER+STRICT) is opened with this node's key; one this node
//! cannot open, or that is not addressed to it, is stored unread and passed on (this node
//! carries it).

use async_trait::async_trait;
use atalaya_core::ack::Acknowledgement;
use atalaya_core::envelope::{Payload, Retraction, Sealed};
use atalaya_core::policy::{Action, Actor, Item};
use atalaya_core::{Bulletin, BulletinContent, Envelope, EnvelopeKind};
use atalaya_store::StoreError;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use crate::{Federation, FederationError, Refusal, note_name};

impl Federation {
    /// A person at this node acknowledges a bulletin it received; the signed acknowledgement
    /// goes back to the bulletin's origin.
    pub async fn acknowledge(
        &self,
        bulletin: uuid::Uuid,
        by: &str,
        note: atalaya_core::ack::AckNote,
        comment: Option<String>,
    ) -> Result<uuid::Uuid, FederationError> {
        let held = self
            .store
            .bulletin(bulletin)
            .await?
            .ok_or(FederationError::NoSuchBulletin(bulletin))?;
        if held.bulletin.origin == self.me {
            return Err(FederationError::OwnBulletin(bulletin));
        }
        let ack = atalaya_core::ack::Acknowledgement {
            bulletin,
            by: by.to_owned(),
            note,
            comment,
        };
        ack.check().map_err(FederationError::InvalidBulletin)?;
        let envelope = self.envelope_from_me(
            EnvelopeKind::Acknowledgement,
            atalaya_core::Tlp::Green,
            atalaya_core::Audience::Nodes {
                nodes: vec![held.bulletin.origin.clone()],
            },
            vec![bulletin],
            serde_json::to_value(&ack).map_err(|e| FederationError::Signing(e.to_string()))?,
        );
        let now = envelope.created;
        let record = atalaya_store::AckRecord {
            node: self.me.clone(),
            by: ack.by.clone(),
            note: note_name(ack.note),
            comment: ack.comment.clone(),
            at: now,
        };
        self.store.save_ack(bulletin, &record, envelope.id).await?;
        self.publish_envelope(&envelope, None).await?;
        tracing::info!(%bulletin, by, "bulletin acknowledged");
        Ok(envelope.id)
    }

    /// Retract one of this node's bulletins: a signed retraction goes to everyone the bulletin
    /// went to; they mark it retracted and stop passing it on. The history stays.
    pub async fn retract(
        &self,
        bulletin: uuid::Uuid,
        reason: &str,
    ) -> Result<uuid::Uuid, FederationError> {
        let held = self
            .store
            .bulletin(bulletin)
            .await?
            .ok_or(FederationError::NoSuchBulletin(bulletin))?;
        let b = held.bulletin;
        if b.origin != self.me {
            return Err(FederationError::NotTheOrigin(b.origin));
        }
        if held.retracted.is_some() {
            return Err(FederationError::AlreadyRetracted(bulletin));
        }
        // The retraction goes where the bulletin went, under the same labels.
        let mut envelope = self.envelope_from_me(
            EnvelopeKind::Retraction,
            b.tlp,
            b.audience.clone(),
            vec![bulletin],
            serde_json::json!({"bulletin": bulletin, "reason": reason}),
        );
        envelope.people = b.people.clone();
        let now = envelope.created;
        // The same checks a receiver makes.
        let parsed = Envelope::from_object(envelope.to_object())
            .map_err(|e| FederationError::InvalidBulletin(e.to_string()))?;
        drop(parsed);
        self.store
            .record_retraction(bulletin, &self.me, envelope.id, reason, now)
            .await?;
        self.publish_envelope(&envelope, None).await?;
        tracing::info!(%bulletin, "bulletin retracted");
        Ok(envelope.id)
    }

    /// What the public may see: bulletins the policy lets out (TLP:CLEAR, embargo over, not
    /// retracted), newest first. An embargoed advisory appears here the moment its embargo
    /// ends, whatever happened to the node in between: the decision is made at each request.
    pub async fn public_bulletins(
        &self,
        limit: u32,
    ) -> Result<Vec<atalaya_store::BulletinRecord>, StoreError> {
        self.scan_bulletins(limit, |r| self.is_public(r)).await
    }

    /// Bulletins the public saw and their origin retracted since, newest first: what the public
    /// feeds announce as withdrawn (a CAP `Cancel`). Their content is not public any more.
    pub async fn public_retractions(
        &self,
        limit: u32,
    ) -> Result<Vec<atalaya_store::BulletinRecord>, StoreError> {
        self.scan_bulletins(limit, |r| self.was_public(r)).await
    }

    /// Whether the policy lets the public see this bulletin now.
    pub fn is_public(&self, r: &atalaya_store::BulletinRecord) -> bool {
        self.decide(
            &Self::public_item(r, r.retracted.is_some()),
            &Actor::Public,
            Action::PublishPublic,
        )
        .is_allowed()
    }

    /// Whether this bulletin is retracted and the policy let the public see it before: it was
    /// TLP:CLEAR and its embargo (if any) ended before the retraction. Only that fact, and its
    /// id and times, may be said in public about it.
    pub fn was_public(&self, r: &atalaya_store::BulletinRecord) -> bool {
        let Some((at, _)) = &r.retracted else {
            return false;
        };
        let b = &r.bulletin;
        b.embargo_until.is_none_or(|t| t <= *at)
            && self
                .decide(
                    &Self::public_item(r, false),
                    &Actor::Public,
                    Action::PublishPublic,
                )
                .is_allowed()
    }

    fn public_item(r: &atalaya_store::BulletinRecord, retracted: bool) -> Item<'_> {
        Item::of_bulletin(&r.bulletin, retracted)
    }

    /// Up to `limit` stored bulletins that `keep` accepts, newest first.
    async fn scan_bulletins(
        &self,
        limit: u32,
        keep: impl Fn(&atalaya_store::BulletinRecord) -> bool,
    ) -> Result<Vec<atalaya_store::BulletinRecord>, StoreError> {
        let mut out = Vec::new();
        let mut before = None;
        // Page through until `limit` are found (most traffic is not CLEAR).
        for _ in 0..20 {
            let page = self
                .store
                .bulletins(&atalaya_store::BulletinQuery {
                    origin: None,
                    before,
                    limit: 500,
                })
                .await?;
            let Some(last) = page.last() else { break };
            before = Some(last.bulletin.created);
            for r in page {
                if keep(&r) {
                    out.push(r);
                    if out.len() >= limit as usize {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }
}

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
                note: note_name(ack.note),
                comment: ack.comment,
                at: a.created,
            };
            ctx.store().save_ack(ack.bulletin, &record, a.id).await?;
        }
        Ok(())
    }
}
