//! The P1 protocol: whole telegrams out of a byte stream ([`frame`]) with their CRC
//! ([`crc`]), split into OBIS objects ([`obis`]) whose values are exact decimals
//! ([`number`]), meter timestamps ([`meter_time`]) and the other value formats
//! ([`values`], and whole objects in [`objects`]), decoded into a reading ([`decode`]).

pub mod crc;
pub mod decode;
pub mod frame;
pub mod meter_time;
pub mod number;
pub mod obis;
pub mod objects;
pub(crate) mod recent;
pub(crate) mod scan;
pub mod values;
