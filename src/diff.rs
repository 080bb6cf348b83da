//! `callqa diff OLD NEW`: what changed between two finished runs, such as before and after a
//! rule edit.
//!
//! - Calls whose score changed (old, new, delta), and calls found in only one run.
//! - Per rule: findings in each run and how many were added and removed. Findings are matched
//!   per call: a call with 3 findings of a rule before and 1 after has 2 removed. Findings
//!   overturned by a reviewer are left out (they do not count in scores).
//! - Agents whose rank moved. An agent's rank is its place by `mean_score` in
//!   `agents.parquet`, highest first (rank 1 = best), ties by `agent_id`; agents in only one
//!   run are listed with no rank on the other side.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use arrow_array::{Array, Float64Array, Int32Array, StringArray};
use serde::Serialize;

use crate::error::Result;
use crate::output::read::{Batch, Batches, for_each_batch};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ScoreChange {
    pub call_id: String,
    pub agent_id: String,
    pub old: Option<i32>,
    pub new: Option<i32>,
    /// new − old; `None` for a call in only one run.
    pub delta: Option<i32>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RuleChange {
    pub rule_id: String,
    pub old_findings: u64,
    pub new_findings: u64,
    pub added: u64,
    pub removed: u64,
    /// Calls with more findings of the rule than before.
    pub calls_added: Vec<String>,
    /// Calls with fewer findings of the rule than before.
    pub calls_removed: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RankChange {
    pub agent_id: String,
    pub old_rank: Option<u64>,
    pub new_rank: Option<u64>,
    pub old_mean_score: Option<f64>,
    pub new_mean_score: Option<f64>,
}

/// Everything that changed, each list sorted by its id.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunDiff {
    pub old: String,
    pub new: String,
    pub calls_compared: u64,
    pub scores: Vec<ScoreChange>,
    pub rules: Vec<RuleChange>,
    pub agents: Vec<RankChange>,
}

/// Rows of a table in `call_id` order, read one batch at a time.
struct Stream<T> {
    batches: Batches,
    buffered: VecDeque<T>,
    extract: fn(&Batch<'_>) -> Result<Vec<T>>,
}

impl<T> Stream<T> {
    fn open(path: &Path, extract: fn(&Batch<'_>) -> Result<Vec<T>>) -> Result<Stream<T>> {
        Ok(Stream {
            batches: Batches::open(path)?,
            buffered: VecDeque::new(),
            extract,
        })
    }

    fn peek(&mut self) -> Result<Option<&T>> {
        while self.buffered.is_empty() {
            match self.batches.next_batch()? {
                Some(batch) => self.buffered.extend((self.extract)(&batch)?),
                None => return Ok(None),
            }
        }
        Ok(self.buffered.front())
    }

    fn pop(&mut self) -> Option<T> {
        self.buffered.pop_front()
    }
}

/// `(call_id, agent_id, score)` of `calls.parquet`.
type CallScoreRow = (String, String, i32);

fn call_rows(batch: &Batch<'_>) -> Result<Vec<CallScoreRow>> {
    let ids = batch.column::<StringArray>("call_id")?;
    let agents = batch.column::<StringArray>("agent_id")?;
    let scores = batch.column::<Int32Array>("score")?;
    Ok((0..ids.len())
        .map(|i| {
            (
                ids.value(i).to_string(),
                agents.value(i).to_string(),
                scores.value(i),
            )
        })
        .collect())
}

/// `(call_id, rule_id)` of every finding that counts (not overturned by a reviewer).
fn finding_rows(batch: &Batch<'_>) -> Result<Vec<(String, String)>> {
    let ids = batch.column::<StringArray>("call_id")?;
    let rules = batch.column::<StringArray>("rule_id")?;
    let overridden = batch.optional_column::<StringArray>("overridden")?;
    Ok((0..ids.len())
        .filter(|&i| {
            !overridden
                .as_ref()
                .is_some_and(|o| o.is_valid(i) && o.value(i) == "overturned")
        })
        .map(|i| (ids.value(i).to_string(), rules.value(i).to_string()))
        .collect())
}

/// One side of the comparison: its calls and findings, walked in `call_id` order.
struct Side {
    calls: Stream<CallScoreRow>,
    findings: Stream<(String, String)>,
}

impl Side {
    fn open(out: &Path) -> Result<Side> {
        Ok(Side {
            calls: Stream::open(&out.join(crate::output::CALLS_FILE), call_rows)?,
            findings: Stream::open(&out.join(crate::output::FINDINGS_FILE), finding_rows)?,
        })
    }

    /// The call `id` if it is next, with its findings per rule.
    fn take(&mut self, id: &str) -> Result<Option<(CallScoreRow, BTreeMap<String, u64>)>> {
        if self.calls.peek()?.is_none_or(|c| c.0 != id) {
            return Ok(None);
        }
        let call = self.calls.pop();
        // A finding of a call missing from calls.parquet (never written so) must not stall the walk.
        while self.findings.peek()?.is_some_and(|f| f.0.as_str() < id) {
            self.findings.pop();
        }
        let mut rules: BTreeMap<String, u64> = BTreeMap::new();
        while self.findings.peek()?.is_some_and(|f| f.0 == id) {
            if let Some((_, rule)) = self.findings.pop() {
                *rules.entry(rule).or_default() += 1;
            }
        }
        Ok(call.map(|c| (c, rules)))
    }
}

/// Compares the finished runs in `old` and `new`.
///
/// Both runs' calls and findings are sorted by `call_id`, so they are walked side by side one
/// batch at a time: memory holds the changes, not the runs.
pub fn diff(old: &Path, new: &Path) -> Result<RunDiff> {
    let (mut a, mut b) = (Side::open(old)?, Side::open(new)?);
    let mut scores = Vec::new();
    let mut rules: BTreeMap<String, RuleChange> = BTreeMap::new();
    let mut calls_compared = 0;
    loop {
        let next = match (a.calls.peek()?, b.calls.peek()?) {
            (None, None) => break,
            (Some(x), None) | (None, Some(x)) => x.0.clone(),
            (Some(x), Some(y)) => x.0.clone().min(y.0.clone()),
        };
        let (was, is) = (a.take(&next)?, b.take(&next)?);
        calls_compared += u64::from(was.is_some() && is.is_some());
        let (old_score, new_score) = (was.as_ref().map(|c| c.0.2), is.as_ref().map(|c| c.0.2));
        if old_score != new_score {
            scores.push(ScoreChange {
                call_id: next.clone(),
                agent_id: was
                    .as_ref()
                    .or(is.as_ref())
                    .map(|c| c.0.1.clone())
                    .unwrap_or_default(),
                old: old_score,
                new: new_score,
                delta: old_score.zip(new_score).map(|(o, n)| n - o),
            });
        }
        let none = BTreeMap::new();
        let (before, after) = (
            was.as_ref().map_or(&none, |c| &c.1),
            is.as_ref().map_or(&none, |c| &c.1),
        );
        count_rule_changes(&next, before, after, &mut rules);
    }
    Ok(RunDiff {
        old: old.display().to_string(),
        new: new.display().to_string(),
        calls_compared,
        scores,
        rules: rules
            .into_values()
            .filter(|r| r.added > 0 || r.removed > 0)
            .collect(),
        agents: rank_changes(&agent_ranks(old)?, &agent_ranks(new)?),
    })
}

/// Adds one call's findings per rule, before and after, to the per-rule changes.
fn count_rule_changes(
    call: &str,
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    rules: &mut BTreeMap<String, RuleChange>,
) {
    for rule in before.keys().chain(after.keys()).collect::<BTreeSet<_>>() {
        let (o, n) = (
            before.get(rule).copied().unwrap_or(0),
            after.get(rule).copied().unwrap_or(0),
        );
        let change = rules.entry(rule.clone()).or_insert_with(|| RuleChange {
            rule_id: rule.clone(),
            old_findings: 0,
            new_findings: 0,
            added: 0,
            removed: 0,
            calls_added: Vec::new(),
            calls_removed: Vec::new(),
        });
        change.old_findings += o;
        change.new_findings += n;
        if n > o {
            change.added += n - o;
            change.calls_added.push(call.to_string());
        } else if o > n {
            change.removed += o - n;
            change.calls_removed.push(call.to_string());
        }
    }
}

fn rank_changes(
    old: &BTreeMap<String, (u64, f64)>,
    new: &BTreeMap<String, (u64, f64)>,
) -> Vec<RankChange> {
    let agents: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    agents
        .into_iter()
        .filter_map(|id| {
            let (o, n) = (old.get(id), new.get(id));
            (o.map(|x| x.0) != n.map(|x| x.0)).then(|| RankChange {
                agent_id: id.clone(),
                old_rank: o.map(|x| x.0),
                new_rank: n.map(|x| x.0),
                old_mean_score: o.map(|x| x.1),
                new_mean_score: n.map(|x| x.1),
            })
        })
        .collect()
}

/// Each agent's rank and mean score, from `agents.parquet` (one row per agent).
fn agent_ranks(out: &Path) -> Result<BTreeMap<String, (u64, f64)>> {
    let mut means = Vec::new();
    for_each_batch(&out.join(crate::output::AGENTS_FILE), |batch| {
        let ids = batch.column::<StringArray>("agent_id")?;
        let mean = batch.column::<Float64Array>("mean_score")?;
        for i in 0..ids.len() {
            means.push((ids.value(i).to_string(), mean.value(i)));
        }
        Ok(true)
    })?;
    Ok(ranks(means))
}

/// Rank 1 = highest mean score; ties by agent id.
fn ranks(mut means: Vec<(String, f64)>) -> BTreeMap<String, (u64, f64)> {
    means.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    means
        .into_iter()
        .enumerate()
        .map(|(i, (id, mean))| (id, (i as u64 + 1, mean)))
        .collect()
}

/// The diff as terminal text.
pub fn render(d: &RunDiff) -> String {
    use std::fmt::Write as _;
    let opt = |v: Option<i32>| v.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!(
        "{} → {}: {} calls in both, {} scores changed, {} rules with changed findings, {} agents moved\n",
        d.old,
        d.new,
        d.calls_compared,
        d.scores.len(),
        d.rules.len(),
        d.agents.len()
    );
    if !d.scores.is_empty() {
        let _ = writeln!(
            out,
            "\nscores\n{:<16} {:<10} {:>5} {:>5} {:>6}",
            "call", "agent", "old", "new", "delta"
        );
        for s in &d.scores {
            let delta = s.delta.map_or("-".to_string(), |v| format!("{v:+}"));
            let _ = writeln!(
                out,
                "{:<16} {:<10} {:>5} {:>5} {:>6}",
                s.call_id,
                s.agent_id,
                opt(s.old),
                opt(s.new),
                delta
            );
        }
    }
    if !d.rules.is_empty() {
        let _ = writeln!(
            out,
            "\nfindings\n{:<14} {:>5} {:>5} {:>6} {:>8}  calls",
            "rule", "old", "new", "added", "removed"
        );
        for r in &d.rules {
            let mut calls: Vec<String> = r.calls_added.iter().map(|c| format!("+{c}")).collect();
            calls.extend(r.calls_removed.iter().map(|c| format!("-{c}")));
            let _ = writeln!(
                out,
                "{:<14} {:>5} {:>5} {:>6} {:>8}  {}",
                r.rule_id,
                r.old_findings,
                r.new_findings,
                r.added,
                r.removed,
                calls.join(" ")
            );
        }
    }
    if !d.agents.is_empty() {
        let _ = writeln!(
            out,
            "\nagent ranks (1 = highest mean score)\n{:<10} {:>8} {:>8} {:>9} {:>9}",
            "agent", "old rank", "new rank", "old mean", "new mean"
        );
        for a in &d.agents {
            let rank = |r: Option<u64>| r.map_or("-".to_string(), |r| r.to_string());
            let mean = |m: Option<f64>| m.map_or("-".to_string(), |m| format!("{m:.2}"));
            let _ = writeln!(
                out,
                "{:<10} {:>8} {:>8} {:>9} {:>9}",
                a.agent_id,
                rank(a.old_rank),
                rank(a.new_rank),
                mean(a.old_mean_score),
                mean(a.new_mean_score)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_go_by_mean_score_then_agent_id() {
        let r = ranks(vec![
            ("b".into(), 90.0),
            ("a".into(), 90.0),
            ("c".into(), 95.5),
        ]);
        let got: Vec<(&str, u64)> = r.iter().map(|(k, v)| (k.as_str(), v.0)).collect();
        assert_eq!(got, [("a", 2), ("b", 3), ("c", 1)]);
    }

    #[test]
    fn findings_are_matched_per_call() {
        let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(r, n)| (r.to_string(), *n)).collect()
        };
        let mut rules = BTreeMap::new();
        count_rule_changes(
            "c1",
            &counts(&[("R", 3), ("S", 1)]),
            &counts(&[("R", 1), ("S", 1)]),
            &mut rules,
        );
        count_rule_changes("c2", &counts(&[("R", 1)]), &counts(&[]), &mut rules);
        count_rule_changes("c3", &counts(&[]), &counts(&[("R", 2)]), &mut rules);
        let (r, s) = (&rules["R"], &rules["S"]);
        assert_eq!((s.added, s.removed), (0, 0), "S did not change");
        assert_eq!(
            (r.old_findings, r.new_findings, r.added, r.removed),
            (4, 3, 2, 3)
        );
        assert_eq!(r.calls_added, ["c3"]);
        assert_eq!(r.calls_removed, ["c1", "c2"]);
    }
}
