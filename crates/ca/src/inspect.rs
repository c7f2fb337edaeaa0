//! Reading certificates back: names and fields for people and for the CA.

use x509_parser::x509::X509Name;

/// The first common name of an X.509 name, if any.
pub fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}
