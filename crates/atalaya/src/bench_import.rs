//! `atalaya bench --only import`: STIX 2.1 indicators imported per second from a
//! 1,000,000-indicator bundle, and the peak memory of doing it (issue 6: ≥ 100,000/s, ≤ 200 MB).
//!
//! The bundle is written to disk first, streamed (a TLP:CLEAR marking definition, then the
//! indicators, each marked CLEAR: IPv4 addresses, domains, URLs and SHA-256 hashes in turn).
//! Then two timed runs, each after resetting this process's peak-RSS counter
//! (`/proc/self/clear_refs`, so the generation and earlier benchmarks do not count):
//! 1. `parse`: `import_stream` over the file with a sink that drops the drafts: the importer
//!    alone;
//! 2. `publish`: `import_stream` on a blocking thread handing each draft, through a channel
//!    of 2, to `Federation::publish` of a real node (its own directory, SQLite store, keys):
//!    signing, storing and indexing included, as `atalaya import stix` would.

use std::convert::Infallible;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use atalaya_core::{CountryCode, NodeId, OsEntropy, Role, SystemClock, Tlp};
use atalaya_formats::exchange::ImportOptions;
use atalaya_formats::stix::import::import_stream;
use atalaya_formats::stix::markings::{tlp2_id, tlp2_marking};
use serde_json::{Value, json};

use crate::config::{Config, StoreSection};
use crate::demo::{peak_rss_mb, rss_mb};
use crate::node::{InitOptions, init, open_federation};

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

/// Reset this process's peak RSS (VmHWM) to its current RSS. Linux ≥ 4.0.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn me() -> u32 {
    std::process::id()
}

/// Run the import benchmark with `n` indicators under `data`.
pub async fn import(n: usize, data: &Path) -> Result<Value> {
    let _ = std::fs::remove_dir_all(data);
    std::fs::create_dir_all(data)?;
    let file = data.join("bundle.json");
    let started = Instant::now();
    let bytes = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || generate(&file, n)).await??
    };
    let generate_secs = started.elapsed().as_secs_f64();
    let opts = ImportOptions::default();

    // 1. The importer alone.
    let reset = reset_peak();
    let rss_before_parse = rss_mb(me()).unwrap_or(0.0);
    let started = Instant::now();
    let parsed = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || {
            import_stream(std::fs::File::open(file)?, &opts, |_| {
                Ok::<(), Infallible>(())
            })
            .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await??
    };
    let parse_secs = started.elapsed().as_secs_f64();
    let parse_peak = peak_rss_mb(me()).unwrap_or(0.0);
    anyhow::ensure!(
        parsed.indicators == n,
        "the importer found {} of {n} indicators",
        parsed.indicators
    );

    // 2. Into a node's store through Federation::publish.
    let node_dir = data.join("node");
    init(
        &InitOptions {
            dir: node_dir.clone(),
            id: NodeId::new("bench-import")?,
            country: CountryCode::new("US")?,
            team: "Import benchmark".into(),
            role: Role::Coordinator,
            listen: "127.0.0.1:0".into(),
            endpoint: "http://127.0.0.1:9".into(),
            coordinator_key: None,
            network: "bench-import".into(),
            federation: crate::demo::demo_federation(),
            store: StoreSection::default(),
        },
        &SystemClock,
        &OsEntropy,
    )
    .await
    .context("creating the benchmark node")?;
    let config = Config::load(&node_dir.join("config.toml"))?;
    let synchronous = format!("{:?}", config.store.synchronous).to_lowercase();
    let (fed, store) = open_federation(&config).await?;
    reset_peak();
    let rss_before_publish = rss_mb(me()).unwrap_or(0.0);
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let reader = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || {
            import_stream(std::fs::File::open(file)?, &opts, |d| {
                tx.blocking_send(d)
                    .map_err(|_| "the publishing side stopped")
            })
            .map_err(|e| anyhow::anyhow!("{e}"))
        })
    };
    let mut published = 0usize;
    let mut bulletins = 0usize;
    let mut in_publish = Duration::ZERO;
    let mut largest_ms = 0u128;
    while let Some(draft) = rx.recv().await {
        let t = Instant::now();
        let (b, _) = fed.publish(draft).await?;
        let took = t.elapsed();
        in_publish += took;
        largest_ms = largest_ms.max(took.as_millis());
        published += b.content.indicators.len();
        bulletins += 1;
    }
    let summary = reader.await??;
    let publish_secs = started.elapsed().as_secs_f64();
    let publish_peak = peak_rss_mb(me()).unwrap_or(0.0);
    store.close().await;
    anyhow::ensure!(
        published == n,
        "{published} of {n} indicators were published"
    );
    let db_mb = std::fs::metadata(config.db_path())
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let _ = std::fs::remove_file(&file);
    let per_sec = |secs: f64| (n as f64 / secs).round();
    Ok(json!({
        "indicators": n,
        "bundle_mb": (bytes as f64 / 1e6).round(),
        "generate_seconds": generate_secs,
        "bulletins": bulletins,
        "warnings": summary.warnings.len(),
        "parse": {
            "seconds": parse_secs,
            "indicators_per_second": per_sec(parse_secs),
            "rss_before_mb": rss_before_parse,
            "peak_rss_mb": parse_peak,
        },
        "publish": {
            "seconds": publish_secs,
            "indicators_per_second": per_sec(publish_secs),
            "seconds_in_federation_publish": in_publish.as_secs_f64(),
            "slowest_publish_ms": largest_ms,
            "rss_before_mb": rss_before_publish,
            "peak_rss_mb": publish_peak,
            "store_synchronous": synchronous,
            "database_mb": db_mb.round(),
        },
        "indicators_per_second": per_sec(publish_secs),
        "peak_rss_mb": publish_peak.max(parse_peak),
        "peak_rss_reset": reset,
        "rss_note": "peak RSS (VmHWM) of the whole benchmark process, reset through /proc/self/clear_refs before each run: the generation of the bundle and earlier benchmarks do not count, the runtime and the node's store do",
        "targets": {"indicators_per_second": 100_000, "peak_rss_mb": 200},
    }))
}
