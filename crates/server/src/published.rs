//! What the CA publishes to anyone, without a client certificate: the
//! OCSP responder and, at the URLs `pkilab ca init --url` writes into
//! certificates, the CRLs (complete, delta, each partition) and the CA
//! certificates, as DER with their RFC 2585 content types.
//!
//! ```text
//! POST {base}/ocsp                 application/ocsp-request → application/ocsp-response
//! GET  {base}/ocsp/{base64}        RFC 6960 appendix A.1 (URL-encoded base64 request)
//! GET  {base}/crl/{name}.crl       application/pkix-crl (DIR/crl/, written by `ca crl`)
//! GET  {base}/ca/{root|issuing}.crt application/pkix-cert
//! ```
//! `{base}` is the path of the publication URL (empty for
//! `https://ca.example`); the same routes also answer at the root.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::Shared;
use crate::errors::{ApiError, ErrorBody};
use crate::openapi::Refusals;

/// Content type of OCSP answers (RFC 6960 appendix A.2).
const OCSP_RESPONSE: &str = "application/ocsp-response";

/// The routes at the root, documented.
pub(crate) fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(ocsp_post))
        .routes(routes!(ocsp_get))
        .routes(routes!(crl))
        .routes(routes!(ca_certificate))
        // A request whose base64 '/' a client did not encode as %2F.
        .route("/ocsp/{request}/{*rest}", get(ocsp_get))
}

/// The same routes under `base`, the path of the publication URL, when it
/// has one (the root ones are in [`routes`]).
pub(crate) fn under(base: &str) -> Router<Shared> {
    if base.is_empty() {
        return Router::new();
    }
    Router::new()
        .route(&format!("{base}/ocsp"), post(ocsp_post))
        .route(&format!("{base}/ocsp/{{request}}"), get(ocsp_get))
        .route(&format!("{base}/ocsp/{{request}}/{{*rest}}"), get(ocsp_get))
        .route(&format!("{base}/crl/{{name}}"), get(crl))
        .route(&format!("{base}/ca/{{name}}"), get(ca_certificate))
}

/// The path part of a publication URL: `/pki` for
/// `https://ca.example/pki`, empty for `https://ca.example`.
pub(crate) fn base_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/')
        .map(|i| rest[i..].trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

fn ocsp_answer(der: Bytes) -> Response {
    ([(header::CONTENT_TYPE, OCSP_RESPONSE)], der).into_response()
}

/// OCSP (RFC 6960): a DER OCSPRequest in, a DER OCSPResponse out.
#[utoipa::path(post, path = "/ocsp", tag = "publication",
    request_body(content = Vec<u8>, content_type = "application/ocsp-request",
        description = "a DER OCSPRequest"),
    responses((status = 200, description = "a DER OCSPResponse: good, revoked or unknown; malformedRequest for a body that is not an OCSP request",
        body = Vec<u8>, content_type = "application/ocsp-response"), Refusals,
        (status = 413, description = "a body over the server's body limit", body = ErrorBody)))]
async fn ocsp_post(State(state): State<Shared>, body: Bytes) -> Response {
    ocsp_answer(crate::ca_ops::ocsp(&state, &body).await)
}

/// Standard base64, padded or not: clients differ.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `%XX` escapes undone; `None` for a broken escape.
fn percent_decoded(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The DER request in a GET path: what follows `/ocsp/`, URL-decoded,
/// then base64 (standard, or URL-safe as some clients send).
fn request_in_path(path: &str) -> Option<Vec<u8>> {
    let (_, encoded) = path.split_once("/ocsp/")?;
    let text = String::from_utf8(percent_decoded(encoded)?).ok()?;
    LENIENT
        .decode(&text)
        .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .ok()
}

/// OCSP over GET (RFC 6960 appendix A.1).
#[utoipa::path(get, path = "/ocsp/{request}", tag = "publication",
    params(("request" = String, Path, description = "the URL-encoded base64 of a DER OCSPRequest")),
    responses((status = 200, description = "a DER OCSPResponse (malformedRequest for a path that holds no OCSP request)",
        body = Vec<u8>, content_type = "application/ocsp-response"), Refusals))]
async fn ocsp_get(State(state): State<Shared>, uri: Uri) -> Response {
    match request_in_path(uri.path()) {
        Some(der) => ocsp_answer(crate::ca_ops::ocsp(&state, &der).await),
        None => ocsp_answer(crate::ocsp::malformed()),
    }
}

/// A published file name: letters, digits, '-', '_' and '.', not
/// starting with a dot, ending in `suffix`.
fn plain_name(name: &str, suffix: &str) -> bool {
    name.ends_with(suffix)
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn not_published(what: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-published", what)
}

/// A CRL the CA published, DER, at the URL its certificates name.
#[utoipa::path(get, path = "/crl/{name}", tag = "publication",
    params(("name" = String, Path, description = "issuing.crl, root.crl, a partition issuing-K.crl, or a delta …-delta.crl")),
    responses((status = 200, description = "the CRL", body = Vec<u8>, content_type = "application/pkix-crl"), Refusals,
        (status = 404, description = "no such CRL published", body = ErrorBody)))]
async fn crl(State(state): State<Shared>, Path(name): Path<String>) -> Result<Response, ApiError> {
    if !plain_name(&name, ".crl") {
        return Err(not_published(format!("'{name}' names no CRL")));
    }
    if let Some(db) = state.ca.database() {
        let der = db
            .published_crl(&name)
            .await
            .map_err(crate::ca_ops::store_error)?
            .ok_or_else(|| not_published(format!("no CRL named '{name}' has been published")))?;
        return Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response());
    }
    let path = state.ca.dir().join("crl").join(&name);
    let der = tokio::fs::read(&path).await.map_err(|_| {
        not_published(format!(
            "no CRL named '{name}' has been published: the CA publishes one with `pkilab ca crl` (and `--delta`) once it has a URL (`ca init --url`)"
        ))
    })?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response())
}

/// A CA certificate, DER, at the caIssuers URL its certificates name.
#[utoipa::path(get, path = "/ca/{name}", tag = "publication",
    params(("name" = String, Path, description = "root.crt or issuing.crt")),
    responses((status = 200, description = "the certificate", body = Vec<u8>, content_type = "application/pkix-cert"), Refusals,
        (status = 404, description = "no such CA certificate", body = ErrorBody)))]
async fn ca_certificate(
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let file = name.strip_suffix(".crt").unwrap_or_default();
    if !matches!(file, "root" | "issuing") {
        return Err(not_published(format!(
            "'{name}' names no CA certificate: ask for root.crt or issuing.crt"
        )));
    }
    let missing = || not_published(format!("this CA has no {name}"));
    if let Some(db) = state.ca.database() {
        let der = db
            .authorities()
            .iter()
            .find(|a| a.file == file)
            .map(|a| a.certificate.clone())
            .ok_or_else(missing)?;
        return Ok(([(header::CONTENT_TYPE, "application/pkix-cert")], der).into_response());
    }
    let path = state.ca.dir().join(&name);
    let pem = tokio::fs::read(&path).await.map_err(|_| missing())?;
    let der = pkilab_verify::pem_input::blocks(&pem, "CERTIFICATE")
        .ok()
        .and_then(|blocks| blocks.into_iter().next())
        .ok_or_else(missing)?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-cert")], der).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_the_path_of_the_publication_url() {
        assert_eq!(base_path("https://ca.example"), "");
        assert_eq!(base_path("https://ca.example/"), "");
        assert_eq!(base_path("http://127.0.0.1:8443/pki/"), "/pki");
    }

    #[test]
    fn a_get_request_is_url_decoded_then_base64_decoded() {
        assert_eq!(
            request_in_path("/ocsp/MAM%3D").as_deref(),
            Some(&[0x30, 0x03][..])
        );
        assert_eq!(
            request_in_path("/pki/ocsp/MAM=").as_deref(),
            Some(&[0x30, 0x03][..])
        );
        assert_eq!(
            request_in_path("/ocsp/%2F%2B8%3D").as_deref(),
            Some(&[0xff, 0xef][..])
        );
        assert_eq!(request_in_path("/ocsp/MAM%3"), None);
        assert_eq!(request_in_path("/ocsp/not base64!"), None);
    }

    #[test]
    fn only_plain_names_are_served() {
        assert!(plain_name("issuing-3-delta.crl", ".crl"));
        for bad in [
            "../state.json",
            ".crl",
            "a/b.crl",
            "issuing.crt",
            "%2e%2e.crl",
        ] {
            assert!(!plain_name(bad, ".crl"), "{bad}");
        }
    }

    #[test]
    fn malformed_is_the_rfc_6960_encoding() {
        assert_eq!(
            crate::ocsp::malformed().as_ref(),
            [0x30, 0x03, 0x0a, 0x01, 0x01]
        );
    }
}
