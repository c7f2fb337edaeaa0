//! The server's configuration file (YAML), every field optional.
//!
//! ```yaml
//! admins: [admin]            # certificate CNs with the admin role
//! rate-limit: { per-second: 200, burst: 400 }   # token bucket per client
//! body-limit: 65536          # bytes; larger bodies get 413
//! idle-timeout: 30s          # a connection silent this long is closed
//! handshake-timeout: 10s     # a TLS handshake must finish within this
//! header-timeout: 10s        # a request's line and headers must arrive within this
//! request-timeout: 30s       # a request, its body included, must be answered within this
//! max-connections: 512       # open connections in total; more are closed at once
//! max-connections-per-address: 32   # open connections from one source address
//! cert-quota: 5              # live certificates a client may hold through POST /v1/certs
//! server-name: localhost     # dNSName of the server certificate issued on first start
//! ocsp-lifetime: 1h          # an OCSP response is valid this long (nextUpdate); re-signed at half of it
//! ocsp-cache: 10000          # pre-signed OCSP responses kept, one per certificate asked about
//! totp-exempt: [ra]          # identities never asked for a TOTP code (automation)
//! require-logged: false     # refuse client certificates missing from the CA's transparency log
//! ```

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// Token bucket parameters.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size.
    pub burst: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigDoc {
    admins: Option<Vec<String>>,
    rate_limit: Option<RateLimit>,
    body_limit: Option<usize>,
    idle_timeout: Option<String>,
    handshake_timeout: Option<String>,
    header_timeout: Option<String>,
    request_timeout: Option<String>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    cert_quota: Option<usize>,
    server_name: Option<String>,
    ocsp_lifetime: Option<String>,
    ocsp_cache: Option<usize>,
    totp_exempt: Option<Vec<String>>,
    require_logged: Option<bool>,
}

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// CNs with the admin role.
    pub admins: BTreeSet<String>,
    /// Per-client token bucket.
    pub rate_limit: RateLimit,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// The TLS handshake must complete within this.
    pub handshake_timeout: Duration,
    /// A request line and headers must arrive within this.
    pub header_timeout: Duration,
    /// A request, body included, must be answered within this (else 408).
    pub request_timeout: Duration,
    /// Open connections in total.
    pub max_connections: usize,
    /// Open connections from one source address.
    pub max_connections_per_address: usize,
    /// Live (unrevoked, unexpired) certificates of one name that
    /// `POST /v1/certs` issues to a non-admin client.
    pub cert_quota: usize,
    /// Name on the server certificate issued on first start.
    pub server_name: String,
    /// How long an OCSP response is valid (thisUpdate to nextUpdate); a
    /// cached one is signed again at half of it.
    pub ocsp_lifetime: Duration,
    /// Most pre-signed OCSP responses kept.
    pub ocsp_cache: usize,
    /// Identities that issue and revoke without a TOTP code: automation
    /// (a registration authority) that cannot read an authenticator. Their
    /// client certificate alone then authorises what their role allows, so
    /// list only identities whose key is guarded as well as a second
    /// factor would be. Empty by default.
    pub totp_exempt: BTreeSet<String>,
    /// Refuse client certificates that are not in the CA's transparency
    /// log (`not-logged`).
    pub require_logged: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            admins: BTreeSet::from(["admin".to_owned()]),
            rate_limit: RateLimit {
                per_second: 200.0,
                burst: 400.0,
            },
            body_limit: 64 * 1024,
            idle_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_connections_per_address: 32,
            cert_quota: 5,
            server_name: "localhost".into(),
            ocsp_lifetime: Duration::from_secs(3600),
            ocsp_cache: 10_000,
            totp_exempt: BTreeSet::new(),
            require_logged: false,
        }
    }
}

/// The longest timeout accepted: a day (longer ones would only keep
/// resources held, and an unbounded one overflows the clock).
const LONGEST: Duration = Duration::from_secs(86_400);

fn seconds(text: &str, key: &str) -> Result<Duration, String> {
    // The project's one duration grammar (humantime: 500ms, 30s, 2m, 1h30m).
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{key}: '{text}' is not a duration like 30s or 2m ({e})"))?;
    if duration.is_zero() {
        Err(format!("{key}: '{text}' is zero: give a positive duration"))
    } else if duration > LONGEST {
        Err(format!(
            "{key}: '{text}' is longer than a day: give at most 24h"
        ))
    } else {
        Ok(duration)
    }
}

impl Config {
    /// Reads `path`; errors name the file and, where known, the line.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let doc: ConfigDoc = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut config = Config::default();
        if let Some(admins) = doc.admins {
            config.admins = admins.into_iter().collect();
        }
        if let Some(limit) = doc.rate_limit {
            if !(limit.per_second > 0.0 && limit.burst >= 1.0) {
                return Err("rate-limit: per-second must be positive and burst at least 1".into());
            }
            config.rate_limit = limit;
        }
        if let Some(limit) = doc.body_limit {
            config.body_limit = limit;
        }
        if let Some(t) = doc.idle_timeout {
            config.idle_timeout = seconds(&t, "idle-timeout")?;
        }
        if let Some(t) = doc.handshake_timeout {
            config.handshake_timeout = seconds(&t, "handshake-timeout")?;
        }
        if let Some(t) = doc.header_timeout {
            config.header_timeout = seconds(&t, "header-timeout")?;
        }
        if let Some(t) = doc.request_timeout {
            config.request_timeout = seconds(&t, "request-timeout")?;
        }
        for (value, field, key) in [
            (
                doc.max_connections,
                &mut config.max_connections,
                "max-connections",
            ),
            (
                doc.max_connections_per_address,
                &mut config.max_connections_per_address,
                "max-connections-per-address",
            ),
        ] {
            match value {
                Some(0) => return Err(format!("{key}: give at least 1")),
                Some(n) => *field = n,
                None => {}
            }
        }
        if let Some(quota) = doc.cert_quota {
            config.cert_quota = quota;
        }
        if let Some(name) = doc.server_name {
            config.server_name = name;
        }
        if let Some(t) = doc.ocsp_lifetime {
            let lifetime = seconds(&t, "ocsp-lifetime")?;
            if lifetime < Duration::from_secs(60) {
                return Err(format!(
                    "ocsp-lifetime: '{t}' is shorter than a minute: clients would see responses expire in flight; give at least 1m"
                ));
            }
            config.ocsp_lifetime = lifetime;
        }
        if let Some(entries) = doc.ocsp_cache {
            config.ocsp_cache = entries;
        }
        if let Some(exempt) = doc.totp_exempt {
            config.totp_exempt = exempt.into_iter().collect();
        }
        config.require_logged = doc.require_logged.unwrap_or(false);
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::parse(
            "admins: [root-ops]\nidle-timeout: 2s\nrate-limit: { per-second: 5, burst: 10 }\n",
        )
        .expect("valid");
        assert!(c.admins.contains("root-ops") && !c.admins.contains("admin"));
        assert_eq!(c.idle_timeout, Duration::from_secs(2));
        assert_eq!(c.rate_limit.burst, 10.0);
        assert!(
            c.totp_exempt.is_empty(),
            "everyone is asked for TOTP by default"
        );
        let exempt = Config::parse("totp-exempt: [ra]\n").expect("valid");
        assert!(exempt.totp_exempt.contains("ra") && exempt.totp_exempt.len() == 1);
        assert!(Config::parse("idle-timeout: soon\n").is_err());
        for huge in [
            "18446744073709551615s",
            "18446744073709551615h",
            "25h",
            "0s",
        ] {
            let error = Config::parse(&format!("idle-timeout: {huge}\n")).expect_err(huge);
            assert!(error.contains("idle-timeout"), "{error}");
        }
        assert!(Config::parse("max-connections: 0\n").is_err());
        let c = Config::parse("idle-timeout: 1m30s\nheader-timeout: 500ms\n").expect("parses");
        assert_eq!(c.idle_timeout, Duration::from_secs(90));
        assert_eq!(c.header_timeout, Duration::from_millis(500));
        assert!(Config::parse("colour: blue\n").is_err());
        let ocsp = Config::parse("ocsp-lifetime: 2h\nocsp-cache: 5\n").expect("valid");
        assert_eq!(ocsp.ocsp_lifetime, Duration::from_secs(7200));
        assert_eq!(ocsp.ocsp_cache, 5);
        let short = Config::parse("ocsp-lifetime: 10s\n").expect_err("too short");
        assert!(short.contains("at least 1m"), "{short}");
    }
}
