//! Coaching examples for training teams (`callqa coach`), with masked context: bad examples are
//! a rule's violations in a finished run; good ones are its rewards, or — for requirements,
//! responses and scripts — the places in the run's calls where the rule is met.

use std::path::Path;

use arrow_array::{Array, Int32Array, StringArray};
use serde::Serialize;

use crate::error::{Error, Result};

/// One coaching example.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Example {
    pub call_id: String,
    pub agent_id: String,
    pub rule_id: String,
    pub kind: String,
    pub turn_index: Option<i32>,
    pub matched: Option<String>,
    /// The turn with one before and after, masked.
    pub context: Option<String>,
    pub message: String,
    pub suggestion: Option<String>,
}

/// Up to `limit` examples of `rule_id` from the run in `out`: rewards when `good`, else
/// violations. A rule with no finding of that sort gives an empty list.
pub fn examples(out: &Path, rule_id: &str, good: bool, limit: usize) -> Result<Vec<Example>> {
    let mut found = Vec::new();
    crate::output::read::for_each_batch(&out.join(crate::output::FINDINGS_FILE), |batch| {
        let (calls, agents) = (
            batch.column::<StringArray>("call_id")?,
            batch.column::<StringArray>("agent_id")?,
        );
        let (rules, kinds) = (
            batch.column::<StringArray>("rule_id")?,
            batch.column::<StringArray>("kind")?,
        );
        let (matched, context) = (
            batch.column::<StringArray>("matched")?,
            batch.column::<StringArray>("context")?,
        );
        let (message, suggestion) = (
            batch.column::<StringArray>("message")?,
            batch.column::<StringArray>("suggestion")?,
        );
        let turns = batch.column::<Int32Array>("turn_index")?;
        // A finding a reviewer overturned (run --overrides) is no example of the rule.
        let overridden = batch.optional_column::<StringArray>("overridden")?;
        let overturned = |i: usize| {
            overridden
                .as_ref()
                .is_some_and(|o| o.is_valid(i) && o.value(i) == "overturned")
        };
        let text = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
        for i in 0..calls.len() {
            if rules.value(i) != rule_id || (kinds.value(i) == "reward") != good || overturned(i) {
                continue;
            }
            found.push(Example {
                call_id: calls.value(i).to_string(),
                agent_id: agents.value(i).to_string(),
                rule_id: rule_id.to_string(),
                kind: kinds.value(i).to_string(),
                turn_index: turns.is_valid(i).then(|| turns.value(i)),
                matched: text(&matched, i),
                context: text(&context, i),
                message: message.value(i).to_string(),
                suggestion: text(&suggestion, i),
            });
            if found.len() == limit {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    Ok(found)
}

/// Up to `limit` calls from `inputs` where rule `rule_id` is met — a requirement said, a
/// complaint answered, a script followed in order — each pointing at the first place that
/// shows it. For rules that can only be violated (`forbid`, `timing`) there are none.
pub fn met_examples(
    engine: &crate::engine::Engine,
    rule_id: &str,
    inputs: &[std::path::PathBuf],
    limit: usize,
) -> Result<Vec<Example>> {
    use crate::input::for_each_call;
    let Some(index) = engine.pack().rules().iter().position(|r| r.id == rule_id) else {
        return Err(Error::usage_message(format!(
            "no rule `{rule_id}` in the run's rule pack"
        )));
    };
    let rule = &engine.pack().rules()[index];
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut full = false;
    for path in inputs {
        for_each_call(path, crate::pipeline::DEFAULT_MAX_RECORD_BYTES, |call| {
            if !seen.insert(call.call_id.clone()) {
                return Ok(true);
            }
            let Some(evidence) = engine.met_at(index, &call) else {
                return Ok(true);
            };
            let Some(&(turn, span)) = evidence.first() else {
                return Ok(true);
            };
            let (context, _) = crate::output::context(&call, turn, Some(span));
            found.push(Example {
                call_id: call.call_id.clone(),
                agent_id: call.agent_id.clone(),
                rule_id: rule_id.to_string(),
                kind: rule.kind.as_str().to_string(),
                turn_index: Some(turn as i32),
                matched: Some(crate::mask::mask(&call.turns[turn].text[span.0..span.1])),
                context: Some(context),
                message: rule.message.clone(),
                suggestion: rule.suggestion.clone(),
            });
            full = found.len() == limit;
            Ok(!full)
        })?;
        if full {
            break;
        }
    }
    Ok(found)
}

/// The examples as Markdown, for a training handout.
pub fn markdown(examples: &[Example]) -> String {
    let mut out = String::new();
    for e in examples {
        out += &format!(
            "### {} · agent {} · {}\n\n",
            e.call_id, e.agent_id, e.rule_id
        );
        match &e.context {
            Some(context) => {
                for line in context.lines() {
                    out += &format!("> {line}\n");
                }
            }
            None => out += "> (the whole call: nothing said to point at)\n",
        }
        out += &format!("\n**{}**", e.message);
        if let Some(s) = &e.suggestion {
            out += &format!(" — say instead: {s}");
        }
        out += "\n\n";
    }
    out
}
