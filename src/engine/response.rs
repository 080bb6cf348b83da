//! `response`: a trigger must be answered — when the customer complains, is angry or threatens
//! to escalate (投诉, 12315, "I want to cancel"), the agent must respond (e.g. with empathy)
//! within `within_turns` of the agent's turns (default 1).
//!
//! `trigger` is a condition on the customer's turns unless it names another `speaker`;
//! `response` is a condition on the rule's speaker (the agent). Each trigger turn that is not
//! answered in time is one finding, pointing at the trigger. `examples.match` = there is a
//! trigger and every trigger is answered.
//!
//! ```toml
//! [[rule]]
//! id = "RSP-ZH-001"
//! kind = "response"
//! category = "empathy"
//! severity = "major"
//! message = "客户投诉或情绪激动后，坐席未在下一轮表达理解或歉意"
//! trigger = { phrases = ["投诉", "12315", "太过分了"] }
//! response = { phrases = ["理解", "对不起", "给您添麻烦了"] }
//! within_turns = 1
//! examples.match = [{ turns = [
//!   { speaker = "customer", text = "我要投诉你们" },
//!   { speaker = "agent", text = "非常理解您的心情" },
//! ] }]
//! examples.no_match = [{ turns = [
//!   { speaker = "customer", text = "我要投诉你们" },
//!   { speaker = "agent", text = "请提供您的卡号" },
//! ] }]
//! ```

use super::compile::Cond;
use super::{CallView, Verdict, conditions};
use crate::rules::Rule;

pub(super) fn evaluate(
    index: usize,
    rule: &Rule,
    trigger: &Cond,
    response: &Cond,
    within_turns: u32,
    view: &CallView<'_>,
) -> Verdict {
    let mut triggers = conditions::evidence(trigger, view);
    triggers.dedup_by_key(|h| h.turn);
    let responses = conditions::evidence(response, view);
    let turns = &view.call.turns;
    let mut evidence = Vec::new();
    let mut findings = Vec::new();
    for t in &triggers {
        let from = t.turn as usize + 1;
        // The last turn that still counts: the `within_turns`-th turn of the responder.
        let limit = turns[from..]
            .iter()
            .enumerate()
            .filter(|(_, turn)| rule.speaker.includes(turn.speaker))
            .nth(within_turns as usize - 1)
            .map_or(turns.len(), |(i, _)| from + i);
        let answer = responses
            .iter()
            .find(|r| r.turn as usize >= from && r.turn as usize <= limit);
        match answer {
            Some(answer) => evidence.extend([*t, *answer]),
            None => {
                let detail = format!(
                    "no response within {within_turns} turn(s) of the {}",
                    rule.speaker.as_str()
                );
                findings.push(view.finding_at(index, t, Some(detail)));
            }
        }
    }
    Verdict {
        detected: !triggers.is_empty() && findings.is_empty(),
        findings,
        evidence,
    }
}
