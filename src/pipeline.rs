//! The nightly run: stream the inputs, score calls in parallel, write the tables.
//!
//! One reader thread streams every input in order and hands out batches of lines; the rayon pool
//! parses, normalizes, matches and scores each batch in parallel over the shared [`Engine`];
//! meanwhile one pool thread folds the previous batch in input order (rejects, duplicate check,
//! aggregates, the bounded-memory sort), so the result does not depend on the number of threads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use rayon::prelude::*;

use crate::engine::{Engine, Scratch};
use crate::error::{Error, Result};
use crate::input::{self, Line, LineReader};
use crate::keyed::KeyedMap;
use crate::output::{self, KeptRaw, Manifest, RejectRow, ScoredCall};
use crate::queue::{self, Ranking};
use crate::report::ReportBuilder;
use crate::results::{ResultLine, ResultsWriter, Status, WireCall};
use crate::score::{self, AgentStats};
use crate::shard::Shard;

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub inputs: Vec<PathBuf>,
    pub out_dir: PathBuf,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Longest accepted line; a longer record is rejected without being held in memory.
    pub max_record_bytes: usize,
    /// Most turns in one call; a call with more is rejected.
    pub max_turns: usize,
    /// Bytes of scored calls held in memory before they are sorted into a run on disk.
    pub sort_budget: usize,
    /// Replace `out_dir` even if it holds files that are not a callqa run.
    pub force: bool,
    /// Reviewers' overrides to apply (`--overrides`).
    pub overrides: Option<std::sync::Arc<crate::overrides::Overrides>>,
    /// Score only this slice of the inputs and keep per-line results for `merge`.
    pub shard: Option<Shard>,
}

/// Default for [`RunOptions::max_record_bytes`]: 16 MiB (a long call is well under 1 MiB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

/// Default for [`RunOptions::max_turns`].
pub const DEFAULT_MAX_TURNS: usize = 10_000;

/// Lines handed to the pool at once: large enough to keep both cores busy, small enough to keep
/// memory flat.
const BATCH_LINES: usize = 2048;

/// Receives progress; implemented by the binary (the library never prints).
pub trait Progress: Sync {
    /// Total raw input bytes, once known.
    fn start(&self, _total_bytes: u64) {}
    /// Raw input bytes read so far.
    fn advance(&self, _bytes_read: u64) {}
    fn finish(&self) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What a finished run did.
#[derive(Clone, Debug)]
pub struct RunSummary {
    pub manifest: Manifest,
    pub out_dir: PathBuf,
}

enum Message {
    Batch(Vec<RawLine>),
    FileDone {
        file: usize,
        digestion: input::Digestion,
        error: Option<String>,
    },
}

struct RawLine {
    file: usize,
    line_no: u64,
    line: Line,
}

/// What became of one line, before the in-order fold.
pub(crate) enum Outcome {
    Blank,
    /// Another shard's line.
    Skipped,
    Rejected(String),
    /// A duplicate a shard already found (only when merging its results).
    Duplicate {
        reason: String,
        call_id: String,
    },
    Scored(Box<ScoredCall>),
}

/// What [`Fold::finish`] adds to the manifest and report besides the folded lines.
pub(crate) struct Finishing<'s> {
    pub threads: usize,
    /// `I/N` of a shard's partial run.
    pub shard: Option<String>,
    pub section: ReportSection<'s>,
    pub overrides: Option<&'s crate::overrides::Overrides>,
}

/// Builds an extra report section from the run's agents (the nightly trends).
pub type ReportSection<'a> = &'a (dyn Fn(&BTreeMap<String, AgentStats>) -> String + Sync);

/// Runs the whole pipeline and writes the output folder.
pub fn run(engine: &Engine, options: &RunOptions, progress: &dyn Progress) -> Result<RunSummary> {
    run_with_report_section(engine, options, progress, &|_| String::new())
}

/// [`run`], with `section` added to `report.html` after the agents table.
pub fn run_with_report_section(
    engine: &Engine,
    options: &RunOptions,
    progress: &dyn Progress,
    section: ReportSection<'_>,
) -> Result<RunSummary> {
    let started = Instant::now();
    if options.inputs.is_empty() {
        return Err(Error::usage("no input files given"));
    }
    let readers = options
        .inputs
        .iter()
        .map(|path| LineReader::open(path, options.max_record_bytes))
        .collect::<Result<Vec<_>>>()?;
    let total_bytes = options
        .inputs
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let staging = output::Staging::create(&options.out_dir, options.force)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| {
            Error::usage(format!(
                "cannot start {} worker threads: {e}",
                options.threads
            ))
        })?;
    progress.start(total_bytes);
    let mut state = Fold::new(
        engine,
        &options.inputs,
        options.sort_budget,
        &staging,
        options.shard.is_some(),
    )?;
    std::thread::scope(|scope| -> Result<()> {
        let (sender, receiver) = mpsc::sync_channel::<Message>(2);
        scope.spawn(move || read_all(readers, sender));
        // While the pool scores batch N, one of its threads folds batch N − 1 in order.
        let mut scored: Option<(Vec<RawLine>, Vec<Outcome>)> = None;
        for message in receiver {
            match message {
                Message::Batch(lines) => {
                    let (outcomes, folded) = pool.install(|| {
                        rayon::join(
                            || {
                                lines
                                    .par_iter()
                                    .map_init(Scratch::default, |scratch, raw| {
                                        process(engine, options, raw, scratch)
                                    })
                                    .collect::<Vec<Outcome>>()
                            },
                            || state.fold_batch(scored.take()),
                        )
                    });
                    folded?;
                    scored = Some((lines, outcomes));
                    progress.advance(state.bytes_done());
                }
                Message::FileDone {
                    file,
                    digestion,
                    error,
                } => state.file_done(file, digestion, error),
            }
        }
        state.fold_batch(scored.take())
    })?;
    progress.finish();
    let shard = options.shard.map(|s| s.to_string());
    state.finish(
        staging,
        started,
        Finishing {
            threads: options.threads,
            shard,
            section,
            overrides: options.overrides.as_deref(),
        },
    )
}

fn read_all(readers: Vec<LineReader>, sender: mpsc::SyncSender<Message>) {
    for (file, mut reader) in readers.into_iter().enumerate() {
        let mut batch = Vec::with_capacity(BATCH_LINES);
        let error = loop {
            match reader.next_line() {
                Ok(Some(line)) => {
                    batch.push(RawLine {
                        file,
                        line_no: reader.line_no(),
                        line,
                    });
                    if batch.len() == BATCH_LINES {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_LINES));
                        if sender.send(Message::Batch(full)).is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => break None,
                Err(e) => {
                    break Some(format!(
                        "reading stopped after line {}: {e}",
                        reader.line_no()
                    ));
                }
            }
        };
        let done = Message::FileDone {
            file,
            digestion: reader.digestion(),
            error,
        };
        if (!batch.is_empty() && sender.send(Message::Batch(batch)).is_err())
            || sender.send(done).is_err()
        {
            return;
        }
    }
}

fn process(engine: &Engine, options: &RunOptions, raw: &RawLine, scratch: &mut Scratch) -> Outcome {
    if let Some(shard) = options.shard {
        let record = match &raw.line {
            Line::Record(bytes) => Some(bytes.as_slice()),
            Line::TooLong(_) => None,
        };
        if !shard.owns(raw.line_no, record) {
            return Outcome::Skipped;
        }
    }
    let bytes = match &raw.line {
        Line::TooLong(n) => {
            return Outcome::Rejected(format!(
                "the record is {n} bytes, over the limit (--max-record-bytes); it was skipped"
            ));
        }
        Line::Record(bytes) => bytes,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Outcome::Blank;
    }
    score_record(
        engine,
        bytes,
        options.max_turns,
        options.overrides.as_deref(),
        scratch,
    )
}

/// Parses and scores one non-blank record: the work of one line, shared with `score --stdin`.
pub(crate) fn score_record(
    engine: &Engine,
    bytes: &[u8],
    max_turns: usize,
    overrides: Option<&crate::overrides::Overrides>,
    scratch: &mut Scratch,
) -> Outcome {
    match input::parse_record_limited(bytes, max_turns) {
        Err(reason) => Outcome::Rejected(reason),
        Ok(call) => {
            let mut evaluation = engine.evaluate(&call, scratch);
            let marks = overrides
                .filter(|o| !o.for_call(&call.call_id).is_empty())
                .map(|o| o.apply(&call.call_id, &mut evaluation.findings));
            // Overturned findings are written but do not count in the score or the risk.
            let counted = marks.as_ref().map(|marks| {
                let mut counted = evaluation.clone();
                counted.findings = counted_findings(&evaluation.findings, marks);
                counted
            });
            let counted_ref = counted.as_ref().unwrap_or(&evaluation);
            let score = score::score_call(engine, &counted_ref.findings);
            let mut scored = output::scored_call(call, evaluation, score);
            for (row, mark) in scored.findings.iter_mut().zip(marks.unwrap_or_default()) {
                row.overridden = mark;
            }
            // The risk weighs the findings by the review model's confidence, so it comes last.
            if let Some(model) = engine.review_model() {
                scored.add_confidences(engine, model);
            }
            let call_id = &scored.row.call_id;
            let confirmed = |rule| overrides.is_some_and(|o| o.confirms(call_id, rule));
            let (risk, reasons) = queue::base_risk(engine, &scored, confirmed);
            (scored.row.risk, scored.row.risk_reasons) = (risk, reasons);
            Outcome::Scored(Box::new(scored))
        }
    }
}

/// The findings that still count after the reviewers' marks (overturned ones are left out).
fn counted_findings(
    findings: &[crate::engine::Finding],
    marks: &[Option<crate::overrides::OverrideMark>],
) -> Vec<crate::engine::Finding> {
    findings
        .iter()
        .zip(marks)
        .filter(|(_, m)| {
            m.as_ref()
                .is_none_or(|m| m.status != crate::overrides::OverrideStatus::Overturned)
        })
        .map(|(f, _)| f.clone())
        .collect()
}

/// The sequential, input-ordered half of the run (and of `merge`, which replays result lines
/// in input order through it, so both write the same bytes).
pub(crate) struct Fold<'a> {
    engine: &'a Engine,
    /// The input files, as named on the command line (rejects and duplicates name them).
    paths: &'a [PathBuf],
    rejects: output::RejectsWriter,
    calls: output::CallSorter,
    /// Each scored `call_id` and where it was first seen (input, line).
    seen: KeyedMap<(usize, u64)>,
    agents: BTreeMap<String, AgentStats>,
    report: ReportBuilder,
    ranking: Ranking,
    inputs: Vec<output::InputEntry>,
    counts: output::Counts,
    /// Finding rows overturned and added by reviewers.
    overridden: (u64, u64),
    /// A shard's per-line results, for `merge`.
    results: Option<ResultsWriter>,
}

impl<'a> Fold<'a> {
    pub(crate) fn new(
        engine: &'a Engine,
        paths: &'a [PathBuf],
        sort_budget: usize,
        staging: &output::Staging,
        keep_results: bool,
    ) -> Result<Self> {
        let inputs = paths.iter().map(|p| output::InputEntry::new(p)).collect();
        Ok(Fold {
            engine,
            paths,
            rejects: staging.rejects_writer()?,
            calls: staging.sorter(sort_budget),
            seen: KeyedMap::default(),
            agents: BTreeMap::new(),
            report: ReportBuilder::default(),
            ranking: Ranking::default(),
            inputs,
            counts: output::Counts::default(),
            overridden: (0, 0),
            results: if keep_results {
                Some(staging.results_writer()?)
            } else {
                None
            },
        })
    }

    /// Folds line `line_no` of input `file`; `raw` gives what a reject keeps of the line.
    pub(crate) fn fold(
        &mut self,
        file: usize,
        line_no: u64,
        outcome: Outcome,
        raw: impl FnOnce() -> KeptRaw,
    ) -> Result<()> {
        match outcome {
            Outcome::Skipped => {}
            Outcome::Blank => {
                self.counts.blank_lines += 1;
                self.keep_result(file, line_no, Status::Blank, None, None, KeptRaw::default())?;
            }
            Outcome::Rejected(reason) => {
                self.reject(file, line_no, reason, None, raw())?;
            }
            Outcome::Duplicate { reason, call_id } => {
                self.counts.duplicates += 1;
                self.reject(file, line_no, reason, Some(call_id), raw())?;
            }
            Outcome::Scored(call) => {
                let (first, added) = self
                    .seen
                    .get_or_insert(&call.row.call_id, (file, line_no))?;
                let (first_file, first_line) = *first;
                if added {
                    self.score(file, line_no, *call)?;
                } else {
                    let key = call.row.call_id;
                    let reason = format!(
                        "duplicate call_id `{key}` (first seen at {}:{first_line}); this record was not scored",
                        self.paths[first_file].display()
                    );
                    self.counts.duplicates += 1;
                    self.reject(file, line_no, reason, Some(key), raw())?;
                }
            }
        }
        Ok(())
    }

    fn fold_batch(&mut self, batch: Option<(Vec<RawLine>, Vec<Outcome>)>) -> Result<()> {
        let Some((lines, outcomes)) = batch else {
            return Ok(());
        };
        for (raw, outcome) in lines.into_iter().zip(outcomes) {
            let bytes = match &raw.line {
                Line::Record(bytes) => Some(bytes.as_slice()),
                Line::TooLong(_) => None,
            };
            self.fold(raw.file, raw.line_no, outcome, || {
                KeptRaw::from_bytes(bytes)
            })?;
        }
        Ok(())
    }

    fn reject(
        &mut self,
        file: usize,
        line: u64,
        reason: String,
        call_id: Option<String>,
        kept: KeptRaw,
    ) -> Result<()> {
        self.counts.read += 1;
        self.counts.rejected += 1;
        self.inputs[file].records += 1;
        self.inputs[file].rejected += 1;
        if self.results.is_some() {
            self.keep_result(
                file,
                line,
                Status::Rejected,
                Some(reason.clone()),
                call_id.clone(),
                kept.clone(),
            )?;
        }
        self.rejects.write(&RejectRow::kept(
            &self.paths[file],
            line,
            reason,
            call_id,
            kept,
        ))
    }

    /// Writes one line's result when this run keeps them (a shard).
    fn keep_result(
        &mut self,
        file: usize,
        line: u64,
        status: Status,
        reason: Option<String>,
        call_id: Option<String>,
        kept: KeptRaw,
    ) -> Result<()> {
        let Some(results) = &mut self.results else {
            return Ok(());
        };
        results.write(&ResultLine {
            input: file as u32,
            line,
            status,
            reason,
            call_id,
            raw: kept.raw,
            raw_truncated: kept.truncated,
            call: None,
        })
    }

    fn score(&mut self, file: usize, line: u64, mut call: ScoredCall) -> Result<()> {
        self.counts.read += 1;
        self.counts.scored += 1;
        self.inputs[file].records += 1;
        self.inputs[file].scored += 1;
        self.counts.findings += call.findings.len() as u64;
        for mark in call.findings.iter().filter_map(|f| f.overridden.as_ref()) {
            match mark.status {
                crate::overrides::OverrideStatus::Overturned => self.overridden.0 += 1,
                crate::overrides::OverrideStatus::Added => self.overridden.1 += 1,
            }
        }
        self.counts.violations += u64::from(call.score.violations);
        self.counts.rewards += u64::from(call.score.rewards);
        if let Some(results) = &mut self.results {
            results.write(&ResultLine {
                input: file as u32,
                line,
                status: Status::Scored,
                reason: None,
                call_id: Some(call.row.call_id.clone()),
                raw: None,
                raw_truncated: false,
                call: Some(WireCall::from_scored(self.engine, &call)),
            })?;
        }
        self.agents
            .entry(call.row.agent_id.clone())
            .or_default()
            .add(
                self.engine,
                &call.score,
                call.findings.iter().filter(|f| f.counts()).map(|f| f.rule),
            );
        self.ranking
            .add(call.row.customer_id.as_deref(), call.row.risk)?;
        let transcript = call.transcript.take();
        self.report.add(self.engine, &call, transcript);
        self.calls.push(call)
    }

    pub(crate) fn file_done(
        &mut self,
        file: usize,
        digestion: input::Digestion,
        error: Option<String>,
    ) {
        let entry = &mut self.inputs[file];
        entry.bytes = digestion.bytes;
        entry.sha256 = digestion.sha256;
        entry.error = error;
    }

    fn bytes_done(&self) -> u64 {
        self.inputs.iter().map(|i| i.bytes).sum()
    }

    pub(crate) fn finish(
        self,
        staging: output::Staging,
        started: Instant,
        finishing: Finishing<'_>,
    ) -> Result<RunSummary> {
        let Fold {
            engine,
            rejects,
            calls,
            agents,
            mut report,
            ranking,
            inputs,
            mut counts,
            seen,
            overridden,
            results,
            ..
        } = self;
        rejects.finish()?;
        if let Some(results) = results {
            results.finish()?;
        }
        counts.agents = agents.len() as u64;
        let overrides = finishing
            .overrides
            .map(|o| o.summary(|id| seen.contains_key(id), overridden.0, overridden.1));
        // The call ids are the largest thing a run keeps; writing the tables does not need them.
        drop(seen);
        crate::memory::release_freed();
        staging.write_tables(engine, calls, ranking.finish(), &agents, finishing.threads)?;
        report.add_section((finishing.section)(&agents));
        staging.write_report(&report.render(engine, &counts, &agents))?;
        let incomplete: Vec<String> = inputs
            .iter()
            .filter_map(|i| i.error.as_ref().map(|e| format!("{}: {e}", i.path)))
            .collect();
        let mut manifest = Manifest::new(engine, inputs, counts, started, finishing.threads);
        manifest.shard = finishing.shard;
        manifest.overrides = overrides;
        let out_dir = staging.publish(&manifest)?;
        if counts.read != counts.scored + counts.rejected {
            return Err(Error::incomplete(format!(
                "counts do not reconcile: read {} ≠ scored {} + rejected {}",
                counts.read, counts.scored, counts.rejected
            )));
        }
        if !incomplete.is_empty() {
            return Err(Error::incomplete(format!(
                "some inputs could not be read to the end; the tables in {} hold what was read before (manifest status \"incomplete\"):\n  {}\nfix or re-export these files and run again",
                out_dir.display(),
                incomplete.join("\n  ")
            )));
        }
        Ok(RunSummary { manifest, out_dir })
    }
}
