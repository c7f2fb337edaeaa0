//! `pkilab verify --ocsp`: asks the OCSP responder each certificate names
//! (authorityInfoAccess) about it, and hands the answers to the validator
//! as `--ocsp-response` files are handed. A responder that cannot be
//! reached leaves revocation undecided: with revocation required (as it is
//! whenever a source is given) the verdict is `revocation-unknown`, unless
//! a CRL covers the certificate (hard-fail, the validator's
//! `RevocationPolicy::RequireFresh`).

use pkilab_server::ocsp_client::OcspClient;
use pkilab_verify::Validator;
use pkilab_verify::ocsp_request::{for_certificate, responder_urls};
use x509_parser::prelude::{FromDer, X509Certificate};

/// What asking about one certificate gave.
#[derive(Debug)]
pub struct Query {
    /// The certificate's subject.
    pub subject: String,
    /// The responder asked (none when the certificate names none).
    pub url: Option<String>,
    /// Whether a usable OCSP response came back and was handed over.
    pub answered: bool,
    /// Why not.
    pub error: Option<String>,
}

impl Query {
    /// As `--json` shows it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "subject": self.subject,
            "url": self.url,
            "answered": self.answered,
            "error": self.error,
        })
    }
}

/// The issuer of `cert` among `candidates`: one of its name whose key
/// verifies the certificate's signature, else one of its name.
fn issuer_of<'a>(cert: &X509Certificate<'_>, candidates: &'a [Vec<u8>]) -> Option<&'a [u8]> {
    let named: Vec<(&'a [u8], X509Certificate<'a>)> = candidates
        .iter()
        .filter_map(|der| {
            let (_, parsed) = X509Certificate::from_der(der).ok()?;
            (parsed.subject().as_raw() == cert.issuer().as_raw())
                .then_some((der.as_slice(), parsed))
        })
        .collect();
    named
        .iter()
        .find(|(_, c)| cert.verify_signature(Some(c.public_key())).is_ok())
        .or(named.first())
        .map(|(der, _)| *der)
}

/// Asks about each of `certificates` (leaf first) and adds every usable
/// answer to `validator`.
pub fn query_all(
    validator: &mut Validator,
    certificates: &[Vec<u8>],
    candidates: &[Vec<u8>],
    client: &OcspClient,
) -> anyhow::Result<Vec<Query>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut queries = Vec::new();
    for der in certificates {
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            continue;
        };
        let mut query = Query {
            subject: cert.subject().to_string(),
            url: None,
            answered: false,
            error: None,
        };
        let urls = responder_urls(der).unwrap_or_default();
        let issuer = issuer_of(&cert, candidates);
        match (urls.first(), issuer) {
            (None, _) => query.error = Some("the certificate names no OCSP responder".into()),
            (Some(_), None) => {
                query.error = Some(
                    "its issuer's certificate is not at hand: give it with --untrusted or --trust"
                        .into(),
                );
            }
            (Some(_), Some(issuer)) => {
                for url in &urls {
                    query.url = Some(url.clone());
                    match runtime.block_on(ask(client, url, der, issuer)) {
                        Ok(answer) => match validator.add_ocsp_response(&answer) {
                            Ok(()) => {
                                query.answered = true;
                                query.error = None;
                                break;
                            }
                            Err(e) => query.error = Some(e.to_string()),
                        },
                        Err(e) => query.error = Some(e),
                    }
                }
            }
        }
        queries.push(query);
    }
    Ok(queries)
}

async fn ask(
    client: &OcspClient,
    url: &str,
    cert: &[u8],
    issuer: &[u8],
) -> Result<Vec<u8>, String> {
    let request = for_certificate(cert, issuer).map_err(|e| e.to_string())?;
    client
        .fetch(url, &request)
        .await
        .map_err(|e| format!("the OCSP responder at {url} could not be reached: {e}"))
}
