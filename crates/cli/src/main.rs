//! The `pkilab` command line: parses arguments, calls the libraries, prints.
//!
//! Exit codes are part of the interface: 0 success, 1 a negative verdict
//! (an invalid certificate, a failed expectation), 2 unusable input.
#![forbid(unsafe_code)]

/// `println!` that treats a closed pipe (`pkilab … | head`) as the end of
/// the output, not an error.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::emit(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` with the same treatment.
macro_rules! out {
    ($($arg:tt)*) => { $crate::emit(format_args!($($arg)*)) };
}

mod ca_cmd;
mod ca_db_cmd;
mod inspect_cmd;
mod kms_cmd;
mod kms_key_cmd;
mod log_cmd;
mod log_monitor;
mod ocsp_fetch;
mod passphrase;
mod scenario_cmd;
mod serve_cmd;
mod verify_cmd;
mod x509_cmd;

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
enum Command {
    /// Certificate authority: init, issue, revoke, crl, list.
    Ca(ca_cmd::CaArgs),
    /// Validate a certificate chain, with revocation, at a chosen time.
    // Boxed: its many options make it far larger than the other commands.
    Verify(Box<verify_cmd::VerifyArgs>),
    /// Describe a certificate, CRL, CSR or key.
    Inspect(inspect_cmd::InspectArgs),
    /// Key management: keys, lifecycle, encryption, signatures, audit.
    Kms(kms_cmd::KmsArgs),
    /// Transparency log: prove, verify and monitor what the CA issued.
    Log(log_cmd::LogArgs),
    /// Serve the CA and KMS over HTTPS (mTLS from our own CA).
    Serve(serve_cmd::ServeArgs),
    /// Run, check and list scenario files.
    Scenario(scenario_cmd::ScenarioArgs),
    /// X.509 conformance: the x509-limbo harness.
    X509(x509_cmd::X509Args),
}

/// Writes to standard output; a reader that went away ends the program
/// quietly, as `head` expects.
pub(crate) fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write standard output: {e}");
        std::process::exit(2);
    }
}

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
    match cli.command {
        Command::Ca(args) => ca_cmd::run(args),
        Command::Verify(args) => verify_cmd::run(*args),
        Command::Inspect(args) => inspect_cmd::run(args),
        Command::Kms(args) => kms_cmd::run(args),
        Command::Log(args) => log_cmd::run(args),
        Command::Scenario(args) => scenario_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::X509(args) => x509_cmd::run(args),
    }
}
