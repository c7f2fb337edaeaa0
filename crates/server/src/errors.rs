//! API errors: a status and a JSON body `{"error": id, "detail": text}`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pkilab_kms::KmsError;

/// The body of every refusal.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// A stable identifier, e.g. `forbidden`, `rate-limited`.
    pub(crate) error: String,
    /// What exactly went wrong, and what to do next.
    pub(crate) detail: String,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) id: &'static str,
    pub(crate) detail: String,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, id: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            id,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub(crate) fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this route needs a client certificate from this CA",
        )
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }
}

impl From<KmsError> for ApiError {
    fn from(e: KmsError) -> ApiError {
        let status = match &e {
            KmsError::UnknownKey(_) => StatusCode::NOT_FOUND,
            KmsError::Forbidden(_) | KmsError::RevokedIdentity(_) => StatusCode::FORBIDDEN,
            KmsError::Duplicate(_)
            | KmsError::IllegalTransition { .. }
            | KmsError::KeyState(_)
            | KmsError::Refused(_) => StatusCode::CONFLICT,
            KmsError::Malformed(_) | KmsError::Unsupported(_) | KmsError::Unauthentic => {
                StatusCode::BAD_REQUEST
            }
            KmsError::PassphraseChanged | KmsError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            KmsError::InUse(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if matches!(e, KmsError::PassphraseChanged | KmsError::Unavailable(_)) {
            tracing::error!("{e}");
        }
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("internal error: {e}");
            "internal error; see the server log".to_owned()
        } else {
            e.to_string()
        };
        ApiError::new(status, e.id(), detail)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let status = rejection.status();
        let id = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too-large"
        } else {
            "bad-request"
        };
        ApiError::new(status, id, rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.id.to_owned(),
            detail: self.detail,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
