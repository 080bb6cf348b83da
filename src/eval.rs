//! `callqa eval`: a finished run measured against human labels (see [`crate::labels`]).
//!
//! Each label is one (call, rule or category) pair with a verdict. callqa's prediction for the
//! pair is read from the run's `findings.parquet`: a rule is predicted on a call when the call
//! has at least one finding of it; a category when the call has at least one violation (a
//! finding of a non-`reward` rule) in it. Findings overturned by a reviewer (`--overrides`) still
//! count as callqa's prediction — it is callqa that is being measured — and findings a reviewer
//! added do not.
//!
//! Per rule and per category: true/false positives and negatives, precision = TP / (TP + FP),
//! recall = TP / (TP + FN) and F1; a ratio with a zero denominator is undefined (empty in the
//! table, `null` in JSON and Parquet). Every false positive comes with the findings behind it
//! and every false negative with the call's transcript, both masked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::labels::{Label, Target, read_labels};
use crate::output::read::{for_each_batch, run_sources};
use crate::rules::RulePack;

/// The metrics table written into the run folder.
pub const EVAL_FILE: &str = "eval.parquet";
/// The false positives and negatives written into the run folder.
pub const EVAL_ERRORS_FILE: &str = "eval_errors.parquet";

/// Longest turn kept in a false negative's transcript, in characters.
const MAX_TURN_CHARS: usize = 300;

/// Minimum precision and recall every category must reach.
#[derive(Clone, Copy, Debug, Default)]
pub struct Thresholds {
    pub min_precision: Option<f64>,
    pub min_recall: Option<f64>,
}

/// The counts and ratios of one rule or category.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Metric {
    /// `category` or `rule`.
    pub level: &'static str,
    pub key: String,
    pub labels: u64,
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Metric {
    fn new(level: &'static str, key: &str) -> Metric {
        Metric {
            level,
            key: key.to_string(),
            labels: 0,
            tp: 0,
            fp: 0,
            fn_: 0,
            tn: 0,
            precision: None,
            recall: None,
            f1: None,
        }
    }

    fn count(&mut self, predicted: bool, labelled: bool) {
        self.labels += 1;
        match (predicted, labelled) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    fn finish(&mut self) {
        let ratio = |a: u64, b: u64| (a + b > 0).then(|| a as f64 / (a + b) as f64);
        self.precision = ratio(self.tp, self.fp);
        self.recall = ratio(self.tp, self.fn_);
        self.f1 = match (self.precision, self.recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
    }
}

/// One false positive or false negative, with what a reviewer needs to judge it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ErrorCase {
    pub level: &'static str,
    pub key: String,
    pub call_id: String,
    /// `false_positive` or `false_negative`.
    pub error: &'static str,
    /// Where the label is (`file:line`).
    pub label: String,
    pub reviewer: Option<String>,
    pub note: Option<String>,
    /// For a false positive: the rules of the findings behind it.
    pub rule_ids: Vec<String>,
    /// For a false positive: the first finding's matched text (masked).
    pub matched: Option<String>,
    /// A false positive's first finding in context, or a false negative's transcript; masked.
    pub context: Option<String>,
}

/// A category below a threshold.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Shortfall {
    pub category: String,
    /// `precision` or `recall`.
    pub measure: &'static str,
    pub value: f64,
    pub min: f64,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvalReport {
    pub labels_file: String,
    pub labels: u64,
    pub calls: u64,
    /// Categories first (pack order), then rules (pack order).
    pub metrics: Vec<Metric>,
    pub errors: Vec<ErrorCase>,
    pub below_threshold: Vec<Shortfall>,
    pub warnings: Vec<String>,
}

/// A finding as eval needs it.
struct Seen {
    rule_id: String,
    category: String,
    reward: bool,
    matched: Option<String>,
    context: Option<String>,
}

/// Measures the run in `out` against the labels in `labels_path`. `rules` replaces the run's
/// own rule pack (named in its manifest) for checking rule ids and categories.
pub fn evaluate(
    out: &Path,
    labels_path: &Path,
    rules: Option<&Path>,
    thresholds: Thresholds,
) -> Result<EvalReport> {
    let labels = read_labels(labels_path)?;
    let (inputs, run_rules) = run_sources(out)?;
    let pack = RulePack::load(rules.unwrap_or(&run_rules))?;
    let wanted: HashSet<&str> = labels.iter().map(|l| l.call_id.as_str()).collect();
    let calls = run_calls(out, &wanted)?;
    check_labels(&labels, &pack, &calls)?;
    let findings = read_findings(out, &wanted)?;
    let mut metrics: BTreeMap<(u8, usize), Metric> = BTreeMap::new();
    let mut errors = Vec::new();
    for label in &labels {
        let behind: Vec<&Seen> = findings
            .get(&label.call_id)
            .map(|f| f.iter().filter(|s| predicts(s, &label.target)).collect())
            .unwrap_or_default();
        let predicted = !behind.is_empty();
        let slot = match &label.target {
            // Both lookups succeed: check_labels has refused unknown rules and categories.
            Target::Category(c) => (0, pack.category_index(c).unwrap_or(usize::MAX)),
            Target::Rule(r) => (
                1,
                pack.rules()
                    .iter()
                    .position(|x| &x.id == r)
                    .unwrap_or(usize::MAX),
            ),
        };
        metrics
            .entry(slot)
            .or_insert_with(|| Metric::new(label.target.level(), label.target.key()))
            .count(predicted, label.verdict.is_hit());
        if predicted != label.verdict.is_hit() {
            errors.push(error_case(label, &behind));
        }
    }
    let mut metrics: Vec<Metric> = metrics.into_values().collect();
    metrics.iter_mut().for_each(Metric::finish);
    let warnings = add_transcripts(&mut errors, &inputs);
    errors.sort_by(|a, b| (a.level, &a.key, &a.call_id).cmp(&(b.level, &b.key, &b.call_id)));
    Ok(EvalReport {
        labels_file: labels_path.display().to_string(),
        labels: labels.len() as u64,
        calls: wanted.len() as u64,
        below_threshold: shortfalls(&metrics, thresholds),
        metrics,
        errors,
        warnings,
    })
}

fn predicts(seen: &Seen, target: &Target) -> bool {
    match target {
        Target::Rule(r) => &seen.rule_id == r,
        Target::Category(c) => &seen.category == c && !seen.reward,
    }
}

fn error_case(label: &Label, behind: &[&Seen]) -> ErrorCase {
    let rule_ids: BTreeSet<String> = behind.iter().map(|s| s.rule_id.clone()).collect();
    ErrorCase {
        level: label.target.level(),
        key: label.target.key().to_string(),
        call_id: label.call_id.clone(),
        error: if behind.is_empty() {
            "false_negative"
        } else {
            "false_positive"
        },
        label: label.location(),
        reviewer: label.reviewer.clone(),
        note: label.note.clone(),
        rule_ids: rule_ids.into_iter().collect(),
        matched: behind.first().and_then(|s| s.matched.clone()),
        context: behind.first().and_then(|s| s.context.clone()),
    }
}

/// Every label must name a call of the run and a rule or category of the pack; all problems
/// are reported at once, each with `file:line`.
fn check_labels(labels: &[Label], pack: &RulePack, calls: &HashSet<String>) -> Result<()> {
    let mut problems = Vec::new();
    for label in labels {
        if !calls.contains(&label.call_id) {
            problems.push(format!(
                "{}: call {} is not in this run",
                label.location(),
                label.call_id
            ));
        }
        match &label.target {
            Target::Rule(r) if pack.rule(r).is_none() => problems.push(format!(
                "{}: no rule `{r}` in the pack {} (see `callqa rules list`)",
                label.location(),
                pack.dir().display()
            )),
            Target::Category(c) if pack.category_index(c).is_none() => problems.push(format!(
                "{}: no category `{c}` in the pack (its categories: {})",
                label.location(),
                pack.categories().join(", ")
            )),
            _ => {}
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let n = problems.len();
    Err(Error::usage_message(format!(
        "{n} label{} cannot be evaluated against this run:\n  {}",
        if n == 1 { "" } else { "s" },
        problems.join("\n  ")
    )))
}

/// Which of the `wanted` calls the run scored (only those are held, however big the run).
fn run_calls(out: &Path, wanted: &HashSet<&str>) -> Result<HashSet<String>> {
    let mut calls = HashSet::new();
    for_each_batch(&out.join(crate::output::CALLS_FILE), |batch| {
        let ids = batch.column::<StringArray>("call_id")?;
        calls.extend(
            ids.iter()
                .flatten()
                .filter(|id| wanted.contains(id))
                .map(String::from),
        );
        Ok(true)
    })?;
    Ok(calls)
}

/// The findings of the `wanted` calls, leaving out those a reviewer added.
fn read_findings(out: &Path, wanted: &HashSet<&str>) -> Result<HashMap<String, Vec<Seen>>> {
    let mut found: HashMap<String, Vec<Seen>> = HashMap::new();
    for_each_batch(&out.join(crate::output::FINDINGS_FILE), |batch| {
        let (calls, rules) = (
            batch.column::<StringArray>("call_id")?,
            batch.column::<StringArray>("rule_id")?,
        );
        let (kinds, categories) = (
            batch.column::<StringArray>("kind")?,
            batch.column::<StringArray>("category")?,
        );
        let (matched, context) = (
            batch.column::<StringArray>("matched")?,
            batch.column::<StringArray>("context")?,
        );
        let overridden = batch.optional_column::<StringArray>("overridden")?;
        let text = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
        for i in 0..calls.len() {
            let added = overridden
                .as_ref()
                .and_then(|o| text(o, i))
                .is_some_and(|o| o == "added");
            if added || !wanted.contains(calls.value(i)) {
                continue;
            }
            found
                .entry(calls.value(i).to_string())
                .or_default()
                .push(Seen {
                    rule_id: rules.value(i).to_string(),
                    category: categories.value(i).to_string(),
                    reward: kinds.value(i) == "reward",
                    matched: text(&matched, i),
                    context: text(&context, i),
                });
        }
        Ok(true)
    })?;
    Ok(found)
}

/// Gives each false negative the call's masked transcript, read from the run's inputs in one
/// pass. Inputs that cannot be read are named in the returned warnings.
fn add_transcripts(errors: &mut [ErrorCase], inputs: &[PathBuf]) -> Vec<String> {
    let wanted: HashSet<String> = errors
        .iter()
        .filter(|e| e.error == "false_negative")
        .map(|e| e.call_id.clone())
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut transcripts: HashMap<String, String> = HashMap::new();
    let mut warnings = Vec::new();
    for path in inputs {
        if let Err(e) = scan_input(path, &wanted, &mut transcripts) {
            warnings.push(format!(
                "{e}; false negatives from it are shown without a transcript"
            ));
        }
    }
    for error in errors.iter_mut().filter(|e| e.error == "false_negative") {
        error.context = transcripts.get(&error.call_id).cloned();
    }
    warnings
}

fn scan_input(
    path: &Path,
    wanted: &HashSet<String>,
    transcripts: &mut HashMap<String, String>,
) -> Result<()> {
    crate::input::for_each_call(path, crate::pipeline::DEFAULT_MAX_RECORD_BYTES, |call| {
        if wanted.contains(&call.call_id) && !transcripts.contains_key(&call.call_id) {
            transcripts.insert(call.call_id.clone(), transcript(&call));
        }
        Ok(true)
    })
}

/// The call as `speaker: text` lines, masked, long turns cut.
fn transcript(call: &crate::input::Call) -> String {
    call.turns
        .iter()
        .map(|t| {
            let mut text: String = t.text.chars().take(MAX_TURN_CHARS).collect();
            if text.len() < t.text.len() {
                text.push('…');
            }
            format!("{}: {}", t.speaker.as_str(), crate::mask::mask(&text))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn shortfalls(metrics: &[Metric], thresholds: Thresholds) -> Vec<Shortfall> {
    let mut below = Vec::new();
    for m in metrics.iter().filter(|m| m.level == "category") {
        let checks = [
            ("precision", m.precision, thresholds.min_precision),
            ("recall", m.recall, thresholds.min_recall),
        ];
        for (measure, value, min) in checks {
            if let (Some(value), Some(min)) = (value, min)
                && value < min
            {
                below.push(Shortfall {
                    category: m.key.clone(),
                    measure,
                    value,
                    min,
                });
            }
        }
    }
    below
}

/// Writes `eval.parquet` and `eval_errors.parquet` into the run folder, each by a rename so a
/// reader never sees half a file.
pub fn write(out: &Path, report: &EvalReport) -> Result<()> {
    let m = &report.metrics;
    let metrics_schema = Schema::new(vec![
        Field::new("level", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("labels", DataType::Int64, false),
        Field::new("tp", DataType::Int64, false),
        Field::new("fp", DataType::Int64, false),
        Field::new("fn", DataType::Int64, false),
        Field::new("tn", DataType::Int64, false),
        Field::new("precision", DataType::Float64, true),
        Field::new("recall", DataType::Float64, true),
        Field::new("f1", DataType::Float64, true),
    ]);
    let count = |f: fn(&Metric) -> u64| -> ArrayRef {
        Arc::new(m.iter().map(|x| Some(f(x) as i64)).collect::<Int64Array>())
    };
    let ratio = |f: fn(&Metric) -> Option<f64>| -> ArrayRef {
        Arc::new(m.iter().map(f).collect::<Float64Array>())
    };
    let metrics_columns = vec![
        strings(m.iter().map(|x| Some(x.level))),
        strings(m.iter().map(|x| Some(x.key.as_str()))),
        count(|x| x.labels),
        count(|x| x.tp),
        count(|x| x.fp),
        count(|x| x.fn_),
        count(|x| x.tn),
        ratio(|x| x.precision),
        ratio(|x| x.recall),
        ratio(|x| x.f1),
    ];
    write_parquet(&out.join(EVAL_FILE), metrics_schema, metrics_columns)?;
    let e = &report.errors;
    let utf8 = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let errors_schema = Schema::new(vec![
        utf8("level", false),
        utf8("key", false),
        utf8("call_id", false),
        utf8("error", false),
        utf8("label", false),
        utf8("reviewer", true),
        utf8("note", true),
        utf8("rule_ids", false),
        utf8("matched", true),
        utf8("context", true),
    ]);
    let rule_ids: Vec<String> = e.iter().map(|x| x.rule_ids.join(",")).collect();
    let errors_columns = vec![
        strings(e.iter().map(|x| Some(x.level))),
        strings(e.iter().map(|x| Some(x.key.as_str()))),
        strings(e.iter().map(|x| Some(x.call_id.as_str()))),
        strings(e.iter().map(|x| Some(x.error))),
        strings(e.iter().map(|x| Some(x.label.as_str()))),
        strings(e.iter().map(|x| x.reviewer.as_deref())),
        strings(e.iter().map(|x| x.note.as_deref())),
        strings(rule_ids.iter().map(|x| Some(x.as_str()))),
        strings(e.iter().map(|x| x.matched.as_deref())),
        strings(e.iter().map(|x| x.context.as_deref())),
    ];
    write_parquet(&out.join(EVAL_ERRORS_FILE), errors_schema, errors_columns)
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut builder = StringBuilder::new();
    for v in values {
        builder.append_option(v);
    }
    Arc::new(builder.finish())
}

fn write_parquet(path: &Path, schema: Schema, columns: Vec<ArrayRef>) -> Result<()> {
    let schema = Arc::new(schema);
    let staged = path.with_extension("parquet.partial");
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
        .map_err(|e| Error::parquet(path, e.into()))?;
    let file = std::fs::File::create(&staged).map_err(|e| Error::output(&staged, "create", e))?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None)
        .map_err(|e| Error::parquet(path, e))?;
    writer.write(&batch).map_err(|e| Error::parquet(path, e))?;
    let file = writer.into_inner().map_err(|e| Error::parquet(path, e))?;
    file.sync_all()
        .map_err(|e| Error::output(&staged, "sync", e))?;
    std::fs::rename(&staged, path).map_err(|e| Error::output(path, "write", e))
}

/// The report as a terminal table, then up to `max_errors` false positives and negatives with
/// their context (all of them are in `eval_errors.parquet` and the JSON).
pub fn render(report: &EvalReport, max_errors: usize) -> String {
    use std::fmt::Write as _;
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.3}"));
    let mut out = format!(
        "{} labels on {} calls ({})\n\n{:<9} {:<16} {:>6} {:>5} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6}\n",
        report.labels,
        report.calls,
        report.labels_file,
        "level",
        "key",
        "labels",
        "tp",
        "fp",
        "fn",
        "tn",
        "precision",
        "recall",
        "f1"
    );
    for m in &report.metrics {
        let _ = writeln!(
            out,
            "{:<9} {:<16} {:>6} {:>5} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6}",
            m.level,
            m.key,
            m.labels,
            m.tp,
            m.fp,
            m.fn_,
            m.tn,
            ratio(m.precision),
            ratio(m.recall),
            ratio(m.f1)
        );
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\nfalse positives (FP) and false negatives (FN):");
    }
    for e in report.errors.iter().take(max_errors) {
        let tag = if e.error == "false_positive" {
            "FP"
        } else {
            "FN"
        };
        let _ = write!(
            out,
            "{tag} {} {} call {} ({}",
            e.level, e.key, e.call_id, e.label
        );
        if let Some(note) = &e.note {
            let _ = write!(out, ": {note}");
        }
        let _ = write!(out, ")");
        if !e.rule_ids.is_empty() {
            let _ = write!(out, " found by {}", e.rule_ids.join(", "));
        }
        if let Some(m) = &e.matched {
            let _ = write!(out, " «{m}»");
        }
        out.push('\n');
        for line in e.context.iter().flat_map(|c| c.lines()) {
            let _ = writeln!(out, "    {line}");
        }
    }
    if report.errors.len() > max_errors {
        let _ = writeln!(
            out,
            "… and {} more in {EVAL_ERRORS_FILE} (--max-errors to show more)",
            report.errors.len() - max_errors
        );
    }
    for s in &report.below_threshold {
        let _ = writeln!(
            out,
            "BELOW THRESHOLD: category {} {} {:.3} < {}",
            s.category, s.measure, s.value, s.min
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_undefined_without_a_denominator() {
        let mut m = Metric::new("rule", "R");
        for (p, l) in [
            (true, true),
            (true, false),
            (false, true),
            (false, false),
            (true, true),
        ] {
            m.count(p, l);
        }
        m.finish();
        assert_eq!((m.tp, m.fp, m.fn_, m.tn, m.labels), (2, 1, 1, 1, 5));
        let (p, r) = (2.0 / 3.0, 2.0 / 3.0);
        assert_eq!(m.precision, Some(p));
        assert_eq!(m.recall, Some(r));
        assert_eq!(m.f1, Some(2.0 * p * r / (p + r)));
        let mut empty = Metric::new("rule", "R");
        empty.count(false, false);
        empty.finish();
        assert_eq!(
            (empty.precision, empty.recall, empty.f1),
            (None, None, None)
        );
        let mut missed = Metric::new("rule", "R");
        missed.count(false, true);
        missed.finish();
        assert_eq!(
            (missed.precision, missed.recall, missed.f1),
            (None, Some(0.0), None)
        );
    }

    #[test]
    fn only_defined_category_ratios_below_the_minimum_fall_short() {
        let metric = |level, key: &str, precision, recall| Metric {
            precision,
            recall,
            ..Metric::new(level, key)
        };
        let metrics = [
            metric("category", "a", Some(0.9), Some(1.0)),
            metric("category", "b", None, Some(0.95)),
            metric("rule", "R", Some(0.1), Some(0.1)),
        ];
        let below = shortfalls(
            &metrics,
            Thresholds {
                min_precision: Some(0.95),
                min_recall: Some(0.92),
            },
        );
        assert_eq!(below.len(), 1);
        assert_eq!(
            (below[0].category.as_str(), below[0].measure),
            ("a", "precision")
        );
    }
}
