//! Scenario files: a YAML story of a PKI, peers, adversaries and steps, each
//! step optionally carrying an expectation. This crate reads and validates
//! them (every error with file, line and column), runs them on the
//! simulated network, and reports the run as a narration, JSON or a Mermaid
//! sequence diagram.
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
