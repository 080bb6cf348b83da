//! ASR-text features through the whole engine: homophones, number placeholders, word
//! boundaries with negation. Each rule's examples are the table: `test_examples` runs them.

use super::*;

const PACK: &str = r#"
[[rule]]
id = "FZ-EXACT"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "exact by default"
phrases = ["马上解决"]
examples.match = ["我们马上解决", "我们馬上解決", "我们马上 解决", "我们嗯马上解决"]
examples.no_match = ["我们马尚解决", "我们马上借据"]

[[rule]]
id = "FZ-PINYIN"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "by sound"
phrases = ["马上解决"]
exclude = ["没法马上解决"]
fuzzy = "pinyin"
examples.match = ["我们马尚解决", "我们马上借觉", "我们妈上解决", "我们马上解决"]
examples.no_match = ["我们马山解决", "我们没法马尚解决", "马上就好"]

[[rule]]
id = "FZ-TONE"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "by sound with tones"
phrases = ["马上解决"]
fuzzy = "pinyin_tone"
examples.match = ["我们马尚解决", "我们马上解决"]
examples.no_match = ["我们妈上解决", "我们马山解决"]

[[rule]]
id = "FZ-SHORT"
kind = "reward"
category = "empathy"
severity = "info"
message = "one character never matches by sound"
phrases = ["好"]
fuzzy = "pinyin"
examples.match = ["好的"]
examples.no_match = ["号码"]

[[rule]]
id = "NUM-TIME"
kind = "reward"
category = "over_promising"
severity = "info"
message = "a concrete time bound"
phrases = ["{duration}内", "within {duration}"]
examples.match = ["两小时内给您回复", "2小时内给您回复", "二十四小时内", "24 小时内", "within 24 hours", "Within two business days", "半个小时内"]
examples.no_match = ["我们尽快给您回复", "今天内", "within reason"]

[[rule]]
id = "NUM-RANGE"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "a promise of more than 72 hours"
phrases = ["{num:73-100000}小时"]
examples.match = ["一百小时", "96小时"]
examples.no_match = ["七十二小时", "48小时", "二三小时"]

[[rule]]
id = "WB-NEG"
kind = "reward"
category = "empathy"
severity = "info"
message = "understanding, not its negation"
phrases = ["理解"]
negation = true
boundary = "word"
examples.match = ["我理解您的心情", "我我我理解您"]
examples.no_match = ["我不理解", "我不太能理解", "这个理解力"]

[[rule]]
id = "WB-DEPOSIT"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "a promise, not a deposit"
phrases = ["保证"]
boundary = "word"
examples.match = ["我向您保证", "我保 证"]
examples.no_match = ["您的保证金已退还"]
"#;

fn engine() -> Engine {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pack.toml"), PACK).unwrap();
    Engine::new(RulePack::load(dir.path()).unwrap()).unwrap()
}

#[test]
fn asr_rules_behave_as_their_examples_say() {
    let (failures, run) = engine().test_examples();
    assert!(run >= 40, "{run} examples");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn bad_placeholders_are_rule_errors_with_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let pack = PACK.replace("{num:73-100000}", "{num:100-1}");
    std::fs::write(dir.path().join("pack.toml"), pack).unwrap();
    let err = RulePack::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("NUM-RANGE") && err.contains("{num:MIN-MAX}"),
        "{err}"
    );
}

#[test]
fn fuzzy_is_not_a_key_of_other_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let pack = r#"
[[rule]]
id = "SEQ"
kind = "sequence"
category = "compliance"
severity = "minor"
message = "m"
fuzzy = "pinyin"
steps = [{ phrases = ["您好"] }, { phrases = ["再见"] }]
examples.match = ["您好再见"]
examples.no_match = ["再见"]
"#;
    std::fs::write(dir.path().join("pack.toml"), pack).unwrap();
    let err = RulePack::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("`fuzzy` is not used by `sequence`"), "{err}");
}
