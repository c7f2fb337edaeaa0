//! `pkilab log monitor`: follows a log from the checkpoint seen last,
//! checks that it only grew (and that checkpoints others saw agree), and
//! reports every new certificate naming the watched name.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use pkilab_ca::store::read_log_key;
use pkilab_tlog::Log;
use pkilab_tlog::note::{self, Checkpoint};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::log_cmd::consistent;

/// The names a certificate is for: subject CN, DNS names, e-mail addresses.
fn names(der: &[u8]) -> Option<(Vec<String>, String)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names: Vec<String> = pkilab_ca::inspect::common_name(cert.subject())
        .into_iter()
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) | GeneralName::RFC822Name(n) => names.push((*n).to_owned()),
                _ => {}
            }
        }
    }
    let summary = format!(
        "serial {}, issued by {}, valid {} to {}",
        cert.raw_serial_as_string().replace(':', ""),
        cert.issuer(),
        cert.validity().not_before,
        cert.validity().not_after
    );
    Some((names, summary))
}

fn split_view(why: &str, seen: (&str, &str), other: (&str, &str)) {
    outln!("split view: {why}");
    outln!("evidence, {}:\n{}", seen.0, seen.1.trim_end());
    outln!("evidence, {}:\n{}", other.0, other.1.trim_end());
}

/// Runs the monitor: exit 0 when the log is consistent (whatever it
/// found), 1 on a split view or a log that went back.
pub(crate) fn monitor(
    dir: &Path,
    name: &str,
    state: &Path,
    gossip: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let key = read_log_key(&dir.join(pkilab_ca::store::LOG_PUBLIC_KEY))?;
    let log = Log::open(&dir.join("log"), &key)?;
    let current_text = log.signed_checkpoint()?;
    let current = note::open(&current_text, &key)?;
    let mut views: Vec<(String, String, Checkpoint)> = Vec::new();
    let previous = if state.exists() {
        let text = std::fs::read_to_string(state)
            .with_context(|| format!("cannot read {}", state.display()))?;
        let checkpoint = note::open(&text, &key)
            .with_context(|| format!("{}: not a checkpoint of this log", state.display()))?;
        views.push((
            format!("saved in {}", state.display()),
            text,
            checkpoint.clone(),
        ));
        Some(checkpoint)
    } else {
        None
    };
    for path in gossip {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let checkpoint = note::open(&text, &key)
            .with_context(|| format!("{}: not a checkpoint of this log", path.display()))?;
        views.push((format!("gossiped in {}", path.display()), text, checkpoint));
    }
    let mut split = false;
    for (label, text, seen) in &views {
        let verdict = if seen.size <= current.size {
            consistent(&log, seen, &current)
        } else {
            consistent(&log, &current, seen)
        };
        if let Err(why) = verdict {
            split_view(&why, (label, text), ("the log now", &current_text));
            split = true;
        }
    }
    if split {
        // The saved state stays: it is evidence.
        return Ok(ExitCode::from(1));
    }
    let from = previous.map_or(0, |p| p.size);
    let mut found = 0;
    for (offset, entry) in log.entries(from, current.size)?.iter().enumerate() {
        let Some((names, summary)) = names(entry) else {
            outln!("entry {}: not a certificate", from + offset as u64);
            continue;
        };
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            found += 1;
            outln!(
                "certificate for {name}: entry {}, {summary}",
                from + offset as u64
            );
        }
    }
    std::fs::write(state, &current_text)
        .with_context(|| format!("cannot write {}", state.display()))?;
    outln!(
        "checked entries {from} to {} of {}: {found} certificate(s) name {name}",
        current.size,
        current.origin
    );
    Ok(ExitCode::SUCCESS)
}
