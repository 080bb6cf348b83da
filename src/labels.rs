//! Human labels: what a reviewer decided about a call, per rule or per category.
//!
//! A labels file is CSV (UTF-8, header row required) or JSONL, chosen by the extension
//! (`.csv` / `.jsonl`), with the fields
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `call_id` | yes | the call |
//! | `rule_id` | one of the two | a rule of the pack |
//! | `category` | one of the two | a category of the pack |
//! | `verdict` | yes | `hit` or `no_hit` |
//! | `reviewer` | no | who decided |
//! | `note` | no | why |
//!
//! A rule-level `hit` means callqa should report at least one finding of that rule on that call
//! (a violation, or for a `reward` rule a reward); a category-level `hit` means the call has at
//! least one violation (a finding of a non-`reward` rule) in that category. Only labelled
//! (call, rule/category) pairs are judged, so a file may label as little as it likes.
//!
//! Reading is strict: an unknown column, a missing `call_id` or `verdict`, both or neither of
//! `rule_id` / `category`, another verdict, or two labels of the same pair with different
//! verdicts are errors naming `file:line`. An exact repeat of a label is accepted once.
//! Checking labels against a run (unknown calls, rules, categories) is done by `eval`.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("labels.csv");
//! std::fs::write(&path, "call_id,rule_id,category,verdict,reviewer,note\n\
//!                        zh-001,OP-ZH-002,,no_hit,li,不能保证 is a refusal\n\
//!                        zh-002,,over_promising,hit,,\n").unwrap();
//! let labels = callqa::labels::read_labels(&path).unwrap();
//! assert_eq!(labels.len(), 2);
//! assert_eq!(labels[1].target, callqa::labels::Target::Category("over_promising".into()));
//! assert_eq!(labels[1].line, 3);
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A reviewer's verdict.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Hit,
    NoHit,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Hit => "hit",
            Verdict::NoHit => "no_hit",
        }
    }

    pub fn is_hit(self) -> bool {
        self == Verdict::Hit
    }
}

/// What a label is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Rule(String),
    Category(String),
}

impl Target {
    /// `rule` or `category`.
    pub fn level(&self) -> &'static str {
        match self {
            Target::Rule(_) => "rule",
            Target::Category(_) => "category",
        }
    }

    /// The rule id or category name.
    pub fn key(&self) -> &str {
        match self {
            Target::Rule(k) | Target::Category(k) => k,
        }
    }
}

/// One label, with where it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub call_id: String,
    pub target: Target,
    pub verdict: Verdict,
    pub reviewer: Option<String>,
    pub note: Option<String>,
    pub file: PathBuf,
    /// 1-based line of the record (the header is line 1 of a CSV file).
    pub line: u64,
}

impl Label {
    /// `file:line`, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// One record as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelRecord {
    call_id: String,
    #[serde(default)]
    rule_id: Option<String>,
    #[serde(default)]
    category: Option<String>,
    verdict: Verdict,
    #[serde(default)]
    reviewer: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

const LABEL_COLUMNS: [&str; 6] = [
    "call_id", "rule_id", "category", "verdict", "reviewer", "note",
];

/// Reads and checks a labels file (CSV or JSONL, by extension); see the module docs.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let records: Vec<(u64, LabelRecord)> =
        read_records(path, &LABEL_COLUMNS, &["call_id", "verdict"])?;
    let mut labels = Vec::with_capacity(records.len());
    let mut seen: HashMap<(String, Target), usize> = HashMap::new();
    for (line, record) in records {
        let at = |message: String| Error::usage(format!("{}:{line}: {message}", path.display()));
        let call_id = non_empty(Some(record.call_id)).ok_or_else(|| at("empty call_id".into()))?;
        let target = match (non_empty(record.rule_id), non_empty(record.category)) {
            (Some(rule), None) => Target::Rule(rule),
            (None, Some(category)) => Target::Category(category),
            (Some(_), Some(_)) => {
                return Err(at(
                    "both rule_id and category are given; a label is about one of them".into(),
                ));
            }
            (None, None) => return Err(at("give a rule_id or a category".into())),
        };
        let label = Label {
            call_id,
            target,
            verdict: record.verdict,
            reviewer: non_empty(record.reviewer),
            note: non_empty(record.note),
            file: path.to_path_buf(),
            line,
        };
        let key = (label.call_id.clone(), label.target.clone());
        if let Some(&first) = seen.get(&key) {
            let first: &Label = &labels[first];
            if first.verdict != label.verdict {
                return Err(at(format!(
                    "{} {} of call {} is labelled {} here but {} at line {}",
                    label.target.level(),
                    label.target.key(),
                    label.call_id,
                    label.verdict.as_str(),
                    first.verdict.as_str(),
                    first.line
                )));
            }
            continue; // an exact repeat: counted once
        }
        seen.insert(key, labels.len());
        labels.push(label);
    }
    Ok(labels)
}

/// A trimmed value, `None` when empty.
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Reads the records of a CSV or JSONL file (by extension) with their 1-based line numbers.
///
/// `columns` are all the fields a record may have; `required` must be present. A CSV header
/// naming anything else is refused at line 1, before any record is read.
pub(crate) fn read_records<T: DeserializeOwned>(
    path: &Path,
    columns: &[&str],
    required: &[&str],
) -> Result<Vec<(u64, T)>> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("csv") => read_csv(path, columns, required),
        Some("jsonl") => read_jsonl(path),
        _ => Err(Error::usage(format!(
            "{}: use a .csv or .jsonl file",
            path.display()
        ))),
    }
}

fn read_csv<T: DeserializeOwned>(
    path: &Path,
    columns: &[&str],
    required: &[&str],
) -> Result<Vec<(u64, T)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::input(path, "read", e))?;
    // The csv crate's line numbers skip blank lines, and a record's position is where the
    // reader started, before the blank lines it skipped: count lines from the file itself,
    // from the record's first byte that is not a line break.
    let newlines: Vec<u64> = (0..bytes.len() as u64)
        .filter(|&i| bytes[i as usize] == b'\n')
        .collect();
    let line_at = |byte: u64| {
        let start = bytes
            .iter()
            .skip(byte as usize)
            .position(|b| !matches!(b, b'\n' | b'\r'))
            .map_or(byte, |skipped| byte + skipped as u64);
        newlines.partition_point(|&n| n < start) as u64 + 1
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let at =
        |line: u64, message: String| Error::usage(format!("{}:{line}: {message}", path.display()));
    let headers = reader
        .headers()
        .map_err(|e| at(1, format!("cannot read the header row: {e}")))?
        .clone();
    for header in headers.iter() {
        if !columns.contains(&header) {
            return Err(at(
                1,
                format!(
                    "unknown column `{header}`; the columns are {}",
                    columns.join(", ")
                ),
            ));
        }
    }
    for column in required {
        if !headers.iter().any(|h| h == *column) {
            return Err(at(1, format!("missing column `{column}`")));
        }
    }
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(p.byte()));
            at(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        let value: T = record
            .deserialize(Some(&headers))
            .map_err(|e| at(line, e.to_string()))?;
        records.push((line, value));
    }
    Ok(records)
}

fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<(u64, T)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, "read", e))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: T = serde_json::from_str(line)
            .map_err(|e| Error::usage(format!("{}:{line_no}: {e}", path.display())))?;
        records.push((line_no, value));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Result<Vec<Label>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        read_labels(&path)
    }

    fn error(name: &str, text: &str) -> String {
        read(name, text).unwrap_err().to_string()
    }

    #[test]
    fn csv_and_jsonl_give_the_same_labels() {
        let csv = read(
            "l.csv",
            "\u{feff}call_id,rule_id,category,verdict,reviewer,note\nc1,R1,,hit,ann,\"a, b\"\nc2,,empathy,no_hit,,\n",
        )
        .unwrap();
        let jsonl = read(
            "l.jsonl",
            "{\"call_id\":\"c1\",\"rule_id\":\"R1\",\"verdict\":\"hit\",\"reviewer\":\"ann\",\"note\":\"a, b\"}\n\n{\"call_id\":\"c2\",\"category\":\"empathy\",\"rule_id\":null,\"verdict\":\"no_hit\"}\n",
        )
        .unwrap();
        // The same labels apart from where they were read.
        let strip = |ls: Vec<Label>| -> Vec<Label> {
            ls.into_iter()
                .map(|l| Label {
                    file: PathBuf::new(),
                    line: 0,
                    ..l
                })
                .collect()
        };
        assert_eq!(csv[0].line, 2);
        assert_eq!(jsonl[1].line, 3);
        assert_eq!(csv[1].reviewer, None);
        assert_eq!(strip(csv), strip(jsonl));
    }

    #[test]
    fn optional_columns_may_be_left_out() {
        let labels = read("l.csv", "call_id,rule_id,verdict\nc1,R1,no_hit\n").unwrap();
        assert_eq!(labels[0].target, Target::Rule("R1".into()));
        assert_eq!(labels[0].verdict, Verdict::NoHit);
    }

    #[test]
    fn bad_files_are_refused_with_file_and_line() {
        let e = error("l.csv", "call_id,rule,verdict\nc1,R1,hit\n");
        assert!(e.contains("l.csv:1: unknown column `rule`"), "{e}");
        let e = error("l.csv", "call_id,rule_id\nc1,R1\n");
        assert!(e.contains("l.csv:1: missing column `verdict`"), "{e}");
        let e = error("l.csv", "call_id,rule_id,verdict\nc1,R1,hit\nc2,R1,maybe\n");
        assert!(e.contains("l.csv:3:") && e.contains("no_hit"), "{e}");
        // Blank lines count: the bad record is on line 5 of the file.
        let e = error(
            "l.csv",
            "call_id,rule_id,verdict\nc1,R1,hit\n\n\r\nc2,R1,maybe\n",
        );
        assert!(e.contains("l.csv:5:") && e.contains("no_hit"), "{e}");
        let e = error(
            "l.csv",
            "call_id,rule_id,category,verdict\nc1,R1,empathy,hit\n",
        );
        assert!(e.contains("l.csv:2: both rule_id and category"), "{e}");
        let e = error("l.csv", "call_id,rule_id,category,verdict\nc1,,,hit\n");
        assert!(e.contains("l.csv:2: give a rule_id or a category"), "{e}");
        let e = error(
            "l.jsonl",
            "{\"call_id\":\"c1\",\"rule_id\":\"R\",\"verdict\":\"hit\",\"x\":1}\n",
        );
        assert!(
            e.contains("l.jsonl:1:") && e.contains("unknown field `x`"),
            "{e}"
        );
        let e = error("l.txt", "");
        assert!(e.contains(".csv or .jsonl"), "{e}");
    }

    #[test]
    fn contradicting_duplicates_are_errors_and_repeats_count_once() {
        let e = error(
            "l.csv",
            "call_id,rule_id,verdict\nc1,R1,hit\nc1,R2,hit\nc1,R1,no_hit\n",
        );
        assert!(
            e.contains("l.csv:4:") && e.contains("no_hit here but hit at line 2"),
            "{e}"
        );
        let labels = read("l.csv", "call_id,rule_id,verdict\nc1,R1,hit\nc1,R1,hit\n").unwrap();
        assert_eq!(labels.len(), 1);
    }
}
