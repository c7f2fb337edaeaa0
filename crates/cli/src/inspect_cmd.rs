//! `pkilab inspect FILE`: a certificate, CRL, CSR or key, for a person.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

/// Describe a certificate, CRL, CSR or private key (PEM or DER).
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The file.
    file: PathBuf,
}

/// Runs `inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let text = pkilab_ca::inspect::describe(&bytes).with_context(|| {
        format!(
            "{}: not a certificate, CRL, CSR or key",
            args.file.display()
        )
    })?;
    out!("{text}");
    Ok(ExitCode::SUCCESS)
}
