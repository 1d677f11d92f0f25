//! One thing wrong with a piece of input, as the directory, the census and the coverage rules
//! report it: a stable kebab-case code, the field it is about, and a sentence for a person.

use serde::Serialize;

/// One thing wrong with a record, a questionnaire or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable kebab-case code (`missing-required`).
    pub code: &'static str,
    /// The field (or question id) it is about, a dotted path (`sections.2.questions.1.id`).
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            code,
            field: field.into(),
            message: message.into(),
        }
    }
}
