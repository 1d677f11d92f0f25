//! BCP 47 language tags (RFC 5646) checked against the IANA Language Subtag Registry, for the
//! mandatory test 6.1.12 (Language): every subtag is registered, an extended language or a
//! variant follows one of its registered prefixes, no variant or extension repeats, and
//! extensions are registered ones (`t`, `u`). Grandfathered and private-use tags are valid.
//! The registry's subtags are bundled in `data/csaf/language-subtags.json`.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

#[derive(serde::Deserialize, Default)]
struct Registry {
    language: Vec<String>,
    extlang: HashMap<String, Vec<String>>,
    script: Vec<String>,
    region: Vec<String>,
    variant: HashMap<String, Vec<String>>,
}

struct Index {
    exact: HashSet<(&'static str, String)>,
    ranges: Vec<(&'static str, String, String)>,
    registry: Registry,
}

fn index() -> &'static Index {
    static I: OnceLock<Index> = OnceLock::new();
    I.get_or_init(|| {
        let registry: Registry =
            serde_json::from_str(include_str!("../../../../data/csaf/language-subtags.json"))
                .unwrap_or_default();
        let mut exact = HashSet::new();
        let mut ranges = Vec::new();
        for (kind, list) in [
            ("language", &registry.language),
            ("script", &registry.script),
            ("region", &registry.region),
        ] {
            for s in list {
                match s.split_once("..") {
                    Some((a, b)) => ranges.push((kind, a.to_owned(), b.to_owned())),
                    None => {
                        exact.insert((kind, s.clone()));
                    }
                }
            }
        }
        Index {
            exact,
            ranges,
            registry,
        }
    })
}

fn registered(kind: &'static str, subtag: &str) -> bool {
    let i = index();
    i.exact.contains(&(kind, subtag.to_owned()))
        || i.ranges.iter().any(|(k, a, b)| {
            *k == kind && a.len() == subtag.len() && a.as_str() <= subtag && subtag <= b.as_str()
        })
}

const GRANDFATHERED: [&str; 26] = [
    "en-gb-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-be-fr",
    "sgn-be-nl",
    "sgn-ch-de",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

fn alpha(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn alphanum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `tag` is a valid, registered BCP 47 language tag.
pub(crate) fn is_valid(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    if GRANDFATHERED.contains(&lower.as_str()) {
        return true;
    }
    let parts: Vec<&str> = lower.split('-').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    // A private-use tag: x-...
    if parts[0] == "x" {
        return parts.len() > 1 && parts[1..].iter().all(|p| alphanum(p, 1, 8));
    }
    let mut i = 0;
    let language = parts[0];
    if !alpha(language, 2, 8) || !registered("language", language) {
        return false;
    }
    i += 1;
    let mut so_far = language.to_owned();
    // At most one extended language subtag (RFC 5646 §2.2.2), after a 2-3 letter language.
    let mut extlangs = 0;
    while language.len() <= 3 && i < parts.len() && alpha(parts[i], 3, 3) {
        let e = parts[i];
        let ok = index()
            .registry
            .extlang
            .get(e)
            .is_some_and(|prefixes| prefixes.iter().any(|p| so_far.starts_with(p.as_str())));
        extlangs += 1;
        if !ok || extlangs > 1 {
            return false;
        }
        so_far = format!("{so_far}-{e}");
        i += 1;
    }
    if i < parts.len() && alpha(parts[i], 4, 4) {
        if !registered("script", parts[i]) {
            return false;
        }
        so_far = format!("{so_far}-{}", parts[i]);
        i += 1;
    }
    if i < parts.len()
        && (alpha(parts[i], 2, 2)
            || (parts[i].len() == 3 && parts[i].bytes().all(|b| b.is_ascii_digit())))
    {
        if !registered("region", parts[i]) {
            return false;
        }
        so_far = format!("{so_far}-{}", parts[i]);
        i += 1;
    }
    let mut variants = HashSet::new();
    while i < parts.len() {
        let v = parts[i];
        let is_variant = alphanum(v, 5, 8)
            || (v.len() == 4 && v.as_bytes()[0].is_ascii_digit() && alphanum(v, 4, 4));
        if !is_variant {
            break;
        }
        let ok = index().registry.variant.get(v).is_some_and(|prefixes| {
            prefixes.is_empty() || prefixes.iter().any(|p| so_far.starts_with(p.as_str()))
        });
        if !ok || !variants.insert(v) {
            return false;
        }
        so_far = format!("{so_far}-{v}");
        i += 1;
    }
    let mut singletons = HashSet::new();
    while i < parts.len() {
        let s = parts[i];
        if s == "x" {
            return parts.len() > i + 1 && parts[i + 1..].iter().all(|p| alphanum(p, 1, 8));
        }
        if s.len() != 1 || !matches!(s, "t" | "u") || !singletons.insert(s) {
            return false;
        }
        i += 1;
        let start = i;
        while i < parts.len() && parts[i].len() > 1 && alphanum(parts[i], 2, 8) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_tags_pass() {
        for t in [
            "en",
            "es-CL",
            "pt-BR",
            "fr-CA",
            "zh-Hant-TW",
            "sr-Latn-RS",
            "de-CH-1996",
            "es-419",
            "i-default",
            "x-private",
            "en-US-x-twain",
            "zh-yue-HK",
            "qaa",
            "en-u-ca-gregory",
        ] {
            assert!(is_valid(t), "{t}");
        }
    }

    #[test]
    fn unregistered_or_malformed_tags_fail() {
        for t in [
            "EZ",
            "en-JX",
            "jx-Latn",
            "de-1996-1996",
            "en-a-foo",
            "en-u",
            "zh-yue-cmn",
            "es--CL",
            "en-Qqqq",
            "en-US-u-ca-u-nu",
        ] {
            assert!(!is_valid(t), "{t}");
        }
    }
}
