//! Where a passphrase comes from: `--passphrase-file`, then `PKILAB_PASSPHRASE`,
//! or a prompt when standard input is a terminal, in that order.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// The environment variable that carries the passphrase.
pub const ENV: &str = "PKILAB_PASSPHRASE";

/// Reads the passphrase. With `confirm`, a prompted passphrase is asked twice.
pub fn obtain(file: Option<&Path>, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read passphrase file {}", path.display()))?,
        );
        let line = text.lines().next().unwrap_or_default();
        if line.is_empty() {
            bail!(
                "passphrase file {} is empty: write the passphrase on its first line",
                path.display()
            );
        }
        return Ok(Zeroizing::new(line.to_owned()));
    }
    if let Ok(value) = std::env::var(ENV) {
        if value.is_empty() {
            bail!("{ENV} is set but empty: set it to the passphrase, or unset it to be prompted");
        }
        return Ok(Zeroizing::new(value));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: set {ENV}, or pass --passphrase-file FILE");
    }
    let first = Zeroizing::new(rpassword::prompt_password("Passphrase: ")?);
    if first.is_empty() {
        bail!("empty passphrase: choose a non-empty one");
    }
    if confirm {
        let second = Zeroizing::new(rpassword::prompt_password("Repeat passphrase: ")?);
        if *first != *second {
            bail!("the two passphrases differ: run the command again");
        }
    }
    Ok(first)
}
