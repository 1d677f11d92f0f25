//! `atalaya soak`: ten node processes on loopback under steady traffic for a number of minutes,
//! with a random node killed (SIGKILL) and restarted every so often (used by `cargo xtask soak`
//! and, for two minutes, by `cargo xtask test`).
//!
//! Every few seconds it samples each node's resident memory and open files (from
//! `/proc/<pid>/status` and `/proc/<pid>/fd`), the envelopes queued in its outbox (the sum of
//! `atalaya_outbox_depth` on its `/metrics`), and follows every bulletin until every node its
//! labels allow holds it: the delivery lag is the latest `received` of those nodes minus the
//! bulletin's `created`. When the traffic stops, every node runs again and the queues must
//! drain. It writes `<out>/soak.json` (samples, deliveries, summary, method, bounds, load
//! average, commit) and `<out>/soak.svg` (memory, queues and lag over time, drawn by
//! [`atalaya_web::charts::line_chart`]), and fails when a bound below is exceeded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use atalaya_core::{EntropyRng, OsEntropy, SeededEntropy, Timestamp, member_states};
use atalaya_store::Synchronous;
use atalaya_web::charts::{Series, line_chart, xml_escape};
use clap::Args;
use rand_core::RngCore;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::cli::ApiClient;
use crate::demo::{Network, NetworkSpec, demo_federation, percentile, rss_mb};

/// A node process that runs from the end of the first quarter of the traffic to its end may
/// grow its resident memory by at most this much. A node's memory settles within seconds (its
/// SQLite page cache and connection pools are bounded), so steady growth under steady traffic
/// is a leak; the margin absorbs allocator noise on a loaded machine.
pub const RSS_GROWTH_LIMIT_MB: f64 = 20.0;
/// Over the same span, its open files may grow by at most this many (peers' connections come
/// and go as nodes are killed; a leak of one descriptor per request grows by hundreds).
pub const OPEN_FILES_GROWTH_LIMIT: i64 = 24;
/// The 99th percentile of the delivery lag (publish → held at every node the labels allow)
/// may not exceed this. It includes the bulletins whose recipient was killed: at most
/// [`MAX_DOWN`] down, then the origin's retry (backoff ≤ 2 s) or a pull (every 5 s).
pub const LAG_P99_LIMIT_MS: i64 = 30_000;
/// Once the traffic stops and every node runs again, every outbox must be empty and every
/// bulletin held everywhere it may be within this time.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// Nodes of the soak network (the coordinator and nine member states).
const NODES: usize = 10;
/// Nodes that publish (indices into the network).
const ORIGINS: [usize; 4] = [1, 2, 3, 4];
/// Time between two publications (one origin after another).
const PUBLISH_EVERY: Duration = Duration::from_millis(1000);
/// Acknowledgements and views made after each publication.
const ACKS_PER_ROUND: usize = 2;
/// Views of AMBER bulletins after each publication.
const VIEWS_PER_ROUND: usize = 2;
/// Shortest time a killed node stays down.
const MIN_DOWN: Duration = Duration::from_secs(2);
/// Longest time a killed node stays down.
const MAX_DOWN: Duration = Duration::from_secs(6);
/// Longest wait for one API or metrics answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `atalaya soak`
#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Minutes of traffic (1 to 1440); the drain comes on top.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub minutes: u32,
    /// Where `soak.json` and `soak.svg` go (the network's data too, removed after a passing run).
    #[arg(long, default_value = "target/soak")]
    pub out: PathBuf,
    /// First port of the soak network (it uses ten).
    #[arg(long, default_value_t = 28100)]
    pub base_port: u16,
    /// Seconds between two samples.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub sample_seconds: u64,
    /// Seconds between two kills (each ±30 %).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(5..=3600))]
    pub kill_every_seconds: u64,
    /// Seed of the traffic's and the kills' choices (default: random; written in soak.json).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Seeded choices.
struct Dice(SeededEntropy);

impl Dice {
    fn new(seed: u64) -> Self {
        Self(SeededEntropy::new(seed))
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&self, n: usize) -> usize {
        (EntropyRng(&self.0).next_u64() % n.max(1) as u64) as usize
    }

    /// `d` scaled by a factor uniform in `[lo, hi]` percent.
    fn around(&self, d: Duration, lo: u64, hi: u64) -> Duration {
        let pct = lo + EntropyRng(&self.0).next_u64() % (hi - lo + 1);
        d * u32::try_from(pct).unwrap_or(100) / 100
    }

    /// `k` distinct indices of `0..n`.
    fn pick(&self, n: usize, k: usize) -> Vec<usize> {
        let mut pool: Vec<usize> = (0..n).collect();
        let mut out = Vec::new();
        while out.len() < k && !pool.is_empty() {
            out.push(pool.remove(self.below(pool.len())));
        }
        out
    }
}

/// A bulletin the soak follows.
#[derive(Debug, Clone)]
struct Tracked {
    id: String,
    origin: usize,
    tlp: &'static str,
    created: Timestamp,
    /// Seconds since the traffic started, when it was published.
    at_s: f64,
    /// Nodes its labels allow, besides the origin.
    readers: Vec<usize>,
    /// Reader → delivery lag in ms (its `received` minus `created`).
    held: BTreeMap<usize, i64>,
    /// Readers that acknowledged it.
    acked: BTreeSet<usize>,
}

impl Tracked {
    fn delivered(&self) -> bool {
        self.held.len() == self.readers.len()
    }

    /// Publish → held at every reader, once it is.
    fn lag_ms(&self) -> Option<i64> {
        self.delivered()
            .then(|| self.held.values().copied().max().unwrap_or(0))
    }
}

/// Counts of what the traffic did.
#[derive(Debug, Default)]
struct Traffic {
    published: usize,
    publish_failures: usize,
    acknowledgements: usize,
    ack_failures: usize,
    views: usize,
    view_failures: usize,
}

/// What the tasks share.
struct Shared {
    started: Instant,
    nodes: Vec<(String, String)>,
    apis: Vec<ApiClient>,
    /// Process id of each node while it runs.
    pids: Mutex<Vec<Option<u32>>>,
    tracked: Mutex<Vec<Tracked>>,
    traffic: Mutex<Traffic>,
    kills: Mutex<Vec<Value>>,
}

impl Shared {
    fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn running(&self, i: usize) -> bool {
        self.pids
            .lock()
            .is_ok_and(|p| p.get(i).copied().flatten().is_some())
    }
}

/// An answer within [`REQUEST_TIMEOUT`], or `None` (refused, unreachable, too slow).
async fn within<F: std::future::Future<Output = Result<Value>>>(f: F) -> Option<Value> {
    tokio::time::timeout(REQUEST_TIMEOUT, f).await.ok()?.ok()
}

/// One node's sample.
#[derive(Debug, Clone)]
struct NodeSample {
    pid: Option<u32>,
    rss_mb: Option<f64>,
    open_files: Option<i64>,
    queued: Option<i64>,
}

/// All nodes at one moment.
#[derive(Debug, Clone)]
struct Sample {
    t_s: f64,
    drain: bool,
    nodes: Vec<NodeSample>,
}

/// Open file descriptors of a process.
fn open_files(pid: u32) -> Option<i64> {
    let n = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    i64::try_from(n).ok()
}

/// The machine's load average (1, 5, 15 minutes).
fn load_average() -> Value {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| {
            l.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse::<f64>().ok())
                .collect::<Vec<_>>()
        })
        .map_or(Value::Null, |v| json!(v))
}

/// The commit this runs from (`-dirty` with uncommitted changes), or `unknown`.
fn commit() -> String {
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    match head {
        Some(h) if dirty => format!("{h}-dirty"),
        Some(h) => h,
        None => "unknown".into(),
    }
}

/// Envelopes queued in node `url`'s outbox, summed over its peers.
async fn queued(http: &reqwest::Client, url: &str, token: &str) -> Option<i64> {
    let text = tokio::time::timeout(REQUEST_TIMEOUT, async {
        http.get(format!("{url}/metrics"))
            .bearer_auth(token)
            .send()
            .await?
            .text()
            .await
    })
    .await
    .ok()?
    .ok()?;
    Some(
        text.lines()
            .filter(|l| l.starts_with("atalaya_outbox_depth{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
            .sum(),
    )
}

/// Run the soak and judge it; an error says which bound was exceeded.
pub async fn run(args: SoakArgs) -> Result<()> {
    let seed = args
        .seed
        .unwrap_or_else(|| EntropyRng(&OsEntropy).next_u64());
    println!(
        "soak: {NODES} nodes, {} min of traffic, a kill every ~{} s, seed {seed}",
        args.minutes, args.kill_every_seconds
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let data = args.out.join("network");
    let _ = std::fs::remove_dir_all(&data);
    let load_start = load_average();
    let spec = NetworkSpec {
        data: data.clone(),
        base_port: args.base_port,
        members: member_states::all().into_iter().take(NODES - 1).collect(),
        federation: atalaya_federation::FederationSettings {
            pull_interval_ms: 5_000,
            backoff_base_ms: 200,
            backoff_max_ms: 2_000,
            ..demo_federation()
        },
        synchronous: Synchronous::Full,
        http: Default::default(),
    };
    let mut net = Network::prepare(&spec).await?;
    net.start_all().await?;
    net.wait_first_sync(Duration::from_secs(120)).await?;
    let shared = Arc::new(Shared {
        started: Instant::now(),
        nodes: net
            .nodes
            .iter()
            .map(|n| (n.node_id.to_string(), n.country.to_string()))
            .collect(),
        apis: (0..NODES).map(|i| net.api(i)).collect::<Result<_>>()?,
        pids: Mutex::new((0..NODES).map(|i| net.pid(i)).collect()),
        tracked: Mutex::new(Vec::new()),
        traffic: Mutex::new(Traffic::default()),
        kills: Mutex::new(Vec::new()),
    });
    let urls: Vec<(String, String)> = net
        .nodes
        .iter()
        .map(|n| (n.url.clone(), n.api_token.clone()))
        .collect();
    let dice = Dice::new(seed);
    // Half the nodes are killed now and then; the others run throughout, so memory and files
    // are judged on processes that lived through the whole traffic.
    let killable = dice.pick(NODES, NODES / 2);
    let stop = CancellationToken::new();
    let traffic = tokio::spawn(traffic_loop(
        shared.clone(),
        Dice::new(seed ^ 0x5eed),
        stop.clone(),
    ));
    let killer = tokio::spawn(kill_loop(
        net,
        shared.clone(),
        killable.clone(),
        Dice::new(seed ^ 0xdead),
        Duration::from_secs(args.kill_every_seconds),
        stop.clone(),
    ));

    let http = reqwest::Client::builder().no_proxy().build()?;
    let every = Duration::from_secs(args.sample_seconds);
    let traffic_for = Duration::from_secs(u64::from(args.minutes) * 60);
    let mut samples = Vec::new();
    let mut next = Instant::now();
    while shared.started.elapsed() < traffic_for {
        next += every;
        tokio::time::sleep_until(next.into()).await;
        samples.push(sample(&shared, &http, &urls, false).await);
        let last = samples.last().map_or(0.0, |s: &Sample| s.t_s);
        let rss: Vec<String> = samples
            .last()
            .map(|s| {
                s.nodes
                    .iter()
                    .map(|n| n.rss_mb.map_or("-".into(), |r| format!("{r:.0}")))
                    .collect()
            })
            .unwrap_or_default();
        println!("  t={last:>5.0} s  rss MB [{}]", rss.join(" "));
    }
    stop.cancel();
    let _ = traffic.await;
    let mut net = killer.await.context("the kill task failed")??;
    let traffic_end_s = shared.seconds();

    // Drain: everything runs again; the queues must empty and every bulletin arrive.
    let drain_start = Instant::now();
    let drained_after = loop {
        samples.push(sample(&shared, &http, &urls, true).await);
        let queued: i64 = samples
            .last()
            .map_or(0, |s| s.nodes.iter().map(|n| n.queued.unwrap_or(1)).sum());
        let undelivered = shared
            .tracked
            .lock()
            .map_or(1, |t| t.iter().filter(|b| !b.delivered()).count());
        if queued == 0 && undelivered == 0 {
            break Some(drain_start.elapsed().as_secs_f64());
        }
        if drain_start.elapsed() > DRAIN_LIMIT {
            break None;
        }
        tokio::time::sleep(every.min(Duration::from_secs(2))).await;
    };
    net.stop_all().await;

    let report = Report {
        args: &args,
        seed,
        killable: &killable,
        samples: &samples,
        shared: &shared,
        traffic_end_s,
        drained_after,
        load_start,
    };
    let (json, failures) = report.judge();
    let json_path = args.out.join("soak.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let svg_path = args.out.join("soak.svg");
    std::fs::write(&svg_path, report.chart())
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    println!("{}\n{}", json_path.display(), svg_path.display());
    println!("summary: {}", json["summary"]);
    if !failures.is_empty() {
        bail!(
            "the soak exceeded its bounds (node logs kept in {}):\n  - {}",
            data.display(),
            failures.join("\n  - ")
        );
    }
    let _ = std::fs::remove_dir_all(&data);
    println!("soak passed: every bound held");
    Ok(())
}

/// Publications from the origins in turn with mixed labels; after each, acknowledgements of
/// delivered bulletins by their readers and views of AMBER ones.
async fn traffic_loop(shared: Arc<Shared>, dice: Dice, stop: CancellationToken) {
    let mut round = 0usize;
    let mut next = Instant::now();
    while !stop.is_cancelled() {
        next += PUBLISH_EVERY;
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep_until(next.into()) => {}
        }
        round += 1;
        let origin = ORIGINS[round % ORIGINS.len()];
        publish_one(&shared, &dice, origin, round).await;
        for _ in 0..ACKS_PER_ROUND {
            acknowledge_one(&shared, &dice).await;
        }
        for _ in 0..VIEWS_PER_ROUND {
            view_one(&shared, &dice).await;
        }
    }
}

async fn publish_one(shared: &Shared, dice: &Dice, origin: usize, round: usize) {
    let others: Vec<usize> = (0..NODES).filter(|i| *i != origin).collect();
    let (tlp, audience) = match dice.below(4) {
        0 | 1 => ("GREEN", json!({"scope": "network"})),
        2 => {
            let to: Vec<&str> = dice
                .pick(others.len(), 2 + dice.below(3))
                .into_iter()
                .map(|k| shared.nodes[others[k]].0.as_str())
                .collect();
            ("AMBER", json!({"scope": "nodes", "nodes": to}))
        }
        _ => {
            let to: BTreeSet<&str> = dice
                .pick(others.len(), 1 + dice.below(3))
                .into_iter()
                .map(|k| shared.nodes[others[k]].1.as_str())
                .collect();
            ("GREEN", json!({"scope": "countries", "countries": to}))
        }
    };
    let draft = json!({
        "tlp": tlp, "kind": "suspicious-activity", "severity": "medium",
        "title": format!("Soak warning {round}"),
        "summary": "Steady traffic of the soak test.",
        "indicators": [{"type": "ip", "value": "198.51.100.7"}],
        "audience": audience,
    });
    let reply = within(shared.apis[origin].post("/api/v1/bulletins", &draft)).await;
    let tracked = reply.and_then(|r| {
        let b = &r["bulletin"];
        let readers: Vec<usize> = r["recipients"]
            .as_array()?
            .iter()
            .filter_map(|n| shared.nodes.iter().position(|(id, _)| n == id.as_str()))
            .collect();
        Some(Tracked {
            id: b["id"].as_str()?.to_owned(),
            origin,
            tlp,
            created: Timestamp::parse(b["created"].as_str()?).ok()?,
            at_s: shared.seconds(),
            readers,
            held: BTreeMap::new(),
            acked: BTreeSet::new(),
        })
    });
    let mut t = shared.traffic.lock().unwrap_or_else(|p| p.into_inner());
    match tracked {
        Some(b) => {
            t.published += 1;
            shared
                .tracked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(b);
        }
        None => t.publish_failures += 1,
    }
}

/// A recent bulletin and one of the readers that hold it, chosen by `want`.
fn recent_holder(
    shared: &Shared,
    dice: &Dice,
    want: impl Fn(&Tracked, usize) -> bool,
) -> Option<(String, usize)> {
    let tracked = shared.tracked.lock().ok()?;
    let recent = &tracked[tracked.len().saturating_sub(60)..];
    let pairs: Vec<(String, usize)> = recent
        .iter()
        .flat_map(|b| {
            b.held
                .keys()
                .filter(|r| want(b, **r) && shared.running(**r))
                .map(|r| (b.id.clone(), *r))
        })
        .collect();
    (!pairs.is_empty()).then(|| pairs[dice.below(pairs.len())].clone())
}

async fn acknowledge_one(shared: &Shared, dice: &Dice) {
    let Some((id, reader)) = recent_holder(shared, dice, |b, r| !b.acked.contains(&r)) else {
        return;
    };
    let note = ["received", "investigating", "no-impact"][dice.below(3)];
    let ok = within(shared.apis[reader].post(
        &format!("/api/v1/bulletins/{id}/ack"),
        &json!({"note": note}),
    ))
    .await
    .is_some();
    if ok
        && let Ok(mut t) = shared.tracked.lock()
        && let Some(b) = t.iter_mut().find(|b| b.id == id)
    {
        b.acked.insert(reader);
    }
    let mut t = shared.traffic.lock().unwrap_or_else(|p| p.into_inner());
    if ok {
        t.acknowledgements += 1;
    } else {
        t.ack_failures += 1;
    }
}

async fn view_one(shared: &Shared, dice: &Dice) {
    let Some((id, reader)) = recent_holder(shared, dice, |b, _| b.tlp == "AMBER") else {
        return;
    };
    let ok = within(shared.apis[reader].get(&format!("/api/v1/bulletins/{id}")))
        .await
        .is_some();
    let mut t = shared.traffic.lock().unwrap_or_else(|p| p.into_inner());
    if ok {
        t.views += 1;
    } else {
        t.view_failures += 1;
    }
}

/// Every ~`every`, kill one of the `killable` nodes with SIGKILL, leave it down for 2–6 s and
/// start it again. Returns the network with every node running.
async fn kill_loop(
    mut net: Network,
    shared: Arc<Shared>,
    killable: Vec<usize>,
    dice: Dice,
    every: Duration,
    stop: CancellationToken,
) -> Result<Network> {
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(net),
            () = tokio::time::sleep(dice.around(every, 70, 130)) => {}
        }
        let i = killable[dice.below(killable.len())];
        let at = shared.seconds();
        let node = shared.nodes[i].0.clone();
        println!("  t={at:>5.0} s  kill -9 {node}");
        net.stop(i, true).await?;
        if let Ok(mut p) = shared.pids.lock() {
            p[i] = None;
        }
        let down = MIN_DOWN + dice.around(MAX_DOWN - MIN_DOWN, 0, 100);
        tokio::time::sleep(down).await;
        net.spawn(i)?;
        net.wait_ready(i, Duration::from_secs(60)).await?;
        if let Ok(mut p) = shared.pids.lock() {
            p[i] = net.pid(i);
        }
        println!(
            "  t={:>5.0} s  {node} restarted after {:.1} s down",
            shared.seconds(),
            down.as_secs_f64()
        );
        if let Ok(mut k) = shared.kills.lock() {
            k.push(json!({"t_s": round1(at), "node": node, "down_s": round1(down.as_secs_f64())}));
        }
    }
}

/// Sample every node, and look for bulletins that reached readers since the last sample.
async fn sample(
    shared: &Shared,
    http: &reqwest::Client,
    urls: &[(String, String)],
    drain: bool,
) -> Sample {
    let pids = shared.pids.lock().map(|p| p.clone()).unwrap_or_default();
    let mut nodes = Vec::new();
    for (i, (url, token)) in urls.iter().enumerate() {
        let pid = pids.get(i).copied().flatten();
        nodes.push(NodeSample {
            pid,
            rss_mb: pid.and_then(rss_mb),
            open_files: pid.and_then(open_files),
            queued: if pid.is_some() {
                queued(http, url, token).await
            } else {
                None
            },
        });
    }
    let t_s = shared.seconds();
    // Which readers got what since the last look.
    let pending: Vec<(String, usize, Timestamp)> = shared
        .tracked
        .lock()
        .map(|t| {
            t.iter()
                .flat_map(|b| {
                    b.readers
                        .iter()
                        .filter(|r| !b.held.contains_key(r))
                        .map(|r| (b.id.clone(), *r, b.created))
                })
                .collect()
        })
        .unwrap_or_default();
    for (id, reader, created) in pending {
        if pids.get(reader).copied().flatten().is_none() {
            continue;
        }
        let Some(b) = within(shared.apis[reader].get(&format!("/api/v1/bulletins/{id}"))).await
        else {
            continue;
        };
        let Some(received) = b["bulletin"]["received"]
            .as_str()
            .and_then(|r| Timestamp::parse(r).ok())
        else {
            continue;
        };
        if let Ok(mut t) = shared.tracked.lock()
            && let Some(b) = t.iter_mut().find(|b| b.id == id)
        {
            b.held.insert(reader, received.millis_since(created));
        }
    }
    Sample { t_s, drain, nodes }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The mean of `f` over the last `n` traffic samples up to `t_s` whose process is `pid`.
fn mean_at(
    samples: &[Sample],
    node: usize,
    pid: u32,
    t_s: f64,
    n: usize,
    f: impl Fn(&NodeSample) -> Option<f64>,
) -> Option<f64> {
    let values: Vec<f64> = samples
        .iter()
        .filter(|s| !s.drain && s.t_s <= t_s + 0.5)
        .rev()
        .take(n)
        .filter(|s| s.nodes[node].pid == Some(pid))
        .filter_map(|s| f(&s.nodes[node]))
        .collect();
    (values.len() == n).then(|| values.iter().sum::<f64>() / n as f64)
}

/// Everything a run measured, and how it is judged.
struct Report<'a> {
    args: &'a SoakArgs,
    seed: u64,
    killable: &'a [usize],
    samples: &'a [Sample],
    shared: &'a Shared,
    traffic_end_s: f64,
    drained_after: Option<f64>,
    load_start: Value,
}

impl Report<'_> {
    /// The JSON report and the bounds exceeded (empty when the run passes).
    fn judge(&self) -> (Value, Vec<String>) {
        let mut failures = Vec::new();
        let quarter_s = self.traffic_end_s / 4.0;
        let end_s = self.traffic_end_s;
        // Three samples make each point, so one noisy sample does not decide.
        let window = 3;
        let mut per_node = Vec::new();
        let mut judged = 0;
        for (i, (node, _)) in self.shared.nodes.iter().enumerate() {
            let end_pid = self
                .samples
                .iter()
                .rev()
                .find(|s| !s.drain)
                .and_then(|s| s.nodes[i].pid);
            let rss = |s: &NodeSample| s.rss_mb;
            let files = |s: &NodeSample| s.open_files.map(|f| f as f64);
            let points = end_pid.and_then(|pid| {
                Some((
                    mean_at(self.samples, i, pid, quarter_s, window, rss)?,
                    mean_at(self.samples, i, pid, end_s, window, rss)?,
                    mean_at(self.samples, i, pid, quarter_s, window, files)?,
                    mean_at(self.samples, i, pid, end_s, window, files)?,
                ))
            });
            // Judged only if one process ran from the first quarter's end to the end.
            let same_process = end_pid.is_some_and(|pid| {
                self.samples
                    .iter()
                    .filter(|s| {
                        !s.drain && s.t_s >= quarter_s - 3.0 * self.args.sample_seconds as f64
                    })
                    .all(|s| s.nodes[i].pid == Some(pid))
            });
            let kills = self.shared.kills.lock().map_or(0, |k| {
                k.iter().filter(|k| k["node"] == node.as_str()).count()
            });
            match points.filter(|_| same_process) {
                Some((rss_q, rss_end, files_q, files_end)) => {
                    judged += 1;
                    let growth = rss_end - rss_q;
                    if growth > RSS_GROWTH_LIMIT_MB {
                        failures.push(format!(
                            "{node}: resident memory grew {growth:.1} MB ({rss_q:.1} → {rss_end:.1} MB) from the end of the first quarter to the end (limit {RSS_GROWTH_LIMIT_MB} MB)"
                        ));
                    }
                    let files_growth = (files_end - files_q).round() as i64;
                    if files_growth > OPEN_FILES_GROWTH_LIMIT {
                        failures.push(format!(
                            "{node}: open files grew by {files_growth} ({files_q:.0} → {files_end:.0}; limit {OPEN_FILES_GROWTH_LIMIT})"
                        ));
                    }
                    per_node.push(json!({
                        "node": node, "judged": true, "kills": kills,
                        "rss_first_quarter_mb": round1(rss_q), "rss_end_mb": round1(rss_end),
                        "rss_growth_mb": round1(growth),
                        "open_files_first_quarter": files_q.round(), "open_files_end": files_end.round(),
                    }));
                }
                None if self.killable.contains(&i) => per_node.push(json!({
                    "node": node, "judged": false, "kills": kills,
                    "why": "restarted after the first quarter (a new process starts small)",
                })),
                None => {
                    // The soak never kills it: its process should have run throughout.
                    failures.push(format!(
                        "{node} (never killed by the soak) has no process running from the first quarter to the end: did it crash? see its node.log"
                    ));
                    per_node.push(json!({
                        "node": node, "judged": false, "kills": kills,
                        "why": "no process from the first quarter to the end",
                    }));
                }
            }
        }
        if judged == 0 {
            failures.push(
                "no node process ran from the first quarter to the end: nothing to judge".into(),
            );
        }
        let tracked = self
            .shared
            .tracked
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default();
        let lags: Vec<i64> = tracked.iter().filter_map(Tracked::lag_ms).collect();
        let undelivered: Vec<&Tracked> = tracked.iter().filter(|b| !b.delivered()).collect();
        let p99 = percentile(&lags, 99.0);
        if lags.is_empty() {
            failures.push("no bulletin was delivered: nothing to measure".into());
        } else if p99 > LAG_P99_LIMIT_MS {
            failures.push(format!(
                "delivery lag p99 {p99} ms exceeds {LAG_P99_LIMIT_MS} ms"
            ));
        }
        let last = self.samples.last();
        let queued_end: i64 = last.map_or(0, |s| s.nodes.iter().filter_map(|n| n.queued).sum());
        if self.drained_after.is_none() {
            let queues: Vec<String> = last
                .map(|s| {
                    s.nodes
                        .iter()
                        .zip(&self.shared.nodes)
                        .filter(|(n, _)| n.queued != Some(0))
                        .map(|(n, (id, _))| {
                            format!(
                                "{id}: {}",
                                n.queued.map_or("no answer".into(), |q| q.to_string())
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            failures.push(format!(
                "not drained {} s after the traffic stopped: queued {}; {} bulletins not yet at every allowed node{}",
                DRAIN_LIMIT.as_secs(),
                if queues.is_empty() { "nothing".into() } else { queues.join(", ") },
                undelivered.len(),
                undelivered
                    .first()
                    .map(|b| format!(" (e.g. {} from {})", b.id, self.shared.nodes[b.origin].0))
                    .unwrap_or_default()
            ));
        }
        let traffic = self
            .shared
            .traffic
            .lock()
            .map(|t| {
                json!({
                    "publications": t.published, "publish_failures": t.publish_failures,
                    "acknowledgements": t.acknowledgements, "ack_failures": t.ack_failures,
                    "views": t.views, "view_failures": t.view_failures,
                })
            })
            .unwrap_or(Value::Null);
        let kills = self
            .shared
            .kills
            .lock()
            .map(|k| k.clone())
            .unwrap_or_default();
        let samples: Vec<Value> = self
            .samples
            .iter()
            .map(|s| {
                json!({
                    "t_s": round1(s.t_s),
                    "phase": if s.drain { "drain" } else { "traffic" },
                    "nodes": s.nodes.iter().zip(&self.shared.nodes).map(|(n, (id, _))| json!({
                        "node": id, "pid": n.pid, "rss_mb": n.rss_mb.map(round1),
                        "open_files": n.open_files, "queued": n.queued,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let deliveries: Vec<Value> = tracked
            .iter()
            .map(|b| {
                json!({
                    "id": b.id, "origin": self.shared.nodes[b.origin].0, "tlp": b.tlp,
                    "t_s": round1(b.at_s), "readers": b.readers.len(), "lag_ms": b.lag_ms(),
                })
            })
            .collect();
        let summary = json!({
            "nodes": per_node,
            "kills": kills.len(),
            "traffic": traffic,
            "delivery_lag_ms": {
                "bulletins": lags.len(),
                "p50": percentile(&lags, 50.0),
                "p99": p99,
                "max": lags.iter().max(),
            },
            "undelivered": undelivered.len(),
            "drained_after_s": self.drained_after.map(round1),
            "queued_at_end": queued_end,
        });
        let json = json!({
            "soak": {
                "minutes": self.args.minutes, "nodes": NODES, "seed": self.seed,
                "sample_seconds": self.args.sample_seconds,
                "kill_every_seconds": self.args.kill_every_seconds,
                "killable": self.killable.iter().map(|i| &self.shared.nodes[*i].0).collect::<Vec<_>>(),
                "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            },
            "method": "Ten `atalaya serve` processes on loopback (synchronous=full). One publication per second from four origins in turn (half GREEN to the network, a quarter AMBER to 2-4 named nodes, a quarter GREEN to 1-3 countries), each followed by two acknowledgements of delivered bulletins by their readers and two API views of AMBER ones. Every ~kill_every_seconds (±30 %) one of the five killable nodes gets SIGKILL and is restarted 2-6 s later. Every sample_seconds: each node's VmRSS (/proc/<pid>/status), open descriptors (/proc/<pid>/fd) and outbox depth (sum of atalaya_outbox_depth on /metrics). Delivery lag of a bulletin: the latest `received` among the nodes its labels allow, minus its `created` (all clocks are this machine's); it includes the time a killed recipient was down. Growth is judged per process that ran from the end of the first quarter of the traffic to its end: the mean of three samples at each point. After the traffic, every node runs and the queues must drain.",
            "bounds": {
                "rss_growth_mb": RSS_GROWTH_LIMIT_MB,
                "open_files_growth": OPEN_FILES_GROWTH_LIMIT,
                "delivery_lag_p99_ms": LAG_P99_LIMIT_MS,
                "drain_s": DRAIN_LIMIT.as_secs(),
            },
            "load_average": {"start": self.load_start, "end": load_average()},
            "machine": {
                "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "os": std::env::consts::OS,
                "arch": std::env::consts::ARCH,
            },
            "commit": commit(),
            "summary": summary,
            "verdict": {"pass": failures.is_empty(), "failures": failures},
            "kills": kills,
            "samples": samples,
            "deliveries": deliveries,
        });
        (json, failures)
    }

    /// Memory per node, queued envelopes and delivery lag over time, one SVG document.
    fn chart(&self) -> String {
        let rss: Vec<Series> = self
            .shared
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (node, _))| Series {
                label: node.clone(),
                points: self
                    .samples
                    .iter()
                    .map(|s| (s.t_s, s.nodes[i].rss_mb.unwrap_or(f64::NAN)))
                    .collect(),
            })
            .collect();
        let queued = vec![Series {
            label: "all nodes".into(),
            points: self
                .samples
                .iter()
                .map(|s| {
                    (
                        s.t_s,
                        s.nodes.iter().filter_map(|n| n.queued).sum::<i64>() as f64,
                    )
                })
                .collect(),
        }];
        let mut lag_points: Vec<(f64, f64)> = self
            .shared
            .tracked
            .lock()
            .map(|t| {
                t.iter()
                    .filter_map(|b| Some((b.at_s, b.lag_ms()? as f64 / 1000.0)))
                    .collect()
            })
            .unwrap_or_default();
        lag_points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let lag = vec![Series {
            label: "publish → held at every allowed node".into(),
            points: lag_points,
        }];
        let charts = [
            line_chart(
                "Resident memory per node (MB) over time (s)",
                "s",
                "MB",
                &rss,
            ),
            line_chart(
                "Envelopes queued in outboxes, all nodes",
                "s",
                "envelopes",
                &queued,
            ),
            line_chart(
                "Delivery lag of each bulletin (s), by publication time",
                "s",
                "s",
                &lag,
            ),
        ];
        let mut doc = String::new();
        let mut y = 0.0;
        let mut body = String::new();
        for c in &charts {
            let h: f64 = c
                .split("viewBox=\"0 0 640 ")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(400.0);
            let _ = write!(body, r#"<svg x="0" y="{y}" width="640" height="{h}""#);
            body.push_str(c.trim_start_matches("<svg"));
            y += h + 20.0;
        }
        let title = format!(
            "Atalaya soak: {NODES} nodes, {} min, seed {}",
            self.args.minutes, self.seed
        );
        let _ = write!(
            doc,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 {y}" width="640" height="{y}" role="img" aria-label="{t}"><title>{t}</title><style>text{{font:12px sans-serif;fill:#222}}.chart-title{{font-weight:bold}}.axis line{{stroke:#444}}.line{{fill:none;stroke-width:1.5}}.series-0{{stroke:#1f77b4}}.series-1{{stroke:#ff7f0e}}.series-2{{stroke:#2ca02c}}.series-3{{stroke:#d62728}}.series-4{{stroke:#9467bd}}.series-5{{stroke:#8c564b}}.series-6{{stroke:#e377c2}}.series-7{{stroke:#7f7f7f}}.series-8{{stroke:#bcbd22}}.series-9{{stroke:#17becf}}</style><rect width="100%" height="100%" fill="#fff"/>{body}</svg>"##,
            t = xml_escape(&title),
        );
        doc.push('\n');
        doc
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn node(pid: u32, rss: f64) -> NodeSample {
        NodeSample {
            pid: Some(pid),
            rss_mb: Some(rss),
            open_files: Some(40),
            queued: Some(0),
        }
    }

    #[test]
    fn growth_is_measured_on_one_process_only() {
        let samples: Vec<Sample> = (1..=12)
            .map(|k| Sample {
                t_s: 5.0 * k as f64,
                drain: false,
                nodes: vec![
                    node(if k < 6 { 1 } else { 2 }, 10.0 * k as f64),
                    node(7, 50.0),
                ],
            })
            .collect();
        // Node 0 was restarted at 30 s: pid 2 has samples from 30 s on only.
        assert_eq!(mean_at(&samples, 0, 2, 15.0, 3, |s| s.rss_mb), None);
        assert_eq!(mean_at(&samples, 0, 2, 60.0, 3, |s| s.rss_mb), Some(110.0));
        assert_eq!(mean_at(&samples, 1, 7, 15.0, 3, |s| s.rss_mb), Some(50.0));
        // Fewer samples than the window: no value rather than a partial mean.
        assert_eq!(mean_at(&samples, 1, 7, 5.0, 3, |s| s.rss_mb), None);
    }

    fn shared(tracked: Vec<Tracked>) -> Shared {
        Shared {
            started: Instant::now(),
            nodes: (0..2).map(|i| (format!("n{i}"), "CL".to_owned())).collect(),
            apis: Vec::new(),
            pids: Mutex::new(vec![Some(1), Some(2)]),
            tracked: Mutex::new(tracked),
            traffic: Mutex::new(Traffic::default()),
            kills: Mutex::new(Vec::new()),
        }
    }

    fn delivered(lag_ms: i64) -> Tracked {
        Tracked {
            id: format!("b{lag_ms}"),
            origin: 0,
            tlp: "GREEN",
            created: Timestamp::from_unix_millis(0).unwrap(),
            at_s: 1.0,
            readers: vec![1],
            held: BTreeMap::from([(1, lag_ms)]),
            acked: BTreeSet::new(),
        }
    }

    /// Two nodes sampled every 5 s for 120 s; node 0's memory and files as `grow` says.
    fn samples(grow: impl Fn(f64) -> (f64, i64)) -> Vec<Sample> {
        (1..=24)
            .map(|k| {
                let t = 5.0 * k as f64;
                let (rss, files) = grow(t);
                Sample {
                    t_s: t,
                    drain: false,
                    nodes: vec![
                        NodeSample {
                            pid: Some(1),
                            rss_mb: Some(rss),
                            open_files: Some(files),
                            queued: Some(0),
                        },
                        NodeSample {
                            pid: Some(2),
                            rss_mb: Some(40.0),
                            open_files: Some(40),
                            queued: Some(0),
                        },
                    ],
                }
            })
            .collect()
    }

    fn judge(samples: &[Sample], shared: &Shared, drained: Option<f64>) -> (Value, Vec<String>) {
        let args = SoakArgs {
            minutes: 2,
            out: PathBuf::from("unused"),
            base_port: 1,
            sample_seconds: 5,
            kill_every_seconds: 20,
            seed: Some(1),
        };
        Report {
            args: &args,
            seed: 1,
            killable: &[],
            samples,
            shared,
            traffic_end_s: 120.0,
            drained_after: drained,
            load_start: Value::Null,
        }
        .judge()
    }

    #[test]
    fn a_steady_run_passes_and_each_kind_of_growth_fails_it() {
        let steady = shared(vec![delivered(800), delivered(4_000)]);
        let (json, failures) = judge(&samples(|_| (40.0, 40)), &steady, Some(1.0));
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(json["verdict"]["pass"], true);
        assert_eq!(json["summary"]["delivery_lag_ms"]["p99"], 4_000);
        assert_eq!(json["summary"]["nodes"][0]["rss_growth_mb"], 0.0);

        // Memory: +0.3 MB/s from 40 MB is 27 MB between 30 s and 120 s.
        let (_, failures) = judge(&samples(|t| (40.0 + 0.3 * t, 40)), &steady, Some(1.0));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].starts_with("n0: resident memory grew 27.0 MB"),
            "{failures:?}"
        );
        // Just under the bound passes.
        let (_, failures) = judge(&samples(|t| (40.0 + 0.2 * t, 40)), &steady, Some(1.0));
        assert!(failures.is_empty(), "{failures:?}");

        // Open files: one more every 2 s.
        let (_, failures) = judge(
            &samples(|t| (40.0, 40 + (t / 2.0) as i64)),
            &steady,
            Some(1.0),
        );
        assert!(
            failures.len() == 1 && failures[0].contains("open files grew by 45"),
            "{failures:?}"
        );

        // Lag, and a queue that never drained.
        let slow = shared(vec![delivered(800), delivered(LAG_P99_LIMIT_MS + 1)]);
        let (_, failures) = judge(&samples(|_| (40.0, 40)), &slow, None);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(
            failures[0].contains("delivery lag p99 30001 ms"),
            "{failures:?}"
        );
        assert!(
            failures[1].starts_with("not drained 120 s after"),
            "{failures:?}"
        );
    }

    #[test]
    fn a_node_restarted_late_is_not_judged() {
        let mut s = samples(|t| (if t < 60.0 { 40.0 } else { 20.0 + t }, 40));
        for x in s.iter_mut().filter(|x| x.t_s >= 60.0) {
            x.nodes[0].pid = Some(9);
        }
        let (json, failures) = judge(&s, &shared(vec![delivered(10)]), Some(1.0));
        assert_eq!(json["summary"]["nodes"][0]["judged"], false);
        assert_eq!(json["summary"]["nodes"][1]["judged"], true);
        // The soak kills no node here: a new process means the old one crashed.
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].starts_with("n0 (never killed by the soak)"),
            "{failures:?}"
        );
    }

    #[test]
    fn dice_are_seeded() {
        let (a, b) = (Dice::new(7), Dice::new(7));
        let xs: Vec<usize> = (0..20).map(|_| a.below(10)).collect();
        let ys: Vec<usize> = (0..20).map(|_| b.below(10)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| *x < 10));
        let picked = Dice::new(3).pick(10, 5);
        assert_eq!(picked.len(), 5);
        assert_eq!(picked.iter().collect::<BTreeSet<_>>().len(), 5);
        let d = Dice::new(1).around(Duration::from_secs(20), 70, 130);
        assert!(d >= Duration::from_secs(14) && d <= Duration::from_secs(26));
    }
}
