//! Every real STIX document of the shared corpus (OASIS examples, cti-documentation, the TLP
//! 2.0 extension's examples) either imports into valid bulletin drafts or is refused with a
//! code and a reason. The outcomes are committed in `tests/baselines/stix-import.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_formats::stix::import::import;

#[test]
fn corpus_stix_bundles_import_or_are_refused_with_a_reason() {
    let Some(dir) = common::corpus(
        "stix",
        "corpus_stix_bundles_import_or_are_refused_with_a_reason",
    ) else {
        return;
    };
    let (report, imported) =
        common::import_report(&dir, &["examples", "cti-documentation", "tlp2"], import);
    assert!(imported >= 5, "too few corpus bundles import:\n{report}");
    common::baseline("stix-import.txt", &report);
}
