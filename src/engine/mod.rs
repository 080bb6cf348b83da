//! The compiled rule pack: built once, shared read-only by every worker thread.
//!
//! All literal phrases and exclusions of all rules go into one Aho-Corasick automaton, so each
//! turn is scanned once whatever the size of the pack. Regexes run only on turns that a regex
//! rule applies to (by speaker and call language). Each rule kind turns the hits into findings
//! in its own file.

mod forbid;
mod matcher;
mod require;
mod reward;

use crate::error::Result;
use crate::input::{Call, Speaker};
use crate::lang::{self, Language};
use crate::normalize::{NormText, Normalizer};
use crate::rules::{Kind, LangScope, Rule, RulePack, SpeakerScope};

pub use matcher::Hit;

/// One finding: a violation, a missing requirement or a reward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Index of the rule in [`RulePack::rules`].
    pub rule: usize,
    /// The turn of the hit; `None` for a missing `require`.
    pub turn: Option<usize>,
    /// Byte range of the hit in the original turn text.
    pub span: Option<(usize, usize)>,
}

/// What the engine found in one call.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub language: Language,
    /// Sorted by turn (missing requirements first), then position, then rule.
    pub findings: Vec<Finding>,
}

/// Buffers reused from call to call by one worker.
#[derive(Default)]
pub struct Scratch {
    turns: Vec<NormText>,
    hits: Vec<Hit>,
}

/// The compiled, read-only form of a [`RulePack`].
pub struct Engine {
    pack: RulePack,
    normalizer: Normalizer,
    matcher: matcher::Matcher,
    /// For each language, whether each rule applies to calls in it.
    applies: [Vec<bool>; 3],
    category_of_rule: Vec<usize>,
}

/// Everything a rule kind needs to know about the call being evaluated.
pub(crate) struct CallView<'a> {
    pub call: &'a Call,
    pub turns: &'a [NormText],
}

impl CallView<'_> {
    /// Whether `turn` is within `rule`'s position scope, counted among the speaker's turns.
    fn in_position(&self, rule: &Rule, turn: usize) -> bool {
        use crate::rules::Position;
        let speaks = |t: &crate::input::Turn| speaker_matches(rule.speaker, t.speaker);
        match rule.position {
            Position::Whole => true,
            Position::FirstTurns(n) => {
                self.call.turns[..turn].iter().filter(|t| speaks(t)).count() < n as usize
            }
            Position::LastTurns(n) => {
                self.call.turns[turn + 1..]
                    .iter()
                    .filter(|t| speaks(t))
                    .count()
                    < n as usize
            }
        }
    }

    /// Byte span in the original text of turn `hit.turn`.
    fn original_span(&self, hit: &Hit) -> (usize, usize) {
        self.turns[hit.turn as usize].original_span(hit.start as usize, hit.end as usize)
    }
}

pub(crate) fn speaker_matches(scope: SpeakerScope, speaker: Speaker) -> bool {
    match scope {
        SpeakerScope::Any => true,
        SpeakerScope::Agent => speaker == Speaker::Agent,
        SpeakerScope::Customer => speaker == Speaker::Customer,
    }
}

impl Engine {
    /// Compiles `pack`; fails (naming file, line and rule) if a phrase normalizes to nothing.
    pub fn new(pack: RulePack) -> Result<Engine> {
        let normalizer = Normalizer::new();
        let matcher = matcher::Matcher::new(&pack, &normalizer)?;
        let applies = Language::ALL.map(|lang| {
            pack.rules()
                .iter()
                .map(|r| match r.lang {
                    LangScope::Any => true,
                    LangScope::Zh => lang == Language::Zh,
                    LangScope::En => lang == Language::En,
                })
                .collect()
        });
        let category_of_rule = pack
            .rules()
            .iter()
            .map(|r| pack.category_index(&r.category).unwrap_or(0))
            .collect();
        Ok(Engine {
            pack,
            normalizer,
            matcher,
            applies,
            category_of_rule,
        })
    }

    pub fn pack(&self) -> &RulePack {
        &self.pack
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// Index into [`RulePack::categories`] of rule `rule`'s category.
    pub fn category_of(&self, rule: usize) -> usize {
        self.category_of_rule[rule]
    }

    /// Finds every hit of every rule in `call`.
    pub fn evaluate(&self, call: &Call, scratch: &mut Scratch) -> Evaluation {
        scratch
            .turns
            .resize_with(call.turns.len(), NormText::default);
        for (turn, norm) in call.turns.iter().zip(scratch.turns.iter_mut()) {
            self.normalizer.normalize_into(&turn.text, norm);
        }
        let turns = &scratch.turns[..call.turns.len()];
        let language = lang::call_language(call, turns);
        let applies = &self.applies[language.index()];
        scratch.hits.clear();
        for (i, (turn, norm)) in call.turns.iter().zip(turns).enumerate() {
            let rule_applies = |rule: usize| {
                applies[rule] && speaker_matches(self.pack.rules()[rule].speaker, turn.speaker)
            };
            self.matcher
                .scan(i as u32, norm.as_str(), &rule_applies, &mut scratch.hits);
        }
        let view = CallView { call, turns };
        let findings = self.findings(&view, applies, &mut scratch.hits);
        Evaluation { language, findings }
    }

    fn findings(&self, view: &CallView<'_>, applies: &[bool], hits: &mut Vec<Hit>) -> Vec<Finding> {
        matcher::cancel_excluded(hits);
        let mut findings = Vec::new();
        let mut rest = &hits[..];
        for (index, rule) in self.pack.rules().iter().enumerate() {
            let split = rest.partition_point(|h| (h.rule as usize) <= index);
            let (rule_hits, tail) = rest.split_at(split);
            rest = tail;
            if !applies[index] {
                continue;
            }
            match rule.kind {
                Kind::Forbid => forbid::evaluate(index, rule_hits, view, &mut findings),
                Kind::Require => require::evaluate(index, rule, rule_hits, view, &mut findings),
                Kind::Reward => reward::evaluate(index, rule_hits, view, &mut findings),
            }
        }
        findings.sort_by_key(|f| (f.turn.map_or(0, |t| t + 1), f.span, f.rule));
        findings
    }

    /// Whether rule `rule` detects anything in one utterance by its speaker (agent for `any`),
    /// as `rules test` checks the rule's examples.
    pub fn detects(&self, rule: usize, text: &str) -> bool {
        let mut norm = NormText::default();
        self.normalizer.normalize_into(text, &mut norm);
        let mut hits = Vec::new();
        self.matcher
            .scan(0, norm.as_str(), &|r| r == rule, &mut hits);
        matcher::cancel_excluded(&mut hits);
        !hits.is_empty()
    }
}

#[cfg(test)]
mod tests;

/// An example of a rule that does not behave as the rule says it should.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleFailure {
    pub rule_id: String,
    pub file: std::path::PathBuf,
    pub line: usize,
    /// `true` for an `examples.match` that was not detected, `false` for an
    /// `examples.no_match` that was.
    pub should_match: bool,
    pub example: String,
}

impl Engine {
    /// Runs every rule's examples; returns the ones that fail and the number run.
    pub fn test_examples(&self) -> (Vec<ExampleFailure>, usize) {
        let mut failures = Vec::new();
        let mut run = 0;
        for (index, rule) in self.pack.rules().iter().enumerate() {
            let cases = rule
                .examples_match
                .iter()
                .map(|e| (e, true))
                .chain(rule.examples_no_match.iter().map(|e| (e, false)));
            for (example, should_match) in cases {
                run += 1;
                if self.detects(index, example) != should_match {
                    failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        file: rule.file.clone(),
                        line: rule.line,
                        should_match,
                        example: example.clone(),
                    });
                }
            }
        }
        (failures, run)
    }
}
