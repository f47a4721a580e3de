//! The last values made from keys, for what telegram after telegram repeats (the timestamps
//! of the peak history, register values, thresholds): a direct-mapped table, kept per thread
//! by its user, where a hit costs a hash and a comparison.

use crate::protocol::scan::hash16;

/// `N` slots (a power of two) of a key and its value; a free slot's key is 0.
#[derive(Debug)]
pub(crate) struct Recent<V, const N: usize> {
    slots: [(u128, V); N],
}

impl<V: Copy, const N: usize> Recent<V, N> {
    pub(crate) const fn new(empty: V) -> Self {
        Recent {
            slots: [(0, empty); N],
        }
    }

    /// The value of `key` (never 0), made by `make` when it is not kept (and kept when it is
    /// made).
    ///
    /// # Errors
    /// `make`'s, which is not kept.
    pub(crate) fn get<E>(
        &mut self,
        key: u128,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let slot = &mut self.slots[(hash16(key) >> 40) as usize % N];
        if slot.0 != key {
            *slot = (key, make()?);
        }
        Ok(slot.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_made_once_until_another_key_takes_its_slot() {
        let mut recent: Recent<u32, 4> = Recent::new(0);
        let made = std::cell::Cell::new(0);
        let mut get = |key: u128| {
            recent.get(key, || -> Result<u32, ()> {
                made.set(made.get() + 1);
                Ok(key as u32 * 10)
            })
        };
        assert_eq!(get(7), Ok(70));
        assert_eq!(get(7), Ok(70));
        assert_eq!(made.get(), 1, "the second from the table");
        // Among more keys than slots, some share one: each is still right.
        for key in 1..=20 {
            assert_eq!(get(key), Ok(key as u32 * 10));
        }
        let failed: Result<u32, &str> = recent.get(99, || Err("bad"));
        assert_eq!(failed, Err("bad"));
        assert_eq!(
            recent.get(99, || Ok::<u32, ()>(5)),
            Ok(5),
            "a failure is not kept"
        );
    }
}
