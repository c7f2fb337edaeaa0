//! `pkilab scenario …`: check, list and run scenario files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pkilab_scenario::{Format, Invalid, RunOptions, RunReport, Scenario, load_file, render};

/// Scenario files: lessons and tests.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    command: ScenarioCommand,
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
    /// Run files; exit 0 when every expectation holds, 1 when one fails,
    /// 2 when a file is invalid (the others still run).
    Run {
        /// Scenario files, or directories of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// text (a narrated lesson), json (one JSON document for the whole
        /// run), mermaid (a sequence diagram per scenario), junit (one
        /// JUnit XML document for the whole run), or html (a self-contained
        /// page per scenario and an index.html; needs --out).
        #[arg(long, default_value = "text")]
        format: Format,
        /// Overrides each file's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Writes one report per scenario into this directory instead of
        /// printing it (with junit: the XML file to write).
        #[arg(long)]
        out: Option<PathBuf>,
        /// With --format html: each step's outcome stays hidden until the
        /// reader has made a prediction.
        #[arg(long)]
        quiz: bool,
    },
    /// Validate files without running them: everything `run` would refuse
    /// (exit 2 when any file is invalid; every file is checked).
    Check {
        /// Scenario files, or directories of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List each scenario with its one-line summary.
    List {
        /// Directories of scenario files (or files).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

/// Runs a `scenario` subcommand.
pub fn run(args: ScenarioArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ScenarioCommand::Run {
            paths,
            format,
            seed,
            out,
            quiz,
        } => {
            if format == Format::Html && out.is_none() {
                bail!("--format html writes a page per scenario and an index: give --out DIR");
            }
            if quiz && format != Format::Html {
                bail!("--quiz shapes HTML pages: add --format html --out DIR");
            }
            run_all(&paths, format, seed, out.as_deref(), quiz)
        }
        ScenarioCommand::Check { paths } => check(&paths),
        ScenarioCommand::List { dirs } => list(&dirs),
    }
}

/// Every `.yaml`/`.yml` file at `path` (a file, or a directory's files in
/// name order).
pub fn scenario_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !path.is_dir() {
        bail!(
            "{}: no such file or directory: give a scenario file or a directory of them",
            path.display()
        );
    }
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?
    {
        let file = entry
            .with_context(|| format!("cannot list {}", path.display()))?
            .path();
        let yaml = matches!(
            file.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if yaml && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("{}: no .yaml scenario files here", path.display());
    }
    Ok(files)
}

/// Loads every file under `paths`: the valid scenarios, and each invalid
/// file's error (reported on stderr as it is found).
pub fn load_all(paths: &[PathBuf]) -> anyhow::Result<(Vec<Scenario>, Vec<Invalid>)> {
    let mut scenarios = Vec::new();
    let mut invalid = Vec::new();
    for path in paths {
        for file in scenario_files(path)? {
            match load_file(&file) {
                Ok(s) => scenarios.push(s),
                Err(e) => {
                    eprintln!("error: {e}");
                    invalid.push(e);
                }
            }
        }
    }
    Ok((scenarios, invalid))
}

fn run_all(
    paths: &[PathBuf],
    format: Format,
    seed: Option<u64>,
    out: Option<&Path>,
    quiz: bool,
) -> anyhow::Result<ExitCode> {
    // Every file is validated before anything runs; invalid files are
    // reported and skipped, the others run.
    let (scenarios, mut invalid) = load_all(paths)?;
    let whole_run = format == Format::Junit || (format == Format::Json && out.is_none());
    if let Some(dir) = out.filter(|_| format != Format::Junit) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut reports = Vec::new();
    for scenario in &scenarios {
        let report = match run_one(scenario, seed) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("error: {e}");
                invalid.push(Invalid {
                    path: scenario.path.clone(),
                    line: e.line,
                    column: 0,
                    message: e.source.to_string(),
                    help: Some("the scenario could not be set up; check its PKI and names".into()),
                });
                continue;
            }
        };
        if whole_run {
            reports.push(report);
            continue;
        }
        let rendered = if format == Format::Html {
            pkilab_scenario::render::html::page(&report, quiz)
        } else {
            render(&report, format)
        };
        match out {
            Some(dir) => {
                let stem = file_stem(&scenario.path);
                let file = dir.join(format!("{stem}.{}", format.extension()));
                std::fs::write(&file, rendered)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                outln!(
                    "{} {}",
                    if report.passed { "PASS" } else { "FAIL" },
                    file.display()
                );
            }
            None => out!("{rendered}"),
        }
        reports.push(report);
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.path.as_str())
        .collect();
    let total = scenarios.len()
        + invalid
            .iter()
            .filter(|i| !scenarios.iter().any(|s| s.path == i.path))
            .count();
    if let (Format::Html, Some(dir)) = (format, out) {
        let pages: Vec<(String, &RunReport)> = reports
            .iter()
            .map(|r| (format!("{}.html", file_stem(&r.path)), r))
            .collect();
        let file = dir.join("index.html");
        std::fs::write(&file, pkilab_scenario::render::html::index(&pages))
            .with_context(|| format!("cannot write {}", file.display()))?;
        outln!("index {}", file.display());
    }
    if format == Format::Junit {
        let xml = pkilab_scenario::render::junit(&reports, &invalid);
        match out {
            Some(file) => {
                std::fs::write(file, xml)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                outln!("wrote {}", file.display());
            }
            None => out!("{xml}"),
        }
    } else if format == Format::Json && out.is_none() {
        out!(
            "{}",
            pkilab_scenario::render::json_run(&reports, &invalid, total)
        );
    } else if total > 1 && format == Format::Text {
        let passed = reports.len() - failed.len();
        let mut line = format!("\n{passed} of {total} scenarios passed");
        if !failed.is_empty() {
            line.push_str(&format!(", {} failed", failed.len()));
        }
        if !invalid.is_empty() {
            line.push_str(&format!(", {} invalid", invalid.len()));
        }
        outln!("{line}.");
    }
    for path in &failed {
        eprintln!("failed: {path}");
    }
    for i in &invalid {
        eprintln!("invalid: {}", i.path);
    }
    Ok(if !invalid.is_empty() {
        ExitCode::from(2)
    } else if !failed.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs one scenario, with a progress bar for workloads when stderr is a
/// terminal (and only then).
fn run_one(scenario: &Scenario, seed: Option<u64>) -> Result<RunReport, pkilab_scenario::RunError> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::hidden();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:40} {pos}/{len} handshakes ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(scenario.name.clone());
        bar
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            if bar.is_hidden() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    };
    let options = RunOptions {
        seed,
        progress: Some(&mut progress),
    };
    let report = pkilab_scenario::run(scenario, options)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

fn check(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (scenarios, invalid) = load_all(paths)?;
    for s in &scenarios {
        outln!("ok  {}  ({} steps)", s.path, s.steps.len());
    }
    if invalid.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "\n{} of {} files valid, {} invalid.",
        scenarios.len(),
        scenarios.len() + invalid.len(),
        invalid.len()
    );
    Ok(ExitCode::from(2))
}

fn list(dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (scenarios, invalid) = load_all(dirs)?;
    let width = scenarios
        .iter()
        .map(|s| file_name(&s.path).len())
        .max()
        .unwrap_or(0);
    for s in &scenarios {
        outln!("{:width$}  {}", file_name(&s.path), s.summary);
    }
    Ok(if invalid.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn file_stem(path: &str) -> &str {
    Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario")
}

fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}
