//! Every real MISP document of the shared corpus (PyMISP's test events)
//! either imports into valid bulletin drafts or is refused with a
//! code and a reason. The outcomes are committed in `tests/baselines/misp-import.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::{Timestamp, Tlp};
use atalaya_formats::exchange::{ImportOptions, Imported};
use atalaya_formats::misp::import;

fn outcome(r: &Result<Imported, atalaya_formats::exchange::ImportError>) -> String {
    let now = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
    match r {
        Ok(got) => {
            for b in &got.bulletins {
                b.content
                    .validate(now)
                    .unwrap_or_else(|e| panic!("an imported draft is not a valid bulletin: {e}"));
            }
            let indicators: usize = got
                .bulletins
                .iter()
                .map(|b| b.content.indicators.len())
                .sum();
            let labels: Vec<&str> = got.bulletins.iter().map(|b| b.tlp.label()).collect();
            format!(
                "imported {} bulletin(s) [{}], {indicators} indicator(s), {} warning(s)",
                got.bulletins.len(),
                labels.join(" "),
                got.warnings.len()
            )
        }
        Err(e) => {
            assert!(!e.reason.trim().is_empty(), "a refusal without a reason");
            format!("refused {}: {}", e.code, e.reason)
        }
    }
}

#[test]
fn corpus_misp_events_import_or_are_refused_with_a_reason() {
    let Some(dir) = common::corpus(
        "misp",
        "corpus_misp_events_import_or_are_refused_with_a_reason",
    ) else {
        return;
    };
    let mut report = String::new();
    let mut imported = 0;
    for sub in ["pymisp-tests"] {
        for f in common::files(&dir.join(sub)) {
            let bytes = std::fs::read(dir.join(sub).join(&f)).unwrap();
            let plain = import(&bytes, &ImportOptions::default());
            let line = outcome(&plain);
            imported += usize::from(plain.is_ok());
            report.push_str(&format!("{sub}/{}: {line}", f.display()));
            if plain
                .as_ref()
                .is_err_and(|e| e.code == atalaya_formats::exchange::codes::NO_LABEL)
            {
                let with = import(
                    &bytes,
                    &ImportOptions {
                        default_tlp: Some(Tlp::Green),
                        ..Default::default()
                    },
                );
                imported += usize::from(with.is_ok());
                report.push_str(&format!(" | with default TLP:GREEN: {}", outcome(&with)));
            }
            report.push('\n');
        }
    }
    assert!(imported >= 4, "too few corpus events import:\n{report}");
    common::baseline("misp-import.txt", &report);
}
