//! A scenario file as it is written, before validation. Field names are the
//! YAML keys; `Spanned` values keep their line and column for error reports.

use serde::Deserialize;
use serde_saphyr::Spanned;

mod ocsp;
mod transparency;
pub use ocsp::{BlockDoc, BlockTarget, OcspDoc, ReadLogDoc};
pub use transparency::{GossipDoc, MonitorDoc, RogueIssuanceDoc, SplitViewDoc};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDoc {
    /// Title of the lesson.
    pub name: String,
    /// One line, shown by `scenario list`.
    pub summary: String,
    /// The lesson itself: what to look for and why it matters.
    #[serde(default)]
    pub description: String,
    /// Start of simulated time, RFC 3339.
    pub clock: Spanned<String>,
    /// Seed of every random choice in the run.
    #[serde(default)]
    pub seed: u64,
    /// Lets handshakes use `cipher: aes-256-ctr-unauthenticated`.
    #[serde(default, rename = "allow-insecure-cipher")]
    pub allow_insecure_cipher: bool,
    /// The certificate authorities.
    pub pki: PkiDoc,
    /// The peers: a list of names, or `{ count, prefix }`.
    pub peers: Spanned<PeersDoc>,
    /// Adversaries on links.
    #[serde(default)]
    pub adversaries: Vec<Spanned<AdversaryDoc>>,
    /// A key-management node and the group keys it serves.
    #[serde(default)]
    pub kms: Option<Spanned<KmsDoc>>,
    /// An OCSP responder for the issuing CA.
    #[serde(default)]
    pub ocsp: Option<Spanned<OcspDoc>>,
    /// Monitors reading the CA's transparency log on the simulated clock.
    #[serde(default)]
    pub monitors: Vec<Spanned<MonitorDoc>>,
    /// What happens, in order.
    pub steps: Vec<Spanned<StepDoc>>,
    /// Questions for the reader, each answered by a change to this file.
    #[serde(default)]
    pub exercises: Vec<Spanned<ExerciseDoc>>,
}

/// `exercises: [{ question, hint, change, answer }]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseDoc {
    /// What the reader is asked.
    pub question: String,
    /// A nudge toward the answer.
    #[serde(default)]
    pub hint: String,
    /// The change that answers it: text replacements in this file.
    pub change: Vec<ChangeDoc>,
    /// What the changed file then observes at one step.
    pub answer: AnswerDoc,
}

/// `{ replace: TEXT, with: TEXT }`: every occurrence, outside `exercises:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeDoc {
    /// Text of the file to replace.
    pub replace: String,
    /// What replaces it.
    pub with: String,
}

/// `answer: { step: N, expect: { … } }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerDoc {
    /// The step (1-based) of the changed file.
    pub step: usize,
    /// What it observes, as `expect:` writes it.
    pub expect: Spanned<ExpectDoc>,
}

/// The PKI: one trusted root, its issuing intermediates, and CAs nobody trusts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PkiDoc {
    /// Subject of the trusted root.
    pub root: String,
    /// Intermediates, each issued by the one before; the last issues peers.
    #[serde(default)]
    pub intermediates: Vec<String>,
    /// Self-signed CAs that no peer trusts, usable by a `rogue-ca` adversary.
    #[serde(default)]
    pub rogue: Vec<String>,
    /// Lifetime of a published CRL (thisUpdate to nextUpdate); default 7d.
    #[serde(default, rename = "crl-validity")]
    pub crl_validity: Option<Spanned<String>>,
    /// Lifetime of peer certificates; default 365d.
    #[serde(default, rename = "certificate-validity")]
    pub certificate_validity: Option<Spanned<String>>,
    /// The CAs publish a delta CRL this often after each complete CRL.
    #[serde(default, rename = "delta-crl-every")]
    pub delta_crl_every: Option<Spanned<String>>,
}

/// Peers by name (each a name or a map with its own policy), or
/// generated as `prefix0 … prefix{count-1}`.
#[derive(Debug)]
pub enum PeersDoc {
    /// `[alice, { name: bob, accept: [alice] }]`
    Named(Vec<Spanned<PeerEntry>>),
    /// `{ count: 10000, prefix: node }`
    Generated {
        /// How many.
        count: u64,
        /// Name prefix.
        prefix: String,
    },
}

/// One entry of `peers:`.
#[derive(Debug)]
pub enum PeerEntry {
    /// Just a name.
    Name(String),
    /// A name with the peer's own policy.
    Full(PeerDoc),
    /// A plain scalar YAML read as a boolean (`y`, `n`, `on`, `off`…).
    Boolean(bool),
}

/// `{ name, accept, modes, trusts, revocation }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerDoc {
    /// The peer's name.
    pub name: String,
    /// As a responder, the names it accepts (default: any name its trust
    /// anchors vouch for).
    #[serde(default)]
    pub accept: Option<Vec<String>>,
    /// As a responder, modes it accepts besides the one a handshake asks for.
    #[serde(default)]
    pub modes: Vec<Mode>,
    /// Rogue CAs (from `pki.rogue`) it trusts besides the root.
    #[serde(default)]
    pub trusts: Vec<String>,
    /// `crl` (default), `ocsp`, `ocsp-staple` or `none`; `hard` and
    /// `soft` are the older spellings of `crl` with and without
    /// `soft-fail`.
    #[serde(default)]
    pub revocation: Option<Spanned<RevocationDoc>>,
    /// With `crl`, `ocsp` or `ocsp-staple`: go ahead when no usable status
    /// is at hand (default false: refuse).
    #[serde(default, rename = "soft-fail")]
    pub soft_fail: Option<Spanned<bool>>,
    /// Refuse a peer whose certificate comes without an inclusion proof in
    /// the CA's transparency log (default false).
    #[serde(default, rename = "require-logged")]
    pub require_logged: bool,
}

/// How a peer learns whether a certificate was revoked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationDoc {
    /// `crl` without `soft-fail`: refuse without a current CRL.
    #[default]
    Hard,
    /// `crl` with `soft-fail: true`: use the CRL while it is current; go
    /// ahead without it when stale.
    Soft,
    /// Never check.
    None,
    /// The published CRLs, and delta CRLs when the CA publishes them.
    Crl,
    /// Ask the OCSP responder about the peer's certificate during the
    /// handshake.
    Ocsp,
    /// Staple a recent OCSP response for one's own certificate, and check
    /// the one the peer staples (must-staple unless `soft-fail`).
    OcspStaple,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeneratedDoc {
    count: u64,
    prefix: String,
}

impl<'de> Deserialize<'de> for PeersDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PeersDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of peer names, or { count, prefix }")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PeersDoc, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element()? {
                    entries.push(entry);
                }
                Ok(PeersDoc::Named(entries))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<PeersDoc, A::Error> {
                let g =
                    GeneratedDoc::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(PeersDoc::Generated {
                    count: g.count,
                    prefix: g.prefix,
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl<'de> Deserialize<'de> for PeerEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PeerEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a peer name, or { name, accept, modes, trusts, revocation }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PeerEntry, E> {
                Ok(PeerEntry::Name(v.to_owned()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<PeerEntry, E> {
                Ok(PeerEntry::Boolean(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PeerEntry, E> {
                Ok(PeerEntry::Name(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PeerEntry, E> {
                Ok(PeerEntry::Name(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<PeerEntry, E> {
                Ok(PeerEntry::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<PeerEntry, A::Error> {
                PeerDoc::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(PeerEntry::Full)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `kms: { name, keys: [...] }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsDoc {
    /// The node's name on the network (default `kms`).
    #[serde(default)]
    pub name: Option<String>,
    /// Group keys it holds.
    #[serde(default)]
    pub keys: Vec<Spanned<GroupKeyDoc>>,
}

/// One group key: `{ name, members, expires-in }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GroupKeyDoc {
    /// The key's name.
    pub name: String,
    /// Peers that may fetch it.
    pub members: Vec<String>,
    /// It deactivates by itself after this much simulated time.
    pub expires_in: Option<Spanned<String>>,
}

/// What an adversary does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdversaryKind {
    /// Records every frame.
    Eavesdropper,
    /// Runs its own handshake with each side and relays.
    Mitm,
    /// Sends recorded frames again.
    Replayer,
    /// Flips a bit in a frame.
    Tamperer,
    /// Rewrites the handshake mode to `unauthenticated`.
    Downgrader,
    /// Strips the ML-KEM key from hybrid hellos, asking for signed-ephemeral.
    Stripper,
    /// Drops frames.
    Dropper,
}

/// The certificate a man-in-the-middle presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MitmCertificate {
    /// None at all.
    None,
    /// A valid certificate from the real CA, in the attacker's own name.
    Own,
    /// The victim's key and certificate.
    Stolen,
    /// Self-signed, in the victim's name.
    Forged,
    /// In the victim's name, from a CA nobody trusts.
    RogueCa,
}

/// One adversary.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversaryDoc {
    /// Its name in the story.
    pub name: String,
    /// What it does.
    pub kind: AdversaryKind,
    /// The two peers whose link it sits on.
    pub link: Vec<String>,
    /// For `mitm`: the certificate it presents (default `none`).
    #[serde(default)]
    pub certificate: Option<MitmCertificate>,
    /// For `stolen`, `forged` and `rogue-ca`: whose identity it claims
    /// (default: the second peer of the link).
    #[serde(default)]
    pub victim: Option<String>,
    /// For `replayer`: deliver each copy this much later (default: at once).
    #[serde(default)]
    pub delay: Option<Spanned<String>>,
    /// For `replayer`: `next-session` replays a session's records into the
    /// next session on the link instead of the same one.
    #[serde(default)]
    pub into: Option<ReplayInto>,
    /// For `dropper`, `tamperer` and `replayer`: act on this many data
    /// records only (default: all).
    #[serde(default)]
    pub records: Option<Spanned<u64>>,
}

/// Where a replayer sends its copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayInto {
    /// The session the record came from.
    #[default]
    SameSession,
    /// The next session on the link.
    NextSession,
}

/// Handshake modes, as in the peer protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Ephemeral X25519 signed with Ed25519 identities (forward secret).
    #[default]
    SignedEphemeral,
    /// Plain ephemeral X25519, no authentication.
    Unauthenticated,
    /// Long-term X25519 keys, authenticated, no forward secrecy.
    Static,
    /// Ephemeral X25519 and ML-KEM-768, signed: post-quantum key exchange.
    Hybrid,
}

/// A primitive an adversary is assumed to break (`decrypt-recorded.breaks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Primitive {
    /// X25519: a quantum computer running Shor's algorithm breaks it.
    X25519,
    /// ML-KEM-768: assumed broken to show why hybrids are deployed.
    MlKem,
}

/// One step: exactly one action key, plus an optional expectation and note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepDoc {
    /// Run a handshake.
    pub handshake: Option<HandshakeDoc>,
    /// Send a message over an established session.
    pub send: Option<SendDoc>,
    /// Advance the clock, e.g. `400d`.
    pub advance: Option<Spanned<String>>,
    /// Issue a fresh certificate to a peer.
    pub issue: Option<IssueDoc>,
    /// Revoke a peer's certificate (takes effect at the next CRL).
    pub revoke: Option<RevokeDoc>,
    /// Publish the CRL.
    pub publish_crl: Option<PublishCrlDoc>,
    /// Hand a peer's long-term keys to an adversary.
    pub compromise: Option<CompromiseDoc>,
    /// An adversary tries to decrypt everything it recorded.
    pub decrypt_recorded: Option<DecryptDoc>,
    /// Many handshakes among generated peers.
    pub handshakes: Option<WorkloadDoc>,
    /// A peer fetches a group key from the KMS node over its session.
    pub fetch_key: Option<FetchKeyDoc>,
    /// The KMS node rotates a group key.
    pub rotate_key: Option<RotateKeyDoc>,
    /// A member leaves a group key; the KMS rotates it.
    pub remove_member: Option<RemoveMemberDoc>,
    /// An adversary makes a service unreachable.
    pub block: Option<BlockDoc>,
    /// An adversary reads the OCSP responder's log.
    pub read_ocsp_log: Option<ReadLogDoc>,
    /// The compromised CA issues a certificate in a victim's name.
    pub rogue_issuance: Option<RogueIssuanceDoc>,
    /// The log shows some peers a tree of their own.
    pub split_view: Option<SplitViewDoc>,
    /// Two peers compare the log's checkpoints.
    pub gossip: Option<GossipDoc>,
    /// What must be true after the step.
    pub expect: Option<Spanned<ExpectDoc>>,
    /// A sentence for the narration.
    pub note: Option<String>,
}

/// `handshake: { from, to, mode }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeDoc {
    /// Initiator.
    pub from: String,
    /// Responder.
    pub to: String,
    /// Mode both sides are configured for.
    #[serde(default)]
    pub mode: Mode,
    /// Record protection both sides are configured for.
    #[serde(default)]
    pub cipher: CipherDoc,
}

/// How session records are protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CipherDoc {
    /// AES-256-GCM: authenticated.
    #[default]
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// AES-256-CTR without a tag: insecure, allowed only with
    /// `allow-insecure-cipher: true`.
    #[serde(rename = "aes-256-ctr-unauthenticated")]
    Aes256CtrUnauthenticated,
}

/// `send: { from, to, message }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendDoc {
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Plaintext.
    pub message: String,
}

/// `issue: { peer, days, valid-from }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IssueDoc {
    /// Who gets the certificate.
    pub peer: String,
    /// Validity, e.g. `30d` (default: the PKI's certificate validity).
    pub validity: Option<Spanned<String>>,
    /// Start of validity relative to now, e.g. `10d` for a not-yet-valid one.
    pub valid_from: Option<Spanned<String>>,
    /// Re-certify the peer's existing key instead of a fresh one.
    #[serde(default)]
    pub keep_key: bool,
}

/// `revoke: { peer, reason }` or `revoke: { ca, reason }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeDoc {
    /// Whose current certificate.
    #[serde(default)]
    pub peer: Option<String>,
    /// Or: which intermediate CA.
    #[serde(default)]
    pub ca: Option<String>,
    /// RFC 5280 reason, e.g. `key-compromise`.
    #[serde(default)]
    pub reason: Option<String>,
    /// With `peer`: revoke the certificates in its name that its monitor
    /// reported as unrequested, not its own.
    #[serde(default)]
    pub unrequested: bool,
}

/// `publish-crl: {}` or `publish-crl: { validity: 1h }`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishCrlDoc {
    /// thisUpdate to nextUpdate for this CRL.
    pub validity: Option<Spanned<String>>,
}

/// `compromise: { peer, to }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompromiseDoc {
    /// Whose long-term keys leak.
    pub peer: String,
    /// Which adversary receives them.
    pub to: String,
}

/// `decrypt-recorded: { by, breaks }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptDoc {
    /// The adversary.
    pub by: String,
    /// The primitives it is assumed to break (`x25519`, `ml-kem`); absent:
    /// it uses only the long-term keys it stole.
    #[serde(default)]
    pub breaks: Vec<Primitive>,
}

/// `fetch-key: { peer, key }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchKeyDoc {
    /// Who asks.
    pub peer: String,
    /// Which group key.
    pub key: String,
}

/// `rotate-key: { key }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyDoc {
    /// Which group key.
    pub key: String,
}

/// `remove-member: { key, peer }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveMemberDoc {
    /// Which group key.
    pub key: String,
    /// The member who leaves.
    pub peer: String,
}

/// How workload pairs are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pairs {
    /// Uniformly random distinct pairs, from the seed.
    Random,
}

/// `handshakes: { count, pairs, mode }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadDoc {
    /// How many handshakes.
    pub count: Spanned<u64>,
    /// How pairs are chosen.
    pub pairs: Pairs,
    /// Mode.
    #[serde(default)]
    pub mode: Mode,
}

/// Outcome of a handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Both sides hold the same keys.
    Established,
    /// One side refused.
    Rejected,
}

/// `expect: { … }`; which keys apply depends on the step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDoc {
    /// Handshake outcome.
    pub outcome: Option<Outcome>,
    /// Refusal reason id, e.g. `name-mismatch`.
    pub reason: Option<String>,
    /// Whether an adversary read plaintext.
    pub attacker_reads: Option<bool>,
    /// Whether a message was delivered.
    pub delivered: Option<bool>,
    /// Workload: how many handshakes were established.
    pub established: Option<u64>,
    /// Key steps: the key version delivered or created.
    pub version: Option<i64>,
    /// Send: what arrived is exactly what was sent.
    pub intact: Option<bool>,
    /// Advance, gossip: a monitor or a checkpoint comparison caught the log
    /// or a certificate it holds.
    pub detected: Option<bool>,
}
