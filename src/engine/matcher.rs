//! Scanning one normalized turn for every rule's phrases, exclusions and regexes.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::error::{Error, Result, RuleProblem};
use crate::normalize::Normalizer;
use crate::rules::RulePack;

/// One occurrence of a rule's phrase, regex or exclusion in a turn (normalized byte offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub rule: u32,
    pub turn: u32,
    pub start: u32,
    pub end: u32,
    /// An exclusion match: it cancels overlapping hits of the same rule and is then dropped.
    pub exclude: bool,
}

#[derive(Clone, Copy)]
struct PatternUse {
    rule: u32,
    exclude: bool,
}

pub(super) struct Matcher {
    automaton: AhoCorasick,
    /// For each automaton pattern, the rules that use it.
    uses: Vec<Vec<PatternUse>>,
    /// Rules that have regexes, in rule order.
    regex_rules: Vec<usize>,
    regexes: Vec<Vec<regex::Regex>>,
}

impl Matcher {
    pub(super) fn new(pack: &RulePack, normalizer: &Normalizer) -> Result<Matcher> {
        let mut patterns: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut uses: Vec<Vec<PatternUse>> = Vec::new();
        let mut problems = Vec::new();
        for (rule_index, rule) in pack.rules().iter().enumerate() {
            let phrases = rule.phrases.iter().map(|p| (p, false));
            for (phrase, exclude) in phrases.chain(rule.exclude.iter().map(|p| (p, true))) {
                let norm = normalizer.normalize(phrase);
                if norm.is_empty() {
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
                uses[id].push(PatternUse {
                    rule: rule_index as u32,
                    exclude,
                });
            }
        }
        if !problems.is_empty() {
            return Err(Error::rule_pack(problems));
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| {
                Error::rule_pack(vec![RuleProblem {
                    file: pack.dir().to_path_buf(),
                    line: None,
                    rule_id: None,
                    message: format!("the phrases do not fit in one automaton: {e}"),
                }])
            })?;
        let regex_rules: Vec<usize> = (0..pack.rules().len())
            .filter(|&i| !pack.rules()[i].regexes.is_empty())
            .collect();
        let regexes = regex_rules
            .iter()
            .map(|&i| pack.rules()[i].regexes.clone())
            .collect();
        Ok(Matcher {
            automaton,
            uses,
            regex_rules,
            regexes,
        })
    }

    /// Appends the hits in `text` (turn `turn`) of the rules for which `applies` is true.
    pub(super) fn scan(
        &self,
        turn: u32,
        text: &str,
        applies: &dyn Fn(usize) -> bool,
        hits: &mut Vec<Hit>,
    ) {
        for m in self.automaton.find_overlapping_iter(text) {
            for u in &self.uses[m.pattern().as_usize()] {
                if applies(u.rule as usize) {
                    hits.push(Hit {
                        rule: u.rule,
                        turn,
                        start: m.start() as u32,
                        end: m.end() as u32,
                        exclude: u.exclude,
                    });
                }
            }
        }
        for (&rule, regexes) in self.regex_rules.iter().zip(&self.regexes) {
            if !applies(rule) {
                continue;
            }
            for re in regexes {
                for m in re.find_iter(text).filter(|m| !m.is_empty()) {
                    hits.push(Hit {
                        rule: rule as u32,
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

/// Sorts `hits` by rule, turn and position, drops hits that overlap an exclusion of the same
/// rule in the same turn, drops the exclusions and merges identical spans of one rule.
pub(crate) fn cancel_excluded(hits: &mut Vec<Hit>) {
    hits.sort_unstable();
    let mut kept = Vec::with_capacity(hits.len());
    let mut group_start = 0;
    while group_start < hits.len() {
        let (rule, turn) = (hits[group_start].rule, hits[group_start].turn);
        let group_len = hits[group_start..]
            .iter()
            .take_while(|h| h.rule == rule && h.turn == turn)
            .count();
        let group = &hits[group_start..group_start + group_len];
        for hit in group.iter().filter(|h| !h.exclude) {
            let excluded = group
                .iter()
                .any(|x| x.exclude && x.start < hit.end && hit.start < x.end);
            let duplicate = kept.last().is_some_and(|k: &Hit| {
                (k.rule, k.turn, k.start, k.end) == (rule, turn, hit.start, hit.end)
            });
            if !excluded && !duplicate {
                kept.push(*hit);
            }
        }
        group_start += group_len;
    }
    *hits = kept;
}
