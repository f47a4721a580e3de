//! The gzip body of a batch, its compressor and buffers kept from batch to batch: a fresh
//! compressor zeroes some 300 KB of tables, more work than compressing a batch of readings.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// A gzip member's header: deflate, no name, no time, an unknown system.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

#[derive(Debug)]
pub(crate) struct Gzip {
    deflate: Compress,
    text: Vec<u8>,
    body: Vec<u8>,
}

impl Gzip {
    pub(crate) fn new() -> Self {
        Gzip {
            deflate: Compress::new(Compression::fast(), false),
            text: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `lines`, each with its line end, gzipped.
    ///
    /// # Errors
    /// The compressor's (not seen: its input and output are memory).
    pub(crate) fn of(&mut self, lines: &[&str]) -> Result<&[u8], flate2::CompressError> {
        self.text.clear();
        for line in lines {
            self.text.extend_from_slice(line.as_bytes());
            self.text.push(b'\n');
        }
        let mut crc = Crc::new();
        crc.update(&self.text);
        self.deflate.reset();
        self.body.clear();
        self.body.extend_from_slice(&HEADER);
        // Compressed in one call where the room suffices (each call clears all the room it
        // is given, so not in many small ones).
        let mut input = &self.text[..];
        loop {
            self.body.reserve(input.len() / 2 + 1024);
            let taken = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut self.body, FlushCompress::Finish)?;
            input = &input[(self.deflate.total_in() - taken) as usize..];
            if status == Status::StreamEnd {
                break;
            }
        }
        self.body.extend_from_slice(&crc.sum().to_le_bytes());
        self.body.extend_from_slice(&crc.amount().to_le_bytes());
        Ok(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn gunzip(body: &[u8]) -> String {
        let mut text = String::new();
        flate2::read::GzDecoder::new(body)
            .read_to_string(&mut text)
            .expect("gzip");
        text
    }

    #[test]
    fn batch_after_batch_each_body_is_its_own_gzip() {
        let mut gzip = Gzip::new();
        let long = "p1,meter_id=M power_import_kw=1.5 1717236000".repeat(300);
        for batch in [
            vec!["a=1", "b=2"],
            vec![],
            vec![long.as_str(), "c"],
            vec!["a=1", "b=2"],
        ] {
            let body = gzip.of(&batch).expect("compressed").to_vec();
            let text: String = batch.iter().map(|line| format!("{line}\n")).collect();
            assert_eq!(gunzip(&body), text);
        }
    }
}
