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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow_array::{Array, Float64Array, Int32Array, StringArray};
use serde::Serialize;

use crate::error::Result;
use crate::output::read::for_each_batch;

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

/// One run's tables, as diff compares them.
struct RunTables {
    /// call → (agent, score)
    calls: BTreeMap<String, (String, i32)>,
    /// (rule, call) → findings
    findings: BTreeMap<(String, String), u64>,
    /// agent → (rank, mean score)
    agents: BTreeMap<String, (u64, f64)>,
}

/// Compares the finished runs in `old` and `new`.
pub fn diff(old: &Path, new: &Path) -> Result<RunDiff> {
    let (a, b) = (read_run(old)?, read_run(new)?);
    let call_ids: BTreeSet<&String> = a.calls.keys().chain(b.calls.keys()).collect();
    let scores = call_ids
        .iter()
        .filter_map(|&id| {
            let (was, is) = (a.calls.get(id), b.calls.get(id));
            let (old, new) = (was.map(|c| c.1), is.map(|c| c.1));
            (old != new).then(|| ScoreChange {
                call_id: id.clone(),
                agent_id: was.or(is).map(|c| c.0.clone()).unwrap_or_default(),
                old,
                new,
                delta: old.zip(new).map(|(o, n)| n - o),
            })
        })
        .collect();
    let calls_compared = a.calls.keys().filter(|c| b.calls.contains_key(*c)).count() as u64;
    Ok(RunDiff {
        old: old.display().to_string(),
        new: new.display().to_string(),
        calls_compared,
        scores,
        rules: rule_changes(&a.findings, &b.findings),
        agents: rank_changes(&a.agents, &b.agents),
    })
}

fn rule_changes(
    old: &BTreeMap<(String, String), u64>,
    new: &BTreeMap<(String, String), u64>,
) -> Vec<RuleChange> {
    let keys: BTreeSet<&(String, String)> = old.keys().chain(new.keys()).collect();
    let mut rules: BTreeMap<&str, RuleChange> = BTreeMap::new();
    for key in keys {
        let (o, n) = (
            old.get(key).copied().unwrap_or(0),
            new.get(key).copied().unwrap_or(0),
        );
        let change = rules.entry(&key.0).or_insert_with(|| RuleChange {
            rule_id: key.0.clone(),
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
            change.calls_added.push(key.1.clone());
        } else if o > n {
            change.removed += o - n;
            change.calls_removed.push(key.1.clone());
        }
    }
    rules
        .into_values()
        .filter(|r| r.added > 0 || r.removed > 0)
        .collect()
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

fn read_run(out: &Path) -> Result<RunTables> {
    let mut calls = BTreeMap::new();
    for_each_batch(&out.join(crate::output::CALLS_FILE), |batch| {
        let ids = batch.column::<StringArray>("call_id")?;
        let agents = batch.column::<StringArray>("agent_id")?;
        let scores = batch.column::<Int32Array>("score")?;
        for i in 0..ids.len() {
            calls.insert(
                ids.value(i).to_string(),
                (agents.value(i).to_string(), scores.value(i)),
            );
        }
        Ok(true)
    })?;
    let mut findings = BTreeMap::new();
    for_each_batch(&out.join(crate::output::FINDINGS_FILE), |batch| {
        let ids = batch.column::<StringArray>("call_id")?;
        let rules = batch.column::<StringArray>("rule_id")?;
        let overridden = batch.optional_column::<StringArray>("overridden")?;
        for i in 0..ids.len() {
            let overturned = overridden
                .as_ref()
                .is_some_and(|o| o.is_valid(i) && o.value(i) == "overturned");
            if !overturned {
                *findings
                    .entry((rules.value(i).to_string(), ids.value(i).to_string()))
                    .or_default() += 1;
            }
        }
        Ok(true)
    })?;
    let mut means = Vec::new();
    for_each_batch(&out.join(crate::output::AGENTS_FILE), |batch| {
        let ids = batch.column::<StringArray>("agent_id")?;
        let mean = batch.column::<Float64Array>("mean_score")?;
        for i in 0..ids.len() {
            means.push((ids.value(i).to_string(), mean.value(i)));
        }
        Ok(true)
    })?;
    Ok(RunTables {
        calls,
        findings,
        agents: ranks(means),
    })
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
        let key = |r: &str, c: &str| (r.to_string(), c.to_string());
        let old = BTreeMap::from([
            (key("R", "c1"), 3),
            (key("R", "c2"), 1),
            (key("S", "c1"), 1),
        ]);
        let new = BTreeMap::from([
            (key("R", "c1"), 1),
            (key("R", "c3"), 2),
            (key("S", "c1"), 1),
        ]);
        let changes = rule_changes(&old, &new);
        assert_eq!(changes.len(), 1, "S did not change");
        let r = &changes[0];
        assert_eq!(
            (r.old_findings, r.new_findings, r.added, r.removed),
            (4, 3, 2, 3)
        );
        assert_eq!(r.calls_added, ["c3"]);
        assert_eq!(r.calls_removed, ["c1", "c2"]);
    }
}
