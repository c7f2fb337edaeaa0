//! What can go wrong in the KMS. Every refusal says why, in one line.

/// A KMS error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// The passphrase does not open this key store.
    #[error("wrong passphrase for this key store: check PKILAB_PASSPHRASE or --passphrase-file")]
    WrongPassphrase,
    /// No key has this name.
    #[error("no key named '{0}': see `pkilab kms key list`")]
    UnknownKey(String),
    /// A key with this name exists.
    #[error("a key named '{0}' already exists: choose another name")]
    Duplicate(String),
    /// A lifecycle transition that SP 800-57 does not allow.
    #[error("key '{name}' cannot go from {from} to {to}")]
    IllegalTransition {
        /// The key.
        name: String,
        /// Its state.
        from: crate::State,
        /// The state asked for.
        to: crate::State,
    },
    /// The key's state, version, type or access does not allow this.
    #[error("{0}")]
    Refused(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller's identity is revoked.
    #[error("identity '{0}' is revoked: it can neither create nor obtain keys")]
    RevokedIdentity(String),
    /// The key's lifecycle state does not allow this.
    #[error("{0}")]
    KeyState(String),
    /// The key type has no such operation.
    #[error("{0}")]
    Unsupported(String),
    /// A ciphertext or wrapped key does not authenticate.
    #[error("the ciphertext does not authenticate: it was altered, or the associated data differs")]
    Unauthentic,
    /// Input that is not what it should be.
    #[error("{0}")]
    Malformed(String),
    /// A cryptographic backend failure.
    #[error("cryptographic failure: {0}")]
    Crypto(String),
    /// The database.
    #[error("key store database: {0}")]
    Store(String),
    /// The database cannot be reached now (down, restarting, or no
    /// connection free in time); the same request may succeed later.
    #[error("the key store database cannot be reached ({0}): retry once it is back")]
    Unavailable(String),
    /// Another process changed the passphrase since this one opened the
    /// store: what this process would wrap now would not open later.
    #[error(
        "the key store's passphrase was changed after this process opened it: restart with the new passphrase"
    )]
    PassphraseChanged,
    /// A server holds the store, so the passphrase cannot change now.
    #[error("{0}")]
    InUse(String),
    /// Stored metadata does not authenticate: it was changed without the
    /// passphrase.
    #[error("tampering detected: {0}")]
    Tampered(String),
    /// The audit chain is broken.
    #[error("audit log: {0}")]
    Audit(String),
}

impl KmsError {
    /// `actor` may not `operation` with `key`. The message does not name
    /// the owner: a refusal tells a caller nothing about other clients.
    pub(crate) fn forbidden(actor: &str, operation: &str, key: &str) -> KmsError {
        KmsError::Forbidden(format!(
            "'{actor}' may not {operation} with key '{key}': it does not own the key and holds no {operation} grant"
        ))
    }

    /// A stable kebab-case id for the kind of error.
    pub fn id(&self) -> &'static str {
        match self {
            KmsError::WrongPassphrase => "wrong-passphrase",
            KmsError::UnknownKey(_) => "unknown-key",
            KmsError::Duplicate(_) => "duplicate",
            KmsError::IllegalTransition { .. } => "illegal-transition",
            KmsError::Refused(_) => "refused",
            KmsError::Forbidden(_) => "forbidden",
            KmsError::RevokedIdentity(_) => "revoked",
            KmsError::KeyState(_) => "key-state",
            KmsError::Unsupported(_) => "unsupported",
            KmsError::Unauthentic => "unauthentic",
            KmsError::Malformed(_) => "malformed",
            KmsError::Crypto(_) => "crypto",
            KmsError::Store(_) => "store",
            KmsError::Unavailable(_) => "database-unavailable",
            KmsError::Audit(_) => "audit",
            KmsError::PassphraseChanged => "passphrase-changed",
            KmsError::InUse(_) => "in-use",
            KmsError::Tampered(_) => "tampered",
        }
    }
}

impl From<sqlx::Error> for KmsError {
    fn from(e: sqlx::Error) -> Self {
        if pkilab_ca::sql::is_unreachable(&e) {
            KmsError::Unavailable(e.to_string())
        } else {
            KmsError::Store(e.to_string())
        }
    }
}
