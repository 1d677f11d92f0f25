//! The authorisation matrix: every route of a node × every role. A role holding the route's
//! right is let through (whatever the handler then says about the input); a role without it
//! gets 403 `forbidden`. A second test makes sure no route escapes the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::access::{Permission, Role};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::TestNode;
use tower::ServiceExt;

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
enum Gate {
    /// Anyone (login pages, static files, health, public data, federation with signatures).
    Public,
    /// Any logged-in person (their own account, tokens, language).
    Person,
    /// Holders of this right.
    Right(Permission),
}

const ID: &str = "0193a000-0000-7000-8000-000000000001";

fn routes() -> Vec<(Method, &'static str, Gate)> {
    use Gate::*;
    use Permission::*;
    let (g, p, u) = (Method::GET, Method::POST, Method::PUT);
    vec![
        (p.clone(), "/fed/v1/inbox", Public),
        (g.clone(), "/fed/v1/outbox", Public),
        (g.clone(), "/fed/v1/roster", Public),
        (g.clone(), "/fed/v1/checkpoint", Public),
        (g.clone(), "/fed/v1/audit/consistency", Public),
        (p.clone(), "/fed/v1/audit/cosignature", Public),
        (p.clone(), "/api/v1/bulletins", Right(Publish)),
        (g.clone(), "/api/v1/bulletins", Right(ReadBulletins)),
        (g.clone(), "/api/v1/bulletins/{id}", Right(ReadBulletins)),
        (p.clone(), "/api/v1/bulletins/{id}/retract", Right(Retract)),
        (p.clone(), "/api/v1/bulletins/{id}/ack", Right(Acknowledge)),
        (
            p.clone(),
            "/api/v1/bulletins/{id}/renotify",
            Right(Renotify),
        ),
        (
            g.clone(),
            "/api/v1/bulletins/{id}/export/{format}",
            Right(ReadBulletins),
        ),
        (p.clone(), "/api/v1/import/{format}", Right(Publish)),
        (
            p.clone(),
            "/api/v1/import/{format}/bulletin",
            Right(Publish),
        ),
        (g.clone(), "/api/v1/status", Right(ReadBulletins)),
        (g.clone(), "/api/v1/openapi.json", Public),
        (g.clone(), "/api/v1/policy", Right(ReadBulletins)),
        (u.clone(), "/api/v1/policy", Right(EditPolicy)),
        (g.clone(), "/api/v1/oncall", Right(ReadBulletins)),
        (u.clone(), "/api/v1/oncall", Right(EditOnCall)),
        (g.clone(), "/api/v1/agreement", Right(ReadBulletins)),
        (p.clone(), "/api/v1/agreement", Right(EditPolicy)),
        (p.clone(), "/api/v1/agreement/accept", Right(EditPolicy)),
        (u.clone(), "/api/v1/roster", Right(EditRoster)),
        (g.clone(), "/api/v1/roster", Right(ReadBulletins)),
        (p.clone(), "/api/v1/checks", Right(RunChecks)),
        (g.clone(), "/api/v1/checks", Right(ReadBulletins)),
        (g.clone(), "/api/v1/checks/pending", Right(ReadBulletins)),
        (g.clone(), "/api/v1/checks/trend", Right(ReadBulletins)),
        (g.clone(), "/api/v1/checks/{id}", Right(ReadBulletins)),
        (p.clone(), "/api/v1/checks/{id}/answer", Right(AnswerChecks)),
        (g.clone(), "/api/v1/teams", Right(ReadDirectory)),
        (g.clone(), "/api/v1/teams/{id}", Right(ReadDirectory)),
        (u.clone(), "/api/v1/teams/{id}", Right(EditDirectory)),
        (
            p.clone(),
            "/api/v1/teams/{id}/confirm-contacts",
            Right(EditDirectory),
        ),
        (
            g.clone(),
            "/api/v1/teams/{id}/rfc2350",
            Right(ReadDirectory),
        ),
        (g.clone(), "/api/v1/teams/{id}/vcard", Right(ReadDirectory)),
        (g.clone(), "/api/v1/directory/export", Right(ReadDirectory)),
        (p.clone(), "/api/v1/directory/import", Right(EditDirectory)),
        (g.clone(), "/api/v1/directory/hygiene", Right(ReadDirectory)),
        (g.clone(), "/api/v1/cybercrime", Right(ReadDirectory)),
        (
            g.clone(),
            "/api/v1/cybercrime/{country}",
            Right(ReadDirectory),
        ),
        (
            u.clone(),
            "/api/v1/cybercrime/{country}",
            Right(EditDirectory),
        ),
        (g.clone(), "/api/v1/standards", Right(ReadDirectory)),
        (u.clone(), "/api/v1/standards", Right(ManageCensus)),
        (
            g.clone(),
            "/api/v1/standards/adoption",
            Right(ReadDirectory),
        ),
        (
            u.clone(),
            "/api/v1/standards/adoption/{country}",
            Right(EditDirectory),
        ),
        (
            g.clone(),
            "/api/v1/census/questionnaire",
            Right(ReadDirectory),
        ),
        (g.clone(), "/api/v1/census/rounds", Right(ReadDirectory)),
        (p.clone(), "/api/v1/census/rounds", Right(ManageCensus)),
        (
            g.clone(),
            "/api/v1/census/rounds/{id}",
            Right(ReadDirectory),
        ),
        (
            p.clone(),
            "/api/v1/census/rounds/{id}/close",
            Right(ManageCensus),
        ),
        (
            g.clone(),
            "/api/v1/census/rounds/{id}/prefill",
            Right(ReadDirectory),
        ),
        (
            g.clone(),
            "/api/v1/census/rounds/{id}/responses",
            Right(ReadDirectory),
        ),
        (
            p.clone(),
            "/api/v1/census/rounds/{id}/responses",
            Right(AnswerCensus),
        ),
        (
            g.clone(),
            "/api/v1/census/rounds/{id}/report",
            Right(ReadDirectory),
        ),
        (g.clone(), "/api/v1/census/compare", Right(ReadDirectory)),
        (g.clone(), "/api/v1/coverage", Right(ReadDirectory)),
        (
            g.clone(),
            "/api/v1/coverage/minimum-services",
            Right(ReadDirectory),
        ),
        (
            u.clone(),
            "/api/v1/coverage/minimum-services",
            Right(ManageCensus),
        ),
        (g.clone(), "/api/v1/reports", Right(ReadReports)),
        (g.clone(), "/api/v1/reports/{id}", Right(ReadReports)),
        (g.clone(), "/public/v1/bulletins", Public),
        (g.clone(), "/public/v1/events", Public),
        (g.clone(), "/", Public),
        (g.clone(), "/advisories/{id}", Public),
        (g.clone(), "/report", Public),
        (g.clone(), "/report/{country}", Public),
        (p.clone(), "/report/{country}", Public),
        (g.clone(), "/pages/{slug}", Public),
        (g.clone(), "/portal/static/{file}", Public),
        (g.clone(), "/console/reports", Right(ReadReports)),
        (g.clone(), "/console/reports/{id}", Right(ReadReports)),
        (g.clone(), "/console/pages", Right(EditPortal)),
        (g.clone(), "/console/pages/{slug}", Right(EditPortal)),
        (p.clone(), "/console/pages/{slug}", Right(EditPortal)),
        (g.clone(), "/.well-known/security.txt", Public),
        (g.clone(), "/feeds/misp/manifest.json", Public),
        (g.clone(), "/feeds/misp/hashes.csv", Public),
        (g.clone(), "/feeds/misp/{file}", Public),
        (
            g.clone(),
            "/.well-known/csaf/provider-metadata.json",
            Public,
        ),
        (g.clone(), "/.well-known/csaf/clear/index.txt", Public),
        (g.clone(), "/.well-known/csaf/clear/changes.csv", Public),
        (g.clone(), "/.well-known/csaf/clear/", Public),
        (g.clone(), "/.well-known/csaf/clear/{year}/", Public),
        (g.clone(), "/.well-known/csaf/clear/{year}/{file}", Public),
        (g.clone(), "/.well-known/csaf/feed-tlp-clear.json", Public),
        (g.clone(), "/.well-known/csaf/openpgp/{file}", Public),
        (
            g.clone(),
            "/.well-known/csaf-aggregator/aggregator.json",
            Public,
        ),
        (g.clone(), "/feeds/advisories.atom", Public),
        (g.clone(), "/feeds/cap.atom", Public),
        (g.clone(), "/feeds/cap/{file}", Public),
        (g.clone(), "/taxii2/", Public),
        (g.clone(), "/taxii2/api/", Public),
        (g.clone(), "/taxii2/api/status/{id}/", Person),
        (g.clone(), "/taxii2/api/collections/", Public),
        (g.clone(), "/taxii2/api/collections/{id}/", Public),
        (g.clone(), "/taxii2/api/collections/{id}/manifest/", Public),
        (g.clone(), "/taxii2/api/collections/{id}/objects/", Public),
        (
            p.clone(),
            "/taxii2/api/collections/{id}/objects/",
            Right(Publish),
        ),
        (
            g.clone(),
            "/taxii2/api/collections/{id}/objects/{object}/",
            Public,
        ),
        (
            g.clone(),
            "/taxii2/api/collections/{id}/objects/{object}/versions/",
            Public,
        ),
        (g.clone(), "/healthz", Public),
        (g.clone(), "/readyz", Public),
        (g.clone(), "/metrics", Person),
        (g.clone(), "/console", Right(ReadBulletins)),
        (g.clone(), "/console/", Right(ReadBulletins)),
        (g.clone(), "/console/login", Public),
        (p.clone(), "/console/login", Public),
        (g.clone(), "/console/login/totp", Public),
        (p.clone(), "/console/login/totp", Public),
        (g.clone(), "/console/enrol", Public),
        (p.clone(), "/console/enrol", Public),
        (p.clone(), "/console/logout", Public),
        (p.clone(), "/console/language", Person),
        (g.clone(), "/console/events", Right(ReadBulletins)),
        (g.clone(), "/console/fragments/feed", Right(ReadBulletins)),
        (
            g.clone(),
            "/console/fragments/awaiting",
            Right(ReadBulletins),
        ),
        (g.clone(), "/console/fragments/map", Right(ReadBulletins)),
        (g.clone(), "/console/compose", Right(Publish)),
        (p.clone(), "/console/compose", Right(Publish)),
        (p.clone(), "/console/compose/preview", Right(Publish)),
        (g.clone(), "/console/bulletins/{id}", Right(ReadBulletins)),
        (
            g.clone(),
            "/console/bulletins/{id}/matrix",
            Right(ReadBulletins),
        ),
        (p.clone(), "/console/bulletins/{id}/ack", Right(Acknowledge)),
        (
            p.clone(),
            "/console/bulletins/{id}/renotify",
            Right(Renotify),
        ),
        (g.clone(), "/console/checks", Right(ReadBulletins)),
        (p.clone(), "/console/checks", Right(RunChecks)),
        (g.clone(), "/console/checks/{id}", Right(ReadBulletins)),
        (
            p.clone(),
            "/console/checks/{id}/answer",
            Right(AnswerChecks),
        ),
        (g.clone(), "/console/census", Right(ReadDirectory)),
        (p.clone(), "/console/census", Right(ManageCensus)),
        (g.clone(), "/console/census/compare", Right(ReadDirectory)),
        (g.clone(), "/console/census/{id}", Right(ReadDirectory)),
        (
            p.clone(),
            "/console/census/{id}/answer",
            Right(AnswerCensus),
        ),
        (p.clone(), "/console/census/{id}/close", Right(ManageCensus)),
        (
            g.clone(),
            "/console/census/{id}/report",
            Right(ReadDirectory),
        ),
        (g.clone(), "/console/peers", Right(ReadBulletins)),
        (g.clone(), "/console/users", Right(ManageUsers)),
        (p.clone(), "/console/users", Right(ManageUsers)),
        (p.clone(), "/console/users/{id}/role", Right(ManageUsers)),
        (p.clone(), "/console/users/{id}/disable", Right(ManageUsers)),
        (p.clone(), "/console/users/{id}/enable", Right(ManageUsers)),
        (g.clone(), "/console/tokens", Person),
        (p.clone(), "/console/tokens", Person),
        (p.clone(), "/console/tokens/{id}/revoke", Person),
        (g.clone(), "/console/settings", Right(ReadBulletins)),
        (p.clone(), "/console/settings/oncall", Right(EditOnCall)),
        (g.clone(), "/console/account", Person),
        (p.clone(), "/console/account", Person),
        (g.clone(), "/console/static/{file}", Public),
        (g.clone(), "/console/directory", Right(ReadDirectory)),
        (g.clone(), "/console/directory/new", Right(EditDirectory)),
        (p.clone(), "/console/directory/new", Right(EditDirectory)),
        (
            g.clone(),
            "/console/directory/team/{id}",
            Right(ReadDirectory),
        ),
        (
            g.clone(),
            "/console/directory/team/{id}/edit",
            Right(EditDirectory),
        ),
        (
            p.clone(),
            "/console/directory/team/{id}/edit",
            Right(EditDirectory),
        ),
        (
            p.clone(),
            "/console/directory/team/{id}/confirm",
            Right(EditDirectory),
        ),
        (g.clone(), "/console/coverage", Right(ReadDirectory)),
        (g.clone(), "/console/cybercrime", Right(ReadDirectory)),
        (p.clone(), "/console/cybercrime", Right(EditDirectory)),
        (g.clone(), "/console/standards", Right(ReadDirectory)),
        (p.clone(), "/console/standards", Right(EditDirectory)),
        (g.clone(), "/directory", Public),
        (g.clone(), "/directory/{file}", Public),
    ]
}

#[test]
fn every_route_is_in_the_matrix() {
    let mut table: Vec<(String, String)> = routes()
        .iter()
        .map(|(m, p, _)| (m.to_string(), (*p).to_owned()))
        .collect();
    let mut source = common::routes_in_source();
    table.sort();
    source.sort();
    assert_eq!(
        table, source,
        "the authorisation matrix must list exactly the routes the router serves"
    );
}

async fn send(
    node: &TestNode,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    csrf: &str,
    bearer: Option<&str>,
) -> (StatusCode, String) {
    let console = path.starts_with("/console");
    let mut req = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::HOST, "127.0.0.1:7400");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(b) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let body = if method == Method::GET {
        String::new()
    } else if console {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        format!("_csrf={csrf}")
    } else {
        req = req.header(header::CONTENT_TYPE, "application/json");
        "{}".to_owned()
    };
    let mut req = req.body(Body::from(body)).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo::<std::net::SocketAddr>(
            "127.0.0.1:1".parse().unwrap(),
        ));
    let resp = node.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    // The event streams never end: their status is all there is to see.
    if path == "/console/events" || path == "/public/v1/events" {
        return (status, String::new());
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 8 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn every_route_times_every_role() {
    let node = TestNode::start().await;
    let mut checked = 0;
    for role in Role::ALL {
        let name = format!("user-{}", role.as_str().replace('_', "-"));
        node.user(&name, role, true).await;
        let mut b = node.browser();
        b.login(&name).await;
        let cookie = b
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let owner = { node.fed.store.user_by_name(&name).await.unwrap().unwrap() };
        let (token, _) = node
            .state
            .accounts
            .issue_token(
                Some(&owner),
                "matrix",
                &role.permissions().to_scopes(),
                None,
            )
            .await
            .unwrap();
        for (method, template, gate) in routes() {
            let path = template
                .replace("{id}", ID)
                .replace("{country}", "CL")
                .replace("{slug}", "staying-safe-online")
                .replace("{format}", "stix")
                .replace("{file}", "console-2.css");
            let allowed = match gate {
                Gate::Public => continue,
                Gate::Person => true,
                Gate::Right(p) => role.permissions().contains(p),
            };
            // The API and TAXII take tokens; the console takes its session cookie.
            let api = path.starts_with("/api/") || path.starts_with("/taxii2/");
            let (status, body) = if api {
                send(&node, method.clone(), &path, None, "", Some(&token)).await
            } else {
                send(&node, method.clone(), &path, Some(&cookie), &b.csrf, None).await
            };
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role} should pass {method} {path}, got {status}: {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} must be refused {method} {path}: {body}"
                );
                assert!(body.contains("forbidden"), "{method} {path}: {body}");
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked} route × role pairs checked");

    // And nobody gets in without credentials.
    for (method, template, gate) in routes() {
        if matches!(gate, Gate::Public) {
            continue;
        }
        let path = template
            .replace("{id}", ID)
            .replace("{country}", "CL")
            .replace("{slug}", "staying-safe-online");
        let (status, _) = send(&node, method.clone(), &path, None, "", None).await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::SEE_OTHER,
            "{method} {path} without credentials: {status}"
        );
    }
}
