//! The public portal in process, over a real SQLite file and a fixed clock: what the public
//! sees (only TLP:CLEAR, in four languages, searched and filtered), an advisory's page (its
//! Markdown's HTML escaped), whom to report to for every member state, the report form (a good
//! report is filed and listed; every abuse is refused with nothing stored), and the awareness
//! pages the admins edit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::BulletinDraft;
use atalaya_core::access::Role;
use atalaya_core::directory::DirectoryEntry;
use atalaya_web::portal::{PortalSettings, pow, seed_default_pages};
use axum::http::{Method, StatusCode, header};
use common::{Browser, Reply, TestNode, t0, team_record};
use serde_json::json;

/// A node whose proof of work is light (tests solve it in Rust) with these limits.
async fn node_with(settings: PortalSettings) -> TestNode {
    let mut node = TestNode::start().await;
    let state = node.state.clone().with_portal(settings);
    node.app = atalaya_web::router(state.clone());
    node.state = state;
    node
}

fn light() -> PortalSettings {
    PortalSettings {
        pow_bits: 8,
        ..Default::default()
    }
}

async fn publish(node: &TestNode, draft: serde_json::Value) -> String {
    let draft: BulletinDraft = serde_json::from_value(draft).unwrap();
    node.fed.publish(draft).await.unwrap().0.id.to_string()
}

fn clear(title: &str, kind: &str, severity: &str, sectors: &[&str]) -> serde_json::Value {
    json!({
        "tlp": "CLEAR", "kind": kind, "title": title, "severity": severity,
        "summary": format!("Summary of {title}."), "body": "Details.", "sectors": sectors,
    })
}

/// Publish the Chilean national CSIRT's record (the test node is its authority).
async fn put_team(node: &TestNode) {
    let mut record = team_record("cl-csirt");
    record["updated"] = json!(t0().to_string());
    let team = serde_json::from_value(record).unwrap();
    let team = atalaya_core::directory::normalise(team);
    node.fed
        .publish_directory_entry(DirectoryEntry::Team(Box::new(team)))
        .await
        .unwrap();
}

async fn reports(node: &TestNode) -> usize {
    node.state.reports.list(1000).await.unwrap().len()
}

/// Load the form, solve its challenge, and post it with `fields` (plus lang, challenge, pow
/// unless given).
async fn submit(b: &mut Browser, country: &str, fields: &[(&str, &str)]) -> Reply {
    let page = b.get(&format!("/report/{country}?lang=en")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let challenge = page.input("challenge").expect("a challenge in the form");
    let counter = pow::solve(&challenge);
    let mut all: Vec<(&str, &str)> = vec![("lang", "en")];
    if !fields.iter().any(|(k, _)| *k == "challenge") {
        all.push(("challenge", &challenge));
    }
    if !fields.iter().any(|(k, _)| *k == "pow") {
        all.push(("pow", &counter));
    }
    all.extend_from_slice(fields);
    b.post(&format!("/report/{country}?lang=en"), &all).await
}

fn good() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "what",
            "A phishing e-mail impersonating the tax office reached our staff.",
        ),
        ("when", "2026-11-22 around 10:00"),
        ("contact", "ana@example.org"),
        ("organisation", "Municipalidad de Ejemplo"),
        ("sector", "government"),
        ("rsit", "fraud"),
        ("website", ""),
    ]
}

fn reference(r: &Reply) -> String {
    let i = r.body.find("id=\"reference\">").expect("a reference") + "id=\"reference\">".len();
    r.body[i..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_home_page_shows_only_public_advisories_in_four_languages() {
    let node = node_with(light()).await;
    let a = publish(
        &node,
        clear(
            "Ransomware against municipal networks",
            "attack-warning",
            "high",
            &["energy"],
        ),
    )
    .await;
    let b = publish(
        &node,
        clear(
            "Router firmware flaw",
            "vulnerability-advisory",
            "medium",
            &[],
        ),
    )
    .await;
    let mut green = clear("Green secret title", "attack-warning", "high", &[]);
    green["tlp"] = json!("GREEN");
    let green = publish(&node, green).await;
    let mut embargoed = clear(
        "Embargoed advisory title",
        "vulnerability-advisory",
        "critical",
        &[],
    );
    embargoed["embargo_until"] = json!("2026-11-23T12:00:00Z");
    let embargoed = publish(&node, embargoed).await;

    let mut web = node.browser();
    for (lang, heading) in [
        ("en", "Public security advisories"),
        ("es", "Avisos de seguridad públicos"),
        ("pt", "Avisos de segurança públicos"),
        ("fr", "Avis de sécurité publics"),
    ] {
        let r = web.get(&format!("/?lang={lang}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(&format!("<html lang=\"{lang}\"")), "{lang}");
        assert!(r.body.contains(heading), "{lang}: {heading}");
        assert!(r.body.contains("Ransomware against municipal networks"));
        assert!(r.body.contains("Router firmware flaw"));
        assert!(
            !r.body.contains("Green secret title"),
            "GREEN is never public"
        );
        assert!(!r.body.contains("Embargoed advisory title"), "embargoed");
        for feed in [
            "/feeds/advisories.atom",
            "/feeds/cap.atom",
            "/.well-known/csaf/provider-metadata.json",
            "/taxii2/",
            "/.well-known/security.txt",
            "/directory",
        ] {
            assert!(r.body.contains(&format!("href=\"{feed}")), "{lang}: {feed}");
        }
    }
    // The browser's language when none is chosen.
    let r = web
        .request(
            Method::GET,
            "/",
            None,
            &[("accept-language", "pt-BR,pt;q=0.9")],
        )
        .await;
    assert!(r.body.contains("<html lang=\"pt\""));

    assert_eq!(
        web.get(&format!("/advisories/{a}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        web.get(&format!("/advisories/{b}?lang=fr")).await.status,
        StatusCode::OK
    );
    for hidden in [&green, &embargoed] {
        let r = web.get(&format!("/advisories/{hidden}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{hidden}");
        assert!(!r.body.contains("Green secret") && !r.body.contains("Embargoed advisory"));
    }
    assert_eq!(
        web.get("/advisories/not-a-uuid").await.status,
        StatusCode::NOT_FOUND
    );

    // The embargo ends: the advisory is public at once.
    node.clock.advance_millis(25 * 3600 * 1000);
    assert!(web.get("/").await.body.contains("Embargoed advisory title"));
    assert_eq!(
        web.get(&format!("/advisories/{embargoed}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        web.get(&format!("/advisories/{green}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Retracted: the page says so, and shows nothing of the content.
    node.fed
        .retract(a.parse().unwrap(), "Published by mistake")
        .await
        .unwrap();
    let r = web.get(&format!("/advisories/{a}")).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("id=\"retracted\""), "{}", r.body);
    assert!(!r.body.contains("Summary of Ransomware"));
    assert!(
        !web.get("/")
            .await
            .body
            .contains("Ransomware against municipal networks")
    );

    // The portal's security headers.
    let h = web.get("/").await.headers;
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert!(h.contains_key(header::REFERRER_POLICY));
    let js = web.get("/portal/static/portal-1.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.body.contains("sha256"));
}

#[tokio::test]
async fn search_and_filters_narrow_the_list_and_it_pages() {
    let node = node_with(light()).await;
    publish(
        &node,
        clear(
            "Ransomware against municipal networks",
            "attack-warning",
            "high",
            &["energy"],
        ),
    )
    .await;
    publish(
        &node,
        clear(
            "Router firmware flaw",
            "vulnerability-advisory",
            "medium",
            &[],
        ),
    )
    .await;
    let mut web = node.browser();
    let count = |r: &Reply| r.body.matches("class=\"card advisory\"").count();
    let cases = [
        ("q=RANSOMWARE", 1, "Ransomware"),
        ("q=summary+of+router", 1, "Router"),
        ("kind=vulnerability-advisory", 1, "Router"),
        ("severity=high", 1, "Ransomware"),
        ("sector=energy", 1, "Ransomware"),
        ("from=2026-11-22&to=2026-11-22", 2, "Router"),
        ("from=2026-11-23", 0, ""),
        ("to=2026-11-21", 0, ""),
        ("severity=critical", 0, ""),
        ("q=nothing-like-this", 0, ""),
    ];
    for (query, n, has) in cases {
        let r = web.get(&format!("/?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{query}");
        assert_eq!(count(&r), n, "{query}");
        assert!(r.body.contains(has), "{query}");
    }
    // A date that is not one is ignored, and said so.
    let r = web.get("/?from=yesterday").await;
    assert_eq!(count(&r), 2);
    assert!(r.body.contains("YYYY-MM-DD"));
    // Search text is shown back escaped.
    let r = web.get("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert!(!r.body.contains("<script>alert"), "reflected unescaped");
    assert!(r.body.contains("&#60;script&#62;") || r.body.contains("&lt;script&gt;"));

    for i in 0..25 {
        publish(
            &node,
            clear(
                &format!("Bulk advisory {i:02}"),
                "informational",
                "low",
                &[],
            ),
        )
        .await;
    }
    let first = web.get("/?kind=informational").await;
    assert_eq!(count(&first), 20);
    assert!(first.body.contains("rel=\"next\""));
    let second = web.get("/?kind=informational&page=2").await;
    assert_eq!(count(&second), 5);
    assert!(second.body.contains("rel=\"prev\"") && !second.body.contains("rel=\"next\""));
}

#[tokio::test]
async fn an_advisory_page_escapes_the_markdowns_html() {
    let node = node_with(light()).await;
    let mut draft = clear("Title with <b>markup</b>", "mitigation", "low", &[]);
    draft["body"] = json!(
        "# Steps\n\n<script>alert('body')</script>\n\n<img src=x onerror=alert(1)>\n\n\
         [click](javascript:alert(1)) and [vendor](https://vendor.example/fix) and **bold**"
    );
    draft["summary"] = json!("<script>alert('summary')</script>");
    draft["references"] = json!(["https://vendor.example/advisory"]);
    let id = publish(&node, draft).await;
    let r = node.browser().get(&format!("/advisories/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    assert!(!r.body.contains("<img src=x"));
    assert!(!r.body.contains("<b>markup</b>"));
    assert!(!r.body.to_ascii_lowercase().contains("javascript:"));
    assert!(r.body.contains("<h1>Steps</h1>"));
    assert!(r.body.contains("<strong>bold</strong>"));
    assert!(r.body.contains("href=\"https://vendor.example/fix\""));
    assert!(r.body.contains("href=\"https://vendor.example/advisory\""));
}

#[tokio::test]
async fn every_member_state_says_whom_to_report_to() {
    let node = node_with(light()).await;
    put_team(&node).await;
    let mut web = node.browser();
    let r = web.get("/report?lang=es").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.matches("class=\"card state\"").count(), 35);
    assert!(r.body.contains("Cómo reportar un incidente"));
    // The Chilean national CSIRT's public contacts, never its private ones.
    assert!(r.body.contains("incidentes@csirt.example.org"));
    assert!(r.body.contains("0123456789ABCDEF0123456789ABCDEF01234567"));
    assert!(r.body.contains("09:00-18:00"));
    assert!(!r.body.contains("guardia@") && !r.body.contains("555 0199"));
    assert!(!r.body.contains("members only"));
    for s in atalaya_core::member_states::all() {
        let cc = s.iso2.as_str();
        let page = web.get(&format!("/report/{cc}?lang=fr")).await;
        assert_eq!(page.status, StatusCode::OK, "{cc}");
        assert!(page.body.contains(&s.name_fr), "{cc}");
        if cc == "CL" {
            assert!(page.body.contains("id=\"report-form\""));
            assert!(page.input("challenge").is_some());
            assert!(
                page.body.contains("<noscript>"),
                "explains the proof of work"
            );
        } else {
            // No node takes reports for it: its contacts only, no form.
            assert!(!page.body.contains("id=\"report-form\""), "{cc}");
            assert!(page.body.contains("id=\"offline\""), "{cc}");
        }
    }
    assert_eq!(web.get("/report/cl").await.status, StatusCode::OK);
    for bad in ["/report/XX", "/report/DE", "/report/%3Cscript%3E"] {
        assert_eq!(web.get(bad).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    // A state without a node refuses a posted form, and stores nothing.
    let mut b = node.browser();
    let mut fields = good();
    let form = b.get("/report/CL").await;
    let challenge = form.input("challenge").unwrap();
    let counter = pow::solve(&challenge);
    fields.extend([("challenge", challenge.as_str()), ("pow", counter.as_str())]);
    let r = b.post("/report/AR", &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.code(), "no_node_for_state");
    assert_eq!(reports(&node).await, 0);
}

#[tokio::test]
async fn a_good_report_is_filed_and_listed_for_those_on_watch() {
    let node = node_with(light()).await;
    let mut b = node.browser();
    let r = submit(&mut b, "CL", &good()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let reference = reference(&r);
    assert!(reference.starts_with("IR-CL-"), "{reference}");
    assert_eq!(reports(&node).await, 1);
    let held = &node.state.reports.list(10).await.unwrap()[0];
    assert_eq!(held.reference, reference);
    assert_eq!(held.contact.as_deref(), Some("ana@example.org"));
    assert_eq!(held.rsit.as_deref(), Some("fraud"));
    assert_eq!(held.via.as_str(), "cl-csirt");

    // The API, for a token with reports:read.
    node.user("ana", Role::Analyst, true).await;
    let owner = node.fed.store.user_by_name("ana").await.unwrap().unwrap();
    let (token, _) = node
        .state
        .accounts
        .issue_token(Some(&owner), "t", "reports:read", None)
        .await
        .unwrap();
    let mut api = node.browser();
    let auth = format!("Bearer {token}");
    let r = api
        .request(
            Method::GET,
            "/api/v1/reports",
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["reports"][0]["reference"], reference.as_str());
    let one = api
        .request(
            Method::GET,
            &format!("/api/v1/reports/{}", held.id),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);

    // The console, for a duty officer; not for a liaison officer.
    let mut duty = node.signed_in("duty", Role::DutyOfficer).await;
    let list = duty.get("/console/reports").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&reference));
    let page = duty.get(&format!("/console/reports/{}", held.id)).await;
    assert!(page.body.contains("Municipalidad de Ejemplo"));
    let mut lia = node.signed_in("lia", Role::Liaison).await;
    assert_eq!(
        lia.get("/console/reports").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn abusive_or_malformed_reports_are_refused_and_nothing_is_stored() {
    let node = node_with(light()).await;
    let mut n = 0u8;
    let mut fresh = || {
        n += 1;
        let mut b = node.browser();
        b.address = format!("192.0.2.{n}:40000").parse().unwrap();
        b
    };
    let expect = |r: &Reply, status: StatusCode, code: &str| {
        assert_eq!(r.status, status, "{code}: {}", r.body);
        assert_eq!(r.code(), code, "{}", r.body);
        assert!(
            r.body.contains("id=\"report-form\""),
            "the form is shown again"
        );
    };

    // A wrong counter.
    let mut b = fresh();
    let page = b.get("/report/CL").await;
    let challenge = page.input("challenge").unwrap();
    let wrong = (0u64..)
        .map(|c| c.to_string())
        .find(|c| pow::leading_zero_bits(&pow::work(&challenge, c)) < 8)
        .unwrap();
    let mut f = good();
    f.push(("pow", &wrong));
    expect(
        &submit(&mut b, "CL", &f).await,
        StatusCode::BAD_REQUEST,
        "pow_unsolved",
    );
    // No proof of work at all (as without JavaScript).
    let mut f = good();
    f.push(("pow", ""));
    expect(
        &submit(&mut fresh(), "CL", &f).await,
        StatusCode::BAD_REQUEST,
        "pow_missing",
    );
    // A forged challenge (easier than asked).
    let mut f = good();
    f.extend([("challenge", "00.99999999999999.0.00"), ("pow", "0")]);
    expect(
        &submit(&mut fresh(), "CL", &f).await,
        StatusCode::BAD_REQUEST,
        "pow_invalid",
    );
    // An expired challenge.
    let mut b = fresh();
    let page = b.get("/report/CL").await;
    let old = page.input("challenge").unwrap();
    let counter = pow::solve(&old);
    node.clock.advance_millis(31 * 60 * 1000);
    let mut f = good();
    f.extend([("challenge", old.as_str()), ("pow", counter.as_str())]);
    expect(
        &b.post("/report/CL", &f).await,
        StatusCode::BAD_REQUEST,
        "pow_expired",
    );
    // An oversized field, an oversized body, a field twice, a field the form has not.
    let long = "x".repeat(8001);
    let mut f = good();
    f.retain(|(k, _)| *k != "what");
    f.push(("what", &long));
    expect(
        &submit(&mut fresh(), "CL", &f).await,
        StatusCode::BAD_REQUEST,
        "field_too_long",
    );
    let huge = "y".repeat(30_000);
    let r = fresh().post("/report/CL", &[("what", huge.as_str())]).await;
    expect(&r, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let mut f = good();
    f.push(("what", "again"));
    expect(
        &submit(&mut fresh(), "CL", &f).await,
        StatusCode::BAD_REQUEST,
        "repeated_field",
    );
    let mut f = good();
    f.push(("evil", "1"));
    expect(
        &submit(&mut fresh(), "CL", &f).await,
        StatusCode::BAD_REQUEST,
        "unknown_field",
    );
    // A missing field, with script payloads everywhere: refused, shown back escaped.
    let payload = "<script>alert('x')</script>";
    let f = vec![
        ("what", payload),
        ("when", ""),
        ("contact", "\"><script>alert(2)</script>"),
        ("organisation", payload),
    ];
    let r = submit(&mut fresh(), "CL", &f).await;
    expect(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_report");
    assert!(r.body.contains("data-field=\"when\"") && r.body.contains("data-field=\"contact\""));
    assert!(
        !r.body.contains("<script>alert"),
        "input reflected unescaped"
    );
    assert!(r.body.contains("&#60;script&#62;") || r.body.contains("&lt;script&gt;"));
    // The honeypot.
    let mut f = good();
    f.retain(|(k, _)| *k != "website");
    f.push(("website", "http://spam.example"));
    expect(
        &submit(&mut fresh(), "CL", &f).await,
        StatusCode::BAD_REQUEST,
        "honeypot",
    );
    assert_eq!(reports(&node).await, 0, "nothing stored for any refusal");

    // A replayed challenge: the first post is taken, the second refused.
    let mut b = fresh();
    let page = b.get("/report/CL").await;
    let challenge = page.input("challenge").unwrap();
    let counter = pow::solve(&challenge);
    let mut f = good();
    f.extend([("challenge", challenge.as_str()), ("pow", counter.as_str())]);
    assert_eq!(b.post("/report/CL", &f).await.status, StatusCode::CREATED);
    expect(
        &b.post("/report/CL", &f).await,
        StatusCode::CONFLICT,
        "pow_replayed",
    );
    assert_eq!(reports(&node).await, 1);
}

#[tokio::test]
async fn reports_are_rate_limited_per_address_and_per_state() {
    let node = node_with(PortalSettings {
        pow_bits: 8,
        reports_per_address: 2,
        reports_per_state: 3,
        ..Default::default()
    })
    .await;
    let mut b = node.browser();
    b.address = "198.51.100.7:1000".parse().unwrap();
    for _ in 0..2 {
        assert_eq!(
            submit(&mut b, "CL", &good()).await.status,
            StatusCode::CREATED
        );
    }
    let r = submit(&mut b, "CL", &good()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(reports(&node).await, 2);
    // Another address may still report, until the state's own limit.
    let mut c = node.browser();
    c.address = "198.51.100.8:1000".parse().unwrap();
    assert_eq!(
        submit(&mut c, "CL", &good()).await.status,
        StatusCode::CREATED
    );
    let r = submit(&mut c, "CL", &good()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reports(&node).await, 3);
    // A new window, on the node's clock.
    node.clock.advance_millis(3601 * 1000);
    assert_eq!(
        submit(&mut b, "CL", &good()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(reports(&node).await, 4);
}

#[tokio::test]
async fn awareness_pages_are_seeded_and_edited_by_admins_only() {
    let node = node_with(light()).await;
    assert_eq!(seed_default_pages(&node.fed).await.unwrap(), 8);
    assert_eq!(seed_default_pages(&node.fed).await.unwrap(), 0, "once");
    let mut web = node.browser();
    for (lang, title) in [
        ("en", "Staying safe online"),
        ("es", "Seguridad en línea"),
        ("pt", "Segurança online"),
        ("fr", "Rester en sécurité en ligne"),
    ] {
        let r = web
            .get(&format!("/pages/staying-safe-online?lang={lang}"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(&format!("<h1>{title}</h1>")), "{lang}");
        let r = web
            .get(&format!("/pages/how-reporting-works?lang={lang}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{lang}");
        assert!(
            r.body.contains(&format!("href=\"/report?lang={lang}\"")),
            "{lang}"
        );
        // The home page's navigation lists them.
        assert!(
            web.get(&format!("/?lang={lang}"))
                .await
                .body
                .contains(&format!("/pages/staying-safe-online?lang={lang}"))
        );
    }
    assert_eq!(
        web.get("/pages/no-such-page").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web.get("/pages/Bad_Slug").await.status,
        StatusCode::NOT_FOUND
    );

    // Others may not edit.
    for role in [
        Role::DutyOfficer,
        Role::Analyst,
        Role::Liaison,
        Role::ReadOnly,
    ] {
        let name = format!("u-{}", role.as_str().replace('_', "-"));
        let mut o = node.signed_in(&name, role).await;
        assert_eq!(
            o.get("/console/pages").await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
        assert_eq!(
            o.get("/console/pages/staying-safe-online").await.status,
            StatusCode::FORBIDDEN
        );
        let r = o
            .submit(
                "/console/pages/staying-safe-online",
                &[
                    ("lang", "en"),
                    ("title", "Hacked"),
                    ("body", "x"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }

    let mut admin = node.signed_in("root", Role::Admin).await;
    let list = admin.get("/console/pages").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.matches("data-page=").count(), 8);
    let form = admin
        .get("/console/pages/staying-safe-online?lang=en")
        .await;
    assert!(form.body.contains("Staying safe online"));
    // Preview: rendered as the portal will, raw HTML escaped; nothing saved.
    let body = "Use **long passwords**.\n\n<script>alert(1)</script>";
    let r = admin
        .submit(
            "/console/pages/staying-safe-online",
            &[
                ("lang", "en"),
                ("title", "Stay safe"),
                ("body", body),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<strong>long passwords</strong>"));
    assert!(!r.body.contains("<script>alert"));
    assert!(
        web.get("/pages/staying-safe-online?lang=en")
            .await
            .body
            .contains("<h1>Staying safe online</h1>")
    );
    // Without the CSRF token: refused, nothing saved.
    let r = admin
        .post(
            "/console/pages/staying-safe-online",
            &[
                ("lang", "en"),
                ("title", "Forged"),
                ("body", "x"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "csrf_failed");
    // A bad title or language: refused with the field.
    let r = admin
        .submit(
            "/console/pages/staying-safe-online",
            &[
                ("lang", "de"),
                ("title", ""),
                ("body", "x"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("data-code=\"bad-title\"") && r.body.contains("data-code=\"not-a-choice\"")
    );
    // Save.
    let r = admin
        .submit(
            "/console/pages/staying-safe-online",
            &[
                ("lang", "en"),
                ("title", "Stay safe"),
                ("body", body),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/console/pages?saved=1");
    let page = web.get("/pages/staying-safe-online?lang=en").await;
    assert!(page.body.contains("<h1>Stay safe</h1>"));
    assert!(page.body.contains("<strong>long passwords</strong>"));
    assert!(!page.body.contains("<script>alert"));
    assert_eq!(
        seed_default_pages(&node.fed).await.unwrap(),
        0,
        "an edit is never overwritten"
    );
    // A new page through the list's form.
    let r = admin.get("/console/pages?new=phishing&lang=es").await;
    assert_eq!(r.location(), "/console/pages/phishing?lang=es");
    let r = admin
        .submit(
            "/console/pages/phishing",
            &[
                ("lang", "es"),
                ("title", "Phishing"),
                ("body", "Cuidado."),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Shown in its language, and in English's place for others (English fallback absent: 404).
    assert_eq!(
        web.get("/pages/phishing?lang=es").await.status,
        StatusCode::OK
    );
    assert_eq!(
        web.get("/pages/phishing?lang=en").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Subscribe to the public live stream: the response (its status and body stream).
async fn subscribe_live(node: &TestNode) -> axum::response::Response {
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .uri("/public/v1/events")
        .body(axum::body::Body::empty())
        .unwrap();
    node.app.clone().oneshot(req).await.unwrap()
}

/// The next server-sent event of `body` (name, data), reading frames as they come; `None`
/// when nothing arrives within two seconds.
async fn next_event(
    body: &mut axum::body::BodyDataStream,
    buf: &mut String,
) -> Option<(String, String)> {
    use futures::StreamExt;
    loop {
        if let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let field = |name: &str| {
                event
                    .lines()
                    .filter_map(|l| l.strip_prefix(name))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let (name, data) = (field("event: "), field("data: "));
            if name.is_empty() {
                continue; // a keep-alive comment
            }
            return Some((name, data));
        }
        let frame = tokio::time::timeout(std::time::Duration::from_secs(2), body.next())
            .await
            .ok()??
            .unwrap();
        buf.push_str(std::str::from_utf8(&frame).unwrap());
    }
}

#[tokio::test]
async fn the_public_live_stream_carries_each_public_bulletin_with_its_content() {
    let node = TestNode::start().await;
    let resp = subscribe_live(&node).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = resp.into_body().into_data_stream();
    let mut buf = String::new();
    // GREEN, then CLEAR under embargo, then CLEAR: only the last is for the public now.
    let mut green = clear("Green scan wave", "attack-warning", "high", &[]);
    green["tlp"] = json!("GREEN");
    publish(&node, green).await;
    let mut embargoed = clear("Embargoed advisory", "vulnerability-advisory", "high", &[]);
    embargoed["embargo_until"] = json!(t0().plus_millis(3_600_000).to_string());
    publish(&node, embargoed).await;
    let id = publish(
        &node,
        clear("Public phishing wave", "attack-warning", "high", &[]),
    )
    .await;
    let (name, data) = next_event(&mut body, &mut buf)
        .await
        .expect("the CLEAR bulletin arrives on the stream");
    assert_eq!(name, "bulletin");
    let b: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(b["id"], json!(id), "{b}");
    assert_eq!(b["title"], json!("Public phishing wave"));
    assert_eq!(b["summary"], json!("Summary of Public phishing wave."));
    assert_eq!(b["tlp"], json!("CLEAR"));
    // Exactly the bulletin as the public list shows it: no follow-up request is needed.
    let listed = node.browser().get("/public/v1/bulletins").await;
    let listed: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(listed["bulletins"][0], b);
    assert!(
        next_event(&mut body, &mut buf).await.is_none(),
        "nothing else is public"
    );
}

#[tokio::test]
async fn the_public_live_stream_refuses_subscribers_past_its_bound() {
    let node = node_with(PortalSettings {
        live_subscribers: 2,
        ..light()
    })
    .await;
    let first = subscribe_live(&node).await;
    let second = subscribe_live(&node).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    let third = subscribe_live(&node).await;
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    let bytes = axum::body::to_bytes(third.into_body(), 1 << 16)
        .await
        .unwrap();
    let refusal: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        refusal["error"]["code"],
        json!("too_many_subscribers"),
        "{refusal}"
    );
    assert_eq!(node.state.live.subscribers(), 2);
    // A subscriber that leaves frees its place.
    drop(first);
    assert_eq!(node.state.live.subscribers(), 1);
    let again = subscribe_live(&node).await;
    assert_eq!(again.status(), StatusCode::OK);
    // And the ones let in still receive.
    let mut body = second.into_body().into_data_stream();
    publish(&node, clear("Still live", "informational", "low", &[])).await;
    let (name, data) = next_event(&mut body, &mut String::new()).await.unwrap();
    assert_eq!(name, "bulletin");
    assert!(data.contains("Still live"), "{data}");
}
