//! Coaching examples for training teams (`callqa coach`): a rule's findings from a finished run,
//! with their masked context — bad examples (violations) or good ones (rewards).

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
    let path = out.join(crate::output::FINDINGS_FILE);
    let file = std::fs::File::open(&path).map_err(|e| Error::input(&path, "open", e))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| Error::parquet(&path, e))?;
    let mut found = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::parquet(&path, e.into()))?;
        let strings = |name: &str| -> Result<StringArray> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                .ok_or_else(|| {
                    Error::input(
                        &path,
                        "read",
                        std::io::Error::other(format!(
                            "no text column `{name}`: is this a callqa run?"
                        )),
                    )
                })
        };
        let turns = batch
            .column_by_name("turn_index")
            .and_then(|c| c.as_any().downcast_ref::<Int32Array>().cloned());
        let (calls, agents, rules, kinds) = (
            strings("call_id")?,
            strings("agent_id")?,
            strings("rule_id")?,
            strings("kind")?,
        );
        let (matched, context, message, suggestion) = (
            strings("matched")?,
            strings("context")?,
            strings("message")?,
            strings("suggestion")?,
        );
        let text = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
        for i in 0..batch.num_rows() {
            if rules.value(i) != rule_id || (kinds.value(i) == "reward") != good {
                continue;
            }
            found.push(Example {
                call_id: calls.value(i).to_string(),
                agent_id: agents.value(i).to_string(),
                rule_id: rule_id.to_string(),
                kind: kinds.value(i).to_string(),
                turn_index: turns
                    .as_ref()
                    .and_then(|t| t.is_valid(i).then(|| t.value(i))),
                matched: text(&matched, i),
                context: text(&context, i),
                message: message.value(i).to_string(),
                suggestion: text(&suggestion, i),
            });
            if found.len() == limit {
                return Ok(found);
            }
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
