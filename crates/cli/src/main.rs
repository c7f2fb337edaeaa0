//! The `pkilab` command line: parses arguments, calls the libraries, prints.
//!
//! Exit codes are part of the interface: 0 success, 1 a negative verdict
//! (an invalid certificate, a failed expectation), 2 unusable input.
#![forbid(unsafe_code)]

mod passphrase;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// pkilab: a certificate authority, a key-management service and a simulated
/// PKI network.
#[derive(Debug, Parser)]
#[command(name = "pkilab", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {}
}
