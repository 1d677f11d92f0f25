//! The public feeds: `/feeds/advisories.atom`, `/feeds/cap.atom` and `/feeds/cap/{id}.xml` show
//! TLP:CLEAR bulletins whose embargo is over and nothing else; a retraction becomes a CAP
//! `Cancel`, a revision an `Update` naming the alert it revises; clients revalidate with
//! `If-None-Match`; unknown, private and malformed ids are 404.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use atalaya_core::BulletinDraft;
use axum::http::{Method, StatusCode, header};
use common::{TestNode, t0};
use serde_json::json;
use uuid::Uuid;

async fn publish(node: &TestNode, draft: serde_json::Value) -> Uuid {
    let draft: BulletinDraft = serde_json::from_value(draft).unwrap();
    node.fed.publish(draft).await.unwrap().0.id
}

fn warning(tlp: &str, title: &str) -> serde_json::Value {
    json!({
        "tlp": tlp,
        "kind": "attack-warning",
        "title": title,
        "summary": "Ataque en curso contra <servicios> & redes.",
        "body": "## Mitigación\nBloquear 192.0.2.1.\n",
        "severity": "high",
        "sectors": ["energy"],
        "countries": ["CL", "AR"],
    })
}

#[tokio::test]
async fn feeds_show_clear_bulletins_only_and_follow_revisions_and_retractions() {
    let node = TestNode::start().await;
    let clear = publish(&node, warning("CLEAR", "Ransomware <b>&</b> en curso")).await;
    let green = publish(&node, warning("GREEN", "Solo comunidad GREEN-SECRET")).await;
    let mut embargoed = warning("CLEAR", "Embargado EMBARGO-SECRET");
    embargoed["embargo_until"] = json!(t0().plus_millis(3_600_000));
    let embargoed = publish(&node, embargoed).await;
    let advisory = publish(
        &node,
        json!({
            "tlp": "CLEAR", "kind": "vulnerability-advisory", "title": "Vulnerabilidad VULN-TITLE",
            "summary": "Actualizar.", "severity": "medium"
        }),
    )
    .await;
    node.clock.advance_millis(60_000);
    let withdrawn = publish(&node, warning("CLEAR", "Falsa alarma WITHDRAWN-TITLE")).await;
    node.clock.advance_millis(60_000);
    node.fed.retract(withdrawn, "error").await.unwrap();
    node.clock.advance_millis(60_000);
    let mut revision = warning("CLEAR", "Ransomware: actualización");
    revision["supersedes"] = json!(clear);
    let revision = publish(&node, revision).await;

    let mut b = node.browser();
    let atom = b.get("/feeds/advisories.atom").await;
    assert_eq!(atom.status, StatusCode::OK, "{}", atom.body);
    assert_eq!(
        atom.headers[header::CONTENT_TYPE],
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(atom.headers[header::CACHE_CONTROL], "public, max-age=60");
    for id in [clear, advisory, revision] {
        assert!(atom.body.contains(&format!("urn:uuid:{id}")), "{id}");
    }
    for secret in [
        "GREEN-SECRET",
        "EMBARGO-SECRET",
        "WITHDRAWN-TITLE",
        &green.to_string(),
        &embargoed.to_string(),
        &withdrawn.to_string(),
    ] {
        assert!(
            !atom.body.contains(secret),
            "{secret} leaked:\n{}",
            atom.body
        );
    }
    assert!(
        atom.body
            .contains("Ransomware &lt;b&gt;&amp;&lt;/b&gt; en curso")
    );
    assert!(
        atom.body
            .contains("<name>CSIRT de Gobierno de Chile</name>")
    );

    let index = b.get("/feeds/cap.atom").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains(&format!(
        "https://atalaya.example.cl/feeds/cap/{revision}.xml\" type=\"application/cap+xml\""
    )));
    // The revision replaces the alert it revises; the retracted one is announced as withdrawn.
    assert!(
        !index.body.contains(&format!("cap/{clear}.xml")),
        "{}",
        index.body
    );
    assert!(index.body.contains(&format!("Alert {withdrawn} withdrawn")));
    for secret in [
        "GREEN-SECRET",
        "EMBARGO-SECRET",
        "WITHDRAWN-TITLE",
        "VULN-TITLE",
    ] {
        assert!(
            !index.body.contains(secret),
            "{secret} leaked:\n{}",
            index.body
        );
    }

    let alert = b.get(&format!("/feeds/cap/{clear}.xml")).await;
    assert_eq!(alert.status, StatusCode::OK);
    assert_eq!(alert.headers[header::CONTENT_TYPE], "application/cap+xml");
    assert!(alert.body.contains("<msgType>Alert</msgType>"));
    assert!(alert.body.contains("<sender>atalaya.example.cl</sender>"));
    assert!(
        alert
            .body
            .contains("<sent>2026-11-22T12:00:00-00:00</sent>")
    );
    assert!(alert.body.contains("<language>es</language>"));
    assert!(
        alert
            .body
            .contains("<instruction>Bloquear 192.0.2.1.</instruction>")
    );
    assert!(alert.body.contains(&format!(
        "<web>https://atalaya.example.cl/advisories/{clear}</web>"
    )));

    let update = b.get(&format!("/feeds/cap/{revision}.xml")).await;
    assert_eq!(update.status, StatusCode::OK);
    assert!(update.body.contains("<msgType>Update</msgType>"));
    assert!(update.body.contains(&format!(
        "<references>atalaya.example.cl,{clear},2026-11-22T12:00:00-00:00</references>"
    )));

    let cancel = b.get(&format!("/feeds/cap/{withdrawn}.xml")).await;
    assert_eq!(cancel.status, StatusCode::OK);
    assert!(cancel.body.contains("<msgType>Cancel</msgType>"));
    assert!(
        cancel
            .body
            .contains(&format!("<identifier>{withdrawn}-cancel</identifier>"))
    );
    assert!(cancel.body.contains(&format!(
        "<references>atalaya.example.cl,{withdrawn},2026-11-22T12:01:00-00:00</references>"
    )));
    assert!(!cancel.body.contains("WITHDRAWN-TITLE") && !cancel.body.contains("<info>"));

    // Not public, not an alert, not an id: 404, never 500.
    for path in [
        format!("/feeds/cap/{green}.xml"),
        format!("/feeds/cap/{embargoed}.xml"),
        format!("/feeds/cap/{advisory}.xml"),
        format!("/feeds/cap/{}.xml", Uuid::nil()),
        format!("/feeds/cap/{clear}"),
        format!("/feeds/cap/{clear}.json"),
        "/feeds/cap/not-a-uuid.xml".to_owned(),
        "/feeds/cap/..%2F..%2Fetc%2Fpasswd.xml".to_owned(),
        "/feeds/cap/%00.xml".to_owned(),
        "/feeds/cap/.xml".to_owned(),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }

    // When the embargo ends the warning appears, at its release time.
    node.clock.advance_millis(3_600_000);
    let later = b.get("/feeds/advisories.atom").await;
    assert!(later.body.contains(&format!("urn:uuid:{embargoed}")));
    assert!(
        later
            .body
            .contains("<published>2026-11-22T13:00:00.000Z</published>")
    );
    let r = b.get(&format!("/feeds/cap/{embargoed}.xml")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<sent>2026-11-22T13:00:00-00:00</sent>"));
    assert_ne!(later.headers[header::ETAG], atom.headers[header::ETAG]);
}

#[tokio::test]
async fn clients_revalidate_with_etags_and_dates() {
    let node = TestNode::start().await;
    let mut b = node.browser();
    // An empty feed is a feed, dated at the epoch.
    let empty = b.get("/feeds/cap.atom").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(
        empty
            .body
            .contains("<updated>1970-01-01T00:00:00.000Z</updated>")
    );

    let id = publish(&node, warning("CLEAR", "Uno")).await;
    for path in [
        "/feeds/advisories.atom".to_owned(),
        "/feeds/cap.atom".to_owned(),
        format!("/feeds/cap/{id}.xml"),
    ] {
        let first = b.get(&path).await;
        assert_eq!(first.status, StatusCode::OK, "{path}");
        let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'));
        assert_eq!(
            first.headers[header::LAST_MODIFIED],
            "Sun, 22 Nov 2026 12:00:00 GMT"
        );
        let again = b
            .request(Method::GET, &path, None, &[("if-none-match", &etag)])
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.headers[header::ETAG].to_str().unwrap(), etag);
        assert_eq!(again.headers[header::CACHE_CONTROL], "public, max-age=60");
        let listed = format!("\"other\", W/{etag}");
        let weak = b
            .request(Method::GET, &path, None, &[("if-none-match", &listed)])
            .await;
        assert_eq!(weak.status, StatusCode::NOT_MODIFIED, "{path}");
        let stale = b
            .request(Method::GET, &path, None, &[("if-none-match", "\"stale\"")])
            .await;
        assert_eq!(stale.status, StatusCode::OK, "{path}");
        let since = b
            .request(
                Method::GET,
                &path,
                None,
                &[("if-modified-since", "Sun, 22 Nov 2026 12:00:00 GMT")],
            )
            .await;
        assert_eq!(since.status, StatusCode::NOT_MODIFIED, "{path}");
        let before = b
            .request(
                Method::GET,
                &path,
                None,
                &[("if-modified-since", "Sun, 22 Nov 2026 11:59:59 GMT")],
            )
            .await;
        assert_eq!(before.status, StatusCode::OK, "{path}");
    }
}
