//! The CA's OCSP side: a delegated OCSP signer kept beside the CA, and
//! answers to OCSP requests from the CA's records.

use time::{Duration, OffsetDateTime};

use super::{CaStore, IssuedRecord, Status, StoreError, pem};
use crate::authority::{LeafRequest, RevocationReason};
use crate::disk::{read, write_atomic};
use crate::error::{Error, InputError};
use crate::key::CaKey;
use crate::ocsp::{CertificateState, Responder};
use crate::serial::Serial;

impl CaStore {
    /// Issues a delegated OCSP signer from the issuing CA (extKeyUsage
    /// id-kp-OCSPSigning, id-pkix-ocsp-nocheck), kept in the CA directory
    /// as `ocsp-signer.crt` and an encrypted `ocsp-signer.key`; `ca ocsp`
    /// signs with it from then on.
    pub fn issue_ocsp_signer(
        &mut self,
        passphrase: &[u8],
        now: OffsetDateTime,
        days: i64,
        iterations: u32,
    ) -> Result<Serial, StoreError> {
        let file = self.issuing_file().to_owned();
        let ca = self.authority(&file, passphrase)?;
        let key = CaKey::generate(ca.key().algorithm())?;
        let name = format!("{} OCSP Signer", ca.name());
        let mut request = LeafRequest::new(&name, now, now + Duration::days(days));
        request.ocsp_signer = true;
        let serial = Serial::random();
        let issued = ca.issue(&request, &key.public_key_spki_der(), serial.clone())?;
        write_atomic(
            &self.dir.join("ocsp-signer.crt"),
            pem("CERTIFICATE", &issued.der).as_bytes(),
            false,
        )?;
        write_atomic(
            &self.dir.join("ocsp-signer.key"),
            key.to_encrypted_pem(passphrase, iterations)?.as_bytes(),
            true,
        )?;
        self.state.issued.push(IssuedRecord {
            serial: serial.to_string(),
            subject: name,
            not_after: issued.not_after.unix_timestamp(),
            issuer: file,
            status: Status::Valid,
            revoked_at: None,
            reason: None,
            in_complete_crl: None,
        });
        self.state.ocsp_signer = Some(serial.to_string());
        self.save()?;
        Ok(serial)
    }

    /// The delegated OCSP signer of CA `file`, when there is one.
    fn ocsp_signer(
        &self,
        file: &str,
        passphrase: &[u8],
    ) -> Result<Option<(Vec<u8>, CaKey)>, StoreError> {
        if self.state.ocsp_signer.is_none() || file != self.issuing_file() {
            return Ok(None);
        }
        let key_path = self.dir.join("ocsp-signer.key");
        let key = CaKey::from_encrypted(&read(&key_path)?, passphrase).map_err(|e| match e {
            Error::Input(InputError::WrongPassphrase) => StoreError::WrongPassphrase(key_path),
            other => other.into(),
        })?;
        Ok(Some((self.certificate("ocsp-signer")?, key)))
    }

    /// A responder for every CA of the store, with the name of the CA file
    /// it answers for, issuing CA last; each signs with its CA's key or,
    /// for the issuing CA, the delegated OCSP signer when there is one.
    /// Responses are valid for `lifetime`.
    pub fn ocsp_responders(
        &self,
        passphrase: &[u8],
        lifetime: Duration,
    ) -> Result<Vec<(String, Responder)>, StoreError> {
        let mut responders = Vec::new();
        for record in &self.state.cas {
            let ca = self.authority(&record.file, passphrase)?;
            let delegated = self.ocsp_signer(&record.file, passphrase)?;
            let (key, signer) = match delegated {
                Some((certificate, key)) => (key, Some(certificate)),
                None => (CaKey::from_pkcs8_der(&ca.key().to_pkcs8_der())?, None),
            };
            let responder = Responder::new(ca.certificate_der(), key, signer.as_deref(), lifetime)?;
            responders.push((record.file.clone(), responder));
        }
        Ok(responders)
    }

    /// Answers the DER OCSP request `request` as the CA it asks about,
    /// signed with that CA's key; responses are valid for `lifetime`.
    pub fn ocsp_response(
        &self,
        request: &[u8],
        passphrase: &[u8],
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        // The CA the request names; a request naming none is answered
        // "unknown" by the issuing CA.
        let mut responders = self.ocsp_responders(passphrase, lifetime)?;
        if responders.is_empty() {
            return Err(StoreError::NotACa(self.dir.clone()));
        }
        let index = responders
            .iter()
            .rposition(|(_, responder)| responder.answers(request))
            .unwrap_or(responders.len() - 1);
        let (file, responder) = responders.swap_remove(index);
        let lookup = |serial: &Serial| {
            self.state
                .issued
                .iter()
                .find(|r| {
                    r.issuer == file && r.serial.parse::<Serial>().is_ok_and(|s| s == *serial)
                })
                .map_or(CertificateState::Unknown, |r| r.ocsp_state(now))
        };
        Ok(responder.respond(request, now, &lookup))
    }
}

impl IssuedRecord {
    /// What an OCSP responder says of this certificate at `now` (a
    /// revocation without a recorded time is dated `now`).
    pub fn ocsp_state(&self, now: OffsetDateTime) -> CertificateState {
        let reason = self.reason.unwrap_or(RevocationReason::Unspecified);
        match (self.status, self.revoked_at) {
            (Status::Revoked, Some(at)) => CertificateState::Revoked {
                at: OffsetDateTime::from_unix_timestamp(at).unwrap_or(now),
                reason,
            },
            (Status::Revoked, None) => CertificateState::Revoked { at: now, reason },
            (Status::Valid, _) => CertificateState::Good,
        }
    }
}
