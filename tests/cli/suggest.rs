//! `callqa suggest` finds a phrase planted in confirmed violations that no rule covers.

use super::*;

#[test]
fn suggest_finds_a_planted_uncovered_phrase() {
    let dir = tempfile::tempdir().unwrap();
    // Each call: a violation of a different bundled rule, said together with the planted
    // phrase 包您今天办好 (no rule has it); the violations are confirmed.
    let said = [
        "这个问题我们马上解决",
        "我也没办法",
        "这个不归我们管",
        "这个我不清楚",
        "抱歉让您久等了",
    ];
    let rules = [
        "OP-ZH-001",
        "BAN-ZH-009",
        "BAN-ZH-007",
        "CMP-ZH-007",
        "BAN-ZH-004",
    ];
    let mut calls = String::new();
    let mut verdicts = String::from("call_id,rule_id,turn_index,verdict,reviewer\n");
    for (i, (text, rule)) in said.iter().zip(rules).enumerate() {
        let call = serde_json::json!({
            "call_id": format!("s-{i}"), "agent_id": "a1", "language": "zh",
            "turns": [
                {"speaker": "agent", "text": "您好，很高兴为您服务"},
                {"speaker": "agent", "text": format!("{text}，包您今天办好")},
            ]
        });
        calls += &format!("{call}\n");
        verdicts += &format!("s-{i},{rule},1,confirmed,li\n");
    }
    let input = dir.path().join("calls.jsonl");
    std::fs::write(&input, calls).unwrap();
    std::fs::write(dir.path().join("verdicts.csv"), verdicts).unwrap();
    let run = dir.path().join("run");
    let output = callqa(
        &[
            "run",
            "--quiet",
            "--rules",
            "rules",
            "--out",
            run.to_str().unwrap(),
        ],
        &[input],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let drafts = dir.path().join("suggestions.toml");
    let output = callqa(
        &[
            "suggest",
            "--verdicts",
            dir.path().join("verdicts.csv").to_str().unwrap(),
            "--out",
            drafts.to_str().unwrap(),
            "--run",
            run.to_str().unwrap(),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&drafts).unwrap();
    assert!(text.contains("# phrases = [\"包您今天办好\"]"), "{text}");
    // Phrases the pack already covers are not suggested, and nothing is enabled.
    assert!(!text.contains("马上解决\""), "{text}");
    assert!(
        text.lines().all(|l| l.is_empty() || l.starts_with('#')),
        "{text}"
    );
    // Uncommented, a draft is a loadable rule.
    let pack = tempfile::tempdir().unwrap();
    let draft: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .skip_while(|l| !l.starts_with("[[rule]]"))
        .map(|l| format!("{l}\n"))
        .collect();
    write_pack(pack.path(), &draft);
    let check = callqa(&["rules", "check", pack.path().to_str().unwrap()], &[]);
    assert!(
        check.status.success(),
        "{draft}{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
