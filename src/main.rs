//! The `callqa` command: parses arguments, calls the library, prints, maps errors to exit codes.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use callqa::config::Config;
use callqa::engine::Engine;
use callqa::nightly::rescore::{DayChange, Snapshot};
use callqa::nightly::{self, Day};
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
    /// A partitioned run (`--out-root`) or re-score succeeded but rejected some records.
    pub const SUCCESS_WITH_REJECTS: u8 = 10;
    /// Another run of the same date holds its lock.
    pub const LOCKED: u8 = 11;
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
    /// How messages go to standard error: text, or json (one object per line, for log
    /// collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Score call transcripts (JSONL, .jsonl.gz, .jsonl.zst) against a rule pack.
    Run(RunArgs),
    /// Start a project: callqa.toml, a copy of the bundled rule pack and a sample night.
    Init {
        /// The project folder (created if missing).
        dir: PathBuf,
    },
    /// Re-score stored days of an output root with the current rule pack.
    Rescore(RescoreArgs),
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
    /// A finished run measured against human labels: precision, recall, F1, the errors.
    Eval {
        /// Labels, CSV or JSONL (call_id, rule_id or category, verdict, reviewer, note).
        #[arg(long)]
        labels: PathBuf,
        /// The run's output folder; eval.parquet and eval_errors.parquet are written into it.
        #[arg(long)]
        out: PathBuf,
        /// Rule pack to check rule ids and categories against, instead of the run's own.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Exit 1 when a category's precision is below this.
        #[arg(long)]
        min_precision: Option<f64>,
        /// Exit 1 when a category's recall is below this.
        #[arg(long)]
        min_recall: Option<f64>,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Most false positives and negatives printed in the table (all are in the files).
        #[arg(long, default_value_t = 50)]
        max_errors: usize,
    },
    /// What changed between two finished runs: scores, findings per rule, agent ranks.
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
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
        /// List findings instead of calls: by `confidence` when the run had `--model`.
        #[arg(long)]
        findings: bool,
    },
    /// Train a review model on reviewers' verdicts on a run's findings.
    Learn {
        /// verdicts.csv: call_id,rule_id,turn_index,verdict,reviewer.
        #[arg(long)]
        verdicts: PathBuf,
        /// The model file to write (model.json).
        #[arg(long)]
        out: PathBuf,
        /// The finished run whose findings were reviewed.
        #[arg(long, default_value = "out")]
        run: PathBuf,
        /// Cross-validation folds for the reviewer-effort figures (0 = none).
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// The effort figure counts overturned findings in the first K of the queue.
        #[arg(long, default_value_t = 20)]
        top_k: usize,
        /// The call-level figure counts wasted opens in the first K calls of the call queue
        /// (one or more K, comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "10,20")]
        call_top_k: Vec<usize>,
        /// The run's rule pack, for the call-level figure [default: the one its manifest names].
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Draft rules for phrases that recur in confirmed violations, or in complaint calls no rule
    /// matched, but no rule covers (give --verdicts, --complaints or both).
    Suggest {
        /// verdicts.csv: call_id,rule_id,turn_index,verdict,reviewer.
        #[arg(long)]
        verdicts: Option<PathBuf>,
        /// Calls that led to a customer complaint (.csv or .jsonl): call_id, optional note.
        #[arg(long)]
        complaints: Option<PathBuf>,
        /// The file to write the drafts to (suggestions.toml).
        #[arg(long)]
        out: PathBuf,
        /// The finished run whose findings were reviewed.
        #[arg(long, default_value = "out")]
        run: PathBuf,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Least number of calls a phrase must recur in.
        #[arg(long, default_value_t = 3)]
        min_calls: usize,
    },
    /// For each `similar` rule, the threshold with the best F1 on labelled calls.
    Tune {
        /// labels.csv: call_id,rule_id,category,verdict (hit/no_hit),reviewer,note.
        #[arg(long)]
        labels: PathBuf,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// The calls the labels are about (JSONL, gzip or zstd).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Folder of rule files (*.toml) [default: rules, or `rules` in callqa.toml].
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Output folder; a previous run in it is replaced as a whole.
    #[arg(long, conflicts_with = "out_root")]
    out: Option<PathBuf>,
    /// Output root of date partitions: writes OUT_ROOT/date=YYYY-MM-DD/ and rebuilds
    /// OUT_ROOT/agents_daily.parquet [default: `out_root` in callqa.toml].
    #[arg(long)]
    out_root: Option<PathBuf>,
    /// The partition's date, YYYY-MM-DD [default: the calls' started_at, else today (UTC)].
    #[arg(long)]
    date: Option<String>,
    /// Project settings [default: ./callqa.toml if it exists].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Replace --out even if it holds files that are not a callqa run.
    #[arg(long)]
    force: bool,
    /// Worker threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Longest accepted record (one JSONL line) in bytes; longer ones are rejected
    /// [default: 16 MiB].
    #[arg(long)]
    max_record_bytes: Option<usize>,
    /// Most turns in one call; a call with more is rejected [default: 10000].
    #[arg(long)]
    max_turns: Option<usize>,
    /// Memory for scored calls before they are sorted into runs on disk (bytes)
    /// [default: 32 MiB].
    #[arg(long)]
    sort_budget: Option<usize>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Reviewers' overrides (CSV or JSONL: call_id, rule_id, verdict, reviewer, reason).
    #[arg(long)]
    overrides: Option<PathBuf>,
    /// Review model from `callqa learn`: adds `confidence` to each finding.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Score only shard I of N (0-based): the calls whose call_id hashes to I (FNV-1a 64 mod
    /// N), keeping per-line results in results.parquet for `callqa merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<callqa::shard::Shard>,
    /// Input files [default: `inputs` in callqa.toml].
    inputs: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct RescoreArgs {
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Last day, YYYY-MM-DD (included).
    #[arg(long)]
    to: String,
    /// Output root of the partitions [default: `out_root` in callqa.toml].
    #[arg(long)]
    out_root: Option<PathBuf>,
    /// The rule pack to re-score with [default: rules, or `rules` in callqa.toml].
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Project settings [default: ./callqa.toml if it exists].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Worker threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
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
    let log = cli.log_format;
    let result = match cli.command {
        Command::Run(args) => run(args, log),
        Command::Init { dir } => init(&dir),
        Command::Score(args) => score(args),
        Command::Merge(args) => merge(args),
        Command::Rescore(args) => rescore(args, log),
        Command::Queue {
            out,
            top,
            findings: false,
        } => queue(&out, top),
        Command::Queue { out, top, .. } => queue_findings(&out, top),
        Command::Eval {
            labels,
            out,
            rules,
            min_precision,
            min_recall,
            json,
            max_errors,
        } => eval(
            &labels,
            &out,
            rules.as_deref(),
            callqa::eval::Thresholds {
                min_precision,
                min_recall,
            },
            if json { None } else { Some(max_errors) },
        ),
        Command::Diff { old, new, json } => diff(&old, &new, json),
        Command::Learn {
            verdicts,
            out,
            run,
            folds,
            top_k,
            call_top_k,
            rules,
        } => learn(
            &verdicts,
            &out,
            &run,
            Effort {
                folds,
                k: top_k,
                call_ks: call_top_k,
                rules,
            },
        ),
        Command::Suggest {
            verdicts,
            complaints,
            out,
            run,
            rules,
            min_calls,
        } => suggest(
            verdicts.as_deref(),
            complaints.as_deref(),
            &out,
            &run,
            &rules,
            min_calls,
        ),
        Command::Tune {
            labels,
            rules,
            inputs,
        } => tune(&labels, &rules, &inputs),
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
            let code = match err.class() {
                ErrorClass::Usage => exit::USAGE,
                ErrorClass::RulePack => exit::RULE_PACK,
                ErrorClass::Input => exit::INPUT,
                ErrorClass::Output => exit::OUTPUT,
                ErrorClass::Incomplete => exit::INCOMPLETE,
                ErrorClass::Locked => exit::LOCKED,
            };
            if log == LogFormat::Json {
                log_json(
                    "error",
                    "failed",
                    &err.to_string(),
                    serde_json::json!({"exit_code": code}),
                );
            } else {
                eprintln!("callqa: error: {err}");
            }
            ExitCode::from(code)
        }
    }
}

fn load_engine(dir: &Path) -> Result<Engine, Error> {
    Engine::new(RulePack::load(dir)?)
}

fn run(args: RunArgs, log: LogFormat) -> Result<u8, Error> {
    let config = Config::find(args.config.as_deref())?;
    let rules = args
        .rules
        .clone()
        .or_else(|| config.rules.clone())
        .unwrap_or_else(|| "rules".into());
    let mut engine = load_engine(&rules)?;
    if let Some(model) = &args.model {
        engine.set_review_model(callqa::review::Model::load(model)?);
    }
    let date = args.date.as_deref().map(Day::parse).transpose()?;
    // A flag beats the config: `--out DIR` is a plain run even when the config has out_root.
    let out_root = match &args.out {
        Some(_) => None,
        None => args.out_root.clone().or_else(|| config.out_root.clone()),
    };
    if date.is_some() && out_root.is_none() {
        return Err(Error::usage_message(
            "--date needs --out-root ROOT (or out_root in callqa.toml)",
        ));
    }
    let from_config = args.inputs.is_empty();
    let glob_date = date.unwrap_or_else(Day::today);
    let inputs = if from_config {
        config.inputs_for(&glob_date.to_string())?.ok_or_else(|| {
            Error::usage_message(
                "no input files: give INPUT… or `inputs` in callqa.toml (see `callqa init`)",
            )
        })?
    } else {
        args.inputs.clone()
    };
    let max_record_bytes = args
        .max_record_bytes
        .or(config.max_record_bytes)
        .unwrap_or(pipeline::DEFAULT_MAX_RECORD_BYTES);
    let options = RunOptions {
        inputs,
        out_dir: args.out.clone().unwrap_or_default(),
        threads: args.threads.or(config.threads).unwrap_or(0),
        max_record_bytes,
        max_turns: args
            .max_turns
            .or(config.max_turns)
            .unwrap_or(pipeline::DEFAULT_MAX_TURNS),
        sort_budget: args
            .sort_budget
            .or(config.sort_budget)
            .unwrap_or(callqa::output::DEFAULT_SORT_BUDGET),
        force: args.force,
        overrides: match &args.overrides {
            Some(path) => Some(std::sync::Arc::new(callqa::overrides::Overrides::load(
                path,
                engine.pack(),
            )?)),
            None => None,
        },
        shard: args.shard,
    };
    let unmergeable = options.overrides.is_some() || args.model.is_some() || out_root.is_some();
    if options.shard.is_some() && unmergeable {
        return Err(Error::usage_message(
            "--shard writes a partial run for `callqa merge`: give it --out, without --overrides, --model or --out-root",
        ));
    }
    let progress =
        Bar::new(!args.quiet && log == LogFormat::Text && std::io::stderr().is_terminal());
    let Some(root) = out_root else {
        if args.out.is_none() {
            return Err(Error::usage_message(
                "give --out DIR, or --out-root ROOT (or out_root in callqa.toml) for date partitions",
            ));
        }
        let summary = pipeline::run(&engine, &options, &progress)?;
        report_run(&summary, None, args.quiet, log);
        return Ok(exit::OK);
    };
    // The date picks the inputs when they come from a dated glob; otherwise the calls say it.
    let date = match date {
        Some(date) => date,
        None if from_config && config.inputs_are_dated() => glob_date,
        None => {
            nightly::date_of_calls(&options.inputs, max_record_bytes)?.unwrap_or_else(Day::today)
        }
    };
    let summary = nightly::run_partition(&engine, &root, date, options, &progress)?;
    report_run(&summary.run, Some(&summary), args.quiet, log);
    Ok(if summary.run.manifest.counts.rejected > 0 {
        exit::SUCCESS_WITH_REJECTS
    } else {
        exit::OK
    })
}

/// The closing summary of a run, as text (unless `quiet`) or one JSON event.
fn report_run(
    summary: &pipeline::RunSummary,
    partition: Option<&nightly::PartitionSummary>,
    quiet: bool,
    log: LogFormat,
) {
    let c = summary.manifest.counts;
    let text = format!(
        "scored {} calls of {} agents ({} findings); rejected {} records ({} duplicates) → {}",
        c.scored,
        c.agents,
        c.findings,
        c.rejected,
        c.duplicates,
        summary.out_dir.display()
    );
    if log == LogFormat::Json {
        let mut fields = serde_json::json!({
            "out": summary.out_dir.display().to_string(),
            "counts": c,
            "status": summary.manifest.status,
        });
        if let Some(o) = &summary.manifest.overrides {
            fields["overrides"] = serde_json::to_value(o).unwrap_or_default();
        }
        if let Some(p) = partition {
            fields["date"] = p.date.to_string().into();
            fields["agents_daily"] = p.agents_daily.display().to_string().into();
            fields["agents_daily_rows"] = p.daily_rows.into();
        }
        log_json("info", "run_finished", &text, fields);
        return;
    }
    if let Some(o) = &summary.manifest.overrides {
        print_overrides(o, quiet);
    }
    if quiet {
        return;
    }
    eprintln!("callqa: {text}");
    if let Some(p) = partition {
        eprintln!(
            "callqa: partition date={}; {} rebuilt ({} agent-days)",
            p.date,
            p.agents_daily.display(),
            p.daily_rows
        );
    }
    if c.rejected > 0 {
        eprintln!(
            "callqa: see {} for the rejected records and why",
            summary.out_dir.join("rejects.jsonl").display()
        );
    }
}

/// One log line for collectors: `{"ts", "level", "event", "message", …fields}`.
fn log_json(level: &str, event: &str, message: &str, fields: serde_json::Value) {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let ts = chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    let mut line =
        serde_json::json!({"ts": ts, "level": level, "event": event, "message": message});
    if let (Some(line), serde_json::Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    eprintln!("{line}");
}

fn init(dir: &Path) -> Result<u8, Error> {
    let files = callqa::init::init(dir)?;
    let mut out = String::new();
    for file in &files {
        let _ = writeln!(out, "created {}", file.display());
    }
    let _ = writeln!(
        out,
        "\nnext:\n  cd {}\n  callqa rules test rules\n  callqa run --date 2026-11-21      # the sample night → out/date=2026-11-21/",
        dir.display()
    );
    print_stdout(&out);
    Ok(exit::OK)
}

fn rescore(args: RescoreArgs, log: LogFormat) -> Result<u8, Error> {
    let (from, to) = (Day::parse(&args.from)?, Day::parse(&args.to)?);
    if to < from {
        return Err(Error::usage_message(format!(
            "--to {to} is before --from {from}"
        )));
    }
    let config = Config::find(args.config.as_deref())?;
    let root = args
        .out_root
        .clone()
        .or_else(|| config.out_root.clone())
        .ok_or_else(|| Error::usage_message("give --out-root ROOT (or out_root in callqa.toml)"))?;
    let rules = args
        .rules
        .clone()
        .or_else(|| config.rules.clone())
        .unwrap_or_else(|| "rules".into());
    let engine = load_engine(&rules)?;
    let mut days = vec![from];
    while let Some(&last) = days.last()
        && last < to
    {
        days.push(last.next());
    }
    let bar = DayBar::new(
        days.len() as u64,
        !args.quiet && log == LogFormat::Text && std::io::stderr().is_terminal(),
    );
    let mut changes: Vec<(Day, Option<DayChange>)> = Vec::new();
    let mut rejected = 0;
    for day in days {
        bar.day(day);
        let Some(inputs) = nightly::stored_inputs(&root, day, &config)? else {
            changes.push((day, None));
            bar.done();
            continue;
        };
        let partition = nightly::partition_dir(&root, day);
        let before = Snapshot::read(&partition)?;
        let options = RunOptions {
            inputs,
            out_dir: partition.clone(),
            threads: args.threads.or(config.threads).unwrap_or(0),
            max_record_bytes: config
                .max_record_bytes
                .unwrap_or(pipeline::DEFAULT_MAX_RECORD_BYTES),
            max_turns: config.max_turns.unwrap_or(pipeline::DEFAULT_MAX_TURNS),
            sort_budget: config
                .sort_budget
                .unwrap_or(callqa::output::DEFAULT_SORT_BUDGET),
            force: false,
            overrides: None,
            shard: None,
        };
        let summary = nightly::run_partition(&engine, &root, day, options, &pipeline::NoProgress)?;
        rejected += summary.run.manifest.counts.rejected;
        let change = nightly::rescore::compare(day, &before, &Snapshot::read(&partition)?);
        if log == LogFormat::Json {
            log_json(
                "info",
                "rescored_day",
                &format!("re-scored {day}"),
                day_change_json(&change),
            );
        }
        changes.push((day, Some(change)));
        bar.done();
    }
    bar.finish();
    print_stdout(&rescore_summary(&rules, &changes));
    Ok(if rejected > 0 {
        exit::SUCCESS_WITH_REJECTS
    } else {
        exit::OK
    })
}

fn day_change_json(change: &DayChange) -> serde_json::Value {
    serde_json::json!({
        "date": change.date.to_string(),
        "calls": change.calls,
        "score_changed": change.score_changed,
        "calls_added": change.calls_added,
        "calls_removed": change.calls_removed,
        "mean_before": change.mean_before,
        "mean_after": change.mean_after,
        "rules": change.rules.iter().map(|(rule, c)| (rule.clone(), serde_json::json!({"added": c.added, "removed": c.removed}))).collect::<serde_json::Map<_, _>>(),
    })
}

/// Rules listed per day in the re-score summary (the JSON log has them all).
const RESCORE_RULES_SHOWN: usize = 10;

/// The table printed after a re-score: one line per day, then the rules whose findings moved.
fn rescore_summary(rules: &Path, days: &[(Day, Option<DayChange>)]) -> String {
    let mut out = format!(
        "re-scored {} of {} days with {}\n{:<10}  {:>5}  {:>13}  {:>11}  {:>13}  {:>15}\n",
        days.iter().filter(|(_, c)| c.is_some()).count(),
        days.len(),
        rules.display(),
        "date",
        "calls",
        "score changed",
        "calls +/−",
        "findings +/−",
        "mean score"
    );
    let mut moved = String::new();
    for (day, change) in days {
        let Some(c) = change else {
            let _ = writeln!(
                out,
                "{:<10}  skipped: no stored inputs for this day",
                day.to_string()
            );
            continue;
        };
        let added: u64 = c.rules.values().map(|r| r.added).sum();
        let removed: u64 = c.rules.values().map(|r| r.removed).sum();
        let _ = writeln!(
            out,
            "{:<10}  {:>5}  {:>13}  {:>11}  {:>13}  {:>15}",
            day.to_string(),
            c.calls,
            c.score_changed,
            format!("+{} −{}", c.calls_added, c.calls_removed),
            format!("+{added} −{removed}"),
            format!("{:.1} → {:.1}", c.mean_before, c.mean_after)
        );
        let mut by_size: Vec<_> = c.rules.iter().collect();
        by_size.sort_by_key(|(rule, r)| (std::cmp::Reverse(r.added + r.removed), *rule));
        for (rule, r) in by_size.iter().take(RESCORE_RULES_SHOWN) {
            let _ = writeln!(moved, "  {day}  {rule:<14} +{} −{}", r.added, r.removed);
        }
        if by_size.len() > RESCORE_RULES_SHOWN {
            let _ = writeln!(
                moved,
                "  {day}  … and {} more rules",
                by_size.len() - RESCORE_RULES_SHOWN
            );
        }
    }
    if moved.is_empty() {
        out.push_str("no findings changed\n");
    } else {
        out.push_str("findings changed per rule (most changed first):\n");
        out.push_str(&moved);
    }
    out
}

/// What `--overrides` did; overrides for calls not in the run are always shown.
fn print_overrides(o: &callqa::overrides::OverridesSummary, quiet: bool) {
    if !quiet {
        eprintln!(
            "callqa: {} overrides from {}: {} for calls of this run ({} findings overturned, {} added)",
            o.overrides, o.file, o.matched, o.overturned_findings, o.added_findings
        );
    }
    for u in &o.unmatched {
        eprintln!(
            "callqa: warning: {}:{}: call {} is not in this run; override of {} ({}) not applied (listed in manifest.json)",
            o.file, u.line, u.call_id, u.rule_id, u.verdict
        );
    }
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

fn show(
    call_id: &str,
    out: &Path,
    inputs: Vec<PathBuf>,
    rules: Option<PathBuf>,
) -> Result<u8, Error> {
    let (run_inputs, run_rules) = callqa::output::read::run_sources(out)?;
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
    let (inputs, rules) = callqa::output::read::run_sources(out)?;
    let engine = load_engine(&rules)?;
    let reward = engine
        .pack()
        .rule(rule)
        .ok_or_else(|| Error::usage_message(format!("no rule `{rule}` in {}", rules.display())))?
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

fn eval(
    labels: &Path,
    out: &Path,
    rules: Option<&Path>,
    thresholds: callqa::eval::Thresholds,
    table_errors: Option<usize>,
) -> Result<u8, Error> {
    let report = callqa::eval::evaluate(out, labels, rules, thresholds)?;
    callqa::eval::write(out, &report)?;
    for warning in &report.warnings {
        eprintln!("callqa: warning: {warning}");
    }
    match table_errors {
        Some(max_errors) => print_stdout(&callqa::eval::render(&report, max_errors)),
        None => print_stdout(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")),
    }
    Ok(if report.below_threshold.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    })
}

fn diff(old: &Path, new: &Path, json: bool) -> Result<u8, Error> {
    let d = callqa::diff::diff(old, new)?;
    if json {
        print_stdout(&(serde_json::to_string_pretty(&d).unwrap_or_default() + "\n"));
    } else {
        print_stdout(&callqa::diff::render(&d));
    }
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

fn queue_findings(out: &Path, top: usize) -> Result<u8, Error> {
    let rows = callqa::queue::read_finding_queue(out, top)?;
    let mut text = format!(
        "{:>4}  {:<14} {:<12} {:>4} {:>10}  why\n",
        "#", "call", "rule", "turn", "confidence"
    );
    for (i, r) in rows.iter().enumerate() {
        let turn = r.turn_index.map_or("-".to_string(), |t| t.to_string());
        let confidence = r.confidence.map_or("-".to_string(), |c| format!("{c:.2}"));
        let _ = writeln!(
            text,
            "{:>4}  {:<14} {:<12} {:>4} {:>10}  {}",
            i + 1,
            r.call_id,
            r.rule_id,
            turn,
            confidence,
            r.why
        );
    }
    print_stdout(&text);
    Ok(exit::OK)
}

/// What `learn` measures by cross-validation.
struct Effort {
    folds: usize,
    k: usize,
    call_ks: Vec<usize>,
    /// The run's rule pack (default: from its manifest).
    rules: Option<PathBuf>,
}

fn learn(verdicts: &Path, out: &Path, run: &Path, effort: Effort) -> Result<u8, Error> {
    use callqa::review;
    let findings = review::read_run_findings(run)?;
    let examples = review::join(&review::read_verdicts(verdicts)?, &findings, verdicts)?;
    let model = review::train(&examples)?;
    model.save(out)?;
    let mut text = format!(
        "{}: trained on {} verdicts ({} confirmed, {} overturned), {} features\n",
        out.display(),
        examples.len(),
        model.trained_on.0,
        model.trained_on.1,
        model.weights.len()
    );
    if effort.folds >= 2 {
        let rules = match effort.rules {
            Some(rules) => rules,
            None => callqa::output::read::run_sources(run)?.1,
        };
        let calls = review::read_run_calls(run, &RulePack::load(&rules)?)?;
        let efforts =
            review::cross_validate(&examples, &calls, effort.folds, effort.k, &effort.call_ks)?;
        text += &finding_effort(&efforts, effort.folds, effort.k);
        text += &call_effort(&efforts, &effort.call_ks);
    }
    print_stdout(&text);
    Ok(exit::OK)
}

/// The findings-level figures of `learn`: overturned findings in the first K of the queue.
fn finding_effort(efforts: &[callqa::review::FoldEffort], folds: usize, k: usize) -> String {
    let mut text = format!(
        "cross-validation, {folds} folds by call: overturned findings in the first {k} of each held-out fold's queue\n{:>4} {:>8} {:>10} {:>15} {:>12}\n",
        "fold", "findings", "overturned", "without model", "with model"
    );
    let (mut without, mut with) = (0, 0);
    for e in efforts {
        without += e.top_k_without;
        with += e.top_k_with;
        let _ = writeln!(
            text,
            "{:>4} {:>8} {:>10} {:>15} {:>12}",
            e.fold, e.findings, e.overturned, e.top_k_without, e.top_k_with
        );
    }
    let _ = writeln!(
        text,
        "total: {without} overturned findings reviewed in the top {k} without the model, {with} with it"
    );
    text
}

/// The call-level figures of `learn`: wasted opens (reviewed calls whose every verdict was
/// overturned) in the first K calls of each held-out fold's call queue.
fn call_effort(efforts: &[callqa::review::FoldEffort], ks: &[usize]) -> String {
    let mut text = String::from(
        "call queue, same folds: wasted opens (reviewed calls whose every verdict was overturned) in the first K calls\nfold    calls   wasted",
    );
    for k in ks {
        let _ = write!(text, " {:>14} {:>11}", format!("K={k} without"), "with");
    }
    text.push('\n');
    let mut totals = vec![(0, 0); ks.len()];
    for e in efforts {
        let _ = write!(text, "{:>4} {:>8} {:>8}", e.fold, e.calls, e.wasted);
        for (total, c) in totals.iter_mut().zip(&e.wasted_in_top) {
            let _ = write!(text, " {:>14} {:>11}", c.without, c.with);
            *total = (total.0 + c.without, total.1 + c.with);
        }
        text.push('\n');
    }
    for (k, (without, with)) in ks.iter().zip(totals) {
        let _ = writeln!(
            text,
            "calls total: {without} wasted opens in the first {k} calls without the model, {with} with it"
        );
    }
    text
}

fn suggest(
    verdicts: Option<&Path>,
    complaints: Option<&Path>,
    out: &Path,
    run: &Path,
    rules: &Path,
    min_calls: usize,
) -> Result<u8, Error> {
    use callqa::{review, suggest};
    if verdicts.is_none() && complaints.is_none() {
        return Err(Error::usage_message(
            "suggest needs --verdicts (confirmed violations), --complaints (calls that led to a complaint), or both",
        ));
    }
    let pack = RulePack::load(rules)?;
    let mut suggestions = Vec::new();
    if let Some(verdicts) = verdicts {
        let findings = review::read_run_findings(run)?;
        let reviewed = review::join(&review::read_verdicts(verdicts)?, &findings, verdicts)?;
        suggestions = suggest::suggest(&reviewed, &pack, min_calls);
    }
    let mut mined = None;
    if let Some(path) = complaints {
        let (inputs, _) = callqa::output::read::run_sources(run)?;
        let found = suggest::from_complaints(
            &suggest::read_complaints(path)?,
            path,
            &suggest::read_penalized(run)?,
            &inputs,
            &pack,
            min_calls,
        )?;
        // A phrase both sources give is drafted once, from the confirmed violations.
        let drafted: Vec<String> = suggestions.iter().map(|s| s.phrase.clone()).collect();
        suggestions.extend(
            found
                .suggestions
                .iter()
                .filter(|s| !drafted.contains(&s.phrase))
                .cloned(),
        );
        mined = Some(found);
    }
    suggest::write(out, &suggest::to_toml(&suggestions, &pack))?;
    let mut text = format!(
        "{}: {} draft rules (commented out; nothing is enabled)\n",
        out.display(),
        suggestions.len()
    );
    if let Some(m) = &mined {
        let _ = writeln!(
            text,
            "complaints: {} calls in the run, {} of them with no penalty (mined) against {} calls without a complaint",
            m.complaint_calls, m.uncovered, m.others
        );
    }
    for s in &suggestions {
        let from = match s.origin {
            suggest::Origin::Confirmed { .. } => "confirmed violations",
            suggest::Origin::Complaints { .. } => "complaints no rule matched",
        };
        let _ = writeln!(text, "  {:?} in {} calls ({from})", s.phrase, s.calls.len());
    }
    print_stdout(&text);
    Ok(exit::OK)
}

fn tune(labels: &Path, rules: &Path, inputs: &[PathBuf]) -> Result<u8, Error> {
    let engine = load_engine(rules)?;
    let tunings = callqa::tune::tune(&engine, labels, inputs)?;
    let mut text = String::new();
    if tunings.is_empty() {
        text += "no `similar` rule has labels\n";
    }
    for t in &tunings {
        let _ = writeln!(
            text,
            "{} ({} labelled calls), threshold now {}\n{:>9} {:>9} {:>6} {:>5}",
            t.rule_id, t.labelled, t.current, "threshold", "precision", "recall", "F1"
        );
        for p in &t.curve {
            let _ = writeln!(
                text,
                "{:>9.2} {:>9.2} {:>6.2} {:>5.2}",
                p.threshold, p.precision, p.recall, p.f1
            );
        }
        match &t.best {
            Some(best) if (best.threshold - t.current).abs() > 1e-9 => {
                let _ = writeln!(
                    text,
                    "suggested edit: {}:{}: rule {}: threshold = {:.2}   # F1 {:.2} (precision {:.2}, recall {:.2})\n",
                    t.file.display(),
                    t.line,
                    t.rule_id,
                    best.threshold,
                    best.f1,
                    best.precision,
                    best.recall
                );
            }
            Some(_) => text += "the threshold is already the best\n\n",
            None => text += "no labelled call scores above 0: add `like` sentences\n\n",
        }
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

/// Progress bar over the days of a re-score, drawn only on a terminal.
struct DayBar(Option<indicatif::ProgressBar>);

impl DayBar {
    fn new(days: u64, visible: bool) -> DayBar {
        DayBar(visible.then(|| {
            let bar = indicatif::ProgressBar::new(days);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} days ({msg}, {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        }))
    }

    fn day(&self, day: Day) {
        if let Some(bar) = &self.0 {
            bar.set_message(day.to_string());
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
