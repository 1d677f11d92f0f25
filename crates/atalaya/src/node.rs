//! Creating a node (`init`) and running it (`serve`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use atalaya_core::{
    Clock, CountryCode, Entropy, EntropyRng, Node, NodeId, OsEntropy, Role, Roster, SystemClock,
    ids,
};
use atalaya_crypto::{NodeKeys, PublicSigningKey};
use atalaya_federation::{Federation, Identity, sign_roster};
use atalaya_store::{SqliteOptions, SqliteStore, Store};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, NodeSection, RosterSection, StoreSection, write_secret};

/// What `init` needs to know.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Directory to create the node in.
    pub dir: PathBuf,
    /// Node id.
    pub id: NodeId,
    /// Country.
    pub country: CountryCode,
    /// Team name.
    pub team: String,
    /// Member or coordinator.
    pub role: Role,
    /// Listen address.
    pub listen: String,
    /// Public endpoint.
    pub endpoint: String,
    /// The coordinator's public key (members); a coordinator uses its own.
    pub coordinator_key: Option<String>,
    /// Network name (coordinator only).
    pub network: String,
    /// Federation settings to write.
    pub federation: atalaya_federation::FederationSettings,
    /// Store settings to write.
    pub store: StoreSection,
}

/// What `init` produced.
#[derive(Debug)]
pub struct Initialized {
    /// The config file.
    pub config_path: PathBuf,
    /// The node's public record, to add to the roster.
    pub node: Node,
    /// The API token (shown once; also in `cli.token`, mode 0600).
    pub token: String,
}

/// Create a node: keys (0600), config, database, API token, and its public record `node.json`.
/// A coordinator also gets the first roster, signed, listing itself.
pub async fn init(
    opts: &InitOptions,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
) -> Result<Initialized> {
    let config_path = opts.dir.join("config.toml");
    if config_path.exists() {
        bail!(
            "{} already exists: this directory holds a node",
            config_path.display()
        );
    }
    std::fs::create_dir_all(&opts.dir)?;
    restrict_dir(&opts.dir)?;
    let keys = NodeKeys::generate(&mut EntropyRng(entropy));
    let key_dir = opts.dir.join("keys");
    std::fs::create_dir_all(&key_dir)?;
    restrict_dir(&key_dir)?;
    keys.write_to_dir(&key_dir)?;
    let node = Node {
        node_id: opts.id.clone(),
        country: opts.country,
        team: opts.team.clone(),
        role: opts.role,
        signing_key: keys.verifying_key().to_b64(),
        sealing_key: keys.sealing_public().to_b64(),
        endpoint: opts.endpoint.clone(),
    };
    let coordinator_key = match (opts.role, &opts.coordinator_key) {
        (Role::Coordinator, _) => node.signing_key.clone(),
        (Role::Member, Some(k)) => {
            PublicSigningKey::from_b64(k)
                .context("--coordinator-key is not an Ed25519 public key")?;
            k.clone()
        }
        (Role::Member, None) => {
            bail!("a member node needs --coordinator-key (the coordinator's public key)")
        }
    };
    let config = Config {
        node: NodeSection {
            id: opts.id.clone(),
            country: opts.country,
            team: opts.team.clone(),
            role: opts.role,
            listen: opts.listen.clone(),
            endpoint: opts.endpoint.clone(),
            data_dir: PathBuf::from("."),
        },
        roster: RosterSection {
            coordinator_key,
            file: PathBuf::from("roster.json"),
        },
        store: opts.store.clone(),
        federation: opts.federation.clone(),
        notify: Default::default(),
        // Browsers drop `Secure` cookies on plain-HTTP origins: a node reached over HTTP (a
        // test network on loopback) could not keep a console session otherwise.
        console: atalaya_node::accounts::ConsoleSettings {
            secure_cookie: opts.endpoint.starts_with("https://"),
            ..Default::default()
        },
        directory: Default::default(),
        portal: Default::default(),
        http: Default::default(),
        log: Default::default(),
    };
    std::fs::write(&config_path, toml::to_string_pretty(&config)?)?;
    std::fs::write(
        opts.dir.join("node.json"),
        serde_json::to_string_pretty(&node)? + "\n",
    )?;
    if opts.role == Role::Coordinator {
        let roster = Roster::new(&opts.network, node.clone(), clock.now());
        let raw = sign_roster(
            &roster,
            &keys,
            ids::new_id(clock.now(), &mut EntropyRng(entropy)),
            clock.now(),
        )
        .map_err(anyhow::Error::msg)?;
        std::fs::write(opts.dir.join("roster.json"), raw + "\n")?;
    }
    let store = SqliteStore::open(
        &opts.dir.join(&opts.store.sqlite_file),
        &sqlite_options(&opts.store),
    )
    .await?;
    let token = new_api_token(&store, "cli", clock, entropy).await?;
    store.close().await;
    write_secret(&opts.dir.join("cli.token"), &token)?;
    Ok(Initialized {
        config_path,
        node,
        token,
    })
}

fn restrict_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// SQLite options from the config.
pub fn sqlite_options(s: &StoreSection) -> SqliteOptions {
    SqliteOptions {
        synchronous: s.synchronous,
        ..SqliteOptions::default()
    }
}

/// Create an API token; only its hash is stored. Returns the token.
pub async fn new_api_token(
    store: &dyn Store,
    name: &str,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
) -> Result<String> {
    let id = ids::random_hex(8, &mut EntropyRng(entropy));
    let secret = ids::random_hex(24, &mut EntropyRng(entropy));
    let token = format!("atl_{id}_{secret}");
    let record = atalaya_store::ApiToken {
        id,
        name: name.into(),
        user_id: None,
        scopes: "*".into(),
        created: clock.now(),
        expires: None,
        last_used: None,
        revoked: None,
    };
    store
        .add_api_token(&record, &atalaya_node::accounts::api_token_hash(&token))
        .await?;
    Ok(token)
}

/// The node's federation service over its store, as `serve` runs it (also used by commands
/// that act as the node, such as `audit verify`).
pub async fn open_federation(config: &Config) -> Result<(Arc<Federation>, Arc<SqliteStore>)> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let entropy: Arc<dyn Entropy> = Arc::new(OsEntropy);
    // Refuses to start if a key file is readable by group or others.
    let keys = NodeKeys::load_from_dir(&config.key_dir())?;
    let coordinator_key = PublicSigningKey::from_b64(&config.roster.coordinator_key)
        .context("roster.coordinator_key is not an Ed25519 public key")?;
    let store =
        Arc::new(SqliteStore::open(&config.db_path(), &sqlite_options(&config.store)).await?);
    let roster_file = std::fs::read_to_string(config.roster_path()).ok();
    let fed = Federation::start(
        Identity {
            node_id: config.node.id.clone(),
            keys,
            coordinator_key,
        },
        roster_file.as_deref().map(str::trim),
        store.clone(),
        clock,
        entropy,
        config.federation.clone(),
        atalaya_node::handlers(),
    )
    .await?;
    Ok((fed, store))
}

/// The OpenPGP key that signs the node's CSAF documents: its own file next to the node's
/// other keys (`keys/csaf-openpgp.key`, mode 0600, refused when others can read it), created
/// the first time the node needs it.
pub fn csaf_signer(
    config: &Config,
    fed: &Federation,
) -> Result<Arc<atalaya_crypto::OpenPgpSigner>> {
    let path = config.key_dir().join(CSAF_KEY_FILE);
    let now = u32::try_from(fed.now().unix_seconds()).unwrap_or(u32::MAX);
    let signer = atalaya_crypto::OpenPgpSigner::load_or_create(
        &path,
        &mut EntropyRng(fed.entropy.as_ref()),
        now,
    )?;
    tracing::info!(fingerprint = %signer.fingerprint(), "CSAF signing key ready");
    Ok(Arc::new(signer))
}

/// File name of the CSAF OpenPGP signing key in the node's key directory.
pub const CSAF_KEY_FILE: &str = "csaf-openpgp.key";

/// Run a node until `cancel` fires (Ctrl-C / SIGTERM in `atalaya serve`).
pub async fn serve(config: Config, cancel: CancellationToken) -> Result<()> {
    let (fed, store) = open_federation(&config).await?;
    fed.publish_current_roster().await?;
    let listener = tokio::net::TcpListener::bind(&config.node.listen)
        .await
        .with_context(|| format!("listening on {}", config.node.listen))?;
    tracing::info!(
        node = %config.node.id,
        listen = %config.node.listen,
        roster = fed.roster().version(),
        key = fed.key_ref(),
        "node started"
    );
    let outbox = tokio::spawn(atalaya_federation::outbox::run(
        fed.clone(),
        cancel.child_token(),
    ));
    let checkpoints = tokio::spawn(atalaya_federation::audit::run_checkpoints(
        fed.clone(),
        cancel.child_token(),
    ));
    // Not a child of `cancel`: the audit writer must outlive every request and background task
    // that audits, so it stops last.
    let audit_stop = tokio_util::sync::CancellationToken::new();
    let audit = tokio::spawn(atalaya_federation::audit::run(
        fed.clone(),
        audit_stop.clone(),
    ));
    let notifier = Arc::new(atalaya_notify::Notifier::new(config.notify.clone())?);
    let escalation = tokio::spawn(atalaya_notify::run(
        fed.store.clone(),
        config.node.id.clone(),
        fed.clock.clone(),
        notifier.clone(),
        std::time::Duration::from_millis(config.notify.escalation_tick_ms.max(100)),
        fed.escalation_wake(),
        cancel.child_token(),
    ));
    let hygiene = tokio::spawn(directory_hygiene(
        fed.clone(),
        notifier.clone(),
        config.directory,
        cancel.child_token(),
    ));
    let sync = tokio::spawn(atalaya_federation::sync::run(
        fed.clone(),
        cancel.child_token(),
    ));
    let peer_watch = tokio::spawn(peer_watch(
        fed.clone(),
        notifier.clone(),
        std::time::Duration::from_millis(config.notify.escalation_tick_ms.max(100)),
        cancel.child_token(),
    ));
    let csaf_signer = csaf_signer(&config, &fed)?;
    let state = atalaya_web::AppState::new(fed.clone(), config.console.clone())
        .with_directory(config.directory)
        .with_portal(config.portal.clone())
        .with_csaf_signer(csaf_signer)
        .with_http(config.http.clone())
        .map_err(|e| anyhow::anyhow!("[http] {e}"))?;
    let metrics = if config.http.metrics_listen.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&config.http.metrics_listen)
            .await
            .with_context(|| format!("listening on {} (metrics)", config.http.metrics_listen))?;
        Some(tokio::spawn(atalaya_web::serve_metrics(
            listener,
            state.clone(),
            cancel.clone(),
        )))
    };
    atalaya_web::serve(listener, state, cancel.clone()).await?;
    if let Some(m) = metrics {
        let _ = m.await;
    }
    cancel.cancel();
    let _ = outbox.await;
    let _ = sync.await;
    let _ = checkpoints.await;
    let _ = escalation.await;
    let _ = hygiene.await;
    let _ = peer_watch.await;
    audit_stop.cancel();
    let _ = audit.await;
    store.close().await;
    tracing::info!("node stopped");
    Ok(())
}

/// Page the duty roster about peers that stay unreachable (and when they are back), every
/// `tick`, until cancelled.
async fn peer_watch(
    fed: Arc<atalaya_federation::Federation>,
    notifier: Arc<atalaya_notify::Notifier>,
    tick: std::time::Duration,
    cancel: tokio_util::sync::CancellationToken,
) {
    let rules = fed.settings.health_rules();
    loop {
        let peers: Vec<atalaya_core::NodeId> = fed
            .roster()
            .roster
            .peers_of(fed.node_id())
            .map(|m| m.node_id.clone())
            .collect();
        match atalaya_notify::peer_alerts_once(
            fed.store.as_ref(),
            fed.node_id(),
            &peers,
            fed.clock.as_ref(),
            &notifier,
            &rules,
        )
        .await
        {
            Ok(sent) if !sent.is_empty() => {
                atalaya_federation::Metrics::add(&fed.metrics.peer_alerts, sent.len() as u64);
                fed.notify(atalaya_federation::NodeEvent::Peers);
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "peer alert pass failed"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
    }
}

/// Warn about expiring keys, unusable encryption subkeys and stale contacts every `hygiene_tick_ms`, until cancelled (the
/// coordinator warns about every team, a member about its own).
async fn directory_hygiene(
    fed: Arc<atalaya_federation::Federation>,
    notifier: Arc<atalaya_notify::Notifier>,
    settings: atalaya_core::directory::DirectorySettings,
    cancel: tokio_util::sync::CancellationToken,
) {
    let tick = std::time::Duration::from_millis(settings.hygiene_tick_ms.max(1000));
    loop {
        let coordinator = fed.roster().roster.coordinator == *fed.node_id();
        if let Err(e) = atalaya_notify::directory_warnings_once(
            fed.store.as_ref(),
            fed.node_id(),
            coordinator,
            fed.clock.as_ref(),
            &notifier,
            &settings,
            &atalaya_node::directory::read_armored_key,
        )
        .await
        {
            tracing::error!(error = %e, "directory hygiene pass failed");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
    }
}
