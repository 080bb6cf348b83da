//! Reading rule files: strict TOML, then validation of each rule by kind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::model::{
    Check, Condition, Distance, Example, ExampleTurn, Fuzzy, Kind, LangScope, Leaf, Near, Negation,
    Rule, RulePack, Scope, Severity, Similar, SpeakerScope, TimingMetric,
};
use super::scorecard::{RawScorecard, Scorecard};
use super::{BUILTIN_CATEGORIES, DEFAULT_NEGATION_WINDOW, DEFAULT_NEGATORS, SCORECARD_FILE};
use crate::error::{Error, Result, RuleProblem};
use crate::input::Speaker;
use crate::normalize::disfluency::DisfluencyOptions;
use crate::normalize::numerals::Template;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    kind: Kind,
    category: Spanned<String>,
    severity: Severity,
    speaker: Option<SpeakerScope>,
    #[serde(default = "default_lang")]
    lang: LangScope,
    points: Option<u32>,
    cap: Option<u32>,
    message: String,
    suggestion: Option<String>,
    // The rule's own condition (forbid / require / reward).
    #[serde(default)]
    phrases: Vec<Spanned<String>>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    scope: Option<Spanned<RawScope>>,
    negation: Option<Spanned<RawNegation>>,
    boundary: Option<Boundary>,
    fuzzy: Option<Fuzzy>,
    near: Option<Spanned<RawNear>>,
    all: Option<Spanned<Vec<Spanned<RawCondition>>>>,
    any: Option<Spanned<Vec<Spanned<RawCondition>>>>,
    not: Option<Box<Spanned<RawCondition>>>,
    // Modifiers and the other kinds' parts.
    when: Option<Spanned<RawCondition>>,
    min_count: Option<Spanned<u32>>,
    max_count: Option<Spanned<u32>>,
    steps: Option<Spanned<Vec<Spanned<RawCondition>>>>,
    within_turns: Option<Spanned<u32>>,
    trigger: Option<Spanned<RawCondition>>,
    response: Option<Spanned<RawCondition>>,
    metric: Option<Spanned<TimingMetric>>,
    max: Option<Spanned<f64>>,
    examples: Option<Spanned<RawExamples>>,
    // `similar` rules.
    like: Option<Spanned<Vec<Spanned<String>>>>,
    unlike: Option<Vec<Spanned<String>>>,
    threshold: Option<Spanned<f64>>,
    effect: Option<Effect>,
}

/// What a `similar` rule's findings do to the score.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Effect {
    Violation,
    Reward,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    #[serde(default)]
    phrases: Vec<Spanned<String>>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    speaker: Option<SpeakerScope>,
    scope: Option<Spanned<RawScope>>,
    negation: Option<Spanned<RawNegation>>,
    boundary: Option<Boundary>,
    fuzzy: Option<Fuzzy>,
    near: Option<Spanned<RawNear>>,
    all: Option<Spanned<Vec<Spanned<RawCondition>>>>,
    any: Option<Spanned<Vec<Spanned<RawCondition>>>>,
    not: Option<Box<Spanned<RawCondition>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    first_turns: Option<u32>,
    last_turns: Option<u32>,
    first_seconds: Option<u32>,
    last_seconds: Option<u32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawNegation {
    On(bool),
    Custom(RawNegationTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNegationTable {
    window: Option<u32>,
    words: Option<Vec<String>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Boundary {
    None,
    Word,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNear {
    phrases: Vec<String>,
    within_chars: Option<u32>,
    within_turns: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExamples {
    #[serde(default, rename = "match")]
    matches: Vec<RawExample>,
    #[serde(default)]
    no_match: Vec<RawExample>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawExample {
    Utterance(String),
    Snippet(RawSnippet),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnippet {
    turns: Vec<RawExampleTurn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExampleTurn {
    speaker: ExampleSpeaker,
    text: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ExampleSpeaker {
    Agent,
    Customer,
    System,
}

fn default_lang() -> LangScope {
    LangScope::Any
}

impl RulePack {
    /// Loads every `*.toml` file in `dir` (in name order) as one pack; `scorecard.toml`, if
    /// present, is the scorecard.
    pub fn load(dir: &Path) -> Result<RulePack> {
        let files = list_rule_files(dir)?;
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        let mut raw_scorecard = None;
        let mut normalize = DisfluencyOptions::default();
        let mut hasher = Sha256::new();
        for path in &files {
            let bytes = std::fs::read(path).map_err(|e| Error::input(path, "read rule file", e))?;
            let name = path.file_name().unwrap_or_default().as_encoded_bytes();
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
            let Ok(source) = String::from_utf8(bytes) else {
                problems.push(problem(path, None, None, "the file is not valid UTF-8"));
                continue;
            };
            if path.file_name().is_some_and(|n| n == SCORECARD_FILE) {
                raw_scorecard = parse_scorecard(path, &source, &mut problems);
            } else if path.file_name().is_some_and(|n| n == super::NORMALIZE_FILE) {
                match toml::from_str::<DisfluencyOptions>(&source) {
                    Ok(options) => normalize = options,
                    Err(e) => problems.push(toml_problem(path, &source, &e)),
                }
            } else {
                parse_file(path, &source, &mut rules, &mut problems);
            }
        }
        if !files
            .iter()
            .any(|f| !f.ends_with(SCORECARD_FILE) && !f.ends_with(super::NORMALIZE_FILE))
        {
            problems.push(problem(
                dir,
                None,
                None,
                "no *.toml rule files in this folder",
            ));
        }
        check_duplicate_ids(&rules, &mut problems);
        let categories = collect_categories(&rules);
        let scorecard = match raw_scorecard {
            Some((raw, path, source)) => {
                check_scorecard_categories(&raw, &categories, &path, &source, &mut problems);
                Scorecard::from_raw(raw)
            }
            None => Scorecard::default(),
        };
        if !problems.is_empty() {
            return Err(Error::rule_pack(problems));
        }
        let rules = rules
            .into_iter()
            .map(|(mut rule, points)| {
                rule.points = points.unwrap_or(scorecard.points_for(rule.severity));
                if rule.cap == u32::MAX {
                    rule.cap = rule.points;
                }
                rule
            })
            .collect::<Vec<_>>();
        let warnings = super::lint::warnings(&rules);
        Ok(RulePack {
            dir: dir.to_path_buf(),
            rules,
            scorecard,
            categories,
            files,
            sha256: hex(&hasher.finalize()),
            warnings,
            normalize,
        })
    }
}

fn list_rule_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::input(dir, "read rule folder", e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::input(dir, "read rule folder", e))?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn toml_problem(path: &Path, source: &str, e: &toml::de::Error) -> RuleProblem {
    let offset = e.span().map(|s| s.start);
    let line = offset.map(|o| line_of(source, o));
    let rule_id = offset.and_then(|o| rule_id_around(source, o));
    problem(path, line, rule_id, e.message().trim_end())
}

fn parse_scorecard(
    path: &Path,
    source: &str,
    problems: &mut Vec<RuleProblem>,
) -> Option<(RawScorecard, PathBuf, String)> {
    match toml::from_str::<RawScorecard>(source) {
        Ok(raw) => Some((raw, path.to_path_buf(), source.to_string())),
        Err(e) => {
            problems.push(toml_problem(path, source, &e));
            None
        }
    }
}

fn check_scorecard_categories(
    raw: &RawScorecard,
    categories: &[String],
    path: &Path,
    source: &str,
    problems: &mut Vec<RuleProblem>,
) {
    for (table, map) in [
        ("category_caps", &raw.category_caps),
        ("category_weights", &raw.category_weights),
    ] {
        for (category, value) in map {
            if !categories.contains(category) {
                let line = line_of(source, value.span().start);
                problems.push(problem(
                    path,
                    Some(line),
                    None,
                    format!("[{table}] names category `{category}`, which no rule uses"),
                ));
            }
        }
    }
}

/// A rule and the `points` it gave (resolved against the scorecard once it is read).
type Parsed = (Rule, Option<u32>);

fn parse_file(path: &Path, source: &str, rules: &mut Vec<Parsed>, problems: &mut Vec<RuleProblem>) {
    let raw: RawFile = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(toml_problem(path, source, &e));
            return;
        }
    };
    for spanned in raw.rule {
        let line = line_of(source, spanned.span().start);
        let raw_rule = spanned.into_inner();
        let mut ctx = RuleContext {
            path,
            source,
            id: raw_rule.id.get_ref().clone(),
            problems,
        };
        if let Some(parsed) = validate(raw_rule, line, &mut ctx) {
            rules.push(parsed);
        }
    }
}

/// Collects the problems of one rule with its file, line and id.
struct RuleContext<'a> {
    path: &'a Path,
    source: &'a str,
    id: String,
    problems: &'a mut Vec<RuleProblem>,
}

impl RuleContext<'_> {
    fn report<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        let line = line_of(self.source, at.span().start);
        self.problems.push(problem(
            self.path,
            Some(line),
            Some(self.id.clone()),
            message,
        ));
    }
}

fn validate(raw: RawRule, line: usize, ctx: &mut RuleContext<'_>) -> Option<Parsed> {
    let before = ctx.problems.len();
    check_id(&raw.id, ctx);
    check_category(&raw.category, ctx);
    check_fields_for_kind(&raw, ctx);
    let speaker = raw.speaker.unwrap_or(SpeakerScope::Agent);
    let id_span = raw.id.clone();
    let when = raw.when.and_then(|w| {
        let at = Spanned::new(w.span(), ());
        condition(w.into_inner(), speaker, &at, ctx)
    });
    let examples = raw
        .examples
        .map(|e| examples(e, speaker, ctx))
        .unwrap_or_else(|| {
            ctx.report(
                &id_span,
                "the rule has no `examples`: give `examples.match` and `examples.no_match`",
            );
            Vec::new()
        });
    let check = match raw.kind {
        Kind::Forbid | Kind::Require | Kind::Reward => {
            let own = RawCondition {
                phrases: raw.phrases,
                regex: raw.regex,
                exclude: raw.exclude,
                speaker: Some(speaker),
                scope: raw.scope,
                negation: raw.negation,
                boundary: raw.boundary,
                fuzzy: raw.fuzzy,
                near: raw.near,
                all: raw.all,
                any: raw.any,
                not: raw.not,
            };
            let condition = condition(own, speaker, &id_span, ctx);
            let count = |c: Option<Spanned<u32>>, default| c.map_or(default, |c| c.into_inner());
            condition.map(|condition| match raw.kind {
                Kind::Forbid => Check::Forbid {
                    condition,
                    max_count: count(raw.max_count, 0),
                },
                Kind::Require => Check::Require {
                    condition,
                    min_count: count(raw.min_count, 1).max(1),
                },
                _ => Check::Reward { condition },
            })
        }
        Kind::Sequence => sequence(raw.steps, raw.within_turns, speaker, &id_span, ctx),
        Kind::Response => response(
            raw.trigger,
            raw.response,
            raw.within_turns,
            speaker,
            &id_span,
            ctx,
        ),
        Kind::Timing => timing(raw.metric, raw.max, speaker, &id_span, ctx),
        Kind::Similar => similar(
            raw.like,
            raw.unlike,
            raw.threshold,
            raw.effect,
            &id_span,
            ctx,
        ),
    };
    if ctx.problems.len() > before {
        return None;
    }
    let check = check?;
    Some((
        Rule {
            id: raw.id.into_inner(),
            kind: raw.kind,
            check,
            when,
            category: raw.category.into_inner(),
            severity: raw.severity,
            speaker,
            lang: raw.lang,
            points: 0,
            // Resolved with `points` after the scorecard is read.
            cap: raw.cap.unwrap_or(u32::MAX),
            message: raw.message,
            suggestion: raw.suggestion,
            examples,
            file: ctx.path.to_path_buf(),
            line,
        },
        raw.points,
    ))
}

/// Fields that belong to some kinds only.
fn check_fields_for_kind(raw: &RawRule, ctx: &mut RuleContext<'_>) {
    use Kind::*;
    let leaf_given = !raw.phrases.is_empty()
        || !raw.regex.is_empty()
        || !raw.exclude.is_empty()
        || raw.scope.is_some()
        || raw.negation.is_some()
        || raw.near.is_some()
        || raw.all.is_some()
        || raw.any.is_some()
        || raw.not.is_some();
    let fields: [(&str, bool, &[Kind]); 10] = [
        (
            "phrases/regex/exclude/scope/negation/near/all/any/not",
            leaf_given,
            &[Forbid, Require, Reward],
        ),
        ("min_count", raw.min_count.is_some(), &[Require]),
        ("max_count", raw.max_count.is_some(), &[Forbid]),
        ("steps", raw.steps.is_some(), &[Sequence]),
        (
            "within_turns",
            raw.within_turns.is_some(),
            &[Sequence, Response],
        ),
        (
            "trigger/response",
            raw.trigger.is_some() || raw.response.is_some(),
            &[Response],
        ),
        (
            "metric/max",
            raw.metric.is_some() || raw.max.is_some(),
            &[Timing],
        ),
        (
            "boundary",
            raw.boundary.is_some(),
            &[Forbid, Require, Reward],
        ),
        ("fuzzy", raw.fuzzy.is_some(), &[Forbid, Require, Reward]),
        (
            "like/unlike/threshold/effect",
            raw.like.is_some()
                || raw.unlike.is_some()
                || raw.threshold.is_some()
                || raw.effect.is_some(),
            &[Similar],
        ),
    ];
    for (name, given, kinds) in fields {
        if given && !kinds.contains(&raw.kind) {
            let allowed: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            ctx.report(
                &raw.id,
                format!(
                    "`{name}` is not used by `{}` rules (only by {})",
                    raw.kind.as_str(),
                    allowed.join(", ")
                ),
            );
        }
    }
}

fn sequence(
    steps: Option<Spanned<Vec<Spanned<RawCondition>>>>,
    within_turns: Option<Spanned<u32>>,
    speaker: SpeakerScope,
    at: &Spanned<String>,
    ctx: &mut RuleContext<'_>,
) -> Option<Check> {
    let Some(steps) = steps else {
        ctx.report(
            at,
            "a `sequence` rule needs `steps` (two or more conditions in order)",
        );
        return None;
    };
    if steps.get_ref().len() < 2 {
        ctx.report(&steps, "a `sequence` needs at least two `steps`");
    }
    let steps: Vec<Condition> = steps
        .into_inner()
        .into_iter()
        .filter_map(|s| {
            let at = Spanned::new(s.span(), ());
            condition(s.into_inner(), speaker, &at, ctx)
        })
        .collect();
    Some(Check::Sequence {
        steps,
        within_turns: within_turns.map(Spanned::into_inner),
    })
}

fn response(
    trigger: Option<Spanned<RawCondition>>,
    response: Option<Spanned<RawCondition>>,
    within_turns: Option<Spanned<u32>>,
    speaker: SpeakerScope,
    at: &Spanned<String>,
    ctx: &mut RuleContext<'_>,
) -> Option<Check> {
    let (Some(trigger), Some(response)) = (trigger, response) else {
        ctx.report(
            at,
            "a `response` rule needs `trigger` and `response` conditions",
        );
        return None;
    };
    let within = within_turns.map_or(1, Spanned::into_inner);
    if within == 0 {
        ctx.report(at, "`within_turns` must be at least 1");
    }
    let trigger_at = Spanned::new(trigger.span(), ());
    let response_at = Spanned::new(response.span(), ());
    // A trigger is usually the customer's; the response is the rule's speaker's.
    let trigger = condition(
        trigger.into_inner(),
        SpeakerScope::Customer,
        &trigger_at,
        ctx,
    );
    let response = condition(response.into_inner(), speaker, &response_at, ctx);
    Some(Check::Response {
        trigger: trigger?,
        response: response?,
        within_turns: within,
    })
}

fn timing(
    metric: Option<Spanned<TimingMetric>>,
    max: Option<Spanned<f64>>,
    speaker: SpeakerScope,
    at: &Spanned<String>,
    ctx: &mut RuleContext<'_>,
) -> Option<Check> {
    let (Some(metric), Some(max)) = (metric, max) else {
        ctx.report(at, "a `timing` rule needs `metric` and `max`");
        return None;
    };
    if !(max.get_ref().is_finite() && *max.get_ref() >= 0.0) {
        ctx.report(&max, "`max` must be a number ≥ 0");
    }
    Some(Check::Timing {
        metric: metric.into_inner(),
        max: max.into_inner(),
        speaker,
    })
}

/// Default lowest similarity of a `similar` rule (see `engine/similar.rs`).
pub const DEFAULT_SIMILAR_THRESHOLD: f64 = 0.4;

fn similar(
    like: Option<Spanned<Vec<Spanned<String>>>>,
    unlike: Option<Vec<Spanned<String>>>,
    threshold: Option<Spanned<f64>>,
    effect: Option<Effect>,
    at: &Spanned<String>,
    ctx: &mut RuleContext<'_>,
) -> Option<Check> {
    let Some(like) = like.filter(|l| !l.get_ref().is_empty()) else {
        ctx.report(
            at,
            "a `similar` rule needs `like` (one or more example sentences)",
        );
        return None;
    };
    let unlike = unlike.unwrap_or_default();
    for text in like.get_ref().iter().chain(&unlike) {
        if text.get_ref().trim().is_empty() {
            ctx.report(text, "empty example sentence");
        }
    }
    if let Some(t) = &threshold
        && !(*t.get_ref() > 0.0 && *t.get_ref() <= 1.0)
    {
        ctx.report(t, "`threshold` must be a number above 0 and at most 1");
    }
    Some(Check::Similar(Similar {
        like: like
            .into_inner()
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        unlike: unlike.into_iter().map(Spanned::into_inner).collect(),
        threshold: threshold.map_or(DEFAULT_SIMILAR_THRESHOLD, Spanned::into_inner),
        reward: effect == Some(Effect::Reward),
    }))
}

/// Validates a condition; `at` locates it for messages.
fn condition<T>(
    raw: RawCondition,
    inherited: SpeakerScope,
    at: &Spanned<T>,
    ctx: &mut RuleContext<'_>,
) -> Option<Condition> {
    let speaker = raw.speaker.unwrap_or(inherited);
    let compositions = usize::from(raw.all.is_some())
        + usize::from(raw.any.is_some())
        + usize::from(raw.not.is_some());
    let leaf_given = !raw.phrases.is_empty() || !raw.regex.is_empty() || !raw.exclude.is_empty();
    if compositions > 1 || (compositions == 1 && leaf_given) {
        ctx.report(
            at,
            "a condition is either phrases/regex or exactly one of `all`, `any`, `not`",
        );
        return None;
    }
    let children = |items: Spanned<Vec<Spanned<RawCondition>>>, ctx: &mut RuleContext<'_>| {
        if items.get_ref().is_empty() {
            ctx.report(&items, "`all` / `any` needs at least one condition");
        }
        items
            .into_inner()
            .into_iter()
            .map(|c| {
                let at = Spanned::new(c.span(), ());
                condition(c.into_inner(), speaker, &at, ctx)
            })
            .collect::<Option<Vec<_>>>()
    };
    if let Some(items) = raw.all {
        return children(items, ctx).map(Condition::All);
    }
    if let Some(items) = raw.any {
        return children(items, ctx).map(Condition::Any);
    }
    if let Some(inner) = raw.not {
        let inner_at = Spanned::new(inner.span(), ());
        return condition(inner.into_inner(), speaker, &inner_at, ctx)
            .map(|c| Condition::Not(Box::new(c)));
    }
    leaf(raw, speaker, at, ctx).map(|l| Condition::Leaf(Box::new(l)))
}

fn leaf<T>(
    raw: RawCondition,
    speaker: SpeakerScope,
    at: &Spanned<T>,
    ctx: &mut RuleContext<'_>,
) -> Option<Leaf> {
    if raw.phrases.is_empty() && raw.regex.is_empty() {
        ctx.report(at, "nothing to match: give `phrases` or `regex`");
        return None;
    }
    for text in raw.phrases.iter().chain(&raw.exclude) {
        if text.get_ref().trim().is_empty() {
            ctx.report(text, "empty phrase");
        }
        if Template::is_template(text.get_ref())
            && let Err(message) = Template::parse(text.get_ref())
        {
            ctx.report(text, message);
        }
    }
    let regexes = compile_regexes(&raw.regex, ctx);
    let scope = raw.scope.map_or(Scope::Whole, |s| scope(&s, ctx));
    let negation = raw.negation.and_then(|n| negation(n.into_inner()));
    let near = raw.near.and_then(|n| near(n, ctx));
    Some(Leaf {
        phrases: raw.phrases.into_iter().map(Spanned::into_inner).collect(),
        regexes,
        exclude: raw.exclude.into_iter().map(Spanned::into_inner).collect(),
        speaker,
        scope,
        negation,
        word_boundary: raw.boundary == Some(Boundary::Word),
        fuzzy: raw.fuzzy.unwrap_or_default(),
        near,
    })
}

fn scope(raw: &Spanned<RawScope>, ctx: &mut RuleContext<'_>) -> Scope {
    let s = raw.get_ref();
    let given = [
        s.first_turns.map(Scope::FirstTurns),
        s.last_turns.map(Scope::LastTurns),
        s.first_seconds.map(|n| Scope::FirstMs(i64::from(n) * 1000)),
        s.last_seconds.map(|n| Scope::LastMs(i64::from(n) * 1000)),
    ];
    let chosen: Vec<Scope> = given.into_iter().flatten().collect();
    let zero = [s.first_turns, s.last_turns, s.first_seconds, s.last_seconds].contains(&Some(0));
    match chosen.as_slice() {
        [one] if !zero => *one,
        _ => {
            ctx.report(
                raw,
                "`scope` needs exactly one of first_turns, last_turns, first_seconds, last_seconds, greater than 0",
            );
            Scope::Whole
        }
    }
}

fn negation(raw: RawNegation) -> Option<Negation> {
    let default_words = || DEFAULT_NEGATORS.iter().map(|w| w.to_string()).collect();
    match raw {
        RawNegation::On(false) => None,
        RawNegation::On(true) => Some(Negation {
            negators: default_words(),
            window: DEFAULT_NEGATION_WINDOW,
        }),
        RawNegation::Custom(table) => Some(Negation {
            negators: table.words.unwrap_or_else(default_words),
            window: table.window.unwrap_or(DEFAULT_NEGATION_WINDOW),
        }),
    }
}

fn near(raw: Spanned<RawNear>, ctx: &mut RuleContext<'_>) -> Option<Near> {
    let within = match (raw.get_ref().within_chars, raw.get_ref().within_turns) {
        (Some(n), None) => Distance::Chars(n),
        (None, Some(n)) => Distance::Turns(n),
        _ => {
            ctx.report(
                &raw,
                "`near` needs exactly one of `within_chars` or `within_turns`",
            );
            return None;
        }
    };
    if raw.get_ref().phrases.iter().all(|p| p.trim().is_empty()) {
        ctx.report(&raw, "`near` needs `phrases`");
        return None;
    }
    Some(Near {
        phrases: raw.into_inner().phrases,
        within,
    })
}

fn examples(
    raw: Spanned<RawExamples>,
    speaker: SpeakerScope,
    ctx: &mut RuleContext<'_>,
) -> Vec<Example> {
    if raw.get_ref().matches.is_empty() || raw.get_ref().no_match.is_empty() {
        ctx.report(
            &raw,
            "give at least one `examples.match` and one `examples.no_match`",
        );
    }
    let raw = raw.into_inner();
    let utterance_speaker = match speaker {
        SpeakerScope::Customer => Speaker::Customer,
        _ => Speaker::Agent,
    };
    let convert = |e: RawExample, should_match: bool| Example {
        should_match,
        turns: match e {
            RawExample::Utterance(text) => vec![ExampleTurn {
                speaker: utterance_speaker,
                text,
                start_ms: None,
                end_ms: None,
            }],
            RawExample::Snippet(snippet) => snippet
                .turns
                .into_iter()
                .map(|t| ExampleTurn {
                    speaker: match t.speaker {
                        ExampleSpeaker::Agent => Speaker::Agent,
                        ExampleSpeaker::Customer => Speaker::Customer,
                        ExampleSpeaker::System => Speaker::System,
                    },
                    text: t.text,
                    start_ms: t.start_ms,
                    end_ms: t.end_ms,
                })
                .collect(),
        },
    };
    let mut out: Vec<Example> = raw.matches.into_iter().map(|e| convert(e, true)).collect();
    out.extend(raw.no_match.into_iter().map(|e| convert(e, false)));
    out
}

fn check_id(id: &Spanned<String>, ctx: &mut RuleContext<'_>) {
    let valid = !id.get_ref().is_empty()
        && id
            .get_ref()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        ctx.report(id, "`id` must be letters, digits, '-', '_' or '.'");
    }
}

fn check_category(category: &Spanned<String>, ctx: &mut RuleContext<'_>) {
    let name = category.get_ref();
    let valid = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        ctx.report(
            category,
            format!("category `{name}` must be lower_snake_case (e.g. `compliance`)"),
        );
    }
}

fn compile_regexes(sources: &[Spanned<String>], ctx: &mut RuleContext<'_>) -> Vec<regex::Regex> {
    let mut compiled = Vec::new();
    for source in sources {
        match regex::RegexBuilder::new(source.get_ref())
            .size_limit(1 << 22)
            .build()
        {
            Ok(re) if re.is_match("") => ctx.report(
                source,
                "the regex matches empty text, so it would hit every turn",
            ),
            Ok(re) => compiled.push(re),
            Err(e) => ctx.report(source, format!("the regex does not compile: {e}")),
        }
    }
    compiled
}

fn check_duplicate_ids(rules: &[Parsed], problems: &mut Vec<RuleProblem>) {
    let mut seen: HashMap<&str, &Rule> = HashMap::new();
    for (rule, _) in rules {
        if let Some(first) = seen.insert(&rule.id, rule) {
            problems.push(problem(
                &rule.file,
                Some(rule.line),
                Some(rule.id.clone()),
                format!(
                    "duplicate rule id, first defined at {}:{}",
                    first.file.display(),
                    first.line
                ),
            ));
        }
    }
}

fn collect_categories(rules: &[Parsed]) -> Vec<String> {
    let mut categories: Vec<String> = BUILTIN_CATEGORIES.iter().map(|c| c.to_string()).collect();
    let mut custom: Vec<String> = rules
        .iter()
        .map(|(r, _)| r.category.clone())
        .filter(|c| !categories.contains(c))
        .collect();
    custom.sort();
    custom.dedup();
    categories.extend(custom);
    categories
}

pub(super) fn problem(
    path: &Path,
    line: Option<usize>,
    rule_id: Option<String>,
    message: impl Into<String>,
) -> RuleProblem {
    RuleProblem {
        file: path.to_path_buf(),
        line,
        rule_id,
        message: message.into(),
    }
}

/// 1-based line number of a byte offset.
fn line_of(source: &str, offset: usize) -> usize {
    let offset = offset.min(source.len());
    source.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The `id` of the `[[rule]]` block that contains `offset`, read from the raw text, for
/// syntax errors that happen before the rule could be parsed.
fn rule_id_around(source: &str, offset: usize) -> Option<String> {
    let offset = offset.min(source.len());
    let block_start = source[..offset].rfind("[[rule]]")?;
    let block_end = source[block_start + 8..]
        .find("[[rule]]")
        .map_or(source.len(), |i| block_start + 8 + i);
    source[block_start..block_end].lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("id")?.trim_start();
        let value = rest.strip_prefix('=')?.trim();
        let value = value.strip_prefix('"')?;
        Some(value[..value.find('"')?].to_string())
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
