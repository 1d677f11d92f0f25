//! The MISP importer must never panic and must only produce drafts that are valid bulletins.
#![no_main]
use atalaya_core::{Timestamp, Tlp};
use atalaya_formats::exchange::ImportOptions;
use atalaya_formats::misp::import;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_unix_millis(1_800_000_000_000).expect("a valid instant");
    let opts = ImportOptions {
        default_tlp: Some(Tlp::Green),
        ..Default::default()
    };
    if let Ok(got) = import(data, &opts) {
        for b in &got.bulletins {
            b.content.validate(now).expect("an imported draft is a valid bulletin");
        }
    }
});
