//! The OCSP responder (RFC 6960) behind `POST /ocsp` and `GET /ocsp/{req}`
//! (appendix A): answers signed by the CA that issued the certificate, or
//! by its delegated OCSP signer, from a snapshot of the CA's records.
//!
//! - A request without a nonce about one certificate the CA issued is
//!   answered from a cache of pre-signed responses, one per CertID,
//!   bounded by [`Config::ocsp_cache`](crate::Config); the oldest entry
//!   leaves first. Answers about serials the CA does not know ("unknown")
//!   are signed each time, so made-up serials cannot crowd the cache.
//! - A cached response is signed again once half its lifetime has passed:
//!   by [`OcspService::refresh_cache`] for entries asked for since the last
//!   pass (entries nobody asked for are dropped), and on the request path
//!   when a pass is late. A client never receives one past its nextUpdate.
//! - When the CA's records change (a revocation through the API, or
//!   `pkilab ca revoke` beside the server), the snapshot is rebuilt and the
//!   cache emptied, so the next answer says what the CA now knows.
//! - A request with a nonce is signed afresh and the nonce echoed.
//! - A body that is not an OCSPRequest gets `malformedRequest`.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use der::{Decode, Encode};
use pkilab_ca::Serial;
use pkilab_ca::ocsp::{CertificateState, Responder};
use pkilab_ca::store::CaStore;
use time::OffsetDateTime;
use x509_ocsp::{CertId, OcspRequest, OcspResponse};
use zeroize::Zeroizing;

use crate::ServerError;

/// id-pkix-ocsp-nonce.
const NONCE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");

/// What the CA knew when the snapshot was taken: a responder per CA (in
/// the store's order, issuing CA last) and the state of each serial.
struct Snapshot {
    responders: Vec<Responder>,
    states: Vec<HashMap<Serial, CertificateState>>,
    generation: u64,
}

/// One pre-signed response.
struct Cached {
    der: Bytes,
    signed: Instant,
    /// Asked for since the last refresh pass.
    wanted: AtomicBool,
}

/// Pre-signed responses by CertID (DER), and their order of arrival.
#[derive(Default)]
struct Cache {
    entries: HashMap<Vec<u8>, Cached>,
    order: VecDeque<Vec<u8>>,
    generation: u64,
}

/// (modified, length) of the files a snapshot was built from.
type Stamp = Vec<Option<(SystemTime, u64)>>;

/// The responder of one CA directory, with its cache.
pub struct OcspService {
    dir: PathBuf,
    passphrase: Zeroizing<String>,
    lifetime: std::time::Duration,
    capacity: usize,
    snapshot: RwLock<Arc<Snapshot>>,
    stamp: Mutex<Stamp>,
    cache: RwLock<Cache>,
}

impl std::fmt::Debug for OcspService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspService")
            .field("dir", &self.dir)
            .field("lifetime", &self.lifetime)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// A parsed request: one the cache may answer, or one to sign afresh.
enum Question {
    /// About one certificate, without a nonce: keyed by its CertID's DER.
    Cacheable { key: Vec<u8>, id: CertId },
    /// With a nonce, or about several certificates.
    Fresh(Vec<u8>),
}

impl Question {
    fn parse(body: &[u8]) -> Option<Question> {
        let request = OcspRequest::from_der(body).ok()?;
        let nonce = request
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .any(|e| e.extn_id == NONCE);
        let mut list = request.tbs_request.request_list;
        match list.len() {
            0 => None,
            1 if !nonce => {
                let id = list.pop()?.req_cert;
                Some(Question::Cacheable {
                    key: id.to_der().ok()?,
                    id,
                })
            }
            _ => Some(Question::Fresh(body.to_vec())),
        }
    }
}

/// The DER OCSPResponse `malformedRequest` (RFC 6960 §4.2.1).
pub(crate) fn malformed() -> Bytes {
    OcspResponse::malformed_request().to_der().map_or_else(
        |_| Bytes::from_static(&[0x30, 0x03, 0x0a, 0x01, 0x01]),
        Bytes::from,
    )
}

/// The DER OCSPResponse `tryLater` (RFC 6960 §4.2.1): the responder
/// cannot answer now (its database is away).
pub(crate) fn try_later() -> Bytes {
    OcspResponse::try_later().to_der().map_or_else(
        |_| Bytes::from_static(&[0x30, 0x03, 0x0a, 0x01, 0x03]),
        Bytes::from,
    )
}

fn internal_error() -> Bytes {
    OcspResponse::internal_error().to_der().map_or_else(
        |_| Bytes::from_static(&[0x30, 0x03, 0x0a, 0x01, 0x02]),
        Bytes::from,
    )
}

fn stamp_of(dir: &Path) -> Stamp {
    ["state.json", "ocsp-signer.crt", "root.crt", "issuing.crt"]
        .iter()
        .map(|file| {
            std::fs::metadata(dir.join(file))
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
        })
        .collect()
}

fn load(dir: &Path, passphrase: &[u8], lifetime: time::Duration) -> Result<Snapshot, ServerError> {
    let store = CaStore::open(dir)?;
    let responders = store.ocsp_responders(passphrase, lifetime)?;
    let now = OffsetDateTime::now_utc();
    let mut states: Vec<HashMap<Serial, CertificateState>> =
        responders.iter().map(|_| HashMap::new()).collect();
    for record in store.issued() {
        let ca = responders
            .iter()
            .position(|(file, _)| *file == record.issuer);
        if let (Some(ca), Ok(serial)) = (ca, record.serial.parse::<Serial>()) {
            states[ca].insert(serial, record.ocsp_state(now));
        }
    }
    Ok(Snapshot {
        responders: responders.into_iter().map(|(_, r)| r).collect(),
        states,
        generation: 0,
    })
}

impl OcspService {
    /// A responder for the CA in `dir` whose answers are valid for
    /// `lifetime`, caching at most `capacity` of them.
    pub fn open(
        dir: &Path,
        passphrase: Zeroizing<String>,
        lifetime: std::time::Duration,
        capacity: usize,
    ) -> Result<OcspService, ServerError> {
        let stamp = stamp_of(dir);
        let snapshot = load(dir, passphrase.as_bytes(), span(lifetime))?;
        Ok(OcspService {
            dir: dir.to_owned(),
            passphrase,
            lifetime,
            capacity,
            snapshot: RwLock::new(Arc::new(snapshot)),
            stamp: Mutex::new(stamp),
            cache: RwLock::new(Cache::default()),
        })
    }

    /// Rebuilds the snapshot when the CA's files changed since it was
    /// taken, emptying the cache; blocking (it reads the CA's records).
    pub fn refresh(&self) -> Result<(), ServerError> {
        let mut last = self
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *last == stamp_of(&self.dir) {
            return Ok(());
        }
        self.reload_locked(&mut last)
    }

    /// Rebuilds the snapshot now and empties the cache; blocking. The
    /// server calls it after a revocation, before it answers.
    pub fn reload(&self) -> Result<(), ServerError> {
        let mut last = self
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.reload_locked(&mut last)
    }

    /// Holding the stamp's lock, so reloads happen one at a time and the
    /// last one reads the newest records.
    fn reload_locked(&self, last: &mut Stamp) -> Result<(), ServerError> {
        let stamp = stamp_of(&self.dir);
        let mut snapshot = load(&self.dir, self.passphrase.as_bytes(), span(self.lifetime))?;
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.generation = cache.generation.wrapping_add(1);
        cache.entries.clear();
        cache.order.clear();
        snapshot.generation = cache.generation;
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(snapshot);
        *last = stamp;
        Ok(())
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(
            &self
                .snapshot
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Answers the body of an OCSP request with a DER OCSPResponse.
    pub async fn answer(self: &Arc<Self>, body: &[u8]) -> Bytes {
        let Some(question) = Question::parse(body) else {
            return malformed();
        };
        if let Question::Cacheable { key, .. } = &question
            && let Some(hit) = self.cached(key)
        {
            return hit;
        }
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.sign_and_keep(question))
            .await
            .unwrap_or_else(|_| internal_error())
    }

    /// A cached response young enough to hand out.
    fn cached(&self, key: &[u8]) -> Option<Bytes> {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = cache.entries.get(key)?;
        if entry.signed.elapsed() >= self.lifetime / 2 {
            return None;
        }
        entry.wanted.store(true, Ordering::Relaxed);
        Some(entry.der.clone())
    }

    fn sign_and_keep(&self, question: Question) -> Bytes {
        let snapshot = self.snapshot();
        match question {
            Question::Fresh(request) => Bytes::from(sign(&snapshot, &request).0),
            Question::Cacheable { key, id } => {
                // Signed for a canonical request holding only the CertID,
                // which the refresh pass can sign again.
                let Some(request) = canonical(id) else {
                    return internal_error();
                };
                let (der, known) = sign(&snapshot, &request);
                let der = Bytes::from(der);
                // Only certificates the CA issued are cached: serials made
                // up by a client cannot push real answers out.
                if known {
                    self.keep(key, der.clone(), snapshot.generation, true);
                }
                der
            }
        }
    }

    fn keep(&self, key: Vec<u8>, der: Bytes, generation: u64, wanted: bool) {
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Signed from a snapshot that has since been replaced: not kept.
        if cache.generation != generation {
            return;
        }
        let entry = Cached {
            der,
            signed: Instant::now(),
            wanted: AtomicBool::new(wanted),
        };
        if cache.entries.insert(key.clone(), entry).is_none() {
            cache.order.push_back(key);
        }
        while cache.entries.len() > self.capacity {
            let Some(oldest) = cache.order.pop_front() else {
                break;
            };
            cache.entries.remove(&oldest);
        }
    }

    /// One refresh pass: signs again the entries past half their lifetime
    /// that were asked for since the last pass, and drops the others;
    /// blocking. Returns how many were signed.
    pub fn refresh_cache(&self) -> usize {
        let due: Vec<(Vec<u8>, bool)> = {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .entries
                .iter()
                .filter(|(_, e)| e.signed.elapsed() >= self.lifetime / 2)
                .map(|(k, e)| (k.clone(), e.wanted.swap(false, Ordering::Relaxed)))
                .collect()
        };
        let snapshot = self.snapshot();
        let mut signed = 0;
        for (key, wanted) in due {
            if !wanted {
                self.forget(&key);
                continue;
            }
            let Ok(id) = CertId::from_der(&key) else {
                continue;
            };
            let Some(request) = canonical(id) else {
                continue;
            };
            let der = Bytes::from(sign(&snapshot, &request).0);
            self.keep(key, der, snapshot.generation, false);
            signed += 1;
        }
        signed
    }

    fn forget(&self, key: &[u8]) {
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.entries.remove(key).is_some() {
            cache.order.retain(|k| k != key);
        }
    }

    /// How many responses are cached.
    pub fn cached_count(&self) -> usize {
        self.cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entries
            .len()
    }

    /// How often [`OcspService::refresh_cache`] should run: a quarter of
    /// the lifetime, between one second and a minute.
    pub fn refresh_every(&self) -> std::time::Duration {
        (self.lifetime / 4).clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        )
    }
}

fn canonical(id: CertId) -> Option<Vec<u8>> {
    pkilab_verify::ocsp_request::single(id).to_der().ok()
}

/// Signs the answer to `request` as the CA it names (the issuing CA, which
/// says "unknown", when it names none of ours); and whether the CA knew
/// the certificate asked about.
fn sign(snapshot: &Snapshot, request: &[u8]) -> (Vec<u8>, bool) {
    let Some(last) = snapshot.responders.len().checked_sub(1) else {
        return (internal_error().to_vec(), false);
    };
    let named = snapshot.responders.iter().rposition(|r| r.answers(request));
    let ca = named.unwrap_or(last);
    let known = std::cell::Cell::new(false);
    let lookup = |serial: &Serial| match snapshot.states[ca].get(serial) {
        Some(state) => {
            known.set(named.is_some());
            *state
        }
        None => CertificateState::Unknown,
    };
    let der = snapshot.responders[ca].respond(request, OffsetDateTime::now_utc(), &lookup);
    (der, known.get())
}

fn span(lifetime: std::time::Duration) -> time::Duration {
    time::Duration::try_from(lifetime).unwrap_or(time::Duration::HOUR)
}

#[cfg(test)]
#[path = "ocsp_tests.rs"]
mod tests;
