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
    run_into(&run, &[input], 2);
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

/// One call of the complaint fixture: a careful agent (no deduction from the bundled pack)
/// who says `said` in the middle of the call.
fn complaint_fixture_call(id: &str, said: &str) -> String {
    let call = serde_json::json!({
        "call_id": id, "agent_id": "a1", "language": "zh",
        "turns": [
            {"speaker": "agent", "text": "您好，很高兴为您服务，本次通话将被录音"},
            {"speaker": "customer", "text": "请问怎么改密码"},
            {"speaker": "agent", "text": format!("请您放心，{said}")},
            {"speaker": "customer", "text": "好的"},
            {"speaker": "agent", "text": "请您别担心，感谢您的来电，祝您生活愉快"},
        ]
    });
    format!("{call}\n")
}

/// A run of the complaint fixture: 12 calls without a complaint, 4 complaint calls where the
/// agent says the planted 系统正在升级 (no rule has it; one with a mobile number, to be masked),
/// and 3 complaint calls that a rule already penalized (马上解决), whose own phrase 下月再打过来
/// must not be mined. Returns the run folder and the complaints file.
fn complaint_fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let mut calls = String::new();
    for i in 0..12 {
        calls += &complaint_fixture_call(&format!("n-{i:02}"), "我帮您看一下");
    }
    for i in 0..4 {
        let phone = if i == 0 {
            "，有问题打13812345678"
        } else {
            ""
        };
        calls += &complaint_fixture_call(&format!("c-{i}"), &format!("系统正在升级{phone}"));
    }
    for i in 0..3 {
        calls += &complaint_fixture_call(&format!("p-{i}"), "这个问题我们马上解决，下月再打过来");
    }
    let input = dir.join("calls.jsonl");
    std::fs::write(&input, calls).unwrap();
    let run = dir.join("run");
    run_into(&run, &[input], 2);
    let complaints = dir.join("complaints.csv");
    std::fs::write(
        &complaints,
        "call_id,note\nc-0,slow\nc-1,\nc-2,system down\nc-3,\np-0,promise\np-1,\np-2,\n",
    )
    .unwrap();
    (run, complaints)
}

fn suggest_complaints(run: &Path, complaints: &Path, drafts: &Path) -> std::process::Output {
    callqa(
        &[
            "suggest",
            "--complaints",
            complaints.to_str().unwrap(),
            "--out",
            drafts.to_str().unwrap(),
            "--run",
            run.to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn suggest_mines_complaint_calls_no_rule_matched() {
    let dir = tempfile::tempdir().unwrap();
    let (run, complaints) = complaint_fixture(dir.path());
    let drafts = dir.path().join("suggestions.toml");
    let output = suggest_complaints(&run, &complaints, &drafts);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("7 calls in the run, 4 of them with no penalty (mined) against 12"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&drafts).unwrap();
    let phrases: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# phrases = [\""))
        .filter_map(|l| l.strip_suffix("\"]"))
        .collect();
    // (what agents said, suggested): the planted phrase is; no part of what every agent says,
    // nor of what only penalized complaint calls say, is.
    let cases = [
        ("系统正在升级", true),
        ("很高兴为您服务，本次通话将被录音", false),
        ("我帮您看一下", false),
        ("下月再打过来", false),
    ];
    for (said, suggested) in cases {
        let found = phrases.iter().any(|p| said.contains(p));
        assert_eq!(found, suggested, "{said}: {phrases:?}");
    }
    assert_eq!(phrases, ["系统正在升级"]);
    assert!(
        text.contains("from complaints: said in 4 of 4 complaint calls no rule matched (c-0, c-1, c-2, c-3), in 0 of 12 calls without a complaint"),
        "{text}"
    );
    // Example turns are masked; nothing is enabled; uncommented, the draft loads.
    assert!(
        text.contains("[手机号 ****5678]") && !text.contains("13812345678"),
        "{text}"
    );
    assert!(
        text.lines().all(|l| l.is_empty() || l.starts_with('#')),
        "{text}"
    );
    let draft: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .skip_while(|l| !l.starts_with("[[rule]]"))
        .map(|l| format!("{l}\n"))
        .collect();
    let pack = tempfile::tempdir().unwrap();
    write_pack(pack.path(), &draft);
    let check = callqa(&["rules", "check", pack.path().to_str().unwrap()], &[]);
    assert!(check.status.success(), "{draft}{check:?}");
}

#[test]
fn bad_complaints_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (run, _) = complaint_fixture(dir.path());
    let drafts = dir.path().join("suggestions.toml");
    let cases = [
        (
            "bad.csv",
            "call_id,severity\nc-0,high\n",
            "bad.csv:1: unknown column `severity`",
        ),
        (
            "bad.csv",
            "call_id,note\nc-0,\n,lost\n",
            "bad.csv:3: field `call_id` is empty",
        ),
        (
            "bad.csv",
            "call_id\nc-0\n\nzz-9\n",
            "bad.csv:4: call zz-9 is not in the run",
        ),
        (
            "bad.jsonl",
            "{\"call_id\": \"c-0\"}\n{\"call_id\": \"c-1\", \"when\": 1}\n",
            "bad.jsonl:2: unknown field `when`",
        ),
        (
            "bad.txt",
            "call_id\nc-0\n",
            "bad.txt: use a .csv or .jsonl file",
        ),
    ];
    for (name, text, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let output = suggest_complaints(&run, &path, &drafts);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: {stderr}");
    }
    // Neither source: a clear error.
    let output = callqa(
        &[
            "suggest",
            "--out",
            drafts.to_str().unwrap(),
            "--run",
            run.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--verdicts") && stderr.contains("--complaints"),
        "{stderr}"
    );
}
