//! `pkilab scenario …`: check, list and run scenario files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pkilab_scenario::{Invalid, Scenario, load_file};

/// Scenario files: lessons and tests.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    command: ScenarioCommand,
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
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

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    match load_all(path)? {
        Ok(scenarios) => {
            for s in &scenarios {
                println!("ok  {}  ({} steps)", s.path, s.steps.len());
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
                println!("{:width$}  {}", file_name(&s.path), s.summary);
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
