//! Second factor for destructive operations: TOTP (RFC 6238, HMAC-SHA1,
//! 6 digits, 30-second steps), with the secret wrapped under the KEK like
//! key material and each accepted time step remembered, so a code works
//! once.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use sqlx::Row;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::KmsError;
use crate::kms::{Kms, done};
use crate::material::{KeyType, Material};

/// Seconds per TOTP step.
pub const STEP: i64 = 30;
/// Steps before and after now that are accepted (clock drift).
pub const WINDOW: i64 = 1;

/// The 6-digit code for `secret` at time step `step` (RFC 4226 §5.3).
pub fn totp_code(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = (u32::from(mac[offset]) & 0x7f) << 24
        | u32::from(mac[offset + 1]) << 16
        | u32::from(mac[offset + 2]) << 8
        | u32::from(mac[offset + 3]);
    binary % 1_000_000
}

/// Wrong codes in a row before a lockout.
pub const FREE_FAILURES: i64 = 5;
/// The first lockout, seconds; each further failure doubles it.
pub const LOCKOUT_BASE: i64 = 30;
/// The longest lockout, seconds.
pub const LOCKOUT_MAX: i64 = 3600;

/// What a code turned out to be.
enum Check {
    Accepted,
    /// Wrong: the count of failures in a row, this one included.
    Wrong(i64),
}

/// Seconds locked out after `failures` wrong codes in a row (0: none).
/// With 5 free tries and doubling from 30 s, an attacker gets about 60
/// guesses a day at the one-hour cap, against a 1-in-333,333 chance per
/// guess (three accepted steps of 10^6 codes).
fn lockout(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = u32::try_from(failures - FREE_FAILURES)
        .unwrap_or(u32::MAX)
        .min(16);
    LOCKOUT_BASE.saturating_mul(1 << doublings).min(LOCKOUT_MAX)
}

/// RFC 4648 base32 without padding, as authenticator apps read it.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn wrap_name(identity: &str) -> String {
    format!("mfa:{identity}")
}

impl Kms {
    /// Enrolls `identity` for TOTP (replacing any earlier secret); returns
    /// the `otpauth://` URI to load into an authenticator.
    pub async fn mfa_enroll(
        &self,
        actor: &str,
        identity: &str,
        now: OffsetDateTime,
    ) -> Result<Zeroizing<String>, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            self.require_admin(&mut tx, actor, "enrolls identities for TOTP").await?;
            crate::keys::valid_name(identity)?;
            self.fence(&mut tx).await?;
            let mut secret = Zeroizing::new(vec![0u8; 20]);
            SystemRandom::new()
                .fill(&mut secret)
                .map_err(|_| KmsError::Crypto("random TOTP secret".into()))?;
            let material = Material::from_bytes(KeyType::Aes256Gcm, secret.clone());
            let wrapped = self.kek.wrap(&wrap_name(identity), 0, &material)?;
            sqlx::query("DELETE FROM mfa WHERE identity = $1").bind(identity.to_owned()).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO mfa (identity, secret, last_step) VALUES ($1, $2, $3)")
                .bind(identity.to_owned())
                .bind(wrapped)
                .bind(0i64)
                .execute(&mut *tx)
                .await?;
            let uri = Zeroizing::new(format!(
                "otpauth://totp/pkilab:{identity}?secret={}&issuer=pkilab&algorithm=SHA1&digits=6&period={STEP}",
                base32(&secret)
            ));
            Ok(done(uri, None))
        }
        .await;
        self.finish(
            tx,
            (actor, &format!("mfa.enroll:{identity}"), None),
            at,
            result,
        )
        .await
    }

    /// Checks a TOTP code of `identity` at `now`; a code for a step already
    /// used (or older) is refused, so a code works once, also when sent
    /// several times at once (the row is locked and the step moves only
    /// forward, by a conditional update). After [`FREE_FAILURES`] wrong
    /// codes in a row the identity is locked out, for [`LOCKOUT_BASE`]
    /// seconds doubling with each further failure up to [`LOCKOUT_MAX`];
    /// failures and lockouts are committed and audited, a right code
    /// resets the count.
    pub async fn mfa_check(
        &self,
        identity: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<(), KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let verdict = self.mfa_verdict(&mut tx, identity, code, at).await;
        match verdict {
            Ok(Check::Accepted) => {
                self.finish(tx, (identity, "mfa.check", None), at, Ok(done((), None)))
                    .await
            }
            Ok(Check::Wrong(failures)) => {
                let locked = lockout(failures);
                sqlx::query("UPDATE mfa SET failures = $1, locked_until = $2 WHERE identity = $3")
                    .bind(failures)
                    .bind(if locked > 0 { at + locked } else { 0 })
                    .bind(identity.to_owned())
                    .execute(&mut *tx)
                    .await?;
                let error = KmsError::Forbidden(if locked > 0 {
                    format!("wrong TOTP code ({failures} in a row): locked out for {locked} s")
                } else {
                    "wrong TOTP code".to_owned()
                });
                self.refuse_committing(tx, (identity, "mfa.check"), at, error)
                    .await
            }
            Err(error) => {
                self.finish(tx, (identity, "mfa.check", None), at, Err(error))
                    .await
            }
        }
    }

    async fn mfa_verdict(
        &self,
        tx: &mut crate::keys::Tx<'_>,
        identity: &str,
        code: &str,
        at: i64,
    ) -> Result<Check, KmsError> {
        let lock = if self.db.backend == crate::Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let row = sqlx::query(&format!(
            "SELECT secret, last_step, failures, locked_until FROM mfa WHERE identity = $1{lock}"
        ))
        .bind(identity.to_owned())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            KmsError::Forbidden(format!(
                "'{identity}' is not enrolled for TOTP: `pkilab kms mfa enroll {identity}`"
            ))
        })?;
        let wrapped: Vec<u8> = row.try_get(0)?;
        let last_step: i64 = row.try_get(1)?;
        let failures: i64 = row.try_get(2)?;
        let locked_until: i64 = row.try_get(3)?;
        if locked_until > at {
            return Err(KmsError::Forbidden(format!(
                "TOTP is locked out for {} s after {failures} wrong codes",
                locked_until - at
            )));
        }
        let secret = self
            .kek
            .unwrap(&wrap_name(identity), 0, KeyType::Aes256Gcm, &wrapped)?;
        let trimmed = code.trim();
        let Some(given) = trimmed
            .parse::<u32>()
            .ok()
            .filter(|_| trimmed.len() == 6 && trimmed.bytes().all(|b| b.is_ascii_digit()))
        else {
            return Ok(Check::Wrong(failures.saturating_add(1)));
        };
        let now_step = at.div_euclid(STEP);
        let matched = (now_step - WINDOW..=now_step + WINDOW).find(|step| {
            bool::from(
                totp_code(&secret.bytes, *step)
                    .to_be_bytes()
                    .ct_eq(&given.to_be_bytes()),
            )
        });
        let Some(step) = matched else {
            return Ok(Check::Wrong(failures.saturating_add(1)));
        };
        let moved = sqlx::query(
            "UPDATE mfa SET last_step = $1, failures = 0, locked_until = 0
             WHERE identity = $2 AND last_step < $1",
        )
        .bind(step)
        .bind(identity.to_owned())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if step <= last_step || moved != 1 {
            return Err(KmsError::Forbidden(
                "this TOTP code was already used: wait for the next one".into(),
            ));
        }
        Ok(Check::Accepted)
    }

    /// Records a request-level event (say, an HTTP request) in the audit
    /// log, queued with the data-path entries.
    pub async fn audit_event(
        &self,
        actor: &str,
        operation: &str,
        target: Option<&str>,
        outcome: &str,
        now: OffsetDateTime,
    ) -> Result<(), KmsError> {
        self.queue_audit(crate::fast::Queued {
            at: now.unix_timestamp(),
            actor: actor.to_owned(),
            operation: operation.to_owned(),
            key: target.map(str::to_owned),
            version: None,
            outcome: outcome.to_owned(),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59i64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(totp_code(secret, time / STEP), code % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn lockout_doubles_to_a_cap() {
        assert_eq!(lockout(4), 0);
        assert_eq!(lockout(5), 30);
        assert_eq!(lockout(6), 60);
        assert_eq!(lockout(12), 3600);
        assert_eq!(lockout(i64::MAX), 3600);
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }
}
