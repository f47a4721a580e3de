//! The telegram envelope p1-read writes, one a line, and p1-parse reads:
//!
//! ```json
//! {"type":"telegram","received":"2020-05-12T13:54:10.012+02:00","source":"/dev/ttyUSB0","telegram":"/FLU5\\253769484_A\r\n...!3AD7\r\n"}
//! ```
//!
//! `telegram` is the exact text from `/` through the CRC and its line end. A frame passed on by
//! `p1-read --keep-invalid` carries `"invalid":"<why>"`. A telegram decrypted from an
//! encrypted meter's frame carries the frame's `system_title` (hex) and `frame_counter`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Written with `"type":"telegram"` first; read as [`crate::record::Record::Telegram`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "telegram")]
pub struct TelegramEnvelope<'a> {
    #[serde(borrow)]
    pub received: Cow<'a, str>,
    #[serde(borrow)]
    pub source: Cow<'a, str>,
    #[serde(borrow)]
    pub telegram: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    pub invalid: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    pub system_title: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_counter: Option<u32>,
}
