//! The directory as a spreadsheet: one CSV row per team, with the columns of [`COLUMNS`].
//! Lists inside a cell are joined with `;`.
//!
//! **Formula injection.** A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and
//! some also after a tab or carriage return) as a formula, so a team named
//! `=HYPERLINK("http://evil.example","x")` would become a live link in every member's copy.
//! Such a cell is written with a `'` in front, which spreadsheets show as text; a cell that
//! already begins with `'` gets one too, so [`parse_csv`] can remove exactly one and give back
//! what was written. The one exception is the `emergency_phones` column: international numbers
//! begin with `+` by nature, and a cell of only `+`, digits, spaces, `-`, `.`, `(`, `)` and `;`
//! cannot call a function, so such a cell is left as is; any other content there is guarded
//! like every other cell.

use atalaya_core::directory::TeamRecord;

use super::{FormatError, View};

/// The columns, in order.
pub const COLUMNS: [&str; 19] = [
    "id",
    "short_name",
    "official_name",
    "country",
    "team_type",
    "host_organisation",
    "established",
    "designation_reference",
    "designation_date",
    "services",
    "available_24x7",
    "emails",
    "emergency_phones",
    "pgp_fingerprints",
    "next_key_expiry",
    "ti_status",
    "first_member",
    "sim3_mean",
    "demo",
];

const PHONE_COLUMN: usize = 12;

/// One row: the cells of [`COLUMNS`] as the team's values, before any guarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// One cell per column of [`COLUMNS`].
    pub cells: Vec<String>,
}

impl CsvRow {
    /// The row of a team.
    pub fn of(t: &TeamRecord) -> CsvRow {
        let join = |v: Vec<String>| v.join(";");
        let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
        let sim3_mean = t
            .sim3
            .as_ref()
            .filter(|s| !s.levels.is_empty())
            .map(|s| {
                let sum: u32 = s.levels.values().map(|l| u32::from(*l)).sum();
                format!("{:.1}", f64::from(sum) / s.levels.len() as f64)
            })
            .unwrap_or_default();
        let cells = vec![
            t.id.to_string(),
            t.short_name.clone(),
            t.official_name.clone(),
            t.country.to_string(),
            t.team_type.as_str().to_owned(),
            t.host_organisation.clone().unwrap_or_default(),
            t.established.map(|d| d.to_string()).unwrap_or_default(),
            t.designation
                .as_ref()
                .map(|d| d.reference.clone())
                .unwrap_or_default(),
            t.designation
                .as_ref()
                .map(|d| d.date.to_string())
                .unwrap_or_default(),
            t.services.join(";"),
            flag(t.available_24x7),
            join(t.emails.iter().map(|e| e.address.clone()).collect()),
            join(t.emergency_phones().map(|p| p.number.clone()).collect()),
            join(t.pgp_keys.iter().map(|k| k.fingerprint.clone()).collect()),
            t.pgp_keys
                .iter()
                .filter_map(|k| k.expires)
                .min()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            t.trusted_introducer
                .as_ref()
                .map(|c| {
                    match c.status {
                        atalaya_core::directory::TiStatus::Listed => "listed",
                        atalaya_core::directory::TiStatus::Accredited => "accredited",
                        atalaya_core::directory::TiStatus::Certified => "certified",
                    }
                    .to_owned()
                })
                .unwrap_or_default(),
            flag(t.first.as_ref().is_some_and(|f| f.member)),
            sim3_mean,
            flag(t.demo),
        ];
        CsvRow { cells }
    }

    /// The cell of a column, by name.
    pub fn get(&self, column: &str) -> Option<&str> {
        let i = COLUMNS.iter().position(|c| *c == column)?;
        self.cells.get(i).map(String::as_str)
    }
}

fn is_trigger(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

fn looks_like_phones(cell: &str) -> bool {
    cell.starts_with('+')
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')' | ';'))
}

/// A cell as written: with `'` in front when a spreadsheet would take it for a formula.
pub fn guard(cell: &str, column: usize) -> String {
    let risky = cell.starts_with(is_trigger) || cell.starts_with('\'');
    if risky && !(column == PHONE_COLUMN && looks_like_phones(cell)) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn unguard(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(is_trigger) || rest.starts_with('\'') => rest.to_owned(),
        _ => cell.to_owned(),
    }
}

/// Write the teams, as `view` shows them, as CSV with a header row (RFC 4180 quoting, `\n`
/// line ends). With [`View::Public`], member-only contacts and the SIM3 mean are left out.
pub fn export_csv(teams: &[TeamRecord], view: View) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut rows = vec![COLUMNS.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()];
    rows.extend(teams.iter().map(|t| {
        CsvRow::of(&view.apply(t))
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| guard(c, i))
            .collect()
    }));
    for row in rows {
        // Writing to a Vec cannot fail; a failure would only drop the row.
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Read back a CSV written by [`export_csv`]: its rows with the guarding `'` removed. Refused:
/// over [`super::MAX_INPUT_BYTES`] (`too-large`); another header, a row with another number of
/// cells, or text that is not UTF-8 (`malformed`, with the line).
pub fn parse_csv(text: &[u8]) -> Result<Vec<CsvRow>, FormatError> {
    super::check_size(text)?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text);
    let headers = r.headers().map_err(|e| csv_error(&e))?.clone();
    if headers.iter().ne(COLUMNS.iter().copied()) {
        return Err(FormatError::Malformed {
            line: 1,
            column: 0,
            message: format!(
                "the header is not the directory's columns ({})",
                COLUMNS.join(",")
            ),
        });
    }
    r.records()
        .map(|rec| {
            let rec = rec.map_err(|e| csv_error(&e))?;
            Ok(CsvRow {
                cells: rec.iter().map(unguard).collect(),
            })
        })
        .collect()
}

fn csv_error(e: &csv::Error) -> FormatError {
    let line = e
        .position()
        .map(|p| usize::try_from(p.line()).unwrap_or(0))
        .unwrap_or(0);
    FormatError::Malformed {
        line,
        column: 0,
        message: e.to_string(),
    }
}
