//! Ids as meters and their clients write them: bytes in hex, and short stable hashes.

use std::fmt::Write as _;

/// Bytes in upper-case hex, as a telegram carries an equipment id (`1SAG` is `31534147`).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// FNV-1a (64 bits): a short name that stays the same for the same bytes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_hashes() {
        assert_eq!(hex(b"1SAG"), "31534147");
        assert_eq!(hex(&[0x00, 0xAB]), "00AB");
        // The published FNV-1a test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
