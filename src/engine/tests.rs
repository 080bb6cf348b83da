use super::*;
use crate::input::parse_record;

const PACK: &str = r#"
[[rule]]
id = "OP-1"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "no promises"
phrases = ["保证"]
exclude = ["不能保证", "保证金"]
examples.match = ["我保证"]
examples.no_match = ["不能保证", "保证金"]

[[rule]]
id = "OP-2"
kind = "forbid"
category = "over_promising"
severity = "major"
lang = "en"
message = "no promises"
regex = ['i (?:promise|guarantee)']
exclude = ["can't guarantee"]
examples.match = ["I promise"]
examples.no_match = ["I can't guarantee"]

[[rule]]
id = "CMP-1"
kind = "require"
category = "compliance"
severity = "minor"
lang = "zh"
message = "greet"
phrases = ["您好"]
scope = { first_turns = 1 }
examples.match = ["您好"]
examples.no_match = ["喂"]

[[rule]]
id = "EMP-1"
kind = "reward"
category = "empathy"
severity = "info"
points = 2
message = "empathy"
phrases = ["理解"]
exclude = ["不理解"]
examples.match = ["我理解"]
examples.no_match = ["我不理解"]
"#;

fn engine() -> Engine {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pack.toml"), PACK).unwrap();
    Engine::new(RulePack::load(dir.path()).unwrap()).unwrap()
}

fn call(turns: &[(&str, &str)], language: Option<&str>) -> Call {
    let turns: Vec<_> = turns
        .iter()
        .map(|(speaker, text)| serde_json::json!({"speaker": speaker, "text": text}))
        .collect();
    let mut record = serde_json::json!({"call_id": "c", "agent_id": "a", "turns": turns});
    if let Some(lang) = language {
        record["language"] = lang.into();
    }
    parse_record(record.to_string().as_bytes()).unwrap()
}

/// (rule id, turn, original matched text) of every finding.
fn found(engine: &Engine, call: &Call) -> Vec<(String, Option<usize>, String)> {
    engine
        .evaluate(call, &mut Scratch::default())
        .findings
        .iter()
        .map(|f| {
            let text = match (f.turn, f.span) {
                (Some(t), Some((s, e))) => call.turns[t].text[s..e].to_string(),
                _ => String::new(),
            };
            (engine.pack().rules()[f.rule].id.clone(), f.turn, text)
        })
        .collect()
}

fn ids(found: &[(String, Option<usize>, String)]) -> Vec<&str> {
    found.iter().map(|f| f.0.as_str()).collect()
}

#[test]
fn findings_per_call_table() {
    let engine = engine();
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        (
            &[("agent", "您好"), ("agent", "我保证今天到账")],
            None,
            &["OP-1"],
        ),
        (
            &[("agent", "您好"), ("agent", "这个不能保证，保证金另算")],
            None,
            &[],
        ),
        (&[("agent", "您好"), ("customer", "你保证吗")], None, &[]),
        (
            &[("agent", "喂"), ("agent", "您好")],
            Some("zh"),
            &["CMP-1"],
        ),
        (&[("agent", "您好，我理解，我不理解")], None, &["EMP-1"]),
        (
            &[(
                "agent",
                "I promise. I guarantee it. I can't guarantee more.",
            )],
            None,
            &["OP-2", "OP-2"],
        ),
        (&[("agent", "I PROMISE")], Some("zh"), &["CMP-1"]),
    ];
    for (turns, language, want) in cases {
        let got = found(&engine, &call(turns, *language));
        assert_eq!(ids(&got), *want, "{turns:?}: {got:?}");
    }
}

#[test]
fn traditional_and_full_width_text_reports_the_original_span() {
    let engine = engine();
    let got = found(&engine, &call(&[("agent", "您好，我們保證到賬")], None));
    assert_eq!(got, [("OP-1".to_string(), Some(0), "保證".to_string())]);
    let got = found(
        &engine,
        &call(&[("agent", "Ｉ ＰＲＯＭＩＳＥ")], Some("en")),
    );
    assert_eq!(
        got,
        [("OP-2".to_string(), Some(0), "Ｉ ＰＲＯＭＩＳＥ".to_string())]
    );
}

#[test]
fn missing_requirements_come_first() {
    let engine = engine();
    let got = found(&engine, &call(&[("agent", "喂，我保证")], Some("zh")));
    assert_eq!(ids(&got), ["CMP-1", "OP-1"]);
    assert_eq!(got[0].1, None);
}

#[test]
fn the_packs_own_examples_pass() {
    let (failures, run) = engine().test_examples();
    assert_eq!(run, 9);
    assert!(failures.is_empty(), "{failures:?}");
}
