//! `require`: the call must contain the rule's phrase — a greeting, the recording notice, an
//! identity check, the closing script.
//!
//! Satisfied by one hit in a turn of the rule's speaker, within `scope` when given
//! (`first_turns = N` / `last_turns = N`, counted among that speaker's turns). When nothing
//! satisfies it, one finding with no turn is written and `points` are deducted. A call with no
//! turn of the rule's speaker at all is still checked: the requirement is missing.
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

use super::{CallView, Finding, Hit};
use crate::rules::Rule;

pub(super) fn evaluate(
    index: usize,
    rule: &Rule,
    hits: &[Hit],
    view: &CallView<'_>,
    out: &mut Vec<Finding>,
) {
    let satisfied = hits
        .iter()
        .any(|hit| view.in_position(rule, hit.turn as usize));
    if !satisfied {
        out.push(Finding {
            rule: index,
            turn: None,
            span: None,
        });
    }
}
