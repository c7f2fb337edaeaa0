//! Key routes: create, list, show, and the operations on one key. Binary
//! values travel as standard base64; ciphertexts and signatures in their
//! `pkilab:v1:` form.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pkilab_kms::{KeyInfo, KeyType, NewKey, State as KeyState};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::api::{Caller, Shared};
use crate::errors::ApiError;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/keys", post(create).get(list))
        .route("/v1/keys/{name}", get(show))
        .route("/v1/keys/{name}/{operation}", post(operate))
}

type Body<T> = Result<Json<T>, JsonRejection>;

fn b64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD
        .decode(text)
        .map_err(|e| ApiError::bad_request(format!("{field} is not standard base64: {e}")))
}

fn duration(field: &str, text: &str) -> Result<Duration, ApiError> {
    // The project's one duration grammar (humantime: 30d, 12h, 1h30m).
    let refused = |why: String| {
        ApiError::bad_request(format!(
            "{field} '{text}' is not a duration like 30d or 12h ({why})"
        ))
    };
    let parsed = humantime::parse_duration(text.trim()).map_err(|e| refused(e.to_string()))?;
    Duration::try_from(parsed).map_err(|_| refused("too long".into()))
}

/// `POST /v1/keys` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    #[serde(rename = "type")]
    key_type: String,
    owner: Option<String>,
    expires_in: Option<String>,
    rotate_every: Option<String>,
}

async fn create(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Body<CreateRequest>,
) -> Result<(StatusCode, Json<KeyInfo>), ApiError> {
    let actor = state.actor(&caller)?;
    let Json(request) = body?;
    let new = NewKey {
        name: request.name,
        key_type: request
            .key_type
            .parse::<KeyType>()
            .map_err(ApiError::bad_request)?,
        owner: Some(request.owner.unwrap_or_else(|| actor.identity.clone())),
        expires_in: request
            .expires_in
            .as_deref()
            .map(|d| duration("expires_in", d))
            .transpose()?,
        rotate_every: request
            .rotate_every
            .as_deref()
            .map(|d| duration("rotate_every", d))
            .transpose()?,
        pre_active: false,
    };
    let key = state
        .kms
        .create(&actor.identity, &new, OffsetDateTime::now_utc())
        .await?;
    Ok((StatusCode::CREATED, Json(key)))
}

async fn list(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    let actor = state.actor(&caller)?;
    Ok(Json(
        state
            .kms
            .list(&actor.identity, OffsetDateTime::now_utc())
            .await?,
    ))
}

async fn show(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<KeyInfo>, ApiError> {
    let actor = state.actor(&caller)?;
    Ok(Json(
        state
            .kms
            .show(&actor.identity, &name, OffsetDateTime::now_utc())
            .await?,
    ))
}

/// The body of any operation on a key; which fields apply depends on it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationRequest {
    plaintext: Option<String>,
    ciphertext: Option<String>,
    aad: Option<String>,
    message: Option<String>,
    signature: Option<String>,
    reason: Option<String>,
    after: Option<String>,
}

fn need<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .ok_or_else(|| ApiError::bad_request(format!("this operation needs `{field}`")))
}

async fn operate(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((name, operation)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Option<Json<OperationRequest>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = state.actor(&caller)?;
    let request = body?.map(|Json(r)| r).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let who = actor.identity.as_str();
    let aad = request.aad.as_deref().unwrap_or("").as_bytes();
    let kms = &state.kms;
    let ciphertext_of_this_key = |c: &str| -> Result<(), ApiError> {
        if c.starts_with(&format!("pkilab:v1:{name}:")) {
            Ok(())
        } else {
            Err(ApiError::bad_request(format!(
                "the ciphertext does not belong to key '{name}'"
            )))
        }
    };
    Ok(Json(match operation.as_str() {
        "encrypt" => {
            let plaintext = b64("plaintext", need("plaintext", &request.plaintext)?)?;
            json!({ "ciphertext": kms.encrypt(who, &name, aad, &plaintext, now).await? })
        }
        "decrypt" => {
            let ciphertext = need("ciphertext", &request.ciphertext)?;
            ciphertext_of_this_key(ciphertext)?;
            let plaintext = kms.decrypt(who, ciphertext, aad, false, now).await?;
            json!({ "plaintext": STANDARD.encode(&plaintext[..]) })
        }
        "rewrap" => {
            let ciphertext = need("ciphertext", &request.ciphertext)?;
            ciphertext_of_this_key(ciphertext)?;
            json!({ "ciphertext": kms.rewrap(who, ciphertext, aad, now).await? })
        }
        "sign" => {
            let message = b64("message", need("message", &request.message)?)?;
            json!({ "signature": kms.sign(who, &name, &message, now).await? })
        }
        "verify" => {
            let message = b64("message", need("message", &request.message)?)?;
            let signature = need("signature", &request.signature)?;
            ciphertext_of_this_key(signature)?;
            json!({ "valid": kms.verify(who, &message, signature, false, now).await? })
        }
        "datakey" => {
            let (plain, wrapped) = kms.datakey(who, &name, aad, now).await?;
            json!({ "plaintext": STANDARD.encode(&plain[..]), "wrapped": wrapped })
        }
        "rotate" => json!(kms.rotate(who, &name, now).await?),
        "revoke" => {
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
            json!(kms.transition(who, &name, to, now).await?)
        }
        "destroy" => {
            state.second_factor(&actor, &headers).await?;
            let after = request
                .after
                .as_deref()
                .map(|d| duration("after", d))
                .transpose()?
                .unwrap_or(Duration::ZERO);
            json!(kms.schedule_destroy(who, &name, after, now).await?)
        }
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                format!(
                    "no operation '{other}': use encrypt, decrypt, rewrap, sign, verify, datakey, rotate, revoke or destroy"
                ),
            ));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_project_grammar_and_are_bounded() {
        assert_eq!(duration("expires-in", "30d").ok(), Some(Duration::days(30)));
        assert_eq!(
            duration("expires-in", "1h30m").ok(),
            Some(Duration::minutes(90))
        );
        for bad in ["", "30", "soon", "-1d", "99999999999999999999d"] {
            assert!(duration("expires-in", bad).is_err(), "{bad}");
        }
    }
}
