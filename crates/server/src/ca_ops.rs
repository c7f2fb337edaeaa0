//! The CA behind the certificate routes: in a directory (opened per
//! request, under its file lock) or in a database that several servers
//! share (every read and write goes to it; nothing is cached but the CA
//! keys).

use axum::http::StatusCode;
use pkilab_ca::store::{IssueOptions, Issued, Status, StoreError};
use pkilab_ca::{RevocationReason, Serial};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::api::{Shared, with_store};
use crate::errors::ApiError;

/// How long a CRL published by a revocation is valid.
const CRL_LIFETIME: Duration = Duration::hours(168);

/// A CA store failure as an answer: 503 while the database is down.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Unavailable(_) => {
            tracing::warn!("{e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database-unavailable",
                "the CA database cannot be reached: retry shortly",
            )
        }
        StoreError::UnknownSerial(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown-serial", e.to_string())
        }
        StoreError::AlreadyRevoked(_) => {
            ApiError::new(StatusCode::CONFLICT, "refused", e.to_string())
        }
        StoreError::Ca(_) => ApiError::bad_request(e.to_string()),
        other => {
            tracing::error!("CA: {other}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ca",
                "internal error; see the server log",
            )
        }
    }
}

fn over_quota(name: &str, live: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "quota",
        format!(
            "'{name}' holds {live} live certificates, its quota: revoke one first (or ask an admin)"
        ),
    )
}

/// Issues `options` for `name`, within the quota of live certificates
/// unless `admin`.
pub(crate) async fn issue(
    state: &Shared,
    options: IssueOptions,
    admin: bool,
) -> Result<Issued, ApiError> {
    let quota = state.cert_quota as u64;
    let name = options.name.clone();
    if let Some(db) = state.ca.database() {
        let now = OffsetDateTime::now_utc();
        if !admin {
            let live = db.live_count(&name, now).await.map_err(store_error)?;
            if live >= quota {
                return Err(over_quota(&name, live));
            }
        }
        return db
            .issue(&options, state.passphrase.as_bytes(), now)
            .await
            .map_err(store_error);
    }
    with_store(state, move |store, passphrase| {
        let now = OffsetDateTime::now_utc();
        let live = store
            .issued()
            .iter()
            .filter(|r| {
                r.subject == name && r.status == Status::Valid && r.not_after > now.unix_timestamp()
            })
            .count() as u64;
        if live >= quota && !admin {
            return Err(over_quota(&name, live));
        }
        store
            .issue(&options, passphrase, now)
            .map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await
}

fn unknown(text: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown-serial",
        format!("no certificate with serial {text} was issued by this CA"),
    )
}

fn not_owner(identity: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("'{identity}' may revoke only its own certificates"),
    )
}

/// Revokes `serial` for `identity` (its own certificates only, unless
/// `admin`) and publishes CRLs that list it before answering.
pub(crate) async fn revoke(
    state: &Shared,
    serial: Serial,
    reason: RevocationReason,
    identity: String,
    admin: bool,
) -> Result<Value, ApiError> {
    let text = serial.to_string();
    if let Some(db) = state.ca.database() {
        let record = db.find(&serial).await.map_err(store_error)?;
        match record {
            None => return Err(unknown(&text)),
            Some(r) if r.subject != identity && !admin => return Err(not_owner(&identity)),
            Some(_) => {}
        }
        let now = OffsetDateTime::now_utc();
        let published = db
            .revoke_and_publish(
                &serial,
                reason,
                state.passphrase.as_bytes(),
                now,
                CRL_LIFETIME,
            )
            .await
            .map_err(store_error)?;
        if let Err(e) = state.ca.refresh_from_db().await {
            tracing::warn!("CRLs not reloaded yet (the next poll will): {e}");
        }
        let number = published.numbers.last().map(|(_, n)| *n);
        return Ok(
            json!({ "serial": text, "status": "revoked", "crl": "published", "crl_number": number }),
        );
    }
    with_store(state, move |store, passphrase| {
        let owner = store
            .issued()
            .iter()
            .find(|r| r.serial == text)
            .map(|r| r.subject.clone());
        match owner {
            None => return Err(unknown(&text)),
            Some(owner) if owner != identity && !admin => return Err(not_owner(&identity)),
            Some(_) => {}
        }
        let now = OffsetDateTime::now_utc();
        store
            .revoke(&serial, reason, now)
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, "refused", e.to_string()))?;
        store
            .publish_crl(passphrase, now, CRL_LIFETIME)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ca", e.to_string()))?;
        Ok(json!({ "serial": text, "status": "revoked", "crl": "published" }))
    })
    .await
}

/// The CRLs in force, PEM: from the database (the newest any server
/// published), or the directory's `crl.pem`.
pub(crate) async fn crl_pem(state: &Shared) -> Result<String, ApiError> {
    let Some(db) = state.ca.database() else {
        return state
            .ca
            .crl_pem()
            .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "no-crl", e.to_string()));
    };
    let current = db.current_crls().await.map_err(store_error)?;
    Ok(current
        .iter()
        .flat_map(|c| c.der.iter())
        .map(|der| {
            pem::encode_config(
                &pem::Pem::new("X509 CRL", der.clone()),
                pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
            )
        })
        .collect())
}

/// How long an OCSP answer from the database is valid.
fn ocsp_lifetime(state: &Shared) -> Duration {
    Duration::try_from(state.ocsp_lifetime).unwrap_or(Duration::HOUR)
}

/// Answers an OCSP request: from the directory responder's snapshot and
/// cache, or, for a CA in a database, from the database at this request
/// (so a revocation through any server is in the next answer of every
/// server), signed afresh.
pub(crate) async fn ocsp(state: &Shared, request: &[u8]) -> axum::body::Bytes {
    if let Some(responder) = &state.ocsp {
        return responder.answer(request).await;
    }
    let Some(db) = state.ca.database() else {
        return crate::ocsp::malformed();
    };
    let now = OffsetDateTime::now_utc();
    match db
        .ocsp_response(
            request,
            state.passphrase.as_bytes(),
            now,
            ocsp_lifetime(state),
        )
        .await
    {
        Ok(der) => axum::body::Bytes::from(der),
        Err(e) => {
            tracing::warn!("OCSP: {e}");
            crate::ocsp::try_later()
        }
    }
}
