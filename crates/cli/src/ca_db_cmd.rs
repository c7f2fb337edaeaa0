//! `pkilab ca … --db URL`: the same commands on a CA kept in a SQLite
//! file or PostgreSQL, and `pkilab ca migrate` from a directory.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use pkilab_ca::disk::write_atomic;
use pkilab_ca::store::{CaStore, InitOptions, IssueOptions};
use pkilab_ca::{CaDb, Serial};
use time::{Duration, OffsetDateTime};

use crate::ca_cmd::{CaCommand, iterations, print_chain, print_records, publication, suffixed};
use crate::passphrase;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs a `ca` subcommand on the CA in the database `db`.
pub(crate) fn run(command: CaCommand, db: &str, now: OffsetDateTime) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        match command {
            CaCommand::Init {
                name,
                intermediate,
                algorithm,
                days,
                url,
                crl_partitions,
                passphrase_file,
                ..
            } => {
                if days < 2 {
                    bail!("--days {days}: a CA needs at least 2 days");
                }
                let publication = publication(url.as_deref(), crl_partitions)?;
                let secret = passphrase::obtain(passphrase_file.as_deref(), true)?;
                let options = InitOptions {
                    name,
                    intermediate,
                    algorithm,
                    days,
                    iterations: iterations()?,
                };
                CaDb::init(db, &options, publication, secret.as_bytes(), now).await?;
                outln!("created {algorithm} CA in {}", pkilab_ca::sql::redact(db));
            }
            CaCommand::Issue {
                name,
                dns,
                ip,
                client,
                server,
                days,
                csr,
                out,
                passphrase_file,
                ..
            } => {
                if days < 1 {
                    bail!("--days {days}: give at least 1");
                }
                let store = CaDb::open(db).await?;
                let csr = csr
                    .map(|p| {
                        std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))
                    })
                    .transpose()?;
                let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
                let options = IssueOptions {
                    name,
                    dns,
                    ips: ip,
                    client,
                    server,
                    days,
                    csr,
                    iterations: iterations()?,
                };
                let issued = store.issue(&options, secret.as_bytes(), now).await?;
                write_issued(&out, &issued)?;
            }
            other => return rest(other, db, now).await,
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn write_issued(out: &Path, issued: &pkilab_ca::store::Issued) -> anyhow::Result<()> {
    write_atomic(&suffixed(out, ".crt"), issued.certificate.as_bytes(), false)?;
    write_atomic(&suffixed(out, ".chain.crt"), issued.chain.as_bytes(), false)?;
    if let Some(key) = &issued.key {
        write_atomic(&suffixed(out, ".key"), key.as_bytes(), true)?;
    }
    outln!(
        "issued serial {} to {}",
        issued.serial,
        suffixed(out, ".crt").display()
    );
    Ok(())
}

async fn rest(command: CaCommand, db: &str, now: OffsetDateTime) -> anyhow::Result<ExitCode> {
    let store = CaDb::open(db).await?;
    match command {
        CaCommand::Revoke {
            serial,
            cert,
            reason,
            ..
        } => {
            let serial = match (serial, cert) {
                (Some(text), _) => text.parse::<Serial>()?,
                (None, Some(path)) => CaStore::serial_of(
                    &std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                )
                .with_context(|| path.display().to_string())?,
                (None, None) => bail!("give --serial HEX or --cert FILE"),
            };
            store.revoke(&serial, reason, now).await?;
            outln!("revoked {serial} ({reason}); run `pkilab ca crl --db …` to publish it");
        }
        CaCommand::Crl {
            out,
            delta,
            next_update_hours,
            passphrase_file,
            ..
        } => {
            if next_update_hours < 1 {
                bail!("--next-update-hours {next_update_hours}: give at least 1");
            }
            let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
            let lifetime = Duration::hours(next_update_hours);
            let published = if delta {
                store
                    .publish_delta_crl(secret.as_bytes(), now, lifetime)
                    .await?
            } else {
                store.publish_crl(secret.as_bytes(), now, lifetime).await?
            };
            if let Some(out) = out {
                write_atomic(&out, published.pem.as_bytes(), false)?;
            }
            let numbers: Vec<String> = published
                .numbers
                .iter()
                .map(|(file, n)| format!("{file} #{n}"))
                .collect();
            outln!("published CRLs {}", numbers.join(", "));
        }
        CaCommand::Ocsp {
            request,
            out,
            valid_hours,
            passphrase_file,
            ..
        } => {
            if !(1..=24 * 366).contains(&valid_hours) {
                bail!("--valid-hours {valid_hours}: give 1 to 8784");
            }
            let bytes = std::fs::read(&request)
                .with_context(|| format!("cannot read {}", request.display()))?;
            let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
            let response = store
                .ocsp_response(&bytes, secret.as_bytes(), now, Duration::hours(valid_hours))
                .await?;
            write_atomic(&out, &response, false)?;
            outln!("wrote {}", out.display());
        }
        CaCommand::OcspSigner {
            days,
            passphrase_file,
            ..
        } => {
            if !(1..=366).contains(&days) {
                bail!(
                    "--days {days}: give 1 to 366 (a short life: the signer is not checked for revocation)"
                );
            }
            let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
            let serial = store
                .issue_ocsp_signer(secret.as_bytes(), now, days, iterations()?)
                .await?;
            outln!("issued OCSP signer {serial}");
        }
        CaCommand::List { json, .. } => print_records(&store.issued().await?, json)?,
        CaCommand::Chain { out, .. } => print_chain(&store.chain_pem(), out.as_deref())?,
        CaCommand::Init { .. } | CaCommand::Issue { .. } | CaCommand::Migrate { .. } => {
            bail!("internal: this command is not handled here")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `pkilab ca migrate --dir DIR --db URL`.
pub(crate) fn migrate(dir: &Path, db: &str) -> anyhow::Result<()> {
    let store = CaStore::open(dir)?;
    let count = store.issued().len();
    runtime()?.block_on(CaDb::migrate_from(&store, db))?;
    outln!(
        "moved the CA in {} ({count} certificates) to {}; serve it with `pkilab serve --db {}`",
        dir.display(),
        pkilab_ca::sql::redact(db),
        pkilab_ca::sql::redact(db)
    );
    Ok(())
}
