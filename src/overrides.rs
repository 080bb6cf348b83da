//! Human overrides (appeals): a reviewer's decision about one rule on one call, applied by
//! `callqa run --overrides FILE` every time the run is redone.
//!
//! The file is CSV (header row required) or JSONL with the fields `call_id`, `rule_id`,
//! `verdict` (`hit` / `no_hit`) and the optional `reviewer` and `reason`.
//!
//! - `no_hit`: the reviewer overturned callqa's findings of that rule on that call. They stay in
//!   `findings.parquet`, marked `overridden = "overturned"`, and no longer count in the call's
//!   score, its category scores, the agent's aggregates or the report.
//! - `hit`: the reviewer says the rule was broken (or for a `reward` rule, earned) although
//!   callqa found nothing: one whole-call finding is added, marked `overridden = "added"`, and
//!   counts like any other. When callqa did find the rule, nothing changes.
//!
//! An unknown rule id, a bad verdict or two overrides of the same call and rule with different
//! verdicts are errors naming `file:line`. Overrides whose call is not in the run are listed in
//! `manifest.json` (`overrides.unmatched`) and on standard error, never dropped silently.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::engine::Finding;
use crate::error::{Error, Result};
use crate::labels::{Verdict, non_empty, read_records};
use crate::rules::RulePack;

/// How a finding row was touched by a reviewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverrideStatus {
    /// callqa found it; a reviewer overturned it: it no longer counts.
    Overturned,
    /// callqa did not find it; a reviewer added it.
    Added,
}

impl OverrideStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideStatus::Overturned => "overturned",
            OverrideStatus::Added => "added",
        }
    }
}

/// A reviewer's mark on one finding row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideMark {
    pub status: OverrideStatus,
    pub reviewer: Option<String>,
    pub reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideRecord {
    call_id: String,
    rule_id: String,
    verdict: Verdict,
    #[serde(default)]
    reviewer: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

const COLUMNS: [&str; 5] = ["call_id", "rule_id", "verdict", "reviewer", "reason"];

/// One override, checked against the pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub call_id: String,
    pub rule_id: String,
    /// Index of the rule in the pack.
    pub rule: usize,
    pub verdict: Verdict,
    pub reviewer: Option<String>,
    pub reason: Option<String>,
    pub line: u64,
}

/// An override whose call was not scored in the run.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Unmatched {
    pub line: u64,
    pub call_id: String,
    pub rule_id: String,
    pub verdict: &'static str,
}

/// What the overrides did in a run (in `manifest.json`).
#[derive(Clone, Debug, Serialize, Default, PartialEq, Eq)]
pub struct OverridesSummary {
    pub file: String,
    pub sha256: String,
    /// Overrides in the file (exact repeats counted once).
    pub overrides: u64,
    /// Overrides whose call was scored in this run.
    pub matched: u64,
    /// Finding rows marked `overturned`.
    pub overturned_findings: u64,
    /// Finding rows added by reviewers.
    pub added_findings: u64,
    pub unmatched: Vec<Unmatched>,
}

/// The overrides of a run, by call.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    file: PathBuf,
    sha256: String,
    by_call: HashMap<String, Vec<Override>>,
    count: usize,
}

impl Overrides {
    /// Reads and checks an overrides file against `pack`.
    pub fn load(path: &Path, pack: &RulePack) -> Result<Overrides> {
        let records: Vec<(u64, OverrideRecord)> =
            read_records(path, &COLUMNS, &["call_id", "rule_id", "verdict"])?;
        let mut by_call: HashMap<String, Vec<Override>> = HashMap::new();
        let mut count = 0;
        for (line, record) in records {
            let at = |m: String| Error::usage(format!("{}:{line}: {m}", path.display()));
            let call_id =
                non_empty(Some(record.call_id)).ok_or_else(|| at("empty call_id".into()))?;
            let rule_id =
                non_empty(Some(record.rule_id)).ok_or_else(|| at("empty rule_id".into()))?;
            let rule = pack
                .rules()
                .iter()
                .position(|r| r.id == rule_id)
                .ok_or_else(|| {
                    at(format!(
                        "no rule `{rule_id}` in the pack {} (see `callqa rules list`)",
                        pack.dir().display()
                    ))
                })?;
            let entry = by_call.entry(call_id.clone()).or_default();
            if let Some(first) = entry.iter().find(|o| o.rule == rule) {
                if first.verdict != record.verdict {
                    return Err(at(format!(
                        "rule {rule_id} of call {call_id} is overridden as {} here but {} at line {}",
                        record.verdict.as_str(),
                        first.verdict.as_str(),
                        first.line
                    )));
                }
                continue;
            }
            entry.push(Override {
                call_id,
                rule_id,
                rule,
                verdict: record.verdict,
                reviewer: non_empty(record.reviewer),
                reason: non_empty(record.reason),
                line,
            });
            count += 1;
        }
        let bytes = std::fs::read(path).map_err(|e| Error::input(path, "read", e))?;
        Ok(Overrides {
            file: path.to_path_buf(),
            sha256: crate::rules::hex_digest(&sha2::Sha256::digest(&bytes)),
            by_call,
            count,
        })
    }

    /// The overrides of one call.
    pub fn for_call(&self, call_id: &str) -> &[Override] {
        self.by_call.get(call_id).map_or(&[], Vec::as_slice)
    }

    /// Whether a reviewer said rule `rule` was broken on this call (`hit`): callqa's findings of
    /// it are confirmed, so they count in the call's risk whatever the review model thinks.
    pub fn confirms(&self, call_id: &str, rule: usize) -> bool {
        self.for_call(call_id)
            .iter()
            .any(|o| o.rule == rule && o.verdict.is_hit())
    }

    /// Applies the overrides of `call_id` to its findings: adds the reviewers' findings (kept in
    /// the engine's order) and returns one mark per finding, `None` when untouched.
    pub fn apply(&self, call_id: &str, findings: &mut Vec<Finding>) -> Vec<Option<OverrideMark>> {
        let overrides = self.for_call(call_id);
        let mut added = Vec::new();
        for o in overrides.iter().filter(|o| o.verdict.is_hit()) {
            if !findings.iter().any(|f| f.rule == o.rule) {
                added.push(Finding {
                    rule: o.rule,
                    turn: None,
                    span: None,
                    detail: Some(match (&o.reviewer, &o.reason) {
                        (Some(who), Some(why)) => format!("added by reviewer {who}: {why}"),
                        (Some(who), None) => format!("added by reviewer {who}"),
                        (None, Some(why)) => format!("added by a reviewer: {why}"),
                        (None, None) => "added by a reviewer".to_string(),
                    }),
                });
            }
        }
        let first_added = findings.len();
        findings.extend(added);
        // The engine's order: whole-call findings first, then by turn, position, rule, detail.
        let mut order: Vec<usize> = (0..findings.len()).collect();
        order.sort_by(|&a, &b| sort_key(&findings[a]).cmp(&sort_key(&findings[b])));
        let marks = order
            .iter()
            .map(|&i| {
                let f = &findings[i];
                let o = overrides.iter().find(|o| o.rule == f.rule)?;
                let status = if i >= first_added {
                    OverrideStatus::Added
                } else if o.verdict.is_hit() {
                    return None; // callqa agreed with the reviewer
                } else {
                    OverrideStatus::Overturned
                };
                Some(OverrideMark {
                    status,
                    reviewer: o.reviewer.clone(),
                    reason: o.reason.clone(),
                })
            })
            .collect();
        let sorted: Vec<Finding> = order.iter().map(|&i| findings[i].clone()).collect();
        *findings = sorted;
        marks
    }

    /// What the overrides did, given the calls scored in the run.
    pub fn summary(
        &self,
        scored: impl Fn(&str) -> bool,
        overturned_findings: u64,
        added_findings: u64,
    ) -> OverridesSummary {
        let mut unmatched: BTreeMap<u64, Unmatched> = BTreeMap::new();
        let mut matched = 0;
        for (call_id, overrides) in &self.by_call {
            if scored(call_id) {
                matched += overrides.len() as u64;
                continue;
            }
            for o in overrides {
                unmatched.insert(
                    o.line,
                    Unmatched {
                        line: o.line,
                        call_id: o.call_id.clone(),
                        rule_id: o.rule_id.clone(),
                        verdict: o.verdict.as_str(),
                    },
                );
            }
        }
        OverridesSummary {
            file: self.file.display().to_string(),
            sha256: self.sha256.clone(),
            overrides: self.count as u64,
            matched,
            overturned_findings,
            added_findings,
            unmatched: unmatched.into_values().collect(),
        }
    }
}

fn sort_key(f: &Finding) -> (usize, Option<(usize, usize)>, usize, &Option<String>) {
    (f.turn.map_or(0, |t| t + 1), f.span, f.rule, &f.detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(list: &[(usize, Verdict)]) -> Overrides {
        let by_call = HashMap::from([(
            "c".to_string(),
            list.iter()
                .enumerate()
                .map(|(i, &(rule, verdict))| Override {
                    call_id: "c".into(),
                    rule_id: format!("R{rule}"),
                    rule,
                    verdict,
                    reviewer: Some("ann".into()),
                    reason: None,
                    line: i as u64 + 2,
                })
                .collect(),
        )]);
        Overrides {
            by_call,
            count: list.len(),
            ..Overrides::default()
        }
    }

    fn at(rule: usize, turn: usize) -> Finding {
        Finding {
            rule,
            turn: Some(turn),
            span: Some((0, 3)),
            detail: None,
        }
    }

    #[test]
    fn no_hit_overturns_every_finding_of_the_rule_and_hit_adds_a_whole_call_one() {
        let o = overrides(&[(1, Verdict::NoHit), (3, Verdict::Hit), (2, Verdict::Hit)]);
        let mut findings = vec![at(1, 0), at(2, 1), at(1, 4)];
        let marks = o.apply("c", &mut findings);
        // The added finding of rule 3 is about the whole call, so it comes first.
        assert_eq!(findings[0].rule, 3);
        assert_eq!(findings[0].turn, None);
        assert_eq!(findings[0].detail.as_deref(), Some("added by reviewer ann"));
        let statuses: Vec<Option<OverrideStatus>> =
            marks.iter().map(|m| m.as_ref().map(|m| m.status)).collect();
        assert_eq!(
            statuses,
            [
                Some(OverrideStatus::Added),
                Some(OverrideStatus::Overturned),
                None, // rule 2: callqa agreed with the reviewer
                Some(OverrideStatus::Overturned),
            ]
        );
        assert_eq!(&findings[1..], &[at(1, 0), at(2, 1), at(1, 4)]);
    }

    #[test]
    fn other_calls_are_untouched_and_unmatched_ones_are_listed_by_line() {
        let o = overrides(&[(1, Verdict::NoHit), (2, Verdict::Hit)]);
        let mut findings = vec![at(1, 0)];
        assert_eq!(o.apply("other", &mut findings), [None]);
        assert_eq!(findings, [at(1, 0)]);
        let summary = o.summary(|_| false, 0, 0);
        assert_eq!(summary.matched, 0);
        let lines: Vec<u64> = summary.unmatched.iter().map(|u| u.line).collect();
        assert_eq!(lines, [2, 3]);
        assert_eq!(o.summary(|id| id == "c", 1, 1).unmatched, []);
    }
}
