//! Proving who we are, and checking who the peer is, inside M2 and M3.
//!
//! Each side signs `context ‖ th` with its Ed25519 identity, where `th` is
//! the running transcript (`transcript`) up to and including what its own
//! block says: both hellos (mode, suites, nonces, key shares), the
//! responder's block when the initiator signs, then its context, chain,
//! staple, inclusion proof and the name it believes the peer has. It then
//! MACs `SHA-256(th ‖ signature)` with its finished key. So a downgrade, a
//! swapped key share or a relayed identity breaks a check.

use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use pkilab_tlog::InclusionProof;
use pkilab_verify::{ExpectedName, LogRequirement, Usage, ValidationRequest, Validator};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::identity::Identity;
use crate::key_schedule::{finished_mac, sha256, verify_finished};
use crate::primitives::ed25519_verify;
use crate::refusal::{Refusal, RefusalReason};
use crate::transcript::Transcript;
use crate::wire::{Authentication, Mode};

/// Which side produced an authentication block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Initiator,
    Responder,
}

impl Role {
    pub(crate) fn context(self) -> &'static [u8] {
        match self {
            Role::Initiator => b"pkilab/1 initiator signature",
            Role::Responder => b"pkilab/1 responder signature",
        }
    }
}

/// Who the peer turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerIdentity {
    /// Unauthenticated mode: nobody knows.
    Anonymous,
    /// A verified certificate chain and a transcript signature by its key.
    Verified(VerifiedPeer),
}

/// Proof that a peer's chain validated and its signature verified. Only
/// this module can build one, so an `Established` session in an
/// authenticated mode cannot exist without both checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedPeer {
    subjects: Vec<String>,
    name: String,
    chain: Vec<Vec<u8>>,
}

impl VerifiedPeer {
    /// Subjects of the validated chain, leaf first.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }

    /// The name the peer was verified for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The chain it presented (DER, leaf first), for checking it again
    /// later, at another time or against a newer CRL.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }
}

/// What a side needs to authenticate and to check its peer.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our long-term identity.
    pub identity: Arc<Identity>,
    /// Trust anchors and CRLs.
    pub validator: Arc<Validator>,
    /// Simulated time of the handshake.
    pub at: OffsetDateTime,
    /// Initiator: the mode requested. Responder: the mode required.
    pub mode: Mode,
    /// How records are protected; both sides must be configured alike.
    pub cipher: crate::session::Cipher,
    /// OCSP: the staple we send, and how we learn the peer's status.
    pub ocsp: crate::status::OcspConfig,
    /// The transparency log whose inclusion proof the peer's leaf must
    /// come with (`None`: proofs are not required, and ignored).
    pub require_logged: Option<ed25519_dalek::VerifyingKey>,
}

/// Builds our authentication block.
pub(crate) fn prove(
    config: &Config,
    role: Role,
    transcript: &mut Transcript,
    believed_peer: &str,
    finished_key: &[u8; 32],
) -> Authentication {
    let authenticated = config.mode.authenticated();
    let chain = if authenticated {
        config.identity.chain.clone()
    } else {
        Vec::new()
    };
    let mut auth = Authentication {
        chain,
        believed_peer: believed_peer.to_owned(),
        signature: Vec::new(),
        finished: Vec::new(),
        staple: config.ocsp.staple.clone().filter(|_| authenticated),
        inclusion_proof: config
            .identity
            .inclusion_proof
            .clone()
            .filter(|_| authenticated),
    };
    let th = transcript.authentication(role, &auth);
    auth.signature = if authenticated {
        config
            .identity
            .signing
            .sign(&[role.context(), &th].concat())
            .to_bytes()
            .to_vec()
    } else {
        Vec::new()
    };
    auth.finished = finished_mac(finished_key, &sha256(&[&th, &auth.signature]));
    transcript.proofs(&auth);
    auth
}

/// Checks the peer's authentication block. `expected_peer` is the name we
/// meant to reach (`None`: any name the CA vouches for).
pub(crate) fn check(
    config: &Config,
    sender: Role,
    auth: &Authentication,
    transcript: &mut Transcript,
    expected_peer: Option<&str>,
    finished_key: &[u8; 32],
) -> Result<PeerIdentity, Refusal> {
    let th = transcript.authentication(sender, auth);
    let identity = if config.mode.authenticated() {
        PeerIdentity::Verified(verify_peer(config, sender, auth, &th, expected_peer)?)
    } else {
        PeerIdentity::Anonymous
    };
    verify_finished(
        finished_key,
        &sha256(&[&th, &auth.signature]),
        &auth.finished,
    )?;
    transcript.proofs(auth);
    Ok(identity)
}

fn verify_peer(
    config: &Config,
    sender: Role,
    auth: &Authentication,
    th: &[u8; 32],
    expected_peer: Option<&str>,
) -> Result<VerifiedPeer, Refusal> {
    let Some((leaf, intermediates)) = auth.chain.split_first() else {
        return Err(Refusal::new(
            RefusalReason::NoCertificate,
            "the peer presented no certificate in an authenticated mode",
        ));
    };
    let request = ValidationRequest {
        at: config.at,
        name: expected_peer.map_or(ExpectedName::Any, |n| ExpectedName::Peer(n.to_owned())),
        usage: if sender == Role::Responder {
            Usage::Server
        } else {
            Usage::Client
        },
    };
    let evidence = crate::status::Evidence {
        staple: auth.staple.as_deref(),
        logged: config.require_logged.map(|key| LogRequirement {
            key,
            proof: auth.inclusion_proof.as_deref().map(read_proof),
        }),
    };
    let (subjects, spki) =
        crate::status::validate(config, &evidence, leaf, intermediates, &request)?;
    // The validator parsed the leaf; its name is read again only when a
    // message or an unexpected peer needs it.
    let name = || expected_peer.map_or_else(|| common_name(leaf), str::to_owned);
    let key = ed25519_key(&spki)?;
    ed25519_verify(&key, &[sender.context(), th].concat(), &auth.signature).map_err(|_| {
        Refusal::new(
            RefusalReason::BadSignature,
            format!(
                "the transcript signature does not verify with {}'s key",
                name()
            ),
        )
    })?;
    if !auth.believed_peer.is_empty() && auth.believed_peer != config.identity.name {
        return Err(Refusal::new(
            RefusalReason::Certificate(pkilab_verify::Reason::NameMismatch),
            format!(
                "{} signed a handshake meant for '{}', not for us ('{}')",
                name(),
                auth.believed_peer,
                config.identity.name
            ),
        ));
    }
    let name = name();
    Ok(VerifiedPeer {
        subjects,
        name,
        chain: auth.chain.clone(),
    })
}

/// An inclusion proof from the wire, or why it cannot be read.
fn read_proof(bytes: &[u8]) -> Result<InclusionProof, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    InclusionProof::parse(text).map_err(|e| e.to_string())
}

/// The Ed25519 key of a subjectPublicKeyInfo (RFC 8410).
fn ed25519_key(spki: &[u8]) -> Result<VerifyingKey, Refusal> {
    use ed25519_dalek::pkcs8::spki::SubjectPublicKeyInfoRef;
    let refused = |detail: &str| Refusal::new(RefusalReason::BadSignature, detail);
    let info = SubjectPublicKeyInfoRef::try_from(spki)
        .map_err(|_| refused("the leaf's subjectPublicKeyInfo does not decode"))?;
    if info.algorithm.oid != ed25519_dalek::pkcs8::ALGORITHM_OID
        || info.algorithm.parameters.is_some()
    {
        return Err(refused("peer certificates must carry an Ed25519 key"));
    }
    let bytes: [u8; 32] = info
        .subject_public_key
        .as_bytes()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| refused("an Ed25519 key is 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| refused("not a valid Ed25519 point"))
}

/// The leaf's first common name, or "the peer".
fn common_name(leaf: &[u8]) -> String {
    X509Certificate::from_der(leaf)
        .ok()
        .and_then(|(_, cert)| {
            cert.subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok().map(str::to_owned))
        })
        .unwrap_or_else(|| "the peer".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pkilab_ca::{CaKey, CertificateAuthority, LeafRequest, Serial};
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn config(identity: Identity, validator: &Arc<Validator>, staple: &[u8]) -> Config {
        Config {
            identity: Arc::new(identity),
            validator: Arc::clone(validator),
            at: AT,
            mode: Mode::SignedEphemeral,
            cipher: Default::default(),
            ocsp: crate::status::OcspConfig {
                staple: Some(staple.to_vec()),
                ..Default::default()
            },
            require_logged: None,
        }
    }

    /// The finished key both sides use in these tests.
    const FINISHED: [u8; 32] = [7; 32];

    /// `config`'s block over a fixed transcript of hellos.
    fn proved(config: &Config, role: Role, believed_peer: &str) -> Authentication {
        let mut hellos = Transcript::of(&[b"the hellos"]);
        prove(config, role, &mut hellos, believed_peer, &FINISHED)
    }

    /// `config`'s check of `auth`, over the same transcript of hellos.
    fn checked(
        config: &Config,
        sender: Role,
        auth: &Authentication,
        expected_peer: Option<&str>,
    ) -> Result<PeerIdentity, Refusal> {
        let mut hellos = Transcript::of(&[b"the hellos"]);
        check(config, sender, auth, &mut hellos, expected_peer, &FINISHED)
    }

    /// A root from `seed`, and a validator trusting it.
    fn root(seed: u8) -> (CertificateAuthority, Arc<Validator>) {
        let key = CaKey::ed25519_from_seed(&[seed; 32]).expect("key");
        let root = CertificateAuthority::new_root(
            "Transcript Root",
            key,
            AT,
            AT + time::Duration::days(30),
            Serial::from_bytes([1; 20]),
        )
        .expect("root");
        let validator =
            Arc::new(Validator::new(vec![root.certificate_der().to_vec()]).expect("anchor"));
        (root, validator)
    }

    /// A leaf for bob with the key in `spki`.
    fn leaf(root: &CertificateAuthority, spki: &[u8], serial: u8) -> Vec<u8> {
        let request = LeafRequest::new("bob", AT, AT + time::Duration::days(7));
        root.issue(&request, spki, Serial::from_bytes([serial; 20]))
            .expect("leaf")
            .der
    }

    #[test]
    fn the_staple_is_under_the_transcript_signature() {
        let (root, validator) = root(1);
        let mut bob = Identity::generate("bob", &mut ChaCha20Rng::seed_from_u64(1));
        bob.chain = vec![leaf(&root, &bob.public_key_spki_der(), 2)];
        let alice = Identity::generate("alice", &mut ChaCha20Rng::seed_from_u64(2));
        let bob = config(bob, &validator, b"bob's staple");
        let alice = config(alice, &validator, b"alice's staple");
        let auth = proved(&bob, Role::Responder, "alice");
        assert_eq!(auth.staple.as_deref(), Some(&b"bob's staple"[..]));
        let accepted = checked(&alice, Role::Responder, &auth, Some("bob"));
        assert!(accepted.is_ok(), "{accepted:?}");
        for other in [Some(b"another staple".to_vec()), None] {
            let swapped = Authentication {
                staple: other,
                ..auth.clone()
            };
            let refused = checked(&alice, Role::Responder, &swapped, Some("bob"))
                .expect_err("a swapped staple breaks the signature");
            assert_eq!(refused.reason, RefusalReason::BadSignature, "{refused}");
        }
    }

    /// The key is read from the validator's answer, not from a second
    /// parse of the leaf: a leaf with another kind of key is still refused,
    /// and a good one still names the peer.
    #[test]
    fn the_key_comes_from_the_validated_leaf() {
        let (root, validator) = root(5);
        let alice = config(
            Identity::generate("alice", &mut ChaCha20Rng::seed_from_u64(6)),
            &validator,
            b"staple",
        );
        let p256 = CaKey::generate(pkilab_ca::SigningAlgorithm::EcdsaP256).expect("P-256");
        let mut bob = Identity::generate("bob", &mut ChaCha20Rng::seed_from_u64(7));
        for (serial, spki, accepted) in [
            (2u8, bob.public_key_spki_der(), true),
            (3, p256.public_key_spki_der(), false),
        ] {
            bob.chain = vec![leaf(&root, &spki, serial)];
            let bob = config(bob.clone(), &validator, b"staple");
            let auth = proved(&bob, Role::Initiator, "");
            let outcome = checked(&alice, Role::Initiator, &auth, None);
            if accepted {
                match outcome {
                    Ok(PeerIdentity::Verified(peer)) => assert_eq!(peer.name(), "bob"),
                    other => panic!("expected bob, verified: {other:?}"),
                }
            } else {
                let refused = outcome.expect_err("a P-256 leaf");
                assert_eq!(refused.reason, RefusalReason::BadSignature, "{refused}");
                assert!(refused.to_string().contains("Ed25519"), "{refused}");
            }
        }
    }

    #[test]
    fn a_flipped_bit_in_the_inclusion_proof_breaks_the_signature() {
        let validator = Arc::new(Validator::new(Vec::new()).expect("no anchors"));
        let mut bob = Identity::generate("bob", &mut ChaCha20Rng::seed_from_u64(3));
        bob.inclusion_proof = Some(b"pkilab tlog proof v1".to_vec());
        let mut bob = config(bob, &validator, b"staple");
        bob.mode = Mode::Unauthenticated;
        let alice = config(
            Identity::generate("alice", &mut ChaCha20Rng::seed_from_u64(4)),
            &validator,
            b"staple",
        );
        // Unauthenticated: nothing is sent, nothing to flip.
        let auth = proved(&bob, Role::Responder, "alice");
        assert_eq!(auth.inclusion_proof, None);
        bob.mode = Mode::SignedEphemeral;
        let auth = proved(&bob, Role::Responder, "alice");
        let mut flipped = auth.clone();
        if let Some(proof) = flipped.inclusion_proof.as_mut() {
            proof[3] ^= 0x10;
        }
        // The Finished MAC covers the proof even before any certificate
        // check: a peer that ignores proofs still refuses an altered one.
        let alice = Config {
            mode: Mode::Unauthenticated,
            ..alice
        };
        assert!(checked(&alice, Role::Responder, &auth, None).is_ok());
        let refused = checked(&alice, Role::Responder, &flipped, None)
            .expect_err("a flipped bit in the proof");
        assert_eq!(refused.reason, RefusalReason::BadFinished, "{refused}");
    }
}
