//! Scores: a call's score from its findings, and per-agent aggregates that merge exactly.
//!
//! A call starts at the scorecard's `base` (100). Each rule deducts `points` per violation up
//! to its `cap` (a missing `require` or broken `sequence` deducts `points` once), each
//! category loses at most its `category_caps` entry, and each `reward` rule adds `points` per
//! hit up to its `cap`, all bonuses together at most `bonus_cap`. The score is clamped to
//! 0..=100 — or, when the scorecard gives `category_weights`, it is the weighted mean of the
//! category subscores. A violation of a fatal severity sets it to 0 and marks the call
//! auto-failed. Category subscores apply the same arithmetic to one category's findings.
//!
//! All arithmetic is in integers, so aggregates are exact and independent of order: that is
//! what lets shards be merged later with the same result.

use std::collections::BTreeMap;

use crate::engine::{Engine, Finding};

/// The score of one call.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallScore {
    pub score: i32,
    pub auto_fail: bool,
    /// Points deducted after per-rule and per-category caps.
    pub deductions: u32,
    /// Bonus points added after per-rule caps and the bonus cap.
    pub bonus: u32,
    /// One subscore per category of the pack, in [`crate::rules::RulePack::categories`] order.
    pub category_scores: Vec<i32>,
    /// Findings that are violations (not rewards).
    pub violations: u32,
    /// Findings that are rewards.
    pub rewards: u32,
}

/// Scores a call from its findings.
pub fn score_call(engine: &Engine, findings: &[Finding]) -> CallScore {
    let pack = engine.pack();
    let card = pack.scorecard();
    let mut per_rule: BTreeMap<usize, u32> = BTreeMap::new();
    for finding in findings {
        *per_rule.entry(finding.rule).or_default() += 1;
    }
    let categories = pack.categories().len();
    let mut cat_deductions = vec![0u32; categories];
    let mut cat_bonus = vec![0u32; categories];
    let (mut violations, mut rewards) = (0u32, 0u32);
    let mut auto_fail = false;
    for (&index, &count) in &per_rule {
        let rule = &pack.rules()[index];
        let points = rule.points.saturating_mul(count).min(rule.cap);
        let category = engine.category_of(index);
        if rule.is_reward() {
            rewards += count;
            cat_bonus[category] += points;
        } else {
            violations += count;
            cat_deductions[category] += points;
            auto_fail |= card.is_fatal(rule.severity);
        }
    }
    for (category, name) in pack.categories().iter().enumerate() {
        if let Some(&cap) = card.category_caps.get(name) {
            cat_deductions[category] = cat_deductions[category].min(cap);
        }
    }
    let deductions: u32 = cat_deductions.iter().sum();
    let bonus = cat_bonus.iter().sum::<u32>().min(card.bonus_cap);
    let category_scores: Vec<i32> = (0..categories)
        .map(|c| {
            clamp_score(
                card.base,
                cat_deductions[c],
                cat_bonus[c].min(card.bonus_cap),
            )
        })
        .collect();
    let score = if auto_fail {
        0
    } else if card.category_weights.is_empty() {
        clamp_score(card.base, deductions, bonus)
    } else {
        weighted_mean(&card.category_weights, pack.categories(), &category_scores)
    };
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

/// Σ weight × subscore / Σ weight, rounded half up, in integers.
fn weighted_mean(weights: &BTreeMap<String, u32>, names: &[String], scores: &[i32]) -> i32 {
    let (mut sum, mut total) = (0i64, 0i64);
    for (name, score) in names.iter().zip(scores) {
        let w = i64::from(weights.get(name).copied().unwrap_or(0));
        sum += w * i64::from(*score);
        total += w;
    }
    if total == 0 {
        100
    } else {
        ((2 * sum + total) / (2 * total)) as i32
    }
}

fn clamp_score(base: u32, deductions: u32, bonus: u32) -> i32 {
    (i64::from(base) - i64::from(deductions) + i64::from(bonus)).clamp(0, 100) as i32
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
            if !rule.is_reward() {
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
        assert_eq!(clamp_score(100, 120, 10), 0);
        assert_eq!(clamp_score(100, 5, 10), 100);
        assert_eq!(clamp_score(100, 15, 3), 88);
    }

    #[test]
    fn weighted_mean_rounds_half_up() {
        let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let weights: BTreeMap<String, u32> = [("a".to_string(), 3), ("b".to_string(), 1)].into();
        assert_eq!(weighted_mean(&weights, &names, &[100, 50]), 88); // 87.5
        assert_eq!(weighted_mean(&weights, &names, &[90, 90]), 90);
        assert_eq!(weighted_mean(&BTreeMap::new(), &names, &[1, 2]), 100);
    }
}
