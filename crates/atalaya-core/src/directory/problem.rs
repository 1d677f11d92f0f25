//! One thing wrong with a directory entry, a census answer or a questionnaire.

use serde::Serialize;

/// A problem found in input: a stable code, the field it is about, and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable kebab-case code (`unknown-country`, `bad-cidr`, `not-a-choice`).
    pub code: &'static str,
    /// The field, as a path (`constituency.ip_ranges[2]`).
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl Problem {
    /// A problem.
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            code,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}
