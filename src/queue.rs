//! The review queue: which calls a supervisor should look at first, and why.
//!
//! Each call gets an integer `risk` from what a supervisor cares about, each part with its
//! reason:
//!
//! | part | points | with a review model (`run --model`) |
//! |---|---|---|
//! | the call auto-failed (a fatal violation) | 400 | 400 × the highest confidence among the fatal findings |
//! | a low score | 3 per point below 100 | 3 × Σ (points lost by a finding × its confidence) |
//! | an angry customer (anger ≥ 0.5) and no empathy reward in the call | 200 | the same |
//! | the customer's anger itself | 100 × anger | the same |
//! | repeat contact: the same `customer_id` calls more than once in the run | 100 | the same |
//!
//! With a model, the points a call lost (100 − score) are shared among its violations in
//! proportion to their rules' points before caps (a fatal finding counts 100: it takes the
//! whole score), and each share is weighed by the finding's confidence — a call whose findings
//! reviewers would likely overturn drops down the queue. Each weighed part is rounded to an
//! integer. A reviewer's decision (`run --overrides`) beats the model: an overturned finding
//! does not count at all (as without a model), an added or confirmed one counts with
//! confidence 1. The reasons say it: `auto-fail (confidence 0.31)`, `score 72, expected 91
//! after review`. Without a model every part is exactly as in the left column.
//!
//! `review_rank` orders all calls of the run by risk (highest first, ties by `call_id`), so
//! `review_rank = 1` is the call to open first.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::engine::Engine;
use crate::error::Result;
use crate::keyed::KeyedMap;
use crate::output::ScoredCall;

const AUTO_FAIL: u32 = 400;
const PER_POINT_BELOW_100: u32 = 3;
const ANGRY_WITHOUT_EMPATHY: u32 = 200;
const ANGER_SCALE: f64 = 100.0;
const REPEAT_CONTACT: u32 = 100;
/// Anger at which a customer counts as angry.
pub const ANGRY: f64 = 0.5;
/// The points a fatal finding takes from the score (all of them), for sharing the loss.
pub const FATAL_LOST: u32 = 100;

/// A violation of a call, as the risk weighs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weighed {
    /// Its rule's points before caps ([`FATAL_LOST`] for a fatal one).
    pub lost: u32,
    pub fatal: bool,
    /// How likely reviewers confirm it (1 when a reviewer did).
    pub confidence: f64,
    /// A reviewer added or confirmed it (`--overrides`).
    pub by_reviewer: bool,
}

/// The part of a call's risk known when it is scored, with the reasons: its counted findings
/// (not overturned by a reviewer), weighed by their confidence when the run has a model.
/// `confirmed(rule)` says whether a reviewer confirmed that rule on this call.
pub fn base_risk(
    engine: &Engine,
    call: &ScoredCall,
    confirmed: impl Fn(usize) -> bool,
) -> (u32, Vec<String>) {
    let rules = engine.pack().rules();
    let counted = call.findings.iter().filter(|f| f.counts());
    let weighed: Option<Vec<Weighed>> = engine.review_model().map(|_| {
        counted
            .clone()
            .filter(|f| !rules[f.rule].is_reward())
            .map(|f| {
                let rule = &rules[f.rule];
                let fatal = engine.pack().scorecard().is_fatal(rule.severity);
                let by_reviewer = f.overridden.is_some() || confirmed(f.rule);
                Weighed {
                    lost: if fatal { FATAL_LOST } else { rule.points },
                    fatal,
                    confidence: match (&f.confidence, by_reviewer) {
                        (Some((c, _)), false) => *c,
                        _ => 1.0,
                    },
                    by_reviewer,
                }
            })
            .collect()
    });
    let (mut risk, mut reasons) =
        finding_risk(call.score.score, call.score.auto_fail, weighed.as_deref());
    let anger = call.row.customer_anger;
    if anger > 0.0 {
        risk += (anger * ANGER_SCALE).round() as u32;
    }
    if anger >= ANGRY {
        let empathy = counted.clone().any(|f| {
            let rule = &rules[f.rule];
            rule.is_reward() && rule.category == "empathy"
        });
        let terms = call.row.anger_terms.join(", ");
        if empathy {
            reasons.push(format!("angry customer ({terms})"));
        } else {
            risk += ANGRY_WITHOUT_EMPATHY;
            reasons.push(format!("angry customer ({terms}), no empathy"));
        }
    }
    (risk, reasons)
}

/// The finding-driven parts of the risk (auto-fail, low score) and their reasons: in full
/// without a model (`weighed` = `None`), else weighed by the violations' confidences.
pub fn finding_risk(
    score: i32,
    auto_fail: bool,
    weighed: Option<&[Weighed]>,
) -> (u32, Vec<String>) {
    let below = (100 - score.max(0)).max(0) as u32;
    let mut reasons = Vec::new();
    let Some(weighed) = weighed else {
        // Integers only, as before there was a model: runs without one keep their bytes.
        if auto_fail {
            reasons.push("auto-fail".to_string());
        } else if below > 0 {
            reasons.push(format!("score {score}"));
        }
        return (
            u32::from(auto_fail) * AUTO_FAIL + PER_POINT_BELOW_100 * below,
            reasons,
        );
    };
    let mut risk = 0;
    if auto_fail {
        let fatal = weighed
            .iter()
            .filter(|w| w.fatal)
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
        let confidence = fatal.map_or(1.0, |w| w.confidence);
        risk += (f64::from(AUTO_FAIL) * confidence).round() as u32;
        reasons.push(match fatal {
            Some(w) if w.by_reviewer => "auto-fail (confirmed by a reviewer)".to_string(),
            _ => format!("auto-fail (confidence {confidence:.2})"),
        });
    }
    if below > 0 {
        let lost = expected_loss(below, weighed);
        risk += (f64::from(PER_POINT_BELOW_100) * lost).round() as u32;
        let expected = (100.0 - lost).round() as i32;
        if auto_fail {
            // The auto-fail reason says enough (the score is 0).
        } else if expected == score {
            reasons.push(format!("score {score}"));
        } else {
            reasons.push(format!("score {score}, expected {expected} after review"));
        }
    }
    (risk, reasons)
}

/// The points below 100 a call is expected to keep losing after review: its loss shared among
/// its violations in proportion to their points, each share times the violation's confidence.
fn expected_loss(below: u32, weighed: &[Weighed]) -> f64 {
    let total: f64 = weighed.iter().map(|w| f64::from(w.lost)).sum();
    if total == 0.0 {
        // Nothing to weigh (violations of 0 points): the loss stands.
        return f64::from(below);
    }
    let confirmed: f64 = weighed
        .iter()
        .map(|w| f64::from(w.lost) * w.confidence)
        .sum();
    f64::from(below) * confirmed / total
}

/// A call's final place in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ranked {
    pub risk: u32,
    /// 1 = review first.
    pub rank: u64,
    /// Calls of this call's customer in the run (0 when the call has no `customer_id`).
    pub customer_calls: u32,
}

/// A customer's calls so far, and the base risk of the first (which moves up by
/// [`REPEAT_CONTACT`] once a second call arrives).
#[derive(Clone, Copy)]
struct Customer {
    calls: u32,
    first_base: u32,
}

/// Collects what ranking needs while the calls are scored, without keeping the calls: a count
/// of calls per final risk, and per customer their number of calls. A call's rank is then
/// known from its risk alone once the calls come back in `call_id` order (see [`Ranks`]), so
/// memory grows with the customers of a night, not with its calls.
#[derive(Default)]
pub struct Ranking {
    per_customer: KeyedMap<Customer>,
    /// Calls per final risk.
    per_risk: BTreeMap<u32, u64>,
}

impl Ranking {
    pub fn add(&mut self, customer_id: Option<&str>, base: u32) -> Result<()> {
        let Some(customer) = customer_id else {
            self.count(base, 1);
            return Ok(());
        };
        let first = Customer {
            calls: 0,
            first_base: base,
        };
        let (entry, _) = self.per_customer.get_or_insert(customer, first)?;
        entry.calls += 1;
        let (calls, first_base) = (entry.calls, entry.first_base);
        match calls {
            1 => self.count(base, 1),
            2 => {
                // the first call turns out to be a repeat contact too
                self.count(first_base, -1);
                self.count(first_base + REPEAT_CONTACT, 1);
                self.count(base + REPEAT_CONTACT, 1);
            }
            _ => self.count(base + REPEAT_CONTACT, 1),
        }
        Ok(())
    }

    fn count(&mut self, risk: u32, delta: i64) {
        let n = self.per_risk.entry(risk).or_default();
        *n = n.saturating_add_signed(delta);
    }

    /// The ranks, to be asked call by call in `call_id` order.
    pub fn finish(self) -> Ranks {
        let mut ahead = 0;
        let mut first_rank = BTreeMap::new();
        for (&risk, &calls) in self.per_risk.iter().rev() {
            first_rank.insert(risk, ahead + 1);
            ahead += calls;
        }
        Ranks {
            per_customer: self.per_customer,
            first_rank,
        }
    }
}

/// Each call's final risk and rank: the calls are ordered by risk (highest first), ties by
/// `call_id`, so a call's rank is the first rank of its risk plus the calls of the same risk
/// already seen, when they are asked in `call_id` order.
pub struct Ranks {
    per_customer: KeyedMap<Customer>,
    /// For each final risk, the rank of its first call in `call_id` order (then the next one).
    first_rank: BTreeMap<u32, u64>,
}

impl Ranks {
    /// The call's place; calls must be asked in `call_id` order, each once.
    pub fn next(&mut self, customer_id: Option<&str>, base: u32) -> Ranked {
        let customer_calls = customer_id
            .and_then(|c| self.per_customer.get(c))
            .map_or(0, |c| c.calls);
        let risk = base
            + if customer_calls > 1 {
                REPEAT_CONTACT
            } else {
                0
            };
        let rank = self.first_rank.entry(risk).or_insert(1);
        let ranked = Ranked {
            risk,
            rank: *rank,
            customer_calls,
        };
        *rank += 1;
        ranked
    }
}

/// The reason text for repeat contact, when it applies.
pub fn repeat_reason(customer_calls: u32) -> Option<String> {
    (customer_calls > 1).then(|| format!("repeat contact ({customer_calls} calls)"))
}

/// One line of `callqa queue`.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueRow {
    pub rank: i64,
    pub call_id: String,
    pub agent_id: String,
    pub score: i32,
    pub risk: i32,
    pub reasons: String,
}

/// The `top` calls of a finished run's review queue, read from its `calls.parquet`.
pub fn read_queue(out: &Path, top: usize) -> Result<Vec<QueueRow>> {
    use arrow_array::{Array, Int32Array, Int64Array, StringArray};
    let mut rows = Vec::new();
    crate::output::read::for_each_batch(&out.join(crate::output::CALLS_FILE), |batch| {
        let ids = batch.column::<StringArray>("call_id")?;
        let agents = batch.column::<StringArray>("agent_id")?;
        let reasons = batch.column::<StringArray>("risk_reasons")?;
        let ranks = batch.column::<Int64Array>("review_rank")?;
        let scores = batch.column::<Int32Array>("score")?;
        let risks = batch.column::<Int32Array>("risk")?;
        for i in 0..ids.len() {
            if (ranks.value(i) as usize) <= top {
                rows.push(QueueRow {
                    rank: ranks.value(i),
                    call_id: ids.value(i).to_string(),
                    agent_id: agents.value(i).to_string(),
                    score: scores.value(i),
                    risk: risks.value(i),
                    reasons: reasons.value(i).to_string(),
                });
            }
        }
        Ok(true)
    })?;
    rows.sort_by_key(|r| r.rank);
    Ok(rows)
}

/// One line of `callqa queue --findings`.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingQueueRow {
    pub call_id: String,
    pub rule_id: String,
    pub turn_index: Option<i32>,
    pub confidence: Option<f64>,
    /// The confidence's top features, or the rule's message without a model.
    pub why: String,
    review_rank: i64,
}

/// The `top` findings to review first: by `confidence` (most likely confirmed first) when the
/// run had a review model, then by the call's review rank and turn.
pub fn read_finding_queue(out: &Path, top: usize) -> Result<Vec<FindingQueueRow>> {
    use arrow_array::{Array, Float64Array, Int32Array, StringArray};
    let ranks: HashMap<String, i64> = read_queue(out, usize::MAX)?
        .into_iter()
        .map(|r| (r.call_id, r.rank))
        .collect();
    let mut rows = Vec::new();
    crate::output::read::for_each_batch(&out.join(crate::output::FINDINGS_FILE), |batch| {
        let ids = batch.column::<StringArray>("call_id")?;
        let rules = batch.column::<StringArray>("rule_id")?;
        let turns = batch.column::<Int32Array>("turn_index")?;
        let messages = batch.column::<StringArray>("message")?;
        // Runs from before the review model have no confidence columns: rank order then.
        let confidence = batch.optional_column::<Float64Array>("confidence")?;
        let features = batch.optional_column::<StringArray>("confidence_features")?;
        let overridden = batch.optional_column::<StringArray>("overridden")?;
        for i in 0..ids.len() {
            // A reviewer already decided these (overturned or added): nothing left to review.
            if overridden.as_ref().is_some_and(|o| o.is_valid(i)) {
                continue;
            }
            let scored = confidence.as_ref().filter(|c| c.is_valid(i));
            let why = match (scored, &features) {
                (Some(_), Some(features)) => features.value(i),
                _ => messages.value(i),
            };
            rows.push(FindingQueueRow {
                call_id: ids.value(i).to_string(),
                rule_id: rules.value(i).to_string(),
                turn_index: turns.is_valid(i).then(|| turns.value(i)),
                confidence: scored.map(|c| c.value(i)),
                why: why.to_string(),
                review_rank: ranks.get(ids.value(i)).copied().unwrap_or(i64::MAX),
            });
        }
        Ok(true)
    })?;
    rows.sort_by(|a, b| {
        let by_model = b
            .confidence
            .unwrap_or(0.0)
            .total_cmp(&a.confidence.unwrap_or(0.0));
        by_model.then_with(|| {
            (a.review_rank, &a.call_id, a.turn_index).cmp(&(
                b.review_rank,
                &b.call_id,
                b.turn_index,
            ))
        })
    });
    rows.truncate(top);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weighed(lost: u32, fatal: bool, confidence: f64, by_reviewer: bool) -> Weighed {
        Weighed {
            lost,
            fatal,
            confidence,
            by_reviewer,
        }
    }

    #[test]
    fn finding_risk_weighs_the_loss_by_confidence() {
        let fatal = |c| weighed(FATAL_LOST, true, c, false);
        let minor = |c| weighed(2, false, c, false);
        let major = |c| weighed(5, false, c, false);
        // (score, auto-fail, violations or None without a model) → (risk, reasons)
        type Case = (i32, bool, Option<Vec<Weighed>>, u32, &'static str);
        let cases: Vec<Case> = vec![
            (100, false, None, 0, ""),
            (72, false, None, 84, "score 72"),
            (0, true, None, 700, "auto-fail"),
            // Every confidence 1: the same risk as without a model.
            (
                93,
                false,
                Some(vec![major(1.0), minor(1.0)]),
                21,
                "score 93",
            ),
            (
                0,
                true,
                Some(vec![fatal(1.0)]),
                700,
                "auto-fail (confidence 1.00)",
            ),
            // 7 points lost, 5 of them by a finding reviewers would overturn: 2.2 expected.
            (
                93,
                false,
                Some(vec![major(0.04), minor(1.0)]),
                7,
                "score 93, expected 98 after review",
            ),
            // Rounded once per part: 400 × 0.31 = 124, 3 × 100 × 0.31 = 93.
            (
                0,
                true,
                Some(vec![fatal(0.31)]),
                217,
                "auto-fail (confidence 0.31)",
            ),
            // The most likely fatal finding decides; a reviewer's word beats the model.
            (
                0,
                true,
                Some(vec![fatal(0.2), weighed(FATAL_LOST, true, 1.0, true)]),
                580,
                "auto-fail (confirmed by a reviewer)",
            ),
            // Violations of 0 points: nothing to share the loss among, it stands.
            (
                90,
                false,
                Some(vec![weighed(0, false, 0.1, false)]),
                30,
                "score 90",
            ),
        ];
        for (score, auto_fail, weighed, risk, reasons) in cases {
            let got = finding_risk(score, auto_fail, weighed.as_deref());
            assert_eq!(
                (got.0, got.1.join("; ").as_str()),
                (risk, reasons),
                "{weighed:?}"
            );
        }
    }

    #[test]
    fn ranking_adds_repeat_contact_and_breaks_ties_by_id() {
        let calls = [
            ("c", Some("u1"), 50),
            ("a", Some("u2"), 120),
            ("b", Some("u1"), 20),
            ("d", None, 120),
            ("e", Some("u3"), 130),
            ("f", Some("u3"), 0),
            ("g", Some("u3"), 10),
        ];
        let mut ranking = Ranking::default();
        for (_, customer, base) in calls {
            ranking.add(customer, base).expect("seven customers fit");
        }
        let mut ranks = ranking.finish();
        let mut by_id = calls.to_vec();
        by_id.sort();
        let summary: Vec<(&str, u32, u64, u32)> = by_id
            .iter()
            .map(|&(id, customer, base)| {
                let r = ranks.next(customer, base);
                (id, r.risk, r.rank, r.customer_calls)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("a", 120, 3, 1),
                ("b", 120, 4, 2),
                ("c", 150, 2, 2),
                ("d", 120, 5, 0),
                ("e", 230, 1, 3),
                ("f", 100, 7, 3),
                ("g", 110, 6, 3),
            ]
        );
    }
}
