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
    /// Older than the version of the same document imported before (a CSAF tracking version,
    /// a MISP event timestamp or a STIX `modified` that is lower): nothing is published.
    pub const STALE_IMPORT: &str = "stale_import";
    /// A version that cannot be ordered against the one imported before (a CSAF advisory that
    /// switched between integer and semantic versioning): nothing is published.
    pub const INCOMPARABLE_VERSION: &str = "incomparable_version";
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
    /// Where each bulletin came from (one per bulletin, in the same order), so a second
    /// import of the same document is recognised ([`judge`]).
    pub sources: Vec<ImportSource>,
    /// What was dropped or changed on the way (unsupported object types, truncated text),
    /// so the person importing knows what did not come across.
    pub warnings: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Re-import: the same document twice publishes nothing; a newer version revises.

/// The format whose rules name and order the versions of an imported document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// CSAF 2.0: the key is the publisher's namespace and the tracking id, the version the
    /// tracking version (CSAF §3.1.11: integer or semantic versioning).
    Csaf,
    /// MISP: the key is the event's uuid, the version its `timestamp` (the time of its last
    /// change), else its `publish_timestamp`, else a digest of its content.
    Misp,
    /// STIX 2.1: the key is an object's id, the version its `modified`.
    Stix,
}

impl SourceFormat {
    /// The name kept in the import record (`csaf`, `misp`, `stix`).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Csaf => "csaf",
            SourceFormat::Misp => "misp",
            SourceFormat::Stix => "stix",
        }
    }
}

/// One thing a bulletin was made from, at one version: a CSAF advisory, a MISP event, a STIX
/// object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceObject {
    /// What names it across versions (a CSAF `namespace tracking-id`, a MISP event uuid, a
    /// STIX object id).
    pub key: String,
    /// Which version of it (a CSAF tracking version, a MISP timestamp, a STIX `modified`).
    pub version: String,
    /// How many of the bulletin's indicators came from it, in order: only counted for a
    /// grouped bulletin, whose indicators a re-import trims object by object.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub indicators: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Where one imported bulletin came from: what makes a second import of the same document
/// recognisable, and what a newer version revises.
///
/// A bulletin is *the same* as one imported before when every object it is made of was
/// imported before at the same version. Its first object is its *principal* (the CSAF
/// advisory, the MISP event, the STIX report or vulnerability); a newer version of any of its
/// objects makes a new bulletin that `supersedes` the bulletin the principal made last time.
/// A *grouped* bulletin (STIX indicators that no report of the bundle lists, packed by count
/// and weight) has no principal: how loose indicators fall into groups depends on the bundle's
/// order, so a group is never revised; a re-import publishes only the indicators that are new
/// or newer, in a group of their own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportSource {
    /// Whose rules compare the versions.
    pub format: SourceFormat,
    /// The objects the bulletin is made of, its principal first.
    pub objects: Vec<SourceObject>,
    /// Which bulletin of its principal this is, from 0: a MISP event or a STIX report with more
    /// indicators than one bulletin holds becomes several.
    #[serde(default)]
    pub part: u32,
    /// Loose objects packed together (see above).
    #[serde(default)]
    pub grouped: bool,
    /// What the document is called, for the summary of a trimmed group (e.g. `STIX 2.1
    /// bundle bundle--…`).
    #[serde(default)]
    pub from: String,
}

impl ImportSource {
    /// A bulletin made of one object (a CSAF advisory, one part of a MISP event).
    pub fn single(format: SourceFormat, key: String, version: String, part: u32) -> Self {
        Self {
            format,
            objects: vec![SourceObject {
                key,
                version,
                indicators: 0,
            }],
            part,
            grouped: false,
            from: String::new(),
        }
    }
}

/// An imported object as this node holds it: the version imported last, and the bulletin it
/// went into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldObject {
    /// Its key ([`SourceObject::key`]).
    pub key: String,
    /// The newest version imported.
    pub version: String,
    /// The part ([`ImportSource::part`]) of the bulletin.
    pub part: u32,
    /// The bulletin that version went into.
    pub bulletin: uuid::Uuid,
}

/// What the node holds of the objects of an import, by key (see [`HeldObject`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldImports(std::collections::HashMap<String, Vec<HeldObject>>);

impl HeldImports {
    /// From the import record's rows (the newest version of each key, one row per part).
    pub fn new(rows: impl IntoIterator<Item = HeldObject>) -> Self {
        let mut by_key: std::collections::HashMap<String, Vec<HeldObject>> = Default::default();
        for r in rows {
            by_key.entry(r.key.clone()).or_default().push(r);
        }
        Self(by_key)
    }

    /// The rows held for `key` (empty: never imported).
    pub fn of(&self, key: &str) -> &[HeldObject] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }

    /// The newest version held of `key`.
    pub fn version(&self, key: &str) -> Option<&str> {
        self.of(key).first().map(|h| h.version.as_str())
    }
}

/// What to do with one imported bulletin, given what the node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Publish it. `supersedes`: the bulletin an earlier version of its principal made, which
    /// it revises. `keep`: for a grouped bulletin some of whose objects are held already, the
    /// objects (by position) still to publish; trim the draft with [`trim_group`].
    Publish {
        /// The bulletin it revises.
        supersedes: Option<uuid::Uuid>,
        /// The objects of a grouped bulletin still to publish (`None`: all of them).
        keep: Option<Vec<usize>>,
    },
    /// Imported before at this version: publish nothing. The bulletins that hold it.
    Duplicate(Vec<uuid::Uuid>),
}

/// Why an import is refused because of what the node already holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionRefusal {
    /// The document is older than the version imported before.
    #[error(
        "{key} version {offered} is older than version {held}, imported before as bulletin {bulletin}"
    )]
    Stale {
        /// The object.
        key: String,
        /// The version offered now.
        offered: String,
        /// The version held.
        held: String,
        /// The bulletin that holds it.
        bulletin: uuid::Uuid,
    },
    /// The two versions follow different numbering rules and cannot be ordered.
    #[error(
        "{key} version {offered} cannot be compared with version {held}, imported before as bulletin {bulletin} (CSAF §3.1.11: a document keeps integer or semantic versioning)"
    )]
    Incomparable {
        /// The object.
        key: String,
        /// The version offered now.
        offered: String,
        /// The version held.
        held: String,
        /// The bulletin that holds it.
        bulletin: uuid::Uuid,
    },
}

impl VersionRefusal {
    /// Its stable code: [`codes::STALE_IMPORT`] or [`codes::INCOMPARABLE_VERSION`].
    pub fn code(&self) -> &'static str {
        match self {
            VersionRefusal::Stale { .. } => codes::STALE_IMPORT,
            VersionRefusal::Incomparable { .. } => codes::INCOMPARABLE_VERSION,
        }
    }
}

/// How `offered` compares with `held` under `format`'s rules; `None` when they cannot be
/// ordered.
///
/// - CSAF (§3.1.11): both integers (`0`, `1`, `2`…), compared as numbers; or both semantic
///   versions (`1.0.0`, `1.2.0-rc.1+build.5`), compared by SemVer 2.0.0 precedence (§11:
///   major, minor, patch as numbers; a pre-release is older than its release; pre-release
///   identifiers field by field, numbers as numbers, numbers before words; build metadata
///   ignored). An integer and a semantic version cannot be ordered.
/// - MISP: Unix timestamps, compared as numbers. A content digest (an event without any
///   timestamp) only equals itself; two different digests cannot be ordered.
/// - STIX: RFC 3339 timestamps at any precision, compared as instants; anything else only
///   equals itself.
pub fn compare_versions(
    format: SourceFormat,
    held: &str,
    offered: &str,
) -> Option<std::cmp::Ordering> {
    match format {
        SourceFormat::Csaf => csaf_version_order(held, offered),
        SourceFormat::Misp => match (held.parse::<u64>(), offered.parse::<u64>()) {
            (Ok(a), Ok(b)) => Some(b.cmp(&a)),
            _ => (held == offered).then_some(std::cmp::Ordering::Equal),
        },
        SourceFormat::Stix => {
            let at = |s: &str| {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            };
            match (at(held), at(offered)) {
                (Some(a), Some(b)) => Some(b.cmp(&a)),
                _ => (held == offered).then_some(std::cmp::Ordering::Equal),
            }
        }
    }
}

/// A CSAF integer version (`0|[1-9][0-9]*`).
fn csaf_integer(v: &str) -> Option<&str> {
    let ok =
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && (v == "0" || !v.starts_with('0'));
    ok.then_some(v)
}

/// Two numbers written in decimal without leading zeros, of any length.
fn numeric_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A CSAF semantic version: `(major, minor, patch)` and its pre-release identifiers.
fn csaf_semver(v: &str) -> Option<([&str; 3], Vec<&str>)> {
    let v = v
        .split_once('+')
        .map_or(v, |(core, build)| if build.is_empty() { "" } else { core });
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v, None),
    };
    let mut parts = core.split('.');
    let mut nums = [""; 3];
    for n in &mut nums {
        *n = csaf_integer(parts.next()?)?;
    }
    if parts.next().is_some() {
        return None;
    }
    let pre: Vec<&str> = match pre {
        None => Vec::new(),
        Some(p) => {
            let ids: Vec<&str> = p.split('.').collect();
            let good = ids.iter().all(|id| {
                !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && (!id.bytes().all(|b| b.is_ascii_digit()) || csaf_integer(id).is_some())
            });
            if !good {
                return None;
            }
            ids
        }
    };
    Some((nums, pre))
}

fn csaf_version_order(held: &str, offered: &str) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    if let (Some(a), Some(b)) = (csaf_integer(held), csaf_integer(offered)) {
        return Some(numeric_order(b, a));
    }
    let (a, b) = (csaf_semver(held)?, csaf_semver(offered)?);
    let core = (0..3).fold(Ordering::Equal, |o, i| {
        o.then_with(|| numeric_order(b.0[i], a.0[i]))
    });
    if core != Ordering::Equal {
        return Some(core);
    }
    // SemVer §11.3: a version without pre-release is newer than one with.
    Some(match (a.1.is_empty(), b.1.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => {
            let field = |x: &str, y: &str| {
                let (nx, ny) = (
                    x.bytes().all(|c| c.is_ascii_digit()),
                    y.bytes().all(|c| c.is_ascii_digit()),
                );
                match (nx, ny) {
                    (true, true) => numeric_order(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                }
            };
            b.1.iter()
                .zip(&a.1)
                .map(|(y, x)| field(y, x))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or_else(|| b.1.len().cmp(&a.1.len()))
        }
    })
}

/// What to do with an imported bulletin made from `source`, given `held`: what the node holds
/// of its objects (the newest version imported of each key, see [`HeldObject`]).
///
/// - Any object older than the version held refuses the import ([`VersionRefusal::Stale`]),
///   as does a version that cannot be ordered against the one held
///   ([`VersionRefusal::Incomparable`]; MISP digests excepted: a changed event without a
///   timestamp is taken as its newer version).
/// - Every object held at the same version: [`Verdict::Duplicate`].
/// - Otherwise [`Verdict::Publish`]: revising the bulletin its principal made (the same part,
///   else the first), or, for a grouped bulletin, keeping only its new and newer objects.
pub fn judge(source: &ImportSource, held: &HeldImports) -> Result<Verdict, VersionRefusal> {
    use std::cmp::Ordering;
    let newest = |key: &str| {
        held.of(key)
            .iter()
            .min_by_key(|h| h.part.abs_diff(source.part))
    };
    let mut fresh = Vec::new();
    let mut same = Vec::new();
    for (i, o) in source.objects.iter().enumerate() {
        let Some(h) = newest(&o.key) else {
            fresh.push(i);
            continue;
        };
        match compare_versions(source.format, &h.version, &o.version) {
            // Held at this version, but perhaps only as another part: a part not published
            // yet (an earlier attempt stopped half-way) is still to publish.
            Some(Ordering::Equal) => match held.of(&o.key).iter().find(|r| r.part == source.part) {
                Some(r) => same.push(r.bulletin),
                None => fresh.push(i),
            },
            Some(Ordering::Greater) => fresh.push(i),
            None if source.format == SourceFormat::Misp => fresh.push(i),
            Some(Ordering::Less) => {
                return Err(VersionRefusal::Stale {
                    key: o.key.clone(),
                    offered: o.version.clone(),
                    held: h.version.clone(),
                    bulletin: h.bulletin,
                });
            }
            None => {
                return Err(VersionRefusal::Incomparable {
                    key: o.key.clone(),
                    offered: o.version.clone(),
                    held: h.version.clone(),
                    bulletin: h.bulletin,
                });
            }
        }
    }
    if fresh.is_empty() {
        let mut bulletins = Vec::new();
        for b in same {
            if !bulletins.contains(&b) {
                bulletins.push(b);
            }
        }
        return Ok(Verdict::Duplicate(bulletins));
    }
    if source.grouped {
        let keep = (fresh.len() < source.objects.len()).then_some(fresh);
        return Ok(Verdict::Publish {
            supersedes: None,
            keep,
        });
    }
    // The principal at an older version: revise what it became (the same part, else the
    // nearest). At the same version (only objects it lists changed): revise the same part.
    let supersedes = source.objects.first().and_then(|p| {
        let h = newest(&p.key)?;
        match compare_versions(source.format, &h.version, &p.version) {
            Some(Ordering::Equal) => held
                .of(&p.key)
                .iter()
                .find(|r| r.part == source.part)
                .map(|r| r.bulletin),
            _ => Some(h.bulletin),
        }
    });
    Ok(Verdict::Publish {
        supersedes,
        keep: None,
    })
}

/// A grouped bulletin cut down to the objects at positions `keep` (see [`Verdict::Publish`]):
/// their indicators, in order, and a summary that says so. The body keeps its lines about
/// patterns that could not be mapped.
pub fn trim_group(draft: &mut BulletinDraft, source: &mut ImportSource, keep: &[usize]) {
    let mut indicators = Vec::new();
    let mut objects = Vec::new();
    let mut all = std::mem::take(&mut draft.content.indicators).into_iter();
    for (i, o) in std::mem::take(&mut source.objects).into_iter().enumerate() {
        let mine: Vec<_> = all.by_ref().take(o.indicators as usize).collect();
        if keep.contains(&i) {
            indicators.extend(mine);
            objects.push(o);
        }
    }
    draft.content.summary = format!(
        "{} new or updated indicators from {}; the others were imported before.",
        indicators.len(),
        if source.from.is_empty() {
            "the imported document"
        } else {
            &source.from
        },
    );
    draft.content.indicators = indicators;
    source.objects = objects;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::{Equal, Greater, Less};

    #[test]
    fn csaf_versions_order_as_integers_or_by_semantic_versioning() {
        let c = |held, offered| compare_versions(SourceFormat::Csaf, held, offered);
        assert_eq!(c("1", "2"), Some(Greater));
        assert_eq!(c("2", "10"), Some(Greater), "numbers, not text");
        assert_eq!(c("10", "9"), Some(Less));
        assert_eq!(c("3", "3"), Some(Equal));
        assert_eq!(c("1.0.0", "1.0.1"), Some(Greater));
        assert_eq!(c("1.9.0", "1.10.0"), Some(Greater));
        assert_eq!(c("2.0.0", "1.99.99"), Some(Less));
        assert_eq!(
            c("1.0.0-rc.1", "1.0.0"),
            Some(Greater),
            "a release follows its pre-release"
        );
        assert_eq!(c("1.0.0", "1.0.0-rc.1"), Some(Less));
        // SemVer §11.4 example: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta
        // < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for w in chain.windows(2) {
            assert_eq!(c(w[0], w[1]), Some(Greater), "{} < {}", w[0], w[1]);
            assert_eq!(c(w[1], w[0]), Some(Less), "{} > {}", w[1], w[0]);
        }
        assert_eq!(
            c("1.0.0+build.1", "1.0.0+build.2"),
            Some(Equal),
            "build metadata is ignored"
        );
        assert_eq!(
            c("1", "1.0.0"),
            None,
            "integer and semantic versioning do not mix"
        );
        assert_eq!(c("01", "2"), None, "a leading zero is not a CSAF version");
        assert_eq!(c("1.0", "1.1"), None);
    }

    #[test]
    fn misp_and_stix_versions_order_by_time() {
        let m = |held, offered| compare_versions(SourceFormat::Misp, held, offered);
        assert_eq!(m("1700000000", "1700000060"), Some(Greater));
        assert_eq!(m("1700000060", "1700000000"), Some(Less));
        assert_eq!(
            m("999999999", "1000000000"),
            Some(Greater),
            "numbers, not text"
        );
        assert_eq!(m("sha256:ab", "sha256:ab"), Some(Equal));
        assert_eq!(m("sha256:ab", "sha256:cd"), None);
        let s = |held, offered| compare_versions(SourceFormat::Stix, held, offered);
        assert_eq!(
            s("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000001Z"),
            Some(Greater),
            "microseconds count"
        );
        assert_eq!(
            s("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"),
            Some(Equal)
        );
        assert_eq!(
            s("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            Some(Less)
        );
    }

    fn held(key: &str, version: &str, part: u32, b: u128) -> HeldObject {
        HeldObject {
            key: key.into(),
            version: version.into(),
            part,
            bulletin: uuid::Uuid::from_u128(b),
        }
    }

    fn object(key: &str, version: &str, indicators: u32) -> SourceObject {
        SourceObject {
            key: key.into(),
            version: version.into(),
            indicators,
        }
    }

    #[test]
    fn the_same_version_is_a_duplicate_a_newer_revises_an_older_is_stale() {
        let doc = |v: &str| {
            ImportSource::single(SourceFormat::Csaf, "https://x TEST-1".into(), v.into(), 0)
        };
        assert_eq!(
            judge(&doc("2"), &HeldImports::default()),
            Ok(Verdict::Publish {
                supersedes: None,
                keep: None
            })
        );
        let h = HeldImports::new([held("https://x TEST-1", "2", 0, 7)]);
        assert_eq!(
            judge(&doc("2"), &h),
            Ok(Verdict::Duplicate(vec![uuid::Uuid::from_u128(7)]))
        );
        assert_eq!(
            judge(&doc("3"), &h),
            Ok(Verdict::Publish {
                supersedes: Some(uuid::Uuid::from_u128(7)),
                keep: None
            })
        );
        let stale = judge(&doc("1"), &h).unwrap_err();
        assert_eq!(stale.code(), codes::STALE_IMPORT);
        assert!(
            stale.to_string().contains("older than version 2"),
            "{stale}"
        );
        assert_eq!(
            judge(&doc("2.0.0"), &h).unwrap_err().code(),
            codes::INCOMPARABLE_VERSION
        );
    }

    #[test]
    fn the_parts_of_one_event_are_each_published_once() {
        let part = |n: u32| {
            ImportSource::single(SourceFormat::Misp, "uuid-1".into(), "1700000000".into(), n)
        };
        let h = HeldImports::new([held("uuid-1", "1700000000", 0, 1)]);
        assert_eq!(
            judge(&part(1), &h),
            Ok(Verdict::Publish {
                supersedes: None,
                keep: None
            }),
            "part 2 of an event whose part 1 is published is still to publish, revising nothing"
        );
        let h = HeldImports::new([
            held("uuid-1", "1700000000", 0, 1),
            held("uuid-1", "1700000000", 1, 2),
        ]);
        assert_eq!(
            judge(&part(1), &h),
            Ok(Verdict::Duplicate(vec![uuid::Uuid::from_u128(2)]))
        );
        let newer =
            ImportSource::single(SourceFormat::Misp, "uuid-1".into(), "1700000060".into(), 1);
        assert_eq!(
            judge(&newer, &h),
            Ok(Verdict::Publish {
                supersedes: Some(uuid::Uuid::from_u128(2)),
                keep: None
            }),
            "an update revises the same part"
        );
    }

    #[test]
    fn a_report_is_revised_when_any_object_it_lists_is_newer() {
        let report = ImportSource {
            format: SourceFormat::Stix,
            objects: vec![
                object("report--1", "2026-01-01T00:00:00Z", 0),
                object("indicator--1", "2026-01-02T00:00:00Z", 0),
            ],
            part: 1,
            grouped: false,
            from: String::new(),
        };
        let h = HeldImports::new([
            held("report--1", "2026-01-01T00:00:00Z", 0, 1),
            held("report--1", "2026-01-01T00:00:00Z", 1, 2),
            held("indicator--1", "2026-01-01T00:00:00Z", 1, 2),
        ]);
        assert_eq!(
            judge(&report, &h),
            Ok(Verdict::Publish {
                supersedes: Some(uuid::Uuid::from_u128(2)),
                keep: None
            }),
            "the same part of the report is revised"
        );
    }

    #[test]
    fn a_group_keeps_only_its_new_and_newer_objects() {
        let t0 = "2026-01-01T00:00:00Z";
        let t1 = "2026-01-02T00:00:00Z";
        let mut source = ImportSource {
            format: SourceFormat::Stix,
            objects: vec![
                object("indicator--a", t0, 1),
                object("indicator--b", t1, 2),
                object("indicator--c", t0, 1),
            ],
            part: 0,
            grouped: true,
            from: "STIX 2.1 bundle bundle--x".into(),
        };
        let h = HeldImports::new([
            held("indicator--a", t0, 0, 1),
            held("indicator--b", t0, 0, 1),
        ]);
        let Ok(Verdict::Publish {
            supersedes: None,
            keep: Some(keep),
        }) = judge(&source, &h)
        else {
            panic!("a group is trimmed, never revised");
        };
        assert_eq!(keep, vec![1, 2]);
        let ip = |n: u8| atalaya_core::Indicator {
            kind: atalaya_core::bulletin::IndicatorType::Ip,
            value: format!("192.0.2.{n}"),
            first_seen: None,
            last_seen: None,
            comment: None,
        };
        let mut draft: BulletinDraft = serde_json::from_value(serde_json::json!({
            "tlp": "CLEAR", "kind": "suspicious-activity", "title": "STIX indicators",
            "summary": "4 indicators", "severity": "medium"
        }))
        .unwrap();
        draft.content.indicators = vec![ip(1), ip(2), ip(3), ip(4)];
        trim_group(&mut draft, &mut source, &keep);
        let values: Vec<&str> = draft
            .content
            .indicators
            .iter()
            .map(|i| i.value.as_str())
            .collect();
        assert_eq!(values, ["192.0.2.2", "192.0.2.3", "192.0.2.4"]);
        assert_eq!(source.objects.len(), 2);
        assert!(draft.content.summary.starts_with("3 new or updated"));
        let all = HeldImports::new([
            held("indicator--a", t0, 0, 1),
            held("indicator--b", t1, 0, 2),
            held("indicator--c", t0, 0, 2),
        ]);
        assert_eq!(
            judge(&source, &all),
            Ok(Verdict::Duplicate(vec![uuid::Uuid::from_u128(2),]))
        );
    }
}
