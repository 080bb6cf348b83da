//! The customer's emotion, explainably: a lexicon of anger, frustration and escalation threats
//! (Chinese and English) matched in the customer's turns, negation respected.
//!
//! Each term has a weight; a call's `customer_anger` is 1 − Π(1 − w) over the distinct terms
//! the customer said (so 0 when none, approaching 1 with several strong ones), and the terms
//! themselves are reported next to it.
//!
//! ```
//! let emotion = callqa::emotion::Lexicon::default_lexicon(&callqa::normalize::Normalizer::new());
//! let (anger, terms) = emotion.score(["我要投诉你们，太过分了"].iter().copied());
//! assert!(anger > 0.9);
//! assert_eq!(terms, ["投诉", "太过分"]);
//! let (calm, _) = emotion.score(["我不是要投诉，就问问"].iter().copied());
//! assert_eq!(calm, 0.0);
//! ```

use aho_corasick::{AhoCorasick, MatchKind};

use crate::normalize::Normalizer;

/// Escalation threats weigh most, open anger next, frustration least.
const TERMS: &[(&str, f64)] = &[
    // escalation (zh)
    ("投诉", 0.8),
    ("12315", 0.9),
    ("银保监", 0.9),
    ("消协", 0.8),
    ("曝光", 0.9),
    ("找媒体", 0.9),
    ("找你们领导", 0.7),
    ("报警", 0.9),
    ("起诉", 0.9),
    ("律师", 0.8),
    ("销户", 0.6),
    ("退订", 0.4),
    // anger (zh)
    ("太过分", 0.7),
    ("气死", 0.7),
    ("什么态度", 0.7),
    ("凭什么", 0.6),
    ("太离谱", 0.6),
    ("受够了", 0.7),
    ("骗子", 0.8),
    ("垃圾", 0.7),
    ("忽悠", 0.6),
    ("欺负人", 0.7),
    ("你们怎么回事", 0.5),
    // frustration (zh)
    ("着急", 0.3),
    ("急死", 0.5),
    ("等了很久", 0.4),
    ("说了多少遍", 0.5),
    ("又是这样", 0.4),
    ("一直没人管", 0.5),
    // escalation (en)
    ("speak to your manager", 0.8),
    ("speak to a manager", 0.8),
    ("file a complaint", 0.8),
    ("make a complaint", 0.8),
    ("cancel my account", 0.7),
    ("i want to cancel", 0.6),
    ("lawyer", 0.8),
    ("report you", 0.8),
    ("regulator", 0.8),
    // anger (en)
    ("ridiculous", 0.6),
    ("unacceptable", 0.6),
    ("furious", 0.8),
    ("outrageous", 0.7),
    ("scam", 0.8),
    ("useless", 0.6),
    ("fed up", 0.6),
    ("disgusting", 0.7),
    // frustration (en)
    ("frustrated", 0.4),
    ("frustrating", 0.4),
    ("waiting forever", 0.4),
    ("third time", 0.4),
    ("still not fixed", 0.5),
];

/// Negators that cancel a term said right after them ("我不是要投诉", "not furious").
const NEGATORS: &[&str] = &[
    "不是要",
    "不想",
    "没有要",
    "不会",
    "不",
    "没",
    "not ",
    "don't ",
    "no ",
];

/// A compiled emotion lexicon.
pub struct Lexicon {
    automaton: AhoCorasick,
    terms: Vec<(String, f64)>,
}

impl Lexicon {
    /// The built-in zh + en lexicon, normalized like transcripts are.
    pub fn default_lexicon(normalizer: &Normalizer) -> Lexicon {
        let terms: Vec<(String, f64)> = TERMS
            .iter()
            .map(|(t, w)| (normalizer.normalize(t), *w))
            .collect();
        // The terms are non-empty constants, so the automaton always builds.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(terms.iter().map(|(t, _)| t))
            .expect("the built-in emotion lexicon compiles");
        Lexicon { automaton, terms }
    }

    /// Anger in 0..=1 and the distinct terms behind it (in lexicon order), from normalized
    /// customer turns.
    pub fn score<'a>(&self, turns: impl Iterator<Item = &'a str>) -> (f64, Vec<String>) {
        let mut seen = vec![false; self.terms.len()];
        for text in turns {
            for m in self.automaton.find_iter(text) {
                if !negated(&text[..m.start()]) {
                    seen[m.pattern().as_usize()] = true;
                }
            }
        }
        let mut calm = 1.0;
        let mut terms = Vec::new();
        for (i, (term, weight)) in self.terms.iter().enumerate() {
            if seen[i] {
                calm *= 1.0 - weight;
                terms.push(term.clone());
            }
        }
        // Rounded so that the value is the same on every platform and in every run.
        (((1.0 - calm) * 1000.0).round() / 1000.0, terms)
    }
}

/// Whether the few characters before a term hold a negator.
fn negated(before: &str) -> bool {
    let tail: String = {
        let chars: Vec<char> = before.chars().collect();
        chars[chars.len().saturating_sub(6)..].iter().collect()
    };
    NEGATORS
        .iter()
        .any(|n| tail.ends_with(n) || (n.ends_with(' ') && tail.ends_with(n.trim_end())))
        || tail.contains("不是要")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anger_table() {
        let lexicon = Lexicon::default_lexicon(&Normalizer::new());
        let n = Normalizer::new();
        let cases: &[(&str, f64, &[&str])] = &[
            ("我的卡被冻结了", 0.0, &[]),
            ("我要打12315投诉你们", 0.98, &["投诉", "12315"]),
            ("我不是要投诉，就问问", 0.0, &[]),
            ("我着急死了，等了很久", 0.58, &["着急", "等了很久"]),
            (
                "This is ridiculous, I want to speak to your manager",
                0.92,
                &["speak to your manager", "ridiculous"],
            ),
            ("I'm not furious, just asking", 0.0, &[]),
        ];
        for (text, anger, terms) in cases {
            let norm = n.normalize(text);
            let (got, got_terms) = lexicon.score(std::iter::once(norm.as_str()));
            assert_eq!(got, *anger, "{text}");
            assert_eq!(got_terms, *terms, "{text}");
        }
    }
}
