//! Reading and validating a scenario file. Every problem is reported with
//! file, line and column before anything runs.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde_saphyr::{Location, Spanned};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use exercises::{apply, without_exercises};

use crate::duration::SimDuration;
use crate::model::{AdversaryDoc, AdversaryKind, MitmCertificate, ReplayInto, ScenarioDoc};
use crate::script::{Adversary, Scenario};

mod exercises;
mod kms;
mod messages;
mod ocsp;
mod peers;
mod steps;
mod timeline;
mod transparency;

/// Reason ids a handshake or a message can be refused with. An expectation
/// naming any other id is a typo, caught before the run.
pub const REASON_IDS: &[&str] = &[
    "bad-signature",
    "unknown-issuer",
    "revoked",
    "expired",
    "not-yet-valid",
    "name-mismatch",
    "usage-mismatch",
    "crl-stale",
    "crl-invalid",
    "revocation-unknown",
    "downgrade",
    "replay",
    "decrypt-failed",
    "malformed",
    "weak-key",
    "unexpected-message",
    "no-certificate",
    "dropped",
    "out-of-order",
    "mode-mismatch",
    "bad-finished",
    "no-common-suite",
    "frame-too-large",
    "transcript-mismatch",
    "forbidden",
    "unknown-key",
    "key-state",
    "unauthenticated",
    "no-session",
    "staple-missing",
    "staple-stale",
    "staple-invalid",
    "not-logged",
];

/// Most generated peers a scenario may ask for.
pub const MAX_GENERATED_PEERS: u32 = 1_000_000;

/// Most handshakes one workload step may ask for.
pub const MAX_HANDSHAKES: u64 = 1_000_000_000;

/// A scenario file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The file.
    pub path: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// Reads and validates one file.
pub fn load_file(path: &Path) -> Result<Scenario, Invalid> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| Invalid {
        path: shown.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read the file: {error}"),
        help: Some("check the path and that the file is UTF-8 text".into()),
    })?;
    load_str(&shown, &text)
}

/// Parses and validates scenario text; `path` is used in messages.
pub fn load_str(path: &str, text: &str) -> Result<Scenario, Invalid> {
    let doc: ScenarioDoc = serde_saphyr::from_str(text).map_err(|error| {
        let location = error.location().unwrap_or(Location::UNKNOWN);
        let message = error.to_string();
        let first = strip_position(message.lines().next().unwrap_or("invalid YAML"));
        let (message, help) = messages::in_user_terms(first);
        Invalid {
            path: path.to_owned(),
            line: location.line(),
            column: location.column(),
            message,
            help: Some(help),
        }
    })?;
    Checker {
        path,
        allow_insecure_cipher: doc.allow_insecure_cipher,
        has_ocsp: doc.ocsp.is_some(),
    }
    .scenario(doc, text)
}

struct Checker<'a> {
    path: &'a str,
    allow_insecure_cipher: bool,
    /// The file declares an OCSP responder.
    has_ocsp: bool,
}

type Checked<T> = Result<T, Invalid>;

impl Checker<'_> {
    fn err(&self, at: Location, message: impl Into<String>, help: impl Into<String>) -> Invalid {
        Invalid {
            path: self.path.to_owned(),
            line: at.line(),
            column: at.column(),
            message: message.into(),
            help: Some(help.into()),
        }
    }

    fn duration(&self, text: &Spanned<String>) -> Checked<SimDuration> {
        SimDuration::parse(&text.value).map_err(|e| {
            self.err(
                text.referenced,
                e.to_string(),
                "for example 30s, 15m, 12h or 90d",
            )
        })
    }

    fn optional_duration(
        &self,
        text: Option<&Spanned<String>>,
        default: SimDuration,
    ) -> Checked<SimDuration> {
        text.map_or(Ok(default), |t| self.duration(t))
    }

    fn scenario(&self, doc: ScenarioDoc, text: &str) -> Checked<Scenario> {
        let clock = OffsetDateTime::parse(&doc.clock.value, &Rfc3339).map_err(|e| {
            self.err(
                doc.clock.referenced,
                format!("clock '{}' is not an RFC 3339 time: {e}", doc.clock.value),
                "write it like 2026-01-01T00:00:00Z",
            )
        })?;
        self.clock_in_range(doc.clock.referenced, clock)?;
        let (peers, policies) = self.peers(&doc.peers, &doc.pki.rogue, self.has_ocsp)?;
        let peer_names: BTreeSet<&str> = peers.iter().map(String::as_str).collect();
        let kms = doc
            .kms
            .as_ref()
            .map(|k| self.kms(k, &peer_names))
            .transpose()?;
        // The KMS node is a node like the peers: it handshakes and can sit
        // at the end of an adversary's link.
        let mut known = peer_names.clone();
        if let Some(k) = &kms {
            known.insert(k.name.as_str());
        }
        let adversaries = doc
            .adversaries
            .iter()
            .map(|a| self.adversary(a, &known))
            .collect::<Checked<Vec<_>>>()?;
        self.unique_adversaries(&doc.adversaries, &known)?;
        let mut taken = known.clone();
        taken.extend(adversaries.iter().map(|a| a.name.as_str()));
        let ocsp = doc
            .ocsp
            .as_ref()
            .map(|o| self.ocsp(o, &taken))
            .transpose()?;
        let delta_crl_every = self.delta_every(&doc.pki)?;
        let crl_validity =
            self.optional_duration(doc.pki.crl_validity.as_ref(), SimDuration(7 * 86_400))?;
        let pki_at = doc.clock.referenced;
        let crl_at = doc
            .pki
            .crl_validity
            .as_ref()
            .map_or(pki_at, |d| d.referenced);
        self.positive(crl_at, "pki.crl-validity", crl_validity)?;
        self.before_the_end(crl_at, clock, crl_validity, "pki.crl-validity")?;
        let certificate_validity = self.optional_duration(
            doc.pki.certificate_validity.as_ref(),
            SimDuration(365 * 86_400),
        )?;
        let lifetime = if doc.pki.intermediates.is_empty() {
            pkilab_net::pki::ROOT_LIFETIME
        } else {
            pkilab_net::pki::INTERMEDIATE_LIFETIME
        };
        let timeline = timeline::Timeline {
            start: clock,
            issuer: doc
                .pki
                .intermediates
                .last()
                .unwrap_or(&doc.pki.root)
                .clone(),
            issuer_ends: clock
                .checked_add(lifetime)
                .map_or(pkilab_net::pki::LATEST, |t| t.min(pkilab_net::pki::LATEST)),
        };
        let cert_at = doc
            .pki
            .certificate_validity
            .as_ref()
            .map_or(pki_at, |d| d.referenced);
        self.leaf_fits(
            cert_at,
            &timeline,
            clock,
            SimDuration(0),
            certificate_validity,
        )?;
        if let Some(k) = &kms {
            for key in &k.keys {
                if let Some(d) = key.expires_in {
                    self.positive(pki_at, &format!("expires-in of key '{}'", key.name), d)?;
                    if clock
                        .checked_add(d.to_time())
                        .is_none_or(|t| t > pkilab_net::pki::LATEST)
                    {
                        return Err(self.err(
                            pki_at,
                            format!("key '{}' would expire after the year 9999", key.name),
                            "give it a shorter expires-in",
                        ));
                    }
                }
            }
        }
        let mut names: BTreeSet<String> = taken.iter().map(|n| (*n).to_owned()).collect();
        if let Some(o) = &ocsp {
            names.insert(o.name.clone());
        }
        let monitors = doc
            .monitors
            .iter()
            .map(|m| self.monitor(m, &peer_names, &mut names))
            .collect::<Checked<Vec<_>>>()?;
        let mut steps = Vec::with_capacity(doc.steps.len());
        let mut sessions = BTreeSet::new();
        let ca_names: Vec<&str> = doc.pki.intermediates.iter().map(String::as_str).collect();
        for step in &doc.steps {
            let checked = self.step(
                step,
                &known,
                &adversaries,
                kms.as_ref(),
                (certificate_validity, crl_validity),
                &ca_names,
            )?;
            self.possible(
                step.referenced,
                &checked.action,
                kms.as_ref(),
                &mut sessions,
            )?;
            steps.push(checked);
        }
        if steps.is_empty() {
            return Err(self.err(
                Location::UNKNOWN,
                "the scenario has no steps",
                "add at least one step under `steps:`",
            ));
        }
        let located: Vec<(Location, &crate::script::Step)> = doc
            .steps
            .iter()
            .map(|s| s.referenced)
            .zip(steps.iter())
            .collect();
        self.timeline(&timeline, &located)?;
        let exercises = exercises::check(self, &doc.exercises, text)?;
        Ok(Scenario {
            path: self.path.to_owned(),
            name: doc.name,
            summary: doc.summary,
            description: doc.description,
            clock,
            seed: doc.seed,
            root: doc.pki.root,
            intermediates: doc.pki.intermediates,
            rogue: doc.pki.rogue,
            crl_validity,
            certificate_validity,
            peers,
            policies,
            adversaries,
            kms,
            ocsp,
            delta_crl_every,
            monitors,
            steps,
            exercises,
        })
    }

    fn adversary(&self, doc: &Spanned<AdversaryDoc>, peers: &BTreeSet<&str>) -> Checked<Adversary> {
        let at = doc.referenced;
        let a = &doc.value;
        let [left, right] = a.link.as_slice() else {
            return Err(self.err(
                at,
                format!(
                    "adversary '{}' has a link of {} peers",
                    a.name,
                    a.link.len()
                ),
                "a link names exactly two peers: link: [alice, bob]",
            ));
        };
        for end in [left, right] {
            self.known_peer(at, end, peers)?;
        }
        if left == right {
            return Err(self.err(
                at,
                format!(
                    "adversary '{}' sits on a link from '{left}' to itself",
                    a.name
                ),
                "name two different peers",
            ));
        }
        let certificate = match (a.kind, a.certificate) {
            (AdversaryKind::Mitm, c) => c.unwrap_or(MitmCertificate::None),
            (_, None) => MitmCertificate::None,
            (kind, Some(_)) => {
                return Err(self.err(
                    at,
                    format!(
                        "adversary '{}' is a {kind:?} and cannot present a certificate",
                        a.name
                    ),
                    "only `kind: mitm` takes `certificate:`",
                ));
            }
        };
        let claims_victim = matches!(
            certificate,
            MitmCertificate::Stolen | MitmCertificate::Forged | MitmCertificate::RogueCa
        );
        if a.victim.is_some() && !claims_victim {
            return Err(self.err(
                at,
                format!(
                    "adversary '{}' names a victim but presents no certificate in anyone's name",
                    a.name
                ),
                "`victim:` goes with certificate: stolen, forged or rogue-ca",
            ));
        }
        let victim = a.victim.clone().unwrap_or_else(|| right.clone());
        self.known_peer(at, &victim, peers)?;
        let replayer = a.kind == AdversaryKind::Replayer;
        if !replayer && (a.delay.is_some() || a.into.is_some()) {
            return Err(self.err(
                at,
                format!("adversary '{}' is not a replayer", a.name),
                "`delay:` and `into:` go with `kind: replayer`",
            ));
        }
        let counts = matches!(
            a.kind,
            AdversaryKind::Dropper | AdversaryKind::Tamperer | AdversaryKind::Replayer
        );
        if let Some(records) = &a.records
            && (!counts || records.value == 0)
        {
            return Err(self.err(
                records.referenced,
                format!(
                    "adversary '{}' cannot act on {} records",
                    a.name, records.value
                ),
                "`records:` is a count of 1 or more, for a dropper, tamperer or replayer",
            ));
        }
        let delay = a.delay.as_ref().map(|d| self.duration(d)).transpose()?;
        Ok(Adversary {
            name: a.name.clone(),
            kind: a.kind,
            link: (left.clone(), right.clone()),
            certificate,
            victim,
            delay,
            into: a.into.unwrap_or(ReplayInto::SameSession),
            records: a.records.as_ref().map(|r| r.value),
        })
    }

    fn unique_adversaries(
        &self,
        docs: &[Spanned<AdversaryDoc>],
        peers: &BTreeSet<&str>,
    ) -> Checked<()> {
        let mut seen = BTreeSet::new();
        for doc in docs {
            let name = doc.value.name.as_str();
            if !is_peer_name(name) {
                return Err(self.err(doc.referenced, format!("'{name}' is not a usable adversary name"), "adversary names are DNS labels like peer names: lowercase letters, digits and '-'"));
            }
            if peers.contains(name) || !seen.insert(name) {
                return Err(self.err(
                    doc.referenced,
                    format!("the name '{name}' is already taken"),
                    "give each adversary a name no peer or other adversary has",
                ));
            }
        }
        Ok(())
    }

    fn known_peer(&self, at: Location, name: &str, peers: &BTreeSet<&str>) -> Checked<()> {
        if peers.contains(name) {
            return Ok(());
        }
        Err(self.err(
            at,
            format!("unknown peer '{name}'"),
            format!(
                "declare it under `peers:` (known: {})",
                list(peers.iter().copied())
            ),
        ))
    }

    fn known_adversary(&self, at: Location, name: &str, adversaries: &[Adversary]) -> Checked<()> {
        if adversaries.iter().any(|a| a.name == name) {
            return Ok(());
        }
        Err(self.err(
            at,
            format!("unknown adversary '{name}'"),
            format!(
                "declare it under `adversaries:` (known: {})",
                list(adversaries.iter().map(|a| a.name.as_str()))
            ),
        ))
    }
}

/// RFC 5280 §5.3.1 reason codes, as the CLI and scenarios name them.
pub const REVOCATION_REASONS: &[&str] = &[
    "unspecified",
    "key-compromise",
    "ca-compromise",
    "affiliation-changed",
    "superseded",
    "cessation-of-operation",
    "certificate-hold",
    "privilege-withdrawn",
];

/// serde-saphyr prefixes "error: line N column M: "; the location is
/// already in our own prefix.
fn strip_position(message: &str) -> &str {
    let rest = message.strip_prefix("error: ").unwrap_or(message);
    match rest.split_once(": ") {
        Some((_, tail)) if rest.starts_with("line ") => tail,
        _ => rest,
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".into()
    } else if names.len() > 8 {
        format!("{}, …", names[..8].join(", "))
    } else {
        names.join(", ")
    }
}

/// Whether a name can be a peer's DNS label (RFC 1035 §2.3.1, lowercase).
pub fn is_peer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
