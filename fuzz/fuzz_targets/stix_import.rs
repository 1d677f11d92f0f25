//! The STIX 2.1 importer must never panic, in memory or streaming (with a small window, so
//! the window's retirement paths run too), and must only produce drafts that are valid
//! bulletins.
#![no_main]
use atalaya_core::{Timestamp, Tlp};
use atalaya_formats::exchange::ImportOptions;
use atalaya_formats::stix::import::{import, import_stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_unix_millis(1_800_000_000_000).expect("a valid instant");
    for default_tlp in [None, Some(Tlp::Green)] {
        let opts = ImportOptions {
            default_tlp,
            ..Default::default()
        };
        if let Ok(got) = import(data, &opts) {
            for b in &got.bulletins {
                b.content.validate(now).expect("an imported draft is a valid bulletin");
            }
        }
        let _ = import_stream(data, &opts, |d| {
            d.content.validate(now).expect("a streamed draft is a valid bulletin");
            Ok::<(), ()>(())
        });
    }
});
