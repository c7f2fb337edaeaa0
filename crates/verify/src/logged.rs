//! Certificate transparency for relying parties: a leaf must come with an
//! inclusion proof in a log they trust, or it is refused as `not-logged`.
//! Like every extra check, this one only refuses.

use ed25519_dalek::VerifyingKey;
use pkilab_tlog::InclusionProof;

use crate::validator::{Refusal, refuse};
use crate::verdict::Reason;

/// The log a relying party trusts, and the proof it was given.
#[derive(Clone, Debug)]
pub struct LogRequirement {
    /// The log's public key (its checkpoints are signed with it).
    pub key: VerifyingKey,
    /// The leaf's inclusion proof when one came with it, or why the one
    /// that came could not be read.
    pub proof: Option<Result<InclusionProof, String>>,
}

impl LogRequirement {
    /// Refuses a leaf that the proof does not show to be in the log.
    pub(crate) fn check(&self, leaf_der: &[u8]) -> Result<(), Refusal> {
        let Some(proof) = &self.proof else {
            return Err(refuse(
                Reason::NotLogged,
                "no inclusion proof came with the certificate, and this relying party requires one",
                Some(0),
            ));
        };
        let proof = proof.as_ref().map_err(|e| {
            refuse(
                Reason::NotLogged,
                format!("the inclusion proof is unreadable: {e}"),
                Some(0),
            )
        })?;
        proof.verify(leaf_der, &self.key).map(|_| ()).map_err(|e| {
            refuse(
                Reason::NotLogged,
                format!("the inclusion proof does not show the certificate in the log: {e}"),
                Some(0),
            )
        })
    }
}
