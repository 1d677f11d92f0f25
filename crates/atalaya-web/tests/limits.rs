//! Rate limits of the API (per credential, per client address, behind trusted proxies) and
//! who may read `/metrics`, through the node's real router over a real SQLite file, with an
//! injected clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::access::Role;
use atalaya_web::HttpSettings;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::Api;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

async fn get(app: &Router, path: &str, from: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::builder().uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(from.parse::<std::net::SocketAddr>().unwrap()));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        retry_after,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn node_with(settings: HttpSettings) -> (Api, Router) {
    let api = Api::start("ana", Role::Admin).await;
    let state = api.node.state.clone().with_http(settings).unwrap();
    let app = atalaya_web::router(state);
    (api, app)
}

#[tokio::test]
async fn a_token_past_its_rate_is_refused_with_retry_after_and_others_are_not() {
    let (api, app) = node_with(HttpSettings {
        api_requests_per_minute: 5,
        api_requests_per_minute_per_address: 1000,
        ..Default::default()
    })
    .await;
    let bearer = format!("Bearer {}", api.token);
    let auth = [("authorization", bearer.as_str())];
    for i in 0..5 {
        let a = get(&app, "/api/v1/status", "127.0.0.1:4000", &auth).await;
        assert_eq!(a.status, StatusCode::OK, "request {i}: {}", a.body);
    }
    let a = get(&app, "/api/v1/status", "127.0.0.1:4000", &auth).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert!(a.body.contains("rate_limited"), "{}", a.body);
    let wait: u64 = a.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=12).contains(&wait), "one more every 12 s: {wait}");
    // From another address the same token is still over its rate.
    let a = get(&app, "/api/v1/status", "192.0.2.1:1", &auth).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // Another person is not held by ana's rate.
    let beto = api.node.user("beto", Role::ReadOnly, true).await;
    let _ = beto;
    let owner = api
        .node
        .fed
        .store
        .user_by_name("beto")
        .await
        .unwrap()
        .unwrap();
    let (other, _) = api
        .node
        .state
        .accounts
        .issue_token(
            Some(&owner),
            "t",
            &Role::ReadOnly.permissions().to_scopes(),
            None,
        )
        .await
        .unwrap();
    let other = format!("Bearer {other}");
    let a = get(
        &app,
        "/api/v1/status",
        "127.0.0.1:4000",
        &[("authorization", &other)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The rate refills: 12 s later, one more.
    api.node.clock.advance_millis(12_000);
    assert_eq!(
        get(&app, "/api/v1/status", "127.0.0.1:4000", &auth)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&app, "/api/v1/status", "127.0.0.1:4000", &auth)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The public pages are not the API: not counted.
    assert_eq!(
        get(&app, "/healthz", "127.0.0.1:4000", &auth).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn made_up_tokens_are_held_by_their_address() {
    let (_api, app) = node_with(HttpSettings {
        api_requests_per_minute: 1000,
        api_requests_per_minute_per_address: 10,
        ..Default::default()
    })
    .await;
    for i in 0..10 {
        let bearer = format!("Bearer made-up-{i}");
        let a = get(
            &app,
            "/api/v1/status",
            "203.0.113.9:1",
            &[("authorization", &bearer)],
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    let a = get(
        &app,
        "/api/v1/status",
        "203.0.113.9:2",
        &[("authorization", "Bearer x")],
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    // TAXII is the API too.
    let a = get(&app, "/taxii2/", "203.0.113.9:2", &[]).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    // Another address is not held; an IPv6 client is held by its /64.
    let a = get(&app, "/api/v1/status", "198.51.100.1:1", &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    for i in 0..10 {
        let from = format!("[2001:db8:7:7::{i:x}]:443");
        get(&app, "/api/v1/status", &from, &[]).await;
    }
    let a = get(&app, "/api/v1/status", "[2001:db8:7:7:ffff::1]:443", &[]).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "same /64");
    let a = get(&app, "/api/v1/status", "[2001:db8:7:8::1]:443", &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "another /64");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit_and_spoofing_gains_nothing() {
    let settings = HttpSettings {
        trusted_proxies: vec!["10.0.0.0/8".into()],
        api_requests_per_minute: 1000,
        api_requests_per_minute_per_address: 3,
        ..Default::default()
    };
    let (_api, app) = node_with(settings).await;
    let proxy = "10.0.0.5:50000";
    for _ in 0..3 {
        let a = get(
            &app,
            "/api/v1/status",
            proxy,
            &[("x-forwarded-for", "198.51.100.1")],
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = get(
        &app,
        "/api/v1/status",
        proxy,
        &[("x-forwarded-for", "198.51.100.1")],
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "client 1 is held");
    let a = get(
        &app,
        "/api/v1/status",
        proxy,
        &[("x-forwarded-for", "198.51.100.2")],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "client 2 is not");
    // A client cannot escape by writing its own X-Forwarded-For: the proxy appends the
    // address it saw, and that (the rightmost untrusted) is the one that counts.
    let a = get(
        &app,
        "/api/v1/status",
        proxy,
        &[("x-forwarded-for", "203.0.113.77, 198.51.100.1")],
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // From an address that is not a trusted proxy, the header is ignored.
    for _ in 0..3 {
        get(
            &app,
            "/api/v1/status",
            "192.0.2.50:1",
            &[("x-forwarded-for", "198.51.100.9")],
        )
        .await;
    }
    let a = get(
        &app,
        "/api/v1/status",
        "192.0.2.50:1",
        &[("x-forwarded-for", "198.51.100.10")],
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the spoofed header did not help"
    );
    // A malformed trusted-proxy setting is refused, not ignored.
    let api = Api::start("carla", Role::Admin).await;
    let bad = HttpSettings {
        trusted_proxies: vec!["proxy.example.org".into()],
        ..Default::default()
    };
    let err = api.node.state.clone().with_http(bad).err().unwrap();
    assert!(err.contains("proxy.example.org"), "{err}");
}

#[tokio::test]
async fn metrics_need_a_token_even_from_loopback_or_their_own_address() {
    let api = Api::start("ana", Role::ReadOnly).await;
    let app = api.node.app.clone();
    let a = get(&app, "/metrics", "127.0.0.1:5000", &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert!(!a.body.contains("atalaya_"), "{}", a.body);
    // A local reverse proxy forwarding an outsider is loopback too: still refused.
    let a = get(
        &app,
        "/metrics",
        "[::1]:5000",
        &[("x-forwarded-for", "198.51.100.1")],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {}", api.token);
    let a = get(
        &app,
        "/metrics",
        "198.51.100.1:5000",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("atalaya_envelopes_in_total"), "{}", a.body);
    // The metrics-only address serves them without a token, and nothing else.
    let only = atalaya_web::metrics_only(api.node.state.clone());
    let a = get(&only, "/metrics", "127.0.0.1:5000", &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("atalaya_envelopes_in_total"), "{}", a.body);
    for path in ["/api/v1/status", "/console", "/fed/v1/roster", "/"] {
        let a = get(&only, path, "127.0.0.1:5000", &[]).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
    }
}

/// One request through the router: status, `x-request-id` of the answer, body as JSON.
async fn request(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> (StatusCode, Option<String>, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(body).unwrap();
    req.extensions_mut().insert(ConnectInfo(
        "127.0.0.1:4000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let id = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        id,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_an_error_names_it_in_its_body() {
    let (api, app) = node_with(HttpSettings::default()).await;
    let bearer = format!("Bearer {}", api.token);
    // Made here when the client sends none, and different for each request.
    let (status, first, _) = request(
        &app,
        "GET",
        "/api/v1/status",
        &[("authorization", &bearer)],
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let first = first.expect("x-request-id on the answer");
    let (_, second, _) = request(&app, "GET", "/healthz", &[], Body::empty()).await;
    assert_ne!(Some(&first), second.as_ref());

    // A refusal: the same code and message as ever, and the request id beside them.
    let (status, id, body) = request(&app, "GET", "/api/v1/status", &[], Body::empty()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let id = id.expect("x-request-id");
    assert_eq!(body["error"]["request_id"], id.as_str(), "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");

    // A client's (or proxy's) well-formed id is kept; anything else is replaced.
    let (_, id, body) = request(
        &app,
        "GET",
        "/api/v1/nothing-here",
        &[("x-request-id", "proxy-42.a:b_c")],
        Body::empty(),
    )
    .await;
    assert_eq!(id.as_deref(), Some("proxy-42.a:b_c"));
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert_eq!(body["error"]["request_id"], "proxy-42.a:b_c", "{body}");
    let (_, id, _) = request(
        &app,
        "GET",
        "/healthz",
        &[("x-request-id", "spaces and \"quotes\" into the log")],
        Body::empty(),
    )
    .await;
    let id = id.expect("a new id");
    assert!(!id.contains(' '), "{id}");
}

#[tokio::test]
async fn each_route_group_holds_bodies_to_its_own_limit() {
    let (api, app) = node_with(HttpSettings::default()).await;
    let bearer = format!("Bearer {}", api.token);
    let auth = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    // The JSON API: 2 MiB.
    let over = " ".repeat(2 * 1024 * 1024 + 1);
    let (status, _, body) =
        request(&app, "POST", "/api/v1/bulletins", &auth, Body::from(over)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    assert_eq!(body["error"]["message"], "request body over 2097152 bytes");
    // The same size is within the import group's 16 MiB: it reaches the parser.
    let (status, _, body) = request(
        &app,
        "POST",
        "/api/v1/import/misp",
        &auth,
        Body::from(" ".repeat(2 * 1024 * 1024 + 1)),
    )
    .await;
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, _, body) = request(
        &app,
        "POST",
        "/api/v1/import/misp",
        &auth,
        Body::from(" ".repeat(16 * 1024 * 1024 + 1)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["message"], "request body over 16777216 bytes");
}
