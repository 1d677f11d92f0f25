//! `atalaya import stix FILE` for a bundle larger than the node's import limit: the bundle is
//! read here, one object at a time (`atalaya_formats::stix::import::import_stream`), in two
//! passes over the file. The first converts every bulletin and has the node check it
//! (`dry_run`), so a bundle with one bad object, or one older than what the node holds,
//! publishes nothing; the second publishes the bulletins through
//! `POST /api/v1/import/stix/bulletin`, where the node applies its checks, its sharing policy
//! and the re-import rules as for a whole document. Each bulletin travels with the STIX objects
//! (id and `modified`) it is made of: that is what "the same bundle" means. A report or a lone
//! vulnerability is the same bulletin when it and every object it lists are at the versions
//! imported before, and a newer version of any of them revises it (`supersedes`). Loose
//! indicators are packed into bulletins by count and weight, a packing that depends on the
//! bundle's order, so a group is never revised: a re-import publishes only the indicators that
//! are new or newer, in bulletins of their own, and nothing when there are none. A national
//! CSIRT re-running a feed's import then sends its peers only what changed. Memory stays
//! bounded by the importer's window, whatever the file's size.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use atalaya_core::{BulletinDraft, Clock, SystemClock, Tlp};
use atalaya_formats::exchange::{ImportOptions, ImportSource};
use atalaya_formats::stix::import::{ImportSummary, StreamError, import_stream_sourced};

use crate::cli::ApiClient;

/// What `atalaya import stix` asks of a streamed import (its arguments that matter here).
#[derive(Debug, Clone)]
pub struct StreamImport {
    /// The bundle.
    pub file: PathBuf,
    /// Label for objects that carry none.
    pub tlp: Option<Tlp>,
    /// Convert and check only: publish nothing.
    pub dry_run: bool,
    /// Print the node's answers as JSON.
    pub json: bool,
}

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

/// What one pass made of the bundle.
#[derive(Debug, Default)]
struct Tally {
    /// Bulletins the bundle became.
    bulletins: usize,
    /// Published (or, in the checking pass, to publish): new bulletins and revisions.
    published: usize,
    /// Of those, revisions of bulletins imported before.
    revisions: usize,
    /// Imported before at the same version: nothing to publish.
    duplicates: usize,
    /// Indicators in what was (or would be) published.
    indicators: usize,
}

/// One pass over the bundle: each bulletin, with the STIX objects it is made of, goes to
/// `POST /api/v1/import/stix/bulletin`, where the node applies its checks, its sharing policy
/// and the re-import rules (a bulletin whose objects were all imported before at the same
/// versions is a duplicate; newer objects revise or, for grouped indicators, travel alone; an
/// older object refuses it as `stale_import`). The checking pass sends `dry_run=true`.
async fn pass(
    api: &ApiClient,
    a: &StreamImport,
    opts: ImportOptions,
    checking: bool,
) -> Result<(Tally, ImportSummary)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(BulletinDraft, ImportSource)>(4);
    let path = a.file.clone();
    let reader_task = tokio::task::spawn_blocking(move || -> Result<ImportSummary> {
        let reader = open(&path, if checking { "checking" } else { "publishing" })?;
        let progress = reader.bar.clone();
        let now = SystemClock.now();
        let mut n = 0usize;
        let result = import_stream_sourced(reader, &opts, |draft, source| {
            n += 1;
            if checking {
                check(&draft, now)
                    .map_err(|e| format!("bulletin {n} ({}): {e}", draft.content.title))?;
            }
            tx.blocking_send((draft, source))
                .map_err(|_| "the publisher stopped".to_owned())
        });
        progress.finish_and_clear();
        match result {
            Ok(summary) => Ok(summary),
            Err(StreamError::Refused(e)) if checking => {
                let mut text = format!("the bundle is refused, nothing was published: {e}");
                for p in e.problems.iter().take(20) {
                    text.push_str(&format!("\n  {}: {}", p.path, p.message));
                }
                bail!(text)
            }
            Err(StreamError::Refused(e)) => bail!("the bundle changed between the passes: {e}"),
            Err(StreamError::Sink(e)) if checking => {
                bail!("the bundle is refused, nothing was published: {e}")
            }
            Err(StreamError::Sink(e)) => bail!("{e}"),
        }
    });
    let mut tally = Tally::default();
    let endpoint = if checking {
        "/api/v1/import/stix/bulletin?dry_run=true"
    } else {
        "/api/v1/import/stix/bulletin"
    };
    let mut failure = None;
    while let Some((draft, source)) = rx.recv().await {
        tally.bulletins += 1;
        let body = serde_json::json!({"bulletin": draft, "source": source});
        let reply = match api.post(endpoint, &body).await {
            Ok(r) => r,
            Err(e) => {
                let e = if checking {
                    e.context(format!(
                        "bulletin {} was refused; nothing was published",
                        tally.bulletins
                    ))
                } else {
                    e.context(format!(
                        "bulletin {} was refused; the {} before it are published",
                        tally.bulletins, tally.published
                    ))
                };
                failure = Some(e);
                break;
            }
        };
        let line = &reply["bulletins"][0];
        match line["outcome"].as_str() {
            Some("duplicate") => tally.duplicates += 1,
            outcome => {
                tally.published += 1;
                tally.revisions += usize::from(outcome == Some("revision"));
                tally.indicators += line["indicators"].as_u64().unwrap_or(0) as usize;
                if a.json && !checking {
                    println!("{}", serde_json::to_string(&line["id"])?);
                }
            }
        }
    }
    drop(rx);
    let read = reader_task.await?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok((tally, read?))
}

/// The two passes. A bundle imported before publishes nothing and exits successfully (a re-run
/// is not an error); one older than what the node holds is refused before anything is
/// published.
pub async fn import_stix_stream(api: &ApiClient, a: &StreamImport) -> Result<()> {
    let opts = ImportOptions {
        default_tlp: a.tlp,
        max_bytes: usize::MAX,
    };
    // Pass 1: convert and check everything, against the node's rules too; publish nothing.
    let (checked, summary) = pass(api, a, opts, true).await?;
    if checked.bulletins == 0 {
        bail!("the bundle holds nothing that becomes a bulletin");
    }
    let warnings = &summary.warnings;
    for w in warnings.iter().take(50) {
        eprintln!("warning: {w}");
    }
    if warnings.len() > 50 {
        eprintln!("… and {} more warnings", warnings.len() - 50);
    }
    if checked.published == 0 {
        println!(
            "already imported: nothing published ({} bulletin(s) hold this bundle)",
            checked.duplicates
        );
        return Ok(());
    }
    if a.dry_run {
        println!(
            "would import {} bulletin(s) with {} indicators{}",
            checked.published,
            checked.indicators,
            already(&checked)
        );
        return Ok(());
    }
    // Pass 2: publish, one bulletin at a time, as the reader produces them.
    let (published, _) = pass(api, a, opts, false).await?;
    println!(
        "imported {} bulletin(s) with {} indicators{}",
        published.published,
        published.indicators,
        already(&published)
    );
    Ok(())
}

/// ", 2 revising earlier imports, 3 imported before".
fn already(t: &Tally) -> String {
    let mut out = String::new();
    if t.revisions > 0 {
        out.push_str(&format!(", {} revising earlier imports", t.revisions));
    }
    if t.duplicates > 0 {
        out.push_str(&format!(
            ", {} already imported (nothing published for them)",
            t.duplicates
        ));
    }
    out
}
