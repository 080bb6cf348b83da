//! The three Parquet tables, written with arrow in row groups of fixed size.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::ScoredCall;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::score::AgentStats;

/// Rows per batch handed to the Parquet writer.
const BATCH_ROWS: usize = 65_536;

/// Rows per Parquet row group: the writer holds one row group in memory.
const ROW_GROUP_ROWS: usize = 32 * 1024;

/// How many of an agent's most violated rules `agents.parquet` lists.
const TOP_RULES: usize = 5;

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

/// Writes `rows` in chunks: `build` turns one chunk into the table's columns.
fn write_table<T>(
    path: &Path,
    schema: Schema,
    rows: &[T],
    build: impl Fn(&[T]) -> Vec<ArrayRef>,
) -> Result<()> {
    let schema = Arc::new(schema);
    let file = std::fs::File::create(path).map_err(|e| Error::output(path, "create", e))?;
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties()))
        .map_err(|e| Error::parquet(path, e))?;
    for chunk in rows.chunks(BATCH_ROWS) {
        let batch = RecordBatch::try_new(Arc::clone(&schema), build(chunk))
            .map_err(|e| Error::parquet(path, e.into()))?;
        writer.write(&batch).map_err(|e| Error::parquet(path, e))?;
    }
    let file = writer.into_inner().map_err(|e| Error::parquet(path, e))?;
    file.sync_all().map_err(|e| Error::output(path, "sync", e))
}

fn calls_schema(engine: &Engine) -> Schema {
    let categories = engine.pack().categories();
    let mut fields = vec![
        utf8("call_id", false),
        utf8("agent_id", false),
        utf8("customer_id", true),
        Field::new(
            "started_at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        utf8("channel", true),
        utf8("language", false),
        Field::new("turns", DataType::Int32, false),
        Field::new("timed", DataType::Boolean, false),
        Field::new("score", DataType::Int32, false),
        Field::new("auto_fail", DataType::Boolean, false),
        Field::new("deductions", DataType::Int32, false),
        Field::new("bonus", DataType::Int32, false),
    ];
    for category in categories {
        fields.push(Field::new(
            format!("score_{category}"),
            DataType::Int32,
            false,
        ));
    }
    fields.push(Field::new("violations", DataType::Int32, false));
    fields.push(Field::new("rewards", DataType::Int32, false));
    fields.push(Field::new("customer_anger", DataType::Float64, false));
    fields.push(Field::new(
        "anger_terms",
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    ));
    fields.push(Field::new("risk", DataType::Int32, false));
    fields.push(Field::new("review_rank", DataType::Int64, false));
    fields.push(utf8("risk_reasons", false));
    fields.push(Field::new("mixed_turns", DataType::Int32, false));
    fields.push(Field::new(
        "mixed_words",
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    ));
    Schema::new(fields)
}

fn calls_columns(engine: &Engine, chunk: &[ScoredCall]) -> Vec<ArrayRef> {
    let categories = engine.pack().categories();
    {
        let mut columns: Vec<ArrayRef> = vec![
            strings(chunk, |c| Some(&c.row.call_id)),
            strings(chunk, |c| Some(&c.row.agent_id)),
            strings(chunk, |c| c.row.customer_id.as_deref()),
            Arc::new(
                chunk
                    .iter()
                    .map(|c| c.row.started_at)
                    .collect::<TimestampMillisecondArray>()
                    .with_timezone("UTC"),
            ),
            strings(chunk, |c| c.row.channel.as_deref()),
            strings(chunk, |c| Some(c.row.language.as_str())),
            int32s(chunk, |c| Some(c.row.turns as i32)),
            booleans(chunk, |c| c.row.timed),
            int32s(chunk, |c| Some(c.score.score)),
            booleans(chunk, |c| c.score.auto_fail),
            int32s(chunk, |c| Some(c.score.deductions as i32)),
            int32s(chunk, |c| Some(c.score.bonus as i32)),
        ];
        for category in 0..categories.len() {
            columns.push(int32s(chunk, |c| Some(c.score.category_scores[category])));
        }
        columns.push(int32s(chunk, |c| Some(c.score.violations as i32)));
        columns.push(int32s(chunk, |c| Some(c.score.rewards as i32)));
        columns.push(float64s(chunk, |c| c.row.customer_anger));
        columns.push(string_lists(chunk, |c| &c.row.anger_terms));
        columns.push(int32s(chunk, |c| Some(c.row.risk as i32)));
        columns.push(int64s(chunk, |c| Some(c.row.review_rank as i64)));
        let reasons: Vec<String> = chunk
            .iter()
            .map(|c| c.row.risk_reasons.join("; "))
            .collect();
        columns.push(strings(&reasons, |r| Some(r.as_str())));
        columns.push(int32s(chunk, |c| Some(c.row.mixed_turns as i32)));
        columns.push(string_lists(chunk, |c| &c.row.mixed_words));
        columns
    }
}

/// A finding with the call it belongs to, for row-wise column building.
struct FindingRef<'a> {
    call: &'a ScoredCall,
    finding: &'a super::FindingRow,
}

fn findings_schema() -> Schema {
    Schema::new(vec![
        utf8("call_id", false),
        utf8("agent_id", false),
        utf8("rule_id", false),
        utf8("kind", false),
        utf8("category", false),
        utf8("severity", false),
        utf8("speaker", false),
        Field::new("turn_index", DataType::Int32, true),
        Field::new("start_ms", DataType::Int64, true),
        Field::new("end_ms", DataType::Int64, true),
        Field::new("char_start", DataType::Int32, true),
        Field::new("char_end", DataType::Int32, true),
        utf8("matched", true),
        utf8("turn_text", true),
        utf8("context", true),
        Field::new("context_start", DataType::Int32, true),
        Field::new("context_end", DataType::Int32, true),
        utf8("detail", true),
        Field::new("points", DataType::Int32, false),
        utf8("message", false),
        utf8("suggestion", true),
        utf8("overridden", true),
        utf8("override_reviewer", true),
        utf8("override_reason", true),
        Field::new("confidence", DataType::Float64, true),
        utf8("confidence_features", true),
    ])
}

fn findings_columns(engine: &Engine, calls: &[ScoredCall]) -> Vec<ArrayRef> {
    let chunk: Vec<FindingRef<'_>> = calls
        .iter()
        .flat_map(|call| {
            call.findings
                .iter()
                .map(move |finding| FindingRef { call, finding })
        })
        .collect();
    let chunk = &chunk[..];
    let rules = engine.pack().rules();
    {
        let rule = |r: &FindingRef<'_>| &rules[r.finding.rule];
        let mut columns = vec![
            strings(chunk, |r| Some(&r.call.row.call_id)),
            strings(chunk, |r| Some(&r.call.row.agent_id)),
            strings(chunk, |r| Some(&rule(r).id)),
            strings(chunk, |r| Some(rule(r).kind.as_str())),
            strings(chunk, |r| Some(&rule(r).category)),
            strings(chunk, |r| Some(rule(r).severity.as_str())),
            strings(chunk, |r| {
                Some(
                    r.finding
                        .speaker
                        .map_or(rule(r).speaker.as_str(), |s| s.as_str()),
                )
            }),
            int32s(chunk, |r| r.finding.turn.map(|t| t as i32)),
            int64s(chunk, |r| r.finding.start_ms),
            int64s(chunk, |r| r.finding.end_ms),
            int32s(chunk, |r| r.finding.char_start.map(|c| c as i32)),
            int32s(chunk, |r| r.finding.char_end.map(|c| c as i32)),
            strings(chunk, |r| r.finding.matched.as_deref()),
            strings(chunk, |r| r.finding.turn_text.as_deref()),
            strings(chunk, |r| r.finding.context.as_deref()),
            int32s(chunk, |r| r.finding.context_start.map(|c| c as i32)),
            int32s(chunk, |r| r.finding.context_end.map(|c| c as i32)),
            strings(chunk, |r| r.finding.detail.as_deref()),
            int32s(chunk, |r| Some(signed_points(rule(r)))),
            strings(chunk, |r| Some(&rule(r).message)),
            strings(chunk, |r| rule(r).suggestion.as_deref()),
            strings(chunk, |r| {
                r.finding.overridden.as_ref().map(|m| m.status.as_str())
            }),
            strings(chunk, |r| {
                r.finding
                    .overridden
                    .as_ref()
                    .and_then(|m| m.reviewer.as_deref())
            }),
            strings(chunk, |r| {
                r.finding
                    .overridden
                    .as_ref()
                    .and_then(|m| m.reason.as_deref())
            }),
        ];
        columns.extend(confidence_columns(chunk));
        columns
    }
}

/// `confidence` and `confidence_features` from the run's review model (null without one),
/// given to each finding when its call was scored.
fn confidence_columns(chunk: &[FindingRef<'_>]) -> [ArrayRef; 2] {
    fn confidence<'a>(r: &FindingRef<'a>) -> Option<&'a (f64, String)> {
        r.finding.confidence.as_ref()
    }
    [
        Arc::new(arrow_array::Float64Array::from_iter(
            chunk.iter().map(|r| confidence(r).map(|(c, _)| *c)),
        )),
        Arc::new(arrow_array::StringArray::from_iter(
            chunk.iter().map(|r| confidence(r).map(|(_, f)| f.as_str())),
        )),
    ]
}

/// One Parquet file being written batch by batch.
struct Table {
    path: PathBuf,
    schema: Arc<Schema>,
    writer: ArrowWriter<std::fs::File>,
}

impl Table {
    fn create(path: &Path, schema: Schema) -> Result<Table> {
        let schema = Arc::new(schema);
        let file = std::fs::File::create(path).map_err(|e| Error::output(path, "create", e))?;
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties()))
            .map_err(|e| Error::parquet(path, e))?;
        Ok(Table {
            path: path.to_path_buf(),
            schema,
            writer,
        })
    }

    fn write(&mut self, columns: Vec<ArrayRef>) -> Result<()> {
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| Error::parquet(&self.path, e.into()))?;
        self.writer
            .write(&batch)
            .map_err(|e| Error::parquet(&self.path, e))
    }

    fn finish(self) -> Result<()> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| Error::parquet(&self.path, e))?;
        file.sync_all()
            .map_err(|e| Error::output(&self.path, "sync", e))
    }
}

/// `calls.parquet` and `findings.parquet`, written together batch by batch.
pub(super) struct CallTables<'a> {
    engine: &'a Engine,
    calls: Table,
    findings: Table,
}

/// Calls gathered before a batch is written to both tables: three batches are in memory at the
/// end of a run (being merged, waiting, being written), so a batch is kept small.
pub(super) const BATCH_CALLS: usize = 1024;

impl<'a> CallTables<'a> {
    pub(super) fn create(dir: &Path, engine: &'a Engine) -> Result<CallTables<'a>> {
        Ok(CallTables {
            engine,
            calls: Table::create(&dir.join(super::CALLS_FILE), calls_schema(engine))?,
            findings: Table::create(&dir.join(super::FINDINGS_FILE), findings_schema())?,
        })
    }

    /// Writes one batch of calls (in `call_id` order, after the previous batch).
    pub(super) fn write(&mut self, batch: &[ScoredCall]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.calls.write(calls_columns(self.engine, batch))?;
        self.findings.write(findings_columns(self.engine, batch))
    }

    pub(super) fn finish(self) -> Result<()> {
        self.calls.finish()?;
        self.findings.finish()
    }
}

/// Gives each call, as the calls come in `call_id` order, its final risk and rank.
pub(super) fn rank(ranks: &mut crate::queue::Ranks, call: &mut ScoredCall) {
    let r = ranks.next(call.row.customer_id.as_deref(), call.row.risk);
    call.row.risk = r.risk;
    call.row.review_rank = r.rank;
    call.row
        .risk_reasons
        .extend(crate::queue::repeat_reason(r.customer_calls));
}

/// Points of one finding before caps: negative for a violation, positive for a reward.
fn signed_points(rule: &crate::rules::Rule) -> i32 {
    let points = rule.points as i32;
    if rule.is_reward() { points } else { -points }
}

pub(super) fn write_agents(
    path: &Path,
    engine: &Engine,
    agents: &BTreeMap<String, AgentStats>,
) -> Result<()> {
    let categories = engine.pack().categories();
    let rows: Vec<(&String, &AgentStats)> = agents.iter().collect();
    let mut fields = vec![
        utf8("agent_id", false),
        Field::new("calls", DataType::Int64, false),
        Field::new("mean_score", DataType::Float64, false),
        Field::new("p10_score", DataType::Int32, false),
        Field::new("auto_fail_rate", DataType::Float64, false),
    ];
    for category in categories {
        fields.push(Field::new(
            format!("mean_{category}"),
            DataType::Float64,
            false,
        ));
    }
    fields.push(Field::new("violations", DataType::Int64, false));
    fields.push(Field::new(
        "violations_per_100_calls",
        DataType::Float64,
        false,
    ));
    fields.push(Field::new(
        "top_rules",
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    ));
    write_table(path, Schema::new(fields), &rows, |chunk| {
        let mut columns: Vec<ArrayRef> = vec![
            strings(chunk, |(id, _)| Some(id.as_str())),
            int64s(chunk, |(_, s)| Some(s.calls as i64)),
            float64s(chunk, |(_, s)| s.mean_score()),
            int32s(chunk, |(_, s)| Some(s.p10_score())),
            float64s(chunk, |(_, s)| s.auto_fail_rate()),
        ];
        for category in 0..categories.len() {
            columns.push(float64s(chunk, |(_, s)| s.category_mean(category)));
        }
        columns.push(int64s(chunk, |(_, s)| Some(s.violations as i64)));
        columns.push(float64s(chunk, |(_, s)| s.violations_per_100_calls()));
        let top: Vec<Vec<String>> = chunk.iter().map(|(_, s)| s.top_rules(TOP_RULES)).collect();
        columns.push(string_lists(&top, |t| t));
        columns
    })
}

fn strings<'a, T>(rows: &'a [T], value: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    let mut builder = StringBuilder::new();
    for row in rows {
        builder.append_option(value(row));
    }
    Arc::new(builder.finish())
}

fn int32s<T>(rows: &[T], value: impl Fn(&T) -> Option<i32>) -> ArrayRef {
    Arc::new(rows.iter().map(value).collect::<Int32Array>())
}

fn int64s<T>(rows: &[T], value: impl Fn(&T) -> Option<i64>) -> ArrayRef {
    Arc::new(rows.iter().map(value).collect::<Int64Array>())
}

fn float64s<T>(rows: &[T], value: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(
        rows.iter()
            .map(|r| Some(value(r)))
            .collect::<Float64Array>(),
    )
}

fn booleans<T>(rows: &[T], value: impl Fn(&T) -> bool) -> ArrayRef {
    Arc::new(
        rows.iter()
            .map(|r| Some(value(r)))
            .collect::<BooleanArray>(),
    )
}

fn string_lists<T>(rows: &[T], value: impl Fn(&T) -> &Vec<String>) -> ArrayRef {
    let mut list = ListBuilder::new(StringBuilder::new());
    for row in rows {
        for item in value(row) {
            list.values().append_value(item);
        }
        list.append(true);
    }
    Arc::new(list.finish())
}
