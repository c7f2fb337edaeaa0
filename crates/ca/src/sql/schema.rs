//! The CA's tables, beside the key store's in the same database: one
//! connection pool, numbered migrations, and the classification of
//! database failures into "unreachable, retry" and everything else.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, ConnectOptions, Executor, Row};

use crate::store::StoreError;

/// Which database holds the CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Numbered migrations; `{blob}` is the binary column type. Every table
/// is prefixed `ca_` so the key store's tables can share the database.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE ca_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE ca_authorities (
        file TEXT PRIMARY KEY,
        position BIGINT NOT NULL,
        name TEXT NOT NULL,
        crl_number BIGINT NOT NULL,
        last_complete BIGINT);
     CREATE TABLE ca_keys (
        file TEXT PRIMARY KEY,
        certificate {blob} NOT NULL,
        wrapped_key TEXT NOT NULL);
     CREATE TABLE ca_certificates (
        serial TEXT PRIMARY KEY,
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        not_after BIGINT NOT NULL,
        revoked_at BIGINT,
        reason TEXT,
        in_complete_crl BIGINT,
        der {blob});
     CREATE INDEX ca_certificates_subject ON ca_certificates (subject);
     CREATE INDEX ca_certificates_revoked ON ca_certificates (issuer, revoked_at);
     CREATE TABLE ca_crls (
        file TEXT NOT NULL,
        number BIGINT NOT NULL,
        scope TEXT NOT NULL,
        delta BIGINT NOT NULL,
        this_update BIGINT NOT NULL,
        der {blob} NOT NULL,
        PRIMARY KEY (file, number, scope));
     CREATE TABLE ca_ocsp_cache (
        serial TEXT NOT NULL,
        responder TEXT NOT NULL,
        produced_at BIGINT NOT NULL,
        response {blob} NOT NULL,
        PRIMARY KEY (serial, responder))",
    // A delta CRL lists the revocations no complete CRL has listed yet:
    // found through this index, it costs what it lists, not every
    // revocation the CA ever made.
    "CREATE INDEX ca_certificates_pending ON ca_certificates (issuer, serial)
        WHERE revoked_at IS NOT NULL AND in_complete_crl IS NULL",
];

/// How long a SQLite writer waits for another process's write.
const BUSY_TIMEOUT_MS: u32 = 30_000;

/// How long a request waits for a pooled connection before it is told the
/// database is unavailable: short, so a server answers 503 promptly while
/// its database is down.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per process to PostgreSQL.
const POSTGRES_CONNECTIONS: u32 = 8;

/// Whether `location` names a PostgreSQL server (else a SQLite file).
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Opens a pool on `location` (a `postgres://` URL or a SQLite file,
/// created when `create`), and brings the CA's tables up to date.
pub(crate) async fn connect(
    location: &str,
    create: bool,
) -> Result<(AnyPool, Backend), StoreError> {
    install_default_drivers();
    let (url, backend) = if is_postgres(location) {
        (location.to_owned(), Backend::Postgres)
    } else {
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        if !create && !std::path::Path::new(path).exists() {
            return Err(StoreError::NoCaIn(format!(
                "{path} does not exist: create a CA with `pkilab ca init --db {path}`"
            )));
        }
        let mode = if create { "rwc" } else { "rw" };
        (format!("sqlite://{path}?mode={mode}"), Backend::Sqlite)
    };
    let connections = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => POSTGRES_CONNECTIONS,
    };
    let options = AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute(format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}").as_str())
                        .await?;
                }
                Ok(())
            })
        });
    let connect = url
        .parse::<AnyConnectOptions>()
        .map_err(|e| StoreError::Database(format!("cannot open {location}: {e}")))?
        .disable_statement_logging();
    let pool = options
        .connect_with(connect)
        .await
        .map_err(|e| classify(e, &format!("cannot open {location}")))?;
    migrate(&pool, backend).await?;
    Ok((pool, backend))
}

/// Applies the migrations not applied yet. On PostgreSQL an advisory lock
/// keeps two servers starting at once from applying one twice.
async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    if backend == Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(7248311)")
            .await
            .map_err(db)?;
    }
    tx.execute("CREATE TABLE IF NOT EXISTS ca_schema_version (version BIGINT NOT NULL)")
        .await
        .map_err(db)?;
    let current: Option<i64> = sqlx::query("SELECT MAX(version) FROM ca_schema_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(db)?;
    let current = usize::try_from(current.unwrap_or(0)).unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "the CA tables have schema version {current}, newer than this pkilab ({}): upgrade pkilab",
            MIGRATIONS.len()
        )));
    }
    let blob = match backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(current) {
        for statement in migration
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            tx.execute(statement.replace("{blob}", blob).as_str())
                .await
                .map_err(db)?;
        }
        sqlx::query("INSERT INTO ca_schema_version (version) VALUES ($1)")
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

/// Whether a database error means "not reachable now" (connection refused
/// or lost, the server shutting down or starting up, no pooled connection
/// within [`ACQUIRE_TIMEOUT`]): the request may be retried once it is back.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01..57P03 (admin
        // shutdown, crash shutdown, cannot connect now).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// A database error as a [`StoreError`], `context` first.
pub(crate) fn classify(e: sqlx::Error, context: &str) -> StoreError {
    if is_unreachable(&e) {
        StoreError::Unavailable(format!("{context}: {e}"))
    } else {
        StoreError::Database(format!("{context}: {e}"))
    }
}

/// [`classify`] without context, for `map_err`.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    classify(e, "CA database")
}

/// Removes every CA table (tests against a shared PostgreSQL).
pub async fn drop_ca_tables(pool: &AnyPool) -> Result<(), StoreError> {
    for table in [
        "ca_meta",
        "ca_authorities",
        "ca_keys",
        "ca_certificates",
        "ca_crls",
        "ca_ocsp_cache",
        "ca_schema_version",
    ] {
        pool.execute(format!("DROP TABLE IF EXISTS {table}").as_str())
            .await
            .map_err(db)?;
    }
    Ok(())
}
