//! Homophone matching (`fuzzy = "pinyin"` / `"pinyin_tone"`): a phrase matches text that
//! sounds the same, as ASR writes "马上" as "马尚".
//!
//! Each character is projected to a unit: a Chinese character to its pinyin syllable (toneless,
//! or with its tone), anything else to itself. Phrases are projected once, when the engine is
//! built — every reading of a polyphonic character, so "还款" matches "环款" — and go into one
//! Aho-Corasick automaton per mode; a turn is projected (its characters' most common reading)
//! and scanned once, only when a fuzzy rule applies to the call.
//!
//! A unit is written as 4 bytes of which only the first has its high bit set, so a match in the
//! byte automaton always starts and ends on whole units.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use pinyin::{ToPinyin, ToPinyinMulti};

use super::matcher::{Hit, PatternUse};
use crate::normalize::is_unified_ideograph;
use crate::rules::Fuzzy;

/// Most spellings one phrase expands to across polyphonic characters.
const MAX_READINGS_PER_PHRASE: usize = 64;

/// Unit ids of characters that are not projected to a syllable start here (syllables below).
const CHAR_BASE: u32 = 1 << 16;

const IDEOGRAPH_RANGES: [(u32, u32); 2] = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF)];

/// Character → unit tables and syllable names for one mode.
struct Projection {
    /// Unit id of the default reading of each code point of `IDEOGRAPH_RANGES` (0: none).
    table: Vec<u32>,
    syllables: HashMap<&'static str, u32>,
    tone: bool,
}

impl Projection {
    fn new(tone: bool) -> Projection {
        let mut projection = Projection {
            table: Vec::new(),
            syllables: HashMap::new(),
            tone,
        };
        let mut table = Vec::new();
        for (lo, hi) in IDEOGRAPH_RANGES {
            for cp in lo..=hi {
                let id = char::from_u32(cp)
                    .and_then(|c| c.to_pinyin())
                    .map_or(0, |p| projection.syllable_id(p));
                table.push(id);
            }
        }
        projection.table = table;
        projection
    }

    fn syllable_id(&mut self, p: pinyin::Pinyin) -> u32 {
        let name = if self.tone {
            p.with_tone_num_end()
        } else {
            p.plain()
        };
        let next = self.syllables.len() as u32 + 1;
        *self.syllables.entry(name).or_insert(next)
    }

    /// The unit of `c` in a turn: its most common reading, or the character itself.
    fn unit(&self, c: char) -> u32 {
        let cp = c as u32;
        let mut base = 0usize;
        for (lo, hi) in IDEOGRAPH_RANGES {
            if (lo..=hi).contains(&cp) {
                let id = self.table[base + (cp - lo) as usize];
                return if id == 0 { CHAR_BASE + cp } else { id };
            }
            base += (hi - lo + 1) as usize;
        }
        CHAR_BASE + cp
    }

    /// Every spelling of a normalized phrase, one per combination of readings (bounded).
    fn phrase_spellings(&mut self, phrase: &str) -> Vec<Vec<u8>> {
        let mut spellings: Vec<Vec<u8>> = vec![Vec::new()];
        for c in phrase.chars() {
            let mut units: Vec<u32> = match c.to_pinyin_multi() {
                Some(multi) if is_unified_ideograph(c) => {
                    multi.into_iter().map(|p| self.syllable_id(p)).collect()
                }
                _ => Vec::new(),
            };
            if units.is_empty() {
                units.push(self.unit(c));
            }
            units.dedup();
            let mut next = Vec::with_capacity(spellings.len() * units.len());
            for spelling in &spellings {
                for (i, &unit) in units.iter().enumerate() {
                    // Past the bound, the first reading only.
                    if i > 0 && next.len() >= MAX_READINGS_PER_PHRASE {
                        break;
                    }
                    let mut s = spelling.clone();
                    push_unit(&mut s, unit);
                    next.push(s);
                }
            }
            spellings = next;
        }
        spellings.sort();
        spellings.dedup();
        spellings
    }
}

fn push_unit(out: &mut Vec<u8>, unit: u32) {
    out.extend_from_slice(&[
        0x80 | ((unit >> 21) & 0x7F) as u8,
        ((unit >> 14) & 0x7F) as u8,
        ((unit >> 7) & 0x7F) as u8,
        (unit & 0x7F) as u8,
    ]);
}

/// Whether a phrase is long enough to match by sound: fewer than two Chinese characters would
/// match far too much ("是" sounds like dozens of characters), so those match exactly only.
pub(super) fn sounds_distinct(phrase: &str) -> bool {
    phrase.chars().filter(|&c| is_unified_ideograph(c)).count() >= 2
}

/// One mode's automaton over projected phrases.
struct ModeMatcher {
    projection: Projection,
    automaton: AhoCorasick,
    uses: Vec<Vec<PatternUse>>,
    /// The leaves with phrases here: a turn none of them applies to is not projected.
    leaves: Vec<u32>,
}

/// The fuzzy phrases of a pack, by mode; built only when some rule asks for them.
pub(super) struct FuzzyMatcher {
    modes: Vec<ModeMatcher>,
}

/// Collects fuzzy phrases (already normalized) before the automata are built.
#[derive(Default)]
pub(super) struct FuzzyBuilder {
    phrases: [Vec<(String, PatternUse)>; 2],
}

impl FuzzyBuilder {
    pub(super) fn add(&mut self, mode: Fuzzy, phrase: &str, use_: PatternUse) {
        let slot = match mode {
            Fuzzy::Exact => return,
            Fuzzy::Pinyin => 0,
            Fuzzy::PinyinTone => 1,
        };
        if sounds_distinct(phrase) {
            self.phrases[slot].push((phrase.to_string(), use_));
        }
    }

    /// `None` when no rule matches by sound.
    pub(super) fn build(self) -> Result<Option<FuzzyMatcher>, aho_corasick::BuildError> {
        let mut modes = Vec::new();
        for (slot, phrases) in self.phrases.into_iter().enumerate() {
            if phrases.is_empty() {
                continue;
            }
            let mut projection = Projection::new(slot == 1);
            let mut patterns: Vec<Vec<u8>> = Vec::new();
            let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
            let mut uses: Vec<Vec<PatternUse>> = Vec::new();
            let mut leaves: Vec<u32> = phrases.iter().map(|(_, u)| u.leaf).collect();
            leaves.sort_unstable();
            leaves.dedup();
            for (phrase, use_) in phrases {
                for spelling in projection.phrase_spellings(&phrase) {
                    let id = *index.entry(spelling.clone()).or_insert_with(|| {
                        patterns.push(spelling);
                        uses.push(Vec::new());
                        patterns.len() - 1
                    });
                    if !uses[id].contains(&use_) {
                        uses[id].push(use_);
                    }
                }
            }
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&patterns)?;
            modes.push(ModeMatcher {
                projection,
                automaton,
                uses,
                leaves,
            });
        }
        Ok((!modes.is_empty()).then_some(FuzzyMatcher { modes }))
    }
}

/// A turn projected to units: the bytes scanned, and where each unit's character starts in
/// the normalized text.
#[derive(Default)]
pub(super) struct Projected {
    bytes: Vec<u8>,
    starts: Vec<u32>,
}

impl FuzzyMatcher {
    /// Appends the fuzzy hits in `text` of leaves for which `applies` is true, until `limit`.
    pub(super) fn scan(
        &self,
        turn: u32,
        text: &str,
        applies: &dyn Fn(usize) -> bool,
        hits: &mut Vec<Hit>,
        limit: usize,
        scratch: &mut Projected,
    ) {
        for mode in &self.modes {
            if !mode.leaves.iter().any(|&l| applies(l as usize)) {
                continue;
            }
            scratch.bytes.clear();
            scratch.starts.clear();
            for (i, c) in text.char_indices() {
                push_unit(&mut scratch.bytes, mode.projection.unit(c));
                scratch.starts.push(i as u32);
            }
            scratch.starts.push(text.len() as u32);
            for m in mode.automaton.find_overlapping_iter(&scratch.bytes) {
                if hits.len() >= limit {
                    return;
                }
                let (start, end) = (scratch.starts[m.start() / 4], scratch.starts[m.end() / 4]);
                for u in &mode.uses[m.pattern().as_usize()] {
                    if applies(u.leaf as usize) {
                        hits.push(Hit {
                            leaf: u.leaf,
                            turn,
                            start,
                            end,
                            exclude: u.exclude,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_(leaf: u32) -> PatternUse {
        PatternUse {
            leaf,
            exclude: false,
        }
    }

    fn spans(mode: Fuzzy, phrase: &str, text: &str) -> Vec<(u32, u32)> {
        let mut builder = FuzzyBuilder::default();
        builder.add(mode, phrase, use_(0));
        let matcher = builder.build().unwrap().unwrap();
        let mut hits = Vec::new();
        matcher.scan(
            0,
            text,
            &|_| true,
            &mut hits,
            1000,
            &mut Projected::default(),
        );
        hits.iter().map(|h| (h.start, h.end)).collect()
    }

    #[test]
    fn homophones_match_toneless() {
        let cases = [
            ("马上", "我马尚处理", true),
            ("马上", "我马上处理", true),
            ("保证", "我宝正今天办好", true),
            ("还款", "请按时环款", true),
            ("马上", "我妈上班去了", true), // toneless: ma shang
            ("马上", "我马山那边", false),
            ("保证", "宝珍路支行", false),
            ("马上", "马", false),
        ];
        for (phrase, text, want) in cases {
            assert_eq!(
                !spans(Fuzzy::Pinyin, phrase, text).is_empty(),
                want,
                "{phrase} in {text}"
            );
        }
    }

    #[test]
    fn tones_tell_more_apart() {
        let cases = [
            ("马上", "我马尚处理", true),
            ("马上", "我妈上班去了", false),
            ("保证", "我宝正今天办好", true),  // bǎo zhèng both
            ("保证", "我包正今天办好", false), // bāo
            ("保证", "报政大厅", false),
        ];
        for (phrase, text, want) in cases {
            assert_eq!(
                !spans(Fuzzy::PinyinTone, phrase, text).is_empty(),
                want,
                "{phrase} in {text}"
            );
        }
    }

    #[test]
    fn spans_cover_whole_characters() {
        let text = "ok，我马尚处理";
        let got = spans(Fuzzy::Pinyin, "马上", text);
        assert_eq!(got.len(), 1);
        let (s, e) = got[0];
        assert_eq!(&text[s as usize..e as usize], "马尚");
    }

    #[test]
    fn single_characters_never_match_by_sound() {
        assert!(!sounds_distinct("是"));
        assert!(!sounds_distinct("ok好"));
        assert!(sounds_distinct("好的"));
    }
}
