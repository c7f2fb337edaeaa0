//! What the simulated CA says of its certificates between complete CRLs:
//! delta CRLs on a schedule (RFC 5280 §5.2.4), and the state its OCSP
//! responder answers from.

use pkilab_ca::ocsp::CertificateState;
use pkilab_ca::{CaKey, CertificateAuthority, CrlRequest, Serial};
use time::{Duration, OffsetDateTime};

use super::{SimPki, until};
use crate::error::NetError;

impl SimPki {
    /// From now on, a delta CRL is published every `every` after each
    /// complete CRL.
    pub fn schedule_delta_crls(&mut self, every: Duration) {
        self.delta_every = Some(every);
    }

    /// Publishes the delta CRL due at `now`, if one is: the newest instant
    /// a whole number of periods after the last complete CRL. Returns its
    /// thisUpdate when one was published.
    pub fn publish_due_delta(
        &mut self,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, NetError> {
        let Some(every) = self.delta_every.filter(|e| e.is_positive()) else {
            return Ok(None);
        };
        let since = now - self.crl_window.0;
        let periods = since.whole_seconds() / every.whole_seconds();
        if periods < 1 {
            return Ok(None);
        }
        let at = self.crl_window.0 + every * i32::try_from(periods).unwrap_or(i32::MAX);
        if self.delta.is_some_and(|(_, last, _)| last >= at) {
            return Ok(None);
        }
        self.crl_number += 1;
        self.delta = Some((self.crl_number, at, until(at, every)));
        self.rebuild()?;
        Ok(Some(at))
    }

    /// CA `index`'s current delta CRL: what it revoked since its last
    /// complete CRL.
    pub(super) fn delta_crl(
        &self,
        index: usize,
        ca: &CertificateAuthority,
    ) -> Result<Option<Vec<u8>>, NetError> {
        let Some((number, this_update, next_update)) = self.delta else {
            return Ok(None);
        };
        let known = self.published.get(&index).map_or(0, Vec::len);
        let revoked: Vec<_> = self
            .revoked
            .get(&index)
            .map(|all| {
                all.iter()
                    .skip(known)
                    .filter(|e| e.revoked_at <= this_update)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(ca.crl_with(&CrlRequest {
            revoked: &revoked,
            number,
            this_update,
            next_update,
            delta_base: Some(self.full_number),
            scope: None,
            freshest: None,
        })?))
    }

    /// What the issuing CA's records say of `serial` at `now`.
    pub fn state_of(&self, serial: &Serial, now: OffsetDateTime) -> CertificateState {
        let issuing = self.chain.len() - 1;
        let revoked = self.revoked.get(&issuing).and_then(|all| {
            all.iter()
                .find(|e| &e.serial == serial && e.revoked_at <= now)
        });
        match revoked {
            Some(entry) => CertificateState::Revoked {
                at: entry.revoked_at,
                reason: entry.reason,
            },
            None if self.issued.contains_key(serial) => CertificateState::Good,
            None => CertificateState::Unknown,
        }
    }

    /// Whose certificate `serial` is, if the issuing CA issued it.
    pub fn holder_of(&self, serial: &Serial) -> Option<String> {
        self.issued.get(serial).cloned()
    }

    /// The issuing CA's certificate and key, for its OCSP responder.
    pub(crate) fn responder_key(&self) -> Result<(Vec<u8>, CaKey), NetError> {
        let issuing = self.chain.last().expect("the chain starts with the root");
        Ok((
            issuing.certificate_der().to_vec(),
            CaKey::ed25519_from_seed(&self.issuing_seed)?,
        ))
    }

    /// The issuing CA's certificate (DER).
    pub fn issuing_certificate(&self) -> &[u8] {
        self.chain
            .last()
            .expect("the chain starts with the root")
            .certificate_der()
    }

    /// The last delta CRL's thisUpdate and nextUpdate, if one is current.
    pub fn delta_window(&self) -> Option<(OffsetDateTime, OffsetDateTime)> {
        self.delta.map(|(_, this, next)| (this, next))
    }
}
