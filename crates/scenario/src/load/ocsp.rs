//! Checking the OCSP responder, delta CRLs, and the steps that block the
//! responder or read its log.

use std::collections::BTreeSet;

use serde_saphyr::{Location, Spanned};

use super::{Checked, Checker, is_peer_name};
use crate::duration::SimDuration;
use crate::model::{OcspDoc, PkiDoc, StepDoc};
use crate::script::{Action, Adversary, OcspSetup};

/// Responses last an hour unless the file says otherwise.
const DEFAULT_VALIDITY: SimDuration = SimDuration(3600);

impl Checker<'_> {
    /// The responder: a usable name no peer, KMS node or adversary has,
    /// and a positive response validity.
    pub(super) fn ocsp(
        &self,
        doc: &Spanned<OcspDoc>,
        taken: &BTreeSet<&str>,
    ) -> Checked<OcspSetup> {
        let at = doc.referenced;
        let name = doc.value.name.clone().unwrap_or_else(|| "ocsp".to_owned());
        if !is_peer_name(&name) {
            return Err(self.err(
                at,
                format!("'{name}' is not a usable name for the OCSP responder"),
                "node names are DNS labels: lowercase letters, digits and '-'",
            ));
        }
        if taken.contains(name.as_str()) {
            return Err(self.err(
                at,
                format!("the name '{name}' is already taken"),
                "give the OCSP responder a name no peer, KMS node or adversary has: ocsp: { name: responder }",
            ));
        }
        let validity = self.optional_duration(doc.value.validity.as_ref(), DEFAULT_VALIDITY)?;
        let validity_at = doc.value.validity.as_ref().map_or(at, |v| v.referenced);
        self.positive(validity_at, "ocsp.validity", validity)?;
        Ok(OcspSetup { name, validity })
    }

    /// `pki.delta-crl-every`, when given: a positive period.
    pub(super) fn delta_every(&self, pki: &PkiDoc) -> Checked<Option<SimDuration>> {
        let Some(text) = &pki.delta_crl_every else {
            return Ok(None);
        };
        let every = self.duration(text)?;
        self.positive(text.referenced, "pki.delta-crl-every", every)?;
        Ok(Some(every))
    }

    /// The `block` and `read-ocsp-log` actions of a step, if it has them.
    pub(super) fn ocsp_actions(
        &self,
        at: Location,
        s: &StepDoc,
        adversaries: &[Adversary],
    ) -> Checked<Vec<Action>> {
        let mut actions = Vec::new();
        let by = [
            s.block.as_ref().map(|b| (&b.by, "block")),
            s.read_ocsp_log.as_ref().map(|r| (&r.by, "read-ocsp-log")),
        ];
        for (by, keyword) in by.into_iter().flatten() {
            if !self.has_ocsp {
                return Err(self.err(
                    at,
                    format!("a {keyword} step needs an OCSP responder"),
                    "declare one at the top level: ocsp: { validity: 1h }",
                ));
            }
            self.known_adversary(at, by, adversaries)?;
            actions.push(if keyword == "block" {
                Action::Block { by: by.clone() }
            } else {
                Action::ReadOcspLog { by: by.clone() }
            });
        }
        Ok(actions)
    }
}
