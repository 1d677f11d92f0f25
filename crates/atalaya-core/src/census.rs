//! The census of the hemisphere's CSIRTs (DESIGN §4 `CensusRound`, `CensusResponse`): a
//! questionnaire as data, rounds the coordinator opens and closes, the teams' answers, and the
//! report of a round or of one question across rounds.
//!
//! The network's own questionnaire is `data/census-questionnaire-v1.json`
//! ([`default_questionnaire`]); a coordinator may open a round with another one, which must pass
//! [`Questionnaire::check`]. Answers are checked strictly against their question
//! ([`check_answers`]); a team may answer again while the round is open, and its latest response
//! is the one that counts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::directory::{Day, Problem, TeamId, TeamRecord};
use crate::{CountryCode, Timestamp};

const DEFAULT_QUESTIONNAIRE: &str = include_str!("../../../data/census-questionnaire-v1.json");

/// The languages of the OAS, in which every label of the default questionnaire is written.
pub const LANGUAGES: [&str; 4] = ["en", "es", "pt", "fr"];

/// Most sections a questionnaire may have.
pub const MAX_SECTIONS: usize = 40;
/// Most questions a questionnaire may have, over all its sections.
pub const MAX_QUESTIONS: usize = 400;
/// Most choices a question may offer.
pub const MAX_CHOICES: usize = 200;
/// Longest label, help text or title, in characters.
pub const MAX_LABEL_CHARS: usize = 1_000;
/// Longest id (questionnaire, section, question) or choice value, in characters.
pub const MAX_ID_CHARS: usize = 100;
/// Longest answer to a `text` question without its own `max_length`.
pub const DEFAULT_TEXT_MAX: usize = 1_000;
/// Longest answer to any text question (the default for `long-text`, and the most `max_length`
/// may allow).
pub const LONG_TEXT_MAX: usize = 10_000;
/// Longest round title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// A text in several languages: language code (`en`, `es`, `pt`, `fr`) → text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, String>);

impl Text {
    /// The text in `lang`, in English when it has none in `lang`, empty when it has neither.
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .filter(|s| !s.is_empty())
            .or_else(|| self.0.get("en"))
            .map_or("", String::as_str)
    }

    /// Whether it is written, non-empty, in all four languages of the OAS.
    pub fn has_all_languages(&self) -> bool {
        LANGUAGES
            .iter()
            .all(|l| self.0.get(*l).is_some_and(|s| !s.trim().is_empty()))
    }
}

/// What kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuestionKind {
    /// One line of text.
    Text,
    /// Several paragraphs of text.
    LongText,
    /// Yes or no.
    Boolean,
    /// A number, optionally between `min` and `max`.
    Number,
    /// A calendar day, `YYYY-MM-DD`, not after the day it is answered.
    Date,
    /// One of the choices.
    Single,
    /// Any of the choices.
    Multi,
}

impl QuestionKind {
    /// The wire name (`long-text`).
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Text => "text",
            QuestionKind::LongText => "long-text",
            QuestionKind::Boolean => "boolean",
            QuestionKind::Number => "number",
            QuestionKind::Date => "date",
            QuestionKind::Single => "single",
            QuestionKind::Multi => "multi",
        }
    }

    /// Whether questions of this kind offer choices.
    pub fn has_choices(self) -> bool {
        matches!(self, QuestionKind::Single | QuestionKind::Multi)
    }

    /// Whether answers are free text.
    pub fn is_text(self) -> bool {
        matches!(self, QuestionKind::Text | QuestionKind::LongText)
    }
}

/// One choice of a `single` or `multi` question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The stored value.
    pub value: String,
    /// What a person reads.
    pub label: Text,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Unique within the questionnaire; the key of its answer.
    pub id: String,
    /// What kind of answer it takes.
    pub kind: QuestionKind,
    /// The question.
    pub label: Text,
    /// A hint under the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    /// Whether a response must answer it.
    #[serde(default)]
    pub required: bool,
    /// The choices of a `single` or `multi` question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// Smallest number accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest number accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Longest text accepted, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// The team-record field that fills the answer in before the team sees the form (one of
    /// [`prefill_paths`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
}

impl Question {
    /// Whether `value` is one of its choices.
    pub fn is_choice(&self, value: &str) -> bool {
        self.choices.iter().any(|c| c.value == value)
    }

    /// The longest text answer accepted.
    pub fn text_limit(&self) -> usize {
        self.max_length.unwrap_or(match self.kind {
            QuestionKind::LongText => LONG_TEXT_MAX,
            _ => DEFAULT_TEXT_MAX,
        })
    }
}

/// A titled group of questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Unique among the sections.
    pub id: String,
    /// Its heading.
    pub title: Text,
    /// Its questions, in order.
    pub questions: Vec<Question>,
}

/// A census questionnaire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    /// Its id (`oas-csirt-census`).
    pub id: String,
    /// Its version; a changed questionnaire gets a new one.
    pub version: u32,
    /// Its title.
    pub title: Text,
    /// Its sections, in order.
    pub sections: Vec<Section>,
}

static DEFAULT: LazyLock<Questionnaire> = LazyLock::new(|| {
    // The unit tests prove the file parses; an empty questionnaire is only a guard.
    serde_json::from_str(DEFAULT_QUESTIONNAIRE).unwrap_or_else(|_| Questionnaire {
        id: "oas-csirt-census".to_owned(),
        version: 1,
        title: Text::default(),
        sections: Vec::new(),
    })
});

/// The network's own questionnaire, `data/census-questionnaire-v1.json`: identity, mandate,
/// constituency, services, staffing, 24/7 capability, tools, information-sharing practice,
/// training needs and assistance needs, in English, Spanish, Portuguese and French.
pub fn default_questionnaire() -> &'static Questionnaire {
    &DEFAULT
}

/// The shape of a team-record field a question may be filled in from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldShape {
    /// Free text.
    Text,
    /// A word from a fixed vocabulary (team type, Trusted Introducer status).
    Word,
    /// A calendar day.
    Date,
    /// Yes or no.
    Bool,
    /// A list of words.
    List,
}

/// The team-record fields a question may be filled in from, and their shapes.
const PREFILL_FIELDS: [(&str, FieldShape); 17] = [
    ("official_name", FieldShape::Text),
    ("short_name", FieldShape::Text),
    ("team_type", FieldShape::Word),
    ("host_organisation", FieldShape::Text),
    ("website", FieldShape::Text),
    ("established", FieldShape::Date),
    ("designation.reference", FieldShape::Text),
    ("designation.date", FieldShape::Date),
    ("constituency.types", FieldShape::List),
    ("constituency.sectors", FieldShape::List),
    ("services", FieldShape::List),
    ("available_24x7", FieldShape::Bool),
    ("mandate.disseminates_nationally", FieldShape::Bool),
    ("mandate.authorised_to_share", FieldShape::Bool),
    ("mandate.assists_other_teams", FieldShape::Bool),
    ("first.member", FieldShape::Bool),
    ("trusted_introducer.status", FieldShape::Word),
];

/// The team-record fields a question may name as its `prefill`.
pub fn prefill_paths() -> impl Iterator<Item = &'static str> {
    PREFILL_FIELDS.iter().map(|(p, _)| *p)
}

fn field_shape(path: &str) -> Option<FieldShape> {
    PREFILL_FIELDS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, s)| *s)
}

fn shape_fits(shape: FieldShape, kind: QuestionKind) -> bool {
    use QuestionKind as K;
    match shape {
        FieldShape::Text => matches!(kind, K::Text | K::LongText | K::Single),
        FieldShape::Word => matches!(kind, K::Text | K::Single),
        FieldShape::Date => matches!(kind, K::Date | K::Text),
        FieldShape::Bool => kind == K::Boolean,
        FieldShape::List => kind == K::Multi,
    }
}

fn valid_id(id: &str) -> bool {
    id.len() <= MAX_ID_CHARS
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Check the id of one item of a questionnaire's list (a section, a question; `what` names it)
/// at `field`: a valid id (`bad-id`), and not one that an earlier item of the list has
/// (`duplicate-id`; `seen` holds the ids so far).
fn check_listed_id<'a>(
    id: &'a str,
    what: &str,
    field: &str,
    seen: &mut BTreeSet<&'a str>,
    problems: &mut Vec<Problem>,
) {
    if !valid_id(id) {
        problems.push(Problem::new(
            "bad-id",
            format!("{field}.id"),
            format!("`{id}` is not a valid {what} id"),
        ));
    }
    if !seen.insert(id) {
        problems.push(Problem::new(
            "duplicate-id",
            format!("{field}.id"),
            format!("{what} `{id}` appears twice"),
        ));
    }
}

fn check_text(text: &Text, field: &str, problems: &mut Vec<Problem>) {
    if text.0.get("en").is_none_or(|s| s.trim().is_empty()) {
        problems.push(Problem::new(
            "missing-label",
            field,
            "an English text is required (other languages fall back to it)",
        ));
    }
    for (lang, s) in &text.0 {
        if !LANGUAGES.contains(&lang.as_str()) {
            problems.push(Problem::new(
                "unknown-language",
                format!("{field}.{lang}"),
                format!("`{lang}` is not one of en, es, pt, fr"),
            ));
        }
        if s.chars().count() > MAX_LABEL_CHARS {
            problems.push(Problem::new(
                "too-large",
                format!("{field}.{lang}"),
                format!("longer than {MAX_LABEL_CHARS} characters"),
            ));
        }
    }
}

impl Questionnaire {
    /// Every question, in order.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    /// The question with this id.
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions().find(|q| q.id == id)
    }

    /// Whether a coordinator's questionnaire is usable: ids well formed and unique, every text
    /// in English at least, choices only (and always) on `single`/`multi` questions and unique,
    /// ranges only on numbers and lengths only on text, prefill fields that exist and fit the
    /// question, and no more than the size limits of this module.
    pub fn check(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        if !valid_id(&self.id) {
            problems.push(Problem::new(
                "bad-id",
                "id",
                "use lower-case letters, digits, `-` or `_`, starting with a letter",
            ));
        }
        check_text(&self.title, "title", &mut problems);
        if self.sections.is_empty() {
            problems.push(Problem::new("too-small", "sections", "no sections"));
        }
        if self.sections.len() > MAX_SECTIONS {
            problems.push(Problem::new(
                "too-large",
                "sections",
                format!("more than {MAX_SECTIONS} sections"),
            ));
        }
        let total = self.questions().count();
        if total > MAX_QUESTIONS {
            problems.push(Problem::new(
                "too-large",
                "sections",
                format!("{total} questions; at most {MAX_QUESTIONS}"),
            ));
        }
        let mut section_ids = BTreeSet::new();
        let mut question_ids = BTreeSet::new();
        for (si, section) in self.sections.iter().enumerate() {
            let sf = format!("sections.{si}");
            check_listed_id(&section.id, "section", &sf, &mut section_ids, &mut problems);
            check_text(&section.title, &format!("{sf}.title"), &mut problems);
            if section.questions.is_empty() {
                problems.push(Problem::new(
                    "too-small",
                    format!("{sf}.questions"),
                    "a section without questions",
                ));
            }
            for (qi, q) in section.questions.iter().enumerate() {
                let qf = format!("{sf}.questions.{qi}");
                check_listed_id(&q.id, "question", &qf, &mut question_ids, &mut problems);
                check_question(q, &qf, &mut problems);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn check_question(q: &Question, qf: &str, problems: &mut Vec<Problem>) {
    check_text(&q.label, &format!("{qf}.label"), problems);
    if let Some(help) = &q.help {
        check_text(help, &format!("{qf}.help"), problems);
    }
    if q.kind.has_choices() {
        if q.choices.is_empty() {
            problems.push(Problem::new(
                "missing-choices",
                format!("{qf}.choices"),
                "a single or multi question needs choices",
            ));
        }
        if q.choices.len() > MAX_CHOICES {
            problems.push(Problem::new(
                "too-large",
                format!("{qf}.choices"),
                format!("more than {MAX_CHOICES} choices"),
            ));
        }
        let mut values = BTreeSet::new();
        for (ci, c) in q.choices.iter().enumerate() {
            let cf = format!("{qf}.choices.{ci}");
            if c.value.trim().is_empty() || c.value.chars().count() > MAX_ID_CHARS {
                problems.push(Problem::new(
                    "bad-id",
                    format!("{cf}.value"),
                    format!("a choice value is 1 to {MAX_ID_CHARS} characters"),
                ));
            }
            if !values.insert(c.value.as_str()) {
                problems.push(Problem::new(
                    "duplicate-choice",
                    format!("{cf}.value"),
                    format!("`{}` is offered twice", c.value),
                ));
            }
            check_text(&c.label, &format!("{cf}.label"), problems);
        }
    } else if !q.choices.is_empty() {
        problems.push(Problem::new(
            "misplaced-choices",
            format!("{qf}.choices"),
            "only single and multi questions offer choices",
        ));
    }
    if q.min.is_some() || q.max.is_some() {
        let finite = q.min.is_none_or(f64::is_finite) && q.max.is_none_or(f64::is_finite);
        let ordered = match (q.min, q.max) {
            (Some(lo), Some(hi)) => lo <= hi,
            _ => true,
        };
        if q.kind != QuestionKind::Number || !finite || !ordered {
            problems.push(Problem::new(
                "bad-range",
                format!("{qf}.min"),
                "min and max are finite numbers, min not above max, on number questions only",
            ));
        }
    }
    if let Some(len) = q.max_length
        && (!q.kind.is_text() || len == 0 || len > LONG_TEXT_MAX)
    {
        problems.push(Problem::new(
            "bad-range",
            format!("{qf}.max_length"),
            format!("max_length is 1 to {LONG_TEXT_MAX}, on text questions only"),
        ));
    }
    if let Some(path) = &q.prefill {
        match field_shape(path) {
            None => problems.push(Problem::new(
                "unknown-prefill",
                format!("{qf}.prefill"),
                format!("`{path}` is not a team-record field that can fill in an answer"),
            )),
            Some(shape) if !shape_fits(shape, q.kind) => problems.push(Problem::new(
                "prefill-mismatch",
                format!("{qf}.prefill"),
                format!("`{path}` cannot fill in a {:?} question", q.kind),
            )),
            Some(_) => {}
        }
    }
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    /// A `boolean` answer.
    Bool(bool),
    /// A `number` answer.
    Number(f64),
    /// A `text`, `long-text`, `date` (`YYYY-MM-DD`) or `single` answer.
    Text(String),
    /// A `multi` answer.
    List(Vec<String>),
}

/// A response's answers: question id → answer.
pub type Answers = BTreeMap<String, AnswerValue>;

fn is_blank(value: &AnswerValue) -> bool {
    match value {
        AnswerValue::Text(s) => s.trim().is_empty(),
        AnswerValue::List(v) => v.is_empty(),
        AnswerValue::Bool(_) | AnswerValue::Number(_) => false,
    }
}

/// Whether `answers` answer `q` as it asks, on `today`: codes `unknown-question`, `wrong-type`,
/// `not-a-choice` (including a choice picked twice), `missing-required` (absent, blank text or
/// no choice), `out-of-range`, `too-long` and `bad-date` (not `YYYY-MM-DD`, or after `today`).
pub fn check_answers(q: &Questionnaire, answers: &Answers, today: Day) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    for (id, value) in answers {
        let Some(question) = q.question(id) else {
            problems.push(Problem::new(
                "unknown-question",
                id.as_str(),
                format!("the questionnaire has no question `{id}`"),
            ));
            continue;
        };
        check_answer(question, value, today, &mut problems);
    }
    for question in q.questions().filter(|q| q.required) {
        if answers.get(&question.id).is_none_or(is_blank) {
            problems.push(Problem::new(
                "missing-required",
                question.id.as_str(),
                format!("`{}` must be answered", question.label.get("en")),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_answer(question: &Question, value: &AnswerValue, today: Day, out: &mut Vec<Problem>) {
    use QuestionKind as K;
    let id = question.id.as_str();
    match (question.kind, value) {
        (K::Text | K::LongText, AnswerValue::Text(s)) => {
            let limit = question.text_limit();
            if s.chars().count() > limit {
                out.push(Problem::new(
                    "too-long",
                    id,
                    format!("at most {limit} characters"),
                ));
            }
        }
        (K::Boolean, AnswerValue::Bool(_)) => {}
        (K::Number, AnswerValue::Number(n)) => {
            if !n.is_finite() {
                out.push(Problem::new("wrong-type", id, "not a finite number"));
            } else if question.min.is_some_and(|lo| *n < lo)
                || question.max.is_some_and(|hi| *n > hi)
            {
                let lo = question.min.map_or("-".to_owned(), |v| v.to_string());
                let hi = question.max.map_or("-".to_owned(), |v| v.to_string());
                out.push(Problem::new(
                    "out-of-range",
                    id,
                    format!("{n} is outside {lo} to {hi}"),
                ));
            }
        }
        (K::Date, AnswerValue::Text(s)) => match Day::parse(s) {
            Err(e) => out.push(Problem::new("bad-date", id, e)),
            Ok(day) if day > today => out.push(Problem::new(
                "bad-date",
                id,
                format!("{day} is after today ({today})"),
            )),
            Ok(_) => {}
        },
        (K::Single, AnswerValue::Text(s)) => {
            if !s.is_empty() && !question.is_choice(s) {
                out.push(Problem::new(
                    "not-a-choice",
                    id,
                    format!("`{s}` is not one of the choices"),
                ));
            }
        }
        (K::Multi, AnswerValue::List(values)) => {
            let mut seen = BTreeSet::new();
            for v in values {
                if !question.is_choice(v) {
                    out.push(Problem::new(
                        "not-a-choice",
                        id,
                        format!("`{v}` is not one of the choices"),
                    ));
                } else if !seen.insert(v.as_str()) {
                    out.push(Problem::new(
                        "not-a-choice",
                        id,
                        format!("`{v}` is chosen twice"),
                    ));
                }
            }
        }
        (kind, _) => out.push(Problem::new(
            "wrong-type",
            id,
            format!("a {} question takes {}", kind.as_str(), kind_expects(kind)),
        )),
    }
}

fn kind_expects(kind: QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Text | QuestionKind::LongText => "a string",
        QuestionKind::Boolean => "true or false",
        QuestionKind::Number => "a number",
        QuestionKind::Date => "a YYYY-MM-DD string",
        QuestionKind::Single => "one choice value as a string",
        QuestionKind::Multi => "a list of choice values",
    }
}

/// The value of a team-record field, in the shape of its answer.
fn field_value(team: &TeamRecord, path: &str) -> Option<AnswerValue> {
    let text = |s: &str| Some(AnswerValue::Text(s.to_owned()));
    let list = |v: &[String]| Some(AnswerValue::List(v.to_vec()));
    match path {
        "official_name" => text(&team.official_name),
        "short_name" => text(&team.short_name),
        "team_type" => text(team.team_type.as_str()),
        "host_organisation" => team.host_organisation.as_deref().and_then(text),
        "website" => team.website.as_deref().and_then(text),
        "established" => team.established.map(|d| AnswerValue::Text(d.to_string())),
        "designation.reference" => team.designation.as_ref().and_then(|d| text(&d.reference)),
        "designation.date" => team
            .designation
            .as_ref()
            .map(|d| AnswerValue::Text(d.date.to_string())),
        "constituency.types" => list(&team.constituency.types),
        "constituency.sectors" => list(&team.constituency.sectors),
        "services" => list(&team.services),
        "available_24x7" => Some(AnswerValue::Bool(team.available_24x7)),
        "mandate.disseminates_nationally" => {
            Some(AnswerValue::Bool(team.mandate.disseminates_nationally))
        }
        "mandate.authorised_to_share" => Some(AnswerValue::Bool(team.mandate.authorised_to_share)),
        "mandate.assists_other_teams" => Some(AnswerValue::Bool(team.mandate.assists_other_teams)),
        "first.member" => Some(AnswerValue::Bool(
            team.first.as_ref().is_some_and(|f| f.member),
        )),
        "trusted_introducer.status" => team.trusted_introducer.as_ref().and_then(|ti| {
            let word = serde_json::to_value(ti.status).ok()?;
            word.as_str().and_then(text)
        }),
        _ => None,
    }
}

/// The answers a team's directory record already gives, to fill the form in before the team sees
/// it. Only what would pass [`check_answers`] is filled in: a word that is not one of a question's
/// choices is left out (a Trusted Introducer constituency type the questionnaire does not offer),
/// as is text longer than the question accepts.
pub fn prefill(q: &Questionnaire, team: &TeamRecord) -> Answers {
    let mut answers = Answers::new();
    for question in q.questions() {
        let Some(path) = &question.prefill else {
            continue;
        };
        let Some(value) = field_value(team, path) else {
            continue;
        };
        let fitted = match (question.kind, value) {
            (QuestionKind::Single, AnswerValue::Text(s)) => {
                question.is_choice(&s).then_some(AnswerValue::Text(s))
            }
            (QuestionKind::Multi, AnswerValue::List(values)) => {
                let mut kept: Vec<String> = Vec::new();
                for v in values {
                    if question.is_choice(&v) && !kept.contains(&v) {
                        kept.push(v);
                    }
                }
                (!kept.is_empty()).then_some(AnswerValue::List(kept))
            }
            (kind, AnswerValue::Text(s)) if kind.is_text() => (!s.trim().is_empty()
                && s.chars().count() <= question.text_limit())
            .then_some(AnswerValue::Text(s)),
            (QuestionKind::Date, v @ AnswerValue::Text(_)) => Some(v),
            (QuestionKind::Boolean, v @ AnswerValue::Bool(_)) => Some(v),
            _ => None,
        };
        if let Some(v) = fitted {
            answers.insert(question.id.clone(), v);
        }
    }
    answers
}

/// A census round the coordinator opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CensusRound {
    /// Its id.
    pub id: Uuid,
    /// Its title (`Census 2026`).
    pub title: String,
    /// The questionnaire it asks.
    pub questionnaire: Questionnaire,
    /// When it opened.
    pub opened: Timestamp,
    /// When it closes by itself, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes: Option<Timestamp>,
    /// When the coordinator closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Timestamp>,
    /// Who opened it.
    pub opened_by: String,
}

impl CensusRound {
    /// Whether responses are accepted at `now`: opened, not closed, and before `closes`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        now >= self.opened && self.closed.is_none() && self.closes.is_none_or(|c| now < c)
    }

    /// Whether the round is well formed: a title, who opened it, closing after opening, and a
    /// questionnaire that passes [`Questionnaire::check`] (its problems under `questionnaire.`).
    pub fn check(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        if self.title.trim().is_empty() {
            problems.push(Problem::new(
                "missing-title",
                "title",
                "a round needs a title",
            ));
        }
        if self.title.chars().count() > MAX_TITLE_CHARS {
            problems.push(Problem::new(
                "too-large",
                "title",
                format!("at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        if self.opened_by.trim().is_empty() {
            problems.push(Problem::new(
                "missing-opened-by",
                "opened_by",
                "who opened the round is recorded",
            ));
        }
        if self.closes.is_some_and(|c| c <= self.opened) {
            problems.push(Problem::new(
                "bad-dates",
                "closes",
                "a round closes after it opens",
            ));
        }
        if self.closed.is_some_and(|c| c < self.opened) {
            problems.push(Problem::new(
                "bad-dates",
                "closed",
                "a round is closed after it opens",
            ));
        }
        if let Err(inner) = self.questionnaire.check() {
            problems.extend(inner.into_iter().map(|p| Problem {
                field: format!("questionnaire.{}", p.field),
                ..p
            }));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// A team's answers to a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CensusResponse {
    /// The round answered.
    pub round: Uuid,
    /// The team answering.
    pub team: TeamId,
    /// Its answers.
    pub answers: Answers,
    /// When it was submitted.
    pub submitted: Timestamp,
    /// Who submitted it.
    pub submitted_by: String,
}

/// Whether a response may be accepted at `now`: codes `wrong-round` (it answers another round),
/// `round-closed` (closed, past its closing time, or not open yet), and those of
/// [`check_answers`] on the UTC day of `now`.
pub fn check_response(
    round: &CensusRound,
    r: &CensusResponse,
    now: Timestamp,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    if r.round != round.id {
        problems.push(Problem::new(
            "wrong-round",
            "round",
            format!("this response answers round {}, not {}", r.round, round.id),
        ));
    }
    if !round.is_open(now) {
        problems.push(Problem::new(
            "round-closed",
            "round",
            format!("round `{}` is not open for responses", round.title),
        ));
    }
    if let Err(inner) = check_answers(&round.questionnaire, &r.answers, Day::of(now)) {
        problems.extend(inner);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// How many answered one question, and what.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum QuestionSummary {
    /// A `single`, `multi` or `boolean` question: how many picked each choice (in the
    /// questionnaire's order; `true` then `false` for a boolean).
    Choices {
        /// Responses that answered it.
        answered: usize,
        /// Choice value → responses that picked it.
        counts: Vec<ChoiceCount>,
    },
    /// A `number` question.
    Numbers {
        /// Responses that answered it.
        answered: usize,
        /// Smallest answer.
        min: Option<f64>,
        /// Median answer (the mean of the middle two when the count is even).
        median: Option<f64>,
        /// Largest answer.
        max: Option<f64>,
    },
    /// A text or date question: only how many answered (the texts are read in the responses).
    Answered {
        /// Responses that answered it.
        answered: usize,
    },
}

impl QuestionSummary {
    /// How many responses answered the question.
    pub fn answered(&self) -> usize {
        match self {
            QuestionSummary::Choices { answered, .. }
            | QuestionSummary::Numbers { answered, .. }
            | QuestionSummary::Answered { answered } => *answered,
        }
    }
}

/// How many responses picked one choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceCount {
    /// The choice value (`true`/`false` for a boolean question).
    pub value: String,
    /// Responses that picked it.
    pub count: usize,
}

/// One question of a round's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionReport {
    /// The section it is in.
    pub section: String,
    /// The question id.
    pub question: String,
    /// What the responses said.
    pub summary: QuestionSummary,
}

/// How one country's teams responded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountryResponses {
    /// The country.
    pub country: CountryCode,
    /// Its teams in the directory.
    pub expected: usize,
    /// Those that responded.
    pub responded: usize,
}

/// A round's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundReport {
    /// The round.
    pub round: Uuid,
    /// Its title.
    pub title: String,
    /// Teams in the directory, each expected to respond.
    pub expected_teams: usize,
    /// Countries of those teams.
    pub expected_countries: usize,
    /// Directory teams that responded.
    pub responded_teams: usize,
    /// Countries with at least one responding team.
    pub responded_countries: usize,
    /// `responded_teams / expected_teams`, 0 when no team is expected.
    pub response_rate: f64,
    /// Per country, in code order.
    pub countries: Vec<CountryResponses>,
    /// Teams that responded but are not in the directory given; their answers are not summarised.
    pub unlisted_respondents: Vec<TeamId>,
    /// Per question, in the questionnaire's order.
    pub questions: Vec<QuestionReport>,
}

/// Each team's latest response to `round`.
fn latest(round: Uuid, responses: &[CensusResponse]) -> BTreeMap<&TeamId, &CensusResponse> {
    let mut by_team: BTreeMap<&TeamId, &CensusResponse> = BTreeMap::new();
    for r in responses.iter().filter(|r| r.round == round) {
        match by_team.get(&r.team) {
            Some(kept) if kept.submitted > r.submitted => {}
            _ => {
                by_team.insert(&r.team, r);
            }
        }
    }
    by_team
}

fn summarise<'a>(q: &Question, answers: impl Iterator<Item = &'a Answers>) -> QuestionSummary {
    let given: Vec<&AnswerValue> = answers
        .filter_map(|a| a.get(&q.id))
        .filter(|v| !is_blank(v))
        .collect();
    match q.kind {
        QuestionKind::Boolean => {
            let yes = given
                .iter()
                .filter(|v| matches!(v, AnswerValue::Bool(true)))
                .count();
            let no = given
                .iter()
                .filter(|v| matches!(v, AnswerValue::Bool(false)))
                .count();
            QuestionSummary::Choices {
                answered: yes + no,
                counts: vec![
                    ChoiceCount {
                        value: "true".to_owned(),
                        count: yes,
                    },
                    ChoiceCount {
                        value: "false".to_owned(),
                        count: no,
                    },
                ],
            }
        }
        QuestionKind::Single | QuestionKind::Multi => {
            let mut answered = 0;
            let mut counts: Vec<ChoiceCount> = q
                .choices
                .iter()
                .map(|c| ChoiceCount {
                    value: c.value.clone(),
                    count: 0,
                })
                .collect();
            for v in given {
                let picked: Vec<&str> = match (q.kind, v) {
                    (QuestionKind::Single, AnswerValue::Text(s)) => vec![s.as_str()],
                    (QuestionKind::Multi, AnswerValue::List(l)) => {
                        let set: BTreeSet<&str> = l.iter().map(String::as_str).collect();
                        set.into_iter().collect()
                    }
                    _ => continue,
                };
                answered += 1;
                for p in picked {
                    if let Some(c) = counts.iter_mut().find(|c| c.value == p) {
                        c.count += 1;
                    }
                }
            }
            QuestionSummary::Choices { answered, counts }
        }
        QuestionKind::Number => {
            let mut numbers: Vec<f64> = given
                .iter()
                .filter_map(|v| match v {
                    AnswerValue::Number(n) if n.is_finite() => Some(*n),
                    _ => None,
                })
                .collect();
            numbers.sort_by(f64::total_cmp);
            let n = numbers.len();
            let median = match n {
                0 => None,
                _ if n % 2 == 1 => numbers.get(n / 2).copied(),
                _ => match (numbers.get(n / 2 - 1), numbers.get(n / 2)) {
                    (Some(a), Some(b)) => Some((a + b) / 2.0),
                    _ => None,
                },
            };
            QuestionSummary::Numbers {
                answered: n,
                min: numbers.first().copied(),
                median,
                max: numbers.last().copied(),
            }
        }
        QuestionKind::Text | QuestionKind::LongText | QuestionKind::Date => {
            QuestionSummary::Answered {
                answered: given
                    .iter()
                    .filter(|v| matches!(v, AnswerValue::Text(_)))
                    .count(),
            }
        }
    }
}

/// The report of a round: who was expected (every team of `teams`), who responded (each team's
/// latest response counts once), and per question what the responses of directory teams said.
pub fn report(
    round: &CensusRound,
    responses: &[CensusResponse],
    teams: &[TeamRecord],
) -> RoundReport {
    let latest = latest(round.id, responses);
    let mut countries: BTreeMap<CountryCode, CountryResponses> = BTreeMap::new();
    let mut counted: Vec<&Answers> = Vec::new();
    let mut listed: BTreeSet<&TeamId> = BTreeSet::new();
    for team in teams {
        if !listed.insert(&team.id) {
            continue;
        }
        let entry = countries
            .entry(team.country)
            .or_insert_with(|| CountryResponses {
                country: team.country,
                expected: 0,
                responded: 0,
            });
        entry.expected += 1;
        if let Some(r) = latest.get(&team.id) {
            entry.responded += 1;
            counted.push(&r.answers);
        }
    }
    let expected_teams = listed.len();
    let responded_teams = counted.len();
    let questions = round
        .questionnaire
        .sections
        .iter()
        .flat_map(|s| {
            s.questions.iter().map(|q| QuestionReport {
                section: s.id.clone(),
                question: q.id.clone(),
                summary: summarise(q, counted.iter().copied()),
            })
        })
        .collect();
    RoundReport {
        round: round.id,
        title: round.title.clone(),
        expected_teams,
        expected_countries: countries.len(),
        responded_teams,
        responded_countries: countries.values().filter(|c| c.responded > 0).count(),
        response_rate: if expected_teams == 0 {
            0.0
        } else {
            responded_teams as f64 / expected_teams as f64
        },
        countries: countries.into_values().collect(),
        unlisted_respondents: latest
            .keys()
            .filter(|t| !listed.contains(*t))
            .map(|t| (*t).clone())
            .collect(),
        questions,
    }
}

/// One question across rounds, oldest round first: for each round whose questionnaire has the
/// question, its id, title and the summary of its latest responses. Rounds without the question
/// are left out.
pub fn compare(
    rounds: &[(CensusRound, Vec<CensusResponse>)],
    question_id: &str,
) -> Vec<(Uuid, String, QuestionSummary)> {
    let mut ordered: Vec<&(CensusRound, Vec<CensusResponse>)> = rounds.iter().collect();
    ordered.sort_by_key(|(r, _)| r.opened);
    ordered
        .into_iter()
        .filter_map(|(round, responses)| {
            let q = round.questionnaire.question(question_id)?;
            let latest = latest(round.id, responses);
            let summary = summarise(q, latest.values().map(|r| &r.answers));
            Some((round.id, round.title.clone(), summary))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::directory::vocab;

    fn small() -> Questionnaire {
        serde_json::from_value(json!({
            "id": "test", "version": 1, "title": {"en": "Test"},
            "sections": [{"id": "a", "title": {"en": "A"}, "questions": [
                {"id": "name", "kind": "text", "label": {"en": "Name"}, "required": true,
                 "max_length": 10, "prefill": "short_name"},
                {"id": "notes", "kind": "long-text", "label": {"en": "Notes"}},
                {"id": "h24", "kind": "boolean", "label": {"en": "24/7"}, "required": true,
                 "prefill": "available_24x7"},
                {"id": "staff", "kind": "number", "label": {"en": "Staff"}, "min": 0, "max": 100},
                {"id": "since", "kind": "date", "label": {"en": "Since"}},
                {"id": "ticketing", "kind": "single", "label": {"en": "Ticketing"},
                 "choices": [{"value": "rtir", "label": {"en": "RTIR"}},
                             {"value": "thehive", "label": {"en": "TheHive"}},
                             {"value": "none", "label": {"en": "None"}}]},
                {"id": "tip", "kind": "multi", "label": {"en": "TIP"},
                 "choices": [{"value": "misp", "label": {"en": "MISP"}},
                             {"value": "opencti", "label": {"en": "OpenCTI"}},
                             {"value": "none", "label": {"en": "None"}}]}
            ]}]
        }))
        .unwrap()
    }

    fn team(id: &str, country: &str) -> TeamRecord {
        serde_json::from_value(json!({
            "id": id, "official_name": format!("Team {id}"), "short_name": id.to_uppercase(),
            "country": country, "team_type": "national", "updated": "2026-01-01T00:00:00.000Z"
        }))
        .unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn answers(v: serde_json::Value) -> Answers {
        serde_json::from_value(v).unwrap()
    }

    fn codes(r: Result<(), Vec<Problem>>) -> Vec<&'static str> {
        r.err().unwrap_or_default().iter().map(|p| p.code).collect()
    }

    fn round(id: u128, title: &str, opened: &str) -> CensusRound {
        CensusRound {
            id: Uuid::from_u128(id),
            title: title.to_owned(),
            questionnaire: small(),
            opened: ts(opened),
            closes: None,
            closed: None,
            opened_by: "coordinator".to_owned(),
        }
    }

    fn response(round: u128, team: &str, at: &str, a: serde_json::Value) -> CensusResponse {
        CensusResponse {
            round: Uuid::from_u128(round),
            team: TeamId::new(team).unwrap(),
            answers: answers(a),
            submitted: ts(at),
            submitted_by: "lead".to_owned(),
        }
    }

    #[test]
    fn the_default_questionnaire_is_complete_in_four_languages() {
        let q: Questionnaire = serde_json::from_str(DEFAULT_QUESTIONNAIRE).unwrap();
        assert_eq!(&q, default_questionnaire(), "the embedded file parsed");
        assert_eq!(q.check(), Ok(()));
        let sections: Vec<&str> = q.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            sections,
            [
                "identity",
                "mandate",
                "constituency",
                "services",
                "staffing",
                "availability",
                "tools",
                "sharing",
                "training",
                "assistance"
            ]
        );
        assert!(q.title.has_all_languages());
        for s in &q.sections {
            assert!(s.title.has_all_languages(), "section {}", s.id);
            assert!((4..=6).contains(&s.questions.len()), "section {}", s.id);
            for question in &s.questions {
                assert!(question.label.has_all_languages(), "{}", question.id);
                if let Some(help) = &question.help {
                    assert!(help.has_all_languages(), "{} help", question.id);
                }
                for c in &question.choices {
                    assert!(c.label.has_all_languages(), "{} {}", question.id, c.value);
                }
            }
        }
        let services = q.question("services").unwrap();
        let ids: Vec<&str> = services.choices.iter().map(|c| c.value.as_str()).collect();
        let framework: Vec<&str> = vocab::services().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, framework, "exactly the FIRST framework's 21 services");
        let sectors = q.question("constituency_sectors").unwrap();
        let keys: BTreeSet<&str> = sectors.choices.iter().map(|c| c.value.as_str()).collect();
        let all: BTreeSet<&str> = vocab::sectors().iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, all);
        let used: BTreeSet<&str> = q.questions().filter_map(|q| q.prefill.as_deref()).collect();
        for path in prefill_paths().filter(|p| *p != "website") {
            assert!(used.contains(path), "{path} fills no question");
        }
        let ticketing = q.question("ticketing_system").unwrap();
        assert_eq!(ticketing.choices.len(), 7);
        assert_eq!(q.question("full_time_staff").unwrap().max, Some(10_000.0));
    }

    #[test]
    fn a_text_falls_back_to_english() {
        let t: Text =
            serde_json::from_value(json!({"en": "Staff", "es": "Personal", "pt": ""})).unwrap();
        assert_eq!(t.get("es"), "Personal");
        assert_eq!(t.get("pt"), "Staff");
        assert_eq!(t.get("fr"), "Staff");
        assert!(!t.has_all_languages());
    }

    #[test]
    fn every_questionnaire_rejection_has_its_code() {
        type Edit = fn(&mut Questionnaire);
        let cases: [(&str, Edit); 14] = [
            ("bad-id", |q| q.sections[0].questions[0].id = "Name!".into()),
            ("duplicate-id", |q| {
                q.sections[0].questions[1].id = "name".into()
            }),
            ("duplicate-id", |q| {
                let again = q.sections[0].clone();
                q.sections.push(again);
            }),
            ("missing-label", |q| {
                q.sections[0].questions[0].label = Text::default()
            }),
            ("unknown-language", |q| {
                q.title.0.insert("de".into(), "Test".into());
            }),
            ("too-large", |q| {
                q.title
                    .0
                    .insert("en".into(), "x".repeat(1001))
                    .map_or((), drop)
            }),
            ("too-small", |q| q.sections.clear()),
            ("missing-choices", |q| {
                q.sections[0].questions[5].choices.clear()
            }),
            ("misplaced-choices", |q| {
                let choices = q.sections[0].questions[5].choices.clone();
                q.sections[0].questions[0].choices = choices;
            }),
            ("duplicate-choice", |q| {
                let first = q.sections[0].questions[6].choices[0].clone();
                q.sections[0].questions[6].choices.push(first);
            }),
            ("bad-range", |q| {
                q.sections[0].questions[3].min = Some(10.0);
                q.sections[0].questions[3].max = Some(1.0);
            }),
            ("bad-range", |q| {
                q.sections[0].questions[3].max_length = Some(5)
            }),
            ("unknown-prefill", |q| {
                q.sections[0].questions[1].prefill = Some("sim3.levels".into());
            }),
            ("prefill-mismatch", |q| {
                q.sections[0].questions[3].prefill = Some("services".into());
            }),
        ];
        assert_eq!(small().check(), Ok(()));
        for (code, edit) in cases {
            let mut q = small();
            edit(&mut q);
            let got = codes(q.check());
            assert!(
                !got.is_empty() && got.iter().all(|c| *c == code),
                "{code}: {got:?}"
            );
        }
        let mut huge = small();
        huge.sections = (0..41)
            .map(|i| {
                let mut s = small().sections[0].clone();
                s.id = format!("s{i}");
                for q in &mut s.questions {
                    q.id = format!("{}-{i}", q.id);
                }
                s
            })
            .collect();
        assert!(codes(huge.check()).iter().all(|c| *c == "too-large"));
        assert_eq!(
            codes(huge.check()).len(),
            1,
            "41 sections but only 287 questions"
        );
    }

    #[test]
    fn good_answers_pass() {
        let a = answers(json!({
            "name": "CSIRT-X", "notes": "", "h24": false, "staff": 12, "since": "2020-05-01",
            "ticketing": "rtir", "tip": ["misp", "opencti"]
        }));
        assert_eq!(check_answers(&small(), &a, day("2026-03-01")), Ok(()));
    }

    #[test]
    fn every_answer_rejection_has_its_code() {
        let today = day("2026-03-01");
        let base = json!({"name": "CSIRT-X", "h24": true});
        let cases = [
            ("unknown-question", json!({"colour": "blue"})),
            ("wrong-type", json!({"staff": "twelve"})),
            ("wrong-type", json!({"h24": "yes"})),
            ("wrong-type", json!({"tip": "misp"})),
            ("not-a-choice", json!({"ticketing": "jira"})),
            ("not-a-choice", json!({"tip": ["misp", "misp"]})),
            ("not-a-choice", json!({"tip": ["splunk"]})),
            ("out-of-range", json!({"staff": 101})),
            ("out-of-range", json!({"staff": -1})),
            ("too-long", json!({"name": "ABCDEFGHIJK"})),
            ("bad-date", json!({"since": "01/05/2020"})),
            ("bad-date", json!({"since": "2026-03-02"})),
        ];
        for (code, extra) in cases {
            let mut a = answers(base.clone());
            a.extend(answers(extra.clone()));
            assert_eq!(
                codes(check_answers(&small(), &a, today)),
                [code],
                "{code}: {extra}"
            );
        }
        for missing in [json!({"h24": true}), json!({"name": "  ", "h24": true})] {
            assert_eq!(
                codes(check_answers(&small(), &answers(missing), today)),
                ["missing-required"]
            );
        }
        let mut q = small();
        q.sections[0].questions[6].required = true;
        assert_eq!(
            codes(check_answers(
                &q,
                &answers(json!({"name": "X", "h24": true, "tip": []})),
                today
            )),
            ["missing-required"],
            "a required multi needs one choice"
        );
        let a = answers(json!({"notes": "x".repeat(LONG_TEXT_MAX + 1), "name": "X", "h24": true}));
        assert_eq!(codes(check_answers(&small(), &a, today)), ["too-long"]);
    }

    #[test]
    fn prefill_takes_what_the_record_says_and_only_valid_choices() {
        let mut t: TeamRecord = serde_json::from_value(json!({
            "id": "cl-csirt", "official_name": "Equipo de Respuesta ante Incidentes de Chile",
            "short_name": "CSIRT-CL", "country": "CL", "team_type": "national",
            "established": "2015-03-01",
            "designation": {"reference": "Decreto 273", "date": "2019-02-04"},
            "constituency": {"types": ["Government", "Critical sectors"], "sectors": ["energy"]},
            "services": ["incident-coordination", "incident-coordination", "exercises"],
            "available_24x7": true,
            "mandate": {"disseminates_nationally": true, "authorised_to_share": false},
            "first": {"member": true},
            "trusted_introducer": {"status": "accredited"},
            "updated": "2026-01-01T00:00:00.000Z"
        }))
        .unwrap();
        let q = default_questionnaire();
        let a = prefill(q, &t);
        let text = |s: &str| AnswerValue::Text(s.to_owned());
        assert_eq!(
            a["official_name"],
            text("Equipo de Respuesta ante Incidentes de Chile")
        );
        assert_eq!(a["short_name"], text("CSIRT-CL"));
        assert_eq!(a["team_type"], text("national"));
        assert_eq!(a["established"], text("2015-03-01"));
        assert_eq!(a["designation_reference"], text("Decreto 273"));
        assert_eq!(a["designation_date"], text("2019-02-04"));
        assert_eq!(
            a["constituency_types"],
            AnswerValue::List(vec!["Government".into()]),
            "a type the questionnaire does not offer is left out"
        );
        assert_eq!(
            a["constituency_sectors"],
            AnswerValue::List(vec!["energy".into()])
        );
        assert_eq!(
            a["services"],
            AnswerValue::List(vec!["incident-coordination".into(), "exercises".into()])
        );
        assert_eq!(a["available_24x7"], AnswerValue::Bool(true));
        assert_eq!(a["disseminates_nationally"], AnswerValue::Bool(true));
        assert_eq!(a["authorised_to_share"], AnswerValue::Bool(false));
        assert_eq!(a["assists_other_teams"], AnswerValue::Bool(false));
        assert_eq!(a["first_member"], AnswerValue::Bool(true));
        assert_eq!(a["trusted_introducer_status"], text("accredited"));
        assert!(!a.contains_key("host_organisation"));
        // What is filled in passes; only the questions the record cannot answer are left.
        let left = check_answers(q, &a, day("2026-03-01")).unwrap_err();
        assert!(
            left.iter().all(|p| p.code == "missing-required"),
            "{left:?}"
        );
        assert_eq!(
            left.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
            ["full_time_staff"]
        );

        t.official_name = "x".repeat(201);
        t.trusted_introducer = None;
        let a = prefill(q, &t);
        assert!(
            !a.contains_key("official_name"),
            "too long for the question"
        );
        assert!(!a.contains_key("trusted_introducer_status"));
    }

    #[test]
    fn a_round_is_open_between_opening_and_closing() {
        let mut r = round(1, "Census 2026", "2026-02-01T00:00:00.000Z");
        assert!(!r.is_open(ts("2026-01-31T23:59:59.999Z")));
        assert!(r.is_open(ts("2026-02-01T00:00:00.000Z")));
        r.closes = Some(ts("2026-03-01T00:00:00.000Z"));
        assert!(r.is_open(ts("2026-02-28T23:59:59.999Z")));
        assert!(!r.is_open(ts("2026-03-01T00:00:00.000Z")));
        r.closes = None;
        r.closed = Some(ts("2026-02-10T00:00:00.000Z"));
        assert!(!r.is_open(ts("2026-02-05T00:00:00.000Z")), "closed by hand");
        assert_eq!(r.check(), Ok(()));
    }

    #[test]
    fn every_round_rejection_has_its_code() {
        type Edit = fn(&mut CensusRound);
        let cases: [(&str, Edit); 6] = [
            ("missing-title", |r| r.title = " ".into()),
            ("too-large", |r| r.title = "x".repeat(201)),
            ("missing-opened-by", |r| r.opened_by.clear()),
            ("bad-dates", |r| r.closes = Some(r.opened)),
            ("bad-dates", |r| r.closed = Some(r.opened.plus_millis(-1))),
            ("duplicate-id", |r| {
                r.questionnaire.sections[0].questions[1].id = "name".into()
            }),
        ];
        for (code, edit) in cases {
            let mut r = round(1, "Census", "2026-02-01T00:00:00.000Z");
            edit(&mut r);
            let problems = r.check().unwrap_err();
            assert_eq!(problems.iter().map(|p| p.code).collect::<Vec<_>>(), [code]);
        }
        let mut r = round(1, "Census", "2026-02-01T00:00:00.000Z");
        r.questionnaire.sections[0].questions[0].label = Text::default();
        assert_eq!(
            r.check().unwrap_err()[0].field,
            "questionnaire.sections.0.questions.0.label"
        );
    }

    #[test]
    fn responses_to_another_or_a_closed_round_are_refused() {
        let mut r = round(1, "Census", "2026-02-01T00:00:00.000Z");
        r.closes = Some(ts("2026-03-01T00:00:00.000Z"));
        let good = json!({"name": "X", "h24": true});
        let during = ts("2026-02-15T10:00:00.000Z");
        let ok = response(1, "cl-csirt", "2026-02-15T10:00:00.000Z", good.clone());
        assert_eq!(check_response(&r, &ok, during), Ok(()));

        let other = response(2, "cl-csirt", "2026-02-15T10:00:00.000Z", good.clone());
        assert_eq!(codes(check_response(&r, &other, during)), ["wrong-round"]);
        for now in ["2026-03-01T00:00:00.000Z", "2026-01-15T00:00:00.000Z"] {
            assert_eq!(
                codes(check_response(&r, &ok, ts(now))),
                ["round-closed"],
                "{now}"
            );
        }
        r.closed = Some(ts("2026-02-10T00:00:00.000Z"));
        assert_eq!(codes(check_response(&r, &ok, during)), ["round-closed"]);
        r.closed = None;
        let bad = response(1, "cl-csirt", "2026-02-15T10:00:00.000Z", json!({"h24": 1}));
        assert_eq!(
            codes(check_response(&r, &bad, during)),
            ["wrong-type", "missing-required"]
        );
        let future = response(
            1,
            "cl-csirt",
            "2026-02-15T10:00:00.000Z",
            json!({"name": "X", "h24": true, "since": "2026-02-16"}),
        );
        assert_eq!(codes(check_response(&r, &future, during)), ["bad-date"]);
    }

    #[test]
    fn a_round_from_opening_to_report() {
        let mut r = round(1, "Census 2026", "2026-02-01T00:00:00.000Z");
        r.closes = Some(ts("2026-03-01T00:00:00.000Z"));
        assert_eq!(r.check(), Ok(()));
        let teams = [
            team("cl-csirt", "CL"),
            team("cl-csirt/banca", "CL"),
            team("br-cert", "BR"),
            team("jm-cirt", "JM"),
        ];
        let responses = [
            // Chile's national team answers, then corrects itself: the second one counts.
            response(
                1,
                "cl-csirt",
                "2026-02-02T10:00:00.000Z",
                json!({"name": "CL", "h24": false, "staff": 4, "ticketing": "none", "tip": ["none"]}),
            ),
            response(
                1,
                "cl-csirt",
                "2026-02-03T10:00:00.000Z",
                json!({"name": "CL", "h24": true, "staff": 5, "ticketing": "rtir", "tip": ["misp"],
                       "since": "2015-03-01"}),
            ),
            response(
                1,
                "cl-csirt/banca",
                "2026-02-04T10:00:00.000Z",
                json!({"name": "BANCA", "h24": false, "staff": 2, "ticketing": "rtir",
                       "tip": ["misp", "opencti"], "notes": "   "}),
            ),
            response(
                1,
                "br-cert",
                "2026-02-05T10:00:00.000Z",
                json!({"name": "BR", "h24": true, "staff": 30, "tip": ["opencti"]}),
            ),
            // Not in the directory given: counted apart, not summarised.
            response(
                1,
                "xx-team",
                "2026-02-05T10:00:00.000Z",
                json!({"name": "XX", "h24": true, "staff": 99}),
            ),
            // Another round's response is ignored.
            response(
                2,
                "jm-cirt",
                "2026-02-05T10:00:00.000Z",
                json!({"name": "JM", "h24": true}),
            ),
        ];
        for resp in &responses[..5] {
            assert_eq!(check_response(&r, resp, resp.submitted), Ok(()));
        }
        let rep = report(&r, &responses, &teams);
        assert_eq!(rep.expected_teams, 4);
        assert_eq!(rep.expected_countries, 3);
        assert_eq!(rep.responded_teams, 3);
        assert_eq!(rep.responded_countries, 2);
        assert!((rep.response_rate - 0.75).abs() < 1e-12);
        let by_country: Vec<(&str, usize, usize)> = rep
            .countries
            .iter()
            .map(|c| (c.country.as_str(), c.expected, c.responded))
            .collect();
        assert_eq!(by_country, [("BR", 1, 1), ("CL", 2, 2), ("JM", 1, 0)]);
        assert_eq!(rep.unlisted_respondents, [TeamId::new("xx-team").unwrap()]);
        let summary = |id: &str| {
            rep.questions
                .iter()
                .find(|q| q.question == id)
                .unwrap()
                .summary
                .clone()
        };
        let counts = |pairs: &[(&str, usize)]| -> Vec<ChoiceCount> {
            pairs
                .iter()
                .map(|(v, c)| ChoiceCount {
                    value: (*v).to_owned(),
                    count: *c,
                })
                .collect()
        };
        assert_eq!(
            summary("h24"),
            QuestionSummary::Choices {
                answered: 3,
                counts: counts(&[("true", 2), ("false", 1)])
            }
        );
        // Staff 5, 2, 30 (Chile's first answer of 4 was replaced): min 2, median 5, max 30.
        assert_eq!(
            summary("staff"),
            QuestionSummary::Numbers {
                answered: 3,
                min: Some(2.0),
                median: Some(5.0),
                max: Some(30.0)
            }
        );
        assert_eq!(
            summary("ticketing"),
            QuestionSummary::Choices {
                answered: 2,
                counts: counts(&[("rtir", 2), ("thehive", 0), ("none", 0)])
            }
        );
        assert_eq!(
            summary("tip"),
            QuestionSummary::Choices {
                answered: 3,
                counts: counts(&[("misp", 2), ("opencti", 2), ("none", 0)])
            }
        );
        assert_eq!(summary("since"), QuestionSummary::Answered { answered: 1 });
        assert_eq!(
            summary("notes"),
            QuestionSummary::Answered { answered: 0 },
            "blank is not an answer"
        );
        assert_eq!(rep.questions.len(), 7);
        assert_eq!(rep.questions[0].section, "a");

        let empty = report(&r, &[], &[]);
        assert_eq!(empty.response_rate, 0.0);
        assert_eq!(
            summary_of(&empty, "staff"),
            QuestionSummary::Numbers {
                answered: 0,
                min: None,
                median: None,
                max: None
            }
        );
    }

    fn summary_of(rep: &RoundReport, id: &str) -> QuestionSummary {
        rep.questions
            .iter()
            .find(|q| q.question == id)
            .unwrap()
            .summary
            .clone()
    }

    #[test]
    fn a_question_compares_across_rounds_oldest_first() {
        let older = round(1, "Census 2025", "2025-02-01T00:00:00.000Z");
        let newer = round(2, "Census 2026", "2026-02-01T00:00:00.000Z");
        let mut without = round(3, "Pulse 2025", "2025-08-01T00:00:00.000Z");
        without.questionnaire.sections[0]
            .questions
            .retain(|q| q.id != "staff");
        let rounds = vec![
            (
                newer,
                vec![
                    response(
                        2,
                        "cl-csirt",
                        "2026-02-02T00:00:00.000Z",
                        json!({"staff": 6}),
                    ),
                    response(
                        2,
                        "br-cert",
                        "2026-02-02T00:00:00.000Z",
                        json!({"staff": 30}),
                    ),
                ],
            ),
            (without, vec![]),
            (
                older,
                vec![
                    response(
                        1,
                        "cl-csirt",
                        "2025-02-02T00:00:00.000Z",
                        json!({"staff": 4}),
                    ),
                    response(
                        1,
                        "br-cert",
                        "2025-02-02T00:00:00.000Z",
                        json!({"staff": 20}),
                    ),
                    response(
                        1,
                        "br-cert",
                        "2025-02-03T00:00:00.000Z",
                        json!({"staff": 25}),
                    ),
                ],
            ),
        ];
        let got = compare(&rounds, "staff");
        let titles: Vec<&str> = got.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(titles, ["Census 2025", "Census 2026"]);
        assert_eq!(got[0].0, Uuid::from_u128(1));
        assert_eq!(
            got[0].2,
            QuestionSummary::Numbers {
                answered: 2,
                min: Some(4.0),
                median: Some(14.5),
                max: Some(25.0)
            }
        );
        assert_eq!(
            got[1].2,
            QuestionSummary::Numbers {
                answered: 2,
                min: Some(6.0),
                median: Some(18.0),
                max: Some(30.0)
            }
        );
        assert!(compare(&rounds, "no-such-question").is_empty());
    }
}
