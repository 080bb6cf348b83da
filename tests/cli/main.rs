//! Integration tests: the real `callqa` binary on the bundled rules and `fixtures/`.
//! One test binary (like ripgrep's), one module per area.

mod asr;
mod errors;
mod eval;
mod fixtures;
mod nightly;
mod reliability;
mod report;
mod review;
mod rules;
mod shards;
mod similar;
mod suggest;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::{Array, BooleanArray, Int32Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixture_inputs() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/calls"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    inputs.sort();
    inputs.push(root().join("fixtures/broken/broken.jsonl"));
    inputs
}

pub(crate) fn callqa(args: &[&str], extra: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callqa"))
        .current_dir(root())
        .args(args)
        .args(extra)
        .output()
        .expect("the callqa binary runs")
}

/// Runs `callqa run` on `inputs` into a new temporary folder.
pub(crate) fn run_into(out: &Path, inputs: &[PathBuf], threads: usize) -> Output {
    let threads = threads.to_string();
    let out = out.to_str().unwrap();
    let output = callqa(
        &[
            "run",
            "--rules",
            "rules",
            "--out",
            out,
            "--threads",
            &threads,
            "--quiet",
        ],
        inputs,
    );
    assert!(
        output.status.success(),
        "callqa run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub(crate) fn read_table(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

pub(crate) fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("column {name} has another type"))
}

/// call_id → sorted rule ids of its findings, read back from findings.parquet.
pub(crate) fn findings_by_call(out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for batch in read_table(&out.join("findings.parquet")) {
        let calls = column::<StringArray>(&batch, "call_id");
        let rules = column::<StringArray>(&batch, "rule_id");
        for i in 0..batch.num_rows() {
            found
                .entry(calls.value(i).to_string())
                .or_default()
                .push(rules.value(i).to_string());
        }
    }
    for rules in found.values_mut() {
        rules.sort();
    }
    found
}

/// call_id → (score, auto_fail), read back from calls.parquet.
pub(crate) fn scores_by_call(out: &Path) -> BTreeMap<String, (i32, bool)> {
    let mut scores = BTreeMap::new();
    for batch in read_table(&out.join("calls.parquet")) {
        let calls = column::<StringArray>(&batch, "call_id");
        let score = column::<Int32Array>(&batch, "score");
        let auto_fail = column::<BooleanArray>(&batch, "auto_fail");
        for i in 0..batch.num_rows() {
            scores.insert(
                calls.value(i).to_string(),
                (score.value(i), auto_fail.value(i)),
            );
        }
    }
    scores
}

pub(crate) fn expected() -> Value {
    let text = std::fs::read_to_string(root().join("fixtures/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every file of a run, with the manifest's timing (wall clock) removed.
pub(crate) fn run_files(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut bytes = std::fs::read(&path).unwrap();
        if name == "manifest.json" {
            let mut manifest: Value = serde_json::from_slice(&bytes).unwrap();
            manifest.as_object_mut().unwrap().remove("timing");
            bytes = serde_json::to_vec(&manifest).unwrap();
        }
        files.insert(name, bytes);
    }
    files
}

pub(crate) fn write_pack(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pack.toml"), text).unwrap();
}

/// Findings and scores of one output folder as text, for snapshots.
pub(crate) fn render_run(out: &Path) -> String {
    use arrow_array::Int64Array;
    let mut text = String::new();
    for batch in read_table(&out.join("findings.parquet")) {
        let call = column::<StringArray>(&batch, "call_id");
        let rule = column::<StringArray>(&batch, "rule_id");
        let turn = column::<Int32Array>(&batch, "turn_index");
        let start = column::<Int64Array>(&batch, "start_ms");
        let matched = column::<StringArray>(&batch, "matched");
        let detail = column::<StringArray>(&batch, "detail");
        for i in 0..batch.num_rows() {
            let opt = |present: bool, value: String| if present { value } else { "-".into() };
            text += &format!(
                "{} turn={} start_ms={} {} matched={} detail={}\n",
                call.value(i),
                opt(turn.is_valid(i), turn.value(i).to_string()),
                opt(start.is_valid(i), start.value(i).to_string()),
                rule.value(i),
                opt(matched.is_valid(i), format!("{:?}", matched.value(i))),
                opt(detail.is_valid(i), detail.value(i).to_string()),
            );
        }
    }
    text += "--\n";
    for (call, (score, auto_fail)) in scores_by_call(out) {
        text += &format!("{call} score={score} auto_fail={auto_fail}\n");
    }
    text
}

/// Saves a screenshot of `url` as `target/report-screenshots/<name>` for a person to look at
/// (the browser tests of the report and of the nightly trends share it).
pub(crate) fn screenshot(
    chromium: impl AsRef<std::ffi::OsStr>,
    flags: &[&str],
    profile: &str,
    url: &str,
    name: &str,
) {
    let shots = root().join("target/report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join(name);
    let output = Command::new(chromium)
        .args(flags)
        .arg(profile)
        .args([
            "--window-size=1200,2400",
            &format!("--screenshot={}", shot.display()),
            url,
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "screenshot written"
    );
    eprintln!("screenshot: {}", shot.display());
}
