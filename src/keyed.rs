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
/// assert_eq!(seen.get_or_insert("c-001", 7), Ok((&mut 7, true)));
/// assert_eq!(seen.get_or_insert("c-001", 8), Ok((&mut 7, false)));
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

/// [`KeyedMap::get_or_insert`] had a new key but no index left for it: the map holds 2³²
/// keys (its indexes are `u32`).
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

/// A run past 2³² call ids or customer ids.
impl From<Full> for crate::error::Error {
    fn from(_: Full) -> Self {
        crate::error::Error::usage(
            "one run holds at most 4,294,967,296 calls; split the input with `run --shard` and `merge` the shards",
        )
    }
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

    pub fn contains_key(&self, key: &str) -> bool {
        self.index(key).is_some()
    }

    /// The value of `key`, with `value` added first if the key is new; `true` when it was.
    pub fn get_or_insert(&mut self, key: &str, value: V) -> Result<(&mut V, bool), Full> {
        let hash = self.hasher.hash_one(key);
        if let Some(i) = self.find(hash, key) {
            return Ok((&mut self.values[i], false));
        }
        let KeyedMap {
            bytes,
            ends,
            values,
            table,
            hasher,
        } = self;
        let index = u32::try_from(values.len()).map_err(|_| Full)?;
        table.insert_unique(hash, index, |&i| hasher.hash_one(key_at(bytes, ends, i)));
        bytes.push_str(key);
        ends.push(bytes.len());
        values.push(value);
        Ok((&mut values[index as usize], true))
    }

    fn index(&self, key: &str) -> Option<usize> {
        self.find(self.hasher.hash_one(key), key)
    }

    /// The index of `key`, whose hash is `hash`.
    fn find(&self, hash: u64, key: &str) -> Option<usize> {
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
            let added = map.get_or_insert(&key, n).expect("5,000 keys fit").1;
            assert_eq!(added, reference.insert(key, n).is_none());
        }
        assert_eq!(map.len(), reference.len());
        for (key, value) in &reference {
            assert_eq!(map.get(key), Some(value), "{key}");
        }
        assert_eq!(map.get(""), None);
        assert_eq!(map.get("c-"), None);
    }

    #[test]
    fn a_known_key_keeps_its_first_value() {
        let mut map = KeyedMap::default();
        assert_eq!(map.get_or_insert("", 1), Ok((&mut 1, true)));
        assert_eq!(map.get_or_insert("", 2), Ok((&mut 1, false)));
        *map.get_or_insert("a", 3).expect("two keys fit").0 += 1;
        assert_eq!((map.get(""), map.get("a")), (Some(&1), Some(&4)));
        assert!(map.contains_key("") && !map.contains_key("b"));
    }
}
