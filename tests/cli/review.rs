//! The review model: `callqa learn` on the fixture verdicts (`fixtures/review/`), `run --model`
//! and `queue --findings`.

use super::*;

fn review_run(out: &Path, model: Option<&Path>) {
    review_run_with(out, model, &[]);
}

/// Runs the review calls with `model` and these override rows (after the header) into
/// `dir/decided`.
fn run_with_overrides(dir: &Path, model: &Path, rows: &str) -> PathBuf {
    let overrides = dir.join("overrides.csv");
    std::fs::write(
        &overrides,
        format!("call_id,rule_id,verdict,reviewer,reason\n{rows}"),
    )
    .unwrap();
    let decided = dir.join("decided");
    review_run_with(
        &decided,
        Some(model),
        &["--overrides", overrides.to_str().unwrap()],
    );
    decided
}

fn review_run_with(out: &Path, model: Option<&Path>, extra: &[&str]) {
    let dir = root().join("fixtures/review");
    let mut args = vec![
        "run",
        "--quiet",
        "--rules",
        "rules",
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(model) = model {
        args.extend(["--model", model.to_str().unwrap()]);
    }
    args.extend_from_slice(extra);
    let output = callqa(&args, &[dir.join("calls.jsonl")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn learn(run: &Path, model: &Path, extra: &[&str]) -> String {
    let verdicts = root().join("fixtures/review/verdicts.csv");
    let mut args = vec![
        "learn",
        "--verdicts",
        verdicts.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--run",
        run.to_str().unwrap(),
    ];
    args.extend(extra);
    let output = callqa(&args, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn training_gives_the_same_model_bytes_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    review_run(&run, None);
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    learn(&run, &a, &["--folds", "0"]);
    learn(&run, &b, &["--folds", "0"]);
    let bytes = std::fs::read(&a).unwrap();
    assert!(!bytes.is_empty());
    assert_eq!(bytes, std::fs::read(&b).unwrap());
}

/// Cross-validation by call: on held-out folds the model puts fewer overturned findings in the
/// first K of the queue than the queue without it (figures printed).
#[test]
fn the_model_improves_the_queue_on_held_out_folds() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    review_run(&run, None);
    for k in ["20", "50"] {
        let stdout = learn(
            &run,
            &dir.path().join("m.json"),
            &["--folds", "5", "--top-k", k],
        );
        println!("{stdout}");
        let total = stdout.lines().find(|l| l.starts_with("total:")).unwrap();
        let numbers: Vec<usize> = total
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let (without, with) = (numbers[0], numbers[2]);
        assert!(with < without, "{total}");
    }
}

/// The same cross-validation on the call queue: among the first K reviewed calls of each
/// held-out fold, the model leaves fewer wasted opens (calls whose every verdict was overturned).
#[test]
fn the_model_wastes_fewer_call_opens_on_held_out_folds() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    review_run(&run, None);
    let stdout = learn(
        &run,
        &dir.path().join("m.json"),
        &["--folds", "5", "--call-top-k", "10,20"],
    );
    println!("{stdout}");
    let totals: Vec<Vec<usize>> = stdout
        .lines()
        .filter(|l| l.starts_with("calls total:"))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .collect();
    assert_eq!(totals.len(), 2, "{stdout}");
    for numbers in totals {
        // "calls total: W wasted opens in the first K calls without the model, M with it"
        let (without, k, with) = (numbers[0], numbers[1], numbers[2]);
        assert!(without > 0, "the fixture has wasted opens in the first {k}");
        assert!(with < without, "first {k}: {without} without, {with} with");
    }
}

/// A run without a model, a model learned on it, and the run scored again with the model.
fn scored_with_a_model(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = dir.join("run");
    review_run(&run, None);
    let model = dir.join("model.json");
    learn(&run, &model, &["--folds", "0"]);
    let scored = dir.join("scored");
    review_run(&scored, Some(&model));
    (run, model, scored)
}

#[test]
fn run_with_a_model_adds_confidence_and_orders_the_finding_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (run, model, scored) = scored_with_a_model(dir.path());
    let mut confidences = Vec::new();
    for batch in read_table(&scored.join("findings.parquet")) {
        let c = column::<arrow_array::Float64Array>(&batch, "confidence");
        let f = column::<StringArray>(&batch, "confidence_features");
        for i in 0..batch.num_rows() {
            assert!(c.is_valid(i) && (0.0..=1.0).contains(&c.value(i)));
            assert!(!f.value(i).is_empty());
            confidences.push(c.value(i));
        }
    }
    assert!(confidences.iter().any(|&c| c < 0.5) && confidences.iter().any(|&c| c > 0.5));
    let queue = callqa(
        &[
            "queue",
            "--findings",
            "--top",
            "400",
            "--out",
            scored.to_str().unwrap(),
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&queue.stdout);
    let listed: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(4).unwrap().parse().unwrap())
        .collect();
    assert_eq!(listed.len(), 400);
    assert!(listed.windows(2).all(|w| w[0] >= w[1]), "{text}");
    // The manifest says which model scored the run; a run without one says nothing.
    let manifest = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
    };
    let recorded = &manifest(&scored)["review_model"];
    assert_eq!(recorded["path"], model.to_str().unwrap());
    let bytes = std::fs::read(&model).unwrap();
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(recorded["sha256"], digest.as_str());
    let other = dir.path().join("other-model.json");
    std::fs::write(&other, [bytes.as_slice(), b" "].concat()).unwrap();
    let rescored = dir.path().join("rescored");
    review_run(&rescored, Some(&other));
    assert_ne!(
        manifest(&rescored)["review_model"]["sha256"],
        recorded["sha256"],
        "the hash follows the file's bytes"
    );
    assert!(manifest(&run).get("review_model").is_none());
    // Without a model the findings have no confidence.
    for batch in read_table(&run.join("findings.parquet")) {
        assert_eq!(
            batch.column_by_name("confidence").unwrap().null_count(),
            batch.num_rows()
        );
    }
}

/// `(call_id, risk, review_rank, risk_reasons)` of every call of a run.
fn call_queue(out: &Path) -> BTreeMap<String, (i32, i64, String)> {
    let mut calls = BTreeMap::new();
    for batch in read_table(&out.join("calls.parquet")) {
        let ids = column::<StringArray>(&batch, "call_id");
        let risks = column::<Int32Array>(&batch, "risk");
        let ranks = column::<arrow_array::Int64Array>(&batch, "review_rank");
        let reasons = column::<StringArray>(&batch, "risk_reasons");
        for i in 0..batch.num_rows() {
            let row = (risks.value(i), ranks.value(i), reasons.value(i).to_string());
            calls.insert(ids.value(i).to_string(), row);
        }
    }
    calls
}

/// With a model the call queue weighs each call's findings by their confidence: the scam calls
/// whose fatal finding only quotes the fraudster (reviewers overturn it) fall below the ones
/// where the agent really asked for the code, and the reasons say why. A reviewer's override
/// beats the model: confirmed counts in full, overturned not at all.
#[test]
fn the_call_queue_weighs_findings_by_the_models_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let (run, model, scored) = scored_with_a_model(dir.path());
    let (plain, weighed) = (call_queue(&run), call_queue(&scored));
    let fatal_turn = |call: &str| -> String {
        let line = std::fs::read_to_string(root().join("fixtures/review/calls.jsonl"))
            .unwrap()
            .lines()
            .find(|l| l.contains(&format!("\"{call}\"")))
            .unwrap()
            .to_string();
        let call: serde_json::Value = serde_json::from_str(&line).unwrap();
        call["turns"][2]["text"].as_str().unwrap().to_string()
    };
    let scams: Vec<&String> = plain
        .iter()
        .filter(|(_, (_, _, reasons))| reasons.starts_with("auto-fail"))
        .map(|(id, _)| id)
        .collect();
    assert!(scams.len() >= 40, "{scams:?}");
    let (quoted, asked): (Vec<&String>, Vec<&String>) =
        scams.iter().partition(|c| fatal_turn(c).contains("刚才说"));
    let rank = |c: &str| weighed[c].1;
    let lowest_asked = asked.iter().map(|c| rank(c)).max().unwrap();
    let highest_quoted = quoted.iter().map(|c| rank(c)).min().unwrap();
    assert!(lowest_asked < highest_quoted, "{weighed:?}");
    for call in &scams {
        let (risk, _, reasons) = &weighed[call.as_str()];
        assert!(
            reasons.starts_with("auto-fail (confidence 0."),
            "{call}: {reasons}"
        );
        assert!(*risk < 700, "{call}: {risk}");
    }
    // Without a model every scam call is 700, ranked by id; with one, by the model.
    assert!(scams.iter().all(|c| plain[c.as_str()].0 == 700));
    // A reviewer confirms a quoted call's fatal finding and overturns an asked one's.
    let (confirm, overturn) = (quoted[0], asked[0]);
    let decided = run_with_overrides(
        dir.path(),
        &model,
        &format!(
            "{confirm},CMP-ZH-008,hit,qa-li,heard it\n{overturn},CMP-ZH-008,no_hit,qa-li,a quote\n"
        ),
    );
    let decided = call_queue(&decided);
    assert_eq!(
        decided[confirm.as_str()],
        (700, 1, "auto-fail (confirmed by a reviewer)".to_string())
    );
    assert!(
        !decided[overturn.as_str()].2.contains("auto-fail"),
        "{decided:?}"
    );
}

fn finding_queue(out: &Path) -> Vec<(String, String)> {
    let queue = callqa(
        &[
            "queue",
            "--findings",
            "--top",
            "100000",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(queue.status.success(), "{queue:?}");
    String::from_utf8_lossy(&queue.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let mut words = l.split_whitespace();
            let call = words.nth(1).unwrap().to_string();
            (call, words.next().unwrap().to_string())
        })
        .collect()
}

/// Findings a reviewer already decided (overturned by `--overrides`) leave the finding queue.
#[test]
fn the_finding_queue_leaves_out_what_reviewers_decided() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model, scored) = scored_with_a_model(dir.path());
    let before = finding_queue(&scored);
    let (call, rule) = before[0].clone();
    let decided = run_with_overrides(
        dir.path(),
        &model,
        &format!("{call},{rule},no_hit,qa-li,appeal\n"),
    );
    let after = finding_queue(&decided);
    let gone = before
        .iter()
        .filter(|f| **f == (call.clone(), rule.clone()))
        .count();
    assert!(gone >= 1);
    assert_eq!(
        after.len(),
        before.len() - gone,
        "only the overturned findings left"
    );
    assert!(!after.contains(&(call, rule)));
}

#[test]
fn a_bad_verdict_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    review_run(&run, None);
    let verdicts = dir.path().join("v.csv");
    // Lines are the file's own, after a blank line too; a contradiction names both lines.
    let cases = [
        (
            "call_id,rule_id,turn_index,verdict,reviewer\nr-000,OP-ZH-001,2,maybe,li\n",
            "v.csv:2: field `verdict`",
        ),
        (
            "call_id,rule_id,turn_index,verdict,reviewer\nr-000,OP-ZH-001,2,confirmed,li\n\nr-000,OP-ZH-001,3,maybe,li\n",
            "v.csv:4: field `verdict`",
        ),
        (
            "call_id,rule_id,turn_index,verdict,reviewer\nr-000,OP-ZH-001,2,confirmed,li\nr-000,OP-ZH-001,2,overturned,wang\n",
            "v.csv:3: this verdict on r-000 OP-ZH-001 contradicts line 2",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&verdicts, text).unwrap();
        let output = callqa(
            &[
                "learn",
                "--verdicts",
                verdicts.to_str().unwrap(),
                "--out",
                dir.path().join("m.json").to_str().unwrap(),
                "--run",
                run.to_str().unwrap(),
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }
}

/// Without `--model` the call queue (`risk`, `review_rank`, `risk_reasons`) stays exactly what
/// it was before the model could weigh it: pinned for the fixture calls, the review calls, and
/// the fixture calls with reviewers' overrides.
#[test]
fn the_call_queue_without_a_model_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let runs: [(&str, Vec<PathBuf>, &[&str]); 3] = [
        ("fixtures", fixture_inputs(), &[]),
        (
            "review",
            vec![root().join("fixtures/review/calls.jsonl")],
            &[],
        ),
        (
            "overrides",
            fixture_inputs(),
            &["--overrides", "fixtures/eval_small/overrides.csv"],
        ),
    ];
    let mut pinned = String::new();
    for (name, inputs, extra) in runs {
        let out = dir.path().join(name);
        let mut args = vec!["run", "--quiet", "--rules", "rules", "--out"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(extra);
        let output = callqa(&args, &inputs);
        // The fixture inputs include broken records: exit code 1 still writes the run.
        assert!(out.join("manifest.json").exists(), "{output:?}");
        let queue = callqa(
            &["queue", "--top", "100000", "--out", out.to_str().unwrap()],
            &[],
        );
        assert!(queue.status.success(), "{queue:?}");
        pinned += &format!("== {name}\n{}", String::from_utf8_lossy(&queue.stdout));
    }
    insta::assert_snapshot!("call_queue_without_a_model", pinned);
}
