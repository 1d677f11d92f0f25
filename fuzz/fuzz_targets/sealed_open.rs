//! Opening a sealed body (age v1, through the `age` crate) and reading the labels inside, as a
//! node does with every sealed envelope it receives: never a panic or a loop, whatever the
//! bytes. The identity is fixture `a` of `crates/atalaya-crypto/tests/fixtures/sealed/`, so
//! the seeds sealed to it reach the payload. Since the payload is authenticated, mutations
//! rarely open; the input is also read directly as the labels inside (`SealedContent`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fn check_labels(plain: &[u8]) {
    if let Ok(content) = serde_json::from_slice::<atalaya_core::envelope::SealedContent>(plain) {
        for tlp in [atalaya_core::Tlp::Red, atalaya_core::Tlp::AmberStrict] {
            let _ = content.check(tlp);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let identity = x25519_dalek::StaticSecret::from([0x11; 32]);
    if let Ok(plain) = atalaya_crypto::open(data, &identity) {
        check_labels(&plain);
    }
    check_labels(data);
});
