//! The `callqa` command: parses arguments, calls the library, prints, maps errors to exit codes.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use callqa::engine::Engine;
use callqa::pipeline::{self, Progress, RunOptions};
use callqa::rules::{Kind, RulePack};
use callqa::{Error, ErrorClass};

/// Exit codes, documented in the README.
mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const RULE_PACK: u8 = 3;
    pub const INPUT: u8 = 4;
    pub const OUTPUT: u8 = 5;
    pub const INCOMPLETE: u8 = 6;
}

#[derive(Parser)]
#[command(
    name = "callqa",
    version,
    about = "Quality inspection of contact-center call transcripts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score call transcripts (JSONL, .jsonl.gz, .jsonl.zst) against a rule pack.
    Run(RunArgs),
    /// Check or test a rule pack.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// One call as a transcript with its findings, from a run's inputs.
    Show {
        /// The call id.
        call_id: String,
        /// The run's output folder (its manifest names the inputs and the rule pack).
        #[arg(long)]
        out: PathBuf,
        /// Inputs to look in instead of the run's own.
        #[arg(long = "input")]
        inputs: Vec<PathBuf>,
        /// Rule pack instead of the run's own.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Coaching examples of one rule from a finished run, masked.
    Coach {
        #[arg(long)]
        out: PathBuf,
        /// The rule id.
        #[arg(long)]
        rule: String,
        /// Good examples (the rule's rewards) instead of bad ones (its violations).
        #[arg(long, conflicts_with = "bad")]
        good: bool,
        /// Bad examples (the default).
        #[arg(long)]
        bad: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// jsonl or md.
        #[arg(long, default_value = "md")]
        format: String,
    },
    /// Score JSONL calls from standard input: one JSON result line per input line, in order
    /// (what Spark's RDD.pipe runs on each partition).
    Score(ScoreArgs),
    /// Build the final tables from shard folders (`run --shard`) or Spark part files.
    Merge(MergeArgs),
    /// The calls of a finished run to review first, with the reasons.
    Queue {
        /// The run's output folder.
        #[arg(long)]
        out: PathBuf,
        /// How many calls.
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Folder of rule files (*.toml).
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Output folder; a previous run in it is replaced as a whole.
    #[arg(long)]
    out: PathBuf,
    /// Replace --out even if it holds files that are not a callqa run.
    #[arg(long)]
    force: bool,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Longest accepted record (one JSONL line) in bytes; longer ones are rejected.
    #[arg(long, default_value_t = pipeline::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: usize,
    /// Most turns in one call; a call with more is rejected.
    #[arg(long, default_value_t = pipeline::DEFAULT_MAX_TURNS)]
    max_turns: usize,
    /// Memory for scored calls before they are sorted into runs on disk (bytes).
    #[arg(long, default_value_t = callqa::output::DEFAULT_SORT_BUDGET)]
    sort_budget: usize,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Score only shard I of N (0-based): the calls whose call_id hashes to I (FNV-1a 64 mod
    /// N), keeping per-line results in results.parquet for `callqa merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<callqa::shard::Shard>,
    /// Input files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ScoreArgs {
    /// Folder of rule files (*.toml).
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Read the calls from standard input (the only source `score` reads).
    #[arg(long, required = true)]
    stdin: bool,
    /// Each line is INPUT<TAB>LINE<TAB>RECORD (the Spark job's form), so results carry it.
    #[arg(long)]
    tagged: bool,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Longest accepted record in bytes; longer ones are rejected.
    #[arg(long, default_value_t = pipeline::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: usize,
    /// Most turns in one call; a call with more is rejected.
    #[arg(long, default_value_t = pipeline::DEFAULT_MAX_TURNS)]
    max_turns: usize,
    /// No summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The rule pack the parts were scored with (the report and agents table need it).
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Output folder, written like a run's.
    #[arg(long)]
    out: PathBuf,
    /// Replace --out even if it holds files that are not a callqa run.
    #[arg(long)]
    force: bool,
    /// Memory for scored calls before they are sorted into runs on disk (bytes).
    #[arg(long, default_value_t = callqa::output::DEFAULT_SORT_BUDGET)]
    sort_budget: usize,
    /// No summary.
    #[arg(long, short)]
    quiet: bool,
    /// Shard folders, Spark output folders (with _callqa_inputs.json), or part files.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load the pack and report every problem with file and line.
    Check {
        #[arg(default_value = "rules")]
        dir: PathBuf,
    },
    /// Run every rule's `examples.match` / `examples.no_match`.
    Test {
        #[arg(default_value = "rules")]
        dir: PathBuf,
    },
    /// A table of the rules.
    List {
        #[arg(default_value = "rules")]
        dir: PathBuf,
    },
    /// One rule in plain words, with its examples.
    Explain {
        /// The rule id.
        id: String,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Score(args) => score(args),
        Command::Merge(args) => merge(args),
        Command::Queue { out, top } => queue(&out, top),
        Command::Show {
            call_id,
            out,
            inputs,
            rules,
        } => show(&call_id, &out, inputs, rules),
        Command::Coach {
            out,
            rule,
            good,
            limit,
            format,
            ..
        } => coach(&out, &rule, good, limit, &format),
        Command::Rules(RulesCommand::Check { dir }) => rules_check(dir),
        Command::Rules(RulesCommand::Test { dir }) => rules_test(dir),
        Command::Rules(RulesCommand::List { dir }) => rules_list(dir),
        Command::Rules(RulesCommand::Explain { id, rules }) => rules_explain(rules, &id),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("callqa: error: {err}");
            ExitCode::from(match err.class() {
                ErrorClass::Usage => exit::USAGE,
                ErrorClass::RulePack => exit::RULE_PACK,
                ErrorClass::Input => exit::INPUT,
                ErrorClass::Output => exit::OUTPUT,
                ErrorClass::Incomplete => exit::INCOMPLETE,
            })
        }
    }
}

fn load_engine(dir: &Path) -> Result<Engine, Error> {
    Engine::new(RulePack::load(dir)?)
}

fn run(args: RunArgs) -> Result<u8, Error> {
    let engine = load_engine(&args.rules)?;
    let options = RunOptions {
        inputs: args.inputs,
        out_dir: args.out,
        threads: args.threads,
        max_record_bytes: args.max_record_bytes,
        max_turns: args.max_turns,
        sort_budget: args.sort_budget,
        force: args.force,
        shard: args.shard,
    };
    let progress = Bar::new(!args.quiet && std::io::stderr().is_terminal());
    let summary = pipeline::run(&engine, &options, &progress)?;
    if !args.quiet {
        let c = summary.manifest.counts;
        eprintln!(
            "callqa: scored {} calls of {} agents ({} findings); rejected {} records ({} duplicates) → {}",
            c.scored,
            c.agents,
            c.findings,
            c.rejected,
            c.duplicates,
            summary.out_dir.display()
        );
        if c.rejected > 0 {
            eprintln!(
                "callqa: see {} for the rejected records and why",
                summary.out_dir.join("rejects.jsonl").display()
            );
        }
    }
    Ok(exit::OK)
}

fn score(args: ScoreArgs) -> Result<u8, Error> {
    let engine = load_engine(&args.rules)?;
    let options = callqa::stream::StreamOptions {
        max_record_bytes: args.max_record_bytes,
        max_turns: args.max_turns,
        threads: args.threads,
        tagged: args.tagged,
    };
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let summary =
        callqa::stream::score_stream(&engine, &options, Box::new(std::io::stdin()), &mut stdout)?;
    if !args.quiet {
        eprintln!(
            "callqa: scored {} calls, rejected {} lines, {} blank lines",
            summary.scored, summary.rejected, summary.blank
        );
    }
    Ok(exit::OK)
}

fn merge(args: MergeArgs) -> Result<u8, Error> {
    let engine = load_engine(&args.rules)?;
    let options = callqa::merge::MergeOptions {
        parts: args.parts,
        out_dir: args.out,
        sort_budget: args.sort_budget,
        force: args.force,
    };
    let summary = callqa::merge::merge(&engine, &options)?;
    if !args.quiet {
        let c = summary.manifest.counts;
        eprintln!(
            "callqa: merged {} calls of {} agents ({} findings) and {} rejected records → {}",
            c.scored,
            c.agents,
            c.findings,
            c.rejected,
            summary.out_dir.display()
        );
    }
    Ok(exit::OK)
}

fn rules_check(dir: PathBuf) -> Result<u8, Error> {
    let mut out = String::new();
    let engine = load_engine(&dir)?;
    let pack = engine.pack();
    for warning in pack.warnings() {
        let _ = writeln!(out, "warning: {warning}");
    }
    let kinds: Vec<String> = Kind::ALL
        .iter()
        .map(|k| (k, pack.rules().iter().filter(|r| r.kind == *k).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "{}: {} rules in {} files ({}); categories: {}; 0 errors, {} warnings",
        dir.display(),
        pack.rules().len(),
        pack.files().len(),
        kinds.join(", "),
        pack.categories().join(", "),
        pack.warnings().len()
    );
    print_stdout(&out);
    Ok(exit::OK)
}

fn rules_list(dir: PathBuf) -> Result<u8, Error> {
    let mut out = String::new();
    let pack = RulePack::load(&dir)?;
    let _ = writeln!(
        out,
        "{:<12} {:<9} {:<15} {:<8} {:<4} {:>4}  what it checks",
        "id", "kind", "category", "severity", "lang", "pts"
    );
    for rule in pack.rules() {
        let mut summary = callqa::rules::explain::summary(rule);
        if summary.chars().count() > 90 {
            summary = summary.chars().take(89).collect::<String>() + "…";
        }
        let _ = writeln!(
            out,
            "{:<12} {:<9} {:<15} {:<8} {:<4} {:>4}  {summary}",
            rule.id,
            rule.kind.as_str(),
            rule.category,
            rule.severity.as_str(),
            rule.lang.as_str(),
            rule.points,
        );
    }
    print_stdout(&out);
    Ok(exit::OK)
}

fn rules_explain(dir: PathBuf, id: &str) -> Result<u8, Error> {
    let pack = RulePack::load(&dir)?;
    match pack.rule(id) {
        Some(rule) => {
            print_stdout(&callqa::rules::explain::explain(rule));
            Ok(exit::OK)
        }
        None => Err(Error::usage_message(format!(
            "no rule `{id}` in {} (see `callqa rules list`)",
            dir.display()
        ))),
    }
}

fn rules_test(dir: PathBuf) -> Result<u8, Error> {
    let mut out = String::new();
    let engine = load_engine(&dir)?;
    let (failures, run) = engine.test_examples();
    for f in &failures {
        let (list, want, got) = if f.should_match {
            ("examples.match", "detected", "not detected")
        } else {
            ("examples.no_match", "not detected", "detected")
        };
        let _ = writeln!(
            out,
            "FAIL {}:{}: rule {}: {list} {}\n  - expected: {want}\n  + got:      {got}",
            f.file.display(),
            f.line,
            f.rule_id,
            f.example
        );
    }
    let _ = writeln!(
        out,
        "rules test: {} passed, {} failed ({} rules)",
        run - failures.len(),
        failures.len(),
        engine.pack().rules().len()
    );
    print_stdout(&out);
    Ok(if failures.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// The inputs and rule pack a finished run used, from its manifest.
fn run_sources(out: &Path) -> Result<(Vec<PathBuf>, PathBuf), Error> {
    let path = out.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::usage_message(format!(
            "cannot read {}: {e} (is {} a finished callqa run?)",
            path.display(),
            out.display()
        ))
    })?;
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::usage_message(format!("{}: not a callqa manifest: {e}", path.display()))
    })?;
    let inputs = manifest["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["path"].as_str())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    let rules = PathBuf::from(manifest["rule_pack"]["dir"].as_str().unwrap_or("rules"));
    Ok((inputs, rules))
}

fn show(
    call_id: &str,
    out: &Path,
    inputs: Vec<PathBuf>,
    rules: Option<PathBuf>,
) -> Result<u8, Error> {
    let (run_inputs, run_rules) = run_sources(out)?;
    let inputs = if inputs.is_empty() {
        run_inputs
    } else {
        inputs
    };
    let engine = load_engine(&rules.unwrap_or(run_rules))?;
    let call = callqa::input::find_call(&inputs, call_id, pipeline::DEFAULT_MAX_RECORD_BYTES)?
        .ok_or_else(|| {
            Error::usage_message(format!(
                "no call `{call_id}` in {} (give the inputs with --input)",
                inputs
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let evaluation = engine.evaluate(&call, &mut callqa::engine::Scratch::default());
    let color = std::io::stdout().is_terminal();
    print_stdout(&callqa::view::render(&engine, &call, &evaluation, color));
    Ok(exit::OK)
}

fn coach(out: &Path, rule: &str, good: bool, limit: usize, format: &str) -> Result<u8, Error> {
    let (inputs, rules) = run_sources(out)?;
    let engine = load_engine(&rules)?;
    let reward = engine
        .pack()
        .rule(rule)
        .ok_or_else(|| Error::usage_message(format!("no rule `{rule}` in {}", rules.display())))?
        .kind
        .is_reward();
    let examples = if good && !reward {
        callqa::coach::met_examples(&engine, rule, &inputs, limit)?
    } else {
        callqa::coach::examples(out, rule, good, limit)?
    };
    let text = match format {
        "md" => callqa::coach::markdown(&examples),
        "jsonl" => examples
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
            .collect(),
        other => {
            return Err(Error::usage_message(format!(
                "--format {other}: use jsonl or md"
            )));
        }
    };
    if examples.is_empty() {
        eprintln!(
            "callqa: no {} examples of {rule} in {}",
            if good { "good" } else { "bad" },
            out.display()
        );
    }
    print_stdout(&text);
    Ok(exit::OK)
}

fn queue(out: &Path, top: usize) -> Result<u8, Error> {
    let rows = callqa::queue::read_queue(out, top)?;
    let mut text = format!(
        "{:>4}  {:<14} {:<8} {:>5} {:>5}  why\n",
        "rank", "call", "agent", "score", "risk"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:>4}  {:<14} {:<8} {:>5} {:>5}  {}",
            r.rank, r.call_id, r.agent_id, r.score, r.risk, r.reasons
        );
    }
    print_stdout(&text);
    Ok(exit::OK)
}

/// Writes to standard output; a closed pipe (`callqa rules list | head`) is not an error.
fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("callqa: cannot write to standard output: {e}");
    }
}

/// Progress bar over input bytes, drawn only on a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(visible: bool) -> Bar {
        Bar(visible.then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        }))
    }
}

impl Progress for Bar {
    fn start(&self, total_bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total_bytes);
        }
    }

    fn advance(&self, bytes_read: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(bytes_read);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
