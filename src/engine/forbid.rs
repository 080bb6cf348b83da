//! `forbid`: what the rule describes must not be said.
//!
//! Every hit of the rule's condition in a turn of its speaker is one finding; each deducts the
//! rule's `points`, up to its `cap` per call. With `max_count = N`, the first N hits are allowed
//! and only the ones after them are findings ("抱歉" at most once). When the condition is a
//! composition (`all` / `any`), the hits of its matching parts are the findings. A `fatal`
//! forbid hit fails the call. `examples.match` = the forbidden thing is present.
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
//! negation = true            # "不会马上解决" is not a promise
//! examples.match = ["这个问题我们马上解决"]
//! examples.no_match = ["我们不会马上解决，会在2小时内反馈进展"]
//! ```

use super::compile::Cond;
use super::{CallView, Verdict, conditions};
use crate::rules::SpeakerScope;

pub(super) fn evaluate(
    rule: usize,
    speaker: SpeakerScope,
    cond: &Cond,
    max_count: u32,
    view: &CallView<'_>,
) -> Verdict {
    let hits = conditions::evidence_of(cond, speaker, view);
    let findings = hits
        .iter()
        .skip(max_count as usize)
        .map(|hit| view.finding_at(rule, hit, None))
        .collect::<Vec<_>>();
    Verdict {
        detected: !findings.is_empty(),
        findings,
        evidence: Vec::new(),
    }
}
