//! A network of real `atalaya` processes on loopback, built with the CLI as a user would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    dead_code
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod fault_proxy;
pub mod netns;

pub const BIN: &str = env!("CARGO_BIN_EXE_atalaya");

mod ports;
#[allow(unused_imports)] // not every test binary uses all of them
pub use ports::{PortAllocator, reserve_port, reserve_ports};

/// The same as [`reserve_port`] (the name tests used before ports were reserved).
pub fn free_port() -> u16 {
    reserve_port()
}

pub fn atalaya(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "atalaya {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub struct TestNode {
    pub id: String,
    pub dir: PathBuf,
    pub port: u16,
    pub token: String,
    pub child: Option<Child>,
    pub env: Vec<(String, String)>,
}

impl TestNode {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The node's `/metrics` (it needs the API token, loopback or not).
    pub fn metrics(&self) -> String {
        let resp = http()
            .get(format!("{}/metrics", self.url()))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        assert!(
            resp.status().is_success(),
            "{}/metrics: {}",
            self.id,
            resp.status()
        );
        resp.text().unwrap()
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} already running", self.id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--config"]).arg(self.config());
        cmd.env("ATALAYA_LOG", "info")
            .env("ATALAYA_FEDERATION__PULL_INTERVAL_MS", "400")
            .env("ATALAYA_FEDERATION__BACKOFF_BASE_MS", "100")
            .env("ATALAYA_FEDERATION__BACKOFF_MAX_MS", "500")
            .env("ATALAYA_FEDERATION__REQUEST_TIMEOUT_MS", "2000")
            .env("ATALAYA_STORE__SYNCHRONOUS", "normal")
            .env("ATALAYA_FEDERATION__CHECKPOINT_INTERVAL_MS", "300")
            .env(
                "ATALAYA_FEDERATION__AUDIT_CHECKPOINT_MIN_INTERVAL_MS",
                "300",
            );
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn().unwrap();
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(r) = http().get(format!("{}/readyz", self.url())).send()
                && r.status().is_success()
            {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("{} exited: {status}\n{}", self.id, self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{} not ready\n{}",
                self.id,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status()
                .unwrap();
            let start = Instant::now();
            while c.try_wait().unwrap().is_none() {
                assert!(
                    start.elapsed() < Duration::from_secs(15),
                    "{} did not stop on SIGTERM",
                    self.id
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = http()
            .get(format!("{}{path}", self.url()))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = http()
            .post(format!("{}{path}", self.url()))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// POST a raw body (for malformed JSON).
    pub fn post_raw(&self, path: &str, body: &str) -> (u16, Value) {
        let r = http()
            .post(format!("{}{path}", self.url()))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// PUT a raw JSON body.
    pub fn put_raw(&self, path: &str, body: &str) -> (u16, Value) {
        let r = http()
            .put(format!("{}{path}", self.url()))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Publish a GREEN attack warning to the whole network; returns its id.
    pub fn publish(&self, title: &str) -> String {
        let (status, body) = self.post(
            "/api/v1/bulletins",
            &serde_json::json!({
                "tlp": "GREEN", "kind": "attack-warning", "severity": "high",
                "title": title, "summary": "Test warning."
            }),
        );
        assert_eq!(status, 201, "{body}");
        body["bulletin"]["id"].as_str().unwrap().to_owned()
    }

    pub fn has_bulletin(&self, id: &str) -> bool {
        self.get(&format!("/api/v1/bulletins/{id}")).0 == 200
    }

    /// Whether this node holds the bulletin, whatever its label (RED included: 403 means held).
    pub fn has_bulletin_any(&self, id: &str) -> bool {
        matches!(self.get(&format!("/api/v1/bulletins/{id}")).0, 200 | 403)
    }

    /// Bulletins this node holds with this id (listing, not lookup, so duplicates would show).
    pub fn count_bulletin(&self, id: &str) -> usize {
        let (_, body) = self.get("/api/v1/bulletins?limit=500");
        body["bulletins"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["id"] == id)
            .count()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Wait until `f` holds, or panic with `what`.
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct TestNet {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<TestNode>,
}

impl TestNet {
    /// A coordinator (index 0) and `members` member nodes, created with `atalaya init` and
    /// admitted with `atalaya roster add`; not started. Countries are CL, MX, AR, BR, CO in turn.
    pub fn new(members: &[&str]) -> TestNet {
        let countries = ["CL", "MX", "AR", "BR", "CO"];
        let members: Vec<(&str, &str)> = members
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, countries[i % countries.len()]))
            .collect();
        Self::with_countries(&members)
    }

    /// As `new`, with each member's country given; the roster lists them in this order.
    pub fn with_countries(members: &[(&str, &str)]) -> TestNet {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        let mk = |id: &str, cc: &str, extra: &[&str]| {
            let port = reserve_port();
            let d = dir.path().join(id);
            let listen = format!("127.0.0.1:{port}");
            let mut args = vec![
                "init",
                "--dir",
                d.to_str().unwrap(),
                "--id",
                id,
                "--country",
                cc,
                "--team",
                id,
                "--listen",
                &listen,
                "--allow-private-peers",
            ];
            args.extend_from_slice(extra);
            atalaya(&args);
            let token = std::fs::read_to_string(d.join("cli.token"))
                .unwrap()
                .trim()
                .to_owned();
            TestNode {
                id: id.into(),
                dir: d,
                port,
                token,
                child: None,
                env: Vec::new(),
            }
        };
        nodes.push(mk("coordinator", "US", &["--coordinator"]));
        let record: Value =
            serde_json::from_str(&std::fs::read_to_string(nodes[0].dir.join("node.json")).unwrap())
                .unwrap();
        let ckey = record["signing_key"].as_str().unwrap().to_owned();
        for (id, cc) in members {
            nodes.push(mk(id, cc, &["--coordinator-key", &ckey]));
        }
        let coord_config = nodes[0].config();
        for n in &nodes[1..] {
            atalaya(&[
                "roster",
                "add",
                "--config",
                coord_config.to_str().unwrap(),
                n.dir.join("node.json").to_str().unwrap(),
            ]);
        }
        let roster = std::fs::read_to_string(nodes[0].dir.join("roster.json")).unwrap();
        for n in &nodes[1..] {
            std::fs::write(n.dir.join("roster.json"), &roster).unwrap();
        }
        TestNet { dir, nodes }
    }

    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.start();
        }
    }

    pub fn node(&self, id: &str) -> &TestNode {
        self.nodes.iter().find(|n| n.id == id).unwrap()
    }

    pub fn node_mut(&mut self, id: &str) -> &mut TestNode {
        self.nodes.iter_mut().find(|n| n.id == id).unwrap()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A small deterministic RNG for request nonces in tests.
pub struct TestRng(pub u64);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 ^ (self.0 >> 29)
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, d)
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}

impl rand_core::CryptoRng for TestRng {}

impl TestNet {
    /// Sign each envelope (JSON objects without `sig`) with `signer`'s own key and push them to
    /// `target`'s inbox in one request signed by `signer`, as a peer would. Returns the reply.
    pub fn push_signed(&self, signer: &str, target: &str, envelopes: Vec<Value>) -> Value {
        use atalaya_crypto::{NodeKeys, sign_envelope};
        let keys = NodeKeys::load_from_dir(&self.node(signer).dir.join("keys")).unwrap();
        let key_ref = format!("{signer}#{}", keys.key_id());
        let signed: Vec<Value> = envelopes
            .into_iter()
            .map(|e| {
                let mut e = e.as_object().unwrap().clone();
                sign_envelope(&mut e, keys.signing_key(), &key_ref).unwrap();
                Value::Object(e)
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({"envelopes": signed})).unwrap();
        self.fed_request_as(signer, target, "POST", "/fed/v1/inbox", None, Some(body))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// A request to `target`'s `/fed/v1/*` signed by `signer` with its own key, as a peer sends
    /// it (a fresh nonce each time, whatever the second).
    pub fn fed_request_as(
        &self,
        signer: &str,
        target: &str,
        method: &'static str,
        path: &str,
        query: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> reqwest::blocking::RequestBuilder {
        use atalaya_crypto::{NodeKeys, RequestParts, sign_request};
        static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let keys = NodeKeys::load_from_dir(&self.node(signer).dir.join("keys")).unwrap();
        let key_ref = format!("{signer}#{}", keys.key_id());
        let authority = format!("127.0.0.1:{}", self.node(target).port);
        let parts = RequestParts {
            method,
            authority: &authority,
            path,
            query,
            body: body.as_deref(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let n = REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let h = sign_request(
            &parts,
            keys.signing_key(),
            &key_ref,
            now,
            &mut TestRng(now as u64 ^ (n << 40)),
        )
        .unwrap();
        let url = match query {
            Some(q) => format!("http://{authority}{path}?{q}"),
            None => format!("http://{authority}{path}"),
        };
        let mut req = http()
            .request(method.parse().unwrap(), url)
            .header("signature-input", h.signature_input)
            .header("signature", h.signature);
        if let Some(d) = h.content_digest {
            req = req.header("content-digest", d);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        req
    }
}

/// The current time as the nodes write it (RFC 3339 UTC, milliseconds), `offset_ms` from now.
pub fn now_rfc3339(offset_ms: i64) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    atalaya_core::Timestamp::from_unix_millis(ms + offset_ms)
        .unwrap()
        .to_string()
}

/// A webhook receiver on loopback: answers 200 and keeps each request body.
pub fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65536];
            loop {
                let n = s.read(&mut buf).unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len || n == 0 {
                        keep.lock()
                            .unwrap()
                            .push(serde_json::from_str(body).unwrap_or(Value::Null));
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}
