//! `pkilab x509 limbo FILE.json`: the x509-limbo harness.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use pkilab_verify::limbo::Limbo;

/// X.509 conformance tools.
#[derive(Debug, Args)]
pub struct X509Args {
    #[command(subcommand)]
    command: X509Command,
}

#[derive(Debug, Subcommand)]
enum X509Command {
    /// Run an x509-limbo file and print the harness result JSON; a summary
    /// and every disagreement with `expected_result` go to stderr.
    Limbo {
        /// The limbo JSON file.
        file: PathBuf,
    },
}

/// Runs `x509`.
pub fn run(args: X509Args) -> anyhow::Result<ExitCode> {
    match args.command {
        X509Command::Limbo { file } => limbo(&file),
    }
}

fn limbo(file: &PathBuf) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let limbo = Limbo::from_json(&text).with_context(|| {
        format!(
            "{}: not an x509-limbo file (see limbo-schema.json)",
            file.display()
        )
    })?;
    let report = limbo.run();
    outln!("{}", serde_json::to_string_pretty(&report)?);
    let disagreements = report.disagreements(&limbo);
    for d in &disagreements {
        eprintln!(
            "disagree {}: expected {}, got {} ({})",
            d.id, d.expected, d.actual, d.context
        );
    }
    eprintln!(
        "{}: {} cases, {} skipped, {} disagreements",
        file.display(),
        report.results.len(),
        report.skipped(),
        disagreements.len()
    );
    Ok(ExitCode::SUCCESS)
}
