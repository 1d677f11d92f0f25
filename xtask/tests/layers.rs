//! The crate graph of ARCHITECTURE.md: each crate imports only crates below it. Read from
//! `cargo metadata`, so a dependency added to any `Cargo.toml` is checked.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// What each crate of ours may depend on (normal dependencies; tests may use more).
const ALLOWED: &[(&str, &[&str])] = &[
    ("atalaya-core", &[]),
    ("atalaya-crypto", &["atalaya-core"]),
    ("atalaya-formats", &["atalaya-core"]),
    ("atalaya-store", &["atalaya-core"]),
    (
        "atalaya-federation",
        &["atalaya-core", "atalaya-crypto", "atalaya-store"],
    ),
    (
        "atalaya-notify",
        &["atalaya-core", "atalaya-crypto", "atalaya-store"],
    ),
    (
        "atalaya-node",
        &[
            "atalaya-core",
            "atalaya-crypto",
            "atalaya-formats",
            "atalaya-store",
            "atalaya-federation",
            "atalaya-notify",
        ],
    ),
    (
        "atalaya-web",
        &[
            "atalaya-core",
            "atalaya-crypto",
            "atalaya-formats",
            "atalaya-federation",
            "atalaya-notify",
            "atalaya-node",
        ],
    ),
    (
        "atalaya",
        &[
            "atalaya-core",
            "atalaya-crypto",
            "atalaya-formats",
            "atalaya-federation",
            "atalaya-notify",
            "atalaya-node",
            "atalaya-web",
        ],
    ),
];

/// Dependencies that break the layering today and are being removed (issue 14: web and the
/// binary reach the store only through the services). The test fails when one of them is
/// gone, so the list only shrinks.
const NOT_YET: &[(&str, &str)] = &[
    ("atalaya-web", "atalaya-store"),
    ("atalaya", "atalaya-store"),
];

/// Crates that do I/O or run tasks: the pure crates (core, formats) depend on none of them.
const IO_CRATES: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "hyper",
    "reqwest",
    "lettre",
    "tower",
    "tower-http",
    "rustls",
];

/// Every crate of ours and its normal (non-dev, non-build) dependencies, all of them.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let mut graph = BTreeMap::new();
    for package in meta["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name");
        if !name.starts_with("atalaya") {
            continue;
        }
        let deps = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str())
            .map(str::to_owned)
            .collect();
        graph.insert(name.to_owned(), deps);
    }
    for name in [
        "atalaya-core",
        "atalaya-store",
        "atalaya-federation",
        "atalaya-web",
        "atalaya",
    ] {
        assert!(
            graph.contains_key(name),
            "cargo metadata did not list {name}"
        );
    }
    graph
}

/// Our crates and their dependencies on our crates.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    dependencies()
        .into_iter()
        .map(|(name, deps)| {
            let ours = deps
                .into_iter()
                .filter(|d| d.starts_with("atalaya"))
                .collect();
            (name, ours)
        })
        .collect()
}

#[test]
fn each_crate_imports_only_the_crates_below_it() {
    let graph = graph();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut upward = Vec::new();
    let mut remaining = BTreeSet::new();
    for (name, deps) in &graph {
        let Some(may) = allowed.get(name.as_str()) else {
            panic!("{name} is not placed in the layers: add it to ALLOWED and ARCHITECTURE.md");
        };
        for dep in deps {
            if may.contains(&dep.as_str()) {
                continue;
            }
            if NOT_YET.contains(&(name.as_str(), dep.as_str())) {
                remaining.insert((name.clone(), dep.clone()));
            } else {
                upward.push(format!("{name} -> {dep}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "dependencies against the layers: {upward:?}"
    );
    let gone: Vec<_> = NOT_YET
        .iter()
        .filter(|(a, b)| !remaining.contains(&((*a).to_owned(), (*b).to_owned())))
        .collect();
    assert!(
        gone.is_empty(),
        "these are no longer dependencies: remove them from NOT_YET: {gone:?}"
    );
}

#[test]
fn the_pure_crates_depend_on_no_io_crate() {
    let deps = dependencies();
    for name in ["atalaya-core", "atalaya-formats"] {
        let io: Vec<_> = deps[name]
            .iter()
            .filter(|d| IO_CRATES.contains(&d.as_str()))
            .collect();
        assert!(io.is_empty(), "{name} depends on I/O crates: {io:?}");
    }
}
