//! The conformance suite on SQLite, plus SQLite-specific guarantees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use atalaya_store::{SqliteOptions, SqliteStore, Store, testing};

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.db"), &SqliteOptions::default())
        .await
        .unwrap();
    testing::conformance(&store).await;
}

#[tokio::test]
async fn the_log_survives_reopening_and_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let e = testing::sample_envelope(
        "cl-csirt",
        1,
        atalaya_core::Timestamp::from_unix_millis(0).unwrap(),
    );
    {
        let store = SqliteStore::open(&path, &SqliteOptions::default())
            .await
            .unwrap();
        store
            .ingest(std::slice::from_ref(&e), e.created)
            .await
            .unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path, &SqliteOptions::default())
        .await
        .unwrap();
    assert!(store.has_envelope(e.id).await.unwrap());
    // The database itself refuses to rewrite history.
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let err = sqlx::query("UPDATE envelopes SET raw = 'forged'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(
        sqlx::query("DELETE FROM envelopes")
            .execute(&pool)
            .await
            .is_err()
    );
    // So does the audit trail's Merkle tree.
    store
        .append_audit(&[atalaya_core::audit::AuditEvent {
            at: e.created,
            actor: "public".into(),
            action: "view".into(),
            object: "x".into(),
            decision: "deny".into(),
            reason: "not_public".into(),
        }])
        .await
        .unwrap();
    for sql in [
        "UPDATE audit_tree SET hash = zeroblob(32)",
        "DELETE FROM audit_tree",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.audit_tree_size().await.unwrap(), 1);
}

/// Pushes from several peers arrive together and are committed in groups: every envelope is
/// stored once whatever batch carried it, each caller hears about its own batch in its order,
/// and a nonce written beside them (committed without waiting for the disk) is there after a
/// reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ingests_are_committed_together_and_each_envelope_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let store = std::sync::Arc::new(
        SqliteStore::open(&path, &SqliteOptions::default())
            .await
            .unwrap(),
    );
    let at = atalaya_core::Timestamp::from_unix_millis(1_000).unwrap();
    // 8 callers × 50 envelopes; each caller's batch overlaps the next one's by half.
    let batches: Vec<Vec<_>> = (0..8u128)
        .map(|b| {
            (0..50u128)
                .map(|i| testing::sample_envelope("cl-csirt", b * 25 + i + 1, at))
                .collect()
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (b, batch) in batches.iter().cloned().enumerate() {
        let store = store.clone();
        tasks.spawn(async move { (b, store.ingest(&batch, at).await.unwrap()) });
    }
    let mut stored = std::collections::HashMap::new();
    while let Some(r) = tasks.join_next().await {
        let (b, outcome) = r.unwrap();
        assert_eq!(outcome.len(), 50);
        for (e, o) in batches[b].iter().zip(outcome) {
            if let atalaya_store::Ingested::Stored(cursor) = o {
                assert!(
                    stored.insert(e.id, cursor).is_none(),
                    "{} stored twice",
                    e.id
                );
            }
        }
    }
    let unique = 7 * 25 + 50;
    assert_eq!(stored.len(), unique, "every envelope stored exactly once");
    let log = store.log_after(0, None, 1000).await.unwrap();
    assert_eq!(log.len(), unique, "the log holds each envelope once");
    // A nonce is remembered (and a repeat refused) through the relaxed commit.
    let expires = atalaya_core::Timestamp::from_unix_millis(10_000).unwrap();
    assert!(
        store
            .remember_nonce("cl-csirt#k1", "n1", expires, at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remember_nonce("cl-csirt#k1", "n1", expires, at)
            .await
            .unwrap()
    );
    store.close().await;
    let store = SqliteStore::open(&path, &SqliteOptions::default())
        .await
        .unwrap();
    assert_eq!(store.log_after(0, None, 1000).await.unwrap().len(), unique);
    assert!(
        !store
            .remember_nonce("cl-csirt#k1", "n1", expires, at)
            .await
            .unwrap()
    );
}
