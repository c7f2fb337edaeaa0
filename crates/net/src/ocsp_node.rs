//! The OCSP responder node: the issuing CA's real RFC 6960 responder
//! (`pkilab_ca::ocsp::Responder`), answering from the simulated CA's
//! records at the simulated time, and keeping a log of who asked about
//! which certificate: what the operator of a responder, or whoever reads
//! its logs, learns about who talks to whom.
//!
//! Requests and responses travel as real DER in `OcspRequest` and
//! `OcspResponse` frames, in the clear as OCSP over HTTP does.

use pkilab_ca::ocsp::{CertificateState, Responder};
use pkilab_ca::ocsp_request::{requested_serial, response_status};
use pkilab_ca::{CaKey, Serial};
use time::{Duration, OffsetDateTime};

use crate::error::NetError;

/// One query the responder answered: who asked, about whose certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Simulated Unix time.
    pub at: i64,
    /// The node that asked (the link end the request came from).
    pub asker: String,
    /// The holder of the certificate asked about, when the CA knows it.
    pub about: Option<String>,
    /// The status answered: `good`, `revoked` or `unknown`.
    pub status: &'static str,
}

pub(crate) struct OcspNode {
    pub(crate) name: String,
    responder: Responder,
    /// Every query answered, in order.
    pub(crate) log: Vec<Query>,
    /// The adversary that makes the responder unreachable, if any.
    pub(crate) blocked_by: Option<String>,
}

impl OcspNode {
    /// A responder for the CA whose certificate is `issuer_der`, signing
    /// with that CA's key; responses are valid for `validity`.
    pub(crate) fn new(
        name: &str,
        issuer_der: &[u8],
        key: CaKey,
        validity: Duration,
    ) -> Result<OcspNode, NetError> {
        Ok(OcspNode {
            name: name.to_owned(),
            responder: Responder::new(issuer_der, key, None, validity)?,
            log: Vec::new(),
            blocked_by: None,
        })
    }

    /// Answers a DER OCSPRequest from `asker` at `now`; `lookup` is the
    /// CA's record of a serial, `holder` names whose certificate it is.
    pub(crate) fn answer(
        &mut self,
        asker: &str,
        request: &[u8],
        now: OffsetDateTime,
        lookup: &dyn Fn(&Serial) -> CertificateState,
        holder: &dyn Fn(&Serial) -> Option<String>,
    ) -> Vec<u8> {
        let response = self.responder.respond(request, now, lookup);
        if let Some(serial) = requested_serial(request) {
            self.log.push(Query {
                at: now.unix_timestamp(),
                asker: asker.to_owned(),
                about: holder(&serial),
                status: response_status(&response).unwrap_or("unknown"),
            });
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pkilab_ca::ocsp_request::request_for;
    use pkilab_ca::{CertificateAuthority, LeafRequest, RevocationReason};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn ca() -> CertificateAuthority {
        let key = CaKey::ed25519_from_seed(&[3; 32]).expect("key");
        CertificateAuthority::new_root(
            "Sim Root",
            key,
            NOW,
            NOW + Duration::days(30),
            Serial::from_bytes([1; 20]),
        )
        .expect("root")
    }

    #[test]
    fn a_request_names_the_leaf_and_the_responder_answers_each_state() {
        let ca = ca();
        let leaf_key = CaKey::ed25519_from_seed(&[4; 32]).expect("key");
        let serial = Serial::from_bytes([9; 20]);
        let leaf = ca
            .issue(
                &LeafRequest::new("bob", NOW, NOW + Duration::days(7)),
                &leaf_key.public_key_spki_der(),
                serial.clone(),
            )
            .expect("leaf");
        let request = request_for(&leaf.der, ca.certificate_der(), [7; 16]).expect("request");
        assert_eq!(requested_serial(&request), Some(serial.clone()));
        let key = CaKey::ed25519_from_seed(&[3; 32]).expect("key");
        let mut node =
            OcspNode::new("ocsp", ca.certificate_der(), key, Duration::hours(1)).expect("node");
        let holder = |_: &Serial| Some("bob".to_owned());
        for (state, expected) in [
            (CertificateState::Good, "good"),
            (
                CertificateState::Revoked {
                    at: NOW,
                    reason: RevocationReason::KeyCompromise,
                },
                "revoked",
            ),
            (CertificateState::Unknown, "unknown"),
        ] {
            let response = node.answer("alice", &request, NOW, &|_| state, &holder);
            assert_eq!(response_status(&response), Some(expected));
        }
        assert_eq!(node.log.len(), 3);
        assert_eq!(node.log[0].asker, "alice");
        assert_eq!(node.log[0].about.as_deref(), Some("bob"));
        assert_eq!(node.log[1].status, "revoked");
    }

    #[test]
    fn garbage_is_answered_malformed_and_not_logged() {
        let ca = ca();
        let key = CaKey::ed25519_from_seed(&[3; 32]).expect("key");
        let mut node =
            OcspNode::new("ocsp", ca.certificate_der(), key, Duration::hours(1)).expect("node");
        let response = node.answer(
            "eve",
            &[0x30, 0x00],
            NOW,
            &|_| CertificateState::Good,
            &|_| None,
        );
        assert_eq!(response_status(&response), Some("an error"));
        assert!(node.log.is_empty());
    }
}
