//! rustls configurations for the kit's PKI, on the aws-lc-rs provider and
//! the kit's clock, and a TLS handshake in memory.

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig};
use rustls::{ServerConnection, pki_types::ServerName};

use crate::error::Result;
use crate::leaf::Leaf;
use crate::pki::Pki;

/// The aws-lc-rs crypto provider, named explicitly: rustls panics when it
/// must pick a default and more than one provider is compiled in.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Most flights a handshake may take before [`handshake`] gives up (TLS 1.3
/// needs three, TLS 1.2 four, plus alerts and tickets).
const MAX_FLIGHTS: usize = 16;

impl Pki {
    /// A root store holding the PKI's root alone.
    pub fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.root_cert())
            .expect("the kit's own root is a valid trust anchor");
        roots
    }

    /// rustls's `WebPkiClientVerifier` for this PKI: client certificates
    /// must chain to the root and are checked against the current
    /// [`crls`](Pki::crls) (every certificate of the chain, an unknown
    /// status refused). Revocations made later need a new verifier.
    pub fn client_verifier(&self) -> Result<Arc<dyn ClientCertVerifier>> {
        Ok(
            WebPkiClientVerifier::builder_with_provider(Arc::new(self.root_store()), provider())
                .with_crls(self.crls()?)
                .build()?,
        )
    }

    /// A server configuration presenting `leaf`, requiring a client
    /// certificate from this PKI (see [`client_verifier`](Pki::client_verifier)),
    /// reading the time from the PKI's clock. Session resumption is off, so
    /// every connection meets the CRLs.
    pub fn server_config(&self, leaf: &Leaf) -> Result<Arc<ServerConfig>> {
        let mut config =
            ServerConfig::builder_with_details(provider(), Arc::new(self.clock().clone()))
                .with_safe_default_protocol_versions()?
                .with_client_cert_verifier(self.client_verifier()?)
                .with_single_cert(leaf.chain(), leaf.key())?;
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }

    /// A client configuration presenting `leaf`, trusting this PKI's root
    /// and checking the server's chain against the current CRLs, reading the
    /// time from the PKI's clock.
    pub fn client_config(&self, leaf: &Leaf) -> Result<Arc<ClientConfig>> {
        Ok(Arc::new(
            self.client_builder()?
                .with_client_auth_cert(leaf.chain(), leaf.key())?,
        ))
    }

    /// As [`client_config`](Pki::client_config), presenting no certificate.
    pub fn anonymous_client_config(&self) -> Result<Arc<ClientConfig>> {
        Ok(Arc::new(self.client_builder()?.with_no_client_auth()))
    }

    fn client_builder(
        &self,
    ) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>> {
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(self.root_store()), provider())
                .with_crls(self.crls()?)
                .build()?;
        Ok(
            ClientConfig::builder_with_details(provider(), Arc::new(self.clock().clone()))
                .with_safe_default_protocol_versions()?
                .with_webpki_verifier(verifier),
        )
    }
}

/// Both ends of a completed handshake, ready to exchange data.
#[derive(Debug)]
pub struct Established {
    /// The client's end.
    pub client: ClientConnection,
    /// The server's end.
    pub server: ServerConnection,
}

/// A handshake that failed, with what each side saw: the side that refused
/// has the reason (`InvalidCertificate(Revoked)`), the other the alert it
/// was sent (`AlertReceived(CertificateRevoked)`).
#[derive(Debug)]
pub struct Refused {
    /// The client's error, if it had one.
    pub client: Option<rustls::Error>,
    /// The server's error, if it had one.
    pub server: Option<rustls::Error>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |e: &Option<rustls::Error>| e.as_ref().map_or("none".into(), |e| e.to_string());
        write!(
            f,
            "TLS handshake refused (client: {}; server: {})",
            side(&self.client),
            side(&self.server)
        )
    }
}

impl std::error::Error for Refused {}

/// Runs a real TLS handshake between a client and a server configuration
/// in memory, passing each flight (and any alert) across, and says how it
/// ended. `server_name` is what the client asks for (a DNS name or an IP
/// address); one that is neither is a client error.
pub fn handshake(
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    server_name: &str,
) -> Result<Established, Box<Refused>> {
    let refused = |client, server| Box::new(Refused { client, server });
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| {
        let error = rustls::Error::General(format!("server name {server_name:?}: {e}"));
        refused(Some(error), None)
    })?;
    let mut client =
        Connection::from(ClientConnection::new(client, name).map_err(|e| refused(Some(e), None))?);
    let mut server =
        Connection::from(ServerConnection::new(server).map_err(|e| refused(None, Some(e)))?);
    let (mut client_error, mut server_error) = (None, None);
    for _ in 0..MAX_FLIGHTS {
        let sent = transfer(&mut client, &mut server, &mut server_error);
        let answered = transfer(&mut server, &mut client, &mut client_error);
        if !sent && !answered {
            break;
        }
    }
    let unfinished = client.is_handshaking() || server.is_handshaking();
    if client_error.is_none() && server_error.is_none() && unfinished {
        client_error = Some(rustls::Error::General(format!(
            "the handshake did not finish within {MAX_FLIGHTS} flights"
        )));
    }
    match (client, server, client_error, server_error) {
        (Connection::Client(client), Connection::Server(server), None, None) => {
            Ok(Established { client, server })
        }
        (_, _, client, server) => Err(refused(client, server)),
    }
}

/// Moves what `from` has to send into `to`; the first error `to` meets is
/// kept. Says whether anything moved.
fn transfer(
    from: &mut Connection,
    to: &mut Connection,
    to_error: &mut Option<rustls::Error>,
) -> bool {
    let mut bytes = Vec::new();
    while from.wants_write() {
        match from.write_tls(&mut bytes) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if bytes.is_empty() {
        return false;
    }
    let mut unread = &bytes[..];
    while !unread.is_empty() && to_error.is_none() {
        match to.read_tls(&mut unread) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if let Err(e) = to.process_new_packets() {
            *to_error = Some(e);
        }
    }
    true
}
