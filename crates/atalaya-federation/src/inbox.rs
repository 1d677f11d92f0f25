//! Reading a pushed batch, without I/O: the bytes of an authenticated `POST /fed/v1/inbox`
//! become a [`Batch`], and each envelope gets the verdict that needs nothing but the roster and
//! the clock (is it well formed, from a member, signed by that member's current key?).
//!
//! The order of checks on the inbox, from the outside in (the HTTP edge does 1–3):
//! 1. Before any byte of the body: a `Content-Length` over the limit is refused; the request's
//!    signature input is parsed, its key looked up in the roster, its age checked and its
//!    signature verified over the request line and headers (`Content-Digest` included), and
//!    its nonce recorded ([`crate::Federation::authenticate_request`]). A request that fails
//!    here is answered at once; its body is never read.
//! 2. Only then the body, with the member's limit and a deadline, hashed as it streams; it is
//!    refused unless it is exactly as long as announced and hashes to the signed digest.
//! 3. [`read_batch`]: UTF-8, nesting depth, shape, number of envelopes.
//! 4. [`authentic`] for each envelope, then the sharing rules, then the handler of its kind:
//!    its own checks, and what the node already holds ([`crate::Federation::receive_batch`],
//!    [`crate::handler`]).

use atalaya_core::envelope::ParsedEnvelope;
use atalaya_core::{Envelope, EnvelopeKind, Timestamp, json};
use atalaya_crypto::{PublicSigningKey, signature_key_ref, verify_envelope};

use crate::Refusal;
use crate::roster_view::RosterView;
use crate::wire::{self, Batch};

/// Why a batch's bytes were refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Not UTF-8.
    #[error("the body is not valid UTF-8")]
    InvalidUtf8,
    /// Nested deeper than any envelope is.
    #[error("{0}")]
    TooDeep(String),
    /// Not `{"envelopes": [...]}`.
    #[error("expected {{\"envelopes\": [...]}}: {0}")]
    Malformed(String),
    /// More envelopes than one batch may carry.
    #[error("at most {} envelopes per batch", wire::MAX_BATCH_ENVELOPES)]
    TooManyEnvelopes,
}

impl BatchError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "invalid_utf8",
            Self::TooDeep(_) => "too_deep",
            Self::Malformed(_) => "malformed_batch",
            Self::TooManyEnvelopes => "too_many_envelopes",
        }
    }
}

/// The envelopes of a batch body, each as its raw JSON text.
pub fn read_batch(bytes: &[u8]) -> Result<Batch<'_>, BatchError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BatchError::InvalidUtf8)?;
    json::check_depth(bytes, json::MAX_DEPTH).map_err(|e| BatchError::TooDeep(e.to_string()))?;
    let batch: Batch<'_> =
        serde_json::from_str(text).map_err(|e| BatchError::Malformed(e.to_string()))?;
    if batch.envelopes.len() > wire::MAX_BATCH_ENVELOPES {
        return Err(BatchError::TooManyEnvelopes);
    }
    Ok(batch)
}

/// An envelope that is well formed and signed by whom it says.
pub struct Authentic {
    /// The parsed envelope.
    pub parsed: ParsedEnvelope,
    /// For a roster envelope: the roster it carries, signed by the coordinator.
    pub roster: Option<RosterView>,
}

/// The verdict on one envelope that needs only the roster in force, the coordinator's key
/// and the clock: parsed, not from the future, signed by its origin, a current member's
/// current key (or, for a roster, the coordinator's). The sharing rules come after.
pub fn authentic(
    raw: &str,
    view: &RosterView,
    coordinator_key: &PublicSigningKey,
    now: Timestamp,
    max_skew_secs: i64,
) -> Result<Authentic, Refusal> {
    let parsed =
        Envelope::parse(raw.as_bytes()).map_err(|e| Refusal::new(e.code(), e.to_string()))?;
    let env = &parsed.envelope;
    if env.created.millis_since(now) > max_skew_secs * 1000 {
        return Err(Refusal::new(
            "created_in_future",
            format!(
                "envelope created at {} is ahead of this node's clock ({now})",
                env.created
            ),
        ));
    }
    let key_ref =
        signature_key_ref(&parsed.object).map_err(|e| Refusal::new(e.code(), e.to_string()))?;
    let (key_node, key_id) = key_ref.split_once('#').unwrap_or((key_ref, ""));
    if key_node != env.origin.as_str() {
        return Err(Refusal::new(
            "key_origin_mismatch",
            format!("signed with {key_ref}, but the origin is {}", env.origin),
        ));
    }
    if env.kind == EnvelopeKind::Roster {
        let roster = RosterView::from_signed(raw, coordinator_key)
            .map_err(|e| Refusal::new("untrusted_roster", e.to_string()))?;
        return Ok(Authentic {
            parsed,
            roster: Some(roster),
        });
    }
    if view.roster.is_removed(&env.origin) {
        return Err(Refusal::new(
            "origin_removed",
            format!("{} has been removed from the network", env.origin),
        ));
    }
    if view.member(&env.origin).is_none() {
        return Err(Refusal::new(
            "unknown_origin",
            format!(
                "{} is not a member of roster version {}",
                env.origin,
                view.version()
            ),
        ));
    }
    let key = view.key_of(&env.origin, key_id).ok_or_else(|| {
        Refusal::new(
            "unknown_key",
            format!("{key_ref} is not the current key of {}", env.origin),
        )
    })?;
    verify_envelope(&parsed.object, key).map_err(|e| Refusal::new(e.code(), e.to_string()))?;
    Ok(Authentic {
        parsed,
        roster: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_bytes_are_refused_with_their_codes() {
        let code = |b: &[u8]| read_batch(b).unwrap_err().code();
        assert_eq!(code(b"{\"envelopes\": [\"\xff\"]}"), "invalid_utf8");
        let deep = format!("{{\"envelopes\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(code(deep.as_bytes()), "too_deep");
        assert_eq!(code(b"{\"envelopes\": ["), "malformed_batch");
        assert_eq!(code(b"{\"envelopes\": [], \"x\": 1}"), "malformed_batch");
        let many = format!("{{\"envelopes\": [{}{{}}]}}", "{},".repeat(1000));
        assert_eq!(code(many.as_bytes()), "too_many_envelopes");
        let batch = read_batch(b"{\"envelopes\": [{\"a\": 1}, 2]}").unwrap();
        assert_eq!(batch.envelopes.len(), 2);
        assert_eq!(batch.envelopes[0].get(), "{\"a\": 1}");
    }
}
