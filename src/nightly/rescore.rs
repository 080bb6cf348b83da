//! What a re-score changed in one partition: calls whose score moved, and findings added or
//! removed per rule. Small on purpose: two snapshots of a partition read back from its tables.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::{Int32Array, StringArray};

use super::Day;
use crate::error::Result;
use crate::output::read::for_each_batch;
use crate::output::{CALLS_FILE, FINDINGS_FILE};

/// A partition's scores and findings, enough to compare two runs of it.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// call_id → score.
    pub scores: BTreeMap<String, i32>,
    /// (rule_id, call_id) → findings.
    pub findings: BTreeMap<(String, String), u64>,
}

impl Snapshot {
    /// Reads a partition; an absent partition is an empty snapshot.
    pub fn read(dir: &Path) -> Result<Snapshot> {
        let mut snapshot = Snapshot::default();
        if !dir.join(crate::output::MANIFEST_FILE).is_file() {
            return Ok(snapshot);
        }
        for_each_batch(&dir.join(CALLS_FILE), |batch| {
            let calls = batch.column::<StringArray>("call_id")?;
            let scores = batch.column::<Int32Array>("score")?;
            for i in 0..batch.rows.num_rows() {
                snapshot
                    .scores
                    .insert(calls.value(i).to_string(), scores.value(i));
            }
            Ok(true)
        })?;
        for_each_batch(&dir.join(FINDINGS_FILE), |batch| {
            let calls = batch.column::<StringArray>("call_id")?;
            let rules = batch.column::<StringArray>("rule_id")?;
            for i in 0..batch.rows.num_rows() {
                *snapshot
                    .findings
                    .entry((rules.value(i).to_string(), calls.value(i).to_string()))
                    .or_default() += 1;
            }
            Ok(true)
        })?;
        Ok(snapshot)
    }

    fn mean(&self) -> f64 {
        if self.scores.is_empty() {
            return 0.0;
        }
        self.scores.values().map(|&s| f64::from(s)).sum::<f64>() / self.scores.len() as f64
    }
}

/// Findings of one rule gained and lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleChange {
    pub added: u64,
    pub removed: u64,
}

/// What changed in one day.
#[derive(Clone, Debug, PartialEq)]
pub struct DayChange {
    pub date: Day,
    pub calls: usize,
    /// Calls in both runs whose score differs.
    pub score_changed: usize,
    /// Calls only in the new run / only in the old one (the inputs changed).
    pub calls_added: usize,
    pub calls_removed: usize,
    pub mean_before: f64,
    pub mean_after: f64,
    /// Rules whose findings changed, by rule id.
    pub rules: BTreeMap<String, RuleChange>,
}

/// Compares two snapshots of `date`.
pub fn compare(date: Day, before: &Snapshot, after: &Snapshot) -> DayChange {
    let score_changed = after
        .scores
        .iter()
        .filter(|(call, score)| before.scores.get(*call).is_some_and(|old| old != *score))
        .count();
    let calls_added = after
        .scores
        .keys()
        .filter(|c| !before.scores.contains_key(*c))
        .count();
    let calls_removed = before
        .scores
        .keys()
        .filter(|c| !after.scores.contains_key(*c))
        .count();
    let mut rules: BTreeMap<String, RuleChange> = BTreeMap::new();
    let keys: std::collections::BTreeSet<&(String, String)> = before
        .findings
        .keys()
        .chain(after.findings.keys())
        .collect();
    for key in keys {
        let old = before.findings.get(key).copied().unwrap_or(0);
        let new = after.findings.get(key).copied().unwrap_or(0);
        if old != new {
            let change = rules.entry(key.0.clone()).or_default();
            change.added += new.saturating_sub(old);
            change.removed += old.saturating_sub(new);
        }
    }
    DayChange {
        date,
        calls: after.scores.len(),
        score_changed,
        calls_added,
        calls_removed,
        mean_before: before.mean(),
        mean_after: after.mean(),
        rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(scores: &[(&str, i32)], findings: &[(&str, &str, u64)]) -> Snapshot {
        Snapshot {
            scores: scores.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
            findings: findings
                .iter()
                .map(|(r, c, n)| ((r.to_string(), c.to_string()), *n))
                .collect(),
        }
    }

    #[test]
    fn counts_changed_scores_and_findings_per_rule() {
        let date = Day::parse("2026-11-25").unwrap();
        let before = snapshot(
            &[("c1", 90), ("c2", 80), ("c3", 70)],
            &[("R1", "c1", 2), ("R2", "c2", 1)],
        );
        let after = snapshot(
            &[("c1", 95), ("c2", 80), ("c4", 60)],
            &[("R1", "c1", 1), ("R3", "c2", 1), ("R2", "c2", 1)],
        );
        let change = compare(date, &before, &after);
        assert_eq!(
            (
                change.score_changed,
                change.calls_added,
                change.calls_removed
            ),
            (1, 1, 1)
        );
        assert_eq!(
            change.rules["R1"],
            RuleChange {
                added: 0,
                removed: 1
            }
        );
        assert_eq!(
            change.rules["R3"],
            RuleChange {
                added: 1,
                removed: 0
            }
        );
        assert!(!change.rules.contains_key("R2"));
    }
}
