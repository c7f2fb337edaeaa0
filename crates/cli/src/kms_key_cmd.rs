//! `pkilab kms --db F key …`: creating keys and moving them through their
//! lifecycle.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use pkilab_kms::{KeyInfo, KeyType, Kms, NewKey, State};
use time::OffsetDateTime;

use crate::kms_cmd::duration;

/// Keys: create, list, show, lifecycle.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a key.
    Create {
        name: String,
        /// aes-256-gcm, ed25519, x25519, rsa-2048, rsa-3072, rsa-4096 or
        /// xwing (X25519 + ML-KEM-768: post-quantum encryption to the key).
        #[arg(long = "type")]
        key_type: String,
        #[arg(long)]
        owner: Option<String>,
        /// Deactivate by itself after this long (30d, 12h, …).
        #[arg(long)]
        expires_in: Option<String>,
        /// Rotation period for `key rotate-due`.
        #[arg(long)]
        rotate_every: Option<String>,
        /// Start pre-active (activate it later).
        #[arg(long)]
        pre_active: bool,
    },
    /// Create COUNT keys named PREFIX-1, PREFIX-2, …, one transaction
    /// each; prints each name once it is committed.
    CreateMany {
        prefix: String,
        #[arg(long)]
        count: u32,
        #[arg(long = "type", default_value = "aes-256-gcm")]
        key_type: String,
    },
    /// List keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one key.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a version.
    Rotate { name: String },
    /// Rotate every key whose --rotate-every has passed.
    RotateDue,
    /// pre-active → active.
    Activate { name: String },
    /// active → suspended.
    Suspend { name: String },
    /// suspended → active.
    Resume { name: String },
    /// → deactivated (decrypt and verify only).
    Deactivate { name: String },
    /// → compromised.
    Compromise { name: String },
    /// Schedule destruction (cancellable until it happens).
    Destroy {
        name: String,
        #[arg(long, default_value = "0s")]
        after: String,
    },
    /// Cancel a scheduled destruction.
    CancelDestroy { name: String },
    /// Versions below N stop decrypting and verifying.
    MinVersion { name: String, version: i64 },
    /// Let IDENTITY perform OPERATION with the key.
    Grant {
        name: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        op: String,
    },
}

/// Runs a `kms key` subcommand.
pub(crate) async fn run(
    kms: &Kms,
    actor: &str,
    command: KeyCommand,
    now: OffsetDateTime,
) -> anyhow::Result<ExitCode> {
    let changed = match command {
        KeyCommand::Create {
            name,
            key_type,
            owner,
            expires_in,
            rotate_every,
            pre_active,
        } => {
            let new = NewKey {
                name,
                key_type: key_type
                    .parse::<KeyType>()
                    .map_err(anyhow::Error::msg)
                    .context("--type")?,
                owner,
                expires_in: expires_in
                    .as_deref()
                    .map(|d| duration(d, "--expires-in"))
                    .transpose()?,
                rotate_every: rotate_every
                    .as_deref()
                    .map(|d| duration(d, "--rotate-every"))
                    .transpose()?,
                pre_active,
            };
            kms.create(actor, &new, now).await?
        }
        KeyCommand::CreateMany {
            prefix,
            count,
            key_type,
        } => {
            let key_type = key_type
                .parse::<KeyType>()
                .map_err(anyhow::Error::msg)
                .context("--type")?;
            let mut stdout = std::io::stdout();
            for i in 1..=count {
                let new = NewKey {
                    name: format!("{prefix}-{i}"),
                    key_type,
                    owner: None,
                    expires_in: None,
                    rotate_every: None,
                    pre_active: false,
                };
                kms.create(actor, &new, OffsetDateTime::now_utc()).await?;
                writeln!(stdout, "{}", new.name)?;
                stdout.flush()?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        KeyCommand::List { json } => {
            let keys = kms.list(actor, now).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                outln!(
                    "{:<24} {:<12} {:<12} {:>7}  owner",
                    "name",
                    "type",
                    "state",
                    "version"
                );
                for k in keys {
                    outln!(
                        "{:<24} {:<12} {:<12} {:>7}  {}",
                        k.name,
                        k.key_type,
                        k.state,
                        k.current_version,
                        k.owner
                    );
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        KeyCommand::Show { name, json } => {
            let k = kms.show(actor, &name, now).await?;
            print_key(&k, json)?;
            return Ok(ExitCode::SUCCESS);
        }
        KeyCommand::Rotate { name } => kms.rotate(actor, &name, now).await?,
        KeyCommand::RotateDue => {
            let rotated = kms.rotate_due(actor, now).await?;
            outln!(
                "rotated {} key(s){}{}",
                rotated.len(),
                if rotated.is_empty() { "" } else { ": " },
                rotated.join(", ")
            );
            return Ok(ExitCode::SUCCESS);
        }
        KeyCommand::Activate { name } | KeyCommand::Resume { name } => {
            kms.transition(actor, &name, State::Active, now).await?
        }
        KeyCommand::Suspend { name } => kms.transition(actor, &name, State::Suspended, now).await?,
        KeyCommand::Deactivate { name } => {
            kms.transition(actor, &name, State::Deactivated, now)
                .await?
        }
        KeyCommand::Compromise { name } => {
            kms.transition(actor, &name, State::Compromised, now)
                .await?
        }
        KeyCommand::Destroy { name, after } => {
            kms.schedule_destroy(actor, &name, duration(&after, "--after")?, now)
                .await?
        }
        KeyCommand::CancelDestroy { name } => kms.cancel_destroy(actor, &name, now).await?,
        KeyCommand::MinVersion { name, version } => {
            kms.set_min_decrypt_version(actor, &name, version, now)
                .await?
        }
        KeyCommand::Grant { name, to, op } => {
            kms.grant(actor, &name, &to, &op, now).await?;
            outln!("granted {op} on {name} to {to}");
            return Ok(ExitCode::SUCCESS);
        }
    };
    print_key(&changed, false)?;
    Ok(ExitCode::SUCCESS)
}

fn print_key(k: &KeyInfo, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(k)?);
        return Ok(());
    }
    let time = |t: Option<i64>| {
        t.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .map_or_else(|| "-".to_owned(), pkilab_verify::rfc3339)
    };
    outln!(
        "{} ({}), {}, version {}, owner {}",
        k.name,
        k.key_type,
        k.state,
        k.current_version,
        k.owner
    );
    outln!(
        "  expires: {}  destroy at: {}  min decrypt version: {}",
        time(k.expires_at),
        time(k.destroy_at),
        k.min_decrypt_version
    );
    for (who, op) in &k.grants {
        outln!("  grant: {who} may {op}");
    }
    Ok(())
}
