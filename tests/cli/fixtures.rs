//! The bundled rules on the hand-written fixtures: findings, scores, rejects, determinism.

use super::*;

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
    // hant-NNN is the Traditional twin of zh-NNN, hant2-NNN of zh2-NNN.
    let twins: Vec<(&String, String)> = scores
        .keys()
        .filter_map(|c| {
            let original = c
                .strip_prefix("hant2-")
                .map(|n| format!("zh2-{n}"))
                .or_else(|| c.strip_prefix("hant-").map(|n| format!("zh-{n}")))?;
            Some((c, original))
        })
        .collect();
    assert!(
        twins.len() >= 12,
        "at least 12 Traditional twins, got {}",
        twins.len()
    );
    for (twin, original) in twins {
        assert!(
            scores.contains_key(&original),
            "{twin} has no original {original}"
        );
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

#[test]
fn any_thread_count_writes_identical_files() {
    let runs: Vec<_> = [1, 2, 8]
        .iter()
        .map(|&threads| {
            let out = tempfile::tempdir().unwrap();
            run_into(out.path(), &fixture_inputs(), threads);
            run_files(out.path())
        })
        .collect();
    assert_eq!(runs[0].len(), 6, "{:?}", runs[0].keys());
    for other in &runs[1..] {
        assert_eq!(
            runs[0].keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in &runs[0] {
            assert!(
                bytes == &other[name],
                "{name} differs between thread counts"
            );
        }
    }
}

#[test]
fn one_file_or_many_give_identical_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = String::new();
    for input in fixture_inputs() {
        all += &std::fs::read_to_string(input).unwrap();
    }
    let one = dir.path().join("all.jsonl");
    std::fs::write(&one, &all).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    let many: Vec<PathBuf> = lines
        .chunks(7)
        .enumerate()
        .map(|(i, chunk)| {
            let path = dir.path().join(format!("part-{i:03}.jsonl"));
            std::fs::write(&path, chunk.join("\n")).unwrap();
            path
        })
        .collect();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_into(&a, &[one], 2);
    run_into(&b, &many, 2);
    for table in ["calls.parquet", "findings.parquet", "agents.parquet"] {
        assert!(
            std::fs::read(a.join(table)).unwrap() == std::fs::read(b.join(table)).unwrap(),
            "{table} differs between one input file and {} files",
            many.len()
        );
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

/// Personal data in the calls never appears in findings.parquet: the context, turn text and
/// matched text are masked, and the context points at the match.
#[test]
fn findings_carry_masked_context() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pii.jsonl");
    let call = serde_json::json!({
        "call_id": "pii-1", "agent_id": "a-1", "language": "zh",
        "turns": [
            {"speaker": "customer", "text": "我的手机是13812343186，身份证11010519491231002X"},
            {"speaker": "agent", "text": "好的，卡号6222021234567894的问题我们马上解决"},
            {"speaker": "customer", "text": "邮箱zhang.san@example.com，幺三八幺二三四三幺八六"}
        ]
    });
    std::fs::write(&input, call.to_string()).unwrap();
    let out = dir.path().join("out");
    run_into(&out, &[input], 1);
    let bytes = std::fs::read(out.join("findings.parquet")).unwrap();
    let mut contexts = Vec::new();
    for batch in read_table(&out.join("findings.parquet")) {
        let rule = column::<StringArray>(&batch, "rule_id");
        let context = column::<StringArray>(&batch, "context");
        let start = column::<Int32Array>(&batch, "context_start");
        let end = column::<Int32Array>(&batch, "context_end");
        for i in 0..batch.num_rows() {
            if rule.value(i) == "OP-ZH-001" {
                let chars: Vec<char> = context.value(i).chars().collect();
                let hit: String = chars[start.value(i) as usize..end.value(i) as usize]
                    .iter()
                    .collect();
                contexts.push((context.value(i).to_string(), hit));
            }
            for column_name in ["context", "turn_text", "matched"] {
                let texts = column::<StringArray>(&batch, column_name);
                if texts.is_valid(i) {
                    for secret in [
                        "13812343186",
                        "11010519491231002X",
                        "6222021234567894",
                        "zhang.san",
                        "幺三八幺",
                    ] {
                        assert!(
                            !texts.value(i).contains(secret),
                            "{column_name}: {}",
                            texts.value(i)
                        );
                    }
                }
            }
        }
    }
    assert_eq!(
        contexts,
        [(
            "customer: 我的手机是[手机号 ****3186]，身份证[身份证 ****002X]\nagent: 好的，卡号[银行卡 ****7894]的问题我们马上解决\ncustomer: 邮箱[邮箱 ****@example.com]，[手机号 ****3186]".to_string(),
            "马上解决".to_string()
        )]
    );
    // Parquet stores strings plainly (snappy may compress, but not these short values).
    assert!(!String::from_utf8_lossy(&bytes).contains("13812343186"));
}

/// Sorting through runs on disk (a tiny memory budget) writes the same tables as in memory.
#[test]
fn spilling_to_disk_changes_nothing() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_into(a.path(), &fixture_inputs(), 2);
    let out = b.path().to_str().unwrap();
    let output = callqa(
        &["run", "--quiet", "--sort-budget", "2000", "--out", out],
        &fixture_inputs(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (x, y) = (run_files(a.path()), run_files(b.path()));
    assert_eq!(
        x.keys().collect::<Vec<_>>(),
        y.keys().collect::<Vec<_>>(),
        "no run files left"
    );
    for (name, bytes) in &x {
        assert!(bytes == &y[name], "{name} differs when sorting on disk");
    }
}

/// A night bigger than one table batch (4,096 calls) and the sort budget: the tables are the
/// same at 1 and 2 threads (one thread merges while another writes), and `review_rank` is the
/// order by risk, highest first, ties by `call_id`, though ranks are handed out as the calls
/// come back sorted by `call_id`.
#[test]
fn a_night_of_many_batches_is_ranked_and_written_alike_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let night = dir.path().join("night.jsonl");
    let mut lines = String::new();
    let calls: Vec<Value> = fixture_inputs()
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .filter(|v| v.get("call_id").is_some_and(Value::is_string))
        .collect();
    let total = 10_000;
    for i in 0..total {
        let mut call = calls[i % calls.len()].clone();
        // a shuffled call_id order, and customers calling one to three times
        call["call_id"] = Value::from(format!("n-{:05}", (i * 7_919) % total));
        call["customer_id"] = Value::from(format!("u-{}", i % 4_000));
        lines.push_str(&call.to_string());
        lines.push('\n');
    }
    std::fs::write(&night, lines).unwrap();
    let runs: Vec<_> = [1, 2]
        .iter()
        .map(|&threads| {
            let out = dir.path().join(format!("out-{threads}"));
            let threads = threads.to_string();
            let output = callqa(
                &[
                    "run",
                    "--quiet",
                    "--threads",
                    &threads,
                    "--sort-budget",
                    "400000",
                ],
                &[PathBuf::from("--out"), out.clone(), night.clone()],
            );
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            out
        })
        .collect();
    let (one, two) = (run_files(&runs[0]), run_files(&runs[1]));
    for (name, bytes) in &one {
        assert!(
            bytes == &two[name],
            "{name} differs between 1 and 2 threads"
        );
    }
    let mut ranked: Vec<(i64, i32, String)> = Vec::new();
    for batch in read_table(&runs[1].join("calls.parquet")) {
        let ids = column::<arrow_array::StringArray>(&batch, "call_id");
        let risks = column::<arrow_array::Int32Array>(&batch, "risk");
        let ranks = column::<arrow_array::Int64Array>(&batch, "review_rank");
        for i in 0..batch.num_rows() {
            ranked.push((ranks.value(i), risks.value(i), ids.value(i).to_string()));
        }
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(runs[1].join("manifest.json")).unwrap()).unwrap();
    // the fixtures' deliberately broken calls are rejected, the rest are all ranked
    assert_eq!(
        Some(ranked.len() as u64),
        manifest["counts"]["scored"].as_u64()
    );
    assert!(ranked.len() > 2 * 4_096, "more than two table batches");
    ranked.sort();
    for (position, pair) in ranked.windows(2).enumerate() {
        let ((rank_a, risk_a, id_a), (rank_b, risk_b, id_b)) = (&pair[0], &pair[1]);
        assert_eq!(*rank_a, position as i64 + 1, "ranks are 1..=N without gaps");
        assert!(rank_b == &(rank_a + 1), "ranks are 1..=N without gaps");
        assert!(
            risk_a > risk_b || (risk_a == risk_b && id_a < id_b),
            "{id_a} (risk {risk_a}) is ranked before {id_b} (risk {risk_b})"
        );
    }
}
