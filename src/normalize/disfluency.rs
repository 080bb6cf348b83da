//! Disfluencies of spoken Chinese as ASR writes them: fillers ("嗯", "那个", "就是说"),
//! stuttered characters ("我我我理解"), and spaces that split a word ("马上 解决").
//!
//! This pass runs on text that the character-level steps have already normalized, and only
//! deletes characters, so every character left keeps the original span it came from. It runs
//! to a fixed point (a deletion can make a new filler or repeat: "那那个个"), which keeps
//! normalization idempotent: phrases and turns meet in the same form.

use serde::Deserialize;

use super::is_unified_ideograph;

/// Fillers removed by default: hesitation sounds and filler words of spoken Mandarin. Sounds
/// that carry meaning stay ("唔" is Cantonese "not"; "额" is in "额度").
pub const DEFAULT_FILLERS: [&str; 7] = ["嗯", "啊", "呃", "哦", "那个", "就是说", "然后呢"];

/// Characters that are never collapsed as stutter: numerals repeat in numbers ("八八八").
const NUMERALS: &str = "零〇一二两三四五六七八九十百千万亿幺壹贰叁肆伍陆柒捌玖拾佰仟";

/// Doubled characters that are words, kept as two ("谢谢" must not become "谢", which would
/// match inside "感谢"). A longer run of them collapses to the pair.
const REDUPLICATED_WORDS: &[&str] = &[
    "谢谢", "看看", "刚刚", "常常", "慢慢", "稍稍", "往往", "渐渐", "仅仅", "偏偏", "明明", "好好",
    "多多", "天天", "人人", "个个", "试试", "等等", "问问", "查查", "想想", "说说", "妈妈", "爸爸",
    "哥哥", "姐姐", "弟弟", "妹妹", "奶奶", "爷爷", "叔叔", "宝宝", "哈哈", "呵呵", "嘿嘿", "星星",
    "默默", "悄悄", "早早", "轻轻", "久久", "时时", "处处", "喂喂",
];

/// The options of the disfluency pass; users set them in `normalize.toml` of the rule pack.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisfluencyOptions {
    /// Words deleted before matching (normalized like the text: Traditional forms work too).
    pub fillers: Vec<String>,
    /// Stuttered repeats of a Chinese character collapse to one ("我我我" → "我").
    pub collapse_repeats: bool,
    /// A space between two Chinese characters is dropped ("马上 解决" → "马上解决").
    pub join_cjk_spaces: bool,
}

/// Most passes of `Disfluency::apply` over one turn (see there).
const MAX_PASSES: usize = 16;

impl Default for DisfluencyOptions {
    fn default() -> Self {
        DisfluencyOptions {
            fillers: DEFAULT_FILLERS.iter().map(|s| s.to_string()).collect(),
            collapse_repeats: true,
            join_cjk_spaces: true,
        }
    }
}

impl DisfluencyOptions {
    /// No disfluency handling: the character-level steps only.
    pub fn off() -> Self {
        DisfluencyOptions {
            fillers: Vec::new(),
            collapse_repeats: false,
            join_cjk_spaces: false,
        }
    }

    pub fn is_off(&self) -> bool {
        self.fillers.is_empty() && !self.collapse_repeats && !self.join_cjk_spaces
    }
}

/// A character of normalized text with the original byte range it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Unit {
    pub c: char,
    pub start: u32,
    pub end: u32,
}

/// The compiled pass: fillers as character sequences.
pub(super) struct Disfluency {
    fillers: Vec<Vec<char>>,
    collapse_repeats: bool,
    join_cjk_spaces: bool,
    /// Rule phrases that contain a filler ("那个谁"): a filler inside one of their occurrences
    /// is a word, not a filler, and stays.
    protected: Vec<Vec<char>>,
    /// Characters whose doubling is a word: [`REDUPLICATED_WORDS`] and doubled characters in
    /// rule phrases.
    doubled: std::collections::HashSet<char>,
}

impl Disfluency {
    /// `fillers` must already be in normalized form; empty ones are dropped.
    pub(super) fn new(options: &DisfluencyOptions, fillers: Vec<String>) -> Disfluency {
        let mut fillers: Vec<Vec<char>> = fillers
            .into_iter()
            .filter(|f| !f.is_empty())
            .map(|f| f.chars().collect())
            .collect();
        // Longest first, so "就是说" goes before a shorter filler could split it.
        fillers.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        fillers.dedup();
        Disfluency {
            fillers,
            collapse_repeats: options.collapse_repeats,
            join_cjk_spaces: options.join_cjk_spaces,
            protected: Vec::new(),
            doubled: REDUPLICATED_WORDS
                .iter()
                .filter_map(|w| w.chars().next())
                .collect(),
        }
    }

    /// Keeps fillers and doubled characters that rule phrases spell out (`phrases` in the form
    /// of the character steps, before this pass).
    pub(super) fn protect(&mut self, phrases: &[String]) {
        for phrase in phrases {
            let chars: Vec<char> = phrase.chars().collect();
            let has_filler = self
                .fillers
                .iter()
                .any(|f| chars.windows(f.len()).any(|w| w == f.as_slice()));
            if has_filler && !self.fillers.contains(&chars) && !self.protected.contains(&chars) {
                self.protected.push(chars.clone());
            }
            for pair in chars.windows(2) {
                if pair[0] == pair[1] && is_unified_ideograph(pair[0]) {
                    self.doubled.insert(pair[0]);
                }
            }
        }
    }

    /// Whether the filler at `units[at..at + len]` lies inside a protected phrase there.
    fn in_protected(&self, units: &[Unit], at: usize, len: usize) -> bool {
        self.protected.iter().any(|p| {
            let earliest = (at + len).saturating_sub(p.len());
            (earliest..=at).any(|start| {
                start + p.len() <= units.len()
                    && units[start..start + p.len()]
                        .iter()
                        .zip(p)
                        .all(|(u, c)| u.c == *c)
            })
        })
    }

    pub(super) fn is_off(&self) -> bool {
        self.fillers.is_empty() && !self.collapse_repeats && !self.join_cjk_spaces
    }

    /// Whether `text` has anything this pass could delete (a quick test that skips most turns
    /// of English and clean text).
    ///
    /// Exact enough to skip the pass safely: nothing is deleted from a text without the first
    /// character of a filler, two equal Chinese characters in a row, or a space between two
    /// Chinese characters (the character steps leave no other spaces to remove).
    pub(super) fn may_apply(&self, text: &str) -> bool {
        let mut prev = None;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let filler_here = |f: &Vec<char>| {
                f.first() == Some(&c) && text[i..].chars().take(f.len()).eq(f.iter().copied())
            };
            if self.fillers.iter().any(filler_here) {
                return true;
            }
            if let Some(p) = prev.filter(|&p| is_unified_ideograph(p)) {
                if self.collapse_repeats && p == c {
                    return true;
                }
                if self.join_cjk_spaces
                    && c == ' '
                    && chars.peek().is_some_and(|&(_, n)| is_unified_ideograph(n))
                {
                    return true;
                }
            }
            prev = Some(c);
        }
        false
    }

    /// Deletes fillers, repeats and split spaces from `units` until none is left.
    ///
    /// Each pass costs O(len); a deletion can only expose a new filler one nesting level out
    /// (就那个是说), so real speech settles in two or three passes. The cap keeps a crafted
    /// record nested thousands deep from costing O(len²); such a turn is left partly cleaned.
    pub(super) fn apply(&self, units: &mut Vec<Unit>) {
        for _ in 0..MAX_PASSES {
            let before = units.len();
            self.remove_fillers(units);
            self.remove_spaces(units);
            if self.collapse_repeats {
                collapse_repeats(units, &self.doubled);
            }
            if units.len() == before {
                break;
            }
        }
    }

    fn remove_fillers(&self, units: &mut Vec<Unit>) {
        if self.fillers.is_empty() {
            return;
        }
        let mut keep = vec![true; units.len()];
        let mut i = 0;
        while i < units.len() {
            let found = self.fillers.iter().find(|f| {
                units.len() - i >= f.len()
                    && units[i..i + f.len()]
                        .iter()
                        .zip(f.iter())
                        .all(|(u, c)| u.c == *c)
                    && safe_to_delete_before(units.get(i + f.len()))
                    && !self.in_protected(units, i, f.len())
            });
            match found {
                Some(f) => {
                    keep[i..i + f.len()].iter_mut().for_each(|k| *k = false);
                    i += f.len();
                }
                None => i += 1,
            }
        }
        retain_marked(units, &keep);
    }

    /// Drops spaces left doubled or at the ends by a deletion, and (if enabled) spaces between
    /// two Chinese characters.
    fn remove_spaces(&self, units: &mut Vec<Unit>) {
        let mut keep = vec![true; units.len()];
        // The last unit kept so far: a running value, not a scan back, so a long run of
        // spaces costs O(len).
        let mut prev: Option<char> = None;
        for i in 0..units.len() {
            if units[i].c != ' ' {
                prev = Some(units[i].c);
                continue;
            }
            let next = units.get(i + 1).map(|u| u.c);
            let cjk_split = self.join_cjk_spaces
                && prev.is_some_and(is_unified_ideograph)
                && next.is_some_and(is_unified_ideograph);
            if prev.is_none_or(|p| p == ' ') || next.is_none() || cjk_split {
                keep[i] = false;
            } else {
                prev = Some(' ');
            }
        }
        retain_marked(units, &keep);
    }
}

/// Collapses stutter: a run of one character to one (to two for a reduplicated word such as
/// "谢谢"). A word said twice ("我们我们") is left alone: a phrase repeated on purpose must
/// count each time, and the second copy still matches.
fn collapse_repeats(units: &mut Vec<Unit>, doubled: &std::collections::HashSet<char>) {
    let mut keep = vec![true; units.len()];
    let stutters = |c: char| is_unified_ideograph(c) && !NUMERALS.contains(c);
    let mut i = 0;
    while i < units.len() {
        let c = units[i].c;
        let run = units[i..].iter().take_while(|u| u.c == c).count();
        if run >= 2 && stutters(c) && safe_to_delete_before(units.get(i + run)) {
            let kept = if doubled.contains(&c) { 2 } else { 1 };
            // Keep the last ones: they sit next to what follows, as the speaker meant it.
            keep[i..i + run - kept].iter_mut().for_each(|k| *k = false);
        }
        i += run.max(1);
    }
    retain_marked(units, &keep);
}

/// Deleting what stands before `next` must not let normalization combine what is left
/// differently (a combining mark or Hangul jamo joining the character before the deletion),
/// so deletions happen only before characters that never combine backwards.
fn safe_to_delete_before(next: Option<&Unit>) -> bool {
    next.is_none_or(|u| {
        let c = u.c;
        c.is_ascii()
            || is_unified_ideograph(c)
            || ('\u{3000}'..='\u{303F}').contains(&c)
            || ('\u{2000}'..='\u{206F}').contains(&c)
    })
}

fn retain_marked(units: &mut Vec<Unit>, keep: &[bool]) {
    let mut flags = keep.iter();
    units.retain(|_| *flags.next().unwrap_or(&true));
}
