//! A key-management node: a peer of the network, with a certificate like
//! any other, in front of a real `pkilab_kms` key store (a SQLite file in a
//! temporary directory, driven on the simulated clock).
//!
//! A peer asks over its authenticated session (`OBTAIN <key>`); the node
//! checks the peer's chain again, now, against the current CRL, then asks
//! the KMS, which checks the peer's grant, its own record of revoked
//! identities and the key's state. The answer (`KEY <key> <version> <hex>`
//! or `REFUSED <reason> <detail>`) goes back inside the same session, so
//! the key is wrapped for that session's AEAD keys and nobody else's.
//! Group key material comes from the network's seeded generator, so runs
//! repeat byte for byte.

use std::collections::BTreeMap;

use pkilab_kms::{ADMIN, KeyType, Kms, Material, NewKey};
use pkilab_peer::PeerIdentity;
use pkilab_verify::{ExpectedName, Usage, ValidationRequest, Validator, Verdict};
use time::{Duration, OffsetDateTime};

use crate::error::NetError;

/// A peer's request for a group key.
pub const REQUEST: &str = "OBTAIN ";
/// The node's answer carrying a key.
pub const KEY: &str = "KEY ";
/// The node's answer refusing.
pub const REFUSED: &str = "REFUSED ";

/// Argon2id memory of the simulated store (KiB): simulated keys protect
/// nothing outside the run, so the store opens fast.
const SIMULATION_KDF_KIB: u32 = 1024;

pub(crate) struct KmsNode {
    pub(crate) name: String,
    kms: Kms,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    /// Who each session end was verified as when its handshake finished.
    pub(crate) sessions: BTreeMap<String, PeerIdentity>,
    /// Members removed from a group key, by key. The KMS API has no way to
    /// withdraw a grant, so the node in front of it holds the membership.
    removed: BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// A refusal: reason id and detail.
type Refused = (String, String);

/// What the node decided about one request.
pub(crate) enum Answer {
    /// The key went out.
    Key,
    /// Refused, with a reason id and detail.
    Refused(String, String),
}

impl KmsNode {
    pub(crate) fn new(name: &str) -> Result<KmsNode, NetError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NetError::Setup(format!("cannot start the KMS runtime: {e}")))?;
        let dir = tempfile::tempdir()
            .map_err(|e| NetError::Setup(format!("cannot create the KMS store: {e}")))?;
        let location = dir.path().join("kms.db").display().to_string();
        let kms = runtime.block_on(Kms::init(
            &location,
            b"simulated key store",
            SIMULATION_KDF_KIB,
        ))?;
        Ok(KmsNode {
            name: name.to_owned(),
            kms,
            runtime,
            _dir: dir,
            sessions: BTreeMap::new(),
            removed: BTreeMap::new(),
        })
    }

    /// Creates an AES-256 group key from `material`, owned by the node, that
    /// each of `members` may obtain.
    pub(crate) fn create_group_key(
        &self,
        key: &str,
        members: &[String],
        expires_in: Option<Duration>,
        material: [u8; 32],
        now: OffsetDateTime,
    ) -> Result<(), NetError> {
        let material = Material::import(KeyType::Aes256Gcm, &material)?;
        let new = NewKey {
            name: key.to_owned(),
            key_type: KeyType::Aes256Gcm,
            owner: Some(self.name.clone()),
            expires_in,
            rotate_every: None,
            pre_active: false,
        };
        self.runtime.block_on(async {
            self.kms
                .create_with(ADMIN, &new, Some(material), now)
                .await?;
            for member in members {
                self.kms.grant(ADMIN, key, member, "obtain", now).await?;
            }
            Ok::<_, NetError>(())
        })
    }

    /// Adds a version to a group key; returns the new version.
    pub(crate) fn rotate(
        &self,
        key: &str,
        material: [u8; 32],
        now: OffsetDateTime,
    ) -> Result<i64, NetError> {
        let material = Material::import(KeyType::Aes256Gcm, &material)?;
        let info = self
            .runtime
            .block_on(self.kms.rotate_with(ADMIN, key, Some(material), now))?;
        Ok(info.current_version)
    }

    /// `peer` leaves group key `key`: the node serves it no more, and the
    /// key gets a new version the peer never saw; returns that version.
    pub(crate) fn remove_member(
        &mut self,
        key: &str,
        peer: &str,
        material: [u8; 32],
        now: OffsetDateTime,
    ) -> Result<i64, NetError> {
        self.removed
            .entry(key.to_owned())
            .or_default()
            .insert(peer.to_owned());
        self.rotate(key, material, now)
    }

    /// The KMS stops serving `peer` at once.
    pub(crate) fn revoke_identity(&self, peer: &str, now: OffsetDateTime) -> Result<(), NetError> {
        Ok(self
            .runtime
            .block_on(self.kms.revoke_identity(ADMIN, peer, now))?)
    }

    /// Answers an application message from the session end `from`; `None`
    /// when it is not a KMS request.
    pub(crate) fn serve(
        &self,
        from: &str,
        message: &[u8],
        validator: &Validator,
        now: OffsetDateTime,
    ) -> Option<(Vec<u8>, Answer)> {
        let key = std::str::from_utf8(message)
            .ok()?
            .strip_prefix(REQUEST)?
            .trim();
        let answer = self.decide(from, key, validator, now);
        let response = match &answer {
            Ok((version, material)) => {
                format!("{KEY}{key} {version} {}", hex::encode(&material[..]))
            }
            Err((reason, detail)) => format!("{REFUSED}{reason} {detail}"),
        };
        let answer = match answer {
            Ok(_) => Answer::Key,
            Err((reason, detail)) => Answer::Refused(reason, detail),
        };
        Some((response.into_bytes(), answer))
    }

    fn decide(
        &self,
        from: &str,
        key: &str,
        validator: &Validator,
        now: OffsetDateTime,
    ) -> Result<(i64, zeroize::Zeroizing<Vec<u8>>), Refused> {
        let verified = match self.sessions.get(from) {
            Some(PeerIdentity::Verified(v)) => v,
            _ => {
                return Err((
                    "unauthenticated".into(),
                    format!(
                        "the session with {from} is not authenticated: the KMS hands keys only to verified peers"
                    ),
                ));
            }
        };
        let (leaf, intermediates) = verified.chain().split_first().ok_or_else(|| {
            (
                "no-certificate".to_owned(),
                "no chain was recorded".to_owned(),
            )
        })?;
        let request = ValidationRequest {
            at: now,
            name: ExpectedName::Peer(verified.name().to_owned()),
            usage: Usage::Client,
        };
        // Fail closed: only a Valid verdict passes; any other, including
        // variants a later validator adds, refuses.
        match validator.validate(leaf, intermediates, &request) {
            Verdict::Valid { .. } => {}
            Verdict::Invalid { reason, detail, .. } => {
                return Err((
                    reason.id().to_owned(),
                    format!(
                        "{}'s certificate, checked again now: {detail}",
                        verified.name()
                    ),
                ));
            }
            _ => {
                return Err((
                    "unknown-verdict".to_owned(),
                    format!(
                        "{}'s certificate, checked again now: the validator gave no verdict this node knows",
                        verified.name()
                    ),
                ));
            }
        }
        if self
            .removed
            .get(key)
            .is_some_and(|r| r.contains(verified.name()))
        {
            return Err((
                "forbidden".to_owned(),
                format!("{} was removed from group key {key}", verified.name()),
            ));
        }
        self.runtime
            .block_on(self.kms.obtain(verified.name(), key, now))
            .map_err(|e| (e.id().to_owned(), e.to_string()))
    }
}
