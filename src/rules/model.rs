//! The loaded, validated form of a rule pack.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::scorecard::Scorecard;
use crate::input::Speaker;

/// What a rule checks; each kind has its own file under `engine/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every occurrence (beyond `max_count`) is a violation.
    Forbid,
    /// The condition must hold (at least `min_count` times); otherwise one violation.
    Require,
    /// Every occurrence earns a bonus.
    Reward,
    /// Steps must occur in order.
    Sequence,
    /// Every trigger must be answered within some turns.
    Response,
    /// A measure from turn timestamps must stay within a limit.
    Timing,
    /// A turn says the same thing as one of the rule's example sentences, in other words.
    Similar,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Forbid,
        Kind::Require,
        Kind::Reward,
        Kind::Sequence,
        Kind::Response,
        Kind::Timing,
        Kind::Similar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Forbid => "forbid",
            Kind::Require => "require",
            Kind::Reward => "reward",
            Kind::Sequence => "sequence",
            Kind::Response => "response",
            Kind::Timing => "timing",
            Kind::Similar => "similar",
        }
    }

    /// Whether a finding of this kind adds points instead of deducting them.
    pub fn is_reward(self) -> bool {
        self == Kind::Reward
    }

    /// Kinds whose only outcome is a violation: nothing in a call shows them "met". (A
    /// `similar` rule's findings are its only evidence: rewards when `effect = "reward"`,
    /// which `coach --good` lists as findings, violations otherwise.)
    pub fn is_violation_only(self) -> bool {
        matches!(self, Kind::Forbid | Kind::Timing | Kind::Similar)
    }
}

/// How serious a violation is; see the scorecard for which severities fail a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Minor,
    Major,
    Critical,
    Fatal,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Minor,
        Severity::Major,
        Severity::Critical,
        Severity::Fatal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
            Severity::Fatal => "fatal",
        }
    }
}

/// Whose turns a condition looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeakerScope {
    Agent,
    Customer,
    Any,
}

impl SpeakerScope {
    pub fn as_str(self) -> &'static str {
        match self {
            SpeakerScope::Agent => "agent",
            SpeakerScope::Customer => "customer",
            SpeakerScope::Any => "any",
        }
    }

    pub fn includes(self, speaker: Speaker) -> bool {
        match self {
            SpeakerScope::Any => true,
            SpeakerScope::Agent => speaker == Speaker::Agent,
            SpeakerScope::Customer => speaker == Speaker::Customer,
        }
    }
}

/// Which calls a rule applies to, by language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LangScope {
    Zh,
    En,
    Any,
}

impl LangScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LangScope::Zh => "zh",
            LangScope::En => "en",
            LangScope::Any => "any",
        }
    }
}

/// Where in the call a condition looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Whole,
    /// The first N turns of the condition's speaker.
    FirstTurns(u32),
    /// The last N turns of the condition's speaker.
    LastTurns(u32),
    /// Turns starting within N ms of the call's first turn (needs timestamps).
    FirstMs(i64),
    /// Turns ending within N ms of the call's last turn end (needs timestamps).
    LastMs(i64),
}

impl Scope {
    pub fn needs_timestamps(self) -> bool {
        matches!(self, Scope::FirstMs(_) | Scope::LastMs(_))
    }
}

/// A phrase does not count when a negator stands shortly before it in the same clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negation {
    pub negators: Vec<String>,
    /// Characters before the hit searched for a negator.
    pub window: u32,
}

/// A hit counts only with another phrase close by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Near {
    pub phrases: Vec<String>,
    pub within: Distance,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distance {
    /// Within N characters in the same turn (gap between the two spans).
    Chars(u32),
    /// Within N turns (0 = the same turn).
    Turns(u32),
}

/// How a leaf's phrases are compared with the text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fuzzy {
    /// The normalized characters must be equal.
    #[default]
    Exact,
    /// Also text with the same pinyin, tones ignored ("马尚" for "马上").
    Pinyin,
    /// Also text with the same pinyin and tones.
    PinyinTone,
}

impl Fuzzy {
    pub fn as_str(self) -> &'static str {
        match self {
            Fuzzy::Exact => "exact",
            Fuzzy::Pinyin => "pinyin",
            Fuzzy::PinyinTone => "pinyin_tone",
        }
    }
}

/// The atom of every rule: phrases and regexes in some turns, with their modifiers.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub phrases: Vec<String>,
    pub regexes: Vec<regex::Regex>,
    pub exclude: Vec<String>,
    pub speaker: SpeakerScope,
    pub scope: Scope,
    pub negation: Option<Negation>,
    /// Hits must start and end on word boundaries (Chinese words by segmentation).
    pub word_boundary: bool,
    /// Phrases (and exclusions) also match text that sounds the same.
    pub fuzzy: Fuzzy,
    pub near: Option<Near>,
}

/// A leaf or a boolean composition of conditions, evaluated over the whole call.
#[derive(Clone, Debug)]
pub enum Condition {
    Leaf(Box<Leaf>),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Every leaf of this condition, depth first.
    pub fn leaves(&self) -> Vec<&Leaf> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a Leaf>) {
        match self {
            Condition::Leaf(leaf) => out.push(leaf),
            Condition::All(items) | Condition::Any(items) => {
                items.iter().for_each(|c| c.collect_leaves(out))
            }
            Condition::Not(inner) => inner.collect_leaves(out),
        }
    }
}

/// A measure computed from turn timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimingMetric {
    /// From the end of a customer turn to the start of the agent's next turn (ms).
    ResponseGap,
    /// Between the end of a turn and the start of the next, any speakers (ms).
    Silence,
    /// The agent starts before the customer's turn has ended, by this much (ms).
    Overlap,
    /// Characters (Chinese) or words (other text) per second in a turn of the speaker.
    SpeechRate,
}

impl TimingMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            TimingMetric::ResponseGap => "response_gap",
            TimingMetric::Silence => "silence",
            TimingMetric::Overlap => "overlap",
            TimingMetric::SpeechRate => "speech_rate",
        }
    }
}

/// What a rule checks, by kind.
#[derive(Clone, Debug)]
pub enum Check {
    Forbid {
        condition: Condition,
        max_count: u32,
    },
    Require {
        condition: Condition,
        min_count: u32,
    },
    Reward {
        condition: Condition,
    },
    Sequence {
        steps: Vec<Condition>,
        within_turns: Option<u32>,
    },
    Response {
        trigger: Condition,
        response: Condition,
        within_turns: u32,
    },
    Timing {
        metric: TimingMetric,
        max: f64,
        speaker: SpeakerScope,
    },
    Similar(Similar),
}

/// A `similar` rule's examples: turns that say what `like` says, in other words, are findings.
#[derive(Clone, Debug)]
pub struct Similar {
    /// Example sentences of what the rule looks for.
    pub like: Vec<String>,
    /// Counter-examples: a turn closer to one of these than to every `like` is not a finding.
    pub unlike: Vec<String>,
    /// Lowest similarity (0–1) to the closest `like` that makes a finding.
    pub threshold: f64,
    /// Findings earn points (`effect = "reward"`) instead of deducting them.
    pub reward: bool,
}

/// One turn of a rule example.
#[derive(Clone, Debug)]
pub struct ExampleTurn {
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

/// An example the rule must (or must not) detect.
#[derive(Clone, Debug)]
pub struct Example {
    pub should_match: bool,
    pub turns: Vec<ExampleTurn>,
}

impl Example {
    /// The example as one line, for messages: `agent: … | customer: …`.
    pub fn describe(&self) -> String {
        if let [only] = self.turns.as_slice() {
            return format!("{:?}", only.text);
        }
        self.turns
            .iter()
            .map(|t| format!("{}: {}", t.speaker.as_str(), t.text))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// One rule, validated and compiled.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub kind: Kind,
    pub check: Check,
    /// The rule applies only to calls where this holds.
    pub when: Option<Condition>,
    pub category: String,
    pub severity: Severity,
    /// The speaker the rule is about (the default speaker of its conditions).
    pub speaker: SpeakerScope,
    pub lang: LangScope,
    /// Points per violation / bonus per hit.
    pub points: u32,
    /// Most points this rule can deduct or add in one call.
    pub cap: u32,
    pub message: String,
    pub suggestion: Option<String>,
    pub examples: Vec<Example>,
    /// Where the rule is defined, for messages.
    pub file: PathBuf,
    pub line: usize,
}

impl Rule {
    /// Whether a finding of this rule adds points instead of deducting them (a `reward`, or a
    /// `similar` rule with `effect = "reward"`).
    pub fn is_reward(&self) -> bool {
        self.kind.is_reward() || matches!(&self.check, Check::Similar(s) if s.reward)
    }

    /// Every condition of the rule (its check's and `when`).
    pub fn conditions(&self) -> Vec<&Condition> {
        let mut out: Vec<&Condition> = match &self.check {
            Check::Forbid { condition, .. }
            | Check::Require { condition, .. }
            | Check::Reward { condition } => vec![condition],
            Check::Sequence { steps, .. } => steps.iter().collect(),
            Check::Response {
                trigger, response, ..
            } => vec![trigger, response],
            Check::Timing { .. } | Check::Similar(_) => Vec::new(),
        };
        out.extend(self.when.as_ref());
        out
    }

    /// Whether the rule can only be judged on calls with turn timestamps.
    pub fn needs_timestamps(&self) -> bool {
        matches!(self.check, Check::Timing { .. })
            || self
                .conditions()
                .iter()
                .flat_map(|c| c.leaves())
                .any(|l| l.scope.needs_timestamps())
    }
}

/// A loaded rule pack: rules in file order, the scorecard, and what identifies the pack.
#[derive(Clone, Debug)]
pub struct RulePack {
    pub(super) dir: PathBuf,
    pub(super) rules: Vec<Rule>,
    pub(super) scorecard: Scorecard,
    pub(super) categories: Vec<String>,
    pub(super) files: Vec<PathBuf>,
    pub(super) sha256: String,
    pub(super) warnings: Vec<crate::error::RuleProblem>,
    /// Disfluency handling from `normalize.toml` (defaults when the pack has none).
    pub(super) normalize: crate::normalize::disfluency::DisfluencyOptions,
}

impl RulePack {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn scorecard(&self) -> &Scorecard {
        &self.scorecard
    }

    /// The built-in categories, then any custom ones in name order.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// SHA-256 over the file names and bytes of the pack, in name order.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Lint findings that do not stop the pack from loading (see `rules check`).
    pub fn warnings(&self) -> &[crate::error::RuleProblem] {
        &self.warnings
    }

    /// Index of `category` in [`RulePack::categories`].
    pub fn category_index(&self, category: &str) -> Option<usize> {
        self.categories.iter().position(|c| c == category)
    }

    /// How turns and phrases drop fillers, repeats and split spaces (`normalize.toml`).
    pub fn normalize_options(&self) -> &crate::normalize::disfluency::DisfluencyOptions {
        &self.normalize
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}
