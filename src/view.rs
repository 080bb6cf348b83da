//! A call as a supervisor reads it in a terminal (`callqa show`): each turn with its speaker and
//! time, the matched text highlighted, and the rules' messages and approved wording in the
//! margin under the turn. Personal data is masked; colour only when asked (a terminal).

use std::fmt::Write;

use crate::engine::{Engine, Evaluation};
use crate::input::{Call, Speaker};
use crate::mask;

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const HIGHLIGHT: &str = "\x1b[30;43m";
const RESET: &str = "\x1b[0m";

/// The call as text; `color` adds ANSI colours, else matches are marked with «».
pub fn render(engine: &Engine, call: &Call, evaluation: &Evaluation, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let score = crate::score::score_call(engine, &evaluation.findings);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · agent {} · language {} · score {}{}",
        paint(BOLD, &call.call_id),
        call.agent_id,
        evaluation.language.as_str(),
        score.score,
        if score.auto_fail {
            paint(RED, " · AUTO-FAIL")
        } else {
            String::new()
        }
    );
    if evaluation.customer_anger > 0.0 {
        let _ = writeln!(
            out,
            "customer anger {:.2} ({})",
            evaluation.customer_anger,
            evaluation.anger_terms.join(", ")
        );
    }
    for f in evaluation.findings.iter().filter(|f| f.turn.is_none()) {
        let _ = writeln!(
            out,
            "{}",
            margin(engine, f.rule, f.detail.as_deref(), &paint)
        );
    }
    for (t, turn) in call.turns.iter().enumerate() {
        let here: Vec<_> = evaluation
            .findings
            .iter()
            .filter(|f| f.turn == Some(t))
            .collect();
        let spans: Vec<(usize, usize)> = here.iter().filter_map(|f| f.span).collect();
        let mut line = String::new();
        for (piece, marks) in mask::marked_pieces(&turn.text, &spans) {
            if marks.is_empty() {
                line.push_str(&piece);
            } else if color {
                line.push_str(&paint(HIGHLIGHT, &piece));
            } else {
                let _ = write!(line, "«{piece}»");
            }
        }
        let time = turn.start_ms.map_or("     ".to_string(), |ms| {
            format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
        });
        let who = match turn.speaker {
            Speaker::Agent => "agent   ",
            Speaker::Customer => "customer",
            Speaker::System => "system  ",
        };
        let _ = writeln!(out, "{} {} {line}", paint(DIM, &time), paint(BOLD, who));
        for f in here {
            let _ = writeln!(
                out,
                "{}",
                margin(engine, f.rule, f.detail.as_deref(), &paint)
            );
        }
    }
    out
}

fn margin(
    engine: &Engine,
    rule: usize,
    detail: Option<&str>,
    paint: &dyn Fn(&str, &str) -> String,
) -> String {
    let rule = &engine.pack().rules()[rule];
    let (mark, code) = if rule.is_reward() {
        ("+", GREEN)
    } else {
        ("-", RED)
    };
    let mut line = format!(
        "               {} {} ({}): {}",
        mark,
        rule.id,
        rule.severity.as_str(),
        rule.message
    );
    if let Some(detail) = detail {
        let _ = write!(line, " — {detail}");
    }
    if let Some(s) = &rule.suggestion {
        let _ = write!(line, " — say instead: {s}");
    }
    paint(code, &line)
}
