//! Exit codes, and what `--out` does when it is not writable or already holds something.

use super::*;

#[test]
fn a_bad_rule_pack_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_pack(
        &rules,
        "[[rule]]\nid = \"X-1\"\nkind = \"forbid\"\ncategory = \"compliance\"\nseverity = \"major\"\nmessage = \"m\"\nregex = ['(']\nexamples.match = [\"a\"]\nexamples.no_match = [\"b\"]\n",
    );
    let out = dir.path().join("out");
    let output = callqa(
        &[
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &fixture_inputs(),
    );
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("pack.toml:7: rule X-1: the regex does not compile"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written for a bad pack");
    let check = callqa(&["rules", "check", rules.to_str().unwrap()], &[]);
    assert_eq!(check.status.code(), Some(3));
}

#[test]
fn a_missing_input_exits_4_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = callqa(
        &[
            "run",
            "--out",
            out.to_str().unwrap(),
            "fixtures/no-such-file.jsonl",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file.jsonl"));
    assert!(!out.exists());
}

#[test]
fn an_unwritable_output_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let out = blocker.join("out");
    let output = callqa(&["run", "--out", out.to_str().unwrap()], &fixture_inputs());
    assert_eq!(output.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&output.stderr).contains("file/out"));
}

#[test]
fn a_rerun_replaces_the_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_into(&out, &fixture_inputs(), 2);
    let inputs = fixture_inputs();
    run_into(&out, &inputs[..1], 2);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 1);
    let scored = manifest["counts"]["scored"].as_u64().unwrap();
    assert_eq!(scores_by_call(&out).len() as u64, scored);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["out"], "staging folders left beside --out");
}

#[test]
fn a_folder_that_is_not_a_run_is_not_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "my notes").unwrap();
    let out = dir.path().to_str().unwrap();
    let output = callqa(&["run", "--quiet", "--out", out], &fixture_inputs());
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no callqa run") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(dir.path().join("notes.txt").exists());
    let forced = callqa(
        &["run", "--quiet", "--force", "--out", out],
        &fixture_inputs(),
    );
    assert!(forced.status.success());
    assert!(dir.path().join("manifest.json").exists());
    assert!(!dir.path().join("notes.txt").exists());
}
