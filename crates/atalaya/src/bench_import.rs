//! `atalaya bench --only import`: STIX 2.1 indicators imported per second from a
//! 1,000,000-indicator bundle into a running node, and the node's peak memory (issue 6:
//! ≥ 100,000/s, ≤ 200 MB).
//!
//! The bundle is written to disk first (a TLP:CLEAR marking definition, then the indicators,
//! each marked CLEAR: IPv4 addresses, domains, URLs and SHA-256 hashes in turn). A fresh
//! single-node network is started (the node in its own process, SQLite synchronous=FULL), and
//! `atalaya import stix FILE` runs as its own process against it, as an operator would: it
//! streams the file twice (check everything, then POST each bulletin to `/api/v1/bulletins`).
//! Timed from the import's start to its exit; peak RSS (VmHWM) of the node process (which
//! signs, stores and indexes every bulletin) and of the import process, each a process that
//! did nothing else.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use atalaya_core::Tlp;
use atalaya_formats::stix::markings::{tlp2_id, tlp2_marking};
use serde_json::{Value, json};

use crate::bench::BenchArgs;
use crate::config::Config;
use crate::demo::{Network, peak_rss_mb, rss_mb};

/// Write the bundle; returns its size in bytes.
fn generate(path: &Path, n: usize) -> Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let clear = tlp2_id(Tlp::Clear);
    write!(
        w,
        r#"{{"type":"bundle","id":"bundle--6e0c0bb6-3c2e-4b7e-9a51-0a1e7d2c0001","objects":[{}"#,
        tlp2_marking(Tlp::Clear)
    )?;
    for i in 0..n {
        let pattern = match i % 4 {
            0 => format!(
                "[ipv4-addr:value = '10.{}.{}.{}']",
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            ),
            1 => format!("[domain-name:value = 'host-{i}.bench.example']"),
            2 => format!("[url:value = 'https://bench.example/path/{i}']"),
            _ => format!("[file:hashes.'SHA-256' = '{i:064x}']"),
        };
        write!(
            w,
            r#",{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{i:012}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"{pattern}","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["{clear}"]}}"#
        )?;
    }
    write!(w, "]}}")?;
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// The last `n` characters of `text`.
fn tail(text: &str, n: usize) -> &str {
    let start = text.char_indices().rev().nth(n).map_or(0, |(i, _)| i);
    &text[start..]
}

/// Run the import benchmark under `data`.
pub async fn import(args: &BenchArgs, data: &Path) -> Result<Value> {
    let n = args.import_indicators;
    let _ = std::fs::remove_dir_all(data);
    std::fs::create_dir_all(data)?;
    let file = data.join("bundle.json");
    let started = Instant::now();
    let bytes = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || generate(&file, n)).await??
    };
    let generate_secs = started.elapsed().as_secs_f64();

    let spec = crate::bench::spec(&data.join("network"), args.base_port + 600, 0);
    let mut net = Network::prepare(&spec).await?;
    net.start_all().await?;
    net.wait_first_sync(Duration::from_secs(60)).await?;
    let node_pid = net
        .pids()
        .first()
        .copied()
        .context("the node is not running")?;
    let node_rss_before = rss_mb(node_pid).unwrap_or(0.0);
    let config_path = net.nodes[0].dir.join("config.toml");
    let db_path = Config::load(&config_path)?.db_path();
    let (out_path, log_path) = (data.join("import.out"), data.join("import.log"));
    let started = Instant::now();
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["import", "stix"])
        .arg(&file)
        .arg("--config")
        .arg(&config_path)
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&log_path)?)
        .kill_on_drop(true)
        .spawn()
        .context("starting `atalaya import stix`")?;
    let import_pid = child.id().unwrap_or(0);
    // VmHWM only grows: the last reading before the process exits is its peak.
    let mut import_peak = 0.0f64;
    let status = loop {
        if let Some(mb) = peak_rss_mb(import_pid) {
            import_peak = import_peak.max(mb);
        }
        if let Ok(status) = tokio::time::timeout(Duration::from_millis(50), child.wait()).await {
            break status?;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            let _ = child.kill().await;
            bail!("the import did not finish in 30 minutes");
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let printed = std::fs::read_to_string(&out_path).unwrap_or_default();
    if !status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        bail!(
            "`atalaya import stix` failed ({status}): {}",
            tail(&log, 2000)
        );
    }
    if !printed.contains(&format!("with {n} indicators")) {
        bail!("the import did not report {n} indicators: {printed}");
    }
    let node_peak = peak_rss_mb(node_pid).unwrap_or(0.0);
    let node_rss_after = rss_mb(node_pid).unwrap_or(0.0);
    let log_head = net.api(0)?.get("/api/v1/status").await?["log_head"]
        .as_i64()
        .unwrap_or(0);
    net.stop_all().await;
    let db_mb = std::fs::metadata(&db_path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let _ = std::fs::remove_file(&file);
    Ok(json!({
        "indicators": n,
        "bundle_mb": (bytes as f64 / 1e6).round(),
        "generate_seconds": generate_secs,
        "seconds": secs,
        "indicators_per_second": (n as f64 / secs).round(),
        "log_head": log_head,
        "import_output": printed.trim(),
        "node_rss_before_mb": node_rss_before,
        "node_rss_after_mb": node_rss_after,
        "node_peak_rss_mb": node_peak,
        "import_process_peak_rss_mb": import_peak,
        "database_mb": db_mb.round(),
        "peak_rss_mb": node_peak,
        "targets": {"indicators_per_second": 100_000, "peak_rss_mb": 200},
    }))
}
