//! `forbid`: the rule's phrases must not be said.
//!
//! Every hit (after exclusions) in a turn of the rule's speaker is one finding; each deducts the
//! rule's `points`, up to its `cap` per call. A `fatal` forbid hit fails the call.
//!
//! ```toml
//! [[rule]]
//! id = "OP-ZH-001"
//! kind = "forbid"
//! category = "over_promising"
//! severity = "major"
//! message = "不得承诺无法保证的时效"
//! suggestion = "我们将在2小时内反馈进展"
//! phrases = ["马上解决"]
//! examples.match = ["这个问题我们马上解决"]
//! examples.no_match = ["我们将在2小时内反馈进展"]
//! ```

use super::{CallView, Finding, Hit};

pub(super) fn evaluate(rule: usize, hits: &[Hit], view: &CallView<'_>, out: &mut Vec<Finding>) {
    out.extend(hits.iter().map(|hit| Finding {
        rule,
        turn: Some(hit.turn as usize),
        span: Some(view.original_span(hit)),
    }));
}
