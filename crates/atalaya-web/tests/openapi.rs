//! The OpenAPI document of `/api/v1` and the router agree: every `/api/v1` route of the
//! router is in the document with the same methods, and every path and method of the
//! document is answered by a handler of the live router (not the fallback, not 405).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use common::TestNode;
use serde_json::Value;
use tower::ServiceExt;

/// Every `/api/v1` route of the router's sources, as (METHOD, path).
fn api_routes_in_source() -> BTreeSet<(String, String)> {
    common::routes_in_source()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/api/"))
        .collect()
}

/// The document as JSON.
fn document() -> Value {
    serde_json::from_str(&atalaya_web::openapi::document().to_json().unwrap()).unwrap()
}

/// Every (METHOD, path) of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_api_route_is_documented_and_every_documented_path_is_routed() {
    let source = api_routes_in_source();
    let documented = operations(&document());
    assert!(source.len() > 50, "the route list was not read: {source:?}");
    let undocumented: Vec<_> = source.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&source).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations the router does not have: {unrouted:?}"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_a_bearer_scheme() {
    let doc = document();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for ((method, path), op) in operations(&doc).iter().map(|k| {
        let op = doc["paths"][&k.1][k.0.to_lowercase()].clone();
        (k.clone(), op)
    }) {
        let security = &op["security"];
        if path == "/api/v1/openapi.json" {
            assert_eq!(security, &serde_json::json!([{}]), "{method} {path}");
        } else {
            assert_eq!(
                security,
                &serde_json::json!([{"bearer": []}]),
                "{method} {path} must say it needs a token"
            );
            let errors = &op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(errors, "#/components/schemas/ErrorBody", "{method} {path}");
        }
    }
}

/// A concrete path for a documented template.
fn concrete(path: &str) -> String {
    path.replace("{id}", "0193a000-0000-7000-8000-000000000001")
        .replace("{format}", "csaf")
        .replace("{country}", "CL")
}

async fn probe(node: &TestNode, method: Method, path: &str) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let resp = node.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 32 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_live_router_answers_every_documented_operation_and_no_other_method() {
    let node = TestNode::start().await;
    let doc = document();
    let documented = operations(&doc);
    let fallback = probe(&node, Method::GET, "/api/v1/no-such-route").await;
    assert_eq!(fallback.0, StatusCode::NOT_FOUND);
    for (method, path) in &documented {
        let url = concrete(path);
        let (status, body) = probe(&node, method.parse().unwrap(), &url).await;
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: not routed"
        );
        assert!(
            !(status == StatusCode::NOT_FOUND && body == fallback.1),
            "{method} {path}: answered by the fallback, not a handler"
        );
        // Without a token, every operation but the document itself is refused.
        if path != "/api/v1/openapi.json" {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        }
    }
    // A method the document does not list for a path is not routed either.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            if documented.contains(&(method.to_owned(), path.clone())) {
                continue;
            }
            let (status, _) = probe(&node, method.parse().unwrap(), &concrete(path)).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is routed but not documented"
            );
        }
    }
}

#[tokio::test]
async fn the_document_is_served_without_a_token() {
    let node = TestNode::start().await;
    let (status, body) = probe(&node, Method::GET, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, document());
}
