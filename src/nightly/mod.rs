//! Nightly operations: date partitions under an output root, their lock, re-scoring history,
//! and the per-agent daily table behind the trends.
//!
//! Layout (Hive-style, so DuckDB, Polars and Spark read `ROOT/date=*/agents.parquet` as one
//! table with a `date` column):
//!
//! ```text
//! ROOT/date=2026-11-24/{calls,findings,agents}.parquet, report.html, rejects.jsonl, manifest.json
//! ROOT/date=2026-11-25/…
//! ROOT/agents_daily.parquet        rebuilt from the partitions after every run
//! ```
//!
//! Each partition is written exactly like a plain `--out` run (staging folder, then renames),
//! so a rerun of a date replaces that partition atomically and leaves the others untouched.

pub mod daily;
pub mod lock;
pub mod rescore;
pub mod trend;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::input::{Line, LineReader};
use crate::pipeline::{self, Progress, RunOptions, RunSummary};
use crate::score::AgentStats;

/// Days of history the report's trend chart shows (the run's date included).
pub const TREND_DAYS: i64 = 30;

/// A calendar day, written `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub NaiveDate);

impl Day {
    /// Parses `YYYY-MM-DD` (as given to `--date`).
    pub fn parse(text: &str) -> Result<Day> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10)
            .map(Day)
            .ok_or_else(|| Error::usage(format!("`{text}` is not a date: use YYYY-MM-DD")))
    }

    /// Today in UTC.
    pub fn today() -> Day {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Day(chrono::DateTime::from_timestamp(seconds, 0).map_or(NaiveDate::MIN, |t| t.date_naive()))
    }

    pub fn days_since_epoch(self) -> i32 {
        (self.0 - NaiveDate::default()).num_days() as i32
    }

    pub fn next(self) -> Day {
        Day(self.0.succ_opt().unwrap_or(self.0))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// The folder of one date's partition.
pub fn partition_dir(root: &Path, date: Day) -> PathBuf {
    root.join(format!("date={date}"))
}

/// The finished partitions under `root` (those with a `manifest.json`), by date.
pub fn partitions(root: &Path) -> Result<Vec<(Day, PathBuf)>> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::input(root, "list the partitions of", e)),
    };
    let mut found: Vec<(Day, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let date = Day::parse(name.strip_prefix("date=")?).ok()?;
            let dir = entry.path();
            dir.join(crate::output::MANIFEST_FILE)
                .is_file()
                .then_some((date, dir))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// The date of the calls: the local date (in its own UTC offset) of the first `started_at`
/// found in the first records of `inputs`; `None` when they carry none.
pub fn date_of_calls(inputs: &[PathBuf], max_record_bytes: usize) -> Result<Option<Day>> {
    const LOOK_AT: usize = 1000;
    let mut seen = 0;
    for path in inputs {
        let mut reader = LineReader::open(path, max_record_bytes)?;
        while seen < LOOK_AT {
            let Ok(Some(line)) = reader.next_line() else {
                break;
            };
            seen += 1;
            let Line::Record(bytes) = line else { continue };
            #[derive(serde::Deserialize)]
            struct Stamp {
                started_at: Option<String>,
            }
            let stamp = serde_json::from_slice::<Stamp>(&bytes).ok();
            if let Some(text) = stamp.and_then(|s| s.started_at)
                && let Ok(time) = chrono::DateTime::parse_from_rfc3339(&text)
            {
                return Ok(Some(Day(time.date_naive())));
            }
        }
    }
    Ok(None)
}

/// What a partitioned run did.
#[derive(Debug)]
pub struct PartitionSummary {
    pub date: Day,
    pub run: RunSummary,
    pub agents_daily: PathBuf,
    /// Rows of `agents_daily.parquet` after the rebuild.
    pub daily_rows: usize,
}

/// Runs `options.inputs` into `root/date=DATE/` under that date's lock, then rebuilds
/// `agents_daily.parquet`. `options.out_dir` is ignored.
///
/// The inputs are recorded in the manifest with absolute paths, so `rescore` finds them from
/// any working directory. An [`crate::ErrorClass::Incomplete`] run is still published (as a
/// plain run is) and counted in the daily table; the error is returned after the rebuild.
pub fn run_partition(
    engine: &Engine,
    root: &Path,
    date: Day,
    mut options: RunOptions,
    progress: &dyn Progress,
) -> Result<PartitionSummary> {
    std::fs::create_dir_all(root).map_err(|e| Error::output(root, "create the output root", e))?;
    let _lock = lock::Lock::acquire(
        &root.join(format!(".date={date}.lock")),
        &format!("partition date={date}"),
    )?;
    options.out_dir = partition_dir(root, date);
    options.inputs = options
        .inputs
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let history = daily::window(&daily::read_partitions(root)?, date, TREND_DAYS);
    let section = |agents: &BTreeMap<String, AgentStats>| trend::section(date, &history, agents);
    let outcome = pipeline::run_with_report_section(engine, &options, progress, &section);
    let run = match outcome {
        Err(e) if e.class() != crate::ErrorClass::Incomplete => return Err(e),
        other => other,
    };
    let (agents_daily, daily_rows) = daily::rebuild(root)?;
    Ok(PartitionSummary {
        date,
        run: run?,
        agents_daily,
        daily_rows,
    })
}

/// The stored inputs of `date`: the config's dated `inputs` glob when it has one and it matches,
/// otherwise the inputs named in that date's partition manifest. `None` when neither exists.
pub fn stored_inputs(
    root: &Path,
    date: Day,
    config: &crate::config::Config,
) -> Result<Option<Vec<PathBuf>>> {
    if config.inputs_are_dated() {
        match config.inputs_for(&date.to_string()) {
            Ok(found) => return Ok(found),
            // No file for that day: fall back to the manifest (the files may have been moved
            // since, then the run names the missing one).
            Err(e) if e.class() == crate::ErrorClass::Input => {}
            Err(e) => return Err(e),
        }
    }
    let manifest = partition_dir(root, date).join(crate::output::MANIFEST_FILE);
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::input(
            &manifest,
            "read",
            std::io::Error::other(format!("not a callqa manifest: {e}")),
        )
    })?;
    let inputs: Vec<PathBuf> = value["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["path"].as_str())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    Ok((!inputs.is_empty()).then_some(inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(Day::parse("2026-11-25").unwrap().to_string(), "2026-11-25");
        for bad in ["2026-11-31", "2026-1-5", "25/11/2026", "2026-11-25x", ""] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Day::parse("1970-01-02").unwrap().days_since_epoch(), 1);
    }

    #[test]
    fn only_finished_partitions_are_listed() {
        let root = tempfile::tempdir().unwrap();
        for name in [
            "date=2026-11-25",
            "date=2026-11-24",
            "date=bad",
            ".date=2026-11-23.x",
        ] {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("manifest.json"), "{}").unwrap();
        }
        std::fs::create_dir(root.path().join("date=2026-11-26")).unwrap();
        let found: Vec<String> = partitions(root.path())
            .unwrap()
            .iter()
            .map(|(d, _)| d.to_string())
            .collect();
        assert_eq!(found, ["2026-11-24", "2026-11-25"]);
    }
}
