//! `timing`: limits on what the turn timestamps show — the 7-second response principle, long
//! silences, talking over the customer, speaking too fast (for elderly callers).
//!
//! | metric | measured for each | `max` in |
//! |---|---|---|
//! | `response_gap` | turn of the speaker right after another speaker's turn: its start − that turn's end | seconds |
//! | `silence` | turn: its start − the latest end of the turns before it | seconds |
//! | `overlap` | turn of the speaker right after another speaker's turn: that turn's end − its start | seconds |
//! | `speech_rate` | turn of the speaker lasting at least 1 s: Chinese characters + other words per second | units/s |
//!
//! Every measure over `max` is one finding on that turn, with the measure in `detail`. Calls
//! in which any turn lacks `start_ms`/`end_ms` are not judged (never a false hit).
//! `examples.match` = the limit is exceeded.
//!
//! ```toml
//! [[rule]]
//! id = "TIM-001"
//! kind = "timing"
//! category = "compliance"
//! severity = "minor"
//! message = "客户说完后坐席超过7秒才回应（7秒响应原则）"
//! metric = "response_gap"
//! max = 7
//! examples.match = [{ turns = [
//!   { speaker = "customer", text = "我的卡被冻结了", start_ms = 0, end_ms = 2000 },
//!   { speaker = "agent", text = "好的", start_ms = 9500, end_ms = 10000 },
//! ] }]
//! examples.no_match = [{ turns = [
//!   { speaker = "customer", text = "我的卡被冻结了", start_ms = 0, end_ms = 2000 },
//!   { speaker = "agent", text = "好的", start_ms = 3000, end_ms = 4000 },
//! ] }]
//! ```

use super::{CallView, Finding, Verdict};
use crate::input::Turn;
use crate::rules::{Check, SpeakerScope, TimingMetric};

/// Shortest turn whose speech rate is judged; shorter ones are too noisy.
const MIN_RATE_MS: i64 = 1000;

pub(super) fn evaluate(index: usize, check: &Check, view: &CallView<'_>) -> Verdict {
    let Check::Timing {
        metric,
        max,
        speaker,
    } = check
    else {
        return Verdict {
            findings: Vec::new(),
            detected: false,
            evidence: Vec::new(),
        };
    };
    let turns = &view.call.turns;
    let mut findings = Vec::new();
    let mut latest_end: Option<i64> = None;
    for (i, turn) in turns.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| &turns[p]);
        // Speech rate counts the normalized text: ASR fillers and stutter are not content.
        let text = view.turns[i].as_str();
        if let Some((value, unit)) = measure(*metric, *speaker, turn, text, previous, latest_end)
            && value > *max
        {
            findings.push(Finding {
                rule: index,
                turn: Some(i),
                span: None,
                detail: Some(format!(
                    "{} {value:.1} {unit} > {max} {unit}",
                    metric.as_str()
                )),
            });
        }
        latest_end = latest_end.max(turn.end_ms);
    }
    Verdict {
        detected: !findings.is_empty(),
        findings,
        evidence: Vec::new(),
    }
}

/// The metric for `turn`, if it applies to this turn.
fn measure(
    metric: TimingMetric,
    speaker: SpeakerScope,
    turn: &Turn,
    text: &str,
    previous: Option<&Turn>,
    latest_end: Option<i64>,
) -> Option<(f64, &'static str)> {
    let start = turn.start_ms?;
    let end = turn.end_ms?;
    let changeover = previous
        .filter(|p| speaker.includes(turn.speaker) && !speaker.includes(p.speaker))
        .and_then(|p| p.end_ms);
    let seconds = |ms: i64| ms as f64 / 1000.0;
    match metric {
        TimingMetric::ResponseGap => changeover.map(|prev_end| (seconds(start - prev_end), "s")),
        TimingMetric::Overlap => changeover.map(|prev_end| (seconds(prev_end - start), "s")),
        TimingMetric::Silence => latest_end.map(|prev_end| (seconds(start - prev_end), "s")),
        TimingMetric::SpeechRate => (speaker.includes(turn.speaker) && end - start >= MIN_RATE_MS)
            .then(|| (speech_units(text) as f64 / seconds(end - start), "units/s")),
    }
}

/// Chinese characters plus words of other scripts: a rough count of spoken units.
fn speech_units(text: &str) -> usize {
    let mut units = 0;
    let mut in_word = false;
    for c in text.chars() {
        if crate::normalize::is_unified_ideograph(c) {
            units += 1;
            in_word = false;
        } else if c.is_alphanumeric() {
            units += usize::from(!in_word);
            in_word = true;
        } else {
            in_word = false;
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::speech_units;

    #[test]
    fn units() {
        assert_eq!(speech_units("您好，请问 OK 吗"), 6);
        assert_eq!(speech_units("thank you for calling"), 4);
        assert_eq!(speech_units(""), 0);
    }
}
