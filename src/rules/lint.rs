//! Warnings about rules that load but probably do not do what their author meant.

use std::collections::BTreeMap;

use super::load::problem;
use super::model::{Check, Kind, Rule};
use crate::error::RuleProblem;

/// Phrases that can never count, and phrases that both reward and penalise.
pub(super) fn warnings(rules: &[Rule]) -> Vec<RuleProblem> {
    let mut out = Vec::new();
    for rule in rules {
        shadowed_phrases(rule, &mut out);
    }
    opposite_kinds(rules, &mut out);
    out
}

/// A phrase that contains one of its own exclusions is cancelled wherever it occurs.
fn shadowed_phrases(rule: &Rule, out: &mut Vec<RuleProblem>) {
    for condition in rule.conditions() {
        for leaf in condition.leaves() {
            for phrase in &leaf.phrases {
                let lower = phrase.to_lowercase();
                if let Some(ex) = leaf
                    .exclude
                    .iter()
                    .find(|e| lower.contains(&e.to_lowercase()))
                {
                    out.push(problem(
                        &rule.file,
                        Some(rule.line),
                        Some(rule.id.clone()),
                        format!("phrase {phrase:?} contains its own exclusion {ex:?}, so it never counts"),
                    ));
                }
            }
        }
    }
}

/// The same phrase penalised by one rule and required or rewarded by another.
fn opposite_kinds(rules: &[Rule], out: &mut Vec<RuleProblem>) {
    let mut forbidden: BTreeMap<String, &Rule> = BTreeMap::new();
    for rule in rules.iter().filter(|r| r.kind == Kind::Forbid) {
        for phrase in own_phrases(rule) {
            forbidden.entry(phrase).or_insert(rule);
        }
    }
    for rule in rules
        .iter()
        .filter(|r| matches!(r.kind, Kind::Require | Kind::Reward))
    {
        for phrase in own_phrases(rule) {
            if let Some(other) = forbidden.get(&phrase) {
                out.push(problem(
                    &rule.file,
                    Some(rule.line),
                    Some(rule.id.clone()),
                    format!(
                        "phrase {phrase:?} is {} here but forbidden by {} ({}:{})",
                        if rule.kind == Kind::Reward {
                            "rewarded"
                        } else {
                            "required"
                        },
                        other.id,
                        other.file.display(),
                        other.line
                    ),
                ));
            }
        }
    }
}

fn own_phrases(rule: &Rule) -> Vec<String> {
    match &rule.check {
        Check::Forbid { condition, .. }
        | Check::Require { condition, .. }
        | Check::Reward { condition } => condition
            .leaves()
            .iter()
            .flat_map(|l| l.phrases.iter().map(|p| p.to_lowercase()))
            .collect(),
        _ => Vec::new(),
    }
}
