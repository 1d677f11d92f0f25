//! The portal's report form reader must never panic, and whatever it accepts keeps to the
//! form's limits; checking the fields it read must never panic either.
#![no_main]
use atalaya_core::report::{self, limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = report::parse_form(data) {
        assert!(form.what.chars().count() <= limits::WHAT_CHARS);
        assert!(form.when.chars().count() <= limits::WHEN_CHARS);
        assert!(form.contact.chars().count() <= limits::CONTACT_CHARS);
        assert!(form.challenge.chars().count() <= limits::CHALLENGE_CHARS);
        let country = atalaya_core::CountryCode::new("CL").unwrap();
        let node = atalaya_core::NodeId::new("cl-csirt").unwrap();
        let now = atalaya_core::Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let _ = form.to_report(uuid_of(data), country, now, node);
    }
});

fn uuid_of(data: &[u8]) -> atalaya_core::report::Uuid {
    let mut b = [0u8; 16];
    for (i, x) in data.iter().take(16).enumerate() {
        b[i] = *x;
    }
    atalaya_core::report::Uuid::from_bytes(b)
}
