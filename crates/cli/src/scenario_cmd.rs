//! `pkilab scenario …`: check, list and run scenario files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pkilab_scenario::{Format, Invalid, RunOptions, Scenario, load_file, render};

/// Scenario files: lessons and tests.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    command: ScenarioCommand,
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
    /// Run files; exit 0 when every expectation holds, 1 when one fails,
    /// 2 when a file is invalid.
    Run {
        /// A scenario file, or a directory of them.
        path: PathBuf,
        /// text (a narrated lesson), json, or mermaid (a sequence diagram).
        #[arg(long, default_value = "text")]
        format: Format,
        /// Overrides each file's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Writes one report per scenario into this directory instead of
        /// printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Validate files without running them (exit 2 on the first invalid one).
    Check {
        /// A scenario file, or a directory of them.
        path: PathBuf,
    },
    /// List each scenario with its one-line summary.
    List {
        /// A directory of scenario files.
        dir: PathBuf,
    },
}

/// Runs a `scenario` subcommand.
pub fn run(args: ScenarioArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ScenarioCommand::Run {
            path,
            format,
            seed,
            out,
        } => run_all(&path, format, seed, out.as_deref()),
        ScenarioCommand::Check { path } => check(&path),
        ScenarioCommand::List { dir } => list(&dir),
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

/// Loads every file, stopping at the first invalid one.
pub fn load_all(path: &Path) -> anyhow::Result<Result<Vec<Scenario>, Invalid>> {
    let mut scenarios = Vec::new();
    for file in scenario_files(path)? {
        match load_file(&file) {
            Ok(s) => scenarios.push(s),
            Err(invalid) => return Ok(Err(invalid)),
        }
    }
    Ok(Ok(scenarios))
}

fn run_all(
    path: &Path,
    format: Format,
    seed: Option<u64>,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    // Every file is validated before anything runs.
    let scenarios = match load_all(path)? {
        Ok(scenarios) => scenarios,
        Err(invalid) => {
            eprintln!("error: {invalid}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut failed = Vec::new();
    for scenario in &scenarios {
        let report = run_one(scenario, seed)?;
        if !report.passed {
            failed.push(scenario.path.clone());
        }
        let rendered = render(&report, format);
        match out {
            Some(dir) => {
                let stem = Path::new(&scenario.path)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("scenario");
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
    }
    if scenarios.len() > 1 && format == Format::Text {
        outln!(
            "\n{} of {} scenarios passed.",
            scenarios.len() - failed.len(),
            scenarios.len()
        );
    }
    for path in &failed {
        eprintln!("failed: {path}");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs one scenario, with a progress bar for workloads when stderr is a
/// terminal (and only then).
fn run_one(scenario: &Scenario, seed: Option<u64>) -> anyhow::Result<pkilab_scenario::RunReport> {
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
    let report = pkilab_scenario::run(scenario, options).map_err(|e| {
        anyhow::anyhow!("{e}: the scenario could not be set up; check its PKI and names")
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    match load_all(path)? {
        Ok(scenarios) => {
            for s in &scenarios {
                outln!("ok  {}  ({} steps)", s.path, s.steps.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(invalid) => {
            eprintln!("error: {invalid}");
            Ok(ExitCode::from(2))
        }
    }
}

fn list(dir: &Path) -> anyhow::Result<ExitCode> {
    match load_all(dir)? {
        Ok(scenarios) => {
            let width = scenarios
                .iter()
                .map(|s| file_name(&s.path).len())
                .max()
                .unwrap_or(0);
            for s in &scenarios {
                outln!("{:width$}  {}", file_name(&s.path), s.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(invalid) => {
            eprintln!("error: {invalid}");
            Ok(ExitCode::from(2))
        }
    }
}

fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}
