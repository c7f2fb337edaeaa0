//! Writing files so that a crash leaves either the old or the new content:
//! a temporary file in the same directory, fsync, rename, fsync of the
//! directory.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O failure on a named path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct IoError {
    /// The file or directory.
    pub path: PathBuf,
    /// What the OS said.
    #[source]
    pub source: std::io::Error,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IoError + '_ {
    move |source| IoError {
        path: path.to_owned(),
        source,
    }
}

/// Replaces `path` with `bytes` atomically. `private` files are created
/// readable by the owner only.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), IoError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".pkilab-")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    if private {
        set_owner_only(temp.as_file()).map_err(io(path))?;
    }
    temp.write_all(bytes).map_err(io(path))?;
    temp.as_file().sync_all().map_err(io(path))?;
    temp.persist(path).map_err(|e| IoError {
        path: path.to_owned(),
        source: e.error,
    })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

#[cfg(unix)]
fn set_owner_only(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_owner_only(_: &File) -> std::io::Result<()> {
    Ok(())
}

/// Reads a file, naming it on failure.
pub fn read(path: &Path) -> Result<Vec<u8>, IoError> {
    std::fs::read(path).map_err(io(path))
}

/// An exclusive lock on a directory, held while the value lives.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Takes `dir/.lock`, waiting for other pkilab processes to release it.
pub fn lock(dir: &Path) -> Result<DirLock, IoError> {
    let path = dir.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    file.lock().map_err(io(&path))?;
    Ok(DirLock { _file: file })
}
