//! The key store's database: SQLite (WAL, synchronous=FULL) in a file by
//! default, PostgreSQL for a `postgres://` URL, through sqlx's `Any`
//! driver with one schema and numbered migrations.

use sqlx::ConnectOptions;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor, Row};

use crate::error::KmsError;

/// Which database is underneath.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A connected, migrated database.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

/// Numbered migrations; `{blob}` is the binary column type.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE keys (
        name TEXT PRIMARY KEY,
        key_type TEXT NOT NULL,
        owner TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        rotate_every BIGINT,
        rotated_at BIGINT NOT NULL,
        destroy_at BIGINT,
        min_decrypt_version BIGINT NOT NULL,
        current_version BIGINT NOT NULL);
     CREATE TABLE versions (
        key_name TEXT NOT NULL,
        version BIGINT NOT NULL,
        wrapped {blob},
        created_at BIGINT NOT NULL,
        PRIMARY KEY (key_name, version));
     CREATE TABLE grants (
        key_name TEXT NOT NULL,
        identity TEXT NOT NULL,
        operation TEXT NOT NULL,
        PRIMARY KEY (key_name, identity, operation));
     CREATE TABLE identities (name TEXT PRIMARY KEY, revoked_at BIGINT);
     CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        last_seq BIGINT NOT NULL,
        entries TEXT NOT NULL);",
    "CREATE TABLE mfa (
        identity TEXT PRIMARY KEY,
        secret {blob} NOT NULL,
        last_step BIGINT NOT NULL);",
    "ALTER TABLE mfa ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE mfa ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE keys ADD COLUMN mac TEXT;
     ALTER TABLE versions ADD COLUMN invocations BIGINT NOT NULL DEFAULT 0;
     CREATE TABLE leases (holder TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);",
];

/// How long a SQLite writer waits for another process's write to finish.
const BUSY_TIMEOUT_MS: u32 = 30_000;

impl Db {
    /// Opens (creating when `create`) the database at `location`: a
    /// `postgres://` URL or a SQLite file path.
    pub async fn connect(location: &str, create: bool) -> Result<Db, KmsError> {
        install_default_drivers();
        let (url, backend) = if location.starts_with("postgres://")
            || location.starts_with("postgresql://")
        {
            (location.to_owned(), Backend::Postgres)
        } else {
            let path = location.strip_prefix("sqlite://").unwrap_or(location);
            if !create && !std::path::Path::new(path).exists() {
                return Err(KmsError::Store(format!(
                    "{path} does not exist: create a key store with `pkilab kms --db {path} init`"
                )));
            }
            if create {
                create_private(path)?;
            }
            let mode = if create { "rwc" } else { "rw" };
            (format!("sqlite://{path}?mode={mode}"), Backend::Sqlite)
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 1 } else { 8 })
            // Short, so that requests fail with "unavailable" promptly while
            // the database is down, instead of queueing for half a minute.
            .acquire_timeout(pkilab_ca::sql::schema::ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute(format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}").as_str())
                            .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            });
        let connect = url
            .parse::<AnyConnectOptions>()
            .map_err(|e| KmsError::Store(format!("cannot open {location}: {e}")))?
            .disable_statement_logging();
        let pool = options.connect_with(connect).await.map_err(|e| {
            let message = format!("cannot open {location}: {e}");
            if pkilab_ca::sql::is_unreachable(&e) {
                KmsError::Unavailable(message)
            } else {
                KmsError::Store(message)
            }
        })?;
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), KmsError> {
        self.pool
            .execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let current: Option<i64> = sqlx::query("SELECT MAX(version) FROM schema_version")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let current = usize::try_from(current.unwrap_or(0)).unwrap_or(0);
        if current > MIGRATIONS.len() {
            return Err(KmsError::Store(format!(
                "the key store has schema version {current}, newer than this pkilab ({}): upgrade pkilab",
                MIGRATIONS.len()
            )));
        }
        let blob = match self.backend {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        };
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(current) {
            let mut tx = self.pool.begin().await?;
            for statement in migration
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                tx.execute(statement.replace("{blob}", blob).as_str())
                    .await?;
            }
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so a second process waits for it
    /// (`busy_timeout`) instead of failing with "database is locked" when a
    /// read turns into a write.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, KmsError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A read-only transaction that sees one snapshot of the whole store
    /// (SQLite: a deferred read transaction in WAL mode; PostgreSQL:
    /// REPEATABLE READ), so a reader never mixes two writers' states.
    pub(crate) async fn begin_snapshot(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, KmsError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        })
    }

    /// A `meta` value.
    pub(crate) async fn meta(&self, name: &str) -> Result<Option<String>, KmsError> {
        let row = sqlx::query("SELECT value FROM meta WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Removes every table (tests against a shared PostgreSQL).
    pub async fn drop_everything(&self) -> Result<(), KmsError> {
        for table in [
            "meta",
            "keys",
            "versions",
            "grants",
            "identities",
            "audit",
            "mfa",
            "leases",
            "schema_version",
        ] {
            self.pool
                .execute(format!("DROP TABLE IF EXISTS {table}").as_str())
                .await?;
        }
        Ok(())
    }
}

/// Sets a `meta` value inside a transaction, in place: a concurrent
/// writer waiting on the row's lock then reads the new value, where a
/// delete and re-insert would leave it finding no row at all.
pub(crate) async fn set_meta(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    name: &str,
    value: &str,
) -> Result<(), KmsError> {
    sqlx::query(
        "INSERT INTO meta (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name.to_owned())
    .bind(value.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates an empty SQLite file readable by its owner only, before SQLite
/// opens it; SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private(path: &str) -> Result<(), KmsError> {
    use std::fs::OpenOptions;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(KmsError::Store(format!("cannot create {path}: {e}"))),
    }
}
