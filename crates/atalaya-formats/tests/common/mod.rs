//! What the corpus tests share: where the corpus is, and the committed baselines.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared corpus (`<workspace>/../shared/corpus`, or `ATALAYA_CORPUS_DIR`), if present.
/// When absent, says so loudly on stderr: the test then covers nothing.
pub fn corpus(sub: &str, test: &str) -> Option<PathBuf> {
    let base = std::env::var_os("ATALAYA_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    let dir = base.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "CORPUS ABSENT: {} not found; {test} skipped (set ATALAYA_CORPUS_DIR)",
            dir.display()
        );
        None
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files under `dir` (recursively), sorted, as paths relative to `dir`.
pub fn files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Compare `fresh` with the committed baseline `tests/baselines/<name>` (at the workspace
/// root); `ATALAYA_BLESS=1` rewrites it. Panics with a line diff on change.
pub fn baseline(name: &str, fresh: &str) {
    let path = workspace().join("tests/baselines").join(name);
    if std::env::var("ATALAYA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, fresh).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old == fresh {
        return;
    }
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = fresh.lines().collect();
    let mut diff = String::new();
    for l in &old_lines {
        if !new_lines.contains(l) {
            diff.push_str(&format!("- {l}\n"));
        }
    }
    for l in &new_lines {
        if !old_lines.contains(l) {
            diff.push_str(&format!("+ {l}\n"));
        }
    }
    panic!(
        "{} changed (ATALAYA_BLESS=1 to accept):\n{diff}",
        path.display()
    );
}

/// One line saying what an importer made of a corpus document: how many bulletins (each a
/// valid draft) with which labels and indicators, or the refusal's code and reason.
pub fn outcome(
    r: &Result<atalaya_formats::exchange::Imported, atalaya_formats::exchange::ImportError>,
) -> String {
    let now = atalaya_core::Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
    match r {
        Ok(got) => {
            for b in &got.bulletins {
                b.content
                    .validate(now)
                    .unwrap_or_else(|e| panic!("an imported draft is not a valid bulletin: {e}"));
            }
            let indicators: usize = got
                .bulletins
                .iter()
                .map(|b| b.content.indicators.len())
                .sum();
            let labels: Vec<&str> = got.bulletins.iter().map(|b| b.tlp.label()).collect();
            format!(
                "imported {} bulletin(s) [{}], {indicators} indicator(s), {} warning(s)",
                got.bulletins.len(),
                labels.join(" "),
                got.warnings.len()
            )
        }
        Err(e) => {
            assert!(!e.reason.trim().is_empty(), "a refusal without a reason");
            format!("refused {}: {}", e.code, e.reason)
        }
    }
}

/// An importer of the exchange formats.
pub type Importer =
    fn(
        &[u8],
        &atalaya_formats::exchange::ImportOptions,
    ) -> Result<atalaya_formats::exchange::Imported, atalaya_formats::exchange::ImportError>;

/// Runs `import` over every file of the corpus folders `subs` (under `dir`), and again with
/// a default TLP:GREEN when a document is refused for having no label. Returns the report (one
/// line per file, for the baseline) and how many imports succeeded.
pub fn import_report(dir: &std::path::Path, subs: &[&str], import: Importer) -> (String, usize) {
    use atalaya_formats::exchange::{ImportOptions, codes};
    let mut report = String::new();
    let mut imported = 0;
    for sub in subs {
        for f in files(&dir.join(sub)) {
            let bytes = std::fs::read(dir.join(sub).join(&f)).unwrap();
            let plain = import(&bytes, &ImportOptions::default());
            let line = outcome(&plain);
            imported += usize::from(plain.is_ok());
            report.push_str(&format!("{sub}/{}: {line}", f.display()));
            if plain.as_ref().is_err_and(|e| e.code == codes::NO_LABEL) {
                let with = import(
                    &bytes,
                    &ImportOptions {
                        default_tlp: Some(atalaya_core::Tlp::Green),
                        ..Default::default()
                    },
                );
                imported += usize::from(with.is_ok());
                report.push_str(&format!(" | with default TLP:GREEN: {}", outcome(&with)));
            }
            report.push('\n');
        }
    }
    (report, imported)
}
