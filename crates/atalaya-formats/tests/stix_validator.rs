//! Every STIX bundle the exporter emits for our fixture bulletins (every indicator type, every
//! TLP, CVEs, every kind), checked by the OASIS `stix2-validator`. The validator's output is
//! compared with the committed baseline `tests/baselines/stix2-validator.txt`; `ATALAYA_BLESS=1`
//! rewrites it. The Python interpreter comes from `ATALAYA_INTEROP_PYTHON` (set by
//! `cargo xtask test`); without it this test fails rather than pass silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;

use atalaya_core::Bulletin;
use atalaya_formats::stix::export::{bulletin_objects, bundle};

fn python() -> PathBuf {
    const HINT: &str = "run through `cargo xtask test`, which sets up the Python venv with the \
                        OASIS stix2-validator (tests/interop/requirements.txt) and sets \
                        ATALAYA_INTEROP_PYTHON to its interpreter";
    let Some(path) = std::env::var_os("ATALAYA_INTEROP_PYTHON") else {
        panic!("ATALAYA_INTEROP_PYTHON is not set: {HINT}");
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "ATALAYA_INTEROP_PYTHON={} is not a file: {HINT}",
        path.display()
    );
    path
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compare `fresh` with the committed baseline (or rewrite it under `ATALAYA_BLESS=1`).
fn check_baseline(name: &str, fresh: &str) {
    let path = root().join("tests/baselines").join(name);
    if std::env::var_os("ATALAYA_BLESS").is_some() {
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old != fresh {
        let mut diff = String::new();
        let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), fresh.lines().collect());
        for l in &a {
            if !b.contains(l) {
                diff.push_str(&format!("- {l}\n"));
            }
        }
        for l in &b {
            if !a.contains(l) {
                diff.push_str(&format!("+ {l}\n"));
            }
        }
        panic!(
            "the validator's results changed from {} (ATALAYA_BLESS=1 to accept):\n{diff}",
            path.display()
        );
    }
}

#[test]
fn every_exported_bundle_passes_the_oasis_stix2_validator() {
    let python = python();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stix-export");
    let bulletins: Vec<Bulletin> =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("bulletins.json")).unwrap())
            .unwrap();
    assert!(bulletins.len() >= 6);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut everything = Vec::new();
    for (i, b) in bulletins.iter().enumerate() {
        let objects = bulletin_objects(b);
        everything.extend(objects.clone());
        let path = dir.path().join(format!(
            "bulletin-{}-{}.json",
            i + 1,
            b.tlp
                .label()
                .trim_start_matches("TLP:")
                .to_ascii_lowercase()
        ));
        std::fs::write(&path, serde_json::to_vec_pretty(&bundle(objects)).unwrap()).unwrap();
        files.push(path);
    }
    // All bulletins in one bundle too (shared identity and markings appear more than once,
    // which a bundle allows).
    let path = dir.path().join("all-bulletins.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&bundle(everything)).unwrap(),
    )
    .unwrap();
    files.push(path);

    let out = Command::new(python)
        .arg(root().join("tests/interop/stix_validate.py"))
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stix_validate.py failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(verdicts.len(), files.len(), "{stdout}");
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("error") || l.ends_with(": invalid"))
        .collect();
    assert!(errors.is_empty(), "the validator found errors:\n{stdout}");
    check_baseline("stix2-validator.txt", &stdout);
}
