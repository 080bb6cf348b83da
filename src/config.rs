//! `callqa.toml`: a project's settings, so the nightly command line stays short.
//!
//! The file is found in the working directory or given with `--config`; every flag on the
//! command line overrides the matching key. Paths in the file are relative to the file's own
//! folder, so a scheduler may start callqa from anywhere. Unknown keys are errors with file and
//! line (a misspelt `out_rot` must not silently fall back to a default).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The file name looked for in the working directory.
pub const CONFIG_FILE: &str = "callqa.toml";

/// The placeholder in `inputs` replaced by the run's date (`2026-11-25`).
pub const DATE_PLACEHOLDER: &str = "{date}";

/// The keys of `callqa.toml`, as written by the user.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    inputs: Option<String>,
    rules: Option<PathBuf>,
    out_root: Option<PathBuf>,
    threads: Option<usize>,
    max_record_bytes: Option<usize>,
    max_turns: Option<usize>,
    sort_budget: Option<usize>,
}

/// A loaded `callqa.toml` with its paths resolved against the file's folder.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where the settings came from (`None`: no file, all defaults).
    pub path: Option<PathBuf>,
    /// Glob of the day's input files; may hold [`DATE_PLACEHOLDER`].
    pub inputs: Option<String>,
    pub rules: Option<PathBuf>,
    pub out_root: Option<PathBuf>,
    pub threads: Option<usize>,
    pub max_record_bytes: Option<usize>,
    pub max_turns: Option<usize>,
    pub sort_budget: Option<usize>,
}

impl Config {
    /// `explicit` if given (it must exist), else `callqa.toml` in the working directory if there
    /// is one, else an empty config.
    pub fn find(explicit: Option<&Path>) -> Result<Config> {
        match explicit {
            Some(path) => Config::load(path),
            None if Path::new(CONFIG_FILE).is_file() => Config::load(Path::new(CONFIG_FILE)),
            None => Ok(Config::default()),
        }
    }

    /// Loads and checks one file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(path, None, format!("cannot read the config: {e}")))?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|span| line_of(&text, span.start));
            Error::config(path, line, e.message().to_string())
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        if let Some(threads) = raw.threads
            && threads > 4096
        {
            return Err(Error::config(
                path,
                key_line(&text, "threads"),
                format!("threads = {threads}: at most 4096 (0 means one per core)"),
            ));
        }
        Ok(Config {
            path: Some(path.to_path_buf()),
            inputs: raw.inputs.map(|glob| {
                if Path::new(&glob).is_absolute() {
                    glob
                } else {
                    base.join(glob).to_string_lossy().into_owned()
                }
            }),
            rules: raw.rules.map(resolve),
            out_root: raw.out_root.map(resolve),
            threads: raw.threads,
            max_record_bytes: raw.max_record_bytes,
            max_turns: raw.max_turns,
            sort_budget: raw.sort_budget,
        })
    }

    /// The input files of `date`: the `inputs` glob with `{date}` replaced, sorted.
    ///
    /// `Ok(None)` when the config has no `inputs`; an error when the glob matches nothing.
    pub fn inputs_for(&self, date: &str) -> Result<Option<Vec<PathBuf>>> {
        let Some(pattern) = &self.inputs else {
            return Ok(None);
        };
        let pattern = pattern.replace(DATE_PLACEHOLDER, date);
        let config = self.path.clone().unwrap_or_else(|| CONFIG_FILE.into());
        let paths = glob::glob(&pattern)
            .map_err(|e| Error::config(&config, None, format!("inputs = \"{pattern}\": {e}")))?;
        let mut files: Vec<PathBuf> = paths
            .filter_map(|p| p.ok())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::input(
                Path::new(&pattern),
                "find input files matching",
                std::io::Error::other(format!("no file matches (inputs in {})", config.display())),
            ));
        }
        Ok(Some(files))
    }

    /// Whether `inputs` depends on the date.
    pub fn inputs_are_dated(&self) -> bool {
        self.inputs
            .as_deref()
            .is_some_and(|p| p.contains(DATE_PLACEHOLDER))
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line where `key = …` is set, for errors found after parsing.
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let err = load("rules = \"rules\"\nout_rot = \"out\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("callqa.toml:2:"), "{text}");
        assert!(text.contains("out_rot"), "{text}");
        assert_eq!(err.class(), crate::ErrorClass::RulePack);
    }

    #[test]
    fn wrong_types_name_the_line() {
        let err = load("\n\nthreads = \"two\"\n").unwrap_err();
        assert!(err.to_string().contains(":3:"), "{err}");
    }

    #[test]
    fn paths_are_relative_to_the_file() {
        let config =
            load("rules = \"pack\"\nout_root = \"/abs/out\"\ninputs = \"in/{date}/*.jsonl\"\n")
                .unwrap();
        let base = config
            .path
            .as_ref()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        assert_eq!(config.rules.unwrap(), base.join("pack"));
        assert_eq!(config.out_root.unwrap(), PathBuf::from("/abs/out"));
        assert!(config.inputs.unwrap().ends_with("in/{date}/*.jsonl"));
    }

    #[test]
    fn too_many_threads_is_an_error_on_its_line() {
        let err = load("rules = \"r\"\nthreads = 100000\n").unwrap_err();
        assert!(err.to_string().contains(":2: threads"), "{err}");
    }
}
