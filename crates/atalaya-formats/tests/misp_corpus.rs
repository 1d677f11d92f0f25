//! Every real MISP document of the shared corpus (PyMISP's test events)
//! either imports into valid bulletin drafts or is refused with a
//! code and a reason. The outcomes are committed in `tests/baselines/misp-import.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_formats::misp::import;

#[test]
fn corpus_misp_events_import_or_are_refused_with_a_reason() {
    let Some(dir) = common::corpus(
        "misp",
        "corpus_misp_events_import_or_are_refused_with_a_reason",
    ) else {
        return;
    };
    let (report, imported) = common::import_report(&dir, &["pymisp-tests"], import);
    assert!(imported >= 4, "too few corpus events import:\n{report}");
    common::baseline("misp-import.txt", &report);
}
