//! The output folder: Parquet tables, `rejects.jsonl` and `manifest.json`.
//!
//! Everything is first written into a staging folder beside `--out`, synced, and then the
//! staging folder replaces `--out` by renames (see [`Staging`]), so `--out` always holds one
//! complete run, whose `manifest.json` is written last.

mod manifest;
pub mod read;
mod sort;
mod tables;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use manifest::{Counts, InputEntry, Manifest};
pub use sort::{CallSorter, DEFAULT_SORT_BUDGET};

use crate::engine::{Engine, Evaluation, Finding};
use crate::error::{Error, Result};
use crate::input::{Call, Speaker};
use crate::lang::Language;
use crate::mask;
use crate::score::{AgentStats, CallScore};

pub const CALLS_FILE: &str = "calls.parquet";
pub const FINDINGS_FILE: &str = "findings.parquet";
pub const AGENTS_FILE: &str = "agents.parquet";
pub const REJECTS_FILE: &str = "rejects.jsonl";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const REPORT_FILE: &str = "report.html";

/// The call-level facts that go into `calls.parquet`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallRow {
    pub call_id: String,
    pub agent_id: String,
    pub customer_id: Option<String>,
    pub started_at: Option<i64>,
    pub channel: Option<String>,
    pub language: Language,
    pub turns: u32,
    /// Every turn has timestamps, so timing rules were judged.
    pub timed: bool,
    pub customer_anger: f64,
    pub anger_terms: Vec<String>,
    /// Risk known at scoring time; the final risk and rank are set when the run is complete.
    pub risk: u32,
    pub review_rank: u64,
    pub risk_reasons: Vec<String>,
    /// Turns mixing Chinese with English words, and the words.
    pub mixed_turns: u32,
    pub mixed_words: Vec<String>,
}

/// One row of `findings.parquet`, without the call columns.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FindingRow {
    pub rule: usize,
    pub turn: Option<u32>,
    /// The turn's speaker; `None` for a whole-call finding (the rule's speaker is written).
    pub speaker: Option<Speaker>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Character (not byte) offsets of the match in the turn text.
    pub char_start: Option<u32>,
    pub char_end: Option<u32>,
    pub matched: Option<String>,
    pub turn_text: Option<String>,
    /// The finding's turn with one turn before and after, `speaker: text` per line, masked.
    pub context: Option<String>,
    /// Character offsets of the match within `context`.
    pub context_start: Option<u32>,
    pub context_end: Option<u32>,
    pub detail: Option<String>,
    /// A reviewer's override of this finding (`--overrides`), if any.
    pub overridden: Option<crate::overrides::OverrideMark>,
    /// P(a reviewer confirms it) and its top features, from the run's review model (`--model`).
    pub confidence: Option<(f64, String)>,
}

impl FindingRow {
    /// Whether the finding counts in scores: not overturned by a reviewer.
    pub fn counts(&self) -> bool {
        self.overridden
            .as_ref()
            .is_none_or(|m| m.status != crate::overrides::OverrideStatus::Overturned)
    }
}

/// Turns longer than this are cut to an excerpt around the match in `turn_text`.
const MAX_TURN_TEXT_BYTES: usize = 4096;

/// The turn text, or for a long turn an excerpt around `span` marked with "…".
fn excerpt(text: &str, span: Option<(usize, usize)>) -> String {
    excerpt_with_span(text, span).0
}

/// [`excerpt`], with `span` moved into the excerpt.
fn excerpt_with_span(text: &str, span: Option<(usize, usize)>) -> (String, Option<(usize, usize)>) {
    if text.len() <= MAX_TURN_TEXT_BYTES {
        return (text.to_string(), span);
    }
    let (start, end) = span.unwrap_or((0, 0));
    let radius = MAX_TURN_TEXT_BYTES / 2;
    let mut from = start.saturating_sub(radius);
    let mut to = (end + radius).min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let mut out = String::with_capacity(to - from + 6);
    if from > 0 {
        out.push('…');
    }
    let shift = out.len();
    out.push_str(&text[from..to]);
    if to < text.len() {
        out.push('…');
    }
    (out, span.map(|(s, e)| (s - from + shift, e - from + shift)))
}

/// A call's turns masked (each as an excerpt without a span), each made once however many
/// findings show it: masking runs three regexes, and a call's findings share their turns.
struct MaskedTurns<'a> {
    call: &'a Call,
    masked: Vec<Option<String>>,
}

impl<'a> MaskedTurns<'a> {
    fn new(call: &'a Call) -> MaskedTurns<'a> {
        MaskedTurns {
            call,
            masked: vec![None; call.turns.len()],
        }
    }

    fn get(&mut self, turn: usize) -> &str {
        let text = &self.call.turns[turn].text;
        self.masked[turn].get_or_insert_with(|| mask::mask(&excerpt(text, None)))
    }

    /// The masked excerpt of `turn` around `span`.
    fn around(&mut self, turn: usize, span: Option<(usize, usize)>) -> String {
        let text = &self.call.turns[turn].text;
        if text.len() <= MAX_TURN_TEXT_BYTES {
            // a short turn is its own excerpt, wherever the span is
            self.get(turn).to_string()
        } else {
            mask::mask(&excerpt(text, span))
        }
    }
}

fn finding_row(masked: &mut MaskedTurns<'_>, f: &Finding) -> FindingRow {
    let call = masked.call;
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
    let context = f.turn.map(|t| context_of(masked, t, f.span));
    FindingRow {
        rule: f.rule,
        turn: turn.map(|(t, _)| t as u32),
        speaker: turn.map(|(_, t)| t.speaker),
        start_ms: turn.and_then(|(_, t)| t.start_ms),
        end_ms: turn.and_then(|(_, t)| t.end_ms),
        char_start: span.map(|s| s.0),
        char_end: span.map(|s| s.1),
        matched: span.map(|s| mask::mask(s.2)),
        turn_text: f.turn.map(|t| masked.around(t, f.span)),
        context_start: context.as_ref().and_then(|c| c.1).map(|s| s.0),
        context_end: context.as_ref().and_then(|c| c.1).map(|s| s.1),
        context: context.map(|c| c.0),
        detail: f.detail.clone(),
        overridden: None,
        confidence: None,
    }
}

/// Turn `t` with its neighbours as `speaker: text` lines, masked, and the character span of
/// `span` (a byte span of turn `t`) within it.
pub fn context(
    call: &Call,
    t: usize,
    span: Option<(usize, usize)>,
) -> (String, Option<(u32, u32)>) {
    context_of(&mut MaskedTurns::new(call), t, span)
}

fn context_of(
    masked_turns: &mut MaskedTurns<'_>,
    t: usize,
    span: Option<(usize, usize)>,
) -> (String, Option<(u32, u32)>) {
    let call = masked_turns.call;
    let mut out = String::new();
    let mut found = None;
    let from = t.saturating_sub(1);
    let to = (t + 1).min(call.turns.len() - 1);
    for (i, turn) in call.turns.iter().enumerate().take(to + 1).skip(from) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(turn.speaker.as_str());
        out.push_str(": ");
        if i == t {
            let text = excerpt_with_span(&turn.text, span);
            let mut spans = [text.1.unwrap_or((0, 0))];
            let masked = mask::mask_spans(&text.0, &mut spans);
            if text.1.is_some() {
                let base = out.chars().count() as u32;
                let start = base + masked[..spans[0].0].chars().count() as u32;
                let len = masked[spans[0].0..spans[0].1].chars().count() as u32;
                found = Some((start, start + len));
            }
            out.push_str(&masked);
        } else {
            out.push_str(masked_turns.get(i));
        }
    }
    (out, found)
}
/// A scored call with everything needed to write it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScoredCall {
    pub row: CallRow,
    pub score: CallScore,
    pub findings: Vec<FindingRow>,
    /// The transcript, kept only for calls that may enter the report's review queue.
    #[serde(skip)]
    pub transcript: Option<Vec<(Speaker, String)>>,
}

/// Turns an evaluated call into output rows (done in the worker threads); its risk is set
/// afterwards ([`crate::queue::base_risk`]), once the findings' confidences are known.
pub fn scored_call(call: Call, evaluation: Evaluation, score: CallScore) -> ScoredCall {
    let mut masked = MaskedTurns::new(&call);
    let findings = evaluation
        .findings
        .iter()
        .map(|f| finding_row(&mut masked, f))
        .collect();
    let transcript = (score.auto_fail
        || score.score <= crate::report::QUEUE_SCORE
        || evaluation.customer_anger >= crate::queue::ANGRY)
        .then(|| {
            call.turns
                .iter()
                .map(|t| (t.speaker, t.text.clone()))
                .collect()
        });
    ScoredCall {
        row: CallRow {
            turns: call.turns.len() as u32,
            call_id: call.call_id,
            agent_id: call.agent_id,
            customer_id: call.customer_id,
            started_at: call.started_at,
            channel: call.channel,
            language: evaluation.language,
            timed: evaluation.timed,
            customer_anger: evaluation.customer_anger,
            anger_terms: evaluation.anger_terms,
            risk: 0,
            review_rank: 0,
            risk_reasons: Vec::new(),
            mixed_turns: evaluation.mixed_turns,
            mixed_words: evaluation.mixed_words,
        },
        score,
        findings,
        transcript,
    }
}

impl ScoredCall {
    /// What the review model sees of one of this call's findings: the written (masked,
    /// excerpted) turn text, so the confidence is the one `findings.parquet` can explain.
    pub fn finding_facts(&self, engine: &Engine, row: &FindingRow) -> crate::review::FindingFacts {
        let rule = &engine.pack().rules()[row.rule];
        crate::review::FindingFacts {
            call_id: self.row.call_id.clone(),
            rule_id: rule.id.clone(),
            category: rule.category.clone(),
            speaker: row
                .speaker
                .map_or(rule.speaker.as_str(), |s| s.as_str())
                .to_string(),
            turn_index: row.turn.map(|t| t as i32),
            turns: self.row.turns,
            turn_text: row.turn_text.clone().unwrap_or_default(),
            customer_anger: self.row.customer_anger,
            // Not a feature; the rank is not known until the run is complete.
            review_rank: 0,
        }
    }

    /// Gives every finding its confidence from `model` (before the call's risk is computed,
    /// which weighs the findings by it).
    pub fn add_confidences(&mut self, engine: &Engine, model: &crate::review::Model) {
        let scored: Vec<(f64, String)> = self
            .findings
            .iter()
            .map(|row| {
                let (confidence, features) = model.confidence(&self.finding_facts(engine, row));
                (confidence, features.join(", "))
            })
            .collect();
        for (row, confidence) in self.findings.iter_mut().zip(scored) {
            row.confidence = Some(confidence);
        }
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
        RejectRow::kept(path, line, reason, call_id, KeptRaw::from_bytes(bytes))
    }

    /// A reject of a line already cut to what `rejects.jsonl` keeps (as a merge reads it).
    pub fn kept(
        path: &Path,
        line: u64,
        reason: String,
        call_id: Option<String>,
        kept: KeptRaw,
    ) -> RejectRow {
        RejectRow {
            file: path.display().to_string(),
            line,
            reason,
            call_id,
            raw: kept.raw,
            raw_truncated: kept.truncated,
        }
    }
}

/// What `rejects.jsonl` keeps of a rejected line: up to 64 KiB of it, as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeptRaw {
    pub raw: Option<String>,
    pub truncated: bool,
}

impl KeptRaw {
    pub fn from_bytes(bytes: Option<&[u8]>) -> KeptRaw {
        KeptRaw {
            truncated: bytes.is_some_and(|b| b.len() > MAX_RAW_BYTES),
            raw: bytes
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(MAX_RAW_BYTES)]).into_owned()),
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

/// The folder where a run is written before it replaces `--out` as a whole.
///
/// The staging folder is a hidden sibling of `--out`; publishing renames the old run aside,
/// renames the staging folder to `--out` and then deletes the old run. Whatever moment the
/// process dies at, `--out` holds either the previous complete run or the new complete run (or,
/// between the two renames, nothing) — never a mix or a half-written file.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    previous: PathBuf,
}

impl Staging {
    /// Checks that `out` may be replaced and creates a fresh staging folder beside it.
    ///
    /// `out` may be missing, empty or hold a previous run (it has a `manifest.json`); anything
    /// else is refused unless `force`, so a mistyped `--out` never deletes unrelated files.
    pub fn create(out: &Path, force: bool) -> Result<Staging> {
        let name = out
            .file_name()
            .filter(|n| *n != "." && *n != "..")
            .ok_or_else(|| Error::usage(format!("--out {} must name a folder", out.display())))?
            .to_string_lossy()
            .into_owned();
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        check_replaceable(out, force)?;
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::output(out, "create output folder", e))?;
        remove_stale_siblings(&parent, &name);
        let pid = std::process::id();
        let dir = parent.join(format!(".{name}.callqa-staging-{pid}"));
        let previous = parent.join(format!(".{name}.callqa-previous-{pid}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| Error::output(&dir, "remove old staging folder", e))?;
        }
        std::fs::create_dir(&dir)
            .map_err(|e| Error::output(out, "create a staging folder beside", e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            previous,
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

    /// The per-line results file of a shard (`results.parquet`), for a later `merge`.
    pub fn results_writer(&self) -> Result<crate::results::ResultsWriter> {
        crate::results::ResultsWriter::create(&self.dir.join(crate::results::RESULTS_FILE))
    }

    /// A sorter whose overflow runs live in the staging folder.
    pub fn sorter(&self, budget: usize) -> CallSorter {
        CallSorter::new(&self.dir, budget)
    }

    /// Writes the three Parquet tables into the staging folder, calls in `call_id` order.
    ///
    /// With more than one thread, the sorted calls are merged and ranked on this thread while
    /// another encodes and writes the previous batch: at the end of a run nothing else is left
    /// to do, and the two halves take about as long as each other.
    pub fn write_tables(
        &self,
        engine: &Engine,
        calls: CallSorter,
        mut ranks: crate::queue::Ranks,
        agents: &BTreeMap<String, AgentStats>,
        threads: usize,
    ) -> Result<()> {
        let mut tables = tables::CallTables::create(&self.dir, engine)?;
        if threads == 1 {
            ranked_batches(calls, &mut ranks, |batch| tables.write(&batch))?;
            tables.finish()?;
        } else {
            std::thread::scope(|scope| -> Result<()> {
                let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<ScoredCall>>(1);
                let writer = scope.spawn(move || -> Result<()> {
                    for batch in receiver {
                        tables.write(&batch)?;
                    }
                    tables.finish()
                });
                let merged = ranked_batches(calls, &mut ranks, |batch| {
                    // a closed channel means the writer failed: its error is returned below
                    sender
                        .send(batch)
                        .map_err(|_| Error::incomplete("the table writer stopped".to_string()))
                });
                drop(sender);
                let written = writer
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                // the writer's own error explains a merge that stopped because it had failed
                written?;
                merged
            })?;
        }
        tables::write_agents(&self.dir.join(AGENTS_FILE), engine, agents)
    }

    /// Writes `report.html` into the staging folder.
    pub fn write_report(&self, html: &str) -> Result<()> {
        write_file(&self.dir.join(REPORT_FILE), |w| {
            w.write_all(html.as_bytes())
        })
    }

    /// Writes the manifest, then replaces `--out` with the staging folder.
    pub fn publish(self, manifest: &Manifest) -> Result<PathBuf> {
        manifest.write(&self.dir.join(MANIFEST_FILE), &self.dir)?;
        sync_dir(&self.dir);
        let had_previous = self.out.exists();
        if had_previous {
            std::fs::rename(&self.out, &self.previous)
                .map_err(|e| Error::output(&self.out, "move the previous run aside from", e))?;
        }
        std::fs::rename(&self.dir, &self.out)
            .map_err(|e| Error::output(&self.out, "move the new run into", e))?;
        if let Some(parent) = self.out.parent() {
            sync_dir(parent);
        }
        if had_previous {
            std::fs::remove_dir_all(&self.previous)
                .map_err(|e| Error::output(&self.previous, "remove the previous run", e))?;
        }
        Ok(self.out.clone())
    }
}

/// Merges the sorted calls, gives each its rank, and hands them to `sink` in batches of
/// [`tables::BATCH_CALLS`] (the last one possibly shorter or empty).
fn ranked_batches(
    calls: CallSorter,
    ranks: &mut crate::queue::Ranks,
    mut sink: impl FnMut(Vec<ScoredCall>) -> Result<()>,
) -> Result<()> {
    let mut batch = Vec::with_capacity(tables::BATCH_CALLS);
    calls.finish(|mut call| {
        tables::rank(ranks, &mut call);
        batch.push(call);
        if batch.len() == tables::BATCH_CALLS {
            sink(std::mem::replace(
                &mut batch,
                Vec::with_capacity(tables::BATCH_CALLS),
            ))?;
        }
        Ok(())
    })?;
    sink(batch)
}

impl Drop for Staging {
    /// A run that fails before publishing leaves `--out` as it was and no staging folder.
    fn drop(&mut self) {
        if self.dir.exists() {
            // Best effort: a leftover is also removed by the next run (remove_stale_siblings).
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn check_replaceable(out: &Path, force: bool) -> Result<()> {
    if !out.exists() || force {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(Error::output(
            out,
            "use as output folder",
            std::io::Error::other("it is a file, not a folder"),
        ));
    }
    let mut entries = std::fs::read_dir(out).map_err(|e| Error::output(out, "read", e))?;
    let empty = entries.next().is_none();
    if empty || out.join(MANIFEST_FILE).exists() {
        return Ok(());
    }
    Err(Error::output(
        out,
        "replace",
        std::io::Error::other(
            "it holds files but no callqa run (no manifest.json); choose another --out or pass --force",
        ),
    ))
}

/// Removes staging and set-aside folders of earlier runs of this `--out` that died.
fn remove_stale_siblings(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let prefixes = [
        format!(".{name}.callqa-staging-"),
        format!(".{name}.callqa-previous-"),
    ];
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = prefixes
            .iter()
            .find_map(|p| file_name.strip_prefix(p.as_str()))
        else {
            continue;
        };
        if !process_alive(pid) {
            // Best effort: a folder that cannot be removed now is tried again next run.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether a process with this id runs (where /proc tells; elsewhere assume it does).
fn process_alive(pid: &str) -> bool {
    let proc = Path::new("/proc");
    !proc.exists() || proc.join(pid).exists()
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

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn long_turns_become_excerpts_around_the_match() {
        assert_eq!(excerpt("短句", Some((0, 3))), "短句");
        let long = "好".repeat(5000);
        let start = 3 * 2500;
        let cut = excerpt(&long, Some((start, start + 3)));
        assert!(cut.starts_with('…') && cut.ends_with('…'));
        assert!(cut.len() <= 4096 + 3 + 12, "{}", cut.len());
        let head = excerpt(&long, None);
        assert!(!head.starts_with('…') && head.ends_with('…'));
    }
}
