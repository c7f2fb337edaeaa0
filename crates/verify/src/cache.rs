//! A bounded cache of certificate signatures that verified, for a
//! long-running validator: an intermediate that thousands of peers share is
//! verified once, not at every handshake. Only the signature is cached,
//! keyed by a hash of the issuer's key and the whole certificate, so the
//! answer is a pure function of its key; validity, revocation and every
//! other rule are still checked at each validation.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::signature::Noted;

/// Most signatures kept; past it the cache starts over.
const CAPACITY: usize = 4096;

/// Verified (issuer key, certificate) pairs, with any legacy note.
#[derive(Debug, Default)]
pub(crate) struct SignatureCache {
    entries: Mutex<HashMap<[u8; 32], Noted>>,
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

    /// The note of a signature that verified before, if it did.
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Noted> {
        self.lock().get(key).cloned()
    }

    /// Records a signature that verified.
    pub(crate) fn insert(&self, key: [u8; 32], note: Noted) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, note);
    }

    /// How many signatures are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Noted>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_keyed_by_key_and_certificate() {
        let cache = SignatureCache::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(
                SignatureCache::key(b"issuer", &i.to_be_bytes(), false),
                None,
            );
        }
        assert!(cache.len() <= CAPACITY);
        let one = SignatureCache::key(b"issuer", b"cert", false);
        assert_ne!(one, SignatureCache::key(b"other issuer", b"cert", false));
        assert_ne!(one, SignatureCache::key(b"issuer", b"cert", true));
        assert!(cache.get(&one).is_none());
    }
}
