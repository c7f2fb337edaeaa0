//! The YAML of revocation status beyond CRLs: the OCSP responder node,
//! and the steps that block it or read its log.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// `ocsp: { name, validity }`: an OCSP responder for the issuing CA.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcspDoc {
    /// The node's name on the network (default `ocsp`).
    #[serde(default)]
    pub name: Option<String>,
    /// thisUpdate to nextUpdate of each response (default 1h).
    #[serde(default)]
    pub validity: Option<Spanned<String>>,
}

/// What a `block:` step makes unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockTarget {
    /// The OCSP responder.
    Ocsp,
}

/// `block: { target: ocsp, by: mallory }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockDoc {
    /// What becomes unreachable.
    pub target: BlockTarget,
    /// The adversary that drops the frames.
    pub by: String,
}

/// `read-ocsp-log: { by: eve }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadLogDoc {
    /// The adversary that reads the responder's log.
    pub by: String,
}
