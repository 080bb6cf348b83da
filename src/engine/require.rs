//! `require`: the call must contain what the rule describes — a greeting, the recording
//! notice, an identity check, the closing script, "请" at least twice.
//!
//! Satisfied when the rule's condition holds with at least `min_count` hits (default 1), where
//! hits outside the condition's `scope` (`first_turns`, `last_turns`, `first_seconds`,
//! `last_seconds`) do not count. When it is not satisfied, one finding for the whole call is
//! written and `points` are deducted. `examples.match` = the requirement is met.
//!
//! ```toml
//! [[rule]]
//! id = "CMP-ZH-001"
//! kind = "require"
//! category = "compliance"
//! severity = "major"
//! message = "开场未使用标准问候语"
//! phrases = ["您好"]
//! scope = { first_turns = 2 }
//! examples.match = ["您好，很高兴为您服务"]
//! examples.no_match = ["喂，什么事"]
//! ```

use super::compile::Cond;
use super::{CallView, Finding, Verdict, conditions};
use crate::rules::SpeakerScope;

pub(super) fn evaluate(
    rule: usize,
    speaker: SpeakerScope,
    cond: &Cond,
    min_count: u32,
    view: &CallView<'_>,
) -> Verdict {
    let evidence = conditions::evidence_of(cond, speaker, view);
    let found = evidence.len();
    let satisfied = found >= min_count as usize;
    let findings = if satisfied {
        Vec::new()
    } else {
        vec![Finding {
            rule,
            turn: None,
            span: None,
            detail: (min_count > 1).then(|| format!("found {found} of at least {min_count}")),
        }]
    };
    Verdict {
        findings,
        detected: satisfied,
        evidence,
    }
}
