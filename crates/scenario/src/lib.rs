//! Scenario files: a YAML story of a PKI, peers, adversaries and steps, each
//! step optionally carrying an expectation. This crate reads and validates
//! them (every error with file, line and column), runs them on the
//! simulated network, and reports the run as a narration, JSON or a Mermaid
//! sequence diagram.
//!
//! ```no_run
//! // In a test: run a lesson (or your own scenario) and fail with every
//! // expectation that did not hold, each with its file and line.
//! pkilab_scenario::run_file("scenarios/07-revoked-peer.yaml")
//!     .expect("the file is valid")
//!     .assert_passed();
//! ```
#![forbid(unsafe_code)]

pub mod duration;
mod file;
pub mod load;
pub mod model;
pub mod script;

pub use duration::SimDuration;
pub use file::{FileError, run_file};
pub use load::{Invalid, load_file, load_str};
pub use script::{Action, Adversary, Expectation, Scenario, Step};
pub mod render;
pub mod report;

pub use render::{Format, render};
pub use report::RunReport;
mod diagram;
mod narrate;
pub mod runner;

pub use runner::{RunError, RunOptions, run};
