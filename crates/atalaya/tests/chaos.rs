//! Chaos: six real `atalaya` processes on loopback, and while several origins publish in bursts
//! (GREEN to the network, AMBER to named nodes, AMBER+STRICT, GREEN to countries), receivers
//! acknowledge and a reader views AMBER bulletins, random nodes — origins, receivers, relays —
//! are killed with SIGKILL and restarted. After a settle period:
//!
//! * every bulletin is held exactly once at every node its labels allow, and at no other node
//!   (counted in each node's listing, so a duplicate would show);
//! * every bulletin whose publication was answered is held at its origin (the answer came after
//!   the commit);
//! * every acknowledgement that was answered shows in the origin's acknowledgement matrix;
//! * every node's audit chain verifies (`atalaya audit verify`, peers' checkpoints included) and
//!   holds an entry for every view the test saw answered with 200.
//!
//! The choices (who publishes what to whom, who acknowledges, who is killed when) come from a
//! seeded generator. The seed is printed; `ATALAYA_CHAOS_SEED=<seed>` replays the same choices:
//! each origin's bursts and labels, the kills' timing and victims. What depends on the nodes'
//! timing is not replayed: which delivered bulletins get acknowledged or viewed, and which node
//! has just answered a view when a kill aims at that one.
//!
//! The soak's network machinery lives in `atalaya soak` (`cargo xtask soak`); here only its
//! refusal of a bad length is tested, since a soak run takes minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{TestNet, atalaya};

/// The members besides the coordinator (countries CL, MX, AR, BR, CO; the coordinator is US).
const MEMBERS: [&str; 5] = ["cl-csirt", "mx-csirt", "ar-csirt", "br-csirt", "co-csirt"];
/// The nodes that publish.
const ORIGINS: [&str; 3] = ["coordinator", "cl-csirt", "ar-csirt"];
/// How long nodes are killed and restarted while the traffic runs.
const CHAOS: Duration = Duration::from_secs(40);
/// How long the network may take, once every node runs again, to deliver everything.
const SETTLE: Duration = Duration::from_secs(90);
/// Title prefix of the test's bulletins.
const TITLE: &str = "chaos";

/// splitmix64: small, seedable, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `lo..=hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }

    /// `k` distinct items of `from`, in random order.
    fn pick<T: Clone>(&mut self, from: &[T], k: usize) -> Vec<T> {
        let mut pool = from.to_vec();
        let mut out = Vec::new();
        while out.len() < k && !pool.is_empty() {
            out.push(pool.remove(self.below(pool.len())));
        }
        out
    }
}

/// What the traffic threads need of a node: nothing that changes when it is restarted.
#[derive(Clone)]
struct Endpoint {
    id: String,
    country: String,
    url: String,
    /// The node's CLI token (every right).
    token: String,
    /// A token named `reader` with `bulletins:read` only: its views are the ones counted.
    reader: String,
}

impl Endpoint {
    /// A request that may fail at the transport (the node may be dead): `None` then.
    fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Option<(u16, Value)> {
        let http = common::http();
        let url = format!("{}{path}", self.url);
        let req = match method {
            "POST" => http.post(url).json(body.unwrap_or(&Value::Null)),
            _ => http.get(url),
        };
        let r = req.bearer_auth(token).send().ok()?;
        let status = r.status().as_u16();
        // A body cut short by a kill is a transport failure too.
        let text = r.text().ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

/// Raises the flag when dropped, also while unwinding from a panic.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A publication the origin answered with 201.
#[derive(Debug, Clone)]
struct Published {
    id: String,
    origin: String,
    amber: bool,
    readers: Vec<String>,
}

/// What the traffic saw answered.
#[derive(Default)]
struct Ledger {
    published: Vec<Published>,
    /// Publications that got no answer (the origin died): they may or may not exist.
    unanswered: usize,
    /// (bulletin, acknowledging node) answered with 200.
    acks: BTreeSet<(String, String)>,
    /// (node, bulletin) → views answered with 200 to `reader`.
    views: BTreeMap<(String, String), usize>,
    /// The node that answered the latest view: killing it right after is the hard case for
    /// its audit trail.
    last_view_at: Option<String>,
    /// Answers that should never happen (a 5xx, a refusal of an allowed view).
    anomalies: Vec<String>,
}

/// The nodes a bulletin's labels allow (its origin included), from the bulletin as listed.
fn allowed_nodes(b: &Value, nodes: &[Endpoint]) -> BTreeSet<String> {
    let origin = b["origin"].as_str().unwrap();
    let audience = &b["audience"];
    nodes
        .iter()
        .filter(|n| {
            n.id == origin
                || match audience["scope"].as_str().unwrap() {
                    "network" => true,
                    "nodes" => audience["nodes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x == n.id.as_str()),
                    "countries" => audience["countries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c == n.country.as_str()),
                    other => panic!("unexpected audience scope {other}"),
                }
        })
        .map(|n| n.id.clone())
        .collect()
}

/// One publisher: bursts of 1–4 bulletins with mixed labels, then a pause.
fn publish_loop(
    me: &Endpoint,
    nodes: &[Endpoint],
    mut rng: Rng,
    stop: &AtomicBool,
    ledger: &Mutex<Ledger>,
) {
    let others: Vec<&Endpoint> = nodes.iter().filter(|n| n.id != me.id).collect();
    // Other countries only: a bulletin to its own country alone would have no recipient.
    let countries: Vec<String> = others.iter().map(|n| n.country.clone()).collect();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..1 + rng.below(4) {
            n += 1;
            let (tlp, audience) = match rng.below(4) {
                0 => ("GREEN", json!({"scope": "network"})),
                1 | 2 => {
                    let k = 1 + rng.below(3);
                    let to: Vec<String> =
                        rng.pick(&others, k).iter().map(|e| e.id.clone()).collect();
                    let tlp = if rng.below(2) == 0 {
                        "AMBER"
                    } else {
                        "AMBER+STRICT"
                    };
                    (tlp, json!({"scope": "nodes", "nodes": to}))
                }
                _ => {
                    let k = 1 + rng.below(2);
                    (
                        "GREEN",
                        json!({"scope": "countries", "countries": rng.pick(&countries, k)}),
                    )
                }
            };
            let draft = json!({
                "tlp": tlp, "kind": "attack-warning", "severity": "high",
                "title": format!("{TITLE} {} {n}", me.id), "summary": "Chaos test warning.",
                "audience": audience,
            });
            match me.call("POST", "/api/v1/bulletins", &me.token, Some(&draft)) {
                Some((201, body)) => {
                    let b = &body["bulletin"];
                    let readers = allowed_nodes(b, nodes).into_iter().collect();
                    ledger.lock().unwrap().published.push(Published {
                        id: b["id"].as_str().unwrap().to_owned(),
                        origin: me.id.clone(),
                        amber: tlp != "GREEN",
                        readers,
                    });
                }
                Some((status, body)) => ledger
                    .lock()
                    .unwrap()
                    .anomalies
                    .push(format!("publish at {}: {status} {body}", me.id)),
                None => {
                    ledger.lock().unwrap().unanswered += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        std::thread::sleep(rng.millis(800, 2500));
    }
}

/// Receivers acknowledge bulletins they hold; a reader views AMBER ones at their readers.
fn acknowledge_and_view_loop(
    nodes: &[Endpoint],
    mut rng: Rng,
    stop: &AtomicBool,
    ledger: &Mutex<Ledger>,
) {
    let notes = ["received", "investigating", "no-impact", "affected"];
    let by_id = |id: &str| nodes.iter().find(|n| n.id == id).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let (published, acked) = {
            let l = ledger.lock().unwrap();
            (l.published.clone(), l.acks.clone())
        };
        if published.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let p = &published[rng.below(published.len())];
        if rng.below(3) < 2 {
            // An acknowledgement by one of the receivers (not yet made).
            let receivers: Vec<&String> = p
                .readers
                .iter()
                .filter(|r| **r != p.origin && !acked.contains(&(p.id.clone(), (*r).clone())))
                .collect();
            if receivers.is_empty() {
                continue;
            }
            let node = by_id(receivers[rng.below(receivers.len())]);
            let note = notes[rng.below(notes.len())];
            match node.call(
                "POST",
                &format!("/api/v1/bulletins/{}/ack", p.id),
                &node.token,
                Some(&json!({"note": note})),
            ) {
                Some((200, _)) => {
                    ledger
                        .lock()
                        .unwrap()
                        .acks
                        .insert((p.id.clone(), node.id.clone()));
                }
                // Not there yet: fine, another try may come later.
                Some((404, _)) | None => {}
                Some((status, body)) => ledger
                    .lock()
                    .unwrap()
                    .anomalies
                    .push(format!("ack of {} at {}: {status} {body}", p.id, node.id)),
            }
        } else if p.amber {
            let node = by_id(&p.readers[rng.below(p.readers.len())]);
            match node.call(
                "GET",
                &format!("/api/v1/bulletins/{}", p.id),
                &node.reader,
                None,
            ) {
                Some((200, _)) => {
                    let mut l = ledger.lock().unwrap();
                    *l.views.entry((node.id.clone(), p.id.clone())).or_default() += 1;
                    l.last_view_at = Some(node.id.clone());
                }
                Some((404, _)) | None => {}
                Some((status, body)) => ledger
                    .lock()
                    .unwrap()
                    .anomalies
                    .push(format!("view of {} at {}: {status} {body}", p.id, node.id)),
            }
        }
        std::thread::sleep(rng.millis(5, 60));
    }
}

/// Per listed bulletin id of ours: how many times node `n` lists it. `None` if it does not answer.
fn listing(n: &Endpoint) -> Option<BTreeMap<String, (usize, Value)>> {
    let (status, body) = n.call("GET", "/api/v1/bulletins?limit=500", &n.token, None)?;
    assert_eq!(status, 200, "listing at {}: {body}", n.id);
    let items = body["bulletins"].as_array().unwrap();
    assert!(
        items.len() < 500,
        "{} lists 500 bulletins: the listing would hide some",
        n.id
    );
    let mut out: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    for b in items
        .iter()
        .filter(|b| b["title"].as_str().is_some_and(|t| t.starts_with(TITLE)))
    {
        out.entry(b["id"].as_str().unwrap().to_owned())
            .or_insert((0, b.clone()))
            .0 += 1;
    }
    Some(out)
}

/// `(actor, action, decision, object)` of every entry of a node's audit trail.
fn audit_entries(config: &std::path::Path) -> Vec<(String, String, String, String)> {
    let out = atalaya(&[
        "audit",
        "show",
        "--config",
        config.to_str().unwrap(),
        "--last",
        "100000000",
    ]);
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 6).then(|| {
                (
                    f[2].to_owned(),
                    f[3].to_owned(),
                    f[4].to_owned(),
                    f[f.len() - 1].to_owned(),
                )
            })
        })
        .collect()
}

#[test]
fn killed_nodes_lose_nothing_double_nothing_and_keep_their_audit_trail() {
    let seed = std::env::var("ATALAYA_CHAOS_SEED")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .expect("ATALAYA_CHAOS_SEED is a number")
        })
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("chaos seed {seed} (replay the same choices with ATALAYA_CHAOS_SEED={seed})");
    let ctx = format!("[ATALAYA_CHAOS_SEED={seed}]");
    let mut rng = Rng(seed);

    let mut net = TestNet::new(&MEMBERS);
    let countries = ["US", "CL", "MX", "AR", "BR", "CO"];
    let nodes: Vec<Endpoint> = net
        .nodes
        .iter()
        .zip(countries)
        .map(|(n, country)| {
            let config = n.config();
            let reader = atalaya(&[
                "token",
                "create",
                "--config",
                config.to_str().unwrap(),
                "--name",
                "reader",
                "--scopes",
                "bulletins:read",
            ]);
            Endpoint {
                id: n.id.clone(),
                country: country.to_owned(),
                url: n.url(),
                token: n.token.clone(),
                reader: reader.trim().to_owned(),
            }
        })
        .collect();
    net.start_all();

    // Traffic in threads; kills and restarts here.
    let stop = AtomicBool::new(false);
    let ledger = Mutex::new(Ledger::default());
    let mut kills: Vec<String> = Vec::new();
    std::thread::scope(|s| {
        // Whatever happens here (a node that does not come back panics), the traffic stops, or
        // the scope would wait for it forever.
        let _stop_traffic = StopOnDrop(&stop);
        for origin in ORIGINS {
            let me = nodes.iter().find(|n| n.id == origin).unwrap();
            let r = Rng(rng.next());
            let (nodes, stop, ledger) = (&nodes, &stop, &ledger);
            s.spawn(move || publish_loop(me, nodes, r, stop, ledger));
        }
        for _ in 0..2 {
            let r = Rng(rng.next());
            let (nodes, stop, ledger) = (&nodes, &stop, &ledger);
            s.spawn(move || acknowledge_and_view_loop(nodes, r, stop, ledger));
        }
        let start = Instant::now();
        while start.elapsed() < CHAOS {
            std::thread::sleep(rng.millis(1500, 4000));
            // One node, sometimes two at once; a third of the time the node that has just
            // answered a view (the audit entry must already be safe).
            let how_many = 1 + rng.below(4) / 3;
            let ids: Vec<String> = net.nodes.iter().map(|n| n.id.clone()).collect();
            // Draw the same numbers whatever happened, so a seed replays the same choices.
            let hit_the_viewed = rng.below(3) == 0;
            let picked = rng.pick(&ids, how_many);
            let just_viewed = ledger.lock().unwrap().last_view_at.clone();
            let victims = match just_viewed {
                Some(v) if hit_the_viewed => vec![v],
                _ => picked,
            };
            for v in &victims {
                net.node_mut(v).kill9();
                kills.push(v.clone());
            }
            std::thread::sleep(rng.millis(200, 2500));
            for v in &victims {
                net.node_mut(v).start();
            }
        }
    });
    let ledger = ledger.into_inner().unwrap();
    eprintln!(
        "{ctx} kills: {kills:?}; {} publications answered, {} unanswered, {} acknowledgements, {} views",
        ledger.published.len(),
        ledger.unanswered,
        ledger.acks.len(),
        ledger.views.values().sum::<usize>()
    );
    assert!(
        ledger.anomalies.is_empty(),
        "{ctx} unexpected answers: {:#?}",
        ledger.anomalies
    );
    assert!(kills.len() >= 5, "{ctx} only {} kills", kills.len());
    assert!(
        ledger.published.len() >= 30,
        "{ctx} only {} publications",
        ledger.published.len()
    );
    assert!(
        !ledger.acks.is_empty() && !ledger.views.is_empty(),
        "{ctx} no acknowledgement or view"
    );

    // What each origin holds of its own is the truth (answered publications must be in it;
    // unanswered ones may be); each bulletin's labels say where it may be.
    let mut truth: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for origin in ORIGINS {
        let n = nodes.iter().find(|n| n.id == origin).unwrap();
        let listed = listing(n).unwrap();
        for (id, (count, b)) in &listed {
            if b["origin"] == origin {
                assert_eq!(*count, 1, "{ctx} {origin} lists its own {id} {count} times");
                truth.insert(id.clone(), (origin.to_owned(), allowed_nodes(b, &nodes)));
            }
        }
    }
    for p in &ledger.published {
        assert!(
            truth.contains_key(&p.id),
            "{ctx} {} answered the publication of {} but no longer holds it",
            p.origin,
            p.id
        );
    }

    // Settle: every bulletin exactly once where allowed, never elsewhere; every answered
    // acknowledgement in its origin's matrix.
    let start = Instant::now();
    loop {
        let mut missing = Vec::new();
        for n in &nodes {
            let Some(held) = listing(n) else {
                missing.push(format!("{} does not answer", n.id));
                continue;
            };
            for (id, (origin, allowed)) in &truth {
                let count = held.get(id).map_or(0, |(c, _)| *c);
                if allowed.contains(&n.id) {
                    assert!(
                        count <= 1,
                        "{ctx} {} holds {id} (from {origin}) {count} times",
                        n.id
                    );
                    if count == 0 {
                        missing.push(format!("{} lacks {id} from {origin}", n.id));
                    }
                } else {
                    assert_eq!(
                        count, 0,
                        "{ctx} {} holds {id} from {origin}, not addressed to it",
                        n.id
                    );
                }
            }
            let stray: Vec<&String> = held.keys().filter(|id| !truth.contains_key(*id)).collect();
            assert!(
                stray.is_empty(),
                "{ctx} {} holds {stray:?}, which no origin holds",
                n.id
            );
        }
        for (id, by) in &ledger.acks {
            let origin = nodes.iter().find(|n| n.id == truth[id].0).unwrap();
            let matrix = origin.call(
                "GET",
                &format!("/api/v1/bulletins/{id}"),
                &origin.token,
                None,
            );
            let seen = matrix.is_some_and(|(_, b)| {
                b["bulletin"]["deliveries"].as_array().is_some_and(|d| {
                    d.iter()
                        .any(|d| d["peer"] == by.as_str() && d["acknowledged"].is_object())
                })
            });
            if !seen {
                missing.push(format!(
                    "{}'s matrix lacks {by}'s acknowledgement of {id}",
                    origin.id
                ));
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < SETTLE,
            "{ctx} not settled after {SETTLE:?}: {} gaps, e.g. {:#?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "{ctx} settled {:.1} s after the last restart: {} bulletins",
        start.elapsed().as_secs_f64(),
        truth.len()
    );
    // A few more rounds of pushes and pulls: still exactly once.
    std::thread::sleep(Duration::from_millis(1500));
    for n in &nodes {
        let held = listing(n).unwrap();
        for (id, (count, _)) in &held {
            assert!(
                *count == 1 && truth[id].1.contains(&n.id),
                "{ctx} {} holds {id} {count} times",
                n.id
            );
        }
    }

    // Audit: every chain intact (against the peers' checkpoints too), and every answered view
    // recorded. The trail is written in the background, so give a live node a moment.
    for (n, endpoint) in net.nodes.iter().zip(&nodes) {
        let out = std::process::Command::new(common::BIN)
            .args(["audit", "verify", "--config"])
            .arg(n.config())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("audit chain intact"),
            "{ctx} {}: {text}",
            n.id
        );
        let wanted: Vec<(&String, usize)> = ledger
            .views
            .iter()
            .filter(|((node, _), _)| *node == endpoint.id)
            .map(|((_, id), count)| (id, *count))
            .collect();
        let start = Instant::now();
        loop {
            let mut recorded: BTreeMap<String, usize> = BTreeMap::new();
            for (actor, action, decision, object) in audit_entries(&n.config()) {
                if actor == "user:reader" && action == "view" && decision == "allow" {
                    *recorded.entry(object).or_default() += 1;
                }
            }
            let short: Vec<String> = wanted
                .iter()
                .filter(|(id, count)| recorded.get(*id).copied().unwrap_or(0) < *count)
                .map(|(id, count)| {
                    format!(
                        "{id}: {count} answered, {} recorded",
                        recorded.get(*id).copied().unwrap_or(0)
                    )
                })
                .collect();
            if short.is_empty() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{ctx} {} answered views that its audit trail does not record (the entry must be durable before the answer, or a kill loses it): {short:#?}",
                n.id
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// `atalaya soak` (behind `cargo xtask soak`) refuses a bad length before it creates or starts
/// anything.
#[test]
fn a_soak_of_a_bad_length_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("soak");
    for bad in [
        "--minutes=0",
        "--minutes=-1",
        "--minutes=abc",
        "--minutes=1441",
    ] {
        let out = std::process::Command::new(common::BIN)
            .args(["soak", bad, "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains("invalid value") && stderr.contains("--minutes"),
            "{bad}: {stderr}"
        );
        assert!(
            !out_dir.exists(),
            "{bad}: the soak created {}",
            out_dir.display()
        );
    }
}
