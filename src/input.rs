//! Reading call records: files (plain, gzip or zstd JSONL) streamed line by line, and each line
//! parsed and checked against the input contract.
//!
//! A line that breaks the contract is not an error of the run: [`parse_record`] returns the
//! reason, and the pipeline writes it to `rejects.jsonl` with the file and line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

use crate::error::{Error, Result};

/// Who speaks a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Agent,
    Customer,
    System,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Agent => "agent",
            Speaker::Customer => "customer",
            Speaker::System => "system",
        }
    }
}

/// One turn of a call, as given.
#[derive(Clone, Debug)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

/// One call record that met the input contract.
#[derive(Clone, Debug)]
pub struct Call {
    pub call_id: String,
    pub agent_id: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub started_at: Option<i64>,
    pub channel: Option<String>,
    pub language: Option<String>,
    pub customer_id: Option<String>,
    pub turns: Vec<Turn>,
}

// The fields only checked or parsed borrow from the line when they can (no escapes): a
// speaker is read 27 times a call, and an allocation each time showed in the profile.
#[derive(Deserialize)]
struct RawCall<'a> {
    call_id: Option<String>,
    agent_id: Option<String>,
    #[serde(borrow)]
    started_at: Option<Cow<'a, str>>,
    channel: Option<String>,
    language: Option<String>,
    customer_id: Option<String>,
    #[serde(borrow)]
    turns: Option<Vec<RawTurn<'a>>>,
}

#[derive(Deserialize)]
struct RawTurn<'a> {
    #[serde(borrow)]
    speaker: Option<Cow<'a, str>>,
    text: Option<String>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
}

/// Parses one JSONL line into a [`Call`], or says why it breaks the input contract.
pub fn parse_record(line: &[u8]) -> std::result::Result<Call, String> {
    parse_record_limited(line, usize::MAX)
}

/// [`parse_record`], rejecting calls with more than `max_turns` turns.
pub fn parse_record_limited(line: &[u8], max_turns: usize) -> std::result::Result<Call, String> {
    let text = std::str::from_utf8(line)
        .map_err(|e| format!("the line is not valid UTF-8 (at byte {})", e.valid_up_to()))?;
    let raw: RawCall = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("wrong field type: {e}"),
        _ => format!("invalid JSON: {e}"),
    })?;
    let call_id = required(raw.call_id, "call_id")?;
    let agent_id = required(raw.agent_id, "agent_id")?;
    let raw_turns = raw.turns.ok_or("missing field `turns`")?;
    if raw_turns.is_empty() {
        return Err("no turns: `turns` is an empty list".into());
    }
    if raw_turns.len() > max_turns {
        return Err(format!(
            "too many turns: {} (the limit is {max_turns}, see --max-turns)",
            raw_turns.len()
        ));
    }
    let started_at = match raw.started_at {
        Some(s) => Some(parse_timestamp(&s)?),
        None => None,
    };
    let turns = raw_turns
        .into_iter()
        .enumerate()
        .map(|(i, t)| check_turn(i, t))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Call {
        call_id,
        agent_id,
        started_at,
        channel: raw.channel,
        language: raw.language,
        customer_id: raw.customer_id,
        turns,
    })
}

fn required(value: Option<String>, field: &str) -> std::result::Result<String, String> {
    match value {
        None => Err(format!("missing field `{field}`")),
        Some(v) if v.trim().is_empty() => Err(format!("empty field `{field}`")),
        Some(v) => Ok(v),
    }
}

fn parse_timestamp(s: &str) -> std::result::Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("started_at: `{s}` is not an RFC 3339 timestamp ({e})"))
}

fn check_turn(i: usize, raw: RawTurn<'_>) -> std::result::Result<Turn, String> {
    let speaker = match raw.speaker.as_deref() {
        Some("agent") => Speaker::Agent,
        Some("customer") => Speaker::Customer,
        Some("system") => Speaker::System,
        Some(other) => {
            return Err(format!(
                "turns[{i}]: unknown speaker `{other}` (expected agent, customer or system)"
            ));
        }
        None => return Err(format!("turns[{i}]: missing field `speaker`")),
    };
    let text = raw
        .text
        .ok_or_else(|| format!("turns[{i}]: missing field `text`"))?;
    if raw.start_ms.is_some_and(|t| t < 0) || raw.end_ms.is_some_and(|t| t < 0) {
        return Err(format!("turns[{i}]: negative timestamp"));
    }
    if let (Some(start), Some(end)) = (raw.start_ms, raw.end_ms)
        && end < start
    {
        return Err(format!(
            "turns[{i}]: end_ms before start_ms ({end} < {start})"
        ));
    }
    Ok(Turn {
        speaker,
        text,
        start_ms: raw.start_ms,
        end_ms: raw.end_ms,
    })
}

/// Size and SHA-256 of an input file's bytes, filled in as the file is read.
#[derive(Clone, Debug, Default)]
pub struct Digestion {
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Default)]
struct HashState {
    hasher: Sha256,
    bytes: u64,
}

/// Passes bytes through while hashing them, so inputs are hashed in the same single read.
struct HashingReader<R> {
    inner: R,
    state: Arc<Mutex<HashState>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // A poisoned lock only means another thread panicked mid-update; the hash is then
        // wrong but the run is already failing, so keep going with what is there.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.hasher.update(&buf[..n]);
        state.bytes += n as u64;
        Ok(n)
    }
}

/// One line of an input file.
pub enum Line {
    /// A line's bytes (without the line ending and, on line 1, without a UTF-8 BOM).
    Record(Vec<u8>),
    /// A line longer than the limit; its bytes were skipped, not kept.
    TooLong(u64),
}

/// Streams the lines of one input file, decompressing gzip or zstd (sniffed by magic bytes).
pub struct LineReader {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    state: Arc<Mutex<HashState>>,
    line_no: u64,
    max_line_bytes: usize,
}

impl LineReader {
    /// Opens `path`; a missing or unreadable file is an [`ErrorClass::Input`](crate::ErrorClass) error.
    pub fn open(path: &Path, max_line_bytes: usize) -> Result<LineReader> {
        let file = File::open(path).map_err(|e| Error::input(path, "open input", e))?;
        LineReader::from_reader(path, Box::new(file), max_line_bytes)
    }

    /// Streams lines from any reader (standard input for `score --stdin`); `path` names it in
    /// messages.
    pub fn from_reader(
        path: &Path,
        inner: Box<dyn Read + Send>,
        max_line_bytes: usize,
    ) -> Result<LineReader> {
        let state = Arc::new(Mutex::new(HashState::default()));
        let hashing = HashingReader {
            inner,
            state: Arc::clone(&state),
        };
        let mut raw = BufReader::with_capacity(1 << 16, hashing);
        let magic = raw
            .fill_buf()
            .map_err(|e| Error::input(path, "read input", e))?;
        let reader: Box<dyn BufRead + Send> = if magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::bufread::MultiGzDecoder::new(raw),
            ))
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let decoder = zstd::Decoder::with_buffer(raw)
                .map_err(|e| Error::input(path, "start zstd decoding of", e))?;
            Box::new(BufReader::with_capacity(1 << 16, decoder))
        } else {
            Box::new(raw)
        };
        Ok(LineReader {
            path: path.to_path_buf(),
            reader,
            state,
            line_no: 0,
            max_line_bytes,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The 1-based number of the line last returned.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut buf = Vec::new();
        let mut total: u64 = 0;
        let mut too_long = false;
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                if total == 0 {
                    return Ok(None);
                }
                break;
            }
            let (chunk, found_newline) = match memchr_newline(available) {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            total += chunk.len() as u64;
            if !too_long && buf.len() + chunk.len() > self.max_line_bytes {
                too_long = true;
                buf = Vec::new();
            }
            if !too_long {
                buf.extend_from_slice(chunk);
            }
            let consumed = chunk.len() + usize::from(found_newline);
            self.reader.consume(consumed);
            if found_newline {
                total += 1;
                break;
            }
        }
        self.line_no += 1;
        if too_long {
            return Ok(Some(Line::TooLong(total)));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if self.line_no == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
            buf.drain(..3);
        }
        Ok(Some(Line::Record(buf)))
    }

    /// Size and hash of the raw bytes read so far (the whole file once at its end).
    pub fn digestion(&self) -> Digestion {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Digestion {
            bytes: state.bytes,
            sha256: crate::rules::hex_digest(&state.hasher.clone().finalize()),
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Streams the calls of the file at `path` to `each` until it returns `Ok(false)`. Records that
/// do not parse are passed over: callers look calls up in a run's inputs, whose bad records the
/// run has already reported.
pub fn for_each_call(
    path: &Path,
    max_line_bytes: usize,
    mut each: impl FnMut(Call) -> Result<bool>,
) -> Result<()> {
    let mut reader = LineReader::open(path, max_line_bytes)?;
    while let Some(line) = reader
        .next_line()
        .map_err(|e| Error::input(path, "read", e))?
    {
        let Line::Record(bytes) = line else { continue };
        let Ok(call) = parse_record(&bytes) else {
            continue;
        };
        if !each(call)? {
            break;
        }
    }
    Ok(())
}

/// Streams `paths` for the call with this id (the first one, as a run would score it).
pub fn find_call(paths: &[PathBuf], call_id: &str, max_line_bytes: usize) -> Result<Option<Call>> {
    let needle = format!("\"{call_id}\"");
    for path in paths {
        let mut reader = LineReader::open(path, max_line_bytes)?;
        while let Some(line) = reader
            .next_line()
            .map_err(|e| Error::input(path, "read", e))?
        {
            let Line::Record(bytes) = line else { continue };
            // Cheap test first: only lines that mention the id are parsed.
            if !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                continue;
            }
            if let Ok(call) = parse_record(&bytes)
                && call.call_id == call_id
            {
                return Ok(Some(call));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"call_id":"c1","agent_id":"a1","turns":[{"speaker":"agent","text":"您好","start_ms":0,"end_ms":900}]}"#;

    #[test]
    fn accepts_a_good_record() {
        let call = parse_record(GOOD.as_bytes()).unwrap();
        assert_eq!(call.call_id, "c1");
        assert_eq!(call.turns[0].speaker, Speaker::Agent);
        assert_eq!(call.turns[0].end_ms, Some(900));
    }

    #[test]
    fn rejects_say_why() {
        let cases: &[(&str, &str)] = &[
            ("{\"call_id\":", "invalid JSON"),
            ("not json", "invalid JSON"),
            (r#"{"agent_id":"a","turns":[]}"#, "missing field `call_id`"),
            (r#"{"call_id":"c","turns":[]}"#, "missing field `agent_id`"),
            (r#"{"call_id":"c","agent_id":"a"}"#, "missing field `turns`"),
            (r#"{"call_id":"c","agent_id":"a","turns":[]}"#, "no turns"),
            (
                r#"{"call_id":"","agent_id":"a","turns":[]}"#,
                "empty field `call_id`",
            ),
            (
                r#"{"call_id":"c","agent_id":"a","turns":"x"}"#,
                "wrong field type: invalid type",
            ),
            (r#"{"call_id":7,"agent_id":"a","turns":[]}"#, "invalid type"),
            (
                r#"{"call_id":"c","agent_id":"a","turns":[{"speaker":"bot","text":"x"}]}"#,
                "turns[0]: unknown speaker `bot`",
            ),
            (
                r#"{"call_id":"c","agent_id":"a","turns":[{"speaker":"agent"}]}"#,
                "turns[0]: missing field `text`",
            ),
            (
                r#"{"call_id":"c","agent_id":"a","turns":[{"speaker":"agent","text":"x","start_ms":-5}]}"#,
                "negative timestamp",
            ),
            (
                r#"{"call_id":"c","agent_id":"a","turns":[{"speaker":"agent","text":"x","start_ms":50,"end_ms":10}]}"#,
                "end_ms before start_ms",
            ),
            (
                r#"{"call_id":"c","agent_id":"a","started_at":"yesterday","turns":[{"speaker":"agent","text":"x"}]}"#,
                "not an RFC 3339 timestamp",
            ),
        ];
        for (line, want) in cases {
            let reason = parse_record(line.as_bytes()).unwrap_err();
            assert!(
                reason.contains(want),
                "{line}: got {reason:?}, want {want:?}"
            );
        }
        let reason = parse_record(b"{\"call_id\":\"\xff\"}").unwrap_err();
        assert!(reason.contains("not valid UTF-8"), "{reason}");
    }

    #[test]
    fn line_reader_handles_bom_crlf_long_lines_and_compression() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"\xEF\xBB\xBFfirst\r\nsecond\n\nxxxxxxxxxxxxxxxxxxxx\nlast";
        let plain = dir.path().join("a.jsonl");
        std::fs::write(&plain, content).unwrap();
        let gz = dir.path().join("a.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, content).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.path().join("a.jsonl.zst");
        std::fs::write(&zst, zstd::encode_all(&content[..], 3).unwrap()).unwrap();
        for path in [&plain, &gz, &zst] {
            let mut reader = LineReader::open(path, 10).unwrap();
            let mut got = Vec::new();
            while let Some(line) = reader.next_line().unwrap() {
                got.push(match line {
                    Line::Record(b) => String::from_utf8(b).unwrap(),
                    Line::TooLong(n) => format!("too long: {n}"),
                });
            }
            assert_eq!(
                got,
                ["first", "second", "", "too long: 21", "last"],
                "{path:?}"
            );
            assert_eq!(reader.line_no(), 5);
            assert_eq!(
                reader.digestion().bytes,
                std::fs::metadata(path).unwrap().len()
            );
        }
    }
}
