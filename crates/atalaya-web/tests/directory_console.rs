//! The directory in the console and the public directory page, through the node's router: the
//! list and its filters, member-only fields for members, the edit form (published on success,
//! every bad input refused with its message and nothing stored), CSRF and rights, and a public
//! page that never shows member-only data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::access::Role;
use atalaya_core::directory::{DirectoryEntry, TeamRecord};
use axum::http::StatusCode;
use common::{Browser, TestNode, t0, team_record};
use serde_json::{Value, json};

/// The shared team record as stored here: a key that expires soon after the clock, and a
/// member note to look for.
fn record(id: &str) -> Value {
    let mut v = team_record(id);
    v["pgp_keys"][0]["expires"] = json!("2026-12-10");
    v["member_notes"] = json!("Secret member note 4711");
    v["updated"] = json!(t0().to_string());
    v
}

async fn put(node: &TestNode, v: Value) {
    let t: TeamRecord = serde_json::from_value(v).unwrap();
    node.fed
        .publish_directory_entry(DirectoryEntry::Team(Box::new(t)))
        .await
        .unwrap();
}

async fn setup(role: Role) -> (TestNode, Browser) {
    let node = TestNode::start().await;
    put(&node, record("cl-csirt")).await;
    let mut banca = record("cl-csirt/banca");
    banca["short_name"] = json!("BANCA-CSIRT");
    banca["team_type"] = json!("sectoral");
    banca["services"] = json!(["vulnerability-report-intake"]);
    put(&node, banca).await;
    let b = node.signed_in("lia", role).await;
    (node, b)
}

/// The edit form's fields for the national team, as the form shows them.
fn fields() -> Vec<(&'static str, String)> {
    vec![
        ("official_name", "Equipo de Respuesta de Prueba".into()),
        ("short_name", "ERP-TEST".into()),
        ("country", "CL".into()),
        ("team_type", "national".into()),
        ("website", "https://csirt.example.org/".into()),
        ("types", "National".into()),
        ("sector", "energy".into()),
        ("asns", "64512".into()),
        ("domains", "*.example.org".into()),
        ("ip_ranges", "192.0.2.0/24".into()),
        ("countries", "CL".into()),
        ("service", "incident-coordination".into()),
        ("service", "communication".into()),
        ("hours", "09:00-18:00 Monday to Friday".into()),
        ("hours_tz", "America/Santiago".into()),
        ("available_24x7", "1".into()),
        (
            "emails",
            "incidentes@csirt.example.org | incident-report | public\nguardia@csirt.example.org | emergency | members".into(),
        ),
        ("phones", "+56 2 555 0100 | voice | public\n+56 9 555 0199 | emergency | members".into()),
        ("disseminates", "1".into()),
        ("shares", "1".into()),
        ("assists", "1".into()),
        ("sim3_O-1", "3".into()),
        ("notes", "Secret member note 4711".into()),
    ]
}

fn with(change: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut f: Vec<(&'static str, String)> = fields()
        .into_iter()
        .filter(|(k, _)| !change.iter().any(|(c, _)| c == k))
        .collect();
    f.extend(change.iter().map(|(k, v)| (*k, (*v).to_owned())));
    f
}

async fn submit(b: &mut Browser, path: &str, f: &[(&'static str, String)]) -> common::Reply {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.submit(path, &pairs).await
}

#[tokio::test]
async fn the_directory_lists_and_filters_teams_and_shows_member_only_fields_to_members() {
    let (_node, mut b) = setup(Role::ReadOnly).await;
    let all = b.get("/console/directory").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.body.contains("ERP-TEST") && all.body.contains("BANCA-CSIRT"));
    assert!(all.body.contains("Chile"), "country name");
    // The key expires on 2026-12-10, 18 days after the clock: flagged. Contacts never confirmed.
    assert!(all.body.contains("key-expiring"), "{}", all.body);
    assert!(all.body.contains("Not confirmed for 180 days"));
    let sectoral = b.get("/console/directory?type=sectoral").await;
    assert!(sectoral.body.contains("BANCA-CSIRT"));
    assert!(!sectoral.body.contains(">ERP-TEST<"));
    let svc = b
        .get("/console/directory?service=incident-coordination&country=CL")
        .await;
    assert!(svc.body.contains(">ERP-TEST<") && !svc.body.contains("BANCA-CSIRT"));
    let none = b.get("/console/directory?country=AR").await;
    assert!(none.body.contains("No teams match."));
    // Spanish for a Spanish-speaking person.
    let es = b
        .request(
            axum::http::Method::GET,
            "/console/directory",
            None,
            &[("accept-language", "es")],
        )
        .await;
    assert!(es.body.contains("Directorio de miembros"));

    let page = b.get("/console/directory/team/cl-csirt").await;
    assert_eq!(page.status, StatusCode::OK);
    for member_only in [
        "+56 9 555 0199",
        "guardia@csirt.example.org",
        "Secret member note 4711",
    ] {
        assert!(page.body.contains(member_only), "{member_only}");
    }
    assert!(
        page.body.contains("Organisation") || page.body.contains("O-1"),
        "SIM3 table"
    );
    assert!(
        page.body.contains("Incident Management")
            || page
                .body
                .contains("Information Security Incident Management")
    );
    assert!(
        !page.body.contains("/edit\""),
        "a read-only person gets no edit link"
    );
    let hosted = b.get("/console/directory/team/cl-csirt%2Fbanca").await;
    assert!(hosted.body.contains("BANCA-CSIRT"), "{}", hosted.body);
    assert_eq!(
        b.get("/console/directory/team/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_edit_form_publishes_and_every_bad_input_is_refused_with_its_message() {
    let (node, mut b) = setup(Role::Liaison).await;
    let form = b.get("/console/directory/team/cl-csirt/edit").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("value=\"ERP-TEST\""));
    let path = "/console/directory/team/cl-csirt/edit";

    let before = node.fed.team("cl-csirt").await.unwrap().unwrap();
    let cert = include_str!("../../atalaya-crypto/tests/fixtures/openpgp/cert.asc");
    let expired = include_str!("../../atalaya-crypto/tests/fixtures/openpgp/expired.asc");
    let cases: Vec<(Vec<(&'static str, String)>, &str)> = vec![
        (with(&[("country", "XX")]), "not an OAS member state"),
        (
            with(&[("service", "mind-reading")]),
            "not a service of the FIRST",
        ),
        (
            with(&[("asns", "AS-twelve")]),
            "not an autonomous system number",
        ),
        (with(&[("ip_ranges", "10.0.0.0/33")]), "ip_ranges"),
        (with(&[("domains", "bad..example")]), "constituency.domains"),
        (with(&[("pgp", expired)]), "has expired"),
        (
            with(&[(
                "pgp",
                include_str!("../../atalaya-crypto/tests/fixtures/openpgp/rsa1024.asc"),
            )]),
            "RSA-1024",
        ),
        (
            with(&[(
                "pgp",
                include_str!(
                    "../../atalaya-crypto/tests/fixtures/openpgp/rsa-bad-self-signature.asc"
                ),
            )]),
            "self-signature does not verify",
        ),
        (
            with(&[(
                "pgp",
                include_str!("../../atalaya-crypto/tests/fixtures/openpgp/rsa-subkey-expired.asc"),
            )]),
            "encryption subkey 954D8B0DD06D6DE37EA0D9FA39D6CC9F83C1577F",
        ),
        (
            with(&[(
                "pgp",
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----",
            )]),
            "pgp_keys",
        ),
    ];
    for (f, message) in cases {
        let r = submit(&mut b, path, &f).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}: {}",
            r.body
        );
        assert!(r.body.contains("id=\"problems\""), "{message}");
        assert!(r.body.contains(message), "{message}: {}", r.body);
        assert_eq!(
            node.fed.team("cl-csirt").await.unwrap().unwrap(),
            before,
            "nothing stored"
        );
    }

    // Without the CSRF token: refused, nothing stored.
    let pairs: Vec<(&str, String)> = with(&[("short_name", "NO-CSRF")]);
    let plain: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(path, &plain).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(node.fed.team("cl-csirt").await.unwrap().unwrap(), before);

    // The happy path: a new name and a key read from its armour (a second later: the newest
    // entry wins).
    node.clock.advance_millis(1000);
    let r = submit(
        &mut b,
        path,
        &with(&[("short_name", "CSIRT-CL"), ("pgp", cert)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = node.fed.team("cl-csirt").await.unwrap().unwrap();
    assert_eq!(after.short_name, "CSIRT-CL");
    assert!(after.pgp_keys[0].armored.is_some());
    assert_eq!(after.pgp_keys[0].fingerprint.len(), 40);
    assert!(after.pgp_keys[0].expires.is_some());
    assert_eq!(after.sim3.as_ref().unwrap().levels.len(), 1);
    let page = b.get(r.location()).await;
    assert!(page.body.contains("CSIRT-CL") && page.body.contains("Saved."));

    // Confirm contacts.
    node.clock.advance_millis(1000);
    let r = b
        .submit("/console/directory/team/cl-csirt/confirm", &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        node.fed
            .team("cl-csirt")
            .await
            .unwrap()
            .unwrap()
            .contacts_confirmed,
        Some(t0().plus_millis(2000))
    );

    // A new hosted team.
    let r = submit(
        &mut b,
        "/console/directory/new",
        &with(&[
            ("slug", "salud"),
            ("short_name", "SALUD-CSIRT"),
            ("team_type", "sectoral"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        node.fed
            .team("cl-csirt/salud")
            .await
            .unwrap()
            .unwrap()
            .short_name,
        "SALUD-CSIRT"
    );
    let r = submit(
        &mut b,
        "/console/directory/new",
        &with(&[("slug", "Bad Slug")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn teams_of_other_nodes_and_read_only_people_cannot_be_edited() {
    let (node, mut b) = setup(Role::Liaison).await;
    // A record received from another node (stored as a receiver would).
    let mut foreign = record("ar-csirt");
    foreign["country"] = json!("AR");
    let t: TeamRecord = serde_json::from_value(foreign).unwrap();
    node.fed
        .store
        .save_directory_entry(&atalaya_store::DirectoryRow {
            record: "team".into(),
            key: "ar-csirt".into(),
            authority: atalaya_core::NodeId::new("ar-csirt").unwrap(),
            created: t0(),
            envelope: uuid::Uuid::nil(),
            body: serde_json::to_string(&DirectoryEntry::Team(Box::new(t))).unwrap(),
        })
        .await
        .unwrap();
    let r = b.get("/console/directory/team/ar-csirt/edit").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("not_authoritative"));
    let r = submit(
        &mut b,
        "/console/directory/team/ar-csirt/edit",
        &with(&[("country", "AR")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let page = b.get("/console/directory/team/ar-csirt").await;
    assert!(
        !page.body.contains("/edit\""),
        "no edit link for another node's team"
    );

    let mut ro = node.signed_in("rosa", Role::ReadOnly).await;
    ro.get("/console/directory").await;
    let r = submit(
        &mut ro,
        "/console/directory/team/cl-csirt/edit",
        &with(&[("short_name", "X")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        node.fed.team("cl-csirt").await.unwrap().unwrap().short_name,
        "ERP-TEST"
    );
}

#[tokio::test]
async fn the_public_directory_shows_public_fields_only_and_renders_names_inert() {
    let (node, _b) = setup(Role::ReadOnly).await;
    let mut evil = record("cl-csirt/evil");
    evil["short_name"] = json!("<script>alert(1)</script>");
    evil["team_type"] = json!("private");
    put(&node, evil).await;
    let mut anon = node.browser();
    let r = anon.get("/directory").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("ERP-TEST") && r.body.contains("+56 2 555 0100"));
    assert!(
        r.body.contains("incidentes@csirt.example.org"),
        "how to report"
    );
    assert!(r.body.contains("0123456789ABCDEF0123456789ABCDEF01234567"));
    for hidden in [
        "+56 9 555 0199",
        "guardia@csirt.example.org",
        "Secret member note 4711",
        "SIM3",
    ] {
        assert!(!r.body.contains(hidden), "{hidden} must not be public");
    }
    assert!(!r.body.contains("<script>alert(1)"));
    assert!(
        r.body.contains("alert(1)") && r.body.contains("script&#62;alert(1)"),
        "shown as text"
    );
    let csp = r
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"));
    let es = anon.get("/directory?lang=es").await;
    assert!(es.body.contains("Directorio de CSIRT de las Américas"));
    let txt = anon.get("/directory/cl-csirt.txt").await;
    assert_eq!(txt.status, StatusCode::OK);
    assert!(txt.body.contains("ERP-TEST") && !txt.body.contains("+56 9 555 0199"));
    let vcf = anon.get("/directory/cl-csirt%2Fbanca.vcf").await;
    assert!(vcf.body.contains("BEGIN:VCARD") && !vcf.body.contains("555 0199"));
    assert_eq!(
        anon.get("/directory/nope.txt").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn coverage_cybercrime_and_standards_pages() {
    let (node, mut b) = setup(Role::Liaison).await;
    let r = b.get("/console/coverage").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("cov-none") && r.body.contains("data-country=\"CL\""));
    assert!(r.body.contains("States without a national CSIRT"));
    assert!(r.body.contains("<svg") && r.body.contains("Teams by type"));
    assert!(r.body.contains("/api/v1/coverage?format=csv"));
    assert!(r.body.contains("Keys that cannot be encrypted to"));
    // A key that only signs is listed; the hygiene card says nothing can be encrypted to it.
    let forever = include_str!("../../atalaya-crypto/tests/fixtures/openpgp/forever.asc");
    node.clock.advance_millis(1000); // the newest entry wins
    let edit = submit(
        &mut b,
        "/console/directory/team/cl-csirt/edit",
        &with(&[("pgp", forever)]),
    )
    .await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER, "{}", edit.body);
    let r = b.get("/console/coverage").await;
    assert!(
        r.body.contains("C5B4995E0C7B0C8993E1BA9D7BAF98658EF9A51D")
            && r.body.contains("No usable encryption subkey"),
        "{}",
        r.body
    );

    let r = b.get("/console/cybercrime").await;
    assert_eq!(r.status, StatusCode::OK);
    let bad = b
        .submit(
            "/console/cybercrime",
            &[("json", "{\"laws\": [{\"title\": \"\", \"kinds\": []}]}")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("laws[0].title"));
    let good = b
        .submit(
            "/console/cybercrime",
            &[("json", "{\"authorities\": [{\"name\": \"PDI Cibercrimen\", \"kind\": \"police\", \"contacts\": [{\"channel\": \"phone\", \"value\": \"+56 2 2708 0000\", \"available_24x7\": true}]}], \"laws\": [{\"title\": \"Ley 21.459\", \"kinds\": [\"substantive\"], \"url\": \"https://www.bcn.cl/leychile/navegar?idNorma=1177743\"}]}")],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    let r = b.get("/console/cybercrime").await;
    assert!(r.body.contains("PDI Cibercrimen") && r.body.contains("Ley 21.459"));
    // The law is public, the authority is not.
    let public = node_public(&mut b).await;
    assert!(public.contains("Ley 21.459") && !public.contains("PDI Cibercrimen"));

    let r = b.get("/console/standards").await;
    assert_eq!(r.status, StatusCode::OK);
    let bad = b
        .submit("/console/standards", &[("status_x1051", "sort-of")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn node_public(b: &mut Browser) -> String {
    b.get("/directory").await.body
}
