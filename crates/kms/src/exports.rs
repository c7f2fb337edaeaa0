//! Handing key material out: X25519 agreement, group keys for
//! distribution over an authenticated channel, and exports (public keys as
//! PEM, private keys as encrypted PKCS#8).

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::KmsError;
use crate::kms::{Kms, done};
use crate::lifecycle::Use;
use crate::material::KeyType;
use crate::operations::Purpose;

impl Kms {
    /// X25519 with a peer's public key, using the newest version.
    pub async fn agree(
        &self,
        actor: &str,
        name: &str,
        peer_public: &[u8],
        now: OffsetDateTime,
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            let key = self
                .prepare(
                    &mut tx,
                    actor,
                    name,
                    Purpose("agree", Use::Protect, false),
                    at,
                )
                .await?;
            let version = key.current_version;
            let material = self.material(&mut tx, &key, version).await?;
            Ok(done(material.agree(peer_public)?, Some(version)))
        }
        .await;
        self.finish(tx, (actor, "agree", Some(name)), at, result)
            .await
    }

    /// Hands out a symmetric key's newest version, for distribution to a
    /// group over an authenticated channel: needs an `obtain` grant (or
    /// ownership) and an active key.
    pub async fn obtain(
        &self,
        actor: &str,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<(i64, Zeroizing<Vec<u8>>), KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            let key = self
                .prepare(
                    &mut tx,
                    actor,
                    name,
                    Purpose("obtain", Use::Protect, false),
                    at,
                )
                .await?;
            if key.key_type != KeyType::Aes256Gcm {
                return Err(KmsError::Unsupported(format!(
                    "key '{name}' is {}: only AES group keys are handed out",
                    key.key_type
                )));
            }
            let version = key.current_version;
            let material = self.material(&mut tx, &key, version).await?;
            Ok(done((version, material.bytes.clone()), Some(version)))
        }
        .await;
        self.finish(tx, (actor, "obtain", Some(name)), at, result)
            .await
    }

    /// The newest version's public key as PEM SubjectPublicKeyInfo.
    pub async fn export_public(
        &self,
        actor: &str,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<String, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            let key = self
                .prepare(
                    &mut tx,
                    actor,
                    name,
                    Purpose("export", Use::Public, false),
                    at,
                )
                .await?;
            let version = key.current_version;
            let material = self.material(&mut tx, &key, version).await?;
            Ok(done(
                pem_lf("PUBLIC KEY", material.public_spki()?),
                Some(version),
            ))
        }
        .await;
        self.finish(tx, (actor, "export.public", Some(name)), at, result)
            .await
    }

    /// The newest version's private key as encrypted PKCS#8 (PBES2) PEM,
    /// which `openssl pkey` opens with `export_passphrase`.
    pub async fn export_private(
        &self,
        actor: &str,
        name: &str,
        export_passphrase: &[u8],
        iterations: u32,
        now: OffsetDateTime,
    ) -> Result<String, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            let key = self
                .prepare(
                    &mut tx,
                    actor,
                    name,
                    Purpose("export", Use::Protect, false),
                    at,
                )
                .await?;
            let version = key.current_version;
            let material = self.material(&mut tx, &key, version).await?;
            let pkcs8 = material.private_pkcs8()?;
            let pem =
                pkilab_ca::encrypted_key::encrypt_pkcs8(&pkcs8, export_passphrase, iterations)
                    .map_err(|e| KmsError::Crypto(e.to_string()))?;
            Ok(done(pem, Some(version)))
        }
        .await;
        self.finish(tx, (actor, "export.private", Some(name)), at, result)
            .await
    }
}

fn pem_lf(label: &str, der: Vec<u8>) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
