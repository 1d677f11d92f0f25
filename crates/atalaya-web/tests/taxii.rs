//! The TAXII 2.1 server at `/taxii2/`: discovery, API root, collections per audience and token,
//! paging, manifest, versions, match filters, posting, and the standard's errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::collections::HashSet;

use atalaya_core::BulletinDraft;
use atalaya_core::access::Role;
use atalaya_formats::exchange::{ImportError, ImportOptions, Imported};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::TestNode;
use serde_json::{Value, json};
use tower::ServiceExt;

const TAXII: &str = "application/taxii+json;version=2.1";
const CLEAR_MARKING: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn call(
    node: &TestNode,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Got {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:7400");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
    {
        req = req.header(header::ACCEPT, TAXII);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = node
        .app
        .clone()
        .oneshot(req.body(Body::from(body.unwrap_or_default())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Got {
        status,
        headers,
        body,
    }
}

async fn get(node: &TestNode, path: &str, token: Option<&str>) -> Got {
    call(node, Method::GET, path, token, &[], None).await
}

/// A token of a new person with `role` (optionally narrowed to `scopes`).
async fn token(node: &TestNode, name: &str, role: Role, scopes: Option<&str>) -> String {
    node.user(name, role, true).await;
    let owner = node.fed.store.user_by_name(name).await.unwrap().unwrap();
    let scopes = scopes.map_or_else(|| role.permissions().to_scopes(), str::to_owned);
    node.state
        .accounts
        .issue_token(Some(&owner), "taxii", &scopes, None)
        .await
        .unwrap()
        .0
}

async fn publish(node: &TestNode, draft: Value) -> uuid::Uuid {
    let draft: BulletinDraft = serde_json::from_value(draft).unwrap();
    node.fed.publish(draft).await.unwrap().0.id
}

fn warning(tlp: &str, title: &str, indicators: usize) -> Value {
    let indicators: Vec<Value> = (0..indicators)
        .map(|i| json!({"type": "ip", "value": format!("192.0.2.{}", i % 250), "comment": format!("host {i}")}))
        .collect();
    json!({
        "tlp": tlp, "kind": "attack-warning", "title": title, "summary": "Watch out.",
        "severity": "high", "indicators": indicators,
    })
}

fn objects(g: &Got) -> Vec<Value> {
    g.body["objects"].as_array().cloned().unwrap_or_default()
}

fn error_code(g: &Got) -> String {
    assert_eq!(
        g.headers.get(header::CONTENT_TYPE).unwrap(),
        TAXII,
        "errors are TAXII resources"
    );
    assert!(g.body["title"].is_string(), "{}", g.body);
    assert_eq!(
        g.body["http_status"],
        json!(g.status.as_u16().to_string()),
        "{}",
        g.body
    );
    g.body["error_code"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn discovery_and_api_root() {
    let node = TestNode::start().await;
    let d = get(&node, "/taxii2/", None).await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.headers.get(header::CONTENT_TYPE).unwrap(), TAXII);
    assert_eq!(
        d.body["api_roots"],
        json!(["http://127.0.0.1:7400/taxii2/api/"])
    );
    assert_eq!(d.body["default"], "http://127.0.0.1:7400/taxii2/api/");
    let r = get(&node, "/taxii2/api/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["versions"], json!([TAXII]));
    assert!(r.body["max_content_length"].as_u64().unwrap() >= 1 << 20);
    // Accept without the version, and wildcards, are served too.
    for accept in ["application/taxii+json", "*/*"] {
        let g = call(
            &node,
            Method::GET,
            "/taxii2/",
            None,
            &[("accept", accept)],
            None,
        )
        .await;
        assert_eq!(g.status, StatusCode::OK, "{accept}");
    }
}

#[tokio::test]
async fn collections_depend_on_the_token() {
    let node = TestNode::start().await;
    let anonymous = get(&node, "/taxii2/api/collections/", None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    let aliases = |g: &Got| -> Vec<String> {
        g.body["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["alias"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(aliases(&anonymous), ["public"]);
    assert_eq!(anonymous.body["collections"][0]["can_read"], true);
    assert_eq!(anonymous.body["collections"][0]["can_write"], false);
    assert_eq!(
        anonymous.body["collections"][0]["media_types"],
        json!(["application/stix+json;version=2.1"])
    );

    let reader = token(&node, "rita", Role::ReadOnly, None).await;
    let r = get(&node, "/taxii2/api/collections/", Some(&reader)).await;
    assert_eq!(aliases(&r), ["public", "network", "country-cl"]);
    assert!(
        r.body["collections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["can_write"] == false)
    );

    let analyst = token(&node, "andy", Role::Analyst, None).await;
    let a = get(&node, "/taxii2/api/collections/", Some(&analyst)).await;
    let network = &a.body["collections"][1];
    assert_eq!(
        (network["can_read"].clone(), network["can_write"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        a.body["collections"][0]["can_write"], false,
        "public is read-only"
    );

    // One collection, by id or alias.
    let id = network["id"].as_str().unwrap();
    let by_id = get(
        &node,
        &format!("/taxii2/api/collections/{id}/"),
        Some(&analyst),
    )
    .await;
    assert_eq!(by_id.body["alias"], "network");
    let by_alias = get(&node, "/taxii2/api/collections/network/", Some(&analyst)).await;
    assert_eq!(by_alias.body["id"], json!(id));

    // A token without bulletins:read sees only public, and is refused the rest.
    let narrow = token(&node, "dora", Role::ReadOnly, Some("directory:read")).await;
    assert_eq!(
        aliases(&get(&node, "/taxii2/api/collections/", Some(&narrow)).await),
        ["public"]
    );
    let refused = get(
        &node,
        "/taxii2/api/collections/network/objects/",
        Some(&narrow),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&refused), "forbidden");
}

#[tokio::test]
async fn the_public_collection_holds_only_what_the_public_may_see() {
    let node = TestNode::start().await;
    let clear = publish(&node, warning("CLEAR", "Public warning", 3)).await;
    publish(&node, warning("GREEN", "Community warning", 2)).await;
    let mut embargoed = warning("CLEAR", "Embargoed warning", 1);
    embargoed["embargo_until"] = json!("2026-11-23T12:00:00Z");
    publish(&node, embargoed).await;

    let public = get(&node, "/taxii2/api/collections/public/objects/", None).await;
    assert_eq!(public.status, StatusCode::OK);
    let objs = objects(&public);
    let reports: Vec<&str> = objs
        .iter()
        .filter(|o| o["type"] == "report")
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(reports, ["Public warning"]);
    for o in &objs {
        if o["type"] != "marking-definition" {
            assert_eq!(o["object_marking_refs"], json!([CLEAR_MARKING]), "{o}");
        }
    }
    assert_eq!(objs.iter().filter(|o| o["type"] == "indicator").count(), 3);
    assert!(public.body["more"] == false);
    // The report names the bulletin it came from.
    let report = objs.iter().find(|o| o["type"] == "report").unwrap();
    assert_eq!(
        report["external_references"][0]["external_id"],
        json!(clear.to_string())
    );

    // The network collection holds the GREEN one too (the embargo binds only the public).
    let reader = token(&node, "rita", Role::ReadOnly, None).await;
    let network = get(
        &node,
        "/taxii2/api/collections/network/objects/?match[type]=report",
        Some(&reader),
    )
    .await;
    assert_eq!(objects(&network).len(), 3);
    // Without a token, the network collection is refused with a challenge.
    let anonymous = get(&node, "/taxii2/api/collections/network/objects/", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&anonymous), "unauthorized");
    assert!(
        anonymous
            .headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("Bearer"))
    );

    // When the embargo ends, the decision made at the next request lets it out.
    node.clock.advance_millis(25 * 3600 * 1000);
    let later = get(
        &node,
        "/taxii2/api/collections/public/objects/?match[type]=report",
        None,
    )
    .await;
    assert_eq!(objects(&later).len(), 2);
}

#[tokio::test]
async fn red_objects_reach_only_the_named_people_and_country_collections_follow_the_audience() {
    let node = TestNode::start().await;
    let mut red = warning("RED", "For Ana only", 1);
    red["audience"] = json!({"scope": "nodes", "nodes": ["cl-csirt"]});
    red["people"] = json!(["ana@cl-csirt"]);
    publish(&node, red).await;
    let mut chile = warning("AMBER", "For Chile", 1);
    chile["audience"] = json!({"scope": "countries", "countries": ["CL"]});
    publish(&node, chile).await;
    publish(&node, warning("GREEN", "For everyone", 1)).await;

    let ana = token(&node, "ana", Role::ReadOnly, None).await;
    let bob = token(&node, "bob", Role::ReadOnly, None).await;
    let names = |g: &Got| -> HashSet<String> {
        objects(g)
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let q = "/taxii2/api/collections/network/objects/?match[type]=report";
    assert_eq!(names(&get(&node, q, Some(&ana)).await).len(), 3);
    let bob_sees = names(&get(&node, q, Some(&bob)).await);
    assert!(!bob_sees.contains("For Ana only"), "{bob_sees:?}");
    assert_eq!(bob_sees.len(), 2);
    // Asking for the RED report by id is a 404 for Bob.
    let red_id = objects(&get(&node, q, Some(&ana)).await)
        .into_iter()
        .find(|o| o["name"] == "For Ana only")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hidden = get(
        &node,
        &format!("/taxii2/api/collections/network/objects/{red_id}/"),
        Some(&bob),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    let country = get(
        &node,
        "/taxii2/api/collections/country-cl/objects/?match[type]=report",
        Some(&ana),
    )
    .await;
    let in_chile = names(&country);
    assert!(
        in_chile.contains("For Chile") && in_chile.contains("For Ana only"),
        "{in_chile:?}"
    );
    assert!(
        !in_chile.contains("For everyone"),
        "network-wide bulletins are in `network`"
    );
}

#[tokio::test]
async fn paging_with_limit_next_and_added_after_visits_every_object_once() {
    let node = TestNode::start().await;
    publish(&node, warning("CLEAR", "Big warning", 40)).await;
    publish(&node, warning("CLEAR", "Second warning", 5)).await;
    let everything = objects(
        &get(
            &node,
            "/taxii2/api/collections/public/objects/?limit=1000",
            None,
        )
        .await,
    );
    // 2 reports, 45 indicators, one identity, one marking.
    assert_eq!(everything.len(), 49);

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &next {
            Some(n) => format!("/taxii2/api/collections/public/objects/?limit=7&next={n}"),
            None => "/taxii2/api/collections/public/objects/?limit=7".into(),
        };
        let g = get(&node, &path, None).await;
        assert_eq!(g.status, StatusCode::OK, "{}", g.body);
        let page = objects(&g);
        assert!(page.len() <= 7);
        let first = g.headers["x-taxii-date-added-first"].to_str().unwrap();
        let last = g.headers["x-taxii-date-added-last"].to_str().unwrap();
        assert!(
            first <= last && first.ends_with('Z') && first.len() == 27,
            "{first}"
        );
        seen.extend(page.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        pages += 1;
        if g.body["more"] == true {
            next = Some(g.body["next"].as_str().unwrap().to_owned());
        } else {
            assert!(g.body.get("next").is_none());
            break;
        }
    }
    assert_eq!(pages, 7);
    let ids: Vec<String> = everything
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ids, "every object once, in order");

    // Paging by added_after with the last date of a page gives the rest.
    let first = get(
        &node,
        "/taxii2/api/collections/public/objects/?limit=10",
        None,
    )
    .await;
    let last = first.headers["x-taxii-date-added-last"]
        .to_str()
        .unwrap()
        .to_owned();
    let rest = get(
        &node,
        &format!("/taxii2/api/collections/public/objects/?added_after={last}&limit=1000"),
        None,
    )
    .await;
    assert_eq!(objects(&rest).len(), 39);
    assert_eq!(objects(&rest)[0]["id"], everything[10]["id"]);

    // The manifest lists the same objects, paged the same way.
    let m = get(
        &node,
        "/taxii2/api/collections/public/manifest/?limit=5",
        None,
    )
    .await;
    assert_eq!(m.status, StatusCode::OK);
    let records = m.body["objects"].as_array().unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["id"], everything[0]["id"]);
    assert_eq!(
        records[0]["media_type"],
        "application/stix+json;version=2.1"
    );
    assert!(records[0]["date_added"].as_str().unwrap().ends_with('Z'));
    assert_eq!(m.body["more"], true);
    let report = everything.iter().find(|o| o["type"] == "report").unwrap();
    let rec = get(
        &node,
        &format!(
            "/taxii2/api/collections/public/manifest/?match[id]={}",
            report["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(rec.body["objects"][0]["version"], report["modified"]);
}

#[tokio::test]
async fn a_large_backlog_is_kept_in_pieces_and_pages_every_object_once() {
    let node = TestNode::start().await;
    // More objects than one save of the sync holds: it saves in pieces.
    for k in 0..3 {
        publish(
            &node,
            warning("CLEAR", &format!("Large warning {k}"), 3_000),
        )
        .await;
    }
    let mut seen = std::collections::HashSet::new();
    let mut next: Option<String> = None;
    let mut total = 0;
    loop {
        let path = match &next {
            Some(n) => format!("/taxii2/api/collections/public/objects/?limit=1000&next={n}"),
            None => "/taxii2/api/collections/public/objects/?limit=1000".into(),
        };
        let g = get(&node, &path, None).await;
        assert_eq!(g.status, StatusCode::OK, "{}", g.body);
        for o in objects(&g) {
            total += 1;
            seen.insert(o["id"].as_str().unwrap().to_owned());
        }
        if g.body["more"] == true {
            next = Some(g.body["next"].as_str().unwrap().to_owned());
        } else {
            break;
        }
    }
    // 3 reports, 9,000 indicators, one identity, one marking; each once.
    assert_eq!(total, 9_005);
    assert_eq!(seen.len(), 9_005);
}

#[tokio::test]
async fn match_filters_object_and_versions() {
    let node = TestNode::start().await;
    let mut draft = warning("CLEAR", "Mixed", 2);
    draft["indicators"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "cve", "value": "CVE-2026-12345"}));
    publish(&node, draft).await;
    let base = "/taxii2/api/collections/public/objects/";
    let types = |g: &Got| -> Vec<String> {
        objects(g)
            .iter()
            .map(|o| o["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        types(&get(&node, &format!("{base}?match[type]=indicator"), None).await),
        ["indicator", "indicator"]
    );
    assert_eq!(
        types(
            &get(
                &node,
                &format!("{base}?match[type]=vulnerability,report"),
                None
            )
            .await
        ),
        ["report", "vulnerability"]
    );
    let all = objects(&get(&node, base, None).await);
    let indicator = all.iter().find(|o| o["type"] == "indicator").unwrap();
    let id = indicator["id"].as_str().unwrap();
    let one = get(&node, &format!("{base}?match[id]={id}"), None).await;
    assert_eq!(objects(&one), std::slice::from_ref(indicator));
    for v in [
        "first",
        "last",
        "all",
        indicator["modified"].as_str().unwrap(),
    ] {
        let g = get(
            &node,
            &format!("{base}?match[id]={id}&match[version]={v}"),
            None,
        )
        .await;
        assert_eq!(objects(&g).len(), 1, "match[version]={v}");
    }
    let none = get(
        &node,
        &format!("{base}?match[id]={id}&match[version]=2001-01-01T00:00:00Z"),
        None,
    )
    .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body.get("objects").is_none());
    assert_eq!(none.body["more"], false);
    assert!(
        objects(&get(&node, &format!("{base}?match[spec_version]=2.0"), None).await).is_empty()
    );
    assert_eq!(
        objects(&get(&node, &format!("{base}?match[spec_version]=2.1"), None).await).len(),
        all.len()
    );

    // One object, and its versions.
    let single = get(&node, &format!("{base}{id}/"), None).await;
    assert_eq!(single.status, StatusCode::OK);
    assert_eq!(objects(&single), std::slice::from_ref(indicator));
    let versions = get(&node, &format!("{base}{id}/versions/"), None).await;
    assert_eq!(versions.status, StatusCode::OK);
    assert_eq!(versions.body["versions"], json!([indicator["modified"]]));
    assert!(versions.headers.contains_key("x-taxii-date-added-last"));
    let unknown = "indicator--00000000-0000-4000-8000-000000000000";
    for path in [
        format!("{base}{unknown}/"),
        format!("{base}{unknown}/versions/"),
        format!("{base}not-an-id/"),
    ] {
        let g = get(&node, &path, None).await;
        assert_eq!(g.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(&g), "not_found");
    }
}

#[tokio::test]
async fn requests_the_server_cannot_serve_get_the_standards_errors() {
    let node = TestNode::start().await;
    publish(&node, warning("CLEAR", "Something", 1)).await;
    let objects_path = "/taxii2/api/collections/public/objects/";
    for (accept, path) in [
        ("application/json", "/taxii2/"),
        ("application/taxii+json;version=2.0", objects_path),
        ("text/html", "/taxii2/api/collections/"),
    ] {
        let g = call(&node, Method::GET, path, None, &[("accept", accept)], None).await;
        assert_eq!(g.status, StatusCode::NOT_ACCEPTABLE, "{accept} {path}");
        assert_eq!(error_code(&g), "not_acceptable");
    }
    let cases = [
        (
            "/taxii2/api/collections/nope/",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/taxii2/api/collections/00000000-0000-4000-8000-000000000000/objects/",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/taxii2/api/collections/public/objects/?added_after=yesterday",
            StatusCode::BAD_REQUEST,
            "bad_added_after",
        ),
        (
            "/taxii2/api/collections/public/objects/?limit=0",
            StatusCode::BAD_REQUEST,
            "bad_limit",
        ),
        (
            "/taxii2/api/collections/public/objects/?limit=many",
            StatusCode::BAD_REQUEST,
            "bad_limit",
        ),
        (
            "/taxii2/api/collections/public/manifest/?limit=-1",
            StatusCode::BAD_REQUEST,
            "bad_limit",
        ),
        (
            "/taxii2/api/collections/public/objects/?next=garbage",
            StatusCode::BAD_REQUEST,
            "bad_next",
        ),
        (
            "/taxii2/api/collections/public/objects/?match[type]=BAD!",
            StatusCode::BAD_REQUEST,
            "bad_match",
        ),
        (
            "/taxii2/api/collections/public/objects/?match[colour]=red",
            StatusCode::BAD_REQUEST,
            "bad_match",
        ),
        (
            "/taxii2/api/collections/public/objects/?match[version]=newest",
            StatusCode::BAD_REQUEST,
            "bad_match",
        ),
    ];
    for (path, status, code) in cases {
        let g = get(&node, path, None).await;
        assert_eq!(g.status, status, "{path}: {}", g.body);
        assert_eq!(error_code(&g), code, "{path}");
    }
    // A `next` reused with other filters.
    let first = get(&node, &format!("{objects_path}?limit=1"), None).await;
    let next = first.body["next"].as_str().unwrap();
    let changed = get(
        &node,
        &format!("{objects_path}?limit=1&match[type]=report&next={next}"),
        None,
    )
    .await;
    assert_eq!(changed.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&changed), "bad_next");
    // Wrong credentials are refused even on the public collection.
    for auth in ["Bearer not-a-token", "Basic !!!", "Digest x"] {
        let g = call(
            &node,
            Method::GET,
            objects_path,
            None,
            &[("authorization", auth)],
            None,
        )
        .await;
        assert_eq!(g.status, StatusCode::UNAUTHORIZED, "{auth}");
        assert!(g.headers.contains_key(header::WWW_AUTHENTICATE));
    }
}

#[tokio::test]
async fn basic_authentication_takes_the_token_as_password() {
    use base64::Engine as _;
    let node = TestNode::start().await;
    let reader = token(&node, "rita", Role::ReadOnly, None).await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("rita:{reader}"))
    );
    let g = call(
        &node,
        Method::GET,
        "/taxii2/api/collections/network/",
        None,
        &[("authorization", &basic)],
        None,
    )
    .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.body);
}

fn envelope() -> String {
    json!({"objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--6d8e4b1e-0b3a-4c5e-9f2a-1b2c3d4e5f60",
         "created": "2026-11-22T12:00:00.000Z", "modified": "2026-11-22T12:00:00.000Z",
         "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix",
         "valid_from": "2026-11-22T12:00:00.000Z"},
        {"type": "indicator", "id": "indicator--nope"}
    ]})
    .to_string()
}

async fn post(node: &TestNode, token: Option<&str>, content_type: &str, body: String) -> Got {
    call(
        node,
        Method::POST,
        "/taxii2/api/collections/network/objects/",
        token,
        &[("content-type", content_type)],
        Some(body),
    )
    .await
}

fn fake_import(bytes: &[u8], _: &ImportOptions) -> Result<Imported, ImportError> {
    let bundle: Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(bundle["type"], "bundle");
    let draft = serde_json::from_value(json!({
        "tlp": "GREEN", "kind": "attack-warning", "title": "Imported over TAXII",
        "summary": "From a client.", "severity": "medium",
        "indicators": [{"type": "ip", "value": "203.0.113.9"}],
    }))
    .unwrap();
    // Made of the posted objects, at their versions.
    let objects = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| atalaya_formats::exchange::SourceObject {
            key: o["id"].as_str().unwrap_or_default().to_owned(),
            version: o["modified"].as_str().unwrap_or_default().to_owned(),
            indicators: 0,
        })
        .collect();
    Ok(Imported {
        bulletins: vec![draft],
        sources: vec![atalaya_formats::exchange::ImportSource {
            format: atalaya_formats::exchange::SourceFormat::Stix,
            objects,
            part: 0,
            grouped: false,
            from: String::new(),
        }],
        warnings: vec![],
    })
}

#[tokio::test]
async fn posting_objects_needs_the_right_a_taxii_body_and_answers_with_a_status() {
    let node = TestNode::start().await;
    let reader = token(&node, "rita", Role::ReadOnly, None).await;
    let analyst = token(&node, "andy", Role::Analyst, None).await;

    let g = post(&node, None, TAXII, envelope()).await;
    assert_eq!(g.status, StatusCode::UNAUTHORIZED);
    let g = post(&node, Some(&reader), TAXII, envelope()).await;
    assert_eq!(g.status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&g), "forbidden");
    let g = call(
        &node,
        Method::POST,
        "/taxii2/api/collections/public/objects/",
        Some(&analyst),
        &[("content-type", TAXII)],
        Some(envelope()),
    )
    .await;
    assert_eq!(g.status, StatusCode::FORBIDDEN, "public is read-only");
    let g = post(&node, Some(&analyst), "application/json", envelope()).await;
    assert_eq!(g.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&g), "unsupported_media_type");
    for bad in [
        "{not json",
        "[]",
        "{\"objects\": 5}",
        "{\"objects\": [], \"extra\": 1}",
    ] {
        let g = post(&node, Some(&analyst), TAXII, bad.into()).await;
        assert_eq!(g.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(&g), "bad_envelope", "{bad}");
    }
    let g = post(&node, Some(&analyst), TAXII, "x".repeat(17 << 20)).await;
    assert_eq!(g.status, StatusCode::PAYLOAD_TOO_LARGE);

    // The node's STIX importer refuses objects that carry no TLP marking: checked, and refused
    // with reasons; nothing stored.
    let before = node.bulletins().await;
    let g = post(&node, Some(&analyst), TAXII, envelope()).await;
    assert_eq!(g.status, StatusCode::ACCEPTED, "{}", g.body);
    assert_eq!(g.body["status"], "complete");
    assert_eq!(g.body["total_count"], 2);
    assert_eq!(g.body["failure_count"], 2);
    assert_eq!(g.body["success_count"], 0);
    assert!(
        g.body["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a STIX id"),
        "{}",
        g.body
    );
    assert!(
        g.body["failures"][1]["message"]
            .as_str()
            .unwrap()
            .starts_with("no_label"),
        "{}",
        g.body
    );
    assert_eq!(node.bulletins().await, before);
    let id = g.body["id"].as_str().unwrap();
    let s = get(&node, &format!("/taxii2/api/status/{id}/"), Some(&analyst)).await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.body, g.body);
    let other = get(&node, &format!("/taxii2/api/status/{id}/"), Some(&reader)).await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "a status is its poster's"
    );

    // With an importer, the good objects become a bulletin this node publishes.
    node.state.taxii.set_importer(fake_import);
    let g = post(&node, Some(&analyst), TAXII, envelope()).await;
    assert_eq!(g.body["success_count"], 1, "{}", g.body);
    assert_eq!(
        g.body["successes"][0]["id"],
        "indicator--6d8e4b1e-0b3a-4c5e-9f2a-1b2c3d4e5f60"
    );
    assert_eq!(g.body["failure_count"], 1);
    assert_eq!(node.bulletins().await, before + 1);
    let network = get(
        &node,
        "/taxii2/api/collections/network/objects/?match[type]=report",
        Some(&analyst),
    )
    .await;
    assert_eq!(objects(&network)[0]["name"], "Imported over TAXII");
}
