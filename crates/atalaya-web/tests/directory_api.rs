//! The directory, census and coverage API in process, over a real SQLite file and a fixed
//! clock: what a liaison officer publishes, what is refused (with its code, nothing stored),
//! a census round from opening to report, and the exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::access::Role;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use common::{Api, team_record};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The team records the node holds.
async fn teams(api: &Api) -> Vec<Value> {
    api.get("/api/v1/teams").await.1["teams"]
        .as_array()
        .unwrap()
        .clone()
}

async fn assert_refused(api: &Api, body: Value, status: StatusCode, code: &str) {
    let before = teams(api).await;
    let id = body["id"].as_str().unwrap().replace('/', "%2F");
    let (s, v) = api.put(&format!("/api/v1/teams/{id}"), &body).await;
    assert_eq!(s, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    assert_eq!(
        teams(api).await,
        before,
        "nothing stored after a refused record"
    );
}

#[tokio::test]
async fn a_liaison_publishes_the_team_record_and_every_bad_record_is_refused() {
    let api = Api::start("lia", Role::Liaison).await;
    let (s, v) = api
        .put("/api/v1/teams/cl-csirt", &team_record("cl-csirt"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["team"]["short_name"], "ERP-TEST");
    let (s, one, _) = api.get("/api/v1/teams/cl-csirt").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        one["sim3"]["levels"]["O-1"], 3,
        "members see member-only fields"
    );
    // Filters.
    assert_eq!(
        api.get("/api/v1/teams?country=CL").await.1["teams"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/api/v1/teams?country=PE").await.1["teams"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        api.get("/api/v1/teams?service=communication").await.1["teams"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/api/v1/teams?service=exercises").await.1["teams"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (s, v, _) = api.get("/api/v1/teams?service=astrology").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown-service"))
    );

    let bad = |f: &dyn Fn(&mut Value)| {
        let mut r = team_record("cl-csirt");
        f(&mut r);
        r
    };
    let u = StatusCode::UNPROCESSABLE_ENTITY;
    assert_refused(
        &api,
        bad(&|r| r["country"] = json!("ZZ")),
        u,
        "unknown-country",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["services"] = json!(["astrology"])),
        u,
        "unknown-service",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["constituency"]["asns"] = json!([0])),
        u,
        "bad-asn",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["constituency"]["ip_ranges"] = json!(["10.0.0.1/8"])),
        u,
        "bad-cidr",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["constituency"]["ip_ranges"] = json!(["300.0.0.0/8"])),
        u,
        "bad-cidr",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["constituency"]["domains"] = json!(["exa*mple.org"])),
        u,
        "bad-domain",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["constituency"]["sectors"] = json!(["piracy"])),
        u,
        "unknown-sector",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["pgp_keys"] = json!([{"fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567", "expires": "2020-01-01"}])),
        u,
        "expired-key",
    )
    .await;
    assert_refused(
        &api,
        bad(&|r| r["pgp_keys"] = json!([{"fingerprint": "XYZ", "expires": null}])),
        u,
        "bad-key",
    )
    .await;
    // An armoured key: a malformed one, and a real one that has expired.
    assert_refused(
        &api,
        bad(&|r| r["pgp_keys"] = json!([{"fingerprint": "", "expires": null, "armored": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"}])),
        u,
        "bad-key",
    )
    .await;
    let expired = include_str!("../../atalaya-crypto/tests/fixtures/openpgp/expired.asc");
    assert_refused(
        &api,
        bad(&|r| r["pgp_keys"] = json!([{"fingerprint": "", "expires": null, "armored": expired}])),
        u,
        "expired-key",
    )
    .await;
    // The RSA keys most teams have, each checked as strictly as Ed25519 ones: every refusal
    // says why, and nothing is stored.
    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                "../../atalaya-crypto/tests/fixtures/openpgp/",
                $name
            ))
        };
    }
    for (armored, code, says) in [
        (fixture!("rsa1024.asc"), "bad-key", "RSA-1024"),
        (
            fixture!("rsa-bad-self-signature.asc"),
            "bad-key",
            "self-signature",
        ),
        (fixture!("malformed-armor.asc"), "bad-key", "key"),
        (fixture!("rsa-revoked.asc"), "bad-key", "revoked"),
        (fixture!("rsa-expired.asc"), "expired-key", "expired"),
        (
            fixture!("rsa-subkey-expired.asc"),
            "expired-key",
            "encryption subkey",
        ),
        (
            fixture!("rsa-subkey-revoked.asc"),
            "bad-key",
            "encryption subkey",
        ),
    ] {
        let body = bad(&|r| {
            r["pgp_keys"] = json!([{"fingerprint": "", "expires": null, "armored": armored}])
        });
        let before = teams(&api).await;
        let (s, v) = api.put("/api/v1/teams/cl-csirt", &body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (u, Some(code)),
            "{says}: {v}"
        );
        assert!(v.to_string().contains(says), "{says}: {v}");
        assert_eq!(teams(&api).await, before, "nothing stored: {says}");
    }
    // A record for a team another node is the authority for.
    assert_refused(
        &api,
        team_record("pe-csirt"),
        StatusCode::FORBIDDEN,
        "not_authoritative",
    )
    .await;
    // A hosted team of another country: the test node is the coordinator, which may record
    // teams of states without a node (a member may not: tested across processes in
    // crates/atalaya/tests/directory.rs).
    let mut hosted = bad(&|r| {
        r["id"] = json!("cl-csirt/peru-contact");
        r["country"] = json!("PE");
    });
    hosted["team_type"] = json!("government");
    let (s, v) = api
        .put("/api/v1/teams/cl-csirt%2Fperu-contact", &hosted)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Unknown fields, and a record whose id is not the path's.
    assert_refused(
        &api,
        bad(&|r| r["favourite_colour"] = json!("blue")),
        u,
        "malformed_entry",
    )
    .await;
    let (s, v) = api
        .put("/api/v1/teams/cl-csirt", &team_record("cl-csirt/other"))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id_mismatch"))
    );

    // A real armoured key that is valid fills its fingerprint and expiry from the key.
    let cert = include_str!("../../atalaya-crypto/tests/fixtures/openpgp/forever.asc");
    let mut r = team_record("cl-csirt");
    r["pgp_keys"] = json!([{"fingerprint": "", "expires": null, "armored": cert}]);
    let (s, v) = api.put("/api/v1/teams/cl-csirt", &r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fp = v["team"]["pgp_keys"][0]["fingerprint"].as_str().unwrap();
    assert_eq!(fp.len(), 40, "{fp}");
    let parsed = atalaya_crypto::openpgp::parse_public_key(cert.as_bytes()).unwrap();
    assert_eq!(fp, parsed.fingerprint);
    // An RSA key and an Ed25519 key with a Cv25519 subkey are accepted the same way.
    for (armored, fpr) in [
        (
            include_str!("../../atalaya-crypto/tests/fixtures/openpgp/rsa-valid.asc"),
            "607F4CD5F9991DE9B3A182DDCEE72FEC1AF0C281",
        ),
        (
            include_str!("../../atalaya-crypto/tests/fixtures/openpgp/ed25519-cv25519.asc"),
            "DB51D2C2B76F63B3473A34959CBFEE226FD9DE91",
        ),
    ] {
        let mut r = team_record("cl-csirt");
        r["pgp_keys"] = json!([{"fingerprint": fpr, "expires": null, "armored": armored}]);
        let (s, v) = api.put("/api/v1/teams/cl-csirt", &r).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["team"]["pgp_keys"][0]["fingerprint"], fpr, "{v}");
    }
}

#[tokio::test]
async fn a_read_only_person_reads_but_cannot_publish() {
    let api = Api::start("lia", Role::ReadOnly).await;
    let (s, v) = api
        .put("/api/v1/teams/cl-csirt", &team_record("cl-csirt"))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    assert_eq!(api.get("/api/v1/teams").await.0, StatusCode::OK);
}

#[tokio::test]
async fn exports_hygiene_and_import_all_or_nothing() {
    let api = Api::start("lia", Role::Admin).await;
    let (s, v) = api
        .put("/api/v1/teams/cl-csirt", &team_record("cl-csirt"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Exports carry the record; the public view drops member-only contacts.
    let (s, _, csv) = api.get("/api/v1/directory/export?format=csv").await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.contains("ERP-TEST"), "{csv}");
    let (_, members, _) = api.get("/api/v1/directory/export?format=json").await;
    assert!(members.to_string().contains("guardia@csirt.example.org"));
    let (_, public, _) = api
        .get("/api/v1/directory/export?format=json&view=public")
        .await;
    assert!(!public.to_string().contains("guardia@csirt.example.org"));
    assert!(!public.to_string().contains("members only"));
    let (_, _, rfc) = api.get("/api/v1/teams/cl-csirt/rfc2350").await;
    assert!(
        rfc.contains("incidentes@csirt.example.org") && !rfc.contains("guardia@"),
        "{rfc}"
    );
    let (_, _, vcf) = api.get("/api/v1/teams/cl-csirt/vcard").await;
    assert!(vcf.starts_with("BEGIN:VCARD"), "{vcf}");
    let (s, v, _) = api.get("/api/v1/directory/export?format=xls").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_format"))
    );

    // Key hygiene: the key expires 2027-06-30, 220 days after the test clock's day.
    let (_, h, _) = api.get("/api/v1/directory/hygiene?within_days=30").await;
    assert_eq!(h["expiring_keys"].as_array().unwrap().len(), 0, "{h}");
    let (_, h, _) = api.get("/api/v1/directory/hygiene?within_days=365").await;
    assert_eq!(h["expiring_keys"][0]["days_left"], 220, "{h}");
    assert_eq!(
        h["stale_contacts"][0]["team"], "cl-csirt",
        "never confirmed: {h}"
    );
    let (s, v) = api
        .post("/api/v1/teams/cl-csirt/confirm-contacts", &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, h, _) = api.get("/api/v1/directory/hygiene").await;
    assert_eq!(h["stale_contacts"].as_array().unwrap().len(), 0, "{h}");
    assert_eq!(h["key_problems"], json!([]), "{h}");
    // A key that only signs is listed, and hygiene says nothing can be encrypted to it; a key
    // with a Cv25519 encryption subkey is fine.
    let mut r = team_record("cl-csirt");
    r["pgp_keys"] = json!([
        {"fingerprint": "", "expires": null,
         "armored": include_str!("../../atalaya-crypto/tests/fixtures/openpgp/forever.asc")},
        {"fingerprint": "", "expires": null,
         "armored": include_str!("../../atalaya-crypto/tests/fixtures/openpgp/ed25519-cv25519.asc")}
    ]);
    let (s, v) = api.put("/api/v1/teams/cl-csirt", &r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, h, _) = api.get("/api/v1/directory/hygiene").await;
    assert_eq!(
        h["key_problems"],
        json!([{"team": "cl-csirt", "fingerprint": "C5B4995E0C7B0C8993E1BA9D7BAF98658EF9A51D",
                "problem": "no-encryption-key"}]),
        "{h}"
    );

    // Import: the Trusted Introducer format as hosted teams. A file with one bad team stores
    // nothing.
    let ti = json!([
        {"official_name": "Banca CSIRT de Prueba", "short_name": "Banca-CSIRT", "country": {"code": "CL", "name": "Chile"},
         "constituency": {"types": ["Financial"], "asns": [], "domains": [], "ipranges": ["198.51.100.0/24"], "countries": [{"code": "CL", "name": "Chile"}]},
         "emails": [{"address": "banca@example.org", "usage": ["contact"]}], "phones": [], "pgp_keys": []},
        {"official_name": "Bad CSIRT", "short_name": "Bad", "country": {"code": "CL", "name": "Chile"},
         "constituency": {"types": [], "asns": [], "domains": [], "ipranges": ["198.51.100.7/24"], "countries": []},
         "emails": [], "phones": [], "pgp_keys": []}
    ]);
    let before = teams(&api).await.len();
    let (s, v, _) = api
        .call(
            Method::POST,
            "/api/v1/directory/import?format=ti",
            Some(ti.to_string()),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("import_refused")),
        "{v}"
    );
    assert_eq!(v["error"]["problems"][0]["code"], "bad-cidr", "{v}");
    assert_eq!(teams(&api).await.len(), before, "nothing imported");
    let good = json!([ti[0].clone()]);
    let (s, v, _) = api
        .call(
            Method::POST,
            "/api/v1/directory/import?format=ti",
            Some(good.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["imported"][0], "cl-csirt/banca-csirt");
    let (s, hosted, _) = api.get("/api/v1/teams/cl-csirt%2Fbanca-csirt").await;
    assert_eq!(
        (s, hosted["team_type"].as_str()),
        (StatusCode::OK, Some("sectoral")),
        "{hosted}"
    );
    // The export of our JSON format imports back unchanged.
    let (_, doc, _) = api.get("/api/v1/directory/export?format=json").await;
    let (s, v, _) = api
        .call(
            Method::POST,
            "/api/v1/directory/import?format=json",
            Some(doc.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = api
        .call(
            Method::POST,
            "/api/v1/directory/import?format=ti",
            Some("{not json".into()),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("malformed")),
        "{v}"
    );
}

#[tokio::test]
async fn a_census_round_from_opening_to_report_and_closing() {
    let api = Api::start("lia", Role::Admin).await;
    api.put("/api/v1/teams/cl-csirt", &team_record("cl-csirt"))
        .await;
    let (s, v) = api
        .post("/api/v1/census/rounds", &json!({"title": "Census 2026"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["round"]["id"].as_str().unwrap().to_owned();
    let (_, rounds, _) = api.get("/api/v1/census/rounds").await;
    assert_eq!(rounds["rounds"][0]["open"], true);
    // Pre-filled from the record.
    let (_, pre, _) = api
        .get(&format!("/api/v1/census/rounds/{id}/prefill"))
        .await;
    assert_eq!(pre["answers"]["short_name"], "ERP-TEST", "{pre}");
    assert_eq!(pre["answers"]["available_24x7"], true, "{pre}");
    let mut answers = pre["answers"].clone();
    answers["full_time_staff"] = json!(12);
    answers["ticketing_system"] = json!("rtir");
    // An answer outside the choices stores nothing.
    let mut wrong = answers.clone();
    wrong["ticketing_system"] = json!("clipboard");
    let (s, v) = api
        .post(
            &format!("/api/v1/census/rounds/{id}/responses"),
            &json!({"answers": wrong}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not-a-choice")),
        "{v}"
    );
    let mut unknown = answers.clone();
    unknown["favourite_food"] = json!("empanadas");
    let (s, v) = api
        .post(
            &format!("/api/v1/census/rounds/{id}/responses"),
            &json!({"answers": unknown}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown-question")),
        "{v}"
    );
    let (_, r, _) = api
        .get(&format!("/api/v1/census/rounds/{id}/responses"))
        .await;
    assert_eq!(r["responses"].as_array().unwrap().len(), 0);
    // Answering for a team another node is the authority for.
    let (s, v) = api
        .post(
            &format!("/api/v1/census/rounds/{id}/responses"),
            &json!({"team": "pe-csirt", "answers": answers}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_authoritative")),
        "{v}"
    );
    let (s, v) = api
        .post(
            &format!("/api/v1/census/rounds/{id}/responses"),
            &json!({"answers": answers}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, report, _) = api.get(&format!("/api/v1/census/rounds/{id}/report")).await;
    assert_eq!(report["responded_teams"], 1, "{report}");
    let (_, cmp, _) = api
        .get("/api/v1/census/compare?question=ticketing_system")
        .await;
    assert_eq!(cmp["rounds"].as_array().unwrap().len(), 1, "{cmp}");
    // Closed: an answer is refused, nothing changes.
    let (s, v) = api
        .post(&format!("/api/v1/census/rounds/{id}/close"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    answers["full_time_staff"] = json!(99);
    let (s, v) = api
        .post(
            &format!("/api/v1/census/rounds/{id}/responses"),
            &json!({"answers": answers}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("round-closed")),
        "{v}"
    );
    let (_, r, _) = api
        .get(&format!("/api/v1/census/rounds/{id}/responses"))
        .await;
    assert_eq!(r["responses"][0]["answers"]["full_time_staff"], 12.0);
    let (s, v) = api
        .post(&format!("/api/v1/census/rounds/{id}/close"), &json!({}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("round-closed"))
    );
}

#[tokio::test]
async fn coverage_as_json_and_csv_and_the_minimum_set() {
    let api = Api::start("lia", Role::Admin).await;
    api.put("/api/v1/teams/cl-csirt", &team_record("cl-csirt"))
        .await;
    let (s, cov, _) = api.get("/api/v1/coverage").await;
    assert_eq!(s, StatusCode::OK);
    let text = cov.to_string();
    assert!(text.contains("\"CL\""), "{text}");
    let (s, _, csv) = api.get("/api/v1/coverage?format=csv").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        csv.lines().count(),
        36,
        "a header and 35 member states:\n{csv}"
    );
    let cl = csv.lines().find(|l| l.starts_with("CL,")).unwrap();
    assert!(cl.contains("cl-csirt"), "{cl}");
    let (_, min, _) = api.get("/api/v1/coverage/minimum-services").await;
    assert!(!min["requirements"].as_array().unwrap().is_empty());
    let mut bad = min.clone();
    bad["requirements"] = json!([{"id": "x", "name": {"en": "X"}, "test": {"kind": "service", "any_of": ["astrology"]}}]);
    let (s, v) = api.put("/api/v1/coverage/minimum-services", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = api.put("/api/v1/coverage/minimum-services", &min).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn cybercrime_and_standards_entries() {
    let api = Api::start("lia", Role::Admin).await;
    let cc = json!({
        "country": "CL",
        "authorities": [{"name": "Brigada Ficticia del Cibercrimen", "kind": "police",
            "contacts": [{"channel": "phone", "value": "+56 2 555 0111", "available_24x7": true}]}],
        "laws": [{"title": "Ley Ficticia de Delitos Informáticos", "kinds": ["substantive", "procedural"], "url": "https://leyes.example.org/1"}]
    });
    let (s, v) = api.put("/api/v1/cybercrime/CL", &cc).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, all, _) = api.get("/api/v1/cybercrime").await;
    assert_eq!(
        all["countries"][0]["authorities"][0]["contacts"][0]["available_24x7"],
        true
    );
    let mut bad = cc.clone();
    bad["authorities"][0]["contacts"][0]["value"] = json!("call me");
    let (s, v) = api.put("/api/v1/cybercrime/CL", &bad).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad-phone")),
        "{v}"
    );
    let mut pe = cc.clone();
    pe["country"] = json!("PE");
    let (s, v) = api.put("/api/v1/cybercrime/PE", &pe).await;
    // The test node is the coordinator: it may keep entries for states without a node.
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api.put("/api/v1/cybercrime/ZZ", &pe).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown-country"))
    );

    let reg = json!({"standards": [{"id": "itu-t-x1051", "body": "ITU-T", "number": "X.1051", "title": "Information security management for telecommunications organizations"}]});
    let (s, v) = api.put("/api/v1/standards", &reg).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let adoption = json!({"country": "CL", "adoptions": [{"standard": "itu-t-x1051", "status": "in-progress", "obstacles": "budget"}]});
    let (s, v) = api.put("/api/v1/standards/adoption/CL", &adoption).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let unknown =
        json!({"country": "CL", "adoptions": [{"standard": "iso-9999", "status": "adopted"}]});
    let (s, v) = api.put("/api/v1/standards/adoption/CL", &unknown).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown-standard")),
        "{v}"
    );
    let (_, list, _) = api.get("/api/v1/standards/adoption").await;
    assert_eq!(
        list["countries"][0]["adoptions"][0]["status"],
        "in-progress"
    );
}

#[tokio::test]
async fn security_txt_follows_the_team_record() {
    let api = Api::start("lia", Role::Admin).await;
    let get = |api: &Api| {
        let req = Request::builder()
            .uri("/.well-known/security.txt")
            .body(Body::empty())
            .unwrap();
        let app = api.node.app.clone();
        async move {
            let mut req = req;
            req.extensions_mut().insert(ConnectInfo(
                "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
            ));
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    // No record yet: nothing to say, and no invented contact.
    let (s, body) = get(&api).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, v) = api
        .put("/api/v1/teams/cl-csirt", &common::team_record("cl-csirt"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, body) = get(&api).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body.contains("Contact: mailto:incidentes@csirt.example.org\n"),
        "{body}"
    );
    assert!(
        !body.contains("guardia@"),
        "member-only contacts stay out: {body}"
    );
    assert!(body.contains("Expires: 2026-11-29T12:00:00Z\n"), "{body}");
    assert!(
        body.contains("Encryption: openpgp4fpr:0123456789abcdef"),
        "{body}"
    );
    assert!(body.contains("Preferred-Languages: es\n"), "{body}");
    assert!(
        body.contains("Canonical: https://atalaya.example.cl/.well-known/security.txt\n"),
        "{body}"
    );
}
