//! `callqa eval` against labels, `callqa run --overrides`, `callqa diff` between runs.

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::{Array, Int32Array, Int64Array, StringArray};

use super::*;

const LABELS: &str = "fixtures/eval_small/labels.csv";
const OVERRIDES: &str = "fixtures/eval_small/overrides.csv";

/// rule id → (kind, category), read from the bundled pack's TOML.
fn rule_kinds() -> BTreeMap<String, (String, String)> {
    let mut rules = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "scorecard.toml" {
            continue;
        }
        let pack: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for rule in pack["rule"].as_array().unwrap() {
            rules.insert(
                rule["id"].as_str().unwrap().to_string(),
                (
                    rule["kind"].as_str().unwrap().to_string(),
                    rule["category"].as_str().unwrap().to_string(),
                ),
            );
        }
    }
    rules
}

/// The labels of a CSV file as (call, level, key, hit).
fn labels(path: &Path) -> Vec<(String, &'static str, String, bool)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let (level, key) = if r[1].is_empty() {
                ("category", r[2].to_string())
            } else {
                ("rule", r[1].to_string())
            };
            (r[0].to_string(), level, key, &r[3] == "hit")
        })
        .collect()
}

/// (level, key) → [tp, fp, fn, tn], worked out from `fixtures/expected.json` (findings derived
/// by reading each call) rather than from a run.
fn expected_counts(path: &Path) -> BTreeMap<(String, String), [u64; 4]> {
    let kinds = rule_kinds();
    let expected = expected();
    let mut counts: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    for (call, level, key, hit) in labels(path) {
        let found: Vec<&str> = expected["calls"][&call]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let predicted = found.iter().any(|rule| match level {
            "rule" => *rule == key,
            _ => {
                let (kind, category) = &kinds[*rule];
                category == &key && kind != "reward"
            }
        });
        let slot = match (predicted, hit) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        };
        counts.entry((level.to_string(), key)).or_default()[slot] += 1;
    }
    counts
}

fn eval_json(out: &Path, labels: &str, extra: &[&str]) -> (Output, Value) {
    let mut args = vec![
        "eval",
        "--labels",
        labels,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let output = callqa(&args, &[]);
    let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output, json)
}

fn counts_of(report: &Value) -> BTreeMap<(String, String), [u64; 4]> {
    report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let n = |f: &str| m[f].as_u64().unwrap();
            (
                (
                    m["level"].as_str().unwrap().to_string(),
                    m["key"].as_str().unwrap().to_string(),
                ),
                [n("tp"), n("fp"), n("fn"), n("tn")],
            )
        })
        .collect()
}

#[test]
fn eval_counts_agree_with_the_labels_and_the_expected_findings() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let (output, report) = eval_json(out.path(), LABELS, &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let want = expected_counts(&root().join(LABELS));
    assert_eq!(counts_of(&report), want);
    let wrong: u64 = want.values().map(|c| c[1] + c[2]).sum();
    assert!(
        wrong >= 2,
        "the small label set has a false positive and a false negative"
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len() as u64, wrong);
    for e in errors {
        let context = e["context"].as_str().unwrap_or_default();
        assert!(!context.is_empty(), "every error shows its call: {e}");
        if e["error"] == "false_positive" {
            assert!(!e["rule_ids"].as_array().unwrap().is_empty(), "{e}");
        } else {
            assert!(context.contains("agent: "), "a transcript: {e}");
        }
        assert!(e["label"].as_str().unwrap().contains("labels.csv:"), "{e}");
    }
    // The same figures are in eval.parquet, the errors in eval_errors.parquet.
    let mut table = BTreeMap::new();
    for batch in read_table(&out.path().join("eval.parquet")) {
        let level = column::<StringArray>(&batch, "level");
        let key = column::<StringArray>(&batch, "key");
        let n = |name: &str, i: usize| column::<Int64Array>(&batch, name).value(i) as u64;
        for i in 0..batch.num_rows() {
            table.insert(
                (level.value(i).to_string(), key.value(i).to_string()),
                [n("tp", i), n("fp", i), n("fn", i), n("tn", i)],
            );
        }
    }
    assert_eq!(table, want);
    let rows: usize = read_table(&out.path().join("eval_errors.parquet"))
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows as u64, wrong);
}

#[test]
fn eval_prints_a_row_per_rule_and_category_and_every_error() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let output = callqa(
        &[
            "eval",
            "--labels",
            LABELS,
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    for (level, key) in expected_counts(&root().join(LABELS)).keys() {
        assert!(
            text.lines()
                .any(|l| l.starts_with(level.as_str()) && l.contains(key.as_str())),
            "no row for {level} {key}:\n{text}"
        );
    }
    assert!(text.contains("FP ") && text.contains("FN "), "{text}");
    // --max-errors shortens the list; the files keep every error.
    let wrong: u64 = expected_counts(&root().join(LABELS))
        .values()
        .map(|c| c[1] + c[2])
        .sum();
    let output = callqa(
        &[
            "eval",
            "--labels",
            LABELS,
            "--out",
            out.path().to_str().unwrap(),
            "--max-errors",
            "1",
        ],
        &[],
    );
    let short = String::from_utf8(output.stdout).unwrap();
    let listed = short
        .lines()
        .filter(|l| l.starts_with("FP ") || l.starts_with("FN "))
        .count();
    assert_eq!(listed, 1, "{short}");
    assert!(
        short.contains(&format!("… and {} more in eval_errors.parquet", wrong - 1)),
        "{short}"
    );
}

#[test]
fn errors_show_their_calls_masked() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.jsonl");
    let turn = |speaker: &str, text: &str| serde_json::json!({"speaker": speaker, "text": text});
    let call = serde_json::json!({"call_id": "pii-1", "agent_id": "a-1", "language": "zh", "turns": [
        turn("agent", "您好，很高兴为您服务"),
        turn("customer", "我的手机号是13812343186，卡什么时候能解冻？"),
        turn("agent", "您放心，这个问题我们马上解决，会发短信到13812343186。"),
    ]});
    std::fs::write(&calls, call.to_string() + "\n").unwrap();
    let out = dir.path().join("out");
    run_into(&out, &[calls], 1);
    // A false positive (OP-ZH-001 fires) and a false negative (nothing banned is said).
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "call_id,rule_id,category,verdict\npii-1,OP-ZH-001,,no_hit\npii-1,,banned_wording,hit\n",
    )
    .unwrap();
    let output = callqa(
        &[
            "eval",
            "--labels",
            labels.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("FP rule OP-ZH-001 call pii-1"), "{text}");
    assert!(
        text.contains("FN category banned_wording call pii-1"),
        "{text}"
    );
    assert!(!text.contains("13812343186"), "{text}");
    assert!(
        text.matches("[手机号 ****3186]").count() >= 3,
        "masked in the FP context and the FN transcript:\n{text}"
    );
}

#[test]
fn thresholds_fail_the_command_per_category() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let want = expected_counts(&root().join(LABELS));
    let recall = |c: &[u64; 4]| c[0] as f64 / (c[0] + c[2]) as f64;
    let lowest = want
        .iter()
        .filter(|((level, _), c)| level == "category" && c[0] + c[2] > 0)
        .map(|(k, c)| (recall(c), k.1.clone()))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    assert!(lowest.0 < 1.0, "the small set misses something on purpose");
    let below = format!("{}", lowest.0 + 0.01);
    let (output, report) = eval_json(out.path(), LABELS, &["--min-recall", &below]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let short = &report["below_threshold"][0];
    assert_eq!(short["category"], lowest.1.as_str());
    assert_eq!(short["measure"], "recall");
    let at = format!("{}", lowest.0);
    let (output, report) = eval_json(
        out.path(),
        LABELS,
        &["--min-recall", &at, "--min-precision", "0.5"],
    );
    assert_eq!(output.status.code(), Some(0), "{report}");
}

#[test]
fn jsonl_labels_give_the_same_figures_as_csv() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let mut reader = csv::Reader::from_path(root().join(LABELS)).unwrap();
    let headers = reader.headers().unwrap().clone();
    let mut jsonl = String::new();
    for record in reader.records() {
        let record = record.unwrap();
        let object: serde_json::Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| (h.to_string(), Value::from(v)))
            .collect();
        jsonl += &(serde_json::to_string(&object).unwrap() + "\n");
    }
    let path = out.path().join("labels.jsonl");
    std::fs::write(&path, jsonl).unwrap();
    let (_, from_csv) = eval_json(out.path(), LABELS, &[]);
    let (output, from_jsonl) = eval_json(out.path(), path.to_str().unwrap(), &[]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(from_csv["metrics"], from_jsonl["metrics"]);
}

#[test]
fn bad_labels_are_refused_naming_file_and_line() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &fixture_inputs(), 2);
    let cases = [
        (
            "call_id,rule_id,category,verdict\nzh-001,OP-ZH-001,,hit\nnope-1,OP-ZH-001,,hit\nzh-001,NOPE-1,,hit\nzh-002,,nope,hit\n",
            vec![
                "labels.csv:3: call nope-1 is not in this run",
                "labels.csv:4: no rule `NOPE-1`",
                "labels.csv:5: no category `nope`",
            ],
        ),
        (
            "call_id,rule_id,verdict\nzh-001,OP-ZH-001,hit\nzh-001,OP-ZH-001,no_hit\n",
            vec!["labels.csv:3:", "at line 2"],
        ),
        (
            "call_id,rule_id,verdict,comment\nzh-001,OP-ZH-001,hit,x\n",
            vec!["labels.csv:1: unknown column `comment`"],
        ),
    ];
    for (text, wants) in cases {
        let path = out.path().join("labels.csv");
        std::fs::write(&path, text).unwrap();
        let (output, _) = eval_json(out.path(), path.to_str().unwrap(), &[]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for want in wants {
            assert!(stderr.contains(want), "{want} not in:\n{stderr}");
        }
    }
}

/// (call, rule) → (overridden, reviewer, turn_index present) of every overridden finding.
fn overridden_findings(out: &Path) -> BTreeMap<(String, String), (String, String, bool)> {
    let mut found = BTreeMap::new();
    for batch in read_table(&out.join("findings.parquet")) {
        let calls = column::<StringArray>(&batch, "call_id");
        let rules = column::<StringArray>(&batch, "rule_id");
        let status = column::<StringArray>(&batch, "overridden");
        let reviewer = column::<StringArray>(&batch, "override_reviewer");
        let turn = column::<Int32Array>(&batch, "turn_index");
        for i in (0..batch.num_rows()).filter(|&i| status.is_valid(i)) {
            found.insert(
                (calls.value(i).to_string(), rules.value(i).to_string()),
                (
                    status.value(i).to_string(),
                    reviewer.value(i).to_string(),
                    turn.is_valid(i),
                ),
            );
        }
    }
    found
}

fn run_with_overrides(out: &Path, threads: &str) -> Output {
    let output = callqa(
        &[
            "run",
            "--rules",
            "rules",
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
            "--overrides",
            OVERRIDES,
        ],
        &fixture_inputs(),
    );
    assert!(output.status.success(), "{output:?}");
    output
}

#[test]
fn overrides_mark_findings_rescore_and_report_unknown_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, appealed) = (dir.path().join("plain"), dir.path().join("appealed"));
    run_into(&plain, &fixture_inputs(), 2);
    let output = run_with_overrides(&appealed, "2");
    let overrides = labels_like_overrides();
    let marks = overridden_findings(&appealed);
    let before = findings_by_call(&plain);
    let (old, new) = (scores_by_call(&plain), scores_by_call(&appealed));
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(appealed.join("manifest.json")).unwrap())
            .unwrap();
    let mut unmatched = Vec::new();
    for (line, call, rule, hit, reviewer) in &overrides {
        let Some(before_rules) = before.get(call) else {
            unmatched.push(*line);
            continue;
        };
        let had = before_rules.contains(rule);
        let key = (call.clone(), rule.clone());
        match (hit, had) {
            (false, true) => {
                assert_eq!(marks[&key].0, "overturned");
                assert!(new[call].0 > old[call].0, "{call} gains back the points");
                // Coaching no longer shows it as a bad example.
                let coached = |out: &Path| {
                    let args = ["coach", "--out", out.to_str().unwrap(), "--rule", rule];
                    let output = callqa(&args, &[]);
                    String::from_utf8(output.stdout)
                        .unwrap()
                        .contains(call.as_str())
                };
                assert!(coached(&plain) && !coached(&appealed), "{call} {rule}");
            }
            (true, false) => {
                assert_eq!(marks[&key].0, "added");
                assert!(
                    !marks[&key].2,
                    "a reviewer's finding is about the whole call"
                );
                assert!(new[call].0 < old[call].0, "{call} loses points");
            }
            _ => assert!(!marks.contains_key(&key)),
        }
        if let Some(mark) = marks.get(&key) {
            assert_eq!(&mark.1, reviewer);
        }
    }
    assert!(
        !unmatched.is_empty(),
        "the fixture has an override for an unknown call"
    );
    let listed: Vec<u64> = manifest["overrides"]["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["line"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, unmatched);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in unmatched {
        assert!(
            stderr.contains(&format!("overrides.csv:{line}: call")),
            "{stderr}"
        );
    }
    // Untouched calls keep their scores.
    let touched: BTreeSet<&String> = overrides.iter().map(|o| &o.1).collect();
    for (call, score) in &old {
        if !touched.contains(call) {
            assert_eq!(&new[call], score, "{call}");
        }
    }
}

/// The overrides fixture as (line, call, rule, hit, reviewer).
fn labels_like_overrides() -> Vec<(u64, String, String, bool, String)> {
    let mut reader = csv::Reader::from_path(root().join(OVERRIDES)).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r.position().unwrap().line(),
                r[0].to_string(),
                r[1].to_string(),
                &r[2] == "hit",
                r[3].to_string(),
            )
        })
        .collect()
}

#[test]
fn overrides_are_deterministic_and_agents_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, plain) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("p"),
    );
    run_with_overrides(&a, "1");
    run_with_overrides(&b, "8");
    let (fa, fb) = (run_files(&a), run_files(&b));
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between thread counts");
    }
    run_into(&plain, &fixture_inputs(), 2);
    // The diff of the two runs names exactly the overridden calls and their agents' means.
    let d = diff_json(&plain, &a);
    let changed: BTreeSet<&str> = d["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["call_id"].as_str().unwrap())
        .collect();
    let overrides = labels_like_overrides();
    let scored = scores_by_call(&plain);
    let touched: BTreeSet<&str> = overrides
        .iter()
        .map(|o| o.1.as_str())
        .filter(|c| scored.contains_key(*c))
        .collect();
    assert_eq!(changed, touched);
    let mean = |out: &Path, agent: &str| -> f64 {
        for batch in read_table(&out.join("agents.parquet")) {
            let ids = column::<StringArray>(&batch, "agent_id");
            let means = column::<arrow_array::Float64Array>(&batch, "mean_score");
            if let Some(i) = (0..batch.num_rows()).find(|&i| ids.value(i) == agent) {
                return means.value(i);
            }
        }
        panic!("no agent {agent}")
    };
    for s in d["scores"].as_array().unwrap() {
        let agent = s["agent_id"].as_str().unwrap();
        assert_ne!(
            mean(&plain, agent),
            mean(&a, agent),
            "{agent}'s mean follows"
        );
    }
    // eval measures callqa, not the reviewers: overturned findings still count as its
    // predictions and added ones do not, so the figures are the same on both runs.
    let (_, on_plain) = eval_json(&plain, LABELS, &[]);
    let (_, on_appealed) = eval_json(&a, LABELS, &[]);
    assert_eq!(on_plain["metrics"], on_appealed["metrics"]);
}

/// Runs the pack in `pack` on the fixtures into `out`.
fn run_pack_into(pack: &Path, out: &Path) {
    let output = callqa(
        &[
            "run",
            "--rules",
            pack.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &fixture_inputs(),
    );
    assert!(output.status.success(), "{output:?}");
}

/// `callqa diff old new --json`, parsed.
fn diff_json(old: &Path, new: &Path) -> Value {
    let output = callqa(
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A copy of the bundled pack without the rule `id`.
fn pack_without(dir: &Path, id: &str) -> PathBuf {
    let pack = dir.join("rules");
    std::fs::create_dir_all(&pack).unwrap();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .split("[[rule]]")
            .filter(|block| !block.contains(&format!("id = \"{id}\"")))
            .collect();
        std::fs::write(pack.join(path.file_name().unwrap()), kept.join("[[rule]]")).unwrap();
    }
    pack
}

#[test]
fn diff_after_removing_a_rule_shows_its_findings_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    run_into(&old, &fixture_inputs(), 2);
    let pack = pack_without(dir.path(), "OP-ZH-001");
    run_pack_into(&pack, &new);
    let d = diff_json(&old, &new);
    let findings = findings_by_call(&old);
    let with_rule: Vec<&String> = findings
        .iter()
        .filter(|(_, rules)| rules.iter().any(|r| r == "OP-ZH-001"))
        .map(|(c, _)| c)
        .collect();
    let count = findings
        .values()
        .flatten()
        .filter(|r| *r == "OP-ZH-001")
        .count() as u64;
    let rules = d["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "only OP-ZH-001 changed: {rules:?}");
    assert_eq!(rules[0]["rule_id"], "OP-ZH-001");
    assert_eq!(rules[0]["removed"].as_u64(), Some(count));
    assert_eq!(rules[0]["new_findings"].as_u64(), Some(0));
    let removed: Vec<&str> = rules[0]["calls_removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(removed, with_rule);
    let scores = d["scores"].as_array().unwrap();
    assert!(!scores.is_empty());
    for s in scores {
        assert!(removed.contains(&s["call_id"].as_str().unwrap()), "{s}");
        assert!(s["delta"].as_i64().unwrap() > 0, "{s}");
        assert_eq!(
            s["new"].as_i64().unwrap() - s["old"].as_i64().unwrap(),
            s["delta"].as_i64().unwrap()
        );
    }
    // The text form names the rule and the calls.
    let output = callqa(&["diff", old.to_str().unwrap(), new.to_str().unwrap()], &[]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("OP-ZH-001"), "{text}");
    for call in &removed {
        assert!(text.contains(call), "{call}:\n{text}");
    }
    // A run compared with itself has no changes.
    let same = diff_json(&old, &old);
    assert_eq!(same["scores"], Value::Array(vec![]));
    assert_eq!(same["rules"], Value::Array(vec![]));
    assert_eq!(same["agents"], Value::Array(vec![]));
}

#[test]
fn diff_after_adding_a_phrase_shows_new_findings_and_rank_moves() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    run_into(&old, &fixture_inputs(), 2);
    // A phrase every agent's greeting holds: each call loses points, agents may move.
    let pack = dir.path().join("rules");
    std::fs::create_dir_all(&pack).unwrap();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "phrases = [\"马上解决\", ",
            "phrases = [\"马上解决\", \"很高兴为您服务\", ",
        );
        std::fs::write(pack.join(path.file_name().unwrap()), text).unwrap();
    }
    run_pack_into(&pack, &new);
    let d = diff_json(&old, &new);
    let rules = d["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0]["rule_id"], "OP-ZH-001");
    assert!(rules[0]["added"].as_u64().unwrap() > 0);
    assert_eq!(rules[0]["removed"].as_u64(), Some(0));
    for s in d["scores"].as_array().unwrap() {
        assert!(s["delta"].as_i64().unwrap() <= 0, "{s}");
    }
    // Ranks are by mean score: recompute them from the two agents tables.
    let ranks = |out: &Path| -> BTreeMap<String, usize> {
        let mut means = Vec::new();
        for batch in read_table(&out.join("agents.parquet")) {
            let ids = column::<StringArray>(&batch, "agent_id");
            let m = column::<arrow_array::Float64Array>(&batch, "mean_score");
            for i in 0..batch.num_rows() {
                means.push((ids.value(i).to_string(), m.value(i)));
            }
        }
        means.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        means
            .into_iter()
            .enumerate()
            .map(|(i, (id, _))| (id, i + 1))
            .collect()
    };
    let (was, is) = (ranks(&old), ranks(&new));
    let moved: BTreeMap<String, (usize, usize)> = was
        .iter()
        .filter(|(id, r)| is[*id] != **r)
        .map(|(id, r)| (id.clone(), (*r, is[id])))
        .collect();
    let reported: BTreeMap<String, (usize, usize)> = d["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["agent_id"].as_str().unwrap().to_string(),
                (
                    a["old_rank"].as_u64().unwrap() as usize,
                    a["new_rank"].as_u64().unwrap() as usize,
                ),
            )
        })
        .collect();
    assert_eq!(reported, moved);
}

#[test]
fn bad_overrides_stop_the_run_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "call_id,rule_id,verdict\nzh-001,NOPE-1,hit\n",
            "overrides.csv:2: no rule `NOPE-1`",
        ),
        (
            "call_id,rule_id,verdict,reviewer\nzh-001,OP-ZH-001,hit,a\nzh-001,OP-ZH-001,no_hit,b\n",
            "overrides.csv:3: rule OP-ZH-001 of call zh-001 is overridden as no_hit here but hit at line 2",
        ),
        (
            "call_id,rule_id,verdict,why\n",
            "overrides.csv:1: unknown column `why`",
        ),
    ];
    for (text, want) in cases {
        let path = dir.path().join("overrides.csv");
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join("out");
        let output = callqa(
            &[
                "run",
                "--out",
                out.to_str().unwrap(),
                "--overrides",
                path.to_str().unwrap(),
            ],
            &fixture_inputs(),
        );
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(want), "{want} not in {stderr}");
        assert!(!out.exists(), "nothing is written");
    }
}

/// The acceptance bar of the labelled evaluation set (`fixtures/eval/`, 248 calls labelled by
/// reading them): the bundled pack reaches precision ≥ 0.95 and recall ≥ 0.92 in every category.
#[test]
fn bundled_pack_meets_the_bar_on_the_labelled_set() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &[root().join("fixtures/eval/calls.jsonl")], 2);
    let (output, report) = eval_json(
        out.path(),
        "fixtures/eval/labels.csv",
        &["--min-precision", "0.95", "--min-recall", "0.92"],
    );
    assert_eq!(output.status.code(), Some(0), "{report}");
    let categories: Vec<&str> = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["level"] == "category")
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        [
            "compliance",
            "banned_wording",
            "over_promising",
            "empathy",
            "timing"
        ],
        "every category is measured"
    );
    for m in report["metrics"].as_array().unwrap() {
        if m["level"] == "category" {
            assert!(m["labels"].as_u64().unwrap() >= 150, "{m}");
            assert!(m["precision"].as_f64().unwrap() >= 0.95, "{m}");
            assert!(m["recall"].as_f64().unwrap() >= 0.92, "{m}");
        }
    }
}
