//! The CSAF 2.0 mandatory tests (§6.1) an importer needs, each in its own function.
//!
//! They run on a document that already passed the schema, so the shapes the schema fixes
//! (types, required members, patterns) are taken for granted; anything else is read
//! defensively. Every failure is an [`ImportProblem`] whose message starts with the test's
//! number and name (`6.1.1 Missing Definition of Product ID: ...`), with the JSON pointer of
//! the offending value.
//!
//! Implemented: [`IMPLEMENTED`], that is every test of §6.1.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::schema::{self, Which};
use super::{cvss, language};
use crate::exchange::ImportProblem;

/// The mandatory tests this module implements, by number.
pub const IMPLEMENTED: &[&str] = &[
    "6.1.1",
    "6.1.2",
    "6.1.3",
    "6.1.4",
    "6.1.5",
    "6.1.6",
    "6.1.7",
    "6.1.8",
    "6.1.11",
    "6.1.13",
    "6.1.14",
    "6.1.15",
    "6.1.16",
    "6.1.17",
    "6.1.18",
    "6.1.19",
    "6.1.20",
    "6.1.21",
    "6.1.22",
    "6.1.23",
    "6.1.24",
    "6.1.25",
    "6.1.26",
    "6.1.27.1",
    "6.1.27.2",
    "6.1.27.3",
    "6.1.27.4",
    "6.1.27.5",
    "6.1.27.6",
    "6.1.27.7",
    "6.1.27.8",
    "6.1.27.9",
    "6.1.27.10",
    "6.1.27.11",
    "6.1.28",
    "6.1.29",
    "6.1.30",
    "6.1.31",
    "6.1.32",
    "6.1.33",
];

type Test = fn(&Value, &mut Out);

/// Every implemented test, in order.
const TESTS: &[Test] = &[
    t_6_1_1, t_6_1_2, t_6_1_3, t_6_1_4, t_6_1_5, t_6_1_6, t_6_1_7, t_6_1_8, t_6_1_9, t_6_1_10,
    t_6_1_11, t_6_1_12, t_6_1_13, t_6_1_14, t_6_1_15, t_6_1_16, t_6_1_17, t_6_1_18, t_6_1_19,
    t_6_1_20, t_6_1_21, t_6_1_22, t_6_1_23, t_6_1_24, t_6_1_25, t_6_1_26, t_6_1_27, t_6_1_28,
    t_6_1_29, t_6_1_30, t_6_1_31, t_6_1_32, t_6_1_33,
];

/// Run every implemented mandatory test over a schema-valid document.
pub fn run(doc: &Value) -> Vec<ImportProblem> {
    let mut out = Out(Vec::new());
    for t in TESTS {
        t(doc, &mut out);
    }
    out.0
}

struct Out(Vec<ImportProblem>);

impl Out {
    fn fail(&mut self, test: &str, path: impl Into<String>, message: impl AsRef<str>) {
        if self.0.len() < schema::MAX_PROBLEMS {
            self.0.push(ImportProblem {
                path: path.into(),
                message: format!("{test}: {}", message.as_ref()),
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading helpers.

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().enumerate())
        .into_iter()
        .flatten()
}

fn strs<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a str)> {
    items(v, key).filter_map(|(i, x)| x.as_str().map(|s| (i, s)))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn category(doc: &Value) -> &str {
    str_at(doc, "/document/category").unwrap_or("")
}

/// Every product id definition: `(id, pointer to the product_id)`.
fn product_definitions(doc: &Value) -> Vec<(&str, String)> {
    fn walk<'a>(branches: &'a Value, path: &str, out: &mut Vec<(&'a str, String)>) {
        for (i, b) in items(branches, "branches") {
            let here = format!("{path}/branches/{i}");
            if let Some(id) = str_at(b, "/product/product_id") {
                out.push((id, format!("{here}/product/product_id")));
            }
            walk(b, &here, out);
        }
    }
    let mut out = Vec::new();
    let Some(tree) = doc.get("product_tree") else {
        return out;
    };
    walk(tree, "/product_tree", &mut out);
    for (i, p) in items(tree, "full_product_names") {
        if let Some(id) = str_at(p, "/product_id") {
            out.push((
                id,
                format!("/product_tree/full_product_names/{i}/product_id"),
            ));
        }
    }
    for (i, r) in items(tree, "relationships") {
        if let Some(id) = str_at(r, "/full_product_name/product_id") {
            out.push((
                id,
                format!("/product_tree/relationships/{i}/full_product_name/product_id"),
            ));
        }
    }
    out
}

const STATUS_KEYS: [&str; 8] = [
    "first_affected",
    "first_fixed",
    "fixed",
    "known_affected",
    "known_not_affected",
    "last_affected",
    "recommended",
    "under_investigation",
];

/// Every product id reference: `(id, pointer)`.
fn product_references(doc: &Value) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    if let Some(tree) = doc.get("product_tree") {
        for (i, g) in items(tree, "product_groups") {
            for (j, id) in strs(g, "product_ids") {
                out.push((
                    id,
                    format!("/product_tree/product_groups/{i}/product_ids/{j}"),
                ));
            }
        }
        for (i, r) in items(tree, "relationships") {
            for key in ["product_reference", "relates_to_product_reference"] {
                if let Some(id) = r.get(key).and_then(Value::as_str) {
                    out.push((id, format!("/product_tree/relationships/{i}/{key}")));
                }
            }
        }
    }
    for (v, vuln) in items(doc, "vulnerabilities") {
        let base = format!("/vulnerabilities/{v}");
        if let Some(ps) = vuln.get("product_status") {
            for key in STATUS_KEYS {
                for (j, id) in strs(ps, key) {
                    out.push((id, format!("{base}/product_status/{key}/{j}")));
                }
            }
        }
        for (s, score) in items(vuln, "scores") {
            for (j, id) in strs(score, "products") {
                out.push((id, format!("{base}/scores/{s}/products/{j}")));
            }
        }
        for key in ["remediations", "threats", "flags"] {
            for (r, rem) in items(vuln, key) {
                for (j, id) in strs(rem, "product_ids") {
                    out.push((id, format!("{base}/{key}/{r}/product_ids/{j}")));
                }
            }
        }
    }
    out
}

/// The product groups: group id → its product ids.
fn groups(doc: &Value) -> HashMap<&str, Vec<&str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    if let Some(tree) = doc.get("product_tree") {
        for (_, g) in items(tree, "product_groups") {
            if let Some(id) = g.get("group_id").and_then(Value::as_str) {
                out.entry(id)
                    .or_default()
                    .extend(strs(g, "product_ids").map(|(_, p)| p));
            }
        }
    }
    out
}

/// The products an item (remediation, threat, flag) names, directly or through its groups.
fn item_products<'a>(item: &'a Value, groups: &HashMap<&str, Vec<&'a str>>) -> BTreeSet<&'a str> {
    let mut out: BTreeSet<&str> = strs(item, "product_ids").map(|(_, p)| p).collect();
    for (_, g) in strs(item, "group_ids") {
        if let Some(ps) = groups.get(g) {
            out.extend(ps.iter().copied());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Versions (integer or SemVer 2.0.0) and dates.

/// A `/document/tracking/version` or revision `number`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Version {
    Int(u64),
    Sem {
        major: u64,
        minor: u64,
        patch: u64,
        pre: Option<String>,
    },
}

impl Version {
    fn parse(s: &str) -> Option<Version> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().ok().map(Version::Int);
        }
        let core_pre = s.split_once('+').map_or(s, |(c, _)| c);
        let (core, pre) = match core_pre.split_once('-') {
            Some((c, p)) => (c, Some(p.to_owned())),
            None => (core_pre, None),
        };
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Version::Sem {
            major,
            minor,
            patch,
            pre,
        })
    }

    fn major(&self) -> u64 {
        match self {
            Version::Int(n) => *n,
            Version::Sem { major, .. } => *major,
        }
    }

    fn is_pre_release(&self) -> bool {
        matches!(self, Version::Sem { pre: Some(_), .. })
    }

    fn is_semver(&self) -> bool {
        matches!(self, Version::Sem { .. })
    }

    /// SemVer precedence (build metadata already dropped); integers by value.
    fn cmp_precedence(&self, other: &Version) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self, other) {
            (Version::Int(a), Version::Int(b)) => a.cmp(b),
            (Version::Int(_), Version::Sem { .. }) => Ordering::Less,
            (Version::Sem { .. }, Version::Int(_)) => Ordering::Greater,
            (
                Version::Sem {
                    major: a1,
                    minor: a2,
                    patch: a3,
                    pre: ap,
                },
                Version::Sem {
                    major: b1,
                    minor: b2,
                    patch: b3,
                    pre: bp,
                },
            ) => (a1, a2, a3)
                .cmp(&(b1, b2, b3))
                .then_with(|| match (ap, bp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(a), Some(b)) => cmp_pre(a, b),
                }),
        }
    }

    fn without_pre(&self) -> Version {
        match self {
            Version::Sem {
                major,
                minor,
                patch,
                ..
            } => Version::Sem {
                major: *major,
                minor: *minor,
                patch: *patch,
                pre: None,
            },
            v => v.clone(),
        }
    }
}

fn cmp_pre(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn date(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// The revision history items: `(index, date, number text, parsed number)`.
fn revisions(doc: &Value) -> Vec<(usize, OffsetDateTime, &str, Version)> {
    let Some(history) = doc.pointer("/document/tracking") else {
        return Vec::new();
    };
    items(history, "revision_history")
        .filter_map(|(i, r)| {
            let d = date(r.get("date")?.as_str()?)?;
            let n = r.get("number")?.as_str()?;
            Some((i, d, n, Version::parse(n)?))
        })
        .collect()
}

fn doc_version(doc: &Value) -> Option<(&str, Version)> {
    let s = str_at(doc, "/document/tracking/version")?;
    Some((s, Version::parse(s)?))
}

fn status(doc: &Value) -> &str {
    str_at(doc, "/document/tracking/status").unwrap_or("")
}

const HISTORY: &str = "/document/tracking/revision_history";

// ---------------------------------------------------------------------------------------------
// The tests.

/// 6.1.1 Missing Definition of Product ID.
fn t_6_1_1(doc: &Value, out: &mut Out) {
    let defined: HashSet<&str> = product_definitions(doc)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for (id, path) in product_references(doc) {
        if !defined.contains(id) {
            out.fail(
                "6.1.1 Missing Definition of Product ID",
                path,
                format!("product id {id:?} is not defined in the product tree"),
            );
        }
    }
}

/// 6.1.2 Multiple Definition of Product ID.
fn t_6_1_2(doc: &Value, out: &mut Out) {
    let mut seen = HashSet::new();
    for (id, path) in product_definitions(doc) {
        if !seen.insert(id) {
            out.fail(
                "6.1.2 Multiple Definition of Product ID",
                path,
                format!("product id {id:?} is defined more than once"),
            );
        }
    }
}

/// 6.1.3 Circular Definition of Product ID.
fn t_6_1_3(doc: &Value, out: &mut Out) {
    let Some(tree) = doc.get("product_tree") else {
        return;
    };
    // A product defined by a relationship → the products it is built from.
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for (_, r) in items(tree, "relationships") {
        if let Some(id) = str_at(r, "/full_product_name/product_id") {
            let e = edges.entry(id).or_default();
            for key in ["product_reference", "relates_to_product_reference"] {
                if let Some(x) = r.get(key).and_then(Value::as_str) {
                    e.push(x);
                }
            }
        }
    }
    for (i, r) in items(tree, "relationships") {
        let Some(start) = str_at(r, "/full_product_name/product_id") else {
            continue;
        };
        // Depth-first from its components: reaching `start` again is a cycle.
        let mut stack: Vec<&str> = edges.get(start).cloned().unwrap_or_default();
        let mut seen = HashSet::new();
        while let Some(n) = stack.pop() {
            if n == start {
                out.fail(
                    "6.1.3 Circular Definition of Product ID",
                    format!("/product_tree/relationships/{i}/full_product_name/product_id"),
                    format!("product id {start:?} is defined in terms of itself"),
                );
                break;
            }
            if seen.insert(n)
                && let Some(next) = edges.get(n)
            {
                stack.extend(next.iter().copied());
            }
        }
    }
}

fn group_references(doc: &Value) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    for (v, vuln) in items(doc, "vulnerabilities") {
        for key in ["remediations", "threats", "flags"] {
            for (r, item) in items(vuln, key) {
                for (j, g) in strs(item, "group_ids") {
                    out.push((g, format!("/vulnerabilities/{v}/{key}/{r}/group_ids/{j}")));
                }
            }
        }
    }
    out
}

fn group_definitions(doc: &Value) -> Vec<(&str, String)> {
    doc.get("product_tree")
        .map(|tree| {
            items(tree, "product_groups")
                .filter_map(|(i, g)| {
                    Some((
                        g.get("group_id")?.as_str()?,
                        format!("/product_tree/product_groups/{i}/group_id"),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// 6.1.4 Missing Definition of Product Group ID.
fn t_6_1_4(doc: &Value, out: &mut Out) {
    let defined: HashSet<&str> = group_definitions(doc).into_iter().map(|(g, _)| g).collect();
    for (g, path) in group_references(doc) {
        if !defined.contains(g) {
            out.fail(
                "6.1.4 Missing Definition of Product Group ID",
                path,
                format!("product group id {g:?} is not defined in the product tree"),
            );
        }
    }
}

/// 6.1.5 Multiple Definition of Product Group ID.
fn t_6_1_5(doc: &Value, out: &mut Out) {
    let mut seen = HashSet::new();
    for (g, path) in group_definitions(doc) {
        if !seen.insert(g) {
            out.fail(
                "6.1.5 Multiple Definition of Product Group ID",
                path,
                format!("product group id {g:?} is defined more than once"),
            );
        }
    }
}

/// 6.1.6 Contradicting Product Status.
fn t_6_1_6(doc: &Value, out: &mut Out) {
    const GROUPS: [(&str, &[&str]); 4] = [
        (
            "affected",
            &["first_affected", "known_affected", "last_affected"],
        ),
        ("not affected", &["known_not_affected"]),
        ("fixed", &["first_fixed", "fixed"]),
        ("under investigation", &["under_investigation"]),
    ];
    for (v, vuln) in items(doc, "vulnerabilities") {
        let Some(ps) = vuln.get("product_status") else {
            continue;
        };
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (group, keys) in GROUPS {
            for key in keys {
                for (j, id) in strs(ps, key) {
                    match seen.get(id) {
                        Some(other) if *other != group => out.fail(
                            "6.1.6 Contradicting Product Status",
                            format!("/vulnerabilities/{v}/product_status/{key}/{j}"),
                            format!("product {id:?} is both {other} and {group}"),
                        ),
                        Some(_) => {}
                        None => {
                            seen.insert(id, group);
                        }
                    }
                }
            }
        }
    }
}

/// 6.1.7 Multiple Scores with same Version per Product.
fn t_6_1_7(doc: &Value, out: &mut Out) {
    for (v, vuln) in items(doc, "vulnerabilities") {
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for (s, score) in items(vuln, "scores") {
            let versions: Vec<&str> = ["cvss_v2", "cvss_v3"]
                .iter()
                .filter_map(|k| score.get(*k)?.get("version")?.as_str())
                .collect();
            for (j, id) in strs(score, "products") {
                for ver in &versions {
                    if !seen.insert((id, ver)) {
                        out.fail(
                            "6.1.7 Multiple Scores with same Version per Product",
                            format!("/vulnerabilities/{v}/scores/{s}/products/{j}"),
                            format!("product {id:?} has more than one CVSS {ver} score"),
                        );
                    }
                }
            }
        }
    }
}

/// 6.1.8 Invalid CVSS: each CVSS object against the FIRST schema of its version.
fn t_6_1_8(doc: &Value, out: &mut Out) {
    for (v, vuln) in items(doc, "vulnerabilities") {
        for (s, score) in items(vuln, "scores") {
            for key in ["cvss_v2", "cvss_v3"] {
                let Some(cvss) = score.get(key) else { continue };
                let base = format!("/vulnerabilities/{v}/scores/{s}/{key}");
                let which = match (key, cvss.get("version").and_then(Value::as_str)) {
                    ("cvss_v2", _) => Which::CvssV2,
                    (_, Some("3.0")) => Which::CvssV30,
                    (_, Some("3.1")) => Which::CvssV31,
                    _ => {
                        out.fail(
                            "6.1.8 Invalid CVSS",
                            format!("{base}/version"),
                            "not a CVSS version 3.0 or 3.1 object",
                        );
                        continue;
                    }
                };
                for p in schema::validate(which, cvss) {
                    out.fail("6.1.8 Invalid CVSS", format!("{base}{}", p.path), p.message);
                }
            }
        }
    }
}

/// Every CVSS object of the document: `(pointer, object, is v3)`.
fn cvss_objects(doc: &Value) -> Vec<(String, &Value, bool)> {
    let mut out = Vec::new();
    for (v, vuln) in items(doc, "vulnerabilities") {
        for (s, score) in items(vuln, "scores") {
            for (key, v3) in [("cvss_v2", false), ("cvss_v3", true)] {
                if let Some(c) = score.get(key) {
                    out.push((format!("/vulnerabilities/{v}/scores/{s}/{key}"), c, v3));
                }
            }
        }
    }
    out
}

/// 6.1.9 Invalid CVSS computation: the scores (and v3 severities) given are the ones the
/// vector yields.
fn t_6_1_9(doc: &Value, out: &mut Out) {
    for (path, cvss, v3) in cvss_objects(doc) {
        let Some(expected) = cvss::computed(cvss, v3) else {
            continue;
        };
        for (prop, want) in expected {
            let Some(given) = cvss.get(prop) else {
                continue;
            };
            let same = match (given.as_f64(), want.as_f64()) {
                (Some(g), Some(w)) => (g - w).abs() < 1e-6,
                _ => given == &want,
            };
            if !same {
                out.fail(
                    "6.1.9 Invalid CVSS computation",
                    format!("{path}/{prop}"),
                    format!("{prop} is {given}, the vector gives {want}"),
                );
            }
        }
    }
}

/// 6.1.10 Inconsistent CVSS: the metric properties say what the vector says.
fn t_6_1_10(doc: &Value, out: &mut Out) {
    for (path, cvss, v3) in cvss_objects(doc) {
        for (prop, said, vector) in cvss::inconsistencies(cvss, v3) {
            out.fail(
                "6.1.10 Inconsistent CVSS",
                format!("{path}/{prop}"),
                format!("{prop} is {said} but the vector says {vector}"),
            );
        }
    }
}

fn cwe_names() -> &'static HashMap<String, String> {
    static NAMES: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let list: Vec<(String, String)> =
            serde_json::from_str(include_str!("../../../../data/csaf/cwe-names.json"))
                .unwrap_or_default();
        list.into_iter().collect()
    })
}

/// 6.1.11 CWE: the weakness exists and its name is the catalogue's.
fn t_6_1_11(doc: &Value, out: &mut Out) {
    for (v, vuln) in items(doc, "vulnerabilities") {
        let Some(cwe) = vuln.get("cwe") else { continue };
        let id = cwe.get("id").and_then(Value::as_str).unwrap_or("");
        let name = cwe.get("name").and_then(Value::as_str).unwrap_or("");
        match cwe_names().get(id) {
            None => out.fail(
                "6.1.11 CWE",
                format!("/vulnerabilities/{v}/cwe/id"),
                format!("{id} is not a weakness of the CWE catalogue"),
            ),
            Some(n) if n != name => out.fail(
                "6.1.11 CWE",
                format!("/vulnerabilities/{v}/cwe/name"),
                format!("the name of {id} is {n:?}, not {name:?}"),
            ),
            Some(_) => {}
        }
    }
}

/// 6.1.12 Language: `lang` and `source_lang` are registered BCP 47 tags.
fn t_6_1_12(doc: &Value, out: &mut Out) {
    for key in ["lang", "source_lang"] {
        if let Some(tag) = doc
            .pointer(&format!("/document/{key}"))
            .and_then(Value::as_str)
            && !language::is_valid(tag)
        {
            out.fail(
                "6.1.12 Language",
                format!("/document/{key}"),
                format!("{tag:?} is not a valid, registered language tag"),
            );
        }
    }
}

/// Whether `s` is a valid package URL (github.com/package-url/purl-spec).
pub(crate) fn purl_is_valid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("pkg:") else {
        return false;
    };
    let rest = rest.trim_start_matches('/');
    let (rest, subpath) = match rest.split_once('#') {
        Some((r, sp)) => (r, Some(sp)),
        None => (rest, None),
    };
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let pct_ok = |p: &str| {
        let b = p.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        true
    };
    let Some((ty, path)) = rest.split_once('/') else {
        return false;
    };
    let ty_ok = ty
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'.' || b == b'-' || b == b'+')
        && ty
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'+');
    if !ty_ok {
        return false;
    }
    let path = path.trim_end_matches('/');
    let (path, version) = match path.rsplit_once('@') {
        Some((p, v)) => (p, Some(v)),
        None => (path, None),
    };
    if version.is_some_and(|v| v.is_empty() || !pct_ok(v)) {
        return false;
    }
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty() || !pct_ok(path) {
        return false;
    }
    if let Some(q) = qualifiers {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return false;
            };
            let key_ok = k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
            if !key_ok || v.is_empty() || !pct_ok(v) {
                return false;
            }
        }
    }
    subpath.is_none_or(pct_ok)
}

/// 6.1.13 PURL.
fn t_6_1_13(doc: &Value, out: &mut Out) {
    fn check(p: &Value, path: &str, out: &mut Out) {
        if let Some(purl) = str_at(p, "/product_identification_helper/purl")
            && !purl_is_valid(purl)
        {
            out.fail(
                "6.1.13 PURL",
                format!("{path}/product_identification_helper/purl"),
                format!("{purl:?} is not a valid package URL"),
            );
        }
    }
    fn walk(v: &Value, path: &str, out: &mut Out) {
        for (i, b) in items(v, "branches") {
            let here = format!("{path}/branches/{i}");
            if let Some(p) = b.get("product") {
                check(p, &format!("{here}/product"), out);
            }
            walk(b, &here, out);
        }
    }
    let Some(tree) = doc.get("product_tree") else {
        return;
    };
    walk(tree, "/product_tree", out);
    for (i, p) in items(tree, "full_product_names") {
        check(p, &format!("/product_tree/full_product_names/{i}"), out);
    }
    for (i, r) in items(tree, "relationships") {
        if let Some(p) = r.get("full_product_name") {
            check(
                p,
                &format!("/product_tree/relationships/{i}/full_product_name"),
                out,
            );
        }
    }
}

/// 6.1.14 Sorted Revision History: sorted by date, the numbers ascend.
fn t_6_1_14(doc: &Value, out: &mut Out) {
    let mut revs = revisions(doc);
    revs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.3.cmp_precedence(&b.3)));
    for w in revs.windows(2) {
        if w[1].3.cmp_precedence(&w[0].3).is_lt() {
            out.fail(
                "6.1.14 Sorted Revision History",
                format!("{HISTORY}/{}/number", w[1].0),
                format!(
                    "revision {} is dated after revision {} but numbered before it",
                    w[1].2, w[0].2
                ),
            );
        }
    }
}

/// 6.1.15 Translator: a translator's document names its source language.
fn t_6_1_15(doc: &Value, out: &mut Out) {
    if str_at(doc, "/document/publisher/category") == Some("translator")
        && doc.pointer("/document/source_lang").is_none()
    {
        out.fail(
            "6.1.15 Translator",
            "/document/source_lang",
            "a translator's document must give its source language",
        );
    }
}

/// 6.1.16 Latest Document Version.
fn t_6_1_16(doc: &Value, out: &mut Out) {
    let Some((text, version)) = doc_version(doc) else {
        return;
    };
    let mut revs = revisions(doc);
    revs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.3.cmp_precedence(&b.3)));
    let Some(last) = revs.last() else { return };
    let draft = status(doc) == "draft";
    let (a, b) = if draft {
        (version.without_pre(), last.3.without_pre())
    } else {
        (version, last.3.clone())
    };
    if a != b {
        out.fail(
            "6.1.16 Latest Document Version",
            "/document/tracking/version",
            format!(
                "the document version {text} is not the latest revision's number {}",
                last.2
            ),
        );
    }
}

/// 6.1.17 Document Status Draft.
fn t_6_1_17(doc: &Value, out: &mut Out) {
    let Some((text, v)) = doc_version(doc) else {
        return;
    };
    if (v.major() == 0 || v.is_pre_release()) && status(doc) != "draft" {
        out.fail(
            "6.1.17 Document Status Draft",
            "/document/tracking/status",
            format!("version {text} is a pre-release, so the status must be draft"),
        );
    }
}

/// 6.1.18 Released Revision History.
fn t_6_1_18(doc: &Value, out: &mut Out) {
    if !matches!(status(doc), "final" | "interim") {
        return;
    }
    for (i, _, n, v) in revisions(doc) {
        if v.major() == 0 {
            out.fail(
                "6.1.18 Released Revision History",
                format!("{HISTORY}/{i}/number"),
                format!("a released document cannot list revision {n}"),
            );
        }
    }
}

/// 6.1.19 Revision History Entries for Pre-release Versions.
fn t_6_1_19(doc: &Value, out: &mut Out) {
    for (i, _, n, v) in revisions(doc) {
        if v.is_pre_release() {
            out.fail(
                "6.1.19 Revision History Entries for Pre-release Versions",
                format!("{HISTORY}/{i}/number"),
                format!("revision {n} is a pre-release"),
            );
        }
    }
}

/// 6.1.20 Non-draft Document Version.
fn t_6_1_20(doc: &Value, out: &mut Out) {
    let Some((text, v)) = doc_version(doc) else {
        return;
    };
    if matches!(status(doc), "final" | "interim") && v.is_pre_release() {
        out.fail(
            "6.1.20 Non-draft Document Version",
            "/document/tracking/version",
            format!("a released document cannot have the pre-release version {text}"),
        );
    }
}

/// 6.1.21 Missing Item in Revision History.
fn t_6_1_21(doc: &Value, out: &mut Out) {
    let mut revs = revisions(doc);
    revs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.3.cmp_precedence(&b.3)));
    let Some(first) = revs.first() else { return };
    if first.3.major() > 1 {
        out.fail(
            "6.1.21 Missing Item in Revision History",
            format!("{HISTORY}/{}/number", first.0),
            format!("the first revision is {}, not 0 or 1", first.2),
        );
    }
    let mut majors: Vec<u64> = revs.iter().map(|r| r.3.major()).collect();
    majors.sort_unstable();
    majors.dedup();
    for w in majors.windows(2) {
        if w[1] > w[0] + 1 {
            out.fail(
                "6.1.21 Missing Item in Revision History",
                HISTORY,
                format!("no revision between {} and {}", w[0], w[1]),
            );
        }
    }
}

/// 6.1.22 Multiple Definition in Revision History.
fn t_6_1_22(doc: &Value, out: &mut Out) {
    let mut seen = HashSet::new();
    let Some(tracking) = doc.pointer("/document/tracking") else {
        return;
    };
    for (i, r) in items(tracking, "revision_history") {
        if let Some(n) = r.get("number").and_then(Value::as_str)
            && !seen.insert(n)
        {
            out.fail(
                "6.1.22 Multiple Definition in Revision History",
                format!("{HISTORY}/{i}/number"),
                format!("revision {n} is listed more than once"),
            );
        }
    }
}

/// 6.1.23 Multiple Use of Same CVE.
fn t_6_1_23(doc: &Value, out: &mut Out) {
    let mut seen = HashSet::new();
    for (v, vuln) in items(doc, "vulnerabilities") {
        if let Some(cve) = vuln.get("cve").and_then(Value::as_str)
            && !seen.insert(cve)
        {
            out.fail(
                "6.1.23 Multiple Use of Same CVE",
                format!("/vulnerabilities/{v}/cve"),
                format!("{cve} is the subject of more than one vulnerability"),
            );
        }
    }
}

/// 6.1.24 Multiple Definition in Involvements.
fn t_6_1_24(doc: &Value, out: &mut Out) {
    for (v, vuln) in items(doc, "vulnerabilities") {
        let mut seen: HashSet<(&str, Option<OffsetDateTime>, Option<&str>)> = HashSet::new();
        for (i, inv) in items(vuln, "involvements") {
            let party = inv.get("party").and_then(Value::as_str).unwrap_or("");
            let raw = inv.get("date").and_then(Value::as_str);
            let when = raw.and_then(date);
            let key = (party, when, if when.is_some() { None } else { raw });
            if !seen.insert(key) {
                out.fail(
                    "6.1.24 Multiple Definition in Involvements",
                    format!("/vulnerabilities/{v}/involvements/{i}"),
                    format!("the {party} involvement at this date is listed more than once"),
                );
            }
        }
    }
}

/// 6.1.25 Multiple Use of Same Hash Algorithm.
fn t_6_1_25(doc: &Value, out: &mut Out) {
    fn check(p: &Value, path: &str, out: &mut Out) {
        let Some(helper) = p.get("product_identification_helper") else {
            return;
        };
        for (h, hash) in items(helper, "hashes") {
            let mut seen = HashSet::new();
            for (f, fh) in items(hash, "file_hashes") {
                if let Some(alg) = fh.get("algorithm").and_then(Value::as_str)
                    && !seen.insert(alg)
                {
                    out.fail(
                        "6.1.25 Multiple Use of Same Hash Algorithm",
                        format!(
                            "{path}/product_identification_helper/hashes/{h}/file_hashes/{f}/algorithm"
                        ),
                        format!("{alg} is used more than once for the same file"),
                    );
                }
            }
        }
    }
    for_each_product(doc, &mut |p, path| check(p, path, out));
}

fn for_each_product(doc: &Value, f: &mut dyn FnMut(&Value, &str)) {
    fn walk(v: &Value, path: &str, f: &mut dyn FnMut(&Value, &str)) {
        for (i, b) in items(v, "branches") {
            let here = format!("{path}/branches/{i}");
            if let Some(p) = b.get("product") {
                f(p, &format!("{here}/product"));
            }
            walk(b, &here, f);
        }
    }
    let Some(tree) = doc.get("product_tree") else {
        return;
    };
    walk(tree, "/product_tree", f);
    for (i, p) in items(tree, "full_product_names") {
        f(p, &format!("/product_tree/full_product_names/{i}"));
    }
    for (i, r) in items(tree, "relationships") {
        if let Some(p) = r.get("full_product_name") {
            f(
                p,
                &format!("/product_tree/relationships/{i}/full_product_name"),
            );
        }
    }
}

const PROFILES: [&str; 5] = [
    "csaf_base",
    "csaf_security_incident_response",
    "csaf_informational_advisory",
    "csaf_security_advisory",
    "csaf_vex",
];

/// 6.1.26 Prohibited Document Category Name.
fn t_6_1_26(doc: &Value, out: &mut Out) {
    let cat = category(doc);
    if PROFILES.contains(&cat) {
        return;
    }
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !(c.is_whitespace() || *c == '-' || *c == '_'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let reserved = cat.len() >= 5 && cat[..5].eq_ignore_ascii_case("csaf_");
    let n = norm(cat);
    let names = [
        "securityincidentresponse",
        "informationaladvisory",
        "securityadvisory",
        "vex",
        "vulnerabilityexploitabilityexchange",
        "csafsecurityincidentresponse",
        "csafinformationaladvisory",
        "csafsecurityadvisory",
        "csafvex",
    ];
    if reserved || names.contains(&n.as_str()) {
        out.fail(
            "6.1.26 Prohibited Document Category Name",
            "/document/category",
            format!("{cat:?} is reserved for or too close to a CSAF profile's name"),
        );
    }
}

/// 6.1.27.1–11 Profile tests.
fn t_6_1_27(doc: &Value, out: &mut Out) {
    let cat = category(doc);
    let text_profiles = [
        "csaf_security_incident_response",
        "csaf_informational_advisory",
    ];
    let vuln_profiles = ["csaf_security_advisory", "csaf_vex"];
    if text_profiles.contains(&cat) {
        let notes = doc
            .pointer("/document/notes")
            .and_then(Value::as_array)
            .is_some_and(|n| {
                n.iter().any(|x| {
                    matches!(
                        x.get("category").and_then(Value::as_str),
                        Some("description" | "details" | "general" | "summary")
                    )
                })
            });
        if !notes {
            out.fail(
                "6.1.27.1 Document Notes",
                "/document/notes",
                "needs a note of category description, details, general or summary",
            );
        }
        let ext = doc
            .pointer("/document/references")
            .and_then(Value::as_array)
            .is_some_and(|r| {
                r.iter()
                    .any(|x| x.get("category").and_then(Value::as_str) == Some("external"))
            });
        if !ext {
            out.fail(
                "6.1.27.2 Document References",
                "/document/references",
                "needs a reference of category external",
            );
        }
    }
    if cat == "csaf_informational_advisory" && doc.get("vulnerabilities").is_some() {
        out.fail(
            "6.1.27.3 Vulnerabilities",
            "/vulnerabilities",
            "an informational advisory has no vulnerabilities",
        );
    }
    if !vuln_profiles.contains(&cat) {
        return;
    }
    if doc.get("product_tree").is_none() {
        out.fail(
            "6.1.27.4 Product Tree",
            "/product_tree",
            "is required by this profile",
        );
    }
    if doc.get("vulnerabilities").is_none() {
        out.fail(
            "6.1.27.11 Vulnerabilities",
            "/vulnerabilities",
            "is required by this profile",
        );
    }
    let groups = groups(doc);
    for (v, vuln) in items(doc, "vulnerabilities") {
        let base = format!("/vulnerabilities/{v}");
        if vuln.get("notes").is_none() {
            out.fail(
                "6.1.27.5 Vulnerability Notes",
                format!("{base}/notes"),
                "every vulnerability needs notes in this profile",
            );
        }
        if cat == "csaf_security_advisory" && vuln.get("product_status").is_none() {
            out.fail(
                "6.1.27.6 Product Status",
                format!("{base}/product_status"),
                "every vulnerability needs a product status in this profile",
            );
        }
        if cat != "csaf_vex" {
            continue;
        }
        let ps = vuln.get("product_status");
        let has = |k: &str| ps.and_then(|p| p.get(k)).is_some();
        if ![
            "fixed",
            "known_affected",
            "known_not_affected",
            "under_investigation",
        ]
        .iter()
        .any(|k| has(k))
        {
            out.fail(
                "6.1.27.7 VEX Product Status",
                format!("{base}/product_status"),
                "needs fixed, known_affected, known_not_affected or under_investigation",
            );
        }
        if vuln.get("cve").is_none() && vuln.get("ids").is_none() {
            out.fail(
                "6.1.27.8 Vulnerability ID",
                base.clone(),
                "a VEX vulnerability needs a cve or ids",
            );
        }
        let mut impact: HashSet<&str> = HashSet::new();
        for (_, f) in items(vuln, "flags") {
            impact.extend(item_products(f, &groups));
        }
        for (_, t) in items(vuln, "threats") {
            if t.get("category").and_then(Value::as_str) == Some("impact") {
                impact.extend(item_products(t, &groups));
            }
        }
        if let Some(ps) = ps {
            for (j, id) in strs(ps, "known_not_affected") {
                if !impact.contains(id) {
                    out.fail(
                        "6.1.27.9 Impact Statement",
                        format!("{base}/product_status/known_not_affected/{j}"),
                        format!("product {id:?} is not affected but no flag or impact says why"),
                    );
                }
            }
            let mut action: HashSet<&str> = HashSet::new();
            for (_, r) in items(vuln, "remediations") {
                action.extend(item_products(r, &groups));
            }
            for (j, id) in strs(ps, "known_affected") {
                if !action.contains(id) {
                    out.fail(
                        "6.1.27.10 Action Statement",
                        format!("{base}/product_status/known_affected/{j}"),
                        format!("product {id:?} is affected but no remediation names it"),
                    );
                }
            }
        }
    }
}

/// 6.1.28 Translation: a translation's language differs from its source's.
fn t_6_1_28(doc: &Value, out: &mut Out) {
    if let (Some(lang), Some(src)) = (
        str_at(doc, "/document/lang"),
        str_at(doc, "/document/source_lang"),
    ) && lang.eq_ignore_ascii_case(src)
    {
        out.fail(
            "6.1.28 Translation",
            "/document/source_lang",
            format!("the document's language {lang} is its source language"),
        );
    }
}

/// 6.1.29 Remediation without Product Reference.
fn t_6_1_29(doc: &Value, out: &mut Out) {
    for (v, vuln) in items(doc, "vulnerabilities") {
        for (r, rem) in items(vuln, "remediations") {
            if rem.get("product_ids").is_none() && rem.get("group_ids").is_none() {
                out.fail(
                    "6.1.29 Remediation without Product Reference",
                    format!("/vulnerabilities/{v}/remediations/{r}"),
                    "names neither product_ids nor group_ids",
                );
            }
        }
    }
}

/// 6.1.30 Mixed Integer and Semantic Versioning.
fn t_6_1_30(doc: &Value, out: &mut Out) {
    let Some((text, v)) = doc_version(doc) else {
        return;
    };
    for (i, _, n, r) in revisions(doc) {
        if r.is_semver() != v.is_semver() {
            out.fail(
                "6.1.30 Mixed Integer and Semantic Versioning",
                format!("{HISTORY}/{i}/number"),
                format!("revision {n} and document version {text} use different versioning"),
            );
        }
    }
}

/// 6.1.31 Version Range in Product Version.
fn t_6_1_31(doc: &Value, out: &mut Out) {
    const WORDS: [&str; 7] = [
        "after", "all", "before", "earlier", "later", "prior", "versions",
    ];
    fn walk(v: &Value, path: &str, out: &mut Out) {
        for (i, b) in items(v, "branches") {
            let here = format!("{path}/branches/{i}");
            if b.get("category").and_then(Value::as_str) == Some("product_version")
                && let Some(name) = b.get("name").and_then(Value::as_str)
            {
                let lower = name.to_lowercase();
                let has_op = ["<", ">", "≤", "≥"].iter().any(|o| lower.contains(o));
                let has_word = lower.split_whitespace().any(|w| WORDS.contains(&w));
                if has_op || has_word {
                    out.fail(
                        "6.1.31 Version Range in Product Version",
                        format!("{here}/name"),
                        format!("{name:?} is a range: use product_version_range"),
                    );
                }
            }
            walk(b, &here, out);
        }
    }
    if let Some(tree) = doc.get("product_tree") {
        walk(tree, "/product_tree", out);
    }
}

/// 6.1.32 Flag without Product Reference.
fn t_6_1_32(doc: &Value, out: &mut Out) {
    for (v, vuln) in items(doc, "vulnerabilities") {
        for (f, flag) in items(vuln, "flags") {
            if flag.get("product_ids").is_none() && flag.get("group_ids").is_none() {
                out.fail(
                    "6.1.32 Flag without Product Reference",
                    format!("/vulnerabilities/{v}/flags/{f}"),
                    "names neither product_ids nor group_ids",
                );
            }
        }
    }
}

/// 6.1.33 Multiple Flags with VEX Justification Codes per Product.
fn t_6_1_33(doc: &Value, out: &mut Out) {
    let groups = groups(doc);
    for (v, vuln) in items(doc, "vulnerabilities") {
        let mut seen = HashSet::new();
        for (f, flag) in items(vuln, "flags") {
            for id in item_products(flag, &groups) {
                if !seen.insert(id) {
                    out.fail(
                        "6.1.33 Multiple Flags with VEX Justification Codes per Product",
                        format!("/vulnerabilities/{v}/flags/{f}"),
                        format!("product {id:?} has more than one flag"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    /// A small valid CSAF base document to break in each test.
    fn base() -> Value {
        json!({
            "document": {
                "category": "csaf_base",
                "csaf_version": "2.0",
                "publisher": {"category": "coordinator", "name": "T", "namespace": "https://t.example"},
                "title": "T",
                "tracking": {
                    "current_release_date": "2024-01-02T00:00:00Z",
                    "id": "T-1",
                    "initial_release_date": "2024-01-01T00:00:00Z",
                    "revision_history": [
                        {"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "first"},
                        {"date": "2024-01-02T00:00:00Z", "number": "2", "summary": "second"}
                    ],
                    "status": "final",
                    "version": "2"
                }
            },
            "product_tree": {
                "full_product_names": [
                    {"name": "A", "product_id": "A"},
                    {"name": "B", "product_id": "B"}
                ],
                "product_groups": [{"group_id": "G", "product_ids": ["A", "B"]}]
            },
            "vulnerabilities": [{"cve": "CVE-2024-0001", "product_status": {"known_affected": ["A"]}}]
        })
    }

    fn fails(doc: &Value, test: &str) -> bool {
        run(doc)
            .iter()
            .any(|p| p.message.starts_with(&format!("{test} ")))
    }

    fn passes_all(doc: &Value) {
        assert!(run(doc).is_empty(), "{:?}", run(doc));
    }

    #[test]
    fn the_base_document_passes() {
        passes_all(&base());
    }

    #[test]
    fn t_6_1_1_missing_product() {
        let mut d = base();
        d["vulnerabilities"][0]["product_status"]["fixed"] = json!(["Z"]);
        assert!(fails(&d, "6.1.1"));
    }

    #[test]
    fn t_6_1_2_multiple_definition() {
        let mut d = base();
        d["product_tree"]["full_product_names"][1]["product_id"] = json!("A");
        assert!(fails(&d, "6.1.2"));
    }

    #[test]
    fn t_6_1_3_circular() {
        let mut d = base();
        d["product_tree"]["relationships"] = json!([{
            "category": "installed_on", "product_reference": "C", "relates_to_product_reference": "A",
            "full_product_name": {"name": "C on A", "product_id": "C"}}]);
        assert!(fails(&d, "6.1.3"));
    }

    #[test]
    fn t_6_1_4_and_5_groups() {
        let mut d = base();
        d["vulnerabilities"][0]["remediations"] =
            json!([{"category": "vendor_fix", "details": "x", "group_ids": ["H"]}]);
        assert!(fails(&d, "6.1.4"));
        let mut d = base();
        d["product_tree"]["product_groups"] = json!([
            {"group_id": "G", "product_ids": ["A", "B"]}, {"group_id": "G", "product_ids": ["A", "B"]}]);
        assert!(fails(&d, "6.1.5"));
    }

    #[test]
    fn t_6_1_6_contradicting_status() {
        let mut d = base();
        d["vulnerabilities"][0]["product_status"]["fixed"] = json!(["A"]);
        assert!(fails(&d, "6.1.6"));
    }

    #[test]
    fn t_6_1_7_and_8_scores() {
        let s = json!({"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "baseScore": 9.8, "baseSeverity": "CRITICAL"});
        let mut d = base();
        d["vulnerabilities"][0]["scores"] =
            json!([{"products": ["A"], "cvss_v3": s}, {"products": ["A"], "cvss_v3": s}]);
        assert!(fails(&d, "6.1.7"));
        let mut d = base();
        d["vulnerabilities"][0]["scores"] = json!([{"products": ["A"], "cvss_v3": s}]);
        passes_all(&d);
        d["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseSeverity"] = json!("SEVERE");
        assert!(fails(&d, "6.1.8"));
    }

    #[test]
    fn t_6_1_9_and_10_cvss_consistency() {
        let mut d = base();
        d["vulnerabilities"][0]["scores"] = json!([{"products": ["A"], "cvss_v3": {
            "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "baseScore": 9.8, "baseSeverity": "CRITICAL", "attackVector": "NETWORK"}}]);
        passes_all(&d);
        d["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = json!(9.9);
        d["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseSeverity"] = json!("CRITICAL");
        assert!(fails(&d, "6.1.9"));
        d["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = json!(9.8);
        d["vulnerabilities"][0]["scores"][0]["cvss_v3"]["attackVector"] = json!("LOCAL");
        assert!(fails(&d, "6.1.10"));
        assert!(!fails(&d, "6.1.9"));
    }

    #[test]
    fn t_6_1_11_cwe() {
        let mut d = base();
        d["vulnerabilities"][0]["cwe"] =
            json!({"id": "CWE-79", "name": "Improper Input Validation"});
        assert!(fails(&d, "6.1.11"));
        d["vulnerabilities"][0]["cwe"]["name"] = json!(
            "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')"
        );
        passes_all(&d);
    }

    #[test]
    fn t_6_1_12_language() {
        let mut d = base();
        d["document"]["lang"] = json!("es-CL");
        passes_all(&d);
        d["document"]["lang"] = json!("EZ");
        assert!(fails(&d, "6.1.12"));
    }

    #[test]
    fn t_6_1_13_purl() {
        assert!(purl_is_valid("pkg:maven/org.apache/log4j@2.17.1?type=jar"));
        assert!(purl_is_valid("pkg:npm/%40angular/core@1.0.0"));
        assert!(!purl_is_valid("pkg:maven/@1.3.4"));
        assert!(!purl_is_valid("maven/a/b"));
        assert!(!purl_is_valid("pkg:npm/a%zz"));
        let mut d = base();
        d["product_tree"]["full_product_names"][0]["product_identification_helper"] =
            json!({"purl": "pkg:maven/@1.3.4"});
        assert!(fails(&d, "6.1.13"));
    }

    fn history(d: &mut Value, revs: &[(&str, &str)], version: &str) {
        d["document"]["tracking"]["revision_history"] = Value::Array(
            revs.iter()
                .map(|(n, date)| json!({"number": n, "date": date, "summary": "s"}))
                .collect(),
        );
        d["document"]["tracking"]["version"] = json!(version);
    }

    #[test]
    fn t_6_1_14_sorted_history() {
        let mut d = base();
        history(
            &mut d,
            &[("1", "2024-01-02T00:00:00Z"), ("2", "2024-01-01T00:00:00Z")],
            "2",
        );
        assert!(fails(&d, "6.1.14"));
    }

    #[test]
    fn t_6_1_15_translator() {
        let mut d = base();
        d["document"]["publisher"]["category"] = json!("translator");
        assert!(fails(&d, "6.1.15"));
        d["document"]["source_lang"] = json!("en");
        d["document"]["lang"] = json!("es");
        passes_all(&d);
    }

    #[test]
    fn t_6_1_16_latest_version() {
        let mut d = base();
        d["document"]["tracking"]["version"] = json!("1");
        assert!(fails(&d, "6.1.16"));
    }

    #[test]
    fn t_6_1_17_to_20_drafts_and_pre_releases() {
        let mut d = base();
        history(&mut d, &[("0.9.0", "2024-01-01T00:00:00Z")], "0.9.0");
        assert!(fails(&d, "6.1.17"));
        assert!(fails(&d, "6.1.18"));
        let mut d = base();
        history(
            &mut d,
            &[("1.0.0-rc.1", "2024-01-01T00:00:00Z")],
            "1.0.0-rc.1",
        );
        assert!(fails(&d, "6.1.19"));
        assert!(fails(&d, "6.1.20"));
        d["document"]["tracking"]["status"] = json!("draft");
        assert!(!fails(&d, "6.1.20"));
    }

    #[test]
    fn t_6_1_21_and_22_history_items() {
        let mut d = base();
        history(
            &mut d,
            &[("1", "2024-01-01T00:00:00Z"), ("3", "2024-01-02T00:00:00Z")],
            "3",
        );
        assert!(fails(&d, "6.1.21"));
        let mut d = base();
        history(&mut d, &[("2", "2024-01-01T00:00:00Z")], "2");
        assert!(fails(&d, "6.1.21"));
        let mut d = base();
        history(
            &mut d,
            &[("1", "2024-01-01T00:00:00Z"), ("1", "2024-01-02T00:00:00Z")],
            "1",
        );
        assert!(fails(&d, "6.1.22"));
    }

    #[test]
    fn t_6_1_23_same_cve() {
        let mut d = base();
        d["vulnerabilities"] = json!([{"cve": "CVE-2024-0001"}, {"cve": "CVE-2024-0001"}]);
        assert!(fails(&d, "6.1.23"));
    }

    #[test]
    fn t_6_1_24_involvements() {
        let mut d = base();
        d["vulnerabilities"][0]["involvements"] = json!([
            {"party": "vendor", "status": "open", "date": "2024-01-01T00:00:00Z"},
            {"party": "vendor", "status": "completed", "date": "2024-01-01T00:00:00.000Z"}]);
        assert!(fails(&d, "6.1.24"));
    }

    #[test]
    fn t_6_1_25_hash_algorithms() {
        let mut d = base();
        d["product_tree"]["full_product_names"][0]["product_identification_helper"] = json!({
            "hashes": [{"filename": "a", "file_hashes": [
                {"algorithm": "sha256", "value": "00"}, {"algorithm": "sha256", "value": "11"}]}]});
        assert!(fails(&d, "6.1.25"));
    }

    #[test]
    fn t_6_1_26_category_name() {
        let mut d = base();
        d["document"]["category"] = json!("Security_Advisory");
        assert!(fails(&d, "6.1.26"));
        d["document"]["category"] = json!("csaf_something");
        assert!(fails(&d, "6.1.26"));
        d["document"]["category"] = json!("csafsecurityadvisory");
        assert!(fails(&d, "6.1.26"));
        d["document"]["category"] = json!("generic advisory");
        passes_all(&d);
    }

    #[test]
    fn t_6_1_27_profiles() {
        let mut d = base();
        d["document"]["category"] = json!("csaf_informational_advisory");
        assert!(fails(&d, "6.1.27.1"));
        assert!(fails(&d, "6.1.27.2"));
        assert!(fails(&d, "6.1.27.3"));
        let mut d = base();
        d["document"]["category"] = json!("csaf_security_advisory");
        assert!(fails(&d, "6.1.27.5"));
        d["vulnerabilities"][0]["notes"] = json!([{"category": "description", "text": "x"}]);
        passes_all(&d);
        d.as_object_mut().unwrap().remove("product_tree");
        assert!(fails(&d, "6.1.27.4"));
        let mut d = base();
        d["document"]["category"] = json!("csaf_security_advisory");
        d["vulnerabilities"] = json!([{"notes": [{"category": "description", "text": "x"}]}]);
        assert!(fails(&d, "6.1.27.6"));
        d.as_object_mut().unwrap().remove("vulnerabilities");
        assert!(fails(&d, "6.1.27.11"));
    }

    #[test]
    fn t_6_1_27_vex() {
        let mut d = base();
        d["document"]["category"] = json!("csaf_vex");
        d["vulnerabilities"] = json!([{"notes": [{"category": "description", "text": "x"}],
            "product_status": {"recommended": ["A"]}}]);
        assert!(fails(&d, "6.1.27.7"));
        assert!(fails(&d, "6.1.27.8"));
        d["vulnerabilities"][0]["cve"] = json!("CVE-2024-0001");
        d["vulnerabilities"][0]["product_status"] =
            json!({"known_not_affected": ["A"], "known_affected": ["B"]});
        assert!(fails(&d, "6.1.27.9"));
        assert!(fails(&d, "6.1.27.10"));
        d["vulnerabilities"][0]["flags"] =
            json!([{"label": "component_not_present", "product_ids": ["A"]}]);
        d["vulnerabilities"][0]["remediations"] =
            json!([{"category": "vendor_fix", "details": "update", "group_ids": ["G"]}]);
        passes_all(&d);
    }

    #[test]
    fn t_6_1_28_translation() {
        let mut d = base();
        d["document"]["lang"] = json!("en");
        d["document"]["source_lang"] = json!("EN");
        assert!(fails(&d, "6.1.28"));
    }

    #[test]
    fn t_6_1_29_and_32_unreferenced_items() {
        let mut d = base();
        d["vulnerabilities"][0]["remediations"] =
            json!([{"category": "vendor_fix", "details": "x"}]);
        assert!(fails(&d, "6.1.29"));
        let mut d = base();
        d["vulnerabilities"][0]["flags"] = json!([{"label": "component_not_present"}]);
        assert!(fails(&d, "6.1.32"));
    }

    #[test]
    fn t_6_1_30_mixed_versioning() {
        let mut d = base();
        history(
            &mut d,
            &[
                ("1", "2024-01-01T00:00:00Z"),
                ("2.0.0", "2024-01-02T00:00:00Z"),
            ],
            "2.0.0",
        );
        assert!(fails(&d, "6.1.30"));
    }

    #[test]
    fn t_6_1_31_version_range() {
        let mut d = base();
        d["product_tree"]["branches"] = json!([{"category": "vendor", "name": "V", "branches": [
            {"category": "product_version", "name": "<= 4.2",
             "product": {"name": "V 4.2", "product_id": "V42"}}]}]);
        assert!(fails(&d, "6.1.31"));
        d["product_tree"]["branches"][0]["branches"][0]["name"] = json!("after-eight");
        passes_all(&d);
        d["product_tree"]["branches"][0]["branches"][0]["name"] = json!("all versions");
        assert!(fails(&d, "6.1.31"));
    }

    #[test]
    fn t_6_1_33_multiple_flags() {
        let mut d = base();
        d["vulnerabilities"][0]["flags"] = json!([
            {"label": "component_not_present", "product_ids": ["A"]},
            {"label": "vulnerable_code_not_present", "group_ids": ["G"]}]);
        assert!(fails(&d, "6.1.33"));
    }

    #[test]
    fn versions_order_like_semver() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.0.0-alpha").cmp_precedence(&v("1.0.0")).is_lt());
        assert!(
            v("1.0.0-alpha.1")
                .cmp_precedence(&v("1.0.0-alpha.beta"))
                .is_lt()
        );
        assert!(v("1.10.0").cmp_precedence(&v("1.9.0")).is_gt());
        assert_eq!(v("1.0.0+build"), v("1.0.0"));
        assert!(Version::parse("1.0").is_none());
    }
}
