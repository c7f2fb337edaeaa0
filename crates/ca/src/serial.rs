//! Certificate serial numbers (RFC 5280 §4.1.2.2): positive, unique per
//! issuer, at most 20 octets. We always use 20 random octets with the top
//! bit cleared, so the DER INTEGER is positive and never longer than 20.

use std::fmt;
use std::str::FromStr;

use crate::error::RequestError;

/// A certificate serial number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// 20 random octets from the system generator, made positive.
    pub fn random() -> Serial {
        let mut bytes = [0u8; 20];
        // The system RNG failing is not recoverable: no serial can be made.
        aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
        Serial::from_bytes(bytes)
    }

    /// A serial from 20 chosen octets (seeded simulations), made positive and
    /// non-zero.
    pub fn from_bytes(mut bytes: [u8; 20]) -> Serial {
        bytes[0] &= 0x7f;
        if bytes[0] == 0 {
            // Keep the full 20 octets so serials are fixed-width and distinct.
            bytes[0] = 0x01;
        }
        Serial(bytes.to_vec())
    }

    /// A serial as read from an existing certificate or CRL (leading zero
    /// octets of the DER INTEGER removed).
    pub fn from_der_integer(bytes: &[u8]) -> Serial {
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len().saturating_sub(1));
        Serial(bytes[start..].to_vec())
    }

    /// The big-endian octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn to_rcgen(&self) -> rcgen::SerialNumber {
        rcgen::SerialNumber::from_slice(&self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({self})")
    }
}

impl FromStr for Serial {
    type Err = RequestError;

    /// Hex, optionally with `:` separators (as `openssl x509 -serial` and
    /// `-text` print them).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let cleaned: String = text.trim().chars().filter(|c| *c != ':').collect();
        let cleaned = cleaned.strip_prefix("0x").unwrap_or(&cleaned);
        let padded = if cleaned.len() % 2 == 1 {
            format!("0{cleaned}")
        } else {
            cleaned.to_owned()
        };
        let bytes =
            hex::decode(&padded).map_err(|_| RequestError::InvalidSerial(text.to_owned()))?;
        let serial = Serial::from_der_integer(&bytes);
        if serial.0.iter().all(|b| *b == 0) || serial.0.len() > 20 {
            return Err(RequestError::InvalidSerial(text.to_owned()));
        }
        Ok(serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_are_positive_twenty_octets_and_distinct() {
        let a = Serial::random();
        let b = Serial::random();
        assert_eq!(a.as_bytes().len(), 20);
        assert!(a.as_bytes()[0] & 0x80 == 0 && a.as_bytes()[0] != 0);
        assert_ne!(a, b);
    }

    #[test]
    fn hex_round_trips_with_or_without_colons() {
        let s = Serial::from_bytes([0xab; 20]);
        assert_eq!(s.as_bytes()[0], 0x2b);
        let text = s.to_string();
        assert_eq!(text.parse::<Serial>().ok(), Some(s.clone()));
        let colons = s
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colons.parse::<Serial>().ok(), Some(s));
    }

    #[test]
    fn refuses_bad_serials() {
        for bad in ["", "zz", "00", &"11".repeat(21)] {
            assert!(bad.parse::<Serial>().is_err(), "{bad}");
        }
    }
}
