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

crate::record_type! {
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct TelegramEnvelope<'a> ("telegram", "A whole telegram as p1-read received it (p1-read, one a telegram, written the moment its CRC line arrives).") {
        #[serde(borrow)]
        received: Cow<'a, str> => "when p1-read received it (RFC 3339, milliseconds, local time)",
        #[serde(borrow)]
        source: Cow<'a, str> => "where it came from, as p1-read was told (a device, tcp://HOST:PORT, a file, sim)",
        #[serde(borrow)]
        telegram: Cow<'a, str> => "the exact text from / through the CRC and its line end",
        #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
        invalid: Option<Cow<'a, str>> => "why the frame is not valid, when p1-read --keep-invalid passed it on",
        #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
        system_title: Option<Cow<'a, str>> => "an encrypted meter's system title, in hex",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame_counter: Option<u32> => "an encrypted meter's frame counter",
    }
}

impl TelegramEnvelope<'_> {
    /// The envelope, owning its text.
    #[must_use]
    pub fn into_owned(self) -> TelegramEnvelope<'static> {
        TelegramEnvelope {
            received: Cow::Owned(self.received.into_owned()),
            source: Cow::Owned(self.source.into_owned()),
            telegram: Cow::Owned(self.telegram.into_owned()),
            invalid: self.invalid.map(|i| Cow::Owned(i.into_owned())),
            system_title: self.system_title.map(|t| Cow::Owned(t.into_owned())),
            frame_counter: self.frame_counter,
        }
    }
}
