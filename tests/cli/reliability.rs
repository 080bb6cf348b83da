//! Nothing lost, nothing half-written.

use std::io::Write;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::*;

/// The fixture calls again under new ids, `copies` times over.
fn good_lines(copies: usize) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("fixtures/calls/zh.jsonl")).unwrap()
        + &std::fs::read_to_string(root().join("fixtures/calls/en.jsonl")).unwrap();
    let mut lines = Vec::new();
    for copy in 0..copies {
        for line in text.lines() {
            let mut record: Value = serde_json::from_str(line).unwrap();
            let id = format!("{}-{copy}", record["call_id"].as_str().unwrap());
            record["call_id"] = Value::String(id);
            lines.push(record.to_string());
        }
    }
    lines
}

/// One broken (or extreme) line of each kind, and the reason `rejects.jsonl` must give
/// (`None`: the line is valid and must be scored).
fn extreme_lines(good: &str) -> Vec<(Vec<u8>, Option<&'static str>)> {
    let call = |turns: Value| {
        serde_json::json!({"call_id": format!("x-{}", turns.to_string().len()), "agent_id": "a-x", "turns": turns})
            .to_string()
            .into_bytes()
    };
    let turn = |text: String| serde_json::json!({"speaker": "agent", "text": text});
    let many: Vec<Value> = (0..100_000).map(|i| turn(format!("第{i}句"))).collect();
    let mut invalid_utf8 = good.replace("a-01", "a-z").into_bytes();
    let at = invalid_utf8.len() / 2;
    invalid_utf8[at] = 0xff;
    let mut raw_nul = good.replace("a-01", "a-n").into_bytes();
    let at = raw_nul.len() / 3 * 2;
    raw_nul.insert(at, 0);
    vec![
        (b"{not json at all".to_vec(), Some("invalid json")),
        (good.as_bytes()[..good.len() / 2].to_vec(), Some("invalid json")),
        (invalid_utf8, Some("not valid utf-8")),
        (br#"{"call_id":"m-1","turns":[{"speaker":"agent","text":"x"}]}"#.to_vec(), Some("missing field `agent_id`")),
        (br#"{"call_id":"m-2","agent_id":"a","turns":5}"#.to_vec(), Some("wrong field type")),
        (br#"{"call_id":"m-3","agent_id":"a","turns":[{"speaker":"agent","text":"x","start_ms":"0"}]}"#.to_vec(), Some("wrong field type")),
        (br#"{"call_id":"m-4","agent_id":"a","turns":[]}"#.to_vec(), Some("no turns")),
        (raw_nul, Some("invalid json")),
        (br#"{"call_id":"nul-ok","agent_id":"a","turns":[{"speaker":"agent","text":"a\u0000b"}]}"#.to_vec(), None),
        (call(Value::Array(vec![turn("您好".repeat(10 << 20 >> 3))])), None),
        (call(Value::Array(many)), Some("too many turns")),
    ]
}

#[test]
fn every_record_is_scored_or_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_lines(4);
    let extreme = extreme_lines(&good[0]);
    let path = dir.path().join("mixed.jsonl");
    let mut file = std::io::BufWriter::new(File::create(&path).unwrap());
    file.write_all(b"\xEF\xBB\xBF").unwrap();
    // Spread the extreme lines through the good ones; every third good line ends in CRLF.
    let mut expected_rejects = Vec::new();
    let mut line_no = 0u64;
    let step = good.len() / extreme.len();
    let mut extreme_iter = extreme.iter();
    for (i, line) in good.iter().enumerate() {
        line_no += 1;
        file.write_all(line.as_bytes()).unwrap();
        file.write_all(if i % 3 == 0 { b"\r\n" } else { b"\n" })
            .unwrap();
        if i % step == step - 1
            && let Some((bytes, reason)) = extreme_iter.next()
        {
            line_no += 1;
            file.write_all(bytes).unwrap();
            file.write_all(b"\n").unwrap();
            if let Some(reason) = reason {
                expected_rejects.push((line_no, *reason));
            }
        }
    }
    drop(file);
    let broken = expected_rejects.len() as f64 / line_no as f64;
    assert!((0.04..=0.06).contains(&broken), "{broken}");
    let out = dir.path().join("out");
    run_into(&out, &[path], 2);
    let rejects: Vec<Value> = std::fs::read_to_string(out.join("rejects.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(u64, String)> = rejects
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_lowercase(),
            )
        })
        .collect();
    assert_eq!(got.len(), expected_rejects.len(), "{got:?}");
    for ((line, reason), (want_line, want)) in got.iter().zip(&expected_rejects) {
        assert_eq!(line, want_line, "{reason}");
        assert!(reason.contains(want), "line {line}: {reason} (want {want})");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let counts = &manifest["counts"];
    assert_eq!(counts["read"].as_u64(), Some(line_no));
    assert_eq!(
        counts["rejected"].as_u64(),
        Some(expected_rejects.len() as u64)
    );
    assert_eq!(
        counts["scored"].as_u64(),
        Some(line_no - expected_rejects.len() as u64)
    );
    assert_eq!(
        scores_by_call(&out).len() as u64,
        counts["scored"].as_u64().unwrap()
    );
}

/// Checks that `out` holds one complete run: every output the manifest lists has its size and
/// hash, and the tables read back.
fn assert_complete_run(out: &Path) {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
            .unwrap_or_else(|e| panic!("{}: no valid manifest: {e}", out.display()));
    for entry in manifest["outputs"].as_array().unwrap() {
        let path = out.join(entry["file"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            bytes.len() as u64,
            entry["bytes"].as_u64().unwrap(),
            "{path:?}"
        );
        let hash: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, entry["sha256"].as_str().unwrap(), "{path:?} is torn");
    }
    assert_eq!(
        scores_by_call(out).len() as u64,
        manifest["counts"]["scored"].as_u64().unwrap()
    );
}

/// SIGKILL at spread-out moments of a run over a folder that holds a previous run: the folder
/// always holds the previous run, the new one, or nothing — and a rerun then succeeds.
#[test]
fn killed_runs_leave_a_complete_run_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("calls.jsonl");
    std::fs::write(&input, good_lines(60).join("\n")).unwrap();
    let out = dir.path().join("out");
    let started = Instant::now();
    run_into(&out, std::slice::from_ref(&input), 2);
    let full = started.elapsed();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_callqa"))
            .current_dir(root())
            .args(["run", "--quiet", "--out", out.to_str().unwrap()])
            .arg(&input)
            .spawn()
            .unwrap()
    };
    // Kill at spread-out fractions of the run time until 20 kills have landed during a run;
    // when a run finished before its kill, the estimate of the run time shrinks.
    let (mut mid_run, mut absent, mut tries) = (0, 0, 0);
    let mut estimate = full.as_secs_f64();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    while mid_run < 20 {
        tries += 1;
        assert!(
            tries <= 80,
            "only {mid_run} kills landed during a run in 80 tries"
        );
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let fraction = (seed >> 33) as f64 / (1u64 << 31) as f64;
        let mut child = run();
        std::thread::sleep(Duration::from_secs_f64(estimate * fraction));
        if child.try_wait().unwrap().is_none() {
            mid_run += 1;
        } else {
            estimate *= 0.7;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if out.exists() {
            assert_complete_run(&out);
        } else {
            absent += 1;
        }
    }
    eprintln!("{mid_run} kills during a run in {tries} tries; folder absent after {absent}");
    run_into(&out, &[input], 2);
    assert_complete_run(&out);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "leftovers: {beside:?}");
}

/// Peak resident memory (VmHWM, kB) of a running process, if it can still be read.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A single line far over --max-record-bytes is rejected and never held in memory: the peak
/// resident size stays far below the line's size.
#[test]
fn a_giant_line_is_rejected_without_being_held_in_memory() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: needs /proc to read the peak memory of a process");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("giant.jsonl");
    let good = good_lines(1);
    let giant_mb = 96;
    {
        let mut file = std::io::BufWriter::new(File::create(&input).unwrap());
        writeln!(file, "{}", good[0]).unwrap();
        write!(file, "{{\"call_id\":\"giant\",\"agent_id\":\"a\",\"turns\":[{{\"speaker\":\"agent\",\"text\":\"").unwrap();
        let chunk = "保证".repeat(1 << 16);
        for _ in 0..(giant_mb << 20) / chunk.len() {
            file.write_all(chunk.as_bytes()).unwrap();
        }
        writeln!(file, "\"}}]}}").unwrap();
        writeln!(file, "{}", good[1]).unwrap();
    }
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_callqa"))
        .current_dir(root())
        .args([
            "run",
            "--quiet",
            "--max-record-bytes",
            "1048576",
            "--out",
            out.to_str().unwrap(),
        ])
        .arg(&input)
        .spawn()
        .unwrap();
    let mut peak_kb = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(child.id()) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.success());
    assert!(peak_kb > 0, "the peak memory was read");
    assert!(
        peak_kb < (giant_mb as u64 * 1024) / 2,
        "peak RSS {peak_kb} kB for a {giant_mb} MB line"
    );
    let rejects = std::fs::read_to_string(out.join("rejects.jsonl")).unwrap();
    assert_eq!(rejects.lines().count(), 1);
    assert!(
        rejects.contains("over the limit (--max-record-bytes)"),
        "{rejects}"
    );
    assert_eq!(scores_by_call(&out).len(), 2);
    eprintln!("peak RSS {peak_kb} kB with a {giant_mb} MB line");
}
