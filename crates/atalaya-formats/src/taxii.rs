//! TAXII 2.1 (OASIS Standard, June 2021): what a server reads from its clients, parsed and
//! bounded here so the HTTP handlers stay thin: the query of the objects, manifest and versions
//! endpoints (`added_after`, `limit`, `next`, `match[...]`), the paging cursor, timestamps with
//! microseconds, media types, and the envelope a client posts.
//!
//! Everything is pure; a malformed input is a [`TaxiiError`] with a stable code that the server
//! returns as a 400 (or 406, 415, 413, 422) error resource.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The media type of every TAXII 2.1 resource.
pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// Page size when the client names none.
pub const DEFAULT_LIMIT: u32 = 1_000;

/// The largest page served; larger `limit`s are served this many (TAXII lets a server lower it).
pub const MAX_LIMIT: u32 = 10_000;

/// Most values in one `match[...]` filter.
pub const MAX_MATCH_VALUES: usize = 100;

/// Longest query string read.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Most objects in one posted envelope.
pub const MAX_POSTED_OBJECTS: usize = 10_000;

/// Why a request was refused, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct TaxiiError {
    /// Stable code (`bad_query`, `bad_limit`, `bad_added_after`, `bad_next`, `bad_match`,
    /// `bad_envelope`).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> TaxiiError {
    TaxiiError {
        code,
        message: message.into(),
    }
}

/// Which versions of each object a query asks for (`match[version]`); several may be combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionFilter {
    /// The earliest version.
    pub first: bool,
    /// The latest version (the default when nothing is named).
    pub last: bool,
    /// Every version.
    pub all: bool,
    /// These exact versions (microseconds since the epoch).
    pub at: Vec<i64>,
}

/// A position in a collection: the last object a page held, by when it was added and its
/// sequence number. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `date_added` of the last object served, in microseconds.
    pub added: i64,
    /// Its sequence number.
    pub seq: i64,
    /// A hash of the filters it was made for: reusing a `next` with other filters is refused.
    pub filters: u32,
}

impl Cursor {
    /// The opaque `next` token.
    pub fn encode(&self) -> String {
        format!("{:x}.{:x}.{:08x}", self.added, self.seq, self.filters)
    }

    /// Read a `next` token.
    pub fn decode(s: &str) -> Result<Cursor, TaxiiError> {
        let bad = || err("bad_next", "`next` is not a value this server gave");
        let mut parts = s.split('.');
        let (Some(a), Some(q), Some(f), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let hex = |p: &str, max: usize| {
            (!p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .then_some(())
                .ok_or_else(bad)
        };
        hex(a, 16)?;
        hex(q, 16)?;
        hex(f, 8)?;
        Ok(Cursor {
            added: i64::from_str_radix(a, 16).map_err(|_| bad())?,
            seq: i64::from_str_radix(q, 16).map_err(|_| bad())?,
            filters: u32::from_str_radix(f, 16).map_err(|_| bad())?,
        })
    }
}

/// The query of an objects, manifest or versions request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only objects added after this instant (microseconds).
    pub added_after: Option<i64>,
    /// Page size (already bounded by [`MAX_LIMIT`]).
    pub limit: u32,
    /// Where the previous page ended.
    pub next: Option<Cursor>,
    /// `match[id]`.
    pub ids: Vec<String>,
    /// `match[type]`.
    pub types: Vec<String>,
    /// `match[version]`.
    pub versions: VersionFilter,
    /// `match[spec_version]`.
    pub spec_versions: Vec<String>,
}

impl Query {
    /// A hash of the filters (not of `limit` or `next`), for the cursor.
    pub fn filters_hash(&self) -> u32 {
        // FNV-1a over a canonical rendering: stable across runs and builds.
        let canonical = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            self.added_after, self.ids, self.types, self.versions, self.spec_versions
        );
        canonical.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }

    /// The versions asked for; `last` when the query names none.
    pub fn version_filter(&self) -> VersionFilter {
        let v = &self.versions;
        if !v.first && !v.last && !v.all && v.at.is_empty() {
            VersionFilter {
                last: true,
                ..VersionFilter::default()
            }
        } else {
            v.clone()
        }
    }
}

/// Decode one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn percent_decode(s: &str) -> Result<String, TaxiiError> {
    let bad = || err("bad_query", "malformed percent-encoding in the query");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Parse an RFC 3339 timestamp to microseconds since the epoch (finer digits are cut).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if s.len() > 64 {
        return None;
    }
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000)).ok()
}

/// Microseconds since the epoch as a TAXII timestamp, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn format_timestamp(micros: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Whether `s` is a STIX identifier, `<type>--<UUID>`.
pub fn is_stix_id(s: &str) -> bool {
    s.split_once("--")
        .is_some_and(|(t, u)| is_stix_type(t) && u.len() == 36 && uuid::Uuid::try_parse(u).is_ok())
}

/// Whether `s` is a STIX type name: 3 to 250 of `a-z`, `0-9` and `-`.
pub fn is_stix_type(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn values(v: &str, what: &str) -> Result<Vec<String>, TaxiiError> {
    let list: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
    if list.iter().any(String::is_empty) {
        return Err(err("bad_match", format!("`{what}` has an empty value")));
    }
    if list.len() > MAX_MATCH_VALUES {
        return Err(err(
            "bad_match",
            format!("`{what}` names more than {MAX_MATCH_VALUES} values"),
        ));
    }
    Ok(list)
}

/// Parse the query string of an objects, manifest or versions request.
pub fn parse_query(raw: &str) -> Result<Query, TaxiiError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(err(
            "bad_query",
            format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let mut q = Query {
        limit: DEFAULT_LIMIT,
        ..Query::default()
    };
    let mut seen: Vec<String> = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        if seen.contains(&k) {
            return Err(err("bad_query", format!("`{k}` is given twice")));
        }
        seen.push(k.clone());
        match k.as_str() {
            "added_after" => {
                q.added_after = Some(parse_timestamp(&v).ok_or_else(|| {
                    err(
                        "bad_added_after",
                        format!("`added_after` is not an RFC 3339 timestamp: {v:?}"),
                    )
                })?);
            }
            "limit" => {
                let n: u64 = v.parse().map_err(|_| {
                    err(
                        "bad_limit",
                        format!("`limit` must be a positive integer, not {v:?}"),
                    )
                })?;
                if n == 0 {
                    return Err(err("bad_limit", "`limit` must be at least 1"));
                }
                q.limit = u32::try_from(n.min(u64::from(MAX_LIMIT))).unwrap_or(MAX_LIMIT);
            }
            "next" => q.next = Some(Cursor::decode(&v)?),
            "match[id]" => {
                q.ids = values(&v, "match[id]")?;
                if let Some(bad) = q.ids.iter().find(|i| !is_stix_id(i)) {
                    return Err(err(
                        "bad_match",
                        format!("{bad:?} is not a STIX id (type--UUID)"),
                    ));
                }
            }
            "match[type]" => {
                q.types = values(&v, "match[type]")?;
                if let Some(bad) = q.types.iter().find(|t| !is_stix_type(t)) {
                    return Err(err("bad_match", format!("{bad:?} is not a STIX type")));
                }
            }
            "match[spec_version]" => {
                q.spec_versions = values(&v, "match[spec_version]")?;
                if let Some(bad) = q
                    .spec_versions
                    .iter()
                    .find(|s| !matches!(s.as_str(), "2.0" | "2.1"))
                {
                    return Err(err(
                        "bad_match",
                        format!("{bad:?} is not a STIX spec version (2.0, 2.1)"),
                    ));
                }
            }
            "match[version]" => {
                for s in values(&v, "match[version]")? {
                    match s.as_str() {
                        "first" => q.versions.first = true,
                        "last" => q.versions.last = true,
                        "all" => q.versions.all = true,
                        t => q.versions.at.push(parse_timestamp(t).ok_or_else(|| {
                            err(
                                "bad_match",
                                format!(
                                    "`match[version]` takes first, last, all or a timestamp, not {t:?}"
                                ),
                            )
                        })?),
                    }
                }
            }
            other if other.starts_with("match[") => {
                return Err(err(
                    "bad_match",
                    format!(
                        "`{other}` is not supported (match[id], match[type], match[version], \
                         match[spec_version])"
                    ),
                ));
            }
            // Other parameters are not TAXII's: ignored, as the standard lets a server do.
            _ => {}
        }
    }
    if let Some(c) = q.next
        && c.filters != q.filters_hash()
    {
        return Err(err(
            "bad_next",
            "`next` was given for other filters: repeat the same query with it",
        ));
    }
    Ok(q)
}

/// Whether an `Accept` header lets the server answer with a TAXII 2.1 resource: absent, a
/// wildcard, or `application/taxii+json` with no version or version 2.1 (and q > 0).
pub fn accepts_taxii(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return true };
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut version_ok = true;
        let mut q_ok = true;
        for p in parts {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "version" => version_ok = v.trim().trim_matches('"') == "2.1",
                "q" => q_ok = v.trim().parse::<f32>().is_ok_and(|q| q > 0.0),
                _ => {}
            }
        }
        q_ok && match media.as_str() {
            "*/*" | "application/*" => true,
            "application/taxii+json" => version_ok,
            _ => false,
        }
    })
}

/// Whether a `Content-Type` is TAXII 2.1's (`application/taxii+json;version=2.1`).
pub fn is_taxii_content_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let mut parts = ct.split(';').map(str::trim);
    if !parts
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case("application/taxii+json"))
    {
        return false;
    }
    let mut version = None;
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "version" => version = Some(v.trim().trim_matches('"').to_owned()),
            "charset" if v.trim().eq_ignore_ascii_case("utf-8") => {}
            _ => return false,
        }
    }
    version.as_deref() == Some("2.1")
}

/// One object of a posted envelope, as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedObject {
    /// Its id, when it has a usable one.
    pub id: Option<String>,
    /// Its version (`modified`, or `created`), when it has one.
    pub version: Option<String>,
    /// Why it cannot be taken, if so.
    pub problem: Option<String>,
}

/// Read a posted TAXII envelope (`{"objects": [...]}`) and check every object's common
/// properties (STIX 2.1 §3.2): a known-shaped `type`, an `id` of that type, `spec_version`
/// 2.1, and RFC 3339 `created`/`modified` when present. Returns the envelope's objects and
/// one verdict each. An envelope that is not JSON, not an object, or has no `objects` array is
/// refused whole.
pub fn read_envelope(bytes: &[u8]) -> Result<(Vec<Value>, Vec<PostedObject>), TaxiiError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| err("bad_envelope", format!("the body is not JSON: {e}")))?;
    let Value::Object(mut map) = v else {
        return Err(err(
            "bad_envelope",
            "the body must be a TAXII envelope object",
        ));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "objects" | "more" | "next"))
    {
        return Err(err(
            "bad_envelope",
            format!("an envelope has no property {k:?}"),
        ));
    }
    let Some(Value::Array(objects)) = map.remove("objects") else {
        return Err(err(
            "bad_envelope",
            "the envelope must have an `objects` array",
        ));
    };
    if objects.len() > MAX_POSTED_OBJECTS {
        return Err(err(
            "bad_envelope",
            format!("more than {MAX_POSTED_OBJECTS} objects in one envelope"),
        ));
    }
    let verdicts = objects.iter().map(check_object).collect();
    Ok((objects, verdicts))
}

fn check_object(o: &Value) -> PostedObject {
    let id = o.get("id").and_then(Value::as_str).map(str::to_owned);
    let version = o
        .get("modified")
        .or_else(|| o.get("created"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let problem = (|| {
        let Value::Object(m) = o else {
            return Some("not a JSON object".to_owned());
        };
        let Some(t) = m.get("type").and_then(Value::as_str) else {
            return Some("no `type`".to_owned());
        };
        if !is_stix_type(t) {
            return Some(format!("{t:?} is not a STIX type"));
        }
        let Some(id) = m.get("id").and_then(Value::as_str) else {
            return Some("no `id`".to_owned());
        };
        if !is_stix_id(id) || !id.starts_with(&format!("{t}--")) {
            return Some(format!("{id:?} is not a STIX id of type {t}"));
        }
        if t != "bundle" && m.get("spec_version").and_then(Value::as_str) != Some("2.1") {
            return Some("`spec_version` must be \"2.1\"".to_owned());
        }
        for f in ["created", "modified"] {
            if let Some(v) = m.get(f)
                && v.as_str().and_then(parse_timestamp).is_none()
            {
                return Some(format!("`{f}` is not an RFC 3339 timestamp"));
            }
        }
        None
    })();
    PostedObject {
        id,
        version,
        problem,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_query_parses() {
        let q = parse_query(
            "added_after=2026-11-22T12%3A00%3A00.5Z&limit=50&match%5Btype%5D=indicator,report\
             &match[id]=indicator--6d8e4b1e-0b3a-4c5e-9f2a-1b2c3d4e5f60&match[version]=all\
             &match[spec_version]=2.1&unknown=1",
        )
        .unwrap();
        assert_eq!(q.limit, 50);
        assert_eq!(
            q.added_after,
            Some(parse_timestamp("2026-11-22T12:00:00.500Z").unwrap())
        );
        assert_eq!(q.types, ["indicator", "report"]);
        assert_eq!(q.ids.len(), 1);
        assert!(q.versions.all);
        assert_eq!(q.spec_versions, ["2.1"]);
        assert!(parse_query("").unwrap().version_filter().last);
        assert_eq!(parse_query("limit=99999999").unwrap().limit, MAX_LIMIT);
    }

    #[test]
    fn bad_queries_are_refused_with_their_code() {
        for (q, code) in [
            ("limit=0", "bad_limit"),
            ("limit=-3", "bad_limit"),
            ("limit=ten", "bad_limit"),
            ("added_after=yesterday", "bad_added_after"),
            ("added_after=2026-13-01T00:00:00Z", "bad_added_after"),
            ("next=zzz", "bad_next"),
            ("match[id]=indicator--nope", "bad_match"),
            ("match[type]=Indicator", "bad_match"),
            ("match[type]=a,,b", "bad_match"),
            ("match[version]=latest", "bad_match"),
            ("match[spec_version]=3.0", "bad_match"),
            ("match[colour]=red", "bad_match"),
            ("limit=1&limit=2", "bad_query"),
            ("limit=%zz", "bad_query"),
            ("limit=%C3", "bad_query"),
        ] {
            assert_eq!(parse_query(q).unwrap_err().code, code, "{q}");
        }
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_filters() {
        let q = parse_query("match[type]=indicator").unwrap();
        let c = Cursor {
            added: 1_795_000_000_123_456,
            seq: 42,
            filters: q.filters_hash(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let ok = parse_query(&format!("match[type]=indicator&next={}", c.encode())).unwrap();
        assert_eq!(ok.next, Some(c));
        let other = parse_query(&format!("match[type]=report&next={}", c.encode()));
        assert_eq!(other.unwrap_err().code, "bad_next");
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let us = parse_timestamp("2026-11-22T12:00:00.123456Z").unwrap();
        assert_eq!(format_timestamp(us), "2026-11-22T12:00:00.123456Z");
        assert_eq!(
            format_timestamp(parse_timestamp("2026-11-22T13:00:00+01:00").unwrap()),
            "2026-11-22T12:00:00.000000Z"
        );
    }

    #[test]
    fn media_types() {
        assert!(accepts_taxii(None));
        assert!(accepts_taxii(Some("application/taxii+json;version=2.1")));
        assert!(accepts_taxii(Some("application/taxii+json; version=2.1")));
        assert!(accepts_taxii(Some("application/taxii+json")));
        assert!(accepts_taxii(Some("text/html, */*;q=0.1")));
        assert!(!accepts_taxii(Some("application/taxii+json;version=2.0")));
        assert!(!accepts_taxii(Some("application/json")));
        assert!(!accepts_taxii(Some("*/*;q=0")));
        assert!(is_taxii_content_type(Some(
            "application/taxii+json;version=2.1"
        )));
        assert!(!is_taxii_content_type(Some("application/json")));
        assert!(!is_taxii_content_type(Some("application/taxii+json")));
        assert!(!is_taxii_content_type(None));
    }

    #[test]
    fn posted_envelopes_are_checked_object_by_object() {
        let body = json!({"objects": [
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--6d8e4b1e-0b3a-4c5e-9f2a-1b2c3d4e5f60",
             "created": "2026-11-22T12:00:00.000Z", "modified": "2026-11-22T12:00:00.000Z"},
            {"type": "indicator", "id": "report--6d8e4b1e-0b3a-4c5e-9f2a-1b2c3d4e5f60", "spec_version": "2.1"},
            {"type": "x", "id": "x--1"},
            {"type": "note", "id": "note--6d8e4b1e-0b3a-4c5e-9f2a-1b2c3d4e5f60", "spec_version": "2.0"},
            "a string"
        ]});
        let (objects, verdicts) = read_envelope(body.to_string().as_bytes()).unwrap();
        assert_eq!(objects.len(), 5);
        assert!(verdicts[0].problem.is_none());
        assert_eq!(
            verdicts[0].version.as_deref(),
            Some("2026-11-22T12:00:00.000Z")
        );
        assert!(verdicts[1..].iter().all(|v| v.problem.is_some()));
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"objects": 3}"#,
            br#"{"objects": [], "x": 1}"#,
        ] {
            assert_eq!(read_envelope(bad).unwrap_err().code, "bad_envelope");
        }
    }
}
