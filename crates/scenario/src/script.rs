//! A validated scenario: every name resolves, every duration parsed, every
//! expectation fits its step. The runner takes only this.

use time::OffsetDateTime;

use crate::duration::SimDuration;
use crate::model::{
    AdversaryKind, CipherDoc, MitmCertificate, Mode, Outcome, Pairs, ReplayInto, RevocationDoc,
};

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub path: String,
    /// Title.
    pub name: String,
    /// One-line summary.
    pub summary: String,
    /// The lesson text.
    pub description: String,
    /// Start of simulated time.
    pub clock: OffsetDateTime,
    /// Seed of the run.
    pub seed: u64,
    /// Subject of the trusted root.
    pub root: String,
    /// Intermediates, root side first.
    pub intermediates: Vec<String>,
    /// Untrusted CAs.
    pub rogue: Vec<String>,
    /// CRL lifetime.
    pub crl_validity: SimDuration,
    /// Peer certificate lifetime.
    pub certificate_validity: SimDuration,
    /// Peer names, in order.
    pub peers: Vec<String>,
    /// Peers with a policy of their own, by name.
    pub policies: std::collections::BTreeMap<String, PeerSetup>,
    /// Adversaries, in install order.
    pub adversaries: Vec<Adversary>,
    /// The key-management node, if any.
    pub kms: Option<KmsSetup>,
    /// The OCSP responder, if any.
    pub ocsp: Option<OcspSetup>,
    /// How often the CAs publish a delta CRL after each complete CRL.
    pub delta_crl_every: Option<SimDuration>,
    /// Monitors of the transparency log.
    pub monitors: Vec<MonitorSetup>,
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// Questions for the reader, each answered by a change to the file.
    pub exercises: Vec<Exercise>,
}

/// A question whose answer is a change to the scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    /// Line of the exercise in the file.
    pub line: u64,
    /// What the reader is asked.
    pub question: String,
    /// A nudge toward the answer.
    pub hint: String,
    /// Replacements (text, replacement), applied in order.
    pub change: Vec<(String, String)>,
    /// The step (1-based) of the changed file that shows the answer.
    pub step: usize,
    /// What that step then observes.
    pub expect: Expectation,
}

/// A peer's own policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerSetup {
    /// Names it accepts as a responder (`None`: any its anchors vouch for).
    pub accept: Option<Vec<String>>,
    /// Modes it accepts as a responder besides the one a handshake asks for.
    pub modes: Vec<Mode>,
    /// Rogue CAs it trusts besides the root.
    pub trusts: Vec<String>,
    /// How it treats revocation (`crl` is read as `hard`, or as `soft`
    /// with `soft-fail: true`).
    pub revocation: RevocationDoc,
    /// With `ocsp` or `ocsp-staple`: go ahead without a usable status.
    pub soft_fail: bool,
    /// Requires an inclusion proof in the CA's transparency log.
    pub require_logged: bool,
}

/// A monitor of the transparency log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorSetup {
    /// Its name.
    pub name: String,
    /// The peer whose name it looks for.
    pub watches: String,
    /// How often it reads the log.
    pub every: SimDuration,
}

/// The OCSP responder node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspSetup {
    /// Its name on the network.
    pub name: String,
    /// How long each response is valid.
    pub validity: SimDuration,
}

/// A key-management node and its group keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsSetup {
    /// Its name on the network.
    pub name: String,
    /// Its group keys.
    pub keys: Vec<GroupKey>,
}

/// A group key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKey {
    /// Name.
    pub name: String,
    /// Peers that may fetch it.
    pub members: Vec<String>,
    /// Lifetime from the start of the run.
    pub expires_in: Option<SimDuration>,
}

/// An adversary on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adversary {
    /// Name.
    pub name: String,
    /// Behaviour.
    pub kind: AdversaryKind,
    /// The link's two ends.
    pub link: (String, String),
    /// The certificate a MITM presents.
    pub certificate: MitmCertificate,
    /// Whose identity a stolen, forged or rogue-CA certificate claims.
    pub victim: String,
    /// Replayer: how long copies are held back.
    pub delay: Option<SimDuration>,
    /// Replayer: which session copies go into.
    pub into: ReplayInto,
    /// Dropper, tamperer, replayer: how many data records it acts on.
    pub records: Option<u64>,
}

/// One step of the story.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based line of the step in the file.
    pub line: u64,
    /// What happens.
    pub action: Action,
    /// What must then hold.
    pub expect: Expectation,
    /// The author's sentence for the narration.
    pub note: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A handshake from `from` to `to`.
    Handshake {
        /// Initiator.
        from: String,
        /// Responder.
        to: String,
        /// Mode.
        mode: Mode,
        /// Record protection.
        cipher: CipherDoc,
    },
    /// A message over the established session.
    Send {
        /// Sender.
        from: String,
        /// Receiver.
        to: String,
        /// Plaintext.
        message: String,
    },
    /// The clock moves on.
    Advance(SimDuration),
    /// A fresh certificate for a peer.
    Issue {
        /// Holder.
        peer: String,
        /// Validity.
        validity: SimDuration,
        /// Offset of notBefore from now.
        valid_from: SimDuration,
        /// Re-certify the existing key instead of a fresh one.
        keep_key: bool,
    },
    /// Revocation of a peer's current certificate.
    Revoke {
        /// Holder.
        peer: String,
        /// RFC 5280 reason id.
        reason: String,
    },
    /// Revocation of an intermediate CA by its parent.
    RevokeCa {
        /// The CA's name.
        ca: String,
        /// RFC 5280 reason id.
        reason: String,
    },
    /// A member leaves a group key, which the KMS then rotates.
    RemoveMember {
        /// Which key.
        key: String,
        /// Who leaves.
        peer: String,
    },
    /// A new CRL.
    PublishCrl {
        /// thisUpdate to nextUpdate.
        validity: SimDuration,
    },
    /// A peer's long-term keys go to an adversary.
    Compromise {
        /// Victim.
        peer: String,
        /// Receiver.
        to: String,
    },
    /// An adversary decrypts what it recorded.
    DecryptRecorded {
        /// The adversary.
        by: String,
        /// The primitives it is assumed to break (empty: stolen keys only).
        breaks: Vec<crate::model::Primitive>,
    },
    /// A peer fetches a group key.
    FetchKey {
        /// Who asks.
        peer: String,
        /// Which key.
        key: String,
    },
    /// The KMS node rotates a group key.
    RotateKey {
        /// Which key.
        key: String,
    },
    /// An adversary makes the OCSP responder unreachable.
    Block {
        /// The adversary.
        by: String,
    },
    /// An adversary reads the OCSP responder's log.
    ReadOcspLog {
        /// The adversary.
        by: String,
    },
    /// The compromised CA issues a certificate in `victim`'s name for a
    /// key the man-in-the-middle `by` holds.
    RogueIssuance {
        /// Named in the certificate.
        victim: String,
        /// Holds the key.
        by: String,
        /// Appended to the log.
        logged: bool,
    },
    /// Revocation of the certificates in `peer`'s name its monitor
    /// reported as unrequested.
    RevokeUnrequested {
        /// Whose name.
        peer: String,
        /// RFC 5280 reason id.
        reason: String,
    },
    /// The log shows `shown` a tree of their own.
    SplitView {
        /// Who sees the other tree.
        shown: Vec<String>,
    },
    /// Two peers compare the log's checkpoints.
    Gossip {
        /// One peer.
        a: String,
        /// The other.
        b: String,
    },
    /// A workload of handshakes among the peers.
    Handshakes {
        /// How many.
        count: u64,
        /// Pair choice.
        pairs: Pairs,
        /// Mode.
        mode: Mode,
    },
}

impl Action {
    /// The step's YAML key.
    pub fn keyword(&self) -> &'static str {
        match self {
            Action::Handshake { .. } => "handshake",
            Action::Send { .. } => "send",
            Action::Advance(_) => "advance",
            Action::Issue { .. } => "issue",
            Action::Revoke { .. } | Action::RevokeCa { .. } | Action::RevokeUnrequested { .. } => {
                "revoke"
            }
            Action::RogueIssuance { .. } => "rogue-issuance",
            Action::SplitView { .. } => "split-view",
            Action::Gossip { .. } => "gossip",
            Action::RemoveMember { .. } => "remove-member",
            Action::PublishCrl { .. } => "publish-crl",
            Action::Compromise { .. } => "compromise",
            Action::DecryptRecorded { .. } => "decrypt-recorded",
            Action::Handshakes { .. } => "handshakes",
            Action::FetchKey { .. } => "fetch-key",
            Action::RotateKey { .. } => "rotate-key",
            Action::Block { .. } => "block",
            Action::ReadOcspLog { .. } => "read-ocsp-log",
        }
    }
}

/// What must hold after a step; `None` means not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectation {
    /// Handshake outcome.
    pub outcome: Option<Outcome>,
    /// Refusal reason id.
    pub reason: Option<String>,
    /// Whether an adversary read plaintext.
    pub attacker_reads: Option<bool>,
    /// Whether a message was delivered.
    pub delivered: Option<bool>,
    /// Workload: number established.
    pub established: Option<u64>,
    /// Key steps: the version delivered or created.
    pub version: Option<i64>,
    /// Send: what arrived is exactly what was sent.
    pub intact: Option<bool>,
    /// Advance, gossip: the log or a certificate in it was caught.
    pub detected: Option<bool>,
}

impl Expectation {
    /// True when nothing is expected.
    pub fn is_empty(&self) -> bool {
        *self == Expectation::default()
    }
}
