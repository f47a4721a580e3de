//! Telegrams with a correct CRC, built line by line.

use std::fmt::Write as _;

use p1_common::protocol::crc::crc16;

/// Builds `/HEADER`, a blank line, the object lines, `!` and the CRC, CRLF throughout.
#[derive(Debug, Clone)]
pub struct TelegramBuilder {
    text: String,
}

impl TelegramBuilder {
    pub fn new(header: &str) -> Self {
        TelegramBuilder {
            text: format!("/{header}\r\n\r\n"),
        }
    }

    /// One object line, e.g. `line("1-0:1.7.0(00.512*kW)")`.
    #[must_use]
    pub fn line(mut self, line: &str) -> Self {
        self.text.push_str(line);
        self.text.push_str("\r\n");
        self
    }

    /// The whole telegram, its CRC over `/` through `!`.
    pub fn build(mut self) -> String {
        self.text.push('!');
        let crc = crc16(self.text.as_bytes());
        let _ = write!(self.text, "{crc:04X}\r\n");
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::TelegramBuilder;

    #[test]
    fn the_crc_covers_slash_to_bang() {
        let t = TelegramBuilder::new("X5")
            .line("1-0:1.7.0(00.512*kW)")
            .build();
        assert!(t.starts_with("/X5\r\n\r\n1-0:1.7.0(00.512*kW)\r\n!"));
        let body = &t[..=t.find('!').unwrap()];
        let crc = p1_common::protocol::crc::crc16(body.as_bytes());
        assert!(t.ends_with(&format!("!{crc:04X}\r\n")));
    }
}
