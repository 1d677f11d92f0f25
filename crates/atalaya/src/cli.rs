//! Commands that talk to a running node through its API, and roster/token management.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use atalaya_core::{
    Audience, BulletinContent, BulletinDraft, BulletinKind, Clock, CountryCode, EntropyRng, Node,
    NodeId, OsEntropy, Roster, Severity, SystemClock, Timestamp, Tlp, ids,
};
use atalaya_crypto::{NodeKeys, PublicSigningKey};
use atalaya_federation::{RosterView, sign_roster};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::config::{Config, read_secret};

/// A client for a node's JSON API.
pub struct ApiClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl ApiClient {
    /// Reach the node of `config` with its CLI token (or `ATALAYA_TOKEN`).
    pub fn for_config(config: &Config) -> Result<Self> {
        let token = match std::env::var("ATALAYA_TOKEN") {
            Ok(t) if !t.is_empty() => t,
            _ => read_secret(&config.token_path())?,
        };
        let listen = config.node.listen.replace("0.0.0.0", "127.0.0.1");
        Self::new(&format!("http://{listen}"), &token)
    }

    /// A client for `base` (e.g. `http://127.0.0.1:7401`) with `token`.
    pub fn new(base: &str, token: &str) -> Result<Self> {
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::builder().no_proxy().build()?,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp =
            req.bearer_auth(&self.token).send().await.with_context(|| {
                format!("cannot reach the node at {} (is it running?)", self.base)
            })?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{}", refusal(status, &body));
        }
        Ok(body)
    }

    /// GET a path whose answer is text (an export, an RFC 2350 document, a vCard).
    pub async fn get_text(&self, path: &str) -> Result<String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the node at {} (is it running?)", self.base))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            bail!("{}", refusal(status, &body));
        }
        Ok(text)
    }

    /// PUT JSON.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(self.http.put(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// POST a raw body of `content_type`.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<Value> {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }
}

/// What the node said when it refused: its code and message, then each problem it listed.
pub fn refusal(status: reqwest::StatusCode, body: &Value) -> String {
    let code = body["error"]["code"].as_str().unwrap_or("error");
    let msg = body["error"]["message"].as_str().unwrap_or("");
    let mut text = format!("the node refused ({status}): {code}: {msg}");
    for p in body["error"]["problems"].as_array().into_iter().flatten() {
        let at = p["field"]
            .as_str()
            .or_else(|| p["team"].as_str())
            .unwrap_or("");
        text.push_str(&format!(
            "\n  {at}: {} ({})",
            p["message"].as_str().unwrap_or(""),
            p["code"].as_str().unwrap_or("")
        ));
    }
    text
}

impl ApiClient {
    /// GET a path.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// PUT a raw JSON body.
    pub async fn put_raw(&self, path: &str, body: String) -> Result<Value> {
        self.send(
            self.http
                .put(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }
}

/// `atalaya publish`
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// A bulletin as JSON, or as Markdown with a front matter (`---` / `key: value` / `---`).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// attack-warning, vulnerability-advisory, suspicious-activity, mitigation, informational.
    #[arg(long)]
    pub kind: Option<String>,
    /// One-line title.
    #[arg(long)]
    pub title: Option<String>,
    /// Summary paragraph.
    #[arg(long)]
    pub summary: Option<String>,
    /// Markdown body.
    #[arg(long)]
    pub body: Option<String>,
    /// info, low, medium, high, critical.
    #[arg(long)]
    pub severity: Option<String>,
    /// CLEAR, GREEN, AMBER, AMBER+STRICT, RED.
    #[arg(long)]
    pub tlp: Option<String>,
    /// Only these nodes (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub nodes: Vec<NodeId>,
    /// Only the nodes of these countries (comma-separated ISO codes).
    #[arg(long, value_delimiter = ',')]
    pub countries: Vec<CountryCode>,
    /// Acknowledge before (RFC 3339, UTC).
    #[arg(long)]
    pub ack_by: Option<Timestamp>,
}

fn enum_value<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(Value::String(s.trim().to_owned()))
        .map_err(|_| anyhow::anyhow!("unknown {what} {s:?}"))
}

/// Split a Markdown file into its front matter (`key: value` lines) and body.
fn front_matter(text: &str) -> (Vec<(String, String)>, String) {
    let mut fields = Vec::new();
    let rest = match text.strip_prefix("---\n") {
        Some(after) => match after.split_once("\n---\n") {
            Some((head, body)) => {
                for line in head.lines() {
                    if let Some((k, v)) = line.split_once(':') {
                        fields.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                body.to_owned()
            }
            None => text.to_owned(),
        },
        None => text.to_owned(),
    };
    (fields, rest)
}

/// Build the draft from a file and/or flags (flags win).
pub fn draft_from(a: &PublishArgs) -> Result<BulletinDraft> {
    if let Some(path) = &a.file
        && path.extension().is_some_and(|e| e == "json")
    {
        let text = std::fs::read_to_string(path)?;
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bulletin", path.display()));
    }
    let mut f: std::collections::BTreeMap<String, String> = Default::default();
    let mut body = String::new();
    if let Some(path) = &a.file {
        let text = std::fs::read_to_string(path)?;
        let (fields, rest) = front_matter(&text);
        f.extend(fields);
        body = rest.trim().to_owned();
        // A leading "# Title" line is the title when none is given.
        if let Some(first) = body.lines().next()
            && let Some(t) = first.strip_prefix("# ")
        {
            f.entry("title".into())
                .or_insert_with(|| t.trim().to_owned());
            body = body
                .lines()
                .skip(1)
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_owned();
        }
    }
    let pick = |flag: &Option<String>, key: &str| flag.clone().or_else(|| f.get(key).cloned());
    let title = pick(&a.title, "title").context("a bulletin needs a title (--title)")?;
    let summary = pick(&a.summary, "summary").context("a bulletin needs a summary (--summary)")?;
    let kind: BulletinKind = enum_value(
        "kind",
        &pick(&a.kind, "kind").unwrap_or_else(|| "informational".into()),
    )?;
    let severity: Severity = enum_value(
        "severity",
        &pick(&a.severity, "severity").unwrap_or_else(|| "medium".into()),
    )?;
    let tlp_text = pick(&a.tlp, "tlp").unwrap_or_else(|| "GREEN".into());
    let tlp = Tlp::parse(&tlp_text).with_context(|| format!("unknown TLP label {tlp_text:?}"))?;
    let mut nodes = a.nodes.clone();
    let mut countries = a.countries.clone();
    if let Some(n) = f.get("nodes") {
        for s in n.split(',').filter(|s| !s.trim().is_empty()) {
            nodes.push(NodeId::new(s.trim())?);
        }
    }
    if let Some(c) = f.get("countries") {
        for s in c.split(',').filter(|s| !s.trim().is_empty()) {
            countries.push(CountryCode::new(s.trim())?);
        }
    }
    let audience = match (nodes.is_empty(), countries.is_empty()) {
        (true, true) => Audience::Network,
        (false, true) => Audience::Nodes { nodes },
        (true, false) => Audience::Countries { countries },
        (false, false) => bail!("give either --nodes or --countries, not both"),
    };
    let ack = match (&a.ack_by, f.get("ack_required_by")) {
        (Some(t), _) => Some(*t),
        (None, Some(s)) => Some(Timestamp::parse(s)?),
        (None, None) => None,
    };
    Ok(BulletinDraft {
        tlp,
        audience,
        embargo_until: None,
        people: Vec::new(),
        constituents: Vec::new(),
        content: BulletinContent {
            kind,
            title,
            summary,
            body: a.body.clone().unwrap_or(body),
            severity,
            rsit: f.get("rsit").cloned(),
            sectors: Vec::new(),
            countries: Vec::new(),
            indicators: Vec::new(),
            references: Vec::new(),
            payload: None,
            supersedes: None,
            ack_required_by: ack,
        },
    })
}

/// `atalaya publish`
pub async fn publish(config: &Path, a: PublishArgs) -> Result<()> {
    let config = Config::load(config)?;
    let draft = draft_from(&a)?;
    let client = ApiClient::for_config(&config)?;
    let reply = client
        .post("/api/v1/bulletins", &serde_json::to_value(&draft)?)
        .await?;
    let id = reply["bulletin"]["id"].as_str().unwrap_or("?");
    let n = reply["recipients"].as_array().map_or(0, Vec::len);
    println!("published {id} ({}) to {n} peer(s)", draft.tlp);
    Ok(())
}

/// `atalaya status`
pub async fn status(config: &Path, json: bool) -> Result<()> {
    let config = Config::load(config)?;
    let client = ApiClient::for_config(&config)?;
    let s = client.get("/api/v1/status").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!(
        "node {} — roster {} v{} ({} members), log head {}",
        s["node"].as_str().unwrap_or("?"),
        s["roster"]["network"].as_str().unwrap_or("?"),
        s["roster"]["version"],
        s["roster"]["members"],
        s["log_head"]
    );
    println!(
        "{:<18} {:<3} {:<12} {:>8} {:>9} {:>8}  last error",
        "peer", "cc", "state", "pending", "delivered", "lag s"
    );
    for p in s["peers"].as_array().into_iter().flatten() {
        println!(
            "{:<18} {:<3} {:<12} {:>8} {:>9} {:>8.1}  {}",
            p["peer"].as_str().unwrap_or("?"),
            p["country"].as_str().unwrap_or(""),
            p["state"].as_str().unwrap_or("?"),
            p["pending"].as_i64().unwrap_or(0),
            p["delivered"].as_i64().unwrap_or(0),
            p["lag_seconds"].as_f64().unwrap_or(0.0),
            p["last_error"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// `atalaya roster …`
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Start a new roster (version after the current one) listing only the coordinator.
    Create {
        /// Network name.
        #[arg(long, default_value = "oas-csirt-americas")]
        network: String,
    },
    /// Add (or update) a member from its `node.json`, and re-sign.
    Add {
        /// The member's public record (`node.json` written by `atalaya init`).
        node: PathBuf,
    },
    /// Remove a member, and re-sign: its envelopes are refused from then on.
    Remove {
        /// The member's node id.
        node: NodeId,
    },
    /// Sign an unsigned roster (JSON) edited by hand.
    Sign {
        /// The unsigned roster.
        file: PathBuf,
    },
    /// Show a signed roster (verified against the configured coordinator key).
    Show {
        /// A signed roster file (default: the node's roster file).
        file: Option<PathBuf>,
    },
    /// Send the signed roster to the running node (the coordinator then sends it to everyone).
    Push,
}

struct Coordinator {
    config: Config,
    keys: NodeKeys,
}

fn coordinator(config: &Path) -> Result<Coordinator> {
    let config = Config::load(config)?;
    if config.node.role != atalaya_core::Role::Coordinator {
        bail!(
            "{} is not the coordinator: only the coordinator signs the roster",
            config.node.id
        );
    }
    let keys = NodeKeys::load_from_dir(&config.key_dir())?;
    Ok(Coordinator { config, keys })
}

fn load_roster(config: &Config, file: Option<&Path>) -> Result<RosterView> {
    let path = file.map_or_else(|| config.roster_path(), Path::to_path_buf);
    let raw =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let key = PublicSigningKey::from_b64(&config.roster.coordinator_key)?;
    Ok(RosterView::from_signed(raw.trim(), &key)?)
}

fn write_signed(c: &Coordinator, roster: &Roster) -> Result<()> {
    let now = SystemClock.now();
    let raw = sign_roster(
        roster,
        &c.keys,
        ids::new_id(now, &mut EntropyRng(&OsEntropy)),
        now,
    )
    .map_err(anyhow::Error::msg)?;
    let path = c.config.roster_path();
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, raw + "\n")?;
    std::fs::rename(&tmp, &path)?;
    println!(
        "roster version {} signed ({} members): {}",
        roster.version,
        roster.members.len(),
        path.display()
    );
    println!("run `atalaya roster push` (or restart the coordinator) to send it to the network");
    Ok(())
}

/// `atalaya roster …`
pub async fn roster(config: &Path, cmd: RosterCommand) -> Result<()> {
    match cmd {
        RosterCommand::Create { network } => {
            let c = coordinator(config)?;
            let me: Node = serde_json::from_str(&std::fs::read_to_string(
                c.config.node.data_dir.join("node.json"),
            )?)?;
            let mut roster = Roster::new(&network, me, SystemClock.now());
            if let Ok(old) = load_roster(&c.config, None) {
                roster.version = old.version() + 1;
            }
            write_signed(&c, &roster)
        }
        RosterCommand::Add { node } => {
            let c = coordinator(config)?;
            let text = std::fs::read_to_string(&node)
                .with_context(|| format!("reading {}", node.display()))?;
            let member: Node = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a node record", node.display()))?;
            PublicSigningKey::from_b64(&member.signing_key)
                .context("the node's signing key is invalid")?;
            atalaya_crypto::PublicSealingKey::from_b64(&member.sealing_key)
                .context("the node's sealing key is invalid")?;
            let mut roster = load_roster(&c.config, None)?.roster;
            roster.upsert(member, SystemClock.now());
            roster.validate()?;
            write_signed(&c, &roster)
        }
        RosterCommand::Remove { node } => {
            let c = coordinator(config)?;
            let mut roster = load_roster(&c.config, None)?.roster;
            roster.remove(&node, SystemClock.now())?;
            write_signed(&c, &roster)
        }
        RosterCommand::Sign { file } => {
            let c = coordinator(config)?;
            let roster: Roster = serde_json::from_str(&std::fs::read_to_string(&file)?)
                .with_context(|| format!("{} is not a roster", file.display()))?;
            if roster.coordinator != c.config.node.id {
                bail!(
                    "the roster names {} as coordinator, but this is {}",
                    roster.coordinator,
                    c.config.node.id
                );
            }
            if let Ok(old) = load_roster(&c.config, None)
                && roster.version <= old.version()
            {
                bail!(
                    "version {} is not newer than the current roster ({})",
                    roster.version,
                    old.version()
                );
            }
            write_signed(&c, &roster)
        }
        RosterCommand::Show { file } => {
            let config = Config::load(config)?;
            let view = load_roster(&config, file.as_deref())?;
            let r = &view.roster;
            println!(
                "network {} — version {} issued {} by {} (signature verified)",
                r.network, r.version, r.issued, r.coordinator
            );
            for m in &r.members {
                println!(
                    "  {:<18} {:<3} {:<11} {:<28} {}",
                    m.node_id,
                    m.country,
                    format!("{:?}", m.role).to_lowercase(),
                    m.endpoint,
                    m.team
                );
            }
            for gone in &r.removed {
                println!("  {gone:<18} (removed)");
            }
            Ok(())
        }
        RosterCommand::Push => {
            let config = Config::load(config)?;
            let raw = std::fs::read_to_string(config.roster_path())?;
            let reply = ApiClient::for_config(&config)?
                .put_raw("/api/v1/roster", raw.trim().to_owned())
                .await?;
            println!(
                "node holds roster version {} (installed now: {})",
                reply["version"], reply["installed"]
            );
            Ok(())
        }
    }
}

/// `atalaya token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token (printed once; only its hash is stored).
    Create {
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Its rights: space- or comma-separated scopes (`bulletins:read bulletins:ack`), or
        /// `*` for all.
        #[arg(long, default_value = "*")]
        scopes: String,
        /// Days until it stops working (default: until revoked).
        #[arg(long)]
        days: Option<u32>,
    },
    /// Revoke an API token by id (the part after `atl_`, before the second `_`).
    Revoke {
        /// Token id.
        id: String,
    },
}

/// `atalaya token …`
pub async fn token(config: &Path, cmd: TokenCommand) -> Result<()> {
    use atalaya_store::{SqliteStore, Store};
    match cmd {
        TokenCommand::Create { name, scopes, days } => {
            let (accounts, store) = open_accounts(config).await?;
            let issued = accounts.issue_token(None, &name, &scopes, days).await;
            store.close().await;
            let (token, record) = issued.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("token {} with scopes {}", record.id, record.scopes);
            println!("{token}");
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let config = Config::load(config)?;
            let store = SqliteStore::open(
                &config.db_path(),
                &crate::node::sqlite_options(&config.store),
            )
            .await?;
            let done = store.revoke_api_token(&id, SystemClock.now()).await?;
            store.close().await;
            if !done {
                bail!("no active token with id {id}");
            }
            println!("token {id} revoked");
            Ok(())
        }
    }
}

/// `atalaya policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show this node's own sharing policy.
    Show,
    /// Replace it with the policy in a JSON file, e.g.
    /// `{"outbound": [{"peers": ["mx-csirt"], "max_tlp": "GREEN"}], "refuse_from": []}`.
    Set {
        /// The policy.
        file: PathBuf,
    },
}

/// `atalaya policy …`
pub async fn policy(config: &Path, cmd: PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Show => {
            let config = Config::load(config)?;
            let reply = ApiClient::for_config(&config)?
                .get("/api/v1/policy")
                .await?;
            println!("{}", serde_json::to_string_pretty(&reply["policy"])?);
            Ok(())
        }
        PolicyCommand::Set { file } => {
            let config = Config::load(config)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let reply = ApiClient::for_config(&config)?
                .put_raw("/api/v1/policy", text)
                .await?;
            println!("{}", serde_json::to_string_pretty(&reply["policy"])?);
            Ok(())
        }
    }
}

/// `atalaya audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole local audit log (the chain and its Merkle tree), then that it extends
    /// every checkpoint of it the peers hold; fails on any inconsistency.
    Verify,
    /// Show this node's newest published audit checkpoint (signed tree head).
    Checkpoint {
        /// Also show the peers' countersignatures of it (each checked against the roster).
        #[arg(long)]
        witnessed: bool,
    },
    /// Show the last entries of the audit trail.
    Show {
        /// How many.
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
}

async fn audit_entries(config: &Config) -> Result<Vec<atalaya_core::audit::AuditEntry>> {
    use atalaya_store::{SqliteStore, Store};
    let store = SqliteStore::open(
        &config.db_path(),
        &crate::node::sqlite_options(&config.store),
    )
    .await?;
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, 10_000).await?;
        if page.is_empty() {
            break;
        }
        after += page.len() as i64;
        all.extend(page);
    }
    store.close().await;
    Ok(all)
}

/// `atalaya audit …`
pub async fn audit(config: &Path, cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Verify => {
            use atalaya_core::{audit, merkle};
            use atalaya_store::Store as _;
            let config = Config::load(config)?;
            // The stored tree's size is read before the entries: a running node appends the
            // tree and the trail in one transaction, so a tree read first is never ahead of
            // a trail read after it, unless the trail was truncated.
            let (fed, store) = crate::node::open_federation(&config).await?;
            let stored = store.audit_tree_size().await?;
            let entries = audit_entries(&config).await?;
            audit::verify_chain(&entries)?;
            match entries.last() {
                Some(head) => println!(
                    "audit chain intact: {} entries, head {} ({})",
                    entries.len(),
                    head.hash,
                    head.event.at
                ),
                None => println!("audit chain intact: empty"),
            }
            // The Merkle tree, recomputed from the entries.
            let mut tree = merkle::MemoryTree::new();
            for e in &entries {
                tree.push(
                    audit::leaf_of(&e.hash)
                        .ok_or_else(|| anyhow::anyhow!("entry {} has a malformed hash", e.seq))?,
                );
            }
            let n = tree.size();
            let local_root = tree.root(n)?;
            // The tree stored beside the trail must be the one the entries make (it may lag
            // until the next write).
            if stored > n {
                store.close().await;
                anyhow::bail!(
                    "audit log broken: the stored Merkle tree has {stored} entries, the trail {n}: the trail was truncated"
                );
            }
            if stored > 0 && fed.audit_root(stored).await? != Some(tree.root(stored)?) {
                store.close().await;
                anyhow::bail!(
                    "audit log broken: the stored Merkle tree does not match the entries (modified)"
                );
            }
            println!(
                "audit tree: {n} entries, root {}{}",
                merkle::to_hex(&local_root),
                if stored < n {
                    " (the stored tree catches up at the next write)"
                } else {
                    ""
                }
            );
            // The peers' checkpoints: a rewritten or truncated history shows against them.
            let peers: Vec<atalaya_core::Member> = fed
                .roster()
                .roster
                .peers_of(fed.node_id())
                .cloned()
                .collect();
            let mut checked = 0;
            let mut unreachable = Vec::new();
            let mut broken = Vec::new();
            for peer in &peers {
                let who = &peer.node_id;
                let cp = match fed.fetch_own_checkpoint(peer).await {
                    Ok(Some(cp)) => cp,
                    Ok(None) => {
                        println!("  {who}: holds no checkpoint of this node yet");
                        continue;
                    }
                    Err(e) => {
                        unreachable.push(format!("{who} ({e})"));
                        continue;
                    }
                };
                checked += 1;
                let m = u64::try_from(cp.seq).unwrap_or(0);
                let verdict = match cp.root.as_deref().and_then(merkle::from_hex) {
                    // A checkpoint from before the tree: the chain hash of its entry.
                    None => audit::verify_checkpoint(&entries, cp.seq, &cp.hash)
                        .map_err(|e| e.reason),
                    Some(_) if m > n => Err(format!(
                        "it holds a checkpoint of {m} entries, the local log has {n}: the log was truncated"
                    )),
                    Some(root) => tree
                        .consistency_proof(m, n)
                        .and_then(|p| merkle::verify_consistency(m, n, &root, &local_root, &p))
                        .map_err(|e| format!(
                            "its checkpoint of {m} entries is not a prefix of the local log ({e}): history was rewritten"
                        )),
                };
                match verdict {
                    Ok(()) => println!(
                        "  {who}: checkpoint of {m} entries is consistent with the local log ({n})"
                    ),
                    Err(why) => {
                        println!("  {who}: INCONSISTENT: {why}");
                        broken.push(format!("{who}: {why}"));
                    }
                }
            }
            store.close().await;
            if !unreachable.is_empty() {
                eprintln!("could not ask: {}", unreachable.join(", "));
            }
            if !broken.is_empty() {
                anyhow::bail!(
                    "audit log inconsistent with {} of {checked} peers' checkpoints:\n  {}",
                    broken.len(),
                    broken.join("\n  ")
                );
            }
            println!("peers' checkpoints: {checked} checked, all consistent with the local log");
            Ok(())
        }
        AuditCommand::Checkpoint { witnessed } => {
            use atalaya_store::Store as _;
            let config = Config::load(config)?;
            let (fed, store) = crate::node::open_federation(&config).await?;
            let Some(head) = store.latest_audit_head(fed.node_id()).await? else {
                store.close().await;
                println!("no audit checkpoint published yet");
                return Ok(());
            };
            println!(
                "checkpoint of {}: {} entries, root {}, taken {}",
                fed.node_id(),
                head.size,
                head.root,
                head.time
            );
            if witnessed {
                let cosigs = store.cosignatures(head.size).await?;
                let mut valid = 0;
                for json in &cosigs {
                    let c: atalaya_core::audit::Cosignature = match serde_json::from_str(json) {
                        Ok(c) => c,
                        Err(e) => {
                            println!("  unreadable countersignature: {e}");
                            continue;
                        }
                    };
                    match fed.verify_cosignature(&c) {
                        Ok(h)
                            if h.size == head.size
                                && atalaya_core::merkle::to_hex(&h.root) == head.root =>
                        {
                            valid += 1;
                            println!(
                                "  witnessed by {} ({}) at {}: {}",
                                c.witness, c.key, c.witnessed, c.sig
                            );
                        }
                        Ok(_) => println!("  {}: countersigned another checkpoint", c.witness),
                        Err(r) => println!("  {}: REFUSED ({}: {})", c.witness, r.code, r.message),
                    }
                }
                println!("{valid} valid countersignature(s)");
            }
            println!("{}", head.raw);
            store.close().await;
            Ok(())
        }
        AuditCommand::Show { last } => {
            let config = Config::load(config)?;
            let entries = audit_entries(&config).await?;
            for e in entries.iter().skip(entries.len().saturating_sub(last)) {
                let ev = &e.event;
                println!(
                    "{:>6} {} {:<22} {:<16} {:<5} {:<24} {}",
                    e.seq, ev.at, ev.actor, ev.action, ev.decision, ev.reason, ev.object
                );
            }
            Ok(())
        }
    }
}

/// `atalaya retract`
pub async fn retract(config: &Path, id: &str, reason: &str) -> Result<()> {
    let config = Config::load(config)?;
    let reply = ApiClient::for_config(&config)?
        .post(
            &format!("/api/v1/bulletins/{id}/retract"),
            &serde_json::json!({"reason": reason}),
        )
        .await?;
    println!(
        "bulletin {id} retracted (retraction {})",
        reply["retraction"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// `atalaya agreement …`
#[derive(Debug, Subcommand)]
pub enum AgreementCommand {
    /// Show the sharing agreement in force and who accepted it.
    Show,
    /// Issue a new version (coordinator): its text from a Markdown file.
    Issue {
        /// The rules.
        file: PathBuf,
    },
    /// Accept the current version for this node (until then it receives only TLP:CLEAR).
    Accept,
}

/// `atalaya agreement …`
pub async fn agreement(config: &Path, cmd: AgreementCommand) -> Result<()> {
    match cmd {
        AgreementCommand::Show => {
            let config = Config::load(config)?;
            let a = ApiClient::for_config(&config)?
                .get("/api/v1/agreement")
                .await?;
            if a["version"].is_null() {
                println!("no sharing agreement issued");
            } else {
                println!(
                    "version {} (sha256 {})",
                    a["version"],
                    a["hash"].as_str().unwrap_or("")
                );
                println!("accepted here: {}", a["accepted_here"]);
                println!("accepted by: {}", a["accepted_by"]);
                println!("\n{}", a["text"].as_str().unwrap_or(""));
            }
            Ok(())
        }
        AgreementCommand::Issue { file } => {
            let config = Config::load(config)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let r = ApiClient::for_config(&config)?
                .post("/api/v1/agreement", &serde_json::json!({"text": text}))
                .await?;
            println!(
                "sharing agreement version {} issued to the network",
                r["version"]
            );
            Ok(())
        }
        AgreementCommand::Accept => {
            let config = Config::load(config)?;
            let r = ApiClient::for_config(&config)?
                .post("/api/v1/agreement/accept", &serde_json::json!({}))
                .await?;
            println!("accepted version {}", r["accepted"]);
            Ok(())
        }
    }
}

/// `atalaya oncall …`
#[derive(Debug, Subcommand)]
pub enum OnCallCommand {
    /// Show the on-call roster.
    Show,
    /// Replace it with the roster in a JSON file, e.g. `{"step_minutes": 15, "entries": [{"role":
    /// "primary", "name": "Ana", "email": "ana@csirt.example", "timezone": "America/Santiago"}]}`.
    Set {
        /// The roster.
        file: PathBuf,
    },
}

/// `atalaya oncall …`
pub async fn oncall(config: &Path, cmd: OnCallCommand) -> Result<()> {
    let (config, body) = match cmd {
        OnCallCommand::Show => (config, None),
        OnCallCommand::Set { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            (config, Some(text))
        }
    };
    let config = Config::load(config)?;
    let client = ApiClient::for_config(&config)?;
    let reply = match body {
        Some(text) => client.put_raw("/api/v1/oncall", text).await?,
        None => client.get("/api/v1/oncall").await?,
    };
    println!("{}", serde_json::to_string_pretty(&reply["oncall"])?);
    Ok(())
}

/// The account service over a node's store, for commands run on the node itself.
async fn open_accounts(
    config: &std::path::Path,
) -> Result<(
    atalaya_node::accounts::Accounts,
    std::sync::Arc<atalaya_store::SqliteStore>,
)> {
    let config = Config::load(config)?;
    let store = std::sync::Arc::new(
        atalaya_store::SqliteStore::open(
            &config.db_path(),
            &crate::node::sqlite_options(&config.store),
        )
        .await?,
    );
    let accounts = atalaya_node::accounts::Accounts::new(
        store.clone(),
        std::sync::Arc::new(SystemClock),
        std::sync::Arc::new(OsEntropy),
        config.console.clone(),
    );
    Ok((accounts, store))
}

/// `atalaya user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input with `--password-stdin`;
    /// otherwise a strong one is generated and printed once. Roles that can publish or change
    /// policy enrol a second factor (TOTP) at their first login.
    Add {
        /// Login name (a-z 0-9 . _ -).
        #[arg(long)]
        username: String,
        /// The name other teams see (in acknowledgements).
        #[arg(long)]
        name: String,
        /// admin, duty_officer, analyst, liaison or read_only.
        #[arg(long)]
        role: String,
        /// IANA time zone for showing times.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Let the account work without a second factor (demo networks only).
        #[arg(long, hide = true)]
        no_mfa_demo_only: bool,
    },
    /// List the accounts.
    List,
    /// Disable an account (ends its sessions; its tokens stop working).
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Login name.
        username: String,
    },
    /// Set a new password (read from standard input, or generated and printed); ends the
    /// account's sessions.
    Password {
        /// Login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's role (ends its sessions).
    Role {
        /// Login name.
        username: String,
        /// The new role.
        role: String,
    },
}

/// A password from standard input, or a generated one (printed by the caller).
fn password_input(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        return Ok((p, false));
    }
    let mut rng = atalaya_core::EntropyRng(&OsEntropy);
    let mut bytes = [0u8; 15];
    rand_core::RngCore::fill_bytes(&mut rng, &mut bytes);
    let words = atalaya_crypto::totp::base32_encode(&bytes).to_ascii_lowercase();
    Ok((
        format!(
            "{}-{}-{}-{}",
            &words[0..6],
            &words[6..12],
            &words[12..18],
            &words[18..24]
        ),
        true,
    ))
}

/// `atalaya user …`
pub async fn user(config: &Path, cmd: UserCommand) -> Result<()> {
    use atalaya_store::Store;
    let (accounts, store) = open_accounts(config).await?;
    let find = |username: String| {
        let store = store.clone();
        async move {
            store
                .user_by_name(&username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no account {username:?}"))
        }
    };
    let result: Result<()> = async {
        match cmd {
            UserCommand::Add {
                username,
                name,
                role,
                timezone,
                password_stdin,
                no_mfa_demo_only,
                ..
            } => {
                let role: atalaya_core::access::Role =
                    role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
                let (password, generated) = password_input(password_stdin)?;
                let user = accounts
                    .create_user(atalaya_node::accounts::NewUser {
                        username,
                        display_name: name,
                        role,
                        password: password.clone(),
                        timezone,
                        mfa_exempt: no_mfa_demo_only,
                    })
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("account {} ({}) created", user.username, user.role);
                if generated {
                    println!("password: {password}  (shown once)");
                }
                if role.requires_mfa() && !no_mfa_demo_only {
                    println!("a second factor (TOTP) is enrolled at the first login");
                }
            }
            UserCommand::List => {
                for u in store.users().await? {
                    println!(
                        "{:<20} {:<13} {:<4} {:<9} {}",
                        u.username,
                        u.role,
                        if u.totp_secret.is_some() { "totp" } else { "-" },
                        if u.disabled.is_some() {
                            "disabled"
                        } else {
                            "active"
                        },
                        u.display_name
                    );
                }
            }
            UserCommand::Disable { username, .. } | UserCommand::Enable { username, .. } => {
                let disable = store
                    .user_by_name(&username)
                    .await?
                    .is_some_and(|u| u.disabled.is_none());
                let u = find(username).await?;
                accounts
                    .set_disabled(&u.id, disable)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!(
                    "account {} {}",
                    u.username,
                    if disable { "disabled" } else { "enabled" }
                );
            }
            UserCommand::Password {
                username,
                password_stdin,
                ..
            } => {
                let u = find(username).await?;
                let (password, generated) = password_input(password_stdin)?;
                accounts
                    .set_password(&u.id, &password)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("password of {} changed; its sessions ended", u.username);
                if generated {
                    println!("password: {password}  (shown once)");
                }
            }
            UserCommand::Role { username, role, .. } => {
                let u = find(username).await?;
                let role: atalaya_core::access::Role =
                    role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
                accounts
                    .set_role(&u.id, role)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{} is now {role}; its sessions ended", u.username);
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

/// `atalaya check …`
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Start a communication check: every peer (or those named) must answer it.
    Start {
        /// Only these members (comma-separated node ids).
        #[arg(long, value_delimiter = ',')]
        targets: Vec<String>,
        /// What to tell the people answering (at most 500 characters).
        #[arg(long)]
        message: Option<String>,
        /// Minutes they have to answer (default 60).
        #[arg(long)]
        within: Option<u32>,
    },
    /// The checks this node started, newest first.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The report of a check: each member's time to answer, who has not, who was never reached.
    Report {
        /// The check's id.
        id: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Checks this node received that nobody here has answered yet.
    Pending,
    /// Answer a check this node received (once).
    Answer {
        /// The check's id.
        id: String,
        /// Who answers.
        #[arg(long)]
        by: String,
        /// A note for the node that started the check.
        #[arg(long)]
        note: Option<String>,
    },
    /// Each member's answer times over the last checks, and their median.
    Trend {
        /// How many recent checks.
        #[arg(long, default_value_t = 10)]
        last: u32,
    },
}

fn seconds(ms: &Value) -> String {
    ms.as_i64()
        .map_or_else(|| "-".to_owned(), |ms| format!("{:.1}", ms as f64 / 1000.0))
}

/// `atalaya check …`
pub async fn check(config: &Path, cmd: CheckCommand) -> Result<()> {
    let client =
        |config: &Path| -> Result<ApiClient> { ApiClient::for_config(&Config::load(config)?) };
    match cmd {
        CheckCommand::Start {
            targets,
            message,
            within,
        } => {
            let mut body = serde_json::json!({});
            if !targets.is_empty() {
                body["targets"] = serde_json::json!(targets);
            }
            if let Some(m) = message {
                body["message"] = Value::String(m);
            }
            if let Some(w) = within {
                body["answer_within_minutes"] = w.into();
            }
            let r = client(config)?.post("/api/v1/checks", &body).await?;
            println!(
                "check {} started: {} member(s), answer by {}",
                r["id"].as_str().unwrap_or("?"),
                r["targets"].as_array().map_or(0, Vec::len),
                r["answer_by"].as_str().unwrap_or("?")
            );
            Ok(())
        }
        CheckCommand::List { json } => {
            let r = client(config)?.get("/api/v1/checks").await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!(
                "{:<36}  {:<24}  {:>7} {:>8} {:>10} {:>7} {:>11}  median s",
                "check", "started", "members", "answered", "unanswered", "overdue", "unreachable"
            );
            for c in r["checks"].as_array().into_iter().flatten() {
                let t = &c["totals"];
                println!(
                    "{:<36}  {:<24}  {:>7} {:>8} {:>10} {:>7} {:>11}  {}",
                    c["id"].as_str().unwrap_or("?"),
                    c["started_at"].as_str().unwrap_or("?"),
                    t["targets"],
                    t["answered"],
                    t["unanswered"].as_i64().unwrap_or(0) + t["queued"].as_i64().unwrap_or(0),
                    t["overdue"],
                    t["unreachable"],
                    seconds(&c["median_answer_ms"])
                );
            }
            Ok(())
        }
        CheckCommand::Report { id, json } => {
            let r = client(config)?.get(&format!("/api/v1/checks/{id}")).await?;
            if json || r["check"].is_null() {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            let c = &r["check"];
            println!(
                "check {} started {} by {}, answer by {}{}",
                c["id"].as_str().unwrap_or("?"),
                c["started_at"].as_str().unwrap_or("?"),
                c["started_by"].as_str().unwrap_or("?"),
                c["answer_by"].as_str().unwrap_or("?"),
                if c["closed"] == true { " (closed)" } else { "" }
            );
            if let Some(m) = c["message"].as_str() {
                println!("message: {m}");
            }
            println!(
                "{:<18} {:<12} {:>9}  {:<20} note / last error",
                "member", "status", "answer s", "answered by"
            );
            for m in c["members"].as_array().into_iter().flatten() {
                let extra = m["note"]
                    .as_str()
                    .or_else(|| m["last_error"].as_str())
                    .unwrap_or("");
                println!(
                    "{:<18} {:<12} {:>9}  {:<20} {}",
                    m["node"].as_str().unwrap_or("?"),
                    m["status"].as_str().unwrap_or("?"),
                    seconds(&m["answer_ms"]),
                    m["answered_by"].as_str().unwrap_or("-"),
                    extra
                );
            }
            println!("totals: {}", c["totals"]);
            Ok(())
        }
        CheckCommand::Pending => {
            let r = client(config)?.get("/api/v1/checks/pending").await?;
            let checks = r["checks"].as_array().cloned().unwrap_or_default();
            if checks.is_empty() {
                println!("no check waiting for an answer");
            }
            for c in checks {
                println!(
                    "{}  from {}  answer by {}{}  {}",
                    c["id"].as_str().unwrap_or("?"),
                    c["from"].as_str().unwrap_or("?"),
                    c["answer_by"].as_str().unwrap_or("?"),
                    if c["overdue"] == true {
                        " (OVERDUE)"
                    } else {
                        ""
                    },
                    c["message"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        CheckCommand::Answer { id, by, note } => {
            let mut body = serde_json::json!({"by": by});
            if let Some(n) = note {
                body["note"] = Value::String(n);
            }
            client(config)?
                .post(&format!("/api/v1/checks/{id}/answer"), &body)
                .await?;
            println!("check {id} answered by {by}");
            Ok(())
        }
        CheckCommand::Trend { last } => {
            let r = client(config)?
                .get(&format!("/api/v1/checks/trend?last={last}"))
                .await?;
            println!(
                "{:<18} {:>8} {:>9}  answer s, oldest first",
                "member", "answered", "median s"
            );
            for m in r["trend"]["members"].as_array().into_iter().flatten() {
                let points: Vec<String> = m["points"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| seconds(&p["answer_ms"]))
                    .collect();
                println!(
                    "{:<18} {:>4}/{:<3} {:>9}  {}",
                    m["node"].as_str().unwrap_or("?"),
                    m["answered"],
                    points.len(),
                    seconds(&m["median_answer_ms"]),
                    points.join(" ")
                );
            }
            Ok(())
        }
    }
}
