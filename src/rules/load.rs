//! Reading rule files: strict TOML, then validation that needs the whole pack.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::BUILTIN_CATEGORIES;
use super::model::{Kind, LangScope, Position, Rule, RulePack, Severity, SpeakerScope};
use crate::error::{Error, Result, RuleProblem};

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
    #[serde(default = "default_speaker")]
    speaker: SpeakerScope,
    #[serde(default = "default_lang")]
    lang: LangScope,
    points: Option<u32>,
    cap: Option<u32>,
    message: String,
    suggestion: Option<String>,
    #[serde(default)]
    phrases: Vec<Spanned<String>>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    scope: Option<Spanned<RawScope>>,
    examples: Option<Spanned<RawExamples>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    first_turns: Option<u32>,
    last_turns: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExamples {
    #[serde(default, rename = "match")]
    matches: Vec<String>,
    #[serde(default)]
    no_match: Vec<String>,
}

fn default_speaker() -> SpeakerScope {
    SpeakerScope::Agent
}

fn default_lang() -> LangScope {
    LangScope::Any
}

impl RulePack {
    /// Loads every `*.toml` file in `dir` (in name order) as one pack.
    pub fn load(dir: &Path) -> Result<RulePack> {
        let files = list_rule_files(dir)?;
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        let mut hasher = Sha256::new();
        for path in &files {
            let bytes = std::fs::read(path).map_err(|e| Error::input(path, "read rule file", e))?;
            hasher.update((path.file_name().map(|n| n.len()).unwrap_or(0) as u64).to_le_bytes());
            hasher.update(path.file_name().unwrap_or_default().as_encoded_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
            match String::from_utf8(bytes) {
                Ok(source) => parse_file(path, &source, &mut rules, &mut problems),
                Err(_) => problems.push(problem(path, None, None, "the file is not valid UTF-8")),
            }
        }
        if files.is_empty() {
            problems.push(problem(
                dir,
                None,
                None,
                "no *.toml rule files in this folder",
            ));
        }
        check_duplicate_ids(&rules, &mut problems);
        if !problems.is_empty() {
            return Err(Error::rule_pack(problems));
        }
        let categories = collect_categories(&rules);
        Ok(RulePack {
            dir: dir.to_path_buf(),
            rules,
            categories,
            files,
            sha256: hex(&hasher.finalize()),
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

fn parse_file(path: &Path, source: &str, rules: &mut Vec<Rule>, problems: &mut Vec<RuleProblem>) {
    let raw: RawFile = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            let offset = e.span().map(|s| s.start);
            let line = offset.map(|o| line_of(source, o));
            let rule_id = offset.and_then(|o| rule_id_around(source, o));
            problems.push(problem(path, line, rule_id, e.message().trim_end()));
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
        if let Some(rule) = validate(raw_rule, line, &mut ctx) {
            rules.push(rule);
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

fn validate(raw: RawRule, line: usize, ctx: &mut RuleContext<'_>) -> Option<Rule> {
    let before = ctx.problems.len();
    check_id(&raw.id, ctx);
    check_category(&raw.category, ctx);
    if raw.phrases.is_empty() && raw.regex.is_empty() {
        ctx.report(
            &raw.id,
            "the rule has nothing to match: give `phrases` or `regex`",
        );
    }
    for text in raw.phrases.iter().chain(&raw.exclude) {
        if text.get_ref().trim().is_empty() {
            ctx.report(text, "empty phrase");
        }
    }
    let regexes = compile_regexes(&raw.regex, ctx);
    let position = check_scope(raw.scope.as_ref(), raw.kind, ctx);
    let (examples_match, examples_no_match) = check_examples(raw.examples, &raw.id, ctx);
    if ctx.problems.len() > before {
        return None;
    }
    let points = raw.points.unwrap_or(raw.severity.default_points());
    Some(Rule {
        id: raw.id.into_inner(),
        kind: raw.kind,
        category: raw.category.into_inner(),
        severity: raw.severity,
        speaker: raw.speaker,
        lang: raw.lang,
        points,
        cap: raw.cap.unwrap_or(points),
        message: raw.message,
        suggestion: raw.suggestion,
        phrases: raw.phrases.into_iter().map(Spanned::into_inner).collect(),
        regexes,
        exclude: raw.exclude.into_iter().map(Spanned::into_inner).collect(),
        position,
        examples_match,
        examples_no_match,
        file: ctx.path.to_path_buf(),
        line,
    })
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

fn check_scope(
    scope: Option<&Spanned<RawScope>>,
    kind: Kind,
    ctx: &mut RuleContext<'_>,
) -> Position {
    let Some(scope) = scope else {
        return Position::Whole;
    };
    if kind != Kind::Require {
        ctx.report(scope, "`scope` is only for `require` rules");
    }
    match (scope.get_ref().first_turns, scope.get_ref().last_turns) {
        (Some(n), None) if n > 0 => Position::FirstTurns(n),
        (None, Some(n)) if n > 0 => Position::LastTurns(n),
        _ => {
            ctx.report(
                scope,
                "`scope` needs exactly one of `first_turns` or `last_turns`, greater than 0",
            );
            Position::Whole
        }
    }
}

fn check_examples(
    examples: Option<Spanned<RawExamples>>,
    id: &Spanned<String>,
    ctx: &mut RuleContext<'_>,
) -> (Vec<String>, Vec<String>) {
    let Some(examples) = examples else {
        ctx.report(
            id,
            "the rule has no `examples`: give `examples.match` and `examples.no_match`",
        );
        return (Vec::new(), Vec::new());
    };
    let inner = examples.get_ref();
    if inner.matches.is_empty() || inner.no_match.is_empty() {
        ctx.report(
            &examples,
            "give at least one `examples.match` and one `examples.no_match`",
        );
    }
    let inner = examples.into_inner();
    (inner.matches, inner.no_match)
}

fn check_duplicate_ids(rules: &[Rule], problems: &mut Vec<RuleProblem>) {
    let mut seen: HashMap<&str, &Rule> = HashMap::new();
    for rule in rules {
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

fn collect_categories(rules: &[Rule]) -> Vec<String> {
    let mut categories: Vec<String> = BUILTIN_CATEGORIES.iter().map(|c| c.to_string()).collect();
    let mut custom: Vec<String> = rules
        .iter()
        .map(|r| r.category.clone())
        .filter(|c| !categories.contains(c))
        .collect();
    custom.sort();
    custom.dedup();
    categories.extend(custom);
    categories
}

fn problem(
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
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
id = "OP-1"
kind = "forbid"
category = "over_promising"
severity = "major"
message = "no promises"
phrases = ["马上解决"]
examples.match = ["马上解决"]
examples.no_match = ["尽快处理"]
"#;

    fn load_one(text: &str) -> std::result::Result<RulePack, Vec<RuleProblem>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pack.toml"), text).unwrap();
        RulePack::load(dir.path()).map_err(|e| e.rule_problems().to_vec())
    }

    #[test]
    fn loads_a_good_rule_with_defaults() {
        let pack = load_one(GOOD).unwrap();
        let rule = &pack.rules()[0];
        assert_eq!(rule.points, 5);
        assert_eq!(rule.cap, 5);
        assert_eq!(rule.speaker, SpeakerScope::Agent);
        assert_eq!(rule.line, 2);
        assert_eq!(pack.categories()[..4], BUILTIN_CATEGORIES);
    }

    /// Each broken variant of GOOD must name the line and the rule.
    #[test]
    fn problems_name_line_and_rule() {
        let cases: &[(&str, &str, usize, &str)] = &[
            (
                "severity = \"major\"",
                "severity = \"huge\"",
                6,
                "unknown variant",
            ),
            (
                "message = ",
                "colour = \"red\"\nmessage = ",
                7,
                "unknown field",
            ),
            (
                "phrases = [\"马上解决\"]",
                "regex = ['(马上']",
                8,
                "does not compile",
            ),
            (
                "phrases = [\"马上解决\"]",
                "phrases = []",
                3,
                "nothing to match",
            ),
            (
                "category = \"over_promising\"",
                "category = \"Over Promising\"",
                5,
                "lower_snake_case",
            ),
            ("examples.no_match = [\"尽快处理\"]", "", 9, "examples"),
            (
                "phrases = [\"马上解决\"]",
                "phrases = [\"马上解决\"]\nscope = { first_turns = 2 }",
                9,
                "only for `require`",
            ),
        ];
        for (from, to, line, message) in cases {
            let problems = load_one(&GOOD.replace(from, to)).unwrap_err();
            assert_eq!(problems.len(), 1, "{to}: {problems:?}");
            assert_eq!(problems[0].line, Some(*line), "{to}: {problems:?}");
            assert_eq!(problems[0].rule_id.as_deref(), Some("OP-1"), "{to}");
            assert!(problems[0].message.contains(message), "{to}: {problems:?}");
        }
    }

    #[test]
    fn duplicate_ids_are_reported_with_both_places() {
        let problems = load_one(&format!("{GOOD}{GOOD}")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(12));
        assert!(problems[0].message.contains("pack.toml:2"), "{problems:?}");
    }

    #[test]
    fn an_empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = RulePack::load(dir.path()).unwrap_err();
        assert!(err.rule_problems()[0].message.contains("no *.toml"));
    }
}
