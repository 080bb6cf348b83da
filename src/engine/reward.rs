//! `reward`: good practice that earns a bonus, such as an empathy phrase.
//!
//! Every hit in a turn of the rule's speaker is one finding that adds the rule's `points`, up
//! to its `cap` per call; all bonuses of a call together are capped (see `score`).
//!
//! ```toml
//! [[rule]]
//! id = "EMP-ZH-001"
//! kind = "reward"
//! category = "empathy"
//! severity = "info"
//! points = 2
//! message = "表达理解与共情"
//! phrases = ["我理解", "理解您的心情"]
//! exclude = ["不理解"]
//! examples.match = ["我理解您的心情"]
//! examples.no_match = ["这个我也不理解"]
//! ```

use super::{CallView, Finding, Hit};

pub(super) fn evaluate(rule: usize, hits: &[Hit], view: &CallView<'_>, out: &mut Vec<Finding>) {
    // A reward finding is recorded exactly like a forbid hit; scoring tells them apart by kind.
    super::forbid::evaluate(rule, hits, view, out);
}
