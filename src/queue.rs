//! The review queue: which calls a supervisor should look at first, and why.
//!
//! Each call gets an integer `risk` from what a supervisor cares about, each part with its
//! reason:
//!
//! | part | points |
//! |---|---|
//! | the call auto-failed (a fatal violation) | 400 |
//! | a low score | 3 per point below 100 |
//! | an angry customer (anger ≥ 0.5) and no empathy reward in the call | 200 |
//! | the customer's anger itself | 100 × anger |
//! | repeat contact: the same `customer_id` calls more than once in the run | 100 |
//!
//! `review_rank` orders all calls of the run by risk (highest first, ties by `call_id`), so
//! `review_rank = 1` is the call to open first.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::engine::{Engine, Evaluation};
use crate::error::Result;
use crate::score::CallScore;

const AUTO_FAIL: u32 = 400;
const PER_POINT_BELOW_100: u32 = 3;
const ANGRY_WITHOUT_EMPATHY: u32 = 200;
const ANGER_SCALE: f64 = 100.0;
const REPEAT_CONTACT: u32 = 100;
/// Anger at which a customer counts as angry.
pub const ANGRY: f64 = 0.5;

/// The part of a call's risk known when it is scored, with the reasons.
pub fn base_risk(
    engine: &Engine,
    score: &CallScore,
    evaluation: &Evaluation,
) -> (u32, Vec<String>) {
    let mut risk = 0;
    let mut reasons = Vec::new();
    if score.auto_fail {
        risk += AUTO_FAIL;
        reasons.push("auto-fail".to_string());
    }
    if score.score < 100 {
        risk += PER_POINT_BELOW_100 * (100 - score.score.max(0)) as u32;
        if !score.auto_fail {
            reasons.push(format!("score {}", score.score));
        }
    }
    let anger = evaluation.customer_anger;
    if anger > 0.0 {
        risk += (anger * ANGER_SCALE).round() as u32;
    }
    if anger >= ANGRY {
        let empathy = evaluation.findings.iter().any(|f| {
            let rule = &engine.pack().rules()[f.rule];
            rule.is_reward() && rule.category == "empathy"
        });
        let terms = evaluation.anger_terms.join(", ");
        if empathy {
            reasons.push(format!("angry customer ({terms})"));
        } else {
            risk += ANGRY_WITHOUT_EMPATHY;
            reasons.push(format!("angry customer ({terms}), no empathy"));
        }
    }
    (risk, reasons)
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
    per_customer: HashMap<Box<str>, Customer>,
    /// Calls per final risk.
    per_risk: BTreeMap<u32, u64>,
}

impl Ranking {
    pub fn add(&mut self, customer_id: Option<&str>, base: u32) {
        let Some(customer) = customer_id else {
            self.count(base, 1);
            return;
        };
        let entry = match self.per_customer.get_mut(customer) {
            Some(entry) => entry,
            None => self
                .per_customer
                .entry(customer.into())
                .or_insert(Customer {
                    calls: 0,
                    first_base: base,
                }),
        };
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
    per_customer: HashMap<Box<str>, Customer>,
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
            ranking.add(customer, base);
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
