//! `callqa rules …`, one fixture per rule kind, and the documented rules.

use super::*;

#[test]
fn bundled_rule_examples_all_pass() {
    let output = callqa(&["rules", "test", "rules"], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn bundled_pack_covers_every_category_in_both_languages() {
    let output = callqa(&["rules", "check", "rules"], &[]);
    assert!(output.status.success());
    let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
    let mut languages = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.ends_with("scorecard.toml") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let pack: toml::Table = toml::from_str(&text).unwrap();
        for rule in pack["rule"].as_array().unwrap() {
            *per_category
                .entry(rule["category"].as_str().unwrap().to_string())
                .or_default() += 1;
            kinds.insert(rule["kind"].as_str().unwrap().to_string());
            languages.insert((
                rule["category"].as_str().unwrap().to_string(),
                rule.get("lang")
                    .and_then(|l| l.as_str())
                    .unwrap_or("any")
                    .to_string(),
            ));
        }
    }
    assert!(
        per_category.values().sum::<usize>() >= 40,
        "{per_category:?}"
    );
    for category in ["compliance", "banned_wording", "over_promising", "empathy"] {
        assert!(
            per_category.get(category).is_some_and(|&n| n >= 5),
            "{per_category:?}"
        );
        for lang in ["zh", "en"] {
            assert!(
                languages.contains(&(category.to_string(), lang.to_string())),
                "no {lang} rule in {category}"
            );
        }
    }
}

#[test]
fn failing_examples_make_rules_test_fail() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(
        dir.path(),
        "[[rule]]\nid = \"X-1\"\nkind = \"forbid\"\ncategory = \"compliance\"\nseverity = \"major\"\nmessage = \"m\"\nphrases = [\"保证\"]\nexamples.match = [\"我保证\"]\nexamples.no_match = [\"保证金\"]\n",
    );
    let output = callqa(&["rules", "test", dir.path().to_str().unwrap()], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "rule X-1: examples.no_match \"保证金\"\n  - expected: not detected\n  + got:      detected"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}

/// One fixture per rule kind (and for the condition modifiers and two scorecards): its own
/// examples pass, and its calls give the reviewed findings in `tests/cli/snapshots/`.
#[test]
fn each_rule_kind_on_its_fixture() {
    for kind in [
        "forbid",
        "require",
        "reward",
        "sequence",
        "response",
        "timing",
        "similar",
        "modifiers",
        "scorecard",
        "weights",
    ] {
        let dir = root().join("fixtures/kinds").join(kind);
        let rules = dir.to_str().unwrap();
        let test = callqa(&["rules", "test", rules], &[]);
        assert!(
            test.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&test.stdout)
        );
        let out = tempfile::tempdir().unwrap();
        let output = callqa(
            &[
                "run",
                "--quiet",
                "--rules",
                rules,
                "--out",
                out.path().to_str().unwrap(),
            ],
            &[dir.join("calls.jsonl")],
        );
        assert!(
            output.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        insta::assert_snapshot!(format!("kind_{kind}"), render_run(out.path()));
    }
}

/// The rule examples in the documentation are real: they load and pass their own examples.
#[test]
fn documented_rules_load_and_pass() {
    for doc in ["README.md", "docs/rules.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let rules: Vec<&str> = text
            .split("```toml\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .filter(|block| block.trim_start().starts_with("[[rule]]"))
            .collect();
        assert!(!rules.is_empty(), "{doc} has rule examples");
        let dir = tempfile::tempdir().unwrap();
        write_pack(dir.path(), &rules.join("\n"));
        let output = callqa(&["rules", "test", dir.path().to_str().unwrap()], &[]);
        assert!(
            output.status.success(),
            "{doc}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn rules_check_reports_every_problem_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(
        dir.path(),
        r#"[[rule]]
id = "SEQ-1"
kind = "sequence"
category = "compliance"
severity = "major"
message = "m"
steps = [{ phrases = ["a"] }]
examples.match = ["a"]
examples.no_match = ["b"]

[[rule]]
id = "TIM-1"
kind = "timing"
category = "compliance"
severity = "minor"
message = "m"
metric = "response_gap"
max = 7
phrases = ["x"]
examples.match = ["a"]
examples.no_match = ["b"]

[[rule]]
id = "RSP-1"
kind = "response"
category = "empathy"
severity = "major"
message = "m"
trigger = { phrases = ["投诉"], colour = "red" }
response = { phrases = ["理解"] }
examples.match = ["a"]
examples.no_match = ["b"]
"#,
    );
    let output = callqa(&["rules", "check", dir.path().to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A TOML-level error (unknown key) stops that file before the rule checks run.
    assert!(
        stderr.contains("pack.toml:29: rule RSP-1: unknown field `colour`"),
        "{stderr}"
    );
    let fixed = std::fs::read_to_string(dir.path().join("pack.toml"))
        .unwrap()
        .replace(", colour = \"red\"", "");
    std::fs::write(dir.path().join("pack.toml"), fixed).unwrap();
    let output = callqa(&["rules", "check", dir.path().to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the rule pack has 2 problems"), "{stderr}");
    assert!(
        stderr.contains("pack.toml:7: rule SEQ-1: a `sequence` needs at least two `steps`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pack.toml:12: rule TIM-1: `phrases/regex/exclude/scope/negation/near/all/any/not` is not used by `timing` rules"),
        "{stderr}"
    );
}

#[test]
fn rules_list_and_explain_describe_the_bundled_pack() {
    let list = callqa(&["rules", "list"], &[]);
    let stdout = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success());
    let rule_rows = stdout.lines().count() - 1;
    let check = String::from_utf8_lossy(&callqa(&["rules", "check"], &[]).stdout).to_string();
    assert!(
        check.contains(&format!(": {rule_rows} rules in ")),
        "{check}"
    );
    let explain = callqa(&["rules", "explain", "OP-ZH-001"], &[]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(explain.status.success());
    assert!(
        text.starts_with("OP-ZH-001 — forbid rule, category over_promising"),
        "{text}"
    );
    assert!(text.contains("examples that must match:"), "{text}");
    let missing = callqa(&["rules", "explain", "NO-SUCH-RULE"], &[]);
    assert_eq!(missing.status.code(), Some(2));
}
