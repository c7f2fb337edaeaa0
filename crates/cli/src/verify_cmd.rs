//! `pkilab verify`: validate a certificate chain with revocation, at a
//! chosen time, for a name and a usage.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use pkilab_verify::pem_input::blocks;
use pkilab_verify::{ExpectedName, RevocationPolicy, Usage, ValidationRequest, Validator, Verdict};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Validate LEAF against trust anchors, intermediates and CRLs.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trust anchors (PEM, one or more certificates; repeatable).
    #[arg(long, required = true)]
    trust: Vec<PathBuf>,
    /// Untrusted intermediates (repeatable).
    #[arg(long)]
    untrusted: Vec<PathBuf>,
    /// CRLs (repeatable). With at least one, every CA in the path must have one.
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Expected DNS name.
    #[arg(long, group = "expected")]
    dns: Option<String>,
    /// Expected IP address.
    #[arg(long, group = "expected")]
    ip: Option<IpAddr>,
    /// Expected e-mail address.
    #[arg(long, group = "expected")]
    email: Option<String>,
    /// Expected pkilab peer name.
    #[arg(long = "name", group = "expected")]
    peer: Option<String>,
    /// client or server (EKU); default: any.
    #[arg(long)]
    usage: Option<String>,
    /// Validation time, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<String>,
    /// Print {"valid", "reason", "detail", "chain"} as JSON.
    #[arg(long)]
    json: bool,
    /// The certificate to validate.
    leaf: PathBuf,
}

fn read_blocks(path: &Path, label: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    blocks(&bytes, label)
        .with_context(|| format!("{}: expected {label} in PEM or DER", path.display()))
}

/// Runs `verify`: exit 0 valid, 1 invalid, 2 unusable input.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut anchors = Vec::new();
    for path in &args.trust {
        let blocks = read_blocks(path, "CERTIFICATE")?;
        Validator::new(blocks.clone())
            .with_context(|| format!("{}: not a usable trust anchor", path.display()))?;
        anchors.extend(blocks);
    }
    let mut validator = Validator::new(anchors).context("a --trust certificate is unusable")?;
    for path in &args.crl {
        for crl in read_blocks(path, "X509 CRL")? {
            validator
                .add_crl(&crl)
                .with_context(|| path.display().to_string())?;
        }
    }
    if !args.crl.is_empty() {
        validator.set_revocation_policy(RevocationPolicy::RequireFresh);
    }
    let mut intermediates = Vec::new();
    for path in &args.untrusted {
        intermediates.extend(read_blocks(path, "CERTIFICATE")?);
    }
    let leaf = read_blocks(&args.leaf, "CERTIFICATE")?.remove(0);
    let at = match &args.at {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
            format!("--at '{text}' is not RFC 3339: write it like 2026-01-01T00:00:00Z")
        })?,
        None => OffsetDateTime::now_utc(),
    };
    let usage = match args.usage.as_deref() {
        None => Usage::Any,
        Some("client") => Usage::Client,
        Some("server") => Usage::Server,
        Some(other) => bail!("--usage '{other}': use client or server"),
    };
    let name = match (args.dns, args.ip, args.email, args.peer) {
        (Some(dns), ..) => ExpectedName::Dns(dns),
        (_, Some(ip), ..) => ExpectedName::Ip(ip),
        (_, _, Some(email), _) => ExpectedName::Email(email),
        (.., Some(peer)) => ExpectedName::Peer(peer),
        _ => ExpectedName::Any,
    };
    let verdict = validator.validate(
        &leaf,
        &intermediates,
        &ValidationRequest { at, name, usage },
    );
    print(&verdict, args.json)?;
    Ok(if verdict.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print(verdict: &Verdict, json: bool) -> anyhow::Result<()> {
    if json {
        let value = match verdict {
            Verdict::Valid { chain, .. } => {
                serde_json::json!({ "valid": true, "reason": null, "detail": null, "chain": chain })
            }
            Verdict::Invalid {
                reason,
                detail,
                position,
            } => {
                serde_json::json!({ "valid": false, "reason": reason.id(), "detail": detail, "position": position, "chain": [] })
            }
            other => serde_json::json!({ "valid": other.is_valid() }),
        };
        outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        outln!("{verdict}");
    }
    Ok(())
}
