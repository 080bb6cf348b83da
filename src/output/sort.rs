//! Sorting scored calls by `call_id` in bounded memory.
//!
//! Calls are buffered until the buffer reaches its byte budget, then sorted and written to a
//! run file in the staging folder; at the end the runs are merged. A run small enough to fit
//! the budget never touches the disk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::ScoredCall;
use crate::error::{Error, Result};

/// Default memory budget for buffered calls.
pub const DEFAULT_SORT_BUDGET: usize = 32 << 20;

pub struct CallSorter {
    dir: PathBuf,
    budget: usize,
    buffer: Vec<ScoredCall>,
    buffered: usize,
    runs: Vec<PathBuf>,
}

impl CallSorter {
    pub fn new(dir: &Path, budget: usize) -> CallSorter {
        CallSorter {
            dir: dir.to_path_buf(),
            budget,
            buffer: Vec::new(),
            buffered: 0,
            runs: Vec::new(),
        }
    }

    pub fn push(&mut self, call: ScoredCall) -> Result<()> {
        self.buffered += approximate_size(&call);
        self.buffer.push(call);
        if self.buffered >= self.budget {
            self.spill()?;
            // the spilled calls were freed into the scoring threads' arenas
            crate::memory::release_freed();
        }
        Ok(())
    }

    /// Hands every call to `emit` in `call_id` order, then removes the run files.
    pub fn finish(mut self, mut emit: impl FnMut(ScoredCall) -> Result<()>) -> Result<()> {
        if self.runs.is_empty() {
            self.buffer
                .sort_by(|a, b| a.row.call_id.cmp(&b.row.call_id));
            return self.buffer.into_iter().try_for_each(emit);
        }
        self.spill()?;
        let mut readers = self
            .runs
            .iter()
            .map(|p| RunReader::open(p))
            .collect::<Result<Vec<_>>>()?;
        let mut heads: Vec<Option<ScoredCall>> = Vec::with_capacity(readers.len());
        let mut heap = BinaryHeap::new();
        for (i, reader) in readers.iter_mut().enumerate() {
            let head = reader.next()?;
            if let Some(call) = &head {
                heap.push(Reverse((call.row.call_id.clone(), i)));
            }
            heads.push(head);
        }
        while let Some(Reverse((_, i))) = heap.pop() {
            let next = readers[i].next()?;
            if let Some(call) = &next {
                heap.push(Reverse((call.row.call_id.clone(), i)));
            }
            if let Some(call) = std::mem::replace(&mut heads[i], next) {
                emit(call)?;
            }
        }
        for run in &self.runs {
            std::fs::remove_file(run).map_err(|e| Error::output(run, "remove sort run", e))?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.buffer
            .sort_by(|a, b| a.row.call_id.cmp(&b.row.call_id));
        let path = self.dir.join(format!(".sort-run-{:05}", self.runs.len()));
        let file = File::create(&path).map_err(|e| Error::output(&path, "create sort run", e))?;
        let mut writer = BufWriter::new(file);
        // One buffer for every call's bytes: a fresh Vec per call cost a malloc and its regrowths.
        let mut bytes = Vec::new();
        for call in self.buffer.drain(..) {
            bytes.clear();
            bytes = postcard::to_extend(&call, bytes)
                .map_err(|e| Error::output(&path, "encode", std::io::Error::other(e)))?;
            writer
                .write_all(&(bytes.len() as u32).to_le_bytes())
                .and_then(|()| writer.write_all(&bytes))
                .map_err(|e| Error::output(&path, "write sort run", e))?;
        }
        writer
            .flush()
            .map_err(|e| Error::output(&path, "write sort run", e))?;
        self.buffered = 0;
        self.runs.push(path);
        Ok(())
    }
}

/// Bytes a buffered call takes, roughly: its strings plus fixed parts.
fn approximate_size(call: &ScoredCall) -> usize {
    let strings = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let findings: usize = call
        .findings
        .iter()
        .map(|f| {
            160 + strings(&f.matched)
                + strings(&f.turn_text)
                + strings(&f.context)
                + strings(&f.detail)
        })
        .sum();
    256 + call.row.call_id.len()
        + call.row.agent_id.len()
        + strings(&call.row.customer_id)
        + strings(&call.row.channel)
        + call.score.category_scores.len() * 4
        + findings
}

struct RunReader {
    path: PathBuf,
    reader: BufReader<File>,
    buf: Vec<u8>,
}

impl RunReader {
    fn open(path: &Path) -> Result<RunReader> {
        let file = File::open(path).map_err(|e| Error::output(path, "open sort run", e))?;
        Ok(RunReader {
            path: path.to_path_buf(),
            reader: BufReader::new(file),
            buf: Vec::new(),
        })
    }

    fn next(&mut self) -> Result<Option<ScoredCall>> {
        let mut len = [0u8; 4];
        match self.reader.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(Error::output(&self.path, "read sort run", e)),
        }
        self.buf.resize(u32::from_le_bytes(len) as usize, 0);
        self.reader
            .read_exact(&mut self.buf)
            .map_err(|e| Error::output(&self.path, "read sort run", e))?;
        postcard::from_bytes(&self.buf)
            .map(Some)
            .map_err(|e| Error::output(&self.path, "decode sort run", std::io::Error::other(e)))
    }
}
