//! `--shard I/N`: which slice of the inputs one machine scores.
//!
//! A line belongs to shard `fnv1a64(call_id) mod N`, where `fnv1a64` is the 64-bit FNV-1a hash
//! of the `call_id`'s UTF-8 bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3). The
//! hash is fixed forever (it is not Rust's `Hash`, which may change between releases), so the
//! same call lands in the same shard on every machine and every version. Every copy of a
//! `call_id` lands in the same shard, so duplicates are found there as in a single run. A line
//! without a readable `call_id` (not JSON, blank, too long) belongs to shard
//! `(line number − 1) mod N`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// One slice `index` of `count` (0 ≤ index < count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("--shard {text}: expected I/N with 0 ≤ I < N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: u64 = index.trim().parse().map_err(|_| usage())?;
        let count: u64 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the line numbered `line_no` (1-based), with bytes `record` when it was read,
    /// belongs to this shard.
    pub fn owns(&self, line_no: u64, record: Option<&[u8]>) -> bool {
        let slot = match record.and_then(call_id_of) {
            Some(call_id) => fnv1a64(call_id.as_bytes()) % self.count,
            None => line_no.saturating_sub(1) % self.count,
        };
        slot == self.index
    }
}

/// The 64-bit FNV-1a hash: simple, stable and documented, so other tools can compute shards.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Only the `call_id` of a record; every other field is skipped unparsed.
#[derive(Deserialize)]
struct KeyOnly<'a> {
    #[serde(borrow, default)]
    call_id: Option<Cow<'a, str>>,
}

/// The record's `call_id` when the line is a JSON object whose `call_id` is a string.
fn call_id_of(record: &[u8]) -> Option<Cow<'_, str>> {
    serde_json::from_slice::<KeyOnly<'_>>(record)
        .ok()
        .and_then(|k| k.call_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shard_specs_parse_and_reject_nonsense() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_line_belongs_to_exactly_one_shard() {
        let lines: [&[u8]; 4] = [
            br#"{"call_id":"c-1","turns":[]}"#,
            br#"{"call_id":"c-\u0032"}"#,
            b"not json",
            b"",
        ];
        for count in 1..=7 {
            for (i, line) in lines.iter().enumerate() {
                let owners = (0..count)
                    .filter(|&index| Shard { index, count }.owns(i as u64 + 1, Some(line)))
                    .count();
                assert_eq!(owners, 1, "line {i} with {count} shards");
            }
        }
    }

    #[test]
    fn copies_of_a_call_id_land_together() {
        let shard = Shard { index: 0, count: 7 };
        let a = shard.owns(1, Some(br#"{"call_id":"c-9","agent_id":"x"}"#));
        let b = shard.owns(50, Some(br#"{"turns":[1],"call_id":"c-9"}"#));
        assert_eq!(a, b);
    }
}
