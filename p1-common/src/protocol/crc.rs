//! CRC-16/ARC of a P1 telegram, computed over the bytes from `/` through `!`.

use crc::{CRC_16_ARC, Crc, Table};

/// The algorithm's slice-by-16 tables, from the crc crate (which checks them against the
/// catalogue). Its own loop indexes them with a bounds check per byte; ours below takes 16
/// bytes a step without one: the CRC is the one per-byte cost every telegram pays twice
/// (p1-read and p1-parse).
const ARC: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_ARC);
static TABLES: [[u16; 256]; 16] = *ARC.table();

/// CRC-16/ARC of `bytes` as they are.
pub fn crc16(bytes: &[u8]) -> u16 {
    update(0, bytes)
}

/// The CRC state after `bytes` (CRC-16/ARC: reflected, no initial value, no final XOR).
fn update(mut crc: u16, bytes: &[u8]) -> u16 {
    let tables = &TABLES;
    let (blocks, rest) = bytes.as_chunks::<16>();
    for b in blocks {
        let [lo, hi] = crc.to_le_bytes();
        let t = |k: usize, byte: u8| tables[k][usize::from(byte)];
        crc = t(15, b[0] ^ lo)
            ^ t(14, b[1] ^ hi)
            ^ t(13, b[2])
            ^ t(12, b[3])
            ^ t(11, b[4])
            ^ t(10, b[5])
            ^ t(9, b[6])
            ^ t(8, b[7])
            ^ t(7, b[8])
            ^ t(6, b[9])
            ^ t(5, b[10])
            ^ t(4, b[11])
            ^ t(3, b[12])
            ^ t(2, b[13])
            ^ t(1, b[14])
            ^ t(0, b[15]);
    }
    for &byte in rest {
        crc = (crc >> 8) ^ tables[0][usize::from(crc.to_le_bytes()[0] ^ byte)];
    }
    crc
}

/// CRC-16/ARC of `bytes` with every bare LF read as CRLF: the form a meter sent when a capture
/// was saved with its CRs stripped.
pub fn crc16_as_crlf(bytes: &[u8]) -> u16 {
    let mut crc = 0;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            crc = update(crc, &bytes[start..i]);
            crc = update(crc, b"\r\n");
            start = i + 1;
        }
    }
    update(crc, &bytes[start..])
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
    fn sixteen_bytes_a_step_give_the_crc_of_the_crate_at_every_length() {
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 37 + i / 7) as u8).collect();
        for len in 0..bytes.len() {
            assert_eq!(crc16(&bytes[..len]), ARC.checksum(&bytes[..len]), "{len}");
        }
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
