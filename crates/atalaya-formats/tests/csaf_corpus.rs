//! CSAF import over the real documents of the shared corpus (`../shared/corpus/csaf`, or
//! `ATALAYA_CORPUS_DIR`): the OASIS examples and gocsaf's valid documents import; trailing
//! garbage is refused; each mandatory test we implement rejects its `-0k` files naming the
//! test and accepts its `-1k` files; the §5.1 file-name tests agree with `file_name`; and the
//! result of every file is compared with `tests/baselines/csaf-corpus.txt`
//! (`ATALAYA_BLESS=1` rewrites it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use atalaya_core::Tlp;
use atalaya_formats::csaf;
use atalaya_formats::exchange::{ImportOptions, codes};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("ATALAYA_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
        .join("csaf");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "CORPUS ABSENT: {} not found; CSAF corpus tests skipped",
            dir.display()
        );
        None
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    out
}

/// Corpus documents often carry no TLP label: import them as GREEN.
fn opts() -> ImportOptions {
    ImportOptions {
        default_tlp: Some(Tlp::Green),
        ..Default::default()
    }
}

fn result_line(bytes: &[u8]) -> String {
    match csaf::import(bytes, &opts()) {
        Ok(i) => format!("ok {}", i.bulletins[0].content.kind.as_str()),
        Err(e) if e.code == codes::MANDATORY_TEST_FAILED => {
            let mut tests: Vec<&str> = e
                .problems
                .iter()
                .filter_map(|p| p.message.split(' ').next())
                .collect();
            tests.sort();
            tests.dedup();
            format!("{} {}", e.code, tests.join(","))
        }
        Err(e) => {
            let mut paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
            paths.sort();
            paths.dedup();
            paths.truncate(3);
            format!("{} {}", e.code, paths.join(","))
        }
    }
}

#[test]
fn corpus_csaf_examples_and_gocsaf_documents_import() {
    let Some(dir) = corpus() else { return };
    let mut files = json_files(&dir.join("examples"));
    files.extend(json_files(&dir.join("examples/csaf_vex")));
    files.extend(json_files(
        &dir.join("gocsaf-testdata/csaf-documents/valid"),
    ));
    assert!(files.len() > 15, "{files:?}");
    let mut failed = Vec::new();
    for f in &files {
        match csaf::import(&std::fs::read(f).unwrap(), &opts()) {
            Ok(i) => assert_eq!(i.bulletins.len(), 1),
            Err(e) => failed.push(format!("{}: {e} {:?}", f.display(), e.problems)),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn corpus_csaf_trailing_garbage_is_refused() {
    let Some(dir) = corpus() else { return };
    let files = json_files(&dir.join("gocsaf-testdata/csaf-documents/invalid-trailing-garbage"));
    assert!(!files.is_empty());
    for f in files {
        let e = csaf::import(&std::fs::read(&f).unwrap(), &opts()).unwrap_err();
        assert_eq!(e.code, codes::MALFORMED, "{}", f.display());
    }
}

#[test]
fn corpus_csaf_mandatory_test_cases_agree() {
    let Some(dir) = corpus() else { return };
    let cases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("validator-tests/testcases.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for t in cases["tests"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        if !csaf::mandatory::IMPLEMENTED.contains(&id) {
            continue;
        }
        for (list, must_fail) in [("failures", true), ("valid", false)] {
            for f in t[list].as_array().into_iter().flatten() {
                let name = f["name"].as_str().unwrap();
                let bytes = std::fs::read(dir.join("validator-tests").join(name)).unwrap();
                checked += 1;
                match (csaf::import(&bytes, &opts()), must_fail) {
                    (Ok(_), false) => {}
                    (Ok(_), true) => wrong.push(format!("{name}: accepted, must fail {id}")),
                    (Err(e), true) => {
                        let named = e
                            .problems
                            .iter()
                            .any(|p| p.message.starts_with(&format!("{id} ")));
                        if e.code != codes::MANDATORY_TEST_FAILED || !named {
                            wrong.push(format!(
                                "{name}: refused as {e} {:?}, not naming {id}",
                                e.problems
                            ));
                        }
                    }
                    (Err(e), false) => wrong.push(format!(
                        "{name}: valid for {id} but refused: {e} {:?}",
                        e.problems
                    )),
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} files checked");
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn corpus_csaf_file_names_follow_5_1() {
    let Some(dir) = corpus() else { return };
    for (sub, valid) in [("valid", true), ("invalid", false)] {
        for f in json_files(&dir.join("filename-tests").join(sub)) {
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            let id = doc["document"]["tracking"]["id"].as_str().unwrap();
            let actual = f.file_name().unwrap().to_str().unwrap();
            assert_eq!(
                csaf::file_name(id) == actual,
                valid,
                "{actual} (tracking id {id})"
            );
        }
    }
}

#[test]
fn corpus_csaf_results_match_the_baseline() {
    let Some(dir) = corpus() else { return };
    let mut lines = Vec::new();
    let mut dirs = vec![dir.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                // Provider trees are Go templates and the schemas are not documents.
                let n = p.file_name().unwrap().to_str().unwrap();
                if !["schema", "distribution", "processor-requirements"].contains(&n)
                    && !n.starts_with("simple-")
                {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "json")
                && p.file_name().unwrap() != "testcases.json"
            {
                let rel = p.strip_prefix(&dir).unwrap().display().to_string();
                lines.push(format!(
                    "{rel}\t{}",
                    result_line(&std::fs::read(&p).unwrap())
                ));
            }
        }
    }
    lines.sort();
    let fresh = lines.join("\n") + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/baselines/csaf-corpus.txt");
    if std::env::var_os("ATALAYA_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let old: Vec<&str> = committed.lines().collect();
        let new: Vec<&str> = fresh.lines().collect();
        let mut diff = String::new();
        for l in &old {
            if !new.contains(l) {
                diff.push_str(&format!("- {l}\n"));
            }
        }
        for l in &new {
            if !old.contains(l) {
                diff.push_str(&format!("+ {l}\n"));
            }
        }
        panic!(
            "CSAF corpus results differ from {} (ATALAYA_BLESS=1 to accept):\n{diff}",
            path.display()
        );
    }
}
