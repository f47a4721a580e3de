//! Finding a byte in the short stretches a telegram is made of (a line, a value, a code):
//! eight bytes a step, inline, where a call to `memchr` would cost more in starting up than
//! it saves on a couple of dozen bytes.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The first `needle` in `haystack`.
#[inline]
pub(crate) fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
    let pattern = u64::from(needle) * ONES;
    let (words, rest) = haystack.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let x = u64::from_le_bytes(*word) ^ pattern;
        // The lowest byte equal to the needle (zero in x) sets its high bit first.
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(i * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let tail = rest.iter().position(|&b| b == needle)?;
    Some(words.len() * 8 + tail)
}

/// The first `a` or `b` in `haystack`.
#[inline]
pub(crate) fn find2(a: u8, b: u8, haystack: &[u8]) -> Option<usize> {
    let (pattern_a, pattern_b) = (u64::from(a) * ONES, u64::from(b) * ONES);
    let (words, rest) = haystack.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        let (x, y) = (word ^ pattern_a, word ^ pattern_b);
        let found = (x.wrapping_sub(ONES) & !x | y.wrapping_sub(ONES) & !y) & HIGHS;
        if found != 0 {
            return Some(i * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let tail = rest.iter().position(|&c| c == a || c == b)?;
    Some(words.len() * 8 + tail)
}

/// 1 to 16 bytes (a code, a timestamp) as one number, zero-padded (none packs to 0), read a word at a
/// time (two overlapping loads) rather than copied byte by byte.
pub(crate) fn pack16(code: &[u8]) -> Option<u128> {
    let n = code.len();
    let (low, high) = match n {
        1..=3 => (
            code.iter()
                .rev()
                .fold(0, |word, &b| word << 8 | u64::from(b)),
            0,
        ),
        4..=7 => {
            let first = u32::from_le_bytes(*code.first_chunk()?);
            let last = u32::from_le_bytes(*code.last_chunk()?);
            (u64::from(first) | u64::from(last) << (8 * (n - 4)), 0)
        }
        8..=16 => {
            let first = u64::from_le_bytes(*code.first_chunk()?);
            let last = u64::from_le_bytes(*code.last_chunk()?);
            (first, last.checked_shr(8 * (16 - n) as u32).unwrap_or(0))
        }
        _ => return None,
    };
    Some(u128::from(low) | u128::from(high) << 64)
}

/// A hash of a [`pack16`]ed key, its high bits the best mixed: both halves count (texts that
/// differ in a byte or two anywhere: codes, timestamps).
#[inline]
pub(crate) fn hash16(key: u128) -> u64 {
    let mix = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    mix.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn finds_what_a_plain_search_finds(haystack in proptest::collection::vec(any::<u8>(), 0..40), needle in any::<u8>()) {
            prop_assert_eq!(find(needle, &haystack), haystack.iter().position(|&b| b == needle));
        }

        #[test]
        fn finds_either_as_a_plain_search_does(haystack in proptest::collection::vec(any::<u8>(), 0..40), a in any::<u8>(), b in any::<u8>()) {
            prop_assert_eq!(find2(a, b, &haystack), haystack.iter().position(|&c| c == a || c == b));
        }
    }

    #[test]
    fn high_bytes_around_the_needle_neither_hide_nor_fake_it() {
        for at in 0..24 {
            let mut haystack = vec![0x80u8; 24];
            haystack[at] = b'(';
            assert_eq!(find(b'(', &haystack), Some(at));
            haystack[at] = b'(' + 0x80;
            assert_eq!(find(b'(', &haystack), None);
        }
        assert_eq!(find(0x00, &[0xFF, 0x01, 0x00]), Some(2));
        assert_eq!(find(0xFF, &[0xFE; 17]), None);
    }

    #[test]
    fn a_code_packs_as_its_bytes_zero_padded() {
        let text = b"0-0:96.13.0*255x";
        for n in 1..=16 {
            let mut padded = [0u8; 16];
            padded[..n].copy_from_slice(&text[..n]);
            assert_eq!(pack16(&text[..n]), Some(u128::from_le_bytes(padded)), "{n}");
        }
        assert_eq!(pack16(b""), None);
        assert_eq!(pack16(b"0-0:96.13.0*255xy"), None);
    }
}
