//! PKCS#10 certificate signing requests: the CA takes only the public key,
//! and only after the request's self-signature verifies (RFC 2986 §3).

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::error::{InputError, Result};

/// The verified request's public key, as DER SubjectPublicKeyInfo.
pub fn public_key(bytes: &[u8]) -> Result<Vec<u8>> {
    let der = match pem::parse(bytes) {
        Ok(block) => block.into_contents(),
        Err(_) => bytes.to_vec(),
    };
    let (_, request) = X509CertificationRequest::from_der(&der)
        .map_err(|e| InputError::Csr(format!("does not parse: {e}")))?;
    request
        .verify_signature()
        .map_err(|e| InputError::Csr(format!("its signature does not verify: {e}")))?;
    Ok(request.certification_request_info.subject_pki.raw.to_vec())
}
