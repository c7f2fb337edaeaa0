//! Rate limits that hold across servers: GCRA token buckets kept in the
//! PostgreSQL database the servers share, one row per client identity and
//! one for all requests without a certificate.
//!
//! Why the database and not a separate store (Redis, say): the servers
//! already depend on it, so this adds no component that can fail on its
//! own, and one upsert per request is cheap beside the audit entry each
//! request commits anyway. The table is UNLOGGED and its connections
//! commit with `synchronous_commit = off`: a bucket costs no fsync, and a
//! database crash merely refills the buckets, which a rate limit can
//! afford. The clock is the database's, so servers with skewed clocks
//! share one timeline.
//!
//! Each server checks its own in-memory bucket first (see `limits`), so a
//! flood is refused there before it costs the database a round trip. When
//! the database cannot be reached the shared check is skipped: requests
//! that need the database fail on their own, and the public routes
//! (health, chain) stay up, still limited per server.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor, Row};

use crate::config::RateLimit;

/// Buckets in the shared database.
#[derive(Debug, Clone)]
pub struct SharedBuckets {
    pool: AnyPool,
    /// Microseconds between tokens.
    interval: i64,
    /// How far ahead of now a bucket's theoretical arrival time may run,
    /// microseconds: `burst` tokens' worth.
    tolerance: i64,
}

/// Rows of clients not seen for this long are deleted now and then.
const FORGET_AFTER_MICROS: i64 = 3_600 * 1_000_000;

impl SharedBuckets {
    /// Connects to `url` (PostgreSQL) and makes the bucket table if
    /// missing; buckets refill at `limit`.
    pub async fn connect(url: &str, limit: RateLimit) -> Result<SharedBuckets, String> {
        sqlx::any::install_default_drivers();
        let options = url
            .parse::<AnyConnectOptions>()
            .map_err(|e| format!("rate-limit database: {e}"))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(1))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET synchronous_commit = off").await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| format!("rate-limit database: {e}"))?;
        pool.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS pkilab_rate_buckets
             (bucket TEXT PRIMARY KEY, tat BIGINT NOT NULL)",
        )
        .await
        .map_err(|e| format!("rate-limit table: {e}"))?;
        let interval = (1_000_000.0 / limit.per_second).clamp(1.0, 86_400e6) as i64;
        Ok(SharedBuckets {
            pool,
            interval,
            tolerance: interval.saturating_mul(limit.burst.clamp(1.0, 1e9) as i64),
        })
    }

    /// Takes a token from `bucket` (refilling [`crate::limits::ANONYMOUS_SHARE`]
    /// times faster when `shared_by_many`): `Ok(Ok(()))`, or
    /// `Ok(Err(seconds))` to wait; `Err` when the database could not be
    /// asked.
    pub async fn take(
        &self,
        bucket: &str,
        shared_by_many: bool,
    ) -> Result<Result<(), u64>, sqlx::Error> {
        let interval = if shared_by_many {
            ((self.interval as f64) / crate::limits::ANONYMOUS_SHARE).max(1.0) as i64
        } else {
            self.interval
        };
        let taken = sqlx::query(
            "INSERT INTO pkilab_rate_buckets AS b (bucket, tat)
             SELECT $1, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT + $2
             ON CONFLICT (bucket) DO UPDATE SET tat = GREATEST(b.tat + $2, excluded.tat)
             WHERE GREATEST(b.tat + $2, excluded.tat) - excluded.tat + $2 <= $3
             RETURNING tat",
        )
        .bind(bucket.to_owned())
        .bind(interval)
        .bind(self.tolerance)
        .fetch_optional(&self.pool)
        .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let ahead: i64 = sqlx::query(
            "SELECT tat - (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT
             FROM pkilab_rate_buckets WHERE bucket = $1",
        )
        .bind(bucket.to_owned())
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let wait = (ahead + interval - self.tolerance).max(1);
        Ok(Err(u64::try_from(wait.max(1))
            .unwrap_or(1)
            .div_ceil(1_000_000)))
    }

    /// Deletes buckets idle for an hour (they would be full anyway).
    pub async fn forget_idle(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM pkilab_rate_buckets
             WHERE tat < (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT - $1",
        )
        .bind(FORGET_AFTER_MICROS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
