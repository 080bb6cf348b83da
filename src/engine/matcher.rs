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
    /// One pass that says which of the gated regexes (see [`RegexGate`]) match a turn at all.
    gate: RegexGate,
}

/// Buffers of one worker's scans.
#[derive(Default)]
pub(super) struct MatchScratch {
    /// A turn projected to pinyin, for fuzzy rules.
    projected: Projected,
    /// Which patterns of the regex gate matched the turn.
    gated: Vec<bool>,
}

/// Most turns match none of a pack's regexes, yet each regex searched separately costs a
/// search of its own per turn. A [`regex::RegexSet`] of them answers "which match here" in one
/// pass, and only those are then searched for their positions. Regexes with word boundaries
/// stay out: on non-ASCII text the set's DFA cannot decide `\b` and would fall back to a slow
/// engine for every turn, so those are always searched on their own.
struct RegexGate {
    set: Option<regex::RegexSet>,
    /// For each plain regex (`regexes[i].1[j]`, in order), its index in the set.
    plain: Vec<Option<usize>>,
    /// For each number pattern, its index in the set.
    numbers: Vec<Option<usize>>,
}

impl RegexGate {
    fn new(regexes: &[(usize, Vec<regex::Regex>)], numbers: &[NumberPattern]) -> RegexGate {
        let mut patterns: Vec<String> = Vec::new();
        let mut gate = |re: &regex::Regex| {
            let src = re.as_str();
            (!src.contains("\\b") && !src.contains("\\B")).then(|| {
                patterns.push(src.to_string());
                patterns.len() - 1
            })
        };
        let plain: Vec<Option<usize>> = regexes
            .iter()
            .flat_map(|(_, res)| res.iter())
            .map(&mut gate)
            .collect();
        let numbers: Vec<Option<usize>> = numbers.iter().map(|n| gate(&n.regex)).collect();
        // Each pattern already compiled on its own, so the set compiles too; if it ever did not
        // (a size limit), every regex is simply searched on its own.
        let set = regex::RegexSet::new(&patterns)
            .ok()
            .filter(|_| !patterns.is_empty());
        let plain = plain
            .into_iter()
            .map(|i| i.filter(|_| set.is_some()))
            .collect();
        let numbers = numbers
            .into_iter()
            .map(|i| i.filter(|_| set.is_some()))
            .collect();
        RegexGate {
            set,
            plain,
            numbers,
        }
    }

    /// Fills `gated` with which patterns of the set match `text`.
    fn check(&self, text: &str, gated: &mut Vec<bool>) {
        if let Some(set) = &self.set {
            gated.clear();
            gated.resize(set.len(), false);
            set.matches_read_at(gated, text, 0);
        }
    }

    /// Whether a regex with this index in the set may match (true for one not in the set).
    fn may_match(index: Option<usize>, gated: &[bool]) -> bool {
        index.is_none_or(|i| gated[i])
    }
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
            gate: RegexGate::new(&regexes, &numbers),
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
        scratch: &mut MatchScratch,
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
            fuzzy.scan(turn, text, applies, hits, limit, &mut scratch.projected);
        }
        self.gate.check(text, &mut scratch.gated);
        let gated = &scratch.gated;
        for (pattern, &index) in self.numbers.iter().zip(&self.gate.numbers) {
            if !applies(pattern.use_.leaf as usize) || !RegexGate::may_match(index, gated) {
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
        let mut indexes = self.gate.plain.iter();
        for (leaf, regexes) in &self.regexes {
            let applies = applies(*leaf);
            for re in regexes {
                // one index per regex, taken whether or not the leaf applies
                let index = indexes.next().copied().flatten();
                if !applies || !RegexGate::may_match(index, gated) {
                    continue;
                }
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
    fn the_regex_gate_passes_exactly_the_regexes_that_match() {
        let regexes: Vec<(usize, Vec<regex::Regex>)> = [
            (0, vec!["退款.{0,4}(失败|延迟)", r"\bsla\b"]),
            (1, vec![r"only \d+ (left|remaining)"]),
        ]
        .into_iter()
        .map(|(leaf, res)| {
            (
                leaf,
                res.into_iter()
                    .map(|r| regex::Regex::new(r).unwrap())
                    .collect(),
            )
        })
        .collect();
        let gate = RegexGate::new(&regexes, &[]);
        // the word-boundary regex is searched on its own, never gated
        assert_eq!(gate.plain, [Some(0), None, Some(1)]);
        let all: Vec<&regex::Regex> = regexes.iter().flat_map(|(_, r)| r).collect();
        for text in [
            "您的退款处理失败了",
            "only 3 left",
            "the sla is",
            "退款成功",
            "",
        ] {
            let mut gated = Vec::new();
            gate.check(text, &mut gated);
            for (re, index) in all.iter().zip(&gate.plain) {
                if !RegexGate::may_match(*index, &gated) {
                    assert!(!re.is_match(text), "{re} was gated out of {text:?}");
                }
            }
        }
        let mut gated = Vec::new();
        gate.check("退款成功", &mut gated);
        assert_eq!(
            gated,
            [false, false],
            "a turn no regex matches is gated out"
        );
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
