//! Binding and serving: the TLS acceptor with our client verifier, a
//! handshake deadline, an idle deadline, and HTTP/1.1 with keep-alive.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pkilab_ca::CaDb;
use pkilab_ca::store::CaStore;
use pkilab_kms::Kms;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use x509_parser::prelude::{FromDer, X509Certificate};
use zeroize::Zeroizing;

use crate::ServerError;
use crate::api::{AppState, router};
use crate::config::Config;
use crate::limits::Limiter;
use crate::shared_limits::SharedBuckets;
use crate::tls::{CaView, ClientVerifier, server_identity};

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    shared: crate::conn::Shared,
    slots: Arc<crate::conn::Slots>,
    state: Arc<AppState>,
    config: Config,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Opens the CA in `ca_dir` (issuing the server certificate and a first CRL
/// when missing), the key store `db` (created when missing, with Argon2id at
/// `kdf_kib`), both under `passphrase`, and binds `listen`.
pub async fn bind(
    ca_dir: &Path,
    db: &str,
    listen: SocketAddr,
    config: Config,
    passphrase: Zeroizing<String>,
    kdf_kib: u32,
) -> Result<Server, ServerError> {
    let kms_passphrase = passphrase.clone();
    bind_with(
        ca_dir,
        db,
        listen,
        config,
        (passphrase, kms_passphrase),
        kdf_kib,
    )
    .await
}

/// [`bind`] with one passphrase for the CA and another for the key store
/// (after `pkilab kms passphrase` changed only the latter).
pub async fn bind_with(
    ca_dir: &Path,
    db: &str,
    listen: SocketAddr,
    config: Config,
    passphrases: (Zeroizing<String>, Zeroizing<String>),
    kdf_kib: u32,
) -> Result<Server, ServerError> {
    bind_ca(
        CaSource::Directory(ca_dir),
        db,
        listen,
        config,
        passphrases,
        kdf_kib,
    )
    .await
}

/// Where a server finds its CA.
#[derive(Clone, Copy, Debug)]
pub enum CaSource<'a> {
    /// A CA directory, this server's alone (it is locked per operation).
    Directory(&'a Path),
    /// The database that holds the key store too (`pkilab ca init --db`),
    /// which any number of servers share.
    Database,
}

/// Opens the CA from `source` and the key store `db` and binds `listen`:
/// [`bind_with`], or, with [`CaSource::Database`], a stateless server
/// whose CA and key store are both in `db`.
pub async fn bind_ca(
    source: CaSource<'_>,
    db: &str,
    listen: SocketAddr,
    config: Config,
    (passphrase, kms_passphrase): (Zeroizing<String>, Zeroizing<String>),
    kdf_kib: u32,
) -> Result<Server, ServerError> {
    let (ca, (chain, key)) = match source {
        CaSource::Directory(ca_dir) => {
            if !ca_dir.join("crl.pem").exists() {
                let mut store = CaStore::open(ca_dir)?;
                store.publish_crl(
                    passphrase.as_bytes(),
                    OffsetDateTime::now_utc(),
                    Duration::hours(168),
                )?;
            }
            let ca = Arc::new(CaView::open(ca_dir)?);
            let identity = server_identity(ca_dir, &config.server_name, passphrase.as_bytes())?;
            (ca, identity)
        }
        CaSource::Database => open_ca_db(db, &config, passphrase.as_bytes()).await?,
    };
    let is_sqlite_file = !pkilab_ca::sql::is_postgres(db);
    let kms = if is_sqlite_file && !Path::new(db.trim_start_matches("sqlite://")).exists() {
        Kms::init(db, kms_passphrase.as_bytes(), kdf_kib).await?
    } else {
        Kms::open(db, kms_passphrase.as_bytes()).await?
    };
    kms.set_admins(config.admins.iter().cloned());
    let shared_buckets = if is_sqlite_file {
        None
    } else {
        Some(
            SharedBuckets::connect(db, config.rate_limit)
                .await
                .map_err(ServerError::Setup)?,
        )
    };
    let log = Arc::new(match source {
        CaSource::Directory(dir) => crate::log_api::LogView::new(dir),
        CaSource::Database => crate::log_api::LogView::absent(),
    });
    if config.require_logged {
        if matches!(source, CaSource::Database) {
            return Err(ServerError::Setup(
                "require-logged: a CA in a database keeps no transparency log; serve a CA directory".into(),
            ));
        }
        ca.require_logged(Arc::clone(&log));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(ClientVerifier::new(Arc::clone(&ca), &provider));
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Setup(format!("TLS: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| ServerError::Setup(format!("server certificate: {e}")))?;
    // No resumption: every connection presents and is checked against the
    // CRL in force, so a revocation applies to the next connection.
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| ServerError::Setup(format!("cannot listen on {listen}: {e}")))?;
    let (ocsp, publication) = match source {
        CaSource::Directory(ca_dir) => (
            Some(Arc::new(crate::ocsp::OcspService::open(
                ca_dir,
                passphrase.clone(),
                config.ocsp_lifetime,
                config.ocsp_cache,
            )?)),
            CaStore::open(ca_dir)?.publication().cloned(),
        ),
        CaSource::Database => (None, ca.database().and_then(|db| db.publication().cloned())),
    };
    let published_at = publication
        .map(|p| crate::published::base_path(&p.url))
        .unwrap_or_default();
    let state = Arc::new(AppState {
        kms,
        ca: Arc::clone(&ca),
        passphrase,
        admins: config.admins.clone(),
        request_timeout: config.request_timeout,
        cert_quota: config.cert_quota,
        limiter: Limiter::new(config.rate_limit),
        counts: Default::default(),
        log: Arc::clone(&log),
        ocsp,
        totp_exempt: config.totp_exempt.clone(),
        ocsp_lifetime: config.ocsp_lifetime,
        shared_buckets,
    });
    Ok(Server {
        listener,
        shared: crate::conn::Shared {
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            router: router(Arc::clone(&state), config.body_limit, &published_at),
            config: config.clone(),
            ca,
        },
        slots: crate::conn::Slots::new(config.max_connections, config.max_connections_per_address),
        state,
        config,
    })
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The CA in the database `db`, its keys unlocked, a first CRL published
/// when none is, and the TLS identity all servers of this name share.
async fn open_ca_db(
    db: &str,
    config: &Config,
    passphrase: &[u8],
) -> Result<(Arc<CaView>, Identity), ServerError> {
    let store = Arc::new(CaDb::open(db).await?);
    let now = OffsetDateTime::now_utc();
    if store.current_crls().await?.is_empty() {
        store
            .publish_crl(passphrase, now, Duration::hours(168))
            .await?;
    }
    let (chain_pem, key_pem) = store
        .server_identity(
            &config.server_name,
            passphrase,
            now,
            pkilab_ca::encrypted_key::DEFAULT_ITERATIONS,
        )
        .await?;
    let chain = pkilab_verify::pem_input::blocks(chain_pem.as_bytes(), "CERTIFICATE")
        .map_err(|e| ServerError::Setup(format!("stored server certificate: {e}")))?;
    let pkcs8 = pkilab_ca::encrypted_key::decrypt_pkcs8(key_pem.as_bytes(), passphrase)?;
    let key = PrivateKeyDer::try_from(pkcs8.to_vec())
        .map_err(|e| ServerError::Setup(format!("stored server key: {e}")))?;
    let view = Arc::new(CaView::open_db(store).await?);
    Ok((
        view,
        (chain.into_iter().map(CertificateDer::from).collect(), key),
    ))
}

/// The identity a certificate proves: its one CN. A subject with several
/// CNs names no identity (which one would it be?), so the connection is
/// treated as anonymous.
pub(crate) fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names = cert.subject().iter_common_name();
    let cn = names.next()?.as_str().ok()?.to_owned();
    if names.next().is_some() {
        return None;
    }
    Some(cn)
}

impl Server {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.listener
            .local_addr()
            .map_err(|e| ServerError::Setup(e.to_string()))
    }

    /// Serves until SIGINT or SIGTERM; holds a lease on the key store
    /// meanwhile (see `pkilab_kms::LEASE_FOR`), released on the way out.
    pub async fn run(self) -> Result<(), ServerError> {
        let holder = format!(
            "pkilab serve on {} (pid {})",
            self.local_addr()?,
            std::process::id()
        );
        self.state.kms.hold_lease(&holder).await?;
        let renewer = Arc::clone(&self.state);
        let renewed_as = holder.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(pkilab_kms::LEASE_FOR / 3);
            loop {
                tick.tick().await;
                if let Err(e) = renewer.kms.hold_lease(&renewed_as).await {
                    tracing::error!("key store lease: {e}");
                }
            }
        });
        let result = self.serve().await;
        if let Err(e) = self.state.kms.release_lease(&holder).await {
            tracing::warn!("key store lease not released (it lapses by itself): {e}");
        }
        self.state.audit_counts().await?;
        result
    }

    async fn serve(&self) -> Result<(), ServerError> {
        let summariser = Arc::clone(&self.state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::api::SUMMARY_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = summariser.audit_counts().await {
                    tracing::error!("audit summary: {e}");
                }
            }
        });
        let watcher = Arc::clone(&self.shared.ca);
        let ocsp = self.state.ocsp.clone();
        tokio::spawn(async move {
            // Open connections re-check their certificates when this
            // notices a new CRL (published by any server sharing the
            // database), and the OCSP responder of a CA directory reloads
            // its records when they change: a revocation made beside the
            // server reaches both within a second.
            let mut tick = tokio::time::interval(crate::conn::CRL_POLL);
            loop {
                tick.tick().await;
                if let Err(e) = watcher.refresh_from_db().await {
                    tracing::warn!("keeping the previous CRLs: {e}");
                }
                let Some(ocsp) = ocsp.clone() else {
                    continue;
                };
                match tokio::task::spawn_blocking(move || ocsp.refresh()).await {
                    Ok(Err(e)) => tracing::warn!("OCSP keeps the previous records: {e}"),
                    Err(e) => tracing::warn!("OCSP reload: {e}"),
                    Ok(Ok(())) => {}
                }
            }
        });
        if let Some(refresher) = self.state.ocsp.clone() {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(refresher.refresh_every());
                loop {
                    tick.tick().await;
                    let pass = Arc::clone(&refresher);
                    if let Ok(signed) =
                        tokio::task::spawn_blocking(move || pass.refresh_cache()).await
                        && signed > 0
                    {
                        tracing::debug!("OCSP: {signed} cached responses signed again");
                    }
                }
            });
        }
        if let Some(buckets) = self.state.shared_buckets.clone() {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
                loop {
                    tick.tick().await;
                    if let Err(e) = buckets.forget_idle().await {
                        tracing::debug!("idle rate-limit buckets not pruned: {e}");
                    }
                }
            });
        }
        let stop = stop_signal();
        tokio::pin!(stop);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut stop => return Ok(()),
            };
            let (tcp, addr) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(slot) = self.slots.take(addr.ip()) else {
                tracing::info!("{addr}: connection refused: too many connections");
                drop(tcp);
                continue;
            };
            tokio::spawn(crate::conn::serve(self.shared.clone(), tcp, addr, slot));
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
