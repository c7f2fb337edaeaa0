//! An x509-limbo harness: runs every testcase of a limbo file through the
//! validator and reports the result in the harness format
//! (`{"version": 1, "harness": ..., "results": [...]}`).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::verdict::{ExpectedName, Reason, Usage, ValidationRequest, Verdict};
use crate::{Error, Options, Validator, pem_input};

/// A limbo file: a list of testcases.
#[derive(Debug, Deserialize)]
pub struct Limbo {
    /// The testcases, in file order.
    pub testcases: Vec<Testcase>,
}

/// One limbo testcase (the fields this harness uses).
#[derive(Debug, Deserialize)]
pub struct Testcase {
    /// The testcase id, e.g. `rfc5280::nc::permitted-dns-match`.
    pub id: String,
    /// limbo features, e.g. `pedantic-rfc5280`.
    #[serde(default)]
    pub features: Vec<String>,
    /// `SERVER` or `CLIENT`.
    pub validation_kind: String,
    /// PEM trust anchors.
    pub trusted_certs: Vec<String>,
    /// PEM intermediates the validator may use.
    pub untrusted_intermediates: Vec<String>,
    /// The PEM certificate to validate.
    pub peer_certificate: String,
    /// PEM CRLs.
    #[serde(default)]
    pub crls: Vec<String>,
    /// RFC 3339 validation time; `None` means now.
    pub validation_time: Option<String>,
    /// The name the peer must be valid for.
    pub expected_peer_name: Option<PeerName>,
    /// For client certificates: every name the peer must be valid for.
    #[serde(default)]
    pub expected_peer_names: Vec<PeerName>,
    /// The most intermediates a path may hold.
    pub max_chain_depth: Option<usize>,
    /// Key usages the leaf must allow, by name.
    #[serde(default)]
    pub key_usage: Vec<String>,
    /// Signature algorithms to restrict to (empty: any).
    #[serde(default)]
    pub signature_algorithms: Vec<String>,
    /// Extended key usages the leaf must allow, by name.
    #[serde(default)]
    pub extended_key_usage: Vec<String>,
    /// `SUCCESS` or `FAILURE`.
    pub expected_result: String,
}

/// A limbo peer name.
#[derive(Debug, Deserialize)]
pub struct PeerName {
    /// `DNS`, `IP` or `RFC822`.
    pub kind: String,
    /// The name.
    pub value: String,
}

impl PeerName {
    fn expected(&self) -> Result<ExpectedName, Unusable> {
        match self.kind.as_str() {
            "DNS" => Ok(ExpectedName::Dns(self.value.clone())),
            "IP" => self
                .value
                .parse::<IpAddr>()
                .map(ExpectedName::Ip)
                .map_err(|e| {
                    Unusable::Input(format!("expected IP '{}' does not parse: {e}", self.value))
                }),
            "RFC822" => Ok(ExpectedName::Email(self.value.clone())),
            other => Err(Unusable::Skip(format!("peer name kind {other}"))),
        }
    }
}

/// One harness result.
#[derive(Debug, Serialize)]
pub struct CaseResult {
    /// The testcase id.
    pub id: String,
    /// `SUCCESS`, `FAILURE` or `SKIPPED`.
    pub actual_result: &'static str,
    /// Our reason id and detail, or why the case was skipped.
    pub context: String,
}

/// The harness output.
#[derive(Debug, Serialize)]
pub struct HarnessReport {
    /// Format version (1).
    pub version: u32,
    /// The harness name.
    pub harness: String,
    /// One result per testcase.
    pub results: Vec<CaseResult>,
}

impl Limbo {
    /// Parses a limbo JSON document.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Runs every testcase.
    pub fn run(&self) -> HarnessReport {
        HarnessReport {
            version: 1,
            harness: format!("pkilab-verify {}", env!("CARGO_PKG_VERSION")),
            results: self.testcases.iter().map(Testcase::run).collect(),
        }
    }
}

impl Testcase {
    /// Runs this testcase.
    pub fn run(&self) -> CaseResult {
        let (actual_result, context) = match self.verdict() {
            Ok(Verdict::Valid { .. }) => ("SUCCESS", "valid".to_owned()),
            Ok(Verdict::Invalid { reason, detail, .. }) => {
                ("FAILURE", format!("{}: {detail}", reason.id()))
            }
            Err(Unusable::Input(why)) => ("FAILURE", why),
            Err(Unusable::Skip(why)) => ("SKIPPED", why),
        };
        CaseResult {
            id: self.id.clone(),
            actual_result,
            context,
        }
    }

    fn verdict(&self) -> Result<Verdict, Unusable> {
        let at = match &self.validation_time {
            Some(t) => OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|e| Unusable::Skip(format!("validation_time '{t}': {e}")))?,
            None => OffsetDateTime::now_utc(),
        };
        if !self.signature_algorithms.is_empty() {
            return Err(Unusable::Skip("a signature-algorithm restriction".into()));
        }
        let mut options = Options::default();
        if let Some(depth) = self.max_chain_depth {
            options.max_depth = depth;
        }
        for usage in &self.key_usage {
            match usage.as_str() {
                "digitalSignature" => options.require_digital_signature = true,
                other => return Err(Unusable::Skip(format!("key usage {other}"))),
            }
        }
        let usage = self.usage()?;
        let anchors = pems(&self.trusted_certs, "CERTIFICATE")?;
        let mut validator =
            Validator::new(anchors).map_err(|e| Unusable::Input(format!("malformed: {e}")))?;
        validator.set_options(options);
        for crl in pems(&self.crls, "X509 CRL")? {
            // A CRL that does not parse stays loaded as broken, and the
            // validation below refuses with crl-invalid.
            let _ = validator.add_crl(&crl);
        }
        let intermediates = pems(&self.untrusted_intermediates, "CERTIFICATE")?;
        let leaf = pems(std::slice::from_ref(&self.peer_certificate), "CERTIFICATE")?;
        let leaf = leaf.first().map(Vec::as_slice).unwrap_or_default();
        let mut names: Vec<ExpectedName> = Vec::new();
        for peer in self
            .expected_peer_name
            .iter()
            .chain(&self.expected_peer_names)
        {
            names.push(peer.expected()?);
        }
        if names.is_empty() {
            names.push(ExpectedName::Any);
        }
        let mut verdict = Verdict::invalid(Reason::Malformed, "no name to check", None);
        for name in names {
            verdict =
                validator.validate(leaf, &intermediates, &ValidationRequest { at, name, usage });
            if !verdict.is_valid() {
                break;
            }
        }
        Ok(verdict)
    }

    fn usage(&self) -> Result<Usage, Unusable> {
        let wants = |u: &str| self.extended_key_usage.iter().any(|e| e == u);
        match (self.validation_kind.as_str(), self.extended_key_usage.len()) {
            ("SERVER", _) => Ok(Usage::Server),
            ("CLIENT", 0) => Ok(Usage::Any),
            ("CLIENT", 1) if wants("clientAuth") => Ok(Usage::Client),
            ("CLIENT", 1) if wants("serverAuth") => Ok(Usage::Server),
            (kind, _) => Err(Unusable::Skip(format!(
                "validation kind {kind} with EKUs {:?}",
                self.extended_key_usage
            ))),
        }
    }
}

enum Unusable {
    /// Input the validator refuses before any path is built.
    Input(String),
    /// A case this harness does not model.
    Skip(String),
}

fn pems(texts: &[String], label: &str) -> Result<Vec<Vec<u8>>, Unusable> {
    let mut out = Vec::with_capacity(texts.len());
    for text in texts {
        let blocks = pem_input::blocks(text.as_bytes(), label)
            .map_err(|e: Error| Unusable::Input(format!("malformed: {e}")))?;
        out.extend(blocks);
    }
    Ok(out)
}

/// A testcase where our result differs from `expected_result`.
#[derive(Debug, Serialize)]
pub struct Disagreement {
    /// The testcase id.
    pub id: String,
    /// What limbo expects.
    pub expected: String,
    /// What we concluded.
    pub actual: &'static str,
    /// The case's limbo features.
    pub features: Vec<String>,
    /// Our reason.
    pub context: String,
}

impl HarnessReport {
    /// The cases (not skipped) where we differ from `limbo`'s expectation.
    pub fn disagreements(&self, limbo: &Limbo) -> Vec<Disagreement> {
        limbo
            .testcases
            .iter()
            .zip(&self.results)
            .filter(|(case, result)| {
                result.actual_result != "SKIPPED" && result.actual_result != case.expected_result
            })
            .map(|(case, result)| Disagreement {
                id: case.id.clone(),
                expected: case.expected_result.clone(),
                actual: result.actual_result,
                features: case.features.clone(),
                context: result.context.clone(),
            })
            .collect()
    }

    /// How many cases were skipped.
    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.actual_result == "SKIPPED")
            .count()
    }
}
