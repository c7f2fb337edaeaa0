//! A log monitor on the simulated clock: every `every` it reads the
//! checkpoint the log shows it, checks that the new tree extends the one
//! it saw last (a consistency proof, RFC 9162 §2.1.4), reads the new
//! entries and reports every certificate naming the name it watches that
//! the holder of that name did not request.

use pkilab_tlog::merkle::verify_consistency;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use crate::pki::SimPki;

/// What a monitor found at one poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A logged certificate names the watched name, but its holder did not
    /// ask for it.
    Unrequested {
        /// The entry's index in the log.
        index: u64,
        /// The certificate's serial number (DER INTEGER contents).
        serial: Vec<u8>,
        /// Who did ask for it, as the CA recorded (`None`: nobody known).
        requester: Option<String>,
    },
    /// The new checkpoint does not extend the last one: the log rewrote
    /// its history or shows this monitor another tree.
    Inconsistent {
        /// The checkpoint seen before.
        old: String,
        /// The checkpoint now.
        new: String,
    },
}

/// A monitor node.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub name: String,
    pub watches: String,
    pub every: Duration,
    /// When it polls next.
    pub next: OffsetDateTime,
    /// The last checkpoint it checked: its size, root and signed text.
    seen: Option<(u64, [u8; 32], String)>,
}

impl Monitor {
    /// A monitor that first polls one interval after `now`.
    pub(crate) fn new(name: &str, watches: &str, every: Duration, now: OffsetDateTime) -> Monitor {
        Monitor {
            name: name.to_owned(),
            watches: watches.to_owned(),
            every,
            next: now + every,
            seen: None,
        }
    }

    /// Reads the log as `pki` shows it to this monitor.
    pub(crate) fn poll(&mut self, pki: &SimPki) -> Vec<Finding> {
        let note = pki.log.checkpoint_for(&self.name);
        let Some(checkpoint) = pki.log.open(&note) else {
            return Vec::new();
        };
        let view = pki.log.view_for(&self.name);
        let from = self.seen.as_ref().map_or(0, |(size, _, _)| *size);
        let mut findings = Vec::new();
        if let Some((size, root, old)) = &self.seen {
            let consistent = *size == 0
                || view.consistency(*size).is_some_and(|proof| {
                    verify_consistency(&proof, (*size, root), (checkpoint.size, &checkpoint.root))
                        .is_ok()
                });
            if !consistent || checkpoint.size < *size {
                findings.push(Finding::Inconsistent {
                    old: old.clone(),
                    new: note.clone(),
                });
                return findings;
            }
        }
        for (offset, entry) in view.entries_since(from).iter().enumerate() {
            let (names, serial) = names_and_serial(entry);
            if names.contains(&self.watches) {
                let requester = pki.requester(entry).map(str::to_owned);
                if requester.as_deref() != Some(self.watches.as_str()) {
                    findings.push(Finding::Unrequested {
                        index: from + offset as u64,
                        serial,
                        requester,
                    });
                }
            }
        }
        self.seen = Some((checkpoint.size, checkpoint.root, note));
        findings
    }
}

/// The names a certificate is for (its subject CNs and dNSNames), and
/// its serial number.
pub(crate) fn names_and_serial(der: &[u8]) -> (Vec<String>, Vec<u8>) {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return (Vec::new(), Vec::new());
    };
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
        .collect();
    for extension in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = extension.parsed_extension() {
            for name in &san.general_names {
                if let GeneralName::DNSName(dns) = name {
                    names.push((*dns).to_owned());
                }
            }
        }
    }
    (names, cert.raw_serial().to_vec())
}
