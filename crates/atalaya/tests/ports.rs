//! The test-port allocator (`common::reserve_port`): no two threads or processes, Rust or the
//! Node browser tests, ever hold the same port; a dead owner's claim is reclaimed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::PortAllocator;

/// Ports above the ephemeral range, where neither the tests' nodes (below it) nor the kernel
/// (inside it) put anything: each test uses its own slice and its own claims directory.
const fn slice(i: u16, len: u16) -> (u16, u16) {
    let low = 63_000 + i * 100;
    (low, low + len - 1)
}

fn pid_line(child: &Child) -> String {
    let pid = child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let start = after.split_whitespace().nth(19).unwrap();
    format!("{pid} {start}\n")
}

#[test]
fn threads_never_share_a_port_and_the_range_runs_out_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let alloc = std::sync::Arc::new(PortAllocator::new(dir.path().to_owned(), slice(0, 40)));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let alloc = alloc.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| alloc.reserve(1).unwrap())
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let all: Vec<u16> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let distinct: HashSet<u16> = all.iter().copied().collect();
    assert_eq!(all.len(), 40);
    assert_eq!(distinct.len(), 40, "a port was handed out twice: {all:?}");
    assert_eq!(alloc.reserve(1), None, "more ports than the range holds");
}

#[test]
fn blocks_are_contiguous_and_disjoint() {
    let dir = tempfile::tempdir().unwrap();
    let range = slice(4, 12);
    let alloc = PortAllocator::new(dir.path().to_owned(), range);
    // However the first block lies, there is room for a second one of 4 in 12.
    let a = alloc.reserve(4).unwrap();
    let b = alloc.reserve(4).unwrap();
    assert!(a + 4 <= b || b + 4 <= a, "blocks overlap: {a} and {b}");
    for first in [a, b] {
        assert!(first >= range.0 && first + 3 <= range.1);
        for p in first..first + 4 {
            assert!(dir.path().join(format!("{p}.lock")).exists());
        }
    }
    assert_eq!(
        alloc.reserve(5),
        None,
        "no room for 5 contiguous ports is left"
    );
}

#[test]
fn a_dead_owners_claim_is_reclaimed_and_a_live_owners_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _) = slice(1, 1);
    let alloc = PortAllocator::new(dir.path().to_owned(), (port, port));
    let lock = dir.path().join(format!("{port}.lock"));

    // A live process's claim holds.
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(&lock, pid_line(&sleeper)).unwrap();
    assert_eq!(alloc.reserve(1), None, "took a live process's port");

    // The same pid with another start time is another process (the pid was reused): reclaimed.
    let pid = sleeper.id();
    std::fs::write(&lock, format!("{pid} 1\n")).unwrap();
    assert_eq!(alloc.reserve(1), Some(port));
    let held = std::fs::read_to_string(&lock).unwrap();
    assert!(
        held.starts_with(&format!("{} ", std::process::id())),
        "{held}"
    );

    // A dead process's claim is reclaimed.
    std::fs::write(&lock, pid_line(&sleeper)).unwrap();
    assert_eq!(alloc.reserve(1), None);
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert_eq!(alloc.reserve(1), Some(port));

    // A reclaim under way elsewhere (its guard file) is not raced.
    std::fs::write(&lock, format!("{pid} 1\n")).unwrap();
    std::fs::write(dir.path().join(format!("{port}.reclaim")), "1 1\n").unwrap();
    assert_eq!(alloc.reserve(1), None);
}

/// Run by `processes_never_share_a_port` in child processes: reserve ports from the allocator the
/// environment names, print them, hold them until stdin closes.
#[test]
#[ignore = "a child process of processes_never_share_a_port"]
fn child_reserving_ports() {
    let ports: Vec<u16> = (0..8).map(|_| common::reserve_port()).collect();
    let line: Vec<String> = ports.iter().map(u16::to_string).collect();
    println!("PORTS {}", line.join(" "));
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn spawn_child(dir: &Path, range: (u16, u16)) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_reserving_ports",
            "--ignored",
            "--nocapture",
        ])
        .env("ATALAYA_TEST_PORTS_DIR", dir)
        .env(
            "ATALAYA_TEST_PORTS_RANGE",
            format!("{}-{}", range.0, range.1),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The ports a child printed (the line starting with `PORTS`).
fn ports_of(child: &mut Child, prefix: &str) -> Vec<u16> {
    let out = child.stdout.take().unwrap();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect();
        }
    }
    panic!("the child printed no {prefix}line");
}

#[test]
fn processes_never_share_a_port_and_a_killed_ones_ports_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let range = slice(2, 24);
    let mut children: Vec<Child> = (0..3).map(|_| spawn_child(dir.path(), range)).collect();
    let got: Vec<Vec<u16>> = children.iter_mut().map(|c| ports_of(c, "PORTS ")).collect();
    let all: Vec<u16> = got.iter().flatten().copied().collect();
    let distinct: HashSet<u16> = all.iter().copied().collect();
    assert_eq!(all.len(), 24);
    assert_eq!(distinct.len(), 24, "a port was handed out twice: {got:?}");

    let alloc = PortAllocator::new(dir.path().to_owned(), range);
    assert_eq!(alloc.reserve(1), None, "took a live process's port");
    // kill -9: the child cannot remove its claims; they are reclaimed.
    children[1].kill().unwrap();
    children[1].wait().unwrap();
    let mut back: Vec<u16> = (0..8).map(|_| alloc.reserve(1).unwrap()).collect();
    back.sort_unstable();
    let mut dead = got[1].clone();
    dead.sort_unstable();
    assert_eq!(back, dead);
    assert_eq!(alloc.reserve(1), None);
    for mut c in children {
        drop(c.stdin.take());
        let _ = c.wait();
    }
}

#[test]
fn the_browser_tests_node_allocator_shares_the_claims() {
    let dir = tempfile::tempdir().unwrap();
    let range = slice(3, 10);
    let net_mjs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/lib/net.mjs");
    let script = format!(
        "import {{ reservePort }} from {:?};\n\
         const ports = [];\n\
         for (let i = 0; i < 5; i++) ports.push(reservePort());\n\
         console.log('NODE ' + ports.join(' '));\n\
         process.stdin.resume();\n\
         process.stdin.on('end', () => process.exit(0));\n",
        net_mjs.canonicalize().unwrap().to_str().unwrap()
    );
    let mut node = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .env("ATALAYA_TEST_PORTS_DIR", dir.path())
        .env(
            "ATALAYA_TEST_PORTS_RANGE",
            format!("{}-{}", range.0, range.1),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node (Debian's nodejs) runs the browser tests and must be installed");
    let theirs = ports_of(&mut node, "NODE ");
    assert_eq!(theirs.len(), 5);
    let alloc = PortAllocator::new(dir.path().to_owned(), range);
    let ours: Vec<u16> = (0..5).map(|_| alloc.reserve(1).unwrap()).collect();
    assert!(
        ours.iter().all(|p| !theirs.contains(p)),
        "node holds {theirs:?}, we got {ours:?}"
    );
    assert_eq!(alloc.reserve(1), None);
    // A Node process that exits removes its claims itself.
    drop(node.stdin.take());
    assert!(node.wait().unwrap().success());
    for p in &theirs {
        assert!(
            !dir.path().join(format!("{p}.lock")).exists(),
            "claim of {p} left behind"
        );
    }
    for _ in 0..5 {
        assert!(alloc.reserve(1).is_some());
    }
}
