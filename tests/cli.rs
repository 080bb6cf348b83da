//! Integration tests: the real `callqa` binary on the bundled rules and `fixtures/`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::{Array, BooleanArray, Int32Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_inputs() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/calls"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    inputs.sort();
    inputs.push(root().join("fixtures/broken/broken.jsonl"));
    inputs
}

fn callqa(args: &[&str], extra: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callqa"))
        .current_dir(root())
        .args(args)
        .args(extra)
        .output()
        .expect("the callqa binary runs")
}

/// Runs `callqa run` on `inputs` into a new temporary folder.
fn run_into(out: &Path, inputs: &[PathBuf], threads: usize) -> Output {
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

fn read_table(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("column {name} has another type"))
}

/// call_id → sorted rule ids of its findings, read back from findings.parquet.
fn findings_by_call(out: &Path) -> BTreeMap<String, Vec<String>> {
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
fn scores_by_call(out: &Path) -> BTreeMap<String, (i32, bool)> {
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

fn expected() -> Value {
    let text = std::fs::read_to_string(root().join("fixtures/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn fixtures_give_the_expected_findings_and_scores() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let found = findings_by_call(out.path());
    let scores = scores_by_call(out.path());
    let expected = expected();
    let calls = expected["calls"].as_object().unwrap();
    assert!(calls.len() >= 40, "at least 40 fixture calls");
    let mut mismatches = Vec::new();
    for (call_id, want) in calls {
        let mut want_rules: Vec<String> = want["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        want_rules.sort();
        let got_rules = found.get(call_id).cloned().unwrap_or_default();
        if got_rules != want_rules {
            mismatches.push(format!(
                "{call_id}: findings {got_rules:?}, expected {want_rules:?}"
            ));
        }
        let want_score = (
            want["score"].as_i64().unwrap() as i32,
            want["auto_fail"].as_bool().unwrap(),
        );
        match scores.get(call_id) {
            Some(got) if *got == want_score => {}
            got => mismatches.push(format!("{call_id}: score {got:?}, expected {want_score:?}")),
        }
    }
    let unexpected: Vec<&String> = scores.keys().filter(|c| !calls.contains_key(*c)).collect();
    assert!(
        unexpected.is_empty(),
        "scored calls not in expected.json: {unexpected:?}"
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn broken_records_are_rejected_with_line_and_reason() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let rejects: Vec<Value> = std::fs::read_to_string(out.path().join("rejects.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want = expected()["rejects"].as_array().unwrap().clone();
    assert_eq!(rejects.len(), want.len(), "rejects: {rejects:#?}");
    for (got, want) in rejects.iter().zip(&want) {
        let file = got["file"].as_str().unwrap();
        assert!(
            file.ends_with(want["file"].as_str().unwrap()),
            "{got} vs {want}"
        );
        assert_eq!(got["line"], want["line"], "{got} vs {want}");
        let reason = got["reason"].as_str().unwrap().to_lowercase();
        assert!(
            reason.contains(want["reason"].as_str().unwrap()),
            "{got} vs {want}"
        );
        assert!(got["raw"].is_string(), "the rejected line is kept: {got}");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("manifest.json")).unwrap())
            .unwrap();
    let counts = &manifest["counts"];
    assert_eq!(counts["rejected"].as_u64().unwrap(), want.len() as u64);
    assert_eq!(
        counts["read"].as_u64().unwrap(),
        counts["scored"].as_u64().unwrap() + counts["rejected"].as_u64().unwrap()
    );
    let duplicates = want
        .iter()
        .filter(|w| w["reason"] == "duplicate call_id")
        .count();
    assert_eq!(counts["duplicates"].as_u64().unwrap(), duplicates as u64);
    assert_eq!(manifest["status"], "complete");
}

#[test]
fn traditional_twins_get_the_same_findings() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let found = findings_by_call(out.path());
    let scores = scores_by_call(out.path());
    let twins: Vec<&String> = scores.keys().filter(|c| c.starts_with("hant-")).collect();
    assert!(
        twins.len() >= 8,
        "at least 8 Traditional twins, got {}",
        twins.len()
    );
    for twin in twins {
        let original = twin.replace("hant-", "zh-");
        assert_eq!(
            found.get(twin),
            found.get(&original),
            "{twin} vs {original}"
        );
        assert_eq!(
            scores.get(twin),
            scores.get(&original),
            "{twin} vs {original}"
        );
    }
}

/// Every file of a run, with the manifest's timing (wall clock) removed.
fn run_files(out: &Path) -> BTreeMap<String, Vec<u8>> {
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

#[test]
fn one_and_two_threads_write_identical_files() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    run_into(one.path(), &fixture_inputs(), 1);
    run_into(two.path(), &fixture_inputs(), 2);
    let (a, b) = (run_files(one.path()), run_files(two.path()));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert_eq!(a.len(), 5, "{:?}", a.keys());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs between 1 and 2 threads");
    }
}

#[test]
fn gzip_and_zstd_inputs_give_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let plain: Vec<PathBuf> = fixture_inputs()
        .into_iter()
        .filter(|p| !p.ends_with("broken.jsonl"))
        .collect();
    let mut compressed = Vec::new();
    for (i, path) in plain.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let target = if i % 2 == 0 {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut enc, &bytes).unwrap();
            (
                dir.path().join(format!("{i}.jsonl.gz")),
                enc.finish().unwrap(),
            )
        } else {
            let zst = zstd::encode_all(&bytes[..], 3).unwrap();
            (dir.path().join(format!("{i}.jsonl.zst")), zst)
        };
        std::fs::write(&target.0, target.1).unwrap();
        compressed.push(target.0);
    }
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_into(&a, &plain, 2);
    run_into(&b, &compressed, 2);
    for table in ["calls.parquet", "findings.parquet", "agents.parquet"] {
        assert!(
            std::fs::read(a.join(table)).unwrap() == std::fs::read(b.join(table)).unwrap(),
            "{table} differs for compressed input"
        );
    }
}

#[test]
fn bundled_rule_examples_all_pass() {
    let output = callqa(&["rules", "test", "rules"], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn bundled_pack_covers_every_category_in_both_languages() {
    let output = callqa(&["rules", "check", "rules"], &[]);
    assert!(output.status.success());
    let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
    let mut languages = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let pack: toml::Table = toml::from_str(&text).unwrap();
        for rule in pack["rule"].as_array().unwrap() {
            *per_category
                .entry(rule["category"].as_str().unwrap().to_string())
                .or_default() += 1;
            languages.insert((
                rule["category"].as_str().unwrap().to_string(),
                rule.get("lang")
                    .and_then(|l| l.as_str())
                    .unwrap_or("any")
                    .to_string(),
            ));
        }
    }
    assert!(
        per_category.values().sum::<usize>() >= 40,
        "{per_category:?}"
    );
    for category in ["compliance", "banned_wording", "over_promising", "empathy"] {
        assert!(
            per_category.get(category).is_some_and(|&n| n >= 5),
            "{per_category:?}"
        );
        for lang in ["zh", "en"] {
            assert!(
                languages.contains(&(category.to_string(), lang.to_string())),
                "no {lang} rule in {category}"
            );
        }
    }
}

fn write_pack(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pack.toml"), text).unwrap();
}

#[test]
fn a_bad_rule_pack_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_pack(
        &rules,
        "[[rule]]\nid = \"X-1\"\nkind = \"forbid\"\ncategory = \"compliance\"\nseverity = \"major\"\nmessage = \"m\"\nregex = ['(']\nexamples.match = [\"a\"]\nexamples.no_match = [\"b\"]\n",
    );
    let out = dir.path().join("out");
    let output = callqa(
        &[
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &fixture_inputs(),
    );
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("pack.toml:7: rule X-1: the regex does not compile"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written for a bad pack");
    let check = callqa(&["rules", "check", rules.to_str().unwrap()], &[]);
    assert_eq!(check.status.code(), Some(3));
}

#[test]
fn failing_examples_make_rules_test_fail() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(
        dir.path(),
        "[[rule]]\nid = \"X-1\"\nkind = \"forbid\"\ncategory = \"compliance\"\nseverity = \"major\"\nmessage = \"m\"\nphrases = [\"保证\"]\nexamples.match = [\"我保证\"]\nexamples.no_match = [\"保证金\"]\n",
    );
    let output = callqa(&["rules", "test", dir.path().to_str().unwrap()], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("rule X-1: examples.no_match was detected: \"保证金\""),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}

#[test]
fn a_missing_input_exits_4_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = callqa(
        &[
            "run",
            "--out",
            out.to_str().unwrap(),
            "fixtures/no-such-file.jsonl",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file.jsonl"));
    assert!(!out.exists());
}

#[test]
fn an_unwritable_output_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let out = blocker.join("out");
    let output = callqa(&["run", "--out", out.to_str().unwrap()], &fixture_inputs());
    assert_eq!(output.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&output.stderr).contains("file/out"));
}

#[test]
fn a_rerun_replaces_the_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    run_into(dir.path(), &fixture_inputs(), 2);
    let inputs = fixture_inputs();
    run_into(dir.path(), &inputs[..1], 2);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 1);
    let scored = manifest["counts"]["scored"].as_u64().unwrap();
    assert_eq!(scores_by_call(dir.path()).len() as u64, scored);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left: {leftovers:?}");
}

#[test]
fn agents_table_aggregates_the_expected_call_scores() {
    use arrow_array::{Float64Array, Int64Array};
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    // agent → scores, from the hand-derived expectations and the agent of each fixture call.
    let expected = expected();
    let mut want: BTreeMap<String, Vec<(i64, bool)>> = BTreeMap::new();
    let mut agent_of = BTreeMap::new();
    for path in fixture_inputs() {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            if let Ok(record) = serde_json::from_str::<Value>(line)
                && let (Some(call), Some(agent)) =
                    (record["call_id"].as_str(), record["agent_id"].as_str())
            {
                agent_of
                    .entry(call.to_string())
                    .or_insert(agent.to_string());
            }
        }
    }
    for (call_id, call) in expected["calls"].as_object().unwrap() {
        want.entry(agent_of[call_id].clone()).or_default().push((
            call["score"].as_i64().unwrap(),
            call["auto_fail"].as_bool().unwrap(),
        ));
    }
    let batches = read_table(&out.path().join("agents.parquet"));
    let mut seen = 0;
    for batch in &batches {
        let agents = column::<StringArray>(batch, "agent_id");
        let calls = column::<Int64Array>(batch, "calls");
        let mean = column::<Float64Array>(batch, "mean_score");
        let p10 = column::<Int32Array>(batch, "p10_score");
        let auto_fail_rate = column::<Float64Array>(batch, "auto_fail_rate");
        for i in 0..batch.num_rows() {
            let scores = &want[agents.value(i)];
            let n = scores.len() as f64;
            let mut sorted: Vec<i64> = scores.iter().map(|s| s.0).collect();
            sorted.sort();
            let rank = (scores.len() * 10).div_ceil(100).max(1);
            assert_eq!(calls.value(i), scores.len() as i64);
            assert_eq!(
                mean.value(i),
                scores.iter().map(|s| s.0).sum::<i64>() as f64 / n
            );
            assert_eq!(p10.value(i) as i64, sorted[rank - 1]);
            let fails = scores.iter().filter(|s| s.1).count() as f64;
            assert_eq!(auto_fail_rate.value(i), fails / n);
            seen += 1;
        }
    }
    assert_eq!(seen, want.len(), "one row per agent");
}

/// Findings and scores of one output folder as text, for snapshots.
fn render_run(out: &Path) -> String {
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

/// One fixture per rule kind (and one for the condition modifiers): its own examples pass, and
/// its calls give the reviewed findings in `tests/snapshots/`.
#[test]
fn each_rule_kind_on_its_fixture() {
    for kind in [
        "forbid",
        "require",
        "reward",
        "sequence",
        "response",
        "timing",
        "modifiers",
    ] {
        let dir = root().join("fixtures/kinds").join(kind);
        let rules = dir.to_str().unwrap();
        let test = callqa(&["rules", "test", rules], &[]);
        assert!(
            test.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&test.stdout)
        );
        let out = tempfile::tempdir().unwrap();
        let output = callqa(
            &[
                "run",
                "--quiet",
                "--rules",
                rules,
                "--out",
                out.path().to_str().unwrap(),
            ],
            &[dir.join("calls.jsonl")],
        );
        assert!(
            output.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        insta::assert_snapshot!(format!("kind_{kind}"), render_run(out.path()));
    }
}

/// The rule examples in the documentation are real: they load and pass their own examples.
#[test]
fn documented_rules_load_and_pass() {
    for doc in ["README.md", "docs/rules.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let rules: Vec<&str> = text
            .split("```toml\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .filter(|block| block.trim_start().starts_with("[[rule]]"))
            .collect();
        assert!(!rules.is_empty(), "{doc} has rule examples");
        let dir = tempfile::tempdir().unwrap();
        write_pack(dir.path(), &rules.join("\n"));
        let output = callqa(&["rules", "test", dir.path().to_str().unwrap()], &[]);
        assert!(
            output.status.success(),
            "{doc}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn rules_check_reports_every_problem_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(
        dir.path(),
        r#"[[rule]]
id = "SEQ-1"
kind = "sequence"
category = "compliance"
severity = "major"
message = "m"
steps = [{ phrases = ["a"] }]
examples.match = ["a"]
examples.no_match = ["b"]

[[rule]]
id = "TIM-1"
kind = "timing"
category = "compliance"
severity = "minor"
message = "m"
metric = "response_gap"
max = 7
phrases = ["x"]
examples.match = ["a"]
examples.no_match = ["b"]

[[rule]]
id = "RSP-1"
kind = "response"
category = "empathy"
severity = "major"
message = "m"
trigger = { phrases = ["投诉"], colour = "red" }
response = { phrases = ["理解"] }
examples.match = ["a"]
examples.no_match = ["b"]
"#,
    );
    let output = callqa(&["rules", "check", dir.path().to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A TOML-level error (unknown key) stops that file before the rule checks run.
    assert!(
        stderr.contains("pack.toml:29: rule RSP-1: unknown field `colour`"),
        "{stderr}"
    );
    let fixed = std::fs::read_to_string(dir.path().join("pack.toml"))
        .unwrap()
        .replace(", colour = \"red\"", "");
    std::fs::write(dir.path().join("pack.toml"), fixed).unwrap();
    let output = callqa(&["rules", "check", dir.path().to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the rule pack has 2 problems"), "{stderr}");
    assert!(
        stderr.contains("pack.toml:7: rule SEQ-1: a `sequence` needs at least two `steps`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pack.toml:12: rule TIM-1: `phrases/regex/exclude/scope/negation/near/all/any/not` is not used by `timing` rules"),
        "{stderr}"
    );
}

#[test]
fn rules_list_and_explain_describe_the_bundled_pack() {
    let list = callqa(&["rules", "list"], &[]);
    let stdout = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success());
    let rule_rows = stdout.lines().count() - 1;
    let check = String::from_utf8_lossy(&callqa(&["rules", "check"], &[]).stdout).to_string();
    assert!(
        check.contains(&format!(": {rule_rows} rules in ")),
        "{check}"
    );
    let explain = callqa(&["rules", "explain", "OP-ZH-001"], &[]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(explain.status.success());
    assert!(
        text.starts_with("OP-ZH-001 — forbid rule, category over_promising"),
        "{text}"
    );
    assert!(text.contains("examples that must match:"), "{text}");
    let missing = callqa(&["rules", "explain", "NO-SUCH-RULE"], &[]);
    assert_eq!(missing.status.code(), Some(2));
}
