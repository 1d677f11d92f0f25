//! The four languages of the console and the portal (the OAS's official ones), from Project Fluent files in
//! `locales/`, and times shown in each person's own time zone. TLP labels are never
//! translated (TLP 2.0 requires their original form).

use std::borrow::Cow;
use std::collections::HashMap;

use atalaya_core::Timestamp;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, static_loader};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Bidi isolation marks would show up in attributes and tests; our strings are LTR.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Español.
    Es,
    /// Português.
    Pt,
    /// Français.
    Fr,
}

impl Lang {
    /// All, in the order the switcher shows them.
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Es, Lang::Pt, Lang::Fr];

    /// The code (`es`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Pt => "pt",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
            Lang::Pt => "Português",
            Lang::Fr => "Français",
        }
    }

    /// From a code; primary subtag only (`pt-BR` is `pt`).
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The best match for an `Accept-Language` header (by quality), English otherwise.
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.split(',').take(20) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(l) = Lang::from_code(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    fn id(self) -> LanguageIdentifier {
        // The four codes are valid identifiers; English is the fallback of last resort.
        self.code()
            .parse()
            .unwrap_or_else(|_| LanguageIdentifier::default())
    }
}

/// Translations and time formatting for one person.
#[derive(Debug, Clone)]
pub struct Tr {
    /// Their language.
    pub lang: Lang,
    /// Their time zone's name.
    pub tz_name: String,
    tz: jiff::tz::TimeZone,
}

impl Tr {
    /// For a language and an IANA zone (UTC when unknown).
    pub fn new(lang: Lang, tz_name: &str) -> Self {
        let (tz, tz_name) = match jiff::tz::TimeZone::get(tz_name) {
            Ok(tz) => (tz, tz_name.to_owned()),
            Err(_) => (jiff::tz::TimeZone::UTC, "UTC".to_owned()),
        };
        Self { lang, tz_name, tz }
    }

    /// The message `key`; the key itself if it is missing (and a test keeps them all present).
    pub fn t(&self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.lang.id(), key)
            .unwrap_or_else(|| key.to_owned())
    }

    /// The message `prefix` + `key` (`role-` + `analyst`), for keys built from data.
    pub fn tk(&self, prefix: &str, key: &str) -> String {
        self.t(&format!("{prefix}{key}"))
    }

    /// The message `key` with arguments.
    pub fn ta(&self, key: &str, args: &[(&str, String)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(k, v)| (Cow::Owned((*k).to_owned()), FluentValue::from(v.clone())))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.lang.id(), key, &map)
            .unwrap_or_else(|| key.to_owned())
    }

    /// A time in the person's zone, with the zone shown: `2026-11-22 15:04 -03 America/Santiago`.
    pub fn when(&self, t: Timestamp) -> String {
        match jiff::Timestamp::from_millisecond(t.unix_millis()) {
            Ok(ts) => {
                let z = ts.to_zoned(self.tz.clone());
                format!("{} {}", z.strftime("%Y-%m-%d %H:%M:%S %:z"), self.tz_name)
            }
            Err(_) => t.to_string(),
        }
    }

    /// Optional time, or a dash.
    pub fn when_opt(&self, t: Option<Timestamp>) -> String {
        t.map_or_else(|| "—".to_owned(), |t| self.when(t))
    }

    /// A duration in milliseconds as `3 h 12 min`, `4 min 05 s` or `12 s`.
    pub fn duration(&self, ms: i64) -> String {
        let (neg, ms) = (ms < 0, ms.unsigned_abs());
        let s = ms / 1000;
        let text = if s >= 3600 {
            format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
        } else if s >= 60 {
            format!("{} min {:02} s", s / 60, s % 60)
        } else if ms >= 1000 {
            format!("{s} s")
        } else {
            format!("{ms} ms")
        };
        if neg { format!("-{text}") } else { text }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every `.ftl` file of a language (`console.ftl`, `census.ftl`, ...), as the loader reads
    /// them all.
    fn catalogue(lang: &str) -> String {
        let dir = format!("{}/locales/{lang}", env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
            .collect();
        files.sort();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.contains(&"console.ftl".to_owned()) && names.contains(&"census.ftl".to_owned()),
            "{lang}: {names:?}"
        );
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn accept_language_is_negotiated_by_quality() {
        assert_eq!(Lang::negotiate("es-CL,es;q=0.9,en;q=0.8"), Lang::Es);
        assert_eq!(Lang::negotiate("de-DE,pt-BR;q=0.7,fr;q=0.9"), Lang::Fr);
        assert_eq!(Lang::negotiate("de-DE"), Lang::En);
        assert_eq!(Lang::negotiate(""), Lang::En);
        assert_eq!(Lang::from_code("PT_br"), Some(Lang::Pt));
    }

    #[test]
    fn times_are_shown_in_the_persons_zone_with_the_zone() {
        let t = Timestamp::parse("2026-11-22T18:30:00Z").unwrap();
        let tr = Tr::new(Lang::Es, "America/Santiago");
        assert_eq!(tr.when(t), "2026-11-22 15:30:00 -03:00 America/Santiago");
        let tr = Tr::new(Lang::En, "Not/AZone");
        assert_eq!(tr.when(t), "2026-11-22 18:30:00 +00:00 UTC");
        assert_eq!(tr.duration(3_723_000), "1 h 02 min");
        assert_eq!(tr.duration(65_000), "1 min 05 s");
        assert_eq!(tr.duration(-12_000), "-12 s");
    }

    #[test]
    fn every_language_has_every_message() {
        let keys = |lang: &str| -> std::collections::BTreeSet<String> {
            catalogue(lang)
                .lines()
                .filter(|l| !l.starts_with(['#', ' ', '.']) && l.contains(" ="))
                .map(|l| l.split(" =").next().unwrap().trim().to_owned())
                .collect()
        };
        let en = keys("en");
        assert!(en.len() > 50, "the English catalogue is loaded");
        for lang in ["es", "pt", "fr"] {
            let other = keys(lang);
            let missing: Vec<_> = en.difference(&other).collect();
            let extra: Vec<_> = other.difference(&en).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{lang}: missing {missing:?}, extra {extra:?}"
            );
        }
        // Messages resolve in each language (and differ from English for a sample).
        let tr = |l| Tr::new(l, "UTC");
        assert_ne!(tr(Lang::Es).t("nav-watch"), tr(Lang::En).t("nav-watch"));
        assert_ne!(tr(Lang::Pt).t("nav-watch"), "nav-watch");
        // The census messages, in their own file, are loaded in every language too.
        for l in Lang::ALL {
            assert_ne!(tr(l).t("census-send"), "census-send", "{l:?}");
        }
        assert_eq!(tr(Lang::Es).t("nav-census"), "Censo");
        assert_eq!(tr(Lang::Fr).t("census-yes"), "Oui");
    }

    #[test]
    fn templates_use_only_known_messages() {
        let en = catalogue("en");
        let mut unknown = Vec::new();
        let dirs =
            ["console", "portal"].map(|d| format!("{}/templates/{d}", env!("CARGO_MANIFEST_DIR")));
        for entry in dirs.iter().flat_map(|d| std::fs::read_dir(d).unwrap()) {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split(".t(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                if !en.lines().any(|l| l.starts_with(&format!("{key} ="))) {
                    unknown.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(unknown.is_empty(), "unknown messages: {unknown:?}");
    }
}
