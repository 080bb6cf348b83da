//! Per-line results: what `score --stdin` prints, what a shard keeps in `results.parquet`, and
//! what `merge` reads back — one JSON object per input line, tagged with where the line came
//! from (`input`: the index of the input file, `line`: its 1-based line number).
//!
//! ```json
//! {"input":0,"line":1,"status":"scored","call_id":"c-1","call":{"row":{…},"score":{…},"findings":[…]}}
//! {"input":0,"line":2,"status":"rejected","reason":"line 2: …","raw":"{\"call_id\":…"}
//! {"input":0,"line":3,"status":"blank"}
//! ```
//!
//! A scored call carries everything the tables, the report and the agent aggregates are built
//! from, so `merge` rebuilds them exactly with the same code as `run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, LargeStringArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::input::{LineReader, Speaker};
use crate::output::{CallRow, FindingRow, ScoredCall};
use crate::score::CallScore;

/// The file a shard keeps its per-line results in (one string column, `result`).
pub const RESULTS_FILE: &str = "results.parquet";
/// The only column of a results Parquet file (also what the Spark job writes).
pub const RESULT_COLUMN: &str = "result";

/// What became of one input line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Scored,
    Rejected,
    Blank,
}

/// One input line's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultLine {
    pub input: u32,
    pub line: u64,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// The line as read (up to 64 KiB) for a reject; for a scored call only when asked
    /// (`--tagged`), so that a merge can reject a later duplicate with its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<WireCall>,
}

/// A scored call as JSON: findings name their rule by id, not by position in the pack.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCall {
    pub row: CallRow,
    pub score: CallScore,
    pub findings: Vec<WireFinding>,
    /// The transcript, for calls that may enter the report's review queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<(Speaker, String)>>,
}

/// [`FindingRow`] with the rule's id.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireFinding {
    pub rule_id: String,
    pub turn: Option<u32>,
    pub speaker: Option<Speaker>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub char_start: Option<u32>,
    pub char_end: Option<u32>,
    pub matched: Option<String>,
    pub turn_text: Option<String>,
    pub context: Option<String>,
    pub context_start: Option<u32>,
    pub context_end: Option<u32>,
    pub detail: Option<String>,
}

impl WireCall {
    pub fn from_scored(engine: &Engine, call: &ScoredCall) -> WireCall {
        let rules = engine.pack().rules();
        WireCall {
            row: call.row.clone(),
            score: call.score.clone(),
            findings: call
                .findings
                .iter()
                .map(|f| WireFinding {
                    rule_id: rules[f.rule].id.clone(),
                    turn: f.turn,
                    speaker: f.speaker,
                    start_ms: f.start_ms,
                    end_ms: f.end_ms,
                    char_start: f.char_start,
                    char_end: f.char_end,
                    matched: f.matched.clone(),
                    turn_text: f.turn_text.clone(),
                    context: f.context.clone(),
                    context_start: f.context_start,
                    context_end: f.context_end,
                    detail: f.detail.clone(),
                })
                .collect(),
            transcript: call.transcript.clone(),
        }
    }

    /// Back to a [`ScoredCall`] of this pack; `Err` names what does not fit the pack.
    pub fn into_scored(self, engine: &Engine) -> std::result::Result<ScoredCall, String> {
        let pack = engine.pack();
        if self.score.category_scores.len() != pack.categories().len() {
            return Err(format!(
                "call `{}` has {} category scores but the rule pack has {} categories: was it scored with another pack?",
                self.row.call_id,
                self.score.category_scores.len(),
                pack.categories().len()
            ));
        }
        let findings = self
            .findings
            .into_iter()
            .map(|f| {
                let rule = pack
                    .rules()
                    .iter()
                    .position(|r| r.id == f.rule_id)
                    .ok_or_else(|| {
                        format!(
                            "rule `{}` is not in the rule pack: was it scored with another pack?",
                            f.rule_id
                        )
                    })?;
                Ok(FindingRow {
                    rule,
                    turn: f.turn,
                    speaker: f.speaker,
                    start_ms: f.start_ms,
                    end_ms: f.end_ms,
                    char_start: f.char_start,
                    char_end: f.char_end,
                    matched: f.matched,
                    turn_text: f.turn_text,
                    context: f.context,
                    context_start: f.context_start,
                    context_end: f.context_end,
                    detail: f.detail,
                    // `run --shard` refuses `--overrides`, so a result line never carries one.
                    overridden: None,
                    // Nor `--model`.
                    confidence: None,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(ScoredCall {
            row: self.row,
            score: self.score,
            findings,
            transcript: self.transcript,
        })
    }
}

/// Rows per batch and per row group of `results.parquet`: small, because a scored call with
/// its findings and transcript can be tens of kilobytes and the writer holds a row group.
const RESULT_ROWS: usize = 1024;

/// Writes result lines into a one-column Parquet file.
pub struct ResultsWriter {
    path: PathBuf,
    schema: Arc<Schema>,
    writer: ArrowWriter<std::fs::File>,
    pending: StringBuilder,
    rows: usize,
}

impl ResultsWriter {
    pub fn create(path: &Path) -> Result<ResultsWriter> {
        let schema = Arc::new(Schema::new(vec![Field::new(
            RESULT_COLUMN,
            DataType::Utf8,
            false,
        )]));
        let file = std::fs::File::create(path).map_err(|e| Error::output(path, "create", e))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(RESULT_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
            .map_err(|e| Error::parquet(path, e))?;
        Ok(ResultsWriter {
            path: path.to_path_buf(),
            schema,
            writer,
            pending: StringBuilder::new(),
            rows: 0,
        })
    }

    pub fn write(&mut self, line: &ResultLine) -> Result<()> {
        let json = serde_json::to_string(line)
            .map_err(|e| Error::output(&self.path, "encode", std::io::Error::other(e)))?;
        self.pending.append_value(json);
        self.rows += 1;
        if self.rows == RESULT_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let column: ArrayRef = Arc::new(self.pending.finish());
        self.rows = 0;
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), vec![column])
            .map_err(|e| Error::parquet(&self.path, e.into()))?;
        self.writer
            .write(&batch)
            .map_err(|e| Error::parquet(&self.path, e))
    }

    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        let file = self
            .writer
            .into_inner()
            .map_err(|e| Error::parquet(&self.path, e))?;
        file.sync_all()
            .map_err(|e| Error::output(&self.path, "sync", e))
    }
}

/// Streams the result lines of one part file: a Parquet file with a string column `result`
/// (a shard's `results.parquet`, or a part Spark wrote), or JSON lines (plain, gzip or zstd).
pub struct PartReader {
    path: PathBuf,
    source: Source,
    /// Position in the file, for messages: a row number or a line number.
    position: u64,
}

enum Source {
    Parquet {
        batches: ParquetRecordBatchReader,
        batch: Option<ArrayRef>,
        next_row: usize,
    },
    Lines(LineReader),
}

impl PartReader {
    pub fn open(path: &Path) -> Result<PartReader> {
        let mut magic = [0u8; 4];
        let is_parquet = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && &magic == b"PAR1";
        let source = if is_parquet {
            let file = std::fs::File::open(path).map_err(|e| Error::input(path, "open", e))?;
            let batches = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_batch_size(RESULT_ROWS).build())
                .map_err(|e| Error::parquet(path, e))?;
            Source::Parquet {
                batches,
                batch: None,
                next_row: 0,
            }
        } else {
            // A part line is at most a few times its record; no record limit applies here.
            Source::Lines(LineReader::open(path, usize::MAX)?)
        };
        Ok(PartReader {
            path: path.to_path_buf(),
            source,
            position: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next result line, or `None` at the end; a line that is not a result is an error
    /// naming the file and its row or line.
    pub fn next_result(&mut self) -> Result<Option<ResultLine>> {
        loop {
            let Some(text) = self.next_text()? else {
                return Ok(None);
            };
            if text.trim().is_empty() {
                continue;
            }
            return serde_json::from_str(&text).map(Some).map_err(|e| {
                self.bad(format!(
                    "not a callqa result line ({e}); parts must come from `callqa run --shard` or `callqa score --stdin`"
                ))
            });
        }
    }

    /// An error about the current row or line of this part.
    pub fn bad(&self, message: String) -> Error {
        let unit = match self.source {
            Source::Parquet { .. } => "row",
            Source::Lines(_) => "line",
        };
        Error::input(
            &self.path,
            "merge",
            std::io::Error::other(format!("{unit} {}: {message}", self.position)),
        )
    }

    fn next_text(&mut self) -> Result<Option<String>> {
        self.position += 1;
        match &mut self.source {
            Source::Lines(reader) => match reader.next_line() {
                Ok(Some(crate::input::Line::Record(bytes))) => String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| self.bad("not UTF-8".into())),
                Ok(Some(crate::input::Line::TooLong(_))) => Err(self.bad("too long".into())),
                Ok(None) => Ok(None),
                Err(e) => Err(Error::input(&self.path, "read", e)),
            },
            Source::Parquet {
                batches,
                batch,
                next_row,
            } => loop {
                if let Some(column) = batch.as_ref()
                    && *next_row < column.len()
                {
                    let row = *next_row;
                    *next_row += 1;
                    return Ok(string_at(column, row));
                }
                match batches.next() {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(Error::parquet(&self.path, e.into())),
                    Some(Ok(rows)) => {
                        let column = rows
                            .column_by_name(RESULT_COLUMN)
                            .filter(|c| matches!(c.data_type(), DataType::Utf8 | DataType::LargeUtf8))
                            .cloned()
                            .ok_or_else(|| {
                                Error::input(
                                    &self.path,
                                    "merge",
                                    std::io::Error::other(format!(
                                        "no string column `{RESULT_COLUMN}`: not a callqa results file"
                                    )),
                                )
                            })?;
                        *batch = Some(column);
                        *next_row = 0;
                    }
                }
            },
        }
    }
}

/// Row `row` of a string column (checked to be one of Arrow's two string types when its batch
/// was read; Spark may write either); a null reads as a blank line.
fn string_at(column: &ArrayRef, row: usize) -> Option<String> {
    if column.is_null(row) {
        return Some(String::new());
    }
    let text = match column.as_any().downcast_ref::<StringArray>() {
        Some(a) => a.value(row),
        None => column
            .as_any()
            .downcast_ref::<LargeStringArray>()
            .map_or("", |a| a.value(row)),
    };
    Some(text.to_string())
}
