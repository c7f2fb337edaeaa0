//! Changes to a key's record: lifecycle transitions, scheduled destruction,
//! rotation and retiring old versions. Each loads the key, checks the
//! caller's grant, applies one edit, saves and audits, in one transaction.

use time::{Duration, OffsetDateTime};

use crate::error::KmsError;
use crate::keys::{self, KeyInfo};
use crate::kms::{Kms, done};
use crate::lifecycle::State;
use crate::material::Material;

/// What an edit did beyond the record itself.
#[derive(Default)]
struct Edited {
    /// The version the audit entry names.
    version: Option<i64>,
    /// A new version to store: its number and wrapped material.
    new_version: Option<(i64, Vec<u8>)>,
}

impl Kms {
    /// Loads `name`, checks `actor` may `grant` on it, applies `edit`
    /// (synchronous, so the operation's future stays `Send`), stores the
    /// result and audits it as `audit`.
    async fn change_key(
        &self,
        actor: &str,
        name: &str,
        (audit, grant): (&str, &str),
        now: OffsetDateTime,
        edit: impl FnOnce(&mut KeyInfo, i64) -> Result<Edited, KmsError> + Send,
    ) -> Result<KeyInfo, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            self.fence(&mut tx).await?;
            let mut key = self.load(&mut tx, name, at).await?;
            self.authorize(&mut tx, actor, Some(&key), grant).await?;
            let edited = edit(&mut key, at)?;
            if let Some((version, wrapped)) = edited.new_version {
                keys::insert_version(&mut tx, name, version, wrapped, at).await?;
            }
            keys::save(&mut tx, &key).await?;
            crate::integrity::seal_key(&mut tx, &key, &self.metadata_key).await?;
            Ok(done(key, edited.version))
        }
        .await;
        self.finish(tx, (actor, audit, Some(name)), at, result)
            .await
    }

    /// Moves a key to `to` (activate, suspend, resume, deactivate,
    /// compromise); destruction goes through [`Kms::schedule_destroy`].
    pub async fn transition(
        &self,
        actor: &str,
        name: &str,
        to: State,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        let audit = format!("key.{}", to.name());
        self.change_key(actor, name, (&audit, "manage"), now, |key, _| {
            if to == State::Destroyed || !key.state.can_become(to) {
                return Err(KmsError::IllegalTransition {
                    name: key.name.clone(),
                    from: key.state,
                    to,
                });
            }
            key.state = to;
            Ok(Edited::default())
        })
        .await
    }

    /// Schedules destruction `after` from now; it can be cancelled until it
    /// happens. Only pre-active, deactivated and compromised keys qualify.
    pub async fn schedule_destroy(
        &self,
        actor: &str,
        name: &str,
        after: Duration,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        let key = self
            .change_key(
                actor,
                name,
                ("key.destroy-scheduled", "destroy"),
                now,
                |key, at| {
                    if !key.state.can_become(State::Destroyed) {
                        return Err(KmsError::IllegalTransition {
                            name: key.name.clone(),
                            from: key.state,
                            to: State::Destroyed,
                        });
                    }
                    if after < Duration::ZERO {
                        return Err(KmsError::Malformed("--after cannot be negative".into()));
                    }
                    key.destroy_at = Some(at + after.whole_seconds());
                    Ok(Edited::default())
                },
            )
            .await?;
        if after == Duration::ZERO {
            // Due at once: loading it again carries the destruction out.
            return self.show(actor, name, now).await;
        }
        Ok(key)
    }

    /// Cancels a scheduled destruction.
    pub async fn cancel_destroy(
        &self,
        actor: &str,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        self.change_key(
            actor,
            name,
            ("key.destroy-cancelled", "destroy"),
            now,
            |key, _| {
                if key.destroy_at.is_none() {
                    return Err(KmsError::Refused(format!(
                        "key '{}' has no destruction scheduled",
                        key.name
                    )));
                }
                key.destroy_at = None;
                Ok(Edited::default())
            },
        )
        .await
    }

    /// Adds a version; new data uses it, old ciphertext still decrypts.
    pub async fn rotate(
        &self,
        actor: &str,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        self.rotate_with(actor, name, None, now).await
    }

    /// Adds a version holding `material` (imported), or fresh material when
    /// `None`.
    pub async fn rotate_with(
        &self,
        actor: &str,
        name: &str,
        material: Option<Material>,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        self.change_key(actor, name, ("key.rotate", "rotate"), now, |key, at| {
            if key.state != State::Active {
                return Err(KmsError::Refused(format!(
                    "key '{}' is {}: only an active key rotates",
                    key.name, key.state
                )));
            }
            let material = match material {
                Some(m) if m.key_type == key.key_type => m,
                Some(m) => {
                    return Err(KmsError::Malformed(format!(
                        "imported {} material for a {} key",
                        m.key_type, key.key_type
                    )));
                }
                None => Material::generate(key.key_type)?,
            };
            let version = key.current_version + 1;
            let wrapped = self.kek.wrap(&key.name, version, &material)?;
            key.current_version = version;
            key.rotated_at = at;
            Ok(Edited {
                version: Some(version),
                new_version: Some((version, wrapped)),
            })
        })
        .await
    }

    /// Versions below `version` stop decrypting and verifying.
    pub async fn set_min_decrypt_version(
        &self,
        actor: &str,
        name: &str,
        version: i64,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        self.change_key(
            actor,
            name,
            ("key.min-decrypt-version", "manage"),
            now,
            |key, _| {
                if version < 1 || version > key.current_version {
                    return Err(KmsError::Malformed(format!(
                        "key '{}' has versions 1 to {}: {version} is out of range",
                        key.name, key.current_version
                    )));
                }
                key.min_decrypt_version = version;
                Ok(Edited {
                    version: Some(version),
                    new_version: None,
                })
            },
        )
        .await
    }
}
