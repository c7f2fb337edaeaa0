//! A bounded cache of certificate signatures that verified, for a
//! long-running validator: an intermediate that thousands of peers share is
//! verified once, not at every handshake. Only the signature is cached,
//! keyed by a hash of the issuer's key and the whole certificate, so the
//! answer is a pure function of its key; validity, revocation and every
//! other rule are still checked at each validation.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use crate::signature::Noted;

/// Most signatures kept; past it the cache starts over.
const CAPACITY: usize = 4096;

/// How long, in validation time, a signature checked once is taken as
/// checked: after that it is verified again. A signature does not expire,
/// but a long-running validator should not trust its own memory forever.
pub(crate) const MAX_AGE: Duration = Duration::hours(1);

/// Whether something checked at `checked` may be served at `at`: within
/// [`MAX_AGE`] either way (a validation may ask about an earlier time).
pub(crate) fn fresh(checked: OffsetDateTime, at: OffsetDateTime) -> bool {
    (at - checked).abs() <= MAX_AGE
}

/// Verified (issuer key, certificate) pairs, with any legacy note and the
/// validation time they were verified at.
#[derive(Debug, Default)]
pub(crate) struct SignatureCache {
    entries: Mutex<HashMap<[u8; 32], (Noted, OffsetDateTime)>>,
}

impl SignatureCache {
    /// The key of a (issuer SPKI, certificate DER) pair.
    pub(crate) fn key(issuer_spki: &[u8], certificate: &[u8], legacy: bool) -> [u8; 32] {
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        context.update(&[u8::from(legacy)]);
        context.update(&(issuer_spki.len() as u64).to_be_bytes());
        context.update(issuer_spki);
        context.update(certificate);
        let mut key = [0u8; 32];
        key.copy_from_slice(context.finish().as_ref());
        key
    }

    /// The note of a signature that verified, if it did within
    /// [`MAX_AGE`] of `at`.
    pub(crate) fn get(&self, key: &[u8; 32], at: OffsetDateTime) -> Option<Noted> {
        self.lock()
            .get(key)
            .filter(|(_, checked)| fresh(*checked, at))
            .map(|(note, _)| note.clone())
    }

    /// Records a signature that verified, at validation time `at`.
    pub(crate) fn insert(&self, key: [u8; 32], note: Noted, at: OffsetDateTime) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (note, at));
    }

    /// How many signatures are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Noted, OffsetDateTime)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    #[test]
    fn the_cache_is_bounded_and_keyed_by_key_and_certificate() {
        let cache = SignatureCache::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(
                SignatureCache::key(b"issuer", &i.to_be_bytes(), false),
                None,
                AT,
            );
        }
        assert!(cache.len() <= CAPACITY);
        let one = SignatureCache::key(b"issuer", b"cert", false);
        assert_ne!(one, SignatureCache::key(b"other issuer", b"cert", false));
        assert_ne!(one, SignatureCache::key(b"issuer", b"cert", true));
        assert!(cache.get(&one, AT).is_none());
    }

    #[test]
    fn an_entry_is_served_only_within_its_age_bound() {
        let cache = SignatureCache::default();
        let key = SignatureCache::key(b"issuer", b"cert", false);
        cache.insert(key, Some("noted".into()), AT);
        assert_eq!(cache.get(&key, AT), Some(Some("noted".into())));
        assert!(cache.get(&key, AT + MAX_AGE).is_some());
        assert!(cache.get(&key, AT - MAX_AGE).is_some());
        assert_eq!(cache.get(&key, AT + MAX_AGE + Duration::SECOND), None);
        assert_eq!(cache.get(&key, AT - MAX_AGE - Duration::SECOND), None);
        // Verified again later, it is served around the new time.
        cache.insert(key, None, AT + Duration::hours(5));
        assert_eq!(cache.get(&key, AT + Duration::hours(5)), Some(None));
        assert_eq!(cache.get(&key, AT), None);
    }
}
