//! Reading certificates, CRLs, CSRs and keys back, for people.

use std::fmt::Write;

use der::Decode;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::prelude::{CertificateRevocationList, FromDer, X509Certificate};
use x509_parser::x509::X509Name;

use crate::error::{InputError, Result};

/// The first common name of an X.509 name, if any.
pub fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

/// Describes the PEM blocks (or the single DER object) in `bytes`.
pub fn describe(bytes: &[u8]) -> Result<String> {
    let blocks: Vec<(String, Vec<u8>)> = match pem::parse_many(bytes) {
        Ok(blocks) if !blocks.is_empty() => blocks
            .into_iter()
            .map(|b| (b.tag().to_owned(), b.into_contents()))
            .collect(),
        _ if bytes.starts_with(b"-----BEGIN") => {
            return Err(InputError::Certificate("broken or truncated PEM".into()).into());
        }
        _ => vec![(String::new(), bytes.to_vec())],
    };
    let mut out = String::new();
    for (label, der) in blocks {
        let text = match label.as_str() {
            "CERTIFICATE" => certificate(&der),
            "X509 CRL" => crl(&der),
            "CERTIFICATE REQUEST" => csr(&der),
            "ENCRYPTED PRIVATE KEY" => encrypted_key(&der),
            "PRIVATE KEY" => private_key(&der),
            "" => certificate(&der)
                .or_else(|_| crl(&der))
                .or_else(|_| csr(&der))
                .or_else(|_| encrypted_key(&der))
                .or_else(|_| private_key(&der)),
            other => Err(InputError::Certificate(format!(
                "a '{other}' PEM block is not something pkilab reads"
            ))
            .into()),
        }?;
        out.push_str(&text);
        out.push('\n');
    }
    Ok(out)
}

fn when(t: x509_parser::time::ASN1Time) -> String {
    t.to_datetime()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn certificate(der: &[u8]) -> Result<String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| InputError::Certificate(e.to_string()))?;
    let mut out = String::from("Certificate\n");
    let _ = writeln!(out, "  subject:    {}", cert.subject());
    let _ = writeln!(out, "  issuer:     {}", cert.issuer());
    let _ = writeln!(out, "  serial:     {}", hex::encode(cert.raw_serial()));
    let _ = writeln!(
        out,
        "  valid:      {} to {}",
        when(cert.validity().not_before),
        when(cert.validity().not_after)
    );
    let _ = writeln!(
        out,
        "  key:        {}",
        algorithm_name(&cert.public_key().algorithm.algorithm.to_id_string())
    );
    let _ = writeln!(
        out,
        "  signature:  {}",
        algorithm_name(&cert.signature_algorithm.algorithm.to_id_string())
    );
    for ext in cert.extensions() {
        let _ = writeln!(out, "  {}", extension(ext));
    }
    Ok(out)
}

fn extension(ext: &X509Extension<'_>) -> String {
    let critical = if ext.critical { " (critical)" } else { "" };
    match ext.parsed_extension() {
        ParsedExtension::BasicConstraints(bc) => format!(
            "basicConstraints{critical}: CA={}{}",
            bc.ca,
            bc.path_len_constraint
                .map(|n| format!(", pathLen={n}"))
                .unwrap_or_default()
        ),
        ParsedExtension::KeyUsage(ku) => format!("keyUsage{critical}: {ku}"),
        ParsedExtension::ExtendedKeyUsage(eku) => {
            let mut uses = Vec::new();
            if eku.server_auth {
                uses.push("serverAuth".to_owned());
            }
            if eku.client_auth {
                uses.push("clientAuth".to_owned());
            }
            uses.extend(eku.other.iter().map(|o| o.to_id_string()));
            format!("extendedKeyUsage{critical}: {}", uses.join(", "))
        }
        ParsedExtension::SubjectAlternativeName(san) => format!(
            "subjectAltName{critical}: {}",
            san.general_names
                .iter()
                .map(general_name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ParsedExtension::SubjectKeyIdentifier(id) => {
            format!("subjectKeyIdentifier: {}", hex::encode(id.0))
        }
        ParsedExtension::AuthorityKeyIdentifier(aki) => format!(
            "authorityKeyIdentifier: {}",
            aki.key_identifier
                .as_ref()
                .map(|k| hex::encode(k.0))
                .unwrap_or_default()
        ),
        ParsedExtension::CRLNumber(n) => format!("cRLNumber{critical}: {n}"),
        _ => format!("{}{critical}", ext.oid.to_id_string()),
    }
}

fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::RFC822Name(e) => format!("email:{e}"),
        GeneralName::IPAddress(ip) => match ip.len() {
            4 => format!("IP:{}", std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])),
            16 => <[u8; 16]>::try_from(*ip)
                .map(|b| format!("IP:{}", std::net::Ipv6Addr::from(b)))
                .unwrap_or_default(),
            _ => format!("IP:{}", hex::encode(ip)),
        },
        other => other.to_string(),
    }
}

fn algorithm_name(oid: &str) -> String {
    let name = match oid {
        "1.3.101.112" => "Ed25519",
        "1.2.840.10045.2.1" => "EC public key",
        "1.2.840.10045.4.3.2" => "ECDSA with SHA-256",
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.113549.1.1.11" => "RSA PKCS#1 v1.5 with SHA-256",
        _ => return oid.to_owned(),
    };
    format!("{name} ({oid})")
}

fn crl(der: &[u8]) -> Result<String> {
    let (_, crl) = CertificateRevocationList::from_der(der)
        .map_err(|e| InputError::Certificate(format!("not a CRL: {e}")))?;
    let mut out = String::from("Certificate revocation list\n");
    let _ = writeln!(out, "  issuer:      {}", crl.issuer());
    let _ = writeln!(out, "  this update: {}", when(crl.last_update()));
    let _ = writeln!(
        out,
        "  next update: {}",
        crl.next_update().map(when).unwrap_or_else(|| "none".into())
    );
    for ext in crl.extensions() {
        let _ = writeln!(out, "  {}", extension(ext));
    }
    let _ = writeln!(
        out,
        "  revoked:     {}",
        crl.iter_revoked_certificates().count()
    );
    for entry in crl.iter_revoked_certificates().take(20) {
        let reason = entry
            .reason_code()
            .map(|(_, r)| format!(" ({r})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {} at {}{reason}",
            hex::encode(entry.raw_serial()),
            when(entry.revocation_date)
        );
    }
    Ok(out)
}

fn csr(der: &[u8]) -> Result<String> {
    let (_, request) =
        X509CertificationRequest::from_der(der).map_err(|e| InputError::Csr(e.to_string()))?;
    let info = &request.certification_request_info;
    let signature = if request.verify_signature().is_ok() {
        "valid"
    } else {
        "DOES NOT VERIFY"
    };
    Ok(format!(
        "Certificate signing request\n  subject:    {}\n  key:        {}\n  signature:  {signature}\n",
        info.subject,
        algorithm_name(&info.subject_pki.algorithm.algorithm.to_id_string())
    ))
}

fn encrypted_key(der: &[u8]) -> Result<String> {
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| InputError::Key(e.to_string()))?;
    let scheme = match info.encryption_algorithm {
        pkcs5::EncryptionScheme::Pbes2(params) => match params.kdf {
            pkcs5::pbes2::Kdf::Pbkdf2(kdf) => format!(
                "PBES2, PBKDF2 {:?} with {} iterations, {:?}",
                kdf.prf,
                kdf.iteration_count,
                params.encryption.oid()
            ),
            _ => "PBES2 with scrypt".to_owned(),
        },
        _ => "a PBES1 scheme".to_owned(),
    };
    Ok(format!(
        "Encrypted private key (PKCS#8)\n  scheme:     {scheme}\n"
    ))
}

fn private_key(der: &[u8]) -> Result<String> {
    let key = crate::key::CaKey::from_pkcs8_der(der)?;
    // rcgen reads any RSA key as our one RSA signing profile; name the
    // size the key has.
    let algorithm = match aws_lc_rs::rsa::KeyPair::from_pkcs8(der) {
        Ok(rsa) => format!("rsa-{}", rsa.public_modulus_len() * 8),
        Err(_) => key.algorithm().to_string(),
    };
    Ok(format!(
        "Private key (PKCS#8, unencrypted)\n  algorithm:  {algorithm}\n"
    ))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};

    #[test]
    fn rsa_keys_are_named_by_their_size() {
        for (size, name) in [
            (KeySize::Rsa2048, "rsa-2048"),
            (KeySize::Rsa4096, "rsa-4096"),
        ] {
            let key = KeyPair::generate(size).expect("generate");
            let der = key.as_der().expect("pkcs8");
            let text = super::private_key(der.as_ref()).expect("describe");
            assert!(text.contains(name), "{text}");
        }
    }
}
