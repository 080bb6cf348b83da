//! Rules in plain words, for `callqa rules explain` and `rules list`.

use std::fmt::Write;

use super::model::{Check, Condition, Distance, Leaf, Rule, Scope, SpeakerScope};

/// One line: what the rule looks for.
pub fn summary(rule: &Rule) -> String {
    match &rule.check {
        Check::Forbid { condition, .. } => format!("forbids {}", condition_words(condition)),
        Check::Require {
            condition,
            min_count,
        } if *min_count > 1 => {
            format!("requires {min_count}× {}", condition_words(condition))
        }
        Check::Require { condition, .. } => format!("requires {}", condition_words(condition)),
        Check::Reward { condition } => format!("rewards {}", condition_words(condition)),
        Check::Sequence { steps, .. } => {
            let steps: Vec<String> = steps.iter().map(condition_words).collect();
            format!("requires in order: {}", steps.join(" → "))
        }
        Check::Response {
            trigger, response, ..
        } => format!(
            "after {} requires {}",
            condition_words(trigger),
            condition_words(response)
        ),
        Check::Timing { metric, max, .. } => format!("limits {} to {max}", metric.as_str()),
        Check::Similar(similar) => format!(
            "finds turns similar (≥ {}) to {}",
            similar.threshold,
            quoted(&similar.like)
        ),
    }
}

/// The rule in a few plain sentences, with its examples.
pub fn explain(rule: &Rule) -> String {
    let mut out = String::new();
    let sign = if rule.is_reward() { "+" } else { "−" };
    let _ = writeln!(
        out,
        "{} — {} rule, category {}, severity {}, {}{} points (at most {} per call)",
        rule.id,
        rule.kind.as_str(),
        rule.category,
        rule.severity.as_str(),
        sign,
        rule.points,
        rule.cap
    );
    let _ = writeln!(out, "defined at {}:{}", rule.file.display(), rule.line);
    let lang = match rule.lang.as_str() {
        "any" => "all calls".to_string(),
        l => format!("{l} calls"),
    };
    let _ = writeln!(out, "applies to: {lang}");
    if let Some(when) = &rule.when {
        let _ = writeln!(out, "only when: {}", condition_words(when));
    }
    let _ = writeln!(out, "checks: {}", summary(rule));
    match &rule.check {
        Check::Forbid { max_count, .. } if *max_count > 0 => {
            let _ = writeln!(out, "the first {max_count} occurrence(s) are allowed");
        }
        Check::Sequence {
            within_turns: Some(n),
            ..
        } => {
            let _ = writeln!(out, "all steps within {n} turns of the first");
        }
        Check::Similar(similar) if !similar.unlike.is_empty() => {
            let _ = writeln!(out, "but not turns closer to {}", quoted(&similar.unlike));
        }
        Check::Response { within_turns, .. } => {
            let _ = writeln!(
                out,
                "the response must come within {within_turns} turn(s) of the {}",
                rule.speaker.as_str()
            );
        }
        _ => {}
    }
    let _ = writeln!(out, "message: {}", rule.message);
    if let Some(s) = &rule.suggestion {
        let _ = writeln!(out, "say instead: {s}");
    }
    for (label, should) in [("must match", true), ("must not match", false)] {
        let examples: Vec<String> = rule
            .examples
            .iter()
            .filter(|e| e.should_match == should)
            .map(|e| e.describe())
            .collect();
        if !examples.is_empty() {
            let _ = writeln!(out, "examples that {label}:");
            for e in examples {
                let _ = writeln!(out, "  - {e}");
            }
        }
    }
    out
}

fn condition_words(condition: &Condition) -> String {
    match condition {
        Condition::Leaf(leaf) => leaf_words(leaf),
        Condition::All(items) => join(items, " and "),
        Condition::Any(items) => join(items, " or "),
        Condition::Not(inner) => format!("no {}", condition_words(inner)),
    }
}

fn join(items: &[Condition], separator: &str) -> String {
    let parts: Vec<String> = items.iter().map(condition_words).collect();
    format!("({})", parts.join(separator))
}

fn leaf_words(leaf: &Leaf) -> String {
    let mut parts: Vec<String> = leaf.phrases.iter().map(|p| format!("“{p}”")).collect();
    parts.extend(leaf.regexes.iter().map(|r| format!("/{}/", r.as_str())));
    let mut out = format!(
        "{} said by {}",
        parts.join(" / "),
        speaker_words(leaf.speaker)
    );
    match leaf.scope {
        Scope::Whole => {}
        Scope::FirstTurns(n) => out += &format!(" in their first {n} turn(s)"),
        Scope::LastTurns(n) => out += &format!(" in their last {n} turn(s)"),
        Scope::FirstMs(ms) => out += &format!(" in the first {} s", ms / 1000),
        Scope::LastMs(ms) => out += &format!(" in the last {} s", ms / 1000),
    }
    if !leaf.exclude.is_empty() {
        out += &format!(", not as part of {}", leaf.exclude.join(" / "));
    }
    if let Some(n) = &leaf.negation {
        out += &format!(
            ", not negated (no negator within {} characters or words before)",
            n.window
        );
    }
    if leaf.word_boundary {
        out += ", as whole words";
    }
    match leaf.fuzzy {
        super::Fuzzy::Exact => {}
        super::Fuzzy::Pinyin => out += ", or anything that sounds the same (pinyin, any tone)",
        super::Fuzzy::PinyinTone => out += ", or anything that sounds the same (pinyin and tones)",
    }
    if let Some(near) = &leaf.near {
        let distance = match near.within {
            Distance::Chars(n) => format!("{n} characters"),
            Distance::Turns(n) => format!("{n} turns"),
        };
        out += &format!(", within {distance} of {}", near.phrases.join(" / "));
    }
    out
}

fn speaker_words(speaker: SpeakerScope) -> &'static str {
    match speaker {
        SpeakerScope::Agent => "the agent",
        SpeakerScope::Customer => "the customer",
        SpeakerScope::Any => "anyone",
    }
}

/// Sentences as a quoted list: "a" / "b".
fn quoted(sentences: &[String]) -> String {
    let quoted: Vec<String> = sentences.iter().map(|s| format!("{s:?}")).collect();
    quoted.join(" / ")
}
