//! Incident reports from the public: what a person tells a national CSIRT through the portal's
//! form, and how that form is read.
//!
//! The form arrives at whichever node's portal the person opened; the report belongs to the
//! national CSIRT of the state they picked. [`parse_form`] decodes the urlencoded body with
//! limits on the body, on the number of fields and on every field (it is the parser the fuzz
//! target `report_form` drives); [`ReportForm::to_report`] checks the fields and builds the
//! [`IncidentReport`] that is filed or travels as an `incident-report` envelope.

use serde::{Deserialize, Serialize};
/// Report ids are UUIDs (the envelope's id when a report travels).
pub use uuid::Uuid;

use crate::directory::{Problem, vocab};
use crate::{CountryCode, NodeId, Timestamp, member_states};

/// Limits on the report form.
pub mod limits {
    /// The largest form body, in bytes.
    pub const BODY_BYTES: usize = 24 * 1024;
    /// The most fields in a form.
    pub const FIELDS: usize = 24;
    /// The longest field name, in bytes.
    pub const NAME_BYTES: usize = 32;
    /// What happened, in characters.
    pub const WHAT_CHARS: usize = 8_000;
    /// When it happened, in characters.
    pub const WHEN_CHARS: usize = 200;
    /// The contact e-mail address, in characters.
    pub const CONTACT_CHARS: usize = 254;
    /// The affected organisation, in characters.
    pub const ORGANISATION_CHARS: usize = 200;
    /// The proof-of-work challenge, in characters.
    pub const CHALLENGE_CHARS: usize = 256;
    /// Any other field (selects, counters, the honeypot), in characters.
    pub const SHORT_CHARS: usize = 64;
}

/// The classes of the Reference Security Incident Taxonomy (RSIT) a person may pick.
pub const RSIT_CLASSES: [&str; 11] = [
    "abusive-content",
    "malicious-code",
    "information-gathering",
    "intrusion-attempts",
    "intrusions",
    "availability",
    "information-content-security",
    "fraud",
    "vulnerable",
    "other",
    "test",
];

/// An incident report, as filed at the national CSIRT's node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentReport {
    /// Its id (the envelope's id when it travelled).
    pub id: Uuid,
    /// The reference number the person was shown (`IR-CL-7F3A9C21D0`).
    pub reference: String,
    /// The member state whose national CSIRT it is for.
    pub country: CountryCode,
    /// What happened.
    pub what: String,
    /// When it happened, in the person's words.
    pub when: String,
    /// An e-mail address to answer to, if the person gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The affected organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Its sector (a key of the sectors vocabulary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// The RSIT class the person chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsit: Option<String>,
    /// The language the person wrote in (`en`, `es`, `pt`, `fr`).
    pub language: String,
    /// When the portal took it.
    pub received: Timestamp,
    /// The node whose portal took it.
    pub via: NodeId,
}

impl IncidentReport {
    /// The reference shown to the person: the state and ten hex digits of the id's random
    /// tail.
    pub fn reference_for(country: CountryCode, id: Uuid) -> String {
        let tail = id.as_u128() & 0xFF_FFFF_FFFF;
        format!("IR-{}-{tail:010X}", country.as_str())
    }

    /// Every problem with the report's fields (the same checks the form's fields get, so a
    /// report that travelled is held to them too).
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if !member_states::is_member_state(self.country) {
            problems.push(Problem::new(
                "unknown-country",
                "country",
                format!("{} is not an OAS member state", self.country),
            ));
        }
        if self.reference != Self::reference_for(self.country, self.id) {
            problems.push(Problem::new(
                "bad-reference",
                "reference",
                "the reference does not match the report's id and state",
            ));
        }
        check_text(&mut problems, "what", &self.what, limits::WHAT_CHARS, true);
        check_text(&mut problems, "when", &self.when, limits::WHEN_CHARS, true);
        if let Some(c) = &self.contact {
            check_contact(&mut problems, c);
        }
        if let Some(o) = &self.organisation {
            check_text(
                &mut problems,
                "organisation",
                o,
                limits::ORGANISATION_CHARS,
                true,
            );
        }
        if let Some(s) = &self.sector
            && vocab::sector(s).is_none()
        {
            problems.push(Problem::new(
                "not-a-choice",
                "sector",
                "not one of the sectors",
            ));
        }
        if let Some(r) = &self.rsit
            && !RSIT_CLASSES.contains(&r.as_str())
        {
            problems.push(Problem::new(
                "not-a-choice",
                "rsit",
                "not one of the RSIT classes",
            ));
        }
        if !["en", "es", "pt", "fr"].contains(&self.language.as_str()) {
            problems.push(Problem::new(
                "not-a-choice",
                "language",
                "one of en, es, pt, fr",
            ));
        }
        problems
    }
}

/// A report form as submitted: every field, decoded, still unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportForm {
    /// What happened.
    pub what: String,
    /// When.
    pub when: String,
    /// Contact e-mail.
    pub contact: String,
    /// Affected organisation.
    pub organisation: String,
    /// Sector key.
    pub sector: String,
    /// RSIT class.
    pub rsit: String,
    /// The honeypot: a field people never see and bots fill in.
    pub website: String,
    /// The proof-of-work challenge the node issued.
    pub challenge: String,
    /// The counter the browser found for it.
    pub pow: String,
    /// The page's language.
    pub lang: String,
}

/// Why a form body could not even be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The body is over [`limits::BODY_BYTES`].
    #[error("the form is over {} bytes", limits::BODY_BYTES)]
    TooLarge,
    /// More than [`limits::FIELDS`] fields.
    #[error("the form has more than {} fields", limits::FIELDS)]
    TooManyFields,
    /// A field name this form does not have.
    #[error("the form has no field {0:?}")]
    UnknownField(String),
    /// A field given twice.
    #[error("the field {0} is given twice")]
    Repeated(&'static str),
    /// A field over its limit.
    #[error("the field {0} is too long")]
    FieldTooLong(&'static str),
    /// Bad percent-encoding or not UTF-8.
    #[error("the form is not valid urlencoded UTF-8")]
    Malformed,
}

impl FormError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            FormError::TooLarge => "too_large",
            FormError::TooManyFields => "too_many_fields",
            FormError::UnknownField(_) => "unknown_field",
            FormError::Repeated(_) => "repeated_field",
            FormError::FieldTooLong(_) => "field_too_long",
            FormError::Malformed => "malformed_form",
        }
    }

    /// The field it is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            FormError::UnknownField(f) => Some(f),
            FormError::Repeated(f) | FormError::FieldTooLong(f) => Some(f),
            _ => None,
        }
    }
}

/// The fields of the form with their limits (in characters).
const FIELDS: [(&str, usize); 10] = [
    ("what", limits::WHAT_CHARS),
    ("when", limits::WHEN_CHARS),
    ("contact", limits::CONTACT_CHARS),
    ("organisation", limits::ORGANISATION_CHARS),
    ("sector", limits::SHORT_CHARS),
    ("rsit", limits::SHORT_CHARS),
    ("website", limits::SHORT_CHARS),
    ("challenge", limits::CHALLENGE_CHARS),
    ("pow", limits::SHORT_CHARS),
    ("lang", limits::SHORT_CHARS),
];

/// Decode an `application/x-www-form-urlencoded` report form, with limits on the body, the
/// number of fields and each field. Never panics, whatever the bytes.
pub fn parse_form(body: &[u8]) -> Result<ReportForm, FormError> {
    if body.len() > limits::BODY_BYTES {
        return Err(FormError::TooLarge);
    }
    let mut form = ReportForm::default();
    let mut seen = [false; FIELDS.len()];
    let mut count = 0;
    for pair in body.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        count += 1;
        if count > limits::FIELDS {
            return Err(FormError::TooManyFields);
        }
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        if name.len() > limits::NAME_BYTES * 3 {
            return Err(FormError::UnknownField(
                String::from_utf8_lossy(&name[..limits::NAME_BYTES]).into_owned(),
            ));
        }
        let name = decode(name, limits::NAME_BYTES).ok_or(FormError::Malformed)?;
        let Some(index) = FIELDS.iter().position(|(n, _)| *n == name) else {
            // The console's CSRF field and a submit button's name are not ours to refuse.
            if name == "_csrf" || name == "submit" {
                continue;
            }
            return Err(FormError::UnknownField(name));
        };
        let (field, max_chars) = FIELDS[index];
        if seen[index] {
            return Err(FormError::Repeated(field));
        }
        seen[index] = true;
        // A character is at most 4 bytes, each at most 3 when percent-encoded.
        if value.len() > max_chars * 12 {
            return Err(FormError::FieldTooLong(field));
        }
        let value = decode(value, max_chars * 4).ok_or(FormError::Malformed)?;
        if value.chars().count() > max_chars {
            return Err(FormError::FieldTooLong(field));
        }
        let slot = match field {
            "what" => &mut form.what,
            "when" => &mut form.when,
            "contact" => &mut form.contact,
            "organisation" => &mut form.organisation,
            "sector" => &mut form.sector,
            "rsit" => &mut form.rsit,
            "website" => &mut form.website,
            "challenge" => &mut form.challenge,
            "pow" => &mut form.pow,
            _ => &mut form.lang,
        };
        *slot = value;
    }
    Ok(form)
}

/// Percent-decode (`+` is a space) into UTF-8 of at most `max_bytes`.
fn decode(raw: &[u8], max_bytes: usize) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len().min(max_bytes));
    let mut i = 0;
    while i < raw.len() {
        let b = match raw[i] {
            b'+' => b' ',
            b'%' => {
                let hi = hex(*raw.get(i + 1)?)?;
                let lo = hex(*raw.get(i + 2)?)?;
                i += 2;
                hi << 4 | lo
            }
            b => b,
        };
        out.push(b);
        if out.len() > max_bytes {
            return None;
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn check_text(problems: &mut Vec<Problem>, field: &str, v: &str, max: usize, required: bool) {
    let t = v.trim();
    if required && t.is_empty() {
        problems.push(Problem::new("required", field, "required"));
    } else if t.chars().count() > max {
        problems.push(Problem::new(
            "too-long",
            field,
            format!("at most {max} characters"),
        ));
    } else if t
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        problems.push(Problem::new(
            "control-character",
            field,
            "control characters are not allowed",
        ));
    }
}

fn check_contact(problems: &mut Vec<Problem>, c: &str) {
    let ok = c.chars().count() <= limits::CONTACT_CHARS
        && c.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !c
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control() || "<>\"'".contains(ch));
    if !ok {
        problems.push(Problem::new(
            "bad-email",
            "contact",
            "not an e-mail address",
        ));
    }
}

fn optional(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl ReportForm {
    /// Check the fields a person filled in and build the report (`id` and `received` from the
    /// node). Every problem is named; the proof of work and honeypot are the web edge's.
    pub fn to_report(
        &self,
        id: Uuid,
        country: CountryCode,
        received: Timestamp,
        via: NodeId,
    ) -> Result<IncidentReport, Vec<Problem>> {
        let language = match self.lang.trim() {
            l @ ("en" | "es" | "pt" | "fr") => l.to_owned(),
            _ => "en".to_owned(),
        };
        let report = IncidentReport {
            id,
            reference: IncidentReport::reference_for(country, id),
            country,
            what: self.what.trim().to_owned(),
            when: self.when.trim().to_owned(),
            contact: optional(&self.contact),
            organisation: optional(&self.organisation),
            sector: optional(&self.sector),
            rsit: optional(&self.rsit),
            language,
            received,
            via,
        };
        let problems = report.check();
        if problems.is_empty() {
            Ok(report)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn good() -> &'static [u8] {
        b"what=Phishing+mail+%3Cscript%3E&when=yesterday&contact=ana%40example.org&sector=energy&rsit=fraud&website=&challenge=c&pow=12&lang=es&_csrf=x"
    }

    #[test]
    fn a_good_form_decodes_and_checks() {
        let f = parse_form(good()).unwrap();
        assert_eq!(f.what, "Phishing mail <script>");
        assert_eq!(f.contact, "ana@example.org");
        let id = Uuid::from_u128(0x0193_a000_0000_7000_8000_00ab_cdef_0123);
        let r = f
            .to_report(
                id,
                CountryCode::new("CL").unwrap(),
                Timestamp::parse("2026-11-22T12:00:00Z").unwrap(),
                NodeId::new("cl-csirt").unwrap(),
            )
            .unwrap();
        assert_eq!(r.reference, "IR-CL-ABCDEF0123");
        assert_eq!(r.language, "es");
        assert!(r.check().is_empty());
    }

    #[test]
    fn bad_forms_are_refused_with_a_code() {
        let code = |b: &[u8]| parse_form(b).unwrap_err().code();
        assert_eq!(code(&vec![b'a'; limits::BODY_BYTES + 1]), "too_large");
        assert_eq!(code(b"what=a&what=b"), "repeated_field");
        assert_eq!(code(b"evil=1"), "unknown_field");
        assert_eq!(code(b"what=%zz"), "malformed_form");
        assert_eq!(code(b"what=%ff"), "malformed_form");
        assert_eq!(code(b"what=%4"), "malformed_form");
        let long = format!("when={}", "a".repeat(limits::WHEN_CHARS + 1));
        assert_eq!(code(long.as_bytes()), "field_too_long");
        let many = "x=1&".repeat(limits::FIELDS + 1);
        assert_eq!(code(many.as_bytes()), "unknown_field");
        let many = "&_csrf=1".repeat(limits::FIELDS + 1);
        assert_eq!(code(many.as_bytes()), "too_many_fields");
    }

    #[test]
    fn field_problems_are_named() {
        let f = ReportForm {
            what: "  ".into(),
            when: "now".into(),
            contact: "not-an-address".into(),
            sector: "piracy".into(),
            rsit: "aliens".into(),
            ..Default::default()
        };
        let p = f
            .to_report(
                Uuid::nil(),
                CountryCode::new("CL").unwrap(),
                Timestamp::parse("2026-11-22T12:00:00Z").unwrap(),
                NodeId::new("cl-csirt").unwrap(),
            )
            .unwrap_err();
        let fields: Vec<_> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["what", "contact", "sector", "rsit"]);
    }
}
