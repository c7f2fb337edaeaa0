//! Reading certificates and CRLs from files that hold PEM (one or more
//! blocks) or a single DER object.

use crate::error::Error;

/// Every block with `label` in `bytes`; a file without PEM markers is taken
/// as one DER object.
pub fn blocks(bytes: &[u8], label: &str) -> Result<Vec<Vec<u8>>, Error> {
    let looks_like_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    if !looks_like_pem {
        if bytes.is_empty() {
            return Err(Error::Pem("the file is empty".into()));
        }
        return Ok(vec![bytes.to_vec()]);
    }
    let parsed = pem::parse_many(bytes).map_err(|e| Error::Pem(format!("broken PEM: {e}")))?;
    let found: Vec<Vec<u8>> = parsed
        .into_iter()
        .filter(|p| p.tag() == label)
        .map(pem::Pem::into_contents)
        .collect();
    if found.is_empty() {
        return Err(Error::Pem(format!(
            "no complete '{label}' PEM block: the file is truncated or holds something else"
        )));
    }
    Ok(found)
}
