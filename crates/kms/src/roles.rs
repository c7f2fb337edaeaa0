//! Who may do what beyond owners and grants: the admin role, and revoked
//! identities. A role is a property of a verified identity, never a shared
//! name: audit entries and decisions always name the identity itself, so
//! revoking one admin's identity stops that admin and no other.

use std::collections::BTreeSet;

use crate::error::KmsError;
use crate::keys::{KeyInfo, Tx};
use crate::kms::{ADMIN, Kms};

impl Kms {
    /// Gives the admin role to `admins` (besides [`ADMIN`], the command
    /// line's operator), replacing the earlier set.
    pub fn set_admins(&self, admins: impl IntoIterator<Item = String>) {
        let set: BTreeSet<String> = admins.into_iter().collect();
        *self
            .admins
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = set;
    }

    /// Whether `identity` holds the admin role. A revoked admin still
    /// holds it on paper, but every operation refuses a revoked identity
    /// first.
    pub fn is_admin(&self, identity: &str) -> bool {
        identity == ADMIN
            || self
                .admins
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(identity)
    }

    /// Whether `actor` may see `key`'s metadata: the admin role, the owner,
    /// or any grant on it.
    pub(crate) fn may_see(&self, actor: &str, key: &KeyInfo) -> bool {
        self.is_admin(actor) || key.owner == actor || key.grants.iter().any(|(who, _)| who == actor)
    }

    /// Refuses a revoked identity (from the authenticated list: a
    /// revocation deleted in the database is caught as tampering).
    pub(crate) async fn refuse_revoked(
        &self,
        tx: &mut Tx<'_>,
        actor: &str,
    ) -> Result<(), KmsError> {
        if crate::integrity::revoked(tx, &self.metadata_key)
            .await?
            .contains(actor)
        {
            return Err(KmsError::RevokedIdentity(actor.to_owned()));
        }
        Ok(())
    }

    /// Refuses `identity` if it is revoked: for decisions taken outside
    /// the KMS on its behalf (a certificate it asks the CA for).
    pub async fn check_identity(&self, identity: &str) -> Result<(), KmsError> {
        let mut tx = self.db.begin_snapshot().await?;
        let result = self.refuse_revoked(&mut tx, identity).await;
        tx.commit().await?;
        result
    }

    /// Refuses callers without the admin role, and revoked ones.
    pub(crate) async fn require_admin(
        &self,
        tx: &mut Tx<'_>,
        actor: &str,
        what: &str,
    ) -> Result<(), KmsError> {
        self.refuse_revoked(tx, actor).await?;
        if self.is_admin(actor) {
            Ok(())
        } else {
            Err(KmsError::Forbidden(format!(
                "'{actor}' does not hold the admin role: only an admin {what}"
            )))
        }
    }
}
