//! `report.html`: self-contained, escaped, and what a browser shows.

use super::*;

fn report_run() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut inputs = fixture_inputs();
    inputs.push(root().join("fixtures/report/hostile.jsonl"));
    run_into(&out, &inputs, 2);
    (dir, out)
}

#[test]
fn the_report_is_self_contained_and_escapes_transcripts() {
    let (_dir, out) = report_run();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // Only the page's own sorting script; the transcript's tags arrive as text.
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(!html.contains("<img"), "a transcript tag became markup");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // Nothing is fetched from elsewhere.
    for external in [
        "http://", "https://", "src=\"", "href=\"", "@import", "url(",
    ] {
        assert!(!html.contains(external), "the page refers to {external}");
    }
    // Personal data in the queued transcript is masked.
    assert!(!html.contains("13812343186"));
    assert!(html.contains("[手机号 ****3186]"));
    // One row per agent, and the hostile call is queued with its findings highlighted.
    for agent in ["a-01", "a-05", "a-09"] {
        assert!(html.contains(&format!("<tr><td>{agent}</td>")), "{agent}");
    }
    assert!(html.contains("<b>xss-1</b>"));
    assert!(html.contains(">马上解决</mark>"));
}

/// Renders the report in headless Chromium (Debian's `chromium`, installed by `.ci/run`): the
/// DOM holds the agents table and the chart and no element injected by a transcript, and a
/// screenshot is saved for a person to look at.
#[test]
fn the_report_renders_in_a_browser() {
    let Ok(chromium) = which("chromium") else {
        eprintln!("skipped: no chromium on PATH (apt-get install chromium; .ci/run installs it)");
        return;
    };
    let (dir, out) = report_run();
    let url = format!("file://{}", out.join("report.html").display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let profile = format!("--user-data-dir={}", dir.path().join("profile").display());
    let dom = Command::new(&chromium)
        .args(flags)
        .arg(&profile)
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<table class=\"sortable\">"),
        "agents table missing"
    );
    assert_eq!(dom.matches("<rect class=\"bar\"").count(), 11, "chart bars");
    assert!(!dom.contains("<img"), "an element was injected");
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
    crate::screenshot(&chromium, &flags, &profile, &url, "report.png");
}

fn which(program: &str) -> Result<PathBuf, ()> {
    let output = Command::new("which")
        .arg(program)
        .output()
        .map_err(|_| ())?;
    if !output.status.success() {
        return Err(());
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// `callqa queue` lists the riskiest calls first with their reasons; calls.parquet carries the
/// customer's anger and the words behind it.
#[test]
fn the_queue_ranks_by_risk_and_says_why() {
    use arrow_array::{Float64Array, ListArray};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("queue.jsonl");
    let call = |id: &str, customer: &str, turns: &[(&str, &str)]| {
        let turns: Vec<Value> = turns
            .iter()
            .map(|(s, t)| serde_json::json!({"speaker": s, "text": t}))
            .collect();
        serde_json::json!({"call_id": id, "agent_id": "a-1", "customer_id": customer, "language": "zh", "turns": turns})
            .to_string()
    };
    let lines = [
        call(
            "q-calm",
            "u-1",
            &[
                ("agent", "您好，本次通话将被录音，请问有什么可以帮您"),
                ("customer", "查一下余额"),
                ("agent", "请稍等，感谢您的来电"),
            ],
        ),
        call("q-fatal", "u-2", &[("agent", "您好，这款产品保本保收益")]),
        call(
            "q-angry",
            "u-3",
            &[
                ("agent", "您好"),
                ("customer", "我要投诉你们"),
                ("agent", "请提供卡号"),
            ],
        ),
        call(
            "q-again",
            "u-1",
            &[
                ("agent", "您好，本次通话将被录音，请问有什么可以帮您"),
                ("customer", "还是余额的问题"),
                ("agent", "请稍等，感谢您的来电"),
            ],
        ),
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = dir.path().join("out");
    run_into(&out, &[input], 1);
    let listing = callqa(
        &["queue", "--out", out.to_str().unwrap(), "--top", "4"],
        &[],
    );
    assert!(listing.status.success());
    let text = String::from_utf8_lossy(&listing.stdout);
    let order: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(order[..2], ["q-fatal", "q-angry"], "{text}");
    assert!(text.contains("auto-fail"), "{text}");
    assert!(text.contains("angry customer (投诉), no empathy"), "{text}");
    assert!(text.contains("repeat contact (2 calls)"), "{text}");
    let top1 = callqa(
        &["queue", "--out", out.to_str().unwrap(), "--top", "1"],
        &[],
    );
    assert_eq!(String::from_utf8_lossy(&top1.stdout).lines().count(), 2);
    for batch in read_table(&out.join("calls.parquet")) {
        let ids = column::<StringArray>(&batch, "call_id");
        let anger = column::<Float64Array>(&batch, "customer_anger");
        let terms = column::<ListArray>(&batch, "anger_terms");
        for i in 0..batch.num_rows() {
            let words = terms.value(i);
            let words = words.as_any().downcast_ref::<StringArray>().unwrap();
            let words: Vec<&str> = (0..words.len()).map(|j| words.value(j)).collect();
            match ids.value(i) {
                "q-angry" => {
                    assert_eq!(anger.value(i), 0.8);
                    assert_eq!(words, ["投诉"]);
                }
                _ => {
                    assert_eq!(anger.value(i), 0.0, "{}", ids.value(i));
                    assert!(words.is_empty());
                }
            }
        }
    }
}

#[test]
fn show_prints_a_call_with_findings_in_the_margin() {
    let (_dir, out) = report_run();
    let out = out.to_str().unwrap();
    let shown = callqa(&["show", "xss-1", "--out", out], &[]);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.starts_with("xss-1 · agent a-01 · language zh · score "),
        "{text}"
    );
    assert!(text.contains("这个问题我们«马上解决»，我«保证»"), "{text}");
    assert!(
        text.contains("- OP-ZH-001 (major): 不得承诺“马上解决”等无法兑现的时效"),
        "{text}"
    );
    assert!(
        text.contains("say instead: 我们将在2小时内反馈进展"),
        "{text}"
    );
    assert!(
        text.contains("[手机号 ****3186]") && !text.contains("13812343186"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
    let missing = callqa(&["show", "no-such-call", "--out", out], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no call `no-such-call`"));
}

#[test]
fn coach_exports_masked_good_and_bad_examples() {
    let (_dir, out) = report_run();
    let out = out.to_str().unwrap();
    let bad = callqa(&["coach", "--out", out, "--rule", "OP-ZH-001"], &[]);
    let md = String::from_utf8_lossy(&bad.stdout);
    assert!(bad.status.success());
    assert!(md.contains("### xss-1 · agent a-01 · OP-ZH-001"), "{md}");
    assert!(
        md.contains("> agent: \"><img src=x onerror=alert(1)>这个问题我们马上解决"),
        "{md}"
    );
    assert!(!md.contains("13812343186"), "{md}");
    let good = callqa(
        &[
            "coach",
            "--out",
            out,
            "--rule",
            "EMP-ZH-001",
            "--good",
            "--format",
            "jsonl",
            "--limit",
            "3",
        ],
        &[],
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&good.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for example in &lines {
        assert_eq!(example["kind"], "reward");
        assert_eq!(example["rule_id"], "EMP-ZH-001");
        assert!(example["context"].as_str().unwrap().contains("agent: "));
    }
}

#[test]
fn coach_finds_good_examples_of_requirements_and_responses() {
    let (_dir, out) = report_run();
    let out = out.to_str().unwrap();
    let answered = callqa(
        &[
            "coach",
            "--out",
            out,
            "--rule",
            "RSP-ZH-001",
            "--good",
            "--format",
            "jsonl",
            "--limit",
            "2",
        ],
        &[],
    );
    assert!(
        answered.status.success(),
        "{}",
        String::from_utf8_lossy(&answered.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&answered.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for example in &lines {
        assert_eq!(example["kind"], "response");
        // The example shows the customer's outburst and, in the next line, the agent's answer.
        let context = example["context"].as_str().unwrap();
        assert!(
            context.contains("customer: ") && context.contains("agent: "),
            "{context}"
        );
    }
    let notice = callqa(
        &[
            "coach",
            "--out",
            out,
            "--rule",
            "CMP-ZH-002",
            "--good",
            "--limit",
            "1",
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&notice.stdout).contains("录音"));
    let forbid = callqa(
        &["coach", "--out", out, "--rule", "OP-ZH-001", "--good"],
        &[],
    );
    assert!(forbid.status.success());
    assert!(
        forbid.stdout.is_empty(),
        "a forbid rule has no good examples"
    );
}
