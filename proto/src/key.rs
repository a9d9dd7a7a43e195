//! The cluster key: the one secret every node shares, from which the keys that encrypt and
//! authenticate every datagram and state transfer are derived. It never appears in `Debug` output or error messages.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use serde::Deserialize;

/// Length of a cluster key in bytes: ChaCha20's key size, and SHA-256's output size (the input
/// HKDF-SHA256 derives the working keys from).
pub const KEY_LEN: usize = 32;

/// The 32-byte secret shared by every node of a cluster; written in configuration as 64 hex
/// characters. Holding it is what makes a datagram trusted, so it is not printable by accident:
/// `Debug` shows `ClusterKey(..)` and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ClusterKey([u8; KEY_LEN]);

/// Why a configured cluster key was refused. Positions only, never the offending characters, so
/// the error is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not exactly 64 characters long (surrounding whitespace is ignored).
    #[error("cluster key must be 64 hex characters, found {0}")]
    WrongLength(usize),
    /// A character is not a hex digit.
    #[error("cluster key has a non-hex character at position {0}")]
    NotHex(usize),
}

impl ClusterKey {
    /// A key from raw bytes, for tests and for callers that store keys in binary form.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        ClusterKey(bytes)
    }

    /// A fresh random key from the thread's CSPRNG, for `keygen`-style setup commands.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        ClusterKey(bytes)
    }

    /// The key as 64 lowercase hex characters, to write a configuration file. Deliberately a
    /// named method rather than `Display`, so printing the key is never an accident.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(2 * KEY_LEN);
        for byte in self.0 {
            out.push(DIGITS[usize::from(byte >> 4)] as char);
            out.push(DIGITS[usize::from(byte & 0x0f)] as char);
        }
        out
    }

    /// The raw key, for the codec's key derivation.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

impl FromStr for ClusterKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        // Counted in chars so that multi-byte input gets a length error, not a confusing one.
        let chars = text.chars().count();
        if chars != 2 * KEY_LEN || text.len() != 2 * KEY_LEN {
            return Err(KeyError::WrongLength(chars));
        }
        let digits = text.as_bytes();
        let mut bytes = [0u8; KEY_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let high = hex_value(digits[2 * i]).ok_or(KeyError::NotHex(2 * i))?;
            let low = hex_value(digits[2 * i + 1]).ok_or(KeyError::NotHex(2 * i + 1))?;
            *byte = (high << 4) | low;
        }
        Ok(ClusterKey(bytes))
    }
}

impl TryFrom<String> for ClusterKey {
    type Error = KeyError;

    fn try_from(text: String) -> Result<Self, KeyError> {
        text.parse()
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1F";

    #[test]
    fn parses_64_hex_characters_either_case() {
        let key: ClusterKey = HEX.parse().unwrap();
        let mut expected = [0u8; KEY_LEN];
        for (i, b) in expected.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(key, ClusterKey::from_bytes(expected));
        assert_eq!(key.to_hex(), HEX.to_lowercase());
        assert_eq!(format!("  {HEX}\n").parse::<ClusterKey>().unwrap(), key);
    }

    #[test]
    fn refuses_wrong_length_and_non_hex_with_a_clear_error() {
        assert_eq!("".parse::<ClusterKey>(), Err(KeyError::WrongLength(0)));
        assert_eq!(
            HEX[..63].parse::<ClusterKey>(),
            Err(KeyError::WrongLength(63))
        );
        assert_eq!(
            format!("{HEX}0").parse::<ClusterKey>(),
            Err(KeyError::WrongLength(65))
        );
        let bad = format!("{}g{}", &HEX[..10], &HEX[11..]);
        assert_eq!(bad.parse::<ClusterKey>(), Err(KeyError::NotHex(10)));
        let multibyte = format!("é{}", &HEX[2..]);
        assert_eq!(
            multibyte.parse::<ClusterKey>(),
            Err(KeyError::WrongLength(63))
        );
        assert!(
            KeyError::WrongLength(3)
                .to_string()
                .contains("64 hex characters")
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key: ClusterKey = HEX.parse().unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "ClusterKey(..)");
    }

    #[test]
    fn generated_keys_differ_and_round_trip_through_hex() {
        let a = ClusterKey::generate();
        let b = ClusterKey::generate();
        assert_ne!(a, b);
        assert_eq!(a.to_hex().parse::<ClusterKey>().unwrap(), a);
    }
}
