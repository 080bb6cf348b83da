//! `sequence`: steps that must come in order — the outage script (apology → nearest branch →
//! cause → prevention advice), "致歉 → 责任声明 → 抢修承诺", or empathy before the solution.
//!
//! Satisfied when a hit of each step follows a hit of the step before it (later turn, or later
//! in the same turn), all within `within_turns` turns of the first step when given. Otherwise
//! one finding says which step is missing; it points at the start of the longest partial
//! chain. Use `when` to demand the sequence only in some calls (e.g. when a solution is
//! offered, empathy must come before it). `examples.match` = the steps occur in order.
//!
//! ```toml
//! [[rule]]
//! id = "SEQ-ZH-001"
//! kind = "sequence"
//! category = "compliance"
//! severity = "major"
//! message = "停电致歉话术需依次包含：致歉、最近网点、原因、防范建议"
//! when = { phrases = ["停电"], speaker = "any" }
//! steps = [
//!   { phrases = ["对不起", "非常抱歉"] },
//!   { phrases = ["最近的网点", "附近网点"] },
//!   { phrases = ["原因是", "由于"] },
//!   { phrases = ["建议您", "提醒您"] },
//! ]
//! examples.match = ["对不起，您可以去最近的网点办理，原因是线路检修，建议您提前备好应急灯"]
//! examples.no_match = ["您可以去最近的网点办理，对不起"]
//! ```

use super::compile::Cond;
use super::{CallView, Finding, Hit, Verdict, conditions};

pub(super) fn evaluate(
    rule: usize,
    steps: &[Cond],
    within_turns: Option<u32>,
    view: &CallView<'_>,
) -> Verdict {
    let hits: Vec<Vec<Hit>> = steps
        .iter()
        .map(|s| conditions::evidence(s, view))
        .collect();
    let mut best: Option<(usize, Hit)> = None;
    for first in &hits[0] {
        let chain = chain_from(first, &hits, within_turns);
        let reached = chain.len();
        if reached == steps.len() {
            return Verdict {
                findings: Vec::new(),
                detected: true,
                evidence: chain,
            };
        }
        if best.is_none_or(|(n, _)| reached > n) {
            best = Some((reached, *first));
        }
    }
    let (reached, detail_at) = match best {
        Some((reached, first)) => (reached, Some(first)),
        None => (0, None),
    };
    let detail = Some(format!(
        "step {} of {} not found in order{}",
        reached + 1,
        steps.len(),
        within_turns.map_or(String::new(), |n| format!(" within {n} turns"))
    ));
    let finding = match detail_at {
        Some(hit) => view.finding_at(rule, &hit, detail),
        None => Finding {
            rule,
            turn: None,
            span: None,
            detail,
        },
    };
    Verdict {
        findings: vec![finding],
        detected: false,
        evidence: Vec::new(),
    }
}

/// The steps that can be chained starting at `first`, taking the earliest next hit each time.
fn chain_from(first: &Hit, hits: &[Vec<Hit>], within_turns: Option<u32>) -> Vec<Hit> {
    let mut chain = vec![*first];
    for step_hits in hits.iter().skip(1) {
        let current = chain[chain.len() - 1];
        let next = step_hits.iter().find(|h| {
            (h.turn > current.turn || (h.turn == current.turn && h.start >= current.end))
                && within_turns.is_none_or(|n| h.turn - first.turn <= n)
        });
        match next {
            Some(h) => chain.push(*h),
            None => break,
        }
    }
    chain
}
