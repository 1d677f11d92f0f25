//! Relay through holders against peers that misbehave: a node runs real anti-entropy rounds
//! (real SQLite file, real signed requests over loopback) against a small HTTP server of the
//! test's own that plays the holder and answers what a lying, flooding, forging, slow or
//! oversized peer would. Each case: bounded effort, a clear verdict, nothing stored that
//! should not be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atalaya_core::{
    CountryCode, EntropyRng, FixedClock, Node, NodeId, Role, Roster, SeededEntropy, Timestamp, ids,
};
use atalaya_crypto::{NodeKeys, sign_envelope};
use atalaya_federation::{Federation, FederationSettings, Identity, Metrics, sign_roster, sync};
use atalaya_store::{SqliteOptions, SqliteStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn node(id: &str, cc: &str, role: Role, keys: &NodeKeys, endpoint: &str) -> Node {
    Node {
        node_id: n(id),
        country: CountryCode::new(cc).unwrap(),
        team: id.into(),
        role,
        signing_key: keys.verifying_key().to_b64(),
        sealing_key: keys.sealing_public().to_b64(),
        endpoint: endpoint.into(),
    }
}

/// What the fake holder answers to a relay request for `cl-csirt`'s envelopes.
type Answer = Arc<dyn Fn() -> Vec<u8> + Send + Sync>;

/// A loopback HTTP server playing `mx-csirt`: to its own direct pull it answers an empty page
/// that advertises `holds`; to a relay request for `cl-csirt` it answers `relay()`.
struct FakeHolder {
    url: String,
    relay_requests: Arc<AtomicUsize>,
    queries: Arc<Mutex<Vec<String>>>,
}

async fn fake_holder(holds: i64, relay: Answer, stall: bool) -> FakeHolder {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let relay_requests = Arc::new(AtomicUsize::new(0));
    let queries = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (relay_requests.clone(), queries.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (relay, count, seen) = (relay.clone(), count.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(k) = s.read(&mut buf).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..k]);
                }
                let head = String::from_utf8_lossy(&got).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(target.clone());
                let body = if target.contains("origin=cl-csirt") {
                    count.fetch_add(1, Ordering::SeqCst);
                    if stall {
                        // Never answer: hold the connection open for a long time.
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        return;
                    }
                    relay()
                } else {
                    format!(
                        r#"{{"envelopes":[],"next":0,"more":false,"holds":{{"cl-csirt":{holds}}}}}"#
                    )
                    .into_bytes()
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
            });
        }
    });
    FakeHolder {
        url,
        relay_requests,
        queries,
    }
}

/// The node under test (`ar-csirt`), and the keys of the origin `cl-csirt` and of the holder,
/// so the test can sign envelopes as they would.
struct Lab {
    fed: Arc<Federation>,
    clock: Arc<FixedClock>,
    store: Arc<SqliteStore>,
    cl: NodeKeys,
    mx: NodeKeys,
    ar_sealing: atalaya_crypto::PublicSealingKey,
    t0: Timestamp,
    _dir: tempfile::TempDir,
}

async fn lab(holder_url: &str, settings: FederationSettings) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let entropy = SeededEntropy::new(11);
    let mut rng = EntropyRng(&entropy);
    let coord = NodeKeys::generate(&mut rng);
    let ar = NodeKeys::generate(&mut rng);
    let cl = NodeKeys::generate(&mut rng);
    let mx = NodeKeys::generate(&mut rng);
    let t0 = Timestamp::parse("2026-12-07T12:00:00Z").unwrap();
    // The origin's endpoint is a port nobody listens on: it cannot be reached.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut roster = Roster::new(
        "test",
        node(
            "coordinator",
            "US",
            Role::Coordinator,
            &coord,
            "http://127.0.0.1:9",
        ),
        t0,
    );
    for (id, cc, keys, url) in [
        ("ar-csirt", "AR", &ar, "http://127.0.0.1:7"),
        ("cl-csirt", "CL", &cl, closed.as_str()),
        ("mx-csirt", "MX", &mx, holder_url),
    ] {
        roster.upsert(node(id, cc, Role::Member, keys, url), t0);
    }
    let signed = sign_roster(&roster, &coord, ids::new_id(t0, &mut rng), t0).unwrap();
    let ar_sealing = ar.sealing_public();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("node.db"), &SqliteOptions::default())
            .await
            .unwrap(),
    );
    let clock = Arc::new(FixedClock::new(t0));
    let fed = Federation::start(
        Identity {
            node_id: n("ar-csirt"),
            keys: ar,
            coordinator_key: coord.verifying_key(),
        },
        Some(&signed),
        store.clone(),
        clock.clone(),
        Arc::new(SeededEntropy::new(12)),
        FederationSettings {
            allow_private_peers: true,
            // The coordinator's endpoint (port 9) refuses at once; keep the rounds short.
            request_timeout_ms: 1000,
            ..settings
        },
        atalaya_federation::Handlers::default(),
    )
    .await
    .unwrap();
    Lab {
        fed,
        clock,
        store,
        cl,
        mx,
        ar_sealing,
        t0,
        _dir: dir,
    }
}

/// A GREEN network-wide bulletin envelope from `origin`, signed with `keys`.
fn envelope(origin: &str, keys: &NodeKeys, i: u32, created: Timestamp) -> serde_json::Value {
    let id = format!("01936b2e-0000-7000-8000-{i:012}");
    let mut e = serde_json::json!({
        "v": 1, "id": id, "kind": "bulletin", "origin": origin, "created": created,
        "tlp": "GREEN", "audience": {"scope": "network"}, "embargo_until": null, "refs": [],
        "body": {"kind": "attack-warning", "severity": "high", "title": format!("Relayed {i}"),
                 "summary": "s"}
    });
    let key_ref = format!("{origin}#{}", keys.key_id());
    sign_envelope(e.as_object_mut().unwrap(), keys.signing_key(), &key_ref).unwrap();
    e
}

fn page(envelopes: &[serde_json::Value], next: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "envelopes": envelopes, "next": next, "more": false, "holds": {}
    }))
    .unwrap()
}

fn id_of(e: &serde_json::Value) -> uuid::Uuid {
    e["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_honest_holder_relays_the_origins_envelopes_once() {
    let cell: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let c = cell.clone();
    let holder = fake_holder(2, Arc::new(move || c.lock().unwrap().clone()), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    let good = [
        envelope("cl-csirt", &lab.cl, 1, lab.t0),
        envelope("cl-csirt", &lab.cl, 2, lab.t0),
    ];
    *cell.lock().unwrap() = page(&good, 2);
    let unreachable = sync::round(&lab.fed).await;
    assert!(unreachable.contains(&n("cl-csirt")));
    for e in &good {
        assert!(lab.store.has_envelope(id_of(e)).await.unwrap());
    }
    assert_eq!(Metrics::get(&lab.fed.metrics.relayed_in), 2);
    assert_eq!(
        lab.store
            .pull_cursor(&n("mx-csirt"), &n("cl-csirt"))
            .await
            .unwrap(),
        2
    );
    // Caught up: the holder is not asked again until it holds more.
    sync::round(&lab.fed).await;
    assert_eq!(holder.relay_requests.load(Ordering::SeqCst), 1);
    // The first relay request started from the beginning (nothing of cl was held); had the
    // node held something of cl, it would have said since when.
    let queries = holder.queries.lock().unwrap().clone();
    let relay_query = queries
        .iter()
        .find(|q| q.contains("origin=cl-csirt"))
        .unwrap();
    assert!(!relay_query.contains("since="), "{relay_query}");
}

#[tokio::test]
async fn a_holder_that_lies_about_what_it_holds_is_asked_once() {
    // It advertises position 50 for cl-csirt, then serves nothing.
    let holder = fake_holder(50, Arc::new(|| page(&[], 0)), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    for _ in 0..3 {
        sync::round(&lab.fed).await;
    }
    assert_eq!(
        holder.relay_requests.load(Ordering::SeqCst),
        1,
        "not asked again for what it does not serve"
    );
    assert_eq!(Metrics::get(&lab.fed.metrics.relay_inconsistent), 1);
    assert_eq!(Metrics::get(&lab.fed.metrics.relayed_in), 0);
}

#[tokio::test]
async fn a_page_of_envelopes_not_asked_for_is_refused_whole() {
    let cell: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let c = cell.clone();
    let holder = fake_holder(10_000, Arc::new(move || c.lock().unwrap().clone()), false).await;
    let lab = lab(
        &holder.url,
        FederationSettings {
            pull_page: 20,
            ..Default::default()
        },
    )
    .await;
    // Asked for cl-csirt's envelopes, it sends its own (validly signed) along with one of cl's.
    let sneaked = envelope("mx-csirt", &lab.mx, 7, lab.t0);
    let real = envelope("cl-csirt", &lab.cl, 8, lab.t0);
    *cell.lock().unwrap() = page(&[real.clone(), sneaked.clone()], 2);
    sync::round(&lab.fed).await;
    assert!(!lab.store.has_envelope(id_of(&sneaked)).await.unwrap());
    assert!(
        !lab.store.has_envelope(id_of(&real)).await.unwrap(),
        "nothing of a refused page is stored"
    );
    // Asked for at most 20, it sends 10,000.
    let flood: Vec<serde_json::Value> = (0..10_000)
        .map(|i| envelope("cl-csirt", &lab.cl, 100 + i, lab.t0))
        .collect();
    *cell.lock().unwrap() = page(&flood, 10_000);
    let head = lab.store.log_head().await.unwrap();
    sync::round(&lab.fed).await;
    assert_eq!(lab.store.log_head().await.unwrap(), head, "nothing stored");
    for e in flood.iter().take(20) {
        assert!(!lab.store.has_envelope(id_of(e)).await.unwrap());
    }
    assert_eq!(
        lab.store
            .pull_cursor(&n("mx-csirt"), &n("cl-csirt"))
            .await
            .unwrap(),
        0,
        "a refused page does not move the cursor"
    );
}

#[tokio::test]
async fn a_relayed_envelope_whose_origin_signature_fails_is_refused() {
    let cell: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let c = cell.clone();
    let holder = fake_holder(3, Arc::new(move || c.lock().unwrap().clone()), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    // Signed by the holder's key but claiming the origin's name, and one altered after signing.
    let mut forged = envelope("cl-csirt", &lab.mx, 21, lab.t0);
    forged["sig"]["key"] = serde_json::json!(format!("cl-csirt#{}", lab.cl.key_id()));
    let mut altered = envelope("cl-csirt", &lab.cl, 22, lab.t0);
    altered["body"]["title"] = serde_json::json!("Altered by the relay");
    let good = envelope("cl-csirt", &lab.cl, 23, lab.t0);
    *cell.lock().unwrap() = page(&[forged.clone(), altered.clone(), good.clone()], 3);
    sync::round(&lab.fed).await;
    assert!(!lab.store.has_envelope(id_of(&forged)).await.unwrap());
    assert!(!lab.store.has_envelope(id_of(&altered)).await.unwrap());
    assert!(
        lab.store.has_envelope(id_of(&good)).await.unwrap(),
        "the genuine one in the same page is kept"
    );
    let bad_sig = lab
        .fed
        .metrics
        .rejections()
        .get("bad_signature")
        .copied()
        .unwrap_or(0);
    assert_eq!(bad_sig, 2, "{:?}", lab.fed.metrics.rejections());
}

#[tokio::test]
async fn a_holder_that_never_answers_costs_one_timeout() {
    let holder = fake_holder(5, Arc::new(Vec::new), true).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    let start = Instant::now();
    sync::round(&lab.fed).await;
    let took = start.elapsed();
    assert_eq!(holder.relay_requests.load(Ordering::SeqCst), 1);
    // One request timeout (1 s) and change, not the 10 minutes the holder would stall.
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(
        lab.store
            .pull_cursor(&n("mx-csirt"), &n("cl-csirt"))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused_without_being_read() {
    let huge = {
        let mut v = br#"{"envelopes":[],"next":1,"more":false,"holds":{},"pad":""#.to_vec();
        v.extend(std::iter::repeat_n(b'x', 12 * 1024 * 1024));
        v.extend_from_slice(b"\"}");
        v
    };
    let holder = fake_holder(5, Arc::new(move || huge.clone()), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    sync::round(&lab.fed).await;
    assert_eq!(holder.relay_requests.load(Ordering::SeqCst), 1);
    assert_eq!(
        lab.store
            .pull_cursor(&n("mx-csirt"), &n("cl-csirt"))
            .await
            .unwrap(),
        0
    );
    let peers = lab.store.peer_states().await.unwrap();
    let mx = peers.iter().find(|p| p.peer == n("mx-csirt"));
    assert!(
        mx.is_none_or(|p| p.consecutive_failures == 0),
        "the holder answered its direct pull: a bad relay answer is not an outage"
    );
}

#[tokio::test]
async fn a_node_that_held_some_of_the_origin_asks_since_shortly_before_its_newest() {
    let holder = fake_holder(9, Arc::new(|| page(&[], 9)), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    // It already holds one envelope of cl-csirt, created at t0 (got before the link broke).
    let held = envelope("cl-csirt", &lab.cl, 31, lab.t0);
    let raw = serde_json::value::to_raw_value(&held).unwrap();
    let reply = lab.fed.receive_batch(&[raw.as_ref()]).await.unwrap();
    assert_eq!(reply.accepted.len(), 1, "{reply:?}");
    sync::round(&lab.fed).await;
    let queries = holder.queries.lock().unwrap().clone();
    let relay_query = queries
        .iter()
        .find(|q| q.contains("origin=cl-csirt"))
        .unwrap();
    let since = lab.t0.plus_millis(-10 * 60_000).to_string();
    assert!(
        relay_query.contains(&format!("since={}", since.replace(':', "%3A"))),
        "{relay_query} (expected since {since})"
    );
    assert_eq!(lab.fed.clock.now(), lab.t0);
}

/// An origin whose clock ran 6 minutes ahead: its envelopes are refused for now
/// (`created_in_future`). The puller must not read past them — the source would count them
/// delivered and never offer them again — and must take them once its clock has caught up.
#[tokio::test]
async fn an_envelope_refused_for_now_is_pulled_again_not_skipped() {
    let cell: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let c = cell.clone();
    let holder = fake_holder(2, Arc::new(move || c.lock().unwrap().clone()), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    let ahead = envelope("cl-csirt", &lab.cl, 41, lab.t0.plus_millis(6 * 60_000));
    let now = envelope("cl-csirt", &lab.cl, 42, lab.t0);
    *cell.lock().unwrap() = page(&[now.clone(), ahead.clone()], 2);
    sync::round(&lab.fed).await;
    assert!(!lab.store.has_envelope(id_of(&ahead)).await.unwrap());
    assert_eq!(
        lab.store
            .pull_cursor(&n("mx-csirt"), &n("cl-csirt"))
            .await
            .unwrap(),
        0,
        "not read past"
    );
    lab.clock.advance_millis(90_000);
    sync::round(&lab.fed).await;
    assert!(lab.store.has_envelope(id_of(&ahead)).await.unwrap());
    assert!(lab.store.has_envelope(id_of(&now)).await.unwrap());
    assert_eq!(
        lab.store
            .pull_cursor(&n("mx-csirt"), &n("cl-csirt"))
            .await
            .unwrap(),
        2
    );
}

/// A sealed bulletin from `cl-csirt` in the form with the recipients inside: `content` sealed
/// to `to` (padded to four stanzas), `tamper` applied to the age file, then signed by the
/// origin, so only what is inside can be wrong.
fn sealed_envelope(
    lab: &Lab,
    i: u32,
    tlp: &str,
    content: &[u8],
    to: &[atalaya_crypto::PublicSealingKey],
    tamper: impl FnOnce(&mut Vec<u8>),
) -> serde_json::Value {
    use base64::Engine as _;
    let mut rng = EntropyRng(&SeededEntropy::new(u64::from(i)));
    let mut age = atalaya_crypto::seal_padded(content, to, 4, &mut rng).unwrap();
    tamper(&mut age);
    let id = format!("01936b2e-0000-7000-8000-{i:012}");
    let mut e = serde_json::json!({
        "v": 1, "id": id, "kind": "bulletin", "origin": "cl-csirt", "created": lab.t0,
        "tlp": tlp, "embargo_until": null, "refs": [],
        "sealed": {"alg": "age-x25519",
                   "ciphertext": base64::engine::general_purpose::STANDARD.encode(&age)}
    });
    let key_ref = format!("cl-csirt#{}", lab.cl.key_id());
    sign_envelope(e.as_object_mut().unwrap(), lab.cl.signing_key(), &key_ref).unwrap();
    e
}

fn red_content(audience: serde_json::Value, people: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "audience": audience, "people": people, "embargo_until": null, "refs": [],
        "body": {"kind": "attack-warning", "severity": "high", "title": "Eyes only",
                 "summary": "s"}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_sealed_item_is_read_by_its_recipient_and_only_carried_by_others() {
    let holder = fake_holder(0, Arc::new(|| page(&[], 0)), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    let ar_nodes = serde_json::json!({"scope": "nodes", "nodes": ["ar-csirt"]});
    let mx_nodes = serde_json::json!({"scope": "nodes", "nodes": ["mx-csirt"]});
    let for_ar = sealed_envelope(
        &lab,
        41,
        "RED",
        &red_content(ar_nodes, serde_json::json!(["duty@ar-csirt"])),
        &[lab.ar_sealing],
        |_| {},
    );
    let for_mx = sealed_envelope(
        &lab,
        42,
        "RED",
        &red_content(mx_nodes, serde_json::json!(["duty@mx-csirt"])),
        &[lab.mx.sealing_public()],
        |_| {},
    );
    for e in [&for_ar, &for_mx] {
        let text = e.to_string();
        assert!(
            !text.contains("duty@") && !text.contains("\"audience\""),
            "{text}"
        );
    }
    let raws: Vec<_> = [&for_ar, &for_mx]
        .iter()
        .map(|e| serde_json::value::to_raw_value(e).unwrap())
        .collect();
    let batch: Vec<&serde_json::value::RawValue> = raws.iter().map(AsRef::as_ref).collect();
    let reply = lab.fed.receive_batch(&batch).await.unwrap();
    assert_eq!(reply.accepted.len(), 2, "{reply:?}");
    // The one for ar-csirt: opened, with the labels from inside.
    let held = lab.store.bulletin(id_of(&for_ar)).await.unwrap().unwrap();
    assert_eq!(held.bulletin.people, vec!["duty@ar-csirt".to_owned()]);
    assert_eq!(held.bulletin.content.title, "Eyes only");
    // The one for mx-csirt: carried, unread, and its row names no recipient.
    assert!(lab.store.has_envelope(id_of(&for_mx)).await.unwrap());
    assert!(lab.store.bulletin(id_of(&for_mx)).await.unwrap().is_none());
    let rows = lab
        .store
        .log_after(0, Some(&n("cl-csirt")), 10)
        .await
        .unwrap();
    let carried = rows.iter().find(|r| r.id == id_of(&for_mx)).unwrap();
    assert!(
        !carried.audience.contains("mx-csirt"),
        "{}",
        carried.audience
    );
    assert!(!carried.raw.contains("mx-csirt") && !carried.raw.contains("duty@"));
}

#[tokio::test]
async fn a_sealed_item_with_a_bad_inside_is_refused_and_nothing_is_stored() {
    let holder = fake_holder(0, Arc::new(|| page(&[], 0)), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    let ar_nodes = || serde_json::json!({"scope": "nodes", "nodes": ["ar-csirt"]});
    let good = red_content(ar_nodes(), serde_json::json!(["duty@ar-csirt"]));
    let to = [lab.ar_sealing];
    // A header MAC changed to another valid one, then signed by the origin.
    let bad_mac = |age: &mut Vec<u8>| {
        let at = age.windows(4).position(|w| w == b"--- ").unwrap() + 10;
        age[at] = if age[at] == b'A' { b'B' } else { b'A' };
    };
    let flip_last = |age: &mut Vec<u8>| *age.last_mut().unwrap() ^= 1;
    let mut altered_in_transit = sealed_envelope(&lab, 51, "RED", &good, &to, |_| {});
    {
        let c = altered_in_transit["sealed"]["ciphertext"].as_str().unwrap();
        let mut c = c.to_owned();
        let tail = if c.ends_with('A') { "B" } else { "A" };
        c.replace_range(c.len() - 1.., tail);
        altered_in_transit["sealed"]["ciphertext"] = c.into();
    }
    let mut labels_in_clear = sealed_envelope(&lab, 58, "RED", &good, &to, |_| {});
    labels_in_clear["audience"] = ar_nodes();
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (altered_in_transit, "bad_signature"),
        (
            sealed_envelope(&lab, 52, "RED", &good, &to, bad_mac),
            "sealed_header_mac",
        ),
        (
            sealed_envelope(&lab, 53, "RED", &good, &to, flip_last),
            "sealed_payload_corrupt",
        ),
        (
            sealed_envelope(
                &lab,
                54,
                "RED",
                &red_content(ar_nodes(), serde_json::json!(["duty"])),
                &to,
                |_| {},
            ),
            "malformed_sealed_content",
        ),
        (
            sealed_envelope(
                &lab,
                55,
                "RED",
                &red_content(
                    serde_json::json!({"scope": "network"}),
                    serde_json::json!(["duty@ar-csirt"]),
                ),
                &to,
                |_| {},
            ),
            "malformed_sealed_content",
        ),
        (
            sealed_envelope(&lab, 56, "RED", b"not json", &to, |_| {}),
            "malformed_sealed_content",
        ),
        (
            sealed_envelope(&lab, 57, "AMBER+STRICT", &good, &to, |age| {
                *age = b"not an age file".to_vec();
            }),
            "cannot_open_sealed",
        ),
        (labels_in_clear, "malformed_envelope"),
    ];
    let head = lab.store.log_head().await.unwrap();
    for (e, code) in &cases {
        let raw = serde_json::value::to_raw_value(e).unwrap();
        let reply = lab.fed.receive_batch(&[raw.as_ref()]).await.unwrap();
        assert!(reply.accepted.is_empty(), "{code}: {reply:?}");
        assert_eq!(reply.rejected.len(), 1, "{code}: {reply:?}");
        assert_eq!(reply.rejected[0].code, *code, "{reply:?}");
        assert!(!lab.store.has_envelope(id_of(e)).await.unwrap(), "{code}");
        assert!(
            lab.store.bulletin(id_of(e)).await.unwrap().is_none(),
            "{code}"
        );
    }
    assert_eq!(lab.store.log_head().await.unwrap(), head, "nothing stored");
}

/// Envelopes of the earlier form (labels and `sealed.to` in clear, the age file holding only
/// the body), signed before the upgrade, are still read by their recipient.
#[tokio::test]
async fn a_sealed_envelope_of_the_earlier_form_still_opens() {
    use base64::Engine as _;
    let holder = fake_holder(0, Arc::new(|| page(&[], 0)), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    let body = serde_json::json!({"kind": "attack-warning", "severity": "high",
                                  "title": "Sealed the old way", "summary": "s"});
    let mut rng = EntropyRng(&SeededEntropy::new(61));
    let age = atalaya_crypto::seal(
        &serde_json::to_vec(&body).unwrap(),
        &[lab.cl.sealing_public(), lab.ar_sealing],
        &mut rng,
    )
    .unwrap();
    let mut e = serde_json::json!({
        "v": 1, "id": "01936b2e-0000-7000-8000-000000000061", "kind": "bulletin",
        "origin": "cl-csirt", "created": lab.t0, "tlp": "RED",
        "audience": {"scope": "nodes", "nodes": ["ar-csirt"]}, "people": ["duty@ar-csirt"],
        "embargo_until": null, "refs": [],
        "sealed": {"alg": "age-x25519", "to": ["cl-csirt", "ar-csirt"],
                   "ciphertext": base64::engine::general_purpose::STANDARD.encode(&age)}
    });
    let key_ref = format!("cl-csirt#{}", lab.cl.key_id());
    sign_envelope(e.as_object_mut().unwrap(), lab.cl.signing_key(), &key_ref).unwrap();
    let raw = serde_json::value::to_raw_value(&e).unwrap();
    let reply = lab.fed.receive_batch(&[raw.as_ref()]).await.unwrap();
    assert_eq!(reply.accepted.len(), 1, "{reply:?}");
    let held = lab.store.bulletin(id_of(&e)).await.unwrap().unwrap();
    assert_eq!(held.bulletin.content.title, "Sealed the old way");
    assert_eq!(held.bulletin.people, vec!["duty@ar-csirt".to_owned()]);
}

/// A stored envelope whose labels cannot be read (a damaged row) is not served to a puller,
/// and not passed over in silence either: it is counted (and logged with its id), and the pull
/// goes on past it to the envelopes after it.
#[tokio::test]
async fn a_stored_envelope_that_cannot_be_decoded_is_counted_not_silently_skipped() {
    let holder = fake_holder(0, Arc::new(|| page(&[], 0)), false).await;
    let lab = lab(&holder.url, FederationSettings::default()).await;
    let before = envelope("cl-csirt", &lab.cl, 51, lab.t0);
    let raw = serde_json::value::to_raw_value(&before).unwrap();
    let reply = lab.fed.receive_batch(&[raw.as_ref()]).await.unwrap();
    assert_eq!(reply.accepted.len(), 1, "{reply:?}");
    let damaged = atalaya_store::NewEnvelope {
        id: "01936b2e-0000-7000-8000-000000000052".parse().unwrap(),
        kind: "bulletin".into(),
        origin: n("cl-csirt"),
        created: lab.t0,
        tlp: "PURPLE".into(),
        audience: r#"{"scope":"network"}"#.into(),
        raw: "{}".into(),
        bulletin: None,
    };
    lab.store.ingest(&[damaged], lab.t0).await.unwrap();
    let after = envelope("cl-csirt", &lab.cl, 53, lab.t0);
    let raw = serde_json::value::to_raw_value(&after).unwrap();
    let reply = lab.fed.receive_batch(&[raw.as_ref()]).await.unwrap();
    assert_eq!(reply.accepted.len(), 1, "{reply:?}");
    let newest = lab.store.log_after(0, None, 100).await.unwrap();
    let last = newest.last().unwrap().cursor;

    let (served, next, more) = lab
        .fed
        .serve_pull(&n("mx-csirt"), 0, Some(&n("cl-csirt")), None, 100)
        .await
        .unwrap();
    assert_eq!(Metrics::get(&lab.fed.metrics.undecodable_rows), 1);
    assert!(served.iter().all(|raw| raw != "{}"), "{served:?}");
    assert_eq!(next, last, "the pull went on past the damaged row");
    assert!(!more);
}
