//! Unwrapped key material kept in memory, bounded in time and in count:
//! an entry is used for at most [`MATERIAL_FOR`] after it was unwrapped
//! (so material destroyed through another server leaves this one's memory
//! within that time), and at most [`MATERIAL_ENTRIES`] are kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::material::Material;

/// How long unwrapped material is reused before it is unwrapped again.
pub const MATERIAL_FOR: Duration = Duration::from_secs(60);

/// Most key versions kept unwrapped at once.
pub const MATERIAL_ENTRIES: usize = 4096;

type Entries = HashMap<(String, i64), (Instant, Arc<Material>)>;

/// Key versions' material, by key name and version.
#[derive(Default)]
pub(crate) struct MaterialCache {
    entries: Mutex<Entries>,
}

impl MaterialCache {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The material of `name` version `version`, if unwrapped recently.
    pub(crate) fn get(&self, name: &str, version: i64) -> Option<Arc<Material>> {
        let mut entries = self.lock();
        let id = (name.to_owned(), version);
        match entries.get(&id) {
            Some((at, material)) if at.elapsed() < MATERIAL_FOR => Some(Arc::clone(material)),
            Some(_) => {
                entries.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Keeps `material`, making room first when full: expired entries go,
    /// and if none had expired, every entry (they are unwrapped again on
    /// use).
    pub(crate) fn insert(&self, name: &str, version: i64, material: Arc<Material>) {
        let mut entries = self.lock();
        if entries.len() >= MATERIAL_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < MATERIAL_FOR);
            if entries.len() >= MATERIAL_ENTRIES {
                entries.clear();
            }
        }
        entries.insert((name.to_owned(), version), (Instant::now(), material));
    }

    /// Drops every version of `name`.
    pub(crate) fn forget(&self, name: &str) {
        self.lock().retain(|(n, _), _| n != name);
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::material::KeyType;

    #[test]
    fn the_cache_never_holds_more_than_its_bound() {
        let cache = MaterialCache::default();
        let material = Arc::new(Material::generate(KeyType::Aes256Gcm).expect("key"));
        for i in 0..(MATERIAL_ENTRIES as i64 + 10) {
            cache.insert("k", i, Arc::clone(&material));
            assert!(cache.len() <= MATERIAL_ENTRIES);
        }
        assert!(cache.get("k", MATERIAL_ENTRIES as i64 + 9).is_some());
        cache.forget("k");
        assert_eq!(cache.len(), 0);
    }
}
