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

/// Largest answer read from a peer, in bytes: a pull page is cut at `MAX_BATCH_BYTES` by the
/// source (one larger envelope always fits), so anything beyond this is not an honest page.
pub const MAX_ANSWER_BYTES: usize = MAX_BATCH_BYTES + 2 * 1024 * 1024;

/// Most origins a source may list in `holds` (a roster has at most a few dozen members).
pub const MAX_HOLDS: usize = 1000;

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
    /// What the source holds of each origin: the position in its log of the newest envelope
    /// of that origin. A node that cannot reach an origin asks the peers whose position is
    /// past how far it has read their log for that origin (relay through holders).
    #[serde(default)]
    pub holds: std::collections::BTreeMap<String, i64>,
}

/// The `holds` member of a pull reply, as JSON (`"origin": position`).
pub fn holds_json(holds: &[(atalaya_core::NodeId, i64)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = holds
        .iter()
        .map(|(o, c)| (o.as_str().to_owned(), serde_json::Value::from(*c)))
        .collect();
    serde_json::Value::Object(map).to_string()
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
