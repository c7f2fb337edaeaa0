//! The YAML of certificate transparency: monitors, and the steps that
//! issue a rogue certificate, split the log's view and compare
//! checkpoints.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// `monitors: [{ name, watches, every }]`: a node that reads the log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorDoc {
    /// The monitor's name.
    pub name: String,
    /// The peer whose name it looks for in the log.
    pub watches: String,
    /// How often it reads the log, e.g. `1h`.
    pub every: Spanned<String>,
}

/// `rogue-issuance: { for: bob, by: mallory, logged: true }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RogueIssuanceDoc {
    /// The victim named in the certificate.
    #[serde(rename = "for")]
    pub victim: String,
    /// The man-in-the-middle whose key it certifies.
    pub by: String,
    /// Whether the compromised CA appends it to the log.
    pub logged: bool,
}

/// `split-view: { shown: [alice] }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitViewDoc {
    /// The peers shown a tree of their own from now on.
    pub shown: Vec<String>,
}

/// `gossip: { between: [alice, carol] }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GossipDoc {
    /// The two peers that compare checkpoints.
    pub between: Spanned<Vec<String>>,
}
