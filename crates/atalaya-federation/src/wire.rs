//! The JSON shapes of federation requests and replies (protocol v1).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// Largest push batch accepted, in bytes.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Most envelopes in one push batch.
pub const MAX_BATCH_ENVELOPES: usize = 1000;

/// `POST /fed/v1/inbox` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch<'a> {
    /// The envelopes, each exactly as signed.
    #[serde(borrow)]
    pub envelopes: Vec<&'a RawValue>,
}

/// One refused envelope of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Position in the batch.
    pub index: usize,
    /// Its id, when it could be read.
    pub id: Option<Uuid>,
    /// Stable reason code.
    pub code: String,
    /// Human explanation.
    pub reason: String,
}

/// `POST /fed/v1/inbox` reply: a verdict for every envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReply {
    /// Newly stored.
    pub accepted: Vec<Uuid>,
    /// Already held (also a success for the sender).
    pub duplicate: Vec<Uuid>,
    /// Refused, with reasons.
    pub rejected: Vec<Rejected>,
}

/// `GET /fed/v1/outbox` reply.
#[derive(Debug, Deserialize)]
pub struct PullPage<'a> {
    /// Envelopes in the source's log order.
    #[serde(borrow)]
    pub envelopes: Vec<&'a RawValue>,
    /// The cursor to ask after next.
    pub next: i64,
    /// Whether more is waiting.
    pub more: bool,
}

/// Build a JSON array body from raw envelopes without re-serializing them.
pub fn envelopes_json<'a>(
    prefix: &str,
    raws: impl Iterator<Item = &'a str>,
    suffix: &str,
) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str(prefix);
    out.push('[');
    for (i, raw) in raws.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(raw);
    }
    out.push(']');
    out.push_str(suffix);
    out
}
