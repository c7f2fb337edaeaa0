//! `pkilab kms --db F …`: the key-management service from the command line.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pkilab_kms::{ADMIN, Kms};
use pkilab_scenario::SimDuration;
use time::{Duration, OffsetDateTime};

use crate::kms_key_cmd;
use crate::passphrase;

/// Key management: keys, lifecycle, cryptographic operations, audit.
#[derive(Debug, Args)]
pub struct KmsArgs {
    /// The key store: a SQLite file, or a postgres:// URL.
    #[arg(long)]
    db: String,
    /// The identity acting (owners and grants are checked against it).
    #[arg(long = "as", default_value = ADMIN)]
    actor: String,
    /// Read the passphrase from this file instead of PKILAB_PASSPHRASE.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    command: KmsCommand,
}

#[derive(Debug, Subcommand)]
enum KmsCommand {
    /// Create the key store.
    Init,
    /// Keys: create, list, show, lifecycle.
    Key {
        #[command(subcommand)]
        command: kms_key_cmd::KeyCommand,
    },
    /// Second factor for destructive operations of the HTTPS API.
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Revoke an identity: it can no longer create, obtain or use keys.
    RevokeIdentity { identity: String },
    /// Encrypt with a key's newest version; prints the ciphertext.
    Encrypt {
        name: String,
        #[command(flatten)]
        io: Io,
    },
    /// Decrypt a ciphertext (it names its key and version).
    Decrypt {
        #[command(flatten)]
        io: Io,
        /// Allow a compromised key to decrypt.
        #[arg(long)]
        allow_compromised: bool,
    },
    /// Move a ciphertext to its key's newest version.
    Rewrap {
        #[command(flatten)]
        io: Io,
    },
    /// Sign the input; prints the signature.
    Sign {
        name: String,
        #[command(flatten)]
        io: Io,
    },
    /// Verify a signature over the input: exit 0 valid, 1 invalid.
    Verify {
        /// The signature (as `sign` printed it), or a file holding it.
        #[arg(long)]
        signature: String,
        #[command(flatten)]
        io: Io,
        /// Allow a compromised key to verify.
        #[arg(long)]
        allow_compromised: bool,
    },
    /// A fresh AES-256 data key, plain (base64) and wrapped, as JSON:
    /// wrapped under key NAME (AES-256-GCM, RSA-OAEP, or an xwing key,
    /// which seals it to the key's public half).
    Datakey {
        #[arg(required_unless_present = "wrap_with", conflicts_with = "wrap_with")]
        name: Option<String>,
        /// The key to wrap the data key with (the same as NAME).
        #[arg(long = "wrap-with", value_name = "NAME")]
        wrap_with: Option<String>,
        #[arg(long, default_value = "")]
        aad: String,
    },
    /// Export the public key, or with --private the private key as
    /// encrypted PKCS#8 under PKILAB_EXPORT_PASSPHRASE (or the store's).
    Export {
        name: String,
        #[arg(long)]
        private: bool,
        #[arg(short = 'o', long)]
        out: Option<PathBuf>,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Change the passphrase (new one from PKILAB_NEW_PASSPHRASE or
    /// --new-passphrase-file); every key is rewrapped in one transaction.
    Passphrase {
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum MfaCommand {
    /// Enroll an identity (a client certificate's CN) for TOTP; prints the
    /// otpauth:// URI to load into an authenticator.
    Enroll { identity: String },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain: exit 0 intact, 1 broken.
    Verify {
        /// A head printed earlier by `audit head` (COUNT:HASH), kept
        /// outside the database: the log must still hold it, which
        /// catches a rollback of the whole store.
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Print the authenticated head (COUNT:HASH) to keep outside the
    /// database.
    Head,
    /// Print every entry.
    Show {
        #[arg(long)]
        json: bool,
    },
}

/// Input, output and associated data of a data operation.
#[derive(Debug, Args)]
struct Io {
    /// Associated data, bound to the ciphertext.
    #[arg(long, default_value = "")]
    aad: String,
    /// Read from this file instead of standard input.
    #[arg(short = 'i', long = "in")]
    input: Option<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "out")]
    output: Option<PathBuf>,
}

impl Io {
    fn read(&self) -> anyhow::Result<Vec<u8>> {
        match &self.input {
            Some(path) => {
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
            }
            None => {
                let mut buffer = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buffer)
                    .context("cannot read standard input")?;
                Ok(buffer)
            }
        }
    }

    fn read_text(&self) -> anyhow::Result<String> {
        String::from_utf8(self.read()?)
            .context("the input is not text: give the ciphertext as printed")
    }

    fn write(&self, bytes: &[u8]) -> anyhow::Result<()> {
        write_out(self.output.as_deref(), bytes)
    }
}

fn write_out(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(path) => pkilab_ca::disk::write_atomic(path, bytes, true)
            .with_context(|| format!("cannot write {}", path.display())),
        None => std::io::stdout()
            .write_all(bytes)
            .context("cannot write standard output"),
    }
}

/// Argon2id memory for new stores: 65,536 KiB (RFC 9106). In debug builds
/// (the test suites) `PKILAB_ARGON2_MEMORY_KIB` lowers it (at least
/// 1,024); a release build refuses the variable rather than weaken keys.
pub(crate) fn argon2_memory() -> anyhow::Result<u32> {
    match test_setting("PKILAB_ARGON2_MEMORY_KIB", cfg!(debug_assertions))? {
        Some(text) => match text.parse::<u32>() {
            Ok(n) if n >= 1024 => Ok(n),
            _ => bail!("PKILAB_ARGON2_MEMORY_KIB is '{text}': give at least 1024, or unset it"),
        },
        None => Ok(65_536),
    }
}

/// A variable that weakens key derivation for test suites: its value
/// when `allowed` (debug builds), an error when set otherwise.
pub(crate) fn test_setting(name: &str, allowed: bool) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(_) if !allowed => {
            bail!("{name} is set, but only test builds accept it: unset it")
        }
        Ok(value) => Ok(Some(value)),
        Err(_) => Ok(None),
    }
}

pub(crate) fn duration(text: &str, flag: &str) -> anyhow::Result<Duration> {
    Ok(SimDuration::parse(text)
        .with_context(|| flag.to_owned())?
        .to_time())
}

/// Runs `kms`.
pub fn run(args: KmsArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: KmsArgs) -> anyhow::Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let secret = passphrase::obtain(
        args.passphrase_file.as_deref(),
        matches!(args.command, KmsCommand::Init),
    )?;
    if let KmsCommand::Init = args.command {
        Kms::init(&args.db, secret.as_bytes(), argon2_memory()?).await?;
        outln!("created a key store in {}", args.db);
        return Ok(ExitCode::SUCCESS);
    }
    let mut kms = Kms::open(&args.db, secret.as_bytes()).await?;
    let code = dispatch(&mut kms, &args.actor, args.command, &secret, now).await;
    // Data-path audit entries are written in groups: write the last ones.
    kms.flush().await?;
    code
}

async fn dispatch(
    kms: &mut Kms,
    actor: &str,
    command: KmsCommand,
    secret: &zeroize::Zeroizing<String>,
    now: OffsetDateTime,
) -> anyhow::Result<ExitCode> {
    match command {
        KmsCommand::Init => {}
        KmsCommand::Key { command } => return kms_key_cmd::run(kms, actor, command, now).await,
        KmsCommand::Mfa {
            command: MfaCommand::Enroll { identity },
        } => {
            let uri = kms.mfa_enroll(actor, &identity, now).await?;
            outln!("{}", *uri);
        }
        KmsCommand::RevokeIdentity { identity } => {
            kms.revoke_identity(actor, &identity, now).await?;
            outln!("revoked identity {identity}");
        }
        KmsCommand::Encrypt { name, io } => {
            let ciphertext = kms
                .encrypt(actor, &name, io.aad.as_bytes(), &io.read()?, now)
                .await?;
            io.write(format!("{ciphertext}\n").as_bytes())?;
        }
        KmsCommand::Decrypt {
            io,
            allow_compromised,
        } => {
            let plaintext = kms
                .decrypt(
                    actor,
                    &io.read_text()?,
                    io.aad.as_bytes(),
                    allow_compromised,
                    now,
                )
                .await?;
            io.write(&plaintext)?;
        }
        KmsCommand::Rewrap { io } => {
            let moved = kms
                .rewrap(actor, &io.read_text()?, io.aad.as_bytes(), now)
                .await?;
            io.write(format!("{moved}\n").as_bytes())?;
        }
        KmsCommand::Sign { name, io } => {
            let signature = kms.sign(actor, &name, &io.read()?, now).await?;
            io.write(format!("{signature}\n").as_bytes())?;
        }
        KmsCommand::Verify {
            signature,
            io,
            allow_compromised,
        } => {
            let signature = match std::fs::read_to_string(&signature) {
                Ok(text) => text,
                Err(_) => signature,
            };
            let valid = kms
                .verify(actor, &io.read()?, &signature, allow_compromised, now)
                .await?;
            outln!("{}", if valid { "valid" } else { "invalid" });
            return Ok(if valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        KmsCommand::Datakey {
            name,
            wrap_with,
            aad,
        } => {
            use base64::Engine;
            // clap requires exactly one of the two.
            let name = name.or(wrap_with).unwrap_or_default();
            let (plain, wrapped) = kms.datakey(actor, &name, aad.as_bytes(), now).await?;
            let json = serde_json::json!({
                "plaintext": base64::engine::general_purpose::STANDARD.encode(&plain[..]),
                "wrapped": wrapped,
            });
            outln!("{json}");
        }
        KmsCommand::Export { name, private, out } => {
            let pem = if private {
                let export = match std::env::var("PKILAB_EXPORT_PASSPHRASE") {
                    Ok(p) if !p.is_empty() => zeroize::Zeroizing::new(p),
                    _ => secret.clone(),
                };
                kms.export_private(
                    actor,
                    &name,
                    export.as_bytes(),
                    crate::ca_cmd::iterations()?,
                    now,
                )
                .await?
            } else {
                kms.export_public(actor, &name, now).await?
            };
            write_out(out.as_deref(), pem.as_bytes())?;
        }
        KmsCommand::Audit {
            command: AuditCommand::Verify { expect_head },
        } => {
            if let Some(head) = expect_head
                && !kms.audit_contains(&head).await?
            {
                outln!(
                    "audit log BROKEN: it does not hold the kept head {}: the store was rolled back or replaced",
                    pkilab_kms::clean_audit_field(&head)
                );
                return Ok(ExitCode::from(1));
            }
            match kms.audit_verify().await {
                Ok(n) => outln!("audit log intact: {n} entries"),
                Err(e) => {
                    outln!("audit log BROKEN: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        KmsCommand::Audit {
            command: AuditCommand::Head,
        } => outln!("{}", kms.audit_head().await?),
        KmsCommand::Audit {
            command: AuditCommand::Show { json },
        } => show_audit(kms, json).await?,
        KmsCommand::Passphrase {
            new_passphrase_file,
        } => {
            let new = match new_passphrase_file {
                Some(path) => passphrase::obtain(Some(&path), false)?,
                None => match std::env::var("PKILAB_NEW_PASSPHRASE") {
                    Ok(p) if !p.is_empty() => zeroize::Zeroizing::new(p),
                    _ => bail!(
                        "no new passphrase: set PKILAB_NEW_PASSPHRASE or pass --new-passphrase-file FILE"
                    ),
                },
            };
            kms.change_passphrase(new.as_bytes(), argon2_memory()?, now)
                .await?;
            outln!("passphrase changed; every key was rewrapped");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the log, one entry per line (or a JSON array), streaming. Every
/// field is escaped again on the way out, so an entry written by an older
/// pkilab, or edited in the database, cannot put control characters on
/// the operator's terminal.
async fn show_audit(kms: &Kms, json: bool) -> anyhow::Result<()> {
    use pkilab_kms::printable_audit_field as clean;
    if json {
        outln!("[");
    }
    let mut first = true;
    kms.audit_each(|e| {
        if json {
            let comma = if std::mem::take(&mut first) { "" } else { "," };
            let line = serde_json::to_string(&e)
                .map_err(|e| pkilab_kms::KmsError::Audit(e.to_string()))?;
            outln!("{comma}{line}");
            return Ok(());
        }
        let at = OffsetDateTime::from_unix_timestamp(e.at)
            .map(pkilab_verify::rfc3339)
            .unwrap_or_default();
        let key = match (&e.key, e.version) {
            (Some(k), Some(v)) => format!("{} v{v}", clean(k)),
            (Some(k), None) => clean(k),
            _ => "-".into(),
        };
        outln!(
            "{:>5}  {at}  {:<10} {:<24} {:<16} {}",
            e.seq,
            clean(&e.actor),
            clean(&e.operation),
            key,
            clean(&e.outcome)
        );
        Ok(())
    })
    .await?;
    if json {
        outln!("]");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn kdf_weakening_is_refused_outside_test_builds() {
        // PATH is set in any environment the tests run in.
        assert!(super::test_setting("PATH", false).is_err());
        assert!(
            super::test_setting("PATH", true)
                .expect("allowed")
                .is_some()
        );
        assert!(
            super::test_setting("PKILAB_SURELY_UNSET_VARIABLE", false)
                .expect("unset")
                .is_none()
        );
    }
}
