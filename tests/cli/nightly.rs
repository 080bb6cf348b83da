//! Nightly operations: callqa.toml, `init`, date partitions, the lock, `rescore`,
//! agents_daily.parquet, the report's trends, exit codes and JSON logs, and reading the
//! partitions with DuckDB and Polars.

use std::process::Command;

use arrow_array::{Date32Array, Float64Array, Int64Array};

use super::*;

/// The three fixture nights: every agent works every night, on different calls.
pub(crate) const NIGHTS: [(&str, &[&str]); 3] = [
    (
        "2026-11-21",
        &["fixtures/calls/zh.jsonl", "fixtures/calls/en.jsonl"],
    ),
    (
        "2026-11-22",
        &[
            "fixtures/calls/zh_hant.jsonl",
            "fixtures/calls/en_rules2.jsonl",
        ],
    ),
    (
        "2026-11-23",
        &[
            "fixtures/calls/zh_rules2.jsonl",
            "fixtures/calls/en.jsonl",
            "fixtures/broken/broken.jsonl",
        ],
    ),
];

/// `callqa ARGS` started in `dir`.
fn callqa_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callqa"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the callqa binary runs")
}

fn night(out_root: &Path, date: &str, inputs: &[&str], rules: &str) -> Output {
    let root = out_root.to_str().unwrap();
    let mut args = vec![
        "run",
        "--rules",
        rules,
        "--out-root",
        root,
        "--date",
        date,
        "-q",
    ];
    args.extend(inputs);
    callqa(&args, &[])
}

/// Runs the three fixture nights into `out_root` with the bundled rules.
pub(crate) fn three_nights(out_root: &Path) {
    for (date, inputs) in NIGHTS {
        let output = night(out_root, date, inputs, "rules");
        let code = output.status.code();
        assert!(
            code == Some(0) || code == Some(10),
            "night {date}: {code:?} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// agents_daily.parquet as (date as days since 1970, agent, calls, mean, auto-fail rate).
fn agents_daily(out_root: &Path) -> Vec<(i32, String, i64, f64, f64)> {
    let mut rows = Vec::new();
    for batch in read_table(&out_root.join("agents_daily.parquet")) {
        let date = column::<Date32Array>(&batch, "date");
        let agent = column::<StringArray>(&batch, "agent_id");
        let calls = column::<Int64Array>(&batch, "calls");
        let mean = column::<Float64Array>(&batch, "mean_score");
        let fail = column::<Float64Array>(&batch, "auto_fail_rate");
        for i in 0..batch.num_rows() {
            rows.push((
                date.value(i),
                agent.value(i).to_string(),
                calls.value(i),
                mean.value(i),
                fail.value(i),
            ));
        }
    }
    rows
}

fn days_since_epoch(date: &str) -> i32 {
    let days = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    days.num_days() as i32
}

#[test]
fn init_scaffolds_a_project_that_runs_from_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("team");
    let output = callqa_in(dir.path(), &["init", "team"]);
    assert!(output.status.success(), "{}", stderr(&output));
    for file in [
        "callqa.toml",
        "rules/compliance.toml",
        "rules/scorecard.toml",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    let test = callqa_in(&project, &["rules", "test", "rules"]);
    assert!(test.status.success(), "{}", stderr(&test));
    // No flags at all: inputs, rules and output root come from ./callqa.toml.
    let run = callqa_in(&project, &["run", "--date", "2026-11-21", "-q"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let partition = project.join("out/date=2026-11-21");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(partition.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["scored"], 26);
    assert!(project.join("out/agents_daily.parquet").is_file());
    // Re-scoring from the config finds the day's inputs through its dated glob; with the
    // same pack nothing changes, and a day without inputs is skipped.
    let rescore = callqa_in(
        &project,
        &["rescore", "--from", "2026-11-20", "--to", "2026-11-21"],
    );
    let summary = String::from_utf8_lossy(&rescore.stdout);
    assert_eq!(
        rescore.status.code(),
        Some(0),
        "{summary}{}",
        stderr(&rescore)
    );
    assert!(summary.contains("re-scored 1 of 2 days"), "{summary}");
    assert!(summary.contains("2026-11-20  skipped"), "{summary}");
    assert!(summary.contains("no findings changed"), "{summary}");
    let day = summary
        .lines()
        .find(|l| l.starts_with("2026-11-21"))
        .unwrap();
    assert_eq!(
        day.split_whitespace().take(3).collect::<Vec<_>>(),
        ["2026-11-21", "26", "0"]
    );
    // A second init does not overwrite the team's edits.
    let again = callqa_in(dir.path(), &["init", "team"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
}

#[test]
fn config_errors_name_file_and_line_and_flags_override_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("callqa.toml");
    std::fs::write(&config, "rules = \"rules\"\n\nout_rot = \"nightly\"\n").unwrap();
    let bad = callqa(
        &["run", "--config", config.to_str().unwrap(), "-q"],
        &fixture_inputs(),
    );
    assert_eq!(bad.status.code(), Some(3));
    let message = stderr(&bad);
    assert!(message.contains("callqa.toml:3:"), "{message}");
    assert!(message.contains("out_rot"), "{message}");

    let rules = root().join("rules");
    let config_root = dir.path().join("from-config");
    std::fs::write(
        &config,
        format!(
            "rules = \"{}\"\nout_root = \"{}\"\nthreads = 1\n",
            rules.display(),
            config_root.display()
        ),
    )
    .unwrap();
    let flag_root = dir.path().join("from-flag");
    let output = callqa(
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--out-root",
            flag_root.to_str().unwrap(),
            "-q",
            "fixtures/calls/zh.jsonl",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The date comes from the calls' started_at; the flag's root wins over the config's.
    assert!(flag_root.join("date=2026-11-21/manifest.json").is_file());
    assert!(!config_root.exists());
    // And --out still means a plain run, even with out_root in the config.
    let plain = dir.path().join("plain");
    let output = callqa(
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--out",
            plain.to_str().unwrap(),
            "-q",
            "fixtures/calls/zh.jsonl",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(plain.join("manifest.json").is_file());
}

#[test]
fn a_rerun_replaces_its_partition_and_leaves_the_others_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    three_nights(&out_root);
    let before: Vec<_> = NIGHTS
        .iter()
        .map(|(date, _)| run_files(&out_root.join(format!("date={date}"))))
        .collect();
    let output = night(
        &out_root,
        "2026-11-22",
        &["fixtures/calls/zh.jsonl"],
        "rules",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let after: Vec<_> = NIGHTS
        .iter()
        .map(|(date, _)| run_files(&out_root.join(format!("date={date}"))))
        .collect();
    assert_eq!(before[0], after[0]);
    assert_eq!(before[2], after[2]);
    assert_ne!(before[1]["calls.parquet"], after[1]["calls.parquet"]);
    assert_eq!(scores_by_call(&out_root.join("date=2026-11-22")).len(), 26);
    // No staging folder, lock or temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(&out_root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "agents_daily.parquet",
            "date=2026-11-21",
            "date=2026-11-22",
            "date=2026-11-23"
        ]
    );
}

#[test]
fn agents_daily_holds_every_partitions_agents() {
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    three_nights(&out_root);
    let daily = agents_daily(&out_root);
    let mut expected = Vec::new();
    for (date, _) in NIGHTS {
        for batch in read_table(&out_root.join(format!("date={date}/agents.parquet"))) {
            let agent = column::<StringArray>(&batch, "agent_id");
            let calls = column::<Int64Array>(&batch, "calls");
            let mean = column::<Float64Array>(&batch, "mean_score");
            let fail = column::<Float64Array>(&batch, "auto_fail_rate");
            for i in 0..batch.num_rows() {
                expected.push((
                    days_since_epoch(date),
                    agent.value(i).to_string(),
                    calls.value(i),
                    mean.value(i),
                    fail.value(i),
                ));
            }
        }
    }
    assert_eq!(daily, expected);
    assert_eq!(daily.len(), 27, "9 agents on 3 nights");
}

#[test]
fn two_runs_of_one_date_cannot_overlap_and_a_dead_runs_lock_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    std::fs::create_dir_all(&out_root).unwrap();
    let lock = out_root.join(".date=2026-11-21.lock");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    // A live owner: this test process.
    std::fs::write(&lock, format!("{} {host}\n", std::process::id())).unwrap();
    let output = night(&out_root, "2026-11-21", NIGHTS[0].1, "rules");
    assert_eq!(output.status.code(), Some(11), "{}", stderr(&output));
    assert!(stderr(&output).contains("another callqa run"));
    assert!(!out_root.join("date=2026-11-21").exists());
    // A dead owner (no such process id on Linux): the lock is taken over.
    std::fs::write(&lock, format!("4294967 {host}\n")).unwrap();
    let output = night(&out_root, "2026-11-21", NIGHTS[0].1, "rules");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!lock.exists());
}

#[test]
fn exit_codes_tell_a_scheduler_about_rejects_and_json_logs_parse() {
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    let root_arg = out_root.to_str().unwrap();
    let output = callqa(
        &[
            "--log-format",
            "json",
            "run",
            "--out-root",
            root_arg,
            "--date",
            "2026-11-23",
        ],
        &[
            root().join("fixtures/broken/broken.jsonl"),
            root().join("fixtures/calls/en.jsonl"),
        ],
    );
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    let events: Vec<Value> = stderr(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["date"], "2026-11-23");
    let counts = &last["counts"];
    assert!(
        counts["scored"].as_u64().unwrap() >= 16,
        "en.jsonl's calls at least"
    );
    assert!(counts["rejected"].as_u64().unwrap() > 0);
    assert_eq!(
        counts["read"].as_u64(),
        Some(counts["scored"].as_u64().unwrap() + counts["rejected"].as_u64().unwrap())
    );
    // A failure is one JSON line too, with the exit code.
    let output = callqa(
        &[
            "--log-format",
            "json",
            "run",
            "--out-root",
            root_arg,
            "no-such-file.jsonl",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(4));
    let event: Value = serde_json::from_str(stderr(&output).trim()).unwrap();
    assert_eq!(
        (event["level"].as_str(), event["exit_code"].as_u64()),
        (Some("error"), Some(4))
    );
    // The plain --out mode keeps exit code 0 with rejects.
    let plain = dir.path().join("plain");
    let output = callqa(
        &["run", "--out", plain.to_str().unwrap(), "-q"],
        &[
            root().join("fixtures/broken/broken.jsonl"),
            root().join("fixtures/calls/en.jsonl"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn rescore_reruns_stored_inputs_with_the_current_pack_and_says_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    three_nights(&out_root);
    let untouched = run_files(&out_root.join("date=2026-11-21"));
    // Re-score two of the nights, from another working directory, with another pack.
    let pack = root().join("fixtures/kinds/forbid");
    let output = callqa_in(
        dir.path(),
        &[
            "--log-format",
            "json",
            "rescore",
            "--out-root",
            out_root.to_str().unwrap(),
            "--from",
            "2026-11-22",
            "--to",
            "2026-11-24",
            "--rules",
            pack.to_str().unwrap(),
            "-q",
        ],
    );
    let summary = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(10),
        "{summary}{}",
        stderr(&output)
    );
    assert!(summary.contains("re-scored 2 of 3 days"), "{summary}");
    assert!(
        summary.contains("2026-11-24  skipped: no stored inputs"),
        "{summary}"
    );
    assert!(summary.contains("findings changed per rule"), "{summary}");
    let days: Vec<Value> = stderr(&output)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "rescored_day")
        .collect();
    assert_eq!(days.len(), 2);
    // Each re-scored partition equals a plain run of that night's inputs with the new pack.
    for (date, inputs) in &NIGHTS[1..] {
        let plain = dir.path().join(format!("plain-{date}"));
        let mut args = vec![
            "run",
            "--rules",
            pack.to_str().unwrap(),
            "--out",
            plain.to_str().unwrap(),
            "-q",
        ];
        args.extend(*inputs);
        callqa(&args, &[]);
        let partition = out_root.join(format!("date={date}"));
        assert_eq!(scores_by_call(&partition), scores_by_call(&plain), "{date}");
        assert_eq!(
            findings_by_call(&partition),
            findings_by_call(&plain),
            "{date}"
        );
        let changed_line = summary
            .lines()
            .find(|l| l.starts_with(date))
            .unwrap_or_else(|| panic!("no line for {date}: {summary}"));
        let calls = scores_by_call(&partition).len().to_string();
        assert_eq!(changed_line.split_whitespace().nth(1), Some(calls.as_str()));
        // The pack's own rule was new: every one of its findings is "added".
        let promises = findings_by_call(&partition)
            .values()
            .flatten()
            .filter(|r| *r == "F-PROMISE")
            .count() as u64;
        let event = days.iter().find(|e| e["date"] == *date).unwrap();
        assert!(promises > 0);
        assert_eq!(
            event["rules"]["F-PROMISE"]["added"].as_u64(),
            Some(promises)
        );
        assert_eq!(
            event["calls"].as_u64(),
            Some(scores_by_call(&partition).len() as u64)
        );
    }
    assert_eq!(run_files(&out_root.join("date=2026-11-21")), untouched);
}

#[test]
fn the_report_shows_trends_and_movers_from_earlier_nights() {
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    three_nights(&out_root);
    let first = std::fs::read_to_string(out_root.join("date=2026-11-21/report.html")).unwrap();
    assert!(first.contains("trends appear from the second night on"));
    let html = std::fs::read_to_string(out_root.join("date=2026-11-23/report.html")).unwrap();
    assert!(html.contains("<section id=trends>"));
    assert!(html.contains("Most improved") && html.contains("Most declined"));
    // One sparkline per agent, one point per night each agent worked.
    assert_eq!(html.matches("<svg class=spark").count(), 9);
    assert_eq!(html.matches("<circle").count(), 27);
    // The change shown for each agent is tonight's mean minus the earlier nights' weighted mean.
    let daily = agents_daily(&out_root);
    let tonight = days_since_epoch("2026-11-23");
    for (date, agent, _, mean, _) in daily.iter().filter(|r| r.0 == tonight) {
        let earlier: Vec<_> = daily
            .iter()
            .filter(|r| &r.1 == agent && r.0 < *date)
            .collect();
        let calls: i64 = earlier.iter().map(|r| r.2).sum();
        let before = earlier.iter().map(|r| r.2 as f64 * r.3).sum::<f64>() / calls as f64;
        let row = format!("<tr><td>{agent}</td>");
        let at = html
            .find(&format!("{row}<td><svg"))
            .unwrap_or_else(|| panic!("{agent}"));
        let cells = &html[at..at + html[at..].find("</tr>").unwrap()];
        assert!(
            cells.contains(&format!("<td>{:+.1}</td>", mean - before)),
            "{agent}: {cells}"
        );
    }
}

/// The analyst's view: DuckDB and Polars read the partitions in place (Hive-style `date=`
/// folders) and get callqa's own agents_daily numbers. The Python packages live in the venv
/// `.ci/run` creates; with `CI_REQUIRE_PY=1` (set by `.ci/run`) a missing venv is a failure.
#[test]
fn duckdb_and_polars_read_the_partitions_with_callqas_numbers() {
    let python = std::env::var_os("CALLQA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".ci/.venv/bin/python"));
    if !python.is_file() {
        assert!(
            std::env::var("CI_REQUIRE_PY").as_deref() != Ok("1"),
            "CI_REQUIRE_PY=1 but {} is missing: run .ci/run (it creates the venv with duckdb and polars)",
            python.display()
        );
        eprintln!(
            "skipped: no {} (python3 -m venv .ci/.venv && .ci/.venv/bin/pip install duckdb polars)",
            python.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    three_nights(&out_root);
    let output = Command::new(&python)
        .arg(root().join("tests/cli/interop.py"))
        .arg(&out_root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    let daily = agents_daily(&out_root);
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for engine in ["duckdb", "polars"] {
        let rows = read[engine].as_array().unwrap();
        assert_eq!(rows.len(), daily.len(), "{engine}");
        for (row, (date, agent, calls, mean, fail)) in rows.iter().zip(&daily) {
            let day = (epoch + chrono::Duration::days(i64::from(*date)))
                .format("%Y-%m-%d")
                .to_string();
            assert_eq!(row[0].as_str(), Some(day.as_str()), "{engine}");
            assert_eq!(row[1].as_str(), Some(agent.as_str()), "{engine}");
            assert_eq!(row[2].as_i64(), Some(*calls), "{engine} {day} {agent}");
            assert!(
                (row[3].as_f64().unwrap() - mean).abs() < 1e-9,
                "{engine} {day} {agent}"
            );
            assert!(
                (row[4].as_f64().unwrap() - fail).abs() < 1e-9,
                "{engine} {day} {agent}"
            );
        }
    }
}

/// The trend charts render in headless Chromium (installed by `.ci/run`; skipped without it,
/// as the report's own browser test is): one SVG per agent with its points, and a screenshot
/// saved for a person to look at.
#[test]
fn the_trends_render_in_a_browser() {
    let Ok(found) = Command::new("which").arg("chromium").output() else {
        return;
    };
    if !found.status.success() {
        eprintln!("skipped: no chromium on PATH (apt-get install chromium; .ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_root = dir.path().join("nightly");
    three_nights(&out_root);
    let url = format!(
        "file://{}",
        out_root.join("date=2026-11-23/report.html").display()
    );
    let profile = format!("--user-data-dir={}", dir.path().join("profile").display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let dom = Command::new("chromium")
        .args(flags)
        .arg(&profile)
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        dom.matches("<svg class=\"spark\"").count(),
        9,
        "one chart per agent"
    );
    assert_eq!(dom.matches("<polyline").count(), 9);
    assert_eq!(dom.matches("<circle class=\"today\"").count(), 9);
    crate::screenshot("chromium", &flags, &profile, &url, "report-trends.png");
}

/// A partition, its report's trends and agents_daily.parquet are byte-identical at any thread
/// count (the manifest's timing aside).
#[test]
fn partitions_are_identical_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let roots: Vec<PathBuf> = ["one", "two"].iter().map(|n| dir.path().join(n)).collect();
    for (root_dir, threads) in roots.iter().zip(["1", "2"]) {
        for (date, inputs) in NIGHTS {
            let mut args = vec![
                "run",
                "--out-root",
                root_dir.to_str().unwrap(),
                "--date",
                date,
                "--threads",
                threads,
                "-q",
            ];
            args.extend(inputs);
            let output = callqa(&args, &[]);
            assert!(output.status.code() == Some(0) || output.status.code() == Some(10));
        }
    }
    for (date, _) in NIGHTS {
        let partition = format!("date={date}");
        assert_eq!(
            run_files(&roots[0].join(&partition)),
            run_files(&roots[1].join(&partition)),
            "{date}"
        );
    }
    assert_eq!(
        std::fs::read(roots[0].join("agents_daily.parquet")).unwrap(),
        std::fs::read(roots[1].join("agents_daily.parquet")).unwrap()
    );
}
