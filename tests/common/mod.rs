//! What the end-to-end tests share: running the `pkilab` binary with a
//! passphrase and test-strength key derivation, and reading its output.
#![allow(dead_code, clippy::panic)]

pub mod ca;
pub mod cluster;
pub mod lab;
pub mod probe;

use std::path::Path;
use std::process::{Command, Output};

/// `pkilab` with `PKILAB_PASSPHRASE` set and PBKDF2/Argon2 costs lowered
/// to what a test suite can afford.
pub fn command(args: &[&str], passphrase: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pkilab"));
    c.args(args).env("PKILAB_PASSPHRASE", passphrase);
    // A release binary (the benches) refuses lowered costs, rightly.
    if cfg!(debug_assertions) {
        c.env("PKILAB_PBKDF2_ITERATIONS", "1000")
            .env("PKILAB_ARGON2_MEMORY_KIB", "1024");
    }
    c
}

/// Runs `pkilab` to completion.
pub fn run(args: &[&str], passphrase: &str) -> Output {
    command(args, passphrase)
        .output()
        .expect("the pkilab binary runs")
}

/// Bytes as text, lossily.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Standard output of a run that must succeed.
pub fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
