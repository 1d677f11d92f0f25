//! Embargoes with an injected clock: no sleeping, a real SQLite file, a real restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use atalaya_core::{
    BulletinDraft, Clock, CountryCode, EntropyRng, FixedClock, Node, NodeId, Role, Roster,
    SeededEntropy, Timestamp, ids,
};
use atalaya_crypto::NodeKeys;
use atalaya_federation::{Federation, FederationSettings, Identity, sign_roster};
use atalaya_store::{SqliteOptions, SqliteStore};

async fn start(
    dir: &Path,
    roster: &str,
    clock: Arc<FixedClock>,
) -> (Arc<Federation>, Arc<SqliteStore>) {
    let keys = NodeKeys::load_from_dir(&dir.join("keys")).unwrap();
    let coordinator_key = keys.verifying_key();
    let store = Arc::new(
        SqliteStore::open(&dir.join("node.db"), &SqliteOptions::default())
            .await
            .unwrap(),
    );
    let fed = Federation::start(
        Identity {
            node_id: NodeId::new("cl-csirt").unwrap(),
            keys,
            coordinator_key,
        },
        Some(roster),
        store.clone(),
        clock,
        Arc::new(SeededEntropy::new(2)),
        FederationSettings::default(),
        atalaya_federation::Handlers::default(),
    )
    .await
    .unwrap();
    (fed, store)
}

fn draft(tlp: &str, embargo: Option<Timestamp>) -> BulletinDraft {
    serde_json::from_value(serde_json::json!({
        "tlp": tlp, "kind": "vulnerability-advisory", "severity": "critical",
        "title": format!("{tlp} advisory"), "summary": "Coordinated disclosure.",
        "embargo_until": embargo,
    }))
    .unwrap()
}

#[tokio::test]
async fn an_embargoed_advisory_goes_public_at_its_time_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let entropy = SeededEntropy::new(1);
    let keys = NodeKeys::generate(&mut EntropyRng(&entropy));
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    keys.write_to_dir(&dir.path().join("keys")).unwrap();
    let t0 = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
    let me = Node {
        node_id: NodeId::new("cl-csirt").unwrap(),
        country: CountryCode::new("CL").unwrap(),
        team: "CSIRT Chile".into(),
        role: Role::Coordinator,
        signing_key: keys.verifying_key().to_b64(),
        sealing_key: keys.sealing_public().to_b64(),
        endpoint: "https://atalaya.example.cl".into(),
    };
    let roster = sign_roster(
        &Roster::new("t", me, t0),
        &keys,
        ids::new_id(t0, &mut EntropyRng(&entropy)),
        t0,
    )
    .unwrap();

    let clock = Arc::new(FixedClock::new(t0));
    let (fed, store) = start(dir.path(), &roster, clock.clone()).await;
    let release = t0.plus_millis(3_600_000);
    // An embargo must lie in the future.
    assert!(fed.publish(draft("CLEAR", Some(t0))).await.is_err());
    let (advisory, _) = fed.publish(draft("CLEAR", Some(release))).await.unwrap();
    fed.publish(draft("GREEN", None)).await.unwrap();
    let (withdrawn, _) = fed.publish(draft("CLEAR", None)).await.unwrap();
    fed.retract(withdrawn.id, "superseded").await.unwrap();
    // Retracted before its embargo ended: the public never saw it, and never hears of it.
    let (hushed, _) = fed.publish(draft("CLEAR", Some(release))).await.unwrap();
    fed.retract(hushed.id, "pulled before release")
        .await
        .unwrap();
    let gone: Vec<_> = fed
        .public_retractions(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.bulletin.id)
        .collect();
    assert_eq!(
        gone,
        [withdrawn.id],
        "only what was public is announced as withdrawn"
    );
    assert!(
        fed.public_bulletins(10).await.unwrap().is_empty(),
        "embargoed, GREEN and retracted are not public"
    );
    clock.advance_millis(3_599_999);
    assert!(
        fed.public_bulletins(10).await.unwrap().is_empty(),
        "one millisecond early"
    );
    drop(fed);
    store.close().await;

    // The node was down across the release time and starts after it.
    let later = Arc::new(FixedClock::new(release.plus_millis(60_000)));
    let (fed, _store) = start(dir.path(), &roster, later.clone()).await;
    let public = fed.public_bulletins(10).await.unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].bulletin.id, advisory.id);
    assert_eq!(public[0].bulletin.embargo_until, Some(release));
    let gone = fed.public_retractions(10).await.unwrap();
    assert_eq!(
        gone.len(),
        1,
        "the hushed one stays unannounced after its release time"
    );
    assert_eq!(gone[0].bulletin.id, withdrawn.id);
    assert_eq!(
        serde_json::to_value(public[0].bulletin.embargo_until).unwrap(),
        "2026-11-22T11:00:00.000Z",
        "stored and shown in UTC, with its zone"
    );
    assert_eq!(later.now(), release.plus_millis(60_000));
}
