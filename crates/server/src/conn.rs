//! One client connection: caps on how many a source address and everyone
//! together may hold, the TLS handshake deadline, HTTP/1.1 with header
//! and idle deadlines, and a client certificate that stays checked: when
//! the CRLs change (or every [`RECHECK_EVERY`]), the connection's
//! certificate is validated again and the connection closed if it no
//! longer passes, so a revoked certificate cannot keep a keep-alive
//! connection open.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use pkilab_verify::Verdict;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::Caller;
use crate::config::Config;
use crate::idle::Idle;
use crate::tls::CaView;

/// The largest request line and headers read, bytes (hyper's floor is
/// 8 KiB); a longer head is refused before any handler runs.
const MAX_HEAD: usize = 16 * 1024;

/// How often the CRL file is looked at for a new CRL.
pub const CRL_POLL: Duration = Duration::from_secs(1);

/// How often an open connection's certificate is validated again even
/// without a CRL change (it may expire).
pub const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// Connection slots: in total and per source address.
#[derive(Debug)]
pub(crate) struct Slots {
    total: Arc<Semaphore>,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    per_address_max: usize,
}

/// A held slot, given back when dropped.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    address: IpAddr,
    _total: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .slots
            .per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl Slots {
    pub(crate) fn new(total: usize, per_address: usize) -> Arc<Slots> {
        Arc::new(Slots {
            total: Arc::new(Semaphore::new(total)),
            per_address: Mutex::new(HashMap::new()),
            per_address_max: per_address,
        })
    }

    /// A slot for a connection from `address`, if one is free.
    pub(crate) fn take(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let total = Arc::clone(&self.total).try_acquire_owned().ok()?;
        let mut counts = self
            .per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(address).or_insert(0);
        if *n >= self.per_address_max {
            return None;
        }
        *n += 1;
        Some(Slot {
            slots: Arc::clone(self),
            address,
            _total: total,
        })
    }
}

/// What every connection shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) router: Router,
    pub(crate) config: Config,
    pub(crate) ca: Arc<CaView>,
}

/// Serves one accepted connection to its end.
pub(crate) async fn serve(shared: Shared, tcp: TcpStream, addr: SocketAddr, _slot: Slot) {
    let _ = tcp.set_nodelay(true);
    let tls =
        match tokio::time::timeout(shared.config.handshake_timeout, shared.acceptor.accept(tcp))
            .await
        {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return tracing::info!("{addr}: TLS handshake refused: {e}"),
            Err(_) => return tracing::info!("{addr}: TLS handshake timed out"),
        };
    let chain: Option<(Vec<u8>, Vec<Vec<u8>>)> = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.split_first())
        .map(|(leaf, rest)| (leaf.to_vec(), rest.iter().map(|c| c.to_vec()).collect()));
    let identity = chain
        .as_ref()
        .and_then(|(leaf, _)| crate::serve::common_name(leaf));
    let caller = Caller { identity, addr };
    let service = shared
        .router
        .clone()
        .map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(caller.clone());
            request
        });
    let io = TokioIo::new(Idle::new(tls, shared.config.idle_timeout));
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .max_buf_size(MAX_HEAD)
        .header_read_timeout(shared.config.header_timeout)
        .serve_connection(io, TowerToHyperService::new(service));
    tokio::pin!(connection);
    let mut crl_changes = shared.ca.subscribe();
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.tick().await;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("{addr}: {e}");
                }
                return;
            }
            _ = crl_changes.changed(), if chain.is_some() => {}
            _ = recheck.tick(), if chain.is_some() => {}
        }
        if let Some((leaf, presented)) = &chain
            && !matches!(
                shared.ca.check_client(leaf, presented),
                Verdict::Valid { .. }
            )
        {
            // Any verdict but Valid closes the connection, including ones
            // added to the validator later.
            return tracing::info!(
                "{addr}: closing the connection: its client certificate no longer validates"
            );
        }
    }
}
