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
