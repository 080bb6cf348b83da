//! `agents_daily.parquet`: one row per agent and day, rebuilt from the partitions.
//!
//! It is derived data: each partition's `agents.parquet` is the source of truth, and the whole
//! table is rewritten (temporary file, then rename) after every partitioned run or re-score, so
//! it never disagrees with the partitions for longer than one run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::lock::Lock;
use super::{Day, partitions};
use crate::error::{Error, Result};
use crate::output::read::for_each_batch;

pub const AGENTS_DAILY_FILE: &str = "agents_daily.parquet";

/// One agent on one day.
#[derive(Clone, Debug, PartialEq)]
pub struct DailyRow {
    pub date: Day,
    pub agent_id: String,
    pub calls: i64,
    pub mean_score: f64,
    pub auto_fail_rate: f64,
    /// `(category, mean subscore)` in the partition's column order.
    pub categories: Vec<(String, f64)>,
}

/// Every agent row of every partition under `root`, by date then agent.
pub fn read_partitions(root: &Path) -> Result<Vec<DailyRow>> {
    let mut rows = Vec::new();
    for (date, dir) in partitions(root)? {
        read_agents(&dir.join(crate::output::AGENTS_FILE), date, &mut rows)?;
    }
    Ok(rows)
}

fn read_agents(path: &Path, date: Day, rows: &mut Vec<DailyRow>) -> Result<()> {
    for_each_batch(path, |batch| {
        let agents = batch.column::<StringArray>("agent_id")?;
        let calls = batch.column::<Int64Array>("calls")?;
        let mean = batch.column::<Float64Array>("mean_score")?;
        let auto_fail = batch.column::<Float64Array>("auto_fail_rate")?;
        let mut categories = Vec::new();
        for field in batch.rows.schema().fields() {
            if let Some(category) = field.name().strip_prefix("mean_")
                && category != "score"
            {
                categories.push((
                    category.to_string(),
                    batch.column::<Float64Array>(field.name())?,
                ));
            }
        }
        for i in 0..batch.rows.num_rows() {
            rows.push(DailyRow {
                date,
                agent_id: agents.value(i).to_string(),
                calls: calls.value(i),
                mean_score: mean.value(i),
                auto_fail_rate: auto_fail.value(i),
                categories: categories
                    .iter()
                    .map(|(name, values)| (name.clone(), values.value(i)))
                    .collect(),
            });
        }
        Ok(true)
    })
}

/// Rewrites `root/agents_daily.parquet` from the partitions; returns its path and row count.
///
/// A short lock on the root keeps two runs of different dates from interleaving their rebuilds
/// (the later one always reads both partitions).
pub fn rebuild(root: &Path) -> Result<(PathBuf, usize)> {
    let _lock = Lock::wait(
        &root.join(".agents_daily.lock"),
        "agents_daily.parquet",
        Duration::from_secs(120),
    )?;
    let rows = read_partitions(root)?;
    let path = root.join(AGENTS_DAILY_FILE);
    let temporary = root.join(format!(".{AGENTS_DAILY_FILE}.{}.tmp", std::process::id()));
    let written = write(&temporary, &rows).and_then(|()| {
        std::fs::rename(&temporary, &path).map_err(|e| Error::output(&path, "replace", e))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map(|()| (path, rows.len()))
}

/// Every category seen, in order of first appearance (partitions are read by date).
fn categories(rows: &[DailyRow]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        for (name, _) in &row.categories {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

fn write(path: &Path, rows: &[DailyRow]) -> Result<()> {
    let categories = categories(rows);
    let mut fields = vec![
        Field::new("date", DataType::Date32, false),
        Field::new("agent_id", DataType::Utf8, false),
        Field::new("calls", DataType::Int64, false),
        Field::new("mean_score", DataType::Float64, false),
        Field::new("auto_fail_rate", DataType::Float64, false),
    ];
    // A category may be missing on days scored with an older pack: null there, not 0.
    for name in &categories {
        fields.push(Field::new(format!("mean_{name}"), DataType::Float64, true));
    }
    let schema = Arc::new(Schema::new(fields));
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|r| r.date.days_since_epoch()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.agent_id.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.calls))),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.mean_score),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.auto_fail_rate),
        )),
    ];
    for name in &categories {
        columns.push(Arc::new(Float64Array::from_iter(rows.iter().map(|r| {
            r.categories
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v)
        }))));
    }
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
        .map_err(|e| Error::parquet(path, e.into()))?;
    let file = std::fs::File::create(path).map_err(|e| Error::output(path, "create", e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(properties))
        .map_err(|e| Error::parquet(path, e))?;
    writer.write(&batch).map_err(|e| Error::parquet(path, e))?;
    let file = writer.into_inner().map_err(|e| Error::parquet(path, e))?;
    file.sync_all().map_err(|e| Error::output(path, "sync", e))
}

/// Rows of the `days` days before `date` (not `date` itself).
pub fn window(rows: &[DailyRow], date: Day, days: i64) -> Vec<DailyRow> {
    let from = date.0 - chrono::Duration::days(days);
    rows.iter()
        .filter(|r| r.date.0 > from && r.date.0 < date.0)
        .cloned()
        .collect()
}
