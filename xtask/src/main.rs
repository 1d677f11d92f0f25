//! Project tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! * `test [--no-fmt] [--no-clippy]`: formatting, clippy, the Python venv with the independent
//!   implementations used by the interop tests, then every test (nextest + doc tests).
//! * `interop-venv`: only set up that venv and print its interpreter, for running the interop
//!   tests alone: `ATALAYA_INTEROP_PYTHON=$(cargo xtask interop-venv) cargo test -p
//!   atalaya-crypto --test interop`.
//! * `bench`: the release-build benchmark (`atalaya bench --out target/bench`).

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test [--no-fmt] [--no-clippy]   fmt check, clippy, interop venv, nextest and doc tests
  interop-venv                    set up target/interop-venv, print its python
  bench                           cargo run --release -p atalaya -- bench --out target/bench";

/// The Python venv with the independent RFC 8785 / Ed25519 / RFC 9421 implementations.
const VENV_DIR: &str = "target/interop-venv";
const REQUIREMENTS: &str = "tests/interop/requirements.txt";
/// Inside the venv: the hash of the requirements it was built from.
const STAMP_FILE: &str = ".requirements-fnv1a64";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => TestOptions::parse(&args[1..]).and_then(|o| test(&o)),
        Some("interop-venv") if args.len() == 1 => ensure_interop_venv().map(|python| {
            println!("{}", python.display());
        }),
        Some("bench") if args.len() == 1 => bench(),
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
}

impl TestOptions {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        for arg in args {
            match arg.as_str() {
                "--no-fmt" => options.no_fmt = true,
                "--no-clippy" => options.no_clippy = true,
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
    let python = step("interop Python venv", ensure_interop_venv)?;
    step("cargo nextest available", ensure_nextest)?;
    step("cargo nextest run --workspace", || {
        run(
            "tests failed",
            cargo()
                .args(["nextest", "run", "--workspace", "--no-fail-fast"])
                .env("ATALAYA_INTEROP_PYTHON", &python),
        )
    })?;
    step("cargo test --workspace --doc", || {
        run(
            "doc tests failed",
            cargo().args(["test", "--workspace", "--doc"]),
        )
    })?;
    println!("\nxtask: all test steps passed");
    Ok(())
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

fn bench() -> Result<()> {
    step(
        "cargo run --release -p atalaya -- bench --out target/bench",
        || {
            run(
                "the benchmark failed",
                cargo().args([
                    "run",
                    "--release",
                    "-p",
                    "atalaya",
                    "--",
                    "bench",
                    "--out",
                    "target/bench",
                ]),
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
        assert!(o.no_clippy && !o.no_fmt);
        assert!(TestOptions::parse(&["--fast".into()]).is_err());
    }

    #[test]
    fn paths_exist() {
        assert!(root().join(REQUIREMENTS).is_file());
        assert!(root().join("Cargo.toml").is_file());
    }
}
