//! The macro that declares a reading type once, field by field.

/// Declares a reading type, once, field by field: `/// doc line` then
/// `key: Type = ["obis", ...] decoder,`. The struct (every field `Option<Type>`, plus `mbus`
/// and `unknown`) and its [`FieldTable`](crate::FieldTable) follow from that; it is written with
/// `"type":"reading"` first, and reads with or without it. It must declare `received`,
/// `header`, `meter_id` and `time`, which the decoder and the exporters use by name.
#[macro_export]
macro_rules! reading_fields {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident, keys $keys:ident {
            $( #[doc = $doc:literal] $field:ident : $ty:ty = [$($obis:literal),*] $decoder:expr, )*
        }
    ) => {
        #[derive(Debug, Clone, Default, PartialEq, $crate::serde::Serialize, $crate::serde::Deserialize)]
        #[serde(crate = "::p1_common::serde", tag = "type", rename = "reading")]
        $(#[$meta])*
        $vis struct $name {
            $(
                #[doc = $doc]
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "::p1_common::contract::reading_values::present")]
                pub $field: Option<$ty>,
            )*
            /// M-Bus devices (gas, water, heat), by channel.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub mbus: Vec<$crate::contract::reading_values::MbusDevice>,
            /// Objects the parser does not know or could not read, with their values as sent.
            #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            pub unknown: std::collections::BTreeMap<String, Vec<String>>,
            /// Storage kept for the next telegram (no part of the reading's value).
            #[serde(skip)]
            pub spare: $crate::contract::reading_values::Spare,
        }

        /// Every key of the reading, to name the ones a consumer reads (see
        /// [`Selection`](::p1_common::contract::select::Selection)).
        #[allow(non_camel_case_types, dead_code)]
        #[allow(missing_docs, reason = "each key is documented on its field")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $keys {
            $($field,)*
            mbus,
            unknown,
        }

        #[allow(dead_code)]
        impl $keys {
            /// The key of a name, if it is one.
            fn from_name(name: &str) -> Option<$keys> {
                Some(match name {
                    $(stringify!($field) => $keys::$field,)*
                    "mbus" => $keys::mbus,
                    "unknown" => $keys::unknown,
                    _ => return None,
                })
            }

            /// The selection of these keys.
            $vis const fn select(keys: &[$keys]) -> $crate::contract::select::Selection<$name> {
                let mut bits = 0u128;
                let mut i = 0;
                while i < keys.len() {
                    bits |= 1 << keys[i] as u32;
                    i += 1;
                }
                $crate::contract::select::Selection::from_bits(bits)
            }
        }

        const _: () = assert!(($keys::unknown as u32) < 128, "a Selection holds 128 keys");

        impl $crate::contract::json::WriteJson for $name {
            fn write_json(&self, out: &mut Vec<u8>) {
                $crate::contract::json::entry(out, $crate::json_key!(first "type"), &$crate::contract::json::TypeName("reading"));
                $(
                    if let Some(value) = &self.$field {
                        $crate::contract::json::entry(out, $crate::json_key!(stringify!($field)), value);
                    }
                )*
                if !self.mbus.is_empty() {
                    $crate::contract::json::entry(out, $crate::json_key!("mbus"), &self.mbus);
                }
                if !self.unknown.is_empty() {
                    $crate::contract::json::unknown(out, &self.unknown);
                }
                out.push(b'}');
            }
        }

        impl $crate::contract::select::Select for $name {
            fn deserialize_selected<'de, A: $crate::serde::de::MapAccess<'de>>(
                mut map: A,
                wanted: $crate::contract::select::Selection<Self>,
            ) -> Result<Self, A::Error> {
                use $crate::contract::select::{KeySeed, Present};
                use $crate::serde::de::IgnoredAny;
                let mut reading = $name::default();
                let mut seen = 0u128;
                while let Some(key) = map.next_key_seed(KeySeed($keys::from_name))? {
                    // A key twice is no reading p1 wrote, and which value holds is a guess.
                    if let Some(key) = key {
                        let bit = 1u128 << key as u32;
                        if seen & bit != 0 {
                            return Err($crate::serde::de::Error::custom(format_args!(
                                "the key `{key:?}` twice"
                            )));
                        }
                        seen |= bit;
                    }
                    match key {
                        Some(key) if wanted.has(key as u32) => match key {
                            $($keys::$field => reading.$field = map.next_value::<Present<$ty>>()?.0,)*
                            $keys::mbus => reading.mbus = map.next_value()?,
                            $keys::unknown => reading.unknown = map.next_value()?,
                        },
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(reading)
            }

            fn read_selected(line: &str, wanted: $crate::contract::select::Selection<Self>) -> Option<Self> {
                use $crate::contract::field::FieldValue as _;
                const KEYS: &[$keys] = &[$($keys::$field,)* $keys::mbus, $keys::unknown];
                static INDEX: std::sync::OnceLock<$crate::contract::json_scan::KeyIndex> = std::sync::OnceLock::new();
                std::thread_local! {
                    /// The last list or object of each key that has had one.
                    static KNOWN: std::cell::RefCell<Vec<(u16, Vec<u8>)>> = const { std::cell::RefCell::new(Vec::new()) };
                }
                let index = INDEX.get_or_init(|| $crate::contract::json_scan::KeyIndex::new(&[$(stringify!($field),)* "mbus", "unknown"]));
                let mut scanner = $crate::contract::json_scan::Scanner::new(line);
                scanner.expect(b'{')?;
                let mut reading = $name::default();
                let mut seen = 0u128;
                let mut first = true;
                KNOWN.with_borrow_mut(|known| {
                    while let Some(name) = scanner.key_of_member(first)? {
                        first = false;
                        let Some(place) = index.get(name) else {
                            // Another key (`type`, one of a newer stage): skipped, unless it
                            // is written with escapes and may be one of these.
                            if name.contains(&b'\\') {
                                return None;
                            }
                            scanner.value()?;
                            continue;
                        };
                        let key = KEYS[usize::from(place)];
                        let bit = 1u128 << key as u32;
                        if seen & bit != 0 {
                            return None;
                        }
                        seen |= bit;
                        let value = scanner.value_of_member(|| {
                            let at = match known.iter().position(|(p, _)| *p == place) {
                                Some(at) => at,
                                None => {
                                    known.push((place, Vec::new()));
                                    known.len() - 1
                                }
                            };
                            &mut known[at].1
                        })?;
                        if !wanted.has(key as u32) {
                            continue;
                        }
                        match key {
                            $($keys::$field => reading.$field = Some(<$ty>::from_json_value(value)?),)*
                            $keys::mbus => reading.mbus = $crate::serde_json::from_slice(value).ok()?,
                            $keys::unknown => reading.unknown = $crate::serde_json::from_slice(value).ok()?,
                        }
                    }
                    Some(())
                })?;
                scanner.at_end().then_some(reading)
            }
        }

        impl $crate::contract::field::FieldTable for $name {
            fn fields() -> &'static [$crate::contract::field::Field<Self>] {
                use $crate::contract::field::FieldValue as _;
                use $crate::protocol::objects::Decode as _;
                const FIELDS: &[$crate::contract::field::Field<$name>] = &[$(
                    $crate::contract::field::Field {
                        name: stringify!($field),
                        obis: &[$($obis),*],
                        doc: $doc.trim_ascii(),
                        schema: <$ty as $crate::contract::field::FieldValue>::SCHEMA,
                        line_type: <$ty as $crate::contract::field::FieldValue>::LINE_TYPE,
                        measure: || $decoder.measure(),
                        accepts: |object| $decoder.accepts(object),
                        apply: |object, zone, reading| {
                            // A key an earlier line of the telegram set keeps that value: the
                            // later line is not taken (and goes under `unknown`).
                            if reading.$field.is_some() {
                                return Ok(false);
                            }
                            match $decoder.decode(object, zone, &mut reading.spare)? {
                                Some(value) => {
                                    reading.$field = Some(value);
                                    Ok(true)
                                }
                                None => Ok(false),
                            }
                        },
                        line_value: |reading| reading.$field.as_ref().and_then(|v| v.line_value()),
                    },
                )*];
                FIELDS
            }
            fn by_code() -> &'static $crate::contract::field::CodeIndex {
                static INDEX: std::sync::OnceLock<$crate::contract::field::CodeIndex> = std::sync::OnceLock::new();
                INDEX.get_or_init(|| $crate::contract::field::CodeIndex::new(Self::fields()))
            }
            fn by_name() -> &'static [u16] {
                static ORDER: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
                ORDER.get_or_init(|| $crate::contract::field::name_order(Self::fields()))
            }
            fn clear(&mut self) {
                use $crate::contract::reading_values::Recycle as _;
                $(
                    if let Some(value) = self.$field.take() {
                        value.give_back(&mut self.spare);
                    }
                )*
                for device in self.mbus.drain(..) {
                    device.give_back(&mut self.spare);
                }
                for (code, values) in std::mem::take(&mut self.unknown) {
                    self.spare.keep_text(code);
                    for value in values {
                        self.spare.keep_text(value);
                    }
                }
            }
            fn received(&self) -> Option<&str> {
                self.received.as_deref()
            }
            fn time(&self) -> Option<$crate::protocol::meter_time::MeterTime> {
                self.time
            }
            fn meter_id(&self) -> Option<&str> {
                self.meter_id.as_deref()
            }
            fn mbus(&self) -> &[$crate::contract::reading_values::MbusDevice] {
                &self.mbus
            }
            fn header_mut(&mut self) -> &mut Option<String> {
                &mut self.header
            }
            fn meter_id_mut(&mut self) -> &mut Option<String> {
                &mut self.meter_id
            }
            fn mbus_mut(&mut self) -> &mut Vec<$crate::contract::reading_values::MbusDevice> {
                &mut self.mbus
            }
            fn unknown_mut(&mut self) -> &mut std::collections::BTreeMap<String, Vec<String>> {
                &mut self.unknown
            }
            fn parts_mut(&mut self) -> $crate::contract::field::Parts<'_> {
                $crate::contract::field::Parts {
                    header: &mut self.header,
                    meter_id: &mut self.meter_id,
                    mbus: &mut self.mbus,
                    unknown: &mut self.unknown,
                    spare: &mut self.spare,
                }
            }
        }
    };
}
