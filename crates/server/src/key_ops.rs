//! One route per operation on a key, each with its own body and answer.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pkilab_kms::{KeyInfo, State as KeyState};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::api::{Caller, Shared, TOTP_HEADER};
use crate::errors::ApiError;
use crate::keys_api::{Body, OptionalBody, b64, duration};
use crate::openapi::{AuthRefusals, Refusals};

/// The key an operation acts on.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct KeyPath {
    /// The key's name.
    pub(crate) name: String,
}

/// Data to protect.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EncryptRequest {
    /// The plaintext, base64.
    plaintext: String,
    /// Associated data bound to the ciphertext.
    aad: Option<String>,
}

/// A ciphertext, with the key and version that made it.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ciphertext {
    /// `pkilab:v1:KEY:VERSION:…`
    ciphertext: String,
    /// The associated data it was made with.
    #[serde(default, skip_serializing)]
    aad: Option<String>,
}

/// Recovered data.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Plaintext {
    /// The plaintext, base64.
    plaintext: String,
}

/// A message to sign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignRequest {
    /// The message, base64.
    message: String,
}

/// A signature.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Signature {
    /// `pkilab:v1:KEY:VERSION:…`
    signature: String,
}

/// A message and the signature to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    /// The message, base64.
    message: String,
    /// `pkilab:v1:KEY:VERSION:…`
    signature: String,
}

/// Whether a signature verified.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Verified {
    /// True when it verifies under the key version it names.
    valid: bool,
}

/// Associated data for a data key.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatakeyRequest {
    /// Associated data bound to the wrapped key.
    aad: Option<String>,
}

/// A fresh AES-256 data key, plain and wrapped.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Datakey {
    /// The key, base64: use it and forget it.
    plaintext: String,
    /// The key wrapped under this KMS key: store it beside the data.
    wrapped: String,
}

/// Why a key is taken out of use.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeKeyRequest {
    /// superseded, cessation-of-operation (deactivates) or key-compromise
    /// (marks it compromised).
    reason: Option<String>,
}

/// When to destroy a key.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DestroyRequest {
    /// Delay before the material is destroyed, e.g. `7d` (default: now).
    after: Option<String>,
}

fn aad(text: Option<&String>) -> &[u8] {
    text.map_or(&[][..], |t| t.as_bytes())
}

fn of_this_key(name: &str, text: &str) -> Result<(), ApiError> {
    if text.starts_with(&format!("pkilab:v1:{name}:")) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "the ciphertext or signature does not belong to key '{name}'"
        )))
    }
}

/// Encrypts with the newest version.
#[utoipa::path(post, path = "/v1/keys/{name}/encrypt", tag = "keys", params(KeyPath),
    request_body = EncryptRequest,
    responses((status = 200, description = "encrypted", body = Ciphertext), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn encrypt(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    body: Body<EncryptRequest>,
) -> Result<Json<Ciphertext>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let Json(request) = body?;
    let plaintext = b64("plaintext", &request.plaintext)?;
    let aad = aad(request.aad.as_ref());
    let ciphertext = (state.kms)
        .encrypt(&who, &name, aad, &plaintext, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(Ciphertext {
        ciphertext,
        aad: None,
    }))
}

/// Decrypts (the ciphertext names its version).
#[utoipa::path(post, path = "/v1/keys/{name}/decrypt", tag = "keys", params(KeyPath),
    request_body = Ciphertext,
    responses((status = 200, description = "decrypted", body = Plaintext), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn decrypt(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    body: Body<Ciphertext>,
) -> Result<Json<Plaintext>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let Json(request) = body?;
    of_this_key(&name, &request.ciphertext)?;
    let aad = aad(request.aad.as_ref());
    let plaintext = (state.kms)
        .decrypt(
            &who,
            &request.ciphertext,
            aad,
            false,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(Plaintext {
        plaintext: STANDARD.encode(&plaintext[..]),
    }))
}

/// Moves a ciphertext to the newest version.
#[utoipa::path(post, path = "/v1/keys/{name}/rewrap", tag = "keys", params(KeyPath),
    request_body = Ciphertext,
    responses((status = 200, description = "rewrapped", body = Ciphertext), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn rewrap(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    body: Body<Ciphertext>,
) -> Result<Json<Ciphertext>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let Json(request) = body?;
    of_this_key(&name, &request.ciphertext)?;
    let aad = aad(request.aad.as_ref());
    let ciphertext = (state.kms)
        .rewrap(&who, &request.ciphertext, aad, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(Ciphertext {
        ciphertext,
        aad: None,
    }))
}

/// Signs a message.
#[utoipa::path(post, path = "/v1/keys/{name}/sign", tag = "keys", params(KeyPath),
    request_body = SignRequest,
    responses((status = 200, description = "signed", body = Signature), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn sign(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    body: Body<SignRequest>,
) -> Result<Json<Signature>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let Json(request) = body?;
    let message = b64("message", &request.message)?;
    let signature = (state.kms)
        .sign(&who, &name, &message, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(Signature { signature }))
}

/// Verifies a signature.
#[utoipa::path(post, path = "/v1/keys/{name}/verify", tag = "keys", params(KeyPath),
    request_body = VerifyRequest,
    responses((status = 200, description = "checked", body = Verified), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn verify(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    body: Body<VerifyRequest>,
) -> Result<Json<Verified>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let Json(request) = body?;
    let message = b64("message", &request.message)?;
    of_this_key(&name, &request.signature)?;
    let valid = (state.kms)
        .verify(
            &who,
            &message,
            &request.signature,
            false,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(Verified { valid }))
}

/// A fresh AES-256 data key, plain and wrapped under this key (for an
/// `xwing` key: sealed to its public key).
#[utoipa::path(post, path = "/v1/keys/{name}/datakey", tag = "keys", params(KeyPath),
    request_body(content = Option<DatakeyRequest>),
    responses((status = 200, description = "a data key", body = Datakey), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn datakey(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    body: OptionalBody<DatakeyRequest>,
) -> Result<Json<Datakey>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let request = body?.map(|Json(r)| r).unwrap_or_default();
    let aad = aad(request.aad.as_ref());
    let (plain, wrapped) = (state.kms)
        .datakey(&who, &name, aad, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(Datakey {
        plaintext: STANDARD.encode(&plain[..]),
        wrapped,
    }))
}

/// A key's public half.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicKey {
    /// The newest version's public key, PEM SubjectPublicKeyInfo.
    public_key: String,
}

/// The newest version's public key, for every key type with a public half
/// (`xwing` included); an AES key has none.
#[utoipa::path(post, path = "/v1/keys/{name}/export", tag = "keys", params(KeyPath),
    responses((status = 200, description = "the public key", body = PublicKey), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn export(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
) -> Result<Json<PublicKey>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let public_key = (state.kms)
        .export_public(&who, &name, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(PublicKey { public_key }))
}

/// Adds a version; new data uses it, old data still decrypts.
#[utoipa::path(post, path = "/v1/keys/{name}/rotate", tag = "keys", params(KeyPath),
    responses((status = 200, description = "rotated", body = KeyInfo), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn rotate(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
) -> Result<Json<KeyInfo>, ApiError> {
    let who = state.actor(&caller)?.identity;
    let key = (state.kms)
        .rotate(&who, &name, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(key))
}

/// Deactivates a key or, for key-compromise, marks it compromised.
#[utoipa::path(post, path = "/v1/keys/{name}/revoke", tag = "keys",
    params(KeyPath, ("X-Pkilab-Totp" = String, Header, description = TOTP_HEADER)),
    request_body(content = Option<RevokeKeyRequest>),
    responses((status = 200, description = "revoked", body = KeyInfo), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn revoke(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    headers: HeaderMap,
    body: OptionalBody<RevokeKeyRequest>,
) -> Result<Json<KeyInfo>, ApiError> {
    let actor = state.actor(&caller)?;
    let request = body?.map(|Json(r)| r).unwrap_or_default();
    state.second_factor(&actor, &headers).await?;
    let to = match request.reason.as_deref() {
        None | Some("superseded" | "cessation-of-operation" | "deactivated") => {
            KeyState::Deactivated
        }
        Some("key-compromise" | "compromised") => KeyState::Compromised,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "reason '{other}': use superseded, cessation-of-operation or key-compromise"
            )));
        }
    };
    let key = (state.kms)
        .transition(&actor.identity, &name, to, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(key))
}

/// Schedules the destruction of a key's material.
#[utoipa::path(post, path = "/v1/keys/{name}/destroy", tag = "keys",
    params(KeyPath, ("X-Pkilab-Totp" = String, Header, description = TOTP_HEADER)),
    request_body(content = Option<DestroyRequest>),
    responses((status = 200, description = "scheduled", body = KeyInfo), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
pub(crate) async fn destroy(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
    headers: HeaderMap,
    body: OptionalBody<DestroyRequest>,
) -> Result<Json<KeyInfo>, ApiError> {
    let actor = state.actor(&caller)?;
    let request = body?.map(|Json(r)| r).unwrap_or_default();
    state.second_factor(&actor, &headers).await?;
    let after = request
        .after
        .as_deref()
        .map(|d| duration("after", d))
        .transpose()?
        .unwrap_or(Duration::ZERO);
    let key = (state.kms)
        .schedule_destroy(&actor.identity, &name, after, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(key))
}
