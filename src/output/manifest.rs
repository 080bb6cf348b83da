//! `manifest.json`: what was read, with which rules, what came out — written last.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::error::{Error, Result};

/// Record counts of a run; `read = scored + rejected` always holds for a complete run.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub read: u64,
    pub scored: u64,
    pub rejected: u64,
    /// Rejected because their `call_id` was already scored (included in `rejected`).
    pub duplicates: u64,
    /// Empty lines, skipped and not counted as records.
    pub blank_lines: u64,
    pub findings: u64,
    pub violations: u64,
    pub rewards: u64,
    pub agents: u64,
}

/// One input file.
#[derive(Clone, Debug, Serialize)]
pub struct InputEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    pub records: u64,
    pub scored: u64,
    pub rejected: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl InputEntry {
    pub fn new(path: &Path) -> InputEntry {
        InputEntry {
            path: path.display().to_string(),
            bytes: 0,
            sha256: String::new(),
            records: 0,
            scored: 0,
            rejected: 0,
            error: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RulePackEntry {
    pub dir: String,
    pub sha256: String,
    pub rules: usize,
    pub files: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutputEntry {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Wall-clock facts: the only part of the manifest that differs between identical runs.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    pub started_unix_ms: u64,
    pub seconds: f64,
    pub threads: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    /// `complete`, or `incomplete` when an input could not be read to its end.
    pub status: &'static str,
    pub rule_pack: RulePackEntry,
    pub inputs: Vec<InputEntry>,
    pub counts: Counts,
    pub outputs: Vec<OutputEntry>,
    pub timing: Timing,
    /// What `--overrides` did, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overrides: Option<crate::overrides::OverridesSummary>,
    /// `I/N` for a shard's partial run (`run --shard`); absent for a whole run or a merge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The review model of `run --model`, by path and SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_model: Option<crate::review::ModelSource>,
}

impl Manifest {
    pub fn new(
        engine: &Engine,
        inputs: Vec<InputEntry>,
        counts: Counts,
        started: Instant,
        threads: usize,
    ) -> Manifest {
        let pack = engine.pack();
        let elapsed = started.elapsed();
        let started_unix_ms = SystemTime::now()
            .checked_sub(elapsed)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64);
        Manifest {
            tool: "callqa",
            version: env!("CARGO_PKG_VERSION"),
            status: if inputs.iter().any(|i| i.error.is_some()) {
                "incomplete"
            } else {
                "complete"
            },
            rule_pack: RulePackEntry {
                dir: pack.dir().display().to_string(),
                sha256: pack.sha256().to_string(),
                rules: pack.rules().len(),
                files: pack
                    .files()
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect(),
            },
            inputs,
            counts,
            outputs: Vec::new(),
            timing: Timing {
                started_unix_ms,
                seconds: elapsed.as_secs_f64(),
                threads: if threads == 0 {
                    rayon::current_num_threads()
                } else {
                    threads
                },
            },
            overrides: None,
            shard: None,
            review_model: engine.review_model().and_then(|m| m.source.clone()),
        }
    }

    /// Hashes the finished outputs in `staged` and writes the manifest to `path`.
    pub(super) fn write(&self, path: &Path, staged: &Path) -> Result<()> {
        let mut manifest = self.clone();
        for name in [
            super::CALLS_FILE,
            super::FINDINGS_FILE,
            super::AGENTS_FILE,
            super::REJECTS_FILE,
            super::REPORT_FILE,
            crate::results::RESULTS_FILE,
        ] {
            let file = staged.join(name);
            if name == crate::results::RESULTS_FILE && !file.exists() {
                continue; // only a shard keeps per-line results
            }
            let (bytes, sha256) =
                hash_file(&file).map_err(|e| Error::output(&file, "read back", e))?;
            manifest.outputs.push(OutputEntry {
                file: name.to_string(),
                bytes,
                sha256,
            });
        }
        super::write_file(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &manifest)?;
            std::io::Write::write_all(w, b"\n")
        })
    }
}

/// Size and SHA-256 of a file, read in chunks.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, crate::rules::hex_digest(&hasher.finalize())))
}
