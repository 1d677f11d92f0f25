//! The federation inbox authenticates before it reads: real `atalaya` processes on loopback,
//! raw HTTP/1.1 over TCP (so the tests control framing, pacing and what is never sent), real
//! signatures, and the node's memory read from `/proc/<pid>/status`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use atalaya_crypto::{NodeKeys, RequestParts, sign_envelope, sign_request};
use common::{TestNet, TestNode, TestRng};
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The node's resident memory, in bytes.
fn rss(node: &TestNode) -> u64 {
    let pid = node.child.as_ref().unwrap().id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

fn log_head(node: &TestNode) -> i64 {
    node.get("/api/v1/status").1["log_head"].as_i64().unwrap()
}

/// A raw HTTP/1.1 answer: status and JSON body (and all that was read, for failures).
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
    #[allow(dead_code)] // shown by Debug when an assertion fails
    raw: String,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Read one HTTP/1.1 answer (`connection: close` or a content-length) from `s`.
fn read_answer(s: &mut TcpStream) -> std::io::Result<Answer> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf)?;
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if n == 0 || len.is_some_and(|len| body.len() >= len) {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                // Only this answer's body (bytes after it are the next answer).
                let body = &body[..len.unwrap_or(body.len()).min(body.len())];
                return Ok(Answer {
                    status,
                    body: serde_json::from_str(body).unwrap_or(Value::Null),
                    raw: text.clone(),
                });
            }
        }
        if n == 0 {
            return Err(std::io::Error::other(format!(
                "connection closed before an answer: {:?}",
                String::from_utf8_lossy(&got)
            )));
        }
    }
}

/// A request head to the inbox with these extra header lines.
fn head(port: u16, extra: &[(&str, String)]) -> Vec<u8> {
    let mut h = format!(
        "POST /fed/v1/inbox HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
    );
    for (k, v) in extra {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// A member that signs inbox requests as a peer would.
struct Peer {
    keys: NodeKeys,
    key_ref: String,
    port: u16,
    rng: TestRng,
}

impl Peer {
    fn of(net: &TestNet, id: &str, target: &str) -> Peer {
        let keys = NodeKeys::load_from_dir(&net.node(id).dir.join("keys")).unwrap();
        Peer {
            key_ref: format!("{id}#{}", keys.key_id()),
            keys,
            port: net.node(target).port,
            rng: TestRng(now_secs() as u64),
        }
    }

    /// Signature headers for an inbox POST of `body`, `skew` seconds from now.
    fn sign(&mut self, body: &[u8], skew: i64) -> Vec<(&'static str, String)> {
        let authority = format!("127.0.0.1:{}", self.port);
        let parts = RequestParts {
            method: "POST",
            authority: &authority,
            path: "/fed/v1/inbox",
            query: None,
            body: Some(body),
        };
        let h = sign_request(
            &parts,
            self.keys.signing_key(),
            &self.key_ref,
            now_secs() + skew,
            &mut self.rng,
        )
        .unwrap();
        vec![
            ("signature-input", h.signature_input),
            ("signature", h.signature),
            ("content-digest", h.content_digest.unwrap()),
        ]
    }

    /// A signed batch of one GREEN warning from this member.
    fn batch(&self, id: &str) -> Vec<u8> {
        let origin = self.key_ref.split('#').next().unwrap();
        let mut e = json!({
            "v": 1, "id": id, "kind": "bulletin", "origin": origin,
            "created": common::now_rfc3339(0), "tlp": "GREEN",
            "audience": {"scope": "network"}, "embargo_until": null, "refs": [],
            "body": {"kind": "informational", "title": "t", "summary": "s", "severity": "low"}
        })
        .as_object()
        .unwrap()
        .clone();
        sign_envelope(&mut e, self.keys.signing_key(), &self.key_ref).unwrap();
        serde_json::to_vec(&json!({"envelopes": [e]})).unwrap()
    }
}

/// Send `head`, then `body` (the whole of it, however the node answers), and read the answer.
fn exchange(port: u16, head: &[u8], body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(head).unwrap();
    // The node may answer and close before it has the body: that is the point.
    let _ = s.write_all(body);
    read_answer(&mut s).unwrap()
}

fn content_length(n: usize) -> (&'static str, String) {
    ("content-length", n.to_string())
}

#[test]
fn a_hundred_unsigned_8_mib_posts_are_refused_unread_and_cost_the_node_nothing() {
    /// What the attack may add to the node's resident memory, at its peak and after.
    const BOUND: u64 = 40 * MIB as u64;
    const ATTACKERS: usize = 100;
    const BODY: usize = 8 * MIB;

    let mut net = TestNet::new(&["cl-csirt"]);
    net.node_mut("cl-csirt").start();
    let target = net.node("cl-csirt");
    let port = target.port;
    let before = log_head(target);

    // An unsigned request that sends its head and the first KiB of an 8 MiB body, then
    // nothing more: the refusal comes at once, so the node did not wait for (read) the body.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&head(port, &[content_length(BODY)])).unwrap();
    s.write_all(&[b' '; 1024]).unwrap();
    let started = Instant::now();
    let answer = read_answer(&mut s).unwrap();
    assert_eq!((answer.status, answer.code()), (401, "unsigned_request"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(s);

    // Warm up (allocator arenas, connection tasks), then take the baseline.
    for _ in 0..20 {
        let a = exchange(
            port,
            &head(port, &[content_length(64 * 1024)]),
            &[b' '; 64 * 1024],
        );
        assert_eq!(a.status, 401);
    }
    std::thread::sleep(Duration::from_millis(300));
    let baseline = rss(target);

    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let pid = target.child.as_ref().unwrap().id();
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    && let Some(kb) = status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    peak.fetch_max(kb * 1024, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    // 100 attackers at once, each announcing and sending an 8 MiB body with no signature.
    let start = Arc::new(Barrier::new(ATTACKERS));
    let attack_started = Instant::now();
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let start = start.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let mut writer = s.try_clone().unwrap();
                start.wait();
                writer
                    .write_all(&head(port, &[content_length(BODY)]))
                    .unwrap();
                let sender = std::thread::spawn(move || {
                    let chunk = vec![b' '; 64 * 1024];
                    let mut sent = 0;
                    while sent < BODY {
                        if writer.write_all(&chunk).is_err() {
                            break;
                        }
                        sent += chunk.len();
                    }
                    sent
                });
                let answer = read_answer(&mut s).unwrap();
                drop(s);
                let sent = sender.join().unwrap();
                (answer, sent)
            })
        })
        .collect();
    let results: Vec<(Answer, usize)> = attackers.into_iter().map(|t| t.join().unwrap()).collect();
    let attack_took = attack_started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let after = rss(target);
    let peak = peak.load(Ordering::Relaxed);

    for (answer, _) in &results {
        assert_eq!(
            (answer.status, answer.code()),
            (401, "unsigned_request"),
            "{answer:?}"
        );
    }
    let fully_sent = results.iter().filter(|(_, sent)| *sent >= BODY).count();
    eprintln!(
        "baseline {} MiB, peak +{} KiB, after +{} KiB, {ATTACKERS} refused in {attack_took:?}, \
         {fully_sent} attackers got their whole body into the socket",
        baseline / MIB as u64,
        peak.saturating_sub(baseline) / 1024,
        after.saturating_sub(baseline) / 1024
    );
    assert!(
        peak.saturating_sub(baseline) < BOUND,
        "peak RSS rose by {} KiB (bound {} KiB)",
        peak.saturating_sub(baseline) / 1024,
        BOUND / 1024
    );
    assert!(
        after.saturating_sub(baseline) < BOUND,
        "RSS stayed {} KiB higher",
        after.saturating_sub(baseline) / 1024
    );
    // Had the node read the bodies, every attacker would have sent all of its body before
    // its answer came; the node answered first, and closed.
    assert!(
        fully_sent <= ATTACKERS / 10,
        "{fully_sent} attackers sent their whole body before the refusal"
    );
    assert_eq!(log_head(target), before, "nothing stored");
}

#[test]
fn requests_that_fail_authentication_are_refused_before_their_body() {
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    net.node_mut("cl-csirt").env.push((
        "ATALAYA_FEDERATION__CHECKPOINT_INTERVAL_MS".into(),
        "3600000".into(),
    ));
    net.node_mut("cl-csirt").start();
    let port = net.node("cl-csirt").port;
    let before = log_head(net.node("cl-csirt"));
    let mut mx = Peer::of(&net, "mx-csirt", "cl-csirt");
    let body = mx.batch("01936b2e-0000-7000-8000-0000000000a1");

    // Each refusal comes with only the head and one byte of the body sent: had the node
    // waited for the body, it would not answer at all.
    let refused_unread_announcing = |extra: Vec<(&'static str, String)>, announce: usize| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut lines = extra;
        lines.push(content_length(announce));
        s.write_all(&head(port, &lines)).unwrap();
        s.write_all(&body[..1]).unwrap();
        read_answer(&mut s).unwrap()
    };
    let refused_unread = |extra| refused_unread_announcing(extra, body.len());

    // A garbage signature header.
    let mut garbage = mx.sign(&body, 0);
    garbage[0].1 = "atalaya=(\"@method\" @@@ garbage".into();
    let a = refused_unread(garbage);
    assert_eq!((a.status, a.code()), (401, "malformed_signature"), "{a:?}");
    let mut garbage = mx.sign(&body, 0);
    garbage[1].1 = "atalaya=:not base64!:".into();
    let a = refused_unread(garbage);
    assert_eq!((a.status, a.code()), (401, "malformed_signature"), "{a:?}");

    // An unknown key id: a stranger's key under a member's name, and a non-member.
    let stranger = NodeKeys::generate(&mut TestRng(99));
    let mut impostor = Peer {
        key_ref: format!("mx-csirt#{}", stranger.key_id()),
        keys: NodeKeys::generate(&mut TestRng(99)),
        port,
        rng: TestRng(5),
    };
    let a = refused_unread(impostor.sign(&body, 0));
    assert_eq!((a.status, a.code()), (401, "unknown_key"), "{a:?}");
    impostor.key_ref = format!("zz-nobody#{}", stranger.key_id());
    let a = refused_unread(impostor.sign(&body, 0));
    assert_eq!((a.status, a.code()), (401, "unknown_key"), "{a:?}");

    // A stale timestamp, either way.
    for skew in [-301, 301] {
        let a = refused_unread(mx.sign(&body, skew));
        assert_eq!((a.status, a.code()), (401, "stale_request"), "{a:?}");
    }

    // A replay of a good request, with its own body or another: refused on its nonce, unread.
    let good = mx.sign(&body, 0);
    let mut lines = good.clone();
    lines.push(content_length(body.len()));
    let a = exchange(port, &head(port, &lines), &body);
    assert_eq!(a.status, 200, "{a:?}");
    let a = refused_unread(good.clone());
    assert_eq!((a.status, a.code()), (401, "replayed_request"), "{a:?}");
    assert_eq!(log_head(net.node("cl-csirt")), before + 1);

    // An announced length over the member limit needs no key to be refused.
    let a = refused_unread_announcing(vec![], 9 * MIB);
    assert_eq!((a.status, a.code()), (413, "too_large"), "{a:?}");
    assert_eq!(
        log_head(net.node("cl-csirt")),
        before + 1,
        "nothing more stored"
    );
}

#[test]
fn an_authenticated_body_must_be_the_signed_one_within_its_limits() {
    const LIMIT: usize = 256 * 1024;
    let mut net = TestNet::new(&["cl-csirt", "mx-csirt"]);
    let cl = net.node_mut("cl-csirt");
    cl.env.push((
        "ATALAYA_FEDERATION__CHECKPOINT_INTERVAL_MS".into(),
        "3600000".into(),
    ));
    cl.env.push((
        "ATALAYA_FEDERATION__INBOX_MAX_BYTES".into(),
        LIMIT.to_string(),
    ));
    cl.env.push((
        "ATALAYA_FEDERATION__INBOX_BODY_TIMEOUT_MS".into(),
        "3000".into(),
    ));
    cl.env.push((
        "ATALAYA_FEDERATION__INBOX_BODIES_PER_PEER".into(),
        "1".into(),
    ));
    cl.start();
    let port = net.node("cl-csirt").port;
    let before = log_head(net.node("cl-csirt"));
    let mut mx = Peer::of(&net, "mx-csirt", "cl-csirt");
    let body = mx.batch("01936b2e-0000-7000-8000-0000000000b1");

    // A body longer than announced: HTTP/1.1 takes the announced length as the body, so the
    // node reads exactly that much, and it is not the signed body.
    let mut padded = body.clone();
    padded.extend_from_slice(b"          ");
    let mut lines = mx.sign(&padded, 0);
    lines.push(content_length(body.len()));
    let a = exchange(port, &head(port, &lines), &padded);
    assert_eq!((a.status, a.code()), (401, "digest_mismatch"), "{a:?}");

    // A body whose digest does not match the signed Content-Digest.
    let mut lines = mx.sign(&body, 0);
    lines.push(content_length(body.len()));
    let mut other = body.clone();
    let last = other.len() - 2;
    other[last] = b' ';
    let a = exchange(port, &head(port, &lines), &other);
    assert_eq!((a.status, a.code()), (401, "digest_mismatch"), "{a:?}");

    // A body that ends before its announced length.
    let mut lines = mx.sign(&body, 0);
    lines.push(content_length(body.len()));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&head(port, &lines)).unwrap();
    s.write_all(&body[..body.len() / 2]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let a = read_answer(&mut s).unwrap();
    assert_eq!((a.status, a.code()), (400, "incomplete_body"), "{a:?}");

    // A slow body (slowloris): half, then nothing; refused when the stated timeout passes.
    let mut lines = mx.sign(&body, 0);
    lines.push(content_length(body.len()));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&head(port, &lines)).unwrap();
    s.write_all(&body[..body.len() / 2]).unwrap();
    let started = Instant::now();
    // Meanwhile the member's one body turn (inbox_bodies_per_peer = 1) is taken.
    std::thread::sleep(Duration::from_millis(1000));
    let mut lines = mx.sign(&body, 0);
    lines.push(content_length(body.len()));
    let busy = exchange(port, &head(port, &lines), &body);
    assert_eq!((busy.status, busy.code()), (429, "peer_busy"), "{busy:?}");
    let a = read_answer(&mut s).unwrap();
    let waited = started.elapsed();
    assert_eq!((a.status, a.code()), (408, "body_timeout"), "{a:?}");
    assert!(
        waited >= Duration::from_millis(2500) && waited < Duration::from_secs(8),
        "{waited:?}"
    );

    // An authenticated body over the member limit, announced or not (chunked).
    let big = {
        let mut b = body.clone();
        b.truncate(b.len() - 1);
        b.extend(std::iter::repeat_n(b' ', LIMIT));
        b.push(b'}');
        b
    };
    let mut lines = mx.sign(&big, 0);
    lines.push(content_length(big.len()));
    let a = exchange(port, &head(port, &lines), &big);
    assert_eq!((a.status, a.code()), (413, "too_large"), "{a:?}");
    let mut lines = mx.sign(&big, 0);
    lines.push(("transfer-encoding", "chunked".into()));
    let mut chunked = Vec::new();
    for piece in big.chunks(16 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let a = exchange(port, &head(port, &lines), &chunked);
    assert_eq!((a.status, a.code()), (413, "too_large"), "{a:?}");

    assert_eq!(log_head(net.node("cl-csirt")), before, "nothing stored");

    // The same body, signed and sent as it should be, goes in (chunked as well).
    let mut lines = mx.sign(&body, 0);
    lines.push(("transfer-encoding", "chunked".into()));
    let mut chunked = format!("{:x}\r\n", body.len()).into_bytes();
    chunked.extend_from_slice(&body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let a = exchange(port, &head(port, &lines), &chunked);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["accepted"].as_array().unwrap().len(), 1, "{a:?}");
    assert_eq!(log_head(net.node("cl-csirt")), before + 1);
}
