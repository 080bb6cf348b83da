//! The one error type of the library.
//!
//! Like `regex::Error`, [`Error`] wraps a private kind; callers ask it what class of failure it
//! is ([`ErrorClass`]) to choose an exit code, and print it with `Display`, which always names
//! the file (and line, where there is one) and what to do.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, broadly: each class has its own exit code in the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The command line asked for something impossible (e.g. `--threads 0`).
    Usage,
    /// The rule pack has one or more problems; nothing was scored or written.
    RulePack,
    /// An input file could not be opened or read.
    Input,
    /// The output folder or a file in it could not be written.
    Output,
    /// The run finished but its counts do not reconcile, or an input broke off mid-file.
    Incomplete,
    /// Another run of the same date holds its lock (see [`crate::nightly::lock`]).
    Locked,
}

/// One problem found in the rule pack, located by file, line and rule id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleProblem {
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub rule_id: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(id) = &self.rule_id {
            write!(f, ": rule {id}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The error type of every fallible callqa operation.
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

#[derive(Debug)]
enum ErrorKind {
    Usage(String),
    RulePack(Vec<RuleProblem>),
    Io {
        class: ErrorClass,
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    Incomplete(String),
    /// `callqa.toml` has a problem (reported with the rule-pack class: exit code 3).
    Config {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    Locked(String),
}

impl Error {
    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::from_kind(ErrorKind::Usage(message.into()))
    }

    /// A usage error raised by a caller of the library (such as the command line).
    pub fn usage_message(message: impl Into<String>) -> Error {
        Error::usage(message)
    }

    pub(crate) fn rule_pack(problems: Vec<RuleProblem>) -> Error {
        Error::from_kind(ErrorKind::RulePack(problems))
    }

    pub(crate) fn input(path: &Path, action: &'static str, source: std::io::Error) -> Error {
        Error::io(ErrorClass::Input, path, action, source)
    }

    pub(crate) fn output(path: &Path, action: &'static str, source: std::io::Error) -> Error {
        Error::io(ErrorClass::Output, path, action, source)
    }

    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Error {
        Error::from_kind(ErrorKind::Parquet {
            path: path.to_path_buf(),
            source,
        })
    }

    pub(crate) fn incomplete(message: impl Into<String>) -> Error {
        Error::from_kind(ErrorKind::Incomplete(message.into()))
    }

    pub(crate) fn config(path: &Path, line: Option<usize>, message: impl Into<String>) -> Error {
        Error::from_kind(ErrorKind::Config {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        })
    }

    pub(crate) fn locked(message: impl Into<String>) -> Error {
        Error::from_kind(ErrorKind::Locked(message.into()))
    }

    fn io(class: ErrorClass, path: &Path, action: &'static str, source: std::io::Error) -> Error {
        Error::from_kind(ErrorKind::Io {
            class,
            path: path.to_path_buf(),
            action,
            source,
        })
    }

    fn from_kind(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }

    /// The class of this error, to pick an exit code.
    pub fn class(&self) -> ErrorClass {
        match &*self.kind {
            ErrorKind::Usage(_) => ErrorClass::Usage,
            ErrorKind::RulePack(_) => ErrorClass::RulePack,
            ErrorKind::Io { class, .. } => *class,
            ErrorKind::Parquet { .. } => ErrorClass::Output,
            ErrorKind::Incomplete(_) => ErrorClass::Incomplete,
            ErrorKind::Config { .. } => ErrorClass::RulePack,
            ErrorKind::Locked(_) => ErrorClass::Locked,
        }
    }

    /// The rule-pack problems, when this is a rule-pack error.
    pub fn rule_problems(&self) -> &[RuleProblem] {
        match &*self.kind {
            ErrorKind::RulePack(problems) => problems,
            _ => &[],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::Usage(message) => write!(f, "{message}"),
            ErrorKind::RulePack(problems) => {
                let n = problems.len();
                write!(
                    f,
                    "the rule pack has {n} problem{}",
                    if n == 1 { "" } else { "s" }
                )?;
                for problem in problems {
                    write!(f, "\n  {problem}")?;
                }
                write!(f, "\nfix the rule files and run again; nothing was written")
            }
            ErrorKind::Io {
                class,
                path,
                action,
                source,
            } => {
                write!(f, "cannot {action} {}: {source}", path.display())?;
                match class {
                    ErrorClass::Output => write!(
                        f,
                        " (check that the output folder is writable and the disk has room)"
                    ),
                    ErrorClass::Input => write!(f, " (check the path and its permissions)"),
                    _ => Ok(()),
                }
            }
            ErrorKind::Parquet { path, source } => write!(
                f,
                "cannot write {}: {source} (check that the output folder is writable and the disk has room)",
                path.display()
            ),
            ErrorKind::Incomplete(message) => write!(f, "{message}"),
            ErrorKind::Config {
                path,
                line,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                write!(
                    f,
                    ": {message}\nfix the config and run again; nothing was written"
                )
            }
            ErrorKind::Locked(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            ErrorKind::Parquet { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
