//! Accounts, sessions, second factor, CSRF, rate limits, scoped tokens and the console's
//! refusals, through the node's real router over a real SQLite file, with an injected clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::access::Role;
use axum::http::{Method, StatusCode};
use common::{PASSWORD, TestNode, code_now, form};

#[tokio::test]
async fn an_admin_logs_in_enrols_totp_and_later_needs_a_code_or_a_recovery_code() {
    let node = TestNode::start().await;
    node.user("ana", Role::Admin, false).await;
    let mut b = node.browser();

    // Wrong password: a clear refusal, no session.
    let r = b.password("ana", "wrong password here").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong username or password"), "{}", r.body);
    assert!(!b.cookies.contains_key("__Host-atalaya_session"));
    // Unknown user: the same message.
    let r = b.password("nobody", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong username or password"));

    // Right password: the role requires a second factor, so enrolment comes first.
    let r = b.password("ana", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/console/enrol");
    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-atalaya_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    // The console itself stays closed until then, and so does the API.
    let r = b.get("/console").await;
    assert_eq!(r.location(), "/console/enrol");
    let r = b.get("/api/v1/bulletins").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "second_factor_required");

    let page = b.get("/console/enrol").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg"), "a QR code is shown");
    let secret = page
        .body
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let r = b.submit("/console/enrol", &[("code", "000000")]).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a wrong code is refused"
    );
    let r = b
        .submit("/console/enrol", &[("code", &code_now(&secret, &node))])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes: Vec<String> = r
        .body
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    assert_eq!(b.get("/console").await.status, StatusCode::OK);

    // Log out; the session is gone on the server too.
    let old_cookie = b.cookies.clone();
    let r = b.submit("/console/logout", &[]).await;
    assert_eq!(r.location(), "/console/login");
    let mut replay = node.browser();
    replay.cookies = old_cookie;
    assert_eq!(replay.get("/console").await.location(), "/console/login");

    // Next login asks for the code. The code just used for enrolment is refused (no replay).
    let r = b.password("ana", PASSWORD).await;
    assert_eq!(r.location(), "/console/login/totp");
    b.get("/console/login/totp").await;
    let r = b
        .submit(
            "/console/login/totp",
            &[("code", &code_now(&secret, &node))],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a used code is refused");
    node.clock.advance_millis(30_000);
    let r = b
        .submit(
            "/console/login/totp",
            &[("code", &code_now(&secret, &node))],
        )
        .await;
    assert_eq!(r.location(), "/console", "{}", r.body);

    // A recovery code works once.
    b.submit("/console/logout", &[]).await;
    b.password("ana", PASSWORD).await;
    b.get("/console/login/totp").await;
    let r = b
        .submit("/console/login/totp", &[("code", &codes[3])])
        .await;
    assert_eq!(r.location(), "/console");
    b.submit("/console/logout", &[]).await;
    b.password("ana", PASSWORD).await;
    b.get("/console/login/totp").await;
    let r = b
        .submit("/console/login/totp", &[("code", &codes[3])])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a recovery code is single-use"
    );
}

#[tokio::test]
async fn logins_are_limited_per_account_and_per_address() {
    let node = TestNode::start().await;
    node.user("beto", Role::Liaison, false).await;
    let mut b = node.browser();
    for _ in 0..5 {
        let r = b.password("beto", "not the password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password is held, from any address.
    let mut other = node.browser();
    other.address = "192.0.2.9:4000".parse().unwrap();
    let r = other.password("beto", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many failed attempts"), "{}", r.body);
    node.clock.advance_millis(15 * 60_000);
    let r = other.password("beto", PASSWORD).await;
    assert_eq!(r.location(), "/console", "the hold lifts after the window");

    // One address trying many accounts is held too.
    let mut spray = node.browser();
    spray.address = "198.51.100.7:1".parse().unwrap();
    for i in 0..20 {
        spray
            .password(&format!("user{i}"), "guess guess guess")
            .await;
    }
    let r = spray.password("beto", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_end() {
    let node = TestNode::start().await;
    node.user("carla", Role::ReadOnly, false).await;
    let mut b = node.browser();
    b.login("carla").await;
    node.clock.advance_millis(11 * 3_600_000);
    assert_eq!(
        b.get("/console").await.status,
        StatusCode::OK,
        "within a shift"
    );
    node.clock.advance_millis(12 * 3_600_000 + 1);
    let r = b.get("/console").await;
    assert_eq!(r.location(), "/console/login", "idle too long");
    let r = b.get("/api/v1/bulletins").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Busy all day, but sessions still end after 24 hours.
    b.login("carla").await;
    for _ in 0..5 {
        node.clock.advance_millis(5 * 3_600_000);
        b.get("/console").await;
    }
    let r = b.get("/console").await;
    assert_eq!(r.location(), "/console/login");
}

fn compose_fields(title: &str) -> Vec<(&str, &str)> {
    vec![
        ("tlp", "GREEN"),
        ("kind", "attack-warning"),
        ("severity", "high"),
        ("title", title),
        ("summary", "Phishing wave against ministries."),
        ("audience", "network"),
        ("ack_minutes", "30"),
    ]
}

#[tokio::test]
async fn state_changes_need_the_sessions_csrf_token_and_a_same_origin() {
    let node = TestNode::start().await;
    node.user("duty", Role::DutyOfficer, true).await;
    let mut b = node.browser();
    b.login("duty").await;
    b.get("/console/compose").await;
    let fields = compose_fields("CSRF probe");

    // No token, a wrong token, a foreign Origin: refused, nothing published.
    let r = b.post("/console/compose", &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "csrf_failed");
    let mut wrong = vec![("_csrf", "0000")];
    wrong.extend_from_slice(&fields);
    let r = b.post("/console/compose", &wrong).await;
    assert_eq!(r.code(), "csrf_failed");
    let mut good = vec![("_csrf", b.csrf.as_str())];
    good.extend_from_slice(&fields);
    let body = form(&good);
    let r = b
        .request(
            Method::POST,
            "/console/compose",
            Some(body.clone()),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.code(), "csrf_failed");
    assert_eq!(node.bulletins().await, 0, "nothing was published");

    // The JSON API with a session cookie needs the token in a header.
    let json =
        r#"{"tlp":"GREEN","kind":"informational","severity":"low","title":"t","summary":"s"}"#;
    let r = b
        .request(
            Method::POST,
            "/api/v1/bulletins",
            Some(json.into()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.code(), "csrf_failed");
    assert_eq!(node.bulletins().await, 0);

    // With the token, it goes.
    let r = b
        .request(Method::POST, "/console/compose", Some(body), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().starts_with("/console/bulletins/"));
    assert_eq!(node.bulletins().await, 1);
    let csrf = b.csrf.clone();
    let r = b
        .request(
            Method::POST,
            "/api/v1/bulletins",
            Some(json.into()),
            &[
                ("x-csrf-token", &csrf),
                ("content-type", "application/json"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn forms_with_missing_oversized_or_hostile_fields_are_refused_or_rendered_inert() {
    let node = TestNode::start().await;
    node.user("duty", Role::DutyOfficer, true).await;
    let mut b = node.browser();
    b.login("duty").await;
    b.get("/console/compose").await;

    let mut missing = compose_fields("x");
    missing.retain(|(k, _)| *k != "title");
    let r = b.submit("/console/compose", &missing).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Title is required"), "{}", r.body);

    let long = "x".repeat(1000);
    let r = b.submit("/console/compose", &compose_fields(&long)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("title"), "names the field: {}", r.body);

    let huge = "y".repeat(300 * 1024);
    let mut fields = compose_fields("big");
    fields.push(("body", &huge));
    let r = b.submit("/console/compose", &fields).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(node.bulletins().await, 0, "nothing stored");

    // Script in a text field is shown as text, everywhere it appears.
    let evil = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    let r = b.submit("/console/compose", &compose_fields(evil)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(r.location()).await;
    let floor = b.get("/console").await;
    for html in [&page.body, &floor.body] {
        assert!(!html.contains("<script>alert"), "script is inert");
        assert!(!html.contains("<img src=x"), "markup is inert");
        assert!(
            html.contains("&lt;script&gt;alert(") || html.contains("&#60;script&#62;alert("),
            "shown as text"
        );
    }
    let csp = page.headers.get("content-security-policy").unwrap();
    assert!(csp.to_str().unwrap().contains("script-src 'self'"));
}

#[tokio::test]
async fn scoped_tokens_hold_at_most_their_owners_rights_and_stop_when_revoked_or_expired() {
    let node = TestNode::start().await;
    let analyst = node.user("ana", Role::Analyst, true).await;
    let accounts = &node.state.accounts;
    let owner = node.fed.store.user_by_id(&analyst).await.unwrap().unwrap();

    let e = accounts
        .issue_token(Some(&owner), "too much", "policy:write", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let e = accounts
        .issue_token(Some(&owner), "bad", "bulletins:fly", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");

    let (read_only, rec) = accounts
        .issue_token(Some(&owner), "dashboard", "bulletins:read", Some(1))
        .await
        .unwrap();
    let bearer = format!("Bearer {read_only}");
    let r = api_get(&node, &bearer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut api = node.browser();
    let r = api
        .request(
            Method::POST,
            "/api/v1/bulletins",
            Some(r#"{"tlp":"GREEN","kind":"informational","severity":"low","title":"t","summary":"s"}"#.into()),
            &[("authorization", &bearer), ("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "forbidden");
    assert!(
        r.body.contains("bulletins:publish"),
        "names the missing right"
    );
    assert_eq!(node.bulletins().await, 0);

    // The hash is stored, never the token.
    let stored = node.fed.store.api_tokens(Some(&analyst)).await.unwrap();
    assert_eq!(stored[0].id, rec.id);
    assert!(!format!("{stored:?}").contains(&read_only));

    // Expiry by the injected clock.
    node.clock.advance_millis(86_400_000);
    let r = api_get(&node, &bearer).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "invalid_token");

    // Revocation, and a disabled owner.
    let (t2, rec2) = accounts
        .issue_token(Some(&owner), "script", "bulletins:read bulletins:ack", None)
        .await
        .unwrap();
    let r = api_get(&node, &format!("Bearer {t2}")).await;
    assert_eq!(r.status, StatusCode::OK);
    accounts.set_disabled(&analyst, true).await.unwrap();
    let r = api_get(&node, &format!("Bearer {t2}")).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a disabled person's tokens stop"
    );
    accounts.set_disabled(&analyst, false).await.unwrap();
    accounts
        .revoke_token(&rec2.id, Some(&analyst))
        .await
        .unwrap();
    let r = api_get(&node, &format!("Bearer {t2}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Someone else's token cannot be revoked by a non-admin.
    let (_, rec3) = accounts.issue_token(None, "node", "*", None).await.unwrap();
    assert_eq!(
        accounts
            .revoke_token(&rec3.id, Some(&analyst))
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
}

async fn api_get(node: &TestNode, bearer: &str) -> common::Reply {
    node.browser()
        .request(
            Method::GET,
            "/api/v1/bulletins",
            None,
            &[("authorization", bearer)],
        )
        .await
}

#[tokio::test]
async fn a_role_without_the_right_gets_a_clear_refusal_and_nothing_changes() {
    let node = TestNode::start().await;
    node.user("olga", Role::ReadOnly, false).await;
    let mut b = node.browser();
    b.login("olga").await;
    let r = b.get("/console/compose").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "forbidden");
    let floor = b.get("/console").await;
    assert!(
        !floor.body.contains("href=\"/console/compose\""),
        "no compose link shown"
    );
    let r = b.submit("/console/compose", &compose_fields("nope")).await;
    assert_eq!(r.code(), "forbidden");
    let r = b
        .submit(
            "/console/users",
            &[
                ("username", "mallory"),
                ("name", "M"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        node.fed
            .store
            .user_by_name("mallory")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(node.bulletins().await, 0);
}

#[tokio::test]
async fn the_console_speaks_four_languages_and_shows_times_in_the_persons_zone() {
    let node = TestNode::start().await;
    node.user("duty", Role::DutyOfficer, true).await;
    let mut b = node.browser();
    b.login("duty").await;
    b.get("/console/compose").await;
    let r = b
        .submit("/console/compose", &compose_fields("Multilingual"))
        .await;
    let path = r.location().to_owned();
    let expected = [
        ("en", "Watch floor"),
        ("es", "acuse"),
        ("pt", "confirmação"),
        ("fr", "accusé"),
    ];
    for (lang, word) in expected {
        b.get("/console").await;
        let r = b
            .submit("/console/language", &[("language", lang), ("back", &path)])
            .await;
        assert_eq!(r.location(), path);
        let page = b.get(&path).await;
        assert!(page.body.contains(&format!("<html lang=\"{lang}\"")));
        let lower = page.body.to_lowercase();
        if lang != "en" {
            let floor = b.get("/console").await.body.to_lowercase();
            assert!(
                floor.contains(word) || lower.contains(word),
                "{lang}: {word}"
            );
        }
        assert!(
            page.body.contains("TLP:GREEN"),
            "TLP stays untranslated in {lang}"
        );
        assert!(
            page.body.contains("-03:00 America/Santiago"),
            "times in the person's zone, with the zone"
        );
    }
    let r = b.submit("/console/language", &[("language", "de")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The duty officer sees a peer's health as the node judges it: one failure is "retrying", a
/// streak over time "unreachable" with when it began, and the pages sent about it are listed —
/// in the console, in the API and in the metrics, from the same records.
#[tokio::test]
async fn the_peers_page_shows_retrying_unreachable_and_the_pages_sent() {
    use atalaya_core::NodeId;
    use atalaya_core::peer_health::PeerAlertKind;
    let node = TestNode::start_with_peers(&[("mx-csirt", "MX"), ("ar-csirt", "AR")]).await;
    let (mx, ar) = (
        NodeId::new("mx-csirt").unwrap(),
        NodeId::new("ar-csirt").unwrap(),
    );
    let store = node.fed.store.clone();
    let now = node.fed.now();
    store
        .record_peer_failure(&mx, "connection refused", now)
        .await
        .unwrap();
    for i in 0..4 {
        store
            .record_peer_failure(&ar, "timed out", now.plus_millis(i * 30_000))
            .await
            .unwrap();
    }
    node.clock.advance_millis(121_000);
    store
        .record_peer_alerts(
            &ar,
            &[atalaya_store::PeerAlert {
                peer: ar.clone(),
                event: PeerAlertKind::Down,
                target: "Duty at cl <duty@example.cl>".into(),
                channel: "email".into(),
                outcome: "sent".into(),
                at: node.fed.now(),
            }],
            Some(node.fed.now()),
        )
        .await
        .unwrap();
    let mut b = node.signed_in("olga", Role::DutyOfficer).await;
    let page = b.get("/console/peers").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = |id: &str| {
        page.body
            .split(&format!("<tr data-node=\"{id}\""))
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(
        row("mx-csirt").contains("data-state=\"retrying\""),
        "{}",
        row("mx-csirt")
    );
    assert!(row("mx-csirt").contains("Retrying"));
    let ar_row = row("ar-csirt");
    assert!(ar_row.contains("data-state=\"unreachable\""), "{ar_row}");
    assert!(ar_row.contains("Duty roster paged"), "{ar_row}");
    assert!(
        ar_row.contains("2026-11-22"),
        "failing since is shown: {ar_row}"
    );
    let alerts = page.body.split("id=\"peer-alerts\"").nth(1).unwrap();
    assert!(alerts.contains("data-event=\"down\""), "{alerts}");
    assert!(alerts.contains("Duty at cl"), "{alerts}");
    // The API says the same.
    let r = b.get("/api/v1/status").await;
    let status: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let state_of = |id: &str| {
        status["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["peer"] == id)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of("mx-csirt"), "retrying");
    assert_eq!(state_of("ar-csirt"), "unreachable");
    assert_eq!(status["peer_alerts"][0]["event"], "down");
    // In Spanish too; and a peer that answers again is reachable at once.
    store
        .record_peer_success(&mx, node.fed.now())
        .await
        .unwrap();
    b.get("/console").await;
    b.submit(
        "/console/language",
        &[("language", "es"), ("back", "/console/peers")],
    )
    .await;
    let page = b.get("/console/peers").await;
    assert!(page.body.contains("<html lang=\"es\""));
    assert!(page.body.contains("Fallando desde"), "{}", page.body);
    assert!(page.body.contains("Caído"), "the down page, in Spanish");
    assert!(
        page.body
            .contains("data-node=\"mx-csirt\" data-state=\"reachable\"")
    );
}

/// A node whose audit log does not hold to its past is a line on the peers page, in each of the
/// console's languages, and in `/api/v1/status`.
#[tokio::test]
async fn an_audit_inconsistency_is_shown_on_the_peers_page_in_four_languages() {
    let node = TestNode::start().await;
    let store = node.fed.store.clone();
    let mut b = node.signed_in("olga", Role::DutyOfficer).await;
    let page = b.get("/console/peers").await;
    assert!(page.body.contains("id=\"audit-inconsistencies-none\""));
    store
        .save_inconsistency(&atalaya_store::InconsistencyRecord {
            envelope: uuid::Uuid::from_u128(7),
            node: atalaya_core::NodeId::new("mx-csirt").unwrap(),
            reporter: atalaya_core::NodeId::new("ar-csirt").unwrap(),
            code: "audit_not_extension".into(),
            detail: "the tree of 9 entries does not extend the one of 4 held".into(),
            held_size: 4,
            at: node.fed.now(),
        })
        .await
        .unwrap();
    for (lang, words) in [
        ("en", "history was rewritten"),
        ("es", "se reescribió la historia"),
        ("pt", "a história foi reescrita"),
        ("fr", "historique a été réécrit"),
    ] {
        b.get("/console").await;
        b.submit(
            "/console/language",
            &[("language", lang), ("back", "/console/peers")],
        )
        .await;
        let page = b.get("/console/peers").await;
        let table = page
            .body
            .split("id=\"audit-inconsistencies\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{lang}: no inconsistency table"));
        assert!(
            table.contains("data-node=\"mx-csirt\" data-code=\"audit_not_extension\""),
            "{lang}: {table}"
        );
        assert!(table.contains("ar-csirt"), "{lang}: the reporter is named");
        assert!(table.contains(words), "{lang}: {table}");
    }
    let r = b.get("/api/v1/status").await;
    let status: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(status["audit_inconsistencies"][0]["node"], "mx-csirt");
    assert_eq!(
        status["audit_inconsistencies"][0]["code"],
        "audit_not_extension"
    );
}

/// The audit entries about `id` written since entry `after`: (actor, action, decision, reason).
async fn audited(node: &TestNode, after: i64, id: &str) -> Vec<(String, String, String, String)> {
    node.fed
        .store
        .audit_entries(after, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.object == id)
        .map(|e| {
            let e = e.event;
            (e.actor, e.action, e.decision, e.reason)
        })
        .collect()
}

/// The newest audit entry's position.
async fn audit_end(node: &TestNode) -> i64 {
    node.fed
        .store
        .audit_head()
        .await
        .unwrap()
        .map_or(0, |h| h.0)
}

/// A bulletin's View is decided and audited the same way whichever way a person reads it: the
/// JSON API (one bulletin, and the list), the console's watch floor, the console's bulletin
/// page, and the live update — the server-sent event after which the page fetches the feed.
/// An AMBER bulletin: one `allow` entry each time; a RED one for someone else: one `deny`.
#[tokio::test]
async fn a_bulletins_view_is_audited_the_same_way_through_the_api_the_console_and_the_live_feed() {
    use futures::StreamExt;

    let node = TestNode::start().await;
    let mut b = node.signed_in("ana", Role::DutyOfficer).await;
    let owner = node.fed.store.user_by_name("ana").await.unwrap().unwrap();
    let (token, _) = node
        .state
        .accounts
        .issue_token(Some(&owner), "audit", "bulletins:read", None)
        .await
        .unwrap();
    let api = |path: String| {
        let app = node.app.clone();
        let token = token.clone();
        async move {
            let mut req = axum::http::Request::builder()
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            req.extensions_mut().insert(axum::extract::ConnectInfo(
                "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
            ));
            tower::ServiceExt::oneshot(app, req).await.unwrap().status()
        }
    };

    // The live updates of the watch floor, subscribed before anything is published.
    let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = axum::http::Request::builder()
        .uri("/console/events")
        .header("host", "127.0.0.1:7400")
        .header("cookie", cookies.join("; "))
        .body(axum::body::Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(b.address));
    let events = tower::ServiceExt::oneshot(node.app.clone(), req)
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let mut events = events.into_body().into_data_stream();

    let publish = |tlp: &str, title: &str, people: &[&str]| {
        let mut draft = serde_json::json!({
            "tlp": tlp, "kind": "attack-warning", "title": title, "summary": "Watch out.",
            "severity": "high",
        });
        if !people.is_empty() {
            draft["audience"] = serde_json::json!({"scope": "nodes", "nodes": ["cl-csirt"]});
            draft["people"] = serde_json::json!(people);
        }
        let draft: atalaya_core::BulletinDraft = serde_json::from_value(draft).unwrap();
        let fed = node.fed.clone();
        async move { fed.publish(draft).await.unwrap().0.id.to_string() }
    };
    let amber = publish("AMBER", "For the team", &[]).await;
    let red = publish("RED", "For Bob only", &["bob@cl-csirt"]).await;

    let allowed = vec![(
        "user:ana".to_owned(),
        "view".to_owned(),
        "allow".to_owned(),
        "TLP:AMBER".to_owned(),
    )];
    let denied = vec![(
        "user:ana".to_owned(),
        "view".to_owned(),
        "deny".to_owned(),
        "not_a_named_recipient".to_owned(),
    )];

    // The live update names what changed; the page then fetches the feed, rendered for Ana.
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(chunk) = events.next().await {
            if String::from_utf8_lossy(&chunk.unwrap()).contains("event: bulletins") {
                return;
            }
        }
        panic!("the live updates ended");
    })
    .await
    .expect("a live update naming bulletins");
    let start = audit_end(&node).await;
    let feed = b.get("/console/fragments/feed").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.body.contains("For the team") && !feed.body.contains("For Bob only"));
    assert_eq!(audited(&node, start, &amber).await, allowed, "live feed");
    assert_eq!(audited(&node, start, &red).await, denied, "live feed");

    // The watch floor.
    let start = audit_end(&node).await;
    let floor = b.get("/console").await;
    assert_eq!(floor.status, StatusCode::OK);
    assert!(floor.body.contains("For the team") && !floor.body.contains("For Bob only"));
    assert_eq!(audited(&node, start, &amber).await, allowed, "watch floor");
    assert_eq!(audited(&node, start, &red).await, denied, "watch floor");

    // The bulletin's page.
    let start = audit_end(&node).await;
    let page = b.get(&format!("/console/bulletins/{amber}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let refused = b.get(&format!("/console/bulletins/{red}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        audited(&node, start, &amber).await,
        allowed,
        "bulletin page"
    );
    assert_eq!(audited(&node, start, &red).await, denied, "bulletin page");

    // The API: one bulletin, then the list.
    let start = audit_end(&node).await;
    assert_eq!(
        api(format!("/api/v1/bulletins/{amber}")).await,
        StatusCode::OK
    );
    assert_eq!(
        api(format!("/api/v1/bulletins/{red}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(audited(&node, start, &amber).await, allowed, "API bulletin");
    assert_eq!(audited(&node, start, &red).await, denied, "API bulletin");
    let start = audit_end(&node).await;
    assert_eq!(api("/api/v1/bulletins".to_owned()).await, StatusCode::OK);
    assert_eq!(audited(&node, start, &amber).await, allowed, "API list");
    assert_eq!(audited(&node, start, &red).await, denied, "API list");
}
