//! The router, the per-request middleware (rate limit, audit), the caller's
//! identity and role, and the public and certificate routes.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use pkilab_ca::store::{CaStore, IssueOptions};
use pkilab_ca::{RevocationReason, Serial};
use pkilab_kms::{ADMIN, Kms};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use crate::errors::{ApiError, ErrorBody};
use crate::limits::Limiter;
use crate::openapi::{AuthRefusals, Refusals};
use crate::tls::CaView;

/// What every handler shares.
pub struct AppState {
    pub(crate) kms: Kms,
    pub(crate) ca: Arc<CaView>,
    pub(crate) passphrase: Zeroizing<String>,
    pub(crate) admins: BTreeSet<String>,
    pub(crate) request_timeout: std::time::Duration,
    pub(crate) cert_quota: usize,
    pub(crate) limiter: Limiter,
    pub(crate) counts: Counts,
    pub(crate) log: Arc<crate::log_api::LogView>,
    /// The OCSP responder of a CA directory; with the CA in a database,
    /// OCSP is answered from the database (see `ca_ops`).
    pub(crate) ocsp: Option<Arc<crate::ocsp::OcspService>>,
    /// Identities not asked for a TOTP code (see `Config::totp_exempt`).
    pub(crate) totp_exempt: BTreeSet<String>,
    /// How long an OCSP response is valid.
    pub(crate) ocsp_lifetime: std::time::Duration,
    /// Buckets shared with the other servers on the same PostgreSQL.
    pub(crate) shared_buckets: Option<crate::shared_limits::SharedBuckets>,
}

/// Requests counted instead of audited one by one: those without a client
/// certificate and those refused by the rate limiter. Anyone can send
/// them, so a log entry each would let anyone fill the disk; a summary
/// entry with the counts is written once per [`SUMMARY_EVERY`].
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) anonymous: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
}

/// How often the counted requests are summarised in the audit log.
pub const SUMMARY_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    /// Writes the summary of counted requests since the last one, if any.
    pub(crate) async fn audit_counts(&self) -> Result<(), pkilab_kms::KmsError> {
        let now = OffsetDateTime::now_utc();
        for (counter, operation) in [
            (&self.counts.anonymous, "http.anonymous"),
            (&self.counts.rate_limited, "http.rate-limited"),
        ] {
            let n = counter.swap(0, Ordering::Relaxed);
            if n > 0 {
                let outcome = format!("{n} requests");
                if let Err(e) = self
                    .kms
                    .audit_event("server", operation, None, &outcome, now)
                    .await
                {
                    counter.fetch_add(n, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        // And entries of requests whose clients went away before their
        // commit (deferred, see the guard), so none waits longer than this.
        self.kms.flush().await
    }
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The CN of a verified client certificate.
    pub identity: Option<String>,
    /// The peer address.
    pub addr: SocketAddr,
}

/// An authenticated caller: the CN of its verified certificate. Roles and
/// access are the KMS's to decide, from this identity.
pub(crate) struct Actor {
    pub(crate) identity: String,
}

impl AppState {
    pub(crate) fn actor(&self, caller: &Caller) -> Result<Actor, ApiError> {
        let identity = caller
            .identity
            .clone()
            .ok_or_else(ApiError::unauthenticated)?;
        if identity == ADMIN && !self.admins.contains(&identity) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the name '{ADMIN}' is reserved for the operator; this server does not list it under admins"
                ),
            ));
        }
        Ok(Actor { identity })
    }

    /// Checks the `X-Pkilab-Totp` code of a destructive operation.
    pub(crate) async fn second_factor(
        &self,
        actor: &Actor,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        if self.totp_exempt.contains(&actor.identity) {
            return Ok(());
        }
        let code = headers
            .get("x-pkilab-totp")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "totp-required",
                    "this operation is destructive: send a TOTP code in X-Pkilab-Totp",
                )
            })?;
        self.kms
            .mfa_check(&actor.identity, code, OffsetDateTime::now_utc())
            .await
            .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, "totp-refused", e.to_string()))
    }
}

pub(crate) type Shared = Arc<AppState>;

/// How the TOTP header is described wherever it is required.
pub(crate) const TOTP_HEADER: &str =
    "a TOTP code of the caller (pkilab kms mfa enroll); each code works once";

/// Every documented route: each is registered by the `routes!` call that
/// also adds its annotation to the OpenAPI document.
pub(crate) fn documented() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(openapi))
        .routes(routes!(ca_chain))
        .routes(routes!(ca_crl))
        .routes(routes!(issue_cert))
        .routes(routes!(revoke_cert))
        .merge(crate::keys_api::routes())
        .merge(crate::log_api::routes())
        .merge(crate::published::routes())
}

/// The OpenAPI document of every route, as served at `/v1/openapi.json`.
pub fn openapi_document() -> Value {
    serde_json::to_value(documented().into_openapi()).unwrap_or(Value::Null)
}

/// Every route.
pub fn router(state: Shared, body_limit: usize, published_at: &str) -> Router {
    Router::from(documented())
        .merge(crate::published::under(published_at))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

/// Rate limit before, audit after. An authenticated request is answered
/// only once its audit entry is committed (a 503 if it cannot be);
/// anonymous and rate-limited requests are counted (see [`Counts`]).
async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let caller = request.extensions().get::<Caller>().cloned();
    let identity = caller.as_ref().and_then(|c| c.identity.clone());
    let bucket = match (&identity, &caller) {
        (Some(identity), _) => identity.clone(),
        (None, Some(c)) => format!("anonymous@{}", c.addr.ip()),
        (None, None) => "anonymous".to_owned(),
    };
    if let Err(wait) = state.limiter.take(&bucket, identity.is_none()) {
        return rate_limited(&state, wait);
    }
    if let Some(shared) = &state.shared_buckets {
        let key = identity
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), |i| format!("client:{i}"));
        match shared.take(&key, identity.is_none()).await {
            Ok(Ok(())) => {}
            Ok(Err(wait)) => return rate_limited(&state, wait),
            Err(e) => tracing::debug!("shared rate limit not checked: {e}"),
        }
    }
    let deadline = state.request_timeout;
    let Some(identity) = identity else {
        state.counts.anonymous.fetch_add(1, Ordering::Relaxed);
        return within(deadline, next.run(request)).await;
    };
    let operation = format!("http {} {}", request.method(), request.uri().path());
    // The operation's own entries and this request's are committed
    // together, below, before the answer leaves.
    let response = Kms::deferring_audit(within(deadline, next.run(request))).await;
    let outcome = response.status().as_u16().to_string();
    match state
        .kms
        .audit_event(
            &identity,
            &operation,
            None,
            &outcome,
            OffsetDateTime::now_utc(),
        )
        .await
    {
        Ok(()) => response,
        Err(e) => {
            tracing::error!("audit: {e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit-unavailable",
                "the request could not be audited, so its answer is withheld; retry later",
            )
            .into_response()
        }
    }
}

fn rate_limited(state: &AppState, wait: u64) -> Response {
    state.counts.rate_limited.fetch_add(1, Ordering::Relaxed);
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        format!("too many requests: retry in {wait} s"),
    );
    e.retry_after = Some(wait);
    e.into_response()
}

/// `work`'s response, or 408 when it (reading the body included) takes
/// longer than `deadline`: a body trickled in byte by byte cannot hold a
/// connection and a worker forever.
async fn within(deadline: std::time::Duration, work: impl Future<Output = Response>) -> Response {
    match tokio::time::timeout(deadline, work).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                format!("the request took longer than {} s", deadline.as_secs()),
            )
            .into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// How long the health check waits for the database.
const HEALTH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Liveness and database reachability: 200 when the key store's database
/// (and the CA's, when the CA is in one) answer within [`HEALTH_WAIT`],
/// else 503, so a load balancer sends requests elsewhere.
#[utoipa::path(get, path = "/v1/health", tag = "server",
    responses(
        (status = 200, description = "the server is up and its database answers", body = Object),
        (status = 503, description = "the database cannot be reached", body = Object),
        Refusals))]
async fn health(State(state): State<Shared>) -> Response {
    let kms = async {
        sqlx::query("SELECT 1")
            .fetch_one(state.kms.db().pool())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let ca = async {
        match state.ca.database() {
            Some(db) => db.ping().await.map_err(|e| e.to_string()),
            None => Ok(()),
        }
    };
    let checked = tokio::time::timeout(HEALTH_WAIT, async { kms.await.and(ca.await) }).await;
    match checked {
        Ok(Ok(())) => Json(json!({ "status": "ok", "database": "reachable" })).into_response(),
        outcome => {
            let detail = match outcome {
                Ok(Err(e)) => e,
                _ => format!("no answer within {} s", HEALTH_WAIT.as_secs()),
            };
            tracing::warn!("health: database unreachable: {detail}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}

/// This document, built once from the router.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "server",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object), Refusals))]
async fn openapi() -> Json<Value> {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(openapi_document).clone())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such route: see /v1/openapi.json",
    )
}

/// The CA chain (root, issuing) as PEM.
#[utoipa::path(get, path = "/v1/ca/chain", tag = "ca",
    responses((status = 200, description = "the chain", body = String,
        content_type = "application/pem-certificate-chain"), Refusals))]
async fn ca_chain(State(state): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        state.ca.chain_pem(),
    )
        .into_response()
}

/// The current CRLs as PEM.
#[utoipa::path(get, path = "/v1/ca/crl", tag = "ca",
    responses((status = 200, description = "the CRLs", body = String,
        content_type = "application/x-pem-file"), Refusals,
        (status = 404, description = "no CRL published yet", body = ErrorBody)))]
async fn ca_crl(State(state): State<Shared>) -> Result<Response, ApiError> {
    let pem = crate::ca_ops::crl_pem(&state).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response())
}

/// `POST /v1/certs` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertRequest {
    /// A PEM PKCS#10 request; only its public key is used.
    csr: String,
    /// Subject CN (default: the caller; another name needs the admin role).
    name: Option<String>,
    /// Lifetime in days: 1 to 90, or to 825 for an admin.
    days: Option<i64>,
    /// serverAuth instead of clientAuth.
    server: Option<bool>,
}

/// A certificate just issued.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedCertificate {
    /// Its serial, hex.
    serial: String,
    /// The certificate, PEM.
    certificate: String,
    /// The issuing CA's certificate, PEM (empty when the root issued it).
    chain: String,
    /// The certificate's inclusion proof in the CA's transparency log
    /// (`pkilab log prove` format), for relying parties that require one;
    /// absent when the CA keeps no log.
    #[serde(skip_serializing_if = "Option::is_none")]
    inclusion_proof: Option<String>,
}

/// Runs a blocking CA operation off the async workers.
pub(crate) async fn with_store<T: Send + 'static>(
    state: &Shared,
    work: impl FnOnce(&mut CaStore, &[u8]) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let dir = state.ca.dir().to_owned();
    let passphrase = state.passphrase.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = CaStore::open(&dir)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ca", e.to_string()))?;
        work(&mut store, passphrase.as_bytes())
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ca", e.to_string()))?
}

/// Longest certificate a client may ask for itself, days.
pub const SELF_ISSUE_MAX_DAYS: i64 = 90;

/// Issues a certificate for a CSR. A client asks for its own name only,
/// for at most [`SELF_ISSUE_MAX_DAYS`], with a TOTP code, within its quota
/// of live certificates, and not once its identity is revoked in the KMS:
/// a stolen certificate alone mints nothing. The CSR's signature is
/// checked before the CA key is opened, so garbage costs no key
/// decryption under the CA's lock.
#[utoipa::path(post, path = "/v1/certs", tag = "ca",
    params(("X-Pkilab-Totp" = String, Header, description = TOTP_HEADER)),
    request_body = CertRequest,
    responses((status = 201, description = "issued", body = IssuedCertificate), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
async fn issue_cert(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Json<CertRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<IssuedCertificate>), ApiError> {
    let actor = state.actor(&caller)?;
    state.kms.check_identity(&actor.identity).await?;
    let admin = state.kms.is_admin(&actor.identity);
    let Json(request) = body?;
    let name = request.name.unwrap_or_else(|| actor.identity.clone());
    if name != actor.identity && !admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "'{}' may request certificates for itself only, not for '{name}'",
                actor.identity
            ),
        ));
    }
    let days = request.days.unwrap_or(SELF_ISSUE_MAX_DAYS);
    let longest = if admin { 825 } else { SELF_ISSUE_MAX_DAYS };
    if !(1..=longest).contains(&days) {
        return Err(ApiError::bad_request(format!(
            "days is {days}: give 1 to {longest}"
        )));
    }
    pkilab_ca::csr::public_key(request.csr.as_bytes())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    state.second_factor(&actor, &headers).await?;
    let options = IssueOptions {
        name,
        dns: vec![],
        ips: vec![],
        client: !request.server.unwrap_or(false),
        server: request.server.unwrap_or(false),
        days,
        csr: Some(request.csr.into_bytes()),
        iterations: pkilab_ca::encrypted_key::DEFAULT_ITERATIONS,
    };
    let issued = crate::ca_ops::issue(&state, options, admin).await?;
    // The responder knows the new certificate ("good", not "unknown").
    reload_ocsp(&state).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCertificate {
            serial: issued.serial.to_string(),
            inclusion_proof: logged_proof(&state, &issued.certificate)?,
            certificate: issued.certificate,
            chain: issued.chain,
        }),
    ))
}

/// The inclusion proof of a certificate just issued (PEM), when the CA
/// keeps a log.
fn logged_proof(state: &Shared, certificate: &str) -> Result<Option<String>, ApiError> {
    if state.ca.database().is_some() {
        return Ok(None);
    }
    let der = pem::parse(certificate)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ca", e.to_string()))?
        .into_contents();
    state.log.prove(&der)
}

/// `POST /v1/certs/{serial}/revoke` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeRequest {
    /// RFC 5280 reason, e.g. `key-compromise` (default `unspecified`).
    reason: Option<String>,
}

/// Revokes a certificate (the caller's own, or any as admin) and publishes
/// the CRL.
#[utoipa::path(post, path = "/v1/certs/{serial}/revoke", tag = "ca",
    params(("serial" = String, Path, description = "the certificate's serial, hex"),
        ("X-Pkilab-Totp" = String, Header, description = TOTP_HEADER)),
    request_body(content = Option<RevokeRequest>),
    responses((status = 200, description = "revoked and on the new CRL", body = Object), Refusals, AuthRefusals),
    security(("clientCertificate" = [])))]
async fn revoke_cert(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    body: Result<Option<Json<RevokeRequest>>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = state.actor(&caller)?;
    let body = body?;
    let serial: Serial = serial
        .parse()
        .map_err(|e: pkilab_ca::RequestError| ApiError::bad_request(e.to_string()))?;
    let reason: RevocationReason = body
        .and_then(|Json(b)| b.reason)
        .unwrap_or_else(|| "unspecified".into())
        .parse()
        .map_err(|e: pkilab_ca::RequestError| ApiError::bad_request(e.to_string()))?;
    state.second_factor(&actor, &headers).await?;
    let admin = state.kms.is_admin(&actor.identity);
    let answer =
        crate::ca_ops::revoke(&state, serial, reason, actor.identity.clone(), admin).await?;
    // The next OCSP answer about this certificate already says revoked.
    reload_ocsp(&state).await?;
    Ok(Json(answer))
}

/// Has the OCSP responder read the CA's records again, after a change
/// made through the API, before the API answers (a CA in a database is
/// read at each OCSP request instead).
async fn reload_ocsp(state: &Shared) -> Result<(), ApiError> {
    let Some(ocsp) = state.ocsp.clone() else {
        return Ok(());
    };
    tokio::task::spawn_blocking(move || ocsp.reload())
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ocsp", e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ocsp", e.to_string()))
}
