//! A simulated network for PKI lessons: named peers joined by links,
//! adversaries as interceptors on those links, a clock only the caller
//! moves, and one seeded generator for every random choice, so the same
//! seed gives the same trace byte for byte.
//!
//! Frames are handled from a single FIFO queue rather than by concurrently
//! scheduled tasks: interleaving would make traces depend on the scheduler.
//! Workloads without adversaries, whose handshakes are independent, run on
//! every core with a seed per handshake drawn in order (see `workload`).
//!
//! ```
//! use pkilab_net::{Network, PkiSpec};
//! use pkilab_peer::Mode;
//! use time::{Duration, macros::datetime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = PkiSpec {
//!     root: "Example Root CA".into(),
//!     intermediates: vec!["Example Issuing CA".into()],
//!     rogue: Vec::new(),
//!     crl_validity: Duration::days(7),
//!     certificate_validity: Duration::days(365),
//! };
//! let mut net = Network::new(1, datetime!(2026-01-01 00:00 UTC), spec)?;
//! net.add_peer("alice")?;
//! net.add_peer("bob")?;
//! let report = net.handshake("alice", "bob", Mode::SignedEphemeral)?;
//! assert!(report.established && !report.attacker_reads);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod adversary;
mod error;
pub mod intercept;
mod kms_node;
mod kms_steps;
mod mitm;
pub mod monitor;
mod network;
mod node;
mod ocsp_node;
mod ocsp_steps;
pub mod pki;
mod recorded;
mod setup;
mod steps;
mod tlog_steps;
pub mod trace;
mod workload;

pub use adversary::{Budget, ReplayPlan};
pub use error::NetError;
pub use intercept::{Context, Frame, Interceptor, Verdict};
pub use kms_steps::FetchReport;
pub use mitm::Mitm;
pub use network::{Network, PeerPolicy, revokes_identity};
pub use ocsp_node::Query as OcspQuery;
pub use pki::{PkiSpec, Revocation};
pub use setup::{AdversaryKind, MitmCertificate};
pub use steps::{HandshakeReport, Refusal, SendReport};
pub use tlog_steps::GossipReport;
pub use trace::{Event, Fate};
