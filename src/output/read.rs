//! Reading a finished run's Parquet tables back (for `queue` and `coach`).

use std::path::Path;

use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};

/// One batch of rows of a table, with the file it came from for messages.
pub struct Batch<'a> {
    pub rows: RecordBatch,
    path: &'a Path,
}

impl Batch<'_> {
    /// The column `name` as an array of type `T`, or an error naming the file.
    pub fn column<T: Array + Clone + 'static>(&self, name: &str) -> Result<T> {
        self.rows
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>().cloned())
            .ok_or_else(|| {
                Error::input(
                    self.path,
                    "read",
                    std::io::Error::other(format!(
                        "no column `{name}` of the expected type: is this a callqa run of this version?"
                    )),
                )
            })
    }
}

/// Calls `visit` with each batch of the table at `path` until it returns `false`.
pub fn for_each_batch(
    path: &Path,
    mut visit: impl FnMut(&Batch<'_>) -> Result<bool>,
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::input(path, "open", e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| Error::parquet(path, e))?;
    for rows in reader {
        let rows = rows.map_err(|e| Error::parquet(path, e.into()))?;
        if !visit(&Batch { rows, path })? {
            break;
        }
    }
    Ok(())
}

impl Batch<'_> {
    /// The column `name` if the table has it (a column added in a later version), else `None`.
    pub fn optional_column<T: Array + Clone + 'static>(&self, name: &str) -> Result<Option<T>> {
        match self.rows.column_by_name(name) {
            None => Ok(None),
            Some(_) => self.column(name).map(Some),
        }
    }
}

/// The inputs and the rule pack folder a finished run used, from its `manifest.json`.
pub fn run_sources(out: &Path) -> Result<(Vec<std::path::PathBuf>, std::path::PathBuf)> {
    let path = out.join(crate::output::MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::usage(format!(
            "cannot read {}: {e} (is {} a finished callqa run?)",
            path.display(),
            out.display()
        ))
    })?;
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: not a callqa manifest: {e}", path.display())))?;
    let inputs = manifest["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["path"].as_str())
                .map(std::path::PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    let rules = manifest["rule_pack"]["dir"].as_str().unwrap_or("rules");
    Ok((inputs, std::path::PathBuf::from(rules)))
}

/// A table read one batch at a time, for callers that walk two tables side by side.
pub struct Batches {
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    path: std::path::PathBuf,
}

impl Batches {
    pub fn open(path: &Path) -> Result<Batches> {
        let file = std::fs::File::open(path).map_err(|e| Error::input(path, "open", e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| Error::parquet(path, e))?;
        Ok(Batches {
            reader,
            path: path.to_path_buf(),
        })
    }

    /// The next batch, `None` at the end of the table.
    pub fn next_batch(&mut self) -> Result<Option<Batch<'_>>> {
        match self.reader.next() {
            None => Ok(None),
            Some(rows) => {
                let rows = rows.map_err(|e| Error::parquet(&self.path, e.into()))?;
                Ok(Some(Batch {
                    rows,
                    path: &self.path,
                }))
            }
        }
    }
}
