//! `similar` rules on the paraphrase set (`fixtures/kinds/similar`): call ids starting `p-` are
//! paraphrases of a rule's examples that should be found, `n-` near-misses that must not be.

use super::*;

/// Precision and recall of the `similar` rules on the paraphrase set, printed per language
/// (`cargo test similar -- --nocapture`); no near-miss may match, and most paraphrases must.
#[test]
fn paraphrases_are_found_and_near_misses_are_not() {
    let dir = root().join("fixtures/kinds/similar");
    let out = tempfile::tempdir().unwrap();
    let output = callqa(
        &[
            "run",
            "--quiet",
            "--rules",
            dir.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[dir.join("calls.jsonl")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let findings = findings_by_call(out.path());
    let calls = std::fs::read_to_string(dir.join("calls.jsonl")).unwrap();
    let ids: Vec<String> = calls
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["call_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for lang in ["zh", "en"] {
        let (mut tp, mut fp, mut positives) = (0, 0, 0);
        for id in ids.iter().filter(|id| id.contains(&format!("-{lang}-"))) {
            let found = findings.get(id).is_some_and(|f| !f.is_empty());
            let paraphrase = id.starts_with("p-");
            positives += usize::from(paraphrase);
            tp += usize::from(found && paraphrase);
            fp += usize::from(found && !paraphrase);
            assert!(
                paraphrase || !found,
                "near-miss {id} matched: {:?}",
                findings[id]
            );
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / positives as f64;
        println!(
            "similar {lang}: precision {precision:.2}, recall {recall:.2} ({tp} of {positives} paraphrases, {fp} near-misses matched)"
        );
        assert!(recall >= 0.8, "{lang}: recall {recall:.2}");
    }
}

/// `rules explain` says what a `similar` rule compares with (its findings are in the kind snapshot).
#[test]
fn explain_describes_a_similar_rule() {
    let dir = root().join("fixtures/kinds/similar");
    let output = callqa(
        &[
            "rules",
            "explain",
            "SIM-ZH-EMPATHY",
            "--rules",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("similar (≥ 0.35) to \"我理解您的心情\""),
        "{text}"
    );
    assert!(
        text.contains("but not turns closer to \"我不理解您的意思\""),
        "{text}"
    );
}

/// `callqa tune` on the paraphrase set's labels: a curve and a suggested threshold per rule.
#[test]
fn tune_prints_the_curve_and_a_suggested_edit_for_each_similar_rule() {
    let dir = root().join("fixtures/kinds/similar");
    let output = callqa(
        &[
            "tune",
            "--labels",
            dir.join("labels.csv").to_str().unwrap(),
            "--rules",
            dir.to_str().unwrap(),
        ],
        &[dir.join("calls.jsonl")],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    for rule in [
        "SIM-ZH-EMPATHY",
        "SIM-ZH-PROMISE",
        "SIM-EN-EMPATHY",
        "SIM-EN-PROMISE",
    ] {
        let section = text.split(&format!("{rule} (")).nth(1).unwrap();
        assert!(
            section.contains("threshold precision recall    F1"),
            "{text}"
        );
        assert!(
            section.contains("rules.toml:")
                && section.contains(&format!("rule {rule}: threshold = "))
                || section.contains("already the best"),
            "{text}"
        );
    }
    // The promise rules separate their paraphrases from every near-miss.
    assert!(
        text.contains("rule SIM-ZH-PROMISE: threshold = 0.45   # F1 1.00"),
        "{text}"
    );
}

/// A labelled call missing from the inputs, or a label for a rule the pack lacks, is an error:
/// counting the call as a score of 0 would bend the curve without a word.
#[test]
fn tune_refuses_labels_it_cannot_place() {
    let dir = root().join("fixtures/kinds/similar");
    let tmp = tempfile::tempdir().unwrap();
    let labels = std::fs::read_to_string(dir.join("labels.csv")).unwrap();
    let cases = [
        (
            format!("{labels}p-zz-99,SIM-ZH-PROMISE,,hit,qa-1,\n"),
            "labelled calls are not in the inputs (first: p-zz-99)",
        ),
        (
            format!("{labels}p-zh-01,SIM-XX-NONE,,hit,qa-1,\n"),
            "rules that are not in the pack: SIM-XX-NONE",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("labels{i}.csv"));
        std::fs::write(&path, text).unwrap();
        let output = callqa(
            &[
                "tune",
                "--labels",
                path.to_str().unwrap(),
                "--rules",
                dir.to_str().unwrap(),
            ],
            &[dir.join("calls.jsonl")],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }
}
