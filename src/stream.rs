//! `callqa score --stdin`: a stateless filter, one JSON result line out per input line, in
//! input order — what Spark's `RDD.pipe` runs on each partition.
//!
//! Lines are read in batches, scored in parallel and written in order, so memory is bounded by
//! one batch whatever the length of the stream. Nothing is remembered from one line to the
//! next: duplicates of a `call_id` are found later by `merge`, which sees every line.
//!
//! With `--tagged`, each input line is `INPUT<TAB>LINE<TAB>RECORD` (the index of the input
//! file, the record's 1-based line number in it, and the record as read), so that results from
//! many partitions can be put back in input order; a scored call then also keeps its record
//! (up to 64 KiB), which `merge` needs to reject a later duplicate with its line. A line that
//! is not valid UTF-8 comes as `INPUT<TAB>LINE:hex<TAB>HEX`, its bytes hex-encoded, so it is
//! judged on the bytes that were read.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::engine::{Engine, Scratch};
use crate::error::{Error, Result};
use crate::input::{Line, LineReader};
use crate::output::KeptRaw;
use crate::pipeline::{Outcome, score_record};
use crate::results::{ResultLine, Status, WireCall};

/// How `score --stdin` runs.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    pub max_record_bytes: usize,
    pub max_turns: usize,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Lines carry their origin: `INPUT<TAB>LINE<TAB>RECORD`.
    pub tagged: bool,
}

/// Lines seen, by what became of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamSummary {
    pub scored: u64,
    pub rejected: u64,
    pub blank: u64,
}

/// Lines scored at once.
const BATCH_LINES: usize = 1024;

/// What standard input and output are called in messages.
const STDIN: &str = "<stdin>";
const STDOUT: &str = "<stdout>";

/// Reads records from `input`, writes one result line per input line to `output`.
pub fn score_stream(
    engine: &Engine,
    options: &StreamOptions,
    input: Box<dyn Read + Send>,
    output: &mut dyn Write,
) -> Result<StreamSummary> {
    // A tagged line is held whole (Spark has already held it); the record limit applies to
    // the record after the tag.
    let limit = if options.tagged {
        usize::MAX
    } else {
        options.max_record_bytes
    };
    let mut reader = LineReader::from_reader(Path::new(STDIN), input, limit)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| Error::usage(format!("cannot start worker threads: {e}")))?;
    let mut summary = StreamSummary::default();
    loop {
        let mut batch = Vec::with_capacity(BATCH_LINES);
        while batch.len() < BATCH_LINES {
            match reader.next_line() {
                Ok(Some(line)) => batch.push((reader.line_no(), line)),
                Ok(None) => break,
                Err(e) => return Err(Error::input(Path::new(STDIN), "read", e)),
            }
        }
        if batch.is_empty() {
            return Ok(summary);
        }
        let results: Vec<Result<ResultLine>> = pool.install(|| {
            batch
                .par_iter()
                .map_init(Scratch::default, |scratch, (line_no, line)| {
                    score_line(engine, options, *line_no, line, scratch)
                })
                .collect()
        });
        for result in results {
            let result = result?;
            match result.status {
                Status::Scored => summary.scored += 1,
                Status::Rejected => summary.rejected += 1,
                Status::Blank => summary.blank += 1,
            }
            serde_json::to_writer(&mut *output, &result)
                .map_err(std::io::Error::from)
                .and_then(|()| output.write_all(b"\n"))
                .map_err(|e| Error::output(Path::new(STDOUT), "write", e))?;
        }
        output
            .flush()
            .map_err(|e| Error::output(Path::new(STDOUT), "write", e))?;
    }
}

/// One input line's result; `Err` only for a tagged line without its tag (the caller is
/// broken, not the data).
fn score_line(
    engine: &Engine,
    options: &StreamOptions,
    stdin_line: u64,
    line: &Line,
    scratch: &mut Scratch,
) -> Result<ResultLine> {
    let (input, line_no, record) = match line {
        Line::TooLong(n) => (0, stdin_line, Err(*n)),
        Line::Record(bytes) if options.tagged => {
            let (input, line_no, record) = split_tag(bytes).ok_or_else(|| {
                Error::input(
                    Path::new(STDIN),
                    "read",
                    std::io::Error::other(format!(
                        "line {stdin_line}: with --tagged every line must be INPUT<TAB>LINE<TAB>RECORD"
                    )),
                )
            })?;
            let record = if record.len() > options.max_record_bytes {
                Err(record.len() as u64)
            } else {
                Ok(record)
            };
            (input, line_no, record)
        }
        Line::Record(bytes) => (0, stdin_line, Ok(Cow::Borrowed(bytes.as_slice()))),
    };
    let mut result = ResultLine {
        input,
        line: line_no,
        status: Status::Blank,
        reason: None,
        call_id: None,
        raw: None,
        raw_truncated: false,
        call: None,
    };
    let record = match record {
        Err(n) => {
            result.status = Status::Rejected;
            result.reason = Some(format!(
                "the record is {n} bytes, over the limit (--max-record-bytes); it was skipped"
            ));
            return Ok(result);
        }
        Ok(record) if record.iter().all(u8::is_ascii_whitespace) => return Ok(result),
        Ok(record) => record,
    };
    let record = record.as_ref();
    let kept = |result: &mut ResultLine| {
        let kept = KeptRaw::from_bytes(Some(record));
        result.raw = kept.raw;
        result.raw_truncated = kept.truncated;
    };
    match score_record(engine, record, options.max_turns, None, scratch) {
        Outcome::Scored(call) => {
            result.status = Status::Scored;
            result.call_id = Some(call.row.call_id.clone());
            result.call = Some(WireCall::from_scored(engine, &call));
            if options.tagged {
                kept(&mut result);
            }
        }
        Outcome::Rejected(reason) => {
            result.status = Status::Rejected;
            result.reason = Some(reason);
            kept(&mut result);
        }
        // score_record only scores or rejects.
        Outcome::Blank | Outcome::Skipped | Outcome::Duplicate { .. } => {}
    }
    Ok(result)
}

/// `INPUT<TAB>LINE<TAB>RECORD` → its parts; a UTF-8 BOM before line 1's record is dropped, as
/// `run` drops it. `LINE:hex` marks a record sent hex-encoded: a line that is not valid UTF-8,
/// which a text pipe could not carry as it was read.
fn split_tag(bytes: &[u8]) -> Option<(u32, u64, Cow<'_, [u8]>)> {
    let mut fields = bytes.splitn(3, |&b| b == b'\t');
    let input = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let line = std::str::from_utf8(fields.next()?).ok()?;
    let field = fields.next()?;
    let (line, record) = match line.strip_suffix(":hex") {
        Some(line) => (line, Cow::Owned(from_hex(field)?)),
        None => (line, Cow::Borrowed(field)),
    };
    let line: u64 = line.parse().ok()?;
    let record = match record {
        Cow::Borrowed(r) if line == 1 => {
            Cow::Borrowed(r.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(r))
        }
        Cow::Owned(r) if line == 1 && r.starts_with(b"\xEF\xBB\xBF") => Cow::Owned(r[3..].to_vec()),
        other => other,
    };
    Some((input, line, record))
}

fn from_hex(hex: &[u8]) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn tags_split_and_a_first_line_bom_goes() {
        let parts = |b: &'static [u8]| split_tag(b).map(|(i, l, r)| (i, l, r.into_owned()));
        assert_eq!(parts(b"2\t7\t{}"), Some((2, 7, b"{}".to_vec())));
        assert_eq!(parts(b"0\t1\t\xEF\xBB\xBF{}"), Some((0, 1, b"{}".to_vec())));
        assert_eq!(parts(b"0\t1\ta\tb"), Some((0, 1, b"a\tb".to_vec())));
        assert_eq!(parts(b"0\t3:hex\t7bff7D"), Some((0, 3, b"{\xff}".to_vec())));
        assert_eq!(parts(b"0\t1:hex\tefbbbf7b7d"), Some((0, 1, b"{}".to_vec())));
        assert_eq!(parts(b"0\t3:hex\t7g"), None);
        assert_eq!(parts(b"{}"), None);
        assert_eq!(parts(b"x\t1\t{}"), None);
    }
}
