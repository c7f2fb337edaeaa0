//! Worked example: an axum app behind the kit's mutual-TLS configuration,
//! served on a loopback port with tokio-rustls. The handler greets the
//! identity the handshake verified; a revoked client and a client without a
//! certificate never reach it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router, routing::get};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use pkilab_testkit::{Pki, RevocationReason};
use rustls::pki_types::ServerName;
use rustls::{AlertDescription, CertificateError, ClientConfig, Error};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tower::ServiceExt;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Every network step is bounded, so a broken handshake fails the test
/// instead of hanging it.
const BOUND: Duration = Duration::from_secs(10);

/// The subject common name of the certificate the client proved it holds.
#[derive(Clone, Debug)]
struct Identity(String);

async fn hello(Extension(Identity(name)): Extension<Identity>) -> String {
    format!("hello {name}")
}

fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
    Some(cn.to_owned())
}

/// A running app: its address, the TLS errors its accept loop met, and the
/// task to stop at the end.
struct App {
    addr: SocketAddr,
    refusals: mpsc::Receiver<rustls::Error>,
    task: tokio::task::JoinHandle<()>,
}

/// Serves `Router` on 127.0.0.1 behind `acceptor`, one task per connection.
async fn serve(acceptor: TlsAcceptor) -> App {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let (report, refusals) = mpsc::channel(16);
    let app = Router::new().route("/hello", get(hello));
    let task = tokio::spawn(async move {
        loop {
            // A listener that fails to accept ends the app; the client's
            // connect then fails and says so.
            let Ok((tcp, _)) = listener.accept().await else {
                break;
            };
            let (acceptor, app, report) = (acceptor.clone(), app.clone(), report.clone());
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).await {
                    Ok(tls) => tls,
                    Err(e) => {
                        if let Some(e) = rustls_error(&e) {
                            let _ = report.try_send(e);
                        }
                        return;
                    }
                };
                let identity = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .and_then(|leaf| common_name(leaf));
                let Some(identity) = identity else { return };
                let app = app.map_request(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(Identity(identity.clone()));
                    request
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    App {
        addr,
        refusals,
        task,
    }
}

/// The rustls error inside an I/O error, or anywhere in an error's chain
/// (`io::Error::source` skips the error it wraps, so look inside each).
fn rustls_error(error: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(inner.clone());
        }
        next = error.source();
    }
    None
}

/// `GET /hello` over a fresh connection: the status and body, or the TLS
/// error that ended the connection.
async fn get_hello(config: Arc<ClientConfig>, addr: SocketAddr) -> Result<(u16, String), Error> {
    let exchange = async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::IpAddress(addr.ip().into());
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| rustls_error(&e).expect("a TLS error"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| rustls_error(&e).expect("a TLS error"))?;
        let connection = tokio::spawn(connection);
        let request = hyper::Request::get("/hello")
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .expect("request");
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(e) => {
                // The connection task holds the error that closed it.
                let closed = connection.await.expect("connection task");
                let cause = closed.err().and_then(|c| rustls_error(&c));
                return Err(cause
                    .or_else(|| rustls_error(&e))
                    .expect("the request failed on a TLS error"));
            }
        };
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.expect("body");
        Ok((
            status,
            String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        ))
    };
    tokio::time::timeout(BOUND, exchange)
        .await
        .expect("the exchange finishes within the bound")
}

#[tokio::test]
async fn the_app_greets_a_good_client_and_never_sees_a_revoked_or_anonymous_one() {
    let mut pki = Pki::builder()
        .intermediate("Example Issuing CA")
        .build()
        .expect("PKI");
    let server = pki
        .server("localhost")
        .ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .issue()
        .expect("server leaf");
    let alice = pki.client("alice").issue().expect("client leaf");
    let mallory = pki.client("mallory").issue().expect("client leaf");
    pki.revoke(&mallory, RevocationReason::KeyCompromise)
        .expect("revoke");
    let acceptor = TlsAcceptor::from(pki.server_config(&server).expect("server config"));
    let mut app = serve(acceptor).await;

    let greeted = get_hello(pki.client_config(&alice).expect("config"), app.addr).await;
    assert_eq!(greeted, Ok((200, "hello alice".to_owned())));

    let revoked = get_hello(pki.client_config(&mallory).expect("config"), app.addr).await;
    assert_eq!(
        revoked,
        Err(Error::AlertReceived(AlertDescription::CertificateRevoked))
    );
    let seen = tokio::time::timeout(BOUND, app.refusals.recv())
        .await
        .expect("the server reports its refusal within the bound");
    assert_eq!(
        seen,
        Some(Error::InvalidCertificate(CertificateError::Revoked))
    );

    let anonymous = get_hello(pki.anonymous_client_config().expect("config"), app.addr).await;
    assert_eq!(
        anonymous,
        Err(Error::AlertReceived(AlertDescription::CertificateRequired))
    );
    let seen = tokio::time::timeout(BOUND, app.refusals.recv())
        .await
        .expect("the server reports its refusal within the bound");
    assert_eq!(seen, Some(Error::NoCertificatesPresented));

    app.task.abort();
}
