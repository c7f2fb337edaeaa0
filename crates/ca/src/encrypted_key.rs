//! Private keys encrypted at rest as PKCS#8 EncryptedPrivateKeyInfo
//! (RFC 5958 §3) with PBES2 (RFC 8018 §6.2): PBKDF2-HMAC-SHA256 and
//! AES-256-CBC, the scheme `openssl pkey -passin` reads. The crypto is
//! aws-lc-rs; the pkcs5/pkcs8 crates only encode and decode the DER.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::pbkdf2;
use der::{Decode, Encode};
use pkcs5::pbes2::{EncryptionScheme, Kdf, Parameters, Pbkdf2Params, Pbkdf2Prf};
use pkcs8::EncryptedPrivateKeyInfo;
use zeroize::Zeroizing;

use crate::error::{Error, InputError, Result};
use crate::key::CaKey;

/// PBKDF2-HMAC-SHA256 iterations for new files: OWASP's 2023 figure. The
/// count is stored in each file, so reading honours whatever it says.
pub const DEFAULT_ITERATIONS: u32 = 600_000;

/// The PEM label of an encrypted PKCS#8 key.
pub const PEM_LABEL: &str = "ENCRYPTED PRIVATE KEY";

fn derive(passphrase: &[u8], salt: &[u8], iterations: u32) -> Result<Zeroizing<[u8; 32]>> {
    let rounds = NonZeroU32::new(iterations)
        .ok_or_else(|| InputError::Key("PBKDF2 iteration count of 0".into()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        passphrase,
        key.as_mut(),
    );
    Ok(key)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    bytes
}

/// Encrypts PKCS#8 DER under `passphrase`; returns PEM.
pub fn encrypt_pkcs8(pkcs8_der: &[u8], passphrase: &[u8], iterations: u32) -> Result<String> {
    let salt: [u8; 16] = random();
    let iv: [u8; 16] = random();
    let key = derive(passphrase, &salt, iterations)?;
    let cipher = UnboundCipherKey::new(&AES_256, key.as_ref())
        .map_err(|_| Error::Signing("AES-256 key".into()))?;
    let mut data = pkcs8_der.to_vec();
    PaddedBlockEncryptingKey::cbc_pkcs7(cipher)
        .and_then(|k| k.less_safe_encrypt(&mut data, EncryptionContext::Iv128(iv.into())))
        .map_err(|_| Error::Signing("AES-256-CBC encryption failed".into()))?;
    let params = Parameters {
        kdf: Kdf::Pbkdf2(Pbkdf2Params {
            salt: &salt,
            iteration_count: iterations,
            key_length: None,
            prf: Pbkdf2Prf::HmacWithSha256,
        }),
        encryption: EncryptionScheme::Aes256Cbc { iv: &iv },
    };
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: pkcs5::EncryptionScheme::Pbes2(params),
        encrypted_data: &data,
    };
    let der = info
        .to_der()
        .map_err(|e| Error::Signing(format!("encoding EncryptedPrivateKeyInfo: {e}")))?;
    Ok(pem::encode_config(
        &pem::Pem::new(PEM_LABEL, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ))
}

/// Decrypts an encrypted PKCS#8 key (PEM or DER). A passphrase that does
/// not open it is reported as [`InputError::WrongPassphrase`].
pub fn decrypt_pkcs8(bytes: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let der = match pem::parse(bytes) {
        Ok(block) if block.tag() == PEM_LABEL => block.into_contents(),
        Ok(block) => {
            return Err(InputError::Key(format!(
                "a '{}' PEM block, not an encrypted private key",
                block.tag()
            ))
            .into());
        }
        Err(_) if bytes.first() == Some(&0x30) => bytes.to_vec(),
        Err(e) => return Err(InputError::Key(format!("broken PEM: {e}")).into()),
    };
    let info = EncryptedPrivateKeyInfo::from_der(&der)
        .map_err(|e| InputError::Key(format!("not an encrypted PKCS#8 key: {e}")))?;
    let pkcs5::EncryptionScheme::Pbes2(params) = info.encryption_algorithm else {
        return Err(InputError::Key("only PBES2 encryption is supported".into()).into());
    };
    let (Kdf::Pbkdf2(kdf), EncryptionScheme::Aes256Cbc { iv }) = (&params.kdf, &params.encryption)
    else {
        return Err(InputError::Key("only PBKDF2 with AES-256-CBC is supported".into()).into());
    };
    if kdf.prf != Pbkdf2Prf::HmacWithSha256 {
        return Err(InputError::Key("only PBKDF2 with HMAC-SHA256 is supported".into()).into());
    }
    let key = derive(passphrase, kdf.salt, kdf.iteration_count)?;
    let cipher = UnboundCipherKey::new(&AES_256, key.as_ref())
        .map_err(|_| Error::Signing("AES-256 key".into()))?;
    let mut data = Zeroizing::new(info.encrypted_data.to_vec());
    let length = PaddedBlockDecryptingKey::cbc_pkcs7(cipher)
        .and_then(|k| k.decrypt(&mut data, DecryptionContext::Iv128((**iv).into())))
        .map_err(|_| InputError::WrongPassphrase)?
        .len();
    data.truncate(length);
    Ok(data)
}

impl CaKey {
    /// This key as encrypted PKCS#8 PEM.
    pub fn to_encrypted_pem(&self, passphrase: &[u8], iterations: u32) -> Result<String> {
        encrypt_pkcs8(&self.to_pkcs8_der(), passphrase, iterations)
    }

    /// A key from encrypted PKCS#8 (PEM or DER).
    pub fn from_encrypted(bytes: &[u8], passphrase: &[u8]) -> Result<CaKey> {
        let der = decrypt_pkcs8(bytes, passphrase)?;
        // CBC padding happens to verify under a wrong key about once in 256
        // tries; the plaintext then is not PKCS#8.
        CaKey::from_pkcs8_der(&der).map_err(|_| InputError::WrongPassphrase.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SigningAlgorithm;

    #[test]
    fn round_trips_and_names_a_wrong_passphrase() {
        let key = CaKey::generate(SigningAlgorithm::Ed25519).expect("key");
        let pem = key
            .to_encrypted_pem(b"correct horse", 1_000)
            .expect("encrypt");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let again = CaKey::from_encrypted(pem.as_bytes(), b"correct horse").expect("decrypt");
        assert_eq!(again.public_key_spki_der(), key.public_key_spki_der());
        for _ in 0..20 {
            let wrong = CaKey::from_encrypted(pem.as_bytes(), b"wrong horse");
            assert!(
                matches!(wrong, Err(Error::Input(InputError::WrongPassphrase))),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn garbage_is_not_a_key() {
        for bad in [
            &b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
                [..],
            b"\x30\x03\x02\x01\x00",
            b"hello",
        ] {
            assert!(
                matches!(
                    CaKey::from_encrypted(bad, b"x"),
                    Err(Error::Input(InputError::Key(_)))
                ),
                "{bad:?}"
            );
        }
    }
}
