//! Text normalization before matching, with a map back to the original text.
//!
//! Phrases in the rule pack and transcript turns both pass through the same [`Normalizer`], so a
//! rule written once in Simplified Chinese and lowercase English also matches Traditional
//! characters, full-width letters and odd spacing. Every byte of the normalized text remembers
//! the original character it came from, so findings report the span the agent actually said.
//!
//! The steps, per character cluster (a base character and its combining marks):
//! 1. NFKC (full-width → half-width, compatibility forms folded);
//! 2. Latin (and other bicameral scripts') lowercase;
//! 3. Traditional → Simplified, character by character (OpenCC's character table);
//! 4. typographic quotes folded to ASCII (’ → ', “ ” → ");
//! 5. runs of white space collapsed to one ASCII space, trimmed at both ends;
//! 6. disfluencies of ASR text deleted (see [`disfluency`]): fillers such as "嗯" and "那个",
//!    stuttered repeats ("我我我理解" → "我理解") and spaces inside Chinese ("马上 解决").
//!
//! ```
//! let normalizer = callqa::normalize::Normalizer::new();
//! let mut text = callqa::normalize::NormText::default();
//! normalizer.normalize_into("  我們ＯＫ了  ", &mut text);
//! assert_eq!(text.as_str(), "我们ok了");
//! // "ok" came from the full-width "ＯＫ" at original bytes 8..14.
//! assert_eq!(text.original_span(6, 8), (8, 14));
//! ```

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

pub mod disfluency;
pub mod numerals;

use disfluency::{Disfluency, DisfluencyOptions, Unit};

/// Code point ranges whose Traditional → Simplified mapping is tabulated.
const TABLE_RANGES: [(u32, u32); 2] = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF)];

/// Converts text to its matching form; cheap to share between threads.
pub struct Normalizer {
    /// Simplified code point for each code point of `TABLE_RANGES` (0 = unchanged).
    t2s: Vec<u32>,
    disfluency: Disfluency,
}

/// Normalized text plus, for each of its bytes, the original byte range it came from.
#[derive(Default, Clone, Debug)]
pub struct NormText {
    text: String,
    /// For each byte of `text`, the original byte range of the character it belongs to.
    spans: Vec<(u32, u32)>,
    /// Scratch for the disfluency pass.
    units: Vec<Unit>,
}

impl NormText {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Maps a byte range of the normalized text back to a byte range of the original text.
    ///
    /// `start..end` must be a non-empty range of this text (as reported by a matcher).
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        debug_assert!(start < end && end <= self.text.len());
        (self.spans[start].0 as usize, self.spans[end - 1].1 as usize)
    }

    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    fn push(&mut self, c: char, start: usize, end: usize) {
        self.text.push(c);
        // one reserve and a fill per character, not two capacity checks per byte
        self.spans.extend(std::iter::repeat_n(
            (start as u32, end as u32),
            c.len_utf8(),
        ));
    }

    /// Runs `pass` over the text as characters with their original spans.
    fn edit_units(&mut self, pass: impl FnOnce(&mut Vec<Unit>)) {
        let mut units = std::mem::take(&mut self.units);
        units.clear();
        for (i, c) in self.text.char_indices() {
            let (start, end) = self.spans[i];
            units.push(Unit { c, start, end });
        }
        pass(&mut units);
        self.clear();
        for u in &units {
            self.push(u.c, u.start as usize, u.end as usize);
        }
        self.units = units;
    }

    fn ends_with_space_or_empty(&self) -> bool {
        self.text.is_empty() || self.text.ends_with(' ')
    }

    fn trim_end(&mut self) {
        while self.text.ends_with(' ') {
            self.text.pop();
            self.spans.pop();
        }
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer::new()
    }
}

impl Normalizer {
    /// Builds the normalizer with the default disfluency handling (see [`DisfluencyOptions`]),
    /// tabulating OpenCC's Traditional → Simplified character map.
    pub fn new() -> Normalizer {
        Normalizer::with_options(&DisfluencyOptions::default())
    }

    /// Builds the normalizer with these disfluency options (a rule pack's `normalize.toml`).
    pub fn with_options(options: &DisfluencyOptions) -> Normalizer {
        let mut normalizer = Normalizer {
            t2s: build_t2s_table(),
            disfluency: Disfluency::new(&DisfluencyOptions::off(), Vec::new()),
        };
        // Fillers are compared with normalized text, so they are normalized the same way.
        let fillers = options
            .fillers
            .iter()
            .map(|f| normalizer.normalize(f))
            .collect();
        normalizer.disfluency = Disfluency::new(options, fillers);
        normalizer
    }

    /// Normalizes `src` into `out` (reusing its buffers).
    pub fn normalize_into(&self, src: &str, out: &mut NormText) {
        self.normalize_chars(src, out);
        if !self.disfluency.is_off() && self.disfluency.may_apply(&out.text) {
            out.edit_units(|units| self.disfluency.apply(units));
        }
    }

    /// Keeps what rule phrases spell out from the disfluency pass: a filler inside a phrase
    /// ("那个谁") and a doubled character ("哼哼"), wherever the phrase occurs in a turn.
    pub fn protect_phrases<'a>(&mut self, phrases: impl IntoIterator<Item = &'a str>) {
        let mut out = NormText::default();
        let forms: Vec<String> = phrases
            .into_iter()
            .map(|p| {
                self.normalize_chars(p, &mut out);
                out.text.clone()
            })
            .collect();
        self.disfluency.protect(&forms);
    }

    /// Steps 1–5: the character-level steps.
    fn normalize_chars(&self, src: &str, out: &mut NormText) {
        out.clear();
        let mut chars = src.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            let mut end = start + c.len_utf8();
            while let Some(&(next_start, next)) = chars.peek() {
                if starts_cluster(next) {
                    break;
                }
                end = next_start + next.len_utf8();
                chars.next();
            }
            let single = end == start + c.len_utf8();
            // ASCII, CJK ideographs and Chinese punctuation have known NFKC forms: skip the
            // decomposition (`fast_nfkc_agrees_with_the_decomposition` checks every one).
            if single && let Some(folded) = fast_nfkc(c) {
                self.push_folded(out, folded, start, end);
                continue;
            }
            self.fold_cluster(out, &src[start..end], single, start, end);
        }
        out.trim_end();
    }

    /// The general case of step 1–5 for one cluster: NFKC, then case folding.
    fn fold_cluster(
        &self,
        out: &mut NormText,
        cluster: &str,
        single: bool,
        start: usize,
        end: usize,
    ) {
        if single
            && cluster
                .nfkc()
                .all(|f| f.to_lowercase().eq(std::iter::once(f)))
        {
            for folded in cluster.nfkc() {
                self.push_folded(out, folded, start, end);
            }
        } else {
            for folded in fold_case_to_fixpoint(cluster).chars() {
                self.push_folded(out, folded, start, end);
            }
        }
    }

    /// Normalizes a whole string (for rule phrases and examples).
    pub fn normalize(&self, src: &str) -> String {
        let mut out = NormText::default();
        self.normalize_into(src, &mut out);
        out.text
    }

    fn push_folded(&self, out: &mut NormText, c: char, start: usize, end: usize) {
        if is_unified_ideograph(c) {
            out.push(self.simplified(c), start, end);
        } else if c.is_whitespace() {
            if !out.ends_with_space_or_empty() {
                out.push(' ', start, end);
            }
        } else if c.is_ascii() {
            out.push(c.to_ascii_lowercase(), start, end);
        } else if let Some(ascii) = ascii_quote(c) {
            out.push(ascii, start, end);
        } else if c.is_lowercase() || !c.is_alphabetic() {
            out.push(self.simplified(c), start, end);
        } else {
            for lower in c.to_lowercase() {
                out.push(self.simplified(lower), start, end);
            }
        }
    }

    fn simplified(&self, c: char) -> char {
        let mut base = 0usize;
        for (lo, hi) in TABLE_RANGES {
            let cp = c as u32;
            if (lo..=hi).contains(&cp) {
                let mapped = self.t2s[base + (cp - lo) as usize];
                // The table only stores values that came from a `char`, so this cannot fail.
                return if mapped == 0 {
                    c
                } else {
                    char::from_u32(mapped).unwrap_or(c)
                };
            }
            base += (hi - lo + 1) as usize;
        }
        c
    }
}

/// NFKC and lowercase, repeated until stable: lowercasing can add or free combining marks
/// (İ → i + U+0307; ῌ + U+0301) that NFKC then reorders or composes, and the result must not
/// change when normalized again.
fn fold_case_to_fixpoint(cluster: &str) -> String {
    let mut current: String = cluster.nfkc().collect();
    for _ in 0..4 {
        let next: String = current
            .chars()
            .flat_map(char::to_lowercase)
            .collect::<String>()
            .nfkc()
            .collect();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// Whether `c` begins a new cluster: it is a starter and so is the start of its decomposition
/// (U+0F81 has combining class 0 but decomposes to two combining marks).
/// The NFKC form of a character that is common in transcripts and whose form is known
/// without a table lookup: ASCII, CJK ideographs, CJK punctuation (、。《》「」【】…) and the
/// fullwidth forms of ASCII (，！？：（）, which NFKC maps to ASCII).
fn fast_nfkc(c: char) -> Option<char> {
    match c {
        _ if c.is_ascii() || is_unified_ideograph(c) => Some(c),
        '\u{3001}'..='\u{3002}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301B}' => Some(c),
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        _ => None,
    }
}

fn starts_cluster(c: char) -> bool {
    fast_nfkc(c).is_some()
        || (canonical_combining_class(c) == 0
            && std::iter::once(c)
                .nfkd()
                .next()
                .is_none_or(|d| canonical_combining_class(d) == 0))
}

/// The ASCII quote for a typographic one, so "can’t" is "can't".
fn ascii_quote(c: char) -> Option<char> {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => Some('\''),
        '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => Some('"'),
        _ => None,
    }
}

/// CJK Unified Ideographs (and extension A), which NFKC leaves unchanged.
pub(crate) fn is_unified_ideograph(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

fn build_t2s_table() -> Vec<u32> {
    let size: u32 = TABLE_RANGES.iter().map(|(lo, hi)| hi - lo + 1).sum();
    let mut table = vec![0u32; size as usize];
    let Ok(opencc) =
        ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::T2s)
    else {
        // The built-in configuration is compiled into the crate; without it we only lose
        // Traditional → Simplified folding, never correctness of the rest.
        return table;
    };
    let mut i = 0;
    let mut buf = [0u8; 4];
    for (lo, hi) in TABLE_RANGES {
        for cp in lo..=hi {
            if let Some(c) = char::from_u32(cp) {
                let converted = opencc.convert(c.encode_utf8(&mut buf));
                let mut it = converted.chars();
                if let (Some(s), None) = (it.next(), it.next())
                    && s != c
                {
                    table[i] = s as u32;
                }
            }
            i += 1;
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Normalizer::new().normalize(s)
    }

    #[test]
    fn fast_nfkc_agrees_with_the_decomposition() {
        let n = Normalizer::new();
        let fast_ranges = [
            '\u{3001}'..='\u{3002}',
            '\u{3008}'..='\u{3011}',
            '\u{3014}'..='\u{301B}',
            '\u{FF01}'..='\u{FF5E}',
            '一'..='鿿',
            '\0'..='\u{7F}',
        ];
        let mut checked = 0;
        for c in fast_ranges.into_iter().flatten() {
            let Some(folded) = fast_nfkc(c) else {
                continue;
            };
            let (mut fast, mut slow) = (NormText::default(), NormText::default());
            n.push_folded(&mut fast, folded, 0, c.len_utf8());
            n.fold_cluster(&mut slow, &c.to_string(), true, 0, c.len_utf8());
            assert_eq!(fast.text, slow.text, "{c:?} (U+{:04X})", c as u32);
            let starter = canonical_combining_class(c) == 0
                && std::iter::once(c)
                    .nfkd()
                    .next()
                    .is_none_or(|d| canonical_combining_class(d) == 0);
            assert!(starter, "{c:?} starts a cluster");
            checked += 1;
        }
        assert!(checked > 20_000, "{checked}");
    }

    #[test]
    fn normalization_table() {
        let n = Normalizer::new();
        let cases = [
            ("ＯＫ，好的", "ok,好的"),
            ("I Guarantee IT", "i guarantee it"),
            // A space between Chinese characters is an ASR split: dropped.
            ("  多个   空格\t\n here ", "多个空格 here"),
            ("這個問題馬上解決", "这个问题马上解决"),
            ("感謝您的來電", "感谢您的来电"),
            ("１００％", "100%"),
            ("银行交易卡", "银行交易卡"),
            ("Café", "café"),
            ("I can’t “promise”", "i can't \"promise\""),
            ("İ\u{bcd}", "i\u{bcd}\u{307}"),
            ("\u{f72}\u{f81}", "\u{f71}\u{f72}\u{f80}"),
            ("", ""),
            ("   ", ""),
        ];
        for (input, want) in cases {
            assert_eq!(n.normalize(input), want, "input {input:?}");
        }
    }

    #[test]
    fn spans_map_back_to_original() {
        let n = Normalizer::new();
        let src = "您好，我們保證  今天到賬";
        let mut out = NormText::default();
        n.normalize_into(src, &mut out);
        let text = out.as_str().to_string();
        let start = text.find("保证").unwrap();
        let end = text.find("到账").unwrap() + "到账".len();
        let (s, e) = out.original_span(start, end);
        assert_eq!(&src[s..e], "保證  今天到賬");
    }

    #[test]
    fn disfluency_table() {
        let n = Normalizer::new();
        let cases = [
            // fillers
            ("嗯，您说，我在听", ",您说,我在听"),
            ("这个问题嗯我们马上解决", "这个问题我们马上解决"),
            ("那个，就是说，我们保证", ",,我们保证"),
            ("呃呃那个马上解决", "马上解决"),
            ("額度", "额度"),
            ("唔好意思", "唔好意思"),
            // stutter
            ("我我我理解您的心情", "我理解您的心情"),
            ("我们我们会尽快处理", "我们我们会尽快处理"),
            ("谢谢谢谢您", "谢谢您"),
            ("谢谢", "谢谢"),
            ("感谢您", "感谢您"),
            ("尾号八八八八", "尾号八八八八"),
            ("I I understand", "i i understand"),
            // split words
            ("马上 解决", "马上解决"),
            ("马 上 嗯 解 决", "马上解决"),
            ("ok 马上", "ok 马上"),
            // a deletion that makes a new filler or repeat
            ("那那个个", ""),
            ("我 我 我理解", "我理解"),
            ("嗯", ""),
        ];
        for (input, want) in cases {
            assert_eq!(n.normalize(input), want, "input {input:?}");
            assert_eq!(n.normalize(want), want, "idempotent on {want:?}");
        }
    }

    #[test]
    fn phrases_keep_their_fillers_and_doubled_characters() {
        let mut n = Normalizer::new();
        assert_eq!(n.normalize("那个谁，哼哼"), "谁,哼");
        n.protect_phrases(["那个谁", "哼哼"]);
        assert_eq!(n.normalize("那个谁，哼哼哼"), "那个谁,哼哼");
        assert_eq!(n.normalize("那个问题，那个谁"), "问题,那个谁");
        assert_eq!(n.normalize("那个谁"), "那个谁");
    }

    #[test]
    fn disfluency_is_configurable() {
        let off = Normalizer::with_options(&DisfluencyOptions::off());
        assert_eq!(off.normalize("嗯我我理解 您"), "嗯我我理解 您");
        let custom = Normalizer::with_options(&DisfluencyOptions {
            fillers: vec!["這樣子".into()],
            collapse_repeats: false,
            join_cjk_spaces: false,
        });
        // The filler list is normalized too: Traditional "這樣子" removes "这样子".
        assert_eq!(custom.normalize("嗯这样子我我理解"), "嗯我我理解");
    }

    #[test]
    fn deleted_disfluencies_keep_original_spans() {
        let n = Normalizer::new();
        let src = "我我我理解，那个，馬上 解決";
        let mut out = NormText::default();
        n.normalize_into(src, &mut out);
        assert_eq!(out.as_str(), "我理解,,马上解决");
        let text = out.as_str().to_string();
        let start = text.find("我理解").unwrap();
        let (s, e) = out.original_span(start, start + "我理解".len());
        assert_eq!(&src[s..e], "我理解");
        let start = text.find("马上解决").unwrap();
        let (s, e) = out.original_span(start, text.len());
        assert_eq!(&src[s..e], "馬上 解決");
    }

    /// ASR output often writes fillers as space-separated tokens; a long run of them leaves a
    /// long run of spaces, which must all go (each space once, not a scan back per space).
    #[test]
    fn a_long_run_of_spaced_fillers_is_removed() {
        let src = format!("{}马上 解决 ok", "嗯 ".repeat(200_000));
        assert_eq!(norm(&src), "马上解决 ok");
    }

    #[test]
    fn combining_marks_fold_with_their_base() {
        // "e" + combining acute composes to "é" under NFKC.
        assert_eq!(norm("Cafe\u{301}"), "café");
    }
}
