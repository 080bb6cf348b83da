//! The compiled rule pack: built once, shared read-only by every worker thread.
//!
//! Every condition leaf of every rule is numbered; all their literal phrases and exclusions go
//! into one Aho-Corasick automaton, so each turn is scanned once whatever the size of the pack.
//! Regexes run only on turns that their leaf applies to (by speaker and call language). Hits
//! then pass the per-leaf modifiers (scope, negation, word boundary, proximity), and each rule
//! kind turns its leaves' hits into findings in its own file.

mod compile;
mod conditions;
mod filters;
mod forbid;
mod fuzzy;
mod matcher;
mod require;
mod response;
mod reward;
mod sequence;
mod similar;
mod timing;

use crate::error::Result;
use crate::input::{Call, Turn};
use crate::lang::{self, Language};
use crate::normalize::{NormText, Normalizer};
use crate::rules::{LangScope, RulePack, SpeakerScope};
use compile::{CompiledCheck, CompiledRule, LeafSpec};

pub use matcher::Hit;

/// One finding: a violation, a missing requirement or a reward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Index of the rule in [`RulePack::rules`].
    pub rule: usize,
    /// The turn of the finding; `None` when it concerns the whole call (a missing `require`).
    pub turn: Option<usize>,
    /// Byte range of the evidence in the original turn text.
    pub span: Option<(usize, usize)>,
    /// Why, in words, when the matched text alone does not say (a gap, a missing step).
    pub detail: Option<String>,
}

/// A place in a call: a turn and a byte span of its original text.
pub type Place = (usize, (usize, usize));

/// What the engine found in one call.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub language: Language,
    /// Whether every turn has `start_ms` and `end_ms` (timing rules apply).
    pub timed: bool,
    /// Sorted by turn (whole-call findings first), then position, then rule.
    pub findings: Vec<Finding>,
    /// The customer's anger, 0..=1, and the lexicon terms that drove it (see `emotion`).
    pub customer_anger: f64,
    pub anger_terms: Vec<String>,
    /// Turns that mix Chinese with English words ("OK", "APP", "refund").
    pub mixed_turns: u32,
    /// Those English words, distinct and sorted (at most [`MAX_MIXED_WORDS`]).
    pub mixed_words: Vec<String>,
}

/// Most distinct English words of mixed turns listed for one call.
pub const MAX_MIXED_WORDS: usize = 20;

/// How many turns mix Chinese with English words, and those words.
fn mixed_language(turns: &[NormText]) -> (u32, Vec<String>) {
    let mut count = 0;
    let mut words = std::collections::BTreeSet::new();
    for turn in turns {
        let found = lang::mixed_words(turn.as_str());
        if !found.is_empty() {
            count += 1;
            words.extend(found.into_iter().map(str::to_string));
        }
    }
    (count, words.into_iter().take(MAX_MIXED_WORDS).collect())
}

/// Buffers reused from call to call by one worker.
#[derive(Default)]
pub struct Scratch {
    turns: Vec<NormText>,
    hits: Vec<Hit>,
    offsets: Vec<usize>,
    matching: matcher::MatchScratch,
    similar: similar::Scratch,
}

/// The compiled, read-only form of a [`RulePack`].
pub struct Engine {
    pack: RulePack,
    normalizer: Normalizer,
    matcher: matcher::Matcher,
    leaves: Vec<LeafSpec>,
    rules: Vec<CompiledRule>,
    /// For each language, whether each rule applies to calls in it.
    applies: [Vec<bool>; 3],
    category_of_rule: Vec<usize>,
    emotion: crate::emotion::Lexicon,
    /// The `similar` rules' example sentences, indexed by feature.
    similar: similar::SimilarIndex,
    /// Reviewers' model of which findings they confirm (`run --model`).
    review_model: Option<crate::review::Model>,
}

/// What a rule kind sees of the call being evaluated.
pub(crate) struct CallView<'a> {
    pub call: &'a Call,
    pub turns: &'a [NormText],
    /// Hits that passed every modifier, sorted by leaf, turn and position.
    hits: &'a [Hit],
    /// `hits[offsets[leaf]..offsets[leaf + 1]]` are the hits of `leaf`.
    offsets: &'a [usize],
    /// Start of the first turn and end of the last (ms), for time scopes.
    first_start: Option<i64>,
    last_end: Option<i64>,
    /// Best windows of the `similar` rules, by rule and turn.
    similar: &'a [similar::SimilarMatch],
}

impl CallView<'_> {
    pub(crate) fn leaf_hits(&self, leaf: usize) -> &[Hit] {
        &self.hits[self.offsets[leaf]..self.offsets[leaf + 1]]
    }

    /// Byte span in the original text of the hit's turn.
    fn original_span(&self, hit: &Hit) -> (usize, usize) {
        self.turns[hit.turn as usize].original_span(hit.start as usize, hit.end as usize)
    }

    /// How many turns of `speaker` come before `turn`.
    fn ordinal(&self, speaker: SpeakerScope, turn: usize) -> usize {
        self.call.turns[..turn]
            .iter()
            .filter(|t| speaker.includes(t.speaker))
            .count()
    }

    /// How many turns of `speaker` come after `turn`.
    fn ordinal_from_end(&self, speaker: SpeakerScope, turn: usize) -> usize {
        self.call.turns[turn + 1..]
            .iter()
            .filter(|t| speaker.includes(t.speaker))
            .count()
    }

    fn finding_at(&self, rule: usize, hit: &Hit, detail: Option<String>) -> Finding {
        Finding {
            rule,
            turn: Some(hit.turn as usize),
            span: Some(self.original_span(hit)),
            detail,
        }
    }
}

/// The result of one rule on one call.
pub(crate) struct Verdict {
    pub findings: Vec<Finding>,
    /// Whether what the rule describes is present (what `examples.match` asserts).
    pub detected: bool,
    /// The hits that show a rule met (a requirement's phrase, an answering response, the
    /// steps of a sequence): the good examples for coaching.
    pub evidence: Vec<Hit>,
}

fn is_timed(turns: &[Turn]) -> bool {
    turns
        .iter()
        .all(|t| t.start_ms.is_some() && t.end_ms.is_some())
}

impl Engine {
    /// Compiles `pack`; fails (naming file, line and rule) if a phrase normalizes to nothing.
    pub fn new(pack: RulePack) -> Result<Engine> {
        let mut normalizer = Normalizer::with_options(pack.normalize_options());
        normalizer.protect_phrases(pack_phrases(&pack).iter().map(String::as_str));
        let normalize = |s: &str| normalizer.normalize(s);
        let (leaves, rules) = compile::compile(&pack, &normalize);
        let matcher = matcher::Matcher::new(&pack, &leaves, &normalize)?;
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
        let emotion = crate::emotion::Lexicon::default_lexicon(&normalizer);
        let similar = similar::SimilarIndex::new(&pack, &normalizer)?;
        Ok(Engine {
            similar,
            review_model: None,
            emotion,
            pack,
            normalizer,
            matcher,
            leaves,
            rules,
            applies,
            category_of_rule,
        })
    }

    /// Gives every finding a `confidence` from a review model (see `review`).
    pub fn set_review_model(&mut self, model: crate::review::Model) {
        self.review_model = Some(model);
    }

    pub fn review_model(&self) -> Option<&crate::review::Model> {
        self.review_model.as_ref()
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
        self.evaluate_rules(call, scratch, None).0
    }

    /// Normalizes the call's turns into `buffers`, which only grow: a turn's buffers keep their
    /// capacity for the next call, so the hot loop stops allocating once calls repeat in length.
    fn normalize_turns<'s>(&self, call: &Call, buffers: &'s mut Vec<NormText>) -> &'s [NormText] {
        if buffers.len() < call.turns.len() {
            buffers.resize_with(call.turns.len(), NormText::default);
        }
        let buffers = &mut buffers[..call.turns.len()];
        for (turn, norm) in call.turns.iter().zip(buffers.iter_mut()) {
            self.normalizer.normalize_into(&turn.text, norm);
        }
        buffers
    }

    /// Evaluates all rules, or only `only`; also says whether `only` detected its pattern.
    fn evaluate_rules(
        &self,
        call: &Call,
        scratch: &mut Scratch,
        only: Option<usize>,
    ) -> (Evaluation, bool, Vec<Place>) {
        let turns = self.normalize_turns(call, &mut scratch.turns);
        let language = lang::call_language(call, turns);
        let timed = is_timed(&call.turns);
        let rule_applies = |rule: usize| {
            self.applies[language.index()][rule]
                && only.is_none_or(|o| o == rule)
                && (timed || !self.rules[rule].needs_timestamps)
        };
        scratch.hits.clear();
        for (i, (turn, norm)) in call.turns.iter().zip(turns).enumerate() {
            let leaf_applies = |leaf: usize| {
                let spec = &self.leaves[leaf];
                spec.speaker.includes(turn.speaker) && rule_applies(spec.rule)
            };
            self.matcher.scan(
                i as u32,
                norm.as_str(),
                &leaf_applies,
                &mut scratch.hits,
                &mut scratch.matching,
            );
        }
        matcher::cancel_excluded(&mut scratch.hits);
        let similar_matches = if self.similar.is_empty() {
            Vec::new()
        } else {
            self.similar
                .scan(call, turns, &rule_applies, None, &mut scratch.similar)
        };
        let mut view = CallView {
            similar: &similar_matches,
            call,
            turns,
            hits: &[],
            offsets: &[],
            first_start: call.turns.iter().filter_map(|t| t.start_ms).min(),
            last_end: call
                .turns
                .iter()
                .filter_map(|t| t.end_ms.or(t.start_ms))
                .max(),
        };
        self.apply_modifiers(&view, &mut scratch.hits, &mut scratch.offsets);
        view.hits = &scratch.hits;
        view.offsets = &scratch.offsets;
        let mut findings = Vec::new();
        let mut detected = false;
        let mut evidence = Vec::new();
        for index in (0..self.rules.len()).filter(|&r| rule_applies(r)) {
            if let Some(verdict) = self.evaluate_rule(index, &view) {
                if only == Some(index) && verdict.detected {
                    detected = true;
                    evidence = verdict
                        .evidence
                        .iter()
                        .map(|h| (h.turn as usize, view.original_span(h)))
                        .collect();
                }
                findings.extend(listed(verdict.findings));
            }
        }
        findings.sort_by(|a, b| {
            (a.turn.map_or(0, |t| t + 1), a.span, a.rule, &a.detail).cmp(&(
                b.turn.map_or(0, |t| t + 1),
                b.span,
                b.rule,
                &b.detail,
            ))
        });
        let customer_turns = call
            .turns
            .iter()
            .zip(turns)
            .filter(|(t, _)| t.speaker == crate::input::Speaker::Customer)
            .map(|(_, norm)| norm.as_str());
        let (customer_anger, anger_terms) = self.emotion.score(customer_turns);
        let (mixed_turns, mixed_words) = mixed_language(turns);
        let evaluation = Evaluation {
            language,
            timed,
            findings,
            customer_anger,
            anger_terms,
            mixed_turns,
            mixed_words,
        };
        (evaluation, detected, evidence)
    }

    /// Drops hits outside their leaf's scope, negated, off word boundaries or not near their
    /// companion phrase; then indexes the rest by leaf.
    fn apply_modifiers(&self, view: &CallView<'_>, hits: &mut Vec<Hit>, offsets: &mut Vec<usize>) {
        hits.retain(|hit| {
            let spec = &self.leaves[hit.leaf as usize];
            let text = view.turns[hit.turn as usize].as_str();
            filters::in_scope(spec, hit, view)
                && !spec
                    .negation
                    .as_ref()
                    .is_some_and(|(words, window)| filters::negated(words, *window, hit, text))
                && (!spec.word_boundary || filters::on_word_boundaries(text, hit))
        });
        index_by_leaf(hits, self.leaves.len(), offsets);
        let near_ok: Vec<bool> = hits
            .iter()
            .map(|hit| match self.leaves[hit.leaf as usize].near {
                None => true,
                Some((near_leaf, distance)) => {
                    let near_hits = &hits[offsets[near_leaf]..offsets[near_leaf + 1]];
                    filters::is_near(hit, near_hits, distance, view)
                }
            })
            .collect();
        if near_ok.iter().any(|ok| !ok) {
            let mut keep = near_ok.into_iter();
            hits.retain(|_| keep.next().unwrap_or(true));
            index_by_leaf(hits, self.leaves.len(), offsets);
        }
    }

    fn evaluate_rule(&self, index: usize, view: &CallView<'_>) -> Option<Verdict> {
        let compiled = &self.rules[index];
        if let Some(when) = &compiled.when
            && !conditions::holds(when, view)
        {
            return None;
        }
        let rule = &self.pack.rules()[index];
        Some(match &compiled.check {
            CompiledCheck::Forbid { cond, max_count } => {
                forbid::evaluate(index, rule.speaker, cond, *max_count, view)
            }
            CompiledCheck::Require { cond, min_count } => {
                require::evaluate(index, rule.speaker, cond, *min_count, view)
            }
            CompiledCheck::Reward { cond } => reward::evaluate(index, rule.speaker, cond, view),
            CompiledCheck::Sequence {
                steps,
                within_turns,
            } => sequence::evaluate(index, steps, *within_turns, view),
            CompiledCheck::Response {
                trigger,
                response,
                within_turns,
            } => response::evaluate(index, rule, trigger, response, *within_turns, view),
            CompiledCheck::Timing => timing::evaluate(index, &rule.check, view),
            CompiledCheck::Similar => similar::evaluate(index, &self.similar, view),
        })
    }

    /// Whether rule `rule` detects what it describes in the example's turns (see
    /// `examples.match` in docs/rules.md).
    pub fn detects(&self, rule: usize, example: &crate::rules::Example) -> bool {
        let call = Call {
            call_id: "example".into(),
            agent_id: "example".into(),
            started_at: None,
            channel: None,
            language: match self.pack.rules()[rule].lang {
                LangScope::Zh => Some("zh".into()),
                LangScope::En => Some("en".into()),
                LangScope::Any => None,
            },
            customer_id: None,
            turns: example
                .turns
                .iter()
                .map(|t| Turn {
                    speaker: t.speaker,
                    text: t.text.clone(),
                    start_ms: t.start_ms,
                    end_ms: t.end_ms,
                })
                .collect(),
        };
        self.evaluate_rules(&call, &mut Scratch::default(), Some(rule))
            .1
    }

    /// For each `similar` rule that applies to `call` (by language), its best similarity in the
    /// call whatever its threshold (0 when nothing compares): what `callqa tune` sweeps.
    pub fn similar_scores(&self, call: &Call) -> Vec<(usize, f64)> {
        let mut scratch = Scratch::default();
        let turns = self.normalize_turns(call, &mut scratch.turns);
        let language = lang::call_language(call, turns);
        let applies = |rule: usize| self.applies[language.index()][rule];
        // Any positive similarity counts: the sweep sets the threshold.
        let matches = self.similar.scan(
            call,
            turns,
            &applies,
            Some(f32::EPSILON),
            &mut scratch.similar,
        );
        let mut best: Vec<(usize, f64)> = (0..self.rules.len())
            .filter(|&r| applies(r) && matches!(self.rules[r].check, CompiledCheck::Similar))
            .map(|r| (r, 0.0))
            .collect();
        for m in matches {
            if let Some(slot) = best.iter_mut().find(|(r, _)| *r == m.rule) {
                slot.1 = slot.1.max(f64::from(m.score));
            }
        }
        best
    }

    /// Where in `call` rule `rule` is met — its requirement said, its trigger answered, its
    /// steps in order, its reward earned — as (turn, byte span) pairs; `None` when it is not.
    pub fn met_at(&self, rule: usize, call: &Call) -> Option<Vec<Place>> {
        let (_, detected, evidence) =
            self.evaluate_rules(call, &mut Scratch::default(), Some(rule));
        (detected && !self.pack.rules()[rule].kind.is_violation_only()).then_some(evidence)
    }
}

/// Every phrase, exclusion and `near` phrase of the pack (what disfluency handling must keep).
fn pack_phrases(pack: &RulePack) -> Vec<String> {
    let mut phrases = Vec::new();
    for rule in pack.rules() {
        for condition in rule.conditions() {
            for leaf in condition.leaves() {
                phrases.extend(leaf.phrases.iter().cloned());
                phrases.extend(leaf.exclude.iter().cloned());
                phrases.extend(leaf.near.iter().flat_map(|n| n.phrases.iter().cloned()));
            }
        }
    }
    phrases
}

/// Most findings one rule lists for one call; a pathological turn (a phrase repeated a million
/// times) must not turn into a million rows.
pub const MAX_FINDINGS_PER_RULE: usize = 100;

/// Keeps the first [`MAX_FINDINGS_PER_RULE`] findings and says on the last how many were left out.
fn listed(mut findings: Vec<Finding>) -> Vec<Finding> {
    if findings.len() > MAX_FINDINGS_PER_RULE {
        let left_out = findings.len() - MAX_FINDINGS_PER_RULE;
        findings.truncate(MAX_FINDINGS_PER_RULE);
        if let Some(last) = findings.last_mut() {
            let note = format!("{left_out} more findings of this rule in this call not listed");
            last.detail = Some(match last.detail.take() {
                Some(detail) => format!("{detail}; {note}"),
                None => note,
            });
        }
    }
    findings
}

/// Fills `offsets` so that `hits[offsets[l]..offsets[l + 1]]` are leaf `l`'s (hits are sorted).
fn index_by_leaf(hits: &[Hit], leaves: usize, offsets: &mut Vec<usize>) {
    offsets.clear();
    offsets.resize(leaves + 1, 0);
    for hit in hits {
        offsets[hit.leaf as usize + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
}

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
            for example in &rule.examples {
                run += 1;
                if self.detects(index, example) != example.should_match {
                    failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        file: rule.file.clone(),
                        line: rule.line,
                        should_match: example.should_match,
                        example: example.describe(),
                    });
                }
            }
        }
        (failures, run)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod asr_tests;
