//! Exact decimal numbers from P1 values.
//!
//! A meter sends fixed-point decimals (`000123.456*kWh`). Reading the digits as an integer and
//! dividing once by a power of ten gives the correctly rounded `f64` whenever the integer fits in
//! 53 bits and the power is at most 10^22 (both exactly representable), which covers every
//! P1 value; longer ones fall back to the standard library's parser. So `0.1` comes out as the
//! same `f64` as the literal `0.1`, and unit scaling (Wh to kWh) is exact as well.

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Splits `123.4*kWh` into the number and the unit (`None` when there is no `*`).
pub fn split_unit(value: &[u8]) -> (&[u8], Option<&[u8]>) {
    if let Some(p) = value.iter().position(|&b| b == b'*') {
        return (&value[..p], Some(&value[p + 1..]));
    }
    // `000123.456kWh`: a number, then letters right after it (no `*`).
    let number = value
        .iter()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+')))
        .unwrap_or(value.len());
    let unit = &value[number..];
    if number > 0 && !unit.is_empty() && unit.iter().all(u8::is_ascii_alphabetic) {
        (&value[..number], Some(unit))
    } else {
        (value, None)
    }
}

/// Parses a decimal (`-0012.340`) and divides it by `10^shift` (a negative shift multiplies).
/// `None` unless the text is an optional sign, digits, and at most one point with at least
/// one digit.
pub fn parse_decimal(text: &[u8], shift: i32) -> Option<f64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut mantissa: u64 = 0;
    let mut significant = 0u32;
    let mut fraction_digits: u32 = 0;
    let mut seen_point = false;
    let mut seen_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if mantissa > 0 || b != b'0' {
                    significant += 1;
                }
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                if seen_point {
                    fraction_digits += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if !seen_digit {
        return None;
    }
    let scale = fraction_digits as i32 + shift;
    let magnitude = match usize::try_from(scale) {
        // At most 15 significant digits: below 2^53, so exact as f64.
        Ok(scale) if significant <= 15 && scale < POW10.len() => mantissa as f64 / POW10[scale],
        _ => slow_parse(digits, shift)?,
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn slow_parse(digits: &[u8], shift: i32) -> Option<f64> {
    let text = std::str::from_utf8(digits).ok()?;
    format!("{text}e{}", -shift).parse().ok()
}

/// Parses unsigned decimal digits (`00015`). `None` for anything else or on overflow.
pub fn parse_unsigned(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal(b"000000.915", 0), Some(0.915));
        assert_eq!(parse_decimal(b"000.27", 0), Some(0.27));
        assert_eq!(parse_decimal(b"0230.0", 0), Some(230.0));
        assert_eq!(parse_decimal(b"005017120", 3), Some(5017.12));
        assert_eq!(parse_decimal(b"001688.21", 3), Some(1.68821));
        assert_eq!(
            parse_decimal(b"00032549.5061662", 0),
            Some(32_549.506_166_2)
        );
        assert_eq!(parse_decimal(b"-1.5", 0), Some(-1.5));
        assert_eq!(parse_decimal(b"0.231", -3), Some(231.0));
        assert_eq!(parse_decimal(b"1200", 3), Some(1.2));
        assert_eq!(parse_decimal(b"7", 0), Some(7.0));
        assert_eq!(
            parse_decimal(b"12345678901234567890.5", 0),
            Some(12_345_678_901_234_567_890.5)
        );
    }

    #[test]
    fn non_numbers_are_refused() {
        for bad in [
            &b""[..],
            b".",
            b"-",
            b"1.2.3",
            b"1e5",
            b"12a",
            b" 1",
            b"1,5",
        ] {
            assert_eq!(
                parse_decimal(bad, 0),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn unsigned_integers() {
        assert_eq!(parse_unsigned(b"0001"), Some(1));
        assert_eq!(parse_unsigned(b"2147583646"), Some(2_147_583_646));
        assert_eq!(parse_unsigned(b"99999999999999999999"), None);
        assert_eq!(parse_unsigned(b"1.0"), None);
        assert_eq!(parse_unsigned(b""), None);
    }

    #[test]
    fn units_split_at_the_star() {
        assert_eq!(split_unit(b"001.19*kW"), (&b"001.19"[..], Some(&b"kW"[..])));
        assert_eq!(split_unit(b"00000000"), (&b"00000000"[..], None));
        // Issue 12: some meters write the unit without the star.
        assert_eq!(
            split_unit(b"000123.456kWh"),
            (&b"000123.456"[..], Some(&b"kWh"[..]))
        );
        // Hex and mixed text is no number with a unit.
        assert_eq!(split_unit(b"4B38"), (&b"4B38"[..], None));
        assert_eq!(split_unit(b"AUX1"), (&b"AUX1"[..], None));
    }

    proptest! {
        #[test]
        fn agrees_with_the_standard_parser(int in 0u64..10_000_000_000, frac in 0u64..1_000_000_000, width in 0usize..10, shift in -3i32..4) {
            let text = if width == 0 { int.to_string() } else { format!("{int}.{frac:0width$}") };
            let text = if width > 0 { text[..text.len().min(int.to_string().len() + 1 + width)].to_string() } else { text };
            let expected: f64 = format!("{text}e{}", -shift).parse().unwrap();
            prop_assert_eq!(parse_decimal(text.as_bytes(), shift), Some(expected));
        }
    }
}
