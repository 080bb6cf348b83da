//! `callqa tune`: for each `similar` rule, the threshold that maximises F1 on labelled calls.
//!
//! Labels (`--labels labels.csv`, one row per call and rule; the labels format of issue 10):
//!
//! ```text
//! call_id,rule_id,category,verdict,reviewer,note
//! p-zh-01,SIM-ZH-EMPATHY,,hit,wang,
//! n-zh-01,SIM-ZH-EMPATHY,,no_hit,wang,negated
//! ```
//!
//! Each labelled call of a `similar` rule is scored once (its best similarity, whatever the
//! threshold); every distinct score (two decimals) is a point of the precision/recall curve.
//! Of the thresholds with the highest F1, the middle of the best range is suggested as an
//! edit to the rule file. The rule's `when`
//! is not applied here. Labels are read by [`crate::labels`]; category labels are skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::input::for_each_call;
use crate::labels::Target;
use crate::rules::Check;

/// (call_id, rule_id) → whether the rule should hit the call; category labels are not used.
fn read_labels(path: &Path) -> Result<BTreeMap<(String, String), bool>> {
    Ok(crate::labels::read_labels(path)?
        .into_iter()
        .filter_map(|label| match label.target {
            Target::Rule(rule_id) => Some(((label.call_id, rule_id), label.verdict.is_hit())),
            Target::Category(_) => None,
        })
        .collect())
}

/// One point of a precision/recall curve.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The tuning of one `similar` rule.
#[derive(Clone, Debug)]
pub struct RuleTuning {
    pub rule_id: String,
    pub file: PathBuf,
    pub line: usize,
    pub current: f64,
    pub labelled: usize,
    pub curve: Vec<CurvePoint>,
    /// The point with the highest F1.
    pub best: Option<CurvePoint>,
}

/// Tunes every `similar` rule that has labels, scoring the labelled calls found in `inputs`.
pub fn tune(engine: &Engine, labels_path: &Path, inputs: &[PathBuf]) -> Result<Vec<RuleTuning>> {
    let labels = read_labels(labels_path)?;
    let wanted: HashMap<&str, ()> = labels.keys().map(|(c, _)| (c.as_str(), ())).collect();
    let unknown: BTreeSet<&str> = labels
        .keys()
        .map(|(_, rule)| rule.as_str())
        .filter(|id| !engine.pack().rules().iter().any(|r| r.id == *id))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::usage_message(format!(
            "{}: labels name rules that are not in the pack: {}",
            labels_path.display(),
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut scores: HashMap<(String, String), f64> = HashMap::new();
    let mut found: BTreeSet<String> = BTreeSet::new();
    for path in inputs {
        for_each_call(path, crate::pipeline::DEFAULT_MAX_RECORD_BYTES, |call| {
            if wanted.contains_key(call.call_id.as_str()) {
                found.insert(call.call_id.clone());
                for (rule, score) in engine.similar_scores(&call) {
                    let id = engine.pack().rules()[rule].id.clone();
                    scores.insert((call.call_id.clone(), id), score);
                }
            }
            Ok(true)
        })?;
    }
    // A labelled call missing from the inputs would count as a score of 0 and bend the curve.
    let missing: Vec<&str> = labels
        .keys()
        .map(|(call, _)| call.as_str())
        .filter(|call| !found.contains(*call))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        return Err(Error::usage_message(format!(
            "{}: {} labelled calls are not in the inputs (first: {}); give every input the labels cover",
            labels_path.display(),
            missing.len(),
            missing
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut out = Vec::new();
    for rule in engine.pack().rules() {
        let Check::Similar(similar) = &rule.check else {
            continue;
        };
        let points: Vec<(f64, bool)> = labels
            .iter()
            .filter(|((_, r), _)| *r == rule.id)
            .map(|((call, r), hit)| {
                let score = scores
                    .get(&(call.clone(), r.clone()))
                    .copied()
                    .unwrap_or(0.0);
                (score, *hit)
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let curve = curve(&points);
        let best = best_threshold(&curve);
        out.push(RuleTuning {
            rule_id: rule.id.clone(),
            file: rule.file.clone(),
            line: rule.line,
            current: similar.threshold,
            labelled: points.len(),
            curve,
            best,
        });
    }
    Ok(out)
}

/// The point of highest F1 (ties: the higher threshold). Every threshold between it and the
/// next lower point gives the same F1; the midpoint is suggested, so that a paraphrase scoring
/// a little below the lowest labelled hit is still found.
fn best_threshold(curve: &[CurvePoint]) -> Option<CurvePoint> {
    let (i, best) = curve.iter().enumerate().max_by(|(_, a), (_, b)| {
        a.f1.total_cmp(&b.f1)
            .then(a.threshold.total_cmp(&b.threshold))
    })?;
    let next = curve.get(i + 1).map_or(0.0, |p| p.threshold);
    let mid = ((best.threshold + next) / 2.0 * 100.0).ceil() / 100.0;
    Some(CurvePoint {
        threshold: mid.min(best.threshold).max(0.01),
        ..best.clone()
    })
}

/// Precision, recall and F1 at each distinct positive score, highest threshold first.
fn curve(points: &[(f64, bool)]) -> Vec<CurvePoint> {
    let positives = points.iter().filter(|(_, hit)| *hit).count();
    // Two decimals, as similarities are printed; rounded down so each still finds its calls.
    let mut thresholds: Vec<f64> = points
        .iter()
        .map(|(s, _)| (s * 100.0).floor() / 100.0)
        .filter(|s| *s > 0.0)
        .collect();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    thresholds
        .into_iter()
        .map(|t| {
            let found: Vec<bool> = points
                .iter()
                .filter(|(s, _)| *s >= t)
                .map(|(_, h)| *h)
                .collect();
            let tp = found.iter().filter(|h| **h).count() as f64;
            let precision = if found.is_empty() {
                0.0
            } else {
                tp / found.len() as f64
            };
            let recall = if positives == 0 {
                0.0
            } else {
                tp / positives as f64
            };
            let f1 = if tp == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            CurvePoint {
                threshold: t,
                precision,
                recall,
                f1,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_picks_the_threshold_between_hits_and_near_misses() {
        let points = [
            (0.9, true),
            (0.6, true),
            (0.4, false),
            (0.5, true),
            (0.0, true),
        ];
        let best = best_threshold(&curve(&points)).unwrap();
        // Between the lowest hit above the near-miss (0.5) and the near-miss (0.4).
        assert_eq!(best.threshold, 0.45);
        assert_eq!((best.precision, best.recall), (1.0, 0.75));
    }
}
