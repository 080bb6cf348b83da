//! Scanning one normalized turn for every leaf's phrases, exclusions and regexes at once.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use super::compile::LeafSpec;
use super::fuzzy::{FuzzyBuilder, FuzzyMatcher, Projected};
use crate::error::{Error, Result, RuleProblem};
use crate::normalize::numerals::{Template, parse_number};
use crate::rules::{Fuzzy, RulePack};

/// Most raw hits kept for one turn: a turn that repeats a phrase millions of times must not
/// take gigabytes (findings are capped per rule and call anyway).
pub const MAX_HITS_PER_TURN: usize = 100_000;

/// One occurrence of a leaf's phrase, regex or exclusion in a turn (normalized byte offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub leaf: u32,
    pub turn: u32,
    pub start: u32,
    pub end: u32,
    /// An exclusion match: it cancels overlapping hits of the same leaf and is then dropped.
    pub exclude: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PatternUse {
    pub leaf: u32,
    pub exclude: bool,
}

/// A phrase with number placeholders (`{num}`, `{duration}`), matched as a regex whose numbers
/// are then checked against their ranges.
struct NumberPattern {
    regex: regex::Regex,
    bounds: Vec<Option<(f64, f64)>>,
    use_: PatternUse,
}

impl NumberPattern {
    /// Whether every number the match captured parses and lies in its range.
    fn numbers_fit(&self, captures: &regex::Captures<'_>) -> bool {
        self.bounds.iter().enumerate().all(|(i, range)| {
            let Some(m) = captures.name(&format!("n{i}")) else {
                return true; // "半小时": no number captured
            };
            match parse_number(m.as_str()) {
                None => false,
                Some(value) => range.is_none_or(|(lo, hi)| lo <= value && value <= hi),
            }
        })
    }
}

pub(super) struct Matcher {
    automaton: AhoCorasick,
    /// For each automaton pattern, the leaves that use it.
    uses: Vec<Vec<PatternUse>>,
    /// Leaves that have regexes, with them.
    regexes: Vec<(usize, Vec<regex::Regex>)>,
    /// Phrases with number placeholders.
    numbers: Vec<NumberPattern>,
    /// Phrases matched by sound (`fuzzy = "pinyin"`), if any rule asks for it.
    fuzzy: Option<FuzzyMatcher>,
}

impl Matcher {
    pub(super) fn new(
        pack: &RulePack,
        leaves: &[LeafSpec],
        normalize: &dyn Fn(&str) -> String,
    ) -> Result<Matcher> {
        let mut patterns: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut uses: Vec<Vec<PatternUse>> = Vec::new();
        let mut problems = Vec::new();
        let mut regexes = Vec::new();
        let mut numbers = Vec::new();
        let mut fuzzy = FuzzyBuilder::default();
        for (leaf_index, leaf) in leaves.iter().enumerate() {
            let fuzzy_mode = leaf.source.as_ref().map_or(Fuzzy::Exact, |s| s.fuzzy);
            let (phrases, exclude, leaf_regexes) = match &leaf.source {
                Some(source) => (&source.phrases, &source.exclude[..], &source.regexes[..]),
                None => (&leaf.near_phrases, &[][..], &[][..]),
            };
            if !leaf_regexes.is_empty() {
                regexes.push((leaf_index, leaf_regexes.to_vec()));
            }
            let all = phrases
                .iter()
                .map(|p| (p, false))
                .chain(exclude.iter().map(|p| (p, true)));
            for (phrase, is_exclusion) in all {
                let use_ = PatternUse {
                    leaf: leaf_index as u32,
                    exclude: is_exclusion,
                };
                if Template::is_template(phrase) {
                    match number_pattern(phrase, use_, normalize) {
                        Ok(pattern) => numbers.push(pattern),
                        Err(message) => {
                            problems.push(leaf_problem(pack, leaf, phrase, &message));
                        }
                    }
                    continue;
                }
                let norm = normalize(phrase);
                fuzzy.add(fuzzy_mode, &norm, use_);
                if norm.is_empty() {
                    let rule = &pack.rules()[leaf.rule];
                    problems.push(RuleProblem {
                        file: rule.file.clone(),
                        line: Some(rule.line),
                        rule_id: Some(rule.id.clone()),
                        message: format!("phrase {phrase:?} is empty after normalization"),
                    });
                    continue;
                }
                let id = *index.entry(norm.clone()).or_insert_with(|| {
                    patterns.push(norm);
                    uses.push(Vec::new());
                    patterns.len() - 1
                });
                uses[id].push(use_);
            }
        }
        if !problems.is_empty() {
            return Err(Error::rule_pack(problems));
        }
        let too_big = |e: aho_corasick::BuildError| {
            Error::rule_pack(vec![RuleProblem {
                file: pack.dir().to_path_buf(),
                line: None,
                rule_id: None,
                message: format!("the phrases do not fit in one automaton: {e}"),
            }])
        };
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(too_big)?;
        Ok(Matcher {
            automaton,
            uses,
            regexes,
            numbers,
            fuzzy: fuzzy.build().map_err(too_big)?,
        })
    }

    /// Appends the hits in `text` (turn `turn`) of the leaves for which `applies` is true, at
    /// most [`MAX_HITS_PER_TURN`] of them.
    pub(super) fn scan(
        &self,
        turn: u32,
        text: &str,
        applies: &dyn Fn(usize) -> bool,
        hits: &mut Vec<Hit>,
        projected: &mut Projected,
    ) {
        let limit = hits.len() + MAX_HITS_PER_TURN;
        for m in self.automaton.find_overlapping_iter(text) {
            if hits.len() >= limit {
                return;
            }
            for u in &self.uses[m.pattern().as_usize()] {
                if applies(u.leaf as usize) {
                    hits.push(Hit {
                        leaf: u.leaf,
                        turn,
                        start: m.start() as u32,
                        end: m.end() as u32,
                        exclude: u.exclude,
                    });
                }
            }
        }
        if let Some(fuzzy) = &self.fuzzy {
            fuzzy.scan(turn, text, applies, hits, limit, projected);
        }
        for pattern in &self.numbers {
            if !applies(pattern.use_.leaf as usize) {
                continue;
            }
            for captures in pattern.regex.captures_iter(text) {
                let Some(m) = captures.get(0).filter(|m| !m.is_empty()) else {
                    continue;
                };
                if hits.len() >= limit {
                    return;
                }
                if pattern.numbers_fit(&captures) {
                    hits.push(Hit {
                        leaf: pattern.use_.leaf,
                        turn,
                        start: m.start() as u32,
                        end: m.end() as u32,
                        exclude: pattern.use_.exclude,
                    });
                }
            }
        }
        for (leaf, regexes) in &self.regexes {
            if !applies(*leaf) {
                continue;
            }
            for re in regexes {
                for m in re.find_iter(text).filter(|m| !m.is_empty()) {
                    if hits.len() >= limit {
                        return;
                    }
                    hits.push(Hit {
                        leaf: *leaf as u32,
                        turn,
                        start: m.start() as u32,
                        end: m.end() as u32,
                        exclude: false,
                    });
                }
            }
        }
    }
}

/// Compiles a phrase with placeholders; its literal words are normalized like the text.
fn number_pattern(
    phrase: &str,
    use_: PatternUse,
    normalize: &dyn Fn(&str) -> String,
) -> std::result::Result<NumberPattern, String> {
    let template = Template::parse(phrase)?;
    let regex = regex::Regex::new(&template.to_regex(normalize)).map_err(|e| e.to_string())?;
    Ok(NumberPattern {
        regex,
        bounds: template.bounds(),
        use_,
    })
}

fn leaf_problem(pack: &RulePack, leaf: &LeafSpec, phrase: &str, message: &str) -> RuleProblem {
    let rule = &pack.rules()[leaf.rule];
    RuleProblem {
        file: rule.file.clone(),
        line: Some(rule.line),
        rule_id: Some(rule.id.clone()),
        message: format!("phrase {phrase:?}: {message}"),
    }
}

/// Sorts `hits` by leaf, turn and position, drops hits that overlap an exclusion of the same
/// leaf in the same turn, drops the exclusions and merges identical spans of one leaf.
pub(crate) fn cancel_excluded(hits: &mut Vec<Hit>) {
    hits.sort_unstable();
    let mut kept = Vec::with_capacity(hits.len());
    let mut exclusions: Vec<(u32, u32)> = Vec::new();
    let mut group_start = 0;
    while group_start < hits.len() {
        let (leaf, turn) = (hits[group_start].leaf, hits[group_start].turn);
        let group_len = hits[group_start..]
            .iter()
            .take_while(|h| h.leaf == leaf && h.turn == turn)
            .count();
        let group = &hits[group_start..group_start + group_len];
        // Exclusions by start, each with the furthest end of those starting no later: a hit
        // overlaps an exclusion iff one starting before the hit's end reaches past its start.
        exclusions.clear();
        exclusions.extend(group.iter().filter(|h| h.exclude).map(|h| (h.start, h.end)));
        let mut reach = 0;
        for x in exclusions.iter_mut() {
            reach = reach.max(x.1);
            x.1 = reach;
        }
        for hit in group.iter().filter(|h| !h.exclude) {
            let before_end = exclusions.partition_point(|x| x.0 < hit.end);
            let excluded = before_end > 0 && exclusions[before_end - 1].1 > hit.start;
            let duplicate = kept.last().is_some_and(|k: &Hit| {
                (k.leaf, k.turn, k.start, k.end) == (leaf, turn, hit.start, hit.end)
            });
            if !excluded && !duplicate {
                kept.push(*hit);
            }
        }
        group_start += group_len;
    }
    *hits = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(start: u32, end: u32, exclude: bool) -> Hit {
        Hit {
            leaf: 0,
            turn: 0,
            start,
            end,
            exclude,
        }
    }

    #[test]
    fn exclusions_cancel_overlapping_hits_only() {
        // text: "不能保证 保证金 保证" with hits of 保证 at 2, 5 and 9.
        let mut hits = vec![
            hit(2, 4, false),
            hit(5, 7, false),
            hit(9, 11, false),
            hit(0, 4, true),
            hit(5, 8, true),
            hit(9, 11, false),
        ];
        cancel_excluded(&mut hits);
        assert_eq!(hits, [hit(9, 11, false)]);
    }

    #[test]
    fn a_long_exclusion_covers_later_hits() {
        let mut hits = vec![
            hit(0, 20, true),
            hit(3, 5, true),
            hit(10, 12, false),
            hit(25, 27, false),
        ];
        cancel_excluded(&mut hits);
        assert_eq!(hits, [hit(25, 27, false)]);
    }
}
