//! The rule pack: TOML files that QA staff write, loaded strictly.
//!
//! A pack is a folder of `*.toml` files, each holding `[[rule]]` tables (see `docs/rules.md`).
//! Loading never half-succeeds: every problem in every file is collected, each naming its file,
//! line and rule id, and the pack is returned only when there are none.
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

mod load;
mod model;

pub use model::{Kind, LangScope, Position, Rule, RulePack, Severity, SpeakerScope};

/// The built-in categories; a pack may add its own.
pub const BUILTIN_CATEGORIES: [&str; 4] =
    ["compliance", "banned_wording", "over_promising", "empathy"];

pub(crate) use load::hex as hex_digest;
