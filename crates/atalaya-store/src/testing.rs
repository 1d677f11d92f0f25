//! The storage conformance suite: every backend must pass it unchanged (DESIGN §7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atalaya_core::{Audience, Bulletin, BulletinDraft, NodeId, Timestamp};
use uuid::Uuid;

use crate::{BulletinQuery, EscalationRecord, Ingested, NewEnvelope, ReceivedRenotify, Store};
use atalaya_core::comm_check::{AnswerFacts, CommCheck, CommCheckAnswer};

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
    accounts_sessions_and_scoped_tokens(store).await;
    comm_checks_at_both_ends(store).await;
    renotifies_and_escalation_causes(store).await;
    directory_keeps_the_newest_entry(store).await;
    census_keeps_the_newest_round_and_response(store).await;
    directory_warnings_are_sent_once(store).await;
    portal_pages_reports_and_challenges(store).await;
    stix_objects_page_in_added_order(store).await;
    imports_are_recorded_with_their_bulletin_once(store).await;
    peer_health_streaks_and_alerts(store).await;
    holdings_say_what_a_relay_can_serve(store).await;
    the_audit_tree_is_written_with_the_trail(store).await;
    audit_heads_cosignatures_and_inconsistencies(store).await;
}

/// Every batch of audit entries lands in the Merkle tree in the same transaction: the stored
/// subtrees are those of a tree built from the entries' chain hashes, so proofs for any earlier
/// size can be made from them.
async fn the_audit_tree_is_written_with_the_trail(store: &dyn Store) {
    use atalaya_core::merkle;
    let event = |i: usize| atalaya_core::audit::AuditEvent {
        at: t(i as i64),
        actor: format!("node:peer-{i}"),
        action: "deliver".into(),
        object: format!("obj-{i}"),
        decision: "deny".into(),
        reason: "not_in_audience".into(),
    };
    let mut i = 0;
    for batch in [1usize, 2, 5, 1, 13, 3] {
        let events: Vec<_> = (0..batch)
            .map(|_| {
                i += 1;
                event(i)
            })
            .collect();
        store.append_audit(&events).await.unwrap();
    }
    assert_eq!(store.audit_tree_size().await.unwrap(), 25);
    let mut reference = merkle::MemoryTree::new();
    for e in store.audit_entries(0, 100).await.unwrap() {
        reference.push(atalaya_core::audit::leaf_of(&e.hash).unwrap());
    }
    for (old, new) in [(1, 25), (7, 25), (16, 17), (3, 9), (25, 25)] {
        let wanted = merkle::consistency_subtrees(old, new).unwrap();
        let got = store.audit_subtrees(&wanted).await.unwrap();
        let proof = merkle::consistency_proof(old, new, &mut |s| got.get(&s).copied()).unwrap();
        assert_eq!(
            proof,
            reference.consistency_proof(old, new).unwrap(),
            "{old} -> {new}"
        );
    }
    let peaks = merkle::peaks(25);
    let got = store.audit_subtrees(&peaks).await.unwrap();
    let hashes: Vec<_> = peaks.iter().map(|p| got[p]).collect();
    assert_eq!(
        merkle::root_from_peaks(&hashes),
        reference.root(25).unwrap()
    );
    assert!(
        store
            .audit_subtrees(&[merkle::Subtree {
                level: 0,
                index: 25
            }])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn audit_heads_cosignatures_and_inconsistencies(store: &dyn Store) {
    let head = |size: u64| crate::AuditHeadRecord {
        node: n("cl-csirt"),
        size,
        root: format!("{size:064x}"),
        time: t(size as i64),
        raw: format!("{{\"size\":{size}}}"),
        received: t(0),
        cosignature: None,
    };
    assert_eq!(store.latest_audit_head(&n("cl-csirt")).await.unwrap(), None);
    for size in [3, 9, 5] {
        store.save_audit_head(&head(size)).await.unwrap();
    }
    // Held already: the first one stays.
    let mut again = head(9);
    again.root = "ff".repeat(32);
    store.save_audit_head(&again).await.unwrap();
    assert_eq!(
        store.latest_audit_head(&n("cl-csirt")).await.unwrap(),
        Some(head(9))
    );
    let sizes: Vec<u64> = store
        .audit_heads(&n("cl-csirt"), 10)
        .await
        .unwrap()
        .iter()
        .map(|h| h.size)
        .collect();
    assert_eq!(sizes, [9, 5, 3]);
    assert!(
        store
            .save_cosignature(9, "r", &n("mx-csirt"), "{}", t(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_cosignature(9, "r", &n("mx-csirt"), "{}", t(2))
            .await
            .unwrap()
    );
    assert_eq!(store.cosignatures(9).await.unwrap().len(), 1);
    assert!(store.cosignatures(8).await.unwrap().is_empty());
    let r = crate::InconsistencyRecord {
        envelope: Uuid::from_u128(77),
        node: n("cl-csirt"),
        reporter: n("mx-csirt"),
        code: "audit_fork".into(),
        detail: "two roots".into(),
        held_size: 9,
        at: t(5),
    };
    assert!(
        !store
            .inconsistency_reported(&r.node, &r.reporter, 9)
            .await
            .unwrap()
    );
    assert!(store.save_inconsistency(&r).await.unwrap());
    assert!(!store.save_inconsistency(&r).await.unwrap());
    assert!(
        store
            .inconsistency_reported(&r.node, &r.reporter, 9)
            .await
            .unwrap()
    );
    assert!(
        !store
            .inconsistency_reported(&r.node, &r.reporter, 5)
            .await
            .unwrap()
    );
    assert_eq!(store.inconsistencies(10).await.unwrap(), vec![r]);
}

/// The import record: written with the bulletin it produced, in one transaction; a claim that
/// saw a state that has changed since stores nothing; the newest version of a key is held.
async fn imports_are_recorded_with_their_bulletin_once(store: &dyn Store) {
    use crate::ImportClaim;
    let key = "https://csirt.example TEST-2026-0001".to_owned();
    let claim = |version: &str, seen: Option<&str>| ImportClaim {
        format: "csaf".into(),
        part: 0,
        objects: vec![(key.clone(), version.to_owned())],
        seen: vec![(key.clone(), seen.map(str::to_owned))],
    };
    assert!(
        store
            .held_imports("csaf", std::slice::from_ref(&key))
            .await
            .unwrap()
            .is_empty()
    );
    let peer = [n("mx-csirt")];
    let first = sample_envelope("cl-csirt", 9_001, t(1));
    let cursor = store
        .publish_imported(&first, &peer, t(1), &claim("1", None))
        .await
        .unwrap();
    assert!(cursor.is_some());
    let held = store
        .held_imports("csaf", std::slice::from_ref(&key))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].version.as_str(), held[0].part, held[0].bulletin),
        ("1", 0, first.id)
    );
    assert!(
        store
            .held_imports("misp", std::slice::from_ref(&key))
            .await
            .unwrap()
            .is_empty(),
        "keys are per format"
    );

    // A second import that decided on the same empty state lost the race: nothing stored.
    let head = store.log_head().await.unwrap();
    let twin = sample_envelope("cl-csirt", 9_002, t(2));
    assert_eq!(
        store
            .publish_imported(&twin, &peer, t(2), &claim("1", None))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.log_head().await.unwrap(), head, "nothing appended");
    assert!(!store.has_envelope(twin.id).await.unwrap());
    assert!(
        store
            .pending(&peer[0], 100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.id != twin.id)
    );

    // A newer version, decided on version 1, is recorded; the newest version is what is held.
    let second = sample_envelope("cl-csirt", 9_003, t(3));
    assert!(
        store
            .publish_imported(&second, &peer, t(3), &claim("2", Some("1")))
            .await
            .unwrap()
            .is_some()
    );
    let held = store
        .held_imports("csaf", std::slice::from_ref(&key))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].version.as_str(), held[0].bulletin),
        ("2", second.id)
    );
}

async fn portal_pages_reports_and_challenges(store: &dyn Store) {
    use crate::{IncidentReportRow, PortalPageRow};
    let page = PortalPageRow {
        slug: "staying-safe-online".into(),
        lang: "es".into(),
        title: "Seguridad en línea".into(),
        body: "# Hola".into(),
        updated: t(10),
        updated_by: "atalaya".into(),
    };
    assert!(store.seed_portal_page(&page).await.unwrap());
    let edited = PortalPageRow {
        body: "# Editada".into(),
        updated: t(20),
        updated_by: "ana".into(),
        ..page.clone()
    };
    store.save_portal_page(&edited).await.unwrap();
    assert!(
        !store.seed_portal_page(&page).await.unwrap(),
        "seeding never overwrites an edited page"
    );
    let held = store
        .portal_page("staying-safe-online", "es")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held, edited);
    assert!(
        store
            .portal_page("staying-safe-online", "fr")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.portal_pages().await.unwrap(), vec![edited]);

    let report = |id: u128, at: i64| IncidentReportRow {
        id: Uuid::from_u128(id),
        reference: format!("IR-CL-{id:010X}"),
        country: "CL".into(),
        via: n("mx-csirt"),
        received: t(at),
        body: "{}".into(),
    };
    assert!(store.save_incident_report(&report(1, 5)).await.unwrap());
    assert!(
        !store.save_incident_report(&report(1, 5)).await.unwrap(),
        "once"
    );
    assert!(store.save_incident_report(&report(2, 9)).await.unwrap());
    let all = store.incident_reports(10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, Uuid::from_u128(2), "newest first");
    assert_eq!(
        store.incident_report(Uuid::from_u128(1)).await.unwrap(),
        Some(report(1, 5))
    );
    assert_eq!(store.incident_reports(1).await.unwrap().len(), 1);

    assert!(store.claim_challenge("n1", t(100), t(0)).await.unwrap());
    assert!(
        !store.claim_challenge("n1", t(100), t(50)).await.unwrap(),
        "used once"
    );
    // Once expired it is forgotten (the web edge refuses expired challenges before this).
    assert!(store.claim_challenge("n1", t(300), t(200)).await.unwrap());
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
        .add_api_token(&token("tok1", None), "hash1")
        .await
        .unwrap();
    assert_eq!(
        store
            .api_token_by_hash("hash1", t(0))
            .await
            .unwrap()
            .unwrap()
            .name,
        "ops"
    );
    assert!(
        store
            .api_token_by_hash("hash2", t(0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.revoke_api_token("tok1", t(1)).await.unwrap());
    assert!(
        store
            .api_token_by_hash("hash1", t(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.revoke_api_token("tok1", t(2)).await.unwrap());

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

fn token(id: &str, user: Option<&str>) -> crate::ApiToken {
    crate::ApiToken {
        id: id.into(),
        name: "ops".into(),
        user_id: user.map(Into::into),
        scopes: "*".into(),
        created: t(0),
        expires: None,
        last_used: None,
        revoked: None,
    }
}

fn account(id: &str, username: &str) -> crate::UserRecord {
    crate::UserRecord {
        id: id.into(),
        username: username.into(),
        display_name: "Ana Pérez".into(),
        role: "duty_officer".into(),
        password_hash: "$argon2id$stub".into(),
        totp_secret: None,
        totp_last_step: None,
        language: None,
        timezone: "America/Santiago".into(),
        mfa_exempt: false,
        created: t(0),
        disabled: None,
    }
}

async fn accounts_sessions_and_scoped_tokens(store: &dyn Store) {
    // Accounts: usernames are unique; updates keep identity.
    let mut ana = account("u1", "ana");
    assert!(store.add_user(&ana).await.unwrap());
    assert!(
        !store.add_user(&account("u2", "ana")).await.unwrap(),
        "usernames are unique"
    );
    store.add_user(&account("u3", "beto")).await.unwrap();
    assert_eq!(store.user_by_name("ana").await.unwrap().unwrap(), ana);
    assert_eq!(store.user_by_id("u1").await.unwrap().unwrap(), ana);
    assert!(store.user_by_name("nobody").await.unwrap().is_none());
    ana.role = "admin".into();
    ana.totp_secret = Some("JBSWY3DPEHPK3PXP".into());
    ana.language = Some("es".into());
    store.update_user(&ana).await.unwrap();
    assert_eq!(store.user_by_id("u1").await.unwrap().unwrap(), ana);
    let names: Vec<_> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["ana", "beto"]);

    // TOTP steps only move forward: a code is used once.
    assert!(store.advance_totp_step("u1", 100).await.unwrap());
    assert!(!store.advance_totp_step("u1", 100).await.unwrap());
    assert!(!store.advance_totp_step("u1", 99).await.unwrap());
    assert!(store.advance_totp_step("u1", 101).await.unwrap());

    // Recovery codes are single-use and replaced as a set.
    store
        .set_recovery_codes("u1", &["h1".into(), "h2".into()])
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("u1").await.unwrap(), 2);
    assert!(store.use_recovery_code("u1", "h1", t(5)).await.unwrap());
    assert!(!store.use_recovery_code("u1", "h1", t(6)).await.unwrap());
    assert!(!store.use_recovery_code("u3", "h2", t(6)).await.unwrap());
    assert_eq!(store.recovery_codes_left("u1").await.unwrap(), 1);
    store
        .set_recovery_codes("u1", &["h3".into()])
        .await
        .unwrap();
    assert!(!store.use_recovery_code("u1", "h2", t(7)).await.unwrap());
    assert_eq!(store.recovery_codes_left("u1").await.unwrap(), 1);

    // Sessions.
    let s = crate::SessionRecord {
        id_hash: "sh1".into(),
        user_id: "u1".into(),
        csrf: "c1".into(),
        mfa_done: false,
        address: "127.0.0.1".into(),
        created: t(0),
        last_seen: t(0),
        expires: t(86_400_000),
    };
    store.add_session(&s).await.unwrap();
    store
        .add_session(&crate::SessionRecord {
            id_hash: "sh2".into(),
            ..s.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.session("sh1").await.unwrap().unwrap(), s);
    store.update_session("sh1", t(10), true).await.unwrap();
    let s1 = store.session("sh1").await.unwrap().unwrap();
    assert!(s1.mfa_done);
    assert_eq!(s1.last_seen, t(10));
    store.delete_session("sh1").await.unwrap();
    assert!(store.session("sh1").await.unwrap().is_none());
    assert_eq!(store.delete_user_sessions("u1").await.unwrap(), 1);
    assert!(store.session("sh2").await.unwrap().is_none());

    // Scoped tokens of a person, with an expiry.
    let mut tok = token("tok2", Some("u1"));
    tok.scopes = "bulletins:read".into();
    tok.expires = Some(t(1000));
    store.add_api_token(&tok, "hash-u1").await.unwrap();
    store
        .add_api_token(&token("tok3", Some("u3")), "hash-u3")
        .await
        .unwrap();
    let got = store.api_token_by_hash("hash-u1", t(999)).await.unwrap();
    assert_eq!(
        got.as_ref().map(|t| t.scopes.as_str()),
        Some("bulletins:read")
    );
    assert!(
        store
            .api_token_by_hash("hash-u1", t(1000))
            .await
            .unwrap()
            .is_none(),
        "expired tokens stop working"
    );
    let mine: Vec<_> = store
        .api_tokens(Some("u1"))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(mine, ["tok2"]);
    assert!(store.api_tokens(None).await.unwrap().len() >= 3);
    store.touch_api_token("tok2", t(500)).await.unwrap();
    let touched = store.api_tokens(Some("u1")).await.unwrap();
    assert_eq!(touched[0].last_used, Some(t(500)));
}

fn check_envelope(id: Uuid, origin: &str, at: Timestamp) -> NewEnvelope {
    NewEnvelope {
        id,
        kind: "comm-check".into(),
        origin: n(origin),
        created: at,
        tlp: "CLEAR".into(),
        audience: "{\"scope\":\"nodes\",\"nodes\":[]}".into(),
        raw: format!("{{\"id\":\"{id}\"}}"),
        bulletin: None,
    }
}

async fn comm_checks_at_both_ends(store: &dyn Store) {
    let (cl, mx, ar, br) = (n("cl-csirt"), n("mx-csirt"), n("ar-csirt"), n("br-cert"));
    let check = |seq: u128, start: i64| CommCheck {
        id: Uuid::from_u128((3u128 << 76) | seq),
        started_at: t(start),
        answer_by: t(start + 3_600_000),
        message: Some(format!("check {seq}")),
    };
    // At the initiator: the check and its targets, stored before the envelope goes out.
    let first = check(1, 1000);
    let targets = [cl.clone(), mx.clone(), ar.clone(), br.clone()];
    store
        .save_comm_check(&first, "coordinator", &targets)
        .await
        .unwrap();
    let before = store.comm_check(first.id).await.unwrap().unwrap();
    assert_eq!(before.check, first);
    assert_eq!(before.started_by, "coordinator");
    assert!(
        before.targets.iter().all(|t| !t.sent && t.answer.is_none()),
        "no outbox row yet: not sent"
    );
    // Its envelope is queued for three of them (the policy refused br-cert).
    let cursor = store
        .publish(
            &check_envelope(first.id, "coordinator", t(1000)),
            &targets[..3],
            t(1000),
        )
        .await
        .unwrap();
    store.mark_delivered(&cl, &[cursor], t(1200)).await.unwrap();
    assert_eq!(store.mark_pulled(&mx, cursor, t(1300)).await.unwrap(), 1);
    store
        .record_failure(&ar, &[cursor], "connection refused", t(1400))
        .await
        .unwrap();
    let answer = |c: &CommCheck, by: &str, at: i64| CommCheckAnswer {
        check: c.id,
        answered_by: by.into(),
        answered_at: t(at),
        note: Some("all good".into()),
    };
    assert!(
        store
            .save_check_answer(&answer(&first, "ana", 5000), &cl, Uuid::from_u128(11))
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_check_answer(&answer(&first, "beto", 6000), &cl, Uuid::from_u128(12))
            .await
            .unwrap(),
        "a second answer changes nothing"
    );
    assert!(
        !store
            .save_check_answer(
                &answer(&first, "mallory", 6000),
                &n("us-cert"),
                Uuid::from_u128(13)
            )
            .await
            .unwrap(),
        "not a target"
    );
    let facts = store.comm_check(first.id).await.unwrap().unwrap();
    let target = |node: &NodeId| facts.targets.iter().find(|t| &t.node == node).unwrap();
    assert_eq!(
        facts
            .targets
            .iter()
            .map(|t| t.node.as_str())
            .collect::<Vec<_>>(),
        ["ar-csirt", "br-cert", "cl-csirt", "mx-csirt"]
    );
    assert_eq!(target(&cl).delivered_at, Some(t(1200)), "pushed");
    assert_eq!(target(&mx).delivered_at, Some(t(1300)), "pulled");
    assert_eq!(
        target(&cl).answer,
        Some(AnswerFacts {
            by: "ana".into(),
            at: t(5000),
            note: Some("all good".into())
        })
    );
    assert!(target(&mx).answer.is_none());
    let a = target(&ar);
    assert!(a.sent && a.delivered_at.is_none());
    assert_eq!(
        (a.attempts, a.last_error.as_deref()),
        (1, Some("connection refused"))
    );
    assert!(!target(&br).sent);
    assert!(store.comm_check(Uuid::nil()).await.unwrap().is_none());

    let second = check(2, 9000);
    store
        .save_comm_check(&second, "coordinator", std::slice::from_ref(&mx))
        .await
        .unwrap();
    let history = store.comm_checks(10).await.unwrap();
    assert_eq!(
        history.iter().map(|c| c.check.id).collect::<Vec<_>>(),
        [second.id, first.id],
        "newest first"
    );
    assert_eq!(store.comm_checks(1).await.unwrap().len(), 1);

    // At a target: pending until answered, answered once.
    let got = check(3, 20_000);
    store
        .save_received_check(&got, &cl, t(20_100))
        .await
        .unwrap();
    store
        .save_received_check(&got, &cl, t(20_200))
        .await
        .unwrap();
    let other = check(4, 21_000);
    store
        .save_received_check(&other, &mx, t(21_100))
        .await
        .unwrap();
    let pending = store.pending_checks().await.unwrap();
    assert_eq!(
        pending.iter().map(|c| c.check.id).collect::<Vec<_>>(),
        [got.id, other.id]
    );
    assert_eq!(
        pending[0].received_at,
        t(20_100),
        "a repeat changes nothing"
    );
    assert_eq!(pending[0].from, cl);
    assert_eq!(pending[0].check, got);
    assert!(
        store
            .answer_received_check(&answer(&got, "ana", 20_500), Uuid::from_u128(21))
            .await
            .unwrap()
    );
    assert!(
        !store
            .answer_received_check(&answer(&got, "beto", 20_600), Uuid::from_u128(22))
            .await
            .unwrap(),
        "answered once"
    );
    assert!(
        !store
            .answer_received_check(&answer(&first, "ana", 20_600), Uuid::from_u128(23))
            .await
            .unwrap(),
        "never received"
    );
    let answered = store.received_check(got.id).await.unwrap().unwrap();
    assert_eq!(answered.answer.unwrap().by, "ana");
    assert_eq!(
        store
            .pending_checks()
            .await
            .unwrap()
            .iter()
            .map(|c| c.check.id)
            .collect::<Vec<_>>(),
        [other.id]
    );
    assert!(store.received_check(first.id).await.unwrap().is_none());
}

async fn renotifies_and_escalation_causes(store: &dyn Store) {
    let (mx, ar) = (n("mx-csirt"), n("ar-csirt"));
    let bulletin = Uuid::from_u128((4u128 << 76) | 1);
    let (first, second) = (Uuid::from_u128(101), Uuid::from_u128(102));
    store
        .save_renotify_sent(bulletin, &[mx.clone(), ar.clone()], "ana", t(10), first)
        .await
        .unwrap();
    store
        .save_renotify_sent(bulletin, std::slice::from_ref(&mx), "beto", t(20), second)
        .await
        .unwrap();
    let sent = store.renotifies_sent(bulletin).await.unwrap();
    assert_eq!(
        sent.iter()
            .map(|r| (r.node.as_str(), r.by.as_str(), r.at, r.envelope))
            .collect::<Vec<_>>(),
        [
            ("ar-csirt", "ana", t(10), first),
            ("mx-csirt", "ana", t(10), first),
            ("mx-csirt", "beto", t(20), second)
        ]
    );
    assert!(store.renotifies_sent(Uuid::nil()).await.unwrap().is_empty());

    let received = ReceivedRenotify {
        envelope: first,
        bulletin,
        origin: n("cl-csirt"),
        by: "ana".into(),
        at: t(10),
        received: t(11),
    };
    store.save_renotify_received(&received).await.unwrap();
    store.save_renotify_received(&received).await.unwrap();
    assert_eq!(
        store.pending_renotifies().await.unwrap(),
        vec![received.clone()]
    );
    store.mark_renotify_handled(first, t(12)).await.unwrap();
    assert!(store.pending_renotifies().await.unwrap().is_empty());
    store.save_renotify_received(&received).await.unwrap();
    assert!(
        store.pending_renotifies().await.unwrap().is_empty(),
        "a repeat of a handled renotify is not acted on again"
    );

    // Calls of the deadline schedule and of a renotify are kept apart, each once.
    let call = |level: i64, renotify: Option<Uuid>, outcome: &str| EscalationRecord {
        bulletin,
        level,
        target: "Ana <ana@csirt.example>".into(),
        channel: "email".into(),
        outcome: outcome.into(),
        at: t(30),
        renotify,
    };
    store
        .record_escalation(&call(0, None, "sent"))
        .await
        .unwrap();
    store
        .record_escalation(&call(0, Some(first), "sent"))
        .await
        .unwrap();
    store
        .record_escalation(&call(0, Some(first), "smtp: refused"))
        .await
        .unwrap();
    let calls = store.escalations(bulletin).await.unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.contains(&call(0, None, "sent")));
    assert!(calls.contains(&call(0, Some(first), "smtp: refused")));
}

async fn directory_keeps_the_newest_entry(store: &dyn Store) {
    use crate::DirectoryRow;
    let row = |created: i64, id: u128, body: &str| DirectoryRow {
        record: "team".into(),
        key: "cl-csirt".into(),
        authority: NodeId::new("cl-csirt").unwrap(),
        created: t(created),
        envelope: Uuid::from_u128(id),
        body: body.into(),
    };
    assert!(
        store
            .save_directory_entry(&row(100, 1, "v1"))
            .await
            .unwrap()
    );
    assert!(
        store
            .save_directory_entry(&row(200, 2, "v2"))
            .await
            .unwrap()
    );
    // An older version arriving late does not replace the newer one.
    assert!(
        !store
            .save_directory_entry(&row(150, 3, "old"))
            .await
            .unwrap()
    );
    // Nor does a repeat.
    assert!(
        !store
            .save_directory_entry(&row(200, 2, "v2"))
            .await
            .unwrap()
    );
    let held = store
        .directory_entry("team", "cl-csirt")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.body, "v2");
    assert_eq!(store.directory_entries("team").await.unwrap().len(), 1);
    assert!(
        store
            .directory_entries("cybercrime")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .directory_entry("team", "pe-csirt")
            .await
            .unwrap()
            .is_none()
    );
}

async fn census_keeps_the_newest_round_and_response(store: &dyn Store) {
    use crate::{CensusResponseRow, CensusRoundRow};
    let round = Uuid::from_u128(77);
    let open = CensusRoundRow {
        id: round,
        opened: t(10),
        closed: None,
        version: t(10),
        body: "open".into(),
    };
    assert!(store.save_census_round(&open).await.unwrap());
    let closed = CensusRoundRow {
        closed: Some(t(50)),
        version: t(50),
        body: "closed".into(),
        ..open.clone()
    };
    assert!(store.save_census_round(&closed).await.unwrap());
    assert!(
        !store.save_census_round(&open).await.unwrap(),
        "an older version is ignored"
    );
    let held = store.census_round(round).await.unwrap().unwrap();
    assert_eq!((held.closed, held.body.as_str()), (Some(t(50)), "closed"));
    // Closing in the same millisecond as opening still closes it.
    let other = Uuid::from_u128(78);
    let same_ms = CensusRoundRow {
        id: other,
        ..open.clone()
    };
    assert!(store.save_census_round(&same_ms).await.unwrap());
    let closed_same_ms = CensusRoundRow {
        closed: Some(t(10)),
        ..same_ms.clone()
    };
    assert!(store.save_census_round(&closed_same_ms).await.unwrap());
    assert!(
        !store.save_census_round(&same_ms).await.unwrap(),
        "closing is final"
    );
    assert_eq!(store.census_rounds().await.unwrap().len(), 2);
    let response = |at: i64, id: u128, body: &str| CensusResponseRow {
        round,
        team: "cl-csirt".into(),
        origin: NodeId::new("cl-csirt").unwrap(),
        submitted: t(at),
        envelope: Uuid::from_u128(id),
        body: body.into(),
    };
    assert!(
        store
            .save_census_response(&response(20, 5, "first"))
            .await
            .unwrap()
    );
    assert!(
        store
            .save_census_response(&response(30, 6, "second"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_census_response(&response(25, 7, "late"))
            .await
            .unwrap()
    );
    let rows = store.census_responses(round).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].body, "second");
}

async fn directory_warnings_are_sent_once(store: &dyn Store) {
    use crate::DirectoryWarningRow;
    let w = DirectoryWarningRow {
        team: "cl-csirt".into(),
        subject: "AABB".into(),
        stage: "expiring".into(),
        text: "expires soon".into(),
        sent: t(100),
        recipients: String::new(),
    };
    assert!(store.claim_directory_warning(&w).await.unwrap());
    assert!(!store.claim_directory_warning(&w).await.unwrap(), "once");
    let expired = DirectoryWarningRow {
        stage: "expired".into(),
        sent: t(200),
        ..w.clone()
    };
    assert!(
        store.claim_directory_warning(&expired).await.unwrap(),
        "a new stage warns again"
    );
    store
        .set_directory_warning_recipients(
            "cl-csirt",
            "AABB",
            "expiring",
            "duty <d@example.org>: sent",
        )
        .await
        .unwrap();
    let held = store.directory_warnings(10).await.unwrap();
    assert_eq!(held.len(), 2);
    assert_eq!(held[0].stage, "expired", "newest first");
    assert_eq!(held[1].recipients, "duty <d@example.org>: sent");
}

fn stix_object(
    id: String,
    version_us: i64,
    labels: Option<crate::StixLabels>,
) -> crate::NewStixObject {
    crate::NewStixObject {
        json: format!("{{\"id\":\"{id}\",\"v\":{version_us}}}"),
        kind: id.split("--").next().unwrap().to_owned(),
        object_id: id,
        version: format!("v{version_us}"),
        version_us,
        spec_version: "2.1".into(),
        tlp: labels
            .as_ref()
            .map_or_else(|| "CLEAR".to_owned(), |l| l.tlp.clone()),
        labels,
    }
}

async fn stix_objects_page_in_added_order(store: &dyn Store) {
    use crate::{StixLabels, StixQuery};
    // Everything stored so far is backlog, in the order it was stored; then a CLEAR one.
    let mut env = sample_envelope("cl-csirt", 900, t(900));
    if let Some(b) = env.bulletin.as_mut() {
        b.tlp = atalaya_core::Tlp::Clear;
    }
    env.tlp = "CLEAR".into();
    store.ingest(&[env.clone()], t(901)).await.unwrap();
    let mut backlog = Vec::new();
    loop {
        let page = store.stix_backlog(3).await.unwrap();
        let Some((last, _)) = page.last().cloned() else {
            break;
        };
        let mut objects = Vec::new();
        for (_, r) in &page {
            let b = &r.bulletin;
            let labels = StixLabels {
                bulletin: b.id,
                origin: b.origin.clone(),
                tlp: b.tlp.label().trim_start_matches("TLP:").to_owned(),
                audience: serde_json::to_string(&b.audience).unwrap(),
                embargo_until: b.embargo_until,
                people: "[]".into(),
                retracted: false,
            };
            for k in 0..2u128 {
                objects.push(stix_object(
                    format!("indicator--{}", Uuid::from_u128(b.id.as_u128() + (k << 40))),
                    1,
                    Some(labels.clone()),
                ));
            }
            backlog.push(b.id);
        }
        // A shared object, the same version every time: kept once.
        objects.push(stix_object(
            "identity--00000000-0000-4000-8000-000000000001".into(),
            5,
            None,
        ));
        store
            .save_stix_objects(last, &objects, t(1000))
            .await
            .unwrap();
    }
    assert!(backlog.len() >= 2, "{backlog:?}");
    assert_eq!(backlog.last(), Some(&env.id), "bulletins in stored order");
    assert!(store.stix_backlog(10).await.unwrap().is_empty());
    // A newer version of the shared object.
    store
        .save_stix_objects(
            0,
            &[stix_object(
                "identity--00000000-0000-4000-8000-000000000001".into(),
                9,
                None,
            )],
            t(0),
        )
        .await
        .unwrap();

    let all = |q: StixQuery| async move { store.stix_objects(&q).await.unwrap() };
    let every = all(StixQuery {
        all_versions: true,
        limit: 10_000,
        ..Default::default()
    })
    .await;
    assert_eq!(every.len(), backlog.len() * 2 + 2);
    assert!(
        every
            .windows(2)
            .all(|w| w[0].added < w[1].added && w[0].seq < w[1].seq)
    );
    assert!(every[0].added >= t(1000).unix_millis() * 1000);
    // Paging by cursor visits each object once.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = all(StixQuery {
            after,
            all_versions: true,
            limit: 3,
            ..Default::default()
        })
        .await;
        let Some(l) = page.last() else { break };
        after = Some((l.added, l.seq));
        seen.extend(page.into_iter().map(|r| r.seq));
    }
    assert_eq!(seen, every.iter().map(|r| r.seq).collect::<Vec<_>>());
    // added_after, type and id filters; versions.
    let late = all(StixQuery {
        added_after: Some(every[1].added),
        all_versions: true,
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(late.len(), every.len() - 2);
    let ids = vec!["identity--00000000-0000-4000-8000-000000000001".to_owned()];
    let last = all(StixQuery {
        ids: ids.clone(),
        last: true,
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(
        last.iter().map(|r| r.version.as_str()).collect::<Vec<_>>(),
        ["v9"]
    );
    let first = all(StixQuery {
        ids: ids.clone(),
        first: true,
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(
        first.iter().map(|r| r.version.as_str()).collect::<Vec<_>>(),
        ["v5"]
    );
    let at = all(StixQuery {
        ids: ids.clone(),
        at: vec![5, 9],
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(at.len(), 2);
    assert!(first[0].labels.is_none());
    let types = all(StixQuery {
        types: vec!["identity".into()],
        all_versions: true,
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(types.len(), 2);
    // The public collection's prefilter: CLEAR bulletins and shared objects only.
    let clear = all(StixQuery {
        clear_only: true,
        all_versions: true,
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(clear.len(), 4);
    let labelled: Vec<_> = clear.iter().filter_map(|r| r.labels.as_ref()).collect();
    assert!(
        labelled
            .iter()
            .all(|l| l.bulletin == env.id && l.tlp == "CLEAR" && !l.retracted)
    );
}

async fn peer_health_streaks_and_alerts(store: &dyn Store) {
    use atalaya_core::peer_health::PeerAlertKind;
    let p = n("uy-csirt");
    let state = |states: Vec<crate::PeerState>| states.into_iter().find(|s| s.peer == p).unwrap();
    store
        .record_peer_failure(&p, "timed out", t(100))
        .await
        .unwrap();
    store
        .record_peer_failure(&p, "refused", t(105))
        .await
        .unwrap();
    let s = state(store.peer_states().await.unwrap());
    assert_eq!(s.consecutive_failures, 2);
    assert_eq!(
        s.failing_since,
        Some(t(100)),
        "the streak began at its first failure"
    );
    assert_eq!(s.last_error.as_deref(), Some("refused"));
    assert_eq!(s.down_alerted, None);
    let alert = crate::PeerAlert {
        peer: p.clone(),
        event: PeerAlertKind::Down,
        target: "Duty <duty@example.org>".into(),
        channel: "email".into(),
        outcome: "sent".into(),
        at: t(110),
    };
    store
        .record_peer_alerts(&p, std::slice::from_ref(&alert), Some(t(110)))
        .await
        .unwrap();
    assert_eq!(
        state(store.peer_states().await.unwrap()).down_alerted,
        Some(t(110))
    );
    store.record_peer_success(&p, t(120)).await.unwrap();
    let s = state(store.peer_states().await.unwrap());
    assert_eq!((s.consecutive_failures, s.failing_since), (0, None));
    assert_eq!(s.last_success, Some(t(120)));
    assert_eq!(
        s.down_alerted,
        Some(t(110)),
        "kept until the back page is sent"
    );
    let back = crate::PeerAlert {
        event: PeerAlertKind::Back,
        at: t(121),
        ..alert.clone()
    };
    store
        .record_peer_alerts(&p, std::slice::from_ref(&back), None)
        .await
        .unwrap();
    assert_eq!(state(store.peer_states().await.unwrap()).down_alerted, None);
    let alerts = store.peer_alerts(10).await.unwrap();
    assert_eq!(alerts, vec![back, alert], "newest first");
    // A new streak starts at its own first failure.
    store
        .record_peer_failure(&p, "reset", t(130))
        .await
        .unwrap();
    assert_eq!(
        state(store.peer_states().await.unwrap()).failing_since,
        Some(t(130))
    );
}

async fn holdings_say_what_a_relay_can_serve(store: &dyn Store) {
    let (cl, py) = (n("cl-csirt"), n("py-csirt"));
    let before = store.log_head().await.unwrap();
    let a = sample_envelope("py-csirt", 501, t(1000));
    let b = sample_envelope("py-csirt", 502, t(2000));
    let c = sample_envelope("py-csirt", 503, t(1500));
    let out = store.ingest(&[a, b, c], t(2100)).await.unwrap();
    let cursors: Vec<i64> = out
        .iter()
        .map(|o| match o {
            Ingested::Stored(c) => *c,
            Ingested::Duplicate => panic!("new envelopes"),
        })
        .collect();
    let held = store.holdings(&[py.clone(), n("zz-nobody")]).await.unwrap();
    assert_eq!(
        held,
        vec![(py.clone(), cursors[2])],
        "only origins held are listed"
    );
    assert!(
        store
            .holdings(std::slice::from_ref(&cl))
            .await
            .unwrap()
            .iter()
            .all(|(o, c)| *o == cl && *c <= before)
    );
    assert_eq!(
        store.newest_from(&py).await.unwrap(),
        Some(t(1500)),
        "by log position"
    );
    assert_eq!(store.newest_from(&n("zz-nobody")).await.unwrap(), None);
    // From 1400 on: b (2000) and c (1500), the first of them in log order is b.
    assert_eq!(
        store.position_before(&py, t(1400)).await.unwrap(),
        cursors[1] - 1
    );
    assert_eq!(
        store.position_before(&py, t(0)).await.unwrap(),
        cursors[0] - 1
    );
    assert_eq!(
        store.position_before(&py, t(9999)).await.unwrap(),
        store.log_head().await.unwrap(),
        "nothing that recent: start at the head"
    );
}
