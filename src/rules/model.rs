//! The loaded, validated form of a rule pack.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a rule asks of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every occurrence is a violation.
    Forbid,
    /// At least one occurrence is needed; none is a violation.
    Require,
    /// Every occurrence earns a bonus.
    Reward,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Forbid => "forbid",
            Kind::Require => "require",
            Kind::Reward => "reward",
        }
    }
}

/// How serious a violation is; `Fatal` fails the whole call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Minor,
    Major,
    Critical,
    Fatal,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
            Severity::Fatal => "fatal",
        }
    }

    /// Points a rule of this severity deducts (or adds) when it does not say.
    pub fn default_points(self) -> u32 {
        match self {
            Severity::Info | Severity::Fatal => 0,
            Severity::Minor => 2,
            Severity::Major => 5,
            Severity::Critical => 10,
        }
    }
}

/// Whose turns a rule looks at.
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
}

/// Which calls a rule applies to, by language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LangScope {
    Zh,
    En,
    Any,
}

/// Where in the call a `require` rule looks, counted among the speaker's turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Whole,
    FirstTurns(u32),
    LastTurns(u32),
}

/// One rule, validated and with its regexes compiled.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub kind: Kind,
    pub category: String,
    pub severity: Severity,
    pub speaker: SpeakerScope,
    pub lang: LangScope,
    /// Points deducted per hit (forbid), when missing (require) or added per hit (reward).
    pub points: u32,
    /// Most points this rule can deduct or add in one call.
    pub cap: u32,
    pub message: String,
    pub suggestion: Option<String>,
    pub phrases: Vec<String>,
    pub regexes: Vec<regex::Regex>,
    pub exclude: Vec<String>,
    pub position: Position,
    pub examples_match: Vec<String>,
    pub examples_no_match: Vec<String>,
    /// Where the rule is defined, for messages.
    pub file: PathBuf,
    pub line: usize,
}

impl Rule {
    pub fn is_fatal(&self) -> bool {
        self.severity == Severity::Fatal
    }
}

/// A loaded rule pack: rules in file order, plus what identifies the pack.
#[derive(Clone, Debug)]
pub struct RulePack {
    pub(super) dir: PathBuf,
    pub(super) rules: Vec<Rule>,
    pub(super) categories: Vec<String>,
    pub(super) files: Vec<PathBuf>,
    pub(super) sha256: String,
}

impl RulePack {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
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

    /// Index of `category` in [`RulePack::categories`].
    pub fn category_index(&self, category: &str) -> Option<usize> {
        self.categories.iter().position(|c| c == category)
    }
}
