//! `pkilab verify`: validate a certificate chain with revocation, at a
//! chosen time, for a name and a usage.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use pkilab_scenario::SimDuration;
use pkilab_verify::pem_input::blocks;
use pkilab_verify::{
    CrlScope, ExpectedName, LogRequirement, Options, PolicyRequest, Reason, RevocationPolicy,
    Usage, ValidationRequest, Validator, Verdict,
};
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
    /// Stored OCSP responses (DER, repeatable), a revocation source beside
    /// --crl; with one, every certificate in scope must be covered.
    #[arg(long = "ocsp-response", value_name = "FILE")]
    ocsp_responses: Vec<PathBuf>,
    /// Ask the OCSP responder each certificate names (authorityInfoAccess)
    /// about it, over HTTP POST; combinable with --crl. A responder that
    /// cannot be reached leaves revocation unknown (the verdict is then
    /// revocation-unknown unless a CRL covers the certificate).
    #[arg(long)]
    ocsp: bool,
    /// Trust anchors (PEM) for an https responder's TLS, instead of the
    /// system's trust store (SSL_CERT_FILE or the usual bundle).
    #[arg(long, value_name = "FILE", requires = "ocsp")]
    ocsp_ca: Vec<PathBuf>,
    /// How long to wait for each responder (30s, 2m).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        requires = "ocsp"
    )]
    ocsp_timeout: String,
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
    /// Accept CRLs without nextUpdate, and refuse CRLs issued longer ago
    /// than this (30s, 15m, 12h, 7d, 2w).
    #[arg(long, value_name = "DURATION")]
    max_crl_age: Option<String>,
    /// Which certificates are checked against CRLs: leaf or chain.
    #[arg(long, value_name = "SCOPE", default_value = "chain")]
    crl_scope: String,
    /// Most intermediate certificates a path may hold (self-issued ones
    /// not counted).
    #[arg(long, value_name = "N", default_value_t = 6)]
    max_depth: usize,
    /// A certificate policy the chain must be valid for, as a dotted OID
    /// (repeatable; default: any policy).
    #[arg(long = "policy", value_name = "OID")]
    policies: Vec<String>,
    /// Require a valid policy (RFC 5280 initial-explicit-policy).
    #[arg(long)]
    require_explicit_policy: bool,
    /// Do not follow policy mappings.
    #[arg(long)]
    inhibit_policy_mapping: bool,
    /// Do not let anyPolicy stand for other policies.
    #[arg(long)]
    inhibit_any_policy: bool,
    /// Verify SHA-1, RSA keys below 2048 bits and DSA keys, and note the
    /// weakness, instead of refusing with weak-algorithm or weak-key.
    #[arg(long)]
    allow_legacy_algorithms: bool,
    /// Refuse (not-logged) a certificate without an inclusion proof in the
    /// transparency log with this public key (`DIR/log.pub`).
    #[arg(long, value_name = "LOG_KEY")]
    require_logged: Option<PathBuf>,
    /// The leaf's inclusion proof (`pkilab log prove`), for --require-logged.
    #[arg(long, value_name = "PROOF", requires = "require_logged")]
    proof: Option<PathBuf>,
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
    let mut validator =
        Validator::new(anchors.clone()).context("a --trust certificate is unusable")?;
    validator.set_options(options(&args)?);
    for path in &args.crl {
        for crl in read_blocks(path, "X509 CRL")? {
            // A CRL that does not parse is kept as broken: the verdict is
            // crl-invalid, not unusable input.
            let _ = validator.add_crl(&crl);
        }
    }
    for path in &args.ocsp_responses {
        let der = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        validator
            .add_ocsp_response(&der)
            .with_context(|| path.display().to_string())?;
    }
    if let Some(path) = &args.require_logged {
        validator.require_logged(log_requirement(path, args.proof.as_deref())?);
    }
    if !args.crl.is_empty() || !args.ocsp_responses.is_empty() || args.ocsp {
        validator.set_revocation_policy(RevocationPolicy::RequireFresh);
    }
    let mut intermediates = Vec::new();
    for path in &args.untrusted {
        intermediates.extend(read_blocks(path, "CERTIFICATE")?);
    }
    let leaf = read_blocks(&args.leaf, "CERTIFICATE")?.remove(0);
    let queries = if args.ocsp {
        ask_responders(&args, &mut validator, &leaf, &intermediates, &anchors)?
    } else {
        Vec::new()
    };
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
    let verdict = explain_unreachable(verdict, &queries);
    print(&verdict, &queries, args.json)?;
    Ok(if verdict.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn log_requirement(key: &Path, proof: Option<&Path>) -> anyhow::Result<LogRequirement> {
    let key = pkilab_ca::store::read_log_key(key)?;
    let proof = match proof {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            // A proof that does not parse is the verdict not-logged (exit
            // 1), as a forged one is.
            Some(pkilab_tlog::InclusionProof::parse(&text).map_err(|e| e.to_string()))
        }
        None => None,
    };
    Ok(LogRequirement { key, proof })
}

fn options(args: &VerifyArgs) -> anyhow::Result<Options> {
    let max_crl_age = match &args.max_crl_age {
        Some(text) => Some(std::time::Duration::from_secs(
            SimDuration::parse(text)
                .with_context(|| format!("--max-crl-age '{text}'"))?
                .0,
        )),
        None => None,
    };
    let crl_scope = match args.crl_scope.as_str() {
        "leaf" => CrlScope::Leaf,
        "chain" => CrlScope::Chain,
        other => bail!("--crl-scope '{other}': use leaf or chain"),
    };
    for oid in &args.policies {
        let arcs: Vec<&str> = oid.split('.').collect();
        if arcs.len() < 2
            || arcs
                .iter()
                .any(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            bail!("--policy '{oid}' is not a dotted OID: write it like 2.23.140.1.2.1");
        }
    }
    Ok(Options {
        max_depth: args.max_depth,
        max_crl_age,
        crl_scope,
        policy: PolicyRequest {
            initial: args.policies.clone(),
            require_explicit: args.require_explicit_policy,
            inhibit_mapping: args.inhibit_policy_mapping,
            inhibit_any: args.inhibit_any_policy,
        },
        allow_legacy_algorithms: args.allow_legacy_algorithms,
        ..Options::default()
    })
}

/// `--ocsp`: asks the responders of the leaf (and, with --crl-scope
/// chain, of the intermediates offered) and hands their answers over.
fn ask_responders(
    args: &VerifyArgs,
    validator: &mut Validator,
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
) -> anyhow::Result<Vec<crate::ocsp_fetch::Query>> {
    let timeout = SimDuration::parse(&args.ocsp_timeout)
        .with_context(|| format!("--ocsp-timeout '{}'", args.ocsp_timeout))?
        .0;
    let responder_anchors = if args.ocsp_ca.is_empty() {
        None
    } else {
        let mut all = Vec::new();
        for path in &args.ocsp_ca {
            all.extend(read_blocks(path, "CERTIFICATE")?);
        }
        Some(all)
    };
    let client = pkilab_server::ocsp_client::OcspClient::new(
        responder_anchors,
        std::time::Duration::from_secs(timeout.max(1)),
    );
    let mut asked = vec![leaf.to_vec()];
    if args.crl_scope == "chain" {
        asked.extend(intermediates.iter().cloned());
    }
    let candidates: Vec<Vec<u8>> = intermediates.iter().chain(anchors).cloned().collect();
    let queries = crate::ocsp_fetch::query_all(validator, &asked, &candidates, &client)?;
    for query in queries.iter().filter(|q| !q.answered) {
        eprintln!(
            "OCSP for '{}': {}",
            query.subject,
            query.error.as_deref().unwrap_or("no answer")
        );
    }
    Ok(queries)
}

/// A revocation-unknown verdict says which responder did not answer.
fn explain_unreachable(verdict: Verdict, queries: &[crate::ocsp_fetch::Query]) -> Verdict {
    match verdict {
        Verdict::Invalid {
            reason: Reason::RevocationUnknown,
            detail,
            position,
        } => {
            let unanswered: Vec<String> = queries
                .iter()
                .filter(|q| !q.answered)
                .filter_map(|q| q.error.clone())
                .collect();
            let detail = if unanswered.is_empty() {
                detail
            } else {
                format!(
                    "{detail}; {} (revocation is required: pass --crl too, or retry once the responder answers)",
                    unanswered.join("; ")
                )
            };
            Verdict::Invalid {
                reason: Reason::RevocationUnknown,
                detail,
                position,
            }
        }
        other => other,
    }
}

fn print(
    verdict: &Verdict,
    queries: &[crate::ocsp_fetch::Query],
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let value = match verdict {
            Verdict::Valid {
                chain,
                policies,
                notes,
                revocation,
                ..
            } => {
                serde_json::json!({ "valid": true, "reason": null, "detail": null, "chain": chain, "policies": policies, "weaknesses": notes, "revocation": revocation })
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
        let mut value = value;
        if !queries.is_empty() {
            value["ocsp"] = queries
                .iter()
                .map(crate::ocsp_fetch::Query::to_json)
                .collect();
        }
        outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        outln!("{verdict}");
    }
    Ok(())
}
