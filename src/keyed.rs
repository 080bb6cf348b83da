//! A map from string keys to small values that keeps every key in one byte buffer.
//!
//! A run remembers every `call_id` (to refuse duplicates) and every `customer_id` (for repeat
//! contact) until its tables are written, so these two maps are what grows with the size of a
//! night. A `HashMap<String, V>` spends a heap block (32 bytes for an 18-byte id), a 24-byte
//! `String` and the table's spare slots on each key; here a key costs its bytes, an 8-byte end
//! offset and a 4-byte slot in the table, about half as much.

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// A string-keyed map with compact keys; keys are never removed.
///
/// ```
/// use callqa::keyed::KeyedMap;
///
/// let mut seen = KeyedMap::default();
/// assert!(seen.insert("c-001", 7).is_ok());
/// assert_eq!(seen.get("c-001"), Some(&7));
/// assert_eq!(seen.get("c-002"), None);
/// ```
pub struct KeyedMap<V> {
    /// Every key, one after another.
    bytes: String,
    /// Where key `i` ends in `bytes` (it starts where key `i − 1` ends).
    ends: Vec<usize>,
    values: Vec<V>,
    /// Indexes into `ends` and `values`, hashed by their key.
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

/// [`KeyedMap::insert`] found the key already there, or the map full.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertError {
    /// The key was already in the map; its value is unchanged.
    Present,
    /// The map already holds 2³² keys (its indexes are `u32`).
    Full,
}

impl<V> Default for KeyedMap<V> {
    fn default() -> Self {
        KeyedMap {
            bytes: String::new(),
            ends: Vec::new(),
            values: Vec::new(),
            table: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl<V> KeyedMap<V> {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.index(key).map(|i| &self.values[i])
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.index(key).map(|i| &mut self.values[i])
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.index(key).is_some()
    }

    /// Adds `key` with `value` unless the key is already there.
    pub fn insert(&mut self, key: &str, value: V) -> Result<&mut V, InsertError> {
        if self.index(key).is_some() {
            return Err(InsertError::Present);
        }
        let index = u32::try_from(self.values.len()).map_err(|_| InsertError::Full)?;
        let hash = self.hasher.hash_one(key);
        let KeyedMap {
            bytes,
            ends,
            table,
            hasher,
            ..
        } = self;
        table.insert_unique(hash, index, |&i| hasher.hash_one(key_at(bytes, ends, i)));
        bytes.push_str(key);
        ends.push(bytes.len());
        self.values.push(value);
        Ok(&mut self.values[index as usize])
    }

    fn index(&self, key: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&i| key_at(&self.bytes, &self.ends, i) == key)
            .map(|&i| i as usize)
    }
}

/// Key `i`: the bytes between the end of key `i − 1` and its own end.
fn key_at<'a>(bytes: &'a str, ends: &[usize], i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes[start..ends[i]]
}

/// The error of a run past [`KeyedMap`]'s 2³² keys.
pub(crate) fn too_many_calls() -> crate::error::Error {
    crate::error::Error::usage(
        "one run holds at most 4,294,967,296 calls; split the input with `run --shard` and `merge` the shards",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn keeps_every_key_apart_through_growth() {
        let mut map = KeyedMap::default();
        let mut reference = HashMap::new();
        // Keys of every length, prefixes of one another, and non-ASCII ones.
        for n in 0..5_000u32 {
            let key = match n % 4 {
                0 => format!("c-{n}"),
                1 => format!("c-{n}0"),
                2 => format!("客户{n}"),
                _ => "x".repeat((n % 37) as usize) + &n.to_string(),
            };
            assert_eq!(
                map.insert(&key, n).is_ok(),
                reference.insert(key, n).is_none()
            );
        }
        assert_eq!(map.len(), reference.len());
        for (key, value) in &reference {
            assert_eq!(map.get(key), Some(value), "{key}");
        }
        assert_eq!(map.get(""), None);
        assert_eq!(map.get("c-"), None);
    }

    #[test]
    fn a_second_insert_of_a_key_is_refused_and_keeps_the_first_value() {
        let mut map = KeyedMap::default();
        assert!(map.insert("", 1).is_ok());
        assert_eq!(map.insert("", 2), Err(InsertError::Present));
        assert!(map.insert("a", 3).is_ok());
        *map.get_mut("a").expect("inserted above") += 1;
        assert_eq!((map.get(""), map.get("a")), (Some(&1), Some(&4)));
        assert!(map.contains_key("") && !map.contains_key("b"));
    }
}
