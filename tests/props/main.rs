//! Property tests: no input, however odd, makes the library panic; normalization keeps its map
//! back to the original text; masking is stable. `PROPTEST_CASES` raises the number of cases (fuzz/run.sh).

use std::sync::OnceLock;

use callqa::engine::{Engine, Scratch};
use callqa::input::{Call, Speaker, Turn, parse_record};
use callqa::normalize::{NormText, Normalizer};
use callqa::rules::RulePack;
use proptest::prelude::*;

fn normalizer() -> &'static Normalizer {
    static N: OnceLock<Normalizer> = OnceLock::new();
    N.get_or_init(Normalizer::new)
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        Engine::new(RulePack::load(&dir).expect("the bundled pack loads")).expect("it compiles")
    })
}

/// Text mixing the scripts and troublemakers transcripts contain.
fn transcript_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "您好",
        "保证",
        "不能保证",
        "保证金",
        "馬上解決",
        "我理解",
        "抱歉",
        "请",
        "感谢您的来电",
        "ＯＫ",
        "I guarantee",
        "I can't promise",
        " ",
        "\t",
        "\u{301}",
        "e",
        "，",
        "。",
        "100%",
        "\u{0}",
        "İ",
        "ß",
        "ﬁ",
        "㈱",
        "🙂",
        "\u{200b}",
        "投诉",
        "12315",
        // ASR disfluencies, homophones and numbers
        "嗯",
        "那个",
        "就是说",
        "我我",
        "谢谢",
        "马尚",
        "两小时内",
        "二十四",
    ]);
    prop::collection::vec(
        prop_oneof![pieces.prop_map(String::from), any::<String>()],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn check_map(src: &str) {
    let mut out = NormText::default();
    normalizer().normalize_into(src, &mut out);
    let text = out.as_str();
    for (start, c) in text.char_indices() {
        let (s, e) = out.original_span(start, start + c.len_utf8());
        assert!(s < e && e <= src.len(), "{src:?}: {s}..{e}");
        assert!(
            src.is_char_boundary(s) && src.is_char_boundary(e),
            "{src:?}"
        );
    }
    // Normalizing is idempotent, so phrases and text meet in the same form.
    assert_eq!(normalizer().normalize(text), text, "{src:?}");
}

fn speaker() -> impl Strategy<Value = Speaker> {
    prop::sample::select(vec![Speaker::Agent, Speaker::Customer, Speaker::System])
}

fn call() -> impl Strategy<Value = Call> {
    let turn = (
        speaker(),
        transcript_text(),
        any::<Option<u16>>(),
        any::<u16>(),
    )
        .prop_map(|(speaker, text, start, length)| Turn {
            speaker,
            text,
            start_ms: start.map(i64::from),
            end_ms: start.map(|s| i64::from(s) + i64::from(length)),
        });
    (
        prop::collection::vec(turn, 1..8),
        prop::option::of(prop::sample::select(vec!["zh", "en", "fr", "zh-Hant", ""])),
    )
        .prop_map(|(turns, language)| Call {
            call_id: "p".into(),
            agent_id: "a".into(),
            started_at: None,
            channel: None,
            language: language.map(String::from),
            customer_id: None,
            turns,
        })
}

proptest! {
    #[test]
    fn normalization_maps_every_byte_back(src in transcript_text()) {
        check_map(&src);
    }

    #[test]
    fn masking_is_stable_and_keeps_spans_in_bounds(
        src in prop_oneof![transcript_text(), "[0-9 +幺一二三四五六七八九零X@a-z.-]{0,40}"],
        a in 0usize..64,
        b in 0usize..64,
    ) {
        let mask = callqa::mask::mask;
        let once = mask(&src);
        prop_assert_eq!(mask(&once), once.clone());
        let (mut a, mut b) = (a.min(src.len()), b.min(src.len()));
        while !src.is_char_boundary(a) { a -= 1; }
        while !src.is_char_boundary(b) { b -= 1; }
        let mut spans = [(a.min(b), a.max(b))];
        let masked = callqa::mask::mask_spans(&src, &mut spans);
        prop_assert!(spans[0].0 <= spans[0].1 && spans[0].1 <= masked.len());
        prop_assert!(masked.is_char_boundary(spans[0].0) && masked.is_char_boundary(spans[0].1));
    }

    #[test]
    fn parsing_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_record(&bytes);
    }

    #[test]
    fn parsing_never_panics_on_json_shapes(
        call_id in prop::option::of(any::<String>()),
        turns in prop::collection::vec((any::<String>(), any::<String>(), any::<i64>(), any::<i64>()), 0..4),
    ) {
        let turns: Vec<_> = turns
            .into_iter()
            .map(|(speaker, text, start, end)| serde_json::json!({"speaker": speaker, "text": text, "start_ms": start, "end_ms": end}))
            .collect();
        let record = serde_json::json!({"call_id": call_id, "agent_id": "a", "turns": turns});
        if let Ok(call) = parse_record(record.to_string().as_bytes()) {
            for turn in &call.turns {
                prop_assert!(turn.start_ms.unwrap_or(0) >= 0);
                prop_assert!(turn.end_ms >= turn.start_ms || turn.start_ms.is_none() || turn.end_ms.is_none());
            }
        }
    }

    #[test]
    fn scoring_never_panics_and_spans_are_in_the_text(call in call()) {
        let evaluation = engine().evaluate(&call, &mut Scratch::default());
        for finding in &evaluation.findings {
            if let (Some(turn), Some((s, e))) = (finding.turn, finding.span) {
                let text = &call.turns[turn].text;
                prop_assert!(s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e));
            }
        }
        let score = callqa::score::score_call(engine(), &evaluation.findings);
        prop_assert!((0..=100).contains(&score.score));
    }

    #[test]
    fn rule_loading_never_panics(text in rule_text()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.toml"), &text).unwrap();
        if let Err(e) = RulePack::load(dir.path()) {
            for problem in e.rule_problems() {
                prop_assert!(problem.file.ends_with("p.toml") || problem.file == dir.path());
            }
        }
    }
}

/// Rule files assembled from plausible and implausible lines.
fn rule_text() -> impl Strategy<Value = String> {
    let lines = prop::sample::select(vec![
        "[[rule]]",
        "id = \"X-1\"",
        "id = \"X 1\"",
        "kind = \"forbid\"",
        "kind = \"sequence\"",
        "kind = \"timing\"",
        "kind = \"response\"",
        "category = \"compliance\"",
        "severity = \"major\"",
        "severity = \"huge\"",
        "message = \"m\"",
        "phrases = [\"保证\"]",
        "phrases = []",
        "regex = ['(']",
        "regex = ['a*']",
        "exclude = [\"保证金\"]",
        "scope = { first_turns = 0 }",
        "negation = true",
        "near = { phrases = [\"x\"], within_chars = 3 }",
        "all = [{ phrases = [\"a\"] }, { not = { phrases = [\"b\"] } }]",
        "steps = [{ phrases = [\"a\"] }, { phrases = [\"b\"] }]",
        "metric = \"silence\"",
        "max = -1.0",
        "trigger = { phrases = [\"t\"] }",
        "response = { phrases = [\"r\"] }",
        "within_turns = 0",
        "examples.match = [\"保证\"]",
        "examples.no_match = [\"b\"]",
        "min_count = 3",
        "max_count = 2",
        "boundary = \"word\"",
        "when = { phrases = [\"w\"] }",
        "unknown = 1",
        "= =",
        "\"",
    ]);
    prop::collection::vec(lines, 0..30).prop_map(|l| l.join("\n"))
}
