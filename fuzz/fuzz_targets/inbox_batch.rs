//! The inbox batch reader: the bytes of a pushed batch become a `Batch`, and each envelope its
//! verdict against a fixed roster and clock, without I/O. Must never panic or loop; nothing
//! the fuzzer forges may pass as authentic (it holds no member's key).
#![no_main]
use std::sync::LazyLock;

use atalaya_core::{Member, Role, Roster};
use atalaya_core::{CountryCode, EntropyRng, NodeId, SeededEntropy, Timestamp, ids};
use atalaya_crypto::NodeKeys;
use atalaya_federation::inbox::{authentic, read_batch};
use atalaya_federation::{RosterView, sign_roster};
use libfuzzer_sys::fuzz_target;

struct Fixed {
    view: RosterView,
    coordinator: atalaya_crypto::PublicSigningKey,
    now: Timestamp,
}

static FIXED: LazyLock<Fixed> = LazyLock::new(|| {
    let entropy = SeededEntropy::new(11);
    let mut rng = EntropyRng(&entropy);
    let coord = NodeKeys::generate(&mut rng);
    let now = Timestamp::parse("2026-12-07T12:00:00Z").unwrap();
    let member = |id: &str, cc: &str, role: Role, keys: &NodeKeys| Member {
        node_id: NodeId::new(id).unwrap(),
        country: CountryCode::new(cc).unwrap(),
        team: id.into(),
        role,
        signing_key: keys.verifying_key().to_b64(),
        sealing_key: keys.sealing_public().to_b64(),
        endpoint: format!("https://{id}.example"),
    };
    let mut roster = Roster::new(
        "fuzz",
        member("coordinator", "US", Role::Coordinator, &coord),
        now,
    );
    for (id, cc) in [("cl-csirt", "CL"), ("mx-csirt", "MX")] {
        let keys = NodeKeys::generate(&mut rng);
        roster.upsert(member(id, cc, Role::Member, &keys), now);
    }
    let signed = sign_roster(&roster, &coord, ids::new_id(now, &mut rng), now).unwrap();
    Fixed {
        view: RosterView::from_signed(&signed, &coord.verifying_key()).unwrap(),
        coordinator: coord.verifying_key(),
        now,
    }
});

fuzz_target!(|data: &[u8]| {
    let fixed = &*FIXED;
    let Ok(batch) = read_batch(data) else {
        return;
    };
    for raw in &batch.envelopes {
        let verdict = authentic(raw.get(), &fixed.view, &fixed.coordinator, fixed.now, 300);
        assert!(verdict.is_err(), "a forged envelope passed: {}", raw.get());
    }
});
