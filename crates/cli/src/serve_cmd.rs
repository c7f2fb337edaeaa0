//! `pkilab serve`: the HTTPS API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use pkilab_server::Config;

use crate::passphrase;

/// Serve the CA and KMS over HTTPS with mTLS from the CA in --ca-dir, or,
/// without --ca-dir, from the CA in --db (`pkilab ca init --db`): then
/// any number of servers can share one PostgreSQL database.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The CA directory (`pkilab ca init --dir`); its CRL is watched.
    /// Without it, the CA is the one in --db.
    #[arg(long)]
    ca_dir: Option<PathBuf>,
    /// The key store: a SQLite file (created when missing) or postgres://
    /// URL; without --ca-dir, it holds the CA too.
    #[arg(long)]
    db: String,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// YAML configuration: admins, rate-limit, body-limit, timeouts.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Read the passphrase (CA and key store) from this file.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Read the key store's passphrase from this file when it differs
    /// from the CA's (after `pkilab kms passphrase`); PKILAB_KMS_PASSPHRASE
    /// also sets it.
    #[arg(long)]
    kms_passphrase_file: Option<PathBuf>,
}

/// Runs `serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => Config::load(path).map_err(anyhow::Error::msg)?,
        None => Config::default(),
    };
    // Refusals and errors go to stderr; RUST_LOG=debug shows more.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .try_init();
    let secret = passphrase::obtain(args.passphrase_file.as_deref(), false)?;
    let kms_secret = match (
        &args.kms_passphrase_file,
        std::env::var("PKILAB_KMS_PASSPHRASE"),
    ) {
        (Some(path), _) => passphrase::obtain(Some(path), false)?,
        (None, Ok(value)) if !value.is_empty() => zeroize::Zeroizing::new(value),
        _ => secret.clone(),
    };
    let kdf_kib = crate::kms_cmd::argon2_memory()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let source = match &args.ca_dir {
            Some(dir) => pkilab_server::CaSource::Directory(dir),
            None => pkilab_server::CaSource::Database,
        };
        let server = pkilab_server::bind_ca(
            source,
            &args.db,
            args.listen,
            config,
            (secret, kms_secret),
            kdf_kib,
        )
        .await?;
        outln!("listening on https://{}", server.local_addr()?);
        server.run().await?;
        Ok(ExitCode::SUCCESS)
    })
}
