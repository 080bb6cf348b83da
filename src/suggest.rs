//! `callqa suggest`: phrases that recur in confirmed violations, or in calls that led to a
//! complaint with no matching rule, but that no rule of the pack covers, written as draft rules
//! for QA staff to review.
//!
//! From the turns of findings that reviewers confirmed (`verdicts.csv`, see `review`), it
//! counts in how many calls each n-gram of the agent's turn occurs (Chinese: 3–6
//! characters; English: 2–4 words; on normalized text, within clauses, with the pack's phrases
//! cut out). An n-gram is suggested when it occurs in at least `min_calls`
//! calls, never in the turn of an overturned finding, and neither contains nor is contained
//! in a phrase of the pack; of n-grams found in the same calls only the longest is kept.
//!
//! From complaints (`--complaints`: calls that led to a customer complaint): the complaint
//! calls with no penalty in the run (no deduction, not auto-failed — no rule caught what went
//! wrong) are mined the same way, over all the agent's turns of the call (read from the run's
//! inputs). An n-gram is suggested when it occurs in at least `min_calls` of those calls and
//! is over-represented there against the run's calls without a complaint: its rate in the
//! uncovered complaint calls, with add-one smoothing (c + 1) / (C + 2), is at least
//! [`MIN_LIFT`] times its rate in the other calls, (o + 1) / (O + 2). A phrase every agent says
//! (a greeting) has about the same rate in both and is not suggested.
//!
//! The drafts are written commented out, so that even a copy in the rules folder enables
//! nothing; their example turns are masked like `findings.parquet`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

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
    pub origin: Origin,
}

/// Where a suggestion was mined.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Confirmed violations; the rule most often confirmed alongside it (its category and
    /// language are reused).
    Confirmed { beside_rule: String },
    /// Complaint calls with no matching rule (`calls` of them had it, of `complaint_calls`),
    /// against `other_calls` of the run's `others` calls without a complaint.
    Complaints {
        complaint_calls: usize,
        other_calls: usize,
        others: usize,
    },
}

/// Least ratio of an n-gram's (smoothed) rate in uncovered complaint calls to its rate in the
/// other calls of the run.
pub const MIN_LIFT: f64 = 5.0;

/// How many example turns a draft lists.
const EXAMPLES: usize = 3;

/// Longest example turn in a draft, in characters (a longer one is cut, marked with …).
const EXAMPLE_CHARS: usize = 200;

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

/// The n-grams of a turn once what the pack already catches is cut out (the rest is mined).
fn uncovered_ngrams(text: &str, covered: &[String], normalizer: &Normalizer) -> BTreeSet<String> {
    let mut text = normalizer.normalize(text);
    for phrase in covered {
        text = text.replace(phrase.as_str(), "|");
    }
    ngrams(&text)
}

/// Whether an n-gram contains, or is part of, a phrase of the pack.
fn is_covered(gram: &str, covered: &[String]) -> bool {
    covered
        .iter()
        .any(|p| gram.contains(p.as_str()) || p.contains(gram))
}

/// Of n-grams seen in exactly the same calls, keeps the longest (the others are its parts).
fn keep_longest<T>(kept: &mut Vec<(String, T)>, calls: impl Fn(&T) -> &BTreeSet<String>) {
    let snapshot: Vec<(String, BTreeSet<String>)> = kept
        .iter()
        .map(|(g, seen)| (g.clone(), calls(seen).clone()))
        .collect();
    kept.retain(|(gram, seen)| {
        !snapshot.iter().any(|(other, c)| {
            other.len() > gram.len() && other.contains(gram.as_str()) && c == calls(seen)
        })
    });
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
        let grams = uncovered_ngrams(&facts.turn_text, &covered, &normalizer);
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
            calls.len() >= min_calls && !overturned.contains(gram) && !is_covered(gram, &covered)
        })
        .collect();
    keep_longest(&mut kept, |seen| &seen.0);
    kept.sort_by(|a, b| b.1.0.len().cmp(&a.1.0.len()).then(a.0.cmp(&b.0)));
    kept.into_iter()
        .map(|(phrase, (calls, examples, rules))| Suggestion {
            origin: Origin::Confirmed {
                beside_rule: rules
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(r, _)| r.clone())
                    .unwrap_or_default(),
            },
            phrase,
            calls: calls.into_iter().collect(),
            examples,
        })
        .collect()
}

/// A call that led to a customer complaint (`--complaints`).
#[derive(Clone, Debug, PartialEq)]
pub struct Complaint {
    pub call_id: String,
    pub note: Option<String>,
    /// Line in the complaints file, for messages.
    pub line: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComplaint {
    call_id: String,
    #[serde(default)]
    note: Option<String>,
}

/// Reads the complaints (CSV with a header row, or JSONL, by extension: `call_id` and an
/// optional `note`); every problem names the file and line.
pub fn read_complaints(path: &Path) -> Result<Vec<Complaint>> {
    let records: Vec<(u64, RawComplaint)> =
        crate::labels::read_records(path, &["call_id", "note"], &["call_id"])?;
    let mut out = Vec::new();
    for (line, raw) in records {
        let Some(call_id) = crate::labels::non_empty(Some(raw.call_id)) else {
            return Err(Error::usage(format!(
                "{}:{line}: field `call_id` is empty",
                path.display()
            )));
        };
        out.push(Complaint {
            call_id,
            note: crate::labels::non_empty(raw.note),
            line,
        });
    }
    if out.is_empty() {
        return Err(Error::usage(format!("{}:1: no complaints", path.display())));
    }
    Ok(out)
}

/// Every call of a finished run, and whether the run penalized it (a deduction or an
/// auto-fail: some rule matched what happened).
pub fn read_penalized(out: &Path) -> Result<BTreeMap<String, bool>> {
    use arrow_array::{Array, BooleanArray, Int32Array, StringArray};
    let mut calls = BTreeMap::new();
    crate::output::read::for_each_batch(&out.join(crate::output::CALLS_FILE), |b| {
        let ids = b.column::<StringArray>("call_id")?;
        let deductions = b.column::<Int32Array>("deductions")?;
        let fails = b.column::<BooleanArray>("auto_fail")?;
        for i in 0..ids.len() {
            let penalized = deductions.value(i) > 0 || fails.value(i);
            calls.insert(ids.value(i).to_string(), penalized);
        }
        Ok(true)
    })?;
    Ok(calls)
}

/// What mining the complaints found, besides the suggestions.
#[derive(Clone, Debug, PartialEq)]
pub struct ComplaintMining {
    pub suggestions: Vec<Suggestion>,
    /// Complaint calls in the run, and those of them with no penalty (the ones mined).
    pub complaint_calls: usize,
    pub uncovered: usize,
    /// The run's calls without a complaint.
    pub others: usize,
}

/// Mines phrases agents say in complaint calls that no rule matched (see the module comment).
/// The transcripts are streamed from `inputs` (the run's); `penalized` is [`read_penalized`].
pub fn from_complaints(
    complaints: &[Complaint],
    complaints_path: &Path,
    penalized: &BTreeMap<String, bool>,
    inputs: &[PathBuf],
    pack: &RulePack,
    min_calls: usize,
) -> Result<ComplaintMining> {
    let mut complained: BTreeSet<&str> = BTreeSet::new();
    for c in complaints {
        if !penalized.contains_key(&c.call_id) {
            return Err(Error::usage(format!(
                "{}:{}: call {} is not in the run",
                complaints_path.display(),
                c.line,
                c.call_id
            )));
        }
        complained.insert(&c.call_id);
    }
    let uncovered: BTreeSet<&str> = complained
        .iter()
        .copied()
        .filter(|id| !penalized[*id])
        .collect();
    let normalizer = Normalizer::new();
    let covered = pack_phrases(pack, &normalizer);
    // First pass: the n-grams of the uncovered complaint calls, with their calls and turns.
    let mut seen: BTreeMap<String, (BTreeSet<String>, Vec<String>)> = BTreeMap::new();
    let found = each_agent_call(
        inputs,
        |id| uncovered.contains(id),
        |call_id, turns| {
            for turn in turns {
                for gram in uncovered_ngrams(turn, &covered, &normalizer) {
                    let entry = seen.entry(gram).or_default();
                    entry.0.insert(call_id.to_string());
                    if entry.1.len() < EXAMPLES && !entry.1.iter().any(|t| t == turn) {
                        entry.1.push(turn.to_string());
                    }
                }
            }
        },
    )?;
    if let Some(missing) = uncovered.iter().find(|id| !found.contains(**id)) {
        return Err(Error::usage(format!(
            "call {missing} of {} is not in the run's inputs ({})",
            complaints_path.display(),
            inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    seen.retain(|gram, (calls, _)| calls.len() >= min_calls && !is_covered(gram, &covered));
    // Second pass: in how many calls without a complaint each candidate occurs.
    let mut other: BTreeMap<String, usize> = seen.keys().map(|g| (g.clone(), 0)).collect();
    each_agent_call(
        inputs,
        |id| !complained.contains(id) && penalized.contains_key(id),
        |_, turns| {
            let mut grams: BTreeSet<String> = BTreeSet::new();
            for turn in turns {
                grams.extend(uncovered_ngrams(turn, &covered, &normalizer));
            }
            for gram in grams {
                if let Some(n) = other.get_mut(gram.as_str()) {
                    *n += 1;
                }
            }
        },
    )?;
    let others = penalized.len() - complained.len();
    // n-gram → (complaint calls, example turns, calls without a complaint)
    type Counted = (BTreeSet<String>, Vec<String>, usize);
    let mut kept: Vec<(String, Counted)> = seen
        .into_iter()
        .map(|(gram, (calls, examples))| {
            let o = other.get(gram.as_str()).copied().unwrap_or(0);
            (gram, (calls, examples, o))
        })
        .filter(|(_, (calls, _, o))| over_represented(calls.len(), uncovered.len(), *o, others))
        .collect();
    keep_longest(&mut kept, |seen| &seen.0);
    kept.sort_by(|a, b| b.1.0.len().cmp(&a.1.0.len()).then(a.0.cmp(&b.0)));
    let suggestions = kept
        .into_iter()
        .map(|(phrase, (calls, examples, other_calls))| Suggestion {
            phrase,
            origin: Origin::Complaints {
                complaint_calls: uncovered.len(),
                other_calls,
                others,
            },
            calls: calls.into_iter().collect(),
            examples: examples.iter().map(|t| masked_example(t)).collect(),
        })
        .collect();
    Ok(ComplaintMining {
        suggestions,
        complaint_calls: complained.len(),
        uncovered: uncovered.len(),
        others,
    })
}

/// Whether an n-gram in `c` of `c_total` uncovered complaint calls and `o` of `o_total` other
/// calls is [`MIN_LIFT`] times as frequent in the first, each rate with add-one smoothing (so
/// a handful of calls cannot make an infinite ratio).
fn over_represented(c: usize, c_total: usize, o: usize, o_total: usize) -> bool {
    let complaint_rate = (c as f64 + 1.0) / (c_total as f64 + 2.0);
    let other_rate = (o as f64 + 1.0) / (o_total as f64 + 2.0);
    complaint_rate >= MIN_LIFT * other_rate
}

/// Streams the run's inputs and hands the agent turns of each call `wanted` (the first record
/// of a call id, as the run scored it) to `each`; returns the ids handed over.
fn each_agent_call(
    inputs: &[PathBuf],
    wanted: impl Fn(&str) -> bool,
    mut each: impl FnMut(&str, &[&str]),
) -> Result<HashSet<String>> {
    let mut done: HashSet<String> = HashSet::new();
    for path in inputs {
        crate::input::for_each_call(path, crate::pipeline::DEFAULT_MAX_RECORD_BYTES, |call| {
            if wanted(&call.call_id) && !done.contains(&call.call_id) {
                let turns: Vec<&str> = call
                    .turns
                    .iter()
                    .filter(|t| t.speaker == crate::input::Speaker::Agent)
                    .map(|t| t.text.as_str())
                    .collect();
                each(&call.call_id, &turns);
                done.insert(call.call_id);
            }
            Ok(true)
        })?;
    }
    Ok(done)
}

/// A turn as a draft shows it: personal data masked, a long turn cut.
fn masked_example(turn: &str) -> String {
    let masked = crate::mask::mask(turn);
    if masked.chars().count() <= EXAMPLE_CHARS {
        return masked;
    }
    masked.chars().take(EXAMPLE_CHARS).chain(['…']).collect()
}

/// The suggestions as draft `forbid` rules, every line commented out.
pub fn to_toml(suggestions: &[Suggestion], pack: &RulePack) -> String {
    let mut out = String::from(
        "# Draft rules suggested by `callqa suggest` from confirmed violations and complaints.\n\
         # Nothing here is enabled: review each draft, fix its message and examples, then copy\n\
         # it into the rules folder without the leading '# '.\n",
    );
    for (i, s) in suggestions.iter().enumerate() {
        let (seen, category, lang, message) = match &s.origin {
            Origin::Confirmed { beside_rule } => {
                let beside = pack.rule(beside_rule);
                (
                    format!("seen in {} calls: {}", s.calls.len(), s.calls.join(", ")),
                    beside.map_or("compliance", |r| r.category.as_str()),
                    beside.map_or("any", |r| r.lang.as_str()).to_string(),
                    format!("(draft) agents say {:?}", s.phrase),
                )
            }
            Origin::Complaints {
                complaint_calls,
                other_calls,
                others,
            } => (
                format!(
                    "from complaints: said in {} of {complaint_calls} complaint calls no rule matched ({}), in {other_calls} of {others} calls without a complaint",
                    s.calls.len(),
                    s.calls.join(", ")
                ),
                "compliance",
                phrase_lang(&s.phrase).to_string(),
                format!(
                    "(draft) agents say {:?} in calls that led to complaints",
                    s.phrase
                ),
            ),
        };
        let lines = [
            String::new(),
            format!("[[rule]]    # {seen}"),
            format!("id = \"DRAFT-{:03}\"", i + 1),
            "kind = \"forbid\"".into(),
            format!("category = \"{category}\""),
            "severity = \"minor\"".into(),
            format!("lang = \"{lang}\""),
            format!("message = {message:?}"),
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

/// The language of a mined phrase: Chinese n-grams are characters, English ones words.
fn phrase_lang(phrase: &str) -> &'static str {
    if phrase.chars().any(is_unified_ideograph) {
        "zh"
    } else {
        "en"
    }
}

/// Writes the drafts to `path`.
pub fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::output(path, "write", e))
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_representation_is_a_smoothed_rate_ratio() {
        // (in complaint calls, of, in other calls, of) → suggested
        let cases = [
            ((4, 4, 0, 12), true),     // 5/6 vs 1/14: 11.7×
            ((4, 4, 12, 12), false),   // said everywhere
            ((3, 10, 0, 100), true),   // 4/12 vs 1/102: 34×
            ((3, 10, 10, 100), false), // 4/12 vs 11/102: 3.1×
            ((3, 3, 0, 2), false),     // too few other calls to tell: 4/5 vs 1/4
        ];
        for ((c, ct, o, ot), want) in cases {
            assert_eq!(over_represented(c, ct, o, ot), want, "{c}/{ct} vs {o}/{ot}");
        }
    }
}
