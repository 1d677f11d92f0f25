//! `atalaya import stix FILE` for a bundle larger than the node's import limit: the bundle is
//! read here, one object at a time (`atalaya_formats::stix::import::import_stream`), in two
//! passes over the file. The first converts and checks every bulletin and sends nothing, so a
//! bundle with one bad object publishes nothing; the second publishes the bulletins through
//! `POST /api/v1/bulletins`, where the node applies its checks and sharing policy as for any
//! bulletin. Memory stays bounded by the importer's window, whatever the file's size.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use atalaya_core::{BulletinDraft, Clock, SystemClock, Tlp};
use atalaya_formats::exchange::ImportOptions;
use atalaya_formats::stix::import::{StreamError, import_stream};

use crate::cli::ApiClient;
use crate::exchange_cli::ImportArgs;

/// A reader that moves a progress bar by the bytes it reads.
struct Counted<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:<11} {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

fn open(path: &Path, what: &str) -> Result<Counted<std::fs::File>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata()?.len();
    Ok(Counted {
        inner: file,
        bar: bar(len, what),
    })
}

/// Why a draft cannot be published as it is, before anything is sent.
fn check(draft: &BulletinDraft, now: atalaya_core::Timestamp) -> Result<(), String> {
    if draft.tlp == Tlp::Red {
        return Err(
            "a TLP:RED bulletin needs the people it is for; publish it through the API with their names"
                .to_owned(),
        );
    }
    draft.content.validate(now).map_err(|e| e.to_string())
}

/// The two passes.
pub async fn import_stix_stream(api: &ApiClient, a: &ImportArgs) -> Result<()> {
    let opts = ImportOptions {
        default_tlp: a.tlp,
        max_bytes: usize::MAX,
    };
    // Pass 1: convert and check everything, send nothing.
    let path = a.file.clone();
    let checked = tokio::task::spawn_blocking(move || -> Result<(usize, usize, Vec<String>)> {
        let reader = open(&path, "checking")?;
        let progress = reader.bar.clone();
        let now = SystemClock.now();
        let mut bulletins = 0usize;
        let result = import_stream(reader, &opts, |draft| {
            bulletins += 1;
            check(&draft, now)
                .map_err(|e| format!("bulletin {bulletins} ({}): {e}", draft.content.title))
        });
        progress.finish_and_clear();
        match result {
            Ok(summary) => Ok((summary.bulletins, summary.indicators, summary.warnings)),
            Err(StreamError::Refused(e)) => {
                let mut text = format!("the bundle is refused, nothing was published: {e}");
                for p in e.problems.iter().take(20) {
                    text.push_str(&format!("\n  {}: {}", p.path, p.message));
                }
                bail!(text)
            }
            Err(StreamError::Sink(e)) => {
                bail!("the bundle is refused, nothing was published: {e}")
            }
        }
    })
    .await??;
    let (bulletins, indicators, warnings) = checked;
    if bulletins == 0 {
        bail!("the bundle holds nothing that becomes a bulletin");
    }
    for w in warnings.iter().take(50) {
        eprintln!("warning: {w}");
    }
    if warnings.len() > 50 {
        eprintln!("… and {} more warnings", warnings.len() - 50);
    }
    if a.dry_run {
        println!("would import {bulletins} bulletin(s) with {indicators} indicators");
        return Ok(());
    }
    // Pass 2: publish, one bulletin at a time, as the reader produces them.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<BulletinDraft>(4);
    let path = a.file.clone();
    let reader_task = tokio::task::spawn_blocking(move || -> Result<()> {
        let reader = open(&path, "publishing")?;
        let progress = reader.bar.clone();
        let result = import_stream(reader, &opts, |draft| {
            tx.blocking_send(draft).map_err(|_| "the publisher stopped")
        });
        progress.finish_and_clear();
        match result {
            Ok(_) => Ok(()),
            Err(StreamError::Refused(e)) => bail!("the bundle changed between the passes: {e}"),
            Err(StreamError::Sink(e)) => bail!("{e}"),
        }
    });
    let mut published = 0usize;
    while let Some(draft) = rx.recv().await {
        let body = serde_json::to_value(&draft)?;
        let reply = api.post("/api/v1/bulletins", &body).await.with_context(|| {
            format!(
                "bulletin {} of {bulletins} was refused; the {published} before it are published",
                published + 1
            )
        })?;
        published += 1;
        if a.json {
            println!("{}", serde_json::to_string(&reply["bulletin"]["id"])?);
        }
    }
    reader_task.await??;
    println!("imported {published} bulletin(s) with {indicators} indicators");
    Ok(())
}
