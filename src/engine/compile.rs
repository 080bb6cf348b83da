//! Turning a rule pack into flat, indexable parts: every condition leaf gets a number, and
//! each rule's check refers to leaves by number.

use crate::rules::{Check, Condition, Distance, Leaf, Rule, RulePack, Scope, SpeakerScope};

/// A leaf as the engine uses it.
pub(crate) struct LeafSpec {
    pub rule: usize,
    pub speaker: SpeakerScope,
    pub scope: Scope,
    /// Normalized negators and the window in characters.
    pub negation: Option<(Vec<String>, u32)>,
    pub word_boundary: bool,
    /// The leaf holding the `near` phrases, and the distance.
    pub near: Option<(usize, Distance)>,
    /// Phrases, exclusions and regexes; `None` for a `near` helper leaf, whose phrases are
    /// registered with the matcher directly.
    pub source: Option<Leaf>,
    pub near_phrases: Vec<String>,
}

/// A condition with its leaves replaced by leaf numbers.
#[derive(Clone, Debug)]
pub(crate) enum Cond {
    Leaf(usize),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

/// A rule's check with conditions compiled.
pub(crate) enum CompiledCheck {
    Forbid {
        cond: Cond,
        max_count: u32,
    },
    Require {
        cond: Cond,
        min_count: u32,
    },
    Reward {
        cond: Cond,
    },
    Sequence {
        steps: Vec<Cond>,
        within_turns: Option<u32>,
    },
    Response {
        trigger: Cond,
        response: Cond,
        within_turns: u32,
    },
    Timing,
    /// Scored by the engine's similarity index (see `similar.rs`).
    Similar,
}

pub(crate) struct CompiledRule {
    pub check: CompiledCheck,
    pub when: Option<Cond>,
    pub needs_timestamps: bool,
}

pub(crate) fn compile(
    pack: &RulePack,
    normalize: &dyn Fn(&str) -> String,
) -> (Vec<LeafSpec>, Vec<CompiledRule>) {
    let mut leaves = Vec::new();
    let rules = pack
        .rules()
        .iter()
        .enumerate()
        .map(|(index, rule)| compile_rule(index, rule, &mut leaves, normalize))
        .collect();
    (leaves, rules)
}

fn compile_rule(
    index: usize,
    rule: &Rule,
    leaves: &mut Vec<LeafSpec>,
    normalize: &dyn Fn(&str) -> String,
) -> CompiledRule {
    let mut cond = |c: &Condition| compile_cond(index, c, leaves, normalize);
    let check = match &rule.check {
        Check::Forbid {
            condition,
            max_count,
        } => CompiledCheck::Forbid {
            cond: cond(condition),
            max_count: *max_count,
        },
        Check::Require {
            condition,
            min_count,
        } => CompiledCheck::Require {
            cond: cond(condition),
            min_count: *min_count,
        },
        Check::Reward { condition } => CompiledCheck::Reward {
            cond: cond(condition),
        },
        Check::Sequence {
            steps,
            within_turns,
        } => CompiledCheck::Sequence {
            steps: steps.iter().map(&mut cond).collect(),
            within_turns: *within_turns,
        },
        Check::Response {
            trigger,
            response,
            within_turns,
        } => CompiledCheck::Response {
            trigger: cond(trigger),
            response: cond(response),
            within_turns: *within_turns,
        },
        Check::Timing { .. } => CompiledCheck::Timing,
        Check::Similar(_) => CompiledCheck::Similar,
    };
    let when = rule.when.as_ref().map(cond);
    CompiledRule {
        check,
        when,
        needs_timestamps: rule.needs_timestamps(),
    }
}

fn compile_cond(
    rule: usize,
    condition: &Condition,
    leaves: &mut Vec<LeafSpec>,
    normalize: &dyn Fn(&str) -> String,
) -> Cond {
    let mut recurse = |c: &Condition| compile_cond(rule, c, leaves, normalize);
    match condition {
        Condition::All(items) => Cond::All(items.iter().map(&mut recurse).collect()),
        Condition::Any(items) => Cond::Any(items.iter().map(&mut recurse).collect()),
        Condition::Not(inner) => Cond::Not(Box::new(recurse(inner))),
        Condition::Leaf(leaf) => {
            let near = leaf.near.as_ref().map(|near| {
                leaves.push(LeafSpec {
                    rule,
                    speaker: SpeakerScope::Any,
                    scope: Scope::Whole,
                    negation: None,
                    word_boundary: false,
                    near: None,
                    source: None,
                    near_phrases: near.phrases.clone(),
                });
                (leaves.len() - 1, near.within)
            });
            leaves.push(LeafSpec {
                rule,
                speaker: leaf.speaker,
                scope: leaf.scope,
                negation: leaf.negation.as_ref().map(|n| {
                    let words = n
                        .negators
                        .iter()
                        .map(|w| normalize(w))
                        .filter(|w| !w.is_empty());
                    (words.collect(), n.window)
                }),
                word_boundary: leaf.word_boundary,
                near,
                source: Some((**leaf).clone()),
                near_phrases: Vec::new(),
            });
            Cond::Leaf(leaves.len() - 1)
        }
    }
}
