//! Per-hit modifiers applied after matching: position/time scope, negation, word boundaries
//! and proximity (`near`).

use std::sync::OnceLock;

use super::compile::LeafSpec;
use super::{CallView, Hit};
use crate::normalize::is_unified_ideograph;
use crate::rules::{Distance, Scope};

/// Clause punctuation: a negator before it does not negate what comes after.
const CLAUSE_BREAKS: &[char] = &[
    ',', '.', '!', '?', ';', ':', '，', '。', '！', '？', '；', '：', '、',
];

/// Whether `hit` is inside its leaf's position or time scope.
pub(super) fn in_scope(spec: &LeafSpec, hit: &Hit, view: &CallView<'_>) -> bool {
    let turn = hit.turn as usize;
    match spec.scope {
        Scope::Whole => true,
        Scope::FirstTurns(n) => view.ordinal(spec.speaker, turn) < n as usize,
        Scope::LastTurns(n) => view.ordinal_from_end(spec.speaker, turn) < n as usize,
        Scope::FirstMs(ms) => match (view.first_start, view.call.turns[turn].start_ms) {
            (Some(first), Some(start)) => start - first < ms,
            _ => false,
        },
        Scope::LastMs(ms) => {
            let t = &view.call.turns[turn];
            match (view.last_end, t.end_ms.or(t.start_ms)) {
                (Some(last), Some(end)) => last - end < ms,
                _ => false,
            }
        }
    }
}

/// Words that begin with a negator but do not negate: "不过" is "but", "不好意思" is "sorry".
const NOT_NEGATING: &[&str] = &[
    "不过",
    "不错",
    "不好意思",
    "不客气",
    "不仅",
    "不断",
    "不少",
    "不久",
    "不管",
    "不然",
    "没关系",
    "没事",
    "no problem",
    "not only",
    // Cantonese: sorry, thanks, never mind, no need to worry
    "唔好意思",
    "唔该",
    "唔紧要",
    "唔使担心",
    "冇问题",
    "冇事",
];

/// Whether a negator stands within the window before `hit`, in the same clause.
///
/// The window counts units: a Chinese character is one, a word of other letters or digits is
/// one. So a window of 6 reaches 6 characters back in Chinese and 6 words back in English.
pub(super) fn negated(negators: &[String], window: u32, hit: &Hit, text: &str) -> bool {
    let before = &text[..hit.start as usize];
    let mut start = before.len();
    let mut units = 0;
    let mut in_word = false;
    for (i, c) in before.char_indices().rev() {
        if CLAUSE_BREAKS.contains(&c) {
            break;
        }
        // Normalized text: NFKC has already turned compatibility ideographs into unified ones.
        let ideograph = is_unified_ideograph(c);
        let word_char = c.is_alphanumeric() && !ideograph;
        if ideograph || (word_char && !in_word) {
            units += 1;
        }
        in_word = word_char;
        if units > window {
            break;
        }
        start = i;
    }
    let window_text = &before[start..];
    negators
        .iter()
        .any(|neg| contains_negator(window_text, neg))
}

/// `negator` in `haystack` as a negation: an alphabetic negator must stand as a whole word,
/// and no negator counts where it starts a word of [`NOT_NEGATING`].
fn contains_negator(haystack: &str, negator: &str) -> bool {
    let ascii_word = negator.bytes().any(|b| b.is_ascii_alphabetic());
    haystack.match_indices(negator).any(|(i, _)| {
        let rest = &haystack[i..];
        if NOT_NEGATING
            .iter()
            .any(|w| w.starts_with(negator) && rest.starts_with(w))
        {
            return false;
        }
        if !ascii_word {
            return true;
        }
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + negator.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

fn jieba() -> &'static jieba_rs::Jieba {
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

/// Bytes of context on each side of a hit that segmentation looks at: enough for the words
/// around it, and a turn of any length costs the same.
const SEGMENT_CONTEXT: usize = 36;

/// Whether `hit` starts and ends on word boundaries, by jieba segmentation of the text around it.
pub(super) fn on_word_boundaries(text: &str, hit: &Hit) -> bool {
    let (start, end) = (hit.start as usize, hit.end as usize);
    let mut from = start.saturating_sub(SEGMENT_CONTEXT);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (end + SEGMENT_CONTEXT).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let mut offset = from;
    let mut starts_ok = start == from;
    let mut ends_ok = end == from;
    for word in jieba().cut(&text[from..to], false) {
        offset += word.word.len();
        starts_ok |= offset == start;
        ends_ok |= offset == end;
    }
    starts_ok && ends_ok
}

/// Whether one of `near_hits` is within `distance` of `hit`.
pub(super) fn is_near(
    hit: &Hit,
    near_hits: &[Hit],
    distance: Distance,
    view: &CallView<'_>,
) -> bool {
    near_hits.iter().any(|other| match distance {
        Distance::Turns(n) => hit.turn.abs_diff(other.turn) <= n,
        Distance::Chars(n) => {
            if other.turn != hit.turn {
                return false;
            }
            let (lo, hi) = if other.end <= hit.start {
                (other.end, hit.start)
            } else if hit.end <= other.start {
                (hit.end, other.start)
            } else {
                return true;
            };
            let text = view.turns[hit.turn as usize].as_str();
            text[lo as usize..hi as usize].chars().count() as u32 <= n
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit_at(text: &str, needle: &str) -> Hit {
        let start = text.find(needle).unwrap() as u32;
        Hit {
            leaf: 0,
            turn: 0,
            start,
            end: start + needle.len() as u32,
            exclude: false,
        }
    }

    #[test]
    fn negation_table() {
        let negators: Vec<String> = crate::rules::DEFAULT_NEGATORS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let cases = [
            ("我不理解", "理解", true),
            ("我不太能理解", "理解", true),
            ("不，我理解您", "理解", false),
            ("我理解您", "理解", false),
            ("我们不会马上解决", "马上解决", true),
            ("i can't guarantee that", "guarantee", true),
            ("it is not guaranteed", "guaranteed", true),
            ("i know i guarantee it", "guarantee", false),
            ("nothing i guarantee", "guarantee", false),
            ("这件事情我们真的是完全保证", "保证", false),
            ("不过我保证", "保证", false),
            ("不好意思，我保证", "保证", false),
            ("we cannot guarantee that", "guarantee", true),
            ("我唔理解", "理解", true),
            ("我冇理解错", "理解", true),
            ("唔好意思我理解", "理解", false),
            ("we are unable to fully guarantee that", "guarantee", true),
            ("i cannot say when, but i guarantee it", "guarantee", false),
            (
                "not once in my ten years here did i guarantee",
                "guarantee",
                false,
            ),
        ];
        for (text, needle, want) in cases {
            assert_eq!(
                negated(&negators, 6, &hit_at(text, needle), text),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn word_boundaries_keep_words_whole() {
        for (text, needle, want) in [
            ("我向您保证", "保证", true),
            ("您的保证金已退还", "保证", false),
            ("请问有什么可以帮您", "请", false),
            ("请您稍等", "请", true),
            (
                "很长的一段话很长的一段话很长的一段话很长的一段话，您的保证金已退还",
                "保证",
                false,
            ),
        ] {
            assert_eq!(
                on_word_boundaries(text, &hit_at(text, needle)),
                want,
                "{text}"
            );
        }
    }
}
