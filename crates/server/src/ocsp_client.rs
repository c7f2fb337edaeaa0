//! The client side of OCSP over HTTP (RFC 6960 appendix A): POST a DER
//! request to the responder a certificate names, over http or https
//! (rustls with aws-lc-rs; the system's trust store or given anchors for
//! the responder's TLS), within a deadline, reading at most
//! [`MAX_RESPONSE`] bytes.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The largest response read, bytes; OCSP responses are a few kilobytes.
pub const MAX_RESPONSE: usize = 1 << 20;

/// Where the system keeps its trust store: `SSL_CERT_FILE`, else the first
/// of these that exists (Debian/Ubuntu, Fedora/RHEL, Alpine/macOS, SUSE).
const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// Why no answer came back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not one this client can use.
    #[error("unusable responder URL '{0}': give an http:// or https:// URL")]
    Url(String),
    /// No trust anchor for the responder's TLS.
    #[error("{0}")]
    Trust(String),
    /// The responder could not be reached or broke off.
    #[error("{0}")]
    Unreachable(String),
    /// No answer within the deadline.
    #[error("no answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// An answer that is not an OCSP response.
    #[error("{0}")]
    BadAnswer(String),
}

/// An OCSP client: the TLS trust for https responders and a deadline.
#[derive(Clone, Debug)]
pub struct OcspClient {
    tls: Option<Arc<rustls::ClientConfig>>,
    trust_problem: Option<String>,
    timeout: Duration,
}

/// The system's trust anchors, as DER, or why there are none.
fn system_anchors() -> Result<Vec<Vec<u8>>, String> {
    let configured = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let path = configured
        .or_else(|| {
            SYSTEM_BUNDLES
                .iter()
                .map(std::path::PathBuf::from)
                .find(|p| p.exists())
        })
        .ok_or("no system trust store found: give the responder's CA with --ocsp-ca FILE")?;
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let blocks = pem::parse_many(text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect())
}

impl OcspClient {
    /// A client trusting `anchors` (DER certificates) for https responders,
    /// or the system's trust store when `None`, giving each exchange
    /// `timeout`.
    pub fn new(anchors: Option<Vec<Vec<u8>>>, timeout: Duration) -> OcspClient {
        let anchors = match anchors {
            Some(given) => Ok(given),
            None => system_anchors(),
        };
        let (tls, trust_problem) = match anchors.and_then(tls_config) {
            Ok(config) => (Some(Arc::new(config)), None),
            Err(problem) => (None, Some(problem)),
        };
        OcspClient {
            tls,
            trust_problem,
            timeout,
        }
    }

    /// POSTs the DER OCSPRequest `request` to `url` and returns the body
    /// of a 200 answer.
    pub async fn fetch(&self, url: &str, request: &[u8]) -> Result<Vec<u8>, FetchError> {
        match tokio::time::timeout(self.timeout, self.exchange(url, request)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn exchange(&self, url: &str, request: &[u8]) -> Result<Vec<u8>, FetchError> {
        let uri: hyper::Uri = url.parse().map_err(|_| FetchError::Url(url.to_owned()))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(FetchError::Url(url.to_owned())),
        };
        let host = uri
            .host()
            .ok_or_else(|| FetchError::Url(url.to_owned()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let unreachable = |e: &dyn std::fmt::Display| {
            FetchError::Unreachable(format!("cannot reach {host}:{port}: {e}"))
        };
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| unreachable(&e))?;
        let _ = tcp.set_nodelay(true);
        let post = Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(
                hyper::header::HOST,
                uri.authority().map_or("", |a| a.as_str()),
            )
            .header(hyper::header::CONTENT_TYPE, "application/ocsp-request")
            .header(hyper::header::ACCEPT, "application/ocsp-response")
            .body(Full::new(Bytes::copy_from_slice(request)))
            .map_err(|e| FetchError::Url(format!("{url}: {e}")))?;
        if !https {
            return send(tcp, post).await;
        }
        let tls = self
            .tls
            .clone()
            .ok_or_else(|| FetchError::Trust(self.trust_problem.clone().unwrap_or_default()))?;
        let name =
            ServerName::try_from(host.clone()).map_err(|_| FetchError::Url(url.to_owned()))?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| FetchError::Unreachable(format!("TLS with {host}:{port} failed: {e}")))?;
        send(stream, post).await
    }
}

fn tls_config(anchors: Vec<Vec<u8>>) -> Result<rustls::ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(anchors.into_iter().map(CertificateDer::from));
    if added == 0 {
        return Err("no usable trust anchor for the responder's TLS".into());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

async fn send<S>(stream: S, request: Request<Full<Bytes>>) -> Result<Vec<u8>, FetchError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let broke = |e: hyper::Error| FetchError::Unreachable(format!("HTTP exchange failed: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(broke)?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(broke)?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .map_err(|e| FetchError::BadAnswer(format!("reading the answer: {e}")))?
        .to_bytes();
    if !status.is_success() {
        return Err(FetchError::BadAnswer(format!(
            "the responder answered HTTP {status}"
        )));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_unreachable_and_a_bad_url_is_named() {
        let client = OcspClient::new(Some(Vec::new()), Duration::from_secs(5));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let refused = client
            .fetch(&format!("http://127.0.0.1:{port}/ocsp"), b"x")
            .await
            .expect_err("nothing listens");
        assert!(matches!(refused, FetchError::Unreachable(_)), "{refused}");
        let url = client
            .fetch("ldap://ca.example/ocsp", b"x")
            .await
            .expect_err("not http");
        assert!(matches!(url, FetchError::Url(_)), "{url}");
        let untrusted = client
            .fetch(&format!("https://127.0.0.1:{port}/ocsp"), b"x")
            .await
            .expect_err("no anchors");
        assert!(
            matches!(untrusted, FetchError::Unreachable(_) | FetchError::Trust(_)),
            "{untrusted}"
        );
    }
}
