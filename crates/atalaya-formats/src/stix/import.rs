//! STIX 2.1 bundles in: reports, indicators, vulnerabilities and sightings become bulletin
//! drafts with typed indicators.
//!
//! # Mapping
//! - A `report` becomes a bulletin: its `name`, `description` and external references; the
//!   indicators and vulnerabilities it lists in `object_refs` become its indicators;
//!   `report_types` choose the kind (threat-report, campaign, malware, attack-pattern,
//!   intrusion-set, threat-actor, tool → attack warning; vulnerability → vulnerability advisory;
//!   indicator, observed-data → suspicious activity; anything else → informational).
//! - An `indicator` with a simple STIX pattern becomes typed indicators: comparisons with `=` on
//!   `ipv4-addr:value`, `ipv6-addr:value` (a prefix becomes a CIDR; so does `ISSUBSET`),
//!   `domain-name:value`, `url:value`, `email-addr:value`, `email-message:from_ref.value`,
//!   `network-traffic:{src,dst}_ref.value`, `file:hashes.{MD5,SHA-1,SHA-256}` and
//!   `autonomous-system:number`, joined by `OR` inside one observation or between
//!   observations. Anything else (`AND`, `FOLLOWEDBY`, qualifiers, `MATCHES`, other objects,
//!   other pattern languages) is kept, verbatim, in the bulletin body and listed in the
//!   warnings. The indicator's `name` becomes each indicator's comment.
//! - A `vulnerability` with a CVE id (its name, or an external reference with `source_name`
//!   `cve`) becomes a `cve` indicator; one that no report lists becomes a vulnerability
//!   advisory of its own.
//! - A `sighting` of an indicator the importer still holds is noted on that indicator's
//!   comment and `first_seen`/`last_seen`; others are counted in the warnings.
//! - Indicators that no report lists are grouped, per TLP label, into bulletins of at most
//!   [`limits::INDICATORS`] indicators titled "STIX indicators from `<bundle id>`, part N".
//! - Other objects (identities, malware, relationships, observed data...) are counted in the
//!   warnings and not imported.
//!
//! # Labels
//! An object's label is the most restrictive TLP marking among its `object_marking_refs` and
//! `granular_markings` (TLP 2.0 or TLP 1.0 ids, or a marking-definition object of the bundle
//! that defines a TLP label); a bulletin takes the most restrictive label among its objects.
//! A bulletin none of whose objects carries a label gets [`ImportOptions::default_tlp`], or
//! the import is refused with [`codes::NO_LABEL`]. A marking definition that claims to be TLP
//! but names no TLP 2.0 label refuses the import ([`codes::UNKNOWN_LABEL`]). Markings the
//! bundle references but never defines are ignored, with a warning.
//!
//! # Refusals
//! Not JSON or trailing garbage ([`codes::MALFORMED`]); not a bundle, `objects` not an array,
//! an object without `type` or `id`, a STIX 2.0 bundle or object (convert it to 2.1 first,
//! e.g. with the OASIS stix2-elevator) ([`codes::SCHEMA_INVALID`]); an object larger than
//! [`MAX_OBJECT_BYTES`], or a member of the bundle other than `objects` that is
//! ([`codes::TOO_LARGE`]); nothing that becomes a bulletin
//! ([`codes::NOTHING_TO_IMPORT`]).
//!
//! # Streaming and memory
//! [`import_stream`] reads the bundle one object at a time (a small framer follows the
//! bundle's members and cuts `objects` into its elements; serde_json parses each element on
//! its own, from a buffer of at most [`MAX_OBJECT_BYTES`]) and hands each bulletin to a sink
//! as soon as it is complete, so memory does not grow with the bundle. What it holds, and its
//! bounds:
//! - each object while it is read: at most [`MAX_OBJECT_BYTES`];
//! - the last [`WINDOW`] indicator and vulnerability objects that no report has claimed yet
//!   (compact: the typed indicators, not the JSON), so that a report that comes *after* its
//!   indicators (common) still gets them. Older ones are moved into the per-label groups; a
//!   report arriving later that lists them says so in its body ("not found among the objects
//!   held") and they stay in the group bulletins;
//! - one open group per label (at most [`limits::INDICATORS`] indicators each);
//! - at most [`MAX_PENDING_REPORTS`] reports still waiting for objects they list; a report is
//!   emitted as soon as every indicator and vulnerability it lists has arrived, otherwise at
//!   the end (or when too many wait, the oldest first);
//! - the marking definitions seen (at most [`MAX_MARKING_DEFINITIONS`]).
//!
//! Objects whose markings the bundle has not defined yet when they leave the window are held
//! to the end of the bundle (the definition may come last); if more than [`WINDOW`] such
//! objects wait, the import is refused (put the marking definitions first). Bulletins go to the sink while the bundle is being read: when
//! a document must be imported all or nothing, run [`import_stream`] once with a sink that
//! only counts (a dry run that validates everything), then again to publish; or use
//! [`import`], which returns everything or nothing. Two-pass reading of a file is left to the
//! caller, which knows whether its input can be rewound.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Read;

use atalaya_core::bulletin::{IndicatorType, limits};
use atalaya_core::{
    Audience, BulletinContent, BulletinDraft, BulletinKind, Indicator, Severity, Timestamp, Tlp,
};
use serde::de::IgnoredAny;
use serde_json::Value;

use super::markings::{tlp_of_marking, tlp_of_marking_id};
use crate::exchange::{
    ImportError, ImportOptions, ImportSource, Imported, SourceFormat, SourceObject, codes,
};
use crate::text::{self, Body, Warnings};

/// Largest single object of a bundle, in bytes.
pub const MAX_OBJECT_BYTES: u64 = 1024 * 1024;
/// Indicator and vulnerability objects held, while streaming, for reports that may list them
/// later.
pub const WINDOW: usize = 20_000;
/// Reports held, while streaming, waiting for objects they list.
pub const MAX_PENDING_REPORTS: usize = 1_000;
/// Most marking definitions in one bundle.
pub const MAX_MARKING_DEFINITIONS: usize = 10_000;

/// What a streamed import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Objects read from the bundle.
    pub objects: u64,
    /// Bulletin drafts handed to the sink.
    pub bulletins: usize,
    /// Typed indicators in those drafts.
    pub indicators: usize,
    /// What did not come across, and why.
    pub warnings: Vec<String>,
}

/// Why a streamed import stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E> {
    /// The bundle was refused. Drafts already handed to the sink stay with it.
    #[error(transparent)]
    Refused(ImportError),
    /// The sink refused a draft; the import stopped there.
    #[error("{0}")]
    Sink(E),
}

/// Import a whole bundle held in memory: every bulletin, or a refusal and nothing.
/// Refuses documents larger than [`ImportOptions::max_bytes`].
pub fn import(bytes: &[u8], opts: &ImportOptions) -> Result<Imported, ImportError> {
    if bytes.len() > opts.max_bytes {
        return Err(ImportError::new(
            codes::TOO_LARGE,
            format!(
                "the bundle is {} bytes; the limit is {} bytes",
                bytes.len(),
                opts.max_bytes
            ),
        ));
    }
    let mut bulletins = Vec::new();
    let mut sources = Vec::new();
    // The whole document is in memory already: hold every object, so a report finds its
    // indicators wherever they are.
    let summary = run(bytes, opts, usize::MAX, &mut |d, source| {
        bulletins.push(d);
        sources.push(source);
        Ok::<(), std::convert::Infallible>(())
    })
    .map_err(|e| match e {
        StreamError::Refused(e) => e,
        StreamError::Sink(never) => match never {},
    })?;
    Ok(Imported {
        bulletins,
        sources,
        warnings: summary.warnings,
    })
}

/// Import a bundle from a reader, one object at a time, handing each bulletin draft to
/// `sink` as soon as it is complete. Memory stays bounded whatever the bundle's size (see
/// the module documentation for the bounds and for what happens to a report that comes
/// after its indicators).
pub fn import_stream<R: Read, E>(
    reader: R,
    opts: &ImportOptions,
    mut sink: impl FnMut(BulletinDraft) -> Result<(), E>,
) -> Result<ImportSummary, StreamError<E>> {
    run(reader, opts, WINDOW, &mut |d, _| sink(d))
}

/// [`import_stream`], handing the sink each draft with where it came from: the STIX objects
/// (id and `modified`) it is made of, so that a re-import of the same bundle is recognised
/// ([`crate::exchange::judge`]).
pub fn import_stream_sourced<R: Read, E>(
    reader: R,
    opts: &ImportOptions,
    mut sink: impl FnMut(BulletinDraft, ImportSource) -> Result<(), E>,
) -> Result<ImportSummary, StreamError<E>> {
    run(reader, opts, WINDOW, &mut sink)
}

/// Where the bulletins of a bundle come from.
type Sink<'s, E> = &'s mut dyn FnMut(BulletinDraft, ImportSource) -> Result<(), E>;

/// The version of a STIX object: its `modified` (objects without one, such as cyber
/// observables, by their `created`, else unversioned).
fn version_of(v: &Value) -> String {
    ["modified", "created"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .to_owned()
}

fn run<R: Read, E>(
    reader: R,
    opts: &ImportOptions,
    window: usize,
    sink: Sink<'_, E>,
) -> Result<ImportSummary, StreamError<E>> {
    let mut framer = Framer {
        inner: std::io::BufReader::with_capacity(256 * 1024, reader),
        raw: Vec::with_capacity(4096),
    };
    let mut state = State::new(opts, window, sink);
    bundle(&mut framer, &mut state)?;
    state.finish()
}

/// Cuts the bundle into JSON values without parsing them: each object of `objects` is then
/// parsed on its own, from a buffer of at most [`MAX_OBJECT_BYTES`].
struct Framer<R> {
    inner: std::io::BufReader<R>,
    raw: Vec<u8>,
}

fn malformed<E>(reason: impl Into<String>) -> StreamError<E> {
    refuse(codes::MALFORMED, reason)
}

impl<R: Read> Framer<R> {
    fn io<E>(e: &std::io::Error) -> StreamError<E> {
        malformed(format!("could not read the bundle: {e}"))
    }

    /// The next byte that is not white space, without consuming it; `None` at the end.
    fn peek<E>(&mut self) -> Result<Option<u8>, StreamError<E>> {
        loop {
            let buf = self.inner.fill_buf().map_err(|e| Self::io(&e))?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(i) => {
                    let b = buf[i];
                    self.inner.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.inner.consume(n);
                }
            }
        }
    }

    /// Consume `b` (after white space), or refuse with `what`.
    fn expect<E>(&mut self, b: u8, what: &str) -> Result<(), StreamError<E>> {
        match self.peek()? {
            Some(x) if x == b => {
                self.inner.consume(1);
                Ok(())
            }
            Some(x) => Err(malformed(format!(
                "not JSON: expected {what}, found {:?}",
                char::from(x)
            ))),
            None => Err(malformed(format!(
                "not JSON: the document ends where {what} was expected"
            ))),
        }
    }

    /// The bytes of the next JSON value (after white space), at most `max` of them. Only
    /// the nesting and the strings are followed here; the value is parsed by its reader.
    fn value<E>(&mut self, max: usize, what: &str) -> Result<&[u8], StreamError<E>> {
        self.raw.clear();
        let Some(first) = self.peek()? else {
            return Err(malformed(format!(
                "not JSON: the document ends where {what} was expected"
            )));
        };
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        loop {
            let buf = self.inner.fill_buf().map_err(|e| Self::io(&e))?;
            if buf.is_empty() {
                if scalar && started {
                    return Ok(&self.raw);
                }
                return Err(malformed(format!(
                    "not JSON: the document ends inside {what}"
                )));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if scalar {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        end = Some((i, false));
                        break;
                    }
                    started = true;
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some((i, true));
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => {
                        if started && depth == 0 {
                            end = Some((i, false));
                            break;
                        }
                        in_string = true;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some((i, true));
                            break;
                        }
                    }
                    _ => {}
                }
                started = true;
            }
            let (take, done) = match end {
                Some((i, inclusive)) => (i + usize::from(inclusive), true),
                None => (buf.len(), false),
            };
            if self.raw.len() + take > max {
                return Err(refuse(
                    codes::TOO_LARGE,
                    format!("{what} is larger than {max} bytes"),
                ));
            }
            self.raw.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
            if done {
                return Ok(&self.raw);
            }
        }
    }
}

use std::io::BufRead as _;

/// The bundle's members, in any order; `objects` one object at a time.
fn bundle<R: Read, E>(f: &mut Framer<R>, state: &mut State<'_, E>) -> Result<(), StreamError<E>> {
    match f.peek()? {
        Some(b'{') => f.inner.consume(1),
        None => return Err(malformed("not JSON: the document is empty")),
        Some(_) => {
            // Valid JSON that is not an object is not a bundle; anything else is not JSON.
            let raw = f.value(MAX_OBJECT_BYTES as usize, "the document")?;
            return Err(match serde_json::from_slice::<IgnoredAny>(raw) {
                Ok(_) => refuse(
                    codes::SCHEMA_INVALID,
                    "not a STIX bundle: the document is not a JSON object",
                ),
                Err(e) => malformed(format!("not JSON: {e}")),
            });
        }
    }
    let limit = MAX_OBJECT_BYTES as usize;
    let mut first = true;
    loop {
        if first && f.peek()? == Some(b'}') {
            f.inner.consume(1);
            break;
        }
        first = false;
        let raw = f.value(4096, "a member name of the bundle")?;
        let key: String = serde_json::from_slice(raw)
            .map_err(|e| malformed(format!("not JSON: a member name of the bundle: {e}")))?;
        f.expect(b':', "`:` after a member name")?;
        match key.as_str() {
            "objects" => {
                if state.seen_objects {
                    return Err(refuse(
                        codes::SCHEMA_INVALID,
                        "the bundle has two `objects` members",
                    ));
                }
                state.seen_objects = true;
                objects(f, state)?;
            }
            _ => {
                let raw = f.value(limit, &format!("the bundle's `{key}`"))?;
                let v: Value = serde_json::from_slice(raw)
                    .map_err(|e| malformed(format!("not JSON: the bundle's `{key}`: {e}")))?;
                state.member(&key, v)?;
            }
        }
        match f.peek()? {
            Some(b',') => f.inner.consume(1),
            Some(b'}') => {
                f.inner.consume(1);
                break;
            }
            _ => {
                return Err(malformed(
                    "not JSON: expected `,` or `}` after a member of the bundle",
                ));
            }
        }
    }
    if f.peek()?.is_some() {
        return Err(malformed("not JSON: trailing characters after the bundle"));
    }
    Ok(())
}

fn objects<R: Read, E>(f: &mut Framer<R>, state: &mut State<'_, E>) -> Result<(), StreamError<E>> {
    if f.peek()? != Some(b'[') {
        let raw = f.value(MAX_OBJECT_BYTES as usize, "`objects`")?;
        return Err(match serde_json::from_slice::<IgnoredAny>(raw) {
            Ok(_) => refuse(
                codes::SCHEMA_INVALID,
                "not a STIX 2.1 bundle: `objects` must be an array of STIX objects",
            ),
            Err(e) => malformed(format!("not JSON: `objects`: {e}")),
        });
    }
    f.inner.consume(1);
    if f.peek()? == Some(b']') {
        f.inner.consume(1);
        return Ok(());
    }
    loop {
        let what = format!("objects[{}]", state.objects);
        let raw = f.value(MAX_OBJECT_BYTES as usize, &what)?;
        let v: Value =
            serde_json::from_slice(raw).map_err(|e| malformed(format!("not JSON: {what}: {e}")))?;
        state.object(v)?;
        match f.peek()? {
            Some(b',') => f.inner.consume(1),
            Some(b']') => {
                f.inner.consume(1);
                return Ok(());
            }
            _ => {
                return Err(malformed(format!(
                    "not JSON: expected `,` or `]` after {what}"
                )));
            }
        }
    }
}

/// The labels an object carries: the most restrictive TLP known, and marking ids not
/// defined yet.
#[derive(Debug, Clone, Default)]
struct Labels {
    tlp: Option<Tlp>,
    unknown: Vec<String>,
}

/// A marking definition of the bundle.
#[derive(Debug, Clone)]
enum Marking {
    Tlp(Tlp),
    /// A statement or custom marking: not a sharing label.
    Other,
    /// Claims to be TLP, with a value TLP 2.0 does not have.
    BadTlp(String),
}

/// An indicator or vulnerability object, reduced to what a bulletin keeps.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    /// Its `modified`.
    version: String,
    vulnerability: bool,
    name: Option<String>,
    description: Option<String>,
    indicators: Vec<Indicator>,
    lines: Vec<String>,
    references: Vec<String>,
    labels: Labels,
    sightings: u64,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
}

impl Entry {
    /// The typed indicators with the sightings noted on them.
    fn into_indicators(self) -> (Vec<Indicator>, Vec<String>, Vec<String>) {
        let Entry {
            mut indicators,
            lines,
            references,
            sightings,
            first_seen,
            last_seen,
            ..
        } = self;
        if sightings > 0 {
            for i in &mut indicators {
                let note = format!("sighted {sightings} time(s)");
                i.comment = Some(match i.comment.take() {
                    Some(c) => format!("{c}; {note}"),
                    None => note,
                });
                i.first_seen = i.first_seen.or(first_seen);
                i.last_seen = i.last_seen.or(last_seen);
            }
        }
        (indicators, lines, references)
    }
}

#[derive(Debug)]
struct Report {
    id: String,
    /// Its `modified`.
    version: String,
    name: String,
    description: Option<String>,
    kind: BulletinKind,
    labels: Labels,
    references: Vec<String>,
    entries: Vec<Entry>,
    wanted: HashSet<String>,
    other: BTreeMap<String, u64>,
}

/// Indicators not listed by any report, waiting to fill a bulletin.
#[derive(Debug, Default)]
struct Group {
    indicators: Vec<Indicator>,
    /// About what `indicators` weigh as JSON, so a group of long URLs still fits in one
    /// bulletin ([`limits::CONTENT_BYTES`]).
    indicator_bytes: usize,
    body: Body,
    /// The objects in it, with how many indicators each gave.
    objects: Vec<SourceObject>,
}

/// What the indicators of one grouped bulletin may weigh as JSON: half of what a bulletin may
/// carry, leaving the rest to its body.
const GROUP_INDICATOR_BYTES: usize = limits::CONTENT_BYTES / 2;

/// About what an indicator weighs as JSON.
fn indicator_bytes(i: &Indicator) -> usize {
    40 + i.value.len() + i.comment.as_ref().map_or(0, |c| c.len() + 12)
}

struct State<'s, E> {
    opts: ImportOptions,
    window: usize,
    sink: Sink<'s, E>,
    failure: Option<StreamError<E>>,
    bundle_type: Option<String>,
    bundle_id: Option<String>,
    seen_objects: bool,
    objects: u64,
    markings: HashMap<String, Marking>,
    loose: HashMap<String, Entry>,
    order: VecDeque<String>,
    held: VecDeque<Entry>,
    reports: Vec<Option<Report>>,
    pending_reports: usize,
    wanted: HashMap<String, Vec<usize>>,
    claimed: HashMap<String, usize>,
    groups: BTreeMap<Option<Tlp>, Group>,
    parts: usize,
    ignored: BTreeMap<String, u64>,
    no_spec_version: u64,
    unheld_sightings: u64,
    undefined_markings: HashSet<String>,
    bulletins: usize,
    indicators: usize,
    warnings: Warnings,
}

type Step<E> = Result<(), StreamError<E>>;

fn refuse<E>(code: &'static str, reason: impl Into<String>) -> StreamError<E> {
    StreamError::Refused(ImportError::new(code, reason))
}

impl<'s, E> State<'s, E> {
    fn new(opts: &ImportOptions, window: usize, sink: Sink<'s, E>) -> Self {
        Self {
            opts: *opts,
            window,
            sink,
            failure: None,
            bundle_type: None,
            bundle_id: None,
            seen_objects: false,
            objects: 0,
            markings: HashMap::new(),
            loose: HashMap::new(),
            order: VecDeque::new(),
            held: VecDeque::new(),
            reports: Vec::new(),
            pending_reports: 0,
            wanted: HashMap::new(),
            claimed: HashMap::new(),
            groups: BTreeMap::new(),
            parts: 0,
            ignored: BTreeMap::new(),
            no_spec_version: 0,
            unheld_sightings: 0,
            undefined_markings: HashSet::new(),
            bulletins: 0,
            indicators: 0,
            warnings: Warnings::default(),
        }
    }

    fn bundle_name(&self) -> String {
        self.bundle_id
            .clone()
            .unwrap_or_else(|| "the imported bundle".into())
    }

    /// A member of the bundle other than `objects`.
    fn member(&mut self, key: &str, v: Value) -> Step<E> {
        match key {
            "type" => match v.as_str() {
                Some("bundle") => self.bundle_type = Some("bundle".into()),
                _ => {
                    return Err(refuse(
                        codes::SCHEMA_INVALID,
                        format!("not a STIX bundle: its type is {v}"),
                    ));
                }
            },
            "id" => match v.as_str() {
                Some(id) if id.starts_with("bundle--") => self.bundle_id = Some(id.to_owned()),
                _ => {
                    return Err(refuse(
                        codes::SCHEMA_INVALID,
                        format!("the bundle's id {v} is not a string starting with bundle--"),
                    ));
                }
            },
            "spec_version" if v.as_str() != Some("2.1") => {
                return Err(refuse(
                    codes::SCHEMA_INVALID,
                    format!(
                        "a STIX {v} bundle: only STIX 2.1 is imported (convert it with the OASIS stix2-elevator)"
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// One object of `objects`.
    fn object(&mut self, v: Value) -> Step<E> {
        let at = format!("objects[{}]", self.objects);
        let Value::Object(map) = &v else {
            return Err(refuse(
                codes::SCHEMA_INVALID,
                format!("{at} is not a JSON object"),
            ));
        };
        let Some(ty) = map.get("type").and_then(Value::as_str) else {
            return Err(refuse(codes::SCHEMA_INVALID, format!("{at} has no `type`")));
        };
        let Some(id) = map.get("id").and_then(Value::as_str) else {
            return Err(refuse(
                codes::SCHEMA_INVALID,
                format!("{at} ({ty}) has no `id`"),
            ));
        };
        if id
            .strip_prefix(ty)
            .and_then(|r| r.strip_prefix("--"))
            .is_none()
        {
            return Err(refuse(
                codes::SCHEMA_INVALID,
                format!("{at}: id {id:?} is not of the form {ty}--<uuid>"),
            ));
        }
        match map.get("spec_version") {
            None => {
                if matches!(ty, "indicator" | "report" | "vulnerability" | "sighting") {
                    self.no_spec_version += 1;
                }
            }
            Some(Value::String(s)) if s == "2.1" => {}
            Some(other) => {
                return Err(refuse(
                    codes::SCHEMA_INVALID,
                    format!(
                        "{at} ({id}) is STIX {other}: only STIX 2.1 is imported (convert the bundle with the OASIS stix2-elevator)"
                    ),
                ));
            }
        }
        let ty = ty.to_owned();
        let id = id.to_owned();
        match ty.as_str() {
            "marking-definition" => self.marking(&id, &v)?,
            "indicator" => {
                let e = self.indicator(id, &v);
                self.arrive(e)?;
            }
            "vulnerability" => {
                let e = self.vulnerability(id, &v);
                self.arrive(e)?;
            }
            "report" => self.report(id, &v)?,
            "sighting" => self.sighting(&v),
            _ => *self.ignored.entry(ty).or_default() += 1,
        }
        self.objects += 1;
        Ok(())
    }

    fn marking(&mut self, id: &str, v: &Value) -> Step<E> {
        if self.markings.len() >= MAX_MARKING_DEFINITIONS {
            return Err(refuse(
                codes::TOO_LARGE,
                format!("more than {MAX_MARKING_DEFINITIONS} marking definitions"),
            ));
        }
        let m = match tlp_of_marking(v) {
            Some(t) => Marking::Tlp(t),
            None => {
                let ext = v
                    .pointer(&format!(
                        "/extensions/{}/tlp_2_0",
                        super::markings::TLP2_EXTENSION
                    ))
                    .and_then(Value::as_str);
                let tlp1 = (v.get("definition_type").and_then(Value::as_str) == Some("tlp"))
                    .then(|| v.pointer("/definition/tlp").and_then(Value::as_str))
                    .flatten();
                match ext.or(tlp1) {
                    Some(name) => Marking::BadTlp(name.to_owned()),
                    None => Marking::Other,
                }
            }
        };
        self.markings.insert(id.to_owned(), m);
        Ok(())
    }

    /// The labels an object's markings give, as far as they are known now.
    fn labels_of(&self, v: &Value) -> Result<Labels, ImportError> {
        let mut labels = Labels::default();
        let object_refs = v
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let granular = v
            .get("granular_markings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("marking_ref"));
        for r in object_refs.chain(granular).filter_map(Value::as_str) {
            self.apply(&mut labels, r)?;
        }
        Ok(labels)
    }

    fn apply(&self, labels: &mut Labels, marking: &str) -> Result<bool, ImportError> {
        let tlp = match tlp_of_marking_id(marking) {
            Some(t) => Some(t),
            None => match self.markings.get(marking) {
                Some(Marking::Tlp(t)) => Some(*t),
                Some(Marking::Other) => None,
                Some(Marking::BadTlp(name)) => {
                    return Err(ImportError::new(
                        codes::UNKNOWN_LABEL,
                        format!("marking {marking} is TLP {name:?}, which is not a TLP 2.0 label"),
                    ));
                }
                None => {
                    if !labels.unknown.iter().any(|u| u == marking) {
                        labels.unknown.push(marking.to_owned());
                    }
                    return Ok(false);
                }
            },
        };
        if let Some(t) = tlp {
            labels.tlp = Some(labels.tlp.map_or(t, |l| l.max(t)));
        }
        Ok(true)
    }

    /// Settle the marking ids that were not defined when the object was read. `last` (the
    /// end of the bundle): ids still undefined are ignored, with a warning. Returns whether
    /// the labels are settled.
    fn settle(&mut self, labels: &mut Labels, last: bool) -> Result<bool, ImportError> {
        if labels.unknown.is_empty() {
            return Ok(true);
        }
        let unknown = std::mem::take(&mut labels.unknown);
        for m in unknown {
            if !self.apply(labels, &m)? && last {
                labels.unknown.retain(|u| u != &m);
                if self.undefined_markings.insert(m.clone()) {
                    self.warnings.push(format!(
                        "marking {m} is referenced but not defined in the bundle: ignored"
                    ));
                }
            }
        }
        Ok(labels.unknown.is_empty())
    }

    fn common_labels(&mut self, v: &Value) -> Result<Labels, StreamError<E>> {
        self.labels_of(v).map_err(StreamError::Refused)
    }

    fn indicator(&mut self, id: String, v: &Value) -> Entry {
        let labels = match self.common_labels(v) {
            Ok(l) => l,
            Err(e) => {
                // Kept for `arrive` to report (the entry is dropped).
                self.failure = Some(e);
                Labels::default()
            }
        };
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| text::one_line(n, 200));
        let mut entry = Entry {
            id: id.clone(),
            version: version_of(v),
            vulnerability: false,
            name: name.clone(),
            description: None,
            indicators: Vec::new(),
            lines: Vec::new(),
            references: Vec::new(),
            labels,
            sightings: 0,
            first_seen: None,
            last_seen: None,
        };
        let pattern = v.get("pattern").and_then(Value::as_str).unwrap_or("");
        let pattern_type = v
            .get("pattern_type")
            .and_then(Value::as_str)
            .unwrap_or("stix");
        let outcome = if pattern_type != "stix" {
            Err(format!("pattern language {pattern_type:?}"))
        } else if pattern.is_empty() {
            Err("no pattern".to_owned())
        } else {
            parse_pattern(pattern)
        };
        let (found, problem) = match outcome {
            Ok(p) => (p.found, p.unmapped),
            Err(why) => (Vec::new(), Some(why)),
        };
        for (kind, value) in found {
            if entry.indicators.len() >= limits::INDICATORS {
                self.warnings.push(format!(
                    "indicator {id}: more than {} values; the rest were left out",
                    limits::INDICATORS
                ));
                break;
            }
            let i = Indicator {
                kind,
                value,
                first_seen: None,
                last_seen: None,
                comment: name.clone(),
            };
            match i.validate() {
                Ok(()) => entry.indicators.push(i),
                Err(why) => {
                    entry
                        .lines
                        .push(format!("- indicator {id}: {} ({why})", text::code(pattern)));
                    self.warnings.push(format!(
                        "indicator {id}: {why}; its pattern is kept in the bulletin body"
                    ));
                }
            }
        }
        if let Some(why) = problem {
            entry.lines.push(format!(
                "- indicator {id}{}: {} (not mapped: {why})",
                name.as_deref()
                    .map(|n| format!(" ({})", text::code(n)))
                    .unwrap_or_default(),
                text::code(pattern)
            ));
            self.warnings.push(format!(
                "indicator {id}: pattern not mapped ({why}); kept in the bulletin body"
            ));
        }
        entry
    }

    fn vulnerability(&mut self, id: String, v: &Value) -> Entry {
        let labels = match self.common_labels(v) {
            Ok(l) => l,
            Err(e) => {
                self.failure = Some(e);
                Labels::default()
            }
        };
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| text::one_line(n, 200));
        let refs = v
            .get("external_references")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let from_refs = refs.iter().find_map(|r| {
            (r.get("source_name").and_then(Value::as_str) == Some("cve"))
                .then(|| r.get("external_id").and_then(Value::as_str))
                .flatten()
        });
        let cve = [from_refs, name.as_deref()]
            .into_iter()
            .flatten()
            .map(|c| c.trim().to_ascii_uppercase())
            .map(|value| Indicator {
                kind: IndicatorType::Cve,
                value,
                first_seen: None,
                last_seen: None,
                comment: None,
            })
            .find(|i| i.validate().is_ok());
        let references = refs
            .iter()
            .filter_map(|r| r.get("url").and_then(Value::as_str))
            .filter(|u| (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2048)
            .map(str::to_owned)
            .collect();
        let mut lines = Vec::new();
        if cve.is_none() {
            lines.push(format!(
                "- vulnerability {id}{}: no CVE id",
                name.as_deref()
                    .map(|n| format!(" ({})", text::code(n)))
                    .unwrap_or_default()
            ));
            self.warnings.push(format!(
                "vulnerability {id} has no CVE id; noted in the body"
            ));
        }
        Entry {
            id,
            version: version_of(v),
            vulnerability: true,
            name,
            description: v
                .get("description")
                .and_then(Value::as_str)
                .map(|d| text::clip(d, 16 * 1024)),
            indicators: cve.into_iter().collect(),
            lines,
            references,
            labels,
            sightings: 0,
            first_seen: None,
            last_seen: None,
        }
    }

    /// An indicator or vulnerability arrived: to the reports waiting for it, or held.
    fn arrive(&mut self, entry: Entry) -> Step<E> {
        if let Some(f) = self.failure.take() {
            return Err(f);
        }
        if let Some(slots) = self.wanted.remove(&entry.id) {
            let mut complete = Vec::new();
            for slot in slots {
                if let Some(Some(r)) = self.reports.get_mut(slot) {
                    r.wanted.remove(&entry.id);
                    r.entries.push(entry.clone());
                    self.claimed.insert(entry.id.clone(), slot);
                    if r.wanted.is_empty() {
                        complete.push(slot);
                    }
                }
            }
            for slot in complete {
                self.try_emit_report(slot, false)?;
            }
            return Ok(());
        }
        self.order.push_back(entry.id.clone());
        self.loose.insert(entry.id.clone(), entry);
        while self.loose.len() > self.window {
            let Some(id) = self.order.pop_front() else {
                break;
            };
            if let Some(e) = self.loose.remove(&id) {
                self.retire(e, false)?;
            }
        }
        if self.order.len() > self.loose.len().saturating_mul(2).max(1024) {
            let loose = &self.loose;
            self.order.retain(|id| loose.contains_key(id));
        }
        Ok(())
    }

    /// An entry no report claimed: an advisory of its own, or into its label's group.
    fn retire(&mut self, mut e: Entry, last: bool) -> Step<E> {
        let mut labels = std::mem::take(&mut e.labels);
        if !self
            .settle(&mut labels, last)
            .map_err(StreamError::Refused)?
        {
            e.labels = labels;
            self.held.push_back(e);
            if self.held.len() > self.window {
                let m = self.held.front().map(|e| e.labels.unknown.join(", "));
                return Err(refuse(
                    codes::TOO_LARGE,
                    format!(
                        "more than {} objects reference markings the bundle has not defined yet ({}); put the marking definitions before the objects they mark",
                        self.window,
                        m.unwrap_or_default()
                    ),
                ));
            }
            return Ok(());
        }
        if e.vulnerability {
            return self.emit_vulnerability(e, labels.tlp);
        }
        let key = labels.tlp;
        let incoming: usize = e.indicators.iter().map(indicator_bytes).sum();
        let full = self.groups.get(&key).is_some_and(|g| {
            g.indicators.len() + e.indicators.len() > limits::INDICATORS
                || g.indicator_bytes + incoming > GROUP_INDICATOR_BYTES
                || g.body.nearly_full()
        });
        if full {
            self.flush_group(key)?;
        }
        let object = SourceObject {
            key: e.id.clone(),
            version: e.version.clone(),
            indicators: u32::try_from(e.indicators.len()).unwrap_or(u32::MAX),
        };
        let (indicators, lines, _) = e.into_indicators();
        let g = self.groups.entry(key).or_default();
        g.objects.push(object);
        g.indicator_bytes += incoming;
        g.indicators.extend(indicators);
        for l in &lines {
            g.body.line(l);
        }
        Ok(())
    }

    fn flush_group(&mut self, key: Option<Tlp>) -> Step<E> {
        let Some(g) = self.groups.remove(&key) else {
            return Ok(());
        };
        if g.objects.is_empty() {
            return Ok(());
        }
        self.parts += 1;
        let bundle = self.bundle_name();
        let n = g.indicators.len();
        let mut body = Body::default();
        body.line(&format!(
            "Indicators of STIX 2.1 bundle {} that no report of the bundle lists ({} objects).",
            text::code(&bundle),
            g.objects.len()
        ));
        let rest = g.body.finish();
        if !rest.is_empty() {
            body.line("");
            body.line("Patterns that could not be mapped to typed indicators:");
            body.line("");
            body.line(rest.trim_end());
        }
        let title = text::one_line(
            &format!("STIX indicators from {bundle}, part {}", self.parts),
            limits::TITLE_CHARS,
        )
        .unwrap_or_default();
        let summary = format!("{n} indicators imported from STIX 2.1 bundle {bundle}.");
        self.emit(
            key,
            &format!("the indicators of {bundle} that no report lists"),
            g.objects,
            true,
            Draft {
                kind: BulletinKind::SuspiciousActivity,
                title: title.clone(),
                summary,
                body: body.finish(),
                indicators: g.indicators,
                references: Vec::new(),
            },
        )
    }

    fn emit_vulnerability(&mut self, e: Entry, tlp: Option<Tlp>) -> Step<E> {
        let bundle = self.bundle_name();
        let id = e.id.clone();
        let source = vec![SourceObject {
            key: e.id.clone(),
            version: e.version.clone(),
            indicators: 0,
        }];
        let name = e.name.clone();
        let description = e.description.clone();
        let (indicators, lines, references) = e.into_indicators();
        let title = name
            .clone()
            .or_else(|| indicators.first().map(|i| i.value.clone()))
            .unwrap_or_else(|| id.clone());
        let mut body = Body::default();
        if let Some(d) = &description {
            body.line(d);
            body.line("");
        }
        for l in &lines {
            body.line(l);
        }
        body.line(&format!(
            "Imported from STIX 2.1 bundle {} (vulnerability {}).",
            text::code(&bundle),
            text::code(&id)
        ));
        let summary = description
            .as_deref()
            .and_then(|d| text::one_line(d, limits::SUMMARY_CHARS))
            .unwrap_or_else(|| {
                format!("Vulnerability {title}, imported from STIX bundle {bundle}.")
            });
        self.emit(
            tlp,
            &format!("vulnerability {id}"),
            source,
            false,
            Draft {
                kind: BulletinKind::VulnerabilityAdvisory,
                title: text::one_line(&title, limits::TITLE_CHARS).unwrap_or(id.clone()),
                summary,
                body: body.finish(),
                indicators,
                references,
            },
        )
    }

    fn report(&mut self, id: String, v: &Value) -> Step<E> {
        let labels = self.common_labels(v)?;
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| text::one_line(n, limits::TITLE_CHARS))
            .unwrap_or_else(|| id.clone());
        let types: Vec<&str> = v
            .get("report_types")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let references = v
            .get("external_references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("url").and_then(Value::as_str))
            .filter(|u| (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2048)
            .map(str::to_owned)
            .collect();
        let mut report = Report {
            id: id.clone(),
            version: version_of(v),
            name,
            description: v
                .get("description")
                .and_then(Value::as_str)
                .map(|d| text::clip(d, 64 * 1024)),
            kind: kind_of(&types),
            labels,
            references,
            entries: Vec::new(),
            wanted: HashSet::new(),
            other: BTreeMap::new(),
        };
        if self.pending_reports >= MAX_PENDING_REPORTS {
            // Too many reports wait: the oldest goes out with what it has.
            if let Some(slot) = self.reports.iter().position(Option::is_some) {
                self.try_emit_report(slot, true)?;
            }
        }
        let slot = self.reports.len();
        let refs: Vec<String> = v
            .get("object_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        for r in refs {
            let ty = r.split_once("--").map_or(r.as_str(), |(t, _)| t);
            if ty != "indicator" && ty != "vulnerability" {
                *report.other.entry(ty.to_owned()).or_default() += 1;
                continue;
            }
            if let Some(e) = self.loose.remove(&r) {
                report.entries.push(e);
                self.claimed.insert(r, slot);
            } else if let Some(e) = self
                .claimed
                .get(&r)
                .and_then(|s| self.reports.get(*s))
                .and_then(Option::as_ref)
                .and_then(|o| o.entries.iter().find(|e| e.id == r))
                .cloned()
            {
                report.entries.push(e);
            } else if report.wanted.insert(r.clone()) {
                self.wanted.entry(r).or_default().push(slot);
            }
        }
        self.reports.push(Some(report));
        self.pending_reports += 1;
        self.try_emit_report(slot, false)
    }

    /// Emit a report's bulletin if it is complete (or `force`).
    fn try_emit_report(&mut self, slot: usize, force: bool) -> Step<E> {
        let Some(Some(r)) = self.reports.get_mut(slot) else {
            return Ok(());
        };
        if !force && !r.wanted.is_empty() {
            return Ok(());
        }
        let mut labels = r.labels.clone();
        for e in &r.entries {
            labels.tlp = labels.tlp.max(e.labels.tlp);
            for u in &e.labels.unknown {
                if !labels.unknown.contains(u) {
                    labels.unknown.push(u.clone());
                }
            }
        }
        if !self
            .settle(&mut labels, force)
            .map_err(StreamError::Refused)?
        {
            return Ok(());
        }
        let Some(r) = self.reports.get_mut(slot).and_then(Option::take) else {
            return Ok(());
        };
        self.pending_reports -= 1;
        for w in &r.wanted {
            if let Some(slots) = self.wanted.get_mut(w) {
                slots.retain(|s| *s != slot);
                if slots.is_empty() {
                    self.wanted.remove(w);
                }
            }
        }
        for e in &r.entries {
            if self.claimed.get(&e.id) == Some(&slot) {
                self.claimed.remove(&e.id);
            }
        }
        self.emit_report(r, labels.tlp)
    }

    fn emit_report(&mut self, r: Report, tlp: Option<Tlp>) -> Step<E> {
        let bundle = self.bundle_name();
        let mut body = Body::default();
        if let Some(d) = &r.description {
            body.line(d);
            body.line("");
        }
        let mut indicators = Vec::new();
        let mut references = r.references.clone();
        let mut unmapped = Vec::new();
        let mut vulnerabilities = 0;
        let mut source = vec![SourceObject {
            key: r.id.clone(),
            version: r.version.clone(),
            indicators: 0,
        }];
        for e in &r.entries {
            if !source.iter().any(|o| o.key == e.id) {
                source.push(SourceObject {
                    key: e.id.clone(),
                    version: e.version.clone(),
                    indicators: 0,
                });
            }
        }
        for e in r.entries {
            vulnerabilities += usize::from(e.vulnerability);
            let (i, lines, refs) = e.into_indicators();
            indicators.extend(i);
            unmapped.extend(lines);
            references.extend(refs);
        }
        references.sort();
        references.dedup();
        references.truncate(limits::REFERENCES);
        if !unmapped.is_empty() {
            body.line("Patterns and objects that could not be mapped to typed indicators:");
            body.line("");
            for l in &unmapped {
                body.line(l);
            }
            body.line("");
        }
        if !r.wanted.is_empty() {
            let mut missing: Vec<&String> = r.wanted.iter().collect();
            missing.sort();
            body.line(&format!(
                "{} objects the report lists were not found among the objects held{}:",
                missing.len(),
                if self.window == usize::MAX {
                    String::new()
                } else {
                    format!(
                        " (a streamed import holds the last {} unclaimed ones; earlier ones are in the grouped \"STIX indicators\" bulletins)",
                        self.window
                    )
                }
            ));
            for m in missing.iter().take(100) {
                body.line(&format!("- {}", text::code(m)));
            }
            self.warnings.push(format!(
                "report {}: {} listed objects not found",
                r.id,
                missing.len()
            ));
        }
        if !r.other.is_empty() {
            let other: Vec<String> = r.other.iter().map(|(t, n)| format!("{n} {t}")).collect();
            body.line(&format!(
                "Also referenced by the report, not imported: {}.",
                other.join(", ")
            ));
        }
        body.line(&format!(
            "Imported from STIX 2.1 bundle {} (report {}).",
            text::code(&bundle),
            text::code(&r.id)
        ));
        let summary = r
            .description
            .as_deref()
            .and_then(|d| text::one_line(d, limits::SUMMARY_CHARS))
            .unwrap_or_else(|| {
                format!(
                    "Report {} from STIX bundle {bundle}: {} indicators{}.",
                    r.name,
                    indicators.len(),
                    if vulnerabilities > 0 {
                        format!(", {vulnerabilities} vulnerabilities")
                    } else {
                        String::new()
                    }
                )
            });
        let kind = if r.kind == BulletinKind::Informational
            && !indicators.is_empty()
            && indicators.iter().all(|i| i.kind == IndicatorType::Cve)
        {
            BulletinKind::VulnerabilityAdvisory
        } else {
            r.kind
        };
        self.emit(
            tlp,
            &format!("report {} or the objects it lists", r.id),
            source,
            false,
            Draft {
                kind,
                title: r.name,
                summary,
                body: body.finish(),
                indicators,
                references,
            },
        )
    }

    fn sighting(&mut self, v: &Value) {
        let Some(of) = v.get("sighting_of_ref").and_then(Value::as_str) else {
            self.unheld_sightings += 1;
            return;
        };
        let count = v.get("count").and_then(Value::as_u64).unwrap_or(1).max(1);
        let ts = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .and_then(|s| Timestamp::parse(s).ok())
        };
        let (first, last) = (ts("first_seen"), ts("last_seen"));
        let note = |e: &mut Entry| {
            e.sightings += count;
            e.first_seen = match (e.first_seen, first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            e.last_seen = match (e.last_seen, last) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        };
        if let Some(e) = self.loose.get_mut(of) {
            note(e);
            return;
        }
        if let Some(slot) = self.claimed.get(of).copied()
            && let Some(Some(r)) = self.reports.get_mut(slot)
            && let Some(e) = r.entries.iter_mut().find(|e| e.id == of)
        {
            note(e);
            return;
        }
        self.unheld_sightings += 1;
    }

    /// Hand a draft to the sink, in as many bulletins as the indicator limit needs, with the
    /// objects it is made of (its principal first; `grouped` for loose indicators).
    fn emit(
        &mut self,
        tlp: Option<Tlp>,
        what: &str,
        objects: Vec<SourceObject>,
        grouped: bool,
        d: Draft,
    ) -> Step<E> {
        let tlp = match tlp.or(self.opts.default_tlp) {
            Some(t) => t,
            None => {
                return Err(refuse(
                    codes::NO_LABEL,
                    format!("no TLP marking on {what}, and no default label was given"),
                ));
            }
        };
        let Draft {
            kind,
            title,
            summary,
            body,
            indicators,
            references,
        } = d;
        let chunks: Vec<Vec<Indicator>> = if indicators.len() <= limits::INDICATORS {
            vec![indicators]
        } else {
            indicators
                .chunks(limits::INDICATORS)
                .map(<[Indicator]>::to_vec)
                .collect()
        };
        let parts = chunks.len();
        for (n, chunk) in chunks.into_iter().enumerate() {
            let title = if parts > 1 {
                let suffix = format!(" ({}/{parts})", n + 1);
                format!(
                    "{}{suffix}",
                    text::clip(&title, limits::TITLE_CHARS - suffix.chars().count())
                )
            } else {
                title.clone()
            };
            self.indicators += chunk.len();
            let draft = BulletinDraft {
                tlp,
                audience: Audience::Network,
                embargo_until: None,
                people: Vec::new(),
                constituents: Vec::new(),
                content: BulletinContent {
                    kind,
                    title,
                    summary: summary.clone(),
                    body: body.clone(),
                    severity: Severity::Medium,
                    rsit: None,
                    sectors: Vec::new(),
                    countries: Vec::new(),
                    indicators: chunk,
                    references: references.clone(),
                    payload: None,
                    supersedes: None,
                    ack_required_by: None,
                },
            };
            let source = ImportSource {
                format: SourceFormat::Stix,
                objects: objects.clone(),
                part: u32::try_from(n).unwrap_or(u32::MAX),
                grouped,
                from: format!("STIX 2.1 bundle {}", self.bundle_name()),
            };
            (self.sink)(draft, source).map_err(StreamError::Sink)?;
            self.bulletins += 1;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ImportSummary, StreamError<E>> {
        match self.bundle_type.as_deref() {
            Some("bundle") => {}
            _ => {
                return Err(refuse(
                    codes::SCHEMA_INVALID,
                    "not a STIX bundle: the document has no `\"type\": \"bundle\"`",
                ));
            }
        }
        if !self.seen_objects {
            return Err(refuse(
                codes::NOTHING_TO_IMPORT,
                "the bundle has no `objects`",
            ));
        }
        for slot in 0..self.reports.len() {
            self.try_emit_report(slot, true)?;
        }
        while let Some(id) = self.order.pop_front() {
            if let Some(e) = self.loose.remove(&id) {
                self.retire(e, true)?;
            }
        }
        while let Some(e) = self.held.pop_front() {
            self.retire(e, true)?;
        }
        let keys: Vec<Option<Tlp>> = self.groups.keys().copied().collect();
        for k in keys {
            self.flush_group(k)?;
        }
        if self.no_spec_version > 0 {
            self.warnings.push(format!(
                "{} objects carry no spec_version; read as STIX 2.1",
                self.no_spec_version
            ));
        }
        if self.unheld_sightings > 0 {
            self.warnings.push(format!(
                "{} sightings of objects that were not imported (or no longer held) were noted but not imported",
                self.unheld_sightings
            ));
        }
        let ignored = (!self.ignored.is_empty()).then(|| {
            self.ignored
                .iter()
                .map(|(t, n)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        if let Some(list) = &ignored {
            self.warnings.push(format!("not imported: {list}"));
        }
        if self.bulletins == 0 {
            return Err(refuse(
                codes::NOTHING_TO_IMPORT,
                format!(
                    "the bundle has no report, indicator or vulnerability{}",
                    ignored
                        .map(|l| format!(" (it holds {l})"))
                        .unwrap_or_default()
                ),
            ));
        }
        Ok(ImportSummary {
            objects: self.objects,
            bulletins: self.bulletins,
            indicators: self.indicators,
            warnings: self.warnings.finish(),
        })
    }
}

struct Draft {
    kind: BulletinKind,
    title: String,
    summary: String,
    body: String,
    indicators: Vec<Indicator>,
    references: Vec<String>,
}

fn kind_of(types: &[&str]) -> BulletinKind {
    let any = |set: &[&str]| types.iter().any(|t| set.contains(t));
    if any(&[
        "threat-report",
        "campaign",
        "malware",
        "attack-pattern",
        "intrusion-set",
        "threat-actor",
        "tool",
    ]) {
        BulletinKind::AttackWarning
    } else if any(&["vulnerability"]) {
        BulletinKind::VulnerabilityAdvisory
    } else if any(&["indicator", "observed-data"]) {
        BulletinKind::SuspiciousActivity
    } else {
        BulletinKind::Informational
    }
}

// ---------------------------------------------------------------------------------------------
// STIX patterns: the simple ones become typed indicators.

/// What a pattern gave: the typed values, and why part of it could not be mapped.
#[derive(Debug, Default, PartialEq)]
struct Parsed {
    found: Vec<(IndicatorType, String)>,
    unmapped: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Str(String),
    Word(String),
    Op(String),
}

fn tokens(p: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = p.chars().peekable();
    let quoted = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<String, String> {
        let mut s = String::new();
        loop {
            match chars.next() {
                None => return Err("unterminated string".into()),
                Some('\'') => return Ok(s),
                Some('\\') => match chars.next() {
                    Some(c @ ('\'' | '\\')) => s.push(c),
                    _ => return Err("bad escape in a string".into()),
                },
                Some(c) => s.push(c),
            }
        }
    };
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '[' => {
                chars.next();
                out.push(Tok::Open);
            }
            ']' => {
                chars.next();
                out.push(Tok::Close);
            }
            '\'' => {
                chars.next();
                out.push(Tok::Str(quoted(&mut chars)?));
            }
            '=' | '!' | '<' | '>' => {
                let mut op = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, '=' | '!' | '<' | '>') {
                        op.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Op(op));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '[' | ']' | '=' | '!' | '<' | '>') {
                        break;
                    }
                    chars.next();
                    if c == '\'' {
                        w.push('\'');
                        w.push_str(&quoted(&mut chars)?);
                        w.push('\'');
                    } else {
                        w.push(c);
                    }
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

/// Map one comparison; `Err` says why it cannot be.
fn comparison(path: &str, op: &str, value: &Tok) -> Result<(IndicatorType, String), String> {
    let path_l = path.to_ascii_lowercase();
    let text = match value {
        Tok::Str(s) => s.clone(),
        Tok::Word(w) if w.bytes().all(|b| b.is_ascii_digit()) && !w.is_empty() => w.clone(),
        _ => return Err(format!("value of {path} is not a plain string")),
    };
    let op_u = op.to_ascii_uppercase();
    let ip_like = |t: &str| {
        if t.contains('/') {
            IndicatorType::Cidr
        } else {
            IndicatorType::Ip
        }
    };
    let kind = match (path_l.as_str(), op_u.as_str()) {
        (
            "ipv4-addr:value"
            | "ipv6-addr:value"
            | "network-traffic:dst_ref.value"
            | "network-traffic:src_ref.value",
            "=",
        ) => ip_like(&text),
        ("ipv4-addr:value" | "ipv6-addr:value", "ISSUBSET") => IndicatorType::Cidr,
        ("domain-name:value", "=") => IndicatorType::Domain,
        ("url:value", "=") => IndicatorType::Url,
        (
            "email-addr:value" | "email-message:from_ref.value" | "email-message:sender_ref.value",
            "=",
        ) => IndicatorType::Email,
        ("autonomous-system:number", "=") => {
            return if matches!(value, Tok::Word(_)) {
                Ok((IndicatorType::Asn, format!("AS{text}")))
            } else {
                Err("autonomous-system:number is not an integer".into())
            };
        }
        (p, "=") if p.starts_with("file:hashes.") => {
            let algo = p["file:hashes.".len()..]
                .trim_matches('\'')
                .replace('-', "");
            if !matches!(algo.as_str(), "md5" | "sha1" | "sha256") {
                return Err(format!("hash algorithm {algo}"));
            }
            return Ok((IndicatorType::Hash, text.to_ascii_lowercase()));
        }
        (_, "=") => return Err(format!("object path {path}")),
        _ => return Err(format!("operator {op} on {path}")),
    };
    Ok((kind, text))
}

/// Parse a STIX pattern made of comparisons joined by `OR`.
fn parse_pattern(p: &str) -> Result<Parsed, String> {
    let toks = tokens(p)?;
    let mut out = Parsed::default();
    let mut problems = Vec::new();
    let mut i = 0;
    let word =
        |t: Option<&Tok>, w: &str| matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w));
    loop {
        if toks.get(i) != Some(&Tok::Open) {
            return Err("not a list of [observations] joined by OR".into());
        }
        i += 1;
        loop {
            let Some(Tok::Word(path)) = toks.get(i) else {
                return Err("an observation without a comparison".into());
            };
            let (op, value) = match (toks.get(i + 1), toks.get(i + 2)) {
                (Some(Tok::Op(op)), Some(v)) => (op.clone(), v),
                (Some(Tok::Word(op)), Some(v)) => (op.clone(), v),
                _ => return Err("an incomplete comparison".into()),
            };
            if op == "NOT" || op == "not" {
                return Err("NOT".into());
            }
            match comparison(path, &op, value) {
                Ok(f) => out.found.push(f),
                Err(why) => problems.push(why),
            }
            i += 3;
            if word(toks.get(i), "OR") {
                i += 1;
                continue;
            }
            if toks.get(i) == Some(&Tok::Close) {
                i += 1;
                break;
            }
            return Err(match toks.get(i) {
                Some(Tok::Word(w)) => format!("{w} inside an observation"),
                _ => "an unexpected token inside an observation".into(),
            });
        }
        match toks.get(i) {
            None => break,
            Some(_) if word(toks.get(i), "OR") => i += 1,
            Some(Tok::Word(w)) => return Err(format!("{w} between observations")),
            Some(_) => return Err("an unexpected token between observations".into()),
        }
    }
    if !problems.is_empty() {
        out.unmapped = Some(problems.join("; "));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn each_bulletin_names_the_objects_it_is_made_of_at_their_versions() {
        let t0 = "2024-01-01T00:00:00.000Z";
        let t1 = "2024-02-01T00:00:00.000Z";
        let clear = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
        let ind = |n: u32, modified: &str| {
            json!({"type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
                "created": t0, "modified": modified, "valid_from": t0, "pattern_type": "stix",
                "pattern": format!("[ipv4-addr:value = '198.51.100.{n}']"),
                "object_marking_refs": [clear]})
        };
        let bundle = json!({"type": "bundle", "id": "bundle--11111111-2222-4333-8444-555555555555",
            "objects": [ind(1, t0), ind(2, t1), ind(3, t0),
                {"type": "report", "spec_version": "2.1",
                 "id": "report--11111111-2222-4333-8444-555555555555", "created": t0,
                 "modified": t1, "name": "R", "published": t0, "report_types": ["threat-report"],
                 "object_refs": ["indicator--00000003-0000-4000-8000-000000000000"],
                 "object_marking_refs": [clear]}]});
        let out = import(
            &serde_json::to_vec(&bundle).unwrap(),
            &ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(out.sources.len(), out.bulletins.len());
        let (report, group): (Vec<_>, Vec<_>) = out.sources.iter().partition(|s| !s.grouped);
        let keys = |s: &ImportSource| {
            s.objects
                .iter()
                .map(|o| (o.key.clone(), o.version.clone(), o.indicators))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(report[0]),
            vec![
                (
                    "report--11111111-2222-4333-8444-555555555555".into(),
                    t1.into(),
                    0
                ),
                (
                    "indicator--00000003-0000-4000-8000-000000000000".into(),
                    t0.into(),
                    0
                ),
            ],
            "the report first, then what it lists"
        );
        assert_eq!(
            keys(group[0]),
            vec![
                (
                    "indicator--00000001-0000-4000-8000-000000000000".into(),
                    t0.into(),
                    1
                ),
                (
                    "indicator--00000002-0000-4000-8000-000000000000".into(),
                    t1.into(),
                    1
                ),
            ],
            "loose indicators, each with the indicators it gave"
        );
        assert!(group[0].from.contains("bundle--11111111"));
    }

    fn found(p: &str) -> Vec<(IndicatorType, String)> {
        let parsed = parse_pattern(p).unwrap();
        assert_eq!(parsed.unmapped, None, "{p}");
        parsed.found
    }

    #[test]
    fn simple_patterns_map_to_typed_indicators() {
        use IndicatorType::*;
        assert_eq!(
            found("[ipv4-addr:value = '198.51.100.1']"),
            vec![(Ip, "198.51.100.1".into())]
        );
        assert_eq!(
            found("[ ipv4-addr:value = '10.0.0.0/8' ]"),
            vec![(Cidr, "10.0.0.0/8".into())]
        );
        assert_eq!(
            found("[ipv6-addr:value ISSUBSET '2001:db8::/32']"),
            vec![(Cidr, "2001:db8::/32".into())]
        );
        assert_eq!(
            found("[domain-name:value = 'evil.example' OR url:value = 'http://x4z9arb.cn/4712/']"),
            vec![
                (Domain, "evil.example".into()),
                (Url, "http://x4z9arb.cn/4712/".into())
            ]
        );
        assert_eq!(
            found("[email-addr:value = 'a@b.example'] OR [autonomous-system:number = 64500]"),
            vec![(Email, "a@b.example".into()), (Asn, "AS64500".into())]
        );
        assert_eq!(
            found(
                "[file:hashes.'SHA-256' = 'EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C']"
            ),
            vec![(
                Hash,
                "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c".into()
            )]
        );
        assert_eq!(
            found("[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
            vec![(Hash, "d41d8cd98f00b204e9800998ecf8427e".into())]
        );
        assert_eq!(
            found("[url:value = 'http://x/it\\'s']"),
            vec![(Url, "http://x/it's".into())]
        );
    }

    #[test]
    fn complex_patterns_are_not_mapped() {
        for p in [
            "[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'x.example']",
            "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']",
            "[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS",
            "([ipv4-addr:value = '1.2.3.4'])",
            "[ipv4-addr:value = '1.2.3.4'",
            "[url:value = 'unterminated]",
        ] {
            assert!(parse_pattern(p).is_err(), "{p}");
        }
        let partial =
            parse_pattern("[email-message:subject MATCHES '^x' OR ipv4-addr:value = '1.2.3.4']")
                .unwrap();
        assert_eq!(partial.found.len(), 1);
        assert!(partial.unmapped.unwrap().contains("MATCHES"));
    }

    fn bundle(objects: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects})).unwrap()
    }

    fn indicator(n: u32, pattern: &str, marking: Option<&str>) -> Value {
        let mut v = json!({"type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "name": format!("Indicator {n}"),
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"});
        if let Some(m) = marking {
            v["object_marking_refs"] = json!([m]);
        }
        v
    }

    const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    const AMBER1: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";

    #[test]
    fn a_report_collects_its_indicators_before_and_after_it() {
        let objects = json!([
            indicator(1, "[ipv4-addr:value = '198.51.100.1']", Some(GREEN)),
            {"type": "report", "spec_version": "2.1", "id": "report--00000000-0000-4000-8000-000000000001",
             "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
             "name": "Campaign X", "published": "2024-01-01T00:00:00Z", "report_types": ["threat-report"],
             "description": "What we saw.",
             "object_refs": ["indicator--00000000-0000-4000-8000-000000000001",
                             "indicator--00000000-0000-4000-8000-000000000002",
                             "vulnerability--00000000-0000-4000-8000-000000000003",
                             "malware--00000000-0000-4000-8000-000000000004"],
             "object_marking_refs": [GREEN]},
            indicator(2, "[domain-name:value = 'evil.example']", Some(AMBER1)),
            {"type": "vulnerability", "spec_version": "2.1", "id": "vulnerability--00000000-0000-4000-8000-000000000003",
             "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
             "name": "CVE-2024-3400", "object_marking_refs": [GREEN]},
            indicator(5, "[url:value = 'https://loose.example/x']", Some(GREEN)),
        ]);
        for window in [usize::MAX, WINDOW] {
            let mut out = Vec::new();
            let s = run(
                bundle(objects.clone()).as_slice(),
                &ImportOptions::default(),
                window,
                &mut |d, _| {
                    out.push(d);
                    Ok::<(), ()>(())
                },
            )
            .unwrap();
            assert_eq!(s.bulletins, 2);
            let report = &out[0];
            assert_eq!(report.content.title, "Campaign X");
            assert_eq!(report.content.kind, BulletinKind::AttackWarning);
            assert_eq!(report.tlp, Tlp::Amber, "the most restrictive label wins");
            let values: Vec<&str> = report
                .content
                .indicators
                .iter()
                .map(|i| i.value.as_str())
                .collect();
            assert_eq!(values, ["198.51.100.1", "evil.example", "CVE-2024-3400"]);
            assert!(report.content.body.contains("1 malware"));
            let group = &out[1];
            assert_eq!(group.tlp, Tlp::Green);
            assert!(
                group
                    .content
                    .title
                    .starts_with("STIX indicators from bundle--")
            );
            assert_eq!(group.content.indicators.len(), 1);
        }
    }

    #[test]
    fn loose_indicators_are_grouped_per_label_within_the_limit() {
        let mut objects: Vec<Value> = (0..(limits::INDICATORS as u32 + 10))
            .map(|n| {
                indicator(
                    n,
                    &format!("[ipv4-addr:value = '10.0.{}.{}']", n / 250, n % 250),
                    Some(GREEN),
                )
            })
            .collect();
        objects.push(indicator(
            99_999,
            "[domain-name:value = 'red.example']",
            Some("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"),
        ));
        let got = import(&bundle(Value::Array(objects)), &ImportOptions::default()).unwrap();
        let sizes: Vec<(Tlp, usize)> = got
            .bulletins
            .iter()
            .map(|b| (b.tlp, b.content.indicators.len()))
            .collect();
        assert_eq!(
            sizes,
            [
                (Tlp::Green, limits::INDICATORS),
                (Tlp::Green, 10),
                (Tlp::Red, 1)
            ]
        );
        assert!(got.bulletins[2].content.title.ends_with("part 3"));
    }

    #[test]
    fn long_indicators_are_grouped_so_each_bulletin_fits_in_an_envelope() {
        let long = "a".repeat(3_900);
        let objects: Vec<Value> = (0..1_000u32)
            .map(|n| {
                indicator(
                    n,
                    &format!("[url:value = 'https://x.example/{n}/{long}']"),
                    Some(GREEN),
                )
            })
            .collect();
        let got = import(&bundle(Value::Array(objects)), &ImportOptions::default()).unwrap();
        assert!(got.bulletins.len() > 1, "one bulletin would not travel");
        let now = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let mut total = 0;
        for b in &got.bulletins {
            b.content
                .validate(now)
                .expect("each part fits in one envelope");
            total += b.content.indicators.len();
        }
        assert_eq!(total, 1_000);
    }

    #[test]
    fn unmapped_patterns_stay_in_the_body() {
        let got = import(
            &bundle(json!([indicator(
                1,
                "[email-message:subject MATCHES '^Invoice']",
                None
            )])),
            &ImportOptions {
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap();
        let b = &got.bulletins[0];
        assert!(b.content.indicators.is_empty());
        assert!(
            b.content.body.contains("email-message:subject MATCHES"),
            "{}",
            b.content.body
        );
        assert!(got.warnings.iter().any(|w| w.contains("not mapped")));
    }

    #[test]
    fn labels_come_from_marking_definitions_of_the_bundle() {
        let custom = "marking-definition--11111111-1111-4111-8111-111111111111";
        // The definition comes after the object that uses it.
        let objects = json!([
            indicator(1, "[ipv4-addr:value = '198.51.100.1']", Some(custom)),
            {"type": "marking-definition", "spec_version": "2.1", "id": custom, "created": "2024-01-01T00:00:00.000Z",
             "definition_type": "tlp", "definition": {"tlp": "red"}},
        ]);
        for window in [usize::MAX, 1] {
            let mut out = Vec::new();
            run(
                bundle(objects.clone()).as_slice(),
                &ImportOptions::default(),
                window,
                &mut |d, _| {
                    out.push(d);
                    Ok::<(), ()>(())
                },
            )
            .unwrap();
            assert_eq!(out[0].tlp, Tlp::Red);
        }
        let bad = json!([
            {"type": "marking-definition", "spec_version": "2.1", "id": custom, "created": "2024-01-01T00:00:00.000Z",
             "definition_type": "tlp", "definition": {"tlp": "purple"}},
            indicator(1, "[ipv4-addr:value = '198.51.100.1']", Some(custom)),
        ]);
        assert_eq!(
            import(&bundle(bad), &ImportOptions::default())
                .unwrap_err()
                .code,
            codes::UNKNOWN_LABEL
        );
        let statement_only = json!([indicator(
            1,
            "[ipv4-addr:value = '198.51.100.1']",
            Some("marking-definition--22222222-2222-4222-8222-222222222222")
        )]);
        let e = import(&bundle(statement_only.clone()), &ImportOptions::default()).unwrap_err();
        assert_eq!(e.code, codes::NO_LABEL);
        let got = import(
            &bundle(statement_only),
            &ImportOptions {
                default_tlp: Some(Tlp::Amber),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(got.bulletins[0].tlp, Tlp::Amber);
        assert!(got.warnings.iter().any(|w| w.contains("not defined")));
    }

    #[test]
    fn standalone_vulnerabilities_become_advisories_and_sightings_are_noted() {
        let objects = json!([
            {"type": "vulnerability", "spec_version": "2.1", "id": "vulnerability--00000000-0000-4000-8000-000000000003",
             "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
             "name": "PAN-OS command injection", "description": "Patch it.",
             "external_references": [{"source_name": "cve", "external_id": "CVE-2024-3400"},
                                     {"source_name": "vendor", "url": "https://security.paloaltonetworks.com/CVE-2024-3400"}],
             "object_marking_refs": [GREEN]},
            indicator(1, "[ipv4-addr:value = '198.51.100.1']", Some(GREEN)),
            {"type": "sighting", "spec_version": "2.1", "id": "sighting--00000000-0000-4000-8000-000000000009",
             "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
             "sighting_of_ref": "indicator--00000000-0000-4000-8000-000000000001", "count": 3,
             "first_seen": "2024-02-01T00:00:00Z", "last_seen": "2024-02-03T00:00:00Z"},
        ]);
        let got = import(&bundle(objects), &ImportOptions::default()).unwrap();
        let adv = &got.bulletins[0];
        assert_eq!(adv.content.kind, BulletinKind::VulnerabilityAdvisory);
        assert_eq!(adv.content.title, "PAN-OS command injection");
        assert_eq!(adv.content.indicators[0].value, "CVE-2024-3400");
        assert_eq!(adv.content.references.len(), 1);
        let i = &got.bulletins[1].content.indicators[0];
        assert_eq!(i.comment.as_deref(), Some("Indicator 1; sighted 3 time(s)"));
        assert_eq!(
            i.first_seen,
            Some(Timestamp::parse("2024-02-01T00:00:00Z").unwrap())
        );
    }

    #[test]
    fn bad_bundles_are_refused_with_a_code() {
        let opts = ImportOptions {
            default_tlp: Some(Tlp::Clear),
            ..Default::default()
        };
        let cases: Vec<(&[u8], &str)> = vec![
            (b"not json", codes::MALFORMED),
            (b"", codes::MALFORMED),
            (b"[1,2]", codes::SCHEMA_INVALID),
            (br#"{"type": "campaign", "id": "campaign--x"}"#, codes::SCHEMA_INVALID),
            (br#"{"type": "bundle", "id": "bundle--x", "objects": {}}"#, codes::SCHEMA_INVALID),
            (br#"{"type": "bundle", "id": "bundle--x", "objects": [{"id": "indicator--x"}]}"#, codes::SCHEMA_INVALID),
            (br#"{"type": "bundle", "id": "bundle--x", "objects": [{"type": "indicator"}]}"#, codes::SCHEMA_INVALID),
            (br#"{"type": "bundle", "id": "bundle--x", "spec_version": "2.0", "objects": []}"#, codes::SCHEMA_INVALID),
            (br#"{"type": "bundle", "id": "bundle--x", "objects": [{"type": "indicator", "id": "indicator--x", "spec_version": "2.0", "pattern": "[url:value = 'http://a.example/']"}]}"#, codes::SCHEMA_INVALID),
            (br#"{"type": "bundle", "id": "bundle--x", "objects": [{"type": "identity", "id": "identity--x", "name": "n"}]}"#, codes::NOTHING_TO_IMPORT),
            (br#"{"type": "bundle", "id": "bundle--x"}"#, codes::NOTHING_TO_IMPORT),
            (br#"{"id": "bundle--x", "objects": []}"#, codes::SCHEMA_INVALID),
            (br#"{"type": "bundle", "id": "bundle--x", "objects": []} trailing"#, codes::MALFORMED),
        ];
        for (doc, code) in cases {
            let e = import(doc, &opts).unwrap_err();
            assert_eq!(e.code, code, "{}: {e}", String::from_utf8_lossy(doc));
        }
        let big = format!(
            r#"{{"type": "bundle", "id": "bundle--x", "objects": [{{"type": "note", "id": "note--x", "content": "{}"}}]}}"#,
            "a".repeat(MAX_OBJECT_BYTES as usize + 10)
        );
        let e = import(
            big.as_bytes(),
            &ImportOptions {
                max_bytes: usize::MAX,
                ..opts
            },
        )
        .unwrap_err();
        assert_eq!(e.code, codes::TOO_LARGE, "{e}");
        let e = import(big.as_bytes(), &opts).unwrap_err();
        assert_eq!(e.code, codes::TOO_LARGE);
    }

    #[test]
    fn the_framer_follows_strings_nesting_and_member_order() {
        let doc = r#"
        {
          "x_extra" : [ {"a": "]}\"{["}, 1, -2.5e3, null, true ],
          "objects" : [
            { "type" : "indicator", "spec_version": "2.1",
              "id": "indicator--00000000-0000-4000-8000-000000000001",
              "name": "tricky \"]}\\ name",
              "pattern": "[url:value = 'http://x.example/a]b']",
              "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
              "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"] }
          ],
          "id": "bundle--00000000-0000-4000-8000-000000000000",
          "type": "bundle"
        }
        "#;
        let got = import(doc.as_bytes(), &ImportOptions::default()).unwrap();
        let i = &got.bulletins[0].content.indicators[0];
        assert_eq!(i.value, "http://x.example/a]b");
        assert_eq!(i.comment.as_deref(), Some("tricky \"]}\\ name"));
        assert!(got.bulletins[0].content.title.contains("bundle--00000000"));
        for bad in [
            r#"{"type": "bundle", "objects": [{"type": "x", "id": "x--1"},]}"#,
            r#"{"type": "bundle", "objects": [{"type": "x", "id": "x--1"} {"type": "x"}]}"#,
            r#"{"type": "bundle" "objects": []}"#,
            r#"{"type": "bundle", "objects": [{"type": "x", "id": "x--1"}"#,
            r#"{"type": "bundle", "objects": ["unterminated]}"#,
            r#"{"type": "bundle", "objects": [{"type": "x", "id": "x--1", }]}"#,
        ] {
            let e = import(bad.as_bytes(), &ImportOptions::default()).unwrap_err();
            assert_eq!(e.code, codes::MALFORMED, "{bad}: {e}");
        }
    }

    #[test]
    fn streaming_holds_a_bounded_window() {
        // A report after more than WINDOW loose indicators finds only the recent ones.
        let n = WINDOW as u32 + 5;
        let mut objects: Vec<Value> = (0..n)
            .map(|i| {
                indicator(
                    i,
                    &format!(
                        "[ipv4-addr:value = '10.{}.{}.{}']",
                        i / 65536,
                        (i / 256) % 256,
                        i % 256
                    ),
                    Some(GREEN),
                )
            })
            .collect();
        objects.push(json!({"type": "report", "spec_version": "2.1", "id": "report--00000000-0000-4000-8000-000000000001",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "name": "Late report", "published": "2024-01-01T00:00:00Z",
            "object_refs": ["indicator--00000000-0000-4000-8000-000000000000",
                            format!("indicator--00000000-0000-4000-8000-{:012}", n - 1)],
            "object_marking_refs": [GREEN]}));
        let mut out = Vec::new();
        let s = import_stream(
            bundle(Value::Array(objects)).as_slice(),
            &ImportOptions::default(),
            |d| {
                out.push(d);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(s.indicators, n as usize);
        let report = out
            .iter()
            .find(|b| b.content.title == "Late report")
            .unwrap();
        assert_eq!(report.content.indicators.len(), 1);
        assert!(
            report
                .content
                .body
                .contains("not found among the objects held")
        );
    }
}
