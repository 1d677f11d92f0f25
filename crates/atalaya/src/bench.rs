//! Benchmarks (placeholder until written).
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// `atalaya bench`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Output directory.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
}

/// Run the benchmarks.
pub async fn run(_a: BenchArgs) -> Result<()> {
    anyhow::bail!("not yet")
}
