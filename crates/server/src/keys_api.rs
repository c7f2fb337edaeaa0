//! Key routes: create, list, show, and one route per operation on a key.
//! Binary values travel as standard base64; ciphertexts and signatures in
//! their `pkilab:v1:` form.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pkilab_kms::{KeyInfo, KeyType, NewKey};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{Caller, Shared};
use crate::errors::ApiError;
use crate::key_ops::{self, KeyPath};
use crate::openapi::{AuthRefusals, Refusals};

pub(crate) fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show))
        .routes(routes!(key_ops::encrypt))
        .routes(routes!(key_ops::decrypt))
        .routes(routes!(key_ops::rewrap))
        .routes(routes!(key_ops::sign))
        .routes(routes!(key_ops::verify))
        .routes(routes!(key_ops::datakey))
        .routes(routes!(key_ops::export))
        .routes(routes!(key_ops::rotate))
        .routes(routes!(key_ops::revoke))
        .routes(routes!(key_ops::destroy))
}

pub(crate) type Body<T> = Result<Json<T>, JsonRejection>;
/// A body that may be left out altogether.
pub(crate) type OptionalBody<T> = Result<Option<Json<T>>, JsonRejection>;

pub(crate) fn b64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD
        .decode(text)
        .map_err(|e| ApiError::bad_request(format!("{field} is not standard base64: {e}")))
}

pub(crate) fn duration(field: &str, text: &str) -> Result<Duration, ApiError> {
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    /// The key's name.
    name: String,
    /// aes-256-gcm, ed25519, x25519, rsa-2048, rsa-3072, rsa-4096 or xwing
    /// (X25519 + ML-KEM-768: post-quantum encryption to the key).
    #[serde(rename = "type")]
    key_type: String,
    /// Its owner (another identity than the caller needs the admin role).
    owner: Option<String>,
    /// Deactivates by itself after this long, e.g. `365d`.
    expires_in: Option<String>,
    /// Rotates by itself this often, e.g. `90d`.
    rotate_every: Option<String>,
}

/// Creates a key.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateRequest,
    responses((status = 201, description = "created", body = KeyInfo), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
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

/// The keys the caller owns or holds grants on (all of them, for an admin).
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, description = "the keys", body = Vec<KeyInfo>), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
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

/// One key's metadata.
#[utoipa::path(get, path = "/v1/keys/{name}", tag = "keys", params(KeyPath),
    responses((status = 200, description = "the key", body = KeyInfo), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
async fn show(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(KeyPath { name }): Path<KeyPath>,
) -> Result<Json<KeyInfo>, ApiError> {
    let actor = state.actor(&caller)?;
    Ok(Json(
        state
            .kms
            .show(&actor.identity, &name, OffsetDateTime::now_utc())
            .await?,
    ))
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
