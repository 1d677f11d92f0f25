//! `atalaya demo`: the 35 OAS member states' nodes plus a coordinator, each a real process with
//! its own keys, SQLite file and port on loopback; a sample warning published and followed live.
//!
//! The same machinery (`Network`) starts the networks of the benchmarks.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use atalaya_core::member_states::{self, MemberState};
use atalaya_core::{
    Clock, CountryCode, EntropyRng, Node, NodeId, OsEntropy, Role, Roster, SystemClock, ids,
};
use atalaya_crypto::NodeKeys;
use atalaya_federation::{FederationSettings, RosterView, sign_roster};
use atalaya_store::Synchronous;
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::process::{Child, ChildStdin};

use crate::cli::ApiClient;
use crate::config::{Config, StoreSection, read_secret};
use crate::node::{InitOptions, init};

/// `atalaya demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the nodes keep their data (reused on the next start).
    #[arg(long, default_value = "./demo-data")]
    pub data: PathBuf,
    /// The coordinator listens on this port, the member nodes on the following ones.
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
    /// Start only the first N member states (default: all 35).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Run the scenario once, print one summary line, and exit (0 only if every node got it).
    #[arg(long)]
    pub once: bool,
}

/// The duty officer every demo node has.
pub const DUTY_USER: &str = "duty";

/// The demo duty officers' password: made once per demo data directory, kept in a 0600 file.
fn demo_duty_password(data: &std::path::Path) -> Result<String> {
    let path = data.join("demo-duty-password");
    if path.exists() {
        return read_secret(&path);
    }
    let mut bytes = [0u8; 12];
    atalaya_core::Entropy::fill(&OsEntropy, &mut bytes);
    let word = atalaya_crypto::totp::base32_encode(&bytes).to_ascii_lowercase();
    let password = format!(
        "{}-{}-{}-{}",
        &word[0..4],
        &word[4..8],
        &word[8..12],
        &word[12..16]
    );
    crate::config::write_secret(&path, &password)?;
    Ok(password)
}

/// A duty officer on the node (second factor waived: the demo only), unless there is one.
async fn ensure_duty_officer(config: &Config, password: &str) -> Result<()> {
    use atalaya_store::Store;
    let store = std::sync::Arc::new(
        atalaya_store::SqliteStore::open(
            &config.db_path(),
            &crate::node::sqlite_options(&config.store),
        )
        .await?,
    );
    let result = async {
        if store.user_by_name(DUTY_USER).await?.is_some() {
            return Ok(());
        }
        let accounts = atalaya_node::accounts::Accounts::new(
            store.clone(),
            std::sync::Arc::new(SystemClock),
            std::sync::Arc::new(OsEntropy),
            config.console.clone(),
        );
        accounts
            .create_user(atalaya_node::accounts::NewUser {
                username: DUTY_USER.into(),
                display_name: format!("Duty officer, {}", config.node.team),
                role: atalaya_core::access::Role::DutyOfficer,
                password: password.to_owned(),
                timezone: member_states::by_code(config.node.country.as_str())
                    .map_or_else(|| "UTC".to_owned(), |s| s.timezone.clone()),
                mfa_exempt: true,
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
    .await;
    store.close().await;
    result
}

/// One node of a local network.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    /// Node id.
    pub node_id: NodeId,
    /// Country.
    pub country: CountryCode,
    /// Team.
    pub team: String,
    /// Role.
    pub role: Role,
    /// Base URL.
    pub url: String,
    /// API token.
    pub api_token: String,
    /// The duty console.
    pub console: String,
    /// Its directory.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// How long a node may take to stop gracefully before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A local network of node processes.
pub struct Network {
    /// The nodes; index 0 is the coordinator.
    pub nodes: Vec<NodeInfo>,
    children: Vec<Option<(Child, ChildStdin)>>,
}

/// How to build a local network.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    /// Data directory.
    pub data: PathBuf,
    /// Coordinator port; members follow.
    pub base_port: u16,
    /// Member states to run.
    pub members: Vec<MemberState>,
    /// Federation settings for every node.
    pub federation: FederationSettings,
    /// Durability.
    pub synchronous: Synchronous,
    /// The HTTP edge (API rate limits: a benchmark that publishes thousands raises them).
    pub http: atalaya_web::HttpSettings,
}

fn member_id(s: &MemberState) -> Result<NodeId> {
    Ok(NodeId::new(&format!(
        "{}-csirt",
        s.iso2.as_str().to_ascii_lowercase()
    ))?)
}

/// Demo timing: quick retries and catch-up, loopback allowed.
pub fn demo_federation() -> FederationSettings {
    FederationSettings {
        allow_private_peers: true,
        pull_interval_ms: 15_000,
        backoff_base_ms: 200,
        backoff_max_ms: 5_000,
        request_timeout_ms: 5_000,
        ..FederationSettings::default()
    }
}

impl Network {
    /// Create the nodes that do not exist yet, (re)write their settings and ports, and sign a
    /// roster listing all of them.
    pub async fn prepare(spec: &NetworkSpec) -> Result<Self> {
        std::fs::create_dir_all(&spec.data)?;
        let clock = SystemClock;
        let mut plan: Vec<(NodeId, CountryCode, String, Role)> = vec![(
            NodeId::new("coordinator")?,
            CountryCode::new("US")?,
            "Network secretariat (OAS/CICTE)".into(),
            Role::Coordinator,
        )];
        for s in &spec.members {
            plan.push((
                member_id(s)?,
                s.iso2,
                format!("National CSIRT of {}", s.name_en),
                Role::Member,
            ));
        }
        let coord_dir = spec.data.join("coordinator");
        let duty_password = demo_duty_password(&spec.data)?;
        let mut nodes = Vec::new();
        for (i, (id, country, team, role)) in plan.into_iter().enumerate() {
            let port = spec.base_port + u16::try_from(i)?;
            let listen = format!("127.0.0.1:{port}");
            let url = format!("http://{listen}");
            let dir = spec.data.join(id.as_str());
            if !dir.join("config.toml").exists() {
                let coordinator_key = if role == Role::Coordinator {
                    None
                } else {
                    let node: Node = serde_json::from_str(&std::fs::read_to_string(
                        coord_dir.join("node.json"),
                    )?)?;
                    Some(node.signing_key)
                };
                init(
                    &InitOptions {
                        dir: dir.clone(),
                        id: id.clone(),
                        country,
                        team: team.clone(),
                        role,
                        listen: listen.clone(),
                        endpoint: url.clone(),
                        coordinator_key,
                        network: "oas-csirt-americas-demo".into(),
                        federation: spec.federation.clone(),
                        store: StoreSection {
                            synchronous: spec.synchronous,
                            ..Default::default()
                        },
                    },
                    &clock,
                    &OsEntropy,
                )
                .await
                .with_context(|| format!("creating node {id}"))?;
            }
            // Ports and timing may differ from the last run: the config is ours to rewrite.
            let config_path = dir.join("config.toml");
            let mut config: Config = toml::from_str(&std::fs::read_to_string(&config_path)?)?;
            config.node.listen = listen;
            config.node.endpoint = url.clone();
            config.federation = spec.federation.clone();
            config.store.synchronous = spec.synchronous;
            config.http = spec.http.clone();
            // The demo speaks plain HTTP on loopback: a `Secure` cookie would never come back.
            config.console.secure_cookie = false;
            std::fs::write(&config_path, toml::to_string_pretty(&config)?)?;
            let mut record: Node =
                serde_json::from_str(&std::fs::read_to_string(dir.join("node.json"))?)?;
            record.endpoint = url.clone();
            std::fs::write(
                dir.join("node.json"),
                serde_json::to_string_pretty(&record)? + "\n",
            )?;
            ensure_duty_officer(&Config::load(&config_path)?, &duty_password)
                .await
                .with_context(|| format!("creating the duty officer of {id}"))?;
            let api_token = read_secret(&dir.join("cli.token"))?;
            nodes.push(NodeInfo {
                console: format!("{url}/console"),
                node_id: id,
                country,
                team,
                role,
                url,
                api_token,
                dir,
            });
        }
        sign_network_roster(&nodes, &clock)?;
        let credentials = json!({
            "network": "oas-csirt-americas-demo",
            "console": {"username": DUTY_USER, "password": duty_password, "note": "every demo node has this duty officer; demo only: no second factor"},
            "note": "API tokens of the demo nodes: curl -H 'Authorization: Bearer <api_token>' <url>/api/v1/status",
            "nodes": nodes,
        });
        let cred_path = spec.data.join("demo-credentials.json");
        let _ = std::fs::remove_file(&cred_path);
        crate::config::write_secret(&cred_path, &serde_json::to_string_pretty(&credentials)?)?;
        let children = nodes.iter().map(|_| None).collect();
        Ok(Self { nodes, children })
    }

    /// Start every node and wait until each answers `/readyz`.
    pub async fn start_all(&mut self) -> Result<()> {
        for i in 0..self.nodes.len() {
            self.spawn(i)?;
        }
        for i in 0..self.nodes.len() {
            self.wait_ready(i, Duration::from_secs(60)).await?;
        }
        Ok(())
    }

    /// Start node `i` (its process), without waiting.
    pub fn spawn(&mut self, i: usize) -> Result<()> {
        let node = &self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("node.log"))?;
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("serve")
            .arg("--config")
            .arg(node.dir.join("config.toml"))
            .arg("--exit-on-stdin-close")
            .env(
                "ATALAYA_LOG",
                std::env::var("ATALAYA_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting node {}", node.node_id))?;
        let stdin = child.stdin.take().context("no stdin")?;
        self.children[i] = Some((child, stdin));
        Ok(())
    }

    /// Wait until node `i` is ready.
    pub async fn wait_ready(&mut self, i: usize, timeout: Duration) -> Result<()> {
        let url = format!("{}/readyz", self.nodes[i].url);
        let http = reqwest::Client::builder().no_proxy().build()?;
        let start = Instant::now();
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if let Some((child, _)) = self.children[i].as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "node {} exited ({status}); see {}",
                    self.nodes[i].node_id,
                    self.nodes[i].dir.join("node.log").display()
                );
            }
            if start.elapsed() > timeout {
                bail!("node {} not ready after {timeout:?}", self.nodes[i].node_id);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until every running node has completed its start-up anti-entropy round.
    pub async fn wait_first_sync(&self, timeout: Duration) -> Result<()> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let start = Instant::now();
        for (i, node) in self.nodes.iter().enumerate() {
            if self.children[i].is_none() {
                continue;
            }
            loop {
                let text = http
                    .get(format!("{}/metrics", node.url))
                    .bearer_auth(&node.api_token)
                    .send()
                    .await?
                    .text()
                    .await?;
                let rounds = text
                    .lines()
                    .find_map(|l| l.strip_prefix("atalaya_sync_rounds_total "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                if rounds > 0 {
                    break;
                }
                if start.elapsed() > timeout {
                    bail!(
                        "node {} did not finish its first synchronisation",
                        node.node_id
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Stop node `i` gracefully (closing its stdin), or kill it with `hard`.
    pub async fn stop(&mut self, i: usize, hard: bool) -> Result<()> {
        if let Some((mut child, stdin)) = self.children[i].take() {
            if hard {
                child.start_kill()?;
            }
            drop(stdin);
            if tokio::time::timeout(STOP_GRACE, child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
        Ok(())
    }

    /// Stop every node: all asked at once (their stdin closed), each killed if it has not
    /// exited within the grace period; returns once every one has exited.
    pub async fn stop_all(&mut self) {
        let mut running: Vec<Child> = self
            .children
            .iter_mut()
            .filter_map(Option::take)
            .map(|(child, stdin)| {
                drop(stdin);
                child
            })
            .collect();
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        for child in &mut running {
            if tokio::time::timeout_at(deadline, child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
    }

    /// Process ids of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.children
            .iter()
            .flatten()
            .filter_map(|(c, _)| c.id())
            .collect()
    }

    /// Process id of node `i`, if it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|(c, _)| c.id())
    }

    /// An API client for node `i`.
    pub fn api(&self, i: usize) -> Result<ApiClient> {
        ApiClient::new(&self.nodes[i].url, &self.nodes[i].api_token)
    }
}

/// Sign (as the coordinator) a roster of `nodes` unless the current one already lists them.
fn sign_network_roster(nodes: &[NodeInfo], clock: &dyn Clock) -> Result<()> {
    let coord = &nodes[0];
    let keys = NodeKeys::load_from_dir(&coord.dir.join("keys"))?;
    let records: Vec<Node> = nodes
        .iter()
        .map(|n| {
            Ok(serde_json::from_str(&std::fs::read_to_string(
                n.dir.join("node.json"),
            )?)?)
        })
        .collect::<Result<_>>()?;
    let current = std::fs::read_to_string(coord.dir.join("roster.json"))
        .ok()
        .and_then(|raw| RosterView::from_signed(raw.trim(), &keys.verifying_key()).ok());
    let version = match &current {
        Some(v) if v.roster.members == records => return distribute(nodes, &v.raw),
        Some(v) => v.version() + 1,
        None => 1,
    };
    let mut roster = Roster::new("oas-csirt-americas-demo", records[0].clone(), clock.now());
    roster.members = records;
    roster.version = version;
    let raw = sign_roster(
        &roster,
        &keys,
        ids::new_id(clock.now(), &mut EntropyRng(&OsEntropy)),
        clock.now(),
    )
    .map_err(anyhow::Error::msg)?;
    distribute(nodes, &raw)
}

fn distribute(nodes: &[NodeInfo], raw: &str) -> Result<()> {
    for n in nodes {
        std::fs::write(n.dir.join("roster.json"), format!("{raw}\n"))?;
    }
    Ok(())
}

/// The sample warning of the demo.
pub fn sample_warning() -> Value {
    let deadline = atalaya_core::Clock::now(&SystemClock).plus_millis(120_000);
    json!({
        "ack_required_by": deadline,
        "tlp": "GREEN",
        "kind": "attack-warning",
        "severity": "high",
        "title": "Ransomware campaign exploiting VPN gateways against government networks",
        "summary": "Several member states report intrusions through unpatched VPN gateways followed by ransomware deployment within hours. Patch, rotate credentials, and review VPN logs for the indicators below.",
        "body": "## What we see\n\nInitial access through a known VPN gateway vulnerability, then lateral movement and encryption of file servers.\n\n## What to do\n\n1. Patch VPN gateways now.\n2. Reset credentials of VPN accounts.\n3. Search logs for the indicators.",
        "rsit": "malicious-code/ransomware",
        "indicators": [
            {"type": "ip", "value": "203.0.113.45"},
            {"type": "domain", "value": "update-vpn-portal.example"},
            {"type": "cve", "value": "CVE-2024-3400"}
        ],
        "references": ["https://www.first.org/tlp/"]
    })
}

/// Publish `draft` at node `origin` and wait until every other node holds it. Returns each
/// receiver's (node index, latency in ms from creation to storage at that node).
pub async fn publish_and_follow(
    net: &Network,
    origin: usize,
    draft: &Value,
    timeout: Duration,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(String, Vec<(usize, i64)>)> {
    let reply = net.api(origin)?.post("/api/v1/bulletins", draft).await?;
    let id = reply["bulletin"]["id"]
        .as_str()
        .context("no id in reply")?
        .to_owned();
    let created =
        atalaya_core::Timestamp::parse(reply["bulletin"]["created"].as_str().unwrap_or(""))?;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, _) in net.nodes.iter().enumerate().filter(|(i, _)| *i != origin) {
        let api = net.api(i)?;
        let path = format!("/api/v1/bulletins/{id}");
        tasks.spawn(async move {
            let start = Instant::now();
            loop {
                if let Ok(b) = api.get(&path).await
                    && let Some(r) = b["bulletin"]["received"].as_str()
                    && let Ok(received) = atalaya_core::Timestamp::parse(r)
                {
                    return Some((i, received.millis_since(created)));
                }
                if start.elapsed() > timeout {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
    let mut got = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Ok(Some(x)) = r {
            got.push(x);
            if let Some(p) = progress {
                p.inc(1);
            }
        }
    }
    got.sort_by_key(|(i, _)| *i);
    Ok((id, got))
}

/// The p-th percentile (nearest rank) of `values`.
pub fn percentile(values: &[i64], p: f64) -> i64 {
    if values.is_empty() {
        return 0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// `atalaya demo`
pub async fn run(args: DemoArgs) -> Result<()> {
    let all = member_states::all();
    let count = args.nodes.unwrap_or(all.len()).clamp(2, all.len());
    let spec = NetworkSpec {
        data: args.data.clone(),
        base_port: args.base_port,
        members: all.into_iter().take(count).collect(),
        federation: demo_federation(),
        synchronous: Synchronous::Full,
        http: Default::default(),
    };
    if !args.once {
        println!(
            "Atalaya demo: {count} member-state nodes + the coordinator, data in {}",
            args.data.display()
        );
    }
    // SIGTERM or Ctrl-C at any point stops every node started so far, then the demo.
    let stop = crate::shutdown_signal();
    let prepared = tokio::select! {
        net = Network::prepare(&spec) => Some(net?),
        () = stop.cancelled() => None,
    };
    let Some(mut net) = prepared else {
        return Ok(());
    };
    let result = tokio::select! {
        r = demo_scenario(&mut net, &args, count) => Some(r),
        () = stop.cancelled() => None,
    };
    let Some(result) = result else {
        eprintln!("interrupted: stopping the nodes…");
        net.stop_all().await;
        return Ok(());
    };
    if args.once || result.is_err() {
        net.stop_all().await;
        return result;
    }
    println!("\nThe network keeps running. Press Ctrl-C to stop it.");
    stop.cancelled().await;
    println!("stopping {} nodes…", net.nodes.len());
    net.stop_all().await;
    Ok(())
}

async fn demo_scenario(net: &mut Network, args: &DemoArgs, members: usize) -> Result<()> {
    let started = Instant::now();
    net.start_all().await?;
    if !args.once {
        println!(
            "{} nodes up in {:.1} s",
            net.nodes.len(),
            started.elapsed().as_secs_f64()
        );
    }
    // Every node starts with a catch-up pull from every peer (36 × 35 requests at once on the
    // full demo); let it finish so the figure measures a warning, not the start-up storm.
    net.wait_first_sync(Duration::from_secs(60)).await?;
    let origin = 1; // the first member state publishes
    let receivers = net.nodes.len() - 1;
    let bar = if args.once {
        None
    } else {
        println!(
            "{} ({}) publishes a TLP:GREEN attack warning…",
            net.nodes[origin].team, net.nodes[origin].node_id
        );
        let b = indicatif::ProgressBar::new(receivers as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} nodes stored and verified it ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    };
    let (id, got) = publish_and_follow(
        net,
        origin,
        &sample_warning(),
        Duration::from_secs(30),
        bar.as_ref(),
    )
    .await?;
    if let Some(b) = &bar {
        b.finish();
    }
    let latencies: Vec<i64> = got.iter().map(|(_, ms)| *ms).collect();
    let member_receivers = got.iter().filter(|(i, _)| *i != 0).count();
    let coordinator_got = got.iter().any(|(i, _)| *i == 0);
    let line = format!(
        "{members} nodes, {member_receivers}/{} received, p50 {} ms, p99 {} ms",
        members - 1,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
    if args.once {
        println!("{line}");
    } else {
        println!(
            "\n{line}{}",
            if coordinator_got {
                " (the coordinator too)"
            } else {
                ""
            }
        );
        println!("\nbulletin {id}");
        println!("{:<18} {:<3} {:<24} API", "node", "cc", "URL");
        for n in &net.nodes {
            println!(
                "{:<18} {:<3} {:<24} {}/api/v1/status",
                n.node_id, n.country, n.url, n.url
            );
        }
        println!(
            "\nDuty console of every node: <URL>/console, e.g. {}/console and {}/console",
            net.nodes[origin].url,
            net.nodes[1.max(origin + 1) % net.nodes.len()].url
        );
        println!(
            "  username {DUTY_USER}, password {}  (demo only: no second factor)",
            read_secret(&args.data.join("demo-duty-password"))?
        );
        println!(
            "\nAPI tokens: {}",
            args.data.join("demo-credentials.json").display()
        );
        println!(
            "Try: curl -s -H \"Authorization: Bearer $(jq -r '.nodes[1].api_token' {})\" {}/api/v1/bulletins/{id}",
            args.data.join("demo-credentials.json").display(),
            net.nodes[origin].url
        );
    }
    if got.len() != receivers || !coordinator_got {
        let missing: Vec<String> = (0..net.nodes.len())
            .filter(|i| *i != origin && !got.iter().any(|(j, _)| j == i))
            .map(|i| net.nodes[i].node_id.to_string())
            .collect();
        bail!(
            "not every node received the warning; missing: {}",
            missing.join(", ")
        );
    }
    let directory = publish_directory(net, !args.once).await?;
    let public = publish_public(net).await?;
    if args.once {
        println!("{}", directory.line());
        println!("{public}");
    } else {
        show_acknowledgements(net, origin, &id).await?;
        run_communication_check(net).await?;
        let c = &net.nodes[0].url;
        println!("\n{}", directory.line());
        println!("The directory, on the coordinator's console: {c}/console/directory");
        println!("Coverage of the member states:              {c}/console/coverage");
        println!("The census:                                 {c}/console/census");
        println!("The public directory (no login):            {c}/directory");
        let p = &net.nodes[PUBLIC_ORIGIN].url;
        println!("\n{public}");
        println!("The public portal of a node (no login):     {p}/");
        println!("Atom feed of public advisories:             {p}/feeds/advisories.atom");
        println!("CAP 1.2 alerts:                             {p}/feeds/cap.atom");
        println!(
            "CSAF 2.0 provider:                          {p}/.well-known/csaf/provider-metadata.json"
        );
        println!("TAXII 2.1:                                  {p}/taxii2/");
        println!("MISP feed:                                  {p}/feeds/misp/manifest.json");
        println!("security.txt:                               {p}/.well-known/security.txt");
    }
    Ok(())
}

/// The member that publishes the demo's public bulletins.
const PUBLIC_ORIGIN: usize = 1;

/// Publishes the public (TLP:CLEAR) attack warning and vulnerability advisory from the first
/// member and waits until every node holds both, so that every public surface has content.
async fn publish_public(net: &Network) -> Result<String> {
    let origin = PUBLIC_ORIGIN.min(net.nodes.len() - 1);
    let now = atalaya_core::Clock::now(&SystemClock);
    let namespace = net.nodes[origin].url.clone();
    let drafts = [
        crate::demo_public::public_attack_warning(),
        crate::demo_public::public_vulnerability_advisory(now, &namespace),
    ];
    let receivers = net.nodes.len() - 1;
    let mut ids = Vec::new();
    for draft in &drafts {
        let (id, got) =
            publish_and_follow(net, origin, draft, Duration::from_secs(30), None).await?;
        if got.len() != receivers {
            bail!(
                "the public bulletin {id} reached {} of {receivers} nodes",
                got.len()
            );
        }
        ids.push(id);
    }
    Ok(format!(
        "public: a TLP:CLEAR attack warning ({}) and a TLP:CLEAR vulnerability advisory with its CSAF document ({}) published by {}; every other node holds both",
        ids[0], ids[1], net.nodes[origin].node_id
    ))
}

/// What the demo put in the directory.
#[derive(Debug, Default)]
struct DirectorySummary {
    teams: usize,
    entries: usize,
    census_answers: usize,
    census_asked: usize,
    failures: Vec<String>,
}

impl DirectorySummary {
    fn line(&self) -> String {
        let mut line = format!(
            "directory: {} team records and {} cybercrime/standards entries published; census: {}/{} teams answered",
            self.teams, self.entries, self.census_answers, self.census_asked
        );
        if !self.failures.is_empty() {
            line.push_str(&format!(
                "; {} failed (first: {})",
                self.failures.len(),
                self.failures[0]
            ));
        }
        line
    }
}

/// Retry `f` until it succeeds or `within` has passed (entries may still be on their way).
async fn retry<T, F, Fut>(within: Duration, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() > within => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Each node publishes its team record (and the teams it hosts), its country's cybercrime
/// entry and standards adoption; the coordinator the standards registry and a few hosted
/// academic teams. All in parallel. Then (the full demo only) the coordinator issues the
/// sharing agreement, which the members accept, and opens a census round that about two thirds
/// of the teams answer.
async fn publish_directory(net: &Network, full: bool) -> Result<DirectorySummary> {
    use crate::demo_directory as dd;
    use crate::directory_cli::team_path;
    let now = atalaya_core::Clock::now(&SystemClock);
    let today = atalaya_core::directory::Day::of(now);
    let mut summary = DirectorySummary::default();
    let mut tasks = tokio::task::JoinSet::new();
    let states: Vec<MemberState> = net
        .nodes
        .iter()
        .skip(1)
        .filter_map(|n| member_states::by_code(n.country.as_str()).cloned())
        .collect();
    for (i, node) in net.nodes.iter().enumerate() {
        let api = net.api(i)?;
        let mut puts: Vec<(String, Value, bool)> = Vec::new();
        if i == 0 {
            puts.push((
                "/api/v1/standards".into(),
                serde_json::to_value(dd::demo_standards_registry(now))?,
                false,
            ));
            for t in dd::demo_coordinator_teams(&states, &node.node_id, today, now) {
                puts.push((team_path(t.id.as_str()), serde_json::to_value(&t)?, true));
            }
        } else if let Some(state) = member_states::by_code(node.country.as_str()) {
            let team = dd::demo_team(state, &node.node_id, today, now);
            puts.push((
                team_path(team.id.as_str()),
                serde_json::to_value(&team)?,
                true,
            ));
            for t in dd::demo_hosted_teams(state, &node.node_id, today, now) {
                puts.push((team_path(t.id.as_str()), serde_json::to_value(&t)?, true));
            }
            let cc = state.iso2.as_str();
            puts.push((
                format!("/api/v1/cybercrime/{cc}"),
                serde_json::to_value(dd::demo_cybercrime(state, now))?,
                false,
            ));
            puts.push((
                format!("/api/v1/standards/adoption/{cc}"),
                serde_json::to_value(dd::demo_standards_adoption(state, now))?,
                false,
            ));
        }
        let who = node.node_id.to_string();
        tasks.spawn(async move {
            let mut done = Vec::new();
            for (path, body, is_team) in puts {
                let r = api.put(&path, &body).await;
                done.push((
                    is_team,
                    r.map(|_| ()).map_err(|e| format!("{who} {path}: {e}")),
                ));
            }
            done
        });
    }
    while let Some(r) = tasks.join_next().await {
        for (is_team, result) in r.unwrap_or_default() {
            match result {
                Ok(()) if is_team => summary.teams += 1,
                Ok(()) => summary.entries += 1,
                Err(e) => summary.failures.push(e),
            }
        }
    }
    if full && let Err(e) = accept_agreement(net).await {
        summary.failures.push(format!("sharing agreement: {e}"));
    }
    if let Err(e) = run_census(net, &mut summary).await {
        summary.failures.push(format!("census: {e}"));
    }
    Ok(summary)
}

/// The coordinator issues the network's sharing agreement (unless there is one) and every
/// member accepts it, so that the coverage report measures the other requirements.
async fn accept_agreement(net: &Network) -> Result<()> {
    let coordinator = net.api(0)?;
    if coordinator.get("/api/v1/agreement").await?["version"].is_null() {
        coordinator
            .post(
                "/api/v1/agreement",
                &json!({"text": "Demo sharing agreement of the Inter-American CSIRT Watch and Warning Network (fictitious): members handle shared information according to its TLP label and use it only to protect their constituencies."}),
            )
            .await?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 1..net.nodes.len() {
        let api = net.api(i)?;
        tasks.spawn(async move {
            let body = json!({});
            retry(Duration::from_secs(20), || {
                api.post("/api/v1/agreement/accept", &body)
            })
            .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

/// Answers for the census: the node's prefilled answers plus a few varied ones.
fn varied_answers(mut answers: Value, i: usize) -> Value {
    let pick = |choices: &[&str], salt: usize| -> Value {
        json!(choices[(i * 7 + salt * 3) % choices.len()])
    };
    let extra = [
        ("organisations_served", json!(20 + (i * 37) % 400)),
        ("incidents_handled", json!(100 + (i * 211) % 5000)),
        ("full_time_staff", json!(3 + (i * 5) % 40)),
        ("part_time_staff", json!((i * 3) % 7)),
        (
            "incident_taxonomy",
            pick(&["rsit", "national", "own", "none"], 1),
        ),
        (
            "coverage_model",
            pick(&["shifts", "on-call", "outsourced", "mixed"], 2),
        ),
        (
            "ticketing_system",
            pick(&["rtir", "thehive", "otrs-znuny", "misp", "in-house"], 3),
        ),
        ("tlp_version", pick(&["tlp-2.0", "tlp-2.0", "tlp-1.0"], 4)),
        (
            "sharing_frequency",
            pick(&["daily", "weekly", "monthly", "rarely"], 5),
        ),
        ("budget_secured", pick(&["yes", "partly", "no"], 6)),
        (
            "assistance_areas",
            json!(
                [
                    &["tools", "staffing"][..],
                    &["accreditation"],
                    &["legal-framework", "availability"],
                    &["incident-support"]
                ][i % 4]
            ),
        ),
        (
            "training_topics",
            json!(
                [
                    &["incident-handling", "forensics"][..],
                    &["threat-intelligence"],
                    &["malware-analysis", "industrial-control-systems"]
                ][i % 3]
            ),
        ),
        ("can_host_training", json!(i.is_multiple_of(4))),
    ];
    if let Some(map) = answers.as_object_mut() {
        for (k, v) in extra {
            map.entry(k.to_owned()).or_insert(v);
        }
    }
    answers
}

/// The coordinator opens a census round (or reuses the open demo one); about two thirds of
/// the member teams answer it.
async fn run_census(net: &Network, summary: &mut DirectorySummary) -> Result<()> {
    const TITLE: &str = "Census 2026 (demo)";
    let coordinator = net.api(0)?;
    let rounds = coordinator.get("/api/v1/census/rounds").await?;
    let existing = rounds["rounds"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["open"] == true && r["round"]["title"] == TITLE)
        .and_then(|r| r["round"]["id"].as_str().map(str::to_owned));
    let round = match existing {
        Some(id) => id,
        None => coordinator
            .post("/api/v1/census/rounds", &json!({"title": TITLE}))
            .await?["round"]["id"]
            .as_str()
            .context("no round id in the reply")?
            .to_owned(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in (1..net.nodes.len()).filter(|i| i % 3 != 0) {
        summary.census_asked += 1;
        let api = net.api(i)?;
        let round = round.clone();
        tasks.spawn(async move {
            let path = format!("/api/v1/census/rounds/{round}");
            retry(Duration::from_secs(30), || api.get(&path)).await?;
            let prefill = api.get(&format!("{path}/prefill")).await?;
            let answers = varied_answers(prefill["answers"].clone(), i);
            let responses = format!("{path}/responses");
            let body = json!({ "answers": answers });
            retry(Duration::from_secs(10), || api.post(&responses, &body)).await
        });
    }
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(_)) => summary.census_answers += 1,
            Ok(Err(e)) => summary.failures.push(format!("census answer: {e}")),
            Err(e) => summary.failures.push(format!("census answer: {e}")),
        }
    }
    Ok(())
}

/// A communication check from the coordinator: most teams answer within seconds, the last
/// one does not, so the console's Checks page has a report and a trend to show.
async fn run_communication_check(net: &Network) -> Result<()> {
    let coordinator = net.api(0)?;
    let started = coordinator
        .post(
            "/api/v1/checks",
            &json!({"message": "Monthly communication check: please answer", "answer_within_minutes": 30}),
        )
        .await?;
    let id = started["id"].as_str().unwrap_or_default().to_owned();
    let last = net.nodes.len() - 1;
    for (i, node) in net
        .nodes
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, _)| *i != last)
    {
        let api = net.api(i)?;
        let path = format!("/api/v1/checks/{id}/answer");
        let by = format!("Duty officer, {}", node.team);
        let delay = Duration::from_millis(500 + (i as u64 * 211) % 6_000);
        tokio::spawn(async move {
            // The check may still be on its way: try for a while.
            tokio::time::sleep(delay).await;
            for _ in 0..20 {
                if api
                    .post(&path, &json!({"by": by, "note": "all quiet"}))
                    .await
                    .is_ok()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
    println!(
        "\nA communication check from the coordinator: every team but {} answers within seconds.\nIts report: {}/console/checks/{id}",
        net.nodes[last].node_id, net.nodes[0].url
    );
    Ok(())
}

/// The demo's acknowledgement pattern: most teams acknowledge within seconds, a few late, the
/// last one never (so the origin's matrix shows it overdue once the deadline passes).
async fn show_acknowledgements(net: &Network, origin: usize, id: &str) -> Result<()> {
    let last = net.nodes.len() - 1;
    let notes = [
        "no-impact",
        "investigating",
        "no-impact",
        "affected",
        "received",
    ];
    let mut late = Vec::new();
    for (i, node) in net
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != origin && *i != last)
    {
        let slow = i % 9 == 4;
        let delay = if slow {
            Duration::from_millis(20_000 + (i as u64 * 1_777) % 20_000)
        } else {
            Duration::from_millis(300 + (i as u64 * 137) % 4_000)
        };
        if slow {
            late.push(node.node_id.to_string());
        }
        let api = net.api(i)?;
        let path = format!("/api/v1/bulletins/{id}/ack");
        let note = notes[i % notes.len()];
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = api.post(&path, &json!({"note": note})).await;
        });
    }
    println!(
        "\nDuty officers acknowledge: most within seconds; late: {}; {} never does.",
        if late.is_empty() {
            "none".into()
        } else {
            late.join(", ")
        },
        net.nodes[last].node_id
    );
    let bar = indicatif::ProgressBar::new((net.nodes.len() - 1) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} teams acknowledged ({elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let origin_api = net.api(origin)?;
    let start = Instant::now();
    let mut done = 0;
    while start.elapsed() < Duration::from_secs(8) {
        if let Ok(b) = origin_api.get(&format!("/api/v1/bulletins/{id}")).await {
            done = b["bulletin"]["acknowledged"]["done"].as_u64().unwrap_or(0);
            bar.set_position(done);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bar.finish();
    println!(
        "{done}/{} teams acknowledged within 8 s; the late ones follow.",
        net.nodes.len() - 1
    );
    println!(
        "The matrix, live at the origin: curl -s -H \"Authorization: Bearer <token of {}>\" {}/api/v1/bulletins/{id} | jq '.bulletin.deliveries[] | {{peer, ack_state, acknowledged}}'",
        net.nodes[origin].node_id, net.nodes[origin].url
    );
    Ok(())
}

/// Peak resident memory (VmHWM) of a process, in MB.
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Current resident memory (VmRSS) of a process, in MB.
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
