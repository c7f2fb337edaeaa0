//! PEM files in a temporary directory, for tests that drive other programs
//! (openssl, curl, a server under test started as a process).

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::Result;
use crate::leaf::Leaf;
use crate::pki::Pki;

/// PEM text for one DER object.
pub(crate) fn pem_block(tag: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// A temporary directory holding a PKI's CA certificates and CRLs, and the
/// leaves written into it. It is deleted when this value is dropped.
#[derive(Debug)]
pub struct PemFiles {
    dir: TempDir,
    root: PathBuf,
    intermediates: PathBuf,
    crl: PathBuf,
}

/// The files of one leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafFiles {
    /// `NAME.crt`: the certificate alone.
    pub cert: PathBuf,
    /// `NAME.chain.crt`: the certificate and its intermediates, issuing CA
    /// first.
    pub chain: PathBuf,
    /// `NAME.key`: the private key, unencrypted PKCS#8.
    pub key: PathBuf,
}

impl Pki {
    /// Writes `root.crt`, `intermediates.crt` (issuing CA first; empty
    /// without intermediates) and `crl.pem` (fresh CRLs of every CA) into a
    /// new temporary directory.
    pub fn pem_files(&self) -> Result<PemFiles> {
        let dir = tempfile::Builder::new()
            .prefix("pkilab-testkit-")
            .tempdir()?;
        let files = PemFiles {
            root: dir.path().join("root.crt"),
            intermediates: dir.path().join("intermediates.crt"),
            crl: dir.path().join("crl.pem"),
            dir,
        };
        fs::write(&files.root, pem_block("CERTIFICATE", &self.root_cert()))?;
        let intermediates: String = self
            .intermediates()
            .iter()
            .map(|cert| pem_block("CERTIFICATE", cert))
            .collect();
        fs::write(&files.intermediates, intermediates)?;
        files.update_crl(self)?;
        Ok(files)
    }
}

impl PemFiles {
    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `root.crt`: the trust anchor.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `intermediates.crt`: the intermediate CA certificates.
    pub fn intermediates(&self) -> &Path {
        &self.intermediates
    }

    /// `crl.pem`: one CRL per CA, the root's first.
    pub fn crl(&self) -> &Path {
        &self.crl
    }

    /// Rewrites `crl.pem` with fresh CRLs, after [`Pki::revoke`].
    pub fn update_crl(&self, pki: &Pki) -> Result<()> {
        let crls: String = pki
            .crls()?
            .iter()
            .map(|crl| pem_block("X509 CRL", crl))
            .collect();
        write_replacing(&self.crl, &crls)
    }

    /// Writes `NAME.crt`, `NAME.chain.crt` and `NAME.key` for `leaf`, where
    /// NAME is its name with anything but letters, digits, `-`, `_` and `.`
    /// replaced by `_`.
    pub fn write_leaf(&self, leaf: &Leaf) -> Result<LeafFiles> {
        let stem: String = leaf
            .name()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let files = LeafFiles {
            cert: self.dir().join(format!("{stem}.crt")),
            chain: self.dir().join(format!("{stem}.chain.crt")),
            key: self.dir().join(format!("{stem}.key")),
        };
        fs::write(&files.cert, leaf.cert_pem())?;
        fs::write(&files.chain, leaf.chain_pem())?;
        fs::write(&files.key, leaf.key_pem())?;
        Ok(files)
    }
}

/// A program reading the file while it is rewritten sees the old CRLs or
/// the new ones, never half of either.
fn write_replacing(path: &Path, text: &str) -> Result<()> {
    let parent = path.parent().unwrap_or_else(|| Path::new("."));
    let mut temporary = tempfile::NamedTempFile::new_in(parent)?;
    std::io::Write::write_all(&mut temporary, text.as_bytes())?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}
