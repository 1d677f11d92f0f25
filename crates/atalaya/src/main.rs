//! `atalaya`: the node of the Inter-American CSIRT Watch and Warning Network.

use std::path::PathBuf;

use anyhow::Result;
use atalaya_core::{CountryCode, NodeId, OsEntropy, Role, SystemClock};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

mod bench;
mod bench_import;
mod cli;
mod config;
mod demo;
mod demo_directory;
mod demo_public;
mod directory_cli;
mod exchange_cli;
mod exchange_stream;
mod node;
mod soak;

use config::{Config, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "atalaya",
    version,
    about = "A node of the Inter-American CSIRT Watch and Warning Network"
)]
struct Args {
    /// Configuration file of the node (every subcommand that reads one; also after it).
    #[arg(
        long,
        global = true,
        env = "ATALAYA_CONFIG",
        default_value = "config.toml"
    )]
    config: PathBuf,
    /// Log lines as `text` or `json`; overrides `[log] format` of the configuration.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a node: keys, configuration, database and an API token.
    Init {
        /// Directory for the new node.
        #[arg(long)]
        dir: PathBuf,
        /// Node id, e.g. cl-csirt.
        #[arg(long)]
        id: NodeId,
        /// ISO 3166-1 alpha-2 country, e.g. CL.
        #[arg(long)]
        country: CountryCode,
        /// Team name.
        #[arg(long)]
        team: String,
        /// Create the network's coordinator (it signs the roster).
        #[arg(long)]
        coordinator: bool,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: String,
        /// URL peers use to reach this node (default: http://<listen>).
        #[arg(long)]
        endpoint: Option<String>,
        /// The coordinator's public key (from its node.json, `signing_key`); members only.
        #[arg(long)]
        coordinator_key: Option<String>,
        /// Network name (coordinator only).
        #[arg(long, default_value = "oas-csirt-americas")]
        network: String,
        /// Allow loopback/private peer addresses (test networks on one machine).
        #[arg(long)]
        allow_private_peers: bool,
    },
    /// Run a node.
    Serve {
        /// Stop when standard input closes (used by `demo` so nodes never outlive it).
        #[arg(long, hide = true)]
        exit_on_stdin_close: bool,
    },
    /// Publish a bulletin through a running node.
    Publish(cli::PublishArgs),
    /// Retract one of this node's bulletins (receivers mark it retracted and stop passing it on).
    Retract {
        /// The bulletin's id.
        id: String,
        /// Why it is withdrawn.
        #[arg(long)]
        reason: String,
    },
    /// Show a running node's peers and per-peer delivery state.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Manage the roster (coordinator).
    Roster {
        #[command(subcommand)]
        command: cli::RosterCommand,
    },
    /// This node's own sharing policy: what it sends to whom, whom it accepts from.
    Policy {
        #[command(subcommand)]
        command: cli::PolicyCommand,
    },
    /// The network's sharing agreement: issue (coordinator), accept, show.
    Agreement {
        #[command(subcommand)]
        command: cli::AgreementCommand,
    },
    /// The on-call roster called when an acknowledgement deadline passes unanswered.
    Oncall {
        #[command(subcommand)]
        command: cli::OnCallCommand,
    },
    /// Communication checks: start one, read its report and the history, answer one received.
    Check {
        #[command(subcommand)]
        command: cli::CheckCommand,
    },
    /// The CSIRT directory: list, show, publish, import, export, key and contact hygiene.
    Directory {
        #[command(subcommand)]
        command: directory_cli::DirectoryCommand,
    },
    /// The coverage report: each member state's national team against the minimum service set.
    Coverage {
        /// Print CSV.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import a CSAF 2.0 advisory, a STIX 2.1 bundle or a MISP event as bulletins.
    Import(exchange_cli::ImportArgs),
    /// Export a bulletin as CSAF 2.0, STIX 2.1, a MISP event or a CAP 1.2 alert.
    Export(exchange_cli::ExportArgs),
    /// The census: open a round (coordinator), list, answer, report, close.
    Census {
        #[command(subcommand)]
        command: directory_cli::CensusCommand,
    },
    /// The tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        command: cli::AuditCommand,
    },
    /// Manage the accounts of a node's people (the first admin is made here).
    User {
        #[command(subcommand)]
        command: cli::UserCommand,
    },
    /// Manage API tokens of a node.
    Token {
        #[command(subcommand)]
        command: cli::TokenCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Start a demo network of the 35 OAS member states plus a coordinator on this machine.
    Demo(demo::DemoArgs),
    /// Run the benchmarks (used by `cargo xtask bench`).
    #[command(hide = true)]
    Bench(bench::BenchArgs),
    /// Run a ten-node network under steady traffic and kills for some minutes, and fail on
    /// growth of memory, open files, queues or delivery lag (used by `cargo xtask soak`).
    #[command(hide = true)]
    Soak(soak::SoakArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the documented example configuration.
    Example,
    /// Check a configuration file and print it as resolved.
    Check,
}

fn init_tracing(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ATALAYA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // One object per line; the fields of the enclosing spans (the request id among them)
        // are flattened into `spans`.
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

/// Cancelled on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> CancellationToken {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        c.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        c.cancel();
    });
    cancel
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(args));
    // Dropping the runtime waits for every blocking task, and one may never end (a read of a
    // terminal or pipe nobody closes): leftovers get a moment, then the process exits anyway.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn run(args: Args) -> Result<()> {
    let config = args.config.as_path();
    let log_format = args.log_format;
    match args.command {
        Command::Init {
            dir,
            id,
            country,
            team,
            coordinator,
            listen,
            endpoint,
            coordinator_key,
            network,
            allow_private_peers,
        } => {
            let endpoint = match endpoint {
                Some(e) => e,
                None if allow_private_peers => format!("http://{listen}"),
                None => anyhow::bail!(
                    "--endpoint is required: the https:// URL peers reach this node at \
                     (http://{listen} is only for test networks, with --allow-private-peers)"
                ),
            };
            let url = reqwest::Url::parse(&endpoint)
                .map_err(|e| anyhow::anyhow!("--endpoint {endpoint}: {e}"))?;
            atalaya_federation::client::check_endpoint(&url, allow_private_peers)
                .map_err(|e| anyhow::anyhow!("--endpoint: {e}"))?;
            let opts = node::InitOptions {
                dir,
                id,
                country,
                team,
                role: if coordinator {
                    Role::Coordinator
                } else {
                    Role::Member
                },
                listen,
                endpoint,
                coordinator_key,
                network,
                federation: atalaya_federation::FederationSettings {
                    allow_private_peers,
                    ..Default::default()
                },
                store: Default::default(),
            };
            let done = node::init(&opts, &SystemClock, &OsEntropy).await?;
            println!(
                "Node {} created in {}",
                done.node.node_id,
                opts.dir.display()
            );
            println!("  configuration : {}", done.config_path.display());
            println!(
                "  public record : {} (give it to the coordinator)",
                opts.dir.join("node.json").display()
            );
            println!("  signing key   : {}", done.node.signing_key);
            if coordinator {
                println!(
                    "  roster        : {} (signed, version 1)",
                    opts.dir.join("roster.json").display()
                );
            }
            println!(
                "  API token     : {}  (shown once; also in cli.token, mode 0600)",
                done.token
            );
            Ok(())
        }
        Command::Serve {
            exit_on_stdin_close,
        } => {
            let config = Config::load(config)?;
            init_tracing(&config.log.filter, log_format.unwrap_or(config.log.format));
            let cancel = shutdown_signal();
            if exit_on_stdin_close {
                // A plain thread, not a runtime task: its blocking read must not hold the
                // process once the node has stopped for another reason (SIGTERM, SIGINT).
                let c = cancel.clone();
                std::thread::Builder::new()
                    .name("stdin-watch".into())
                    .spawn(move || {
                        use std::io::Read;
                        let mut stdin = std::io::stdin().lock();
                        let mut buf = [0u8; 64];
                        while let Ok(n) = stdin.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                        }
                        c.cancel();
                    })?;
            }
            node::serve(config, cancel).await
        }
        Command::Publish(a) => cli::publish(config, a).await,
        Command::Status { json } => cli::status(config, json).await,
        Command::Retract { id, reason } => cli::retract(config, &id, &reason).await,
        Command::Roster { command } => cli::roster(config, command).await,
        Command::User { command } => cli::user(config, command).await,
        Command::Token { command } => cli::token(config, command).await,
        Command::Policy { command } => cli::policy(config, command).await,
        Command::Audit { command } => cli::audit(config, command).await,
        Command::Oncall { command } => cli::oncall(config, command).await,
        Command::Agreement { command } => cli::agreement(config, command).await,
        Command::Check { command } => cli::check(config, command).await,
        Command::Directory { command } => directory_cli::directory(config, command).await,
        Command::Coverage { csv, json } => directory_cli::coverage(config, csv, json).await,
        Command::Census { command } => directory_cli::census(config, command).await,
        Command::Import(a) => exchange_cli::import(config, a).await,
        Command::Export(a) => exchange_cli::export(config, a).await,
        Command::Config { command } => match command {
            ConfigCommand::Example => {
                print!("{}", Config::example_toml()?);
                Ok(())
            }
            ConfigCommand::Check => {
                let c = Config::load(config)?;
                print!("{}", c.shown()?);
                Ok(())
            }
        },
        Command::Demo(a) => {
            init_tracing("warn", log_format.unwrap_or_default());
            demo::run(a).await
        }
        Command::Bench(a) => {
            init_tracing("warn", log_format.unwrap_or_default());
            bench::run(a).await
        }
        Command::Soak(a) => {
            init_tracing("warn", log_format.unwrap_or_default());
            soak::run(a).await
        }
    }
}
