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
}
