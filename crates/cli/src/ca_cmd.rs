//! `pkilab ca …`: create a CA, issue, revoke, publish CRLs, list.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pkilab_ca::disk::write_atomic;
use pkilab_ca::encrypted_key::DEFAULT_ITERATIONS;
use pkilab_ca::store::{CaStore, InitOptions, IssueOptions, IssuedRecord, Publication, Status};
use pkilab_ca::{RevocationReason, Serial, SigningAlgorithm};
use time::{Duration, OffsetDateTime};

use crate::passphrase;

/// Certificate authority commands.
#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

/// Where the CA lives: a directory, or a database shared by servers.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct CaAt {
    /// The CA directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The CA database, in place of --dir: a SQLite file or a
    /// postgres:// URL (several `pkilab serve` can share one).
    #[arg(long)]
    db: Option<String>,
}

impl CaAt {
    fn directory(&self) -> anyhow::Result<&Path> {
        self.dir.as_deref().context("give --dir DIR or --db URL")
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Create a root CA, and optionally an issuing intermediate, in DIR.
    Init {
        #[command(flatten)]
        at: CaAt,
        /// Root subject, e.g. "Example Root CA".
        #[arg(long)]
        name: String,
        /// Issuing intermediate subject.
        #[arg(long)]
        intermediate: Option<String>,
        /// ed25519, ecdsa-p256 or rsa-3072.
        #[arg(long, default_value = "ed25519")]
        algorithm: SigningAlgorithm,
        /// Root lifetime (the intermediate gets half).
        #[arg(long, default_value_t = 3650)]
        days: i64,
        /// Base URL where the CA publishes: leaves name URL/crl/…,
        /// URL/ocsp and URL/ca/… in cRLDistributionPoints and
        /// authorityInfoAccess.
        #[arg(long)]
        url: Option<String>,
        /// Spread the issuing CA's leaves over N partitioned CRLs (needs
        /// --url: each CRL names its distribution point).
        #[arg(long, default_value_t = 1)]
        crl_partitions: u32,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Issue a leaf certificate: PREFIX.crt, PREFIX.chain.crt, PREFIX.key.
    Issue {
        #[command(flatten)]
        at: CaAt,
        /// Subject CN and peer name (also a dNSName when it is a valid one).
        #[arg(long)]
        name: String,
        /// Extra dNSName (repeatable).
        #[arg(long)]
        dns: Vec<String>,
        /// iPAddress (repeatable).
        #[arg(long)]
        ip: Vec<IpAddr>,
        /// clientAuth only (with --server: both; neither: both).
        #[arg(long)]
        client: bool,
        /// serverAuth only.
        #[arg(long)]
        server: bool,
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Certify the key of this PKCS#10 request instead of making one.
        #[arg(long)]
        csr: Option<PathBuf>,
        /// Output path prefix.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Revoke a certificate; it appears on the next CRL.
    Revoke {
        #[command(flatten)]
        at: CaAt,
        /// Serial in hex.
        #[arg(long, conflicts_with = "cert", required_unless_present = "cert")]
        serial: Option<String>,
        /// The certificate file.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// RFC 5280 reason, e.g. key-compromise.
        #[arg(long, default_value = "unspecified")]
        reason: RevocationReason,
    },
    /// Publish the CRL of every CA to DIR/crl.pem (and --out); with
    /// --delta, a delta CRL of the revocations since to DIR/delta.pem.
    Crl {
        #[command(flatten)]
        at: CaAt,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Publish a delta CRL against the last complete one (RFC 5280
        /// §5.2.4) instead of a complete CRL.
        #[arg(long)]
        delta: bool,
        /// Hours until nextUpdate.
        #[arg(long, default_value_t = 168)]
        next_update_hours: i64,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Answer an OCSP request (DER, as `openssl ocsp -reqout` writes it)
    /// with a response signed by the CA it names (RFC 6960).
    Ocsp {
        #[command(flatten)]
        at: CaAt,
        /// The DER OCSPRequest.
        #[arg(long)]
        request: PathBuf,
        /// Where to write the DER OCSPResponse.
        #[arg(long)]
        out: PathBuf,
        /// Hours until the response's nextUpdate.
        #[arg(long, default_value_t = 24)]
        valid_hours: i64,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Issue a delegated OCSP signer (id-kp-OCSPSigning, ocsp-nocheck),
    /// kept as DIR/ocsp-signer.crt and .key; `ca ocsp` signs with it.
    OcspSigner {
        #[command(flatten)]
        at: CaAt,
        /// Lifetime in days (short: the signer is never checked for
        /// revocation).
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Print the CA certificates, root first, as PEM (what clients trust
    /// and servers send).
    Chain {
        #[command(flatten)]
        at: CaAt,
        /// Write them here instead.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List issued certificates.
    List {
        #[command(flatten)]
        at: CaAt,
        #[arg(long)]
        json: bool,
    },
    /// Move the CA in --dir into the database --db (which must hold no CA):
    /// certificates, revocations, CRL numbers and the keys, still wrapped.
    Migrate {
        /// The CA directory to read (left as it was).
        #[arg(long)]
        dir: PathBuf,
        /// A SQLite file or postgres:// URL.
        #[arg(long)]
        db: String,
    },
}

impl CaCommand {
    /// The database the command names, when it names one.
    fn database(&self) -> Option<&str> {
        let at = match self {
            CaCommand::Init { at, .. }
            | CaCommand::Issue { at, .. }
            | CaCommand::Revoke { at, .. }
            | CaCommand::Crl { at, .. }
            | CaCommand::Ocsp { at, .. }
            | CaCommand::OcspSigner { at, .. }
            | CaCommand::Chain { at, .. }
            | CaCommand::List { at, .. } => at,
            CaCommand::Migrate { .. } => return None,
        };
        at.db.as_deref()
    }
}

/// PBKDF2 iterations for new key files: 600,000. In debug builds (the
/// test suites) `PKILAB_PBKDF2_ITERATIONS` lowers the cost (at least
/// 1,000); a release build refuses the variable rather than weaken keys.
pub(crate) fn iterations() -> anyhow::Result<u32> {
    match crate::kms_cmd::test_setting("PKILAB_PBKDF2_ITERATIONS", cfg!(debug_assertions))? {
        Some(text) => match text.parse::<u32>() {
            Ok(n) if n >= 1_000 => Ok(n),
            _ => bail!(
                "PKILAB_PBKDF2_ITERATIONS is '{text}': give a whole number of at least 1000, or unset it"
            ),
        },
        None => Ok(DEFAULT_ITERATIONS),
    }
}

/// Runs a `ca` subcommand.
pub fn run(args: CaArgs) -> anyhow::Result<ExitCode> {
    // Certificates carry whole seconds.
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    if let Some(db) = args.command.database() {
        let db = db.to_owned();
        return crate::ca_db_cmd::run(args.command, &db, now);
    }
    match args.command {
        CaCommand::Init {
            at,
            name,
            intermediate,
            algorithm,
            days,
            url,
            crl_partitions,
            passphrase_file,
        } => {
            let dir = at.directory()?;
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
            let mut store = CaStore::init(dir, &options, secret.as_bytes(), now)?;
            if let Some(publication) = publication {
                store.set_publication(publication)?;
            }
            outln!("created {} CA in {}", algorithm, dir.display());
        }
        CaCommand::Issue {
            at,
            name,
            dns,
            ip,
            client,
            server,
            days,
            csr,
            out,
            passphrase_file,
        } => {
            let dir = at.directory()?;
            if days < 1 {
                bail!("--days {days}: give at least 1");
            }
            let mut store = CaStore::open(dir)?;
            let csr = csr
                .map(|p| std::fs::read(&p).with_context(|| format!("cannot read {}", p.display())))
                .transpose()?;
            if let Some(csr) = &csr {
                // Before the passphrase is asked for: a bad request fails fast.
                pkilab_ca::csr::public_key(csr)?;
            }
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
            let issued = store.issue(&options, secret.as_bytes(), now)?;
            write_atomic(
                &suffixed(&out, ".crt"),
                issued.certificate.as_bytes(),
                false,
            )?;
            write_atomic(
                &suffixed(&out, ".chain.crt"),
                issued.chain.as_bytes(),
                false,
            )?;
            if let Some(key) = issued.key {
                write_atomic(&suffixed(&out, ".key"), key.as_bytes(), true)?;
            }
            outln!(
                "issued serial {} to {}",
                issued.serial,
                suffixed(&out, ".crt").display()
            );
        }
        CaCommand::Revoke {
            at,
            serial,
            cert,
            reason,
        } => {
            let dir = at.directory()?;
            let mut store = CaStore::open(dir)?;
            let serial = match (serial, cert) {
                (Some(text), _) => text.parse::<Serial>()?,
                (None, Some(path)) => CaStore::serial_of(
                    &std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                )
                .with_context(|| path.display().to_string())?,
                (None, None) => bail!("give --serial HEX or --cert FILE"),
            };
            store.revoke(&serial, reason, now)?;
            outln!(
                "revoked {serial} ({reason}); run `pkilab ca crl --dir {}` to publish it",
                dir.display()
            );
        }
        CaCommand::Crl {
            at,
            out,
            delta,
            next_update_hours,
            passphrase_file,
        } => {
            let dir = at.directory()?;
            if next_update_hours < 1 {
                bail!("--next-update-hours {next_update_hours}: give at least 1");
            }
            let mut store = CaStore::open(dir)?;
            let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
            let lifetime = Duration::hours(next_update_hours);
            let (pem, file) = if delta {
                (
                    store.publish_delta_crl(secret.as_bytes(), now, lifetime)?,
                    "delta.pem",
                )
            } else {
                (
                    store.publish_crl(secret.as_bytes(), now, lifetime)?,
                    "crl.pem",
                )
            };
            if let Some(out) = out {
                write_atomic(&out, pem.as_bytes(), false)?;
            }
            outln!("published {}", dir.join(file).display());
        }
        CaCommand::Ocsp {
            at,
            request,
            out,
            valid_hours,
            passphrase_file,
        } => {
            let dir = at.directory()?;
            if !(1..=24 * 366).contains(&valid_hours) {
                bail!("--valid-hours {valid_hours}: give 1 to 8784");
            }
            let store = CaStore::open(dir)?;
            let bytes = std::fs::read(&request)
                .with_context(|| format!("cannot read {}", request.display()))?;
            let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
            let response = store.ocsp_response(
                &bytes,
                secret.as_bytes(),
                now,
                Duration::hours(valid_hours),
            )?;
            write_atomic(&out, &response, false)?;
            outln!("wrote {}", out.display());
        }
        CaCommand::OcspSigner {
            at,
            days,
            passphrase_file,
        } => {
            let dir = at.directory()?;
            if !(1..=366).contains(&days) {
                bail!(
                    "--days {days}: give 1 to 366 (a short life: the signer is not checked for revocation)"
                );
            }
            let mut store = CaStore::open(dir)?;
            let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
            let serial = store.issue_ocsp_signer(secret.as_bytes(), now, days, iterations()?)?;
            outln!(
                "issued OCSP signer {serial}: {}",
                dir.join("ocsp-signer.crt").display()
            );
        }
        CaCommand::List { at, json } => list(at.directory()?, json)?,
        CaCommand::Chain { at, out } => {
            let dir = at.directory()?;
            let mut chain = String::new();
            for file in ["root.crt", "issuing.crt"] {
                let path = dir.join(file);
                if path.exists() {
                    chain.push_str(
                        &std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))?,
                    );
                }
            }
            print_chain(&chain, out.as_deref())?;
        }
        CaCommand::Migrate { dir, db } => crate::ca_db_cmd::migrate(&dir, &db)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The publication settings `--url` and `--crl-partitions` give.
pub(crate) fn publication(
    url: Option<&str>,
    partitions: u32,
) -> anyhow::Result<Option<Publication>> {
    match url {
        Some(url) => Ok(Some(Publication::new(url, partitions)?)),
        None if partitions != 1 => {
            bail!("--crl-partitions {partitions} needs --url: each partition is named by its URL")
        }
        None => Ok(None),
    }
}

/// Writes the chain to `out`, or prints it.
pub(crate) fn print_chain(chain: &str, out: Option<&Path>) -> anyhow::Result<()> {
    match out {
        Some(out) => {
            write_atomic(out, chain.as_bytes(), false)?;
            outln!("wrote {}", out.display());
        }
        None => out!("{chain}"),
    }
    Ok(())
}

pub(crate) fn suffixed(prefix: &Path, suffix: &str) -> PathBuf {
    let mut text = prefix.as_os_str().to_owned();
    text.push(suffix);
    PathBuf::from(text)
}

fn list(dir: &Path, json: bool) -> anyhow::Result<()> {
    let store = CaStore::open(dir)?;
    print_records(store.issued(), json)
}

/// Prints issued certificates as a table, or as JSON.
pub(crate) fn print_records(records: &[IssuedRecord], json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(records)?);
        return Ok(());
    }
    outln!(
        "{:<40}  {:<8}  {:<20}  subject",
        "serial",
        "status",
        "not after"
    );
    for record in records {
        let status = if record.status == Status::Revoked {
            "revoked"
        } else {
            "valid"
        };
        let not_after = OffsetDateTime::from_unix_timestamp(record.not_after)
            .map(pkilab_verify::rfc3339)
            .unwrap_or_default();
        outln!(
            "{:<40}  {:<8}  {:<20}  {}",
            record.serial,
            status,
            not_after,
            record.subject
        );
    }
    Ok(())
}
