//! ASR-noisy twins: fillers, stutter, split words and homophones must not change what the
//! default pack finds (fixtures/asr/, written by fixtures/asr/make_noisy.py).

use super::*;

/// call_id → sorted (rule_id, turn_index, detail) of its findings: what a finding says,
/// leaving out the spans and matched text, which differ between a twin and its original.
fn findings_by_call_and_turn(out: &Path) -> BTreeMap<String, Vec<(String, i32, String)>> {
    let mut found: BTreeMap<String, Vec<(String, i32, String)>> = BTreeMap::new();
    for batch in read_table(&out.join("findings.parquet")) {
        let calls = column::<StringArray>(&batch, "call_id");
        let rules = column::<StringArray>(&batch, "rule_id");
        let turns = column::<Int32Array>(&batch, "turn_index");
        let details = column::<StringArray>(&batch, "detail");
        for i in 0..batch.num_rows() {
            let turn = if turns.is_null(i) { -1 } else { turns.value(i) };
            let detail = if details.is_null(i) {
                String::new()
            } else {
                details.value(i).to_string()
            };
            found.entry(calls.value(i).to_string()).or_default().push((
                rules.value(i).to_string(),
                turn,
                detail,
            ));
        }
    }
    for rows in found.values_mut() {
        rows.sort();
    }
    found
}

#[test]
fn noisy_twins_get_the_same_findings_as_clean_calls() {
    let out = tempfile::tempdir().unwrap();
    let inputs = [
        root().join("fixtures/calls/zh.jsonl"),
        root().join("fixtures/asr/zh_asr.jsonl"),
    ];
    run_into(out.path(), &inputs, 2);
    let found = findings_by_call_and_turn(out.path());
    let scores = scores_by_call(out.path());
    let twins: Vec<&String> = scores.keys().filter(|c| c.starts_with("asr-")).collect();
    assert!(twins.len() >= 20, "{} noisy twins", twins.len());
    let mut mismatches = Vec::new();
    for twin in twins {
        let original = twin.replacen("asr-", "zh-", 1);
        assert!(scores.contains_key(&original), "{twin} has no original");
        if found.get(twin) != found.get(&original) {
            mismatches.push(format!(
                "{twin}: {:?}\n{original}: {:?}",
                found.get(twin),
                found.get(&original)
            ));
        }
        if scores.get(twin) != scores.get(&original) {
            mismatches.push(format!(
                "{twin} score {:?} vs {original} {:?}",
                scores.get(twin),
                scores.get(&original)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn noisy_twins_are_really_noisy() {
    // A twin that equals its original would prove nothing.
    let clean = std::fs::read_to_string(root().join("fixtures/calls/zh.jsonl")).unwrap();
    let noisy = std::fs::read_to_string(root().join("fixtures/asr/zh_asr.jsonl")).unwrap();
    let differing = clean
        .lines()
        .zip(noisy.lines())
        .filter(|(c, n)| c.replace("\"zh-", "\"asr-") != *n)
        .count();
    assert!(differing >= 20, "{differing} twins differ from their call");
    for marker in ["嗯", "那个", "马尚解决", "宝正今天到账", "我我"] {
        assert!(noisy.contains(marker), "no {marker} in the noisy twins");
    }
}

#[test]
fn fuzzy_rules_do_not_fire_on_near_homophones() {
    // Precision guard: other syllables (马山 shān, 宝珍 zhēn, 包装), other words that share a
    // prefix (马上为您, 保证金) and negated promises must not hit the pack's fuzzy rules.
    let out = tempfile::tempdir().unwrap();
    run_into(
        out.path(),
        &[root().join("fixtures/asr/fuzzy_negative.jsonl")],
        1,
    );
    let found = findings_by_call(out.path());
    let scores = scores_by_call(out.path());
    assert_eq!(scores.len(), 5, "every negative call is scored");
    for (call, rules) in &found {
        for fuzzy_rule in ["OP-ZH-001", "OP-ZH-002"] {
            assert!(
                !rules.iter().any(|r| r == fuzzy_rule),
                "{call}: {fuzzy_rule} fired: {rules:?}"
            );
        }
    }
}

#[test]
fn mixed_language_turns_are_counted_per_call() {
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &[root().join("fixtures/asr/mixed.jsonl")], 1);
    let mut got = BTreeMap::new();
    for batch in read_table(&out.path().join("calls.parquet")) {
        let calls = column::<StringArray>(&batch, "call_id");
        let mixed = column::<Int32Array>(&batch, "mixed_turns");
        let words = column::<arrow_array::ListArray>(&batch, "mixed_words");
        for i in 0..batch.num_rows() {
            let list = words.value(i);
            let list = list.as_any().downcast_ref::<StringArray>().unwrap();
            let words: Vec<String> = (0..list.len()).map(|j| list.value(j).to_string()).collect();
            got.insert(calls.value(i).to_string(), (mixed.value(i), words));
        }
    }
    let want = |n: i32, words: &[&str]| (n, words.iter().map(|w| w.to_string()).collect());
    assert_eq!(got["mix-001"], want(2, &["app", "ok", "refund"]));
    assert_eq!(got["mix-002"], want(0, &[]));
    assert_eq!(got["mix-003"], want(0, &[]));
}
