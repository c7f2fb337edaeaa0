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

    /// `pkilab verify` trusting this CA's root, offered its issuing CA, with
    /// `extra` options.
    pub fn verify(&self, extra: &[&str], leaf: &Path) -> Output {
        let root = self.path("root.crt");
        let issuing = self.path("issuing.crt");
        let mut args = vec!["verify", "--trust", s(&root), "--untrusted", s(&issuing)];
        args.extend_from_slice(extra);
        args.push(s(leaf));
        pkilab(&args)
    }

    /// This CA's OCSP response about `leaf`: `openssl ocsp` writes the
    /// request (naming this CA as issuer), `pkilab ca ocsp` answers; both
    /// files go into `dir` as NAME.req and NAME.resp.
    pub fn ocsp_response(&self, leaf: &Path, name: &str, dir: &Path) -> PathBuf {
        let request = dir.join(format!("{name}.req"));
        let response = dir.join(format!("{name}.resp"));
        let issuing = self.path("issuing.crt");
        ok(&openssl(
            &[
                "ocsp",
                "-issuer",
                s(&issuing),
                "-cert",
                s(leaf),
                "-reqout",
                s(&request),
            ],
            PASSPHRASE,
        ));
        ok(&pkilab(&[
            "ca",
            "ocsp",
            "--dir",
            s(&self.dir),
            "--request",
            s(&request),
            "--out",
            s(&response),
        ]));
        response
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
