//! An encrypted meter's keys, read from files (never from argv, never logged).

/// The authentication key every Smarty uses.
pub(crate) const SMARTY_AUTH_KEY: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
];

/// A meter's keys.
#[derive(Clone)]
#[cfg_attr(not(feature = "encryption"), allow(dead_code))]
pub(crate) struct Keys {
    pub(crate) encryption: [u8; 16],
    pub(crate) authentication: [u8; 16],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.write_str("Keys(..)")
    }
}

/// 32 hex digits as a key.
pub(crate) fn parse_key(text: &str) -> Option<[u8; 16]> {
    let text = text.trim();
    if text.len() != 32 {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

/// A key from a file (its permissions checked as every secret's).
pub(crate) fn read_key(path: &std::path::Path, flag: &str) -> Result<[u8; 16], p1_common::Error> {
    let text = p1_common::runtime::secret::read(path)?;
    parse_key(&text).ok_or_else(|| {
        p1_common::Error::config(format!(
            "{flag} {}: not a key: 32 hexadecimal digits expected",
            path.display()
        ))
    })
}

/// The keys of `--key-file` and `--auth-key-file` (the Smarty's by default).
pub(crate) fn read_keys(
    key_file: &std::path::Path,
    auth_key_file: Option<&std::path::Path>,
) -> Result<Keys, p1_common::Error> {
    Ok(Keys {
        encryption: read_key(key_file, "--key-file")?,
        authentication: match auth_key_file {
            Some(path) => read_key(path, "--auth-key-file")?,
            None => SMARTY_AUTH_KEY,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_hex_digits() {
        assert_eq!(
            parse_key("00112233445566778899AABBCCDDEEFF"),
            Some(SMARTY_AUTH_KEY)
        );
        assert_eq!(
            parse_key(" 00112233445566778899aabbccddeeff\n"),
            Some(SMARTY_AUTH_KEY)
        );
        assert_eq!(parse_key("0011"), None);
        assert_eq!(parse_key("zz112233445566778899AABBCCDDEEFF"), None);
    }
}
