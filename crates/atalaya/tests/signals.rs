//! Every process exits promptly on SIGTERM and SIGINT: a node, a node watching its stdin (as the
//! demo starts them), and the demo with all its nodes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BIN, TestNet, http, reserve_ports};

/// Generous: the machine running the tests is shared and loaded.
const PROMPTLY: Duration = Duration::from_secs(15);

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid} failed");
}

/// Wait for `child` to exit, at most `within`; panics naming `what` if it does not.
fn exits_within(child: &mut Child, within: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running {within:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_ready(url: &str, child: &mut Child) {
    let start = Instant::now();
    loop {
        if let Ok(r) = http().get(format!("{url}/readyz")).send()
            && r.status().is_success()
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the node exited");
        assert!(start.elapsed() < Duration::from_secs(60), "not ready");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Process ids of the running (not zombie) children of `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(1) == Some(&parent.to_string().as_str()) {
            found.push(pid);
        }
    }
    found
}

/// Whether `pid` is a live process (gone and zombies are not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .is_some_and(|i| stat[i + 2..].split_whitespace().next() != Some("Z"))
    })
}

#[test]
fn a_node_exits_promptly_on_sigterm_and_on_sigint() {
    let mut net = TestNet::new(&[]);
    for sig in ["TERM", "INT"] {
        let node = &mut net.nodes[0];
        node.start();
        let mut child = node.child.take().unwrap();
        signal(child.id(), sig);
        let status = exits_within(&mut child, PROMPTLY, &format!("atalaya serve (SIG{sig})"));
        assert!(status.success(), "SIG{sig}: {status}\n{}", node.log());
    }
}

#[test]
fn a_node_watching_its_stdin_exits_on_sigterm_while_stdin_stays_open() {
    let net = TestNet::new(&[]);
    let node = &net.nodes[0];
    let spawn = || {
        Command::new(BIN)
            .args(["serve", "--exit-on-stdin-close", "--config"])
            .arg(node.config())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for sig in ["TERM", "INT"] {
        let mut child = spawn();
        let stdin = child.stdin.take().unwrap(); // kept open until the node has exited
        wait_ready(&node.url(), &mut child);
        signal(child.id(), sig);
        let status = exits_within(
            &mut child,
            PROMPTLY,
            &format!("atalaya serve --exit-on-stdin-close (SIG{sig}, stdin open)"),
        );
        assert!(status.success(), "{status}");
        drop(stdin);
    }
    // And closing its stdin still stops it.
    let mut child = spawn();
    wait_ready(&node.url(), &mut child);
    drop(child.stdin.take());
    exits_within(&mut child, PROMPTLY, "atalaya serve after its stdin closed");
}

/// `atalaya demo` with 3 member states on reserved ports; its stdout lines are collected.
fn start_demo(data: &std::path::Path, base_port: u16) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--nodes",
            "3",
            "--base-port",
            &base_port.to_string(),
        ])
        .arg("--data")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let keep = lines.clone();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            keep.lock().unwrap().push(line);
        }
    });
    (child, lines)
}

fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < within, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_demo_stops_all_its_nodes_and_exits_on_sigterm_and_on_sigint() {
    // The coordinator and 3 member states: 4 consecutive ports.
    let base_port = reserve_ports(4);
    let dir = tempfile::tempdir().unwrap();

    // SIGTERM once the network runs.
    let (mut demo, lines) = start_demo(&dir.path().join("term"), base_port);
    wait_for("the demo network to run", Duration::from_secs(300), || {
        assert!(demo.try_wait().unwrap().is_none(), "{:?}", lines.lock());
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("The network keeps running"))
    });
    let nodes = children_of(demo.id());
    assert_eq!(nodes.len(), 4, "the demo's node processes: {nodes:?}");
    signal(demo.id(), "TERM");
    exits_within(&mut demo, PROMPTLY, "atalaya demo (SIGTERM)");
    let left: Vec<u32> = nodes.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        left.is_empty(),
        "nodes left running after the demo: {left:?}"
    );

    // SIGINT while it is still setting the network up (every node started, the scenario under
    // way): the same ports again, as the nodes above are gone.
    let (mut demo, lines) = start_demo(&dir.path().join("int"), base_port);
    wait_for("the demo's 4 nodes", Duration::from_secs(120), || {
        assert!(demo.try_wait().unwrap().is_none(), "{:?}", lines.lock());
        children_of(demo.id()).len() == 4
    });
    let nodes = children_of(demo.id());
    signal(demo.id(), "INT");
    exits_within(&mut demo, PROMPTLY, "atalaya demo (SIGINT)");
    let left: Vec<u32> = nodes.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        left.is_empty(),
        "nodes left running after the demo: {left:?}"
    );
}
