//! What every importer and exporter of an exchange format (CSAF, STIX, MISP, CAP) shares:
//! the result of reading a foreign document, the reasons for refusing one, and the limits
//! that keep a hostile document from exhausting the node.
//!
//! An importer turns a document into [`BulletinDraft`]s that the node then publishes as its
//! own bulletins (the policy and the label checks run there, as for any bulletin). An importer
//! never guesses a sharing label: a document without one is refused ([`codes::NO_LABEL`])
//! unless the caller supplies a default label explicitly in [`ImportOptions`].

use atalaya_core::{BulletinDraft, Tlp};

/// Stable codes of an [`ImportError`], shared by every format so the API and the CLI name
/// refusals the same way.
pub mod codes {
    /// Not parseable at all (bad JSON or XML, wrong encoding, trailing garbage).
    pub const MALFORMED: &str = "malformed";
    /// Larger than the format's byte limit or holding more items than allowed.
    pub const TOO_LARGE: &str = "too_large";
    /// Parseable but not valid against the format's schema.
    pub const SCHEMA_INVALID: &str = "schema_invalid";
    /// Valid against the schema but failing a test the standard makes mandatory.
    pub const MANDATORY_TEST_FAILED: &str = "mandatory_test_failed";
    /// No sharing label (TLP) on the document, and no default label given.
    pub const NO_LABEL: &str = "no_label";
    /// A label that cannot be mapped onto TLP 2.0.
    pub const UNKNOWN_LABEL: &str = "unknown_label";
    /// Nothing that becomes a bulletin (e.g. a bundle with only identities).
    pub const NOTHING_TO_IMPORT: &str = "nothing_to_import";
    /// The resulting bulletin breaks a bulletin rule (too long a title, bad indicator...).
    pub const INVALID_BULLETIN: &str = "invalid_bulletin";
}

/// One thing wrong with a document, with where it is (a JSON pointer, an XML path, a line).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportProblem {
    /// Where in the document (`/document/tracking/id`, `objects[3]`, `alert/info[0]`...).
    pub path: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// Why a document was refused. Nothing is stored when an import fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct ImportError {
    /// One of [`codes`].
    pub code: &'static str,
    /// A sentence saying why.
    pub reason: String,
    /// Every problem found, when there are several (schema errors, mandatory tests).
    pub problems: Vec<ImportProblem>,
}

impl ImportError {
    /// A refusal with one reason.
    pub fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            problems: Vec::new(),
        }
    }

    /// A refusal listing several problems.
    pub fn with_problems(
        code: &'static str,
        reason: impl Into<String>,
        problems: Vec<ImportProblem>,
    ) -> Self {
        Self {
            code,
            reason: reason.into(),
            problems,
        }
    }
}

/// How an import may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// The label for a document that carries none. `None` (the default) refuses such
    /// documents with [`codes::NO_LABEL`].
    pub default_tlp: Option<Tlp>,
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            default_tlp: None,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Largest document an API import accepts by default: 16 MiB. Streaming importers (a STIX
/// bundle from the CLI) read larger files piecewise and are bounded per object instead.
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

/// What a document became.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The bulletins to publish, in document order.
    pub bulletins: Vec<BulletinDraft>,
    /// What was dropped or changed on the way (unsupported object types, truncated text),
    /// so the person importing knows what did not come across.
    pub warnings: Vec<String>,
}
