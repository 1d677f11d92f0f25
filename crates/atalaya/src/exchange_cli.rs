//! `atalaya import {csaf,stix,misp} FILE` and `atalaya export {csaf,stix,misp,cap} BULLETIN`:
//! documents in and out through a running node, so that the node's checks, sharing policy and
//! audit apply exactly as for the API.
//!
//! A document up to the node's import limit (16 MiB) is sent whole to
//! `POST /api/v1/import/{format}`; the node converts it, checks every bulletin, and stores all
//! or nothing. A document imported before publishes nothing and is reported as already
//! imported (exit status 0: re-running an import is not an error); a newer version revises
//! what the older one became; an older version is refused (`stale_import`, exit status 1). A larger STIX bundle is read here as a stream, twice: the first pass converts
//! and checks every bulletin without sending anything, the second publishes them; a bundle
//! with one bad object is refused before anything is published.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use atalaya_core::Tlp;
use clap::{Args, ValueEnum};
use serde_json::Value;

use crate::cli::ApiClient;
use crate::config::Config;

/// A format a document can be imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// A CSAF 2.0 advisory (any profile).
    Csaf,
    /// A STIX 2.1 bundle.
    Stix,
    /// A MISP event (core format JSON).
    Misp,
}

impl ImportFormat {
    fn name(self) -> &'static str {
        match self {
            ImportFormat::Csaf => "csaf",
            ImportFormat::Stix => "stix",
            ImportFormat::Misp => "misp",
        }
    }
}

/// A format a bulletin can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A CSAF 2.0 document (the bulletin's own when it carries one).
    Csaf,
    /// A STIX 2.1 bundle with TLP 2.0 markings.
    Stix,
    /// A MISP event.
    Misp,
    /// A CAP 1.2 alert (XML).
    Cap,
}

impl ExportFormat {
    fn name(self) -> &'static str {
        match self {
            ExportFormat::Csaf => "csaf",
            ExportFormat::Stix => "stix",
            ExportFormat::Misp => "misp",
            ExportFormat::Cap => "cap",
        }
    }
}

/// `atalaya import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The document's format.
    pub format: ImportFormat,
    /// The file to import (`-` for standard input).
    pub file: PathBuf,
    /// Label for a document that carries none (otherwise such a document is refused).
    #[arg(long, value_parser = parse_tlp)]
    pub tlp: Option<Tlp>,
    /// Convert and check only: publish nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the node's answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `atalaya export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format to write.
    pub format: ExportFormat,
    /// The bulletin's id.
    pub bulletin: String,
    /// Write here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn parse_tlp(s: &str) -> std::result::Result<Tlp, String> {
    Tlp::parse(s).ok_or_else(|| {
        format!("{s:?} is not a TLP 2.0 label (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)")
    })
}

/// The largest document sent whole to the node (the node's own limit).
pub const WHOLE_DOCUMENT_LIMIT: u64 = atalaya_formats::exchange::DEFAULT_MAX_BYTES as u64;

fn client(config: &Path) -> Result<ApiClient> {
    ApiClient::for_config(&Config::load(config)?)
}

/// A progress bar over `len` bytes on standard error (hidden when it is not a terminal).
fn byte_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Reads a whole file (or standard input) with a progress bar, refusing more than `limit`.
fn read_with_progress(file: &Path, limit: u64) -> Result<Vec<u8>> {
    let (mut reader, len): (Box<dyn Read>, u64) = if file == Path::new("-") {
        (Box::new(std::io::stdin()), 0)
    } else {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let len = f.metadata()?.len();
        if len > limit {
            bail!(
                "{} is {len} bytes, over the import limit of {limit} bytes",
                file.display()
            );
        }
        (Box::new(f), len)
    };
    let bar = byte_bar(len, "reading");
    let mut out = Vec::with_capacity(len as usize);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() as u64 > limit {
            bail!("the document is over the import limit of {limit} bytes");
        }
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

fn import_path(format: ImportFormat, tlp: Option<Tlp>, dry_run: bool) -> String {
    let mut path = format!("/api/v1/import/{}", format.name());
    let mut query = Vec::new();
    if let Some(t) = tlp {
        query.push(format!("tlp={}", t.label().trim_start_matches("TLP:")));
    }
    if dry_run {
        query.push("dry_run=true".to_owned());
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&").replace('+', "%2B"));
    }
    path
}

/// `atalaya import FORMAT FILE`.
pub async fn import(config: &Path, a: ImportArgs) -> Result<()> {
    let api = client(config)?;
    let size = if a.file == Path::new("-") {
        0
    } else {
        std::fs::metadata(&a.file)
            .with_context(|| format!("cannot read {}", a.file.display()))?
            .len()
    };
    if a.format == ImportFormat::Stix && size > WHOLE_DOCUMENT_LIMIT {
        let stream = crate::exchange_stream::StreamImport {
            file: a.file.clone(),
            tlp: a.tlp,
            dry_run: a.dry_run,
            json: a.json,
        };
        return crate::exchange_stream::import_stix_stream(&api, &stream).await;
    }
    let bytes = read_with_progress(&a.file, WHOLE_DOCUMENT_LIMIT)?;
    let reply = api
        .post_raw(
            &import_path(a.format, a.tlp, a.dry_run),
            "application/json",
            bytes,
        )
        .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reply)?);
        return Ok(());
    }
    print_import(&reply, a.dry_run);
    Ok(())
}

/// One line per bulletin, then the warnings. A document imported before says so: nothing was
/// published, and that is not an error (a re-run of an import exits successfully).
fn print_import(reply: &Value, dry_run: bool) {
    let bulletins = reply["bulletins"].as_array().cloned().unwrap_or_default();
    let duplicates = bulletins
        .iter()
        .filter(|b| b["outcome"] == "duplicate")
        .count();
    let fresh = bulletins.len() - duplicates;
    if reply["outcome"] == "duplicate" {
        println!(
            "already imported: nothing published ({duplicates} bulletin(s) hold this document)"
        );
    } else {
        let verb = if dry_run { "would import" } else { "imported" };
        println!("{verb} {fresh} bulletin(s)");
        if duplicates > 0 {
            println!("{duplicates} already imported: nothing published for them");
        }
    }
    for b in &bulletins {
        let note = match b["outcome"].as_str() {
            Some("duplicate") => "  (already imported)".to_owned(),
            Some("revision") => format!(
                "  (revises {})",
                b["supersedes"].as_str().unwrap_or("an earlier import")
            ),
            _ => String::new(),
        };
        println!(
            "  {:<36}  {:<16} {:<22} {:>5} indicators  {}{note}",
            b["id"].as_str().unwrap_or("-"),
            b["tlp"].as_str().unwrap_or(""),
            b["kind"].as_str().unwrap_or(""),
            b["indicators"].as_u64().unwrap_or(0),
            b["title"].as_str().unwrap_or("")
        );
    }
    for w in reply["warnings"].as_array().into_iter().flatten() {
        println!("warning: {}", w.as_str().unwrap_or(""));
    }
}

/// `atalaya export FORMAT BULLETIN`.
pub async fn export(config: &Path, a: ExportArgs) -> Result<()> {
    let api = client(config)?;
    let id = uuid::Uuid::parse_str(a.bulletin.trim())
        .with_context(|| format!("{:?} is not a bulletin id (a UUID)", a.bulletin))?;
    let text = api
        .get_text(&format!(
            "/api/v1/bulletins/{id}/export/{}",
            a.format.name()
        ))
        .await?;
    match &a.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote {} ({} bytes) to {}",
                a.format.name(),
                text.len(),
                path.display()
            );
        }
        None => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths_carry_the_default_label_and_dry_run() {
        assert_eq!(
            import_path(ImportFormat::Csaf, None, false),
            "/api/v1/import/csaf"
        );
        assert_eq!(
            import_path(ImportFormat::Stix, Some(Tlp::AmberStrict), true),
            "/api/v1/import/stix?tlp=AMBER%2BSTRICT&dry_run=true"
        );
    }

    #[test]
    fn labels_parse_as_tlp_2_0() {
        assert_eq!(parse_tlp("clear"), Ok(Tlp::Clear));
        assert!(parse_tlp("purple").is_err());
    }
}
