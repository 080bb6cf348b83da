//! Micro-benchmarks per call: normalize, match (evaluate), score. `cargo bench`.

use std::path::Path;

use callqa::engine::{Engine, Scratch};
use callqa::input::parse_record;
use callqa::normalize::{NormText, Normalizer};
use callqa::rules::RulePack;
use criterion::{Criterion, criterion_group, criterion_main};

fn fixture_calls() -> Vec<callqa::input::Call> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        "fixtures/calls/zh.jsonl",
        "fixtures/calls/zh_hant.jsonl",
        "fixtures/calls/en.jsonl",
    ]
    .iter()
    .flat_map(|f| {
        std::fs::read_to_string(root.join(f))
            .expect("fixture exists")
            .lines()
            .map(|l| parse_record(l.as_bytes()).expect("fixture call is valid"))
            .collect::<Vec<_>>()
    })
    .collect()
}

fn benches(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = Engine::new(RulePack::load(&root.join("rules")).expect("pack loads"))
        .expect("pack compiles");
    let calls = fixture_calls();
    let normalizer = Normalizer::new();
    let mut norm = NormText::default();
    c.bench_function("normalize per call", |b| {
        let mut i = 0;
        b.iter(|| {
            let call = &calls[i % calls.len()];
            i += 1;
            for turn in &call.turns {
                normalizer.normalize_into(&turn.text, &mut norm);
            }
        })
    });
    let mut scratch = Scratch::default();
    c.bench_function("evaluate per call (normalize + match + rules)", |b| {
        let mut i = 0;
        b.iter(|| {
            let call = &calls[i % calls.len()];
            i += 1;
            engine.evaluate(call, &mut scratch)
        })
    });
    let evaluations: Vec<_> = calls
        .iter()
        .map(|c| engine.evaluate(c, &mut scratch))
        .collect();
    c.bench_function("score per call", |b| {
        let mut i = 0;
        b.iter(|| {
            let e = &evaluations[i % evaluations.len()];
            i += 1;
            callqa::score::score_call(&engine, &e.findings)
        })
    });
    let lines: Vec<String> = std::fs::read_to_string(root.join("fixtures/calls/zh.jsonl"))
        .expect("fixture exists")
        .lines()
        .map(String::from)
        .collect();
    c.bench_function("parse per call", |b| {
        let mut i = 0;
        b.iter(|| {
            let line = &lines[i % lines.len()];
            i += 1;
            parse_record(line.as_bytes())
        })
    });
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
