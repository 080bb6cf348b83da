//! Evaluating compiled conditions over a call: whether they hold, and the hits that show it.

use super::compile::Cond;
use super::{CallView, Hit};
use crate::rules::SpeakerScope;

/// Whether `cond` holds anywhere in the call.
pub(super) fn holds(cond: &Cond, view: &CallView<'_>) -> bool {
    match cond {
        Cond::Leaf(leaf) => !view.leaf_hits(*leaf).is_empty(),
        Cond::All(items) => items.iter().all(|c| holds(c, view)),
        Cond::Any(items) => items.iter().any(|c| holds(c, view)),
        Cond::Not(inner) => !holds(inner, view),
    }
}

/// The hits that make `cond` hold, in call order (turn, then position); empty if it does not
/// hold. A `not` contributes no evidence.
pub(super) fn evidence(cond: &Cond, view: &CallView<'_>) -> Vec<Hit> {
    let mut out = Vec::new();
    if holds(cond, view) {
        collect(cond, view, &mut out);
    }
    out.sort_by_key(|h| (h.turn, h.start, h.end, h.leaf));
    out.dedup_by_key(|h| (h.turn, h.start, h.end));
    out
}

fn collect(cond: &Cond, view: &CallView<'_>, out: &mut Vec<Hit>) {
    match cond {
        Cond::Leaf(leaf) => out.extend_from_slice(view.leaf_hits(*leaf)),
        Cond::All(items) | Cond::Any(items) => {
            for item in items.iter().filter(|c| holds(c, view)) {
                collect(item, view, out);
            }
        }
        Cond::Not(_) => {}
    }
}

/// The evidence of `cond` said by `speaker`: other speakers' parts of a composition are context
/// that makes the condition hold, not findings of their own.
pub(super) fn evidence_of(cond: &Cond, speaker: SpeakerScope, view: &CallView<'_>) -> Vec<Hit> {
    let mut hits = evidence(cond, view);
    hits.retain(|h| speaker.includes(view.call.turns[h.turn as usize].speaker));
    hits
}
