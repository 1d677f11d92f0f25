//! Networks of real hosts for fault tests: every node runs in its own Linux network namespace,
//! joined to a bridge by a veth pair, on an address of its own, so that faults can be injected
//! where they happen on a real network — in the kernel (`nft` drop rules inside a host) or on
//! the wire (the [`FaultProxy`](super::fault_proxy::FaultProxy) between hosts).
//!
//! Layout of one network (one [`Switch`]):
//! - a bridge `atlb<k>` in the root namespace with `10.<100 + k/256>.<k%256>.1/24`, so the test
//!   process reaches every node's API (and the proxy listens there);
//! - per host a namespace `atl<k>n<i>` holding `eth0` (the inner end of the veth pair
//!   `atlv<k>.<i>`) with `10.<…>.<…>.<10 + i>` and loopback up; the node listens on port 7400.
//!
//! `k` is a subnet number claimed with an exclusive lock on `/run/atalaya-netns/<k>.lock`, held
//! as long as the switch lives: parallel test processes never share a subnet, and the kernel
//! drops the lock of a process that dies, so whoever finds a subnet's lock free may remove what
//! its last owner left (namespaces and the processes in them, veths, the bridge). Every test
//! sweeps such leftovers when it starts; everything is removed on drop, also when a test panics.
//!
//! Needs root (as CI runs), iproute2 and nftables; without them a test fails with a message
//! saying what is missing — it never passes silently.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::fault_proxy::{FaultProxy, Faults};
use super::{BIN, atalaya, http};

/// Where the subnet locks live (tmpfs, root only).
const LOCK_DIR: &str = "/run/atalaya-netns";
/// How many /24 subnets there are to claim: 10.100.0.0 – 10.199.255.0.
const SUBNETS: u32 = 100 * 256;
/// The port every node listens on inside its own namespace.
pub const NODE_PORT: u16 = 7400;
/// Debian's libfaketime (package `faketime`), the multi-threaded variant.
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// Run a command; panic with its output if it fails.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ip(args: &[&str]) -> String {
    run(Command::new("ip").args(args))
}

/// Best effort, for cleaning up: failures are expected (already gone) and ignored.
fn quietly(program: &str, args: &[&str]) {
    let _ = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Fail loudly, naming what is missing, when this machine cannot build hosts.
pub fn require_namespaces() {
    let uid = run(Command::new("id").arg("-u"));
    assert_eq!(
        uid.trim(),
        "0",
        "the fault tests build network namespaces and need root (CI runs as root)"
    );
    for (tool, package) in [("ip", "iproute2"), ("nft", "nftables")] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`{tool}` is missing: install Debian's {package} (`apt-get install -y {package}`; \
             `cargo xtask test` does it)"
        );
    }
    let probe = format!("atlprobe{}", std::process::id());
    let made = Command::new("ip").args(["netns", "add", &probe]).output();
    quietly("ip", &["netns", "del", &probe]);
    match made {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "network namespaces are unavailable here (`ip netns add` failed: {})",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("network namespaces are unavailable here: {e}"),
    }
}

/// Fail loudly when libfaketime is missing.
pub fn require_faketime() {
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: install Debian's faketime (`apt-get install -y faketime`; \
         `cargo xtask test` does it)"
    );
}

/// The subnet lock for `k`, if nobody holds it.
fn try_lock(k: u32) -> Option<File> {
    std::fs::create_dir_all(LOCK_DIR).unwrap();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(Path::new(LOCK_DIR).join(format!("{k}.lock")))
        .unwrap();
    // Lock files are never deleted: unlinking a lock file another process has open would let
    // two processes hold "the same" lock on different files.
    file.try_lock().ok().map(|()| file)
}

/// Remove what an earlier owner of subnet `k` left; the caller holds its lock.
fn remove_leftovers(k: u32) {
    for ns in namespaces() {
        if subnet_of_namespace(&ns) == Some(k) {
            remove_namespace(&ns);
        }
    }
    for link in links() {
        if subnet_of_link(&link) == Some(k) {
            quietly("ip", &["link", "del", &link]);
        }
    }
}

fn namespaces() -> Vec<String> {
    let out = Command::new("ip").args(["-j", "netns", "list"]).output();
    let Ok(out) = out else { return Vec::new() };
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str().map(str::to_owned))
        .collect()
}

fn links() -> Vec<String> {
    let out = Command::new("ip").args(["-j", "link", "show"]).output();
    let Ok(out) = out else { return Vec::new() };
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["ifname"].as_str().map(str::to_owned))
        .filter(|n| n.starts_with("atlb") || n.starts_with("atlv"))
        .collect()
}

/// `atlb<k>` (bridge) or `atlv<k>.<i>` (veth) → `k`.
fn subnet_of_link(link: &str) -> Option<u32> {
    link.strip_prefix("atlb")
        .or_else(|| link.strip_prefix("atlv")?.split('.').next())?
        .parse()
        .ok()
}

/// `atl<k>n<i>` → `k`.
fn subnet_of_namespace(ns: &str) -> Option<u32> {
    ns.strip_prefix("atl")?.split('n').next()?.parse().ok()
}

/// Kill whatever still runs in a namespace (node processes of a dead test), then remove it.
fn remove_namespace(ns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            quietly("kill", &["-KILL", pid]);
        }
    }
    quietly("ip", &["netns", "del", ns]);
}

/// Remove the leftovers of every subnet whose owner is gone (its lock is free).
fn sweep_stale() {
    let mut in_use: std::collections::BTreeSet<u32> = namespaces()
        .iter()
        .filter_map(|ns| subnet_of_namespace(ns))
        .collect();
    in_use.extend(links().iter().filter_map(|l| subnet_of_link(l)));
    for k in in_use {
        // A live owner holds the lock; a free lock means the owner is gone.
        if let Some(_lock) = try_lock(k) {
            remove_leftovers(k);
        }
    }
}

/// A host: a network namespace with one interface on the switch.
#[derive(Debug, Clone)]
pub struct Host {
    pub namespace: String,
    pub addr: Ipv4Addr,
}

/// One bridge and the hosts on it; owns a subnet nobody else uses while it lives.
pub struct Switch {
    k: u32,
    bridge: String,
    hosts: Vec<Host>,
    _lock: File,
}

impl Switch {
    /// Claim a free subnet (sweeping stale leftovers first) and bring its bridge up.
    pub fn new() -> Switch {
        require_namespaces();
        sweep_stale();
        let start = std::process::id() % SUBNETS;
        let (k, lock) = (0..SUBNETS)
            .map(|i| (start + i) % SUBNETS)
            .find_map(|k| try_lock(k).map(|l| (k, l)))
            .expect("every test subnet is taken");
        remove_leftovers(k);
        let switch = Switch {
            k,
            bridge: format!("atlb{k}"),
            hosts: Vec::new(),
            _lock: lock,
        };
        ip(&["link", "add", &switch.bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", switch.gateway()),
            "dev",
            &switch.bridge,
        ]);
        ip(&["link", "set", &switch.bridge, "up"]);
        switch
    }

    /// The bridge's own address in the root namespace: the test process and the proxy.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 100 + (self.k / 256) as u8, (self.k % 256) as u8, 1)
    }

    /// A new host on this switch, loopback and `eth0` up.
    pub fn add_host(&mut self) -> Host {
        let i = self.hosts.len();
        assert!(i < 200, "too many hosts on one switch");
        let [a, b, c, _] = self.gateway().octets();
        let host = Host {
            namespace: format!("atl{}n{i}", self.k),
            addr: Ipv4Addr::new(a, b, c, 10 + i as u8),
        };
        // Recorded before it exists, so a panic half-way still removes it.
        self.hosts.push(host.clone());
        let ns = host.namespace.as_str();
        let veth = format!("atlv{}.{i}", self.k);
        ip(&["netns", "add", ns]);
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ]);
        ip(&["link", "set", &veth, "master", &self.bridge, "up"]);
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", host.addr),
            "dev",
            "eth0",
        ]);
        ip(&["-n", ns, "link", "set", "eth0", "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        host
    }

    /// From now on `host` drops every packet to and from `others` (both directions, inside
    /// its own namespace, as a firewall on that host would). Replaces earlier rules.
    pub fn cut(&self, host: &Host, others: &[&Host]) {
        self.heal(host);
        let set = others
            .iter()
            .map(|h| h.addr.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let rules = format!(
            "table inet atalaya_faults {{\n\
             \tchain input {{ type filter hook input priority 0; policy accept; ip saddr {{ {set} }} drop; }}\n\
             \tchain output {{ type filter hook output priority 0; policy accept; ip daddr {{ {set} }} drop; }}\n\
             }}\n"
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", &host.namespace, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(rules.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "nft in {}: {}",
            host.namespace,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Remove `host`'s drop rules.
    pub fn heal(&self, host: &Host) {
        quietly(
            "ip",
            &[
                "netns",
                "exec",
                &host.namespace,
                "nft",
                "delete",
                "table",
                "inet",
                "atalaya_faults",
            ],
        );
    }

    /// Split the hosts into two sides that cannot reach each other.
    pub fn split(&self, one: &[&Host], other: &[&Host]) {
        for h in one {
            self.cut(h, other);
        }
        for h in other {
            self.cut(h, one);
        }
    }

    /// Whether a TCP connection from `from` to `to`'s node port opens within 3 s (what a node
    /// on `from` would see), probed from inside `from`'s namespace.
    pub fn reaches(&self, from: &Host, to: &Host) -> bool {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &from.namespace,
                "timeout",
                "3",
                "bash",
                "-c",
            ])
            .arg(format!("exec 3<>/dev/tcp/{}/{NODE_PORT}", to.addr))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Take a host's link down or up (`ip link set eth0 down` inside it).
    pub fn set_link(&self, host: &Host, up: bool) {
        ip(&[
            "-n",
            &host.namespace,
            "link",
            "set",
            "eth0",
            if up { "up" } else { "down" },
        ]);
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        for h in &self.hosts {
            remove_namespace(&h.namespace);
        }
        quietly("ip", &["link", "del", &self.bridge]);
        // Anything missed (a host half made) goes too; the lock is released last.
        remove_leftovers(self.k);
    }
}

/// A node running on its own host.
pub struct HostNode {
    pub id: String,
    pub country: String,
    pub host: Host,
    pub dir: PathBuf,
    pub token: String,
    /// API tokens named after people of this node (a token's name is who it acts as), for
    /// reading RED bulletins addressed to them.
    pub people: Vec<(String, String)>,
    pub child: Option<Child>,
    /// Extra environment for `atalaya serve` (settings, libfaketime).
    pub env: Vec<(String, String)>,
}

impl HostNode {
    /// The API, reached from the test process over the bridge.
    pub fn url(&self) -> String {
        format!("http://{}:{NODE_PORT}", self.host.addr)
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
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.host.namespace,
            BIN,
            "serve",
            "--config",
        ])
        .arg(self.config());
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
        // `ip netns exec` execs the node in place: the child's pid is the node's.
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
                start.elapsed() < Duration::from_secs(60),
                "{} not ready\n{}",
                self.id,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            quietly("kill", &["-TERM", &c.id().to_string()]);
            let start = Instant::now();
            while c.try_wait().unwrap().is_none() {
                if start.elapsed() > Duration::from_secs(15) {
                    let _ = c.kill();
                    let _ = c.wait();
                    panic!("{} did not stop on SIGTERM", self.id);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(&self.token, path)
    }

    /// GET with another of this node's tokens.
    pub fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        match http()
            .get(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .send()
        {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().unwrap_or(Value::Null))
            }
            Err(e) => panic!("GET {path} at {}: {e}", self.id),
        }
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = http()
            .post(format!("{}{path}", self.url()))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("POST {path} at {}: {e}", self.id));
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// The token acting as `person` of this node.
    pub fn person_token(&self, person: &str) -> &str {
        self.people
            .iter()
            .find(|(p, _)| p == person)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("{} has no token for {person}", self.id))
    }

    /// Bulletins with this id in the node's listing, as `token` sees it (listing, not lookup,
    /// so a doubled bulletin would show twice).
    pub fn count_listed(&self, token: &str, id: &str) -> usize {
        let (status, body) = self.get_as(token, "/api/v1/bulletins?limit=500");
        assert_eq!(status, 200, "listing at {}: {body}", self.id);
        body["bulletins"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["id"] == id)
            .count()
    }

    /// Every bulletin id in the listing as `token` sees it, with how often it appears.
    pub fn listed(&self, token: &str) -> std::collections::BTreeMap<String, usize> {
        let (status, body) = self.get_as(token, "/api/v1/bulletins?limit=500");
        assert_eq!(status, 200, "listing at {}: {body}", self.id);
        let mut seen = std::collections::BTreeMap::new();
        for b in body["bulletins"].as_array().unwrap() {
            *seen
                .entry(b["id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        seen
    }

    /// The node's wall clock, as its API reports it, minus the test's (milliseconds).
    pub fn clock_offset_ms(&self) -> i64 {
        let before = unix_ms();
        let (_, status) = self.get("/api/v1/status");
        let after = unix_ms();
        let now = status["now"].as_str().expect("status has `now`");
        let theirs =
            time::OffsetDateTime::parse(now, &time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|e| panic!("status `now` {now:?}: {e}"));
        (theirs.unix_timestamp_nanos() / 1_000_000) as i64 - (before + after) / 2
    }
}

impl Drop for HostNode {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// How nodes reach each other.
pub enum Links {
    /// Straight over the bridge (faults: `nft` rules and link state).
    Direct,
    /// Every node's roster endpoint is a port of one [`FaultProxy`] in the root namespace.
    Proxied { seed: u64 },
}

/// A federation of nodes on hosts of their own. Fields drop in order: nodes, proxy, switch,
/// data directories.
pub struct HostNet {
    pub nodes: Vec<HostNode>,
    pub proxy: Option<FaultProxy>,
    pub switch: Switch,
    pub dir: tempfile::TempDir,
}

impl HostNet {
    /// The coordinator (country US) and `members` (id, country) in this roster order, each on a
    /// host of its own, created with `atalaya init` and admitted with `atalaya roster add`;
    /// not started.
    pub fn new(members: &[(&str, &str)], links: Links) -> HostNet {
        // Locals drop in reverse order if a step panics: nodes first, the switch last.
        let mut switch = Switch::new();
        let proxy = match links {
            Links::Direct => None,
            Links::Proxied { seed } => Some(FaultProxy::new(seed)),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut nodes: Vec<HostNode> = Vec::new();
        let mut ckey = String::new();
        let all = std::iter::once(("coordinator", "US")).chain(members.iter().copied());
        for (i, (id, cc)) in all.enumerate() {
            let host = switch.add_host();
            let real = SocketAddr::from((host.addr, NODE_PORT));
            let endpoint = match &proxy {
                None => real,
                Some(p) => p.forward_to(switch.gateway(), real),
            };
            let d = dir.path().join(id);
            let listen = real.to_string();
            let endpoint = format!("http://{endpoint}");
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
                "--endpoint",
                &endpoint,
                "--allow-private-peers",
            ];
            if i == 0 {
                args.push("--coordinator");
            } else {
                args.extend(["--coordinator-key", &ckey]);
            }
            atalaya(&args);
            if i == 0 {
                let record: Value =
                    serde_json::from_str(&std::fs::read_to_string(d.join("node.json")).unwrap())
                        .unwrap();
                ckey = record["signing_key"].as_str().unwrap().to_owned();
            }
            let token = std::fs::read_to_string(d.join("cli.token"))
                .unwrap()
                .trim()
                .to_owned();
            nodes.push(HostNode {
                id: id.into(),
                country: cc.into(),
                host,
                dir: d,
                token,
                people: Vec::new(),
                child: None,
                env: Vec::new(),
            });
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
        HostNet {
            nodes,
            proxy,
            switch,
            dir,
        }
    }

    /// Give `node` an API token that acts as `person` (e.g. the named recipient of a RED).
    pub fn add_person(&mut self, node: &str, person: &str) {
        let config = self.node(node).config();
        let token = atalaya(&[
            "token",
            "create",
            "--config",
            config.to_str().unwrap(),
            "--name",
            person,
        ])
        .trim()
        .to_owned();
        self.node_mut(node).people.push((person.into(), token));
    }

    /// Run `node` with its wall clock `offset_secs` off (libfaketime), monotonic time real so
    /// its timers still run at the right pace. Takes effect at its next start.
    pub fn set_clock_offset(&mut self, node: &str, offset_secs: i64) {
        require_faketime();
        let env = &mut self.node_mut(node).env;
        env.retain(|(k, _)| !k.starts_with("FAKETIME") && k != "LD_PRELOAD");
        if offset_secs != 0 {
            env.push(("LD_PRELOAD".into(), LIBFAKETIME.into()));
            env.push(("FAKETIME".into(), format!("{offset_secs:+}")));
            env.push(("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()));
        }
    }

    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.start();
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        self.proxy
            .as_ref()
            .expect("this network has no proxy")
            .set_faults(faults);
    }

    pub fn node(&self, id: &str) -> &HostNode {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    pub fn node_mut(&mut self, id: &str) -> &mut HostNode {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    pub fn host(&self, id: &str) -> &Host {
        &self.node(id).host
    }

    /// Split the network: nodes in `one` cannot reach nodes in `other` and back.
    pub fn split(&self, one: &[&str], other: &[&str]) {
        let one: Vec<&Host> = one.iter().map(|id| self.host(id)).collect();
        let other: Vec<&Host> = other.iter().map(|id| self.host(id)).collect();
        self.switch.split(&one, &other);
    }

    /// Whether node `from`'s host can open a connection to node `to`'s.
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        self.switch.reaches(self.host(from), self.host(to))
    }

    /// Remove every drop rule.
    pub fn heal_all(&self) {
        for n in &self.nodes {
            self.switch.heal(&n.host);
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
