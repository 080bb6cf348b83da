//! `callqa init DIR`: a new team's project in one command — `callqa.toml`, a copy of the
//! bundled rule pack and a sample night of calls.
//!
//! The pack and the sample are compiled into the binary (`include_str!`), so an installed
//! `callqa` needs no source tree; a unit test keeps the list in step with `rules/`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The bundled rule pack, file by file.
pub const RULE_PACK: &[(&str, &str)] = &[
    (
        "banned_wording.toml",
        include_str!("../rules/banned_wording.toml"),
    ),
    ("compliance.toml", include_str!("../rules/compliance.toml")),
    ("empathy.toml", include_str!("../rules/empathy.toml")),
    (
        "over_promising.toml",
        include_str!("../rules/over_promising.toml"),
    ),
    ("responses.toml", include_str!("../rules/responses.toml")),
    ("scorecard.toml", include_str!("../rules/scorecard.toml")),
    ("sequences.toml", include_str!("../rules/sequences.toml")),
    ("timing.toml", include_str!("../rules/timing.toml")),
];

/// The sample night: the hand-written Simplified Chinese fixture calls of 2026-11-21.
const SAMPLE_DATE: &str = "2026-11-21";
const SAMPLE_CALLS: &str = include_str!("../fixtures/calls/zh.jsonl");

const CONFIG: &str = r#"# callqa project settings (see the README, "Nightly operations").
# Paths are relative to this file. Every key may be overridden by the matching flag.

# The day's input files; {date} is replaced by the run's date (YYYY-MM-DD).
inputs = "inputs/{date}/*.jsonl*"

# The rule pack (copied from callqa's bundled pack; edit it, then `callqa rules test rules`).
rules = "rules"

# Date partitions are written to OUT_ROOT/date=YYYY-MM-DD/, with OUT_ROOT/agents_daily.parquet.
out_root = "out"

# Worker threads (0: one per core).
threads = 0

# Limits: the longest record (bytes), the most turns per call, memory for sorting (bytes).
max_record_bytes = 16777216
max_turns = 10000
sort_budget = 33554432
"#;

/// Writes the project into `dir` and returns the files written. Refuses to overwrite an
/// existing `callqa.toml` or rule pack.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>> {
    let config = dir.join(crate::config::CONFIG_FILE);
    let rules = dir.join("rules");
    for existing in [&config, &rules] {
        if existing.exists() {
            return Err(Error::usage(format!(
                "{} already exists; `callqa init` only starts new projects",
                existing.display()
            )));
        }
    }
    let sample = dir.join("inputs").join(SAMPLE_DATE).join("sample.jsonl");
    let mut files: Vec<(PathBuf, &str)> = vec![(config, CONFIG)];
    files.extend(
        RULE_PACK
            .iter()
            .map(|(name, text)| (rules.join(name), *text)),
    );
    files.push((sample, SAMPLE_CALLS));
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, "create", e))?;
        }
        std::fs::write(path, text).map_err(|e| Error::output(path, "write", e))?;
    }
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_pack_is_the_bundled_pack() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut names: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        names.sort();
        let embedded: Vec<&str> = RULE_PACK.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, embedded, "add the new rule file to init::RULE_PACK");
        for (name, text) in RULE_PACK {
            assert_eq!(std::fs::read_to_string(root.join(name)).unwrap(), *text);
        }
    }

    #[test]
    fn init_refuses_an_existing_project() {
        let dir = tempfile::tempdir().unwrap();
        let files = init(dir.path()).unwrap();
        assert_eq!(files.len(), RULE_PACK.len() + 2);
        let err = init(dir.path()).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }

    #[test]
    fn the_scaffolded_config_loads() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path()).unwrap();
        let config = crate::config::Config::load(&dir.path().join("callqa.toml")).unwrap();
        let inputs = config.inputs_for(SAMPLE_DATE).unwrap().unwrap();
        assert_eq!(inputs.len(), 1);
    }
}
