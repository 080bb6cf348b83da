//! The rule pack: TOML files that QA staff write, loaded strictly.
//!
//! A pack is a folder of `*.toml` files, each holding `[[rule]]` tables, plus an optional
//! `scorecard.toml` (see `docs/rules.md`). Loading never half-succeeds: every problem in every
//! file is collected, each naming its file, line and rule id, and the pack is returned only
//! when there are none.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("op.toml"), r#"
//! [[rule]]
//! id = "OP-1"
//! kind = "forbid"
//! category = "over_promising"
//! severity = "major"
//! message = "no promises"
//! phrases = ["马上解决"]
//! examples.match = ["马上解决"]
//! examples.no_match = ["尽快处理"]
//! "#).unwrap();
//! let pack = callqa::rules::RulePack::load(dir.path()).unwrap();
//! assert_eq!(pack.rules()[0].id, "OP-1");
//! ```

pub mod explain;
mod lint;
mod load;
mod model;
mod scorecard;

pub use model::Similar;
pub use model::{
    Check, Condition, Distance, Example, ExampleTurn, Fuzzy, Kind, LangScope, Leaf, Near, Negation,
    Rule, RulePack, Scope, Severity, SpeakerScope, TimingMetric,
};
pub use scorecard::Scorecard;

/// The built-in categories; a pack may add its own.
pub const BUILTIN_CATEGORIES: [&str; 4] =
    ["compliance", "banned_wording", "over_promising", "empathy"];

/// The file in a pack folder that holds the scorecard rather than rules.
pub const SCORECARD_FILE: &str = "scorecard.toml";

/// The file in a pack folder that holds the disfluency options of normalization.
pub const NORMALIZE_FILE: &str = "normalize.toml";

/// Negators used by `negation = true`, Chinese and English.
pub const DEFAULT_NEGATORS: [&str; 29] = [
    "不",
    "没",
    "没有",
    "未",
    "别",
    "无法",
    "不能",
    "不会",
    "不是",
    "并非",
    "不太",
    // Cantonese 唔 (不) and 冇 (没有)
    "唔",
    "冇",
    "not",
    "never",
    "no",
    "can't",
    "cannot",
    "won't",
    "don't",
    "doesn't",
    "didn't",
    "isn't",
    "wasn't",
    "aren't",
    "couldn't",
    "wouldn't",
    "shouldn't",
    "unable to",
];

/// Characters before a hit searched for a negator when the rule does not say.
pub const DEFAULT_NEGATION_WINDOW: u32 = 6;

pub(crate) use load::hex as hex_digest;
