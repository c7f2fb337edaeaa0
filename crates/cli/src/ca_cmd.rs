//! `pkilab ca …`: create a CA, issue, revoke, publish CRLs, list.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pkilab_ca::disk::write_atomic;
use pkilab_ca::encrypted_key::DEFAULT_ITERATIONS;
use pkilab_ca::store::{CaStore, InitOptions, IssueOptions, Publication, Status};
use pkilab_ca::{RevocationReason, Serial, SigningAlgorithm};
use time::{Duration, OffsetDateTime};

use crate::passphrase;

/// Certificate authority commands.
#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Create a root CA, and optionally an issuing intermediate, in DIR.
    Init {
        #[arg(long)]
        dir: PathBuf,
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
        #[arg(long)]
        dir: PathBuf,
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
        #[arg(long)]
        dir: PathBuf,
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
        #[arg(long)]
        dir: PathBuf,
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
        #[arg(long)]
        dir: PathBuf,
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
        #[arg(long)]
        dir: PathBuf,
        /// Lifetime in days (short: the signer is never checked for
        /// revocation).
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// List issued certificates.
    List {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
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
    match args.command {
        CaCommand::Init {
            dir,
            name,
            intermediate,
            algorithm,
            days,
            url,
            crl_partitions,
            passphrase_file,
        } => {
            if days < 2 {
                bail!("--days {days}: a CA needs at least 2 days");
            }
            let publication = match &url {
                Some(url) => Some(Publication::new(url, crl_partitions)?),
                None if crl_partitions != 1 => {
                    bail!(
                        "--crl-partitions {crl_partitions} needs --url: each partition is named by its URL"
                    )
                }
                None => None,
            };
            let secret = passphrase::obtain(passphrase_file.as_deref(), true)?;
            let options = InitOptions {
                name,
                intermediate,
                algorithm,
                days,
                iterations: iterations()?,
            };
            let mut store = CaStore::init(&dir, &options, secret.as_bytes(), now)?;
            if let Some(publication) = publication {
                store.set_publication(publication)?;
            }
            outln!("created {} CA in {}", algorithm, dir.display());
        }
        CaCommand::Issue {
            dir,
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
            if days < 1 {
                bail!("--days {days}: give at least 1");
            }
            let mut store = CaStore::open(&dir)?;
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
            dir,
            serial,
            cert,
            reason,
        } => {
            let mut store = CaStore::open(&dir)?;
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
            dir,
            out,
            delta,
            next_update_hours,
            passphrase_file,
        } => {
            if next_update_hours < 1 {
                bail!("--next-update-hours {next_update_hours}: give at least 1");
            }
            let mut store = CaStore::open(&dir)?;
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
            dir,
            request,
            out,
            valid_hours,
            passphrase_file,
        } => {
            if !(1..=24 * 366).contains(&valid_hours) {
                bail!("--valid-hours {valid_hours}: give 1 to 8784");
            }
            let store = CaStore::open(&dir)?;
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
            dir,
            days,
            passphrase_file,
        } => {
            if !(1..=366).contains(&days) {
                bail!(
                    "--days {days}: give 1 to 366 (a short life: the signer is not checked for revocation)"
                );
            }
            let mut store = CaStore::open(&dir)?;
            let secret = passphrase::obtain(passphrase_file.as_deref(), false)?;
            let serial = store.issue_ocsp_signer(secret.as_bytes(), now, days, iterations()?)?;
            outln!(
                "issued OCSP signer {serial}: {}",
                dir.join("ocsp-signer.crt").display()
            );
        }
        CaCommand::List { dir, json } => list(&dir, json)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn suffixed(prefix: &Path, suffix: &str) -> PathBuf {
    let mut text = prefix.as_os_str().to_owned();
    text.push(suffix);
    PathBuf::from(text)
}

fn list(dir: &Path, json: bool) -> anyhow::Result<()> {
    let store = CaStore::open(dir)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(store.issued())?);
        return Ok(());
    }
    outln!(
        "{:<40}  {:<8}  {:<20}  subject",
        "serial",
        "status",
        "not after"
    );
    for record in store.issued() {
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
