//! `callqa merge`: the final tables from partial outputs — shard folders of `run --shard`, or
//! the part files a Spark job wrote from `score --stdin --tagged`.
//!
//! Every part holds one result line per input line, in input order. The parts are merged by
//! (input, line) — a k-way merge holding one line per part, so memory does not grow with the
//! corpus — and replayed through the same in-order fold as `run`: duplicates, rejects, agent
//! aggregates, the review ranking, the report and the sorted tables are then exactly those of
//! a single run over the same inputs, byte for byte, whatever the number or order of the parts.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::input::Digestion;
use crate::output::{self, KeptRaw, MANIFEST_FILE};
use crate::pipeline::{Fold, Outcome, RunSummary};
use crate::results::{PartReader, RESULTS_FILE, ResultLine, Status};

/// The file the Spark job writes beside its part files: the inputs, in order.
pub const SPARK_INPUTS_FILE: &str = "_callqa_inputs.json";

/// How a merge is set up.
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// Shard folders, Spark output folders, or single part files.
    pub parts: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub sort_budget: usize,
    pub force: bool,
}

/// One input file as a part describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct InputMeta {
    pub path: String,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub sha256: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// `_callqa_inputs.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SparkInputs {
    inputs: Vec<InputMeta>,
}

/// What merge needs of a shard's `manifest.json`.
#[derive(Deserialize)]
struct ShardManifest {
    rule_pack: PackRef,
    inputs: Vec<InputMeta>,
    #[serde(default)]
    shard: Option<String>,
}

#[derive(Deserialize)]
struct PackRef {
    sha256: String,
}

/// The part files to read and the inputs they describe.
struct Parts {
    files: Vec<PathBuf>,
    inputs: Vec<InputMeta>,
    /// `I/N` of each shard folder given.
    shards: Vec<(PathBuf, String)>,
}

/// Merges the parts into `options.out_dir`, published like a run.
pub fn merge(engine: &Engine, options: &MergeOptions) -> Result<RunSummary> {
    let started = Instant::now();
    if options.parts.is_empty() {
        return Err(Error::usage("no parts given to merge"));
    }
    let parts = collect(engine, &options.parts)?;
    check_shards(&parts.shards)?;
    let paths: Vec<PathBuf> = parts
        .inputs
        .iter()
        .map(|i| PathBuf::from(&i.path))
        .collect();
    let staging = output::Staging::create(&options.out_dir, options.force)?;
    let mut fold = Fold::new(engine, &paths, options.sort_budget, &staging, false)?;
    for (i, input) in parts.inputs.iter().enumerate() {
        let digestion = Digestion {
            bytes: input.bytes,
            sha256: input.sha256.clone(),
        };
        fold.file_done(i, digestion, input.error.clone());
    }
    replay(engine, &parts, &mut fold)?;
    fold.finish(
        staging,
        started,
        crate::pipeline::Finishing {
            threads: 1,
            shard: None,
            section: &|_| String::new(),
            overrides: None,
        },
    )
}

/// Reads every part in (input, line) order and folds each line once.
fn replay(engine: &Engine, parts: &Parts, fold: &mut Fold<'_>) -> Result<()> {
    let mut readers = parts
        .files
        .iter()
        .map(|p| PartReader::open(p))
        .collect::<Result<Vec<_>>>()?;
    let mut heads: Vec<Option<ResultLine>> = Vec::with_capacity(readers.len());
    let mut heap = BinaryHeap::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        let head = reader.next_result()?;
        if let Some(line) = &head {
            heap.push(Reverse((line.input, line.line, i)));
        }
        heads.push(head);
    }
    let mut last: Option<(u32, u64, usize)> = None;
    while let Some(Reverse((input, line, part))) = heap.pop() {
        let next = readers[part].next_result()?;
        if let Some(n) = &next {
            if (n.input, n.line) <= (input, line) {
                return Err(readers[part].bad(format!(
                    "input {} line {} comes after input {input} line {line}: a part must list its lines in input order",
                    n.input, n.line
                )));
            }
            heap.push(Reverse((n.input, n.line, part)));
        }
        let Some(result) = std::mem::replace(&mut heads[part], next) else {
            continue;
        };
        if let Some((_, _, other)) = last.filter(|l| (l.0, l.1) == (input, line)) {
            return Err(readers[part].bad(format!(
                "input {input} line {line} is also in {}: the same line was scored twice (overlapping shards or a part given twice)",
                readers[other].path().display()
            )));
        }
        last = Some((input, line, part));
        if input as usize >= parts.inputs.len() {
            return Err(readers[part].bad(format!(
                "input {input} is not among the {} inputs the parts name",
                parts.inputs.len()
            )));
        }
        let (outcome, kept) = outcome(engine, result).map_err(|m| readers[part].bad(m))?;
        fold.fold(input as usize, line, outcome, || kept)?;
    }
    Ok(())
}

/// A result line as the fold's outcome, with what a reject would keep of the line.
fn outcome(engine: &Engine, line: ResultLine) -> std::result::Result<(Outcome, KeptRaw), String> {
    let kept = KeptRaw {
        raw: line.raw,
        truncated: line.raw_truncated,
    };
    let outcome = match line.status {
        Status::Blank => Outcome::Blank,
        Status::Rejected => {
            let reason = line.reason.ok_or("a rejected line without a reason")?;
            match line.call_id {
                Some(call_id) => Outcome::Duplicate { reason, call_id },
                None => Outcome::Rejected(reason),
            }
        }
        Status::Scored => {
            let call = line.call.ok_or("a scored line without its call")?;
            Outcome::Scored(Box::new(call.into_scored(engine)?))
        }
    };
    Ok((outcome, kept))
}

/// Finds the part files of each PART argument and the inputs they agree on.
fn collect(engine: &Engine, given: &[PathBuf]) -> Result<Parts> {
    let mut parts = Parts {
        files: Vec::new(),
        inputs: Vec::new(),
        shards: Vec::new(),
    };
    let mut described_by: Option<PathBuf> = None;
    for part in given {
        let (files, inputs, source) = if part.join(MANIFEST_FILE).is_file() {
            let manifest: ShardManifest = read_json(&part.join(MANIFEST_FILE))?;
            if manifest.rule_pack.sha256 != engine.pack().sha256() {
                return Err(bad_part(
                    part,
                    "was scored with another rule pack (its manifest's rule_pack.sha256 differs); merge with the same --rules",
                ));
            }
            let shard = manifest.shard.ok_or_else(|| {
                bad_part(
                    part,
                    "is a whole run, not a shard: run it with --shard I/N to merge it",
                )
            })?;
            parts.shards.push((part.clone(), shard));
            let results = part.join(RESULTS_FILE);
            (vec![results], manifest.inputs, part.join(MANIFEST_FILE))
        } else if part.is_dir() {
            let source = part.join(SPARK_INPUTS_FILE);
            let inputs: SparkInputs = read_json(&source)?;
            (part_files(part)?, inputs.inputs, source)
        } else {
            let dir = part.parent().unwrap_or(Path::new("."));
            let source = dir.join(SPARK_INPUTS_FILE);
            let inputs: SparkInputs = read_json(&source)?;
            (vec![part.clone()], inputs.inputs, source)
        };
        agree(&mut parts.inputs, inputs, &mut described_by, &source)?;
        parts.files.extend(files);
    }
    Ok(parts)
}

/// The inputs of every part must be the same files in the same order; digests that one part
/// knows (a shard read the whole file) fill in those another part does not (Spark parts).
fn agree(
    known: &mut Vec<InputMeta>,
    inputs: Vec<InputMeta>,
    described_by: &mut Option<PathBuf>,
    source: &Path,
) -> Result<()> {
    let Some(first) = described_by.as_ref() else {
        *known = inputs;
        *described_by = Some(source.to_path_buf());
        return Ok(());
    };
    let same_paths =
        known.len() == inputs.len() && known.iter().zip(&inputs).all(|(a, b)| a.path == b.path);
    let same_digests = known.iter().zip(&inputs).all(|(a, b)| {
        a.sha256.is_empty() || b.sha256.is_empty() || (a.sha256 == b.sha256 && a.bytes == b.bytes)
    });
    if !same_paths || !same_digests {
        return Err(bad_part(
            source,
            &format!(
                "names other inputs than {} (every part must come from the same input files, in the same order)",
                first.display()
            ),
        ));
    }
    for (a, b) in known.iter_mut().zip(inputs) {
        if a.sha256.is_empty() {
            a.bytes = b.bytes;
            a.sha256 = b.sha256;
        }
        a.error = a.error.take().or(b.error);
    }
    Ok(())
}

/// The data files of a Spark output folder: every file but Spark's own (`_SUCCESS`, `.crc`).
fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::input(dir, "read", e))? {
        let path = entry.map_err(|e| Error::input(dir, "read", e))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let hidden = name.is_none_or(|n| n.starts_with('_') || n.starts_with('.'));
        if path.is_file() && !hidden {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// With shard folders, every shard of one N must be there exactly once.
fn check_shards(shards: &[(PathBuf, String)]) -> Result<()> {
    let Some((first, spec)) = shards.first() else {
        return Ok(());
    };
    let count = |s: &str| s.split_once('/').map(|(_, n)| n.to_string());
    let n = count(spec).unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (path, s) in shards {
        if count(s).as_deref() != Some(n.as_str()) {
            return Err(bad_part(
                path,
                &format!("is shard {s} but {} is shard {spec}", first.display()),
            ));
        }
        if !seen.insert(s.clone()) {
            return Err(bad_part(path, &format!("repeats shard {s}")));
        }
    }
    let total: usize = n.parse().unwrap_or(0);
    if seen.len() != total {
        let missing: Vec<String> = (0..total)
            .map(|i| format!("{i}/{n}"))
            .filter(|s| !seen.contains(s))
            .collect();
        return Err(Error::usage(format!(
            "shards missing from the merge: {} (a merge of shards needs all {n} of them)",
            missing.join(", ")
        )));
    }
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            path,
            "read (a part must be a `run --shard` folder, a Spark output folder with _callqa_inputs.json, or a part file inside one)",
            e,
        )
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::input(path, "parse", std::io::Error::other(e.to_string())))
}

fn bad_part(path: &Path, message: &str) -> Error {
    Error::usage(format!("{}: {message}", path.display()))
}
