//! The output folder: Parquet tables, `rejects.jsonl` and `manifest.json`.
//!
//! Everything is first written into a staging folder inside `--out`, synced, then renamed into
//! place; the old `manifest.json` is removed first and the new one is renamed in last, so a
//! folder with a manifest always holds one complete run (the manifest is the success marker).

mod manifest;
mod tables;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use manifest::{Counts, InputEntry, Manifest};

use crate::engine::{Engine, Evaluation, Finding};
use crate::error::{Error, Result};
use crate::input::Call;
use crate::score::{AgentStats, CallScore};

pub const CALLS_FILE: &str = "calls.parquet";
pub const FINDINGS_FILE: &str = "findings.parquet";
pub const AGENTS_FILE: &str = "agents.parquet";
pub const REJECTS_FILE: &str = "rejects.jsonl";
pub const MANIFEST_FILE: &str = "manifest.json";

/// The call-level facts that go into `calls.parquet`.
#[derive(Clone, Debug)]
pub struct CallRow {
    pub call_id: String,
    pub agent_id: String,
    pub customer_id: Option<String>,
    pub started_at: Option<i64>,
    pub channel: Option<String>,
    pub language: &'static str,
    pub turns: u32,
    /// Every turn has timestamps, so timing rules were judged.
    pub timed: bool,
}

/// One row of `findings.parquet`, without the call columns.
#[derive(Clone, Debug)]
pub struct FindingRow {
    pub rule: usize,
    pub turn: Option<u32>,
    pub speaker: &'static str,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Character (not byte) offsets of the match in the turn text.
    pub char_start: Option<u32>,
    pub char_end: Option<u32>,
    pub matched: Option<String>,
    pub turn_text: Option<String>,
    pub detail: Option<String>,
}

fn finding_row(engine: &Engine, call: &Call, f: &Finding) -> FindingRow {
    let rule = &engine.pack().rules()[f.rule];
    let turn = f.turn.map(|t| (t, &call.turns[t]));
    let span = match (turn, f.span) {
        (Some((_, turn)), Some((start, end))) => {
            let char_start = turn.text[..start].chars().count() as u32;
            let matched = &turn.text[start..end];
            Some((
                char_start,
                char_start + matched.chars().count() as u32,
                matched,
            ))
        }
        _ => None,
    };
    FindingRow {
        rule: f.rule,
        turn: turn.map(|(t, _)| t as u32),
        speaker: turn.map_or(rule.speaker.as_str(), |(_, t)| t.speaker.as_str()),
        start_ms: turn.and_then(|(_, t)| t.start_ms),
        end_ms: turn.and_then(|(_, t)| t.end_ms),
        char_start: span.map(|s| s.0),
        char_end: span.map(|s| s.1),
        matched: span.map(|s| s.2.to_string()),
        turn_text: turn.map(|(_, t)| t.text.clone()),
        detail: f.detail.clone(),
    }
}

/// A scored call with everything needed to write it.
#[derive(Clone, Debug)]
pub struct ScoredCall {
    pub row: CallRow,
    pub score: CallScore,
    pub findings: Vec<FindingRow>,
}

/// Turns an evaluated call into output rows (done in the worker threads).
pub fn scored_call(
    engine: &Engine,
    call: Call,
    evaluation: Evaluation,
    score: CallScore,
) -> ScoredCall {
    let findings = evaluation
        .findings
        .iter()
        .map(|f| finding_row(engine, &call, f))
        .collect();
    ScoredCall {
        row: CallRow {
            turns: call.turns.len() as u32,
            call_id: call.call_id,
            agent_id: call.agent_id,
            customer_id: call.customer_id,
            started_at: call.started_at,
            channel: call.channel,
            language: evaluation.language.as_str(),
            timed: evaluation.timed,
        },
        score,
        findings,
    }
}

/// One line of `rejects.jsonl`.
#[derive(Serialize)]
pub struct RejectRow {
    pub file: String,
    pub line: u64,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// The rejected line as read (invalid UTF-8 replaced), so it can be fixed and fed again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub raw_truncated: bool,
}

/// Most bytes of a rejected line kept in `rejects.jsonl`.
const MAX_RAW_BYTES: usize = 64 << 10;

impl RejectRow {
    pub fn new(
        path: &Path,
        line: u64,
        reason: String,
        call_id: Option<String>,
        bytes: Option<&[u8]>,
    ) -> RejectRow {
        let raw_truncated = bytes.is_some_and(|b| b.len() > MAX_RAW_BYTES);
        RejectRow {
            file: path.display().to_string(),
            line,
            reason,
            call_id,
            raw: bytes
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(MAX_RAW_BYTES)]).into_owned()),
            raw_truncated,
        }
    }
}

/// Streams `rejects.jsonl` into the staging folder.
pub struct RejectsWriter {
    path: PathBuf,
    writer: BufWriter<File>,
}

impl RejectsWriter {
    pub fn write(&mut self, row: &RejectRow) -> Result<()> {
        serde_json::to_writer(&mut self.writer, row)
            .map_err(std::io::Error::from)
            .and_then(|()| self.writer.write_all(b"\n"))
            .map_err(|e| Error::output(&self.path, "write", e))
    }

    pub fn finish(self) -> Result<()> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| Error::output(&self.path, "write", e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::output(&self.path, "sync", e))
    }
}

/// The folder where a run's files are written before they are moved into `--out`.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
}

impl Staging {
    /// Creates `out` (if needed) and a fresh staging folder inside it.
    pub fn create(out: &Path) -> Result<Staging> {
        std::fs::create_dir_all(out).map_err(|e| Error::output(out, "create output folder", e))?;
        let dir = out.join(format!(".callqa-staging-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| Error::output(&dir, "remove old staging folder", e))?;
        }
        std::fs::create_dir(&dir).map_err(|e| Error::output(&dir, "create staging folder", e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
        })
    }

    pub fn rejects_writer(&self) -> Result<RejectsWriter> {
        let path = self.dir.join(REJECTS_FILE);
        let file = File::create(&path).map_err(|e| Error::output(&path, "create", e))?;
        Ok(RejectsWriter {
            path,
            writer: BufWriter::new(file),
        })
    }

    /// Writes the three Parquet tables into the staging folder.
    pub fn write_tables(
        &self,
        engine: &Engine,
        calls: &[ScoredCall],
        agents: &BTreeMap<String, AgentStats>,
    ) -> Result<()> {
        tables::write_calls(&self.dir.join(CALLS_FILE), engine, calls)?;
        tables::write_findings(&self.dir.join(FINDINGS_FILE), engine, calls)?;
        tables::write_agents(&self.dir.join(AGENTS_FILE), engine, agents)
    }

    /// Moves the staged files into the output folder, the manifest last.
    pub fn publish(self, manifest: &Manifest) -> Result<PathBuf> {
        let old_manifest = self.out.join(MANIFEST_FILE);
        if old_manifest.exists() {
            std::fs::remove_file(&old_manifest)
                .map_err(|e| Error::output(&old_manifest, "remove the previous", e))?;
        }
        for name in [CALLS_FILE, FINDINGS_FILE, AGENTS_FILE, REJECTS_FILE] {
            self.rename_in(name)?;
        }
        manifest.write(&self.dir.join(MANIFEST_FILE), &self.out)?;
        self.rename_in(MANIFEST_FILE)?;
        sync_dir(&self.out);
        std::fs::remove_dir(&self.dir).map_err(|e| Error::output(&self.dir, "remove", e))?;
        Ok(self.out)
    }

    fn rename_in(&self, name: &str) -> Result<()> {
        let to = self.out.join(name);
        std::fs::rename(self.dir.join(name), &to)
            .map_err(|e| Error::output(&to, "move into place", e))
    }
}

/// Makes the renames durable where the platform allows syncing a directory.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        // Not every filesystem supports syncing a directory; the renames are then as durable as
        // the filesystem makes them, which is all we can do.
        let _ = handle.sync_all();
    }
}

/// Creates `path`, lets `write` fill it, and syncs it to disk.
pub(crate) fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::output(path, "create", e))?;
    let mut writer = BufWriter::new(file);
    write(&mut writer).map_err(|e| Error::output(path, "write", e))?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::output(path, "write", e.into_error()))?;
    file.sync_all().map_err(|e| Error::output(path, "sync", e))
}
