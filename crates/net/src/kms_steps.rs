//! Key distribution on the network: a KMS node, group keys, and peers
//! fetching them over their sessions.

use rand_core::RngCore;
use serde::Serialize;
use time::Duration;

use crate::error::NetError;
use crate::kms_node::{Answer, KEY, KmsNode};
use crate::network::Network;
use crate::steps::Refusal;
use crate::trace::Event;

/// The outcome of one key fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FetchReport {
    /// The peer received the key.
    pub delivered: bool,
    /// The version it received.
    pub version: Option<i64>,
    /// The first refusal on the way, if any.
    pub refused: Option<Refusal>,
    /// An adversary read plaintext during the fetch.
    pub attacker_reads: bool,
}

impl Network {
    /// Adds the key-management node `name`: a peer with its own certificate
    /// and a key store.
    pub fn add_kms(&mut self, name: &str) -> Result<(), NetError> {
        if self.kms.is_some() {
            return Err(NetError::Duplicate(format!("{name} (a second KMS node)")));
        }
        self.add_peer(name)?;
        self.kms = Some(KmsNode::new(name)?);
        Ok(())
    }

    fn kms_node(&self) -> Result<&KmsNode, NetError> {
        self.kms.as_ref().ok_or(NetError::NoKms)
    }

    fn seeded_key(&mut self) -> [u8; 32] {
        let mut material = [0u8; 32];
        self.rng.fill_bytes(&mut material);
        material
    }

    /// Creates group key `key` that `members` may fetch; it deactivates by
    /// itself after `expires_in` of simulated time.
    pub fn create_group_key(
        &mut self,
        key: &str,
        members: &[String],
        expires_in: Option<Duration>,
    ) -> Result<(), NetError> {
        for member in members {
            self.peer(member)?;
        }
        let material = self.seeded_key();
        let now = self.now;
        self.kms_node()?
            .create_group_key(key, members, expires_in, material, now)
    }

    /// Rotates group key `key`; returns the new version.
    pub fn rotate_group_key(&mut self, key: &str) -> Result<i64, NetError> {
        let material = self.seeded_key();
        let now = self.now;
        self.kms_node()?.rotate(key, material, now)
    }

    /// `peer` leaves group key `key`, which the KMS then rotates; returns
    /// the new version.
    pub fn remove_member(&mut self, key: &str, peer: &str) -> Result<i64, NetError> {
        self.peer(peer)?;
        let material = self.seeded_key();
        let now = self.now;
        self.kms
            .as_mut()
            .ok_or(NetError::NoKms)?
            .remove_member(key, peer, material, now)
    }

    /// `peer` asks the KMS node for group key `key` over its session.
    pub fn fetch_key(&mut self, peer: &str, key: &str) -> Result<FetchReport, NetError> {
        let kms = self.kms_node()?.name.clone();
        let since = self.trace().len();
        let request = format!("{}{key}", crate::kms_node::REQUEST);
        let Some((link, sealed)) = self.peer_mut(peer)?.node.seal_to(&kms, request.as_bytes())
        else {
            return Ok(FetchReport {
                delivered: false,
                version: None,
                refused: Some(Refusal {
                    by: peer.to_owned(),
                    reason: "no-session".into(),
                    detail: self.no_session(peer, &kms),
                    certificate: false,
                }),
                attacker_reads: false,
            });
        };
        self.send_frame(peer, &link, sealed);
        self.run();
        let delivered = self.trace()[since..].iter().find_map(|e| match e {
            Event::KeyDelivered {
                peer: p,
                key: k,
                version,
                ..
            } if p == peer && k == key => Some(*version),
            _ => None,
        });
        let refused = self.first_refusal(since);
        let attacker_reads = self.trace()[since..]
            .iter()
            .any(|e| matches!(e, Event::AttackerRead { .. }));
        Ok(FetchReport {
            delivered: delivered.is_some(),
            version: delivered,
            refused,
            attacker_reads,
        })
    }

    /// An application message arrived: the KMS node answers requests, and a
    /// peer takes note of a key it received.
    pub(crate) fn on_application(&mut self, from: &str, to: &str, message: &[u8]) {
        let Some(kms) = self.kms.as_ref() else {
            return;
        };
        let at = self.now.unix_timestamp();
        if kms.name == to {
            let validator = self.pki.validator();
            let Some((response, answer)) = kms.serve(from, message, &validator, self.now) else {
                return;
            };
            if let Answer::Refused(reason, detail) = answer {
                self.event(Event::Refused {
                    at,
                    node: to.to_owned(),
                    from: from.to_owned(),
                    reason,
                    detail,
                    certificate: false,
                });
            }
            let sealed = self
                .peers
                .get_mut(to)
                .and_then(|p| p.node.seal_on(from, &response));
            if let Some(sealed) = sealed {
                self.send_frame(to, from, sealed);
            }
        } else if kms.name == from {
            let Some(rest) = std::str::from_utf8(message)
                .ok()
                .and_then(|m| m.strip_prefix(KEY))
            else {
                return;
            };
            let mut parts = rest.split(' ');
            let (Some(key), Some(version), Some(material)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return;
            };
            let (Ok(version), Ok(material)) = (version.parse::<i64>(), hex::decode(material))
            else {
                return;
            };
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &material);
            self.event(Event::KeyDelivered {
                at,
                peer: to.to_owned(),
                key: key.to_owned(),
                version,
                fingerprint: hex::encode(&digest.as_ref()[..4]),
            });
        }
    }
}
