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
    let mut point = None;
    for (i, &b) in digits.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit < 10 {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
        } else if b == b'.' && point.is_none() {
            point = Some(i);
        } else {
            return None;
        }
    }
    let count = digits.len() - usize::from(point.is_some());
    if count == 0 {
        return None;
    }
    let fraction_digits = point.map_or(0, |p| digits.len() - p - 1);
    let scale = fraction_digits as i32 + shift;
    let magnitude = match usize::try_from(scale) {
        // 19 digits cannot overflow; below 2^53 the integer is exact as f64, and so is the
        // one division by an exact power of ten.
        Ok(scale) if count <= 19 && mantissa < 1 << 53 && scale < POW10.len() => {
            mantissa as f64 / POW10[scale]
        }
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

/// A float that is a decimal of at most nine places, as a meter's values are, in its shortest
/// form: the digits and where the point goes. Written straight from those, it is the text
/// Rust's `Display` gives (the shortest that reads back, never an exponent), at a fraction of
/// the cost (p1-influx writes every value so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    digits: u64,
    places: usize,
    negative: bool,
}

impl Decimal {
    /// `None` for zero, for magnitudes below 10^-4 or from 10^9, and for floats of more
    /// places.
    pub fn of(v: f64) -> Option<Decimal> {
        let magnitude = v.abs();
        let negative = v < 0.0;
        if (1e-4..1e6).contains(&magnitude) {
            // Scaled to nine places, any decimal of up to nine that reads back as this float is
            // within 0.06 of a whole number (the float's spacing is below 1.2e-10 here), and
            // it is the same one for all of them: that number without its trailing zeros is the
            // shortest, if one reads back at all.
            let mut digits = (magnitude * 1e9 + 0.5) as u64;
            let mut places = 9;
            for (power, zeros) in [(100_000_000, 8), (10_000, 4), (100, 2), (10, 1)] {
                if places >= zeros && digits.is_multiple_of(power) {
                    digits /= power;
                    places -= zeros;
                }
            }
            return (digits as f64 / POW10[places] == magnitude).then_some(Decimal {
                digits,
                places,
                negative,
            });
        }
        if !(1e6..1e9).contains(&magnitude) {
            return None;
        }
        // The fewest places that read back: below 2^53 the scaled value is exact, so the
        // division is what a parser of that text gives (above it, digits would be lost).
        for (places, power) in POW10[..10].iter().enumerate() {
            let scaled = (magnitude * power).round();
            if scaled >= 9_007_199_254_740_992.0 {
                return None;
            }
            if scaled / power == magnitude {
                return Some(Decimal {
                    digits: scaled as u64,
                    places,
                    negative,
                });
            }
        }
        None
    }

    /// The decimal's text (`-12.345`, `7`).
    pub fn text(self) -> DecimalText {
        let mut text = [b'0'; 24];
        let mut at = text.len();
        let mut rest = self.digits;
        // From the last digit: the fraction one by one, the point, the whole part by pairs.
        if self.places > 0 {
            for _ in 0..self.places {
                at -= 1;
                text[at] = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            at -= 1;
            text[at] = b'.';
        }
        while rest >= 100 {
            at -= 2;
            text[at..at + 2].copy_from_slice(&PAIRS[(rest % 100) as usize]);
            rest /= 100;
        }
        if rest >= 10 {
            at -= 2;
            text[at..at + 2].copy_from_slice(&PAIRS[rest as usize]);
        } else {
            // A lone digit, or the 0 of `0.034`.
            at -= 1;
            text[at] = b'0' + rest as u8;
        }
        if self.negative {
            at -= 1;
            text[at] = b'-';
        }
        DecimalText { text, start: at }
    }
}

/// "00" to "99": two digits by one lookup, for the numbers and timestamps every reading
/// writes.
pub(crate) const PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

/// The text of a [`Decimal`], on the stack.
#[derive(Debug, Clone, Copy)]
pub struct DecimalText {
    text: [u8; 24],
    start: usize,
}

impl DecimalText {
    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text[self.start..]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Digits, a point and a sign only.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
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

    #[test]
    fn decimals_are_written_as_rust_writes_floats() {
        let text = |v: f64| {
            Decimal::of(v)
                .expect("a decimal")
                .text()
                .as_str()
                .to_string()
        };
        for v in [
            15.758,
            0.0001,
            0.1,
            1000.0,
            -1.5,
            234.7,
            999_999_999.5,
            0.034,
            2589.0,
        ] {
            assert_eq!(text(v), format!("{v}"), "{v}");
        }
        assert_eq!(Decimal::of(0.0), None);
        assert_eq!(Decimal::of(1e9), None);
        assert_eq!(Decimal::of(0.1 + 0.2), None, "17 significant digits");
    }

    proptest! {
        /// Every meter-like value is written as Rust writes it.
        #[test]
        fn decimals_read_from_text_are_written_back_as_serde_json_does(
            int in 0u64..1_000_000_000, frac in 0u64..1_000_000, places in 0usize..7, shift in 0i32..4, negative: bool,
        ) {
            let text = if places == 0 { int.to_string() } else { format!("{int}.{:0places$}", frac % 10u64.pow(places as u32)) };
            let text = if negative { format!("-{text}") } else { text };
            let v = parse_decimal(text.as_bytes(), shift).unwrap();
            if let Some(decimal) = Decimal::of(v) {
                let text = decimal.text();
                prop_assert_eq!(text.as_str(), format!("{v}"));
            } else {
                prop_assert!(v.abs() < 1e-4 || v.abs() >= 1e9, "{}", v);
            }
        }

        /// Any float at all: where it is taken for a decimal, the text is Rust's.
        #[test]
        fn any_float_taken_for_a_decimal_is_written_as_rust_does(v in any::<f64>()) {
            if let Some(decimal) = Decimal::of(v) {
                let text = decimal.text();
                prop_assert_eq!(text.as_str(), format!("{v}"));
            }
        }

        /// Any text: a number exactly when it has the grammar, and then the standard parser's
        /// value (which rounds correctly).
        #[test]
        fn reads_what_the_grammar_allows_as_the_standard_parser_does(
            text in "[-+]?[0.5-9]{0,18}(\\.[0-9]{0,6})?[.a]?",
            shift in -3i32..4,
        ) {
            let body = text.trim_start_matches(['-', '+']);
            let grammar = body.chars().all(|c| c.is_ascii_digit() || c == '.')
                && body.matches('.').count() <= 1
                && body.chars().any(|c| c.is_ascii_digit());
            let expected = grammar.then(|| format!("{text}e{}", -shift).parse::<f64>().unwrap());
            prop_assert_eq!(parse_decimal(text.as_bytes(), shift), expected);
        }

        #[test]
        fn agrees_with_the_standard_parser(int in 0u64..10_000_000_000, frac in 0u64..1_000_000_000, width in 0usize..10, shift in -3i32..4) {
            let text = if width == 0 { int.to_string() } else { format!("{int}.{frac:0width$}") };
            let text = if width > 0 { text[..text.len().min(int.to_string().len() + 1 + width)].to_string() } else { text };
            let expected: f64 = format!("{text}e{}", -shift).parse().unwrap();
            prop_assert_eq!(parse_decimal(text.as_bytes(), shift), Some(expected));
        }
    }
}
