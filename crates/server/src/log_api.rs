//! The CA's transparency log over HTTPS, at the paths c2sp.org/tlog-tiles
//! defines below `/log/`: `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`. No client certificate is needed: monitors
//! and relying parties are not the CA's clients. Tiles never change once
//! written, so they are served as immutable.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::extract::{self, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pkilab_tlog::Tree;
use pkilab_tlog::tiles::{TileName, WIDTH, bundle, hash_tile};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::Shared;
use crate::errors::{ApiError, ErrorBody};
use crate::openapi::Refusals;

/// The log as last read from the CA directory: leaf hashes in a tree, and
/// where each entry starts in the entries file. Reads are incremental: a
/// request reads only what was appended since the last.
#[derive(Debug)]
pub(crate) struct LogView {
    dir: PathBuf,
    cache: Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    tree: Tree,
    /// Every leaf hash and its index, for membership and proofs.
    leaves: std::collections::HashMap<pkilab_tlog::merkle::Hash, u64>,
    /// Start of each entry's record in `entries`.
    offsets: Vec<u64>,
    /// Length of `entries` read so far.
    entries_read: u64,
}

fn unavailable(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "log-unavailable", detail)
}

impl LogView {
    /// The log of the CA in `ca_dir`.
    pub(crate) fn new(ca_dir: &Path) -> LogView {
        LogView {
            dir: ca_dir.join("log"),
            cache: Mutex::new(Cached::default()),
        }
    }

    /// No log: the CA's state is in a database, which keeps none yet.
    pub(crate) fn absent() -> LogView {
        LogView {
            dir: PathBuf::new(),
            cache: Mutex::new(Cached::default()),
        }
    }

    fn refresh(&self, cached: &mut Cached) -> Result<(), ApiError> {
        if self.dir.as_os_str().is_empty() {
            return Err(unavailable(
                "this CA keeps no transparency log: its state is in a database",
            ));
        }
        // Only what was appended since the last read: a request for a tile
        // that does not exist yet costs no more than the log's growth.
        let leaves = self.read_range("leaves", cached.tree.size() * 32, None)?;
        for chunk in leaves.chunks_exact(32) {
            let mut leaf = [0u8; 32];
            leaf.copy_from_slice(chunk);
            let index = cached.tree.append_hash(leaf);
            cached.leaves.insert(leaf, index);
        }
        let entries = self.read_range("entries", cached.entries_read, None)?;
        let mut at = 0usize;
        while let Some(length) = entries.get(at..at + 4) {
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
            if entries.len() < at + 4 + length {
                break;
            }
            cached.offsets.push(cached.entries_read + at as u64);
            at += 4 + length;
        }
        cached.entries_read += at as u64;
        Ok(())
    }

    /// Bytes `[from, to)` of one of the log's files (`to`: its end).
    fn read_range(&self, file: &str, from: u64, to: Option<u64>) -> Result<Vec<u8>, ApiError> {
        use std::io::{Read, Seek, SeekFrom};
        let unreadable =
            |e: std::io::Error| unavailable(format!("this CA has no readable log ({file}: {e})"));
        let mut handle = std::fs::File::open(self.dir.join(file)).map_err(unreadable)?;
        handle.seek(SeekFrom::Start(from)).map_err(unreadable)?;
        let mut bytes = Vec::new();
        match to {
            Some(to) => handle.take(to.saturating_sub(from)).read_to_end(&mut bytes),
            None => handle.read_to_end(&mut bytes),
        }
        .map_err(unreadable)?;
        Ok(bytes)
    }

    fn with<T>(&self, f: impl Fn(&Cached) -> Option<T>) -> Result<Option<T>, ApiError> {
        let mut cached = self
            .cache
            .lock()
            .map_err(|_| unavailable("the log cache is poisoned"))?;
        if let Some(found) = f(&cached) {
            return Ok(Some(found));
        }
        self.refresh(&mut cached)?;
        Ok(f(&cached))
    }

    fn entries(&self, index: u64, width: u64) -> Result<Option<Vec<u8>>, ApiError> {
        let first = index.saturating_mul(WIDTH);
        let ranges = self.with(|c| {
            let end = first.checked_add(width)?;
            let end_index = usize::try_from(end).ok()?;
            if end_index > c.offsets.len() || end_index > c.tree.size() as usize {
                return None;
            }
            let end = c.offsets.get(end_index).copied().unwrap_or(c.entries_read);
            Some((c.offsets[first as usize], end))
        })?;
        let Some((start, end)) = ranges else {
            return Ok(None);
        };
        // The bundle's records only, not the whole file.
        let file = self.read_range("entries", start, Some(end))?;
        let mut records = Vec::new();
        let mut at = 0usize;
        for _ in first..first + width {
            let record = file
                .get(at..at + 4)
                .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
                .and_then(|length| file.get(at + 4..at + 4 + length))
                .ok_or_else(|| unavailable("the entries file was cut short"))?;
            records.push(record);
            at += 4 + record.len();
        }
        Ok(bundle(records))
    }
}

impl LogView {
    /// Whether a certificate is in the log (read again when it is not
    /// found, so one issued a moment ago is).
    pub(crate) fn contains(&self, der: &[u8]) -> Result<bool, ApiError> {
        let leaf = pkilab_tlog::merkle::leaf_hash(der);
        Ok(self.with(|c| c.leaves.get(&leaf).copied())?.is_some())
    }

    /// An inclusion proof of a certificate against the log's current
    /// signed checkpoint, as `pkilab log prove` writes it.
    pub(crate) fn prove(&self, der: &[u8]) -> Result<Option<String>, ApiError> {
        let checkpoint = std::fs::read_to_string(self.dir.join("checkpoint"))
            .map_err(|e| unavailable(format!("this CA has no readable log: {e}")))?;
        // The checkpoint's second line is its size; it was written by the
        // CA after the entry, so the tree read now covers it.
        let size: u64 = checkpoint
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| unavailable("the log's checkpoint does not parse"))?;
        let leaf = pkilab_tlog::merkle::leaf_hash(der);
        let proof = self.with(|c| {
            if c.tree.size() < size {
                return None;
            }
            let index = c.leaves.get(&leaf).copied().filter(|&i| i < size)?;
            let hashes = c.tree.inclusion_proof(index, size)?;
            Some(pkilab_tlog::InclusionProof {
                index,
                hashes,
                checkpoint: checkpoint.clone(),
            })
        })?;
        Ok(proof.map(|p| p.encode()))
    }
}

pub(crate) fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(checkpoint))
        .routes(routes!(tile))
}

/// The log's latest signed checkpoint (c2sp.org/tlog-checkpoint).
#[utoipa::path(get, path = "/log/checkpoint", tag = "log",
    responses((status = 200, description = "the signed checkpoint", body = String,
        content_type = "text/plain; charset=utf-8"), Refusals,
        (status = 503, description = "this CA has no log", body = ErrorBody)))]
async fn checkpoint(State(state): State<Shared>) -> Result<Response, ApiError> {
    let text = std::fs::read_to_string(state.log.dir.join("checkpoint"))
        .map_err(|e| unavailable(format!("this CA has no readable log: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        text,
    )
        .into_response())
}

/// A hash tile or an entry bundle (c2sp.org/tlog-tiles), immutable.
#[utoipa::path(get, path = "/log/tile/{*path}", tag = "log",
    params(("path" = String, Path, description = "<L>/<N>[.p/<W>] or entries/<N>[.p/<W>]")),
    responses((status = 200, description = "the tile", body = Vec<u8>,
        content_type = "application/octet-stream"), Refusals,
        (status = 404, description = "no such tile yet", body = ErrorBody)))]
async fn tile(
    State(state): State<Shared>,
    extract::Path(path): extract::Path<String>,
) -> Result<Response, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no-tile",
            format!("no tile 'tile/{path}' in this log (yet)"),
        )
    };
    let name = TileName::parse(&format!("tile/{path}")).ok_or_else(missing)?;
    let body = match name {
        TileName::Hashes {
            level,
            index,
            width,
        } => state
            .log
            .with(|c| hash_tile(&c.tree, level, index, width))?,
        TileName::Entries { index, width } => state.log.entries(index, width)?,
    };
    let body = body.ok_or_else(missing)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response())
}
