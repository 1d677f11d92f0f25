//! The directory importers (Trusted Introducer, FIRST, Atalaya JSON) must never panic.
#![no_main]
use atalaya_core::{NodeId, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let host = NodeId::new("fuzz-node").expect("a valid node id");
    let now = Timestamp::from_unix_millis(1_800_000_000_000).expect("a valid instant");
    let _ = atalaya_formats::directory::ti::import_ti(data, &host, now);
    let _ = atalaya_formats::directory::first::import_first(data, &host, now);
    let _ = atalaya_formats::directory::json::import_directory(data);
});
