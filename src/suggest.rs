//! `callqa suggest`: phrases that recur in confirmed violations but that no rule of the pack
//! covers, written as draft rules for QA staff to review.
//!
//! From the turns of findings that reviewers confirmed (`verdicts.csv`, see `review`), it
//! counts in how many calls each n-gram of the agent's turn occurs (Chinese: 3–6
//! characters; English: 2–4 words; on normalized text, within clauses, with the pack's phrases
//! cut out). An n-gram is suggested when it occurs in at least `min_calls`
//! calls, never in the turn of an overturned finding, and neither contains nor is contained
//! in a phrase of the pack; of n-grams found in the same calls only the longest is kept. The
//! drafts are written commented out, so that even a copy in the rules folder enables nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::normalize::{Normalizer, is_unified_ideograph};
use crate::review::FindingFacts;
use crate::rules::RulePack;

/// A phrase worth a rule, with where it was seen.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub phrase: String,
    /// Calls it occurs in (confirmed violations), in call order.
    pub calls: Vec<String>,
    /// Up to three turns it was said in.
    pub examples: Vec<String>,
    /// The rule most often confirmed alongside it (its category and language are reused).
    pub beside_rule: String,
}

/// The n-grams of each clause of `text` (split at punctuation and at `|`, where covered
/// phrases were cut out).
fn ngrams(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for clause in text.split(|c: char| {
        c == '|' || (c.is_ascii_punctuation() && c != '\'') || "，。！？、；：…".contains(c)
    }) {
        clause_ngrams(clause, &mut out);
    }
    out
}

fn clause_ngrams(text: &str, out: &mut BTreeSet<String>) {
    let chars: Vec<char> = text.chars().collect();
    for n in 3..=6 {
        for w in chars.windows(n) {
            if w.iter().all(|&c| is_unified_ideograph(c)) {
                out.insert(w.iter().collect());
            }
        }
    }
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\'') || is_unified_ideograph(c))
        .filter(|w| !w.is_empty())
        .collect();
    for n in 2..=4 {
        for w in words.windows(n) {
            out.insert(w.join(" "));
        }
    }
}

/// Every literal phrase of the pack, normalized.
fn pack_phrases(pack: &RulePack, normalizer: &Normalizer) -> Vec<String> {
    pack.rules()
        .iter()
        .flat_map(|r| r.conditions())
        .flat_map(|c| c.leaves())
        .flat_map(|l| l.phrases.iter().chain(&l.exclude))
        .map(|p| normalizer.normalize(p))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Mines the suggestions from reviewed findings (`true` = confirmed).
pub fn suggest(
    reviewed: &[(FindingFacts, bool)],
    pack: &RulePack,
    min_calls: usize,
) -> Vec<Suggestion> {
    let normalizer = Normalizer::new();
    let covered = pack_phrases(pack, &normalizer);
    let mut overturned: BTreeSet<String> = BTreeSet::new();
    // n-gram → (calls, example turns, rule counts)
    type Seen = (BTreeSet<String>, Vec<String>, BTreeMap<String, usize>);
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for (facts, confirmed) in reviewed.iter().filter(|(f, _)| f.speaker == "agent") {
        // What the pack already catches is cut out, so the rest of the turn is mined.
        let mut text = normalizer.normalize(&facts.turn_text);
        for phrase in &covered {
            text = text.replace(phrase.as_str(), "|");
        }
        let grams = ngrams(&text);
        if !confirmed {
            overturned.extend(grams);
            continue;
        }
        for gram in grams {
            let entry = seen.entry(gram).or_default();
            if entry.0.insert(facts.call_id.clone())
                && entry.1.len() < 3
                && !entry.1.contains(&facts.turn_text)
            {
                entry.1.push(facts.turn_text.clone());
            }
            *entry.2.entry(facts.rule_id.clone()).or_default() += 1;
        }
    }
    let mut kept: Vec<(String, Seen)> = seen
        .into_iter()
        .filter(|(gram, (calls, _, _))| {
            calls.len() >= min_calls
                && !overturned.contains(gram)
                && !covered
                    .iter()
                    .any(|p| gram.contains(p.as_str()) || p.contains(gram.as_str()))
        })
        .collect();
    // Of n-grams seen in exactly the same calls, keep the longest (the others are its parts).
    let snapshot: Vec<(String, BTreeSet<String>)> = kept
        .iter()
        .map(|(g, (calls, _, _))| (g.clone(), calls.clone()))
        .collect();
    kept.retain(|(gram, (calls, _, _))| {
        !snapshot.iter().any(|(other, c)| {
            other.len() > gram.len() && other.contains(gram.as_str()) && c == calls
        })
    });
    kept.sort_by(|a, b| b.1.0.len().cmp(&a.1.0.len()).then(a.0.cmp(&b.0)));
    kept.into_iter()
        .map(|(phrase, (calls, examples, rules))| Suggestion {
            beside_rule: rules
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(r, _)| r.clone())
                .unwrap_or_default(),
            phrase,
            calls: calls.into_iter().collect(),
            examples,
        })
        .collect()
}

/// The suggestions as draft `forbid` rules, every line commented out.
pub fn to_toml(suggestions: &[Suggestion], pack: &RulePack) -> String {
    let mut out = String::from(
        "# Draft rules suggested by `callqa suggest` from confirmed violations.\n\
         # Nothing here is enabled: review each draft, fix its message and examples, then copy\n\
         # it into the rules folder without the leading '# '.\n",
    );
    for (i, s) in suggestions.iter().enumerate() {
        let beside = pack.rule(&s.beside_rule);
        let category = beside.map_or("compliance", |r| r.category.as_str());
        let lang = beside.map_or("any", |r| r.lang.as_str());
        let lines = [
            String::new(),
            format!(
                "[[rule]]    # seen in {} calls: {}",
                s.calls.len(),
                s.calls.join(", ")
            ),
            format!("id = \"DRAFT-{:03}\"", i + 1),
            "kind = \"forbid\"".into(),
            format!("category = \"{category}\""),
            "severity = \"minor\"".into(),
            format!("lang = \"{lang}\""),
            format!(
                "message = {:?}",
                format!("(draft) agents say {:?}", s.phrase)
            ),
            format!("phrases = [{:?}]", s.phrase),
            format!("examples.match = [{}]", quoted(&s.examples)),
            "examples.no_match = [\"TODO: a turn that must not match\"]".into(),
        ];
        for line in lines {
            let _ = writeln!(out, "# {line}");
        }
    }
    out
}

/// Writes the drafts to `path`.
pub fn write(path: &std::path::Path, text: &str) -> crate::Result<()> {
    std::fs::write(path, text).map_err(|e| crate::Error::output(path, "write", e))
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
