//! Reading only some keys of a reading: a consumer names the keys it uses, and the rest of
//! each line is skipped unparsed (no timestamp read, nothing allocated).

use serde::{Deserialize, Deserializer};

use crate::contract::field::{Field, FieldTable};
use crate::contract::reading_values::present;

/// Which keys of a reading a consumer reads: the rest is skipped unparsed (no timestamp
/// read, nothing allocated), so a stage that needs a few values pays for those only.
pub struct Selection<R> {
    bits: u128,
    _reading: std::marker::PhantomData<fn() -> R>,
}

impl<R> Clone for Selection<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Selection<R> {}

impl<R> std::fmt::Debug for Selection<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Selection({:#x})", self.bits)
    }
}

impl<R> Selection<R> {
    /// For [`reading_fields!`]: bit `i` is the `i`th key.
    #[doc(hidden)]
    #[must_use]
    pub const fn from_bits(bits: u128) -> Self {
        Selection {
            bits,
            _reading: std::marker::PhantomData,
        }
    }

    /// Whether the key numbered `key` is selected.
    #[must_use]
    pub const fn has(self, key: u32) -> bool {
        self.bits & (1 << key) != 0
    }

    /// These keys and those of `other`.
    #[must_use]
    pub const fn and(self, other: Selection<R>) -> Self {
        Self::from_bits(self.bits | other.bits)
    }
}

impl<R: FieldTable> Selection<R> {
    /// The fields `wanted` says yes to, and the M-Bus devices when `mbus`.
    pub fn fields_where(wanted: impl Fn(&Field<R>) -> bool, mbus: bool) -> Self {
        let fields = R::fields();
        let mut bits = 0u128;
        for (i, field) in fields.iter().enumerate() {
            if wanted(field) {
                bits |= 1 << i;
            }
        }
        if mbus {
            // The M-Bus key comes right after the declared fields.
            bits |= 1 << fields.len();
        }
        Self::from_bits(bits)
    }
}

/// A reading type that can be read with only some of its keys ([`reading_fields!`](crate::reading_fields) makes it).
pub trait Select: Sized {
    /// Reads the rest of a reading's JSON object, only the `wanted` keys parsed.
    ///
    /// # Errors
    /// A wanted key whose value does not fit its type, or JSON that is not well formed.
    fn deserialize_selected<'de, A: serde::de::MapAccess<'de>>(
        map: A,
        wanted: Selection<Self>,
    ) -> Result<Self, A::Error>;

    /// A whole reading's line (`{"type":"reading",...}`), only the `wanted` keys read, the rest
    /// skipped by [`crate::contract::json_scan`]; `None` wherever the general deserializer
    /// must decide (anything it might read otherwise or refuse: escaped keys, a key twice,
    /// a value of an unexpected form, JSON that is not well formed).
    fn read_selected(line: &str, wanted: Selection<Self>) -> Option<Self>;
}

/// A map key told by name without allocating.
#[doc(hidden)]
#[derive(Debug)]
pub struct KeySeed<K>(pub fn(&str) -> Option<K>);

impl<'de, K> serde::de::DeserializeSeed<'de> for KeySeed<K> {
    type Value = Option<K>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<K>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<K> serde::de::Visitor<'_> for KeySeed<K> {
    type Value = Option<K>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Option<K>, E> {
        Ok((self.0)(name))
    }
}

/// A present value, as [`present`] reads it for the derived deserializer.
#[doc(hidden)]
#[derive(Debug)]
pub struct Present<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Present<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        present(d).map(Present)
    }
}
