//! The CSAF importer must never panic, whatever the bytes; the mandatory tests must not panic
//! on any JSON shape (they run after the schema, but read defensively); and whatever imports
//! must export again.
#![no_main]
use atalaya_core::{Bulletin, NodeId, Timestamp};
use atalaya_formats::csaf;
use atalaya_formats::exchange::ImportOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions {
        default_tlp: Some(atalaya_core::Tlp::Clear),
        max_bytes: 1 << 20,
    };
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = csaf::mandatory::run(&v);
    }
    if let Ok(imported) = csaf::import(data, &opts) {
        let host = NodeId::new("fuzz-node").expect("a valid node id");
        let now = Timestamp::from_unix_millis(1_800_000_000_000).expect("a valid instant");
        for draft in imported.bulletins {
            if let Ok(b) = Bulletin::new(draft, uuid::Uuid::from_u128(1), host.clone(), now) {
                let publisher = csaf::CsafPublisher {
                    name: "Fuzz".into(),
                    namespace: "https://fuzz.example".into(),
                    contact_details: None,
                    issuing_authority: None,
                };
                let _ = csaf::export(&b, &publisher);
            }
        }
    }
});
