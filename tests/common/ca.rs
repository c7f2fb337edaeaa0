//! A CA made through the real `pkilab` binary, and OpenSSL beside it, for
//! the end-to-end CA tests.
#![allow(dead_code, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{ok, s};

pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn pkilab(args: &[&str]) -> Output {
    super::run(args, PASSPHRASE)
}

pub fn openssl(args: &[&str], passphrase: &str) -> Output {
    Command::new("openssl")
        .args(args)
        .env("PKILAB_PASSPHRASE", passphrase)
        .output()
        .expect("openssl is installed")
}

pub struct Pki {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub root: PathBuf,
}

impl Pki {
    pub fn new(algorithm: &str) -> Pki {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("ca");
        ok(&pkilab(&[
            "ca",
            "init",
            "--dir",
            s(&dir),
            "--name",
            "Example Root CA",
            "--intermediate",
            "Example Issuing CA",
            "--algorithm",
            algorithm,
        ]));
        Pki {
            root: tmp.path().to_path_buf(),
            _tmp: tmp,
            dir,
        }
    }

    pub fn issue(&self, name: &str) -> PathBuf {
        let prefix = self.root.join(name);
        let dns = format!("{name}.example");
        ok(&pkilab(&[
            "ca",
            "issue",
            "--dir",
            s(&self.dir),
            "--name",
            name,
            "--dns",
            &dns,
            "--server",
            "--client",
            "--out",
            s(&prefix),
        ]));
        prefix
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

pub fn with(prefix: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", prefix.display()))
}

pub fn crl_blocks(pem: &str) -> Vec<String> {
    pem.split_inclusive("-----END X509 CRL-----\n")
        .filter(|b| b.contains("BEGIN X509 CRL"))
        .map(str::to_owned)
        .collect()
}

pub fn openssl_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("openssl runs")
}
