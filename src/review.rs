//! The review model: how likely a reviewer is to confirm a finding, learned from their past
//! verdicts (`callqa learn`), so the review queue shows likely-real findings first.
//!
//! `verdicts.csv` (one row per reviewed finding; a header row; `turn_index` empty for a
//! whole-call finding such as a missing `require`):
//!
//! ```text
//! call_id,rule_id,turn_index,verdict,reviewer
//! c-0001,OP-ZH-001,3,confirmed,wang
//! c-0002,CMP-ZH-001,,overturned,li
//! ```
//!
//! Each verdict is joined with its finding in a finished run's `findings.parquet` (and the
//! call's `customer_anger` in `calls.parquet`). The features of a finding, all named so a
//! confidence can say what drove it: `rule=ID`, `category=C`, `speaker=S`, `position=start`
//! / `middle` / `end` / `call` (where the turn is in the call), `anger` (the customer's, 0–1),
//! `angry` (anger ≥ 0.5), and `ctx=…` n-grams of the finding's turn (Chinese character
//! bigrams, English words) seen in at least two verdicts.
//!
//! The model is linfa's logistic regression (L2, `alpha` 1, L-BFGS from zero weights), which is
//! deterministic: the same verdicts and run give the same `model.json`, byte for byte.
//! `confidence` = P(confirmed); its reasons are the features with the largest contributions.
//!
//! `learn` measures reviewer effort by cross-validation, folds by call: on each held-out fold,
//! how many overturned findings are among the first K of the findings queue, and how many
//! "wasted opens" among the first K calls of the call queue (a reviewed call all of whose
//! verdicts were overturned), without the model (the run's order) and with it (the risk
//! re-weighed as `run --model` would, see `queue`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Customer anger at which the `angry` feature is set.
const ANGRY: f64 = crate::queue::ANGRY;
/// Least number of verdicts a context n-gram must appear in to become a feature.
const MIN_NGRAM_COUNT: usize = 2;
/// Most context n-gram features (the most frequent; ties by name).
const MAX_NGRAMS: usize = 400;
/// How many contributing features a confidence lists.
pub const TOP_FEATURES: usize = 3;

/// One reviewer's verdict on one finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub call_id: String,
    pub rule_id: String,
    pub turn_index: Option<i32>,
    pub confirmed: bool,
    pub reviewer: String,
    /// Line in the verdicts file, for messages.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerdict {
    call_id: String,
    rule_id: String,
    turn_index: Option<i32>,
    verdict: String,
    reviewer: String,
}

/// Reads `verdicts.csv`; every problem names the file, line and field.
pub fn read_verdicts(path: &Path) -> Result<Vec<Verdict>> {
    let bad = |line: u64, message: String| {
        Error::usage_message(format!("{}:{line}: {message}", path.display()))
    };
    let records: Vec<(u64, RawVerdict)> = crate::labels::read_records(
        path,
        &["call_id", "rule_id", "turn_index", "verdict", "reviewer"],
        &["call_id", "rule_id", "verdict", "reviewer"],
    )?;
    let mut verdicts: Vec<Verdict> = Vec::new();
    // (call, rule, turn) → index of its verdict, so a contradiction names both lines.
    let mut seen: HashMap<(String, String, Option<i32>), usize> = HashMap::new();
    for (line, raw) in records {
        let line = line as usize;
        let confirmed = match raw.verdict.as_str() {
            "confirmed" => true,
            "overturned" => false,
            other => {
                return Err(bad(
                    line as u64,
                    format!("field `verdict`: {other:?} is not `confirmed` or `overturned`"),
                ));
            }
        };
        let key = (raw.call_id.clone(), raw.rule_id.clone(), raw.turn_index);
        if let Some(&earlier) = seen.get(&key) {
            let first = &verdicts[earlier];
            if first.confirmed != confirmed {
                return Err(bad(
                    line as u64,
                    format!(
                        "this verdict on {} {} contradicts line {}",
                        raw.call_id, raw.rule_id, first.line
                    ),
                ));
            }
            // The same verdict again (a second reviewer agreeing): counted once.
            continue;
        }
        seen.insert(key, verdicts.len());
        verdicts.push(Verdict {
            call_id: raw.call_id,
            rule_id: raw.rule_id,
            turn_index: raw.turn_index,
            confirmed,
            reviewer: raw.reviewer,
            line,
        });
    }
    if verdicts.is_empty() {
        return Err(bad(1, "no verdicts".into()));
    }
    Ok(verdicts)
}

/// What the model looks at in one finding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FindingFacts {
    pub call_id: String,
    pub rule_id: String,
    pub category: String,
    pub speaker: String,
    pub turn_index: Option<i32>,
    pub turns: u32,
    pub turn_text: String,
    pub customer_anger: f64,
    /// The call's place in the review queue without a model (1 = first).
    pub review_rank: i64,
}

impl FindingFacts {
    /// Every feature of the finding with its value (context n-grams unfiltered).
    pub fn features(&self) -> Vec<(String, f64)> {
        let position = match self.turn_index {
            None => "call",
            Some(t) if (t as f64) < 0.2 * self.turns as f64 => "start",
            Some(t) if (t as f64) >= 0.8 * self.turns as f64 => "end",
            Some(_) => "middle",
        };
        let mut out = vec![
            (format!("rule={}", self.rule_id), 1.0),
            (format!("category={}", self.category), 1.0),
            (format!("speaker={}", self.speaker), 1.0),
            (format!("position={position}"), 1.0),
            ("anger".to_string(), self.customer_anger),
        ];
        if self.customer_anger >= ANGRY {
            out.push(("angry".to_string(), 1.0));
        }
        let mut grams: Vec<String> = context_ngrams(&self.turn_text);
        grams.sort();
        grams.dedup();
        out.extend(grams.into_iter().map(|g| (format!("ctx={g}"), 1.0)));
        out
    }
}

/// Chinese character bigrams and lowercase English words of a turn.
fn context_ngrams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for pair in chars.windows(2) {
        if pair
            .iter()
            .all(|&c| crate::normalize::is_unified_ideograph(c))
        {
            out.push(pair.iter().collect());
        }
    }
    out.extend(
        text.split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
            .filter(|w| w.len() > 2)
            .map(|w| w.to_ascii_lowercase()),
    );
    out
}

/// A trained review model, as written to `model.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub version: u32,
    /// Verdicts it was trained on: confirmed, overturned.
    pub trained_on: (usize, usize),
    pub intercept: f64,
    /// Feature name → weight, in name order.
    pub weights: BTreeMap<String, f64>,
    /// Where the model was loaded from, for the run's manifest (not part of `model.json`).
    #[serde(skip)]
    pub source: Option<ModelSource>,
}

/// A model file by path and content, as a run's manifest records it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ModelSource {
    pub path: String,
    pub sha256: String,
}

impl Model {
    /// P(confirmed) of a finding, and its top contributing features (`rule=X +1.20`).
    pub fn confidence(&self, facts: &FindingFacts) -> (f64, Vec<String>) {
        let mut contributions: Vec<(String, f64)> = facts
            .features()
            .into_iter()
            .filter_map(|(name, value)| {
                let w = self.weights.get(&name)?;
                (w * value != 0.0).then(|| (name, w * value))
            })
            .collect();
        let z = self.intercept + contributions.iter().map(|(_, c)| c).sum::<f64>();
        contributions.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        let top = contributions
            .into_iter()
            .take(TOP_FEATURES)
            .map(|(name, c)| format!("{name} {c:+.2}"))
            .collect();
        (1.0 / (1.0 + (-z).exp()), top)
    }

    pub fn load(path: &Path) -> Result<Model> {
        use sha2::{Digest, Sha256};
        let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, "read", e))?;
        let mut model: Model = serde_json::from_str(&text).map_err(|e| {
            Error::usage_message(format!(
                "{}:{}: not a callqa review model: {e}",
                path.display(),
                e.line()
            ))
        })?;
        model.source = Some(ModelSource {
            path: path.display().to_string(),
            sha256: crate::rules::hex_digest(&Sha256::digest(text.as_bytes())),
        });
        Ok(model)
    }

    /// Writes the model as JSON to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json()).map_err(|e| Error::output(path, "write", e))
    }

    pub fn to_json(&self) -> String {
        // Serializing plain numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Trains a model on findings with their verdicts (`true` = confirmed).
pub fn train(examples: &[(FindingFacts, bool)]) -> Result<Model> {
    use linfa::prelude::{Dataset, Fit};
    use ndarray::{Array1, Array2};
    let confirmed = examples.iter().filter(|(_, c)| *c).count();
    let overturned = examples.len() - confirmed;
    if confirmed == 0 || overturned == 0 {
        return Err(Error::usage_message(format!(
            "the verdicts need both outcomes to learn from ({confirmed} confirmed, {overturned} overturned)"
        )));
    }
    let names = vocabulary(examples);
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut x = Array2::<f64>::zeros((examples.len(), names.len()));
    for (row, (facts, _)) in examples.iter().enumerate() {
        for (name, value) in facts.features() {
            if let Some(&col) = index.get(name.as_str()) {
                x[[row, col]] = value;
            }
        }
    }
    let y: Array1<bool> = examples.iter().map(|(_, c)| *c).collect();
    let fitted = linfa_logistic::LogisticRegression::default()
        .alpha(1.0)
        .max_iterations(200)
        .fit(&Dataset::new(x, y))
        .map_err(|e| Error::usage_message(format!("training failed: {e}")))?;
    // The fitted model's probability is that of its `pos` class; make it P(confirmed).
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let weights = names
        .into_iter()
        .zip(fitted.params().iter())
        .map(|(n, w)| (n, sign * w))
        .filter(|(_, w)| *w != 0.0)
        .collect();
    Ok(Model {
        version: 1,
        trained_on: (confirmed, overturned),
        intercept: sign * fitted.intercept(),
        weights,
        source: None,
    })
}

/// Feature names: all non-context features, and the context n-grams seen in at least
/// [`MIN_NGRAM_COUNT`] examples (the [`MAX_NGRAMS`] most frequent), in name order.
fn vocabulary(examples: &[(FindingFacts, bool)]) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (facts, _) in examples {
        for (name, _) in facts.features() {
            *counts.entry(name).or_default() += 1;
        }
    }
    let (ngrams, mut names): (Vec<_>, Vec<_>) =
        counts.into_iter().partition(|(n, _)| n.starts_with("ctx="));
    let mut ngrams: Vec<(String, usize)> = ngrams
        .into_iter()
        .filter(|(_, c)| *c >= MIN_NGRAM_COUNT)
        .collect();
    ngrams.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ngrams.truncate(MAX_NGRAMS);
    names.extend(ngrams);
    let mut names: Vec<String> = names.into_iter().map(|(n, _)| n).collect();
    names.sort();
    names
}

/// Reads every finding of a finished run with what the model needs.
pub fn read_run_findings(out: &Path) -> Result<Vec<FindingFacts>> {
    use crate::output::read::for_each_batch;
    use arrow_array::{Array, Float64Array, Int32Array, Int64Array, StringArray};
    let mut calls: HashMap<String, (f64, u32, i64)> = HashMap::new();
    for_each_batch(&out.join(crate::output::CALLS_FILE), |b| {
        let ids = b.column::<StringArray>("call_id")?;
        let anger = b.column::<Float64Array>("customer_anger")?;
        let turns = b.column::<Int32Array>("turns")?;
        let ranks = b.column::<Int64Array>("review_rank")?;
        for i in 0..ids.len() {
            let facts = (anger.value(i), turns.value(i) as u32, ranks.value(i));
            calls.insert(ids.value(i).to_string(), facts);
        }
        Ok(true)
    })?;
    let mut findings = Vec::new();
    for_each_batch(&out.join(crate::output::FINDINGS_FILE), |b| {
        let ids = b.column::<StringArray>("call_id")?;
        let rules = b.column::<StringArray>("rule_id")?;
        let categories = b.column::<StringArray>("category")?;
        let speakers = b.column::<StringArray>("speaker")?;
        let turns = b.column::<Int32Array>("turn_index")?;
        let texts = b.column::<StringArray>("turn_text")?;
        for i in 0..ids.len() {
            let call_id = ids.value(i).to_string();
            let (customer_anger, turn_count, review_rank) =
                calls.get(&call_id).copied().unwrap_or((0.0, 0, i64::MAX));
            findings.push(FindingFacts {
                rule_id: rules.value(i).to_string(),
                category: categories.value(i).to_string(),
                speaker: speakers.value(i).to_string(),
                turn_index: turns.is_valid(i).then(|| turns.value(i)),
                turns: turn_count,
                turn_text: if texts.is_valid(i) {
                    texts.value(i).to_string()
                } else {
                    String::new()
                },
                customer_anger,
                review_rank,
                call_id,
            });
        }
        Ok(true)
    })?;
    Ok(findings)
}

/// Joins each verdict with its finding; a verdict with no such finding in the run is an error
/// naming its line.
pub fn join(
    verdicts: &[Verdict],
    findings: &[FindingFacts],
    verdicts_path: &Path,
) -> Result<Vec<(FindingFacts, bool)>> {
    let by_key: HashMap<(&str, &str, Option<i32>), &FindingFacts> = findings
        .iter()
        .rev()
        .map(|f| ((f.call_id.as_str(), f.rule_id.as_str(), f.turn_index), f))
        .collect();
    verdicts
        .iter()
        .map(|v| {
            let key = (v.call_id.as_str(), v.rule_id.as_str(), v.turn_index);
            let facts = by_key.get(&key).ok_or_else(|| {
                Error::usage_message(format!(
                    "{}:{}: no finding of rule {} in call {} at turn {} in the run",
                    verdicts_path.display(),
                    v.line,
                    v.rule_id,
                    v.call_id,
                    v.turn_index
                        .map_or("(whole call)".into(), |t| t.to_string())
                ))
            })?;
            Ok(((*facts).clone(), v.confirmed))
        })
        .collect()
}

/// Reviewer effort on one held-out fold: overturned findings among the first `k` of the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoldEffort {
    pub fold: usize,
    pub findings: usize,
    pub overturned: usize,
    /// In the queue's order without a model (call review rank, then turn).
    pub top_k_without: usize,
    /// Ordered by the model's confidence (trained on the other folds).
    pub top_k_with: usize,
    /// Reviewed calls in the fold, and how many of them were wasted opens (every verdict on
    /// the call overturned).
    pub calls: usize,
    pub wasted: usize,
    /// For each K asked: wasted opens among the first K calls of the call queue, without the
    /// model (the run's review rank) and with it (risk re-weighed by the fold's model).
    pub wasted_in_top: Vec<CallEffort>,
}

/// Wasted opens among the first `k` calls of one held-out fold's call queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallEffort {
    pub k: usize,
    pub without: usize,
    pub with: usize,
}

/// A call of a finished run, as its review queue ranked it, with the violations its risk
/// weighs.
#[derive(Clone, Debug)]
pub struct QueuedCall {
    pub call_id: String,
    pub review_rank: i64,
    pub risk: i64,
    pub score: i32,
    pub auto_fail: bool,
    /// Its violations that count (not overturned by a reviewer): what the model sees, and how
    /// the risk weighs them (`confidence` 1 until a model gives one; a reviewer's stays 1).
    pub violations: Vec<(FindingFacts, crate::queue::Weighed)>,
}

impl QueuedCall {
    /// Its risk with `model`'s confidences in place of the full weight of every violation:
    /// only the finding-driven parts change (anger and repeat contact stay as they were).
    fn risk_with(&self, model: &Model) -> i64 {
        let weighed: Vec<crate::queue::Weighed> = self
            .violations
            .iter()
            .map(|(facts, w)| crate::queue::Weighed {
                confidence: if w.by_reviewer {
                    1.0
                } else {
                    model.confidence(facts).0
                },
                ..*w
            })
            .collect();
        let part = |w: Option<&[crate::queue::Weighed]>| {
            i64::from(crate::queue::finding_risk(self.score, self.auto_fail, w).0)
        };
        self.risk - part(None) + part(Some(&weighed))
    }
}

/// Every call of a finished run with its counted violations; `pack` (the run's rule pack) says
/// which findings are violations, which are fatal, and their points.
pub fn read_run_calls(out: &Path, pack: &crate::rules::RulePack) -> Result<Vec<QueuedCall>> {
    use crate::output::read::for_each_batch;
    use arrow_array::{Array, BooleanArray, Int32Array, Int64Array, StringArray};
    let mut calls: Vec<QueuedCall> = Vec::new();
    for_each_batch(&out.join(crate::output::CALLS_FILE), |b| {
        let ids = b.column::<StringArray>("call_id")?;
        let ranks = b.column::<Int64Array>("review_rank")?;
        let risks = b.column::<Int32Array>("risk")?;
        let scores = b.column::<Int32Array>("score")?;
        let fails = b.column::<BooleanArray>("auto_fail")?;
        for i in 0..ids.len() {
            calls.push(QueuedCall {
                call_id: ids.value(i).to_string(),
                review_rank: ranks.value(i),
                risk: i64::from(risks.value(i)),
                score: scores.value(i),
                auto_fail: fails.value(i),
                violations: Vec::new(),
            });
        }
        Ok(true)
    })?;
    // The reviewers' marks, in the same row order as `read_run_findings`.
    let mut marks: Vec<Option<String>> = Vec::new();
    for_each_batch(&out.join(crate::output::FINDINGS_FILE), |b| {
        let ids = b.column::<StringArray>("call_id")?;
        let overridden = b.optional_column::<StringArray>("overridden")?;
        for i in 0..ids.len() {
            let mark = overridden.as_ref().filter(|o| o.is_valid(i));
            marks.push(mark.map(|o| o.value(i).to_string()));
        }
        Ok(true)
    })?;
    let index: HashMap<String, usize> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| (c.call_id.clone(), i))
        .collect();
    for (facts, mark) in read_run_findings(out)?.into_iter().zip(marks) {
        let rule = pack.rule(&facts.rule_id).ok_or_else(|| {
            Error::usage_message(format!(
                "{}: rule {} is not in the rule pack {}: give the run's pack with --rules",
                out.display(),
                facts.rule_id,
                pack.dir().display()
            ))
        })?;
        let Some(&call) = index.get(&facts.call_id) else {
            continue;
        };
        if rule.is_reward() || mark.as_deref() == Some("overturned") {
            continue;
        }
        let fatal = pack.scorecard().is_fatal(rule.severity);
        let weighed = crate::queue::Weighed {
            lost: if fatal {
                crate::queue::FATAL_LOST
            } else {
                rule.points
            },
            fatal,
            confidence: 1.0,
            by_reviewer: mark.is_some(),
        };
        calls[call].violations.push((facts, weighed));
    }
    Ok(calls)
}

/// `folds`-fold cross-validation, folds by call (all findings of a call in one fold, chosen
/// by a hash of its id, so the split is the same on every run).
pub fn cross_validate(
    examples: &[(FindingFacts, bool)],
    calls: &[QueuedCall],
    folds: usize,
    k: usize,
    call_ks: &[usize],
) -> Result<Vec<FoldEffort>> {
    let fold_of = |call: &str| (fnv(call) % folds as u64) as usize;
    let mut out = Vec::new();
    for fold in 0..folds {
        let (test, train_set): (Vec<_>, Vec<_>) = examples
            .iter()
            .cloned()
            .partition(|(f, _)| fold_of(&f.call_id) == fold);
        if test.is_empty() {
            continue;
        }
        let model = train(&train_set)?;
        let overturned_in_top = |mut ordered: Vec<(FindingFacts, bool, f64)>, by_model: bool| {
            ordered.sort_by(|a, b| {
                let base =
                    (a.0.review_rank, a.0.turn_index).cmp(&(b.0.review_rank, b.0.turn_index));
                if by_model {
                    b.2.total_cmp(&a.2).then(base)
                } else {
                    base
                }
            });
            ordered.iter().take(k).filter(|(_, c, _)| !c).count()
        };
        let scored: Vec<(FindingFacts, bool, f64)> = test
            .iter()
            .map(|(f, c)| (f.clone(), *c, model.confidence(f).0))
            .collect();
        let queue = held_out_calls(&test, calls, &model);
        out.push(FoldEffort {
            fold,
            findings: test.len(),
            overturned: test.iter().filter(|(_, c)| !c).count(),
            top_k_without: overturned_in_top(scored.clone(), false),
            top_k_with: overturned_in_top(scored, true),
            calls: queue.len(),
            wasted: queue.iter().filter(|c| c.wasted).count(),
            wasted_in_top: call_ks
                .iter()
                .map(|&k| wasted_in_top(queue.clone(), k))
                .collect(),
        });
    }
    Ok(out)
}

/// A reviewed call of a held-out fold: its place without the model, its risk with it.
#[derive(Clone)]
struct HeldOutCall<'a> {
    call_id: &'a str,
    review_rank: i64,
    risk_with: i64,
    /// Every verdict on it was overturned: opening it was wasted.
    wasted: bool,
}

/// The fold's reviewed calls (those with a verdict), each with its risk under `model`.
fn held_out_calls<'a>(
    test: &[(FindingFacts, bool)],
    calls: &'a [QueuedCall],
    model: &Model,
) -> Vec<HeldOutCall<'a>> {
    // call → any verdict confirmed
    let mut reviewed: HashMap<&str, bool> = HashMap::new();
    for (facts, confirmed) in test {
        *reviewed.entry(facts.call_id.as_str()).or_default() |= confirmed;
    }
    calls
        .iter()
        .filter_map(|c| {
            let confirmed = reviewed.get(c.call_id.as_str())?;
            Some(HeldOutCall {
                call_id: &c.call_id,
                review_rank: c.review_rank,
                risk_with: c.risk_with(model),
                wasted: !confirmed,
            })
        })
        .collect()
}

/// Wasted opens among the first `k` calls, in the run's order and in the model's (highest
/// risk first, ties by `call_id` as in the run).
fn wasted_in_top(mut queue: Vec<HeldOutCall<'_>>, k: usize) -> CallEffort {
    let wasted = |q: &[HeldOutCall<'_>]| q.iter().take(k).filter(|c| c.wasted).count();
    queue.sort_by_key(|c| c.review_rank);
    let without = wasted(&queue);
    queue.sort_by(|a, b| b.risk_with.cmp(&a.risk_with).then(a.call_id.cmp(b.call_id)));
    CallEffort {
        k,
        without,
        with: wasted(&queue),
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(rule: &str, text: &str, anger: f64) -> FindingFacts {
        FindingFacts {
            call_id: format!("c-{rule}-{text}"),
            rule_id: rule.into(),
            category: "compliance".into(),
            speaker: "agent".into(),
            turn_index: Some(1),
            turns: 4,
            turn_text: text.into(),
            customer_anger: anger,
            review_rank: 1,
        }
    }

    fn examples() -> Vec<(FindingFacts, bool)> {
        let mut out = Vec::new();
        for i in 0..20 {
            out.push((facts("A", &format!("我保证今天处理 {i}"), 0.6), true));
            out.push((facts("B", &format!("保证金账户 {i}"), 0.0), false));
        }
        out
    }

    #[test]
    fn training_is_deterministic_and_learns_the_direction() {
        let a = train(&examples()).unwrap();
        let b = train(&examples()).unwrap();
        assert_eq!(a.to_json(), b.to_json());
        let (good, reasons) = a.confidence(&facts("A", "我保证今天处理", 0.6));
        let (bad, _) = a.confidence(&facts("B", "保证金账户", 0.0));
        assert!(good > 0.5 && bad < 0.5, "{good} {bad}");
        assert_eq!(reasons.len(), TOP_FEATURES);
    }

    #[test]
    fn one_outcome_only_is_an_error() {
        let only: Vec<_> = examples().into_iter().filter(|(_, c)| *c).collect();
        assert!(train(&only).is_err());
    }
}
