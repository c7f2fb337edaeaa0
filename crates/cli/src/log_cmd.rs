//! `pkilab log`: inclusion proofs, consistency checks and monitoring of a
//! CA's transparency log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pkilab_ca::store::{open_log, read_log_key};
use pkilab_tlog::merkle::verify_consistency;
use pkilab_tlog::note::{self, Checkpoint};
use pkilab_tlog::{InclusionProof, Log};
use pkilab_verify::pem_input::blocks;

/// Prove, verify and monitor a CA's transparency log.
#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Write an inclusion proof of a certificate against the current
    /// checkpoint.
    Prove {
        /// The CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// The certificate (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
        /// Where to write the proof (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check an inclusion proof (--cert, --proof), or the consistency of
    /// two checkpoints (--old, --new) against the log in --dir.
    Verify {
        /// The log's public key (`DIR/log.pub`).
        #[arg(long)]
        log_key: PathBuf,
        /// The certificate a proof is for.
        #[arg(long, requires = "proof")]
        cert: Option<PathBuf>,
        /// The inclusion proof (`pkilab log prove`).
        #[arg(long, requires = "cert")]
        proof: Option<PathBuf>,
        /// An earlier signed checkpoint.
        #[arg(long, requires = "new", conflicts_with = "cert")]
        old: Option<PathBuf>,
        /// A later signed checkpoint.
        #[arg(long, requires = "old")]
        new: Option<PathBuf>,
        /// The log whose tree proves the two checkpoints consistent.
        #[arg(long, requires = "old")]
        dir: Option<PathBuf>,
    },
    /// Follow the log from a saved checkpoint: check that it only grew, and
    /// report every new certificate naming NAME.
    Monitor {
        /// The CA directory whose log is followed.
        #[arg(long)]
        dir: PathBuf,
        /// The name to watch for (subject CN, DNS name or e-mail address).
        #[arg(long)]
        name: String,
        /// The checkpoint seen last; read if present, then replaced.
        #[arg(long)]
        state: PathBuf,
        /// Checkpoints other parties saw (gossip): each must be consistent
        /// with this log, or it is reported as a split view.
        #[arg(long = "gossip", value_name = "CHECKPOINT")]
        gossip: Vec<PathBuf>,
    },
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn certificate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut found = blocks(&bytes, "CERTIFICATE")
        .with_context(|| format!("{}: expected a certificate in PEM or DER", path.display()))?;
    Ok(found.remove(0))
}

/// Runs `log`: exit 0 proven, 1 refuted (not logged, inconsistent, a split
/// view), 2 unusable input.
pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        LogCommand::Prove { dir, cert, out } => {
            let log = open_log(&dir)?;
            let proof = log.prove(&certificate(&cert)?).with_context(|| {
                format!("{}: not in the log of {}", cert.display(), dir.display())
            })?;
            match out {
                Some(path) => std::fs::write(&path, proof.encode())
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => out!("{}", proof.encode()),
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Verify {
            log_key,
            cert,
            proof,
            old,
            new,
            dir,
        } => {
            let key = read_log_key(&log_key)?;
            match (cert, proof, old, new) {
                (Some(cert), Some(proof), ..) => inclusion(&key, &cert, &proof),
                (.., Some(old), Some(new)) => {
                    let Some(dir) = dir else {
                        bail!("--old/--new need --dir: the log whose tree proves them consistent");
                    };
                    let log = Log::open(&dir.join("log"), &key)?;
                    let old = note::open(&read_text(&old)?, &key).context("--old")?;
                    let new = note::open(&read_text(&new)?, &key).context("--new")?;
                    report_consistency(&log, &old, &new)
                }
                _ => bail!("give --cert and --proof, or --old, --new and --dir"),
            }
        }
        LogCommand::Monitor {
            dir,
            name,
            state,
            gossip,
        } => crate::log_monitor::monitor(&dir, &name, &state, &gossip),
    }
}

fn inclusion(
    key: &ed25519_dalek::VerifyingKey,
    cert: &Path,
    proof: &Path,
) -> anyhow::Result<ExitCode> {
    let proof =
        InclusionProof::parse(&read_text(proof)?).with_context(|| proof.display().to_string())?;
    match proof.verify(&certificate(cert)?, key) {
        Ok(checkpoint) => {
            outln!(
                "logged: entry {} of {} in {}",
                proof.index,
                checkpoint.size,
                checkpoint.origin
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            outln!("not-logged: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Whether the log's tree shows `old` to be a prefix of `new`.
pub(crate) fn consistent(log: &Log, old: &Checkpoint, new: &Checkpoint) -> Result<(), String> {
    if old.origin != new.origin {
        return Err(format!("two logs: '{}' and '{}'", old.origin, new.origin));
    }
    if old.size > new.size {
        return Err(format!(
            "the log shrank from {} to {} entries",
            old.size, new.size
        ));
    }
    if old.size == 0 {
        return Ok(());
    }
    let tree = log.tree();
    let proof = tree
        .consistency_proof(old.size, new.size)
        .ok_or_else(|| format!("the log holds fewer than {} entries", new.size))?;
    verify_consistency(&proof, (old.size, &old.root[..]), (new.size, &new.root[..]))
        .map_err(|e| format!("checkpoints of {} and {} entries: {e}", old.size, new.size))
}

fn report_consistency(log: &Log, old: &Checkpoint, new: &Checkpoint) -> anyhow::Result<ExitCode> {
    match consistent(log, old, new) {
        Ok(()) => {
            outln!(
                "consistent: {} entries extend to {} in {}",
                old.size,
                new.size,
                new.origin
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            outln!("inconsistent: {why}");
            Ok(ExitCode::from(1))
        }
    }
}
