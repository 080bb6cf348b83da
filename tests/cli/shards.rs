//! Beyond one machine: `run --shard`, `merge`, `score --stdin` give the tables of one run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arrow_array::StringArray;
use serde_json::Value;

use crate::{callqa, fixture_inputs, read_table, root, run_files, run_into};

/// The files of a run that must be byte-identical after a merge (the manifest's timing aside).
const SAME_BYTES: [&str; 6] = [
    "calls.parquet",
    "findings.parquet",
    "agents.parquet",
    "rejects.jsonl",
    "report.html",
    "manifest.json",
];

fn assert_same_run(single: &Path, merged: &Path, what: &str) {
    let (a, b) = (run_files(single), run_files(merged));
    for name in SAME_BYTES {
        let mut left = a[name].clone();
        let mut right = b[name].clone();
        if name == "manifest.json" {
            // A merge reads no input files itself; everything else must agree.
            left = without_timing_threads(&left);
            right = without_timing_threads(&right);
        }
        assert!(left == right, "{what}: {name} differs from the single run");
    }
}

fn without_timing_threads(bytes: &[u8]) -> Vec<u8> {
    let mut manifest: Value = serde_json::from_slice(bytes).unwrap();
    manifest.as_object_mut().unwrap().remove("timing");
    serde_json::to_vec(&manifest).unwrap()
}

fn shard_into(out: &Path, shard: &str, inputs: &[PathBuf]) {
    let output = callqa(
        &[
            "run",
            "--rules",
            "rules",
            "--out",
            out.to_str().unwrap(),
            "--shard",
            shard,
            "--quiet",
        ],
        inputs,
    );
    assert!(
        output.status.success(),
        "shard {shard}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn merge_into(out: &Path, parts: &[PathBuf]) -> std::process::Output {
    callqa(
        &[
            "merge",
            "--rules",
            "rules",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        parts,
    )
}

/// Fixture inputs given relative to the repository, as a user types them.
fn relative_inputs() -> Vec<PathBuf> {
    fixture_inputs()
        .into_iter()
        .map(|p| p.strip_prefix(root()).unwrap().to_path_buf())
        .collect()
}

#[test]
fn merging_1_2_or_7_shards_gives_the_single_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = relative_inputs();
    let single = dir.path().join("single");
    run_into(&single, &inputs, 2);
    for n in [1, 2, 7] {
        let mut parts: Vec<PathBuf> = (0..n)
            .map(|i| dir.path().join(format!("shard-{n}-{i}")))
            .collect();
        for (i, part) in parts.iter().enumerate() {
            shard_into(part, &format!("{i}/{n}"), &inputs);
        }
        // Order-independent: give the parts backwards.
        parts.reverse();
        let merged = dir.path().join(format!("merged-{n}"));
        let output = merge_into(&merged, &parts);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_same_run(&single, &merged, &format!("{n} shards"));
    }
}

/// A shard's results replay only what the engine found; a merge cannot replay reviewers'
/// overrides, a review model or a date partition, so `--shard` refuses them before writing.
#[test]
fn a_shard_refuses_what_a_merge_cannot_replay() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shard");
    let root = dir.path().join("nightly");
    let cases: [&[&str]; 2] = [
        &["--overrides", "fixtures/eval_small/overrides.csv"],
        &["--out-root", root.to_str().unwrap()],
    ];
    for extra in cases {
        let mut args = vec!["run", "--rules", "rules", "--shard", "0/2", "--quiet"];
        if extra[0] != "--out-root" {
            args.extend(["--out", out.to_str().unwrap()]);
        }
        args.extend_from_slice(extra);
        let output = callqa(&args, &fixture_inputs());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains("--shard"), "{extra:?}: {stderr}");
        assert!(
            !out.exists() && !root.exists(),
            "{extra:?}: nothing is written"
        );
    }
}

#[test]
fn every_call_lands_in_exactly_one_shard() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = relative_inputs();
    let mut scored = 0;
    let mut calls = std::collections::BTreeSet::new();
    for i in 0..3 {
        let part = dir.path().join(format!("p{i}"));
        shard_into(&part, &format!("{i}/3"), &inputs);
        for batch in read_table(&part.join("calls.parquet")) {
            let ids = crate::column::<StringArray>(&batch, "call_id");
            for r in 0..batch.num_rows() {
                scored += 1;
                assert!(
                    calls.insert(ids.value(r).to_string()),
                    "{} twice",
                    ids.value(r)
                );
            }
        }
    }
    let single = dir.path().join("single");
    run_into(&single, &inputs, 1);
    assert_eq!(scored, crate::scores_by_call(&single).len());
}

#[test]
fn a_merge_refuses_missing_or_repeated_shards() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = relative_inputs();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    shard_into(&a, "0/3", &inputs);
    shard_into(&b, "1/3", &inputs);
    let output = merge_into(&dir.path().join("m"), &[a.clone(), b]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("2/3"));
    let output = merge_into(&dir.path().join("m"), &[a.clone(), a]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!dir.path().join("m").exists());
}

/// Pipes `stdin` through `callqa score --stdin` with `extra` arguments.
fn score_stdin(stdin: &[u8], extra: &[&str]) -> (Vec<Value>, std::process::Output) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callqa"))
        .current_dir(root())
        .args(["score", "--rules", "rules", "--stdin", "--quiet"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let lines = String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, output)
}

#[test]
fn score_stdin_gives_one_line_per_input_line_equal_to_the_runs_rows() {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    let inputs = relative_inputs();
    run_into(&single, &inputs, 1);
    let mut stdin = Vec::new();
    for input in &inputs {
        stdin.extend(std::fs::read(root().join(input)).unwrap());
    }
    let (lines, output) = score_stdin(&stdin, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(lines.len(), stdin.split(|&b| b == b'\n').count() - 1);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["line"], i as u64 + 1, "in input order");
    }
    // Scores and findings of every call equal the run's (the run scored the first copy of a
    // duplicate; the stateless filter scores every copy the same way).
    let scores = crate::scores_by_call(&single);
    let findings = crate::findings_by_call(&single);
    let mut checked = 0;
    for line in lines.iter().filter(|l| l["status"] == "scored") {
        let id = line["call_id"].as_str().unwrap();
        let call = &line["call"];
        let (score, auto_fail) = scores[id];
        assert_eq!(call["score"]["score"], score, "{id}");
        assert_eq!(call["score"]["auto_fail"], auto_fail, "{id}");
        let mut rules: Vec<String> = call["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect();
        rules.sort();
        assert_eq!(&rules, findings.get(id).unwrap_or(&Vec::new()), "{id}");
        checked += 1;
    }
    assert!(checked >= scores.len());
    // Every record the run rejected for its content is rejected here too, with the same reason.
    let rejects = std::fs::read_to_string(single.join("rejects.jsonl")).unwrap();
    let reasons: Vec<&Value> = lines.iter().filter(|l| l["status"] == "rejected").collect();
    let run_reasons: Vec<Value> = rejects
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r.get("call_id").is_none())
        .collect();
    assert_eq!(reasons.len(), run_reasons.len());
    for (a, b) in reasons.iter().zip(&run_reasons) {
        assert_eq!(a["reason"], b["reason"]);
        assert_eq!(a["raw"], b["raw"]);
    }
}

#[test]
fn bad_lines_give_rejects_not_a_crash() {
    let stdin = b"not json\n{\"call_id\":\"x\"}\n\n\xff\xfe\n{\"call_id\":\"c\",\"agent_id\":\"a\",\"turns\":[{\"speaker\":\"agent\",\"text\":\"\xe6\x82\xa8\xe5\xa5\xbd\"}]}\n";
    let (lines, output) = score_stdin(stdin, &[]);
    assert!(output.status.success());
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["rejected", "rejected", "blank", "rejected", "scored"]
    );
    assert!(lines[0]["reason"].as_str().unwrap().len() > 5);
    // A record over the limit is rejected without being held.
    let (lines, output) = score_stdin(&[b'x'; 5000], &["--max-record-bytes", "100"]);
    assert!(output.status.success());
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("over the limit")
    );
    // A line that is not UTF-8 comes hex-encoded from the Spark job and is judged as read.
    let (lines, output) = score_stdin(b"0\t4:hex\t7bff7d\n", &["--tagged"]);
    assert!(output.status.success());
    assert_eq!(lines[0]["line"], 4);
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid UTF-8")
    );
    // With --tagged a line without its tag means a broken caller: a fatal error.
    let (_, output) = score_stdin(b"{}\n", &["--tagged"]);
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 1"));
}

#[test]
fn tagged_score_output_in_any_part_order_merges_into_the_single_run() {
    // What the Spark job does: tag lines with (input, line), score partitions separately,
    // keep the part files, merge with the inputs listed beside them.
    let dir = tempfile::tempdir().unwrap();
    let inputs = relative_inputs();
    let single = dir.path().join("single");
    run_into(&single, &inputs, 1);
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    let mut described = Vec::new();
    let mut part = 0;
    for (i, input) in inputs.iter().enumerate() {
        let bytes = std::fs::read(root().join(input)).unwrap();
        let lines: Vec<&[u8]> = bytes
            .strip_suffix(b"\n")
            .unwrap_or(&bytes)
            .split(|&b| b == b'\n')
            .collect();
        // Two partitions per input, each piped on its own.
        let size = lines.len().div_ceil(2);
        for (c, half) in lines.chunks(size).enumerate() {
            let first = c * size;
            let mut tagged = Vec::new();
            for (k, line) in half.iter().enumerate() {
                write!(tagged, "{i}\t{}\t", first + k + 1).unwrap();
                tagged.extend_from_slice(line);
                tagged.push(b'\n');
            }
            let (_, output) = score_stdin(&tagged, &["--tagged"]);
            assert!(output.status.success());
            std::fs::write(parts.join(format!("part-{part:05}.json")), &output.stdout).unwrap();
            part += 1;
        }
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(single.join("manifest.json")).unwrap()).unwrap();
        let entry = &manifest["inputs"][i];
        described.push(serde_json::json!({
            "path": input.to_str().unwrap(),
            "bytes": entry["bytes"],
            "sha256": entry["sha256"],
        }));
    }
    std::fs::write(
        parts.join("_callqa_inputs.json"),
        serde_json::to_vec(&serde_json::json!({ "inputs": described })).unwrap(),
    )
    .unwrap();
    std::fs::write(parts.join("_SUCCESS"), b"").unwrap();
    let merged = dir.path().join("merged");
    let output = merge_into(&merged, &[parts]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_same_run(&single, &merged, "tagged parts");
}

#[test]
fn a_part_out_of_input_order_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    let (_, output) = score_stdin(b"0\t2\t\n0\t1\t\n", &["--tagged"]);
    std::fs::write(parts.join("part-0"), &output.stdout).unwrap();
    std::fs::write(
        parts.join("_callqa_inputs.json"),
        br#"{"inputs":[{"path":"x.jsonl"}]}"#,
    )
    .unwrap();
    let output = merge_into(&dir.path().join("m"), &[parts]);
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("part-0") && stderr.contains("input order"),
        "{stderr}"
    );
}

/// Peak resident memory (VmHWM, kB) of a running process.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `score --stdin` holds one batch of lines, not the stream: 80 MB in, memory far below that.
#[test]
fn a_large_stream_is_scored_in_bounded_memory() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: needs /proc to read the peak memory of a process");
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_callqa"))
        .current_dir(root())
        .args(["score", "--rules", "rules", "--stdin", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut pipe = child.stdin.take().unwrap();
    let call = std::fs::read_to_string(root().join("fixtures/calls/zh.jsonl")).unwrap();
    let call = call.lines().next().unwrap().to_string();
    // Mostly whitespace-only lines (cheap to judge, so the test is quick) with real calls
    // between them: what is measured is the streaming, not the scoring.
    let (lines, megabytes) = (80_000, 80);
    let writer = std::thread::spawn(move || {
        let filler = " ".repeat(megabytes * 1_000_000 / lines);
        for i in 0..lines {
            let line = if i % 1000 == 0 { &call } else { &filler };
            pipe.write_all(line.as_bytes()).unwrap();
            pipe.write_all(b"\n").unwrap();
        }
        // Still running (waiting for the end of input): its peak covers the whole stream.
        peak_rss_kb(pid)
    });
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let peak_kb = writer.join().unwrap().expect("the peak memory was read");
    assert!(child.wait().unwrap().success());
    assert_eq!(out.lines().count(), lines, "one result per line");
    assert_eq!(out.matches("\"status\":\"scored\"").count(), lines / 1000);
    assert!(
        peak_kb < (megabytes as u64 * 1000) / 2,
        "peak RSS {peak_kb} kB for {megabytes} MB of input"
    );
    eprintln!("score --stdin: peak RSS {peak_kb} kB for {megabytes} MB of input");
}
