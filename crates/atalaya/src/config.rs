//! The node's configuration: one typed struct, read from a TOML file and then `ATALAYA_*`
//! environment variables (`ATALAYA_NODE__LISTEN=0.0.0.0:7400`: sections joined by `__`).
//! `config/atalaya.example.toml` is generated from this struct (`atalaya config example`) and a
//! test fails if the committed copy drifts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use atalaya_core::{CountryCode, NodeId, Role};
use atalaya_federation::FederationSettings;
use atalaya_store::Synchronous;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

/// Everything a node needs to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who this node is and where it listens.
    pub node: NodeSection,
    /// The roster and the coordinator key this node trusts.
    pub roster: RosterSection,
    /// Storage.
    #[serde(default)]
    pub store: StoreSection,
    /// Federation timing and limits.
    #[serde(default)]
    pub federation: FederationSettings,
    /// E-mail, webhooks and escalation.
    #[serde(default)]
    pub notify: atalaya_notify::NotifySettings,
    /// The duty console: sessions, cookies, login limits.
    #[serde(default)]
    pub console: atalaya_node::accounts::ConsoleSettings,
    /// Keeping the directory current: key-expiry warnings, stale contacts.
    #[serde(default)]
    pub directory: atalaya_core::directory::DirectorySettings,
    /// The public portal's report form: proof of work and rate limits.
    #[serde(default)]
    pub portal: atalaya_web::portal::PortalSettings,
    /// The HTTP edge: trusted proxies, API rate limits, the metrics address.
    #[serde(default)]
    pub http: atalaya_web::HttpSettings,
    /// Logging.
    #[serde(default)]
    pub log: LogSection,
}

/// `[node]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Node id, e.g. `cl-csirt`.
    pub id: NodeId,
    /// ISO 3166-1 alpha-2 country.
    pub country: CountryCode,
    /// Team name.
    pub team: String,
    /// `member` or `coordinator`.
    pub role: Role,
    /// Address to listen on.
    pub listen: String,
    /// Base URL peers use to reach this node (as listed in the roster).
    pub endpoint: String,
    /// Directory of keys, database and roster; relative paths are relative to the config file.
    pub data_dir: PathBuf,
}

/// `[roster]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterSection {
    /// The coordinator's Ed25519 public key (base64): the trust anchor for every roster.
    pub coordinator_key: String,
    /// Signed roster to load at start, if newer than the one stored (relative to `data_dir`).
    pub file: PathBuf,
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// SQLite database file (relative to `data_dir`).
    pub sqlite_file: PathBuf,
    /// `full`: every commit survives a power cut; `normal`: survives a crash of the process.
    pub synchronous: Synchronous,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            sqlite_file: PathBuf::from("atalaya.db"),
            synchronous: Synchronous::Full,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A tracing filter, e.g. `info` or `atalaya_federation=debug,info`.
    pub filter: String,
    /// `text` (one readable line per event) or `json` (one JSON object per line).
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

impl Config {
    /// Load `path`, then apply `ATALAYA_*` environment overrides. Relative paths are resolved
    /// against the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        let mut config: Config = Figment::new()
            .merge(Toml::file_exact(path))
            .merge(
                Env::prefixed("ATALAYA_")
                    .filter(|k| k.as_str().contains("__"))
                    .split("__"),
            )
            .extract()
            .with_context(|| format!("reading configuration {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if config.node.data_dir.is_relative() {
            config.node.data_dir = base.join(&config.node.data_dir);
        }
        let password_file = &config.notify.smtp_password_file;
        if !password_file.as_os_str().is_empty() && password_file.is_relative() {
            config.notify.smtp_password_file = config.node.data_dir.join(password_file);
        }
        Ok(config)
    }

    /// The configuration as `config check` shows it: every secret in it masked.
    pub fn shown(&self) -> Result<String> {
        let mut shown = self.clone();
        shown.notify.smtp_url = self.notify.masked_smtp_url();
        Ok(toml::to_string_pretty(&shown)?)
    }

    /// Where the node keeps its keys.
    pub fn key_dir(&self) -> PathBuf {
        self.node.data_dir.join("keys")
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.node.data_dir.join(&self.store.sqlite_file)
    }

    /// The signed roster file.
    pub fn roster_path(&self) -> PathBuf {
        self.node.data_dir.join(&self.roster.file)
    }

    /// The CLI's API token file.
    pub fn token_path(&self) -> PathBuf {
        self.node.data_dir.join("cli.token")
    }

    /// The documented example configuration.
    pub fn example() -> Self {
        Self {
            node: NodeSection {
                id: NodeId::new("cl-csirt").unwrap_or_else(|_| unreachable!()),
                country: CountryCode::new("CL").unwrap_or_else(|_| unreachable!()),
                team: "CSIRT de Gobierno de Chile".into(),
                role: Role::Member,
                listen: "0.0.0.0:7400".into(),
                endpoint: "https://atalaya.csirt.example.cl".into(),
                data_dir: PathBuf::from("."),
            },
            roster: RosterSection {
                coordinator_key: "<the coordinator's Ed25519 public key, base64>".into(),
                file: PathBuf::from("roster.json"),
            },
            store: StoreSection::default(),
            federation: FederationSettings::default(),
            notify: atalaya_notify::NotifySettings {
                smtp_url: "smtp://mail.csirt.example.cl:587?tls=required".into(),
                mail_from: "atalaya@csirt.example.cl".into(),
                ..Default::default()
            },
            console: atalaya_node::accounts::ConsoleSettings::default(),
            directory: atalaya_core::directory::DirectorySettings::default(),
            portal: atalaya_web::portal::PortalSettings::default(),
            http: atalaya_web::HttpSettings::default(),
            log: LogSection::default(),
        }
    }

    /// The example as commented TOML.
    pub fn example_toml() -> Result<String> {
        let body = toml::to_string_pretty(&Self::example())?;
        let mut out = String::from(
            "# Atalaya node configuration (generated by `atalaya config example`; do not edit by hand).\n\
             # Every key can be overridden from the environment: ATALAYA_<SECTION>__<KEY>, e.g.\n\
             # ATALAYA_NODE__LISTEN=127.0.0.1:7400 or ATALAYA_FEDERATION__PULL_INTERVAL_MS=5000.\n",
        );
        for line in body.lines() {
            if let Some(doc) = doc_for(line) {
                out.push_str("# ");
                out.push_str(doc);
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
        }
        Ok(out)
    }
}

/// One-line documentation of each key, shown above it in the example.
fn doc_for(line: &str) -> Option<&'static str> {
    let key = line.split('=').next()?.trim();
    Some(match key {
        "[node]" => "Who this node is and where it listens.",
        "id" => "Node id: lowercase letters, digits and '-', e.g. cl-csirt.",
        "country" => "ISO 3166-1 alpha-2 country of the team.",
        "team" => "The team's name.",
        "role" => "member, or coordinator (the network secretariat, which signs the roster).",
        "listen" => "Address and port to listen on.",
        "endpoint" => "Base URL peers use to reach this node; must match the roster.",
        "data_dir" => "Keys, database and roster live here (relative to this file).",
        "[roster]" => "The roster of members, and the key it must be signed with.",
        "coordinator_key" => "The coordinator's Ed25519 public key (base64): the trust anchor.",
        "file" => "Signed roster loaded at start when newer than the stored one.",
        "[store]" => "Storage.",
        "sqlite_file" => "SQLite database file.",
        "synchronous" => {
            "full: every commit survives a power cut; normal: survives a process crash."
        }
        "[federation]" => "How this node exchanges envelopes with its peers.",
        "push_batch" => "Most envelopes in one push to a peer.",
        "pull_page" => "Most envelopes per pull page.",
        "pull_interval_ms" => "Milliseconds between anti-entropy pulls from every peer.",
        "backoff_base_ms" => "First retry delay after a failed push (doubles per failure).",
        "backoff_max_ms" => "Longest retry delay.",
        "request_timeout_ms" => "Timeout of one request to a peer.",
        "max_skew_secs" => "Largest clock difference accepted on a signed request, in seconds.",
        "allow_private_peers" => "Allow peers on loopback/private addresses (test networks only).",
        "suspended_peers" => {
            "Peers this node will not contact; their envelopes wait or go by relay."
        }
        "pull_concurrency" => "Peers pulled at once during anti-entropy.",
        "checkpoint_interval_ms" => {
            "Milliseconds between signed audit checkpoints when nothing else prompted one."
        }
        "audit_checkpoint_min_interval_ms" => {
            "Shortest gap in milliseconds between audit checkpoints (one follows each write)."
        }
        "peer_down_after_failures" => "Consecutive failed exchanges before a peer is unreachable.",
        "peer_down_after_ms" => {
            "...and how long that streak must last (one failure is only 'retrying')."
        }
        "peer_alert_after_ms" => {
            "Page the duty roster once when a peer is unreachable this long, and when it is back."
        }
        "inbox_max_bytes" => "Largest body a member may push, read only after its signature.",
        "inbox_bodies_per_peer" => "Bodies one member may have being read at once.",
        "inbox_body_timeout_ms" => "Milliseconds a signed member has to send its whole body.",
        "unauthenticated_concurrency" => "Federation requests authenticated at once.",
        "unauthenticated_timeout_ms" => {
            "Milliseconds to authenticate a federation request (its wait included); no body is read before."
        }
        "[notify]" => "E-mail, webhooks and escalation of unacknowledged bulletins.",
        "smtp_url" => {
            "SMTP server: smtp://host:587?tls=required, smtps://user@host:465; empty: no e-mail."
        }
        "smtp_password_file" => {
            "File (mode 0600, relative to data_dir) with the SMTP password of the user in smtp_url; empty: none."
        }
        "mail_from" => "Sender address of escalation mail.",
        "escalation_tick_ms" => "Milliseconds between looks for overdue acknowledgements.",
        "[console]" => "The duty console: sessions, cookies and login limits.",
        "session_idle_minutes" => "Minutes without a request after which a session ends.",
        "session_max_hours" => "Hours after which a session ends whatever happens.",
        "secure_cookie" => {
            "Session cookie only over HTTPS; false only for plain HTTP on loopback (demo, tests)."
        }
        "max_failures_per_account" => "Failed logins per account in the window before a hold.",
        "max_failures_per_address" => {
            "Failed logins per client address in the window before a hold."
        }
        "failure_window_minutes" => "The window of failed logins, in minutes.",
        "[directory]" => "Keeping the directory current: key-expiry warnings, stale contacts.",
        "key_warning_days" => {
            "Warn the team (and the coordinator) this many days before a listed OpenPGP key expires."
        }
        "contacts_max_age_days" => {
            "Flag a team whose contacts nobody confirmed for this many days."
        }
        "hygiene_tick_ms" => "Milliseconds between looks for keys and contacts to warn about.",
        "[portal]" => {
            "The public portal's report form (proof of work and rate limits) and live stream."
        }
        "pow_bits" => {
            "Leading zero bits of SHA-256 the browser must find before a report is accepted (each bit doubles the work; 18 takes about a second)."
        }
        "challenge_ttl_secs" => "Seconds a proof-of-work challenge stays valid.",
        "window_secs" => "The window of the report form's rate limits, in seconds.",
        "reports_per_address" => "Report forms one client address may post per window.",
        "reports_per_state" => {
            "Reports one member state's team may receive through this node per window."
        }
        "live_subscribers" => {
            "Subscribers the public live stream of bulletins (/public/v1/events) serves at once."
        }
        "[http]" => "The HTTP edge: who the client is behind a proxy, API rate limits, metrics.",
        "trusted_proxies" => {
            "Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client."
        }
        "api_requests_per_minute" => "API and TAXII requests per credential per minute.",
        "api_requests_per_minute_per_address" => {
            "API and TAXII requests per client address (IPv6: its /64) per minute."
        }
        "metrics_listen" => {
            "Address serving only /metrics without a token, e.g. 127.0.0.1:9464; empty: none (on the main address /metrics needs an API token)."
        }
        "request_timeout_secs" => {
            "Seconds a request may take before it is answered 503 request_timeout (event streams excepted); 0: no limit."
        }
        "[log]" => "Logging.",
        "filter" => "A tracing filter, e.g. info or atalaya_federation=debug,info.",
        "format" => {
            "text (readable lines) or json (one JSON object per line); --log-format overrides."
        }
        _ => return None,
    })
}

/// Load a secret file (API token), refusing one that group or others can read.
pub fn read_secret(path: &Path) -> Result<String> {
    atalaya_crypto::check_secret_file_permissions(path)?;
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_owned())
}

/// Write a secret file with mode 0600 (refusing to overwrite).
pub fn write_secret(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_example_matches_the_struct() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/atalaya.example.toml");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = Config::example_toml().unwrap();
        assert!(
            committed == generated,
            "config/atalaya.example.toml is out of date: run `cargo run -- config example > config/atalaya.example.toml`"
        );
        // And the example parses back into the same struct.
        let parsed: Config = toml::from_str(&generated).unwrap();
        assert_eq!(parsed, Config::example());
    }

    #[test]
    fn secrets_are_masked_when_shown_and_in_debug() {
        let mut c = Config::example();
        c.notify.smtp_url = "smtps://atalaya:hunter2-secret@mail.example.cl:465".into();
        let shown = c.shown().unwrap();
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(
            shown.contains("smtps://atalaya:***@mail.example.cl:465"),
            "{shown}"
        );
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2-secret"), "{debug}");
        // A password file is resolved against the data directory.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let text = Config::example_toml().unwrap().replace(
            "smtp_password_file = \"\"",
            "smtp_password_file = \"smtp.password\"",
        );
        std::fs::write(&path, text).unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.notify.smtp_password_file,
            dir.path().join("./smtp.password")
        );
    }

    #[test]
    fn unknown_keys_are_refused_and_env_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let mut text = Config::example_toml().unwrap();
        std::fs::write(&path, &text).unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.node.data_dir, dir.path().join("."));
        text.push_str("\n[extra]\nx = 1\n");
        std::fs::write(&path, &text).unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(format!("{err:#}").contains("extra"), "{err:#}");
    }
}
