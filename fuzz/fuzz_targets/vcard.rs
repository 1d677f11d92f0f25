//! The vCard reader must never panic or loop.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = atalaya_formats::directory::vcard::parse_vcards(data);
});
