//! `reward`: good practice that earns a bonus, such as an empathy phrase.
//!
//! Every hit of the rule's condition is one finding that adds the rule's `points`, up to its
//! `cap` per call; all bonuses of a call together are capped by the scorecard's `bonus_cap`.
//! `examples.match` = the rewarded thing is present.
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
//! negation = true            # "我不理解" earns nothing
//! examples.match = ["我理解您的心情"]
//! examples.no_match = ["这个我也不理解"]
//! ```

use super::compile::Cond;
use super::{CallView, Verdict, conditions};
use crate::rules::SpeakerScope;

pub(super) fn evaluate(
    rule: usize,
    speaker: SpeakerScope,
    cond: &Cond,
    view: &CallView<'_>,
) -> Verdict {
    let evidence = conditions::evidence_of(cond, speaker, view);
    let findings: Vec<_> = evidence
        .iter()
        .map(|hit| view.finding_at(rule, hit, None))
        .collect();
    Verdict {
        detected: !findings.is_empty(),
        findings,
        evidence,
    }
}
