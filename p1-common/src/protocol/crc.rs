//! CRC-16/ARC of a P1 telegram, computed over the bytes from `/` through `!`.

use crc::{CRC_16_ARC, Crc, Table};

/// Slice-by-16 tables: the CRC is the one per-byte cost every telegram pays twice (p1-read and
/// p1-parse), so the faster variant is worth its 8 KiB of tables.
const ARC: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_ARC);

/// CRC-16/ARC of `bytes` as they are.
pub fn crc16(bytes: &[u8]) -> u16 {
    ARC.checksum(bytes)
}

/// CRC-16/ARC of `bytes` with every bare LF read as CRLF: the form a meter sent when a capture
/// was saved with its CRs stripped.
pub fn crc16_as_crlf(bytes: &[u8]) -> u16 {
    let mut digest = ARC.digest();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            digest.update(&bytes[start..i]);
            digest.update(b"\r\n");
            start = i + 1;
        }
    }
    digest.update(&bytes[start..]);
    digest.finalize()
}

/// Whether `bytes` holds an LF that is not preceded by a CR.
pub fn has_bare_lf(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_of_crc_16_arc() {
        assert_eq!(crc16(b"123456789"), 0xBB3D);
    }

    #[test]
    fn crlf_form_equals_crc_of_the_converted_text() {
        let lf = b"/X\n\n1-0:1.8.1(1*kWh)\n!";
        let crlf = b"/X\r\n\r\n1-0:1.8.1(1*kWh)\r\n!";
        assert_eq!(crc16_as_crlf(lf), crc16(crlf));
        assert_eq!(crc16_as_crlf(crlf), crc16(crlf));
        assert!(has_bare_lf(lf));
        assert!(!has_bare_lf(crlf));
    }
}
