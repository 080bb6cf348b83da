use super::*;

const GOOD: &str = r#"
[[rule]]
id = "OP-1"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "no promises"
phrases = ["马上解决"]
examples.match = ["马上解决"]
examples.no_match = ["尽快处理"]
"#;

fn load_one(text: &str) -> std::result::Result<RulePack, Vec<RuleProblem>> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pack.toml"), text).unwrap();
    RulePack::load(dir.path()).map_err(|e| e.rule_problems().to_vec())
}

#[test]
fn loads_a_good_rule_with_defaults() {
    let pack = load_one(GOOD).unwrap();
    let rule = &pack.rules()[0];
    assert_eq!(rule.points, 5);
    assert_eq!(rule.cap, 5);
    assert_eq!(rule.speaker, SpeakerScope::Agent);
    assert_eq!(rule.line, 2);
    assert_eq!(pack.categories()[..4], BUILTIN_CATEGORIES);
}

/// Each broken variant of GOOD must name the line and the rule.
#[test]
fn problems_name_line_and_rule() {
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "severity = \"major\"",
            "severity = \"huge\"",
            6,
            "unknown variant",
        ),
        (
            "message = ",
            "colour = \"red\"\nmessage = ",
            7,
            "unknown field",
        ),
        (
            "phrases = [\"马上解决\"]",
            "regex = ['(马上']",
            8,
            "does not compile",
        ),
        (
            "phrases = [\"马上解决\"]",
            "phrases = []",
            3,
            "nothing to match",
        ),
        (
            "category = \"over_promising\"",
            "category = \"Over Promising\"",
            5,
            "lower_snake_case",
        ),
        ("examples.no_match = [\"尽快处理\"]", "", 9, "examples"),
        (
            "phrases = [\"马上解决\"]",
            "phrases = [\"马上解决\"]\nmin_count = 2",
            3,
            "`min_count` is not used by `forbid`",
        ),
        (
            "phrases = [\"马上解决\"]",
            "phrases = [\"马上解决\"]\nscope = { first_turns = 0 }",
            9,
            "exactly one of",
        ),
        (
            "phrases = [\"马上解决\"]",
            "phrases = [\"马上解决\"]\nnear = { phrases = [\"x\"] }",
            9,
            "`near` needs exactly one",
        ),
        (
            "phrases = [\"马上解决\"]",
            "all = [{ phrases = [\"a\"] }, { }]",
            8,
            "nothing to match",
        ),
        (
            "kind = \"forbid\"",
            "kind = \"sequence\"",
            3,
            "not used by `sequence`",
        ),
        (
            "kind = \"forbid\"",
            "kind = \"timing\"",
            3,
            "not used by `timing`",
        ),
    ];
    for (from, to, line, message) in cases {
        let problems = load_one(&GOOD.replace(from, to)).unwrap_err();
        let problem = problems
            .iter()
            .find(|p| p.message.contains(message))
            .unwrap_or_else(|| panic!("{to}: {problems:?}"));
        assert_eq!(problem.line, Some(*line), "{to}: {problems:?}");
        assert_eq!(problem.rule_id.as_deref(), Some("OP-1"), "{to}");
    }
}

#[test]
fn kinds_need_their_parts() {
    let base = GOOD.replace("phrases = [\"马上解决\"]\n", "");
    let cases = [
        ("forbid", "sequence", "needs `steps`"),
        ("forbid", "response", "needs `trigger` and `response`"),
        ("forbid", "timing", "needs `metric` and `max`"),
    ];
    for (from, to, message) in cases {
        let problems = load_one(&base.replace(from, to)).unwrap_err();
        assert!(
            problems.iter().any(|p| p.message.contains(message)),
            "{to}: {problems:?}"
        );
    }
}

#[test]
fn compositions_and_modifiers_load() {
    let text = GOOD.replace(
        "phrases = [\"马上解决\"]",
        "all = [{ phrases = [\"退款\"], negation = true }, { not = { phrases = [\"审核\"] } }]\nmax_count = 1\nwhen = { phrases = [\"投诉\"], speaker = \"customer\" }",
    );
    let pack = load_one(&text).unwrap();
    let rule = &pack.rules()[0];
    assert!(rule.when.is_some());
    match &rule.check {
        Check::Forbid {
            condition: Condition::All(items),
            max_count: 1,
        } => {
            assert_eq!(items.len(), 2);
            assert!(matches!(&items[1], Condition::Not(_)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn scorecard_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pack.toml"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("scorecard.toml"),
        "bonus_cap = 4\n[severity_points]\nmajor = 7\n[category_caps]\nover_promising = 20\n",
    )
    .unwrap();
    let pack = RulePack::load(dir.path()).unwrap();
    assert_eq!(pack.scorecard().bonus_cap, 4);
    assert_eq!(pack.rules()[0].points, 7);
    assert_eq!(pack.rules()[0].cap, 7);
    std::fs::write(
        dir.path().join("scorecard.toml"),
        "[category_weights]\nnope = 1\n",
    )
    .unwrap();
    let err = RulePack::load(dir.path()).unwrap_err();
    let problem = &err.rule_problems()[0];
    assert_eq!(problem.line, Some(2));
    assert!(problem.message.contains("`nope`"), "{problem:?}");
    std::fs::write(dir.path().join("scorecard.toml"), "bonus = 1\n").unwrap();
    let err = RulePack::load(dir.path()).unwrap_err();
    assert!(
        err.rule_problems()[0].message.contains("unknown field"),
        "{err}"
    );
}

#[test]
fn lint_warns_about_shadowed_phrases() {
    let text = GOOD.replace(
        "phrases = [\"马上解决\"]",
        "phrases = [\"不能马上解决\", \"马上解决\"]\nexclude = [\"能马上\"]",
    );
    let pack = load_one(&text).unwrap();
    assert_eq!(pack.warnings().len(), 1, "{:?}", pack.warnings());
    assert!(pack.warnings()[0].message.contains("never counts"));
}

#[test]
fn duplicate_ids_are_reported_with_both_places() {
    let problems = load_one(&format!("{GOOD}{GOOD}")).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, Some(12));
    assert!(problems[0].message.contains("pack.toml:2"), "{problems:?}");
}

#[test]
fn an_empty_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = RulePack::load(dir.path()).unwrap_err();
    assert!(err.rule_problems()[0].message.contains("no *.toml"));
}
