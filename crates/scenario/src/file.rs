//! Running a scenario file from Rust, for tests: one call that loads, runs
//! and reports, with a failure message a test can print.

use std::fmt;
use std::path::Path;

use crate::load::{Invalid, load_file};
use crate::report::RunReport;
use crate::runner::{RunError, RunOptions, run};

/// Why a file did not run to a report.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileError {
    /// The file is not a valid scenario (with file, line and column).
    Invalid(Invalid),
    /// The scenario could not be set up or a step could not be performed.
    Run(RunError),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Invalid(invalid) => write!(f, "{invalid}"),
            FileError::Run(error) => write!(f, "{}:{}: {}", error.path, error.line, error.source),
        }
    }
}

impl std::error::Error for FileError {}

/// Loads and runs the scenario at `path` with its own seed.
///
/// ```no_run
/// let report = pkilab_scenario::run_file("scenarios/06-mitm-own-certificate.yaml").unwrap();
/// report.assert_passed();
/// ```
pub fn run_file(path: impl AsRef<Path>) -> Result<RunReport, FileError> {
    let scenario = load_file(path.as_ref()).map_err(FileError::Invalid)?;
    run(&scenario, RunOptions::default()).map_err(FileError::Run)
}

impl RunReport {
    /// Each failed expectation as one line: file, line, step, and what
    /// differed.
    pub fn failures(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|step| {
                step.checks.iter().filter(|c| !c.held).map(move |check| {
                    format!(
                        "{}:{}: step {} ({}): expected {} {}, got {}",
                        self.path,
                        step.line,
                        step.index + 1,
                        step.title,
                        check.key,
                        check.expected,
                        check.actual
                    )
                })
            })
            .collect()
    }

    /// Panics, listing every failed expectation, unless all held: for
    /// tests.
    #[track_caller]
    pub fn assert_passed(&self) {
        let failures = self.failures();
        assert!(
            self.passed && failures.is_empty(),
            "scenario '{}' failed:\n  {}",
            self.name,
            failures.join("\n  ")
        );
    }
}
