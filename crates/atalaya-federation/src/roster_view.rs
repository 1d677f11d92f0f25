//! The roster as a node uses it: members with their parsed keys, and the coordinator's trust
//! anchor that every roster version must be signed with.

use std::collections::HashMap;

use atalaya_core::envelope::{Envelope, PROTOCOL_VERSION, Payload};
use atalaya_core::{Audience, EnvelopeKind, Member, NodeId, Roster, Timestamp, Tlp};
use atalaya_crypto::{
    NodeKeys, PublicSigningKey, sign_envelope, signature_key_ref, verify_envelope,
};
use uuid::Uuid;

/// Why a roster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RosterViewError {
    /// The envelope is not a valid roster envelope.
    #[error("{0}")]
    Invalid(String),
    /// A member's key does not parse.
    #[error("member {0} has an invalid key: {1}")]
    BadKey(NodeId, String),
    /// Not signed by the coordinator key this node trusts.
    #[error("roster is not signed by the trusted coordinator key: {0}")]
    Untrusted(String),
}

/// A verified roster with its members' keys ready for verification.
#[derive(Debug, Clone)]
pub struct RosterView {
    /// The roster.
    pub roster: Roster,
    /// The signed roster envelope, as received.
    pub raw: String,
    keys: HashMap<NodeId, (String, PublicSigningKey)>,
}

impl RosterView {
    /// Verify a signed roster envelope against the coordinator trust anchor.
    pub fn from_signed(
        raw: &str,
        coordinator_key: &PublicSigningKey,
    ) -> Result<Self, RosterViewError> {
        let parsed =
            Envelope::parse(raw.as_bytes()).map_err(|e| RosterViewError::Invalid(e.to_string()))?;
        let Payload::Roster(roster) = parsed.payload else {
            return Err(RosterViewError::Invalid("not a roster envelope".into()));
        };
        let key_ref = signature_key_ref(&parsed.object)
            .map_err(|e| RosterViewError::Untrusted(e.to_string()))?;
        if key_ref.rsplit('#').next() != Some(coordinator_key.key_id().as_str()) {
            return Err(RosterViewError::Untrusted(format!("signed with {key_ref}")));
        }
        verify_envelope(&parsed.object, coordinator_key)
            .map_err(|e| RosterViewError::Untrusted(e.to_string()))?;
        let mut keys = HashMap::new();
        for m in &roster.members {
            let key = PublicSigningKey::from_b64(&m.signing_key)
                .map_err(|e| RosterViewError::BadKey(m.node_id.clone(), e.to_string()))?;
            keys.insert(m.node_id.clone(), (key.key_id(), key));
        }
        Ok(Self {
            roster: *roster,
            raw: raw.to_owned(),
            keys,
        })
    }

    /// A member's verifying key, if `key_id` is its current key.
    pub fn key_of(&self, node: &NodeId, key_id: &str) -> Option<&PublicSigningKey> {
        self.keys
            .get(node)
            .filter(|(id, _)| id == key_id)
            .map(|(_, k)| k)
    }

    /// A current member.
    pub fn member(&self, node: &NodeId) -> Option<&Member> {
        self.roster.member(node)
    }

    /// The roster version.
    pub fn version(&self) -> u64 {
        self.roster.version
    }
}

/// Sign a roster as the coordinator: the envelope every node accepts as the new roster.
pub fn sign_roster(
    roster: &Roster,
    keys: &NodeKeys,
    id: Uuid,
    now: Timestamp,
) -> Result<String, String> {
    roster.validate().map_err(|e| e.to_string())?;
    let env = Envelope {
        v: PROTOCOL_VERSION,
        id,
        kind: EnvelopeKind::Roster,
        origin: roster.coordinator.clone(),
        created: now,
        tlp: Tlp::Green,
        audience: Some(Audience::Network),
        embargo_until: None,
        refs: Vec::new(),
        people: Vec::new(),
        body: serde_json::to_value(roster).ok(),
        sealed: None,
        sig: None,
    };
    let mut object = env.to_object();
    let key_ref = format!("{}#{}", roster.coordinator, keys.key_id());
    sign_envelope(&mut object, keys.signing_key(), &key_ref).map_err(|e| e.to_string())?;
    serde_json::to_string(&object).map_err(|e| e.to_string())
}

/// Receives new versions of the roster (verified against the coordinator's key on the road).
pub(crate) struct RosterHandler;

#[async_trait::async_trait]
impl crate::handler::KindHandler for RosterHandler {
    type Item = RosterView;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::Roster]
    }

    fn check(
        &self,
        _: &crate::handler::Context<'_>,
        incoming: crate::handler::Incoming<'_>,
    ) -> Result<crate::handler::Accepted<RosterView>, crate::Refusal> {
        incoming
            .roster
            .map(crate::handler::Accepted::new)
            .ok_or_else(crate::handler::unexpected)
    }

    /// Install each, in the batch's order (only a newer version replaces the one in force).
    async fn keep(
        &self,
        ctx: &crate::handler::Context<'_>,
        arrived: Vec<crate::handler::Arrived<RosterView>>,
        _: (),
    ) -> Result<(), crate::FederationError> {
        for a in arrived {
            ctx.federation().install(a.item).await?;
        }
        Ok(())
    }
}
