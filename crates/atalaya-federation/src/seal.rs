//! Sealing on the road: a TLP:RED or TLP:AMBER+STRICT bulletin travels encrypted (age,
//! X25519) to its recipients and to its origin, with the labels that say whom it is for inside;
//! a receiver opens it with its own key, or only carries it.

use atalaya_core::envelope::{Sealed, SealedContent};
use atalaya_core::{EntropyRng, Envelope, NodeId};
use base64::Engine as _;

use crate::{Federation, FederationError, Refusal};

impl Federation {
    /// The envelope with its body and the labels that say whom it is for (audience, people,
    /// embargo, refs) sealed (age, X25519) to the recipients and to this node, in a file with
    /// one stanza per member of the roster whoever can open it (see the envelope module's
    /// design note for what is left in clear).
    pub(crate) fn seal_for(
        &self,
        envelope: &Envelope,
        recipients: &[NodeId],
    ) -> Result<Envelope, FederationError> {
        let view = self.roster();
        let mut to = vec![self.me.clone()];
        to.extend(recipients.iter().cloned());
        let keys = to
            .iter()
            .map(|n| {
                let m = view
                    .member(n)
                    .ok_or_else(|| FederationError::Signing(format!("{n} left the roster")))?;
                atalaya_crypto::PublicSealingKey::from_b64(&m.sealing_key)
                    .map_err(|e| FederationError::Signing(format!("sealing key of {n}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let audience = envelope.audience.clone().ok_or_else(|| {
            FederationError::InvalidBulletin("a sealed bulletin needs an audience".into())
        })?;
        let content = SealedContent {
            audience,
            people: envelope.people.clone(),
            embargo_until: envelope.embargo_until,
            refs: envelope.refs.clone(),
            body: envelope.body.clone().unwrap_or_default(),
        };
        let plain =
            serde_json::to_vec(&content).map_err(|e| FederationError::Signing(e.to_string()))?;
        let ciphertext = atalaya_crypto::seal_padded(
            &plain,
            &keys,
            view.roster.members.len(),
            &mut EntropyRng(self.entropy.as_ref()),
        )
        .map_err(|e| FederationError::Signing(e.to_string()))?;
        let mut sealed = envelope.clone();
        sealed.body = None;
        sealed.audience = None;
        sealed.people = Vec::new();
        sealed.embargo_until = None;
        sealed.refs = Vec::new();
        sealed.sealed = Some(serde_json::json!({
            "alg": atalaya_core::envelope::Sealed::ALG,
            "ciphertext": base64::engine::general_purpose::STANDARD.encode(ciphertext),
        }));
        Ok(sealed)
    }

    /// Open a sealed envelope with this node's sealing key: the envelope with the labels from
    /// inside (or, in the earlier form, those in clear) and the body. `None` when this node
    /// only carries it: no stanza opens with its key, or (earlier form) `to` does not name it.
    pub(crate) fn unseal(
        &self,
        env: &Envelope,
        sealed: &Sealed,
    ) -> Result<Option<(Envelope, Vec<u8>)>, Refusal> {
        if sealed.to.as_ref().is_some_and(|to| !to.contains(&self.me)) {
            return Ok(None);
        }
        let cannot = |why: String| Refusal::new("cannot_open_sealed", why);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|e| cannot(format!("ciphertext is not base64: {e}")))?;
        let plain = match atalaya_crypto::open(&bytes, self.keys.sealing_secret()) {
            Ok(plain) => plain,
            // Not for this node (or a stanza for it was damaged, which looks the same).
            Err(atalaya_crypto::SealError::NoMatchingRecipient) if sealed.to.is_none() => {
                return Ok(None);
            }
            Err(e) => {
                let code = match e {
                    atalaya_crypto::SealError::BadHeaderMac => "sealed_header_mac",
                    atalaya_crypto::SealError::PayloadCorrupt { .. } => "sealed_payload_corrupt",
                    _ => "cannot_open_sealed",
                };
                return Err(Refusal::new(code, e.to_string()));
            }
        };
        if sealed.to.is_some() {
            return Ok(Some((env.clone(), plain)));
        }
        let content: SealedContent = serde_json::from_slice(&plain).map_err(|e| {
            Refusal::new(
                "malformed_sealed_content",
                format!("the opened content is not labels and a body: {e}"),
            )
        })?;
        content
            .check(env.tlp)
            .map_err(|e| Refusal::new("malformed_sealed_content", e.to_string()))?;
        let labelled = content.label(env);
        let body = serde_json::to_vec(&content.body)
            .map_err(|e| cannot(format!("the opened body: {e}")))?;
        Ok(Some((labelled, body)))
    }
}
