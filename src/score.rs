//! Scores: a call's score from its findings, and per-agent aggregates that merge exactly.
//!
//! A call starts at 100. Each rule deducts `points` per violation up to its `cap` (a missing
//! `require` deducts `points` once); each `reward` rule adds `points` per hit up to its `cap`, and
//! all bonuses together add at most [`BONUS_CAP`]. The score is clamped to 0..=100. A `fatal`
//! violation sets it to 0 and marks the call auto-failed. Category subscores apply the same
//! arithmetic to the findings of one category.
//!
//! All arithmetic is in integers, so aggregates are exact and independent of order: that is
//! what lets shards be merged later with the same result.

use std::collections::BTreeMap;

use crate::engine::{Engine, Finding};
use crate::rules::Kind;

/// Most bonus points all `reward` rules together can add to one call.
pub const BONUS_CAP: u32 = 10;

/// The score of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallScore {
    pub score: i32,
    pub auto_fail: bool,
    /// Points deducted after per-rule caps.
    pub deductions: u32,
    /// Bonus points added after per-rule caps and [`BONUS_CAP`].
    pub bonus: u32,
    /// One subscore per category of the pack, in [`crate::rules::RulePack::categories`] order.
    pub category_scores: Vec<i32>,
    /// Findings that are violations (forbid hits and missing requirements).
    pub violations: u32,
    /// Findings that are rewards.
    pub rewards: u32,
}

/// Scores a call from its findings.
pub fn score_call(engine: &Engine, findings: &[Finding]) -> CallScore {
    let rules = engine.pack().rules();
    let mut per_rule: BTreeMap<usize, u32> = BTreeMap::new();
    for finding in findings {
        *per_rule.entry(finding.rule).or_default() += 1;
    }
    let categories = engine.pack().categories().len();
    let mut cat_deductions = vec![0u32; categories];
    let mut cat_bonus = vec![0u32; categories];
    let (mut deductions, mut bonus) = (0u32, 0u32);
    let (mut violations, mut rewards) = (0u32, 0u32);
    let mut auto_fail = false;
    for (&index, &count) in &per_rule {
        let rule = &rules[index];
        let points = rule.points.saturating_mul(count).min(rule.cap);
        let category = engine.category_of(index);
        if rule.kind == Kind::Reward {
            rewards += count;
            bonus += points;
            cat_bonus[category] += points;
        } else {
            violations += count;
            deductions += points;
            cat_deductions[category] += points;
            auto_fail |= rule.is_fatal();
        }
    }
    let bonus = bonus.min(BONUS_CAP);
    let score = if auto_fail {
        0
    } else {
        clamp_score(deductions, bonus)
    };
    let category_scores = (0..categories)
        .map(|c| clamp_score(cat_deductions[c], cat_bonus[c].min(BONUS_CAP)))
        .collect();
    CallScore {
        score,
        auto_fail,
        deductions,
        bonus,
        category_scores,
        violations,
        rewards,
    }
}

fn clamp_score(deductions: u32, bonus: u32) -> i32 {
    (100i64 - i64::from(deductions) + i64::from(bonus)).clamp(0, 100) as i32
}

/// Per-agent aggregate; plain integers, merged by addition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    pub calls: u64,
    pub score_sum: i64,
    /// Number of calls with each score 0..=100, for exact percentiles after merging.
    pub score_histogram: Vec<u64>,
    pub auto_fails: u64,
    pub category_sums: Vec<i64>,
    pub violations: u64,
    /// Violations per rule id.
    pub rule_violations: BTreeMap<String, u64>,
}

impl AgentStats {
    /// Adds one scored call.
    pub fn add(
        &mut self,
        engine: &Engine,
        score: &CallScore,
        rules_found: impl Iterator<Item = usize>,
    ) {
        self.ensure_len(score.category_scores.len());
        self.calls += 1;
        self.score_sum += i64::from(score.score);
        self.score_histogram[score.score.clamp(0, 100) as usize] += 1;
        self.auto_fails += u64::from(score.auto_fail);
        for (sum, s) in self.category_sums.iter_mut().zip(&score.category_scores) {
            *sum += i64::from(*s);
        }
        self.violations += u64::from(score.violations);
        for index in rules_found {
            let rule = &engine.pack().rules()[index];
            if rule.kind != Kind::Reward {
                *self.rule_violations.entry(rule.id.clone()).or_default() += 1;
            }
        }
    }

    /// Adds another agent's (or shard's) aggregate for the same agent.
    pub fn merge(&mut self, other: &AgentStats) {
        self.ensure_len(other.category_sums.len());
        self.calls += other.calls;
        self.score_sum += other.score_sum;
        for (a, b) in self.score_histogram.iter_mut().zip(&other.score_histogram) {
            *a += b;
        }
        self.auto_fails += other.auto_fails;
        for (a, b) in self.category_sums.iter_mut().zip(&other.category_sums) {
            *a += b;
        }
        self.violations += other.violations;
        for (rule, n) in &other.rule_violations {
            *self.rule_violations.entry(rule.clone()).or_default() += n;
        }
    }

    fn ensure_len(&mut self, categories: usize) {
        self.score_histogram.resize(101, 0);
        if self.category_sums.len() < categories {
            self.category_sums.resize(categories, 0);
        }
    }

    pub fn mean_score(&self) -> f64 {
        ratio(self.score_sum as f64, self.calls)
    }

    /// The 10th percentile score (nearest rank).
    pub fn p10_score(&self) -> i32 {
        let rank = (self.calls * 10).div_ceil(100).max(1);
        let mut seen = 0;
        for (score, n) in self.score_histogram.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return score as i32;
            }
        }
        0
    }

    pub fn auto_fail_rate(&self) -> f64 {
        ratio(self.auto_fails as f64, self.calls)
    }

    pub fn category_mean(&self, category: usize) -> f64 {
        ratio(
            self.category_sums.get(category).copied().unwrap_or(0) as f64,
            self.calls,
        )
    }

    pub fn violations_per_100_calls(&self) -> f64 {
        ratio(self.violations as f64 * 100.0, self.calls)
    }

    /// The `n` most violated rules, most first, ties by rule id.
    pub fn top_rules(&self, n: usize) -> Vec<String> {
        let mut rules: Vec<(&String, &u64)> = self.rule_violations.iter().collect();
        rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        rules
            .into_iter()
            .take(n)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

fn ratio(numerator: f64, calls: u64) -> f64 {
    if calls == 0 {
        0.0
    } else {
        numerator / calls as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(scores: &[i32]) -> AgentStats {
        let mut s = AgentStats::default();
        s.ensure_len(0);
        for &score in scores {
            s.calls += 1;
            s.score_sum += i64::from(score);
            s.score_histogram[score as usize] += 1;
        }
        s
    }

    #[test]
    fn p10_is_nearest_rank() {
        assert_eq!(stats(&[90]).p10_score(), 90);
        let scores: Vec<i32> = (1..=20).map(|i| i * 5).collect();
        assert_eq!(stats(&scores).p10_score(), 10);
        assert_eq!(stats(&[100, 0, 50]).p10_score(), 0);
    }

    #[test]
    fn merge_equals_adding_everything_at_once() {
        let mut a = stats(&[10, 80, 95]);
        a.merge(&stats(&[60, 70]));
        assert_eq!(a, stats(&[10, 80, 95, 60, 70]));
        assert_eq!(a.mean_score(), 63.0);
    }

    #[test]
    fn clamping() {
        assert_eq!(clamp_score(120, 10), 0);
        assert_eq!(clamp_score(5, 10), 100);
        assert_eq!(clamp_score(15, 3), 88);
    }
}
