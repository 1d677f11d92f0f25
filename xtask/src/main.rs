//! Project tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! * `test [--no-fmt] [--no-clippy] [--no-soak] [--no-e2e]`: formatting, clippy, `cargo deny`
//!   (`deny.toml`; advisories from GitHub or the local copy named by `ATALAYA_ADVISORY_DB`), the Python venv
//!   with the independent implementations used by the interop tests, then every test (nextest),
//!   schemathesis against a live node's `/api/v1` (its OpenAPI document, with an API token;
//!   any 5xx or reply outside the document fails), a two-minute soak (as `soak 2`), the doc tests, and the browser end-to-end tests (as `e2e`).
//!   The fault tests need root (network namespaces), Debian's nftables and faketime; the test
//!   step installs the last two with apt-get when they are missing.
//! * `e2e`: only the browser end-to-end tests in `tests/e2e/`: makes sure Debian's Chromium is
//!   installed (`apt-get install chromium` when `/usr/bin/chromium` is missing, as root), runs
//!   `npm ci` there when `node_modules` is missing or older than `package-lock.json`, builds
//!   `atalaya` (debug) and runs `node --test --test-concurrency=1 tests/e2e/` with `ATALAYA_BIN`
//!   set to it. Screenshots land in `target/screenshots/`.
//! * `interop-venv`: only set up that venv and print its interpreter, for running the interop
//!   tests alone: `ATALAYA_INTEROP_PYTHON=$(cargo xtask interop-venv) cargo test -p
//!   atalaya-crypto --test interop`.
//! * `fuzz [SECONDS]`: every fuzz target in `fuzz/` (`cargo +nightly fuzz`), each for SECONDS
//!   (60 by default); `test` runs them for 10 s each after the doc tests.
//! * `bench [ARGS…]`: the release-build benchmark (`atalaya bench --out target/bench ARGS…`,
//!   e.g. `--only ingest`), after setting up the interop venv (the `taxii` benchmark runs OASIS
//!   medallion from it), so it runs on a fresh checkout.
//! * `soak [MINUTES]`: ten nodes under steady traffic with periodic `kill -9` for MINUTES (10 by
//!   default; 1 to 1440), sampled for memory, open files, queues and delivery lag
//!   (`atalaya soak`, debug build); writes `target/soak/soak.json` and `target/soak/soak.svg`
//!   and fails when growth exceeds the bounds stated in `crates/atalaya/src/soak.rs`.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test [--no-fmt] [--no-clippy] [--no-soak] [--no-e2e]
                                  fmt check, clippy, cargo deny, interop venv, nextest, a 2-minute soak,
                                  doc tests, fuzz, then e2e
  e2e                             browser tests (tests/e2e/, Debian's Chromium + playwright-core):
                                  installs chromium (apt) and node_modules (npm ci) if needed,
                                  builds atalaya, runs node --test; screenshots in
                                  target/screenshots/
  deny                            cargo deny check (deny.toml): advisories, licences, bans,
                                  sources (ATALAYA_ADVISORY_DB: a local advisory-db clone
                                  when GitHub is out of reach)
  interop-venv                    set up target/interop-venv, print its python
  fuzz [SECONDS]                  run every fuzz target in fuzz/ for SECONDS (default 60)
  bench [ARGS...]                 interop venv, then cargo run --release -p atalaya -- bench
                                  --out target/bench ARGS... (e.g. --only ingest)
  soak [MINUTES]                  10 nodes under traffic and kill -9 for MINUTES (default 10,
                                  1 to 1440): target/soak/soak.json and soak.svg; fails when
                                  memory, open files, queues or delivery lag exceed their bounds";

/// The Python venv with the independent RFC 8785 / Ed25519 / RFC 9421 implementations.
const VENV_DIR: &str = "target/interop-venv";
const REQUIREMENTS: &str = "tests/interop/requirements.txt";
/// The npm project holding BSI's `@secvisogram/csaf-validator-lib`.
const CSAF_VALIDATOR_DIR: &str = "tests/interop/csaf";
/// Inside the venv: the hash of the requirements it was built from.
const STAMP_FILE: &str = ".requirements-fnv1a64";

/// The browser end-to-end tests (Node's test runner + playwright-core).
const E2E_DIR: &str = "tests/e2e";
/// The generator of the console's map.
const MAP_DIR: &str = "tools/americas-map";
/// Where Debian's `chromium` package puts the browser the e2e tests drive.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's nftables: the fault tests cut links with drop rules inside network namespaces.
const NFT: &str = "/usr/sbin/nft";
/// Debian's faketime: the fault tests run one node with its wall clock off.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
/// Inside `tests/e2e/node_modules`: the hash of the package.json + package-lock.json it was
/// installed from.
const NPM_STAMP_FILE: &str = ".package-lock-fnv1a64";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => TestOptions::parse(&args[1..]).and_then(|o| test(&o)),
        Some("fuzz") if args.len() <= 2 => args
            .get(1)
            .map_or(Ok(60), |s| {
                s.parse::<u32>()
                    .map_err(|_| anyhow::anyhow!("`cargo xtask fuzz [SECONDS]`: not a number: {s}"))
            })
            .and_then(fuzz),
        Some("interop-venv") if args.len() == 1 => ensure_interop_venv().map(|python| {
            println!("{}", python.display());
        }),
        Some("e2e") if args.len() == 1 => e2e(),
        Some("deny") if args.len() == 1 => deny(),
        Some("bench") => bench(&args[1..]),
        Some("soak") if args.len() <= 2 => match soak_minutes(args.get(1).map(String::as_str)) {
            Ok(minutes) => soak(minutes),
            Err(why) => {
                eprintln!("cargo xtask soak: {why}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's manifest directory).
fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The cargo that runs us (so toolchain overrides carry over), else `cargo` from `PATH`.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

fn step_header(name: &str) {
    println!("\n==> {name}");
}

/// Runs `command`, failing with `what` if it cannot start or exits unsuccessfully.
fn run(what: &str, command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("{what}: cannot run {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} ({status})");
    }
    Ok(())
}

/// Runs one named step with a header; its error names the step.
fn step<T>(name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    step_header(name);
    body().with_context(|| format!("step \"{name}\""))
}

#[derive(Debug, Default)]
struct TestOptions {
    no_fmt: bool,
    no_clippy: bool,
    no_e2e: bool,
    no_soak: bool,
}

impl TestOptions {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        for arg in args {
            match arg.as_str() {
                "--no-fmt" => options.no_fmt = true,
                "--no-clippy" => options.no_clippy = true,
                "--no-e2e" => options.no_e2e = true,
                "--no-soak" => options.no_soak = true,
                other => bail!("unknown option {other:?} for `test`\n\n{USAGE}"),
            }
        }
        Ok(options)
    }
}

fn test(options: &TestOptions) -> Result<()> {
    if options.no_fmt {
        step_header("cargo fmt: skipped (--no-fmt)");
    } else {
        step("cargo fmt --all -- --check", || {
            run(
                "formatting differs; run `cargo fmt --all`",
                cargo().args(["fmt", "--all", "--", "--check"]),
            )
        })?;
    }
    if options.no_clippy {
        step_header("cargo clippy: skipped (--no-clippy)");
    } else {
        step("cargo clippy --workspace --all-targets", || {
            run(
                "clippy found problems",
                cargo().args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]),
            )
        })?;
    }
    step(
        "cargo deny: advisories, licences, banned crates and duplicates, sources",
        deny,
    )?;
    let python = step("interop Python venv", ensure_interop_venv)?;
    step("BSI CSAF validator (npm)", || {
        ensure_node_modules(CSAF_VALIDATOR_DIR, "@secvisogram/csaf-validator-lib")
    })?;
    step("cargo nextest available", ensure_nextest)?;
    step(
        "nftables and faketime for the fault tests (apt)",
        ensure_fault_tools,
    )?;
    step("cargo nextest run --workspace", || {
        run(
            "tests failed",
            cargo()
                .args(["nextest", "run", "--workspace", "--no-fail-fast"])
                .env("ATALAYA_INTEROP_PYTHON", &python)
                .env(
                    "ATALAYA_CSAF_VALIDATOR_DIR",
                    root().join(CSAF_VALIDATOR_DIR),
                ),
        )
    })?;
    step(
        "schemathesis: every /api/v1 operation of a live node, against its OpenAPI document",
        || schemathesis(&python),
    )?;
    if options.no_soak {
        step_header("soak: skipped (--no-soak)");
    } else {
        soak(SOAK_MINUTES_IN_TEST)?;
    }
    step("cargo test --workspace --doc", || {
        run(
            "doc tests failed",
            cargo().args(["test", "--workspace", "--doc"]),
        )
    })?;
    step("cargo fuzz: every parser's fuzz target, briefly", || {
        fuzz(FUZZ_SECONDS_IN_TEST)
    })?;
    if options.no_e2e {
        step_header("browser end-to-end tests: skipped (--no-e2e)");
    } else {
        e2e_steps()?;
    }
    println!("\nxtask: all test steps passed");
    Ok(())
}

/// How long `cargo xtask test` runs the soak, in minutes.
const SOAK_MINUTES_IN_TEST: u32 = 2;
/// The soak's length when `cargo xtask soak` is given none (DESIGN §9: no growth over ten).
const SOAK_MINUTES_DEFAULT: u32 = 10;
/// The longest soak `cargo xtask soak` accepts: a day.
const SOAK_MINUTES_MAX: u32 = 1440;

/// The MINUTES of `cargo xtask soak [MINUTES]`: a whole number from 1 to a day; the reason
/// otherwise (the caller exits with 2).
fn soak_minutes(arg: Option<&str>) -> std::result::Result<u32, String> {
    let Some(arg) = arg else {
        return Ok(SOAK_MINUTES_DEFAULT);
    };
    match arg.trim().parse::<i64>() {
        Err(_) => Err(format!(
            "MINUTES must be a whole number of minutes from 1 to {SOAK_MINUTES_MAX}, not {arg:?}"
        )),
        Ok(m) if m < 1 => Err(format!(
            "MINUTES must be at least 1 (a soak of {m} minutes measures nothing)"
        )),
        Ok(m) if m > i64::from(SOAK_MINUTES_MAX) => Err(format!(
            "MINUTES must be at most {SOAK_MINUTES_MAX} (a day), not {m}"
        )),
        Ok(m) => u32::try_from(m).map_err(|_| format!("MINUTES out of range: {m}")),
    }
}

/// `atalaya soak` (debug build, the one the tests use) for `minutes`; its error names the
/// bounds exceeded and the report.
fn soak(minutes: u32) -> Result<()> {
    step(
        &format!("soak: cargo run -p atalaya -- soak --minutes {minutes} --out target/soak"),
        || {
            run(
                "the soak exceeded its bounds or could not run (target/soak/soak.json says \
                 which; the nodes' logs stay in target/soak/network/)",
                cargo().args([
                    "run",
                    "-p",
                    "atalaya",
                    "--bin",
                    "atalaya",
                    "--",
                    "soak",
                    "--minutes",
                    &minutes.to_string(),
                    "--out",
                    "target/soak",
                ]),
            )
        },
    )
}

/// How long `cargo xtask test` runs each fuzz target.
const FUZZ_SECONDS_IN_TEST: u32 = 10;

/// Builds the fuzz targets of `fuzz/` with `cargo +nightly fuzz` (installing cargo-fuzz when
/// missing) and runs each for `seconds`, seeded from `fuzz/seeds/<target>/` when that exists.
/// A crash fails the step and leaves the input in `fuzz/artifacts/<target>/`.
fn fuzz(seconds: u32) -> Result<()> {
    let fuzz_dir = root().join("fuzz");
    let has_cargo_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        run(
            "cargo install cargo-fuzz failed",
            cargo().args(["install", "cargo-fuzz", "--locked"]),
        )?;
    }
    let listed = Command::new("cargo")
        .args(["+nightly", "fuzz", "list"])
        .current_dir(&fuzz_dir)
        .output()
        .context("cannot run `cargo +nightly fuzz list` (is the nightly toolchain installed?)")?;
    if !listed.status.success() {
        bail!(
            "`cargo +nightly fuzz list` failed: {}",
            String::from_utf8_lossy(&listed.stderr)
        );
    }
    let targets: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        bail!("`cargo fuzz list` found no fuzz target in fuzz/");
    }
    run(
        "cargo fuzz build failed",
        Command::new("cargo")
            .args(["+nightly", "fuzz", "build", "-O"])
            .current_dir(&fuzz_dir),
    )?;
    for target in &targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        fs::create_dir_all(&corpus)
            .with_context(|| format!("cannot create {}", corpus.display()))?;
        let mut command = Command::new("cargo");
        command
            .args(["+nightly", "fuzz", "run", "-O", target])
            .arg(&corpus);
        let seeds = fuzz_dir.join("seeds").join(target);
        if seeds.is_dir() {
            command.arg(&seeds);
        }
        command
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048")
            .arg("-max_len=65536")
            .current_dir(&fuzz_dir);
        run(&format!("fuzz target {target} found a crash"), &mut command)?;
    }
    println!("fuzzed {} targets for {seconds} s each", targets.len());
    Ok(())
}

/// Test cases schemathesis generates per operation and phase (bounded so the run takes a few
/// minutes).
const SCHEMATHESIS_MAX_EXAMPLES: u32 = 25;

/// A child process killed when dropped (the node schemathesis tests).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds `atalaya`, makes a node in `target/schemathesis/node` (`atalaya init`), gives it an
/// API token (`atalaya token create`), serves it, and runs schemathesis (from the interop venv)
/// on its `/api/v1/openapi.json` with the token: every operation, positive and negative
/// inputs; any 5xx or a reply that does not match the document fails the step. The node's log
/// is `target/schemathesis/node.log`; the JUnit report is in `target/schemathesis/report/`.
fn schemathesis(python: &Path) -> Result<()> {
    let bin = build_atalaya()?;
    let dir = root().join("target/schemathesis");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("cannot find a free port")?
        .port();
    let node = dir.join("node");
    let listen = format!("127.0.0.1:{port}");
    run(
        "atalaya init failed",
        Command::new(&bin)
            .arg("init")
            .arg("--dir")
            .arg(&node)
            .args([
                "--id",
                "coordinator",
                "--country",
                "US",
                "--team",
                "schemathesis",
            ])
            .args([
                "--listen",
                &listen,
                "--coordinator",
                "--allow-private-peers",
            ])
            .stdout(std::process::Stdio::null()),
    )?;
    let config = node.join("config.toml");
    let created = Command::new(&bin)
        .arg("token")
        .arg("create")
        .arg("--config")
        .arg(&config)
        .args(["--name", "schemathesis"])
        .output()
        .context("cannot run atalaya token create")?;
    if !created.status.success() {
        bail!(
            "atalaya token create failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
    }
    let token = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let log = fs::File::create(dir.join("node.log")).context("cannot create node.log")?;
    let _node = KillOnDrop(
        Command::new(&bin)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("ATALAYA_LOG", "info")
            // schemathesis is one client sending many requests: no API rate limit in the way.
            .env("ATALAYA_HTTP__API_REQUESTS_PER_MINUTE", "1000000")
            .env(
                "ATALAYA_HTTP__API_REQUESTS_PER_MINUTE_PER_ADDRESS",
                "1000000",
            )
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start atalaya serve")?,
    );
    let st = python.with_file_name("st");
    run(
        "schemathesis found a 5xx or a reply that does not match the OpenAPI document (see \
         above; the node's log is target/schemathesis/node.log)",
        Command::new(st)
            .arg("run")
            .arg(format!("http://{listen}/api/v1/openapi.json"))
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .args(["--phases", "examples,coverage,fuzzing"])
            .arg("--header")
            .arg(format!("Authorization: Bearer {token}"))
            .args(["--max-examples", &SCHEMATHESIS_MAX_EXAMPLES.to_string()])
            .args(["--seed", "14"])
            .args(["--workers", "2"])
            .args(["--wait-for-schema", "60"])
            .args(["--request-timeout", "30"])
            .args(["--report", "junit"])
            .arg("--report-dir")
            .arg(dir.join("report"))
            .current_dir(&dir),
    )
}

/// `cargo xtask e2e`.
fn e2e() -> Result<()> {
    e2e_steps()?;
    println!("\nxtask: browser end-to-end tests passed");
    Ok(())
}

/// The map of the Americas the console embeds is generated from Natural Earth data by
/// `tools/americas-map/gen.mjs`; regenerate it and compare with the committed file.
fn map_drift_check() -> Result<()> {
    ensure_node_modules(MAP_DIR, "world-atlas")?;
    run(
        "crates/atalaya-web/assets/americas-map.json differs from what tools/americas-map/gen.mjs \
         makes: run `node gen.mjs` there and commit the result",
        Command::new("node")
            .args(["gen.mjs", "--check"])
            .current_dir(root().join(MAP_DIR)),
    )
}

/// Chromium, node_modules, the `atalaya` binary, then `node --test` over `tests/e2e/`.
fn e2e_steps() -> Result<()> {
    step("Americas map: generated file up to date", map_drift_check)?;
    step(&format!("Chromium ({CHROMIUM})"), ensure_chromium)?;
    step(
        &format!("node_modules in {E2E_DIR}"),
        ensure_e2e_node_modules,
    )?;
    let bin = step("cargo build -p atalaya", build_atalaya)?;
    step(
        &format!("node --test --test-concurrency=1 {E2E_DIR}/"),
        || {
            run(
                "browser end-to-end tests failed (node logs are in the failure messages; \
                 ATALAYA_E2E_KEEP=1 keeps the node directories)",
                Command::new("node")
                    .args([
                        "--test".as_ref(),
                        "--test-concurrency=1".as_ref(),
                        OsStr::new(&format!("{E2E_DIR}/")),
                    ])
                    .current_dir(root())
                    .env("ATALAYA_BIN", &bin),
            )
        },
    )
}

/// Makes sure Debian's Chromium is at `/usr/bin/chromium` (see [`ensure_debian_package`]).
fn ensure_chromium() -> Result<()> {
    ensure_debian_package("chromium", CHROMIUM)?;
    let chromium = Path::new(CHROMIUM);
    let version = Command::new(chromium)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match version {
        Some(v) => println!("{CHROMIUM}: {v}"),
        None => bail!("{CHROMIUM} is there but `{CHROMIUM} --version` fails"),
    }
    Ok(())
}

/// Makes sure the Debian package `package` is installed, judged by the file `provides`: installs
/// it with apt-get when that file is missing (running `apt-get update` only if that first
/// install fails). Needs root; otherwise says what to install.
fn ensure_debian_package(package: &str, provides: &str) -> Result<()> {
    if Path::new(provides).exists() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "{provides} is missing and this is not root: install Debian's {package} with \
             `sudo apt-get install -y --no-install-recommends {package}`, then run again"
        );
    }
    println!("{provides} is missing: installing Debian's {package} package");
    let install = || {
        run(
            &format!("apt-get install {package} failed"),
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", package])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if let Err(first) = install() {
        println!("{first:#}: running apt-get update and trying again");
        run(
            "apt-get update failed",
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        install()?;
    }
    if !Path::new(provides).exists() {
        bail!("the {package} package is installed but {provides} is still missing");
    }
    Ok(())
}

/// What the fault tests (`crates/atalaya/tests/faults.rs`) need besides iproute2: `nft` for
/// partitions and libfaketime for a node with its clock off.
fn ensure_fault_tools() -> Result<()> {
    ensure_debian_package("nftables", NFT)?;
    ensure_debian_package("faketime", LIBFAKETIME)
}

/// Whether we run as root (`id -u` is 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `npm ci` in `tests/e2e` when needed.
fn ensure_e2e_node_modules() -> Result<()> {
    ensure_node_modules(E2E_DIR, "playwright-core")
}

/// Runs `npm ci` in `rel_dir` unless its `node_modules` was installed from the same
/// package.json and package-lock.json (a stamp with their hash, written after a good install)
/// and holds `marker` (a package it needs).
fn ensure_node_modules(rel_dir: &str, marker: &str) -> Result<()> {
    let dir = root().join(rel_dir);
    let node_version = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .context("`node --version` fails: the browser tests need Node.js 20 or later (and npm)")?;
    println!("node {node_version}");
    let mut inputs = Vec::new();
    for file in ["package.json", "package-lock.json"] {
        let path = dir.join(file);
        inputs.extend(fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?);
    }
    let wanted = fnv1a64_hex(&inputs);
    let modules = dir.join("node_modules");
    let stamp = modules.join(NPM_STAMP_FILE);
    let current = fs::read_to_string(&stamp).unwrap_or_default();
    if current.trim() == wanted && modules.join(marker).join("package.json").is_file() {
        println!(
            "{} is up to date with package-lock.json ({wanted})",
            modules.display()
        );
        return Ok(());
    }
    println!("node_modules missing or older than package-lock.json: npm ci");
    run(
        "npm ci failed (is npm installed?)",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
    )?;
    // Written last: an interrupted install leaves no stamp and is redone next time.
    fs::write(&stamp, format!("{wanted}\n"))
        .with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(())
}

/// `cargo build -p atalaya` (debug); returns the binary's path as cargo reports it (so
/// `CARGO_TARGET_DIR` and friends are honoured).
fn build_atalaya() -> Result<PathBuf> {
    let output = cargo()
        .args([
            "build",
            "-p",
            "atalaya",
            "--bin",
            "atalaya",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    if !output.status.success() {
        bail!("cargo build -p atalaya failed ({})", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let bin = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "atalaya")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .context("cargo build did not report the atalaya executable")?;
    println!("ATALAYA_BIN={}", bin.display());
    Ok(bin)
}

/// Makes sure `target/interop-venv` has exactly the pinned requirements, rebuilding it when
/// `requirements.txt` changed (or the venv is missing or broken). Returns its interpreter.
fn ensure_interop_venv() -> Result<PathBuf> {
    let root = root();
    let venv = root.join(VENV_DIR);
    let python = venv.join("bin").join("python");
    let requirements = root.join(REQUIREMENTS);
    let wanted = fnv1a64_hex(
        &fs::read(&requirements)
            .with_context(|| format!("cannot read {}", requirements.display()))?,
    );
    let stamp = venv.join(STAMP_FILE);
    let current = fs::read_to_string(&stamp).unwrap_or_default();
    if current.trim() == wanted && python_works(&python) {
        eprintln!(
            "{} is up to date with {REQUIREMENTS} ({wanted})",
            venv.display()
        );
        return Ok(python);
    }

    if venv.exists() {
        eprintln!(
            "{REQUIREMENTS} changed or the venv is incomplete: recreating {}",
            venv.display()
        );
        fs::remove_dir_all(&venv).with_context(|| format!("cannot remove {}", venv.display()))?;
    }
    run(
        "cannot create the venv (is python3 with the venv module installed?)",
        Command::new("python3")
            .args([OsStr::new("-m"), "venv".as_ref(), venv.as_os_str()])
            .stdout(std::io::stderr()),
    )?;
    run(
        "pip install failed",
        Command::new(&python)
            .args([
                OsStr::new("-m"),
                "pip".as_ref(),
                "install".as_ref(),
                "--disable-pip-version-check".as_ref(),
                "--quiet".as_ref(),
                "--requirement".as_ref(),
                requirements.as_os_str(),
            ])
            .stdout(std::io::stderr()),
    )?;
    // Written last: an interrupted install leaves no stamp and is redone next time.
    fs::write(&stamp, format!("{wanted}\n"))
        .with_context(|| format!("cannot write {}", stamp.display()))?;
    eprintln!("installed {REQUIREMENTS} into {}", venv.display());
    Ok(python)
}

fn python_works(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import rfc8785, cryptography, http_message_signatures",
        ])
        .stdout(std::io::stderr())
        .status()
        .is_ok_and(|s| s.success())
}

/// FNV-1a (64-bit) of `bytes` as hex: stable across Rust versions, unlike `DefaultHasher`, and
/// enough to notice an edited requirements file.
fn fnv1a64_hex(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut out = String::with_capacity(16);
    let _ = write!(out, "{hash:016x}");
    out
}

fn ensure_nextest() -> Result<()> {
    let available = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if available {
        println!("cargo-nextest is installed");
        return Ok(());
    }
    println!("cargo-nextest not found: installing it");
    run(
        "cargo install cargo-nextest failed",
        cargo().args(["install", "cargo-nextest", "--locked"]),
    )
}

/// `cargo deny check` against `deny.toml`, installing cargo-deny when missing. The RustSec
/// advisory database is fetched from GitHub; on a machine that cannot reach GitHub, from the
/// local git copy of it named by `ATALAYA_ADVISORY_DB` (a clone or mirror of
/// github.com/rustsec/advisory-db), through a copy of `deny.toml` that points there. With
/// neither, the step fails and says so: a dependency check without advisories is not one.
fn deny() -> Result<()> {
    let available = cargo()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        println!("cargo-deny not found: installing it");
        run(
            "cargo install cargo-deny failed",
            cargo().args(["install", "cargo-deny", "--locked"]),
        )?;
    }
    let fetched = cargo()
        .args(["deny", "fetch", "db"])
        .status()
        .is_ok_and(|s| s.success());
    if fetched {
        return run("cargo deny found problems", cargo().args(["deny", "check"]));
    }
    let Some(local) = std::env::var_os("ATALAYA_ADVISORY_DB") else {
        bail!(
            "the RustSec advisory database could not be fetched from GitHub, and \
             ATALAYA_ADVISORY_DB names no local copy of it (a git clone of \
             https://github.com/rustsec/advisory-db)"
        );
    };
    let local = fs::canonicalize(&local)
        .with_context(|| format!("ATALAYA_ADVISORY_DB={}", Path::new(&local).display()))?;
    println!(
        "GitHub is out of reach: using the advisory database at {} (its date is checked by \
         cargo deny like a fetched one's)",
        local.display()
    );
    // cargo deny keeps each database in `<db-path>/<name>-<hash of its URL>`; this is where
    // it looks for the GitHub one (a wrong name fails loudly below: no database to open).
    let dbs = root().join("target/advisory-dbs");
    let db = dbs.join(ADVISORY_DB_DIR);
    if db.exists() {
        fs::remove_dir_all(&db).with_context(|| format!("removing {}", db.display()))?;
    }
    fs::create_dir_all(&dbs).with_context(|| format!("creating {}", dbs.display()))?;
    run(
        "cloning the local advisory database failed",
        Command::new("git")
            .args(["clone", "--quiet", "--depth=1"])
            .arg(format!("file://{}", local.display()))
            .arg(&db),
    )?;
    let config = fs::read_to_string(root().join("deny.toml")).context("reading deny.toml")?;
    let default_path = "db-path = \"$CARGO_HOME/advisory-dbs\"";
    if !config.contains(default_path) {
        bail!("deny.toml no longer keeps its database at `{default_path}`: update xtask");
    }
    let local_config = config.replace(default_path, &format!("db-path = \"{}\"", dbs.display()));
    let config_path = root().join("target/deny-local.toml");
    fs::write(&config_path, local_config).context("writing target/deny-local.toml")?;
    let config_arg = config_path.display().to_string();
    // `--offline` keeps cargo deny from GitHub, and also from crates.io: every crate of the
    // lock file, for every target (Windows and wasm ones too), must be in the local registry.
    run(
        "cargo fetch failed (cargo deny reads every crate of the lock file)",
        cargo().args(["fetch", "--locked"]),
    )?;
    run(
        "cargo deny found problems",
        cargo().args(["deny", "--offline", "--config", &config_arg, "check"]),
    )
}

/// The directory cargo deny (0.20) clones the RustSec database from GitHub into.
const ADVISORY_DB_DIR: &str = "advisory-db-3157b0e258782691";

/// The benchmark needs the interop venv (medallion, for `taxii`): set it up first, as `test`
/// does, and hand its interpreter to the benchmark.
fn bench(extra: &[String]) -> Result<()> {
    let python = step("interop Python venv", ensure_interop_venv)?;
    step(
        &format!(
            "cargo run --release -p atalaya -- bench --out target/bench {}",
            extra.join(" ")
        ),
        || {
            run(
                "the benchmark failed",
                cargo()
                    .args([
                        "run",
                        "--release",
                        "-p",
                        "atalaya",
                        "--",
                        "bench",
                        "--out",
                        "target/bench",
                    ])
                    .args(extra)
                    .env("ATALAYA_INTEROP_PYTHON", &python),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_values() {
        assert_eq!(fnv1a64_hex(b""), "cbf29ce484222325");
        assert_eq!(fnv1a64_hex(b"a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn test_options() {
        let o = TestOptions::parse(&["--no-clippy".into()]).unwrap();
        assert!(o.no_clippy && !o.no_fmt && !o.no_e2e);
        let o = TestOptions::parse(&["--no-e2e".into()]).unwrap();
        assert!(o.no_e2e && !o.no_clippy);
        assert!(TestOptions::parse(&["--fast".into()]).is_err());
        let o = TestOptions::parse(&["--no-soak".into()]).unwrap();
        assert!(o.no_soak && !o.no_e2e);
    }

    #[test]
    fn soak_minutes_are_a_whole_number_from_one_to_a_day() {
        assert_eq!(soak_minutes(None), Ok(SOAK_MINUTES_DEFAULT));
        assert_eq!(soak_minutes(Some("2")), Ok(2));
        assert_eq!(soak_minutes(Some("1440")), Ok(1440));
        for (bad, says) in [
            ("abc", "whole number"),
            ("1.5", "whole number"),
            ("", "whole number"),
            ("0", "at least 1"),
            ("-5", "at least 1"),
            ("1441", "at most 1440"),
            ("99999999999999999999", "whole number"),
        ] {
            let why = soak_minutes(Some(bad)).unwrap_err();
            assert!(why.contains(says), "{bad:?}: {why}");
        }
    }

    #[test]
    fn paths_exist() {
        assert!(root().join(REQUIREMENTS).is_file());
        assert!(root().join(E2E_DIR).join("package-lock.json").is_file());
        assert!(root().join("Cargo.toml").is_file());
    }
}
