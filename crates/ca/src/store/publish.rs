//! Publishing CRLs: complete and delta, one per CA or, with partitions,
//! one per partition of the issuing CA, each naming its distribution point.

use time::{Duration, OffsetDateTime};

use super::{CaStore, Status, StoreError, pem, revoked_entry};
use crate::authority::RevokedEntry;
use crate::crl::CrlRequest;
use crate::disk::write_atomic;

/// One CRL to sign: its distribution point (None: the CA's whole scope),
/// where its delta CRLs go, and its entries.
pub(crate) type Scope = (Option<String>, Option<String>, Vec<RevokedEntry>);

/// The CRLs CA `file` publishes: one, or (the issuing CA, with partitions)
/// one per partition with the entries of that partition.
pub(crate) fn scopes(
    publication: Option<&super::Publication>,
    file: &str,
    issuing_file: &str,
    revoked: &[RevokedEntry],
) -> Vec<Scope> {
    let Some(publication) = publication else {
        return vec![(None, None, revoked.to_vec())];
    };
    let delta_url = |k: Option<u32>| publication.crl_url(file, k).replace(".crl", "-delta.crl");
    if publication.partitions <= 1 || file != issuing_file {
        return vec![(None, Some(delta_url(None)), revoked.to_vec())];
    }
    (0..publication.partitions)
        .map(|k| {
            let entries = revoked
                .iter()
                .filter(|e| publication.partition_of(&e.serial) == Some(k))
                .cloned()
                .collect();
            (
                Some(publication.crl_url(file, Some(k))),
                Some(delta_url(Some(k))),
                entries,
            )
        })
        .collect()
}

impl CaStore {
    /// Signs a fresh complete CRL for every CA (numbers strictly
    /// increasing), writes them to `DIR/crl.pem`, and returns the PEM.
    pub fn publish_crl(
        &mut self,
        passphrase: &[u8],
        now: OffsetDateTime,
        next_update: Duration,
    ) -> Result<String, StoreError> {
        self.publish(passphrase, now, next_update, false)
    }

    /// Signs a delta CRL for every CA (RFC 5280 §5.2.4): the revocations
    /// since its last complete CRL, against that CRL's number; writes them
    /// to `DIR/delta.pem` and returns the PEM.
    pub fn publish_delta_crl(
        &mut self,
        passphrase: &[u8],
        now: OffsetDateTime,
        next_update: Duration,
    ) -> Result<String, StoreError> {
        if let Some(ca) = self.state.cas.iter().find(|c| c.last_complete.is_none()) {
            return Err(StoreError::NoCompleteCrl(ca.name.clone()));
        }
        self.publish(passphrase, now, next_update, true)
    }

    fn publish(
        &mut self,
        passphrase: &[u8],
        now: OffsetDateTime,
        next_update: Duration,
        delta: bool,
    ) -> Result<String, StoreError> {
        let mut out = String::new();
        let mut published = Vec::new();
        let cas = self.state.cas.clone();
        for (index, record) in cas.iter().enumerate() {
            let ca = self.authority(&record.file, passphrase)?;
            let revoked: Vec<RevokedEntry> = self
                .state
                .issued
                .iter()
                .filter(|r| r.issuer == record.file && r.status == Status::Revoked)
                .filter(|r| !delta || r.in_complete_crl.is_none())
                .filter_map(revoked_entry)
                .collect();
            let number = record.crl_number + 1;
            for (scope, freshest, entries) in self.scopes(&record.file, &revoked) {
                let request = CrlRequest {
                    revoked: &entries,
                    number,
                    this_update: now,
                    next_update: now + next_update,
                    delta_base: if delta { record.last_complete } else { None },
                    scope: scope.clone(),
                    freshest: if delta { None } else { freshest },
                };
                let der = ca.crl_with(&request)?;
                out.push_str(&pem("X509 CRL", &der));
                published.push((record.file.clone(), scope, der));
            }
            self.state.cas[index].crl_number = number;
            if !delta {
                self.state.cas[index].last_complete = Some(number);
                for issued in &mut self.state.issued {
                    if issued.issuer == record.file
                        && issued.status == Status::Revoked
                        && issued.in_complete_crl.is_none()
                    {
                        issued.in_complete_crl = Some(number);
                    }
                }
            }
        }
        // The numbers are recorded before the CRL is published, so a crash
        // in between can skip a number but never reuse one.
        self.save()?;
        let file = if delta { "delta.pem" } else { "crl.pem" };
        write_atomic(&self.dir.join(file), out.as_bytes(), false)?;
        self.write_served(&published, delta)?;
        Ok(out)
    }

    /// The CRLs `file` publishes: one, or one per partition with the
    /// entries of that partition.
    fn scopes(&self, file: &str, revoked: &[RevokedEntry]) -> Vec<Scope> {
        scopes(
            self.state.publication.as_ref(),
            file,
            self.issuing_file(),
            revoked,
        )
    }

    /// Writes each CRL as DER under `DIR/crl/`, named as its URL names it,
    /// for a server to publish.
    fn write_served(
        &self,
        published: &[(String, Option<String>, Vec<u8>)],
        delta: bool,
    ) -> Result<(), StoreError> {
        let Some(publication) = &self.state.publication else {
            return Ok(());
        };
        let dir = self.dir.join("crl");
        std::fs::create_dir_all(&dir).map_err(|source| crate::disk::IoError {
            path: dir.clone(),
            source,
        })?;
        for (file, scope, der) in published {
            let url = scope
                .clone()
                .unwrap_or_else(|| publication.crl_url(file, None));
            let name = url.rsplit('/').next().unwrap_or("crl.crl");
            let name = if delta {
                name.replace(".crl", "-delta.crl")
            } else {
                name.to_owned()
            };
            write_atomic(&dir.join(name), der, false)?;
        }
        Ok(())
    }
}
