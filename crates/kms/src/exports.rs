//! Handing key material out: X25519 agreement, group keys for
//! distribution over an authenticated channel, and exports (public keys as
//! PEM, private keys as encrypted PKCS#8).

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::KmsError;
use crate::kms::Kms;
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
        let purpose = Purpose("agree", Use::Protect, false);
        self.with_material(
            (actor, name, "agree"),
            purpose,
            None,
            now,
            |_, material, _| material.agree(peer_public),
        )
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
        let purpose = Purpose("obtain", Use::Protect, false);
        self.with_material(
            (actor, name, "obtain"),
            purpose,
            None,
            now,
            |key, material, version| {
                if key.key_type != KeyType::Aes256Gcm {
                    return Err(KmsError::Unsupported(format!(
                        "key '{name}' is {}: only AES group keys are handed out",
                        key.key_type
                    )));
                }
                Ok((version, material.bytes.clone()))
            },
        )
        .await
    }

    /// The newest version's public key as PEM SubjectPublicKeyInfo.
    pub async fn export_public(
        &self,
        actor: &str,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<String, KmsError> {
        let purpose = Purpose("export", Use::Public, false);
        self.with_material(
            (actor, name, "export.public"),
            purpose,
            None,
            now,
            |_, material, _| Ok(pem_lf("PUBLIC KEY", material.public_spki()?)),
        )
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
        let purpose = Purpose("export", Use::Protect, false);
        self.with_material(
            (actor, name, "export.private"),
            purpose,
            None,
            now,
            |_, material, _| {
                let pkcs8 = material.private_pkcs8()?;
                pkilab_ca::encrypted_key::encrypt_pkcs8(&pkcs8, export_passphrase, iterations)
                    .map_err(|e| KmsError::Crypto(e.to_string()))
            },
        )
        .await
    }
}

fn pem_lf(label: &str, der: Vec<u8>) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
