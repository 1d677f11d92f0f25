//! The directory as Atalaya's own JSON document:
//! `{"format": "atalaya-directory", "version": 1, "generated": <RFC 3339>, "teams": [...]}`,
//! each team exactly as [`TeamRecord`] serialises. The reader is strict: another format, another
//! version or a team with unknown fields is refused, so nothing is silently lost.

use atalaya_core::Timestamp;
use atalaya_core::directory::TeamRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FormatError, View};

/// The `format` value of a directory document.
pub const FORMAT: &str = "atalaya-directory";
/// The version this software writes and reads.
pub const VERSION: u64 = 1;

/// A directory document as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryDocument {
    /// When the exporting node wrote it.
    pub generated: Timestamp,
    /// The teams, in the document's order.
    pub teams: Vec<TeamRecord>,
}

/// Write a directory document of the teams as `view` shows them.
pub fn export_directory(teams: &[TeamRecord], generated: Timestamp, view: View) -> Value {
    let teams: Vec<TeamRecord> = teams.iter().map(|t| view.apply(t)).collect();
    json!({
        "format": FORMAT,
        "version": VERSION,
        "generated": generated,
        "teams": teams,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    generated: Timestamp,
    teams: Vec<TeamRecord>,
}

/// Read a directory document. Refused: over [`super::MAX_INPUT_BYTES`] (`too-large`), not JSON
/// or not an object (`malformed`), a `format` other than `atalaya-directory`
/// (`unknown-format`), a `version` other than 1 (`unsupported-version`), and a document whose
/// teams do not read as team records (`malformed`, naming the field).
pub fn import_directory(json: &[u8]) -> Result<DirectoryDocument, FormatError> {
    super::check_size(json)?;
    let value: Value = serde_json::from_slice(json).map_err(|e| FormatError::from_json(&e))?;
    let Value::Object(mut map) = value else {
        return Err(FormatError::malformed(
            "a directory document is a JSON object",
        ));
    };
    match map.remove("format") {
        Some(Value::String(f)) if f == FORMAT => {}
        Some(Value::String(f)) => return Err(FormatError::UnknownFormat(f)),
        Some(other) => return Err(FormatError::UnknownFormat(other.to_string())),
        None => return Err(FormatError::UnknownFormat(String::new())),
    }
    match map.remove("version") {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => return Err(FormatError::UnsupportedVersion(v.to_string())),
        None => return Err(FormatError::UnsupportedVersion("(none)".to_owned())),
    }
    let doc: Document = serde_json::from_value(Value::Object(map))
        .map_err(|e| FormatError::malformed(format!("the directory's teams do not read: {e}")))?;
    Ok(DirectoryDocument {
        generated: doc.generated,
        teams: doc.teams,
    })
}
