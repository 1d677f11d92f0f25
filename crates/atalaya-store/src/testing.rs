//! The storage conformance suite: every backend must pass it unchanged (DESIGN §7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atalaya_core::{Audience, Bulletin, BulletinDraft, NodeId, Timestamp};
use uuid::Uuid;

use crate::{BulletinQuery, Ingested, NewEnvelope, Store};

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_800_000_000_000 + ms).unwrap()
}

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// A bulletin envelope from `origin` with a deterministic id.
pub fn sample_envelope(origin: &str, seq: u128, created: Timestamp) -> NewEnvelope {
    let id = Uuid::from_u128((1u128 << 76) | seq);
    let draft: BulletinDraft = serde_json::from_value(serde_json::json!({
        "tlp": "GREEN", "kind": "attack-warning", "title": format!("Warning {seq}"),
        "summary": "Something is happening.", "severity": "high"
    }))
    .unwrap();
    let b = Bulletin::new(draft, id, n(origin), created).unwrap();
    NewEnvelope {
        id,
        kind: "bulletin".into(),
        origin: n(origin),
        created,
        tlp: "GREEN".into(),
        audience: serde_json::to_string(&Audience::Network).unwrap(),
        raw: format!("{{\"id\":\"{id}\"}}"),
        bulletin: Some(b),
    }
}

/// Run every check against a fresh, empty store.
pub async fn conformance(store: &dyn Store) {
    log_is_ordered_and_idempotent(store).await;
    outbox_keeps_rows_until_delivered(store).await;
    cursors_rosters_tokens_nonces(store).await;
}

async fn log_is_ordered_and_idempotent(store: &dyn Store) {
    assert_eq!(store.log_head().await.unwrap(), 0);
    let a = sample_envelope("cl-csirt", 1, t(0));
    let b = sample_envelope("mx-csirt", 2, t(1));
    let out = store
        .ingest(&[a.clone(), b.clone(), a.clone()], t(5))
        .await
        .unwrap();
    let (Ingested::Stored(ca), Ingested::Stored(cb)) = (out[0], out[1]) else {
        panic!("{out:?}")
    };
    assert!(ca < cb);
    assert_eq!(out[2], Ingested::Duplicate);
    assert_eq!(
        store.ingest(std::slice::from_ref(&a), t(6)).await.unwrap(),
        vec![Ingested::Duplicate]
    );
    assert!(store.has_envelope(a.id).await.unwrap());
    let all = store.log_after(0, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );
    assert_eq!(all[0].raw, a.raw);
    assert_eq!(all[0].received, t(5));
    let only_mx = store.log_after(0, Some(&n("mx-csirt")), 10).await.unwrap();
    assert_eq!(only_mx.len(), 1);
    assert_eq!(store.log_after(ca, None, 10).await.unwrap().len(), 1);
    assert_eq!(store.log_head().await.unwrap(), cb);
    let listed = store
        .bulletins(&BulletinQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].bulletin.id, b.id, "newest first");
    assert_eq!(
        store.bulletin(a.id).await.unwrap().unwrap().bulletin,
        a.bulletin.clone().unwrap()
    );
    assert!(store.bulletin(Uuid::nil()).await.unwrap().is_none());
    // Only the origin retracts; the retraction may come before or after the bulletin.
    store
        .record_retraction(a.id, &n("mx-csirt"), Uuid::nil(), "not yours", t(7))
        .await
        .unwrap();
    assert!(
        store
            .bulletin(a.id)
            .await
            .unwrap()
            .unwrap()
            .retracted
            .is_none()
    );
    store
        .record_retraction(a.id, &n("cl-csirt"), Uuid::nil(), "false positive", t(8))
        .await
        .unwrap();
    assert_eq!(
        store.bulletin(a.id).await.unwrap().unwrap().retracted,
        Some((t(8), "false positive".into()))
    );
    assert!(store.log_after(0, None, 10).await.unwrap()[0].retracted);
    assert!(!store.log_after(0, None, 10).await.unwrap()[1].retracted);
    let early = sample_envelope("ar-csirt", 3, t(2));
    store
        .record_retraction(early.id, &n("ar-csirt"), Uuid::nil(), "withdrawn", t(9))
        .await
        .unwrap();
    store
        .ingest(std::slice::from_ref(&early), t(10))
        .await
        .unwrap();
    assert!(
        store
            .bulletin(early.id)
            .await
            .unwrap()
            .unwrap()
            .retracted
            .is_some(),
        "retraction that came first applies"
    );
}

async fn outbox_keeps_rows_until_delivered(store: &dyn Store) {
    let e = sample_envelope("ar-csirt", 10, t(10));
    let peers = [n("cl-csirt"), n("mx-csirt"), n("us-cert")];
    let cursor = store.publish(&e, &peers, t(10)).await.unwrap();
    for p in &peers {
        assert_eq!(store.pending(p, 10).await.unwrap().len(), 1);
    }
    store
        .record_failure(&peers[0], &[cursor], "connection refused", t(11))
        .await
        .unwrap();
    store
        .mark_delivered(&peers[1], &[cursor], t(12))
        .await
        .unwrap();
    assert_eq!(
        store.mark_pulled(&peers[2], cursor, t(13)).await.unwrap(),
        1
    );
    assert_eq!(
        store.pending(&peers[0], 10).await.unwrap().len(),
        1,
        "failed stays queued"
    );
    assert!(store.pending(&peers[1], 10).await.unwrap().is_empty());
    assert!(store.pending(&peers[2], 10).await.unwrap().is_empty());
    let d = store.deliveries(e.id).await.unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(d[0].peer, peers[0]);
    assert_eq!(d[0].attempts, 1);
    assert_eq!(d[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(d[1].delivered, Some(t(12)));
    let states = store.peer_states().await.unwrap();
    let cl = states.iter().find(|s| s.peer == peers[0]).unwrap();
    assert_eq!((cl.pending, cl.consecutive_failures), (1, 1));
    assert_eq!(cl.oldest_pending, Some(t(10)));
    let mx = states.iter().find(|s| s.peer == peers[1]).unwrap();
    assert_eq!(
        (mx.pending, mx.delivered, mx.consecutive_failures),
        (0, 1, 0)
    );
    // A second publish of the same id is an error, not a silent duplicate.
    assert!(store.publish(&e, &peers, t(14)).await.is_err());
    assert_eq!(store.pending(&peers[1], 10).await.unwrap().len(), 0);
}

async fn cursors_rosters_tokens_nonces(store: &dyn Store) {
    let (p, o) = (n("cl-csirt"), n("mx-csirt"));
    assert_eq!(store.pull_cursor(&p, &o).await.unwrap(), 0);
    store.set_pull_cursor(&p, &o, 42, t(0)).await.unwrap();
    store.set_pull_cursor(&p, &o, 7, t(1)).await.unwrap();
    assert_eq!(
        store.pull_cursor(&p, &o).await.unwrap(),
        42,
        "cursors never go back"
    );
    assert_eq!(store.pull_cursor(&p, &p).await.unwrap(), 0);

    assert!(store.roster().await.unwrap().is_none());
    assert!(store.install_roster(2, "r2", t(0)).await.unwrap());
    assert!(!store.install_roster(2, "r2bis", t(1)).await.unwrap());
    assert!(!store.install_roster(1, "r1", t(1)).await.unwrap());
    assert_eq!(store.roster().await.unwrap(), Some((2, "r2".into())));

    store
        .add_api_token("tok1", "ops", "hash1", t(0))
        .await
        .unwrap();
    assert_eq!(
        store
            .api_token_by_hash("hash1")
            .await
            .unwrap()
            .unwrap()
            .name,
        "ops"
    );
    assert!(store.api_token_by_hash("hash2").await.unwrap().is_none());
    assert!(store.revoke_api_token("tok1", t(1)).await.unwrap());
    assert!(store.api_token_by_hash("hash1").await.unwrap().is_none());

    assert!(
        store
            .remember_nonce("cl#k", "n1", t(300_000), t(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remember_nonce("cl#k", "n1", t(300_000), t(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .remember_nonce("mx#k", "n1", t(300_000), t(1))
            .await
            .unwrap()
    );
    // After expiry the row is forgotten (the replay window has closed by then).
    assert!(
        store
            .remember_nonce("cl#k", "n1", t(700_000), t(400_000))
            .await
            .unwrap()
    );
}
